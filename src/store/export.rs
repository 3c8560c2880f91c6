//! The export file: everything a database holds, as JSON Lines, to move a
//! deployment between backends or to keep a snapshot.
//!
//! The first line names the format and its version; then comes one record a
//! line, in a fixed order of kinds (the clock, enterprises, integrations, access
//! tokens, faults, threads, messages, webhook deliveries and their attempts,
//! webhook events), each kind in
//! its database order (ids for the first ones, insertion order for threads,
//! messages and events, which is what pages break ties with); the last line,
//! `End`, counts the records, so that a cut file is refused. Records only name
//! what came before them, so a file loads front to back.
//!
//! Both directions stream through a bounded channel: the backend reads (or
//! writes) rows on one side, a thread formats (or parses) lines on the other,
//! so memory does not grow with the database and both cores work.
//!
//! Times are integers as the database keeps them: `Created`, `Updated` and
//! `Revoked` in seconds, fields ending in `Ms` in milliseconds, since the Unix
//! epoch. Token digests are SHA-256 in hex; the tokens themselves are never
//! stored anywhere, so the same tokens work after a move.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::content::{MESSAGE_COLUMNS, THREAD_COLUMNS};
use super::outbox::{ATTEMPT_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS};
use super::row::Row;
use super::tenants::ENTERPRISE_COLUMNS;
use super::{Backend, StoreError};
use super::{StoreResult, content, faults, outbox};
use crate::domain::fault::{Fault, Stage, Target};
use crate::domain::message::Message;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
pub use crate::domain::webhook::DeliveryState;
use crate::tokens::TokenHash;

/// The first line's `Format`.
pub const FORMAT: &str = "switchboard-export";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// Records in flight between the database side and the file side.
const CHANNEL: usize = 8192;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
}

/// One line of the file after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Record {
    Clock(ClockRecord),
    Enterprise(EnterpriseRecord),
    Integration(IntegrationRecord),
    AccessToken(AccessTokenRecord),
    Fault(FaultRecord),
    Thread(ThreadRecord),
    Message(MessageRecord),
    WebhookDelivery(DeliveryRecord),
    WebhookAttempt(AttemptRecord),
    WebhookEvent(EventRecord),
    /// The last line: how many records came before it (the header not counted).
    End(EndRecord),
}

impl Record {
    /// The position of the record's kind in the file's order.
    fn rank(&self) -> u8 {
        match self {
            Self::Clock(_) => 0,
            Self::Enterprise(_) => 1,
            Self::Integration(_) => 2,
            Self::AccessToken(_) => 3,
            Self::Fault(_) => 4,
            Self::Thread(_) => 5,
            Self::Message(_) => 6,
            Self::WebhookDelivery(_) => 7,
            Self::WebhookAttempt(_) => 8,
            Self::WebhookEvent(_) => 9,
            Self::End(_) => 10,
        }
    }

    /// The record's kind, as the file names it.
    pub fn kind(&self) -> &'static str {
        KINDS[usize::from(self.rank())]
    }
}

/// The manual clock (absent when the database never had one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClockRecord {
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EnterpriseRecord {
    pub id: Uuid,
    pub name: String,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IntegrationRecord {
    pub id: Uuid,
    pub name: String,
    pub client_token_digest: Digest,
    pub created: i64,
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AccessTokenRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub token_digest: Digest,
    pub created: i64,
    pub revoked: Option<i64>,
    /// The enterprises it reaches, its home first.
    pub enterprise_ids: Vec<Uuid>,
}

/// A fault, with its uses left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FaultRecord {
    pub id: Uuid,
    pub operation: String,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    pub remaining: Option<u32>,
    pub stage: Stage,
    pub created_ms: i64,
}

impl From<Fault> for FaultRecord {
    fn from(f: Fault) -> Self {
        Self {
            id: f.id,
            operation: f.operation.name().to_owned(),
            integration_id: f.integration_id,
            status: f.status,
            message: f.message,
            retry_after_seconds: f.retry_after_seconds,
            delay_ms: f.delay_ms,
            probability: f.probability,
            times: f.times,
            remaining: f.remaining,
            stage: f.stage,
            created_ms: f.created_ms,
        }
    }
}

