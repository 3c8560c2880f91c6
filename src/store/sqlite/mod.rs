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
mod readers;
mod tenants;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use uuid::Uuid;

use crate::domain::fault::Fault;
use crate::domain::json::WrittenPage;
use crate::domain::message::Message;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::ratelimit::{Decision, LocalLimiter, RateLimit};
use crate::store::export::{ImportError, Incoming, Outgoing};
use crate::store::{
    AccessTokenInfo, Attempt, Background, Claim, Claimed, ClockMove, Content, DeliveryInfo,
    DeliveryOutcome, DeliveryQuery, DeliveryView, Emulator, Enterprise, Faults, Integration,
    MessageBatch, MessageQuery, NewAccessToken, NewIntegration, Notices, Outbox, RateLimits,
    ResetCounts, ResetScope, Store, StoreError, StoreResult, Tenants, ThreadQuery, TokenRef,
    WebhookBacklog, WriteStats,
};
use crate::tokens::TokenHash;
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

/// A stored value that does not read as what its column should hold.
fn conversion(
    column: usize,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, cause.into())
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

impl SqliteStore {
    /// Writes many threads in one transaction (the benchmark's data generator).
    pub async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()> {
        self.writer
            .write(move |conn| {
                threads
                    .iter()
                    .try_for_each(|t| content::insert_thread(conn, t))
            })
            .await
    }
}

impl SqliteStore {
    /// Sends every record of the database, in the export file's order, from
    /// one snapshot.
    pub async fn export(&self, out: Outgoing) -> StoreResult<()> {
        self.readers
            .read(move |conn| export::export(conn, &out))
            .await
    }

    /// Loads an export file into this empty database in one transaction.
    pub async fn import(&self, incoming: Incoming) -> Result<u64, ImportError> {
        self.writer
            .write(move |conn| {
                export::import(conn, incoming)
                    .map_err(|e| StoreError::Internal(anyhow::Error::new(e)))
            })
            .await
            .map_err(|e| match e {
                StoreError::Internal(e) => match e.downcast::<ImportError>() {
                    Ok(refused) => refused,
                    Err(e) => ImportError::Store(StoreError::Internal(e)),
                },
                e => ImportError::Store(e),
            })
    }
}

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

#[async_trait]
impl crate::store::Inbox for SqliteStore {
    async fn inbox_page(
        &self,
        query: crate::store::inbox::InboxQuery,
    ) -> StoreResult<Vec<crate::store::inbox::InboxRow>> {
        self.readers
            .read_short(move |conn| inbox::page(conn, &query))
            .await
    }

    async fn awaiting_count(&self) -> StoreResult<u64> {
        self.readers.read(inbox::awaiting_count).await
    }

    async fn end_session(&self, id: String, expires_utc: i64, now_utc: i64) -> StoreResult<()> {
        self.writer
            .write(move |conn| inbox::end_session(conn, &id, expires_utc, now_utc))
            .await
    }

    async fn session_ended(&self, id: String) -> StoreResult<bool> {
        self.readers
            .read(move |conn| inbox::session_ended(conn, &id))
            .await
    }
}

#[async_trait]
impl Faults for SqliteStore {
    async fn add_fault(&self, fault: Fault) -> StoreResult<()> {
        self.writer
            .write(move |conn| faults::add(conn, &fault))
            .await
    }

    async fn faults(&self) -> StoreResult<Vec<Fault>> {
        self.readers.read(faults::all).await
    }

    async fn delete_faults(&self, ids: Option<Vec<Uuid>>) -> StoreResult<u64> {
        self.writer
            .write(move |conn| faults::delete(conn, ids.as_deref()))
            .await
    }

    async fn use_fault(&self, id: Uuid) -> StoreResult<bool> {
        self.writer
            .write(move |conn| faults::take_use(conn, id))
            .await
    }
}

#[async_trait]
impl Emulator for SqliteStore {
    async fn start_clock(&self, start_ms: i64) -> StoreResult<i64> {
        self.writer
            .write(move |conn| emulator::start_clock(conn, start_ms))
            .await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        self.writer
            .write(move |conn| emulator::move_clock(conn, to_ms, false))
            .await
    }

    async fn advance_clock(&self, by_ms: i64) -> StoreResult<ClockMove> {
        self.writer
            .write(move |conn| emulator::move_clock(conn, by_ms, true))
            .await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        let (counts, tokens) = self
            .writer
            .write(move |conn| emulator::reset(conn, &scope))
            .await?;
        // The windows live in this process; they go once the reset is durable.
        self.limiter.forget(&tokens);
        Ok(counts)
    }
}

#[async_trait]
impl RateLimits for SqliteStore {
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision> {
        Ok(self.limiter.check(limit, token_id, now_ms))
    }
}

