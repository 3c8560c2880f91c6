//! The OpenAPI 3 document served at `/openapi.json`.
//!
//! Written next to the code it describes; the test suite keeps the two in step:
//! every route is documented, every documented operation answers its example,
//! every required property is enforced, and real responses match the schemas.

use serde_json::{Value, json};

mod schemas;

use crate::domain::thread::MAX_FILTER_IDS;

use crate::operations::{Answer, Api, Doc, Operation};

/// The access token id of the example of `accessTokens/revoke` (the Postman
/// collection puts the one its `accessTokens/add` made in its place).
pub const EXAMPLE_ACCESS_TOKEN_ID: &str = "2b1e9c1c-3b6e-4f3a-9d3f-8a1c2b3d4e5f";

/// The thread id that examples use while no thread exists.
pub const EXAMPLE_THREAD_ID: &str = "7f9325f6-ef44-4911-89a8-ae51010a5aa4";

pub(super) fn string(min: usize, max: usize) -> Value {
    json!({ "type": "string", "minLength": min, "maxLength": max })
}

pub(super) fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

pub(super) fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time", "example": "2022-03-07T16:09:45Z" })
}

pub(super) fn with_description(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

pub(super) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(super) fn id_list() -> Value {
    json!({ "type": "array", "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS })
}

/// An optional filter of ids: `null` means not given.
pub(super) fn optional_id_list() -> Value {
    json!({ "type": ["array", "null"], "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS })
}

/// An optional time interval: `null` means not given.
pub(super) fn optional_interval() -> Value {
    json!({ "anyOf": [reference("TimeInterval"), { "type": "null" }] })
}

/// A request schema of the Connector API: the credentials plus `properties`.
pub(super) fn request(required: &[&str], properties: Value) -> Value {
    let mut props = json!({
        "ClientToken": { "type": "string", "minLength": 1, "example": crate::demo::CLIENT_TOKEN },
        "AccessToken": { "type": "string", "minLength": 1, "example": crate::demo::PORTFOLIO_ACCESS_TOKEN },
        "Client": { "type": "string", "minLength": 1, "example": "Sample Client 1.0.0" },
        "LanguageCode": { "description": "Accepted and ignored." },
        "CultureCode": { "description": "Accepted and ignored." },
    });
    if let (Some(all), Value::Object(more)) = (props.as_object_mut(), properties) {
        all.extend(more);
    }
    let mut all_required = vec!["ClientToken", "AccessToken", "Client"];
    all_required.extend_from_slice(required);
    json!({ "type": "object", "required": all_required, "properties": props })
}

/// A request schema of the operator API (credentials go in a header). It
/// takes no other property: an unknown one is a 400.
pub(super) fn staff_request(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "additionalProperties": false, "properties": properties })
}

pub(super) fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "additionalProperties": false, "properties": properties })
}

pub(super) fn list_of(item: &str) -> Value {
    json!({ "type": "array", "items": reference(item) })
}

pub(super) fn nullable_uuid() -> Value {
    json!({ "type": ["string", "null"], "format": "uuid" })
}

/// An operation as the document describes it: its request schema, its 200
/// schema, its example, and the errors it can give.
fn operation(op: Operation, doc: &Doc) -> Value {
    let staff = op.api() == Api::Operator;
    let unauthorized = if staff {
        "Missing or wrong Authorization: Bearer operator token"
    } else {
        "Unknown or mismatched ClientToken and AccessToken"
    };
    let mut responses = json!({
        "200": {
            "description": "Success",
            "content": { "application/json": { "schema": reference(doc.response) } }
        },
        "400": error_response("Bad input; Message names the property"),
        "401": error_response(unauthorized),
        "405": error_response("A method other than POST"),
        "413": error_response("The body is larger than the limit"),
        "415": error_response("Content-Type is not application/json"),
        "500": error_response("Unexpected error; Message reveals nothing internal"),
    });
    if !staff {
        responses["429"] = error_response("Rate limit of the AccessToken reached; see Retry-After");
    }
    if doc.answer == Answer::Paged {
        responses["204"] =
            json!({ "description": "Empty page, when the request has Prefer: return=minimal" });
    }
    let security = if staff {
        json!([{ "operatorToken": [] }])
    } else {
        json!([])
    };
    json!({
        "post": {
            "summary": doc.summary,
            "security": security,
            "requestBody": {
                "required": true,
                "content": { "application/json": {
                    "schema": reference(doc.request),
                    "example": doc.example,
                } }
            },
            "responses": responses,
        }
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "headers": { "Request-Id": { "schema": uuid() } },
        "content": { "application/json": { "schema": reference("Error") } }
    })
}

/// The demo's credentials, which the Connector API's examples carry.
fn credentials() -> Value {
    json!({
        "ClientToken": crate::demo::CLIENT_TOKEN,
        "AccessToken": crate::demo::PORTFOLIO_ACCESS_TOKEN,
        "Client": "Sample Client 1.0.0",
    })
}

