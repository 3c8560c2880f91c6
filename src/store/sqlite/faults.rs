//! Faults in SQLite.

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::internal;
use super::query::{Args, execute, id_array, query};
use crate::domain::fault::{self, Fault};
use crate::store::StoreResult;
use crate::store::faults::{COLUMNS, fault};
use async_trait::async_trait;

use super::SqliteStore;
use crate::store::Faults;

pub fn add(conn: &Connection, f: &Fault) -> StoreResult<()> {
    insert(conn, f).map_err(internal)?;
    Ok(())
}

pub fn insert(conn: &Connection, f: &Fault) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO faults ({COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    ))
    .and_then(|mut insert| {
        insert.execute(params![
            f.id,
            f.operation.name(),
            f.integration_id,
            f.status,
            f.message,
            f.retry_after_seconds,
            f.delay_ms,
            f.probability,
            f.times,
            f.remaining,
            f.stage.as_str(),
            f.created_ms,
            f.connection.map(fault::Connection::as_str),
            f.matches.map(|m| m.message_thread_id),
            f.webhook.map(fault::WebhookFault::as_str),
            f.delay_seconds,
        ])
    })
}

pub fn all(conn: &Connection) -> StoreResult<Vec<Fault>> {
    let sql = format!("SELECT {COLUMNS} FROM faults ORDER BY seq");
    query(conn, &sql, &Args::new(), |row| fault(row))
}

pub fn delete(conn: &Connection, ids: Option<&[Uuid]>) -> StoreResult<u64> {
    let mut args = Args::new();
    let sql = match ids {
        None => "DELETE FROM faults",
        Some(ids) => {
            args.push((":ids", Box::new(id_array(ids))));
            "DELETE FROM faults WHERE id IN rarray(:ids)"
        }
    };
    execute(conn, sql, &args)
}

pub fn take_use(conn: &Connection, id: Uuid) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE faults SET remaining = remaining - 1 WHERE id = ?1 AND remaining > 0",
        )
        .and_then(|mut update| update.execute([id]))
        .map_err(internal)?;
    Ok(changed == 1)
}

#[async_trait]
impl Faults for SqliteStore {
    async fn add_fault(&self, fault: Fault) -> StoreResult<()> {
        self.writer.write(move |conn| add(conn, &fault)).await
    }

    async fn faults(&self) -> StoreResult<Vec<Fault>> {
        self.readers.read(all).await
    }

    async fn delete_faults(&self, ids: Option<Vec<Uuid>>) -> StoreResult<u64> {
        self.writer
            .write(move |conn| delete(conn, ids.as_deref()))
            .await
    }

    async fn use_fault(&self, id: Uuid) -> StoreResult<bool> {
        self.writer.write(move |conn| take_use(conn, id)).await
    }
}
