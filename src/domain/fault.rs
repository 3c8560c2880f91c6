//! Faults: failures a tester asks switchboard to answer with, the way the real
//! API fails (SPEC §16.5), and the requests that manage them.

use serde::Serialize;
use uuid::Uuid;

use super::Request;
use super::fields::{Input, InputError, Object, Shape};
use super::thread::MAX_FILTER_IDS;
use crate::operations::{Api, Operation};

/// What a fault acts on: one Connector API operation, any of them (`*`), or
/// the webhooks the server sends (`webhook`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Any,
    One(Operation),
    Webhook,
}

impl Target {
    /// The name a fault is given and shown with.
    pub fn name(self) -> &'static str {
        match self {
            Self::Any => "*",
            Self::One(op) => op.name(),
            Self::Webhook => "webhook",
        }
    }

    /// A target by its name: an operation of the Connector API, `*`, or
    /// `webhook`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "*" => Some(Self::Any),
            "webhook" => Some(Self::Webhook),
            name => Operation::named(Api::Connector, name).map(Self::One),
        }
    }

    /// Every name a fault accepts.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&str> = Operation::connector().map(Operation::name).collect();
        names.extend(["*", "webhook"]);
        names
    }

    fn covers(self, op: Operation) -> bool {
        self == Self::Any || self == Self::One(op)
    }
}

/// What a webhook fault does to the deliveries of its integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum WebhookFault {
    /// Sends a delivery twice, with the same `webhook-id`.
    Duplicate,
    /// Holds a delivery for `DelaySeconds` (of the server's clock: on a manual
    /// clock, until it is advanced).
    Delay,
    /// Sends the next two deliveries newest first.
    Reorder,
}

impl WebhookFault {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Duplicate => "Duplicate",
            Self::Delay => "Delay",
            Self::Reorder => "Reorder",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Duplicate" => Some(Self::Duplicate),
            "Delay" => Some(Self::Delay),
            "Reorder" => Some(Self::Reorder),
            _ => None,
        }
    }
}

/// The longest a `Delay` webhook fault holds a delivery: a day.
pub const MAX_DELAY_SECONDS: u32 = 86_400;

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The longest a fault may hold a request back.
pub const MAX_DELAY_MS: u32 = 30_000;
/// The longest `Retry-After` a 429 fault may ask for: a day.
pub const MAX_RETRY_AFTER_SECONDS: u32 = 86_400;
/// The most faults kept at once: each request looks through them.
pub const MAX_FAULTS: usize = 100;

/// When a fault acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Stage {
    /// Instead of the operation: it does not run.
    Before,
    /// After the operation ran and committed: the client never hears of it.
    After,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Before => "Before",
            Self::After => "After",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Before" => Some(Self::Before),
            "After" => Some(Self::After),
            _ => None,
        }
    }
}

/// What a connection fault does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Connection {
    /// Closes the connection without an answer.
    Reset,
    /// Keeps the connection open without answering, until the client gives
    /// up (or [`HANG_MS`] pass).
    Hang,
}

impl Connection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "Reset",
            Self::Hang => "Hang",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Reset" => Some(Self::Reset),
            "Hang" => Some(Self::Hang),
            _ => None,
        }
    }
}

/// The longest a `Hang` fault holds a connection: five minutes.
pub const HANG_MS: u64 = 300_000;

/// Which requests a fault is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Match {
    /// Only requests that name this thread.
    pub message_thread_id: Uuid,
}

/// A fault as it is kept and shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fault {
    pub id: Uuid,
    pub operation: Target,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    /// Instead of a status: what is done to the connection.
    pub connection: Option<Connection>,
    /// Only requests that name a thread.
    #[serde(rename = "Match")]
    pub matches: Option<Match>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    /// How many of `times` are left (`None`: unlimited).
    pub remaining: Option<u32>,
    pub stage: Stage,
    /// What a webhook fault does (`Operation` `webhook` only).
    pub webhook: Option<WebhookFault>,
    /// How long a `Delay` webhook fault holds a delivery.
    pub delay_seconds: Option<u32>,
    /// When it was added, in Unix milliseconds (not shown).
    #[serde(skip)]
    pub created_ms: i64,
}

impl Fault {
    /// Whether the fault is for a request of `integration` to `operation`
    /// that names `threads`, at `stage`, and has uses left as far as this
    /// node knows.
    pub fn applies(&self, request: &Aimed<'_>, stage: Stage) -> bool {
        self.stage == stage
            && self.operation.covers(request.operation)
            && self
                .integration_id
                .is_none_or(|id| id == request.integration)
            && self
                .matches
                .is_none_or(|m| request.threads.contains(&m.message_thread_id))
            && self.remaining != Some(0)
    }

