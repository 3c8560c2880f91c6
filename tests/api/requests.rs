//! SPEC §2 and §3: what every API request must look like, and the error body.

use serde_json::json;
use switchboard::http::Settings;

use crate::helpers::*;

#[tokio::test]
async fn other_methods_get_405_with_allow_post() {
    let app = spawn_app().await;
    for path in crate::helpers::paths::operations() {
        for method in ["GET", "PUT", "DELETE", "PATCH"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let reply = app
                .send(app.client.request(method, format!("{}{path}", app.base)))
                .await;
            reply.assert_message(405, "This operation accepts only POST.");
            assert_eq!(reply.header("allow"), Some("POST"));
        }
    }
}

#[tokio::test]
async fn paths_are_exact_and_case_sensitive() {
    let app = spawn_app().await;
    let body = with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"}));
    for path in [
        "/api/connector/v1/messageThreads/add/",
        "/api/connector/v1/messagethreads/add",
        "/api/connector/v1/messageThreads/Add",
        "/api/connector/v2/messageThreads/add",
        "/api/connector/v1/messageThreads/add/x",
        "/nothing",
    ] {
        let reply = app.post(path, &body).await;
        let message = reply.assert_error(404);
        assert!(message.contains("case-sensitive"), "{message}");
    }
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
}

#[tokio::test]
async fn content_type_must_be_application_json() {
    let app = spawn_app().await;
    let body = with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"})).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/jsonx"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .client
            .post(format!("{}{ADD}", app.base))
            .body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        app.send(request)
            .await
            .assert_message(415, "Content-Type must be application/json.");
    }
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let request = app
            .client
            .post(format!("{}{ADD}", app.base))
            .header("content-type", content_type)
            .body(body.clone());
        assert_eq!(app.send(request).await.status, 200, "{content_type}");
    }
    assert_eq!(app.visible_thread_ids(PORTFOLIO).await.len(), 2);
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(Settings {
        max_body_bytes: 1024,
        ..settings()
    })
    .await;
    let padding = "x".repeat(1024);
    let body = with_creds(
        PORTFOLIO,
        json!({"OriginalSender": "A", "Subject": "B", "Padding": padding}),
    );
    app.post(ADD, &body).await.assert_message(
        413,
        "The request body is larger than the limit of 1024 bytes.",
    );

    // Without a Content-Length (chunked), the limit holds while reading.
    let payload = body.to_string();
    let raw = format!(
        "POST {ADD} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{payload}\r\n0\r\n\r\n",
        payload.len()
    );
    let answer = app.raw(raw.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"RequestId\""), "{answer}");
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
}

/// SPEC §3: a client that sends its whole body before it reads the answer,
/// as most HTTP libraries do, receives the 413, not a reset connection: the
/// server reads the rest of the body and throws it away before it answers.
#[tokio::test]
async fn a_client_that_sends_all_of_a_large_body_first_receives_the_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    for size in [1_100_000usize, 4 << 20] {
        let body = vec![b' '; size];
        for attempt in 0..100 {
            let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
            let head = format!(
                "POST {ADD} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                 Content-Length: {size}\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream
                .write_all(&body)
                .await
                .unwrap_or_else(|e| panic!("{size} bytes, try {attempt}: sending failed: {e}"));
            let mut answer = Vec::new();
            stream
                .read_to_end(&mut answer)
                .await
                .unwrap_or_else(|e| panic!("{size} bytes, try {attempt}: no answer: {e}"));
            let answer = String::from_utf8_lossy(&answer);
            assert!(
                answer.starts_with("HTTP/1.1 413"),
                "{size} bytes, try {attempt}: {answer}"
            );
            assert!(answer.contains("\"RequestId\""), "{answer}");
        }
    }
}

