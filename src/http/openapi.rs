//! The OpenAPI 3 document served at `/openapi.json`.
//!
//! Written next to the code it describes; the test suite keeps the two in step:
//! every route is documented, every documented operation answers its example,
//! every required property is enforced, and real responses match the schemas.

use serde_json::{Value, json};

use super::paths;
use crate::domain::emulator::MAX_ADVANCE_SECONDS;
use crate::domain::fault::{self, MAX_DELAY_MS, MAX_RETRY_AFTER_SECONDS};
use crate::domain::message::MAX_BATCH;
use crate::domain::paging::MAX_COUNT;
use crate::domain::thread::MAX_FILTER_IDS;

/// The thread id that examples use while no thread exists.
pub const EXAMPLE_THREAD_ID: &str = "7f9325f6-ef44-4911-89a8-ae51010a5aa4";

fn string(min: usize, max: usize) -> Value {
    json!({ "type": "string", "minLength": min, "maxLength": max })
}

fn uuid() -> Value {
    json!({ "type": "string", "format": "uuid" })
}

fn date_time() -> Value {
    json!({ "type": "string", "format": "date-time", "example": "2022-03-07T16:09:45Z" })
}

fn with_description(mut schema: Value, description: &str) -> Value {
    schema["description"] = json!(description);
    schema
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn id_list() -> Value {
    json!({ "type": "array", "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS })
}

/// An optional filter of ids: `null` means not given.
fn optional_id_list() -> Value {
    json!({ "type": ["array", "null"], "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS })
}

/// An optional time interval: `null` means not given.
fn optional_interval() -> Value {
    json!({ "anyOf": [reference("TimeInterval"), { "type": "null" }] })
}

/// A request schema of the Connector API: the credentials plus `properties`.
fn request(required: &[&str], properties: Value) -> Value {
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

/// A request schema of the operator API (credentials go in a header).
fn staff_request(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "additionalProperties": false, "properties": properties })
}

fn list_of(item: &str) -> Value {
    json!({ "type": "array", "items": reference(item) })
}

fn nullable_uuid() -> Value {
    json!({ "type": ["string", "null"], "format": "uuid" })
}

/// How a caller authenticates, and whether the operation returns pages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Connector,
    ConnectorPaged,
    Staff,
    StaffPaged,
}

/// An operation: its request schema, its 200 schema, and the errors it can give.
fn operation(summary: &str, request: &str, response: &str, example: Value, kind: Kind) -> Value {
    let staff = matches!(kind, Kind::Staff | Kind::StaffPaged);
    let unauthorized = if staff {
        "Missing or wrong Authorization: Bearer operator token"
    } else {
        "Unknown or mismatched ClientToken and AccessToken"
    };
    let mut responses = json!({
        "200": {
            "description": "Success",
            "content": { "application/json": { "schema": reference(response) } }
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
    if matches!(kind, Kind::ConnectorPaged | Kind::StaffPaged) {
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
            "summary": summary,
            "security": security,
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
            "description": "A time filter. StartUtc <= value < EndUtc: the start is included and the end excluded, so back-to-back windows (EndUtc of one = StartUtc of the next) never return a record twice. When StartUtc equals EndUtc, exactly that instant matches. StartUtc must not be later than EndUtc; thread filters span at most 3 calendar months, message filters at most 1.",
            "required": ["StartUtc", "EndUtc"],
            "properties": {
                "StartUtc": with_description(date_time(), "Start of the interval, included."),
                "EndUtc": with_description(date_time(), "End of the interval, excluded (unless it equals StartUtc)."),
            }
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
            "EnterpriseIds": optional_id_list(),
            "MessageThreadIds": optional_id_list(),
            "CreatedUtc": optional_interval(),
            "UpdatedUtc": optional_interval(),
            "Limitation": reference("Limitation"),
        })),
        "Message": object(&["Id", "MessageThreadId", "Text", "Sender", "CreatedUtc"], json!({
            "Id": uuid(),
            "MessageThreadId": uuid(),
            "Text": string(1, 10_000),
            "Sender": reference("Sender"),
            "CreatedUtc": date_time(),
        })),
        "Sender": object(&["Discriminator", "Value"], json!({
            "Discriminator": { "type": "string", "enum": ["Application", "Enterprise"] },
            "Value": { "type": "null" },
        })),
        "MessageParameters": {
            "type": "object",
            "required": ["MessageThreadId", "Text"],
            "properties": {
                "MessageThreadId": uuid(),
                "Text": string(1, 10_000),
                "Identifier": { "type": ["string", "null"], "maxLength": 255 },
            }
        },
        "MessageAddRequest": request(&["Messages"], json!({
            "Messages": { "type": "array", "items": reference("MessageParameters"), "minItems": 1, "maxItems": MAX_BATCH },
        })),
        "AddedMessage": object(&["Identifier", "Message"], json!({
            "Identifier": { "type": ["string", "null"] },
            "Message": reference("Message"),
        })),
        "MessageAddResult": object(&["Messages"], json!({ "Messages": list_of("AddedMessage") })),
        "MessageGetAllRequest": request(&["MessageThreadIds", "Limitation"], json!({
            "MessageThreadIds": id_list(),
            "EnterpriseIds": optional_id_list(),
            "CreatedUtc": optional_interval(),
            "Limitation": reference("Limitation"),
        })),
        "MessagePage": object(&["Messages", "Cursor"], json!({
            "Messages": list_of("Message"),
            "Cursor": nullable_uuid(),
        })),
        "StaffMessageThread": object(
            &["Id", "EnterpriseId", "IntegrationId", "OriginalSender", "Subject", "CreatedUtc", "UpdatedUtc", "IsResolved"],
            json!({
                "Id": uuid(),
                "EnterpriseId": uuid(),
                "IntegrationId": uuid(),
                "OriginalSender": string(1, 255),
                "Subject": string(1, 255),
                "CreatedUtc": date_time(),
                "UpdatedUtc": date_time(),
                "IsResolved": { "type": "boolean" },
            }),
        ),
        "StaffMessageThreadGetAllRequest": staff_request(&["Limitation"], json!({
            "EnterpriseIds": optional_id_list(),
            "IntegrationIds": optional_id_list(),
            "IsResolved": { "type": ["boolean", "null"] },
            "UpdatedUtc": optional_interval(),
            "Limitation": reference("Limitation"),
        })),
        "StaffMessageThreadPage": object(&["MessageThreads", "Cursor"], json!({
            "MessageThreads": list_of("StaffMessageThread"),
            "Cursor": nullable_uuid(),
        })),
        "StaffMessageThreadUpdateRequest": staff_request(&["MessageThreadId", "IsResolved"], json!({
            "MessageThreadId": uuid(),
            "IsResolved": { "type": "boolean" },
        })),
        "StaffMessageThreadUpdateResult": object(&["MessageThreads"], json!({
            "MessageThreads": { "type": "array", "items": reference("StaffMessageThread"), "minItems": 1, "maxItems": 1 },
        })),
        "StaffMessageGetAllRequest": staff_request(&["MessageThreadIds", "Limitation"], json!({
            "MessageThreadIds": id_list(),
            "EnterpriseIds": optional_id_list(),
            "CreatedUtc": optional_interval(),
            "Limitation": reference("Limitation"),
        })),
        "StaffMessageAddRequest": staff_request(&["Messages"], json!({
            "Messages": { "type": "array", "items": reference("MessageParameters"), "minItems": 1, "maxItems": MAX_BATCH },
        })),
        "ClockGetRequest": staff_request(&[], json!({})),
        "ClockSetRequest": staff_request(&["NowUtc"], json!({
            "NowUtc": with_description(date_time(), "Where the manual clock goes; not earlier than it shows."),
        })),
        "ClockAdvanceRequest": staff_request(&["Seconds"], json!({
            "Seconds": { "type": "integer", "minimum": 1, "maximum": MAX_ADVANCE_SECONDS, "description": "How far the manual clock moves forward." },
        })),
        "Clock": object(&["NowUtc", "Mode"], json!({
            "NowUtc": date_time(),
            "Mode": { "type": "string", "enum": ["System", "Manual"] },
        })),
        "ResetRequest": staff_request(&[], json!({
            "IntegrationIds": optional_id_list(),
            "EnterpriseIds": optional_id_list(),
        })),
        "ResetResult": object(&["MessageThreads", "Messages", "WebhookDeliveries"], json!({
            "MessageThreads": { "type": "integer", "minimum": 0 },
            "Messages": { "type": "integer", "minimum": 0 },
            "WebhookDeliveries": { "type": "integer", "minimum": 0 },
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

/// The schemas of the fault operations.
fn fault_schemas() -> Value {
    json!({
        "FaultAddRequest": staff_request(&["Operation", "Stage"], json!({
            "Operation": fault_operation(),
            "IntegrationId": { "type": ["string", "null"], "format": "uuid", "description": "Only requests of this integration; absent or null: any." },
            "Status": { "type": ["integer", "null"], "minimum": 400, "maximum": 599, "description": "The status to answer with; absent or null: the real answer, after DelayMs." },
            "Message": { "type": ["string", "null"], "maxLength": 1000, "description": "The Message of the error body; absent: one that names the fault." },
            "RetryAfterSeconds": { "type": ["integer", "null"], "minimum": 1, "maximum": MAX_RETRY_AFTER_SECONDS, "description": "The Retry-After header of a 429 fault (Status 429 only)." },
            "DelayMs": { "type": ["integer", "null"], "minimum": 0, "maximum": MAX_DELAY_MS, "description": "How long the answer is held back, in milliseconds." },
            "Probability": { "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1, "description": "How often the fault acts on a matching request; absent: always." },
            "Times": { "type": ["integer", "null"], "minimum": 1, "description": "How many requests it acts on in all, across nodes; absent: no limit." },
            "Stage": fault_stage(),
        })),
        "Fault": object(&["Id", "Operation", "IntegrationId", "Status", "Message", "RetryAfterSeconds", "DelayMs", "Probability", "Times", "Remaining", "Stage"], json!({
            "Id": uuid(),
            "Operation": fault_operation(),
            "IntegrationId": { "type": ["string", "null"], "format": "uuid", "description": "Only requests of this integration; null: any." },
            "Status": { "type": ["integer", "null"], "description": "The status it answers with; null: the real answer, after DelayMs." },
            "Message": { "type": ["string", "null"], "description": "The Message of its error body; null: one that names the fault." },
            "RetryAfterSeconds": { "type": ["integer", "null"], "description": "The Retry-After header of a 429 fault." },
            "DelayMs": { "type": "integer", "description": "How long the answer is held back, in milliseconds." },
            "Probability": { "type": "number", "description": "How often the fault acts on a matching request." },
            "Times": { "type": ["integer", "null"], "description": "How many requests it acts on in all; null: no limit." },
            "Remaining": { "type": ["integer", "null"], "description": "How many of Times are left; null: no limit." },
            "Stage": fault_stage(),
        })),
        "FaultList": object(&["Faults"], json!({
            "Faults": { "type": "array", "items": reference("Fault"), "description": "The faults, in the order they were added." },
        })),
        "FaultGetAllRequest": staff_request(&[], json!({})),
        "WebhookDeliveryGetAllRequest": staff_request(&["Limitation"], json!({
            "IntegrationIds": { "type": ["array", "null"], "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only deliveries to these integrations; absent or null: all." },
            "States": { "type": ["array", "null"], "items": { "type": "string", "enum": ["Pending", "Delivered", "Failed"] }, "minItems": 1, "maxItems": 3, "description": "Only deliveries in these states; absent or null: all." },
            "Limitation": reference("Limitation"),
        })),
        "WebhookAttempt": object(&["StartedUtc", "DurationMs", "Status", "Error", "Response"], json!({
            "StartedUtc": { "type": "string", "format": "date-time", "description": "When the request started: UTC, to the millisecond." },
            "DurationMs": { "type": "integer", "description": "How long it took, in milliseconds." },
            "Status": { "type": ["integer", "null"], "description": "The receiver's status; null when it gave none." },
            "Error": { "type": ["string", "null"], "enum": ["Timeout", "Connect", "Redirect", "Request", "AddressRefused", "NoUrl", "Encode", null], "description": "Why there was no status; null when there was one." },
            "Response": { "type": ["string", "null"], "description": "The first 1 KiB of the receiver's answer." },
        })),
        "WebhookDelivery": object(&["Id", "IntegrationId", "EnterpriseId", "State", "MessageIds", "CreatedUtc", "NextAttemptUtc", "Attempts"], json!({
            "Id": uuid(),
            "IntegrationId": { "type": "string", "format": "uuid", "description": "The integration whose receiver it goes to." },
            "EnterpriseId": { "type": "string", "format": "uuid", "description": "The enterprise of its events." },
            "State": { "type": "string", "enum": ["Pending", "Delivered", "Failed"], "description": "Pending: waiting for its next attempt; Delivered: a receiver answered 2xx; Failed: every attempt failed." },
            "MessageIds": { "type": "array", "items": uuid(), "description": "The messages of its MessageAdded events, oldest first." },
            "CreatedUtc": { "type": "string", "format": "date-time", "description": "When it was formed: UTC, to the millisecond." },
            "NextAttemptUtc": { "type": ["string", "null"], "format": "date-time", "description": "When a pending delivery is next tried; null otherwise." },
            "Attempts": { "type": "array", "items": reference("WebhookAttempt"), "description": "Every attempt, oldest first." },
        })),
        "WebhookDeliveryPage": object(&["WebhookDeliveries", "Cursor"], json!({
            "WebhookDeliveries": { "type": "array", "items": reference("WebhookDelivery"), "description": "The deliveries, newest first." },
            "Cursor": nullable_uuid(),
        })),
        "RequestGetAllRequest": staff_request(&["Limitation"], json!({
            "IntegrationIds": { "type": ["array", "null"], "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only requests of these integrations; absent or null: all (those that failed authentication too)." },
            "Operations": { "type": ["array", "null"], "items": { "type": "string" }, "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only requests to these operations, such as messages/add; absent or null: all." },
            "Statuses": { "type": ["array", "null"], "items": { "type": "integer", "minimum": 100, "maximum": 599 }, "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only requests answered with these statuses; absent or null: all." },
            "Limitation": reference("Limitation"),
        })),
        "LoggedRequest": object(&["RequestId", "TimeUtc", "Operation", "IntegrationId", "Status", "DurationMs", "Request", "Response", "FaultId"], json!({
            "RequestId": uuid(),
            "TimeUtc": { "type": "string", "format": "date-time", "description": "When it arrived, on the clock the server reads: UTC, to the millisecond." },
            "Operation": { "type": "string", "description": "The operation's name, such as messages/add." },
            "IntegrationId": { "type": ["string", "null"], "format": "uuid", "description": "The integration it authenticated as; null when authentication failed or did not run." },
            "Status": { "type": "integer", "description": "The status it was answered with." },
            "DurationMs": { "type": "number", "description": "How long it took, in milliseconds." },
            "Request": { "type": ["string", "null"], "description": "Its JSON body with every ClientToken and AccessToken value replaced by ***, cut at 4 KiB; null when the body was not JSON." },
            "Response": { "type": ["string", "null"], "description": "The body of its answer, cut at 4 KiB." },
            "FaultId": { "type": ["string", "null"], "format": "uuid", "description": "The fault that answered or held it back; null when none did." },
        })),
        "RequestPage": object(&["Requests", "Cursor"], json!({
            "Requests": { "type": "array", "items": reference("LoggedRequest"), "description": "The requests, newest first." },
            "Cursor": nullable_uuid(),
        })),
        "WebhookRetryRequest": staff_request(&["WebhookDeliveryIds"], json!({
            "WebhookDeliveryIds": { "type": "array", "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "The deliveries to send again now." },
        })),
        "WebhookRetryResult": object(&["WebhookDeliveryIds"], json!({
            "WebhookDeliveryIds": { "type": "array", "items": uuid(), "description": "Those of them there were; each is due at once, with a full set of attempts." },
        })),
        "FaultDeleteRequest": staff_request(&[], json!({
            "FaultIds": { "type": ["array", "null"], "items": uuid(), "description": "The faults to delete; absent or null: all of them." },
        })),
        "FaultDeleteResult": object(&["Deleted"], json!({
            "Deleted": { "type": "integer", "minimum": 0, "description": "How many faults were deleted." },
        })),
    })
}

fn fault_operation() -> Value {
    let mut names: Vec<&str> = fault::OPERATIONS.to_vec();
    names.push("*");
    json!({ "type": "string", "enum": names, "description": "The Connector API operation it acts on; *: any of them." })
}

fn fault_stage() -> Value {
    json!({ "type": "string", "enum": ["Before", "After"], "description": "Before: instead of the operation, which does not run. After: once the operation has run and committed, in place of (or later than) its successful answer." })
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
fn name_of(path: &str) -> (String, &'static str) {
    let (staff, rest) = match path.strip_prefix("/api/operator/v1/") {
        Some(rest) => (true, rest),
        None => (false, path.trim_start_matches("/api/connector/v1/")),
    };
    let id = rest.replace('/', "_");
    let tag = match (staff, rest.split('/').next()) {
        (false, Some("messageThreads")) => "Message threads",
        (false, _) => "Messages",
        (true, Some("messageThreads" | "messages")) => "Staff",
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
    let operations = [
        (
            paths::THREADS_GET_ALL,
            operation(
                "List the integration's message threads, newest first. At least one of MessageThreadIds, CreatedUtc and UpdatedUtc is required; intervals are at most 3 months.",
                "MessageThreadGetAllRequest",
                "MessageThreadPage",
                example(json!({
                    "EnterpriseIds": [crate::demo::GROSS, crate::demo::NET],
                    "CreatedUtc": { "StartUtc": "2022-03-03T00:00:00Z", "EndUtc": "2022-03-14T00:00:00Z" },
                    "Limitation": { "Count": 10 }
                })),
                Kind::ConnectorPaged,
            ),
        ),
        (
            paths::THREADS_ADD,
            operation(
                "Create a message thread on behalf of a guest.",
                "MessageThreadAddRequest",
                "MessageThreadAddResult",
                example(json!({ "OriginalSender": "John Doe", "Subject": "Example subject" })),
                Kind::Connector,
            ),
        ),
        (
            paths::MESSAGES_GET_ALL,
            operation(
                "List the messages of the integration's threads, newest first. CreatedUtc is at most 1 month.",
                "MessageGetAllRequest",
                "MessagePage",
                example(json!({ "MessageThreadIds": [thread], "Limitation": { "Count": 100 } })),
                Kind::ConnectorPaged,
            ),
        ),
        (
            paths::MESSAGES_ADD,
            operation(
                "Add the guest's messages (sender Application), all or nothing; reopens resolved threads.",
                "MessageAddRequest",
                "MessageAddResult",
                example(
                    json!({ "Messages": [{ "MessageThreadId": thread, "Text": "Text of the message", "Identifier": "Message 1" }] }),
                ),
                Kind::Connector,
            ),
        ),
        (
            paths::STAFF_THREADS_GET_ALL,
            operation(
                "Staff: list the threads of every integration, newest first.",
                "StaffMessageThreadGetAllRequest",
                "StaffMessageThreadPage",
                json!({ "IsResolved": false, "Limitation": { "Count": 50 } }),
                Kind::StaffPaged,
            ),
        ),
        (
            paths::STAFF_THREADS_UPDATE,
            operation(
                "Staff: resolve or reopen a thread.",
                "StaffMessageThreadUpdateRequest",
                "StaffMessageThreadUpdateResult",
                json!({ "MessageThreadId": thread, "IsResolved": true }),
                Kind::Staff,
            ),
        ),
        (
            paths::STAFF_MESSAGES_GET_ALL,
            operation(
                "Staff: list the messages of any threads, newest first.",
                "StaffMessageGetAllRequest",
                "MessagePage",
                json!({ "MessageThreadIds": [thread], "Limitation": { "Count": 100 } }),
                Kind::StaffPaged,
            ),
        ),
        (
            paths::STAFF_MESSAGES_ADD,
            operation(
                "Staff: reply (sender Enterprise); IsResolved does not change.",
                "StaffMessageAddRequest",
                "MessageAddResult",
                json!({ "Messages": [{ "MessageThreadId": thread, "Text": "Hello! What time do you expect to arrive?" }] }),
                Kind::Staff,
            ),
        ),
        (
            paths::CLOCK_GET,
            operation(
                "Emulator: the time every part of the server reads, and whether it is the system's or the manual clock.",
                "ClockGetRequest",
                "Clock",
                json!({}),
                Kind::Staff,
            ),
        ),
        (
            paths::CLOCK_SET,
            operation(
                "Emulator: move the manual clock (serve --clock manual) to a later time; every node sees it. 400 on the system clock or for an earlier time.",
                "ClockSetRequest",
                "Clock",
                json!({ "NowUtc": "2030-01-01T00:00:00Z" }),
                Kind::Staff,
            ),
        ),
        (
            paths::CLOCK_ADVANCE,
            operation(
                "Emulator: move the manual clock forward by 1 second to 2 years; webhook retries and rate-limit windows follow at once. 400 on the system clock.",
                "ClockAdvanceRequest",
                "Clock",
                json!({ "Seconds": 3600 }),
                Kind::Staff,
            ),
        ),
        (
            paths::RESET,
            operation(
                "Emulator: remove the threads of some integrations and enterprises (all when neither is given), with their messages, webhook deliveries and the rate-limit windows of their tokens, in one transaction. Tenants, tokens, webhook URLs and the clock stay.",
                "ResetRequest",
                "ResetResult",
                json!({ "IntegrationIds": [crate::demo::SAMPLE_CLIENT] }),
                Kind::Staff,
            ),
        ),
        (
            paths::FAULTS_ADD,
            operation(
                "Emulator: make switchboard fail on purpose: answer some Connector API requests of an authenticated integration with an error, late, or (Stage After) lose the answer of a write that happened. Kept in the database: every node applies it.",
                "FaultAddRequest",
                "FaultList",
                json!({ "Operation": "messages/add", "Status": 503, "DelayMs": 200, "Times": 1, "Stage": "Before" }),
                Kind::Staff,
            ),
        ),
        (
            paths::FAULTS_GET_ALL,
            operation(
                "Emulator: every fault, with the uses left of each.",
                "FaultGetAllRequest",
                "FaultList",
                json!({}),
                Kind::Staff,
            ),
        ),
        (
            paths::FAULTS_DELETE,
            operation(
                "Emulator: delete some faults, or all of them.",
                "FaultDeleteRequest",
                "FaultDeleteResult",
                json!({}),
                Kind::Staff,
            ),
        ),
        (
            paths::WEBHOOKS_GET_ALL,
            operation(
                "Emulator: the webhook delivery log, newest first: each delivery's messages and every attempt with its status or error and the start of the receiver's answer. The receiver's URL is never shown.",
                "WebhookDeliveryGetAllRequest",
                "WebhookDeliveryPage",
                json!({ "States": ["Failed"], "Limitation": { "Count": 10 } }),
                Kind::StaffPaged,
            ),
        ),
        (
            paths::REQUESTS_GET_ALL,
            operation(
                "Emulator: this node's last Connector API requests (serve --request-log, 1000 by default), newest first, with what was sent and answered. Tokens never appear.",
                "RequestGetAllRequest",
                "RequestPage",
                json!({ "Statuses": [400, 401, 429], "Limitation": { "Count": 20 } }),
                Kind::StaffPaged,
            ),
        ),
        (
            paths::WEBHOOKS_RETRY,
            operation(
                "Emulator: send deliveries again now, whatever their state (a delivered one too), with a full set of attempts.",
                "WebhookRetryRequest",
                "WebhookRetryResult",
                json!({ "WebhookDeliveryIds": ["0f8fad5b-d9cb-469f-a165-70867728950e"] }),
                Kind::Staff,
            ),
        ),
    ];
    let paths: serde_json::Map<String, Value> = operations
        .into_iter()
        .map(|(path, mut op)| {
            let (id, tag) = name_of(path);
            op["post"]["operationId"] = json!(id);
            op["post"]["tags"] = json!([tag]);
            (path.to_owned(), op)
        })
        .collect();
    let mut schemas = schemas();
    if let (Some(all), Value::Object(faults)) = (schemas.as_object_mut(), fault_schemas()) {
        all.extend(faults);
    }
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
            { "name": "Emulator", "description": "Tools for testing against switchboard: the manual clock, reset, faults, the request log and the webhook delivery log (operator API)." }
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
