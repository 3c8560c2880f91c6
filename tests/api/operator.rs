//! SPEC §10: the staff's side of the conversation, behind the operator token.

use chrono::Duration;
use serde_json::{Value, json};
use switchboard::demo;
use switchboard::ratelimit::RateLimit;

use crate::helpers::*;

const UNAUTHORIZED: &str =
    "The operator token is missing or invalid: send Authorization: Bearer <operator token>.";

#[tokio::test]
async fn every_staff_operation_needs_the_operator_token() {
    let app = spawn_app().await;
    for path in crate::helpers::paths::operations()
        .iter()
        .filter(|p| p.starts_with("/api/operator/"))
    {
        let url = format!("{}{path}", app.base);
        let body = json!({"Limitation": {"Count": 1}}).to_string();
        let attempts = [
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone()),
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .bearer_auth("wrong")
                .body(body.clone()),
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .header("authorization", format!("Basic {OPERATOR_TOKEN}"))
                .body(body.clone()),
            // Checked before the body: no token and no JSON is still 401.
            app.client
                .post(&url)
                .header("content-type", "text/plain")
                .body("x"),
            // The integration's tokens are no operator token.
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(with_creds(PORTFOLIO, json!({})).to_string()),
        ];
        for attempt in attempts {
            app.send(attempt).await.assert_message(401, UNAUTHORIZED);
        }
    }
}

#[tokio::test]
async fn staff_list_every_integrations_threads_with_their_owners() {
    let app = spawn_app().await;
    let mine = app.add_thread(PORTFOLIO, "A", "mine").await;
    let theirs = app.add_thread(OTHER_CLIENT, "B", "theirs").await;
    let reply = app
        .staff(STAFF_THREADS_GET_ALL, json!({"Limitation": {"Count": 10}}))
        .await
        .ok();
    assert_eq!(
        ids(&reply["MessageThreads"]),
        vec![theirs["Id"].as_str().unwrap(), mine["Id"].as_str().unwrap()]
    );
    assert_eq!(
        reply["MessageThreads"][1],
        json!({
            "Id": mine["Id"],
            "EnterpriseId": demo::GROSS.to_string(),
            "IntegrationId": demo::SAMPLE_CLIENT.to_string(),
            "OriginalSender": "A",
            "Subject": "mine",
            "CreatedUtc": "2026-03-10T12:00:00Z",
            "UpdatedUtc": "2026-03-10T12:00:00Z",
            "IsResolved": false,
        })
    );
    assert_eq!(reply["Cursor"], mine["Id"]);
}

