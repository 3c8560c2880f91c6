//! SPEC §9: `messages/add` and `messages/getAll` of the integration.

use chrono::Duration;
use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::*;

fn item(thread: &Value, text: &str) -> Value {
    json!({"MessageThreadId": thread["Id"], "Text": text})
}

#[tokio::test]
async fn add_answers_in_request_order_and_echoes_identifiers() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Penelope", "Late arrival").await;
    app.clock.advance(Duration::seconds(5));
    let reply = app
        .call(
            MESSAGES_ADD,
            PORTFOLIO,
            json!({"Messages": [
                {"MessageThreadId": thread["Id"], "Text": "first", "Identifier": "Message 1"},
                {"MessageThreadId": thread["Id"], "Text": "second"},
                {"MessageThreadId": thread["Id"], "Text": "third", "Identifier": ""},
            ]}),
        )
        .await
        .ok();
    let added = reply["Messages"].as_array().unwrap();
    assert_eq!(reply.as_object().unwrap().len(), 1, "only Messages");
    assert_eq!(added.len(), 3);
    let identifiers: Vec<&Value> = added.iter().map(|a| &a["Identifier"]).collect();
    assert_eq!(identifiers, [&json!("Message 1"), &Value::Null, &json!("")]);
    let first = &added[0]["Message"];
    assert_eq!(
        first,
        &json!({
            "Id": first["Id"],
            "MessageThreadId": thread["Id"],
            "Text": "first",
            "Sender": {"Discriminator": "Application", "Value": null},
            "CreatedUtc": "2026-03-10T12:00:05Z",
        })
    );
    let texts: Vec<&Value> = added.iter().map(|a| &a["Message"]["Text"]).collect();
    assert_eq!(texts, [&json!("first"), &json!("second"), &json!("third")]);
}

#[tokio::test]
async fn adding_a_message_moves_the_threads_updated_utc() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.clock.advance(Duration::minutes(3));
    app.add_message(PORTFOLIO, &thread, "hello").await;
    let listed = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 1}}),
        )
        .await
        .ok();
    assert_eq!(
        listed["MessageThreads"][0]["CreatedUtc"],
        "2026-03-10T12:00:00Z"
    );
    assert_eq!(
        listed["MessageThreads"][0]["UpdatedUtc"],
        "2026-03-10T12:03:00Z"
    );
}

#[tokio::test]
async fn a_bad_item_refuses_the_whole_batch_and_names_its_index() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let theirs = app.add_thread(OTHER_CLIENT, "A", "B").await;
    let cases = [
        (
            json!([item(&thread, "ok"), item(&thread, "  "), item(&thread, "")]),
            "Messages[1].Text must not be only whitespace.",
        ),
        (
            json!([item(&thread, "ok"), item(&thread, &"x".repeat(10_001))]),
            "Messages[1].Text must be between 1 and 10000 characters long.",
        ),
        (
            json!([item(&thread, "ok"), {"Text": "no thread"}]),
            "Messages[1].MessageThreadId is required.",
        ),
        (
            json!([item(&thread, "ok"), {"MessageThreadId": "x", "Text": "t"}]),
            "Messages[1].MessageThreadId is not a valid UUID.",
        ),
        (
            json!([item(&thread, "ok"), {"MessageThreadId": thread["Id"], "Text": 5}]),
            "Messages[1].Text must be a string.",
        ),
        (
            json!([item(&thread, "ok"), {"MessageThreadId": thread["Id"], "Text": "t", "Identifier": "x".repeat(256)}]),
            "Messages[1].Identifier must be at most 255 characters long.",
        ),
        (
            json!([item(&thread, "ok"), 7]),
            "Messages[1] must be an object.",
        ),
        (
            json!([
                item(&thread, "ok"),
                item(&thread, "ok"),
                item(&theirs, "not mine")
            ]),
            "Messages[2].MessageThreadId is not the id of a message thread visible to the caller.",
        ),
        (
            json!([item(&thread, "ok"), {"MessageThreadId": uuid::Uuid::new_v4().to_string(), "Text": "t"}]),
            "Messages[1].MessageThreadId is not the id of a message thread visible to the caller.",
        ),
        (json!([]), "Messages must contain between 1 and 1000 items."),
        (json!("x"), "Messages must be an array."),
    ];
    for (messages, message) in cases {
        app.clock.advance(Duration::seconds(1));
        app.call(MESSAGES_ADD, PORTFOLIO, json!({ "Messages": messages }))
            .await
            .assert_message(400, message);
    }
    app.call(MESSAGES_ADD, PORTFOLIO, json!({}))
        .await
        .assert_message(400, "Messages is required.");
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread).await,
        json!([]),
        "nothing stored"
    );
    let listed = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 1}}),
        )
        .await
        .ok();
    assert_eq!(
        listed["MessageThreads"][0]["UpdatedUtc"], thread["UpdatedUtc"],
        "thread untouched"
    );
    // The Net-only token cannot write to a Gross thread of its own integration.
    app.call(
        MESSAGES_ADD,
        NET_ONLY,
        json!({"Messages": [item(&thread, "hi")]}),
    )
    .await
    .assert_message(
        400,
        "Messages[0].MessageThreadId is not the id of a message thread visible to the caller.",
    );
}

