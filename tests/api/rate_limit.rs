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

/// A high limit makes a long log: it must still count exactly, and PostgreSQL
/// must keep it uncompressed (compressing it at every request once cost more
/// than the request).
#[tokio::test]
async fn a_long_log_counts_exactly_and_is_stored_uncompressed() {
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 400,
            window_secs: 60,
        },
        ..settings()
    })
    .await;
    for _ in 0..400 {
        let reply = app.get_threads(PORTFOLIO, json!({})).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    app.get_threads(PORTFOLIO, json!({}))
        .await
        .assert_error(429);
    if !on_postgres() {
        return;
    }
    let (client, connection) = tokio_postgres::connect(&app.database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT a.attstorage::text, max(pg_column_compression(r.log)) \
             FROM pg_attribute a, rate_limits r \
             WHERE a.attrelid = 'rate_limits'::regclass AND a.attname = 'log' \
             GROUP BY a.attstorage",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "e", "storage EXTERNAL");
    assert_eq!(row.get::<_, Option<String>>(1), None, "no log compressed");
}
