//! The emulator tools of the operator API: the manual clock (kept in the
//! database, moved by `clock/set` and `clock/advance`) and `reset`.

use crate::helpers::paths::{CLOCK_ADVANCE, CLOCK_GET, CLOCK_SET, RESET};
use chrono::Duration;
use serde_json::{Value, json};
use switchboard::demo;
use switchboard::http::Settings;
use switchboard::ratelimit::RateLimit;
use switchboard::store::DeliveryInfo;

use crate::helpers::*;
use crate::process::{cli, cli_at, serve};
use crate::receiver::Receiver;

/// What `clock/get` shows.
async fn clock(app: &TestApp) -> Value {
    app.staff(CLOCK_GET, json!({})).await.ok()
}

fn at(seconds: i64) -> String {
    (start_time() + Duration::seconds(seconds))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test]
async fn clock_get_shows_the_manual_clock() {
    let app = spawn_app().await;
    assert_eq!(
        clock(&app).await,
        json!({"NowUtc": at(0), "Mode": "Manual"})
    );
}

#[tokio::test]
async fn advance_moves_every_timestamp_with_it() {
    let app = spawn_app().await;
    let moved = app
        .staff(CLOCK_ADVANCE, json!({"Seconds": 3600}))
        .await
        .ok();
    assert_eq!(moved, json!({"NowUtc": at(3600), "Mode": "Manual"}));
    assert_eq!(clock(&app).await["NowUtc"], at(3600));
    let thread = app.add_thread(PORTFOLIO, "Guest", "Later").await;
    assert_eq!(thread["CreatedUtc"], at(3600));
}

#[tokio::test]
async fn set_moves_the_clock_back_only_past_nothing_stored() {
    let app = spawn_app().await;
    let later = at(86_400);
    let moved = app.staff(CLOCK_SET, json!({"NowUtc": later})).await.ok();
    assert_eq!(moved["NowUtc"], later);
    // Nothing is stored yet: back is allowed.
    let back = app.staff(CLOCK_SET, json!({"NowUtc": at(60)})).await.ok();
    assert_eq!(back["NowUtc"], at(60));
    assert_eq!(clock(&app).await["NowUtc"], at(60), "every part reads it");
    app.staff(CLOCK_SET, json!({"NowUtc": later})).await.ok();
    // A thread stored at `later`: the clock may not go back before it.
    app.add_thread(PORTFOLIO, "Guest", "Stored").await;
    app.staff(CLOCK_SET, json!({"NowUtc": at(60)}))
        .await
        .assert_message(
            400,
            &format!(
                "NowUtc is earlier than what is stored, which goes up to {later}: the clock goes \
                 back only when nothing stored is newer (reset first, then set it)."
            ),
        );
    assert_eq!(clock(&app).await["NowUtc"], later, "nothing changed");
    // After a reset of everything, every test can start at the same instant.
    app.staff(RESET, json!({})).await.ok();
    app.staff(CLOCK_SET, json!({"NowUtc": at(0)})).await.ok();
    assert_eq!(clock(&app).await["NowUtc"], at(0));
}

#[tokio::test]
async fn the_clock_stays_within_four_year_digits() {
    let app = spawn_app().await;
    for bad in ["1999-12-31T23:59:59Z", "+10000-01-01T00:00:00Z"] {
        app.staff(CLOCK_SET, json!({ "NowUtc": bad }))
            .await
            .assert_error(400);
    }
    let last = app
        .staff(CLOCK_SET, json!({"NowUtc": "9999-12-31T23:59:59Z"}))
        .await
        .ok();
    assert_eq!(last["NowUtc"], "9999-12-31T23:59:59Z");
    app.staff(CLOCK_ADVANCE, json!({"Seconds": 1}))
        .await
        .assert_message(
            400,
            "Seconds would move the clock past 9999-12-31T23:59:59Z, the latest time it shows; \
             it shows 9999-12-31T23:59:59Z.",
        );
    // A thread stamped at the last second shows four year digits.
    let thread = app.add_thread(PORTFOLIO, "Guest", "Late").await;
    assert_eq!(thread["CreatedUtc"], "9999-12-31T23:59:59Z");
    app.staff(CLOCK_SET, json!({"NowUtc": "2000-01-01T00:00:00Z"}))
        .await
        .assert_error(400);
}

