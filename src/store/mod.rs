//! The store: everything switchboard keeps, behind one trait.
//!
//! [`Store`] is the seam between the HTTP layer and the database. Each backend is
//! a module of its own with its own migrations; [`open`] picks one by the scheme
//! of the database URL.

pub mod outbox;
pub mod postgres;
pub mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::message::Message;
use crate::domain::paging::CursorNotVisible;
use crate::domain::scope::{AccessGrant, Visibility};
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::ratelimit::{Decision, RateLimit};
use crate::tokens::TokenHash;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write would duplicate something unique (an id, a token).
    #[error("{0}")]
    Conflict(String),
    /// The write names something that does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    pub id: Uuid,
    pub name: String,
    pub created: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Integration {
    pub id: Uuid,
    pub name: String,
    pub created: Timestamp,
    /// Where its `MessageAdded` webhooks go, exactly as given.
    pub webhook_url: Option<String>,
}

/// A new integration and the digest of its ClientToken.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub integration: Integration,
    pub client_token: TokenHash,
}

/// An access token as listed to an administrator (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenInfo {
    pub id: Uuid,
    pub integration_id: Uuid,
    /// The home enterprise first.
    pub enterprises: Vec<Uuid>,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
}

/// A new access token and the digest of its secret.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    pub info: AccessTokenInfo,
    pub token: TokenHash,
}

/// How an administrator names a token to revoke.
#[derive(Debug, Clone, Copy)]
pub enum TokenRef {
    Id(Uuid),
    Secret(TokenHash),
}

/// One page of threads.
#[derive(Debug, Clone)]
pub struct ThreadQuery {
    /// Who asks; a cursor must name a thread visible to them.
    pub visibility: Visibility,
    /// Filters, combined with AND; `None` does not filter.
    pub enterprises: Option<Vec<Uuid>>,
    pub integrations: Option<Vec<Uuid>>,
    pub is_resolved: Option<bool>,
    pub thread_ids: Option<Vec<Uuid>>,
    /// Inclusive bounds on stored seconds.
    pub created: Option<(i64, i64)>,
    pub updated: Option<(i64, i64)>,
    pub cursor: Option<Uuid>,
    pub count: u32,
}

/// One page of messages of some threads.
#[derive(Debug, Clone)]
pub struct MessageQuery {
    pub visibility: Visibility,
    pub thread_ids: Vec<Uuid>,
    pub enterprises: Option<Vec<Uuid>>,
    pub created: Option<(i64, i64)>,
    pub cursor: Option<Uuid>,
    pub count: u32,
}

/// Messages to add together, all or nothing.
#[derive(Debug, Clone)]
pub struct MessageBatch {
    /// Who adds them; every thread must be visible to them.
    pub visibility: Visibility,
    /// In request order, with ids and times already set.
    pub messages: Vec<Message>,
    /// When the batch is written, in milliseconds, for webhook latency.
    pub at_ms: i64,
}

/// What the webhook worker asks for: due deliveries, within its limits.
#[derive(Debug, Clone)]
pub struct Claim {
    pub now_ms: i64,
    /// How long a claimed delivery stays reserved for this worker.
    pub lease_ms: i64,
    /// Most events in one delivery.
    pub batch_size: usize,
    /// Most deliveries to claim now.
    pub max: usize,
    /// Deliveries in flight per integration, and the most allowed at once.
    pub in_flight: HashMap<Uuid, usize>,
    pub per_receiver: usize,
}

/// A delivery reserved for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    /// `None` if the integration's URL was cleared since.
    pub url: Option<String>,
    /// Attempts made before this one.
    pub attempts: u32,
    /// `(message id, milliseconds when it was written)`, oldest first.
    pub events: Vec<(Uuid, i64)>,
}

/// What a claim reserved, and when the next delivery not reserved is due.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claimed {
    pub deliveries: Vec<ClaimedDelivery>,
    pub next_due_ms: Option<i64>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Delivered,
    Retry { next_attempt_ms: i64, error: String },
    Failed { error: String },
}

/// A delivery as `webhooks list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryInfo {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub status: String,
    pub attempts: u32,
    pub events: u64,
    pub next_attempt_ms: i64,
    pub last_error: Option<String>,
}

