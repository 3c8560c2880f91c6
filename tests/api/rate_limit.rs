//! SPEC §4: at most N requests per access token in any S-second window.

use serde_json::json;
use switchboard::http::Settings;
use switchboard::ratelimit::RateLimit;

use crate::helpers::*;

async fn limited_app() -> TestApp {
    spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 3,
            window_secs: 10,
        },
        ..settings()
    })
    .await
}

#[tokio::test]
async fn the_request_over_the_limit_gets_429_with_retry_after() {
    let app = limited_app().await;
    for _ in 0..3 {
        app.get_threads(PORTFOLIO, json!({})).await.ok();
        app.real_clock
            .advance(std::time::Duration::from_millis(1500));
    }
    // 4.5 s after the first request: it leaves the window in 5.5 s, so retry after 6.
    let reply = app.get_threads(PORTFOLIO, json!({})).await;
    reply.assert_message(
        429,
        "Too many requests: an AccessToken may make at most 3 requests in 10 seconds. Retry after 6 seconds.",
    );
    assert_eq!(reply.header("retry-after"), Some("6"));
}

#[tokio::test]
async fn the_window_slides() {
    let app = limited_app().await;
    for _ in 0..3 {
        app.get_threads(PORTFOLIO, json!({})).await.ok();
    }
    app.real_clock
        .advance(std::time::Duration::from_millis(9999));
    let reply = app.get_threads(PORTFOLIO, json!({})).await;
    reply.assert_error(429);
    assert_eq!(reply.header("retry-after"), Some("1"), "at least 1 second");
    app.real_clock.advance(std::time::Duration::from_millis(1));
    app.get_threads(PORTFOLIO, json!({})).await.ok();
}

#[tokio::test]
async fn each_access_token_has_its_own_limit() {
    let app = limited_app().await;
    for _ in 0..3 {
        app.get_threads(PORTFOLIO, json!({})).await.ok();
    }
    app.get_threads(PORTFOLIO, json!({}))
        .await
        .assert_error(429);
    app.get_threads(NET_ONLY, json!({})).await.ok();
    app.get_threads(OTHER_CLIENT, json!({})).await.ok();
}

#[tokio::test]
async fn refused_and_unauthenticated_requests_do_not_count() {
    let app = limited_app().await;
    let wrong = Creds {
        client: PORTFOLIO.client,
        access: "WRONG",
    };
    for _ in 0..10 {
        app.get_threads(wrong, json!({})).await.assert_error(401);
    }
    for _ in 0..3 {
        app.get_threads(PORTFOLIO, json!({})).await.ok();
    }
    for _ in 0..5 {
        app.get_threads(PORTFOLIO, json!({}))
            .await
            .assert_error(429);
    }
    // The refused requests did not extend the window.
    app.real_clock.advance(std::time::Duration::from_secs(10));
    app.get_threads(PORTFOLIO, json!({})).await.ok();
}

#[tokio::test]
async fn a_limited_write_stores_nothing() {
    let app = limited_app().await;
    for _ in 0..3 {
        app.add_thread(PORTFOLIO, "A", "B").await;
    }
    app.call(
        ADD,
        PORTFOLIO,
        json!({"OriginalSender": "A", "Subject": "B"}),
    )
    .await
    .assert_error(429);
    app.real_clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(app.visible_thread_ids(PORTFOLIO).await.len(), 3);
}

#[tokio::test]
async fn a_limited_message_batch_stores_nothing() {
    let app = limited_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let batch = json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "Hi"}]});
    for _ in 0..2 {
        app.call(MESSAGES_ADD, PORTFOLIO, batch.clone()).await.ok();
    }
    app.call(MESSAGES_ADD, PORTFOLIO, batch)
        .await
        .assert_error(429);
    app.real_clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread)
            .await
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// A high limit must still count exactly, and cost what a low one does: a
/// token's state is at most 60 counts, however many requests it may make.
#[tokio::test]
async fn a_high_limit_counts_exactly_in_a_state_of_fixed_size() {
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 400,
            window_secs: 60,
        },
        ..settings()
    })
    .await;
    for i in 0..400 {
        let reply = app.get_threads(PORTFOLIO, json!({})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        if i % 50 == 0 {
            app.real_clock
                .advance(std::time::Duration::from_millis(700));
        }
    }
    let refused = app.get_threads(PORTFOLIO, json!({})).await;
    refused.assert_error(429);
    // The first requests came in the first second: it leaves the window 60 s
    // after it began, 5.6 s have passed since.
    assert_eq!(refused.header("retry-after"), Some("55"));
    if !on_postgres() {
        return;
    }
    let (client, connection) = tokio_postgres::connect(&app.database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT max(cardinality(counts)), max(pg_column_size(counts)) FROM rate_limits",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, Option<i32>>(0).unwrap() <= 60);
    assert!(row.get::<_, Option<i32>>(1).unwrap() < 300);
}

/// The database's rule and the Rust one decide alike, request by request,
/// over random limits and gaps (a clock that steps back included).
#[tokio::test]
async fn the_stores_count_as_the_window_does() {
    use switchboard::ratelimit::Window;
    let app = spawn_app().await;
    let mut seed: u64 = 0x5eed_2026;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for round in 0..12 {
        let limit = RateLimit {
            requests: 1 + next(6) as u32,
            window_secs: 1 + next(if round % 3 == 0 { 300 } else { 20 }) as u32,
        };
        let token = uuid::Uuid::new_v4();
        let mut window = Window::default();
        let mut now: i64 = 1_800_000_000_000;
        for step in 0..120 {
            now += next(3_000) as i64;
            if step % 40 == 39 {
                now -= 2_500;
            }
            let stored = app.store.check_rate(token, limit, now).await.unwrap();
            assert_eq!(
                stored,
                window.count(limit, now),
                "{limit} round {round} step {step} at {now}"
            );
        }
    }
}