#[tokio::test]
async fn advance_takes_1_second_to_2_years() {
    let app = spawn_app().await;
    for bad in [json!(0), json!(63_072_001), json!("60"), json!(null)] {
        let reply = app.staff(CLOCK_ADVANCE, json!({ "Seconds": bad })).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
    }
    assert_eq!(clock(&app).await["NowUtc"], at(0), "nothing moved");
    app.staff(CLOCK_ADVANCE, json!({"Seconds": 63_072_000}))
        .await
        .ok();
}

#[tokio::test]
async fn rate_limit_windows_are_real_time_whatever_the_manual_clock_says() {
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 2,
            window_secs: 30,
        },
        ..settings()
    })
    .await;
    let list = json!({"CreatedUtc": everything(), "Limitation": {"Count": 1}});
    for _ in 0..2 {
        app.call(GET_ALL, PORTFOLIO, list.clone()).await.ok();
    }
    let refused = app.call(GET_ALL, PORTFOLIO, list.clone()).await;
    assert_eq!(refused.status, 429);
    // SPEC §4: the manual clock does not move the window (a client that
    // waits Retry-After seconds of real time is let through) ...
    app.staff(CLOCK_ADVANCE, json!({"Seconds": 30})).await.ok();
    let still = app.call(GET_ALL, PORTFOLIO, list.clone()).await;
    assert_eq!(still.status, 429, "{}", still.text);
    // ... real time does.
    app.real_clock.advance(std::time::Duration::from_secs(30));
    app.call(GET_ALL, PORTFOLIO, list).await.ok();
}

#[tokio::test]
async fn advancing_past_a_retry_sends_it() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[503]);
    app.store
        .set_webhook_url(demo::SAMPLE_CLIENT, Some(format!("{}/hook", receiver.base)))
        .await
        .unwrap();
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    // The first attempt fails; its retry waits about 42 s on the clock.
    for _ in 0..400 {
        let all: Vec<DeliveryInfo> = app.store.deliveries(false).await.unwrap();
        if all.first().is_some_and(|d| d.attempts == 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // The worker polls once an hour in the tests: only the advance can wake it.
    app.staff(CLOCK_ADVANCE, json!({"Seconds": 60})).await.ok();
    let received = receiver
        .wait_until("the retry after the advance", |r| r.len() >= 2)
        .await;
    assert_eq!(received[0].body, received[1].body);
}

#[tokio::test]
async fn the_system_clock_cannot_be_moved() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--operator-token", OPERATOR_TOKEN]).await;
    let client = http_client();
    let staff = |path: &str, body: Value| {
        client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .bearer_auth(OPERATOR_TOKEN)
            .body(body.to_string())
            .send()
    };
    let got: Value = staff(CLOCK_GET, json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["Mode"], "System");
    for (path, body) in [
        (CLOCK_SET, json!({"NowUtc": "2040-01-01T00:00:00Z"})),
        (CLOCK_ADVANCE, json!({"Seconds": 60})),
    ] {
        let reply = staff(path, body).await.unwrap();
        assert_eq!(reply.status(), 400);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(
            body["Message"],
            "The clock is the system's: start the server with --clock manual to set or advance it."
        );
    }
}

