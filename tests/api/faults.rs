//! SPEC §16.5: faults. A tester makes switchboard fail the way the real API
//! does: an error instead of the operation, a slow answer, or the answer of a
//! write that happened lost on its way back.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::paths::{
    FAULTS_ADD, FAULTS_DELETE, FAULTS_GET_ALL, REQUESTS_GET_ALL, RESET, THREADS_ADD,
};
use crate::helpers::*;
use crate::process::{post, serve};
use crate::receiver::Receiver;

async fn add_fault(app: &TestApp, fault: Value) -> Value {
    let added = app.staff(FAULTS_ADD, fault).await.ok();
    added["Faults"][0].clone()
}

#[tokio::test]
async fn a_before_fault_answers_instead_and_nothing_runs() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let fault = add_fault(
        &app,
        json!({"Operation": "messages/add", "Status": 503, "Message": "Down for a moment.", "Stage": "Before"}),
    )
    .await;
    assert_eq!(fault["Remaining"], Value::Null);
    let reply = app
        .call(
            MESSAGES_ADD,
            PORTFOLIO,
            json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "Hello"}]}),
        )
        .await;
    reply.assert_message(503, "Down for a moment.");
    assert!(reply.header("request-id").is_some());
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread).await,
        json!([]),
        "the operation did not run"
    );
    // Other operations are untouched.
    app.get_threads(PORTFOLIO, json!({})).await.ok();
}

/// A token's later requests go with their admission (see
/// `store::admission`); a fault added meanwhile still holds them.
#[tokio::test]
async fn a_before_fault_holds_the_requests_of_a_token_already_admitted() {
    let app = spawn_app().await;
    app.add_thread(PORTFOLIO, "Guest", "Room").await;
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    for operation in ["messageThreads/add", "messageThreads/getAll"] {
        add_fault(
            &app,
            json!({"Operation": operation, "Status": 503, "Message": "Not now.", "Stage": "Before"}),
        )
        .await;
    }
    app.call(
        ADD,
        PORTFOLIO,
        json!({"OriginalSender": "A", "Subject": "B"}),
    )
    .await
    .assert_message(503, "Not now.");
    app.get_threads(PORTFOLIO, json!({}))
        .await
        .assert_message(503, "Not now.");
    app.staff(FAULTS_DELETE, json!({})).await.ok();
    assert_eq!(
        app.visible_thread_ids(PORTFOLIO).await.len(),
        1,
        "the held add did not run"
    );
}

#[tokio::test]
async fn a_429_fault_sends_retry_after_and_only_for_its_integration() {
    let app = spawn_app().await;
    add_fault(
        &app,
        json!({
            "Operation": "*", "IntegrationId": demo::SAMPLE_CLIENT,
            "Status": 429, "RetryAfterSeconds": 7, "Stage": "Before"
        }),
    )
    .await;
    let reply = app.get_threads(PORTFOLIO, json!({})).await;
    reply.assert_error(429);
    assert_eq!(reply.header("retry-after"), Some("7"));
    let message = reply.json()["Message"].as_str().unwrap().to_owned();
    assert!(message.contains("fault"), "a default message: {message}");
    app.get_threads(OTHER_CLIENT, json!({})).await.ok();
}

#[tokio::test]
async fn an_after_fault_loses_the_answer_of_a_write_that_happened() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    app.store
        .set_webhook_url(demo::SAMPLE_CLIENT, Some(format!("{}/hook", receiver.base)))
        .await
        .unwrap();
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    add_fault(
        &app,
        json!({"Operation": "messages/add", "Status": 500, "Times": 1, "Stage": "After"}),
    )
    .await;
    let reply = app
        .call(
            MESSAGES_ADD,
            PORTFOLIO,
            json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "Did it arrive?"}]}),
        )
        .await;
    reply.assert_error(500);
    let stored = app.messages_of(PORTFOLIO, &thread).await.clone();
    assert_eq!(stored.as_array().unwrap().len(), 1, "the write happened");
    let id = stored[0]["Id"].as_str().unwrap().to_owned();
    receiver.wait_for_events(&[id]).await;
    // Used up: the next write is answered.
    app.add_message(PORTFOLIO, &thread, "Again").await;
}

