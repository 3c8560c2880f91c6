//! Export and import in SQLite: the rows of every table in the file's order,
//! and back again in one transaction.

use rusqlite::{Connection, Row, params};

use super::tenants::{enterprise_ids, insert_enterprises};
use super::{conversion, faults, internal};
use crate::store::export::{
    AccessTokenRecord, AttemptRecord, ClockRecord, DeliveryRecord, DeliveryState, Digest,
    EnterpriseRecord, EventRecord, ImportError, Incoming, IntegrationRecord, MessageRecord,
    Numbered, Outgoing, Record, SenderName, ThreadRecord,
};
use crate::store::{StoreError, StoreResult};

/// Each kind of record: the query that reads it, in the file's order, and how
/// a row becomes a record.
type Reader = (&'static str, fn(&Row<'_>) -> rusqlite::Result<Record>);

const READERS: &[Reader] = &[
    ("SELECT now_ms FROM clock", |r| {
        Ok(Record::Clock(ClockRecord { now_ms: r.get(0)? }))
    }),
    (
        "SELECT id, name, created_utc FROM enterprises ORDER BY id",
        |r| {
            Ok(Record::Enterprise(EnterpriseRecord {
                id: r.get(0)?,
                name: r.get(1)?,
                created: r.get(2)?,
            }))
        },
    ),
    (
        "SELECT id, name, client_token_hash, created_utc, webhook_url \
         FROM integrations ORDER BY id",
        |r| {
            Ok(Record::Integration(IntegrationRecord {
                id: r.get(0)?,
                name: r.get(1)?,
                client_token_digest: digest(r, 2)?,
                created: r.get(3)?,
                webhook_url: r.get(4)?,
            }))
        },
    ),
    (
        "SELECT t.id, t.integration_id, t.token_hash, t.created_utc, t.revoked_utc, \
                t.enterprise_ids \
         FROM access_tokens t ORDER BY t.id",
        |r| {
            Ok(Record::AccessToken(AccessTokenRecord {
                id: r.get(0)?,
                integration_id: r.get(1)?,
                token_digest: digest(r, 2)?,
                created: r.get(3)?,
                revoked: r.get(4)?,
                enterprise_ids: enterprise_ids(r, 5)?,
            }))
        },
    ),
    (
        "SELECT id, operation, integration_id, status, message, retry_after_seconds, \
                delay_ms, probability, times, remaining, stage, created_ms \
         FROM faults ORDER BY seq",
        |r| Ok(Record::Fault(faults::fault(r)?.into())),
    ),
    (
        "SELECT id, integration_id, enterprise_id, original_sender, subject, \
                created_utc, updated_utc, is_resolved \
         FROM threads ORDER BY seq",
        |r| {
            Ok(Record::Thread(ThreadRecord {
                id: r.get(0)?,
                integration_id: r.get(1)?,
                enterprise_id: r.get(2)?,
                original_sender: r.get(3)?,
                subject: r.get(4)?,
                created: r.get(5)?,
                updated: r.get(6)?,
                is_resolved: r.get(7)?,
            }))
        },
    ),
    (
        "SELECT id, thread_id, text, sender, created_utc FROM messages ORDER BY seq",
        |r| {
            let sender: String = r.get(3)?;
            Ok(Record::Message(MessageRecord {
                id: r.get(0)?,
                thread_id: r.get(1)?,
                text: r.get(2)?,
                sender: SenderName::parse(&sender)
                    .ok_or_else(|| conversion(3, format!("unknown sender {sender}")))?,
                created: r.get(4)?,
            }))
        },
    ),
    (
        "SELECT id, integration_id, enterprise_id, status, attempts, next_attempt_ms, \
                leased_until_ms, last_error, created_ms, finished_ms \
         FROM webhook_deliveries ORDER BY id",
        |r| {
            let status: String = r.get(3)?;
            Ok(Record::WebhookDelivery(DeliveryRecord {
                id: r.get(0)?,
                integration_id: r.get(1)?,
                enterprise_id: r.get(2)?,
                state: DeliveryState::from_column(&status)
                    .ok_or_else(|| conversion(3, format!("unknown status {status}")))?,
                attempts: r.get(4)?,
                next_attempt_ms: r.get(5)?,
                leased_until_ms: r.get(6)?,
                last_error: r.get(7)?,
                created_ms: r.get(8)?,
                finished_ms: r.get(9)?,
            }))
        },
    ),
    (
        "SELECT delivery_id, started_ms, duration_ms, status, error, response \
         FROM webhook_attempts ORDER BY seq",
        |r| {
            Ok(Record::WebhookAttempt(AttemptRecord {
                delivery_id: r.get(0)?,
                started_ms: r.get(1)?,
                duration_ms: r.get(2)?,
                status: r.get(3)?,
                error: r.get(4)?,
                response: r.get(5)?,
            }))
        },
    ),
    (
        "SELECT message_id, integration_id, enterprise_id, created_ms, delivery_id \
         FROM webhook_events ORDER BY seq",
        |r| {
            Ok(Record::WebhookEvent(EventRecord {
                message_id: r.get(0)?,
                integration_id: r.get(1)?,
                enterprise_id: r.get(2)?,
                created_ms: r.get(3)?,
                delivery_id: r.get(4)?,
            }))
        },
    ),
];