/// What is waiting to be delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookBacklog {
    /// Events not yet delivered nor given up.
    pub pending_events: u64,
    /// When the next pending delivery is due.
    pub next_due_ms: Option<i64>,
}

/// The batch named, at this index, a thread the caller cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadNotVisible(pub usize);

/// Counters of the write path, for `/metrics`: how well commits are grouped.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteStats {
    pub commits: u64,
    pub writes: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// True when the database holds no enterprise and no integration yet.
    async fn is_empty(&self) -> StoreResult<bool>;
    fn write_stats(&self) -> WriteStats;

    /// The grant of an access token, if both tokens are known, the access token is
    /// not revoked, and it belongs to the client token's integration.
    async fn find_access(
        &self,
        client_token: TokenHash,
        access_token: TokenHash,
    ) -> StoreResult<Option<AccessGrant>>;
    /// Counts a request of an access token against its rate limit.
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision>;

    async fn add_thread(&self, thread: Thread) -> StoreResult<Thread>;
    /// Writes many threads in one transaction (data generators, imports).
    async fn import_threads(&self, threads: Vec<Thread>) -> StoreResult<()>;
    async fn threads(
        &self,
        query: ThreadQuery,
    ) -> StoreResult<Result<Vec<Thread>, CursorNotVisible>>;

    /// Adds the messages, moves their threads' `UpdatedUtc`, and reopens the
    /// threads of messages from the application; nothing if a thread is not visible.
    async fn add_messages(
        &self,
        batch: MessageBatch,
    ) -> StoreResult<Result<Vec<Message>, ThreadNotVisible>>;
    async fn messages(
        &self,
        query: MessageQuery,
    ) -> StoreResult<Result<Vec<Message>, CursorNotVisible>>;
    /// Sets `IsResolved`; `UpdatedUtc` moves only if it changes. `None`: no such thread.
    async fn set_resolved(
        &self,
        thread_id: Uuid,
        is_resolved: bool,
        at: Timestamp,
    ) -> StoreResult<Option<Thread>>;

    /// Sets or clears an integration's webhook URL; false if there is no such integration.
    async fn set_webhook_url(&self, integration: Uuid, url: Option<String>) -> StoreResult<bool>;
    /// Groups new events into deliveries, then reserves the due ones.
    async fn claim_deliveries(&self, claim: Claim) -> StoreResult<Claimed>;
    async fn finish_delivery(
        &self,
        id: Uuid,
        outcome: DeliveryOutcome,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Frees every reservation; only for a store that one server owns.
    async fn release_leases(&self) -> StoreResult<()>;
    async fn deliveries(&self, failed_only: bool) -> StoreResult<Vec<DeliveryInfo>>;
    /// Makes failed deliveries (one, or all) due again; returns how many.
    async fn retry_deliveries(&self, id: Option<Uuid>, now_ms: i64) -> StoreResult<u64>;
    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog>;
    /// Removes deliveries delivered before `before_ms`, with their events;
    /// returns how many. Failed and pending ones stay.
    async fn prune_deliveries(&self, before_ms: i64) -> StoreResult<u64>;
    /// Calls `wake` when another process adds events; a store that one process
    /// owns has nothing to watch (its server wakes its worker itself).
    fn watch_webhooks(&self, wake: Arc<dyn Fn() + Send + Sync>) {
        let _ = wake;
    }

    async fn add_enterprise(&self, enterprise: Enterprise) -> StoreResult<()>;
    async fn enterprises(&self) -> StoreResult<Vec<Enterprise>>;
    async fn add_integration(&self, integration: NewIntegration) -> StoreResult<()>;
    async fn integrations(&self) -> StoreResult<Vec<Integration>>;
    async fn add_access_token(&self, token: NewAccessToken) -> StoreResult<()>;
    async fn access_tokens(&self) -> StoreResult<Vec<AccessTokenInfo>>;
    /// Revokes a token; false if there was no such active token.
    async fn revoke_access_token(&self, token: TokenRef, at: Timestamp) -> StoreResult<bool>;
}

/// Opens (creating and migrating as needed) the store a database URL names.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(path).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PostgresStore::open(url).await?));
    }
    anyhow::bail!("unsupported database URL '{url}': expected sqlite://PATH or postgres://...")
}
