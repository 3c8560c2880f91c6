//! Faults in SQLite.

use rusqlite::{Connection, Row, params};
use uuid::Uuid;

use super::query::{Args, execute, id_array};
use super::{conversion, internal};
use crate::domain::fault::{Fault, Stage};
use crate::store::StoreResult;
use crate::store::faults::COLUMNS;

pub fn fault(r: &Row<'_>) -> rusqlite::Result<Fault> {
    let stage: String = r.get(10)?;
    Ok(Fault {
        id: r.get(0)?,
        operation: r.get(1)?,
        integration_id: r.get(2)?,
        status: r.get(3)?,
        message: r.get(4)?,
        retry_after_seconds: r.get(5)?,
        delay_ms: r.get(6)?,
        probability: r.get(7)?,
        times: r.get(8)?,
        remaining: r.get(9)?,
        stage: Stage::parse(&stage)
            .ok_or_else(|| conversion(10, format!("unknown stage {stage}")))?,
        created_ms: r.get(11)?,
    })
}

pub fn add(conn: &Connection, f: &Fault) -> StoreResult<()> {
    insert(conn, f).map_err(internal)?;
    Ok(())
}

pub fn insert(conn: &Connection, f: &Fault) -> rusqlite::Result<usize> {
    conn.prepare_cached(&format!(
        "INSERT INTO faults ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))
    .and_then(|mut insert| {
        insert.execute(params![
            f.id,
            f.operation,
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
        ])
    })
}

pub fn all(conn: &Connection) -> StoreResult<Vec<Fault>> {
    let mut select = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM faults ORDER BY seq"))
        .map_err(internal)?;
    let faults = select
        .query_map([], fault)
        .and_then(Iterator::collect)
        .map_err(internal)?;
    Ok(faults)
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
