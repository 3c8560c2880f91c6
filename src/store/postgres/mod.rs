//! The PostgreSQL backend: several stateless server nodes on one database.
//!
//! Every write is one transaction (PostgreSQL groups concurrent commits itself).
//! What nodes must agree on lives in the database: the rate-limit log, and the
//! webhook outbox, whose deliveries are claimed with `FOR UPDATE SKIP LOCKED`
//! and leases, and announced to every node with `LISTEN/NOTIFY`.

mod content;
mod emulator;
mod export;
mod faults;
mod inbox;
mod outbox;
mod query;
mod tenants;

use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use futures_util::future::join;
use tokio_postgres::{AsyncMessage, Config, NoTls};
use uuid::Uuid;

use self::tenants::AdmissionStatement;
use crate::domain::fault::Fault;
use crate::domain::json::WrittenPage;
use crate::domain::message::Message;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::ratelimit::{Decision, RateLimit};
use crate::store::admission;
use crate::store::export::{ImportError, Incoming, Outgoing};
use crate::store::{
    AccessTokenInfo, Admission, Admitted, Attempt, Background, Claim, Claimed, ClockMove, Content,
    DeliveryInfo, DeliveryOutcome, DeliveryQuery, DeliveryView, Emulator, Enterprise, Faults,
    Guarded, Integration, MessageBatch, MessageQuery, NewAccessToken, NewIntegration, NewThread,
    Notices, Outbox, Outcome, RateLimits, ResetCounts, ResetScope, Store, StoreError, StoreResult,
    Tenants, ThreadQuery, TokenRef, WebhookBacklog,
};
use crate::tokens::TokenHash;

/// The versioned schema of this backend, applied in order at start.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        include_str!("../../../migrations/postgres/0002_clock.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/postgres/0003_faults_attempts.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/postgres/0004_ended_sessions.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/postgres/0005_rate_log.sql"),
    ),
    (
        6,
        include_str!("../../../migrations/postgres/0006_token_enterprise_ids.sql"),
    ),
];

/// Connections per node.
const POOL_SIZE: usize = 16;

pub(crate) fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(anyhow!("PostgreSQL: {e}"))
}

pub struct PostgresStore {
    pool: Pool,
    config: Config,
}

/// The hosts a URL names, for messages (never the password).
fn hosts(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if hosts.is_empty() {
        "localhost:5432".to_owned()
    } else {
        hosts.join(",")
    }
}

impl PostgresStore {
    /// Connects (failing fast with the host named), then migrates.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut config: Config = url.parse().context("the PostgreSQL URL is not valid")?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        let host = hosts(&config);
        // The request statements are prepared once per connection (see
        // `query::prepared`) and written for the indexes they use; planning
        // them again at every run with their values (PostgreSQL's choice while
        // it guesses the generic plan dearer) cost a tenth of its CPU.
        let options = match config.get_options() {
            Some(theirs) => format!("{theirs} -c plan_cache_mode=force_generic_plan"),
            None => "-c plan_cache_mode=force_generic_plan".to_owned(),
        };
        config.options(&options);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build()?;
        let mut client = tokio::time::timeout(Duration::from_secs(10), pool.get())
            .await
            .map_err(|_| anyhow!("cannot reach PostgreSQL at {host}: no answer within 10 s"))?
            .map_err(|e| anyhow!("cannot connect to PostgreSQL at {host}: {e}"))?;
        migrate(&mut client)
            .await
            .with_context(|| format!("cannot migrate the database at {host}"))?;
        drop(client);
        Ok(Self { pool, config })
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool.get().await.map_err(internal)
    }

    /// Sends every record of the database, in the export file's order, from
    /// one snapshot.
    pub async fn export(&self, out: Outgoing) -> StoreResult<()> {
        export::export(&mut self.client().await?, &out).await
    }

    /// Loads an export file into this empty database in one transaction.
    pub async fn import(&self, incoming: Incoming) -> Result<u64, ImportError> {
        export::import(&mut self.client().await?, incoming).await
    }
}

