//! The benchmark database: 10 enterprises, 5 integrations with a portfolio token
//! (all enterprises) and a single-enterprise token each, and N threads written
//! in bulk through the store. Integration 0 owns 92% of the threads, so that its
//! portfolio token can page 900,000 deep into a 1,000,000-thread database.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use switchboard::clock;
use switchboard::domain::thread::Thread;
use switchboard::domain::time::Timestamp;
use switchboard::store::{
    self, AccessTokenInfo, Enterprise, Integration, NewAccessToken, NewIntegration,
};
use switchboard::tokens::TokenHash;
use uuid::Uuid;

pub const ENTERPRISES: u128 = 10;
pub const INTEGRATIONS: u128 = 5;
/// Threads are spread over this many days before the generation.
const SPAN_DAYS: i64 = 80;

pub fn enterprise(i: u128) -> Uuid {
    Uuid::from_u128(0xE0_0000 + i)
}

pub fn integration(i: u128) -> Uuid {
    Uuid::from_u128(0xA0_0000 + i)
}

pub fn client_token(i: u128) -> String {
    format!("BENCH-CLIENT-{i}")
}

pub fn portfolio_token(i: u128) -> String {
    format!("BENCH-PORTFOLIO-{i}")
}

/// The `k`th copy of integration 0's portfolio token (`--tokens`), `k` from 1.
pub fn portfolio_copy(k: usize) -> String {
    format!("BENCH-PORTFOLIO-0-{k}")
}

/// Gives integration 0 copies 1 to `tokens - 1` of its portfolio token (the
/// same enterprises), those the database does not have yet.
pub async fn add_portfolio_copies(database: &str, tokens: usize) -> anyhow::Result<()> {
    let backend = store::Backend::open(database).await?;
    let store = backend.store();
    let id = |k: usize| Uuid::from_u128(0xC0_0000 + k as u128);
    let have: Vec<Uuid> = store.access_tokens().await?.iter().map(|t| t.id).collect();
    let now = Timestamp::truncate(clock::system().now());
    for k in (1..tokens).filter(|&k| !have.contains(&id(k))) {
        store
            .add_access_token(NewAccessToken {
                info: AccessTokenInfo {
                    id: id(k),
                    integration_id: integration(0),
                    enterprises: (0..ENTERPRISES).map(enterprise).collect(),
                    created: now,
                    revoked: None,
                },
                token: TokenHash::of(&portfolio_copy(k)),
            })
            .await?;
    }
    Ok(())
}

/// What the scenarios need to know about the generated data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dataset {
    pub threads: usize,
    /// Threads integration 0 owns.
    pub integration0_threads: usize,
    /// How deep `deep_cursor` starts a page, counted from the newest thread.
    pub deep_position: usize,
    pub deep_cursor: Uuid,
    /// A thread of integration 0 and one of integration 1, for messages.
    pub thread0: Uuid,
    pub thread1: Uuid,
    pub generate_seconds: f64,
}

/// Adds the enterprises and integrations (with their tokens) of a benchmark
/// database.
pub async fn tenants(database: &str) -> anyhow::Result<()> {
    let backend = store::Backend::open(database).await?;
    let store = backend.store();
    let now = Timestamp::truncate(clock::system().now());
    for e in 0..ENTERPRISES {
        store
            .add_enterprise(Enterprise {
                id: enterprise(e),
                name: format!("Bench Hotel {e}"),
                created: now,
            })
            .await?;
    }
    for i in 0..INTEGRATIONS {
        store
            .add_integration(NewIntegration {
                integration: Integration {
                    id: integration(i),
                    name: format!("Bench Integration {i}"),
                    created: now,
                    webhook_url: None,
                },
                client_token: TokenHash::of(&client_token(i)),
            })
            .await?;
        let all: Vec<Uuid> = (0..ENTERPRISES).map(enterprise).collect();
        for (token, enterprises) in [
            (portfolio_token(i), all),
            (
                format!("BENCH-SINGLE-{i}"),
                vec![enterprise(i % ENTERPRISES)],
            ),
        ] {
            store
                .add_access_token(NewAccessToken {
                    info: AccessTokenInfo {
                        id: Uuid::new_v4(),
                        integration_id: integration(i),
                        enterprises,
                        created: now,
                        revoked: None,
                    },
                    token: TokenHash::of(&token),
                })
                .await?;
        }
    }

    Ok(())
}

pub async fn generate(database: &str, threads: usize) -> anyhow::Result<Dataset> {
    let started = Instant::now();
    tenants(database).await?;
    let backend = store::Backend::open(database).await?;
    let now = Timestamp::truncate(clock::system().now());
    let first = now.unix() - SPAN_DAYS * 86_400;
    let step = (SPAN_DAYS * 86_400) as f64 / threads.max(1) as f64;
    let mut of_integration0 = Vec::new();
    let mut thread1 = None;
    let mut chunk = Vec::with_capacity(50_000);
    for k in 0..threads {
        let owner = if k % 100 < 92 { 0 } else { 1 + (k % 4) as u128 };
        let created = Timestamp::from_unix(first + (k as f64 * step) as i64);
        let id = Uuid::new_v4();
        if owner == 0 {
            of_integration0.push(id);
        } else if thread1.is_none() && owner == 1 {
            thread1 = Some(id);
        }
        chunk.push(Thread {
            id,
            integration_id: integration(owner),
            enterprise_id: enterprise((k as u128 * 7) % ENTERPRISES),
            original_sender: format!("Guest {k}"),
            subject: "Room service".to_owned(),
            created,
            updated: created,
            is_resolved: false,
        });
        if chunk.len() == chunk.capacity() {
            import(&backend, std::mem::take(&mut chunk)).await?;
            chunk.reserve(50_000);
        }
    }
    import(&backend, chunk).await?;

    // The page at depth D starts after the D-th newest thread.
    let count = of_integration0.len();
    let deep_position = if count > 900_100 {
        900_000
    } else {
        (count * 9 / 10).max(1)
    };
    let dataset = Dataset {
        threads,
        integration0_threads: count,
        deep_position,
        deep_cursor: of_integration0[count - deep_position],
        thread0: *of_integration0
            .last()
            .ok_or_else(|| anyhow::anyhow!("no threads"))?,
        thread1: thread1.ok_or_else(|| anyhow::anyhow!("too few threads for integration 1"))?,
        generate_seconds: started.elapsed().as_secs_f64(),
    };
    drop(backend);
    // Let the writer thread finish before the server opens the file.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(dataset)
}

/// Writes many threads at once, the way each backend does it fastest.
async fn import(backend: &store::Backend, threads: Vec<Thread>) -> anyhow::Result<()> {
    match backend {
        store::Backend::Sqlite(store) => store.import_threads(threads).await?,
        store::Backend::Postgres(store) => store.import_threads(threads).await?,
    }
    Ok(())
}
