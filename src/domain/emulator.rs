//! The requests of the emulator tools: the manual clock and reset.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Request;
use super::fields::{Input, InputError, LIMITATION, Object, Shape};
use super::paging::Limitation;
use super::thread::MAX_FILTER_IDS;
use super::time::parse_datetime;
use super::webhook::DeliveryState;
use crate::clock::{EARLIEST_MS, LATEST_MS};
use crate::operations::{Api, Operation};

/// The most `clock/advance` moves at once: two years.
pub const MAX_ADVANCE_SECONDS: u32 = 63_072_000;

/// A body that carries nothing (`clock/get`).
#[derive(Debug, Clone, Copy)]
pub struct NoParameters;

impl Request for NoParameters {
    const SHAPE: Shape = Shape::Object(&[]);

    fn parse(_: &Object<'_>) -> Input<Self> {
        Ok(Self)
    }
}

/// `clock/set`: where the manual clock goes.
#[derive(Debug, Clone, Copy)]
pub struct SetClock {
    pub now: DateTime<Utc>,
}

impl Request for SetClock {
    const SHAPE: Shape = Shape::Object(&[("NowUtc", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let text = obj.required_str("NowUtc")?;
        let now = parse_datetime(text).ok_or_else(|| {
            InputError::new(
                "NowUtc is not a valid date and time; use ISO 8601, for example 2026-03-10T12:00:00Z.",
            )
        })?;
        if !(EARLIEST_MS..=LATEST_MS).contains(&now.timestamp_millis()) {
            return Err(InputError::new(
                "NowUtc must be between 2000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.",
            ));
        }
        Ok(Self { now })
    }
}

/// `clock/advance`: how far the manual clock moves.
#[derive(Debug, Clone, Copy)]
pub struct AdvanceClock {
    pub seconds: i64,
}

impl Request for AdvanceClock {
    const SHAPE: Shape = Shape::Object(&[("Seconds", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let seconds = obj.required_integer("Seconds", 1, MAX_ADVANCE_SECONDS)?;
        Ok(Self {
            seconds: seconds.into(),
        })
    }
}

/// `reset`: which content goes (everything when neither list is given), and
/// whether every fault and every node's request log go too.
#[derive(Debug, Clone)]
pub struct Reset {
    pub integration_ids: Option<Vec<Uuid>>,
    pub enterprise_ids: Option<Vec<Uuid>>,
    pub faults: bool,
    pub request_log: bool,
}

impl Request for Reset {
    const SHAPE: Shape = Shape::Object(&[
        ("IntegrationIds", Shape::Value),
        ("EnterpriseIds", Shape::Value),
        ("Faults", Shape::Value),
        ("RequestLog", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            integration_ids: obj.optional_uuid_list("IntegrationIds", MAX_FILTER_IDS)?,
            enterprise_ids: obj.optional_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?,
            faults: obj.optional_bool("Faults")?.unwrap_or(false),
            request_log: obj.optional_bool("RequestLog")?.unwrap_or(false),
        })
    }
}

/// `webhooks/getAll`: which deliveries, newest first.
#[derive(Debug, Clone)]
pub struct DeliveryFilter {
    pub integration_ids: Option<Vec<Uuid>>,
    pub states: Option<Vec<DeliveryState>>,
    pub limitation: Limitation,
}

impl Request for DeliveryFilter {
    const SHAPE: Shape = Shape::Object(&[
        ("IntegrationIds", Shape::Value),
        ("States", Shape::Value),
        ("Limitation", LIMITATION),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let states = match obj.optional_array("States", 3)? {
            None => None,
            Some(values) => Some(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str().and_then(DeliveryState::parse).ok_or_else(|| {
                            InputError(format!(
                                "States[{i}] must be \"Pending\", \"Delivered\" or \"Failed\"."
                            ))
                        })
                    })
                    .collect::<Input<Vec<_>>>()?,
            ),
        };
        Ok(Self {
            integration_ids: obj.optional_uuid_list("IntegrationIds", MAX_FILTER_IDS)?,
            states,
            limitation: Limitation::parse(obj)?,
        })
    }
}

/// `requests/getAll`: which logged requests, newest first.
#[derive(Debug, Clone)]
pub struct RequestFilter {
    pub integration_ids: Option<Vec<Uuid>>,
    pub operations: Option<Vec<Operation>>,
    pub statuses: Option<Vec<u16>>,
    /// Only entries after this one of the node's sequence.
    pub after_sequence: Option<u64>,
    pub limitation: Limitation,
}

impl Request for RequestFilter {
    const SHAPE: Shape = Shape::Object(&[
        ("IntegrationIds", Shape::Value),
        ("Operations", Shape::Value),
        ("Statuses", Shape::Value),
        ("AfterSequence", Shape::Value),
        ("Limitation", LIMITATION),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let operations = obj
            .optional_array("Operations", MAX_FILTER_IDS)?
            .map(|values| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str()
                            .and_then(|name| Operation::named(Api::Connector, name))
                            .ok_or_else(|| {
                                let names: Vec<&str> =
                                    Operation::connector().map(Operation::name).collect();
                                InputError(format!(
                                    "Operations[{i}] must be the name of a Connector API \
                                     operation: {}.",
                                    names.join(", ")
                                ))
                            })
                    })
                    .collect::<Input<Vec<_>>>()
            })
            .transpose()?;
        let statuses = obj
            .optional_array("Statuses", MAX_FILTER_IDS)?
            .map(|values| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_u64()
                            .filter(|s| (100..=599).contains(s))
                            .map(|s| s as u16)
                            .ok_or_else(|| {
                                InputError(format!(
                                    "Statuses[{i}] must be an HTTP status between 100 and 599."
                                ))
                            })
                    })
                    .collect::<Input<Vec<_>>>()
            })
            .transpose()?;
        Ok(Self {
            integration_ids: obj.optional_uuid_list("IntegrationIds", MAX_FILTER_IDS)?,
            operations,
            statuses,
            after_sequence: obj.optional_sequence("AfterSequence")?,
            limitation: Limitation::parse(obj)?,
        })
    }
}

