//! A Postman collection of every operation, made from the OpenAPI document so
//! that the two cannot drift: the same paths, summaries and examples. The
//! base address and the demo's tokens are collection variables; the requests
//! come in the table's order, a conversation's, and the one that adds a thread keeps
//! its id in `threadId` for those that follow.

use serde_json::{Value, json};

use super::openapi::{self, EXAMPLE_ACCESS_TOKEN_ID, EXAMPLE_THREAD_ID};
use crate::operations::{Api, Operation};

/// The collection (Postman format 2.1).
pub fn collection(base_url: &str) -> Value {
    let doc = openapi::document(None);
    let items: Vec<Value> = Operation::ALL
        .iter()
        .map(|&op| item(op, &doc["paths"][op.path()]["post"]))
        .collect();
    json!({
        "info": {
            "name": "switchboard",
            "description": "Every operation of switchboard, made from its /openapi.json. Set baseUrl, and operatorToken for the staff's operations; clientToken and accessToken are the demo tenant's.",
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
        },
        "variable": [
            { "key": "baseUrl", "value": base_url },
            { "key": "clientToken", "value": crate::demo::CLIENT_TOKEN },
            { "key": "accessToken", "value": crate::demo::PORTFOLIO_ACCESS_TOKEN },
            { "key": "operatorToken", "value": "" },
            { "key": "threadId", "value": EXAMPLE_THREAD_ID },
            { "key": "accessTokenId", "value": EXAMPLE_ACCESS_TOKEN_ID }
        ],
        "item": items
    })
}

fn item(op: Operation, operation: &Value) -> Value {
    let path = op.path();
    let example = operation["requestBody"]["content"]["application/json"]["example"].to_string();
    let body = example
        .replace(crate::demo::CLIENT_TOKEN, "{{clientToken}}")
        .replace(crate::demo::PORTFOLIO_ACCESS_TOKEN, "{{accessToken}}")
        .replace(EXAMPLE_THREAD_ID, "{{threadId}}")
        .replace(EXAMPLE_ACCESS_TOKEN_ID, "{{accessTokenId}}");
    let mut tests = vec![
        "pm.test('answers 200', function () { pm.response.to.have.status(200); });".to_owned(),
    ];
    // What later requests name: the thread and the access token made here.
    match op {
        Operation::ThreadsAdd => tests.push(
            "pm.collectionVariables.set('threadId', pm.response.json().MessageThreads[0].Id);"
                .to_owned(),
        ),
        Operation::AccessTokensAdd => tests.push(
            "pm.collectionVariables.set('accessTokenId', pm.response.json().Token.Id);".to_owned(),
        ),
        _ => {}
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
    if op.api() == Api::Operator {
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
