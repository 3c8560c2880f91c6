//! Faults: failures a tester asks switchboard to answer with, the way the real
//! API fails (SPEC §16.5), and the requests that manage them.

use serde::Serialize;
use uuid::Uuid;

use super::Request;
use super::fields::{Input, InputError, Object};
use super::thread::MAX_FILTER_IDS;
use crate::operations::{Api, Operation};

/// What a fault acts on: one Connector API operation, or any of them (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Any,
    One(Operation),
}

impl Target {
    /// The name a fault is given and shown with.
    pub fn name(self) -> &'static str {
        match self {
            Self::Any => "*",
            Self::One(op) => op.name(),
        }
    }

    /// A target by its name: an operation of the Connector API, or `*`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "*" => Some(Self::Any),
            name => Operation::named(Api::Connector, name).map(Self::One),
        }
    }

    /// Every name a fault accepts.
    pub fn names() -> Vec<&'static str> {
        let mut names: Vec<&str> = Operation::connector().map(Operation::name).collect();
        names.push("*");
        names
    }

    fn covers(self, op: Operation) -> bool {
        self == Self::Any || self == Self::One(op)
    }
}

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

/// A fault as it is kept and shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fault {
    pub id: Uuid,
    pub operation: Target,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    /// How many of `times` are left (`None`: unlimited).
    pub remaining: Option<u32>,
    pub stage: Stage,
    /// When it was added, in Unix milliseconds (not shown).
    #[serde(skip)]
    pub created_ms: i64,
}

impl Fault {
    /// Whether the fault is for a request of `integration` to `operation`, at
    /// `stage`, and has uses left as far as this node knows.
    pub fn applies(&self, operation: Operation, integration: Uuid, stage: Stage) -> bool {
        self.stage == stage
            && self.operation.covers(operation)
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

/// `faults/add`: a new fault, checked.
#[derive(Debug, Clone)]
pub struct AddFault {
    pub operation: Target,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    pub stage: Stage,
}

impl Request for AddFault {
    fn parse(obj: &Object<'_>) -> Input<Self> {
        let operation = Target::parse(obj.required_str("Operation")?).ok_or_else(|| {
            let names: Vec<String> = Operation::connector()
                .map(|op| format!("\"{}\"", op.name()))
                .collect();
            InputError(format!(
                "Operation must be one of {} or \"*\" (any of them).",
                names.join(", ")
            ))
        })?;
        let status = obj
            .optional_integer("Status", 400, 599)?
            .and_then(|s| u16::try_from(s).ok());
        let message = obj.optional_str("Message")?.map(str::to_owned);
        if message.as_deref().is_some_and(|m| m.chars().count() > 1000) {
            return Err(InputError::new("Message must be at most 1000 characters."));
        }
        let retry_after_seconds = match obj.get("RetryAfterSeconds") {
            None => None,
            Some(_) if status != Some(429) => {
                return Err(InputError::new(
                    "RetryAfterSeconds is for a fault with Status 429 only.",
                ));
            }
            Some(_) => obj.optional_integer("RetryAfterSeconds", 1, MAX_RETRY_AFTER_SECONDS)?,
        };
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
        let times = match obj.get("Times") {
            None => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .filter(|t| *t >= 1)
                    .and_then(|t| u32::try_from(t).ok())
                    .ok_or_else(|| {
                        InputError::new("Times must be a positive integer (omit it for no limit).")
                    })?,
            ),
        };
        let stage = Stage::parse(obj.required_str("Stage")?)
            .ok_or_else(|| InputError::new("Stage must be \"Before\" or \"After\"."))?;
        if status.is_none() && delay_ms == 0 {
            return Err(InputError::new(
                "A fault needs a Status to answer with, a DelayMs to wait, or both.",
            ));
        }
        Ok(Self {
            operation,
            integration_id: obj.optional_uuid("IntegrationId")?,
            status,
            message,
            retry_after_seconds,
            delay_ms,
            probability,
            times,
            stage,
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
            message: self.message,
            retry_after_seconds: self.retry_after_seconds,
            delay_ms: self.delay_ms,
            probability: self.probability,
            times: self.times,
            remaining: self.times,
            stage: self.stage,
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
                "429 only",
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
    fn a_fault_applies_to_its_operation_integration_and_stage_while_it_has_uses() {
        let integration = Uuid::new_v4();
        let mut fault = parse(json!({
            "Operation": "messages/add", "IntegrationId": integration,
            "Status": 500, "Times": 1, "Stage": "Before"
        }))
        .unwrap()
        .into_fault(Uuid::new_v4(), 0);
        assert!(fault.applies(Operation::MessagesAdd, integration, Stage::Before));
        assert!(!fault.applies(Operation::MessagesAdd, integration, Stage::After));
        assert!(!fault.applies(Operation::MessagesGetAll, integration, Stage::Before));
        assert!(!fault.applies(Operation::MessagesAdd, Uuid::new_v4(), Stage::Before));
        fault.remaining = Some(0);
        assert!(!fault.applies(Operation::MessagesAdd, integration, Stage::Before));
        fault.operation = Target::Any;
        fault.remaining = None;
        assert!(fault.applies(Operation::ThreadsGetAll, integration, Stage::Before));
    }
}
