//! The single SQLite writer, with group commit.
//!
//! SQLite allows one writer at a time, and with `synchronous=FULL` every commit
//! waits for an fsync. Instead of one transaction (and one fsync) per request,
//! one thread owns the write connection: it takes every write that is waiting,
//! runs each in its own savepoint inside one transaction, commits once, and only
//! then answers each caller. Writes that arrive during an fsync form the next
//! group, so the number of fsyncs per second stays bounded while throughput grows
//! with concurrency. A write that fails is rolled back to its savepoint alone.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use anyhow::anyhow;
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult, WriteStats};

/// Most writes grouped into one transaction.
const MAX_GROUP: usize = 512;

/// Runs a write inside its savepoint, then gets the outcome of the commit.
type Job = Box<dyn FnOnce(&Connection) -> Completion + Send>;
type Completion = Box<dyn FnOnce(Result<(), String>) + Send>;

pub struct Writer {
    jobs: mpsc::Sender<Job>,
    stats: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `conn`, which must be set up already.
    pub fn start(conn: Connection) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let stats = Arc::new(Counters::default());
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue, &thread_stats))?;
        Ok(Self { jobs, stats })
    }

    pub fn stats(&self) -> WriteStats {
        WriteStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }

    /// Runs `work` in the next group; returns once its group is durably committed.
    pub async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, work);
            Box::new(move |commit: Result<(), String>| {
                let result = match (outcome, commit) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(e), _) => Err(e),
                    (Ok(_), Err(e)) => Err(StoreError::Internal(anyhow!("commit failed: {e}"))),
                };
                let _ = reply.send(result);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| StoreError::Internal(anyhow!("the SQLite writer has stopped")))?;
        answer
            .await
            .map_err(|_| StoreError::Internal(anyhow!("the SQLite writer dropped a write")))?
    }
}

/// Runs one statement of transaction control through the statement cache:
/// `execute_batch` parsed `SAVEPOINT` and `RELEASE` again for every write,
/// 15% of a `messageThreads/add`'s instructions.
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> StoreResult<T>,
) -> StoreResult<T> {
    control(conn, "SAVEPOINT job").map_err(internal)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(StoreError::Internal(anyhow!("a write panicked"))));
    if outcome.is_err() {
        control(conn, "ROLLBACK TO job").map_err(internal)?;
    }
    control(conn, "RELEASE job").map_err(internal)?;
    outcome
}

fn run(conn: Connection, queue: mpsc::Receiver<Job>, stats: &Counters) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            tracing::error!(error = %e, "could not begin a write transaction");
            // Dropping the jobs closes their reply channels: each write fails.
            drop(group);
            continue;
        }
        let completions: Vec<Completion> = group.into_iter().map(|job| job(&conn)).collect();
        let commit = control(&conn, "COMMIT").map_err(|e| {
            let _ = control(&conn, "ROLLBACK");
            e.to_string()
        });
        if commit.is_ok() {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats
                .writes
                .fetch_add(completions.len() as u64, Ordering::Relaxed);
        }
        for completion in completions {
            completion(commit.clone());
        }
    }
}

/// What the store reports for a failure of SQLite: the file busy beyond the
/// wait, unreadable or unwritable (a full disk, an I/O error) is
/// [`StoreError::Unavailable`], a 503 to retry; anything else is internal.
pub fn internal(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{
        CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, FileLockingProtocolFailed,
        SystemIoFailure,
    };
    match e.sqlite_error_code() {
        Some(
            DatabaseBusy
            | DatabaseLocked
            | DiskFull
            | SystemIoFailure
            | CannotOpen
            | FileLockingProtocolFailed,
        ) => StoreError::Unavailable(format!("SQLite: {e}")),
        _ => StoreError::Internal(anyhow!(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_or_broken_file_is_out_of_reach_and_a_bad_statement_is_not() {
        let failure = |code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("x".into()))
        };
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_IOERR,
        ] {
            assert!(
                matches!(internal(failure(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            internal(failure(rusqlite::ffi::SQLITE_CONSTRAINT)),
            StoreError::Internal(_)
        ));
        assert!(matches!(
            internal(rusqlite::Error::QueryReturnedNoRows),
            StoreError::Internal(_)
        ));
    }
    use crate::store::sqlite::connect;

    #[tokio::test]
    async fn writes_waiting_during_a_commit_share_the_next_one() {
        use std::future::Future;
        use std::pin::Pin;
        use std::task::{Context, Waker};

        let dir = tempfile::tempdir().unwrap();
        let conn = connect(&dir.path().join("w.db"), false).unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER)").unwrap();
        let writer = Arc::new(Writer::start(conn).unwrap());

        // The first write holds the writer thread until 99 more are queued.
        let (started, running) = oneshot::channel();
        let (release, blocked) = mpsc::channel::<()>();
        let first = {
            let writer = writer.clone();
            tokio::spawn(async move {
                writer
                    .write(move |conn| {
                        let _ = started.send(());
                        blocked.recv().ok();
                        conn.execute("INSERT INTO t VALUES (0)", [])
                            .map_err(internal)
                    })
                    .await
            })
        };
        running.await.unwrap();

        type Pending<'a> = Pin<Box<dyn Future<Output = StoreResult<usize>> + Send + 'a>>;
        let mut rest: Vec<Pending<'_>> = (1..100)
            .map(|n| {
                Box::pin(writer.write(move |conn| {
                    conn.execute("INSERT INTO t VALUES (?1)", [n])
                        .map_err(internal)
                })) as Pending<'_>
            })
            .collect();
        // One poll each queues the write; none can finish while the writer is held.
        let mut cx = Context::from_waker(Waker::noop());
        for write in &mut rest {
            assert!(write.as_mut().poll(&mut cx).is_pending());
        }
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        for write in rest {
            write.await.unwrap();
        }
        let stats = writer.stats();
        assert_eq!(stats.writes, 100);
        assert_eq!(stats.commits, 2, "the 99 waiting writes share one commit");
    }

    #[tokio::test]
    async fn a_failing_write_is_rolled_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connect(&dir.path().join("w.db"), false).unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER UNIQUE)")
            .unwrap();
        let writer = Writer::start(conn).unwrap();
        writer
            .write(|c| c.execute("INSERT INTO t VALUES (1)", []).map_err(internal))
            .await
            .unwrap();
        let failed = writer
            .write(|c| {
                c.execute("INSERT INTO t VALUES (2)", [])
                    .map_err(internal)?;
                c.execute("INSERT INTO t VALUES (1)", []).map_err(internal)
            })
            .await;
        assert!(failed.is_err());
        let count: i64 = writer
            .write(|c| {
                c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
                    .map_err(internal)
            })
            .await
            .unwrap();
        assert_eq!(count, 1, "the failed write left nothing behind");
    }

    #[test]
    fn the_write_connection_is_wal_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let conn = connect(&dir.path().join("w.db"), false).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }
}
