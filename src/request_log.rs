//! The request log of a node (SPEC §16.4): its last N Connector API requests,
//! in memory, for a tester to see what their integration sent and got.
//!
//! Tokens never get in: a request's body is kept only as the JSON the server
//! parsed, with the value of every `ClientToken` and `AccessToken` property,
//! at any depth, replaced by `"***"` before it is written out; a body that was
//! not JSON is not kept at all. Bodies are cut at [`BODY_KEPT`] bytes.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::text::utf8_prefix;

/// How much of a body the log keeps.
pub const BODY_KEPT: usize = 4096;
/// What ends a body that was cut.
pub const CUT_MARKER: &str = "…(cut at 4 KiB)";
/// The log's default length.
pub const DEFAULT_LENGTH: usize = 1000;

/// What stands in place of a token.
const HIDDEN: &str = "***";

/// One logged request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Logged {
    pub request_id: Uuid,
    /// UTC, to the millisecond, on the clock the server reads.
    pub time_utc: String,
    /// The operation's name, such as `messages/add`.
    pub operation: String,
    /// `None` when authentication failed (or never ran).
    pub integration_id: Option<Uuid>,
    pub status: u16,
    /// Milliseconds, to the microsecond.
    pub duration_ms: f64,
    pub request: Option<String>,
    pub response: Option<String>,
    pub fault_id: Option<Uuid>,
}

/// Which logged requests a page holds: newest first, after `after`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub integrations: Option<Vec<Uuid>>,
    pub operations: Option<Vec<String>>,
    pub statuses: Option<Vec<u16>>,
    pub count: usize,
    pub after: Option<Uuid>,
}

/// The cursor names no request this node still has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCursor;

pub struct RequestLog {
    length: usize,
    entries: Mutex<VecDeque<Logged>>,
}

impl RequestLog {
    /// A log of the last `length` requests; 0 keeps none.
    pub fn new(length: usize) -> Self {
        Self {
            length,
            entries: Mutex::new(VecDeque::with_capacity(length.min(DEFAULT_LENGTH))),
        }
    }

    pub fn is_on(&self) -> bool {
        self.length > 0
    }

    pub fn push(&self, logged: Logged) {
        if !self.is_on() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() == self.length {
            entries.pop_front();
        }
        entries.push_back(logged);
    }

    /// A page of the log, newest first.
    pub fn page(&self, filter: &Filter) -> Result<Vec<Logged>, UnknownCursor> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let newest_first = entries.iter().rev();
        let mut older: Box<dyn Iterator<Item = &Logged>> = Box::new(newest_first);
        if let Some(after) = filter.after {
            let position = entries
                .iter()
                .rev()
                .position(|l| l.request_id == after)
                .ok_or(UnknownCursor)?;
            older = Box::new(entries.iter().rev().skip(position + 1));
        }
        Ok(older
            .filter(|l| {
                filter
                    .integrations
                    .as_ref()
                    .is_none_or(|ids| l.integration_id.is_some_and(|id| ids.contains(&id)))
                    && filter
                        .operations
                        .as_ref()
                        .is_none_or(|ops| ops.contains(&l.operation))
                    && filter
                        .statuses
                        .as_ref()
                        .is_none_or(|statuses| statuses.contains(&l.status))
            })
            .take(filter.count)
            .cloned()
            .collect())
    }
}

/// A request body as the log keeps it: tokens hidden, cut at [`BODY_KEPT`].
/// It is written straight from the parsed body, and writing stops once there
/// is enough, so a large body costs no more than a small one.
pub fn request_text(body: &Value) -> String {
    let mut out = Bounded::default();
    // An error here is the writer being full (or a body that cannot be
    // written, which a parsed one always can).
    let _ = serde_json::to_writer(&mut out, &Hidden(body));
    let mut bytes = out.bytes;
    if !out.full {
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    bytes.truncate(BODY_KEPT);
    // The cut may fall inside a character: keep what is whole before it.
    format!("{}{CUT_MARKER}", utf8_prefix(&bytes))
}

/// A JSON value written with every token replaced by [`HIDDEN`].
struct Hidden<'a>(&'a Value);

