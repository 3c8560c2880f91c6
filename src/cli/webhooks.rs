//! `webhooks list` and `webhooks retry`: the delivery log from the command line.

use clap::Subcommand;
use uuid::Uuid;

use super::{DatabaseArg, open};
use crate::domain::paging::Count;
use crate::domain::webhook::DeliveryState;
use crate::store::{self, Store};

#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List webhook deliveries, oldest first, with every attempt.
    List {
        /// Only those kept as failed after their last attempt (as --state failed).
        #[arg(long, conflicts_with = "state")]
        failed: bool,
        /// Only those in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Only those to this integration.
        #[arg(long)]
        integration: Option<Uuid>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Send deliveries again (the running server picks them up): one, in
    /// whatever state, as webhooks/retry does; or every failed one.
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

/// A delivery's state, as `webhooks list --state` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StateArg {
    Pending,
    Delivered,
    Failed,
}

impl From<StateArg> for DeliveryState {
    fn from(state: StateArg) -> Self {
        match state {
            StateArg::Pending => Self::Pending,
            StateArg::Delivered => Self::Delivered,
            StateArg::Failed => Self::Failed,
        }
    }
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
        WebhooksCommand::List {
            failed,
            state,
            integration,
            database,
        } => {
            let state: Option<DeliveryState> = match (failed, state) {
                (true, _) => Some(DeliveryState::Failed),
                (false, state) => state.map(Into::into),
            };
            println!(
                "{:<36}  {:<36}  {:<36}  {:<9}  {:>8}  {:>6}  {:<20}  LAST ERROR",
                "ID", "INTEGRATION", "ENTERPRISE", "STATUS", "ATTEMPTS", "EVENTS", "NEXT ATTEMPT"
            );
            let store = open(&database).await?;
            let attempts = all_attempts(store.as_ref(), state, integration).await?;
            let listed = store
                .deliveries(state == Some(DeliveryState::Failed))
                .await?
                .into_iter()
                .filter(|d| state.is_none_or(|s| d.state == s))
                .filter(|d| integration.is_none_or(|i| d.integration_id == i));
            for d in listed {
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
            let store = open(&database).await?;
            match id {
                Some(id) => {
                    if store.resend_deliveries(vec![id]).await?.is_empty() {
                        anyhow::bail!("there is no delivery {id}");
                    }
                    println!("Delivery {id} will be sent again.");
                }
                None => match store.retry_deliveries(None).await? {
                    0 => println!("There are no failed deliveries."),
                    count => println!("{count} delivery(ies) will be sent again."),
                },
            }
        }
    }
    Ok(())
}

/// Every attempt of every delivery (in `state`, to `integration`, when
/// given), by delivery.
async fn all_attempts(
    store: &dyn Store,
    state: Option<DeliveryState>,
    integration: Option<Uuid>,
) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<store::Attempt>>> {
    let mut attempts = std::collections::HashMap::new();
    let mut after = None;
    loop {
        let page = store
            .delivery_page(store::DeliveryQuery {
                integrations: integration.map(|i| vec![i]),
                states: state.map(|s| vec![s]),
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
