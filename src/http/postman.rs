//! A Postman collection of every operation, made from the OpenAPI document so
//! that the two cannot drift: the same paths, summaries and examples. The
//! base address and the demo's tokens are collection variables; the requests
//! come in the order of a conversation, and the one that adds a thread keeps
//! its id in `threadId` for those that follow.

use serde_json::{Value, json};

use super::openapi::{self, EXAMPLE_THREAD_ID};
use super::paths;

/// The operations in the order of a conversation: what adds comes before what
/// lists, so that every list has something to show.
pub const CONVERSATION: [&str; 18] = [
    paths::THREADS_ADD,
    paths::MESSAGES_ADD,
    paths::STAFF_MESSAGES_ADD,
    paths::THREADS_GET_ALL,
    paths::MESSAGES_GET_ALL,
    paths::STAFF_THREADS_GET_ALL,
    paths::STAFF_MESSAGES_GET_ALL,
    paths::STAFF_THREADS_UPDATE,
    paths::CLOCK_GET,
    paths::CLOCK_SET,
    paths::CLOCK_ADVANCE,
    paths::RESET,
    paths::FAULTS_ADD,
    paths::FAULTS_GET_ALL,
    paths::FAULTS_DELETE,
    paths::WEBHOOKS_GET_ALL,
    paths::WEBHOOKS_RETRY,
    paths::REQUESTS_GET_ALL,
];

/// The collection (Postman format 2.1).
pub fn collection() -> Value {
    let doc = openapi::document(None);
    let items: Vec<Value> = CONVERSATION
        .iter()
        .map(|path| item(path, &doc["paths"][path]["post"]))
        .collect();
    json!({
        "info": {
            "name": "switchboard",
            "description": "Every operation of switchboard, made from its /openapi.json. Set baseUrl, and operatorToken for the staff's operations; clientToken and accessToken are the demo tenant's.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        },
        "variable": [
            { "key": "baseUrl", "value": "http://127.0.0.1:8080" },
            { "key": "clientToken", "value": crate::demo::CLIENT_TOKEN },
            { "key": "accessToken", "value": crate::demo::PORTFOLIO_ACCESS_TOKEN },
            { "key": "operatorToken", "value": "" },
            { "key": "threadId", "value": EXAMPLE_THREAD_ID }
        ],
        "item": items
    })
}

fn item(path: &str, operation: &Value) -> Value {
    let example = operation["requestBody"]["content"]["application/json"]["example"].to_string();
    let body = example
        .replace(crate::demo::CLIENT_TOKEN, "{{clientToken}}")
        .replace(crate::demo::PORTFOLIO_ACCESS_TOKEN, "{{accessToken}}")
        .replace(EXAMPLE_THREAD_ID, "{{threadId}}");
    let mut tests = vec![
        "pm.test('answers 200', function () { pm.response.to.have.status(200); });".to_owned(),
    ];
    if path == paths::THREADS_ADD {
        tests.push(
            "pm.collectionVariables.set('threadId', pm.response.json().MessageThreads[0].Id);"
                .to_owned(),
        );
    }
    let mut request = json!({
        "method": "POST",
        "header": [{ "key": "Content-Type", "value": "application/json" }],
        "body": { "mode": "raw", "raw": body },
        "url": {
            "raw": format!("{{{{baseUrl}}}}{path}"),
            "host": ["{{baseUrl}}"],
            "path": path.trim_start_matches('/').split('/').collect::<Vec<_>>()
        },
        "description": operation["summary"]
    });
    if paths::is_staff(path) {
        request["auth"] = json!({
            "type": "bearer",
            "bearer": [{ "key": "token", "value": "{{operatorToken}}", "type": "string" }]
        });
    }
    json!({
        "name": format!("{}: {}", operation["tags"][0].as_str().unwrap_or(""), operation["operationId"].as_str().unwrap_or(path)),
        "request": request,
        "event": [{ "listen": "test", "script": { "type": "text/javascript", "exec": tests } }]
    })
}
