//! SPEC §3 for requests that cannot be read as HTTP at all (a bad request
//! line, header or `Content-Length`, a target or headers too large): the
//! answer still has a `Request-Id` and the JSON error body, sent over a raw
//! socket since no HTTP client sends such requests.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Sends `request` as it is and reads the answer until the server closes.
async fn exchange(app: &TestApp, request: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect");
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8(answer).expect("a UTF-8 answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole head");
    (head.to_owned(), body.to_owned())
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// Checks SPEC §3 on an answer with `status`.
fn assert_error_answer(head: &str, body: &str, status: u16) {
    let line = head.lines().next().unwrap_or_default();
    assert!(line.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
    let id = header(head, "request-id").unwrap_or_else(|| panic!("no Request-Id: {head}"));
    let id = uuid::Uuid::parse_str(id).expect("the Request-Id is a UUID");
    assert_eq!(header(head, "content-type"), Some(JSON_UTF8), "{head}");
    assert_eq!(
        header(head, "content-length"),
        Some(body.len().to_string().as_str()),
        "{head}"
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(body["RequestId"], id.to_string(), "{body}");
    let message = body["Message"].as_str().expect("a Message");
    assert!(!message.is_empty());
}

const JSON_UTF8: &str = "application/json; charset=utf-8";

#[tokio::test]
async fn a_bad_content_length_gets_an_id_and_the_error_body() {
    let app = spawn_app().await;
    for length in ["abc", "-1", "5, 6"] {
        let request = format!(
            "POST /api/connector/v1/messageThreads/getAll HTTP/1.1\r\nHost: x\r\n\
             Content-Length: {length}\r\n\r\n{{}}"
        );
        let (head, body) = exchange(&app, request.as_bytes()).await;
        assert_error_answer(&head, &body, 400);
    }
}

#[tokio::test]
async fn a_control_byte_in_the_target_or_a_header_gets_an_id_and_the_error_body() {
    let app = spawn_app().await;
    let requests: [&[u8]; 3] = [
        b"GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
        b"NOT A REQUEST\r\n\r\n",
    ];
    for request in requests {
        let (head, body) = exchange(&app, request).await;
        assert_error_answer(&head, &body, 400);
    }
    // They are counted, under a route of their own.
    let metrics = app
        .send(app.client.get(format!("{}/metrics", app.base)))
        .await
        .text;
    let line = "switchboard_http_requests_total{route=\"unparsed\",status=\"400\"} 3";
    assert!(metrics.contains(line), "{metrics}");
}

#[tokio::test]
async fn headers_too_large_or_too_many_get_an_id_and_the_error_body() {
    let app = spawn_app().await;
    let huge = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Huge: {}\r\n\r\n",
        "a".repeat(600 * 1024)
    );
    let (head, body) = exchange(&app, huge.as_bytes()).await;
    assert_error_answer(&head, &body, 431);

    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let many = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let (head, body) = exchange(&app, many.as_bytes()).await;
    assert_error_answer(&head, &body, 431);
}

#[tokio::test]
async fn a_target_too_long_gets_an_id_and_the_error_body() {
    let app = spawn_app().await;
    let request = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let (head, body) = exchange(&app, request.as_bytes()).await;
    assert_error_answer(&head, &body, 414);
}

/// A request that is read before a bad one on the same connection is
/// answered as usual; only the bad one gets the completed error answer.
#[tokio::test]
async fn a_good_request_before_a_bad_one_keeps_its_own_answer() {
    let app = spawn_app().await;
    let (head, body) = exchange(
        &app,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /x\x01 HTTP/1.1\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let first_id = header(&head, "request-id").expect("the first answer's id");
    let length: usize = header(&head, "content-length")
        .expect("a length")
        .parse()
        .unwrap();
    let (first_body, second) = body.split_at(length);
    assert!(!first_body.contains("HTTP/1.1"), "{first_body}");
    let (second_head, second_body) = second.split_once("\r\n\r\n").expect("a second answer");
    assert_error_answer(second_head, second_body, 400);
    assert_ne!(header(second_head, "request-id"), Some(first_id));
}
