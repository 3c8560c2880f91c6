//! The one table of the API's operations.
//!
//! Each row names an operation once: its API, its name, the request type its
//! body parses into, its handler, and what the OpenAPI document says of it.
//! Everything else is derived from the table: the router
//! ([`routes`]), the check of a body ([`Operation::check`]), the names that
//! faults and the request log accept ([`Operation::named`]), the Postman
//! collection (in the table's order, which is a conversation's: what adds
//! comes before what lists) and the OpenAPI document. Adding an operation
//! means a row here and its handler.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodRouter, post};
use serde_json::{Value, json};

use crate::demo;
use crate::domain::Request;
use crate::domain::admin::{
    AddAccessToken, AddEnterprise, AddIntegration, IntegrationRef, RevokeAccessTokens, TokenFilter,
    UpdateIntegration,
};
use crate::domain::emulator::{
    AdvanceClock, DeliveryFilter, NoParameters, RequestFilter, ResendDeliveries, Reset, SetClock,
};
use crate::domain::fault::{AddFault, DeleteFaults};
use crate::domain::fields::{Input, Object, Shape};
use crate::domain::message::{AddMessages, MessageFilter};
use crate::domain::staff::{AddStaff, UpdateStaff};
use crate::domain::thread::{AddThread, StaffThreadFilter, ThreadFilter, UpdateThread};
use crate::http::error::ApiError;
use crate::http::openapi::{EXAMPLE_ACCESS_TOKEN_ID, connector_example as with_credentials};
use crate::http::{AppState, admin, emulator, messages, operator, threads};

/// Which API an operation belongs to, and so how its caller authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// The integration's: `ClientToken`, `AccessToken` and `Client` in the body.
    Connector,
    /// The staff's: `Authorization: Bearer <operator token>`.
    Operator,
}

/// Whether an operation answers pages (and so `204` to `Prefer: return=minimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    One,
    Paged,
}

/// What the OpenAPI document says of an operation.
#[derive(Debug, Clone)]
pub struct Doc {
    pub summary: &'static str,
    /// The names of its request and response schemas.
    pub request: &'static str,
    pub response: &'static str,
    pub answer: Answer,
    /// An example body that works as it is on the demo tenant, naming `thread`
    /// where it names a thread.
    pub example: Value,
}

macro_rules! prefix {
    (Connector) => {
        "/api/connector/v1/"
    };
    (Operator) => {
        "/api/operator/v1/"
    };
}

macro_rules! operations {
    ($(
        $variant:ident: $api:ident $name:literal, $request:ty => $handler:path;
            $summary:literal, $schemas:literal -> $response:literal, $answer:ident,
            |$thread:ident| $example:expr;
    )*) => {
        /// An operation of the API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($variant),*
        }

        impl Operation {
            /// Every operation, in the order of a conversation.
            pub const ALL: &[Operation] = &[$(Operation::$variant),*];

            /// Its name, as faults and the request log know it:
            /// `messageThreads/getAll`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),*
                }
            }

            pub const fn api(self) -> Api {
                match self {
                    $(Self::$variant => Api::$api),*
                }
            }

            /// Its address.
            pub const fn path(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!(prefix!($api), $name)),*
                }
            }

            /// Whether `body` is a valid request of this operation (the
            /// credentials aside, which need a database).
            pub fn check(self, body: &Object<'_>) -> Input<()> {
                match self {
                    $(Self::$variant => <$request as Request>::parse(body).map(drop)),*
                }
            }

            /// The operation at `path`.
            pub fn at(path: &str) -> Option<Self> {
                match path {
                    $(concat!(prefix!($api), $name) => Some(Self::$variant),)*
                    _ => None,
                }
            }

            /// Every property its request takes (beside the credentials).
            pub fn shape(self) -> &'static Shape {
                match self {
                    $(Self::$variant => &<$request as Request>::SHAPE),*
                }
            }

            /// What the OpenAPI document says of it; its example names `thread`.
            pub fn doc(self, thread: &str) -> Doc {
                match self {
                    $(Self::$variant => {
                        let $thread = thread;
                        let _ = $thread;
                        Doc {
                            summary: $summary,
                            request: $schemas,
                            response: $response,
                            answer: Answer::$answer,
                            example: $example,
                        }
                    })*
                }
            }

            fn route(self) -> MethodRouter<AppState> {
                match self {
                    $(Self::$variant => operation($handler)),*
                }
            }
        }
    };
}