#[tokio::test]
async fn a_fault_without_status_only_delays_the_real_answer() {
    let app = spawn_app().await;
    add_fault(
        &app,
        json!({"Operation": "messageThreads/getAll", "DelayMs": 400, "Stage": "After"}),
    )
    .await;
    let started = Instant::now();
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "held back at least DelayMs"
    );
}

#[tokio::test]
async fn times_is_exact_under_concurrent_requests() {
    let app = spawn_app().await;
    let fault = add_fault(
        &app,
        json!({"Operation": "messageThreads/getAll", "Status": 503, "Times": 5, "Stage": "Before"}),
    )
    .await;
    let mut requests = tokio::task::JoinSet::new();
    let app = std::sync::Arc::new(app);
    for _ in 0..50 {
        let app = app.clone();
        requests.spawn(async move { app.get_threads(PORTFOLIO, json!({})).await.status });
    }
    let replies = requests.join_all().await;
    assert_eq!(replies.iter().filter(|s| **s == 503).count(), 5);
    assert_eq!(replies.iter().filter(|s| **s == 200).count(), 45);
    let listed = app.staff(FAULTS_GET_ALL, json!({})).await.ok();
    assert_eq!(listed["Faults"][0]["Id"], fault["Id"]);
    assert_eq!(listed["Faults"][0]["Remaining"], 0);
}

#[tokio::test]
async fn a_probability_fault_acts_on_about_that_share() {
    let app = spawn_app().await;
    add_fault(
        &app,
        json!({"Operation": "messageThreads/getAll", "Status": 500, "Probability": 0.5, "Stage": "Before"}),
    )
    .await;
    let mut faulted = 0;
    for _ in 0..160 {
        if app.get_threads(OTHER_CLIENT, json!({})).await.status == 500 {
            faulted += 1;
        }
    }
    // 80 expected, standard deviation 6.3: 40 to 120 is more than 6 of them.
    assert!((40..=120).contains(&faulted), "{faulted} of 160");
}

