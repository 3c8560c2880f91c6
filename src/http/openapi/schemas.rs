//! The schemas of the OpenAPI document: every request and answer the
//! operations of [`crate::operations`] name.

use serde_json::{Value, json};

use super::{
    date_time, id_list, list_of, nullable_uuid, object, optional_id_list, optional_interval,
    reference, request, staff_request, string, uuid, with_description,
};
use crate::domain::emulator::MAX_ADVANCE_SECONDS;
use crate::domain::fault::{MAX_DELAY_MS, MAX_RETRY_AFTER_SECONDS, Target};
use crate::domain::message::MAX_BATCH;
use crate::domain::paging::MAX_COUNT;
use crate::domain::thread::MAX_FILTER_IDS;
use crate::operations::Operation;

/// Every schema the document holds.
pub fn all() -> Value {
    let mut schemas = schemas();
    for more in [fault_schemas(), admin_schemas()] {
        if let (Some(all), Value::Object(more)) = (schemas.as_object_mut(), more) {
            all.extend(more);
        }
    }
    schemas
}

/// The schemas of the administration (SPEC §17).
fn admin_schemas() -> Value {
    let name = || string(1, 255);
    let enterprise = object(
        &["Id", "Name", "CreatedUtc"],
        json!({
            "Id": uuid(),
            "Name": name(),
            "CreatedUtc": date_time(),
        }),
    );
    let integration = object(
        &[
            "Id",
            "Name",
            "CreatedUtc",
            "WebhookUrl",
            "WebhookSigning",
            "WebhooksPaused",
        ],
        json!({
            "Id": uuid(),
            "Name": name(),
            "CreatedUtc": date_time(),
            "WebhookUrl": { "type": ["string", "null"], "description": "Where its MessageAdded webhooks go, without the query string, user or password (its secrets); null when none." },
            "WebhookSigning": { "type": "string", "enum": ["On", "Off"], "description": "On: every webhook request carries webhook-signature (Standard Webhooks). The secret is shown only when it is made." },
            "WebhooksPaused": { "type": "boolean", "description": "Whether webhooks/pause holds its deliveries." },
        }),
    );
    let token = object(
        &[
            "Id",
            "IntegrationId",
            "EnterpriseIds",
            "CreatedUtc",
            "RevokedUtc",
        ],
        json!({
            "Id": uuid(),
            "IntegrationId": uuid(),
            "EnterpriseIds": { "type": "array", "items": uuid(), "description": "The enterprises it reaches, its home first." },
            "CreatedUtc": date_time(),
            "RevokedUtc": { "type": ["string", "null"], "format": "date-time", "description": "When it was revoked; null while it is active." },
        }),
    );
    json!({
        "Enterprise": enterprise,
        "EnterpriseAddRequest": staff_request(&["Name"], json!({
            "Name": name(),
            "Id": { "type": ["string", "null"], "format": "uuid", "description": "Its id; a new one is made when absent." },
        })),
        "EnterpriseResult": object(&["Enterprise"], json!({ "Enterprise": reference("Enterprise") })),
        "EnterpriseGetAllRequest": staff_request(&[], json!({})),
        "EnterpriseList": object(&["Enterprises"], json!({ "Enterprises": list_of("Enterprise") })),
        "Integration": integration,
        "IntegrationAddRequest": staff_request(&["Name"], json!({
            "Name": name(),
            "WebhookUrl": { "type": ["string", "null"], "description": "Where its MessageAdded webhooks go: http or https (the query string is kept exactly, and never shown)." },
        })),
        "IntegrationAddResult": object(&["Integration", "ClientToken"], json!({
            "Integration": reference("Integration"),
            "ClientToken": { "type": "string", "description": "The integration's ClientToken: shown this once (switchboard keeps only its digest)." },
        })),
        "IntegrationGetAllRequest": staff_request(&[], json!({})),
        "IntegrationList": object(&["Integrations"], json!({ "Integrations": list_of("Integration") })),
        "IntegrationUpdateRequest": staff_request(&["IntegrationId"], json!({
            "IntegrationId": uuid(),
            "Name": { "type": ["string", "null"], "minLength": 1, "maxLength": 255, "description": "A new name; absent or null keeps it." },
            "WebhookUrl": { "type": ["string", "null"], "description": "A new webhook URL; null clears it (no more events are made); absent keeps it." },
            "WebhookSigning": { "type": ["string", "null"], "enum": ["Off", "NewSecret", null], "description": "Off: webhooks go unsigned. NewSecret: a new secret signs from now on (answered once in WebhookSecret); the one it replaces signs beside it for 24 hours. Absent keeps it." },
        })),
        "IntegrationResult": object(&["Integration"], json!({
            "Integration": reference("Integration"),
            "WebhookSecret": { "type": "string", "pattern": "^whsec_", "description": "The new signing secret (WebhookSigning NewSecret), shown this once: whsec_ and the base64 of 32 random bytes." },
        })),
        "WebhookTestRequest": staff_request(&["IntegrationId"], json!({ "IntegrationId": uuid() })),
        "WebhookPauseRequest": staff_request(&["IntegrationId"], json!({ "IntegrationId": uuid() })),
        "WebhookResumeRequest": staff_request(&["IntegrationId"], json!({ "IntegrationId": uuid() })),
        "WebhookTestResult": object(&["WebhookId", "Attempt"], json!({
            "WebhookId": { "type": "string", "format": "uuid", "description": "The webhook-id the request carried (no delivery has it)." },
            "Attempt": reference("WebhookAttempt"),
        })),
        "StaffMember": object(&["Id", "Name", "Login", "Role", "EnterpriseIds", "Disabled", "MustChangePassword", "CreatedUtc"], json!({
            "Id": uuid(),
            "Name": name(),
            "Login": { "type": "string", "description": "What the member logs in with: lower case, letters, digits and . _ - @." },
            "Role": staff_role(),
            "EnterpriseIds": { "type": "array", "items": uuid(), "description": "The enterprises the member sees; empty: every enterprise." },
            "Disabled": { "type": "boolean", "description": "A disabled member cannot log in; their sessions ended when they were disabled." },
            "MustChangePassword": { "type": "boolean", "description": "The member has a one-time password and chooses their own at the next login." },
            "CreatedUtc": date_time(),
        })),
        "StaffAddRequest": staff_request(&["Name", "Login", "Role"], json!({
            "Name": name(),
            "Login": { "type": "string", "minLength": 1, "maxLength": 100, "description": "What the member logs in with, case-insensitive: letters, digits and . _ - @." },
            "Role": staff_role(),
            "EnterpriseIds": { "type": ["array", "null"], "items": uuid(), "maxItems": MAX_FILTER_IDS, "description": "The enterprises the member sees; absent, null or empty: every enterprise." },
        })),
        "StaffAddResult": object(&["Member", "Password"], json!({
            "Member": reference("StaffMember"),
            "Password": { "type": "string", "description": "The member's one-time password, shown this once: they choose their own at first login." },
        })),
        "StaffGetAllRequest": staff_request(&[], json!({})),
        "StaffList": object(&["Members"], json!({ "Members": list_of("StaffMember") })),
        "StaffUpdateRequest": staff_request(&["Login"], json!({
            "Login": { "type": "string", "description": "The member's login." },
            "Name": { "type": ["string", "null"], "minLength": 1, "maxLength": 255, "description": "A new name; absent or null keeps it." },
            "Role": { "anyOf": [staff_role(), { "type": "null" }], "description": "A new role; absent or null keeps it." },
            "EnterpriseIds": { "type": ["array", "null"], "items": uuid(), "maxItems": MAX_FILTER_IDS, "description": "The enterprises the member sees from now on; empty or null: every enterprise; absent keeps them." },
            "Disabled": { "type": ["boolean", "null"], "description": "true disables the member and ends their sessions on every node at once; false enables them again." },
        })),
        "StaffResult": object(&["Member"], json!({ "Member": reference("StaffMember") })),
        "AccessToken": token,
        "AccessTokenAddRequest": staff_request(&["IntegrationId", "EnterpriseIds"], json!({
            "IntegrationId": uuid(),
            "EnterpriseIds": { "type": "array", "items": uuid(), "minItems": 1, "maxItems": MAX_FILTER_IDS, "uniqueItems": true, "description": "The enterprises it reaches, each once, its home first." },
        })),
        "AccessTokenAddResult": object(&["Token", "AccessToken"], json!({
            "Token": reference("AccessToken"),
            "AccessToken": { "type": "string", "description": "The token itself, as requests send it: shown this once (switchboard keeps only its digest)." },
        })),
        "AccessTokenGetAllRequest": staff_request(&[], json!({
            "IntegrationIds": optional_id_list(),
        })),
        "AccessTokenList": object(&["AccessTokens"], json!({ "AccessTokens": list_of("AccessToken") })),
        "AccessTokenRevokeRequest": staff_request(&["AccessTokenIds"], json!({
            "AccessTokenIds": id_list(),
        })),
        "RequestDeleteRequest": staff_request(&[], json!({})),
        "RequestDeleteResult": object(&[], json!({})),
    })
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
            "Faults": { "type": ["boolean", "null"], "description": "Every fault goes too." },
            "RequestLog": { "type": ["boolean", "null"], "description": "Every node's request log is emptied too. With Faults: the server as it was when it started." },
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
        "FaultAddRequest": staff_request(&["Operation"], json!({
            "Operation": fault_operation(),
            "IntegrationId": { "type": ["string", "null"], "format": "uuid", "description": "Only requests of this integration; absent or null: any." },
            "Status": { "type": ["integer", "null"], "minimum": 400, "maximum": 599, "description": "The status to answer with; absent or null: the real answer, after DelayMs." },
            "Message": { "type": ["string", "null"], "maxLength": 1000, "description": "The Message of the error body; absent: one that names the fault." },
            "RetryAfterSeconds": { "type": ["integer", "null"], "minimum": 1, "maximum": MAX_RETRY_AFTER_SECONDS, "description": "The Retry-After header of a 429 or 503 fault." },
            "DelayMs": { "type": ["integer", "null"], "minimum": 0, "maximum": MAX_DELAY_MS, "description": "How long the answer is held back, in milliseconds." },
            "Probability": { "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1, "description": "How often the fault acts on a matching request; absent: always." },
            "Times": { "type": ["integer", "null"], "minimum": 1, "description": "How many requests it acts on in all, across nodes; absent: no limit." },
            "Stage": { "anyOf": [fault_stage(), { "type": "null" }], "description": "Before (the default) or After." },
            "Connection": { "type": ["string", "null"], "enum": ["Reset", "Hang", null], "description": "Instead of a Status: Reset closes the connection without an answer (After: once the write committed); Hang keeps it open without answering until the client gives up (at most 5 minutes)." },
            "Match": { "anyOf": [reference("FaultMatch"), { "type": "null" }], "description": "Only requests that name this thread." },
            "Webhook": { "type": ["string", "null"], "enum": ["Duplicate", "Delay", "Reorder", null], "description": "Operation webhook only: Duplicate sends a delivery twice (same webhook-id), Delay holds it DelaySeconds (on a manual clock, until the clock is advanced), Reorder sends the next two deliveries newest first." },
            "DelaySeconds": { "type": ["integer", "null"], "minimum": 1, "maximum": 86400, "description": "How long a Delay webhook fault holds a delivery." },
        })),
        "FaultMatch": object(&["MessageThreadId"], json!({
            "MessageThreadId": { "type": "string", "format": "uuid", "description": "A thread the request names (in MessageThreadIds or a message's MessageThreadId)." },
        })),
        "Fault": object(&["Id", "Operation", "IntegrationId", "Status", "Connection", "Match", "Message", "RetryAfterSeconds", "DelayMs", "Probability", "Times", "Remaining", "Stage", "Webhook", "DelaySeconds"], json!({
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
            "Connection": { "type": ["string", "null"], "enum": ["Reset", "Hang", null], "description": "What it does to the connection instead of answering; null: it answers." },
            "Match": { "anyOf": [reference("FaultMatch"), { "type": "null" }], "description": "Only requests that name this thread; null: any." },
            "Webhook": { "type": ["string", "null"], "enum": ["Duplicate", "Delay", "Reorder", null], "description": "What a webhook fault does; null for a fault on requests." },
            "DelaySeconds": { "type": ["integer", "null"], "description": "How long a Delay webhook fault holds a delivery; null otherwise." },
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
        "WebhookAttempt": object(&["StartedUtc", "DurationMs", "Status", "Error", "Response", "Request"], json!({
            "StartedUtc": { "type": "string", "format": "date-time", "description": "When the request started: UTC, to the millisecond." },
            "DurationMs": { "type": "integer", "description": "How long it took, in milliseconds." },
            "Status": { "type": ["integer", "null"], "description": "The receiver's status; null when it gave none." },
            "Error": { "type": ["string", "null"], "enum": ["Timeout", "Connect", "Redirect", "Request", "AddressRefused", "NoUrl", "Encode", null], "description": "Why there was no status; null when there was one." },
            "Response": { "type": ["string", "null"], "description": "The first 1 KiB of the receiver's answer." },
            "Request": { "type": ["object", "null"], "description": "The body the attempt sent, exactly: {EnterpriseId, IntegrationId, Events}." },
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
            "Operations": { "type": ["array", "null"], "items": { "type": "string", "enum": connector_names() }, "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only requests to these operations, such as messages/add; absent or null: all." },
            "Statuses": { "type": ["array", "null"], "items": { "type": "integer", "minimum": 100, "maximum": 599 }, "minItems": 1, "maxItems": MAX_FILTER_IDS, "description": "Only requests answered with these statuses; absent or null: all." },
            "AfterSequence": { "type": ["integer", "null"], "minimum": 0, "description": "Only entries after this Sequence (of this node): a test takes exactly the requests it made after noting the last Sequence." },
            "Limitation": reference("Limitation"),
        })),
        "LoggedRequest": object(&["Sequence", "RequestId", "TimeUtc", "Operation", "IntegrationId", "Status", "DurationMs", "Request", "RequestText", "Response", "ResponseText", "Headers", "Warnings", "FaultId"], json!({
            "Sequence": { "type": "integer", "minimum": 1, "description": "Grows by one per entry on this node." },
            "RequestId": uuid(),
            "TimeUtc": { "type": "string", "format": "date-time", "description": "When it arrived, on the clock the server reads: UTC, to the millisecond." },
            "Operation": { "type": "string", "description": "The operation's name, such as messages/add." },
            "IntegrationId": { "type": ["string", "null"], "format": "uuid", "description": "The integration it authenticated as; null when authentication failed or did not run." },
            "Status": { "type": ["integer", "null"], "description": "The status it was answered with; null when a Connection fault sent no answer." },
            "DurationMs": { "type": "number", "description": "How long it took, in milliseconds." },
            "Request": { "description": "Its JSON body as sent (property order kept), every ClientToken and AccessToken value replaced by ***; null when the body was not JSON or longer than 4 KiB (see RequestText)." },
            "RequestText": { "type": ["string", "null"], "description": "Its body as text, anything shaped like a token masked, when it was not JSON or was cut at 4 KiB (with a marker); null otherwise." },
            "Response": { "description": "The JSON body of its answer; null when there was none or it was longer than 4 KiB (see ResponseText)." },
            "ResponseText": { "type": ["string", "null"], "description": "The answer's body cut at 4 KiB, with a marker; null otherwise." },
            "Headers": { "allOf": [reference("LoggedHeaders")], "description": "The request's headers a tester most needs, and the answer's Retry-After." },
            "Warnings": { "type": "array", "items": reference("Warning"), "description": "The properties the operation ignored." },
            "FaultId": { "type": ["string", "null"], "format": "uuid", "description": "The fault that answered or held it back; null when none did." },
        })),
        "LoggedHeaders": object(&["ContentType", "ContentLength", "UserAgent", "Prefer", "RetryAfter"], json!({
            "ContentType": { "type": ["string", "null"], "description": "The request's Content-Type." },
            "ContentLength": { "type": ["string", "null"], "description": "The request's Content-Length." },
            "UserAgent": { "type": ["string", "null"], "description": "The request's User-Agent." },
            "Prefer": { "type": ["string", "null"], "description": "The request's Prefer." },
            "RetryAfter": { "type": ["string", "null"], "description": "The answer's Retry-After." },
        })),
        "Warning": object(&["Property", "DidYouMean"], json!({
            "Property": { "type": "string", "description": "The full path of a property the operation ignored, such as originalSender." },
            "DidYouMean": { "type": ["string", "null"], "description": "The property it differs from only by case or one letter, if there is one." },
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

/// The names of the Connector API's operations.
fn connector_names() -> Vec<&'static str> {
    Operation::connector().map(Operation::name).collect()
}

fn fault_operation() -> Value {
    json!({ "type": "string", "enum": Target::names(), "description": "The Connector API operation it acts on; *: any of them; webhook: the webhooks the server sends (with Webhook)." })
}

fn fault_stage() -> Value {
    json!({ "type": "string", "enum": ["Before", "After"], "description": "Before: instead of the operation, which does not run. After: once the operation has run and committed, in place of (or later than) its successful answer." })
}

fn staff_role() -> Value {
    json!({ "type": "string", "enum": ["Admin", "Agent"], "description": "Agent: answers guests; Admin: also manages the team." })
}
