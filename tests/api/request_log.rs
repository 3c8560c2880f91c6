//! SPEC §16.4: each node's request log, and the rule that no token ever
//! appears: not in the log, the server's own log, nor any operator answer.

use crate::helpers::paths::{self, REQUESTS_DELETE, RESET, THREADS_ADD};
use serde_json::{Value, json};
use switchboard::demo;

use crate::helpers::*;
use crate::process::{cli, post, serve};

const LOG: &str = "/api/operator/v1/requests/getAll";

async fn log(app: &TestApp, body: Value) -> Value {
    app.staff(LOG, body).await.ok()
}

#[tokio::test]
async fn the_log_shows_what_was_sent_and_answered_newest_first() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room 12").await;
    let wrong = Creds {
        client: demo::CLIENT_TOKEN,
        access: "not-a-token",
    };
    app.get_threads(wrong, json!({})).await.assert_error(401);
    let fault = app
        .staff(
            "/api/operator/v1/faults/add",
            json!({"Operation": "messages/getAll", "Status": 503, "Times": 1, "Stage": "Before"}),
        )
        .await
        .ok()["Faults"][0]["Id"]
        .clone();
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 5}}),
    )
    .await
    .assert_error(503);
    // Staff requests are not Connector API requests: not logged.
    app.staff(STAFF_THREADS_GET_ALL, json!({"Limitation": {"Count": 1}}))
        .await
        .ok();

    let page = log(&app, json!({"Limitation": {"Count": 10}})).await;
    let requests = page["Requests"].as_array().unwrap();
    let operations: Vec<&str> = requests
        .iter()
        .map(|r| r["Operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations,
        [
            "messages/getAll",
            "messageThreads/getAll",
            "messageThreads/add"
        ]
    );
    let [faulted, refused, added] = requests.as_slice() else {
        unreachable!()
    };
    assert_eq!(faulted["Status"], 503);
    assert_eq!(faulted["FaultId"], fault);
    assert_eq!(faulted["IntegrationId"], json!(demo::SAMPLE_CLIENT));
    assert_eq!(refused["Status"], 401);
    assert_eq!(
        refused["IntegrationId"],
        Value::Null,
        "authentication failed"
    );
    assert_eq!(refused["FaultId"], Value::Null);
    assert_eq!(added["Status"], 200);
    assert_eq!(
        added["TimeUtc"], "2026-03-10T12:00:00.000Z",
        "on the clock the server reads"
    );
    assert!(added["DurationMs"].as_f64().unwrap() >= 0.0);
    let sent = &added["Request"];
    assert_eq!(sent["ClientToken"], "***");
    assert_eq!(sent["AccessToken"], "***");
    assert_eq!(sent["Subject"], "Room 12");
    assert_eq!(added["RequestText"], Value::Null);
    let answered = &added["Response"];
    assert_eq!(answered["MessageThreads"][0]["Id"], thread["Id"]);
    let id = faulted["RequestId"].as_str().unwrap();
    assert_eq!(
        faulted["Response"]["RequestId"], id,
        "the error body as sent"
    );
    assert_eq!(page["Cursor"], added["RequestId"]);
    let text = page.to_string();
    for token in [demo::CLIENT_TOKEN, demo::PORTFOLIO_ACCESS_TOKEN] {
        assert!(!text.contains(token));
    }
}

