//! Faults in the database, where every node finds them and where `Times`
//! counts down exactly once per use across nodes.

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::fault::Fault;

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
                           delay_ms, probability, times, remaining, stage, created_ms";
