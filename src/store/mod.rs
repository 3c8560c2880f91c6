//! The store: everything switchboard keeps, behind small traits cut along the
//! product's seams.
//!
//! - [`Content`]: threads and messages ([`content`] holds the page rules both
//!   backends follow, and the row mappings of threads and messages).
//! - [`Outbox`]: the `MessageAdded` webhook outbox ([`outbox`] holds the claim
//!   algorithm, written once over each backend's primitive queries).
//! - [`Tenants`]: enterprises, integrations and their tokens ([`tenants`]).
//! - [`RateLimits`]: each access token's rate-limit window.
//! - [`Admit`]: the admission of a Connector API request, alone or with the
//!   operation that travels with it ([`admission`]).
//! - [`Emulator`]: the manual clock and reset, for teams testing against
//!   switchboard; [`Faults`]: the failures they ask for; [`Inbox`]: what the
//!   staff web inbox reads.
//!
//! [`Store`] is all of them plus what a running server needs of its database.
//! Each backend (`sqlite`, `postgres`) mirrors the other file for file: a
//! seam's file holds that trait's impl and its SQL, `mod.rs` only opens and
//! migrates. What both backends do alike is written once above them: the
//! algorithms, the column lists and the mappings from a row ([`row::Row`]) to
//! a record; export and import ([`export`]) read with the same queries and
//! write through each backend's own inserts. [`open`] picks a backend by the
//! scheme of the database URL.
//!
//! "Not there" has one form: [`StoreError::Missing`], which the HTTP layer turns
//! into its error in one place.

pub mod admission;
pub mod content;
pub mod emulator;
pub mod export;
pub mod faults;
pub mod inbox;
pub mod outbox;
pub mod postgres;
pub mod row;
pub mod sqlite;
pub mod staff;
pub mod tenants;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::ratelimit::{Decision, RateLimit};

pub use admission::{Admission, Admit, Admitted, Beside, NewThread, Pipelined};
pub use content::{Content, MessageBatch, MessageQuery, ThreadQuery};
pub use emulator::{ClockMove, ClockState, Emulator, ResetCounts, ResetScope};
pub use faults::Faults;
pub use inbox::Inbox;
pub use outbox::{
    Attempt, Claim, Claimed, ClaimedDelivery, DeliveryInfo, DeliveryOutcome, DeliveryQuery,
    DeliveryView, Outbox, WebhookBacklog,
};
pub use staff::Staff;
pub use tenants::{
    AccessTokenInfo, Enterprise, Integration, IntegrationChange, NewAccessToken, NewIntegration,
    Tenants, TokenRef,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write would duplicate something unique (an id, a token).
    #[error("{0}")]
    Conflict(String),
    /// What the caller named does not exist, or is not theirs to see.
    #[error("{0}")]
    Missing(Missing),
    /// The database cannot be reached right now (it is restarting, or the
    /// network is down): worth retrying, unlike [`StoreError::Internal`].
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What was not there. A thing that does not exist and a thing the caller may
/// not see are the same answer, so that existence never leaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("the cursor names no message thread the caller can see")]
    ThreadCursor,
    #[error("the cursor names no message the caller can see")]
    MessageCursor,
    /// The batch named, at this index, a thread the caller cannot see.
    #[error("message {0} of the batch names no message thread the caller can see")]
    BatchThread(usize),
    #[error("there is no message thread {0}")]
    Thread(Uuid),
    #[error("there is no integration {0}")]
    Integration(Uuid),
    #[error("there is no enterprise {0}")]
    Enterprise(Uuid),
    #[error("there is no active access token like that")]
    AccessToken,
    #[error("the cursor names no webhook delivery")]
    DeliveryCursor,
    #[error("there is no staff member with that login")]
    StaffMember,
}

impl From<Missing> for StoreError {
    fn from(missing: Missing) -> Self {
        Self::Missing(missing)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The request log of each access token, for the rate limit.
#[async_trait]
pub trait RateLimits: Send + Sync {
    /// Counts a request of an access token against its limit.
    async fn check_rate(
        &self,
        token_id: Uuid,
        limit: RateLimit,
        now_ms: i64,
    ) -> StoreResult<Decision>;
}

/// Counters of the write path, for `/metrics`: how well commits are grouped.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteStats {
    pub commits: u64,
    pub writes: u64,
}

/// Everything a running server keeps, and what it needs of its database.
#[async_trait]
pub trait Store:
    Content + Outbox + Tenants + RateLimits + Admit + Emulator + Faults + Inbox + Staff + 'static
{
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Group-commit counters, where the backend groups commits itself (SQLite);
    /// `None` where the database does (PostgreSQL).
    fn write_stats(&self) -> Option<WriteStats> {
        None
    }

    /// Starts what a serving backend runs beside the server: SQLite frees the
    /// webhook leases its previous process left; PostgreSQL listens for what
    /// other nodes announce. The tasks stop when the returned [`Background`] is
    /// dropped.
    async fn serve(&self, notices: Notices) -> StoreResult<Background>;
}

/// What a server wants to hear of other nodes' changes (PostgreSQL only: a
/// SQLite file has one server).
#[derive(Clone)]
pub struct Notices {
    /// New webhook events, or deliveries made due again.
    pub webhooks: Arc<dyn Fn() + Send + Sync>,
    /// The manual clock moved.
    pub clock: Arc<dyn Fn(ClockState) + Send + Sync>,
    /// Faults were added, used up or deleted.
    pub faults: Arc<dyn Fn() + Send + Sync>,
    /// A thread changed, for the inbox's open pages.
    pub inbox: Arc<dyn Fn(Uuid) + Send + Sync>,
}

/// Tasks a backend runs for a server; aborted when dropped.
#[derive(Default)]
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    pub fn new(tasks: Vec<tokio::task::JoinHandle<()>>) -> Self {
        Self(tasks)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// A backend by its own type, for what only it offers (bulk loads, for the
/// benchmark's data generator).
pub enum Backend {
    Sqlite(Arc<sqlite::SqliteStore>),
    Postgres(Arc<postgres::PostgresStore>),
}

impl Backend {
    /// Opens (creating and migrating as needed) the database a URL names.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Self::open_as(url, Create::Yes).await
    }

    /// Opens the database a URL names; a SQLite file that is not there is
    /// made only when `create` says so.
    pub async fn open_as(url: &str, create: Create) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if create == Create::No && !path.is_empty() && !std::path::Path::new(path).exists() {
                anyhow::bail!(
                    "there is no SQLite database at {path}: `switchboard serve` (or `import`) \
                     makes one; or name another with --database or SWITCHBOARD_DATABASE_URL"
                );
            }
            return Ok(Self::Sqlite(Arc::new(
                sqlite::SqliteStore::open(path).await?,
            )));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(Arc::new(
                postgres::PostgresStore::open(url).await?,
            )));
        }
        anyhow::bail!("unsupported database URL '{url}': expected sqlite://PATH or postgres://...")
    }

    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Sqlite(store) => store.clone(),
            Self::Postgres(store) => store.clone(),
        }
    }
}

/// Whether opening a database may make a new SQLite file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Yes,
    No,
}

/// Opens (creating and migrating as needed) the store a database URL names.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Backend::open(url).await?.store())
}
