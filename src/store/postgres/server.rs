//! What a serving node needs of PostgreSQL: whether it answers, and the
//! notifications of what other nodes commit.

use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio_postgres::{AsyncMessage, Config, NoTls};
use uuid::Uuid;

use super::{PostgresStore, emulator, faults, inbox, internal, outbox};
use crate::store::{Background, ClockState, Notices, Store, StoreResult};

#[async_trait]
impl Store for PostgresStore {
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

/// Holds a connection that LISTENs for new webhook events, clock moves,
/// fault changes and inbox changes, telling `notices` of each.
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
            .query_opt(
                "SELECT version, now_ms FROM clock WHERE id = 1 AND manual",
                &[],
            )
            .await?
        {
            (notices.clock)(ClockState {
                version: row.get(0),
                now_ms: row.get(1),
            });
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
                    if let Some(moved) = emulator::announced(n.payload()) {
                        (notices.clock)(moved);
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
