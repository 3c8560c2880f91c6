//! A small pool of read-only SQLite connections. In WAL mode readers never wait
//! for the writer. Reads run on tokio's blocking pool, except point lookups and
//! reads that turn out short (see [`Readers::read_short`]).

use std::ffi::c_int;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::{connect, internal};
use crate::store::{StoreError, StoreResult};

/// How much SQLite work a read may do on a runtime worker, in steps of its
/// virtual machine (roughly 10 to 50 ns each).
pub const INLINE_STEPS: u32 = 20_000;

/// How often SQLite asks whether to go on.
const STEPS_PER_CHECK: u32 = 1_000;

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
        self.on_pool(conn, read).await
    }

    /// Runs `read` on the calling thread while it stays short: past
    /// [`INLINE_STEPS`] steps of SQLite's virtual machine (a page of 100 threads
    /// takes about 2,000) SQLite stops it, and it runs again from the start on
    /// tokio's blocking pool. Most pages so skip the two thread hand-overs of
    /// [`Readers::read`], and no read holds a runtime worker for long.
    pub async fn read_short<T, F>(&self, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let _permit = self.permit().await?;
        let mut conn = self.check_out()?;
        let stopped = Arc::new(AtomicBool::new(false));
        let mut left = INLINE_STEPS / STEPS_PER_CHECK;
        let flag = stopped.clone();
        conn.progress_handler(
            STEPS_PER_CHECK as c_int,
            Some(move || {
                left = left.saturating_sub(1);
                if left == 0 {
                    flag.store(true, Ordering::Relaxed);
                }
                left == 0
            }),
        )
        .map_err(internal)?;
        let result = read(&conn);
        conn.progress_handler(0, None::<fn() -> bool>)
            .map_err(internal)?;
        if !stopped.load(Ordering::Relaxed) {
            self.check_in(conn);
            return result;
        }
        self.on_pool(conn, read).await
    }

    /// Runs `read` on `conn` in tokio's blocking pool, then puts `conn` back.
    async fn on_pool<T, F>(&self, conn: Connection, read: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Counts to `n` in SQLite: about 10 steps of its virtual machine a row.
    fn count_to(conn: &Connection, n: i64) -> StoreResult<i64> {
        conn.query_row(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) \
             SELECT count(*) FROM c",
            [n],
            |r| r.get(0),
        )
        .map_err(internal)
    }

    #[tokio::test]
    async fn a_short_read_runs_once_and_a_long_one_again_on_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readers.db");
        connect(&path, false).unwrap();
        let readers = Readers::new(path, 2);
        for (n, runs) in [(10, 1), (1_000_000, 2)] {
            let calls = Arc::new(AtomicUsize::new(0));
            let counted = calls.clone();
            let result = readers
                .read_short(move |conn| {
                    counted.fetch_add(1, Ordering::Relaxed);
                    count_to(conn, n)
                })
                .await
                .unwrap();
            assert_eq!(result, n);
            assert_eq!(
                calls.load(Ordering::Relaxed),
                runs,
                "runs of a read of {n} rows"
            );
        }
        // The connection that was stopped serves the next read as usual.
        for _ in 0..3 {
            assert_eq!(
                readers.read_short(|conn| count_to(conn, 5)).await.unwrap(),
                5
            );
        }
    }
}