#[tokio::test]
async fn staff_filters_combine_with_and() {
    let app = spawn_app().await;
    let gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let net = app.add_thread_in(PORTFOLIO, demo::NET, "A", "Net").await;
    app.clock.advance(Duration::hours(1));
    let theirs = app.add_thread(OTHER_CLIENT, "B", "theirs").await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": net["Id"], "IsResolved": true}),
    )
    .await
    .ok();

    let list = |filter: Value| async {
        let mut body = filter;
        body["Limitation"] = json!({"Count": 100});
        ids(&app.staff(STAFF_THREADS_GET_ALL, body).await.ok()["MessageThreads"])
    };
    let id = |t: &Value| t["Id"].as_str().unwrap().to_owned();
    assert_eq!(
        list(json!({"EnterpriseIds": [demo::NET.to_string()]})).await,
        vec![id(&net)]
    );
    assert_eq!(
        list(json!({"IntegrationIds": [demo::TEST_CLIENT_2.to_string()]})).await,
        vec![id(&theirs)]
    );
    assert_eq!(list(json!({"IsResolved": true})).await, vec![id(&net)]);
    assert_eq!(
        list(json!({"IsResolved": false})).await,
        vec![id(&theirs), id(&gross)]
    );
    assert_eq!(
        list(json!({"UpdatedUtc": {"StartUtc": "2026-03-10T12:00:00Z", "EndUtc": "2026-03-10T12:30:00Z"}})).await,
        vec![id(&gross)]
    );
    assert_eq!(
        list(json!({"IntegrationIds": [demo::SAMPLE_CLIENT.to_string()], "EnterpriseIds": [demo::GROSS.to_string()], "IsResolved": false})).await,
        vec![id(&gross)]
    );
    // Any enterprise may be named: staff have no token scope.
    assert_eq!(
        list(json!({"EnterpriseIds": [uuid::Uuid::new_v4().to_string()]})).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn staff_requests_are_checked() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let cases = [
        (STAFF_THREADS_GET_ALL, json!({}), "Limitation is required."),
        (
            STAFF_THREADS_GET_ALL,
            json!({"IsResolved": "yes", "Limitation": {"Count": 1}}),
            "IsResolved must be true or false.",
        ),
        (
            STAFF_THREADS_GET_ALL,
            json!({"IntegrationIds": [], "Limitation": {"Count": 1}}),
            "IntegrationIds must contain between 1 and 1000 items.",
        ),
        (
            STAFF_THREADS_GET_ALL,
            json!({"UpdatedUtc": {"StartUtc": "2026-01-01T00:00:00Z", "EndUtc": "2026-04-01T00:00:01Z"}, "Limitation": {"Count": 1}}),
            "UpdatedUtc must not be longer than 3 months.",
        ),
        (
            STAFF_THREADS_GET_ALL,
            json!({"Limitation": {"Count": 1, "Cursor": uuid::Uuid::new_v4().to_string()}}),
            "Limitation.Cursor is not the id of a message thread visible to the caller.",
        ),
        (
            STAFF_THREADS_UPDATE,
            json!({"IsResolved": true}),
            "MessageThreadId is required.",
        ),
        (
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": thread["Id"]}),
            "IsResolved is required.",
        ),
        (
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": thread["Id"], "IsResolved": "true"}),
            "IsResolved must be true or false.",
        ),
        (
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": uuid::Uuid::new_v4().to_string(), "IsResolved": true}),
            "MessageThreadId is not the id of a message thread.",
        ),
        (
            STAFF_MESSAGES_ADD,
            json!({"Messages": [{"MessageThreadId": uuid::Uuid::new_v4().to_string(), "Text": "x"}]}),
            "Messages[0].MessageThreadId is not the id of a message thread visible to the caller.",
        ),
        (
            STAFF_MESSAGES_ADD,
            json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": ""}]}),
            "Messages[0].Text must be between 1 and 10000 characters long.",
        ),
        (
            STAFF_MESSAGES_GET_ALL,
            json!({"Limitation": {"Count": 1}}),
            "MessageThreadIds is required.",
        ),
    ];
    for (path, body, message) in cases {
        app.staff(path, body).await.assert_message(400, message);
    }
    assert_eq!(
        app.messages_of(PORTFOLIO, &thread).await,
        json!([]),
        "nothing stored"
    );
    let listed = app
        .staff(STAFF_THREADS_GET_ALL, json!({"Limitation": {"Count": 1}}))
        .await
        .ok();
    assert_eq!(
        listed["MessageThreads"][0]["IsResolved"], false,
        "nothing changed"
    );
}

#[tokio::test]
async fn resolving_moves_updated_utc_only_when_it_changes() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.clock.advance(Duration::minutes(1));
    let resolved = app
        .staff(
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": thread["Id"], "IsResolved": true}),
        )
        .await
        .ok();
    let shown = &resolved["MessageThreads"][0];
    assert_eq!(resolved["MessageThreads"].as_array().unwrap().len(), 1);
    assert_eq!(
        (shown["IsResolved"].clone(), shown["UpdatedUtc"].clone()),
        (json!(true), json!("2026-03-10T12:01:00Z"))
    );
    assert_eq!(shown["IntegrationId"], demo::SAMPLE_CLIENT.to_string());
    app.clock.advance(Duration::minutes(1));
    let again = app
        .staff(
            STAFF_THREADS_UPDATE,
            json!({"MessageThreadId": thread["Id"], "IsResolved": true}),
        )
        .await
        .ok();
    assert_eq!(
        again["MessageThreads"][0]["UpdatedUtc"], "2026-03-10T12:01:00Z",
        "no change, no move"
    );
    // The integration sees the resolution too.
    let listed = app.get_threads(PORTFOLIO, json!({})).await.ok();
    assert_eq!(listed["MessageThreads"][0]["IsResolved"], true);
}

