//! The request log of a node (SPEC §16.4): its last N Connector API requests,
//! in memory, for a tester to see what their integration sent and got.
//!
//! Tokens never get in: a JSON body is kept as the server parsed it (its
//! properties in the order sent), with the value of every `ClientToken` and
//! `AccessToken` property, at any depth, replaced by `"***"`; a body that is
//! not JSON is kept as text with anything shaped like a token masked. Bodies
//! are cut at [`BODY_KEPT`] bytes: a cut JSON body is no JSON any more, so it
//! is shown as text (`RequestText`, `ResponseText`) with a marker.
//!
//! Each entry has a [`Sequence`](Logged::sequence) that grows by one on this
//! node, so that a test can take exactly the requests it made. Emptying the
//! log (`requests/delete`, `reset` with `RequestLog`) reaches every node
//! through the database: it records when the logs were emptied, and a node
//! forgets what it logged before that the next time its log is read.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::domain::fields::{self, Unknown};
use crate::domain::text::utf8_prefix;
use crate::http::CREDENTIALS;
use crate::operations::Operation;

/// How much of a body the log keeps.
pub const BODY_KEPT: usize = 4096;
/// What ends a body that was cut.
pub const CUT_MARKER: &str = "…(cut at 4 KiB)";
/// The log's default length.
pub const DEFAULT_LENGTH: usize = 1000;

/// What stands in place of a token.
const HIDDEN: &str = "***";

/// A body as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Body {
    /// No body (or none read).
    #[default]
    None,
    /// JSON, whole, tokens hidden.
    Json(String),
    /// Text that is not JSON (or JSON cut short), tokens masked.
    Text(String),
}

/// The headers a tester most needs to see (kept as they came: a header's
/// value is shared, not copied, until the log is read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pub content_type: Option<HeaderValue>,
    pub content_length: Option<HeaderValue>,
    pub user_agent: Option<HeaderValue>,
    pub prefer: Option<HeaderValue>,
    /// The answer's.
    pub retry_after: Option<HeaderValue>,
}

impl Serialize for Headers {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = |value: &Option<HeaderValue>| {
            value
                .as_ref()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let mut out = serializer.serialize_map(Some(5))?;
        out.serialize_entry("ContentType", &text(&self.content_type))?;
        out.serialize_entry("ContentLength", &text(&self.content_length))?;
        out.serialize_entry("UserAgent", &text(&self.user_agent))?;
        out.serialize_entry("Prefer", &text(&self.prefer))?;
        out.serialize_entry("RetryAfter", &text(&self.retry_after))?;
        out.end()
    }
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Logged {
    /// Grows by one per entry on this node (set when it is logged).
    pub sequence: u64,
    pub request_id: Uuid,
    /// UTC, to the millisecond, on the clock of the data.
    pub time_utc: String,
    /// When it was logged, in real time (what emptying the log compares).
    pub logged_ms: i64,
    pub operation: Operation,
    /// `None` when authentication failed (or never ran).
    pub integration_id: Option<Uuid>,
    /// `None` when a connection fault closed or held the connection.
    pub status: Option<u16>,
    /// Milliseconds, to the microsecond.
    pub duration_ms: f64,
    pub request: Body,
    pub response: Body,
    pub headers: Headers,
    pub fault_id: Option<Uuid>,
}

impl Logged {
    /// The properties the operation ignored: worked out when the log is
    /// read, from the body it keeps (so a body cut at 4 KiB has none), to
    /// cost a request nothing.
    pub fn warnings(&self) -> Vec<Unknown> {
        let Body::Json(text) = &self.request else {
            return Vec::new();
        };
        match serde_json::from_str::<Value>(text) {
            Ok(body) => fields::unknown(&body, self.operation.shape(), CREDENTIALS),
            Err(_) => Vec::new(),
        }
    }
}

impl Serialize for Logged {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_map(Some(15))?;
        out.serialize_entry("Sequence", &self.sequence)?;
        out.serialize_entry("RequestId", &self.request_id)?;
        out.serialize_entry("TimeUtc", &self.time_utc)?;
        out.serialize_entry("Operation", self.operation.name())?;
        out.serialize_entry("IntegrationId", &self.integration_id)?;
        out.serialize_entry("Status", &self.status)?;
        out.serialize_entry("DurationMs", &self.duration_ms)?;
        let (request, request_text) = shown(&self.request);
        out.serialize_entry("Request", &request)?;
        out.serialize_entry("RequestText", &request_text)?;
        let (response, response_text) = shown(&self.response);
        out.serialize_entry("Response", &response)?;
        out.serialize_entry("ResponseText", &response_text)?;
        out.serialize_entry("Headers", &self.headers)?;
        out.serialize_entry("Warnings", &self.warnings())?;
        out.serialize_entry("FaultId", &self.fault_id)?;
        out.end()
    }
}

