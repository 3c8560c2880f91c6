//! The SQLite backend: one file, WAL mode, `synchronous=FULL`.
//!
//! Writes go through the group-commit [`writer::Writer`]; reads use a small pool
//! of read-only connections. Rate-limit logs live in this process, since one
//! server process owns a SQLite database.

mod admin;
mod messages;
mod readers;
mod threads;
mod webhooks;
mod writer;

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, ToSql};
use uuid::Uuid;

use crate::domain::message::Message;
use crate::domain::paging::{CursorNotVisible, Position};
use crate::domain::scope::{AccessGrant, Visibility};
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::ratelimit::{Decision, LocalLimiter, RateLimit};
use crate::store::{
    AccessTokenInfo, Claim, Claimed, DeliveryInfo, DeliveryOutcome, Enterprise, Integration,
    MessageBatch, MessageQuery, NewAccessToken, NewIntegration, Store, StoreError, StoreResult,
    ThreadNotVisible, ThreadQuery, TokenRef, WebhookBacklog, WriteStats,
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

/// A list of ids as an `rarray()` parameter.
fn id_array(ids: &[Uuid]) -> Rc<Vec<Value>> {
    Rc::new(
        ids.iter()
            .map(|id| Value::Blob(id.as_bytes().to_vec()))
            .collect(),
    )
}

/// Named parameters of a query built piece by piece.
type Args = Vec<(&'static str, Box<dyn ToSql>)>;

/// Appends what every page query ends with: the creation interval, the start
/// strictly after `after`, newest first, at most `count` rows. Tables must have
/// `created_utc` and `seq` columns and an index ending in `(created_utc, seq)`
/// after their equality columns. `plus` is `"+"` when the range must not pick an
/// index (rows found by id).
///
/// The interval's end and the cursor are merged into one upper bound: SQLite
/// seeks an index range by one upper bound only, and with two it may start at the
/// newest row and scan down to the cursor, a cost that grows with depth.
fn push_page(
    sql: &mut String,
    args: &mut Args,
    created: Option<(i64, i64)>,
    after: Option<Position>,
    count: u32,
    plus: &str,
) {
    if let Some((first, _)) = created {
        sql.push_str(&format!(" AND {plus}created_utc >= :created_first"));
        args.push((":created_first", Box::new(first)));
    }
    let last = match (created.map(|c| c.1), after.map(|a| a.created)) {
        (Some(end), Some(cursor)) => Some(end.min(cursor)),
        (end, cursor) => end.or(cursor),
    };
    if let Some(last) = last {
        sql.push_str(&format!(" AND {plus}created_utc <= :created_last"));
        args.push((":created_last", Box::new(last)));
    }
    if let Some(after) = after {
        sql.push_str(" AND (created_utc < :after_created OR seq < :after_seq)");
        args.push((":after_created", Box::new(after.created)));
        args.push((":after_seq", Box::new(after.seq)));
    }
    sql.push_str(" ORDER BY created_utc DESC, seq DESC LIMIT :count");
    args.push((":count", Box::new(count)));
}

/// Appends the conditions of SPEC §6 on a `threads` row (with `alias`, such as
/// `"t."`): the caller's integration and the enterprises of its scope.
/// `plus` is `"+"` when the integration term must not pick an index.
fn push_visibility(sql: &mut String, args: &mut Args, visibility: &Visibility, alias_plus: &str) {
    let (plus, alias) = match alias_plus.strip_prefix('+') {
        Some(alias) => ("+", alias),
        None => ("", alias_plus),
    };
    if let Some(integration) = visibility.integration {
        sql.push_str(&format!(
            " AND {plus}{alias}integration_id = :vis_integration"
        ));
        args.push((":vis_integration", Box::new(integration)));
    }
    if let Some(scope) = &visibility.enterprises {
        sql.push_str(&format!(" AND {alias}enterprise_id IN rarray(:vis_scope)"));
        args.push((":vis_scope", Box::new(id_array(scope))));
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.readers
            .read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(internal))
            .await
    }

    async fn is_empty(&self) -> StoreResult<bool> {
        self.readers.read(admin::is_empty).await
    }

    fn write_stats(&self) -> WriteStats {
        self.writer.stats()
    }

    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>> {
        // A lookup by unique digest: cheaper to run here than to hand over.
        self.readers
            .read_inline(|conn| admin::find_access(conn, client_token, access_token))
            .await
    }

    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision> {
        Ok(self.limiter.check(limit, token_id, now_ms))
    }

    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread> {
        self.writer
            .write(move |conn| threads::insert(conn, &thread).map(|()| thread))
            .await
    }

    async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()> {
        self.writer
            .write(move |conn| threads.iter().try_for_each(|t| threads::insert(conn, t)))
            .await
    }

    async fn threads(
        &self,
        query: ThreadQuery,
    ) -> StoreResult<Result<Vec<Thread>, CursorNotVisible>> {
        self.readers
            .read(move |conn| threads::page(conn, &query))
            .await
    }

    async fn add_messages(
        &self,
        batch: MessageBatch,
    ) -> StoreResult<Result<Vec<Message>, ThreadNotVisible>> {
        self.writer
            .write(move |conn| messages::insert(conn, batch))
            .await
    }

    async fn messages(
        &self,
        query: MessageQuery,
    ) -> StoreResult<Result<Vec<Message>, CursorNotVisible>> {
        self.readers
            .read(move |conn| messages::page(conn, &query))
            .await
    }

    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
    ) -> StoreResult<Option<Thread>> {
        self.writer
            .write(move |conn| threads::set_resolved(conn, thread_id, is_resolved, at))
            .await
    }

    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<bool> {
        self.writer
            .write(move |conn| webhooks::set_url(conn, integration, url.as_deref()))
            .await
    }

    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed> {
        self.writer
            .write(move |conn| webhooks::claim(conn, &claim))
            .await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.writer
            .write(move |conn| webhooks::finish(conn, id, &outcome, now_ms))
            .await
    }

    async fn release_leases(&self) -> StoreResult<()> {
        self.writer.write(webhooks::release_leases).await
    }

    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
        self.readers
            .read(move |conn| webhooks::list(conn, failed_only))
            .await
    }

    async fn retry_deliveries(&self, id: Option<Uuid>, now_ms: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| webhooks::retry(conn, id, now_ms))
            .await
    }

    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        self.writer
            .write(move |conn| webhooks::prune(conn, before_ms))
            .await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        self.readers.read(webhooks::backlog).await
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()> {
        self.writer
            .write(move |conn| admin::add_enterprise(conn, &enterprise))
            .await
    }

    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>> {
        self.readers.read(admin::enterprises).await
    }

    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()> {
        self.writer
            .write(move |conn| admin::add_integration(conn, &integration))
            .await
    }

    async fn integrations(&self) -> StoreResult<Vec<Integration>> {
        self.readers.read(admin::integrations).await
    }

    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        self.writer
            .write(move |conn| admin::add_access_token(conn, &token))
            .await
    }

    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>> {
        self.readers.read(admin::access_tokens).await
    }

    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<bool> {
        self.writer
            .write(move |conn| admin::revoke_access_token(conn, token, at))
            .await
    }
}