#[tokio::test]
async fn staff_replies_come_from_the_enterprise_and_leave_resolution_alone() {
    let app = spawn_app().await;
    let thread = app.add_thread(OTHER_CLIENT, "A", "B").await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": thread["Id"], "IsResolved": true}),
    )
    .await
    .ok();
    app.clock.advance(Duration::minutes(5));
    let reply = app
        .staff(STAFF_MESSAGES_ADD, json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "We will hold your room.", "Identifier": "r1"}]}))
        .await
        .ok();
    assert_eq!(reply["Messages"][0]["Identifier"], "r1");
    assert_eq!(
        reply["Messages"][0]["Message"]["Sender"],
        json!({"Discriminator": "Enterprise", "Value": null})
    );
    let listed = app
        .staff(STAFF_THREADS_GET_ALL, json!({"Limitation": {"Count": 1}}))
        .await
        .ok();
    assert_eq!(
        listed["MessageThreads"][0]["IsResolved"], true,
        "still resolved"
    );
    assert_eq!(
        listed["MessageThreads"][0]["UpdatedUtc"],
        "2026-03-10T12:05:00Z"
    );
    // Staff read any thread's messages; the owning integration reads the reply.
    let staff_view = app
        .staff(
            STAFF_MESSAGES_GET_ALL,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 10}}),
        )
        .await
        .ok();
    assert_eq!(staff_view["Messages"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.messages_of(OTHER_CLIENT, &thread).await[0]["Text"],
        "We will hold your room."
    );
}

#[tokio::test]
async fn staff_requests_do_not_count_against_any_rate_limit() {
    let app = spawn_app_with(switchboard::http::Settings {
        rate_limit: RateLimit {
            requests: 2,
            window_secs: 30,
        },
        ..settings()
    })
    .await;
    for _ in 0..5 {
        app.staff(STAFF_THREADS_GET_ALL, json!({"Limitation": {"Count": 1}}))
            .await
            .ok();
    }
}

/// SPEC §2: the operator API is ours, so a typo must not widen a query; the
/// Connector API ignores what it does not know, as the vendor does.
#[tokio::test]
async fn an_unknown_property_is_refused_on_the_operator_api_only() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Open").await;
    app.staff(
        STAFF_THREADS_UPDATE,
        json!({"MessageThreadId": thread["Id"], "IsResolved": true}),
    )
    .await
    .ok();
    app.add_thread(PORTFOLIO, "Guest", "Still open").await;
    for (body, named) in [
        (
            json!({"IsResolve": false, "Limitation": {"Count": 10}}),
            "IsResolve (did you mean IsResolved?)",
        ),
        (
            json!({"Limitation": {"Count": 10, "cursor": null}}),
            "Limitation.cursor (did you mean Cursor?)",
        ),
        (
            json!({"Limitation": {"Count": 10}, "Everything": true}),
            "Everything: check",
        ),
    ] {
        let said = app
            .staff(STAFF_THREADS_GET_ALL, body.clone())
            .await
            .assert_error(400);
        assert!(
            said.starts_with("The operator API takes no property ") && said.contains(named),
            "{body}: {said}"
        );
    }
    // The same typo on the Connector API is ignored, not refused.
    let listed = app
        .get_threads(PORTFOLIO, json!({"IsResolve": false}))
        .await
        .ok();
    assert_eq!(listed["MessageThreads"].as_array().unwrap().len(), 2);
}
