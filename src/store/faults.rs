//! Faults in the database, where every node finds them and where `Times`
//! counts down exactly once per use across nodes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::row::{Row, unknown};
use crate::domain::fault::{Connection, Fault, Match, Stage, Target, WebhookFault};

#[async_trait]
pub trait Faults: Send + Sync {
    async fn add_fault(&self, fault: Fault) -> StoreResult<()>;
    /// Every fault, in the order they were added.
    async fn faults(&self) -> StoreResult<Vec<Fault>>;
    /// Removes these faults (all when `None`); how many went.
    async fn delete_faults(&self, ids: Option<Vec<Uuid>>) -> StoreResult<u64>;
    /// Takes one use of a fault that has `Times`: whether one was left.
    async fn use_fault(&self, id: Uuid) -> StoreResult<bool>;
}

/// The columns of a fault, in the order both backends read them.
pub const COLUMNS: &str = "id, operation, integration_id, status, message, retry_after_seconds, \
                           delay_ms, probability, times, remaining, stage, created_ms, \
                           connection, match_thread_id, webhook, delay_seconds";

/// A row of [`COLUMNS`].
pub fn fault(row: &impl Row) -> StoreResult<Fault> {
    let operation = row.text(1)?;
    let stage = row.text(10)?;
    Ok(Fault {
        id: row.uuid(0)?,
        operation: Target::parse(operation).ok_or_else(|| unknown("fault operation", operation))?,
        integration_id: row.uuid_or_null(2)?,
        status: row.number_or_null(3)?,
        message: row.string_or_null(4)?,
        retry_after_seconds: row.number_or_null(5)?,
        delay_ms: row.number(6)?,
        probability: row.real(7)?,
        times: row.number_or_null(8)?,
        remaining: row.number_or_null(9)?,
        stage: Stage::parse(stage).ok_or_else(|| unknown("fault stage", stage))?,
        created_ms: row.int(11)?,
        connection: match row.text_or_null(12)? {
            None => None,
            Some(c) => Some(Connection::parse(c).ok_or_else(|| unknown("fault connection", c))?),
        },
        matches: row
            .uuid_or_null(13)?
            .map(|message_thread_id| Match { message_thread_id }),
        webhook: match row.text_or_null(14)? {
            None => None,
            Some(w) => Some(WebhookFault::parse(w).ok_or_else(|| unknown("webhook fault", w))?),
        },
        delay_seconds: row.number_or_null(15)?,
    })
}