impl FaultRecord {
    /// The fault, once its operation is known to be one (see [`Check`]).
    pub fn to_fault(&self) -> Fault {
        let f = self.clone();
        Fault {
            id: f.id,
            operation: Target::parse(&f.operation).unwrap_or(Target::Any),
            integration_id: f.integration_id,
            status: f.status,
            message: f.message,
            retry_after_seconds: f.retry_after_seconds,
            delay_ms: f.delay_ms,
            probability: f.probability,
            times: f.times,
            remaining: f.remaining,
            stage: f.stage,
            created_ms: f.created_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ThreadRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub original_sender: String,
    pub subject: String,
    pub created: i64,
    pub updated: i64,
    pub is_resolved: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MessageRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub text: String,
    pub sender: SenderName,
    pub created: i64,
}

/// Who wrote a message, as the database keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SenderName {
    Application,
    Enterprise,
}

impl SenderName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "Application",
            Self::Enterprise => "Enterprise",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Application" => Some(Self::Application),
            "Enterprise" => Some(Self::Enterprise),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub leased_until_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
}

/// One attempt of a delivery, in the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttemptRecord {
    pub delivery_id: Uuid,
    pub started_ms: i64,
    pub duration_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EventRecord {
    pub message_id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub created_ms: i64,
    pub delivery_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EndRecord {
    pub records: u64,
}

impl From<Thread> for ThreadRecord {
    fn from(t: Thread) -> Self {
        Self {
            id: t.id,
            integration_id: t.integration_id,
            enterprise_id: t.enterprise_id,
            original_sender: t.original_sender,
            subject: t.subject,
            created: t.created.unix(),
            updated: t.updated.unix(),
            is_resolved: t.is_resolved,
        }
    }
}

impl ThreadRecord {
    pub fn to_thread(&self) -> Thread {
        Thread {
            id: self.id,
            integration_id: self.integration_id,
            enterprise_id: self.enterprise_id,
            original_sender: self.original_sender.clone(),
            subject: self.subject.clone(),
            created: Timestamp::from_unix(self.created),
            updated: Timestamp::from_unix(self.updated),
            is_resolved: self.is_resolved,
        }
    }
}

impl From<Message> for MessageRecord {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            thread_id: m.thread_id,
            text: m.text,
            sender: match m.sender {
                crate::domain::message::Sender::Application => SenderName::Application,
                crate::domain::message::Sender::Enterprise => SenderName::Enterprise,
            },
            created: m.created.unix(),
        }
    }
}

impl MessageRecord {
    pub fn to_message(&self) -> Message {
        Message {
            id: self.id,
            thread_id: self.thread_id,
            text: self.text.clone(),
            sender: match self.sender {
                SenderName::Application => crate::domain::message::Sender::Application,
                SenderName::Enterprise => crate::domain::message::Sender::Enterprise,
            },
            created: Timestamp::from_unix(self.created),
        }
    }
}

/// The query that reads each kind of record (by [`Record::rank`], `End`
/// aside), in the file's order: the same on both backends.
pub fn queries() -> [String; 10] {
    [
        "SELECT now_ms FROM clock".to_owned(),
        format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises ORDER BY id"),
        "SELECT id, name, created_utc, webhook_url, client_token_hash FROM integrations ORDER BY id"
            .to_owned(),
        "SELECT t.id, t.integration_id, t.created_utc, t.revoked_utc, t.enterprise_ids, \
                t.token_hash \
         FROM access_tokens t ORDER BY t.id"
            .to_owned(),
        format!("SELECT {} FROM faults ORDER BY seq", faults::COLUMNS),
        format!("SELECT {THREAD_COLUMNS} FROM threads ORDER BY seq"),
        format!("SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY seq"),
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY id"),
        format!("SELECT {ATTEMPT_COLUMNS}, delivery_id FROM webhook_attempts ORDER BY seq"),
        format!("SELECT {EVENT_COLUMNS} FROM webhook_events ORDER BY seq"),
    ]
}

