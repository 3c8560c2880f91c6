//! The PostgreSQL backend: several stateless server nodes on one database.
//!
//! Every write is one transaction (PostgreSQL groups concurrent commits itself).
//! What nodes must agree on lives in the database: the rate-limit log, and the
//! webhook outbox, whose deliveries are claimed with `FOR UPDATE SKIP LOCKED`
//! and leases, and announced to every node with `LISTEN/NOTIFY`.

mod admission;
mod content;
mod emulator;
mod export;
mod faults;
mod inbox;
mod outbox;
mod query;
mod rate_limits;
mod server;
mod staff;
mod tenants;

use std::time::Duration;

use anyhow::{Context, anyhow};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::{Config, NoTls};

use crate::store::{StoreError, StoreResult};

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
    (
        7,
        include_str!("../../../migrations/postgres/0007_emulator_tools.sql"),
    ),
    (
        8,
        include_str!("../../../migrations/postgres/0008_rate_windows.sql"),
    ),
    (
        9,
        include_str!("../../../migrations/postgres/0009_webhooks.sql"),
    ),
    (
        10,
        include_str!("../../../migrations/postgres/0010_staff.sql"),
    ),
    (
        11,
        include_str!("../../../migrations/postgres/0011_inbox.sql"),
    ),
    (
        12,
        include_str!("../../../migrations/postgres/0012_team.sql"),
    ),
];

/// Connections per node.
const POOL_SIZE: usize = 16;

/// What the store reports for a failure of PostgreSQL: the database out of
/// reach (no connection to be had, one closed under a query, the server
/// shutting down or not yet accepting) is [`StoreError::Unavailable`], which
/// a client sees as a 503 to retry; anything else is internal, described with
/// what the server said.
pub(crate) fn internal(e: impl Failure) -> StoreError {
    let described = format!("PostgreSQL: {}", e.describe());
    if e.out_of_reach() {
        StoreError::Unavailable(described)
    } else {
        StoreError::Internal(anyhow!(described))
    }
}

/// A failure the store reports through [`internal`].
pub(crate) trait Failure {
    fn describe(&self) -> String;
    fn out_of_reach(&self) -> bool {
        false
    }
}

impl Failure for tokio_postgres::Error {
    fn describe(&self) -> String {
        match self.as_db_error() {
            Some(db) => format!("{} {}: {}", db.severity(), db.code().code(), db.message()),
            None => match std::error::Error::source(self) {
                Some(cause) => format!("{self}: {cause}"),
                None => self.to_string(),
            },
        }
    }

    fn out_of_reach(&self) -> bool {
        match self.code() {
            // connection_exception, insufficient_resources (too many
            // connections), and admin, crash or start-up shutdown.
            Some(code) => {
                let code = code.code();
                code.starts_with("08") || code.starts_with("53") || code.starts_with("57P0")
            }
            // No answer from the server at all: the connection is closed,
            // or reading from or writing to it failed.
            None => {
                self.is_closed()
                    || std::error::Error::source(self).is_some_and(|c| c.is::<std::io::Error>())
            }
        }
    }
}

impl Failure for deadpool_postgres::PoolError {
    fn describe(&self) -> String {
        match self {
            PoolError::Backend(e) => e.describe(),
            other => other.to_string(),
        }
    }

    fn out_of_reach(&self) -> bool {
        match self {
            PoolError::Backend(e) => e.out_of_reach() || e.as_db_error().is_none(),
            PoolError::Timeout(_) | PoolError::Closed => true,
            _ => false,
        }
    }
}

impl Failure for &str {
    fn describe(&self) -> String {
        (*self).to_owned()
    }
}

impl Failure for String {
    fn describe(&self) -> String {
        self.clone()
    }
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
        // Strings as the SQL standard has them (PostgreSQL's default, made
        // sure of): the inbox search writes its text in as a literal.
        let ours = "-c plan_cache_mode=force_generic_plan -c standard_conforming_strings=on";
        let options = match config.get_options() {
            Some(theirs) => format!("{theirs} {ours}"),
            None => ours.to_owned(),
        };
        config.options(&options);
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        // While the database is out of reach a request fails within these
        // bounds (a 503), instead of waiting for a connection for ever.
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(5)))
            .wait_timeout(Some(Duration::from_secs(10)))
            .build()?;
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
