//! A small pool of read-only SQLite connections. In WAL mode readers never wait
//! for the writer; reads run on tokio's blocking pool, except point lookups.

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::anyhow;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::connect;
use crate::store::{StoreError, StoreResult};

pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    pub fn new(path: PathBuf, size: usize) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
        }
    }

    /// Runs `read` on an idle connection in tokio's blocking pool.
    pub async fn read<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self.permit().await?;
        let conn = self.check_out()?;
        let (conn, result) = tokio::task::spawn_blocking(move || {
            let result = read(&conn);
            (conn, result)
        })
        .await
        .map_err(|e| StoreError::Internal(anyhow!("a read failed: {e}")))?;
        self.check_in(conn);
        result
    }

    /// Runs `read` on the calling thread. Only for lookups of a few rows by a
    /// unique key (tens of microseconds), where the hop to the blocking pool
    /// and back costs more than the read itself.
    pub async fn read_inline<T>(
        &self,
        read: impl FnOnce(&Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let _permit = self.permit().await?;
        let conn = self.check_out()?;
        let result = read(&conn);
        self.check_in(conn);
        result
    }

    async fn permit(&self) -> StoreResult<tokio::sync::SemaphorePermit<'_>> {
        self.permits
            .acquire()
            .await
            .map_err(|_| StoreError::Internal(anyhow!("the reader pool is closed")))
    }

    /// An idle connection, or a new one if none is idle (one may have been lost
    /// with a read that panicked).
    fn check_out(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => connect(&self.path, true),
        }
    }

    fn check_in(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }
}