#[tokio::test]
async fn malformed_json_gets_400() {
    let app = spawn_app().await;
    for bad in ["", "{", "{\"ClientToken\": }", "nul", "{\"a\":1}x"] {
        let request = app
            .client
            .post(format!("{}{ADD}", app.base))
            .header("content-type", "application/json")
            .body(bad);
        let message = app.send(request).await.assert_error(400);
        assert!(
            message.starts_with("The request body is not valid JSON"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn the_body_must_be_one_json_object() {
    let app = spawn_app().await;
    for bad in [json!([]), json!("text"), json!(1), json!(null)] {
        app.post(ADD, &bad)
            .await
            .assert_message(400, "The request body must be a JSON object.");
    }
}

#[tokio::test]
async fn credentials_and_client_are_required_non_empty_strings() {
    let app = spawn_app().await;
    for name in ["ClientToken", "AccessToken", "Client"] {
        for path in [ADD, GET_ALL, MESSAGES_ADD, MESSAGES_GET_ALL] {
            let mut body = with_creds(
                PORTFOLIO,
                json!({"OriginalSender": "A", "Subject": "B", "CreatedUtc": everything(), "Limitation": {"Count": 1}}),
            );
            body.as_object_mut().unwrap().remove(name);
            app.post(path, &body)
                .await
                .assert_message(400, &format!("{name} is required."));
            body[name] = json!(null);
            app.post(path, &body)
                .await
                .assert_message(400, &format!("{name} is required."));
            body[name] = json!("");
            app.post(path, &body)
                .await
                .assert_message(400, &format!("{name} must not be empty."));
            body[name] = json!(42);
            app.post(path, &body)
                .await
                .assert_message(400, &format!("{name} must be a string."));
        }
    }
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
}

#[tokio::test]
async fn unknown_properties_language_and_culture_are_accepted() {
    let app = spawn_app().await;
    let reply = app
        .call(
            ADD,
            PORTFOLIO,
            json!({
                "OriginalSender": "A", "Subject": "B",
                "LanguageCode": "en-US", "CultureCode": "en-US",
                "SomethingNew": {"nested": [1, 2, 3]},
            }),
        )
        .await;
    reply.ok();
    let reply = app
        .call(ADD, PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B", "LanguageCode": null, "CultureCode": null}))
        .await;
    reply.ok();
}

#[tokio::test]
async fn strings_must_not_contain_nul() {
    let app = spawn_app().await;
    app.call(
        ADD,
        PORTFOLIO,
        json!({"OriginalSender": "A\u{0}", "Subject": "B"}),
    )
    .await
    .assert_message(400, "OriginalSender must not contain U+0000.");
    assert!(app.visible_thread_ids(PORTFOLIO).await.is_empty());
}

#[tokio::test]
async fn every_response_has_a_fresh_request_id() {
    let app = spawn_app().await;
    let first = app
        .call(
            ADD,
            PORTFOLIO,
            json!({"OriginalSender": "A", "Subject": "B"}),
        )
        .await;
    let second = app
        .call(
            ADD,
            PORTFOLIO,
            json!({"OriginalSender": "A", "Subject": "B"}),
        )
        .await;
    let not_found = app.send(app.client.get(format!("{}/nope", app.base))).await;
    let health = app
        .send(app.client.get(format!("{}/healthz", app.base)))
        .await;
    let ids: Vec<&str> = [&first, &second, &not_found, &health]
        .iter()
        .map(|r| r.header("request-id").expect("Request-Id"))
        .collect();
    for id in &ids {
        assert!(uuid::Uuid::try_parse(id).is_ok());
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are fresh: {ids:?}");
}

#[tokio::test]
async fn a_property_named_twice_is_refused() {
    let app = spawn_app().await;
    // A proxy that reads the first AccessToken must not see another token than
    // switchboard does.
    let body = format!(
        r#"{{"ClientToken": "{}", "AccessToken": "not the token", "AccessToken": "{}",
            "Client": "c", "OriginalSender": "A", "Subject": "B"}}"#,
        PORTFOLIO.client, PORTFOLIO.access
    );
    let reply = app
        .send(
            app.client
                .post(format!("{}{ADD}", app.base))
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    let message = reply.assert_error(400);
    assert!(
        message.contains("the property AccessToken appears more than once"),
        "{message}"
    );
    // Nested objects too.
    let body = json!({"CreatedUtc": {"StartUtc": "x"}})
        .to_string()
        .replace(
            r#""StartUtc":"x""#,
            r#""StartUtc":"2026-03-10T00:00:00Z","StartUtc":"2026-03-11T00:00:00Z""#,
        );
    let reply = app
        .send(
            app.client
                .post(format!("{}{STAFF_THREADS_GET_ALL}", app.base))
                .header("content-type", "application/json")
                .bearer_auth(OPERATOR_TOKEN)
                .body(body),
        )
        .await;
    assert!(
        reply
            .assert_error(400)
            .contains("StartUtc appears more than once"),
        "{}",
        reply.text
    );
    assert_eq!(
        app.visible_thread_ids(PORTFOLIO).await.len(),
        0,
        "nothing written"
    );
}

#[tokio::test]
async fn a_compressed_body_gets_415() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .post(format!("{}{ADD}", app.base))
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(
                    with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"}))
                        .to_string(),
                ),
        )
        .await;
    reply.assert_message(
        415,
        "Content-Encoding is not supported: send the body uncompressed.",
    );
    assert_eq!(
        app.visible_thread_ids(PORTFOLIO).await.len(),
        0,
        "nothing written"
    );
}