/// A body as its JSON value or its text: one of the two, or neither.
fn shown(body: &Body) -> (Option<&RawValue>, Option<&str>) {
    match body {
        Body::None => (None, None),
        Body::Json(text) => match serde_json::from_str::<&RawValue>(text) {
            Ok(raw) => (Some(raw), None),
            Err(_) => (None, Some(text)),
        },
        Body::Text(text) => (None, Some(text)),
    }
}

/// Which logged requests a page holds: newest first, after `after` (an
/// entry's id) and after `after_sequence`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub integrations: Option<Vec<Uuid>>,
    pub operations: Option<Vec<Operation>>,
    pub statuses: Option<Vec<u16>>,
    pub after_sequence: Option<u64>,
    pub count: usize,
    pub after: Option<Uuid>,
}

/// The cursor names no request this node still has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCursor;

pub struct RequestLog {
    length: usize,
    next: AtomicU64,
    entries: Mutex<VecDeque<Logged>>,
}

impl RequestLog {
    /// A log of the last `length` requests; 0 keeps none.
    pub fn new(length: usize) -> Self {
        Self {
            length,
            next: AtomicU64::new(1),
            entries: Mutex::new(VecDeque::with_capacity(length.min(DEFAULT_LENGTH))),
        }
    }

    pub fn is_on(&self) -> bool {
        self.length > 0
    }

    /// Adds an entry, giving it the next sequence number.
    pub fn push(&self, mut logged: Logged) {
        if !self.is_on() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        logged.sequence = self.next.fetch_add(1, Ordering::Relaxed);
        if entries.len() == self.length {
            entries.pop_front();
        }
        entries.push_back(logged);
    }

    /// Forgets what was logged before `at_ms` (real time): some node emptied
    /// the logs then. What was logged in that very millisecond stays, as
    /// the order of two nodes' requests within it is unknown.
    pub fn forget_until(&self, at_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|l| l.logged_ms >= at_ms);
    }

    /// Forgets everything logged so far: this node emptied the logs.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// A page of the log, newest first.
    pub fn page(&self, filter: &Filter) -> Result<Vec<Logged>, UnknownCursor> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let skip = match filter.after {
            Some(after) => {
                entries
                    .iter()
                    .rev()
                    .position(|l| l.request_id == after)
                    .ok_or(UnknownCursor)?
                    + 1
            }
            None => 0,
        };
        Ok(entries
            .iter()
            .rev()
            .skip(skip)
            .take_while(|l| filter.after_sequence.is_none_or(|s| l.sequence > s))
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
                        .is_none_or(|statuses| l.status.is_some_and(|s| statuses.contains(&s)))
            })
            .take(filter.count)
            .cloned()
            .collect())
    }
}

/// A request body as the log keeps it: JSON with its tokens hidden, cut at
/// [`BODY_KEPT`]. It is written straight from the parsed body, and writing
/// stops once there is enough, so a large body costs no more than a small one.
pub fn request_json(body: &Value) -> Body {
    let mut out = Bounded::default();
    // An error here is the writer being full (or a body that cannot be
    // written, which a parsed one always can).
    let _ = serde_json::to_writer(&mut out, &Hidden(body));
    let mut bytes = out.bytes;
    if !out.full {
        return Body::Json(String::from_utf8_lossy(&bytes).into_owned());
    }
    bytes.truncate(BODY_KEPT);
    // The cut may fall inside a character: keep what is whole before it.
    Body::Text(format!("{}{CUT_MARKER}", utf8_prefix(&bytes)))
}

/// A request body that is not JSON, as the log keeps it: its start, with
/// anything shaped like a token masked.
pub fn request_text(bytes: &[u8]) -> Body {
    if bytes.is_empty() {
        return Body::None;
    }
    let text = utf8_prefix(&bytes[..bytes.len().min(BODY_KEPT)]);
    let masked = mask_tokens(&text);
    if bytes.len() > BODY_KEPT {
        Body::Text(format!("{masked}{CUT_MARKER}"))
    } else {
        Body::Text(masked)
    }
}

