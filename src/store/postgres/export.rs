//! Export and import in PostgreSQL: the rows of every table in the file's
//! order, read in pages from one snapshot, and back again in one transaction;
//! the large tables go in with binary `COPY`, a group of rows at a time.

use std::pin::pin;

use deadpool_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{IsolationLevel, Row};
use uuid::Uuid;

use super::{faults, internal, tenants};
use crate::store::export::{
    AccessTokenRecord, AttemptRecord, ClockRecord, DeliveryRecord, DeliveryState, Digest,
    EnterpriseRecord, EventRecord, ImportError, Incoming, IntegrationRecord, MessageRecord,
    Numbered, Outgoing, Record, SenderName, ThreadRecord,
};
use crate::store::{StoreError, StoreResult};

/// Rows fetched at a time on export.
const PAGE: i32 = 4096;
/// Rows sent in one `COPY` on import: large enough to be fast, small enough to
/// keep in memory and to find the line the database refused.
const GROUP: usize = 5000;

/// Each kind of record: the query that reads it, in the file's order, and how
/// a row becomes a record.
type Reader = (&'static str, fn(&Row) -> StoreResult<Record>);

const READERS: &[Reader] = &[
    ("SELECT now_ms FROM clock", |r| {
        Ok(Record::Clock(ClockRecord { now_ms: r.get(0) }))
    }),
    (
        "SELECT id, name, created_utc FROM enterprises ORDER BY id",
        |r| {
            Ok(Record::Enterprise(EnterpriseRecord {
                id: r.get(0),
                name: r.get(1),
                created: r.get(2),
            }))
        },
    ),
    (
        "SELECT id, name, client_token_hash, created_utc, webhook_url \
         FROM integrations ORDER BY id",
        |r| {
            Ok(Record::Integration(IntegrationRecord {
                id: r.get(0),
                name: r.get(1),
                client_token_digest: Digest::from_stored(r.get(2))?,
                created: r.get(3),
                webhook_url: r.get(4),
            }))
        },
    ),
    (
        "SELECT t.id, t.integration_id, t.token_hash, t.created_utc, t.revoked_utc, \
                t.enterprise_ids \
         FROM access_tokens t ORDER BY t.id",
        |r| {
            Ok(Record::AccessToken(AccessTokenRecord {
                id: r.get(0),
                integration_id: r.get(1),
                token_digest: Digest::from_stored(r.get(2))?,
                created: r.get(3),
                revoked: r.get(4),
                enterprise_ids: r.get(5),
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
                id: r.get(0),
                integration_id: r.get(1),
                enterprise_id: r.get(2),
                original_sender: r.get(3),
                subject: r.get(4),
                created: r.get(5),
                updated: r.get(6),
                is_resolved: r.get(7),
            }))
        },
    ),
    (
        "SELECT id, thread_id, text, sender, created_utc FROM messages ORDER BY seq",
        |r| {
            let sender: &str = r.get(3);
            Ok(Record::Message(MessageRecord {
                id: r.get(0),
                thread_id: r.get(1),
                text: r.get(2),
                sender: SenderName::parse(sender)
                    .ok_or_else(|| internal(format!("unknown sender {sender}")))?,
                created: r.get(4),
            }))
        },
    ),
    (
        "SELECT id, integration_id, enterprise_id, status, attempts, next_attempt_ms, \
                leased_until_ms, last_error, created_ms, finished_ms \
         FROM webhook_deliveries ORDER BY id",
        |r| {
            let status: &str = r.get(3);
            let attempts: i32 = r.get(4);
            Ok(Record::WebhookDelivery(DeliveryRecord {
                id: r.get(0),
                integration_id: r.get(1),
                enterprise_id: r.get(2),
                state: DeliveryState::from_column(status)
                    .ok_or_else(|| internal(format!("unknown status {status}")))?,
                attempts: u32::try_from(attempts).map_err(internal)?,
                next_attempt_ms: r.get(5),
                leased_until_ms: r.get(6),
                last_error: r.get(7),
                created_ms: r.get(8),
                finished_ms: r.get(9),
            }))
        },
    ),
    (
        "SELECT delivery_id, started_ms, duration_ms, status, error, response \
         FROM webhook_attempts ORDER BY seq",
        |r| {
            let status: Option<i32> = r.get(3);
            Ok(Record::WebhookAttempt(AttemptRecord {
                delivery_id: r.get(0),
                started_ms: r.get(1),
                duration_ms: r.get(2),
                status: status.map(u16::try_from).transpose().map_err(internal)?,
                error: r.get(4),
                response: r.get(5),
            }))
        },
    ),
    (
        "SELECT message_id, integration_id, enterprise_id, created_ms, delivery_id \
         FROM webhook_events ORDER BY seq",
        |r| {
            Ok(Record::WebhookEvent(EventRecord {
                message_id: r.get(0),
                integration_id: r.get(1),
                enterprise_id: r.get(2),
                created_ms: r.get(3),
                delivery_id: r.get(4),
            }))
        },
    ),
];

/// Reads every table in one snapshot, sending records in the file's order.
pub async fn export(client: &mut deadpool_postgres::Object, out: &Outgoing) -> StoreResult<()> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(internal)?;
    for (sql, read) in READERS {
        let portal = tx.bind(*sql, &[]).await.map_err(internal)?;
        loop {
            let rows = tx.query_portal(&portal, PAGE).await.map_err(internal)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                out.send(read(row)?).await.map_err(|_| {
                    StoreError::Internal(anyhow::anyhow!("the export's writer stopped"))
                })?;
            }
        }
    }
    tx.commit().await.map_err(internal)
}