operations! {
    ThreadsAdd: Connector "messageThreads/add", AddThread => threads::add;
        "Create a message thread on behalf of a guest.",
        "MessageThreadAddRequest" -> "MessageThreadAddResult", One,
        |thread| with_credentials(json!({ "OriginalSender": "John Doe", "Subject": "Example subject" }));
    MessagesAdd: Connector "messages/add", AddMessages => messages::add;
        "Add the guest's messages (sender Application), all or nothing; reopens resolved threads.",
        "MessageAddRequest" -> "MessageAddResult", One,
        |thread| with_credentials(json!({ "Messages": [{ "MessageThreadId": thread, "Text": "Text of the message", "Identifier": "Message 1" }] }));
    StaffMessagesAdd: Operator "messages/add", AddMessages => operator::messages_add;
        "Staff: reply (sender Enterprise); IsResolved does not change.",
        "StaffMessageAddRequest" -> "MessageAddResult", One,
        |thread| json!({ "Messages": [{ "MessageThreadId": thread, "Text": "Hello! What time do you expect to arrive?" }] });
    ThreadsGetAll: Connector "messageThreads/getAll", ThreadFilter => threads::get_all;
        "List the integration's message threads, newest first. At least one of MessageThreadIds, CreatedUtc and UpdatedUtc is required; intervals are at most 3 months.",
        "MessageThreadGetAllRequest" -> "MessageThreadPage", Paged,
        |thread| with_credentials(json!({
            "EnterpriseIds": [demo::GROSS, demo::NET],
            "CreatedUtc": { "StartUtc": "2022-03-03T00:00:00Z", "EndUtc": "2022-03-14T00:00:00Z" },
            "Limitation": { "Count": 10 }
        }));
    MessagesGetAll: Connector "messages/getAll", MessageFilter => messages::get_all;
        "List the messages of the integration's threads, newest first. CreatedUtc is at most 1 month.",
        "MessageGetAllRequest" -> "MessagePage", Paged,
        |thread| with_credentials(json!({ "MessageThreadIds": [thread], "Limitation": { "Count": 100 } }));
    StaffThreadsGetAll: Operator "messageThreads/getAll", StaffThreadFilter => operator::threads_get_all;
        "Staff: list the threads of every integration, newest first.",
        "StaffMessageThreadGetAllRequest" -> "StaffMessageThreadPage", Paged,
        |thread| json!({ "IsResolved": false, "Limitation": { "Count": 50 } });
    StaffMessagesGetAll: Operator "messages/getAll", MessageFilter => operator::messages_get_all;
        "Staff: list the messages of any threads, newest first.",
        "StaffMessageGetAllRequest" -> "MessagePage", Paged,
        |thread| json!({ "MessageThreadIds": [thread], "Limitation": { "Count": 100 } });
    StaffThreadsUpdate: Operator "messageThreads/update", UpdateThread => operator::threads_update;
        "Staff: resolve or reopen a thread.",
        "StaffMessageThreadUpdateRequest" -> "StaffMessageThreadUpdateResult", One,
        |thread| json!({ "MessageThreadId": thread, "IsResolved": true });
    ClockGet: Operator "clock/get", NoParameters => emulator::clock_get;
        "Emulator: the time every part of the server reads, and whether it is the system's or the manual clock.",
        "ClockGetRequest" -> "Clock", One,
        |thread| json!({});
    ClockSet: Operator "clock/set", SetClock => emulator::clock_set;
        "Emulator: move the manual clock (serve --clock manual) to a time between the years 2000 and 9999; every node sees it. An earlier time only when nothing stored is newer (400 naming the newest otherwise); 400 on the system clock.",
        "ClockSetRequest" -> "Clock", One,
        |thread| json!({ "NowUtc": "2030-01-01T00:00:00Z" });
    ClockAdvance: Operator "clock/advance", AdvanceClock => emulator::clock_advance;
        "Emulator: move the manual clock forward by 1 second to 2 years; webhook retries that fall due go out at once. 400 on the system clock.",
        "ClockAdvanceRequest" -> "Clock", One,
        |thread| json!({ "Seconds": 3600 });
    Reset: Operator "reset", Reset => emulator::reset;
        "Emulator: remove the threads of some integrations and enterprises (all when neither is given), with their messages, webhook deliveries and the rate-limit windows of their tokens, in one transaction. Tenants, tokens, webhook URLs and the clock stay; faults too, unless Faults is true; RequestLog true also empties every node's request log.",
        "ResetRequest" -> "ResetResult", One,
        |thread| json!({ "IntegrationIds": [demo::SAMPLE_CLIENT] });
    FaultsAdd: Operator "faults/add", AddFault => emulator::faults_add;
        "Emulator: make switchboard fail on purpose: answer some Connector API requests of an authenticated integration with an error, late, with a dropped or hung connection, or (Stage After) lose the answer of a write that happened; or (Operation webhook) send webhooks twice, late or out of order. Kept in the database: every node applies it.",
        "FaultAddRequest" -> "FaultList", One,
        |thread| json!({ "Operation": "messages/add", "Status": 503, "DelayMs": 200, "Times": 1, "Stage": "Before" });
    FaultsGetAll: Operator "faults/getAll", NoParameters => emulator::faults_get_all;
        "Emulator: every fault, with the uses left of each.",
        "FaultGetAllRequest" -> "FaultList", One,
        |thread| json!({});
    FaultsDelete: Operator "faults/delete", DeleteFaults => emulator::faults_delete;
        "Emulator: delete some faults, or all of them.",
        "FaultDeleteRequest" -> "FaultDeleteResult", One,
        |thread| json!({});
    WebhooksGetAll: Operator "webhooks/getAll", DeliveryFilter => emulator::webhooks_get_all;
        "Emulator: the webhook delivery log, newest first: each delivery's messages and every attempt with its status or error and the start of the receiver's answer. The receiver's URL is never shown.",
        "WebhookDeliveryGetAllRequest" -> "WebhookDeliveryPage", Paged,
        |thread| json!({ "States": ["Failed"], "Limitation": { "Count": 10 } });
    WebhooksRetry: Operator "webhooks/retry", ResendDeliveries => emulator::webhooks_retry;
        "Emulator: send deliveries again now, whatever their state (a delivered one too), with a full set of attempts.",
        "WebhookRetryRequest" -> "WebhookRetryResult", One,
        |thread| json!({ "WebhookDeliveryIds": ["0f8fad5b-d9cb-469f-a165-70867728950e"] });
    WebhooksTest: Operator "webhooks/test", IntegrationRef => emulator::webhooks_test;
        "Webhooks: send the integration's receiver one request of the usual shape with no events (signed as its deliveries are) and answer how it went at once (Error NoUrl when it has no webhook URL).",
        "WebhookTestRequest" -> "WebhookTestResult", One,
        |thread| json!({ "IntegrationId": demo::SAMPLE_CLIENT });
    WebhooksPause: Operator "webhooks/pause", IntegrationRef => emulator::webhooks_pause;
        "Webhooks: hold the integration's deliveries; its events are still stored, and go out when it is resumed.",
        "WebhookPauseRequest" -> "IntegrationResult", One,
        |thread| json!({ "IntegrationId": demo::SAMPLE_CLIENT });
    WebhooksResume: Operator "webhooks/resume", IntegrationRef => emulator::webhooks_resume;
        "Webhooks: send the integration's held deliveries, oldest first, and deliver as usual again.",
        "WebhookResumeRequest" -> "IntegrationResult", One,
        |thread| json!({ "IntegrationId": demo::SAMPLE_CLIENT });
    RequestsGetAll: Operator "requests/getAll", RequestFilter => emulator::requests_get_all;
        "Emulator: this node's last Connector API requests (serve --request-log, 1000 by default), newest first, with what was sent and answered. Tokens never appear.",
        "RequestGetAllRequest" -> "RequestPage", Paged,
        |thread| json!({ "Statuses": [400, 401, 429], "Limitation": { "Count": 20 } });
    RequestsDelete: Operator "requests/delete", NoParameters => emulator::requests_delete;
        "Emulator: empty the request log of every node.",
        "RequestDeleteRequest" -> "RequestDeleteResult", One,
        |thread| json!({});
    EnterprisesAdd: Operator "enterprises/add", AddEnterprise => admin::enterprises_add;
        "Administration: add an enterprise (a property); a new Id is made when none is given.",
        "EnterpriseAddRequest" -> "EnterpriseResult", One,
        |thread| json!({ "Name": "Hotel Example" });
    EnterprisesGetAll: Operator "enterprises/getAll", NoParameters => admin::enterprises_get_all;
        "Administration: every enterprise.",
        "EnterpriseGetAllRequest" -> "EnterpriseList", One,
        |thread| json!({});
    IntegrationsAdd: Operator "integrations/add", AddIntegration => admin::integrations_add;
        "Administration: add an integration (a client application); its ClientToken is in the answer, this once.",
        "IntegrationAddRequest" -> "IntegrationAddResult", One,
        |thread| json!({ "Name": "Example App" });
    IntegrationsGetAll: Operator "integrations/getAll", NoParameters => admin::integrations_get_all;
        "Administration: every integration, webhook URLs without their query string.",
        "IntegrationGetAllRequest" -> "IntegrationList", One,
        |thread| json!({});
    IntegrationsUpdate: Operator "integrations/update", UpdateIntegration => admin::integrations_update;
        "Administration: rename an integration, set or clear (null) its webhook URL, or turn webhook signing off or give it a new secret (shown this once; the one it replaces signs beside it for 24 hours).",
        "IntegrationUpdateRequest" -> "IntegrationResult", One,
        |thread| json!({ "IntegrationId": demo::SAMPLE_CLIENT, "Name": "Sample Client" });
    AccessTokensAdd: Operator "accessTokens/add", AddAccessToken => admin::access_tokens_add;
        "Administration: issue an access token of an integration for enterprises (the first is its home; more than one make a portfolio token); the token is in the answer, this once.",
        "AccessTokenAddRequest" -> "AccessTokenAddResult", One,
        |thread| json!({ "IntegrationId": demo::SAMPLE_CLIENT, "EnterpriseIds": [demo::GROSS, demo::NET] });
    AccessTokensGetAll: Operator "accessTokens/getAll", TokenFilter => admin::access_tokens_get_all;
        "Administration: the access tokens of some integrations (all when IntegrationIds is absent): ids, never tokens.",
        "AccessTokenGetAllRequest" -> "AccessTokenList", One,
        |thread| json!({ "IntegrationIds": [demo::SAMPLE_CLIENT] });
    StaffAdd: Operator "staff/add", AddStaff => admin::staff_add;
        "Administration: add a staff member of the inbox (Role Admin or Agent; EnterpriseIds absent or empty: every enterprise); a one-time password is in the answer, this once, and the member chooses their own at first login.",
        "StaffAddRequest" -> "StaffAddResult", One,
        |thread| json!({ "Name": "Anna Novak", "Login": "anna", "Role": "Agent", "EnterpriseIds": [demo::GROSS] });
    StaffGetAll: Operator "staff/getAll", NoParameters => admin::staff_get_all;
        "Administration: every staff member (never a password).",
        "StaffGetAllRequest" -> "StaffList", One,
        |thread| json!({});
    StaffUpdate: Operator "staff/update", UpdateStaff => admin::staff_update;
        "Administration: change a staff member's name, role or enterprises, or disable them (which ends their sessions at once, on every node).",
        "StaffUpdateRequest" -> "StaffResult", One,
        |thread| json!({ "Login": "anna", "Role": "Admin" });
    AccessTokensRevoke: Operator "accessTokens/revoke", RevokeAccessTokens => admin::access_tokens_revoke;
        "Administration: revoke active access tokens by their ids; one that is unknown or revoked already is a 400, and then none is revoked.",
        "AccessTokenRevokeRequest" -> "AccessTokenList", One,
        |thread| json!({ "AccessTokenIds": [EXAMPLE_ACCESS_TOKEN_ID] });
}

