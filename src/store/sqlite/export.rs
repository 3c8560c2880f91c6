//! Export and import in SQLite: the rows of every table in the file's order
//! (the queries and their rows' records are written once, in
//! [`crate::store::export`]), and back again in one transaction through this
//! backend's own inserts.

use rusqlite::Connection;

use super::query::{Args, for_each_row};
use super::{SqliteStore, content, emulator, faults, internal, outbox, staff, tenants};
use crate::store::export::{
    ImportError, Incoming, Numbered, Outgoing, Record, queries, record, refusal,
};
use crate::store::{StoreError, StoreResult};

/// Reads every table in one snapshot, sending records in the file's order.
pub fn export(conn: &Connection, out: &Outgoing) -> StoreResult<()> {
    let snapshot = conn.unchecked_transaction().map_err(internal)?;
    for (rank, sql) in queries().iter().enumerate() {
        for_each_row(&snapshot, sql, &Args::new(), |row| {
            out.blocking_send(record(rank, row)?)
                .map_err(|_| StoreError::Internal(anyhow::anyhow!("the export's writer stopped")))
        })?;
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
            conn.execute(crate::store::content::DERIVE_LAST_SENDER, [])
                .map_err(internal)?;
            conn.execute(crate::store::staff::DERIVE_ASSIGNEE, [])
                .map_err(internal)?;
            return Ok(count);
        }
        insert(conn, &record).map_err(|e| ImportError::line(line, refusal(&record, &e)))?;
        count += 1;
    }
    Err(ImportError::Store(StoreError::Internal(anyhow::anyhow!(
        "the export file's reader stopped before the end of the file"
    ))))
}

/// A record, written by the same statements that write its kind at run time.
fn insert(conn: &Connection, record: &Record) -> StoreResult<()> {
    match record {
        Record::Clock(c) => emulator::insert_clock(conn, c.now_ms).map(drop),
        Record::Enterprise(e) => tenants::add_enterprise(conn, &e.to_enterprise()),
        Record::Integration(i) => {
            tenants::add_integration(conn, &i.to_integration())?;
            outbox::restore_webhook_state(conn, i.id, &i.webhook_state())
        }
        Record::AccessToken(t) => tenants::add_access_token(conn, &t.to_token()),
        Record::Fault(f) => faults::insert(conn, &f.to_fault())
            .map_err(internal)
            .map(drop),
        Record::StaffMember(m) => {
            let (member, hash) = m.to_member();
            staff::insert(conn, &member, &hash)
        }
        Record::Thread(t) => content::insert_thread(conn, &t.to_thread()),
        Record::Message(m) => content::insert_message(conn, &m.to_message()),
        Record::MessageAuthor(a) => conn
            .execute(
                "INSERT INTO message_authors (message_id, member_id, name) VALUES (?1, ?2, ?3)",
                rusqlite::params![a.message_id, a.member_id, a.name],
            )
            .map(drop)
            .map_err(internal),
        Record::ThreadActivity(a) => conn
            .execute(
                "INSERT INTO thread_activity (thread_id, at_utc, member_id, name, action, \
                                              after_message_id, target_id, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                rusqlite::params![
                    a.thread_id,
                    a.at,
                    a.member_id,
                    a.name,
                    a.action,
                    a.after_message_id,
                    a.target_id,
                    a.detail
                ],
            )
            .map(drop)
            .map_err(internal),
        Record::WebhookDelivery(d) => outbox::insert_delivery(conn, d),
        Record::WebhookAttempt(a) => outbox::insert_attempt(conn, a.delivery_id, &a.to_attempt()),
        Record::WebhookEvent(e) => outbox::insert_event(conn, e),
        Record::CannedReply(c) => super::staff::insert_canned(conn, &c.to_canned()),
        Record::End(_) => Ok(()),
    }
}

impl SqliteStore {
    /// Sends every record of the database, in the export file's order, from
    /// one snapshot.
    pub async fn export(&self, out: Outgoing) -> StoreResult<()> {
        self.readers.read(move |conn| export(conn, &out)).await
    }

    /// Loads an export file into this empty database in one transaction.
    pub async fn import(&self, incoming: Incoming) -> Result<u64, ImportError> {
        self.writer
            .write(move |conn| {
                import(conn, incoming).map_err(|e| StoreError::Internal(anyhow::Error::new(e)))
            })
            .await
            .map_err(|e| match e {
                StoreError::Internal(e) => match e.downcast::<ImportError>() {
                    Ok(refused) => refused,
                    Err(e) => ImportError::Store(StoreError::Internal(e)),
                },
                e => ImportError::Store(e),
            })
    }
}