/// A row of `queries()[rank]` as its record.
pub fn record(rank: usize, row: &impl Row) -> StoreResult<Record> {
    let digest = |column| Digest::from_stored(row.bytes(column)?);
    Ok(match rank {
        0 => Record::Clock(ClockRecord {
            now_ms: row.int(0)?,
        }),
        1 => {
            let e = super::tenants::enterprise(row)?;
            Record::Enterprise(EnterpriseRecord {
                id: e.id,
                name: e.name,
                created: e.created.unix(),
            })
        }
        2 => {
            let i = super::tenants::integration(row)?;
            Record::Integration(IntegrationRecord {
                id: i.id,
                name: i.name,
                client_token_digest: digest(4)?,
                created: i.created.unix(),
                webhook_url: i.webhook_url,
            })
        }
        3 => {
            let t = super::tenants::access_token(row)?;
            Record::AccessToken(AccessTokenRecord {
                id: t.id,
                integration_id: t.integration_id,
                token_digest: digest(5)?,
                created: t.created.unix(),
                revoked: t.revoked.map(Timestamp::unix),
                enterprise_ids: t.enterprises,
            })
        }
        4 => Record::Fault(faults::fault(row)?.into()),
        5 => Record::Thread(content::thread(row)?.into()),
        6 => Record::Message(content::message(row)?.into()),
        7 => Record::WebhookDelivery(DeliveryRecord {
            id: row.uuid(0)?,
            integration_id: row.uuid(1)?,
            enterprise_id: row.uuid(2)?,
            state: outbox::state(row, 3)?,
            attempts: row.number(4)?,
            next_attempt_ms: row.int(5)?,
            leased_until_ms: row.int_or_null(6)?,
            last_error: row.string_or_null(7)?,
            created_ms: row.int(8)?,
            finished_ms: row.int_or_null(9)?,
        }),
        8 => {
            let a = outbox::attempt(row)?;
            Record::WebhookAttempt(AttemptRecord {
                delivery_id: row.uuid(5)?,
                started_ms: a.started_ms,
                duration_ms: a.duration_ms,
                status: a.status,
                error: a.error,
                response: a.response,
            })
        }
        _ => Record::WebhookEvent(EventRecord {
            message_id: row.uuid(0)?,
            integration_id: row.uuid(1)?,
            enterprise_id: row.uuid(2)?,
            created_ms: row.int(3)?,
            delivery_id: row.uuid_or_null(4)?,
        }),
    })
}

impl From<Digest> for TokenHash {
    fn from(digest: Digest) -> Self {
        Self(digest.0)
    }
}

/// Why the database refused a record, in the file's words.
pub fn refusal(record: &Record, e: &StoreError) -> String {
    let what = match e {
        StoreError::Conflict(_) => {
            "it repeats an id or a token digest of an earlier line".to_owned()
        }
        StoreError::Missing(_) => "it names something that no earlier line holds".to_owned(),
        StoreError::Internal(e) => {
            let text = format!("{e:#}");
            if text.contains("FOREIGN KEY") || text.contains("foreign key") {
                "it names something that no earlier line holds".to_owned()
            } else if text.contains("UNIQUE") || text.contains("duplicate key") {
                "it repeats an id or a token digest of an earlier line".to_owned()
            } else {
                format!("the database refused it ({text})")
            }
        }
    };
    format!("{} record: {what}", record.kind())
}

/// A SHA-256 digest, written in hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// A digest read from the database, which keeps 32 bytes.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, StoreError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            StoreError::Internal(anyhow::anyhow!(
                "a stored token digest has {} bytes, not 32",
                bytes.len()
            ))
        })
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut bytes = [0; 32];
        hex::decode_to_slice(text.as_bytes(), &mut bytes).map_err(|_| {
            serde::de::Error::custom("a token digest is 64 hexadecimal digits (SHA-256)")
        })?;
        Ok(Self(bytes))
    }
}

/// Why an import was refused. Nothing was written then.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    /// The database refused one of these lines (PostgreSQL loads rows in
    /// groups, and could not say which one).
    #[error("lines {first} to {last}: {reason}")]
    Lines {
        first: u64,
        last: u64,
        reason: String,
    },
    #[error(
        "the database is not empty: import loads into an empty database only \
         (a new SQLite file, or a new PostgreSQL database)"
    )]
    NotEmpty,
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub fn line(line: u64, reason: impl Into<String>) -> Self {
        Self::Line {
            line,
            reason: reason.into(),
        }
    }
}

