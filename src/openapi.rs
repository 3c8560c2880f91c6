//! The OpenAPI 3 document served at `/openapi.json`.
//!
//! Written next to the code it describes; the test suite keeps the two in step:
//! every route is documented, every documented operation answers its example,
//! every required property is enforced, and real responses match the schemas.

use serde_json::{Value, json};

use crate::domain::paging::MAX_COUNT;
use crate::domain::thread::MAX_FILTER_IDS;
use crate::http::paths;

fn string(min: usize, max: usize) -> Value {
    json!({ "type": "string", "minLength": min, "maxLength": max })
}

fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time", "example": "2022-03-07T16:09:45Z" })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn id_list() -> Value {
    json!({ "type": "array", "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS })
}

/// A request schema: the credentials of every operation plus `properties`.
fn request(required: &[&str], properties: Value) -> Value {
    let mut props = json!({
        "ClientToken": { "type": "string", "minLength": 1 },
        "AccessToken": { "type": "string", "minLength": 1 },
        "Client": { "type": "string", "minLength": 1 },
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

/// An operation: its request schema, its 200 schema, and the errors it can give.
fn operation(summary: &str, request: &str, response: &str, example: Value, paged: bool) -> Value {
    let mut responses = json!({
        "200": {
            "description": "Success",
            "content": { "application/json": { "schema": reference(response) } }
        },
        "400": error_response("Bad input; Message names the property"),
        "401": error_response("Unknown or mismatched ClientToken and AccessToken"),
        "405": error_response("A method other than POST"),
        "413": error_response("The body is larger than the limit"),
        "415": error_response("Content-Type is not application/json"),
        "429": error_response("Rate limit of the AccessToken reached; see Retry-After"),
        "500": error_response("Unexpected error; Message reveals nothing internal"),
    });
    if paged {
        responses["204"] =
            json!({ "description": "Empty page, when the request has Prefer: return=minimal" });
    }
    json!({
        "post": {
            "summary": summary,
            "requestBody": {
                "required": true,
                "content": { "application/json": {
                    "schema": reference(request),
                    "example": example,
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

fn credentials() -> Value {
    json!({
        "ClientToken": crate::demo::CLIENT_TOKEN,
        "AccessToken": crate::demo::PORTFOLIO_ACCESS_TOKEN,
        "Client": "Sample Client 1.0.0",
    })
}

fn example(extra: Value) -> Value {
    let mut body = credentials();
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

fn schemas() -> Value {
    json!({
        "Error": {
            "type": "object",
            "required": ["Message", "RequestId"],
            "additionalProperties": false,
            "properties": { "Message": { "type": "string" }, "RequestId": uuid() }
        },
        "TimeInterval": {
            "type": "object",
            "required": ["StartUtc", "EndUtc"],
            "properties": { "StartUtc": date_time(), "EndUtc": date_time() }
        },
        "Limitation": {
            "type": "object",
            "required": ["Count"],
            "properties": {
                "Count": { "type": "integer", "minimum": 1, "maximum": MAX_COUNT },
                "Cursor": { "type": ["string", "null"], "format": "uuid" }
            }
        },
        "MessageThread": {
            "type": "object",
            "required": ["Id", "OriginalSender", "Subject", "CreatedUtc", "UpdatedUtc", "IsResolved"],
            "additionalProperties": false,
            "properties": {
                "Id": uuid(),
                "OriginalSender": string(1, 255),
                "Subject": string(1, 255),
                "CreatedUtc": date_time(),
                "UpdatedUtc": date_time(),
                "IsResolved": { "type": "boolean" }
            }
        },
        "MessageThreadAddRequest": request(&["OriginalSender", "Subject"], json!({
            "OriginalSender": string(1, 255),
            "Subject": string(1, 255),
            "EnterpriseId": {
                "type": ["string", "null"], "format": "uuid",
                "description": "Extension: the enterprise of a portfolio token to create the thread in; default the token's home enterprise."
            }
        })),
        "MessageThreadAddResult": {
            "type": "object",
            "required": ["MessageThreads"],
            "additionalProperties": false,
            "properties": {
                "MessageThreads": { "type": "array", "items": reference("MessageThread"), "minItems": 1, "maxItems": 1 }
            }
        },
        "MessageThreadGetAllRequest": request(&["Limitation"], json!({
            "EnterpriseIds": id_list(),
            "MessageThreadIds": id_list(),
            "CreatedUtc": reference("TimeInterval"),
            "UpdatedUtc": reference("TimeInterval"),
            "Limitation": reference("Limitation"),
        })),
        "MessageThreadPage": {
            "type": "object",
            "required": ["MessageThreads", "Cursor"],
            "additionalProperties": false,
            "properties": {
                "MessageThreads": { "type": "array", "items": reference("MessageThread") },
                "Cursor": { "type": ["string", "null"], "format": "uuid" }
            }
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    paths.insert(
        paths::THREADS_GET_ALL.to_owned(),
        operation(
            "List the integration's message threads, newest first. At least one of MessageThreadIds, CreatedUtc and UpdatedUtc is required; intervals are at most 3 months.",
            "MessageThreadGetAllRequest",
            "MessageThreadPage",
            example(json!({
                "EnterpriseIds": [crate::demo::GROSS, crate::demo::NET],
                "CreatedUtc": { "StartUtc": "2022-03-03T00:00:00Z", "EndUtc": "2022-03-14T00:00:00Z" },
                "Limitation": { "Count": 10 }
            })),
            true,
        ),
    );
    paths.insert(
        paths::THREADS_ADD.to_owned(),
        operation(
            "Create a message thread on behalf of a guest.",
            "MessageThreadAddRequest",
            "MessageThreadAddResult",
            example(json!({ "OriginalSender": "John Doe", "Subject": "Example subject" })),
            false,
        ),
    );
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "switchboard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Guest messaging of the Mews Connector API. All operations are POST with a JSON body; every response carries a Request-Id header."
        },
        "paths": paths,
        "components": { "schemas": schemas() }
    })
}