#[tokio::test]
async fn the_log_filters_pages_and_cuts_long_bodies() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    app.add_message(PORTFOLIO, &thread, &"é".repeat(3000)).await;
    app.get_threads(OTHER_CLIENT, json!({})).await.ok();
    app.get_threads(OTHER_CLIENT, json!({"Limitation": {"Count": 0}}))
        .await
        .assert_error(400);

    let adds = log(
        &app,
        json!({"Operations": ["messages/add"], "Limitation": {"Count": 10}}),
    )
    .await;
    let long = &adds["Requests"][0];
    assert_eq!(
        long["Request"],
        Value::Null,
        "a cut body is no JSON: {long}"
    );
    let text = long["RequestText"].as_str().unwrap();
    assert!(text.ends_with("…(cut at 4 KiB)"), "{long}");
    assert!(text.len() <= 4096 + 20);

    let other = log(
        &app,
        json!({"IntegrationIds": [demo::TEST_CLIENT_2], "Limitation": {"Count": 10}}),
    )
    .await;
    assert_eq!(other["Requests"].as_array().unwrap().len(), 2);
    let refused = log(
        &app,
        json!({"IntegrationIds": [demo::TEST_CLIENT_2], "Statuses": [400], "Limitation": {"Count": 10}}),
    )
    .await;
    assert_eq!(refused["Requests"].as_array().unwrap().len(), 1);

    let first = log(&app, json!({"Limitation": {"Count": 2}})).await;
    let rest = log(
        &app,
        json!({"Limitation": {"Count": 10, "Cursor": first["Cursor"]}}),
    )
    .await;
    let ids = |page: &Value| -> Vec<String> {
        page["Requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["RequestId"].as_str().unwrap().to_owned())
            .collect()
    };
    // Newer requests (these getAlls of the log are not logged) do not shift pages.
    assert_eq!(ids(&first).len() + ids(&rest).len(), 4);
    assert!(ids(&rest).iter().all(|id| !ids(&first).contains(id)));
    app.staff(
        LOG,
        json!({"Limitation": {"Count": 1, "Cursor": uuid::Uuid::new_v4()}}),
    )
    .await
    .assert_error(400);
    app.staff(LOG, json!({"Statuses": [42], "Limitation": {"Count": 1}}))
        .await
        .assert_error(400);
}