    /// Whether the fault is a webhook fault for the deliveries of
    /// `integration` with uses left as far as this node knows.
    pub fn applies_to_webhook(&self, integration: Uuid) -> bool {
        self.operation == Target::Webhook
            && self.integration_id.is_none_or(|id| id == integration)
            && self.remaining != Some(0)
    }

    /// The message of its answer.
    pub fn answer_message(&self) -> String {
        self.message.clone().unwrap_or_else(|| {
            format!(
                "A fault the operator added answered this request (fault {}).",
                self.id
            )
        })
    }
}

/// What a fault looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct Aimed<'a> {
    pub operation: Operation,
    pub integration: Uuid,
    /// The threads the request names.
    pub threads: &'a [Uuid],
}

/// `faults/add`: a new fault, checked.
#[derive(Debug, Clone)]
pub struct AddFault {
    pub operation: Target,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    pub connection: Option<Connection>,
    pub matches: Option<Match>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    pub stage: Stage,
    pub webhook: Option<WebhookFault>,
    pub delay_seconds: Option<u32>,
}

/// The properties of a fault on Connector API requests, which a webhook fault
/// does not take.
const REQUEST_ONLY: [&str; 8] = [
    "Status",
    "Message",
    "RetryAfterSeconds",
    "DelayMs",
    "Stage",
    "Connection",
    "Match",
    "Probability",
];