#[tokio::test]
async fn faults_are_listed_checked_deleted_and_survive_a_reset() {
    let app = spawn_app().await;
    let first = add_fault(
        &app,
        json!({"Operation": "messages/getAll", "Status": 502, "Stage": "Before"}),
    )
    .await;
    let second = add_fault(
        &app,
        json!({"Operation": "*", "DelayMs": 1, "Probability": 0.25, "Times": 3, "Stage": "After"}),
    )
    .await;
    assert_eq!(
        second,
        json!({
            "Id": second["Id"], "Operation": "*", "IntegrationId": null, "Status": null,
            "Connection": null, "Match": null,
            "Message": null, "RetryAfterSeconds": null, "DelayMs": 1, "Probability": 0.25,
            "Times": 3, "Remaining": 3, "Stage": "After", "Webhook": null, "DelaySeconds": null
        })
    );
    app.staff(crate::helpers::paths::RESET, json!({}))
        .await
        .ok();
    let listed = app.staff(FAULTS_GET_ALL, json!({})).await.ok();
    assert_eq!(
        listed["Faults"],
        json!([first, second]),
        "in the order added"
    );

    app.staff(
        FAULTS_ADD,
        json!({"Operation": "*", "IntegrationId": uuid::Uuid::new_v4(), "Status": 500, "Stage": "Before"}),
    )
    .await
    .assert_message(400, "IntegrationId is not the id of an integration.");
    app.staff(FAULTS_ADD, json!({"Operation": "*", "Stage": "Before"}))
        .await
        .assert_error(400);
    assert_eq!(
        app.staff(FAULTS_GET_ALL, json!({})).await.ok()["Faults"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "a refused fault is not kept"
    );

    let deleted = app
        .staff(FAULTS_DELETE, json!({"FaultIds": [first["Id"]]}))
        .await
        .ok();
    assert_eq!(deleted, json!({"Deleted": 1}));
    let deleted = app.staff(FAULTS_DELETE, json!({})).await.ok();
    assert_eq!(deleted, json!({"Deleted": 1}));
    assert_eq!(
        app.staff(FAULTS_GET_ALL, json!({})).await.ok(),
        json!({"Faults": []})
    );
    app.get_threads(PORTFOLIO, json!({})).await.ok();
}

/// On SQLite: a restart keeps the faults. On PostgreSQL: two nodes share
/// them, and `Times` counts once per use across both.
#[tokio::test]
async fn faults_are_kept_in_the_database_for_every_node() {
    let db = TestDatabase::new().await;
    let flags = [
        "--operator-token",
        OPERATOR_TOKEN,
        "--rate-limit",
        "100000/1s",
    ];
    let a = serve(&db, &flags).await;
    let client = http_client();
    let staff = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&body)
            .send()
    };
    let added = staff(
        &a.base,
        FAULTS_ADD,
        json!({"Operation": "messageThreads/getAll", "Status": 503, "Times": 5, "Stage": "Before"}),
    )
    .await
    .unwrap();
    assert_eq!(added.status(), 200);
    let mut servers = vec![a];
    if !on_postgres() {
        // A restart: the fault is read back from the file.
        for mut server in servers.drain(..) {
            server.child.start_kill().unwrap();
            server.child.wait().await.unwrap();
        }
    }
    servers.push(serve(&db, &flags).await);
    let nodes: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    // Each node reads the faults as the database has them.
    for node in &nodes {
        staff(node, FAULTS_GET_ALL, json!({})).await.unwrap();
    }
    let now = chrono::Utc::now();
    let body = with_creds(
        PORTFOLIO,
        json!({
            "CreatedUtc": {"StartUtc": (now - chrono::Duration::days(1)).to_rfc3339(), "EndUtc": (now + chrono::Duration::days(1)).to_rfc3339()},
            "Limitation": {"Count": 10}
        }),
    );
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..50 {
        let node = nodes[i % nodes.len()].clone();
        let client = client.clone();
        let body = body.clone();
        requests.spawn(async move { post(&client, &node, GET_ALL, &body).await.unwrap().0 });
    }
    let statuses = requests.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 45);
}

#[tokio::test]
async fn a_503_fault_sends_retry_after_and_stage_defaults_to_before() {
    let app = spawn_app().await;
    let fault = add_fault(
        &app,
        json!({"Operation": "messageThreads/add", "Status": 503, "RetryAfterSeconds": 12}),
    )
    .await;
    assert_eq!(fault["Stage"], "Before", "{fault}");
    let reply = app
        .call(
            THREADS_ADD,
            PORTFOLIO,
            json!({"OriginalSender": "Guest", "Subject": "Room"}),
        )
        .await;
    reply.assert_error(503);
    assert_eq!(reply.header("retry-after"), Some("12"));
    assert_eq!(
        app.visible_thread_ids(PORTFOLIO).await,
        Vec::<String>::new(),
        "a Before fault: nothing ran"
    );
    // Retry-After only goes with the statuses that carry it.
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "*", "Status": 500, "RetryAfterSeconds": 3}),
    )
    .await
    .assert_message(
        400,
        "RetryAfterSeconds is for a fault with Status 429 or 503 only.",
    );
}