#[tokio::test]
async fn a_batch_holds_up_to_1000_messages_of_up_to_10000_characters() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let batch: Vec<Value> = (0..1000).map(|i| item(&thread, &format!("#{i}"))).collect();
    let reply = app
        .call(MESSAGES_ADD, PORTFOLIO, json!({ "Messages": batch }))
        .await
        .ok();
    assert_eq!(reply["Messages"].as_array().unwrap().len(), 1000);
    let too_many: Vec<Value> = (0..1001).map(|_| item(&thread, "x")).collect();
    app.call(MESSAGES_ADD, PORTFOLIO, json!({ "Messages": too_many }))
        .await
        .assert_message(400, "Messages must contain between 1 and 1000 items.");
    let longest = "ž".repeat(10_000);
    let stored = app.add_message(PORTFOLIO, &thread, &longest).await;
    assert_eq!(stored["Text"], longest.as_str());
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread)
            .await
            .as_array()
            .unwrap()
            .len(),
        1000,
        "a page is at most 1000"
    );
}

#[tokio::test]
async fn get_all_lists_newest_first_with_ties_in_insertion_order() {
    let app = spawn_app().await;
    let a = app.add_thread(PORTFOLIO, "A", "a").await;
    let b = app.add_thread(PORTFOLIO, "B", "b").await;
    let m1 = app.add_message(PORTFOLIO, &a, "1").await;
    let m2 = app.add_message(PORTFOLIO, &b, "2").await;
    app.clock.advance(Duration::seconds(1));
    let m3 = app.reply(&a, "3").await;
    let reply = app
        .call(
            MESSAGES_GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [a["Id"], b["Id"]], "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(
        ids(&reply["Messages"]),
        vec![
            m3["Id"].as_str().unwrap(),
            m2["Id"].as_str().unwrap(),
            m1["Id"].as_str().unwrap()
        ]
    );
    assert_eq!(reply["Cursor"], m1["Id"]);
    assert_eq!(
        reply["Messages"][0]["Sender"]["Discriminator"],
        "Enterprise"
    );

    let first = app
        .call(
            MESSAGES_GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [a["Id"], b["Id"]], "Limitation": {"Count": 2}}),
        )
        .await
        .ok();
    let rest = app
        .call(MESSAGES_GET_ALL, PORTFOLIO, json!({"MessageThreadIds": [a["Id"], b["Id"]], "Limitation": {"Count": 2, "Cursor": first["Cursor"]}}))
        .await
        .ok();
    assert_eq!(ids(&rest["Messages"]), vec![m1["Id"].as_str().unwrap()]);
}

