//! Issue rule 8: `/openapi.json` stays true to the code. Every route is
//! documented and every documented operation exists; each documented example
//! succeeds; every required property is enforced and every typed property
//! refuses a value of the wrong type; real responses match the schemas.

use serde_json::{Value, json};
use switchboard::http::paths;

use crate::helpers::*;

async fn document(app: &TestApp) -> Value {
    app.send(app.client.get(format!("{}/openapi.json", app.base)))
        .await
        .ok()
}

/// Follows a `$ref` to `#/components/schemas/...`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("schema type {other} not known to this checker"),
    }
}

/// Checks `value` against the subset of JSON Schema the document uses.
fn validate(doc: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let schema = resolve(doc, schema);
    let fail = |why: String| Err(format!("{path}: {why} (value {value})"));
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !kinds.is_empty() && !kinds.iter().any(|k| type_matches(k, value)) {
        return fail(format!("not of type {kinds:?}"));
    }
    if let Some(text) = value.as_str() {
        let len = text.chars().count() as u64;
        if schema["minLength"].as_u64().is_some_and(|min| len < min) {
            return fail("too short".into());
        }
        if schema["maxLength"].as_u64().is_some_and(|max| len > max) {
            return fail("too long".into());
        }
        match schema["format"].as_str() {
            Some("uuid") if uuid::Uuid::try_parse(text).is_err() || text != text.to_lowercase() => {
                return fail("not a lower-case UUID".into());
            }
            Some("date-time") => {
                let ok = text.len() == 20
                    && text.ends_with('Z')
                    && chrono::DateTime::parse_from_rfc3339(text).is_ok();
                if !ok {
                    return fail("not YYYY-MM-DDThh:mm:ssZ".into());
                }
            }
            _ => {}
        }
    }
    if let Some(items) = value.as_array() {
        if schema["minItems"]
            .as_u64()
            .is_some_and(|min| (items.len() as u64) < min)
            || schema["maxItems"]
                .as_u64()
                .is_some_and(|max| (items.len() as u64) > max)
        {
            return fail("wrong number of items".into());
        }
        for (i, item) in items.iter().enumerate() {
            validate(doc, &schema["items"], item, &format!("{path}[{i}]"))?;
        }
    }
    if let Some(object) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !object.contains_key(name) {
                return fail(format!("lacks required {name}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, item) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => validate(doc, property, item, &format!("{path}.{name}"))?,
                None if schema["additionalProperties"] == json!(false) => {
                    return fail(format!("has undocumented property {name}"));
                }
                None => {}
            }
        }
    }
    Ok(())
}

fn operation<'a>(doc: &'a Value, path: &str) -> &'a Value {
    &doc["paths"][path]["post"]
}

fn request_schema<'a>(doc: &'a Value, path: &str) -> &'a Value {
    resolve(
        doc,
        &operation(doc, path)["requestBody"]["content"]["application/json"]["schema"],
    )
}

fn example(doc: &Value, path: &str) -> Value {
    operation(doc, path)["requestBody"]["content"]["application/json"]["example"].clone()
}

fn check_response(doc: &Value, path: &str, reply: &Reply) {
    let status = reply.status.to_string();
    let documented = &operation(doc, path)["responses"][&status];
    assert!(
        documented.is_object(),
        "{path}: status {status} is not documented"
    );
    if let Some(schema) = documented.pointer("/content/application~1json/schema") {
        validate(doc, schema, &reply.json(), "response").unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

#[tokio::test]
async fn every_operation_is_documented_and_nothing_else() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut documented: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    documented.sort();
    let mut served = paths::OPERATIONS.to_vec();
    served.sort();
    assert_eq!(documented, served);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
}

#[tokio::test]
async fn documented_examples_succeed_and_responses_match_their_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    // Threads first, so that the getAll example has something to list.
    for path in [paths::THREADS_ADD, paths::THREADS_GET_ALL] {
        let mut body = example(&doc, path);
        if path == paths::THREADS_GET_ALL {
            body["CreatedUtc"] = everything();
        }
        let reply = app.post(path, &body).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        check_response(&doc, path, &reply);
        if path == paths::THREADS_GET_ALL {
            assert_eq!(
                reply.json()["MessageThreads"].as_array().map(Vec::len),
                Some(1)
            );
        }
    }
}

#[tokio::test]
async fn every_required_property_is_enforced() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for path in paths::OPERATIONS {
        let schema = request_schema(&doc, path);
        for required in schema["required"].as_array().unwrap() {
            let name = required.as_str().unwrap();
            let mut body = example(&doc, path);
            body.as_object_mut().unwrap().remove(name);
            let reply = app.post(path, &body).await;
            let message = reply.assert_error(400);
            assert!(message.contains(name), "{path} without {name}: {message}");
            check_response(&doc, path, &reply);
        }
    }
}

/// A value of another JSON type than the schema allows.
fn wrong_value(doc: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(doc, schema);
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    [json!(true), json!(12.5), json!({"x": 1}), json!(["x"])]
        .into_iter()
        .find(|candidate| !kinds.iter().any(|k| type_matches(k, candidate)))
}

#[tokio::test]
async fn every_typed_property_refuses_a_wrong_type() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for path in paths::OPERATIONS {
        let schema = request_schema(&doc, path);
        for (name, property) in schema["properties"].as_object().unwrap() {
            let Some(wrong) = wrong_value(&doc, property) else {
                continue;
            };
            let mut body = example(&doc, path);
            body[name] = wrong.clone();
            let reply = app.post(path, &body).await;
            let message = reply.assert_error(400);
            assert!(
                message.contains(name.as_str()),
                "{path} with {name} = {wrong}: {message}"
            );
        }
    }
}