/// A client that must survive a lost connection: `Reset` closes it without
/// an answer, before the operation or after its write committed.
#[tokio::test]
async fn a_reset_fault_closes_the_connection_before_or_after_the_write() {
    let app = spawn_app().await;
    for (stage, written) in [("Before", 0), ("After", 1)] {
        app.staff(RESET, json!({"Faults": true})).await.ok();
        let fault = add_fault(
            &app,
            json!({"Operation": "messageThreads/add", "Connection": "Reset", "Times": 1, "Stage": stage}),
        )
        .await;
        assert_eq!(fault["Connection"], "Reset");
        let sent = app
            .client
            .post(format!("{}{THREADS_ADD}", app.base))
            .header("content-type", "application/json")
            .body(
                with_creds(PORTFOLIO, json!({"OriginalSender": "G", "Subject": stage})).to_string(),
            )
            .send()
            .await;
        let error = sent.expect_err("no answer comes");
        assert!(
            !error.is_timeout() && !error.is_status(),
            "{stage}: {error:?}"
        );
        assert_eq!(
            app.visible_thread_ids(PORTFOLIO).await.len(),
            written,
            "{stage}"
        );
        // Used up: the next request is answered.
        app.add_thread(PORTFOLIO, "G", "Next").await;
        app.staff(RESET, json!({})).await.ok();
    }
    let log = app
        .staff(
            REQUESTS_GET_ALL,
            json!({"Operations": ["messageThreads/add"], "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    let dropped = log["Requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Status"].is_null() && !r["FaultId"].is_null())
        .count();
    assert_eq!(dropped, 2, "the log shows no status for them: {log}");
}

#[tokio::test]
async fn a_hang_fault_keeps_the_connection_open_until_the_client_gives_up() {
    let app = spawn_app().await;
    add_fault(
        &app,
        json!({"Operation": "messageThreads/getAll", "Connection": "Hang"}),
    )
    .await;
    let started = Instant::now();
    let sent = app
        .client
        .post(format!("{}{GET_ALL}", app.base))
        .header("content-type", "application/json")
        .timeout(Duration::from_millis(1500))
        .body(with_creds(PORTFOLIO, json!({"Limitation": {"Count": 1}})).to_string())
        .send()
        .await;
    let error = sent.expect_err("no answer comes");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // Others are answered meanwhile.
    app.add_thread(PORTFOLIO, "Guest", "Room").await;
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "*", "Connection": "Hang", "Status": 500}),
    )
    .await
    .assert_error(400);
    app.staff(FAULTS_ADD, json!({"Operation": "*", "Connection": "Drop"}))
        .await
        .assert_error(400);
}

#[tokio::test]
async fn a_matched_fault_acts_only_on_requests_that_name_its_thread() {
    let app = spawn_app().await;
    let aimed = app.add_thread(PORTFOLIO, "Guest", "Aimed").await;
    let other = app.add_thread(PORTFOLIO, "Guest", "Other").await;
    let fault = add_fault(
        &app,
        json!({"Operation": "*", "Status": 500, "Match": {"MessageThreadId": aimed["Id"]}}),
    )
    .await;
    assert_eq!(fault["Match"], json!({"MessageThreadId": aimed["Id"]}));
    app.add_message(PORTFOLIO, &other, "Fine").await;
    app.call(
        MESSAGES_ADD,
        PORTFOLIO,
        json!({"Messages": [
            {"MessageThreadId": other["Id"], "Text": "One"},
            {"MessageThreadId": aimed["Id"], "Text": "Two"}
        ]}),
    )
    .await
    .assert_error(500);
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [aimed["Id"]], "Limitation": {"Count": 5}}),
    )
    .await
    .assert_error(500);
    app.call(
        GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [aimed["Id"]], "Limitation": {"Count": 5}}),
    )
    .await
    .assert_error(500);
    // Requests that do not name it: answered.
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [other["Id"]], "Limitation": {"Count": 5}}),
    )
    .await
    .ok();
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "*", "Status": 500, "Match": {"MessageThreadId": "nope"}}),
    )
    .await
    .assert_error(400);
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "*", "Status": 500, "Match": {"ThreadId": aimed["Id"]}}),
    )
    .await
    .assert_error(400);
}
