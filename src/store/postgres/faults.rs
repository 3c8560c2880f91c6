//! Faults in PostgreSQL. Every change is announced on `switchboard_faults`, so
//! that every node applies the same faults at once.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::internal;
use crate::domain::fault::{Connection, Fault};
use crate::store::StoreResult;
use crate::store::faults::{COLUMNS, fault};
use async_trait::async_trait;

use super::PostgresStore;
use crate::store::Faults;

pub const CHANNEL: &str = "switchboard_faults";

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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            ),
            &[
                &f.id,
                &f.operation.name(),
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
                &f.connection.map(Connection::as_str),
                &f.matches.map(|m| m.message_thread_id),
                &f.webhook.map(crate::domain::fault::WebhookFault::as_str),
                &signed(f.delay_seconds),
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

#[async_trait]
impl Faults for PostgresStore {
    async fn add_fault(&self, fault: Fault) -> StoreResult<()> {
        add(&self.client().await?, &fault).await
    }

    async fn faults(&self) -> StoreResult<Vec<Fault>> {
        all(&self.client().await?).await
    }

    async fn delete_faults(&self, ids: Option<Vec<Uuid>>) -> StoreResult<u64> {
        delete(&self.client().await?, ids.as_deref()).await
    }

    async fn use_fault(&self, id: Uuid) -> StoreResult<bool> {
        take_use(&self.client().await?, id).await
    }
}