#[async_trait]
impl Content for SqliteStore {
    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread> {
        self.writer
            .write(move |conn| content::insert_thread(conn, &thread).map(|()| thread))
            .await
    }

    async fn threads(&self, query: ThreadQuery) -> StoreResult<Vec<Thread>> {
        self.readers
            .read_short(move |conn| content::thread_page(conn, &query))
            .await
    }

    async fn written_threads(&self, query: ThreadQuery) -> StoreResult<WrittenPage> {
        self.readers
            .read_short(move |conn| content::written_threads(conn, &query))
            .await
    }

    async fn add_messages(&self, batch: MessageBatch) -> StoreResult<Vec<Message>> {
        self.writer
            .write(move |conn| content::add_messages(conn, batch))
            .await
    }

    async fn messages(&self, query: MessageQuery) -> StoreResult<Vec<Message>> {
        self.readers
            .read_short(move |conn| content::message_page(conn, &query))
            .await
    }

    async fn written_messages(&self, query: MessageQuery) -> StoreResult<WrittenPage> {
        self.readers
            .read_short(move |conn| content::written_messages(conn, &query))
            .await
    }

    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
    ) -> StoreResult<Thread> {
        self.writer
            .write(move |conn| content::set_resolved(conn, thread_id, is_resolved, at))
            .await
    }
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<()> {
        self.writer
            .write(move |conn| outbox::set_url(conn, integration, url.as_deref()))
            .await
    }

    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed> {
        self.writer
            .write(move |conn| outbox::claim(conn, &claim))
            .await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        attempt: Attempt,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| outbox::finish(conn, id, &outcome, &attempt))
            .await
    }

    async fn resend_deliveries(&self, ids: Vec<Uuid>) -> StoreResult<Vec<Uuid>> {
        self.writer
            .write(move |conn| outbox::resend(conn, &ids))
            .await
    }

    async fn delivery_page(&self, query: DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
        self.readers
            .read(move |conn| outbox::page(conn, &query))
            .await
    }

    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
        self.readers
            .read(move |conn| outbox::list(conn, failed_only))
            .await
    }

    async fn retry_deliveries(&self, id: Option<Uuid>) -> StoreResult<u64> {
        self.writer.write(move |conn| outbox::retry(conn, id)).await
    }

    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| outbox::prune(conn, before_ms))
            .await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        self.readers.read(outbox::backlog).await
    }
}

