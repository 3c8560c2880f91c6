//! Message threads: the requests that create and list them, and what
//! a response shows of one.

use uuid::Uuid;

use super::Request;
use super::fields::{INTERVAL, Input, InputError, LIMITATION, Object, Shape};
use super::json::{self, PageItem, WriteJson};
use super::paging::Limitation;
use super::text::ShortText;
use super::time::{TimeInterval, Timestamp};

/// Filters given as arrays hold at most this many items.
pub const MAX_FILTER_IDS: usize = 1000;
/// Thread interval filters span at most this many calendar months.
pub const THREAD_INTERVAL_MONTHS: u32 = 3;

/// A stored thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub original_sender: String,
    pub subject: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    pub is_resolved: bool,
}

/// A thread as the Connector API shows it.
pub struct ThreadView<'a> {
    pub id: Uuid,
    pub original_sender: &'a str,
    pub subject: &'a str,
    pub created_utc: Timestamp,
    pub updated_utc: Timestamp,
    pub is_resolved: bool,
}

impl<'a> From<&'a Thread> for ThreadView<'a> {
    fn from(t: &'a Thread) -> Self {
        Self {
            id: t.id,
            original_sender: &t.original_sender,
            subject: &t.subject,
            created_utc: t.created,
            updated_utc: t.updated,
            is_resolved: t.is_resolved,
        }
    }
}

/// The name of a list of threads in the Connector API's answers.
pub const THREADS: &str = "MessageThreads";

/// A thread as the operator API shows it: with its enterprise and integration.
pub struct StaffThreadView<'a> {
    pub thread: ThreadView<'a>,
    pub enterprise_id: Uuid,
    pub integration_id: Uuid,
}

impl<'a> From<&'a Thread> for StaffThreadView<'a> {
    fn from(t: &'a Thread) -> Self {
        Self {
            thread: ThreadView::from(t),
            enterprise_id: t.enterprise_id,
            integration_id: t.integration_id,
        }
    }
}

impl ThreadView<'_> {
    /// The thread's JSON, with its enterprise and integration after its id
    /// when `owner` gives them (the operator's view).
    fn write_with(&self, out: &mut Vec<u8>, owner: Option<(Uuid, Uuid)>) {
        let mut object = json::Object::begin(out);
        object.id("Id", self.id);
        if let Some((enterprise_id, integration_id)) = owner {
            object
                .id("EnterpriseId", enterprise_id)
                .id("IntegrationId", integration_id);
        }
        object
            .text("OriginalSender", self.original_sender)
            .text("Subject", self.subject)
            .time("CreatedUtc", self.created_utc)
            .time("UpdatedUtc", self.updated_utc)
            .bool("IsResolved", self.is_resolved)
            .end();
    }
}

impl WriteJson for ThreadView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.write_with(out, None);
    }
}

impl PageItem for ThreadView<'_> {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl PageItem for StaffThreadView<'_> {
    fn id(&self) -> Uuid {
        self.thread.id
    }
}

impl WriteJson for StaffThreadView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        self.thread
            .write_with(out, Some((self.enterprise_id, self.integration_id)));
    }
}

/// The body of `messageThreads/add`, checked.
#[derive(Debug, Clone)]
pub struct AddThread {
    pub original_sender: ShortText,
    pub subject: ShortText,
    /// Extension of the vendor's API: which enterprise of a portfolio token.
    pub enterprise_id: Option<Uuid>,
}

impl Request for AddThread {
    const SHAPE: Shape = Shape::Object(&[
        ("OriginalSender", Shape::Value),
        ("Subject", Shape::Value),
        ("EnterpriseId", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            original_sender: ShortText::parse(obj, "OriginalSender")?,
            subject: ShortText::parse(obj, "Subject")?,
            enterprise_id: obj.optional_uuid("EnterpriseId")?,
        })
    }
}

/// The body of `messageThreads/getAll`, checked.
#[derive(Debug, Clone)]
pub struct ThreadFilter {
    pub enterprise_ids: Option<Vec<Uuid>>,
    pub thread_ids: Option<Vec<Uuid>>,
    pub created: Option<TimeInterval>,
    pub updated: Option<TimeInterval>,
    pub limitation: Limitation,
}

