//! Faults in PostgreSQL. Every change is announced on `switchboard_faults`, so
//! that every node applies the same faults at once.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use super::internal;
use crate::domain::fault::{Fault, Stage};
use crate::store::StoreResult;
use crate::store::faults::COLUMNS;

pub const CHANNEL: &str = "switchboard_faults";

pub fn fault(r: &Row) -> StoreResult<Fault> {
    let stage: &str = r.get(10);
    let unsigned = |column: usize| -> StoreResult<Option<u32>> {
        r.get::<_, Option<i32>>(column)
            .map(|n| u32::try_from(n).map_err(internal))
            .transpose()
    };
    Ok(Fault {
        id: r.get(0),
        operation: r.get(1),
        integration_id: r.get(2),
        status: r
            .get::<_, Option<i32>>(3)
            .map(|n| u16::try_from(n).map_err(internal))
            .transpose()?,
        message: r.get(4),
        retry_after_seconds: unsigned(5)?,
        delay_ms: unsigned(6)?.unwrap_or_default(),
        probability: r.get(7),
        times: unsigned(8)?,
        remaining: unsigned(9)?,
        stage: Stage::parse(stage).ok_or_else(|| internal(format!("unknown stage {stage}")))?,
        created_ms: r.get(11),
    })
}

fn signed(n: Option<u32>) -> Option<i32> {
    n.map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

async fn announce(client: &impl GenericClient) -> StoreResult<()> {
    client
        .execute("SELECT pg_notify($1, '')", &[&CHANNEL])
        .await
        .map_err(internal)?;
    Ok(())
}

pub async fn add(client: &impl GenericClient, f: &Fault) -> StoreResult<()> {
    insert(client, f).await.map_err(internal)?;
    announce(client).await
}

pub async fn insert(client: &impl GenericClient, f: &Fault) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            &format!(
                "INSERT INTO faults ({COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ),
            &[
                &f.id,
                &f.operation,
                &f.integration_id,
                &f.status.map(i32::from),
                &f.message,
                &signed(f.retry_after_seconds),
                &signed(Some(f.delay_ms)),
                &f.probability,
                &signed(f.times),
                &signed(f.remaining),
                &f.stage.as_str(),
                &f.created_ms,
            ],
        )
        .await
}

pub async fn all(client: &impl GenericClient) -> StoreResult<Vec<Fault>> {
    client
        .query(&format!("SELECT {COLUMNS} FROM faults ORDER BY seq"), &[])
        .await
        .map_err(internal)?
        .iter()
        .map(fault)
        .collect()
}

pub async fn delete(client: &impl GenericClient, ids: Option<&[Uuid]>) -> StoreResult<u64> {
    let deleted = match ids {
        None => client.execute("DELETE FROM faults", &[]).await,
        Some(ids) => {
            client
                .execute("DELETE FROM faults WHERE id = ANY($1)", &[&ids])
                .await
        }
    }
    .map_err(internal)?;
    announce(client).await?;
    Ok(deleted)
}

/// One statement: two nodes taking the last use at once cannot both get it.
pub async fn take_use(client: &impl GenericClient, id: Uuid) -> StoreResult<bool> {
    let left: Option<i32> = client
        .query_opt(
            "UPDATE faults SET remaining = remaining - 1 \
             WHERE id = $1 AND remaining > 0 RETURNING remaining",
            &[&id],
        )
        .await
        .map_err(internal)?
        .map(|r| r.get(0));
    if left == Some(0) {
        announce(client).await?;
    }
    Ok(left.is_some())
}
