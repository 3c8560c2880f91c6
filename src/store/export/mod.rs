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

mod records;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Backend, StoreError};
use crate::domain::fault::Target;
pub use crate::domain::webhook::DeliveryState;
pub use records::*;

/// The first line's `Format`.
pub const FORMAT: &str = "switchboard-export";
/// The version this build writes.
pub const VERSION: u32 = 5;
/// The oldest version this build reads: a later version only adds fields,
/// which an earlier file lacks and which read as absent.
pub const OLDEST_READ: u32 = 1;

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
    StaffMember(StaffMemberRecord),
    Fault(FaultRecord),
    Thread(ThreadRecord),
    Message(MessageRecord),
    MessageAuthor(MessageAuthorRecord),
    ThreadActivity(ThreadActivityRecord),
    WebhookDelivery(DeliveryRecord),
    WebhookAttempt(AttemptRecord),
    WebhookEvent(EventRecord),
    CannedReply(CannedReplyRecord),
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
            Self::StaffMember(_) => 4,
            Self::Fault(_) => 5,
            Self::Thread(_) => 6,
            Self::Message(_) => 7,
            Self::MessageAuthor(_) => 8,
            Self::ThreadActivity(_) => 9,
            Self::WebhookDelivery(_) => 10,
            Self::WebhookAttempt(_) => 11,
            Self::WebhookEvent(_) => 12,
            Self::CannedReply(_) => 13,
            Self::End(_) => 14,
        }
    }

    /// The record's kind, as the file names it.
    pub fn kind(&self) -> &'static str {
        KINDS[usize::from(self.rank())]
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
            Record::StaffMember(member)
                if crate::domain::staff::Role::parse(&member.role).is_none() =>
            {
                return Err(ImportError::line(
                    line,
                    format!(
                        "a staff member's Role is Admin or Agent (it is \"{}\")",
                        member.role
                    ),
                ));
            }
            Record::ThreadActivity(activity)
                if crate::store::staff::Action::parse(
                    &activity.action,
                    activity.detail.clone(),
                )
                .is_none() =>
            {
                return Err(ImportError::line(
                    line,
                    format!(
                        "a thread activity's Action is Resolved, Reopened or Unassigned without \
                         a Detail, or Assigned or Noted with one (it is \"{}\", {})",
                        activity.action,
                        if activity.detail.is_some() {
                            "with a Detail"
                        } else {
                            "without"
                        }
                    ),
                ));
            }
            Record::ThreadActivity(activity)
                if (activity.action == "Assigned") != activity.target_id.is_some() =>
            {
                return Err(ImportError::line(
                    line,
                    "an Assigned thread activity has a TargetId, and no other has one",
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
        if !(OLDEST_READ..=VERSION).contains(&header.version) {
            return Err(ImportError::line(
                line,
                format!(
                    "version {} is not one this switchboard reads (it reads versions {OLDEST_READ} to {VERSION})",
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
const KINDS: [&str; 15] = [
    "Clock",
    "Enterprise",
    "Integration",
    "AccessToken",
    "StaffMember",
    "Fault",
    "Thread",
    "Message",
    "MessageAuthor",
    "ThreadActivity",
    "WebhookDelivery",
    "WebhookAttempt",
    "WebhookEvent",
    "CannedReply",
    "End",
];