/// `text` with every run shaped like a token (long runs of hex digits and
/// hyphens, as the vendor's tokens are) and every value that follows a
/// `ClientToken` or `AccessToken` name replaced by `***`.
pub fn mask_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // A value after a token's name, quoted or not.
        if let Some(name_end) = token_name_at(&chars, i) {
            let mut j = name_end;
            out.extend(&chars[i..j]);
            while j < chars.len() && matches!(chars[j], '"' | '\'' | ':' | '=' | ' ' | '\t') {
                out.push(chars[j]);
                j += 1;
            }
            let value_end = chars[j..]
                .iter()
                .position(|c| matches!(c, '"' | '\'' | ',' | '}' | '&' | '\n' | '\r' | ' '))
                .map_or(chars.len(), |n| j + n);
            if value_end > j {
                out.push_str(HIDDEN);
            }
            i = value_end;
            continue;
        }
        let run = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit() || **c == '-')
            .count();
        let hex = chars[i..i + run]
            .iter()
            .filter(|c| c.is_ascii_hexdigit())
            .count();
        if run >= 24 && hex >= 20 {
            out.push_str(HIDDEN);
            i += run;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The end of a `ClientToken` or `AccessToken` name starting at `i`.
fn token_name_at(chars: &[char], i: usize) -> Option<usize> {
    ["ClientToken", "AccessToken"].iter().find_map(|name| {
        let end = i + name.len();
        (end <= chars.len() && chars[i..end].iter().copied().eq(name.chars())).then_some(end)
    })
}

/// A JSON value written with every token replaced by [`HIDDEN`].
struct Hidden<'a>(&'a Value);

impl Serialize for Hidden<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
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
pub fn response(body: &[u8]) -> Body {
    if body.is_empty() {
        return Body::None;
    }
    let text = utf8_prefix(&body[..body.len().min(BODY_KEPT)]);
    if body.len() > BODY_KEPT {
        Body::Text(format!("{text}{CUT_MARKER}"))
    } else {
        Body::Json(text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn logged(n: u16) -> Logged {
        Logged {
            sequence: 0,
            request_id: Uuid::from_u128(n.into()),
            time_utc: String::new(),
            logged_ms: i64::from(n),
            operation: if n.is_multiple_of(2) {
                Operation::MessagesAdd
            } else {
                Operation::MessagesGetAll
            },
            integration_id: None,
            status: Some(200 + n % 3),
            duration_ms: 0.0,
            request: Body::None,
            response: Body::None,
            headers: Headers::default(),
            fault_id: None,
        }
    }

    #[test]
    fn tokens_are_hidden_wherever_they_are_and_order_is_kept() {
        let body: Value = serde_json::from_str(
            r#"{"Zeta": 1, "ClientToken": "c", "AccessToken": "a", "Client": "app",
                "Messages": [{"Text": "AccessToken", "AccessToken": {"nested": "a"}}]}"#,
        )
        .unwrap();
        let Body::Json(text) = request_json(&body) else {
            panic!("JSON")
        };
        assert!(!text.contains("\"c\"") && !text.contains("\"a\"") && !text.contains("nested"));
        assert_eq!(text.matches(HIDDEN).count(), 3);
        assert!(text.starts_with("{\"Zeta\":1,\"ClientToken\""), "{text}");
    }

    #[test]
    fn text_that_is_not_json_has_its_tokens_masked() {
        let token = "C66EF7B239D24632943D115EDE9CB810-EA00F8FD8294692C940F6B5A8F9453D";
        let masked = mask_tokens(&format!(
            "{{ClientToken: {token}, \"AccessToken\": \"short-secret\", Id: 7f9325f6-ef44"
        ));
        assert!(
            !masked.contains(token) && !masked.contains("short-secret"),
            "{masked}"
        );
        assert!(
            masked.contains("Id: 7f9325f6-ef44"),
            "short ids stay: {masked}"
        );
        let Body::Text(kept) = request_text(format!("Text={token}").as_bytes()) else {
            panic!("text")
        };
        assert_eq!(kept, "Text=***");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let Body::Text(text) = request_json(&json!({ "Text": "é".repeat(5000) })) else {
            panic!("cut")
        };
        assert!(text.ends_with(CUT_MARKER));
        assert!(text.len() <= BODY_KEPT + CUT_MARKER.len());
        let Body::Text(answer) = response("ü".repeat(3000).as_bytes()) else {
            panic!("cut")
        };
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
            operations: Some(vec![Operation::MessagesAdd]),
            ..Filter::default()
        };
        assert_eq!(ids(log.page(&adds).unwrap()), vec![8, 6, 4]);
        let later = Filter {
            count: 10,
            after_sequence: Some(6),
            ..Filter::default()
        };
        assert_eq!(ids(log.page(&later).unwrap()), vec![8, 7]);
        let gone = Filter {
            count: 1,
            after: Some(Uuid::from_u128(1)),
            ..Filter::default()
        };
        assert_eq!(log.page(&gone).unwrap_err(), UnknownCursor);
        // Another node emptied the logs at 7: what was logged in that
        // millisecond may have come after, so it stays.
        log.forget_until(7);
        assert_eq!(ids(log.page(&all).unwrap()), vec![8, 7]);
        log.clear();
        assert_eq!(ids(log.page(&all).unwrap()), Vec::<u128>::new());
        let off = RequestLog::new(0);
        off.push(logged(1));
        assert_eq!(off.page(&all).unwrap().len(), 0);
    }
}