impl Serialize for Hidden<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (name, value) in map {
                    if name == "ClientToken" || name == "AccessToken" {
                        out.serialize_entry(name, HIDDEN)?;
                    } else {
                        out.serialize_entry(name, &Hidden(value))?;
                    }
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Hidden(item))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Collects [`BODY_KEPT`] bytes, then refuses the rest.
#[derive(Default)]
struct Bounded {
    bytes: Vec<u8>,
    /// Whether something was refused: the body was longer.
    full: bool,
}

impl std::io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = BODY_KEPT.saturating_sub(self.bytes.len());
        if room == 0 && !data.is_empty() {
            self.full = true;
            return Err(std::io::Error::other("enough of the body is kept"));
        }
        let taken = data.len().min(room);
        self.bytes.extend_from_slice(&data[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A response body as the log keeps it (no answer holds a token).
pub fn response_text(body: &[u8]) -> String {
    let text = utf8_prefix(&body[..body.len().min(BODY_KEPT)]);
    if body.len() > BODY_KEPT {
        format!("{text}{CUT_MARKER}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn logged(n: u16) -> Logged {
        Logged {
            request_id: Uuid::from_u128(n.into()),
            time_utc: String::new(),
            operation: if n.is_multiple_of(2) {
                "messages/add"
            } else {
                "messages/getAll"
            }
            .to_owned(),
            integration_id: None,
            status: 200 + n % 3,
            duration_ms: 0.0,
            request: None,
            response: None,
            fault_id: None,
        }
    }

    #[test]
    fn tokens_are_hidden_wherever_they_are() {
        let body = json!({
            "ClientToken": "c", "AccessToken": "a", "Client": "app",
            "Messages": [{"Text": "AccessToken", "AccessToken": {"nested": "a"}}]
        });
        let text = request_text(&body);
        assert!(!text.contains("\"c\"") && !text.contains("\"a\"") && !text.contains("nested"));
        assert_eq!(text.matches(HIDDEN).count(), 3);
        assert!(text.contains("\"Client\":\"app\""));
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let text = request_text(&json!({ "Text": "é".repeat(5000) }));
        assert!(text.ends_with(CUT_MARKER));
        assert!(text.len() <= BODY_KEPT + CUT_MARKER.len());
        let answer = response_text("ü".repeat(3000).as_bytes());
        assert!(answer.ends_with(CUT_MARKER));
    }

    #[test]
    fn the_log_keeps_the_last_n_and_pages_newest_first() {
        let log = RequestLog::new(5);
        (1..=8).for_each(|n| log.push(logged(n)));
        let ids = |page: Vec<Logged>| -> Vec<u128> {
            page.iter().map(|l| l.request_id.as_u128()).collect()
        };
        let all = Filter {
            count: 10,
            ..Filter::default()
        };
        assert_eq!(ids(log.page(&all).unwrap()), vec![8, 7, 6, 5, 4]);
        let page = Filter {
            count: 2,
            after: Some(Uuid::from_u128(7)),
            ..Filter::default()
        };
        assert_eq!(ids(log.page(&page).unwrap()), vec![6, 5]);
        let adds = Filter {
            count: 10,
            operations: Some(vec!["messages/add".to_owned()]),
            ..Filter::default()
        };
        assert_eq!(ids(log.page(&adds).unwrap()), vec![8, 6, 4]);
        let gone = Filter {
            count: 1,
            after: Some(Uuid::from_u128(1)),
            ..Filter::default()
        };
        assert_eq!(log.page(&gone).unwrap_err(), UnknownCursor);
        let off = RequestLog::new(0);
        off.push(logged(1));
        assert_eq!(off.page(&all).unwrap().len(), 0);
    }
}
