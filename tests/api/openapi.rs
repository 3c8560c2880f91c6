//! Issue rule 8: `/openapi.json` stays true to the code. Every route is
//! documented and every documented operation exists; each documented example
//! succeeds; every required property is enforced and every typed property
//! refuses a value of the wrong type; real responses match the schemas.

use crate::helpers::paths;
use serde_json::{Value, json};

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
            // UTC, whole seconds as the vendor writes them; the emulator's
            // logs to the millisecond.
            Some("date-time") => {
                let ok = (text.len() == 20 || (text.len() == 24 && &text[19..20] == "."))
                    && text.ends_with('Z')
                    && chrono::DateTime::parse_from_rfc3339(text).is_ok();
                if !ok {
                    return fail("not YYYY-MM-DDThh:mm:ss[.sss]Z".into());
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

/// The documented example, naming `thread` where it names a thread.
fn example(doc: &Value, path: &str, thread: &str) -> Value {
    let text =
        operation(doc, path)["requestBody"]["content"]["application/json"]["example"].to_string();
    serde_json::from_str(&text.replace(switchboard::http::openapi::EXAMPLE_THREAD_ID, thread))
        .unwrap()
}

/// An app, its document as served before any thread existed (its examples
/// name the placeholder), and a thread for `example` to name instead.
async fn app_with_thread() -> (TestApp, Value, String) {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let thread = thread["Id"].as_str().unwrap().to_owned();
    (app, doc, thread)
}

/// Sends `body` as the document says: with the operator token where the
/// operation asks for it.
async fn send(app: &TestApp, doc: &Value, path: &str, body: &Value) -> Reply {
    let staff = operation(doc, path)["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    assert_eq!(staff, paths::is_staff(path), "{path}: security documented");
    if staff {
        app.staff(path, body.clone()).await
    } else {
        app.post(path, body).await
    }
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
    let mut served = paths::operations();
    served.sort();
    assert_eq!(documented, served);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
}

#[tokio::test]
async fn documented_examples_succeed_and_responses_match_their_schemas() {
    let (app, doc, thread) = app_with_thread().await;
    let thread = thread.as_str();
    // The table's order is a conversation's: adds first, so that every
    // list has something to show. The access token that accessTokens/add
    // makes is the one accessTokens/revoke revokes, as in Postman.
    let mut token: Option<String> = None;
    for path in paths::operations() {
        let mut body = example(&doc, path, thread);
        if path == paths::THREADS_GET_ALL {
            body["CreatedUtc"] = everything();
        }
        if let Some(token) = &token {
            body = serde_json::from_str(
                &body
                    .to_string()
                    .replace(switchboard::http::openapi::EXAMPLE_ACCESS_TOKEN_ID, token),
            )
            .unwrap();
        }
        let reply = send(&app, &doc, path, &body).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        check_response(&doc, path, &reply);
        if path == paths::ACCESS_TOKENS_ADD {
            token = reply.json()["Token"]["Id"].as_str().map(str::to_owned);
        }
        let listed = reply.json().as_object().unwrap().values().find_map(|v| {
            v.as_array()
                .map(Vec::len)
                .or_else(|| v.as_object().map(serde_json::Map::len))
        });
        let lists = !matches!(
            path,
            paths::CLOCK_GET
                | paths::CLOCK_SET
                | paths::CLOCK_ADVANCE
                | paths::RESET
                | paths::FAULTS_DELETE
                | paths::WEBHOOKS_GET_ALL
                | paths::WEBHOOKS_RETRY
                | paths::REQUESTS_GET_ALL
                | paths::REQUESTS_DELETE
        );
        assert!(
            !lists || listed.is_some_and(|n| n > 0),
            "{path} shows something: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn every_required_property_is_enforced() {
    let (app, doc, thread) = app_with_thread().await;
    let thread = thread.as_str();
    for path in paths::operations() {
        let schema = request_schema(&doc, path);
        for required in schema["required"].as_array().unwrap() {
            let name = required.as_str().unwrap();
            let mut body = example(&doc, path, thread);
            body.as_object_mut().unwrap().remove(name);
            let reply = send(&app, &doc, path, &body).await;
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
    let (app, doc, thread) = app_with_thread().await;
    let thread = thread.as_str();
    for path in paths::operations() {
        let schema = request_schema(&doc, path);
        for (name, property) in schema["properties"].as_object().unwrap() {
            let Some(wrong) = wrong_value(&doc, property) else {
                continue;
            };
            let mut body = example(&doc, path, thread);
            body[name] = wrong.clone();
            let reply = send(&app, &doc, path, &body).await;
            let message = reply.assert_error(400);
            assert!(
                message.contains(name.as_str()),
                "{path} with {name} = {wrong}: {message}"
            );
        }
    }
}

#[tokio::test]
async fn the_document_states_the_interval_rule() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let interval = &doc["components"]["schemas"]["TimeInterval"];
    let description = interval["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("StartUtc <= value < EndUtc")
            && description.contains("When StartUtc equals EndUtc, exactly that instant matches"),
        "TimeInterval says the half-open rule and equality mode: {description}"
    );
}

/// Whether a property's schema allows `null`.
fn allows_null(doc: &Value, property: &Value) -> bool {
    let schema = resolve(doc, property);
    let typed = match &schema["type"] {
        Value::String(kind) => kind == "null",
        Value::Array(kinds) => kinds.iter().any(|k| k == "null"),
        // No type at all (LanguageCode, CultureCode): anything goes.
        Value::Null => schema["anyOf"].is_null(),
        _ => false,
    };
    typed
        || schema["anyOf"]
            .as_array()
            .is_some_and(|options| options.iter().any(|o| allows_null(doc, o)))
}

#[tokio::test]
async fn every_optional_property_is_documented_nullable_and_takes_null() {
    let (app, doc, thread) = app_with_thread().await;
    let thread = thread.as_str();
    for path in paths::operations() {
        let schema = request_schema(&doc, path);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for (name, property) in schema["properties"].as_object().unwrap() {
            if required.contains(&name.as_str()) {
                continue;
            }
            assert!(
                allows_null(&doc, property),
                "{path}: optional {name} is not documented as nullable"
            );
            let mut body = example(&doc, path, thread);
            body[name] = Value::Null;
            let reply = send(&app, &doc, path, &body).await;
            // Without its only interval, threads/getAll falls to its own rule.
            let own_rule =
                "At least one of MessageThreadIds, CreatedUtc or UpdatedUtc is required.";
            if reply.status == 400 && reply.json()["Message"] == own_rule {
                continue;
            }
            assert_eq!(reply.status, 200, "{path} with {name} null: {}", reply.text);
        }
    }
}

#[tokio::test]
async fn examples_name_the_newest_thread_of_the_demo_so_they_work_as_they_are() {
    let app = spawn_app().await;
    let before = document(&app).await;
    let placeholder = switchboard::http::openapi::EXAMPLE_THREAD_ID;
    assert!(
        before.to_string().contains(placeholder),
        "before any thread"
    );
    app.add_thread(PORTFOLIO, "A", "Older").await;
    let newest = app.add_thread(PORTFOLIO, "A", "Newest").await;
    let doc = document(&app).await;
    assert!(!doc.to_string().contains(placeholder));
    for path in [
        paths::MESSAGES_ADD,
        paths::STAFF_MESSAGES_ADD,
        paths::STAFF_THREADS_UPDATE,
        paths::MESSAGES_GET_ALL,
    ] {
        let body =
            operation(&doc, path)["requestBody"]["content"]["application/json"]["example"].clone();
        assert!(
            body.to_string().contains(newest["Id"].as_str().unwrap()),
            "{path}: {body}"
        );
        let reply = send(&app, &doc, path, &body).await;
        assert_eq!(reply.status, 200, "{path} as documented: {}", reply.text);
    }
}

#[tokio::test]
async fn every_operation_has_its_own_id_and_a_documented_tag() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut ids = Vec::new();
    for path in paths::operations() {
        let op = operation(&doc, path);
        let id = op["operationId"].as_str().expect("an operationId");
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{path}: {id}"
        );
        ids.push(id.to_owned());
        for tag in op["tags"].as_array().expect("tags") {
            assert!(tags.contains(&tag.as_str().unwrap()), "{path}: {tag}");
        }
    }
    assert!(ids.contains(&"messageThreads_getAll".to_owned()));
    assert!(ids.contains(&"operator_messages_add".to_owned()));
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");
}

#[tokio::test]
async fn every_property_is_described() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    for (schema_name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let described = property["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty());
            assert!(described, "{schema_name}.{name} has no description");
        }
    }
    let credentials = &doc["components"]["schemas"]["MessageThreadAddRequest"]["properties"];
    assert_eq!(
        credentials["ClientToken"]["example"],
        switchboard::demo::CLIENT_TOKEN,
        "the demo's tokens are the examples"
    );
}

#[tokio::test]
async fn the_postman_collection_has_every_operation_with_its_documented_example() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let collection = app
        .send(app.client.get(format!("{}/postman.json", app.base)))
        .await
        .ok();
    let items = collection["item"].as_array().unwrap();
    let mut urls: Vec<String> = items
        .iter()
        .map(|i| {
            let raw = i["request"]["url"]["raw"].as_str().unwrap();
            raw.trim_start_matches("{{baseUrl}}").to_owned()
        })
        .collect();
    assert_eq!(urls[0], paths::THREADS_ADD, "a thread is added first");
    urls.sort();
    let mut all: Vec<String> = paths::operations()
        .into_iter()
        .map(|p| p.to_string())
        .collect();
    all.sort();
    assert_eq!(urls, all, "every operation, once");
    for item in items {
        let url = item["request"]["url"]["raw"].as_str().unwrap();
        let path = url.trim_start_matches("{{baseUrl}}");
        let raw = item["request"]["body"]["raw"].as_str().unwrap();
        let filled = raw
            .replace("{{clientToken}}", switchboard::demo::CLIENT_TOKEN)
            .replace("{{accessToken}}", switchboard::demo::PORTFOLIO_ACCESS_TOKEN)
            .replace(
                "{{threadId}}",
                switchboard::http::openapi::EXAMPLE_THREAD_ID,
            )
            .replace(
                "{{accessTokenId}}",
                switchboard::http::openapi::EXAMPLE_ACCESS_TOKEN_ID,
            );
        let body: Value = serde_json::from_str(&filled).unwrap();
        let documented =
            &operation(&doc, path)["requestBody"]["content"]["application/json"]["example"];
        assert_eq!(&body, documented, "{path}: the same example");
        assert_eq!(
            item["request"]["auth"]["type"].as_str() == Some("bearer"),
            paths::is_staff(path),
            "{path}: the operator token where it is needed"
        );
    }
}

/// Every operation of the table is routed, documented, in the Postman
/// collection, and (for the Connector API) a name that faults take: the
/// lists are derived from the table, and this fails if one stops being so.
#[tokio::test]
async fn every_operation_is_in_every_derived_list() {
    use switchboard::operations::{Api, Operation};
    let app = spawn_app().await;
    let doc = switchboard::http::openapi::document(None);
    let postman = switchboard::http::postman::collection(&app.base);
    let requests: Vec<String> = postman["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["request"]["url"]["raw"].as_str().unwrap().to_owned())
        .collect();
    for &op in Operation::ALL {
        let path = op.path();
        let reply = app.post(path, &json!({})).await;
        assert_ne!(reply.status, 404, "{path} is routed");
        assert!(
            doc["paths"][path]["post"].is_object(),
            "{path} is documented"
        );
        assert!(
            requests.contains(&format!("{{{{baseUrl}}}}{path}")),
            "{path} is in the Postman collection"
        );
        if op.api() == Api::Connector {
            let fault = app
                .staff(crate::helpers::paths::FAULTS_DELETE, json!({}))
                .await;
            fault.ok();
            let added = app
                .staff(
                    switchboard::operations::Operation::FaultsAdd.path(),
                    json!({"Operation": op.name(), "Status": 500, "Times": 1, "Stage": "Before"}),
                )
                .await;
            added.ok();
        }
    }
    assert_eq!(requests.len(), Operation::ALL.len());
}

/// Every property a request takes is documented, and every documented one
/// is taken: the operator API refuses the others, and the request log names
/// those the Connector API ignores, by the same list.
#[test]
fn each_request_takes_exactly_its_documented_properties() {
    use switchboard::domain::fields::Shape;
    use switchboard::operations::{Api, Operation};
    let doc = switchboard::http::openapi::document(None);
    for &op in Operation::ALL {
        let schema = resolve(
            &doc,
            &doc["paths"][op.path()]["post"]["requestBody"]["content"]["application/json"]["schema"],
        );
        let mut documented: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|name| {
                op.api() == Api::Operator || !switchboard::http::CREDENTIALS.contains(name)
            })
            .collect();
        let Shape::Object(taken) = op.shape() else {
            panic!("{}: a request is an object", op.path())
        };
        let mut taken: Vec<&str> = taken.iter().map(|(name, _)| *name).collect();
        documented.sort_unstable();
        taken.sort_unstable();
        assert_eq!(documented, taken, "{}", op.path());
    }
}

/// The documents name the address users reach the server at: `--public-url`
/// when it is set, else the address the request was sent to.
#[tokio::test]
async fn the_documents_name_the_servers_own_address() {
    let app = spawn_app().await;
    let host = app.base.trim_start_matches("http://").to_owned();
    let doc = document(&app).await;
    assert_eq!(doc["servers"][0]["url"], app.base);
    let postman: Value = app
        .client
        .get(format!("{}/postman.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        postman["variable"][0],
        json!({"key": "baseUrl", "value": format!("http://{host}")})
    );

    let db = TestDatabase::new().await;
    let server =
        crate::process::serve(&db, &["--public-url", "https://messaging.hotel.example/"]).await;
    for path in ["/openapi.json", "/postman.json"] {
        let text = app
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains("\"https://messaging.hotel.example\""),
            "{path}: {text:.300}"
        );
        assert!(!text.contains("127.0.0.1"), "{path}");
    }
}