/// `webhooks/retry`: the deliveries to send again now.
#[derive(Debug, Clone)]
pub struct ResendDeliveries {
    pub ids: Vec<Uuid>,
}

impl Request for ResendDeliveries {
    const SHAPE: Shape = Shape::Object(&[("WebhookDeliveryIds", Shape::Value)]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            ids: obj.required_uuid_list("WebhookDeliveryIds", MAX_FILTER_IDS)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse<T>(body: serde_json::Value, parse: fn(&Object<'_>) -> Input<T>) -> Input<T> {
        parse(&Object::root(&body).unwrap())
    }

    #[test]
    fn advance_takes_1_second_to_2_years() {
        let message = "Seconds must be an integer between 1 and 63072000.";
        for bad in [
            json!(0),
            json!(-5),
            json!(63_072_001),
            json!(1.5),
            json!("60"),
        ] {
            let error = parse(json!({ "Seconds": bad }), AdvanceClock::parse).unwrap_err();
            assert_eq!(error.0, message, "{bad}");
        }
        let most = parse(json!({ "Seconds": 63_072_000 }), AdvanceClock::parse).unwrap();
        assert_eq!(most.seconds, i64::from(MAX_ADVANCE_SECONDS));
    }

    #[test]
    fn set_takes_a_date_and_time() {
        assert!(
            parse(
                json!({ "NowUtc": "2026-03-10T12:00:00+01:00" }),
                SetClock::parse
            )
            .is_ok()
        );
        assert!(parse(json!({ "NowUtc": "tomorrow" }), SetClock::parse).is_err());
        assert_eq!(
            parse(json!({}), SetClock::parse).unwrap_err().0,
            "NowUtc is required."
        );
    }
}