/// Applies new migrations in one transaction; an advisory lock keeps nodes that
/// start together from migrating twice.
async fn migrate(client: &mut deadpool_postgres::Object) -> anyhow::Result<()> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7243001)", &[])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_utc BIGINT NOT NULL
        )",
    )
    .await?;
    let current: i64 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        anyhow::bail!(
            "the database has schema version {current}, newer than this switchboard knows ({latest})"
        );
    }
    for &(version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)
            .await
            .with_context(|| format!("migration {version} failed"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_utc) VALUES ($1, extract(epoch FROM now())::bigint)",
            &[&version],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl PostgresStore {
    /// Writes many threads, 10,000 a statement (the benchmark's data generator).
    pub async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()> {
        let client = self.client().await?;
        for chunk in threads.chunks(10_000) {
            content::insert_threads(&client, chunk, None).await?;
        }
        // A bulk load outruns autovacuum: without fresh statistics the planner
        // may sort a whole integration's threads for one page.
        client
            .batch_execute("ANALYZE threads")
            .await
            .map_err(internal)?;
        Ok(())
    }
}

/// A write sent right behind its admission, guarded by it (`guard` must be
/// the write's own). A write that happened is always reported, so that it is
/// never made twice; one that did not is left to the caller.
async fn write_beside(
    client: &deadpool_postgres::Object,
    admission: Admission,
    expected: &AccessGrant,
    guard: &tenants::Guard,
    write: impl std::future::Future<Output = StoreResult<Option<Outcome>>>,
) -> StoreResult<(Admitted, Option<StoreResult<Outcome>>)> {
    // Prepared before the join, so that the admission is the first thing
    // sent: a write whose statement this connection had prepared, behind an
    // admission that still had to prepare its own, used to run first, find
    // no admission and be dropped.
    let statement = AdmissionStatement::prepare(client).await?;
    let (admitted, written) = join(
        tenants::admit(client, &statement, admission, Some(guard)),
        write,
    )
    .await;
    let admitted = admitted?;
    let outcome = match written {
        Ok(written) => written.map(Ok),
        Err(e) => admission::allows(&admitted, expected).then_some(Err(e)),
    };
    Ok((admitted, outcome))
}

/// A read sent right behind its admission; kept only if the admission allows
/// `expected`.
async fn read_beside<T>(
    client: &deadpool_postgres::Object,
    admission: Admission,
    expected: &AccessGrant,
    read: impl std::future::Future<Output = StoreResult<T>>,
    outcome: fn(T) -> Outcome,
) -> StoreResult<(Admitted, Option<StoreResult<Outcome>>)> {
    let statement = AdmissionStatement::prepare(client).await?;
    let (admitted, read) = join(tenants::admit(client, &statement, admission, None), read).await;
    let admitted = admitted?;
    let kept = admission::allows(&admitted, expected).then(|| read.map(outcome));
    Ok((admitted, kept))
}

#[async_trait]
impl Store for PostgresStore {
    async fn admit(&self, admission: Admission) -> StoreResult<Admitted> {
        let client = self.client().await?;
        let statement = AdmissionStatement::prepare(&client).await?;
        tenants::admit(&client, &statement, admission, None).await
    }

    /// Both in one exchange on one connection: the operation's statements are
    /// sent right behind the admission's, without waiting for its answer. A
    /// read is dropped unless the admission allows `expected`; a write checks
    /// in the database that it does (see [`tenants::Guard`]).
    async fn admit_then(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        operation: Guarded,
    ) -> StoreResult<(Admitted, Option<StoreResult<Outcome>>)> {
        let client = self.client().await?;
        // `join` polls the admission first, so its statement is sent first.
        match operation {
            Guarded::AddThread(NewThread(thread)) => {
                let guard = tenants::Guard::new(expected.token_id);
                let add = async {
                    let added = content::insert_threads(
                        &client,
                        std::slice::from_ref(&thread),
                        Some(&guard),
                    )
                    .await?;
                    Ok((added == 1).then_some(Outcome::Thread(thread)))
                };
                write_beside(&client, admission, expected, &guard, add).await
            }
            Guarded::AddMessages(batch) => {
                let guard = tenants::Guard::new(expected.token_id);
                let add = async {
                    let added = content::add_messages(&client, batch, Some(&guard)).await?;
                    Ok(added.map(Outcome::Added))
                };
                write_beside(&client, admission, expected, &guard, add).await
            }
            Guarded::Threads(query) => {
                let page = content::written_threads(&client, &query);
                read_beside(&client, admission, expected, page, Outcome::Threads).await
            }
            Guarded::Messages(query) => {
                let page = content::written_messages(&client, &query);
                read_beside(&client, admission, expected, page, Outcome::Messages).await
            }
        }
    }

    async fn ping(&self) -> StoreResult<()> {
        self.client()
            .await?
            .execute("SELECT 1", &[])
            .await
            .map_err(internal)?;
        Ok(())
    }

    /// Listens for the events other nodes commit (waking this node's worker)
    /// and for moves of the manual clock. Leases of other nodes run out by
    /// themselves.
    async fn serve(&self, notices: Notices) -> StoreResult<Background> {
        let config = self.config.clone();
        let listener = tokio::spawn(async move {
            loop {
                if let Err(e) = listen(&config, &notices).await {
                    tracing::warn!(error = %e, "notifications interrupted; listening again");
                }
                // Whatever was announced meanwhile: look again.
                (notices.webhooks)();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Ok(Background::new(vec![listener]))
    }
}

#[async_trait]
impl crate::store::Inbox for PostgresStore {
    async fn inbox_page(
        &self,
        query: crate::store::inbox::InboxQuery,
    ) -> StoreResult<Vec<crate::store::inbox::InboxRow>> {
        inbox::page(&self.client().await?, &query).await
    }

    async fn awaiting_count(&self) -> StoreResult<u64> {
        inbox::awaiting_count(&self.client().await?).await
    }

    fn announces_inbox(&self) -> bool {
        true
    }

    async fn end_session(&self, id: String, expires_utc: i64, now_utc: i64) -> StoreResult<()> {
        inbox::end_session(&self.client().await?, &id, expires_utc, now_utc).await
    }

    async fn session_ended(&self, id: String) -> StoreResult<bool> {
        inbox::session_ended(&self.client().await?, &id).await
    }

    async fn announce_inbox(&self, threads: &[Uuid]) -> StoreResult<()> {
        inbox::announce(&self.client().await?, threads).await
    }
}

#[async_trait]
impl Faults for PostgresStore {
    async fn add_fault(&self, fault: Fault) -> StoreResult<()> {
        faults::add(&self.client().await?, &fault).await
    }

    async fn faults(&self) -> StoreResult<Vec<Fault>> {
        faults::all(&self.client().await?).await
    }

    async fn delete_faults(&self, ids: Option<Vec<Uuid>>) -> StoreResult<u64> {
        faults::delete(&self.client().await?, ids.as_deref()).await
    }

    async fn use_fault(&self, id: Uuid) -> StoreResult<bool> {
        faults::take_use(&self.client().await?, id).await
    }
}

#[async_trait]
impl Emulator for PostgresStore {
    async fn start_clock(&self, start_ms: i64) -> StoreResult<i64> {
        emulator::start_clock(&self.client().await?, start_ms).await
    }

    async fn set_clock(&self, to_ms: i64) -> StoreResult<ClockMove> {
        emulator::move_clock(&mut self.client().await?, to_ms, false).await
    }

    async fn advance_clock(&self, by_ms: i64) -> StoreResult<ClockMove> {
        emulator::move_clock(&mut self.client().await?, by_ms, true).await
    }

    async fn reset(&self, scope: ResetScope) -> StoreResult<ResetCounts> {
        emulator::reset(&mut self.client().await?, &scope).await
    }
}

#[async_trait]
impl RateLimits for PostgresStore {
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision> {
        tenants::check_rate(&self.client().await?, token_id, limit, now_ms).await
    }
}

#[async_trait]
impl Content for PostgresStore {
    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread> {
        content::insert_threads(&self.client().await?, std::slice::from_ref(&thread), None).await?;
        Ok(thread)
    }

    async fn threads(&self, query: ThreadQuery) -> StoreResult<Vec<Thread>> {
        content::thread_page(&self.client().await?, &query).await
    }

    async fn written_threads(&self, query: ThreadQuery) -> StoreResult<WrittenPage> {
        content::written_threads(&self.client().await?, &query).await
    }

    async fn add_messages(&self, batch: MessageBatch) -> StoreResult<Vec<Message>> {
        content::add_messages(&self.client().await?, batch, None)
            .await?
            .ok_or_else(|| internal("an unguarded batch was not added"))
    }

    async fn messages(&self, query: MessageQuery) -> StoreResult<Vec<Message>> {
        content::message_page(&self.client().await?, &query).await
    }

    async fn written_messages(&self, query: MessageQuery) -> StoreResult<WrittenPage> {
        content::written_messages(&self.client().await?, &query).await
    }

    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
    ) -> StoreResult<Thread> {
        content::set_resolved(&self.client().await?, thread_id, is_resolved, at).await
    }
}

#[async_trait]
impl Outbox for PostgresStore {
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<()> {
        outbox::set_url(&self.client().await?, integration, url.as_deref()).await
    }

    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed> {
        outbox::claim(&mut self.client().await?, &claim).await
    }

    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        attempt: Attempt,
    ) -> StoreResult<()> {
        outbox::finish(&self.client().await?, id, &outcome, &attempt).await
    }

    async fn resend_deliveries(&self, ids: Vec<Uuid>) -> StoreResult<Vec<Uuid>> {
        outbox::resend(&self.client().await?, &ids).await
    }

    async fn delivery_page(&self, query: DeliveryQuery) -> StoreResult<Vec<DeliveryView>> {
        outbox::page(&self.client().await?, &query).await
    }

    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>> {
        outbox::list(&self.client().await?, failed_only).await
    }

    async fn retry_deliveries(&self, id: Option<Uuid>) -> StoreResult<u64> {
        outbox::retry(&self.client().await?, id).await
    }

    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64> {
        outbox::prune(&self.client().await?, before_ms).await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        outbox::backlog(&self.client().await?).await
    }
}

#[async_trait]
impl Tenants for PostgresStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        tenants::is_empty(&self.client().await?).await
    }

    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>> {
        tenants::find_access(&self.client().await?, client_token, access_token).await
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()> {
        tenants::add_enterprise(&self.client().await?, &enterprise).await
    }

    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>> {
        tenants::enterprises(&self.client().await?).await
    }

    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()> {
        tenants::add_integration(&self.client().await?, &integration).await
    }

    async fn integrations(&self) -> StoreResult<Vec<Integration>> {
        tenants::integrations(&self.client().await?).await
    }

    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()> {
        tenants::add_access_token(&mut self.client().await?, &token).await
    }

    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>> {
        tenants::access_tokens(&self.client().await?).await
    }

    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<()> {
        tenants::revoke_access_token(&self.client().await?, token, at).await
    }
}

/// Holds a connection that LISTENs for new webhook events and clock moves,
/// telling `notices` of each.
async fn listen(config: &Config, notices: &Notices) -> anyhow::Result<()> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let listening = async {
        client
            .batch_execute(&format!(
                "LISTEN {}; LISTEN {}; LISTEN {}; LISTEN {}",
                outbox::CHANNEL,
                emulator::CLOCK_CHANNEL,
                faults::CHANNEL,
                inbox::CHANNEL
            ))
            .await?;
        // A move announced while nobody listened is read here.
        if let Some(row) = client
            .query_opt("SELECT now_ms FROM clock WHERE id = 1", &[])
            .await?
        {
            (notices.clock)(row.get(0));
        }
        // So are faults changed meanwhile.
        (notices.faults)();
        std::future::pending::<anyhow::Result<()>>().await
    };
    tokio::pin!(listening);
    loop {
        tokio::select! {
            result = &mut listening => return result,
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == emulator::CLOCK_CHANNEL => {
                    if let Ok(now_ms) = n.payload().parse() {
                        (notices.clock)(now_ms);
                    }
                }
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == faults::CHANNEL => {
                    (notices.faults)();
                }
                Some(Ok(AsyncMessage::Notification(n))) if n.channel() == inbox::CHANNEL => {
                    for id in n.payload().split(',').filter_map(|id| Uuid::try_parse(id).ok()) {
                        (notices.inbox)(id);
                    }
                }
                Some(Ok(AsyncMessage::Notification(_))) => (notices.webhooks)(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => anyhow::bail!("the connection closed"),
            },
        }
    }
}
