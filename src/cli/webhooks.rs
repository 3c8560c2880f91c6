//! `webhooks list` and `webhooks retry`: the delivery log from the command line.

use clap::Subcommand;
use uuid::Uuid;

use super::{DatabaseArg, open};
use crate::domain::paging::Count;
use crate::domain::webhook::DeliveryState;
use crate::store::{self, Store};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List webhook deliveries.
    List {
        /// Only those kept as failed after their last attempt.
        #[arg(long)]
        failed: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Send failed deliveries again (the running server picks them up).
    #[command(group(clap::ArgGroup::new("which").required(true).args(["all", "id"])))]
    Retry {
        /// Every failed delivery.
        #[arg(long)]
        all: bool,
        /// The delivery to send again.
        id: Option<Uuid>,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

impl WebhooksCommand {
    pub fn database(&self) -> &DatabaseArg {
        match self {
            Self::List { database, .. } | Self::Retry { database, .. } => database,
        }
    }
}

pub async fn run(command: WebhooksCommand) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::List { failed, database } => {
            println!(
                "{:<36}  {:<36}  {:<36}  {:<9}  {:>8}  {:>6}  {:<20}  LAST ERROR",
                "ID", "INTEGRATION", "ENTERPRISE", "STATUS", "ATTEMPTS", "EVENTS", "NEXT ATTEMPT"
            );
            let store = open(&database).await?;
            let attempts = all_attempts(store.as_ref(), failed).await?;
            for d in store.deliveries(failed).await? {
                let next = if d.state == DeliveryState::Pending {
                    chrono::DateTime::from_timestamp_millis(d.next_attempt_ms).map_or_else(
                        || "-".to_owned(),
                        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    )
                } else {
                    "-".to_owned()
                };
                println!(
                    "{:<36}  {:<36}  {:<36}  {:<9}  {:>8}  {:>6}  {:<20}  {}",
                    d.id,
                    d.integration_id,
                    d.enterprise_id,
                    d.state.column(),
                    d.attempts,
                    d.events,
                    next,
                    d.last_error.as_deref().unwrap_or("-")
                );
                for (n, a) in attempts.get(&d.id).into_iter().flatten().enumerate() {
                    let started = chrono::DateTime::from_timestamp_millis(a.started_ms)
                        .map_or_else(String::new, |t| {
                            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
                        });
                    let what = match (a.status, &a.error) {
                        (Some(status), _) => status.to_string(),
                        (None, Some(error)) => error.clone(),
                        (None, None) => "-".to_owned(),
                    };
                    let answer: String = a
                        .response
                        .as_deref()
                        .unwrap_or_default()
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .take(60)
                        .collect();
                    println!(
                        "    attempt {}  {started}  {:>6} ms  {what:<14}  {answer}",
                        n + 1,
                        a.duration_ms
                    );
                }
            }
        }
        WebhooksCommand::Retry {
            all: _,
            id,
            database,
        } => {
            let count = open(&database).await?.retry_deliveries(id).await?;
            if count == 0 {
                match id {
                    Some(id) => anyhow::bail!("there is no failed delivery {id}"),
                    None => println!("There are no failed deliveries."),
                }
            } else {
                println!("{count} delivery(ies) will be sent again.");
            }
        }
    }
    Ok(())
}

/// Every attempt of every delivery (of the failed ones only, if `failed`),
/// by delivery.
async fn all_attempts(
    store: &dyn Store,
    failed: bool,
) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<store::Attempt>>> {
    let mut attempts = std::collections::HashMap::new();
    let mut after = None;
    loop {
        let page = store
            .delivery_page(store::DeliveryQuery {
                integrations: None,
                states: failed.then(|| vec![DeliveryState::Failed]),
                count: Count::new(1000),
                after,
            })
            .await?;
        let Some(last) = page.last() else {
            return Ok(attempts);
        };
        after = Some(last.id);
        attempts.extend(page.into_iter().map(|d| (d.id, d.attempts)));
    }
}