/// A record and the line it was on.
#[derive(Debug)]
pub struct Numbered {
    pub line: u64,
    pub record: Record,
}

/// What the file side hands a backend's loader: records in order, then
/// `End` (the file was whole: commit), or an error (roll back).
pub type Incoming = mpsc::Receiver<Result<Numbered, ImportError>>;

/// Where a backend's exporter puts records, in order.
pub type Outgoing = mpsc::Sender<Record>;

/// Writes the database behind `backend` to `out`; gives `out` back, with the
/// number of records.
pub async fn export<W: Write + Send + 'static>(
    backend: &Backend,
    out: W,
) -> anyhow::Result<(W, u64)> {
    let (records, received) = mpsc::channel(CHANNEL);
    let writer = std::thread::spawn(move || write_records(received, out));
    let produced = match backend {
        Backend::Sqlite(store) => store.export(records).await,
        Backend::Postgres(store) => store.export(records).await,
    };
    let written = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the export's writer stopped unexpectedly"))?;
    // A database error is the first cause; the writer then saw the channel close.
    produced?;
    let (mut out, count) = written?;
    let end = Record::End(EndRecord { records: count });
    serde_json::to_writer(&mut out, &end)?;
    out.write_all(b"\n")?;
    let out = out.into_inner().map_err(|e| e.into_error())?;
    Ok((out, count))
}

/// The file side of an export: the header, then every record received. The
/// `End` line is the caller's, once it knows the database side finished.
fn write_records<W: Write>(
    mut records: mpsc::Receiver<Record>,
    out: W,
) -> anyhow::Result<(std::io::BufWriter<W>, u64)> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
    };
    serde_json::to_writer(&mut out, &header)?;
    out.write_all(b"\n")?;
    let mut count = 0;
    while let Some(record) = records.blocking_recv() {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok((out, count))
}

/// Loads the file `input` into the empty database behind `backend`, in one
/// transaction; the number of records.
pub async fn import(
    backend: &Backend,
    input: impl BufRead + Send + 'static,
) -> Result<u64, ImportError> {
    let (lines, incoming) = mpsc::channel(CHANNEL);
    let reader = std::thread::spawn(move || read_records(input, &lines));
    let loaded = match backend {
        Backend::Sqlite(store) => store.import(incoming).await,
        Backend::Postgres(store) => store.import(incoming).await,
    };
    // The reader ends by itself: at the end of the file, at an error, or when
    // the loader stopped listening.
    let _ = reader.join();
    loaded
}

/// The file side of an import: parses and checks each line, sending records on
/// in order and `End` last, once nothing follows it; stops at the first
/// problem, sending it instead.
fn read_records(mut input: impl BufRead, lines: &mpsc::Sender<Result<Numbered, ImportError>>) {
    let mut check = Check::default();
    let mut bytes = Vec::new();
    let mut line = 0;
    let mut end = None;
    loop {
        bytes.clear();
        line += 1;
        let outcome = match input.read_until(b'\n', &mut bytes) {
            Err(e) => Err(ImportError::Read(e)),
            Ok(0) => match end.take() {
                Some(end) => Ok(end),
                None => Err(check.at_end(line)),
            },
            Ok(_) if end.is_some() => {
                Err(ImportError::line(line, "nothing may follow the End record"))
            }
            Ok(_) => match std::str::from_utf8(&bytes) {
                Err(_) => Err(ImportError::line(line, "the line is not UTF-8")),
                Ok(text) => match check.line(line, text.trim_end_matches(['\n', '\r'])) {
                    Ok(Some(numbered)) if matches!(numbered.record, Record::End(_)) => {
                        end = Some(numbered);
                        continue;
                    }
                    Ok(Some(numbered)) => Ok(numbered),
                    Ok(None) => continue,
                    Err(e) => Err(e),
                },
            },
        };
        let last = !matches!(&outcome, Ok(n) if !matches!(n.record, Record::End(_)));
        if lines.blocking_send(outcome).is_err() || last {
            return;
        }
    }
}