/// Loads every record of `incoming` in one transaction; the number of records.
pub async fn import(
    client: &mut deadpool_postgres::Object,
    mut incoming: Incoming,
) -> Result<u64, ImportError> {
    let tx = client.transaction().await.map_err(internal)?;
    // Two imports at once: the second waits, then finds the database full.
    tx.batch_execute("LOCK TABLE enterprises, integrations, clock IN EXCLUSIVE MODE")
        .await
        .map_err(internal)?;
    let empty: bool = tx
        .query_one(
            "SELECT NOT EXISTS (SELECT 1 FROM enterprises) \
                AND NOT EXISTS (SELECT 1 FROM integrations) \
                AND NOT EXISTS (SELECT 1 FROM clock)",
            &[],
        )
        .await
        .map_err(internal)?
        .get(0);
    if !empty {
        return Err(ImportError::NotEmpty);
    }
    let mut group: Vec<Numbered> = Vec::with_capacity(GROUP);
    let mut count = 0;
    while let Some(next) = incoming.recv().await {
        let numbered = next?;
        let grouped = copy_of(&numbered.record).is_some();
        let same_kind = group
            .first()
            .is_none_or(|first| first.record.kind() == numbered.record.kind());
        if !grouped || !same_kind || group.len() == GROUP {
            copy(&tx, &mut group).await?;
        }
        match numbered.record {
            Record::End(_) => {
                tx.commit().await.map_err(internal)?;
                // Fresh statistics, or the first pages plan as if the tables
                // were empty (see BENCHMARKS.md, PostgreSQL).
                client.batch_execute("ANALYZE").await.map_err(internal)?;
                return Ok(count);
            }
            _ if grouped => group.push(numbered),
            ref record => insert(&tx, record)
                .await
                .map_err(|e| ImportError::line(numbered.line, refusal(record, &e)))?,
        }
        count += 1;
    }
    Err(ImportError::Store(internal(
        "the export file's reader stopped before the end of the file",
    )))
}

/// Why the database refused a record, in the file's words.
fn refusal(record: &Record, e: &tokio_postgres::Error) -> String {
    let what = match e.as_db_error() {
        Some(db) if db.code() == &tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION => {
            "it names something that no earlier line holds".to_owned()
        }
        Some(db) if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION => {
            "it repeats an id or a token digest of an earlier line".to_owned()
        }
        Some(db) => format!("the database refused it ({})", db.message()),
        None => format!("the database refused it ({e})"),
    };
    format!("{} record: {what}", record.kind())
}

