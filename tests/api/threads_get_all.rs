//! SPEC §5 to §8 for `messageThreads/getAll`: filters, scope, cursors, 204.

use chrono::Duration;
use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::*;

fn id_of(thread: &Value) -> String {
    thread["Id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn one_of_ids_created_or_updated_is_required() {
    let app = spawn_app().await;
    app.call(
        GET_ALL,
        PORTFOLIO,
        json!({"Limitation": {"Count": 10}, "EnterpriseIds": [demo::GROSS.to_string()]}),
    )
    .await
    .assert_message(
        400,
        "At least one of MessageThreadIds, CreatedUtc or UpdatedUtc is required.",
    );
}

#[tokio::test]
async fn limitation_and_count_are_required_and_bounded() {
    let app = spawn_app().await;
    let created = everything();
    app.call(GET_ALL, PORTFOLIO, json!({"CreatedUtc": created}))
        .await
        .assert_message(400, "Limitation is required.");
    app.call(
        GET_ALL,
        PORTFOLIO,
        json!({"CreatedUtc": created, "Limitation": 10}),
    )
    .await
    .assert_message(400, "Limitation must be an object.");
    app.call(
        GET_ALL,
        PORTFOLIO,
        json!({"CreatedUtc": created, "Limitation": {}}),
    )
    .await
    .assert_message(400, "Limitation.Count is required.");
    for count in [json!(0), json!(1001), json!(-5), json!(1.5), json!("10")] {
        app.call(
            GET_ALL,
            PORTFOLIO,
            json!({"CreatedUtc": created, "Limitation": {"Count": count}}),
        )
        .await
        .assert_message(
            400,
            "Limitation.Count must be an integer between 1 and 1000.",
        );
    }
    for count in [1, 1000] {
        app.call(
            GET_ALL,
            PORTFOLIO,
            json!({"CreatedUtc": created, "Limitation": {"Count": count}}),
        )
        .await
        .ok();
    }
}

#[tokio::test]
async fn an_empty_page_has_a_null_cursor() {
    let app = spawn_app().await;
    let body = app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert_eq!(body, json!({"MessageThreads": [], "Cursor": null}));
}

#[tokio::test]
async fn prefer_return_minimal_gives_204_on_an_empty_page_only() {
    let app = spawn_app().await;
    let request = |fields: Value| {
        app.client
            .post(format!("{}{GET_ALL}", app.base))
            .header("content-type", "application/json")
            .header("prefer", "return=minimal")
            .body(with_creds(PORTFOLIO, fields).to_string())
    };
    let fields = json!({"CreatedUtc": everything(), "Limitation": {"Count": 10}});
    let reply = app.send(request(fields.clone())).await;
    assert_eq!(reply.status, 204);
    assert_eq!(reply.text, "");
    assert!(reply.header("content-type").is_none());
    assert!(reply.header("request-id").is_some());

    app.add_thread(PORTFOLIO, "A", "B").await;
    let reply = app.send(request(fields)).await;
    assert_eq!(reply.ok()["MessageThreads"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn threads_come_newest_first_with_ties_in_insertion_order() {
    let app = spawn_app().await;
    let a = app.add_thread(PORTFOLIO, "A", "1").await;
    let b = app.add_thread(PORTFOLIO, "A", "2").await;
    app.clock.advance(Duration::seconds(1));
    let c = app.add_thread(PORTFOLIO, "A", "3").await;
    let d = app.add_thread(PORTFOLIO, "A", "4").await;
    let body = app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert_eq!(
        ids(&body["MessageThreads"]),
        vec![id_of(&d), id_of(&c), id_of(&b), id_of(&a)]
    );
    assert_eq!(body["Cursor"], a["Id"], "cursor is the last (oldest) id");
    for thread in body["MessageThreads"].as_array().unwrap() {
        let keys: Vec<&String> = thread.as_object().unwrap().keys().collect();
        assert_eq!(
            keys.len(),
            6,
            "Id, OriginalSender, Subject, CreatedUtc, UpdatedUtc, IsResolved: {keys:?}"
        );
    }
}

#[tokio::test]
async fn a_cursor_starts_the_page_strictly_after_it() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(id_of(&app.add_thread(PORTFOLIO, "A", &i.to_string()).await));
    }
    made.reverse();
    let first = app
        .get_threads(PORTFOLIO, json!({"Limitation": {"Count": 2}}))
        .await
        .ok();
    assert_eq!(ids(&first["MessageThreads"]), made[..2]);
    let second = app
        .get_threads(
            PORTFOLIO,
            json!({"Limitation": {"Count": 2, "Cursor": first["Cursor"]}}),
        )
        .await
        .ok();
    assert_eq!(ids(&second["MessageThreads"]), made[2..4]);
    let third = app
        .get_threads(
            PORTFOLIO,
            json!({"Limitation": {"Count": 2, "Cursor": second["Cursor"]}}),
        )
        .await
        .ok();
    assert_eq!(ids(&third["MessageThreads"]), made[4..]);
    let end = app
        .get_threads(
            PORTFOLIO,
            json!({"Limitation": {"Count": 2, "Cursor": third["Cursor"]}}),
        )
        .await
        .ok();
    assert_eq!(end, json!({"MessageThreads": [], "Cursor": null}));
}

#[tokio::test]
async fn a_cursor_need_not_match_the_filters() {
    let app = spawn_app().await;
    let old = app.add_thread(PORTFOLIO, "A", "old").await;
    app.clock.advance(Duration::days(2));
    let cursor = app.add_thread_in(PORTFOLIO, demo::NET, "A", "Net").await;
    // Filter to Gross and to a day that excludes the cursor's thread itself.
    let body = app
        .get_threads(
            PORTFOLIO,
            json!({
                "EnterpriseIds": [demo::GROSS.to_string()],
                "CreatedUtc": {"StartUtc": "2026-03-10T00:00:00Z", "EndUtc": "2026-03-11T00:00:00Z"},
                "Limitation": {"Count": 10, "Cursor": cursor["Id"]},
            }),
        )
        .await
        .ok();
    assert_eq!(ids(&body["MessageThreads"]), vec![id_of(&old)]);
}

#[tokio::test]
async fn a_cursor_must_name_a_thread_the_token_sees() {
    let app = spawn_app().await;
    let mine_in_gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let theirs = app.add_thread(OTHER_CLIENT, "A", "other integration").await;
    let message = "Limitation.Cursor is not the id of a message thread visible to the caller.";
    for (creds, cursor) in [
        (PORTFOLIO, theirs["Id"].clone()),
        (NET_ONLY, mine_in_gross["Id"].clone()),
        (PORTFOLIO, json!(uuid::Uuid::new_v4().to_string())),
    ] {
        app.get_threads(
            creds,
            json!({"Limitation": {"Count": 10, "Cursor": cursor}}),
        )
        .await
        .assert_message(400, message);
    }
    app.get_threads(
        PORTFOLIO,
        json!({"Limitation": {"Count": 10, "Cursor": "nope"}}),
    )
    .await
    .assert_message(400, "Limitation.Cursor is not a valid UUID.");
    // null means no cursor.
    app.get_threads(
        PORTFOLIO,
        json!({"Limitation": {"Count": 10, "Cursor": null}}),
    )
    .await
    .ok();
}

#[tokio::test]
async fn enterprise_ids_must_be_in_scope() {
    let app = spawn_app().await;
    let stranger = uuid::Uuid::new_v4();
    let reply = app
        .get_threads(NET_ONLY, json!({"EnterpriseIds": [demo::NET.to_string(), demo::GROSS.to_string(), stranger.to_string()]}))
        .await;
    let mut outside = [demo::GROSS, stranger];
    outside.sort();
    reply.assert_message(
        400,
        &format!(
            "EnterpriseIds contains enterprises outside the scope of the AccessToken: {}, {}.",
            outside[0], outside[1]
        ),
    );
}

#[tokio::test]
async fn filter_arrays_hold_1_to_1000_valid_ids() {
    let app = spawn_app().await;
    for name in ["EnterpriseIds", "MessageThreadIds"] {
        app.get_threads(PORTFOLIO, json!({ name: [] }))
            .await
            .assert_message(
                400,
                &format!("{name} must contain between 1 and 1000 items."),
            );
        let many: Vec<String> = (0..1001)
            .map(|_| uuid::Uuid::new_v4().to_string())
            .collect();
        app.get_threads(PORTFOLIO, json!({ name: many }))
            .await
            .assert_message(
                400,
                &format!("{name} must contain between 1 and 1000 items."),
            );
        app.get_threads(
            PORTFOLIO,
            json!({ name: [demo::GROSS.to_string(), "3fa85f64-5717-4562-b3fc-2c963f66afaZ"] }),
        )
        .await
        .assert_message(400, &format!("{name}[1] is not a valid UUID."));
        app.get_threads(
            PORTFOLIO,
            json!({ name: "3fa85f64-5717-4562-b3fc-2c963f66afa6" }),
        )
        .await
        .assert_message(400, &format!("{name} must be an array."));
    }
    // 1000 ids are fine.
    let thousand: Vec<String> = (0..1000)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    app.get_threads(PORTFOLIO, json!({ "MessageThreadIds": thousand }))
        .await
        .ok();
}

#[tokio::test]
async fn thread_ids_match_only_visible_threads_and_may_repeat() {
    let app = spawn_app().await;
    let gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let other = app.add_thread(PORTFOLIO, "A", "not asked for").await;
    let theirs = app.add_thread(OTHER_CLIENT, "A", "theirs").await;
    let body = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({
                "MessageThreadIds": [gross["Id"], gross["Id"], theirs["Id"], uuid::Uuid::new_v4().to_string()],
                "Limitation": {"Count": 10},
            }),
        )
        .await
        .ok();
    assert_eq!(ids(&body["MessageThreads"]), vec![id_of(&gross)]);
    let _ = other;
    // The Net-only token does not see the Gross thread, even by id.
    let body = app
        .call(
            GET_ALL,
            NET_ONLY,
            json!({"MessageThreadIds": [gross["Id"]], "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(body, json!({"MessageThreads": [], "Cursor": null}));
    // Upper-case ids are accepted.
    let upper = gross["Id"].as_str().unwrap().to_uppercase();
    let body = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [upper], "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(ids(&body["MessageThreads"]), vec![id_of(&gross)]);
}

#[tokio::test]
async fn another_integrations_threads_are_never_visible() {
    let app = spawn_app().await;
    let mine = app.add_thread(PORTFOLIO, "A", "mine").await;
    let theirs = app.add_thread(OTHER_CLIENT, "B", "theirs").await;
    assert_eq!(app.visible_thread_ids(PORTFOLIO).await, vec![id_of(&mine)]);
    assert_eq!(
        app.visible_thread_ids(OTHER_CLIENT).await,
        vec![id_of(&theirs)]
    );
}

#[tokio::test]
async fn updated_interval_filters_and_filters_combine_with_and() {
    let app = spawn_app().await;
    let first = app.add_thread(PORTFOLIO, "A", "first").await;
    app.clock.advance(Duration::hours(1));
    let second = app.add_thread(PORTFOLIO, "A", "second").await;
    let updated_first_hour =
        json!({"StartUtc": "2026-03-10T12:00:00Z", "EndUtc": "2026-03-10T12:30:00Z"});
    let body = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({"UpdatedUtc": updated_first_hour, "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(ids(&body["MessageThreads"]), vec![id_of(&first)]);
    // AND: ids and created interval that do not overlap give nothing.
    let body = app
        .call(
            GET_ALL,
            PORTFOLIO,
            json!({"MessageThreadIds": [second["Id"]], "UpdatedUtc": updated_first_hour, "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(body["MessageThreads"], json!([]));
}

#[tokio::test]
async fn intervals_are_checked() {
    let app = spawn_app().await;
    for name in ["CreatedUtc", "UpdatedUtc"] {
        let cases = [
            (
                json!({"StartUtc": "2026-01-01T00:00:00Z"}),
                format!("{name}.EndUtc is required."),
            ),
            (
                json!({"EndUtc": "2026-01-01T00:00:00Z"}),
                format!("{name}.StartUtc is required."),
            ),
            (
                json!("2026-01-01T00:00:00Z"),
                format!("{name} must be an object."),
            ),
            (
                json!({"StartUtc": "2026-01-02", "EndUtc": "2026-01-03T00:00:00Z"}),
                format!(
                    "{name}.StartUtc is not a valid date and time; use ISO 8601, for example 2022-03-03T00:00:00Z."
                ),
            ),
            (
                json!({"StartUtc": "2026-01-02T00:00:00Z", "EndUtc": 5}),
                format!("{name}.EndUtc must be a string."),
            ),
            (
                json!({"StartUtc": "2026-01-02T00:00:00Z", "EndUtc": "2026-01-01T00:00:00Z"}),
                format!("{name}.StartUtc must not be later than {name}.EndUtc."),
            ),
            (
                json!({"StartUtc": "2025-11-30T00:00:00Z", "EndUtc": "2026-02-28T00:00:01Z"}),
                format!("{name} must not be longer than 3 months."),
            ),
        ];
        for (interval, message) in cases {
            app.call(
                GET_ALL,
                PORTFOLIO,
                json!({ name: interval, "Limitation": {"Count": 1} }),
            )
            .await
            .assert_message(400, &message);
        }
        // Exactly 3 months, the day clamped to the end of February, is allowed.
        app.call(
            GET_ALL,
            PORTFOLIO,
            json!({ name: {"StartUtc": "2025-11-30T00:00:00Z", "EndUtc": "2026-02-28T00:00:00Z"}, "Limitation": {"Count": 1} }),
        )
        .await
        .ok();
    }
}