/// The rules of the file that a line alone cannot show: the header first, the
/// kinds in order, one clock, the count at the end.
#[derive(Default)]
struct Check {
    header: bool,
    rank: u8,
    clocks: u32,
    records: u64,
}

impl Check {
    /// The record on `line`, or `None` for the header.
    fn line(&mut self, line: u64, text: &str) -> Result<Option<Numbered>, ImportError> {
        if !self.header {
            self.header(line, text)?;
            self.header = true;
            return Ok(None);
        }
        let record: Record = serde_json::from_str(text)
            .map_err(|e| ImportError::line(line, format!("not a valid record: {e}")))?;
        let rank = record.rank();
        if rank < self.rank {
            return Err(ImportError::line(
                line,
                format!(
                    "a {} record cannot come after {} records: the kinds come in the order {}",
                    record.kind(),
                    KINDS[usize::from(self.rank)],
                    KINDS.join(", ")
                ),
            ));
        }
        self.rank = rank;
        match &record {
            Record::End(end) if end.records != self.records => {
                return Err(ImportError::line(
                    line,
                    format!(
                        "the End record counts {} records but {} came before it",
                        end.records, self.records
                    ),
                ));
            }
            Record::Clock(_) => {
                self.clocks += 1;
                if self.clocks > 1 {
                    return Err(ImportError::line(line, "a second Clock record"));
                }
            }
            Record::WebhookDelivery(delivery) if i32::try_from(delivery.attempts).is_err() => {
                return Err(ImportError::line(
                    line,
                    format!("Attempts is at most {}", i32::MAX),
                ));
            }
            Record::Fault(fault)
                if [
                    Some(fault.delay_ms),
                    fault.times,
                    fault.remaining,
                    fault.retry_after_seconds,
                ]
                .into_iter()
                .flatten()
                .any(|n| i32::try_from(n).is_err()) =>
            {
                return Err(ImportError::line(
                    line,
                    format!("a fault's counts are at most {}", i32::MAX),
                ));
            }
            Record::Fault(fault) if Target::parse(&fault.operation).is_none() => {
                return Err(ImportError::line(
                    line,
                    format!(
                        "a fault's Operation is one of {} (it is \"{}\")",
                        Target::names().join(", "),
                        fault.operation
                    ),
                ));
            }
            Record::AccessToken(token) if token.enterprise_ids.is_empty() => {
                return Err(ImportError::line(
                    line,
                    "an access token reaches at least one enterprise: EnterpriseIds is empty",
                ));
            }
            _ => {}
        }
        self.records += 1;
        Ok(Some(Numbered { line, record }))
    }

    fn header(&self, line: u64, text: &str) -> Result<(), ImportError> {
        let header: Header = serde_json::from_str(text).map_err(|e| {
            ImportError::line(
                line,
                format!(
                    "the first line must be {{\"Format\":\"{FORMAT}\",\"Version\":{VERSION}}}: {e}"
                ),
            )
        })?;
        if header.format != FORMAT {
            return Err(ImportError::line(
                line,
                format!(
                    "this is not a switchboard export (its Format is \"{}\")",
                    header.format
                ),
            ));
        }
        if header.version != VERSION {
            return Err(ImportError::line(
                line,
                format!(
                    "version {} is not one this switchboard reads (it reads version {VERSION})",
                    header.version
                ),
            ));
        }
        Ok(())
    }

    /// The file ended before line `line`.
    fn at_end(&self, line: u64) -> ImportError {
        if self.header {
            ImportError::line(
                line,
                "the file ends without its End record: it was cut short",
            )
        } else {
            ImportError::line(line, "the file is empty: it has no header line")
        }
    }
}

/// The kinds of record, in the order a file holds them ([`Record::rank`]).
const KINDS: [&str; 11] = [
    "Clock",
    "Enterprise",
    "Integration",
    "AccessToken",
    "Fault",
    "Thread",
    "Message",
    "WebhookDelivery",
    "WebhookAttempt",
    "WebhookEvent",
    "End",
];