#[tokio::test]
async fn get_all_checks_its_filters() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let ids_only = json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 1}});
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"Limitation": {"Count": 1}}),
    )
    .await
    .assert_message(400, "MessageThreadIds is required.");
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [], "Limitation": {"Count": 1}}),
    )
    .await
    .assert_message(
        400,
        "MessageThreadIds must contain between 1 and 1000 items.",
    );
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [thread["Id"]]}),
    )
    .await
    .assert_message(400, "Limitation is required.");
    let mut month = ids_only.clone();
    month["CreatedUtc"] =
        json!({"StartUtc": "2026-01-31T00:00:00Z", "EndUtc": "2026-02-28T00:00:01Z"});
    app.call(MESSAGES_GET_ALL, PORTFOLIO, month.clone())
        .await
        .assert_message(400, "CreatedUtc must not be longer than 1 month.");
    month["CreatedUtc"]["EndUtc"] = json!("2026-02-28T00:00:00Z");
    app.call(MESSAGES_GET_ALL, PORTFOLIO, month).await.ok();
    let mut outside = ids_only.clone();
    outside["EnterpriseIds"] = json!([demo::GROSS.to_string()]);
    app.call(MESSAGES_GET_ALL, NET_ONLY, outside)
        .await
        .assert_message(
            400,
            &format!(
                "EnterpriseIds contains enterprises outside the scope of the AccessToken: {}.",
                demo::GROSS
            ),
        );
}

#[tokio::test]
async fn get_all_filters_by_enterprise_and_creation() {
    let app = spawn_app().await;
    let gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let net = app.add_thread_in(PORTFOLIO, demo::NET, "A", "Net").await;
    let early = app.add_message(PORTFOLIO, &gross, "early").await;
    app.clock.advance(Duration::seconds(10));
    let late = app.add_message(PORTFOLIO, &gross, "late").await;
    app.add_message(PORTFOLIO, &net, "net").await;
    let both = json!([gross["Id"], net["Id"]]);
    let only_gross = app
        .call(MESSAGES_GET_ALL, PORTFOLIO, json!({"MessageThreadIds": both, "EnterpriseIds": [demo::GROSS.to_string()], "Limitation": {"Count": 10}}))
        .await
        .ok();
    assert_eq!(
        ids(&only_gross["Messages"]),
        vec![late["Id"].as_str().unwrap(), early["Id"].as_str().unwrap()]
    );
    let first_second = app
        .call(
            MESSAGES_GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": both, "CreatedUtc": {"StartUtc": "2026-03-10T12:00:00Z", "EndUtc": "2026-03-10T12:00:00Z"}, "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(
        ids(&first_second["Messages"]),
        vec![early["Id"].as_str().unwrap()]
    );
}

#[tokio::test]
async fn messages_of_threads_the_token_does_not_see_match_nothing() {
    let app = spawn_app().await;
    let gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let theirs = app.add_thread(OTHER_CLIENT, "A", "theirs").await;
    let mine = app.add_message(PORTFOLIO, &gross, "mine").await;
    let other = app.add_message(OTHER_CLIENT, &theirs, "theirs").await;
    assert_eq!(app.messages_of(NET_ONLY, &gross).await, json!([]));
    assert_eq!(app.messages_of(PORTFOLIO, &theirs).await, json!([]));
    assert_eq!(app.messages_of(OTHER_CLIENT, &gross).await, json!([]));
    // Nor can their messages serve as a cursor.
    for (creds, cursor) in [(PORTFOLIO, &other), (NET_ONLY, &mine), (PORTFOLIO, &gross)] {
        app.call(MESSAGES_GET_ALL, creds, json!({"MessageThreadIds": [gross["Id"]], "Limitation": {"Count": 1, "Cursor": cursor["Id"]}}))
            .await
            .assert_message(400, "Limitation.Cursor is not the id of a message visible to the caller.");
    }
}

#[tokio::test]
async fn an_empty_message_page_can_be_204() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let request = app
        .client
        .post(format!("{}{MESSAGES_GET_ALL}", app.base))
        .header("content-type", "application/json")
        .header("prefer", "return=minimal")
        .body(
            with_creds(
                PORTFOLIO,
                json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 5}}),
            )
            .to_string(),
        );
    let reply = app.send(request).await;
    assert_eq!((reply.status, reply.text.as_str()), (204, ""));
    let empty = app
        .call(
            MESSAGES_GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 5}}),
        )
        .await
        .ok();
    assert_eq!(empty, json!({"Messages": [], "Cursor": null}));
}
