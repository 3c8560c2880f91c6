//! Export and import in PostgreSQL: the rows of every table in the file's
//! order, read in pages from one snapshot, and back again in one transaction;
//! the large tables go in with binary `COPY`, a group of rows at a time.

use std::pin::pin;
use std::sync::LazyLock;

use deadpool_postgres::Transaction;
use tokio_postgres::IsolationLevel;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use uuid::Uuid;

use super::{PostgresStore, emulator, faults, internal, outbox, staff, tenants};
use crate::store::content::{MESSAGE_COLUMNS, THREAD_COLUMNS};
use crate::store::export::{
    ImportError, Incoming, Numbered, Outgoing, Record, queries, record, refusal,
};
use crate::store::outbox::{ATTEMPT_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS};
use crate::store::{StoreError, StoreResult};

/// Rows fetched at a time on export.
const PAGE: i32 = 4096;
/// Rows sent in one `COPY` on import: large enough to be fast, small enough to
/// keep in memory and to find the line the database refused.
const GROUP: usize = 5000;

/// Reads every table in one snapshot, sending records in the file's order.
pub async fn export(client: &mut deadpool_postgres::Object, out: &Outgoing) -> StoreResult<()> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(internal)?;
    for (rank, sql) in queries().iter().enumerate() {
        let portal = tx.bind(sql.as_str(), &[]).await.map_err(internal)?;
        loop {
            let rows = tx.query_portal(&portal, PAGE).await.map_err(internal)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                out.send(record(rank, row)?).await.map_err(|_| {
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
    let mut tx = client.transaction().await.map_err(internal)?;
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
                tx.batch_execute(crate::store::content::DERIVE_LAST_SENDER)
                    .await
                    .map_err(internal)?;
                tx.batch_execute(crate::store::staff::DERIVE_ASSIGNEE)
                    .await
                    .map_err(internal)?;
                tx.commit().await.map_err(internal)?;
                // Fresh statistics, or the first pages plan as if the tables
                // were empty (see BENCHMARKS.md, PostgreSQL).
                client.batch_execute("ANALYZE").await.map_err(internal)?;
                return Ok(count);
            }
            _ if grouped => group.push(numbered),
            ref record => insert(&mut tx, record)
                .await
                .map_err(|e| ImportError::line(numbered.line, refusal(record, &e)))?,
        }
        count += 1;
    }
    Err(ImportError::Store(internal(
        "the export file's reader stopped before the end of the file",
    )))
}

/// A record of a kind loaded one at a time, written by the same statements
/// that write its kind at run time.
async fn insert(tx: &mut Transaction<'_>, record: &Record) -> StoreResult<()> {
    match record {
        Record::Clock(c) => emulator::insert_clock(tx, c.now_ms).await.map(drop),
        Record::Enterprise(e) => tenants::add_enterprise(tx, &e.to_enterprise()).await,
        Record::Integration(i) => {
            tenants::add_integration(tx, &i.to_integration()).await?;
            outbox::restore_webhook_state(tx, i.id, &i.webhook_state()).await
        }
        Record::AccessToken(t) => tenants::add_access_token(tx, &t.to_token()).await,
        Record::Fault(f) => faults::insert(tx, &f.to_fault())
            .await
            .map(drop)
            .map_err(internal),
        Record::StaffMember(m) => {
            let (member, hash) = m.to_member();
            staff::insert(tx, &member, &hash).await
        }
        Record::MessageAuthor(a) => tx
            .execute(
                "INSERT INTO message_authors (message_id, member_id, name) VALUES ($1, $2, $3)",
                &[&a.message_id, &a.member_id, &a.name],
            )
            .await
            .map(drop)
            .map_err(internal),
        Record::ThreadActivity(a) => tx
            .execute(
                "INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                              after_message_id, target_id, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &a.thread_id,
                    &a.at,
                    &a.member_id,
                    &a.name,
                    &a.action,
                    &a.after_message_id,
                    &a.target_id,
                    &a.detail,
                ],
            )
            .await
            .map(drop)
            .map_err(internal),
        Record::CannedReply(c) => super::staff::insert_canned(tx, &c.to_canned()).await,
        // The grouped kinds go through `copy`.
        _ => Ok(()),
    }
}

/// The `COPY` statements of the kinds loaded in groups, over the columns the
/// store writes them with.
static COPY_THREADS: LazyLock<String> =
    LazyLock::new(|| format!("COPY threads ({THREAD_COLUMNS}) FROM STDIN BINARY"));
static COPY_MESSAGES: LazyLock<String> =
    LazyLock::new(|| format!("COPY messages ({MESSAGE_COLUMNS}) FROM STDIN BINARY"));
static COPY_DELIVERIES: LazyLock<String> =
    LazyLock::new(|| format!("COPY webhook_deliveries ({DELIVERY_COLUMNS}) FROM STDIN BINARY"));
static COPY_ATTEMPTS: LazyLock<String> = LazyLock::new(|| {
    format!("COPY webhook_attempts ({ATTEMPT_COLUMNS}, delivery_id) FROM STDIN BINARY")
});
static COPY_EVENTS: LazyLock<String> =
    LazyLock::new(|| format!("COPY webhook_events ({EVENT_COLUMNS}) FROM STDIN BINARY"));

/// The `COPY` statement and column types of a kind loaded in groups.
fn copy_of(record: &Record) -> Option<(&'static str, &'static [Type])> {
    match record {
        Record::Thread(_) => Some((
            &*COPY_THREADS,
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
            &*COPY_MESSAGES,
            &[Type::UUID, Type::UUID, Type::TEXT, Type::TEXT, Type::INT8],
        )),
        Record::WebhookDelivery(_) => Some((
            &*COPY_DELIVERIES,
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
                Type::BOOL,
            ],
        )),
        Record::WebhookAttempt(_) => Some((
            &*COPY_ATTEMPTS,
            &[
                Type::INT8,
                Type::INT8,
                Type::INT4,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::UUID,
            ],
        )),
        Record::WebhookEvent(_) => Some((
            &*COPY_EVENTS,
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
                    let values: [&(dyn ToSql + Sync); 11] = [
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
                        &d.held,
                    ];
                    writer.as_mut().write(&values).await?
                }
                Record::WebhookAttempt(a) => {
                    let status = a.status.map(i32::from);
                    writer
                        .as_mut()
                        .write(&[
                            &a.started_ms,
                            &a.duration_ms,
                            &status,
                            &a.error,
                            &a.response,
                            &a.body,
                            &a.delivery_id,
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

/// Why the database refused a record of a `COPY`, in the file's words.
fn copy_refusal(record: &Record, e: &tokio_postgres::Error) -> String {
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
        (Some(found), _) => ImportError::line(found.line, copy_refusal(&found.record, e)),
        (None, Some(any)) => ImportError::Lines {
            first,
            last,
            reason: copy_refusal(&any.record, e),
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

impl PostgresStore {
    /// Sends every record of the database, in the export file's order, from
    /// one snapshot.
    pub async fn export(&self, out: Outgoing) -> StoreResult<()> {
        export(&mut self.client().await?, &out).await
    }

    /// Loads an export file into this empty database in one transaction.
    pub async fn import(&self, incoming: Incoming) -> Result<u64, ImportError> {
        import(&mut self.client().await?, incoming).await
    }
}