#[async_trait]
impl Tenants for SqliteStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        self.readers.read(tenants::is_empty).await
    }

    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>> {
        // A lookup by unique digest: cheaper to run here than to hand over.
        self.readers
            .read_inline(|conn| tenants::find_access(conn, client_token, access_token))
            .await
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()> {
        self.writer
            .write(move |conn| tenants::add_enterprise(conn, &enterprise))
            .await
    }

    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>> {
        self.readers.read(tenants::enterprises).await
    }

    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()> {
        self.writer
            .write(move |conn| tenants::add_integration(conn, &integration))
            .await
    }

    async fn integrations(&self) -> StoreResult<Vec<Integration>> {
        self.readers.read(tenants::integrations).await
    }

    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        self.writer
            .write(move |conn| tenants::add_access_token(conn, &token))
            .await
    }

    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>> {
        self.readers.read(tenants::access_tokens).await
    }

    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<()> {
        self.writer
            .write(move |conn| tenants::revoke_access_token(conn, token, at))
            .await
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::store::Tenants;

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

    /// Every prepared statement of `conn` that SQLite planned again since it
    /// was prepared, with how often.
    fn replanned(conn: &Connection) -> Vec<(String, i32)> {
        use rusqlite::ffi;
        let mut found = Vec::new();
        // SAFETY: the handle is live while `conn` is borrowed, and statements
        // are only read, on this thread.
        unsafe {
            let db = conn.handle();
            let mut statement = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
            while !statement.is_null() {
                let n = ffi::sqlite3_stmt_status(statement, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
                if n > 0 {
                    let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(statement));
                    found.push((sql.to_string_lossy().into_owned(), n));
                }
                statement = ffi::sqlite3_next_stmt(db, statement);
            }
        }
        found
    }

    /// SQLite plans a statement again, at every run, when a value bound to it
    /// steers its plan (a bound `LIMIT`, a bound key that a join propagates):
    /// that once cost a page of 100 threads a third of its CPU. The statements
    /// of the request paths run twice here with other values, and none may be
    /// planned again.
    #[tokio::test]
    async fn request_statements_are_planned_once() {
        use crate::demo;
        use crate::domain::message::{Message, Sender};
        use crate::domain::scope::Visibility;
        use crate::domain::thread::Thread;
        use crate::store::inbox::InboxQuery;
        use crate::store::{Content, MessageBatch, MessageQuery, ThreadQuery};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plans.db");
        let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        demo::seed(&store, Timestamp::from_unix(1_700_000_000))
            .await
            .unwrap();
        let mut threads = Vec::new();
        for i in 0..4 {
            let at = Timestamp::from_unix(1_700_000_000 + i);
            let thread = Thread {
                id: Uuid::new_v4(),
                integration_id: demo::SAMPLE_CLIENT,
                enterprise_id: demo::GROSS,
                original_sender: format!("Guest {i}"),
                subject: "Plans".to_owned(),
                created: at,
                updated: at,
                is_resolved: false,
            };
            threads.push(store.add_thread(thread).await.unwrap().id);
        }
        let visibility = Visibility {
            integration: Some(demo::SAMPLE_CLIENT),
            enterprises: Some(vec![demo::GROSS, demo::NET]),
        };
        let batch = |thread: Uuid, text: &str| MessageBatch {
            visibility: visibility.clone(),
            messages: vec![Message {
                id: Uuid::new_v4(),
                thread_id: thread,
                text: text.to_owned(),
                sender: Sender::Application,
                created: Timestamp::from_unix(1_700_000_100),
            }],
            at_ms: 1_700_000_100_000,
        };
        let mut messages = Vec::new();
        for (i, &thread) in threads.iter().enumerate() {
            messages.push(
                store
                    .add_messages(batch(thread, &format!("{i}")))
                    .await
                    .unwrap()[0]
                    .id,
            );
        }

        let writer = connect(&path, false).unwrap();
        let reader = connect(&path, true).unwrap();
        for run in [0, 1, 0, 1_usize] {
            tenants::find_access(
                &reader,
                TokenHash::of(demo::CLIENT_TOKEN),
                TokenHash::of(if run == 0 {
                    demo::PORTFOLIO_ACCESS_TOKEN
                } else {
                    demo::NET_ACCESS_TOKEN
                }),
            )
            .unwrap()
            .expect("the demo tokens");
            let query = ThreadQuery {
                visibility: visibility.clone(),
                enterprises: Some(vec![demo::GROSS]),
                integrations: None,
                is_resolved: None,
                thread_ids: None,
                created: Some((1_600_000_000 + run as i64, 1_800_000_000 - run as i64)),
                updated: None,
                cursor: Some(threads[3 - run]),
                count: 2 + run as u32,
            };
            assert!(!content::thread_page(&reader, &query).unwrap().is_empty());
            assert!(content::written_threads(&reader, &query).unwrap().len > 0);
            content::message_page(
                &reader,
                &MessageQuery {
                    visibility: visibility.clone(),
                    thread_ids: threads.clone(),
                    enterprises: None,
                    created: None,
                    cursor: Some(messages[3 - run]),
                    count: 2 + run as u32,
                },
            )
            .unwrap();
            inbox::page(
                &reader,
                &InboxQuery {
                    resolved: Some(run == 0),
                    awaiting: run == 1,
                    enterprise: None,
                    integration: None,
                    search: None,
                    after: Some(threads[run]),
                    count: 2 + run,
                },
            )
            .unwrap();
            content::add_messages(&writer, batch(threads[run], "again")).unwrap();
        }
        assert_eq!(replanned(&reader), vec![], "reads planned again");
        assert_eq!(replanned(&writer), vec![], "writes planned again");
    }

    /// The opcodes of `sql`'s program.
    fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
        let mut explain = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let mut rows = explain.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            found.push(row.get::<_, String>(1).unwrap());
        }
        found
    }

    /// See [`query::push_visibility`]: a page of a portfolio token's threads
    /// runs without a Bloom filter of its enterprises.
    #[tokio::test]
    async fn scope_lists_build_no_bloom_filter() {
        use crate::domain::scope::Visibility;
        use crate::store::ThreadQuery;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bloom.db");
        SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        let reader = connect(&path, true).unwrap();
        let query = ThreadQuery {
            visibility: Visibility {
                integration: Some(Uuid::new_v4()),
                enterprises: Some(vec![Uuid::new_v4(), Uuid::new_v4()]),
            },
            enterprises: None,
            integrations: None,
            is_resolved: None,
            thread_ids: None,
            created: Some((0, 1_800_000_000)),
            updated: None,
            cursor: None,
            count: 100,
        };
        let (sql, _) = content::thread_page_query(&reader, &query, content::VIEW_COLUMNS).unwrap();
        let ops = opcodes(&reader, &sql);
        assert!(ops.iter().any(|op| op == "Column"), "{ops:?}");
        assert!(!ops.iter().any(|op| op.starts_with("Filter")), "{ops:?}");
        // The same scope as a plain list would build one: the test can tell.
        let plain = sql.replace(
            "(SELECT value FROM rarray(:vis_scope) ORDER BY value)",
            "rarray(:vis_scope)",
        );
        assert_ne!(plain, sql);
        assert!(opcodes(&reader, &plain).iter().any(|op| op == "FilterAdd"));
    }
}