#[tokio::test]
async fn the_manual_clock_survives_a_restart() {
    let db = TestDatabase::new().await;
    let flags = [
        "--operator-token",
        OPERATOR_TOKEN,
        "--clock",
        "manual",
        "--clock-start",
        "2030-01-01T00:00:00Z",
    ];
    let mut server = serve(&db, &flags).await;
    let client = http_client();
    let advance = client
        .post(format!("{}{CLOCK_ADVANCE}", server.base))
        .header("content-type", "application/json")
        .bearer_auth(OPERATOR_TOKEN)
        .body(json!({"Seconds": 3600}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(advance.status(), 200);
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    // A later start time does not replace the stored clock.
    let mut flags = flags;
    flags[5] = "2031-06-01T00:00:00Z";
    let server = serve(&db, &flags).await;
    let got: Value = client
        .post(format!("{}{CLOCK_GET}", server.base))
        .header("content-type", "application/json")
        .bearer_auth(OPERATOR_TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got,
        json!({"NowUtc": "2030-01-01T01:00:00Z", "Mode": "Manual"})
    );
    let (ok, _, err) = cli(&db, &["serve", "--clock-start", "2030-01-01T00:00:00Z"]).await;
    assert!(
        !ok && err.contains("--clock-start needs --clock manual"),
        "{err}"
    );
    let clock_of = |server: &crate::process::Server| {
        let request = client
            .post(format!("{}{CLOCK_GET}", server.base))
            .header("content-type", "application/json")
            .bearer_auth(OPERATOR_TOKEN)
            .body("{}");
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut server = server;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    // Served again without `--clock`: the database's manual clock stays.
    let mut server = serve(&db, &["--operator-token", OPERATOR_TOKEN]).await;
    assert_eq!(
        clock_of(&server).await,
        json!({"NowUtc": "2030-01-01T01:00:00Z", "Mode": "Manual"})
    );
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    // `--clock system` on purpose turns it off, and the log says so.
    let mut server = serve(
        &db,
        &["--operator-token", OPERATOR_TOKEN, "--clock", "system"],
    )
    .await;
    let now = clock_of(&server).await;
    assert_eq!(now["Mode"], "System", "{now}");
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let log = server.log_text();
    assert!(
        log.contains("the database kept a manual clock: --clock system turned it off"),
        "{log}"
    );
    // And it stays off for the next start without `--clock`.
    let server = serve(&db, &["--operator-token", OPERATOR_TOKEN]).await;
    assert_eq!(clock_of(&server).await["Mode"], "System");
}

#[tokio::test]
async fn every_node_sees_a_move_of_the_clock() {
    if !on_postgres() {
        eprintln!("skipped: several nodes need PostgreSQL (the PostgreSQL run checks it)");
        return;
    }
    let db = TestDatabase::new().await;
    let flags = ["--operator-token", OPERATOR_TOKEN, "--clock", "manual"];
    let one = serve(&db, &flags).await;
    let two = serve(&db, &flags).await;
    let client = http_client();
    let call = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .bearer_auth(OPERATOR_TOKEN)
            .body(body.to_string())
            .send()
    };
    let moved: Value = call(&one.base, CLOCK_ADVANCE, json!({"Seconds": 86_400}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for _ in 0..100 {
        let seen: Value = call(&two.base, CLOCK_GET, json!({}))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if seen["NowUtc"] == moved["NowUtc"] {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the other node never showed {moved}");
}

/// Threads of Sample Client in both demo hotels and of Test Client 2, each with
/// a message, and Sample Client's webhook deliveries pending.
async fn content(app: &TestApp) -> (Value, Value, Value) {
    app.store
        .set_webhook_url(
            demo::SAMPLE_CLIENT,
            Some("http://127.0.0.1:9/down".to_owned()),
        )
        .await
        .unwrap();
    let gross = app
        .add_thread_in(PORTFOLIO, demo::GROSS, "A", "Gross")
        .await;
    let net = app.add_thread_in(PORTFOLIO, demo::NET, "A", "Net").await;
    let other = app.add_thread(OTHER_CLIENT, "B", "Other").await;
    for (creds, thread) in [
        (PORTFOLIO, &gross),
        (PORTFOLIO, &net),
        (OTHER_CLIENT, &other),
    ] {
        app.add_message(creds, thread, "hello").await;
    }
    // Both of Sample Client's events become deliveries.
    for _ in 0..400 {
        if app.store.deliveries(false).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    (gross, net, other)
}

#[tokio::test]
async fn reset_removes_the_content_of_its_scope_and_keeps_the_rest() {
    let app = spawn_app().await;
    let (gross, net, other) = content(&app).await;
    let removed = app
        .staff(
            RESET,
            json!({"IntegrationIds": [demo::SAMPLE_CLIENT], "EnterpriseIds": [demo::GROSS]}),
        )
        .await
        .ok();
    assert_eq!(
        removed,
        json!({"MessageThreads": 1, "Messages": 1, "WebhookDeliveries": 1})
    );
    let left = app.visible_thread_ids(PORTFOLIO).await;
    assert_eq!(left, vec![net["Id"].as_str().unwrap().to_owned()]);
    assert_eq!(app.visible_thread_ids(OTHER_CLIENT).await.len(), 1);
    let _ = (gross, other);
    // Tenants, tokens and webhook URLs stay: the token still writes, and the
    // new message still makes an event.
    let again = app
        .add_thread_in(PORTFOLIO, demo::GROSS, "A", "Again")
        .await;
    app.add_message(PORTFOLIO, &again, "still here").await;
    let url = app.store.integrations().await.unwrap();
    assert!(url.iter().any(|i| i.webhook_url.is_some()));
}

#[tokio::test]
async fn reset_without_a_scope_removes_all_content() {
    let app = spawn_app().await;
    content(&app).await;
    let removed = app.staff(RESET, json!({})).await.ok();
    assert_eq!(
        removed,
        json!({"MessageThreads": 3, "Messages": 3, "WebhookDeliveries": 2})
    );
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
    assert!(app.visible_thread_ids(OTHER_CLIENT).await.is_empty());
    assert!(app.store.deliveries(false).await.unwrap().is_empty());
    assert_eq!(clock(&app).await["NowUtc"], at(0), "the clock is kept");
    let again = app.staff(RESET, json!({})).await.ok();
    assert_eq!(
        again,
        json!({"MessageThreads": 0, "Messages": 0, "WebhookDeliveries": 0})
    );
}

#[tokio::test]
async fn reset_frees_the_rate_limit_windows_of_its_scope() {
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 1,
            window_secs: 30,
        },
        ..settings()
    })
    .await;
    let list = json!({"CreatedUtc": everything(), "Limitation": {"Count": 1}});
    for creds in [PORTFOLIO, OTHER_CLIENT] {
        app.call(GET_ALL, creds, list.clone()).await.ok();
        assert_eq!(app.call(GET_ALL, creds, list.clone()).await.status, 429);
    }
    app.staff(RESET, json!({"IntegrationIds": [demo::SAMPLE_CLIENT]}))
        .await
        .ok();
    app.call(GET_ALL, PORTFOLIO, list.clone()).await.ok();
    assert_eq!(
        app.call(GET_ALL, OTHER_CLIENT, list).await.status,
        429,
        "another integration's window stays"
    );
}

#[tokio::test]
async fn reset_checks_its_scope() {
    let app = spawn_app().await;
    for bad in [
        json!({"IntegrationIds": []}),
        json!({"EnterpriseIds": ["not-a-uuid"]}),
    ] {
        let reply = app.staff(RESET, bad.clone()).await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text);
    }
}

/// SPEC 16.1: the CLI's own rows carry the database's clock, not the
/// machine's, when the database keeps a manual clock.
#[tokio::test]
async fn the_cli_stamps_its_rows_with_the_databases_clock() {
    let app = spawn_app().await;
    app.staff(CLOCK_SET, json!({"NowUtc": "2026-05-01T08:30:00Z"}))
        .await
        .ok();
    let (ok, out, err) = cli_at(
        &app.database,
        &["enterprise", "add", "--name", "Clocked Hotel"],
    )
    .await;
    assert!(ok, "{out}{err}");
    let enterprises = app.store.enterprises().await.unwrap();
    let added = enterprises
        .iter()
        .find(|e| e.name == "Clocked Hotel")
        .expect("added");
    assert_eq!(added.created.to_string(), "2026-05-01T08:30:00Z");
}