async fn insert(tx: &Transaction<'_>, record: &Record) -> Result<(), tokio_postgres::Error> {
    match record {
        Record::Clock(c) => {
            tx.execute(
                "INSERT INTO clock (id, now_ms) VALUES (1, $1)",
                &[&c.now_ms],
            )
            .await?;
        }
        Record::Enterprise(e) => {
            tx.execute(
                "INSERT INTO enterprises (id, name, created_utc) VALUES ($1, $2, $3)",
                &[&e.id, &e.name, &e.created],
            )
            .await?;
        }
        Record::Integration(i) => {
            tx.execute(
                "INSERT INTO integrations (id, name, client_token_hash, created_utc, webhook_url) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &i.id,
                    &i.name,
                    &&i.client_token_digest.0[..],
                    &i.created,
                    &i.webhook_url,
                ],
            )
            .await?;
        }
        Record::AccessToken(t) => {
            tx.execute(
                "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc, revoked_utc) \
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &t.id,
                    &t.integration_id,
                    &&t.token_digest.0[..],
                    &t.created,
                    &t.revoked,
                ],
            )
            .await?;
            tx.execute(
                tenants::INSERT_TOKEN_ENTERPRISES,
                &[&t.id, &t.enterprise_ids],
            )
            .await?;
        }
        Record::Fault(f) => {
            faults::insert(tx, &f.clone().into()).await?;
        }
        // The grouped kinds go through `copy`.
        _ => {}
    }
    Ok(())
}

/// The `COPY` statement and column types of a kind loaded in groups.
fn copy_of(record: &Record) -> Option<(&'static str, &'static [Type])> {
    match record {
        Record::Thread(_) => Some((
            "COPY threads (id, integration_id, enterprise_id, original_sender, subject, \
                           created_utc, updated_utc, is_resolved) FROM STDIN BINARY",
            &[
                Type::UUID,
                Type::UUID,
                Type::UUID,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
                Type::BOOL,
            ],
        )),
        Record::Message(_) => Some((
            "COPY messages (id, thread_id, text, sender, created_utc) FROM STDIN BINARY",
            &[Type::UUID, Type::UUID, Type::TEXT, Type::TEXT, Type::INT8],
        )),
        Record::WebhookDelivery(_) => Some((
            "COPY webhook_deliveries (id, integration_id, enterprise_id, status, attempts, \
                 next_attempt_ms, leased_until_ms, last_error, created_ms, finished_ms) \
             FROM STDIN BINARY",
            &[
                Type::UUID,
                Type::UUID,
                Type::UUID,
                Type::TEXT,
                Type::INT4,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::INT8,
                Type::INT8,
            ],
        )),
        Record::WebhookAttempt(_) => Some((
            "COPY webhook_attempts (delivery_id, started_ms, duration_ms, status, error, response) \
             FROM STDIN BINARY",
            &[
                Type::UUID,
                Type::INT8,
                Type::INT8,
                Type::INT4,
                Type::TEXT,
                Type::TEXT,
            ],
        )),
        Record::WebhookEvent(_) => Some((
            "COPY webhook_events (message_id, integration_id, enterprise_id, created_ms, \
                                  delivery_id) FROM STDIN BINARY",
            &[Type::UUID, Type::UUID, Type::UUID, Type::INT8, Type::UUID],
        )),
        _ => None,
    }
}