/// An example body of the Connector API: the demo's credentials and `extra`.
pub fn connector_example(extra: Value) -> Value {
    let mut body = credentials();
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// What a property means, by its name; `time` tells a date-time from a filter.
fn meaning(name: &str, time: bool) -> Option<&'static str> {
    Some(match (name, time) {
        ("ClientToken", _) => {
            "Token of the integration (client application); the demo's Sample Client in the example."
        }
        ("AccessToken", _) => {
            "Token of the integration's connection to one enterprise, or to several (a portfolio token)."
        }
        ("Client", _) => "Name and version of the calling application.",
        ("EnterpriseIds", _) => {
            "Only these enterprises (for an integration, each must be in its token's scope); absent or null: every one."
        }
        ("MessageThreadIds", _) => {
            "Only these message threads; ids the caller cannot see match nothing."
        }
        ("IntegrationIds", _) => "Only threads of these integrations.",
        ("CreatedUtc", true) => "When it was created: UTC, whole seconds.",
        ("CreatedUtc", false) => "Only items created in this interval.",
        ("UpdatedUtc", true) => {
            "When a message was last added or IsResolved last changed: UTC, whole seconds."
        }
        ("UpdatedUtc", false) => "Only threads updated in this interval.",
        ("Limitation", _) => "Which page: how many items, and after which one.",
        ("Count", _) => "How many items at most.",
        ("Cursor", _) => {
            "The id of an item: a request's page starts right after it; a page's Cursor is its last (oldest) item, null when the page is empty."
        }
        ("Id", _) => "Unique identifier.",
        ("OriginalSender", _) => "Name of the guest who started the thread.",
        ("Subject", _) => "Subject of the thread.",
        ("IsResolved", _) => "Whether the thread is resolved; a guest's message reopens it.",
        ("EnterpriseId", _) => "The enterprise (property) of the thread.",
        ("IntegrationId", _) => "The integration that created the thread.",
        ("MessageThreads", _) => "The message threads.",
        ("Messages", _) => "The messages.",
        ("MessageThreadId", _) => "The thread of the message.",
        ("Text", _) => "Text of the message, as plain text.",
        ("Identifier", _) => "The caller's own identifier of a message, echoed back in the answer.",
        ("Message", _) => "The stored message; for an error, what went wrong.",
        ("Sender", _) => "Who wrote the message.",
        ("Discriminator", _) => {
            "Application: the guest, through the integration; Enterprise: the hotel's staff."
        }
        ("Value", _) => "Always null.",
        ("NowUtc", _) => "What the clock shows: UTC, whole seconds.",
        ("Mode", _) => {
            "System: the machine's clock; Manual: a clock moved by clock/set and clock/advance."
        }
        ("WebhookDeliveries", _) => "How many webhook deliveries were removed.",
        ("RequestId", _) => "The id of the request, as in its Request-Id header.",
        ("Name", _) => "Its name, as staff see it: 1 to 255 characters.",
        ("Enterprise", _) => "The enterprise.",
        ("Enterprises", _) => "The enterprises, oldest first.",
        ("Integration", _) => "The integration.",
        ("Attempt", _) => "The request and how the receiver answered it.",
        ("Member", _) => "The staff member.",
        ("Members", _) => "The staff members, oldest first.",
        ("Integrations", _) => "The integrations, oldest first.",
        ("Token", _) => "The access token, as listed (never the token itself).",
        ("AccessTokens", _) => "The access tokens, oldest first: ids, never tokens.",
        ("AccessTokenIds", _) => "The ids of the access tokens (see accessTokens/getAll).",
        _ => return None,
    })
}

/// Gives every property of `schemas` that has no description its meaning.
fn describe_properties(schemas: &mut Value) {
    let Some(schemas) = schemas.as_object_mut() else {
        return;
    };
    for schema in schemas.values_mut() {
        let Some(properties) = schema["properties"].as_object_mut() else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            if property.get("description").is_some() {
                continue;
            }
            let time = property["format"] == "date-time";
            if let Some(text) = meaning(name, time) {
                property["description"] = json!(text);
            }
        }
    }
}

/// An operation's id in the API's own words (`messageThreads_getAll`,
/// `operator_clock_advance`), for generated clients, and its group.
fn name_of(op: Operation) -> (String, &'static str) {
    let (staff, rest) = (op.api() == Api::Operator, op.name());
    let id = rest.replace('/', "_");
    let tag = match (staff, rest.split('/').next()) {
        (false, Some("messageThreads")) => "Message threads",
        (false, _) => "Messages",
        (true, Some("messageThreads" | "messages")) => "Staff",
        (true, Some("enterprises" | "integrations" | "accessTokens" | "staff")) => "Administration",
        (true, _) => "Emulator",
    };
    if staff {
        (format!("operator_{id}"), tag)
    } else {
        (id, tag)
    }
}

/// The whole document, its examples naming `thread` (a placeholder when `None`).
pub fn document(thread: Option<uuid::Uuid>) -> Value {
    let thread = thread.map_or_else(|| EXAMPLE_THREAD_ID.to_owned(), |id| id.to_string());
    let thread = thread.as_str();
    let paths: serde_json::Map<String, Value> = Operation::ALL
        .iter()
        .map(|&op| {
            let (id, tag) = name_of(op);
            let mut path = operation(op, &op.doc(thread));
            path["post"]["operationId"] = json!(id);
            path["post"]["tags"] = json!([tag]);
            (op.path().to_owned(), path)
        })
        .collect();
    let mut schemas = schemas::all();
    describe_properties(&mut schemas);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "switchboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Guest messaging of the Mews Connector API. All operations are POST with a JSON body; every response carries a Request-Id header. Examples that name a message thread name the newest thread of the demo's Sample Client, once there is one."
        },
        "tags": [
            { "name": "Message threads", "description": "The integration's threads (Connector API)." },
            { "name": "Messages", "description": "The messages of the integration's threads (Connector API)." },
            { "name": "Staff", "description": "The hotel staff's side (operator API, bearer token)." },
            { "name": "Emulator", "description": "Tools for testing against switchboard: the manual clock, reset, faults, the request log and the webhook delivery log (operator API)." },
            { "name": "Administration", "description": "Enterprises, integrations and access tokens, as the command line manages them (operator API)." }
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "operatorToken": { "type": "http", "scheme": "bearer", "description": "The operator token of `serve`." }
            }
        }
    })
}