fn digest(row: &Row<'_>, column: usize) -> rusqlite::Result<Digest> {
    let bytes: Vec<u8> = row.get(column)?;
    Digest::from_stored(&bytes).map_err(|e| conversion(column, e.to_string()))
}

/// Reads every table in one snapshot, sending records in the file's order.
pub fn export(conn: &Connection, out: &Outgoing) -> StoreResult<()> {
    let snapshot = conn.unchecked_transaction().map_err(internal)?;
    for (sql, read) in READERS {
        let mut statement = snapshot.prepare(sql).map_err(internal)?;
        let mut rows = statement.query([]).map_err(internal)?;
        while let Some(row) = rows.next().map_err(internal)? {
            let record = read(row).map_err(internal)?;
            out.blocking_send(record).map_err(|_| {
                StoreError::Internal(anyhow::anyhow!("the export's writer stopped"))
            })?;
        }
    }
    snapshot.finish().map_err(internal)
}

/// Whether any table a file could fill has a row.
fn is_empty(conn: &Connection) -> StoreResult<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM enterprises) \
            AND NOT EXISTS (SELECT 1 FROM integrations) \
            AND NOT EXISTS (SELECT 1 FROM clock)",
        [],
        |r| r.get(0),
    )
    .map_err(internal)
}

/// Loads every record of `incoming` (inside the writer's transaction, which an
/// error rolls back); the number of records.
pub fn import(conn: &Connection, mut incoming: Incoming) -> Result<u64, ImportError> {
    if !is_empty(conn)? {
        return Err(ImportError::NotEmpty);
    }
    let mut count = 0;
    while let Some(next) = incoming.blocking_recv() {
        let Numbered { line, record } = next?;
        if let Record::End(_) = record {
            return Ok(count);
        }
        insert(conn, &record).map_err(|e| ImportError::line(line, refusal(&record, &e)))?;
        count += 1;
    }
    Err(ImportError::Store(StoreError::Internal(anyhow::anyhow!(
        "the export file's reader stopped before the end of the file"
    ))))
}

/// Why the database refused a record, in the file's words.
fn refusal(record: &Record, e: &rusqlite::Error) -> String {
    let what = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            let text = e.to_string();
            if text.contains("FOREIGN KEY") {
                "it names something that no earlier line holds".to_owned()
            } else if text.contains("UNIQUE") || text.contains("PRIMARY KEY") {
                "it repeats an id or a token digest of an earlier line".to_owned()
            } else {
                format!("the database refused it ({text})")
            }
        }
        _ => format!("the database refused it ({e})"),
    };
    format!("{} record: {what}", record.kind())
}

fn insert(conn: &Connection, record: &Record) -> rusqlite::Result<()> {
    let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<()> {
        conn.prepare_cached(sql)?.execute(values)?;
        Ok(())
    };
    match record {
        Record::Clock(c) => run(
            "INSERT INTO clock (id, now_ms) VALUES (1, ?1)",
            params![c.now_ms],
        ),
        Record::Enterprise(e) => run(
            "INSERT INTO enterprises (id, name, created_utc) VALUES (?1, ?2, ?3)",
            params![e.id, e.name, e.created],
        ),
        Record::Integration(i) => run(
            "INSERT INTO integrations (id, name, client_token_hash, created_utc, webhook_url) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                i.id,
                i.name,
                &i.client_token_digest.0[..],
                i.created,
                i.webhook_url
            ],
        ),
        Record::AccessToken(t) => {
            run(
                "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc, revoked_utc) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    t.id,
                    t.integration_id,
                    &t.token_digest.0[..],
                    t.created,
                    t.revoked
                ],
            )?;
            insert_enterprises(conn, t.id, &t.enterprise_ids)
        }
        Record::Fault(f) => faults::insert(conn, &f.clone().into()).map(drop),
        Record::Thread(t) => run(
            "INSERT INTO threads (id, integration_id, enterprise_id, original_sender, subject, \
                                  created_utc, updated_utc, is_resolved) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                t.id,
                t.integration_id,
                t.enterprise_id,
                t.original_sender,
                t.subject,
                t.created,
                t.updated,
                t.is_resolved
            ],
        ),
        Record::Message(m) => run(
            "INSERT INTO messages (id, thread_id, text, sender, created_utc) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![m.id, m.thread_id, m.text, m.sender.as_str(), m.created],
        ),
        Record::WebhookDelivery(d) => run(
            "INSERT INTO webhook_deliveries (id, integration_id, enterprise_id, status, attempts, \
                 next_attempt_ms, leased_until_ms, last_error, created_ms, finished_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                d.id,
                d.integration_id,
                d.enterprise_id,
                d.state.column(),
                d.attempts,
                d.next_attempt_ms,
                d.leased_until_ms,
                d.last_error,
                d.created_ms,
                d.finished_ms
            ],
        ),
        Record::WebhookAttempt(a) => run(
            "INSERT INTO webhook_attempts (delivery_id, started_ms, duration_ms, status, error, \
                                           response) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                a.delivery_id,
                a.started_ms,
                a.duration_ms,
                a.status,
                a.error,
                a.response
            ],
        ),
        Record::WebhookEvent(e) => run(
            "INSERT INTO webhook_events (message_id, integration_id, enterprise_id, created_ms, \
                                         delivery_id) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                e.message_id,
                e.integration_id,
                e.enterprise_id,
                e.created_ms,
                e.delivery_id
            ],
        ),
        Record::End(_) => Ok(()),
    }
}