#[tokio::test]
async fn the_log_keeps_the_last_n_requests_or_none() {
    let db = TestDatabase::new().await;
    let client = http_client();
    for (length, kept) in [("3", 3), ("0", 0)] {
        let server = serve(
            &db,
            &["--operator-token", OPERATOR_TOKEN, "--request-log", length],
        )
        .await;
        for i in 0..5 {
            let body = with_creds(
                PORTFOLIO,
                json!({"OriginalSender": "G", "Subject": format!("#{i}")}),
            );
            let (status, _) = post(&client, &server.base, ADD, &body).await.unwrap();
            assert_eq!(status, 200);
        }
        let page: Value = client
            .post(format!("{}{LOG}", server.base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({"Limitation": {"Count": 100}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let subjects: Vec<String> = page["Requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Request"]["Subject"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (5 - kept..5).rev().map(|i| format!("#{i}")).collect();
        assert_eq!(subjects, expected, "--request-log {length}");
    }
}

/// Every operation, good and bad, through a real server; then the tokens are
/// looked for everywhere a tester can read: the server's log, the request log,
/// every operator answer, the command line and an export.
#[tokio::test]
async fn no_token_appears_anywhere_after_every_operation() {
    let db = TestDatabase::new().await;
    let operator = "operator-secret-4711";
    let server = serve(
        &db,
        &[
            "--operator-token",
            operator,
            "--clock",
            "manual",
            "--log-format",
            "json",
        ],
    )
    .await;
    let client = http_client();
    let doc: Value = client
        .get(format!("{}/openapi.json", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut answers = Vec::new();
    let staff = |path: String, body: Value| {
        client
            .post(format!("{}{path}", server.base))
            .bearer_auth(operator)
            .json(&body)
            .send()
    };
    // A thread first, so that the examples that name one work.
    let (_, added) = post(
        &client,
        &server.base,
        ADD,
        &with_creds(PORTFOLIO, json!({"OriginalSender": "G", "Subject": "S"})),
    )
    .await
    .unwrap();
    let thread = added["MessageThreads"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in paths::operations() {
        let example =
            doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["example"]
                .to_string()
                .replace(switchboard::http::openapi::EXAMPLE_THREAD_ID, &thread);
        let mut body: Value = serde_json::from_str(&example).unwrap();
        let reply = if paths::is_staff(path) {
            staff(path.to_owned(), body)
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        } else {
            body["ClientToken"] = json!(demo::CLIENT_TOKEN);
            body["AccessToken"] = json!(demo::PORTFOLIO_ACCESS_TOKEN);
            let (_, reply) = post(&client, &server.base, path, &body).await.unwrap();
            reply.to_string()
        };
        answers.push(reply);
    }
    // Refused ones: a wrong pair, a revoked-looking token, a body that is not
    // JSON, a wrong operator token.
    let wrong = with_creds(
        Creds {
            client: demo::CLIENT_TOKEN_2,
            access: demo::PORTFOLIO_ACCESS_TOKEN,
        },
        json!({"Limitation": {"Count": 1}}),
    );
    post(&client, &server.base, GET_ALL, &wrong).await.unwrap();
    client
        .post(format!("{}{GET_ALL}", server.base))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"ClientToken\": \"{}\", \"AccessToken\": \"{}\",",
            demo::CLIENT_TOKEN,
            demo::NET_ACCESS_TOKEN
        ))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{}{LOG}", server.base))
        .bearer_auth(demo::GROSS_ACCESS_TOKEN_2)
        .json(&json!({"Limitation": {"Count": 1}}))
        .send()
        .await
        .unwrap();
    for path in [
        LOG,
        "/api/operator/v1/webhooks/getAll",
        "/api/operator/v1/faults/getAll",
        "/api/operator/v1/clock/get",
    ] {
        let body = if path.ends_with("getAll") && !path.contains("faults") {
            json!({"Limitation": {"Count": 1000}})
        } else {
            json!({})
        };
        answers.push(
            staff(path.to_owned(), body)
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        );
    }
    for args in [
        &["webhooks", "list"][..],
        &["token", "list"],
        &["integration", "list"],
        &["export"],
    ] {
        let (ok, out, err) = cli(&db, args).await;
        assert!(ok, "{args:?}: {err}");
        answers.push(out);
        answers.push(err);
    }
    drop(server);
    let log = std::fs::read_to_string(
        std::fs::read_dir(db.dir())
            .unwrap()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("serve-"))
            .unwrap()
            .path(),
    )
    .unwrap();
    assert!(log.contains("request"), "the server logged requests: {log}");
    answers.push(log);
    let everything = answers.join("\n");
    assert!(
        everything.contains("***"),
        "the request log shows where tokens were"
    );
    for token in [
        demo::CLIENT_TOKEN,
        demo::PORTFOLIO_ACCESS_TOKEN,
        demo::NET_ACCESS_TOKEN,
        demo::CLIENT_TOKEN_2,
        demo::GROSS_ACCESS_TOKEN_2,
        operator,
    ] {
        assert!(!everything.contains(token), "{token} appeared");
    }
}

/// `Request` is the JSON as sent, in its order; a body that is not JSON is
/// kept as text with its tokens masked; ignored properties are named.
#[tokio::test]
async fn the_log_keeps_bodies_as_sent_and_names_what_was_ignored() {
    let app = spawn_app().await;
    let sent = format!(
        r#"{{"Subject": "Late check-in", "originalSender": "Guest", "Limitation": {{"count": 2}}, "Client": "bot", "ClientToken": "{}", "AccessToken": "{}"}}"#,
        demo::CLIENT_TOKEN,
        demo::PORTFOLIO_ACCESS_TOKEN
    );
    let refused = app
        .send(
            app.client
                .post(format!("{}{THREADS_ADD}", app.base))
                .header("content-type", "application/json")
                .header("user-agent", "guest-app/2.1")
                .header("prefer", "return=minimal")
                .body(sent.clone()),
        )
        .await;
    refused.assert_message(400, "OriginalSender is required.");
    let broken = format!(
        "ClientToken={}&AccessToken={} {}",
        demo::CLIENT_TOKEN,
        demo::PORTFOLIO_ACCESS_TOKEN,
        demo::NET_ACCESS_TOKEN
    );
    app.send(
        app.client
            .post(format!("{}{THREADS_ADD}", app.base))
            .header("content-type", "application/json")
            .body(broken.clone()),
    )
    .await
    .assert_error(400);

    let page = log(&app, json!({"Limitation": {"Count": 10}})).await;
    let [text, json_body] = page["Requests"].as_array().unwrap().as_slice() else {
        panic!("two entries: {page}")
    };
    // As sent, in the order sent, tokens masked.
    let request = json_body["Request"].as_object().unwrap();
    assert_eq!(
        request.keys().collect::<Vec<_>>(),
        [
            "Subject",
            "originalSender",
            "Limitation",
            "Client",
            "ClientToken",
            "AccessToken"
        ]
    );
    assert_eq!(request["Limitation"], json!({"count": 2}));
    assert_eq!(request["ClientToken"], "***");
    assert_eq!(json_body["RequestText"], Value::Null);
    assert_eq!(
        json_body["Response"]["Message"],
        "OriginalSender is required."
    );
    assert_eq!(
        json_body["Warnings"],
        json!([
            {"Property": "originalSender", "DidYouMean": "OriginalSender"},
            {"Property": "Limitation", "DidYouMean": null}
        ])
    );
    assert_eq!(
        json_body["Headers"],
        json!({
            "ContentType": "application/json",
            "ContentLength": sent.len().to_string(),
            "UserAgent": "guest-app/2.1",
            "Prefer": "return=minimal",
            "RetryAfter": null
        })
    );
    // Not JSON: kept as text, every token masked.
    assert_eq!(text["Request"], Value::Null);
    assert_eq!(
        text["RequestText"], "ClientToken=***&AccessToken=*** ***",
        "{text}"
    );
    assert_eq!(text["Warnings"], json!([]));
    assert_eq!(text["Status"], 400);
    assert!(!page.to_string().contains(demo::NET_ACCESS_TOKEN));
}

/// `Sequence` grows by one per entry, and `AfterSequence` takes exactly the
/// entries after it, even on a manual clock where every `TimeUtc` is equal.
#[tokio::test]
async fn a_test_takes_exactly_its_own_requests_by_sequence() {
    let app = spawn_app().await;
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    let before = log(&app, json!({"Limitation": {"Count": 1}})).await;
    let mark = before["Requests"][0]["Sequence"].as_u64().unwrap();
    for subject in ["one", "two", "three"] {
        app.add_thread(PORTFOLIO, "Guest", subject).await;
    }
    let mine = log(
        &app,
        json!({"AfterSequence": mark, "Limitation": {"Count": 100}}),
    )
    .await;
    let entries = mine["Requests"].as_array().unwrap();
    let sequences: Vec<u64> = entries
        .iter()
        .map(|e| e["Sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(sequences, [mark + 3, mark + 2, mark + 1]);
    let subjects: Vec<&str> = entries
        .iter()
        .map(|e| e["Request"]["Subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["three", "two", "one"]);
    assert!(
        entries
            .iter()
            .all(|e| e["TimeUtc"] == entries[0]["TimeUtc"]),
        "the manual clock stood still"
    );
    let none = log(
        &app,
        json!({"AfterSequence": mark + 3, "Limitation": {"Count": 100}}),
    )
    .await;
    assert_eq!(none["Requests"], json!([]));
    assert_eq!(none["Cursor"], Value::Null);
}

#[tokio::test]
async fn the_log_is_emptied_by_delete_and_by_reset_and_checks_its_filter() {
    let app = spawn_app().await;
    app.add_thread(PORTFOLIO, "Guest", "Before").await;
    let last = log(&app, json!({"Limitation": {"Count": 1}})).await["Requests"][0]["Sequence"]
        .as_u64()
        .unwrap();
    assert_eq!(app.staff(REQUESTS_DELETE, json!({})).await.ok(), json!({}));
    assert_eq!(
        log(&app, json!({"Limitation": {"Count": 100}})).await["Requests"],
        json!([])
    );
    app.add_thread(PORTFOLIO, "Guest", "After").await;
    let after = log(&app, json!({"Limitation": {"Count": 100}})).await;
    assert_eq!(after["Requests"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["Requests"][0]["Sequence"].as_u64().unwrap(),
        last + 1,
        "the sequence goes on: an older mark still cuts right"
    );
    // `reset` with `RequestLog` empties it too (and only then).
    app.staff(RESET, json!({})).await.ok();
    assert_eq!(
        log(&app, json!({"Limitation": {"Count": 100}})).await["Requests"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.staff(RESET, json!({"RequestLog": true})).await.ok();
    assert_eq!(
        log(&app, json!({"Limitation": {"Count": 100}})).await["Requests"],
        json!([])
    );

    app.staff(
        LOG,
        json!({"Operations": ["messages/Add"], "Limitation": {"Count": 1}}),
    )
    .await
    .assert_message(
        400,
        "Operations[0] must be the name of a Connector API operation: messageThreads/add, \
         messages/add, messageThreads/getAll, messages/getAll.",
    );
    app.staff(REQUESTS_DELETE, json!({"All": true}))
        .await
        .assert_error(400);
    app.staff(
        LOG,
        json!({"AfterSequence": -1, "Limitation": {"Count": 1}}),
    )
    .await
    .assert_error(400);
}