/// Sends `group` (records of one kind) in one `COPY`, and empties it.
async fn copy(tx: &Transaction<'_>, group: &mut Vec<Numbered>) -> Result<(), ImportError> {
    let Some(first) = group.first() else {
        return Ok(());
    };
    let Some((sql, types)) = copy_of(&first.record) else {
        return Ok(());
    };
    let sent = async {
        let sink = tx.copy_in(sql).await?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, types));
        for Numbered { record, .. } in group.iter() {
            match record {
                Record::Thread(t) => {
                    writer
                        .as_mut()
                        .write(&[
                            &t.id,
                            &t.integration_id,
                            &t.enterprise_id,
                            &t.original_sender,
                            &t.subject,
                            &t.created,
                            &t.updated,
                            &t.is_resolved,
                        ])
                        .await?
                }
                Record::Message(m) => {
                    writer
                        .as_mut()
                        .write(&[&m.id, &m.thread_id, &m.text, &m.sender.as_str(), &m.created])
                        .await?
                }
                Record::WebhookDelivery(d) => {
                    let attempts = i32::try_from(d.attempts).unwrap_or(i32::MAX);
                    let values: [&(dyn ToSql + Sync); 10] = [
                        &d.id,
                        &d.integration_id,
                        &d.enterprise_id,
                        &d.state.column(),
                        &attempts,
                        &d.next_attempt_ms,
                        &d.leased_until_ms,
                        &d.last_error,
                        &d.created_ms,
                        &d.finished_ms,
                    ];
                    writer.as_mut().write(&values).await?
                }
                Record::WebhookAttempt(a) => {
                    let status = a.status.map(i32::from);
                    writer
                        .as_mut()
                        .write(&[
                            &a.delivery_id,
                            &a.started_ms,
                            &a.duration_ms,
                            &status,
                            &a.error,
                            &a.response,
                        ])
                        .await?
                }
                Record::WebhookEvent(e) => {
                    writer
                        .as_mut()
                        .write(&[
                            &e.message_id,
                            &e.integration_id,
                            &e.enterprise_id,
                            &e.created_ms,
                            &e.delivery_id,
                        ])
                        .await?
                }
                _ => {}
            }
        }
        writer.finish().await
    };
    let outcome = sent.await;
    let result = outcome.map(|_| ()).map_err(|e| blame(group, &e));
    group.clear();
    result
}

/// The line of `group` the database refused, as near as its answer tells.
fn blame(group: &[Numbered], e: &tokio_postgres::Error) -> ImportError {
    let first = group.first().map_or(0, |n| n.line);
    let last = group.last().map_or(0, |n| n.line);
    let Some(db) = e.as_db_error() else {
        return ImportError::Lines {
            first,
            last,
            reason: e.to_string(),
        };
    };
    // A row refused while it was copied: "COPY threads, line 3".
    let by_position = db
        .where_()
        .and_then(|w| w.split("line ").nth(1))
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<usize>().ok()
        })
        .and_then(|n| group.get(n.checked_sub(1)?));
    // A reference checked at the end of the COPY: "Key (thread_id)=(...) is
    // not present"; a repeated id: "Key (id)=(...) already exists".
    let by_key = || {
        let detail = db.detail()?;
        let rest = detail.strip_prefix("Key (")?;
        let (column, rest) = rest.split_once(")=(")?;
        let (value, _) = rest.split_once(')')?;
        let value = Uuid::try_parse(value).ok()?;
        let mut matching = group
            .iter()
            .filter(|n| key(&n.record, column) == Some(value));
        if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
            matching.next_back()
        } else {
            matching.next()
        }
    };
    match (by_position.or_else(by_key), group.first()) {
        (Some(found), _) => ImportError::line(found.line, refusal(&found.record, e)),
        (None, Some(any)) => ImportError::Lines {
            first,
            last,
            reason: refusal(&any.record, e),
        },
        (None, None) => ImportError::Lines {
            first,
            last,
            reason: e.to_string(),
        },
    }
}

/// The id in `column` of a record loaded in groups.
fn key(record: &Record, column: &str) -> Option<Uuid> {
    match (record, column) {
        (Record::Thread(t), "id") => Some(t.id),
        (Record::Thread(t), "integration_id") => Some(t.integration_id),
        (Record::Thread(t), "enterprise_id") => Some(t.enterprise_id),
        (Record::Message(m), "id") => Some(m.id),
        (Record::Message(m), "thread_id") => Some(m.thread_id),
        (Record::WebhookDelivery(d), "id") => Some(d.id),
        (Record::WebhookDelivery(d), "integration_id") => Some(d.integration_id),
        (Record::WebhookDelivery(d), "enterprise_id") => Some(d.enterprise_id),
        (Record::WebhookAttempt(a), "delivery_id") => Some(a.delivery_id),
        (Record::WebhookEvent(e), "message_id") => Some(e.message_id),
        (Record::WebhookEvent(e), "delivery_id") => e.delivery_id,
        _ => None,
    }
}