impl Request for AddFault {
    const SHAPE: Shape = Shape::Object(&[
        ("Operation", Shape::Value),
        ("IntegrationId", Shape::Value),
        ("Status", Shape::Value),
        ("Message", Shape::Value),
        ("RetryAfterSeconds", Shape::Value),
        ("DelayMs", Shape::Value),
        ("Probability", Shape::Value),
        ("Times", Shape::Value),
        ("Stage", Shape::Value),
        ("Connection", Shape::Value),
        ("Match", Shape::Object(&[("MessageThreadId", Shape::Value)])),
        ("Webhook", Shape::Value),
        ("DelaySeconds", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let operation = Target::parse(obj.required_str("Operation")?).ok_or_else(|| {
            let names: Vec<String> = Operation::connector()
                .map(|op| format!("\"{}\"", op.name()))
                .collect();
            InputError(format!(
                "Operation must be one of {}, \"*\" (any of them) or \"webhook\" (the \
                 webhooks the server sends).",
                names.join(", ")
            ))
        })?;
        if operation == Target::Webhook {
            return Self::parse_webhook(obj);
        }
        for name in ["Webhook", "DelaySeconds"] {
            if obj.get(name).is_some() {
                return Err(InputError(format!(
                    "{name} is for a fault with Operation \"webhook\" only."
                )));
            }
        }
        let status = obj
            .optional_integer("Status", 400, 599)?
            .and_then(|s| u16::try_from(s).ok());
        let message = obj.optional_str("Message")?.map(str::to_owned);
        if message.as_deref().is_some_and(|m| m.chars().count() > 1000) {
            return Err(InputError::new("Message must be at most 1000 characters."));
        }
        let connection = obj
            .optional_str("Connection")?
            .map(|c| {
                Connection::parse(c)
                    .ok_or_else(|| InputError::new("Connection must be \"Reset\" or \"Hang\"."))
            })
            .transpose()?;
        if connection.is_some() && status.is_some() {
            return Err(InputError::new(
                "A fault has a Status to answer with or a Connection to drop, not both.",
            ));
        }
        let retry_after_seconds = match obj.get("RetryAfterSeconds") {
            None => None,
            Some(_) if !matches!(status, Some(429 | 503)) => {
                return Err(InputError::new(
                    "RetryAfterSeconds is for a fault with Status 429 or 503 only.",
                ));
            }
            Some(_) => obj.optional_integer("RetryAfterSeconds", 1, MAX_RETRY_AFTER_SECONDS)?,
        };
        let path = obj.path("Match");
        let matches = match obj.object_at("Match", &path)? {
            None => None,
            Some(m) => Some(Match {
                message_thread_id: m.required_uuid("MessageThreadId")?,
            }),
        };
        if matches.is_some() && operation == Target::One(Operation::ThreadsAdd) {
            return Err(InputError::new(
                "Match names a thread, and messageThreads/add names none: no request would match.",
            ));
        }
        let delay_ms = obj
            .optional_integer("DelayMs", 0, MAX_DELAY_MS)?
            .unwrap_or(0);
        let probability = match obj.get("Probability") {
            None => 1.0,
            Some(value) => value
                .as_f64()
                .filter(|p| *p > 0.0 && *p <= 1.0)
                .ok_or_else(|| {
                    InputError::new("Probability must be a number greater than 0 and at most 1.")
                })?,
        };
        // A fault acts before the operation unless told otherwise.
        let stage = match obj.optional_str("Stage")? {
            None => Stage::Before,
            Some(stage) => Stage::parse(stage)
                .ok_or_else(|| InputError::new("Stage must be \"Before\" or \"After\"."))?,
        };
        if status.is_none() && connection.is_none() && delay_ms == 0 {
            return Err(InputError::new(
                "A fault needs a Status to answer with, a Connection to drop, a DelayMs to wait, \
                 or a Status or Connection with a DelayMs.",
            ));
        }
        Ok(Self {
            operation,
            integration_id: obj.optional_uuid("IntegrationId")?,
            status,
            connection,
            matches,
            message,
            retry_after_seconds,
            delay_ms,
            probability,
            times: times(obj)?,
            stage,
            webhook: None,
            delay_seconds: None,
        })
    }
}

/// `Times`: a positive count, or no limit when absent.
fn times(obj: &Object<'_>) -> Input<Option<u32>> {
    match obj.get("Times") {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|t| *t >= 1)
            .and_then(|t| u32::try_from(t).ok())
            .map(Some)
            .ok_or_else(|| {
                InputError::new("Times must be a positive integer (omit it for no limit).")
            }),
    }
}

impl AddFault {
    /// A fault on the webhooks of one integration (or all).
    fn parse_webhook(obj: &Object<'_>) -> Input<Self> {
        if let Some(name) = REQUEST_ONLY.iter().find(|name| obj.get(name).is_some()) {
            return Err(InputError(format!(
                "{name} is for a fault on Connector API requests, not on webhooks."
            )));
        }
        let webhook = WebhookFault::parse(obj.required_str("Webhook")?).ok_or_else(|| {
            InputError::new("Webhook must be \"Duplicate\", \"Delay\" or \"Reorder\".")
        })?;
        let delay_seconds = obj.optional_integer("DelaySeconds", 1, MAX_DELAY_SECONDS)?;
        match (webhook, delay_seconds) {
            (WebhookFault::Delay, None) => {
                return Err(InputError::new(
                    "DelaySeconds is required: how long a Delay fault holds a delivery.",
                ));
            }
            (WebhookFault::Duplicate | WebhookFault::Reorder, Some(_)) => {
                return Err(InputError::new("DelaySeconds is for a Delay fault only."));
            }
            _ => {}
        }
        Ok(Self {
            operation: Target::Webhook,
            integration_id: obj.optional_uuid("IntegrationId")?,
            status: None,
            connection: None,
            matches: None,
            message: None,
            retry_after_seconds: None,
            delay_ms: 0,
            probability: 1.0,
            times: times(obj)?,
            stage: Stage::Before,
            webhook: Some(webhook),
            delay_seconds,
        })
    }
}

impl AddFault {
    pub fn into_fault(self, id: Uuid, created_ms: i64) -> Fault {
        Fault {
            id,
            operation: self.operation,
            integration_id: self.integration_id,
            status: self.status,
            connection: self.connection,
            matches: self.matches,
            message: self.message,
            retry_after_seconds: self.retry_after_seconds,
            delay_ms: self.delay_ms,
            probability: self.probability,
            times: self.times,
            remaining: self.times,
            stage: self.stage,
            webhook: self.webhook,
            delay_seconds: self.delay_seconds,
            created_ms,
        }
    }
}

/// `faults/delete`: which faults go (all when `FaultIds` is absent).
#[derive(Debug, Clone)]
pub struct DeleteFaults {
    pub ids: Option<Vec<Uuid>>,
}

impl Request for DeleteFaults {
    const SHAPE: Shape = Shape::Object(&[("FaultIds", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            ids: obj.optional_uuid_list("FaultIds", MAX_FILTER_IDS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(body: serde_json::Value) -> Input<AddFault> {
        AddFault::parse(&Object::root(&body).unwrap())
    }

    #[test]
    fn a_fault_names_an_operation_a_stage_and_something_to_do() {
        let ok =
            parse(json!({"Operation": "messages/add", "Status": 503, "Stage": "After"})).unwrap();
        assert_eq!((ok.probability, ok.times, ok.delay_ms), (1.0, None, 0));
        for (bad, message) in [
            (
                json!({"Operation": "threads/add", "Status": 500, "Stage": "Before"}),
                "Operation must be one of",
            ),
            (
                json!({"Operation": "*", "Status": 399, "Stage": "Before"}),
                "Status must be",
            ),
            (
                json!({"Operation": "*", "Status": 500, "Stage": "During"}),
                "Stage must be",
            ),
            (
                json!({"Operation": "*", "Stage": "Before"}),
                "needs a Status",
            ),
            (
                json!({"Operation": "*", "Status": 500, "RetryAfterSeconds": 5, "Stage": "Before"}),
                "429 or 503 only",
            ),
            (
                json!({"Operation": "*", "DelayMs": 30_001, "Stage": "Before"}),
                "DelayMs must be",
            ),
            (
                json!({"Operation": "*", "Status": 500, "Probability": 0, "Stage": "Before"}),
                "Probability must be",
            ),
            (
                json!({"Operation": "*", "Status": 500, "Probability": 1.5, "Stage": "Before"}),
                "Probability must be",
            ),
            (
                json!({"Operation": "*", "Status": 500, "Times": 0, "Stage": "Before"}),
                "Times must be",
            ),
        ] {
            let error = parse(bad.clone()).unwrap_err().0;
            assert!(error.contains(message), "{bad}: {error}");
        }
    }

    #[test]
    fn stage_defaults_to_before_and_retry_after_goes_with_429_and_503() {
        let fault =
            parse(json!({"Operation": "*", "Status": 503, "RetryAfterSeconds": 7})).unwrap();
        assert_eq!(
            (fault.stage, fault.retry_after_seconds),
            (Stage::Before, Some(7))
        );
        let error = parse(json!({"Operation": "*", "Status": 500, "RetryAfterSeconds": 7}))
            .unwrap_err()
            .0;
        assert!(error.contains("429 or 503"), "{error}");
    }

    #[test]
    fn a_connection_fault_drops_instead_of_answering() {
        let reset = parse(json!({"Operation": "*", "Connection": "Reset"})).unwrap();
        assert_eq!(
            (reset.connection, reset.status),
            (Some(Connection::Reset), None)
        );
        for (bad, message) in [
            (
                json!({"Operation": "*", "Connection": "Close"}),
                "Connection must be",
            ),
            (
                json!({"Operation": "*", "Connection": "Hang", "Status": 500}),
                "not both",
            ),
        ] {
            let error = parse(bad.clone()).unwrap_err().0;
            assert!(error.contains(message), "{bad}: {error}");
        }
    }

    #[test]
    fn a_fault_applies_to_its_operation_integration_stage_and_thread_while_it_has_uses() {
        let integration = Uuid::new_v4();
        let thread = Uuid::new_v4();
        let mut fault = parse(json!({
            "Operation": "messages/add", "IntegrationId": integration,
            "Status": 500, "Times": 1, "Stage": "Before"
        }))
        .unwrap()
        .into_fault(Uuid::new_v4(), 0);
        let aimed = |operation, integration, threads| Aimed {
            operation,
            integration,
            threads,
        };
        let add = aimed(Operation::MessagesAdd, integration, &[]);
        assert!(fault.applies(&add, Stage::Before));
        assert!(!fault.applies(&add, Stage::After));
        assert!(!fault.applies(
            &aimed(Operation::MessagesGetAll, integration, &[]),
            Stage::Before
        ));
        assert!(!fault.applies(
            &aimed(Operation::MessagesAdd, Uuid::new_v4(), &[]),
            Stage::Before
        ));
        fault.matches = Some(Match {
            message_thread_id: thread,
        });
        assert!(!fault.applies(&add, Stage::Before), "names no thread");
        let named = [Uuid::new_v4(), thread];
        assert!(fault.applies(
            &aimed(Operation::MessagesAdd, integration, &named),
            Stage::Before
        ));
        fault.matches = None;
        fault.remaining = Some(0);
        assert!(!fault.applies(&add, Stage::Before));
        fault.operation = Target::Any;
        fault.remaining = None;
        assert!(fault.applies(
            &aimed(Operation::ThreadsGetAll, integration, &[]),
            Stage::Before
        ));
    }
}
