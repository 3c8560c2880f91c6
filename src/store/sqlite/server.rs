//! What a serving process needs of its SQLite file: whether it answers, the
//! group commit's counters, and the leases a previous process left.

use async_trait::async_trait;

use super::{SqliteStore, internal, outbox};
use crate::store::admission::Admit;
use crate::store::{Background, Notices, Store, StoreResult, WriteStats};

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            .read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(internal))
            .await
    }

    fn write_stats(&self) -> Option<WriteStats> {
        Some(self.writer.stats())
    }

    /// One server process owns the file: leases left by a previous process
    /// belong to nobody, so they are freed at once.
    async fn serve(&self, _notices: Notices) -> StoreResult<Background> {
        self.writer.write(outbox::release_leases).await?;
        Ok(Background::default())
    }
}

/// One process owns the file, so admission runs in turn: nothing to send
/// together with it.
impl Admit for SqliteStore {}
