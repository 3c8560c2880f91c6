//! The SQLite backend: one file, WAL mode, `synchronous=FULL`.
//!
//! Writes go through the group-commit [`writer::Writer`]; reads use a small pool
//! of read-only connections. Rate-limit logs live in this process, since one
//! server process owns a SQLite database.

mod content;
mod emulator;
mod export;
mod faults;
mod inbox;
mod outbox;
mod query;
mod rate_limits;
mod readers;
mod server;
mod staff;
mod tenants;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use rusqlite::{Connection, OpenFlags};

use crate::ratelimit::LocalLimiter;
use crate::store::{StoreError, StoreResult};
use readers::Readers;
use writer::Writer;
pub(crate) use writer::internal;

/// The versioned schema, applied in order at start.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_messages.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_webhooks.sql"),
    ),
    (4, include_str!("../../../migrations/sqlite/0004_clock.sql")),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_faults_attempts.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/sqlite/0006_ended_sessions.sql"),
    ),
    (
        7,
        include_str!("../../../migrations/sqlite/0007_token_enterprise_ids.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/sqlite/0008_emulator_tools.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/sqlite/0009_webhooks.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/sqlite/0010_staff.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/sqlite/0011_inbox.sql"),
    ),
    (12, include_str!("../../../migrations/sqlite/0012_team.sql")),
];

/// Read connections kept open.
const READERS: usize = 4;

pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    limiter: LocalLimiter,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if needed, and migrates it.
    pub async fn open(path: &str) -> anyhow::Result<Self> {
        if path.is_empty() {
            anyhow::bail!("the SQLite database URL names no file: use sqlite://PATH");
        }
        let path = PathBuf::from(path);
        create_private(&path)
            .with_context(|| format!("cannot create SQLite database {}", path.display()))?;
        let writer_path = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
            let mut conn = connect(&writer_path, false).with_context(|| {
                format!("cannot open SQLite database {}", writer_path.display())
            })?;
            migrate(&mut conn)?;
            Ok(conn)
        })
        .await??;
        Ok(Self {
            writer: Writer::start(conn)?,
            readers: Readers::new(path, READERS),
            limiter: LocalLimiter::default(),
        })
    }
}

/// Creates the database file readable by its owner only, if it does not exist:
/// it holds every message and the token digests. SQLite gives its `-wal` and
/// `-shm` files the permissions of the database file.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The claim of one server on a SQLite file: an exclusive lock on the file
/// (`flock`, which SQLite's own locks do not touch), held while this lives.
/// The command line's other verbs do not claim: they may run beside the
/// server, as SQLite lets them.
#[derive(Debug)]
pub struct Owner {
    _file: std::fs::File,
}

/// Claims the SQLite file at `path` for this server (making the file, private,
/// if it is not there), or says which file another server holds.
pub fn claim(path: &Path) -> anyhow::Result<Owner> {
    create_private(path)
        .with_context(|| format!("cannot make the SQLite database {}", path.display()))?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .open(path)
        .with_context(|| format!("cannot open the SQLite database {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Owner { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another switchboard serves the SQLite database {}: two servers on one file would \
             both send its webhooks. Stop the other one, give this one another --database, or \
             use PostgreSQL to run several nodes",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock the SQLite database {}", path.display()))
        }
    }
}

/// Opens a connection with the settings every connection needs.
fn connect(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(internal)?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(internal)?;
    if !read_only {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(internal)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Internal(anyhow!(
                "SQLite refused WAL mode (journal_mode is {mode})"
            )));
        }
        // Every commit is on disk before it is acknowledged.
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(internal)?;
    }
    rusqlite::vtab::array::load_module(&conn).map_err(internal)?;
    // What the inbox's search index holds of a text (migration 11).
    conn.create_scalar_function(
        "switchboard_fold",
        1,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8
            | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let text: Option<String> = context.get(0)?;
            Ok(text.map(|t| crate::domain::search::fold(&t)))
        },
    )
    .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Applies the migrations this database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY NOT NULL,
            applied_utc INTEGER NOT NULL
        )",
    )?;
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    for &(version, sql) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: i64 = tx.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )?;
        if current > latest {
            anyhow::bail!(
                "the database has schema version {current}, newer than this switchboard knows ({latest})"
            );
        }
        if version > current {
            tx.execute_batch(sql)
                .with_context(|| format!("migration {version} failed"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_utc) VALUES (?1, unixepoch())",
                [version],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use uuid::Uuid;

    use super::*;
    use crate::domain::time::Timestamp;
    use crate::store::{Enterprise, Tenants};
    use crate::tokens::TokenHash;

    #[tokio::test]
    async fn the_database_and_its_wal_files_are_readable_by_their_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("private.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        // A write makes SQLite create the -wal and -shm files.
        store
            .add_enterprise(Enterprise {
                id: Uuid::new_v4(),
                name: "Hotel".to_owned(),
                created: Timestamp::from_unix(0),
            })
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.path().join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", file.display());
        }
    }

    /// Migration 7 copies each token's enterprises into its row, in their
    /// order (not the order their rows were written), on a database that
    /// version 6 wrote; the token's lookup, its listing and a token without
    /// enterprises read them from there.
    #[tokio::test]
    async fn migration_7_copies_each_tokens_enterprises_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.db");
        let (home, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let (integration, portfolio, bare) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, \
                                                 applied_utc INTEGER NOT NULL)",
            )
            .unwrap();
            for &(version, sql) in &MIGRATIONS[..6] {
                tx.execute_batch(sql).unwrap();
                tx.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [version])
                    .unwrap();
            }
            for (i, enterprise) in [home, second, third].iter().enumerate() {
                tx.execute(
                    "INSERT INTO enterprises (id, name, created_utc) VALUES (?1, ?2, 0)",
                    rusqlite::params![enterprise, format!("Hotel {i}")],
                )
                .unwrap();
            }
            tx.execute(
                "INSERT INTO integrations (id, name, client_token_hash, created_utc) \
                 VALUES (?1, 'App', ?2, 0)",
                rusqlite::params![integration, &TokenHash::of("client").0[..]],
            )
            .unwrap();
            for (token, secret) in [(portfolio, "portfolio"), (bare, "bare")] {
                tx.execute(
                    "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc) \
                     VALUES (?1, ?2, ?3, 0)",
                    rusqlite::params![token, integration, &TokenHash::of(secret).0[..]],
                )
                .unwrap();
            }
            // Written out of their order.
            for (position, enterprise) in [(2, third), (0, home), (1, second)] {
                tx.execute(
                    "INSERT INTO access_token_enterprises (token_id, position, enterprise_id) \
                     VALUES (?1, ?2, ?3)",
                    rusqlite::params![portfolio, position, enterprise],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }

        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let grant = store
            .find_access(TokenHash::of("client"), TokenHash::of("portfolio"))
            .await
            .unwrap()
            .expect("the token is found");
        assert_eq!(grant.token_id, portfolio);
        assert_eq!(grant.enterprises, vec![home, second, third]);
        let grant = store
            .find_access(TokenHash::of("client"), TokenHash::of("bare"))
            .await
            .unwrap()
            .expect("the token is found");
        assert_eq!(grant.enterprises, Vec::<Uuid>::new());
        let listed = store.access_tokens().await.unwrap();
        let listed = listed.iter().find(|t| t.id == portfolio).unwrap();
        assert_eq!(listed.enterprises, vec![home, second, third]);
    }
}