impl Operation {
    /// The operation of `api` called `name` (`messages/add`).
    pub fn named(api: Api, name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.api() == api && op.name() == name)
    }

    /// The Connector API's operations, which faults and the request log name.
    pub fn connector() -> impl Iterator<Item = Self> {
        Self::ALL
            .iter()
            .copied()
            .filter(|op| op.api() == Api::Connector)
    }
}

/// Every operation's route.
pub fn routes() -> Router<AppState> {
    Operation::ALL.iter().fold(Router::new(), |router, op| {
        router.route(op.path(), op.route())
    })
}

/// An API operation: `POST` only; any other method gets 405 with `Allow: POST`.
fn operation<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler).fallback(method_not_allowed)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Decodes and checks a request body for the operation at `path` the way the
/// server does before it runs the operation (JSON, one object, the operation's
/// properties; not the credentials, which need a database). The fuzz target and
/// its corpus test call it: whatever the bytes, it answers and never panics.
pub fn check_request(path: &str, body: &[u8]) -> Result<(), String> {
    let op = Operation::at(path).ok_or_else(|| format!("{path} is not an operation"))?;
    let value = crate::http::parse_json(body).map_err(|e| e.to_string())?;
    let object = Object::root(&value).map_err(|e| e.0)?;
    op.check(&object).map_err(|e| e.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_unique_and_follow_the_api() {
        let mut paths: Vec<&str> = Operation::ALL.iter().map(|op| op.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Operation::ALL.len());
        for &op in Operation::ALL {
            assert_eq!(Operation::at(op.path()), Some(op));
            assert_eq!(Operation::named(op.api(), op.name()), Some(op));
            let prefix = match op.api() {
                Api::Connector => "/api/connector/v1/",
                Api::Operator => "/api/operator/v1/",
            };
            assert_eq!(op.path(), format!("{prefix}{}", op.name()));
        }
        assert_eq!(Operation::connector().count(), 4);
    }
}