impl Request for ThreadFilter {
    const SHAPE: Shape = Shape::Object(&[
        ("EnterpriseIds", Shape::Value),
        ("MessageThreadIds", Shape::Value),
        ("CreatedUtc", INTERVAL),
        ("UpdatedUtc", INTERVAL),
        ("Limitation", LIMITATION),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let filter = Self {
            enterprise_ids: obj.optional_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?,
            thread_ids: obj.optional_uuid_list("MessageThreadIds", MAX_FILTER_IDS)?,
            created: TimeInterval::parse_optional(obj, "CreatedUtc", THREAD_INTERVAL_MONTHS)?,
            updated: TimeInterval::parse_optional(obj, "UpdatedUtc", THREAD_INTERVAL_MONTHS)?,
            limitation: Limitation::parse(obj)?,
        };
        if filter.thread_ids.is_none() && filter.created.is_none() && filter.updated.is_none() {
            return Err(InputError::new(
                "At least one of MessageThreadIds, CreatedUtc or UpdatedUtc is required.",
            ));
        }
        Ok(filter)
    }
}

/// The body of the operator's `messageThreads/getAll`, checked: every filter is
/// optional.
#[derive(Debug, Clone)]
pub struct StaffThreadFilter {
    pub enterprise_ids: Option<Vec<Uuid>>,
    pub integration_ids: Option<Vec<Uuid>>,
    pub is_resolved: Option<bool>,
    pub updated: Option<TimeInterval>,
    pub limitation: Limitation,
}

impl Request for StaffThreadFilter {
    const SHAPE: Shape = Shape::Object(&[
        ("EnterpriseIds", Shape::Value),
        ("IntegrationIds", Shape::Value),
        ("IsResolved", Shape::Value),
        ("UpdatedUtc", INTERVAL),
        ("Limitation", LIMITATION),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            enterprise_ids: obj.optional_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?,
            integration_ids: obj.optional_uuid_list("IntegrationIds", MAX_FILTER_IDS)?,
            is_resolved: obj.optional_bool("IsResolved")?,
            updated: TimeInterval::parse_optional(obj, "UpdatedUtc", THREAD_INTERVAL_MONTHS)?,
            limitation: Limitation::parse(obj)?,
        })
    }
}

/// The body of the operator's `messageThreads/update`, checked.
#[derive(Debug, Clone, Copy)]
pub struct UpdateThread {
    pub thread_id: Uuid,
    pub is_resolved: bool,
}

impl Request for UpdateThread {
    const SHAPE: Shape = Shape::Object(&[
        ("MessageThreadId", Shape::Value),
        ("IsResolved", Shape::Value),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            thread_id: obj.required_uuid("MessageThreadId")?,
            is_resolved: obj.required_bool("IsResolved")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn get_all_needs_one_of_ids_created_or_updated() {
        let body = json!({"EnterpriseIds": ["3fa85f64-5717-4562-b3fc-2c963f66afa6"], "Limitation": {"Count": 1}});
        assert_eq!(
            ThreadFilter::parse(&Object::root(&body).unwrap())
                .unwrap_err()
                .0,
            "At least one of MessageThreadIds, CreatedUtc or UpdatedUtc is required."
        );
    }

    #[test]
    fn view_has_exactly_the_documented_properties() {
        let thread = Thread {
            id: Uuid::nil(),
            integration_id: Uuid::nil(),
            enterprise_id: Uuid::nil(),
            original_sender: "John Doe".into(),
            subject: "Example subject".into(),
            created: Timestamp::from_unix(0),
            updated: Timestamp::from_unix(1),
            is_resolved: false,
        };
        let written = |view: &dyn WriteJson| {
            let mut out = Vec::new();
            view.write_json(&mut out);
            serde_json::from_slice::<serde_json::Value>(&out).unwrap()
        };
        let connector = json!({
            "Id": "00000000-0000-0000-0000-000000000000",
            "OriginalSender": "John Doe",
            "Subject": "Example subject",
            "CreatedUtc": "1970-01-01T00:00:00Z",
            "UpdatedUtc": "1970-01-01T00:00:01Z",
            "IsResolved": false,
        });
        assert_eq!(written(&ThreadView::from(&thread)), connector);
        let mut staff = connector;
        staff["EnterpriseId"] = json!(Uuid::nil());
        staff["IntegrationId"] = json!(Uuid::nil());
        assert_eq!(written(&StaffThreadView::from(&thread)), staff);
    }
}
