//! SPEC §8 `messageThreads/add`, and the portfolio extension of §6.

use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::*;

#[tokio::test]
async fn add_returns_the_new_thread_exactly() {
    let app = spawn_app().await;
    let reply = app
        .call(
            ADD,
            PORTFOLIO,
            json!({"OriginalSender": "John Doe", "Subject": "Example subject"}),
        )
        .await;
    let body = reply.ok();
    assert_eq!(
        body.as_object().unwrap().len(),
        1,
        "only MessageThreads: {body}"
    );
    let threads = body["MessageThreads"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    let thread = &threads[0];
    let id = thread["Id"].as_str().unwrap();
    assert_eq!(id, id.to_lowercase());
    assert!(uuid::Uuid::try_parse(id).is_ok());
    assert_eq!(
        thread,
        &json!({
            "Id": id,
            "OriginalSender": "John Doe",
            "Subject": "Example subject",
            "CreatedUtc": "2026-03-10T12:00:00Z",
            "UpdatedUtc": "2026-03-10T12:00:00Z",
            "IsResolved": false,
        })
    );
}

#[tokio::test]
async fn timestamps_are_truncated_to_whole_seconds() {
    let app = spawn_app().await;
    app.clock.advance(chrono::Duration::milliseconds(999));
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    assert_eq!(thread["CreatedUtc"], "2026-03-10T12:00:00Z");
}

async fn refused(app: &TestApp, fields: Value, message: &str) {
    app.call(ADD, PORTFOLIO, fields)
        .await
        .assert_message(400, message);
}

#[tokio::test]
async fn sender_and_subject_are_required_texts_of_1_to_255_characters() {
    let app = spawn_app().await;
    for name in ["OriginalSender", "Subject"] {
        let other = if name == "Subject" {
            "OriginalSender"
        } else {
            "Subject"
        };
        refused(&app, json!({ other: "x" }), &format!("{name} is required.")).await;
        refused(
            &app,
            json!({ other: "x", name: null }),
            &format!("{name} is required."),
        )
        .await;
        refused(
            &app,
            json!({ other: "x", name: 7 }),
            &format!("{name} must be a string."),
        )
        .await;
        refused(
            &app,
            json!({ other: "x", name: ["a"] }),
            &format!("{name} must be a string."),
        )
        .await;
        let length = format!("{name} must be between 1 and 255 characters long.");
        refused(&app, json!({ other: "x", name: "" }), &length).await;
        refused(&app, json!({ other: "x", name: "ž".repeat(256) }), &length).await;
        refused(
            &app,
            json!({ other: "x", name: " \t\n " }),
            &format!("{name} must not be only whitespace."),
        )
        .await;
    }
    assert!(
        app.visible_thread_ids(PORTFOLIO).await.is_empty(),
        "nothing stored"
    );

    let longest = "😀".repeat(255);
    let thread = app.add_thread(PORTFOLIO, &longest, " padded ").await;
    assert_eq!(thread["OriginalSender"], longest.as_str());
    assert_eq!(thread["Subject"], " padded ", "texts are stored as sent");
}

#[tokio::test]
async fn a_portfolio_thread_goes_home_unless_an_enterprise_is_named() {
    let app = spawn_app().await;
    let home = app.add_thread(PORTFOLIO, "A", "home").await;
    let net = app.add_thread_in(PORTFOLIO, demo::NET, "A", "net").await;
    let in_gross = app
        .get_threads(
            PORTFOLIO,
            json!({"EnterpriseIds": [demo::GROSS.to_string()]}),
        )
        .await
        .ok();
    assert_eq!(
        ids(&in_gross["MessageThreads"]),
        vec![home["Id"].as_str().unwrap()]
    );
    let in_net = app
        .get_threads(PORTFOLIO, json!({"EnterpriseIds": [demo::NET.to_string()]}))
        .await
        .ok();
    assert_eq!(
        ids(&in_net["MessageThreads"]),
        vec![net["Id"].as_str().unwrap()]
    );
    // The Net-only token sees the Net thread, not the Gross one.
    assert_eq!(
        app.visible_thread_ids(NET_ONLY).await,
        vec![net["Id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn enterprise_id_must_be_a_uuid_in_scope() {
    let app = spawn_app().await;
    let message = format!(
        "EnterpriseId {} is not in the scope of the AccessToken.",
        demo::GROSS
    );
    app.call(
        ADD,
        NET_ONLY,
        json!({"OriginalSender": "A", "Subject": "B", "EnterpriseId": demo::GROSS.to_string()}),
    )
    .await
    .assert_message(400, &message);
    app.call(
        ADD,
        PORTFOLIO,
        json!({"OriginalSender": "A", "Subject": "B", "EnterpriseId": "not-a-uuid"}),
    )
    .await
    .assert_message(400, "EnterpriseId is not a valid UUID.");
    assert!(
        app.visible_thread_ids(PORTFOLIO).await.is_empty(),
        "nothing stored"
    );
    // Upper case is accepted.
    let upper = demo::NET.to_string().to_uppercase();
    app.call(
        ADD,
        PORTFOLIO,
        json!({"OriginalSender": "A", "Subject": "B", "EnterpriseId": upper}),
    )
    .await
    .ok();
}
