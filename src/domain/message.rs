//! Messages: what the guest app and the staff add to threads.

use serde::Serialize;
use uuid::Uuid;

use super::Request;
use super::fields::{
    INTERVAL, Input, InputError, LIMITATION, Object, Shape, indexed_path, item_object,
};
use super::json::{self, PageItem, WriteJson};
use super::paging::Limitation;
use super::text::Text;
use super::thread::MAX_FILTER_IDS;
use super::time::{TimeInterval, Timestamp};

/// A batch of `messages/add` holds at most this many messages.
pub const MAX_BATCH: usize = 1000;
/// Message interval filters span at most this many calendar months.
pub const MESSAGE_INTERVAL_MONTHS: u32 = 1;

/// A message's `Text`: 1 to 10,000 characters, not only whitespace.
pub type MessageText = Text<10_000>;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sender {
    /// The integration (the guest's app).
    Application,
    /// The property's staff.
    Enterprise,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "Application",
            Self::Enterprise => "Enterprise",
        }
    }

    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "Application" => Some(Self::Application),
            "Enterprise" => Some(Self::Enterprise),
            _ => None,
        }
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub text: String,
    pub sender: Sender,
    pub created: Timestamp,
}

/// The name of a list of messages in the Connector API's answers.
pub const MESSAGES: &str = "Messages";

/// A message as responses show it.
pub struct MessageView<'a> {
    pub id: Uuid,
    pub message_thread_id: Uuid,
    pub text: &'a str,
    pub sender: Sender,
    pub created_utc: Timestamp,
}

impl WriteJson for MessageView<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        json::Object::begin(out)
            .id("Id", self.id)
            .id("MessageThreadId", self.message_thread_id)
            .text("Text", self.text)
            // A coproduct whose `Value` is always `null`, as in the vendor's API.
            .value("Sender", |out| {
                json::Object::begin(out)
                    .text("Discriminator", self.sender.as_str())
                    .null("Value")
                    .end();
            })
            .time("CreatedUtc", self.created_utc)
            .end();
    }
}

impl MessageView<'_> {
    /// The message, its text copied.
    pub fn to_message(&self) -> Message {
        Message {
            id: self.id,
            thread_id: self.message_thread_id,
            text: self.text.to_owned(),
            sender: self.sender,
            created: self.created_utc,
        }
    }
}

impl PageItem for MessageView<'_> {
    fn id(&self) -> Uuid {
        self.id
    }
}

impl<'a> From<&'a Message> for MessageView<'a> {
    fn from(m: &'a Message) -> Self {
        Self {
            id: m.id,
            message_thread_id: m.thread_id,
            text: &m.text,
            sender: m.sender,
            created_utc: m.created,
        }
    }
}

/// One item of `messages/add`, checked.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub thread_id: Uuid,
    pub text: MessageText,
    pub identifier: Option<String>,
}

/// The body of `messages/add`: 1 to 1000 messages, every one valid.
#[derive(Debug, Clone)]
pub struct AddMessages(pub Vec<NewMessage>);

impl Request for AddMessages {
    const SHAPE: Shape = Shape::Object(&[(
        "Messages",
        Shape::List(&Shape::Object(&[
            ("MessageThreadId", Shape::Value),
            ("Text", Shape::Value),
            ("Identifier", Shape::Value),
        ])),
    )]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        let items = obj.required_array("Messages", MAX_BATCH)?;
        items
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let path = indexed_path("Messages", index);
                let item = item_object(value, &path)?;
                let identifier = item.optional_str("Identifier")?;
                if identifier.is_some_and(|i| i.chars().count() > 255) {
                    return Err(InputError(format!(
                        "{}.Identifier must be at most 255 characters long.",
                        path.as_str()
                    )));
                }
                Ok(NewMessage {
                    thread_id: item.required_uuid("MessageThreadId")?,
                    text: MessageText::parse(&item, "Text")?,
                    identifier: identifier.map(str::to_owned),
                })
            })
            .collect::<Input<Vec<_>>>()
            .map(Self)
    }
}

/// The body of `messages/getAll`, checked.
#[derive(Debug, Clone)]
pub struct MessageFilter {
    pub thread_ids: Vec<Uuid>,
    pub enterprise_ids: Option<Vec<Uuid>>,
    pub created: Option<TimeInterval>,
    pub limitation: Limitation,
}

impl Request for MessageFilter {
    const SHAPE: Shape = Shape::Object(&[
        ("MessageThreadIds", Shape::Value),
        ("EnterpriseIds", Shape::Value),
        ("CreatedUtc", INTERVAL),
        ("Limitation", LIMITATION),
    ]);

    fn parse(obj: &Object<'_>) -> Input<Self> {
        Ok(Self {
            thread_ids: obj.required_uuid_list("MessageThreadIds", MAX_FILTER_IDS)?,
            enterprise_ids: obj.optional_uuid_list("EnterpriseIds", MAX_FILTER_IDS)?,
            created: TimeInterval::parse_optional(obj, "CreatedUtc", MESSAGE_INTERVAL_MONTHS)?,
            limitation: Limitation::parse(obj)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(messages: serde_json::Value) -> Input<AddMessages> {
        let body = json!({ "Messages": messages });
        AddMessages::parse(&Object::root(&body).unwrap())
    }

    #[test]
    fn errors_name_the_index_of_the_first_bad_item() {
        let thread = Uuid::new_v4().to_string();
        let good = json!({"MessageThreadId": thread, "Text": "hi"});
        let err = parse(json!([good, good, {"MessageThreadId": thread, "Text": " "}])).unwrap_err();
        assert_eq!(err.0, "Messages[2].Text must not be only whitespace.");
        let err = parse(json!([good, "x"])).unwrap_err();
        assert_eq!(err.0, "Messages[1] must be an object.");
        let err = parse(json!([{"Text": "hi"}])).unwrap_err();
        assert_eq!(err.0, "Messages[0].MessageThreadId is required.");
    }

    #[test]
    fn identifier_is_optional_and_at_most_255_characters() {
        let thread = Uuid::new_v4().to_string();
        let ok =
            parse(json!([{"MessageThreadId": thread, "Text": "a", "Identifier": "ž".repeat(255)}]));
        assert!(ok.is_ok());
        let err =
            parse(json!([{"MessageThreadId": thread, "Text": "a", "Identifier": "ž".repeat(256)}]));
        assert_eq!(
            err.unwrap_err().0,
            "Messages[0].Identifier must be at most 255 characters long."
        );
    }

    #[test]
    fn a_message_shows_its_sender_as_a_coproduct() {
        let message = Message {
            id: Uuid::nil(),
            thread_id: Uuid::nil(),
            text: "Hello".into(),
            sender: Sender::Enterprise,
            created: Timestamp::from_unix(0),
        };
        let mut out = Vec::new();
        MessageView::from(&message).write_json(&mut out);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&out).unwrap(),
            json!({
                "Id": Uuid::nil(),
                "MessageThreadId": Uuid::nil(),
                "Text": "Hello",
                "Sender": {"Discriminator": "Enterprise", "Value": null},
                "CreatedUtc": "1970-01-01T00:00:00Z",
            })
        );
    }
}
