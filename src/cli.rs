//! The command line: the product's verbs as clap subcommands.

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use uuid::Uuid;

use crate::clock;
use crate::domain::paging::Count;
use crate::domain::time::Timestamp;
use crate::domain::webhook::DeliveryState;
use crate::domain::webhook::{RetryPolicy, WebhookUrl, parse_duration};
use crate::http::serve::Limits;
use crate::ratelimit::RateLimit;
use crate::server::{self, ClockSetting, ServeOptions};
use crate::store::{
    self, AccessTokenInfo, Enterprise, Integration, NewAccessToken, NewIntegration, Store, TokenRef,
};
use crate::tokens::{self, TokenHash};
use crate::webhooks::{Redirects, WebhookSettings};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Guest messaging server speaking the Mews Connector API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Manage enterprises (properties).
    #[command(subcommand)]
    Enterprise(EnterpriseCommand),
    /// Manage integrations (client applications) and their ClientTokens.
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Inspect and re-send webhook deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Write everything the database holds to a file, to move it to another
    /// backend or keep a snapshot (JSON Lines; token digests, never tokens).
    Export {
        /// The file to write (created readable by its owner only); standard
        /// output when omitted.
        #[arg(long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Load a file written by `export` into an empty database, in one
    /// transaction: a bad line is refused with its number and nothing is written.
    Import {
        /// The file to read; standard input when omitted.
        #[arg(long, value_name = "FILE")]
        input: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Args)]
pub struct DatabaseArg {
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DATABASE.
    #[arg(
        long = "database",
        env = "SWITCHBOARD_DATABASE_URL",
        default_value = "sqlite://switchboard.db"
    )]
    pub url: String,
}

/// Which clock the server reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// The machine's clock.
    System,
    /// A clock kept in the database that stands still until an operator moves
    /// it (`clock/set`, `clock/advance`); every node shares it.
    Manual,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "SWITCHBOARD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub database: DatabaseArg,
    /// Do not create the demo tenant on an empty database.
    #[arg(long, env = "SWITCHBOARD_NO_DEMO")]
    pub no_demo: bool,
    /// Requests allowed per access token in a sliding window: N/Ss.
    #[arg(long, env = "SWITCHBOARD_RATE_LIMIT", default_value = "200/30s")]
    pub rate_limit: RateLimit,
    /// Token of the staff (operator) API; generated and printed once when not given.
    #[arg(long, env = "SWITCHBOARD_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SWITCHBOARD_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Most MessageAdded events in one webhook request.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_BATCH", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_batch: u16,
    /// Attempts per webhook delivery before it is kept as failed.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub webhook_attempts: u32,
    /// Wait after the first failed attempt, for example 42s, 2m or 500ms; each
    /// later wait doubles (with ±20% jitter).
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_RETRY_BASE", default_value = "42s", value_parser = parse_duration)]
    pub webhook_retry_base: std::time::Duration,
    /// Most webhook requests in flight to one integration's receiver.
    #[arg(long, env = "SWITCHBOARD_WEBHOOK_PER_RECEIVER", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub webhook_per_receiver: u16,
    /// Let webhooks go to loopback, private, link-local and other non-public
    /// addresses (a receiver on this machine or the local network).
    #[arg(long, env = "SWITCHBOARD_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
    /// Which 307/308 redirects of a receiver are followed.
    #[arg(
        long,
        env = "SWITCHBOARD_WEBHOOK_REDIRECTS",
        value_enum,
        default_value = "same-origin"
    )]
    pub webhook_redirects: Redirects,
    /// Most connections open at once; more clients wait until one closes.
    #[arg(long, env = "SWITCHBOARD_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// How long a client may take to send a request's headers, from connecting
    /// or from its previous answer (so also how long a keep-alive connection may
    /// sit idle), for example 10s or 500ms.
    #[arg(long, env = "SWITCHBOARD_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: std::time::Duration,
    /// How long requests in flight may take to finish after SIGTERM or SIGINT
    /// before the process exits anyway, for example 10s.
    #[arg(long, env = "SWITCHBOARD_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub shutdown_timeout: std::time::Duration,
    /// The clock every part of the server reads.
    #[arg(long, env = "SWITCHBOARD_CLOCK", value_enum, default_value = "system")]
    pub clock: ClockMode,
    /// Where a new manual clock starts (RFC 3339; default now). A database that
    /// already has a manual clock keeps it.
    #[arg(long, env = "SWITCHBOARD_CLOCK_START", value_parser = parse_clock_start)]
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
    /// How many Connector API requests this node's request log keeps (in
    /// memory; see requests/getAll); 0 keeps none.
    #[arg(long, env = "SWITCHBOARD_REQUEST_LOG", default_value_t = crate::request_log::DEFAULT_LENGTH)]
    pub request_log: usize,
    /// The address users reach this server at, such as
    /// https://inbox.hotel.example (behind a proxy); with https, the inbox's
    /// session cookie is sent over https only.
    #[arg(long, env = "SWITCHBOARD_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// Format of the log on standard error.
    #[arg(
        long,
        env = "SWITCHBOARD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum EnterpriseCommand {
    /// Add an enterprise.
    Add {
        /// Its name, as staff see it (1 to 255 characters).
        #[arg(long)]
        name: String,
        /// Its id; a new one is made when omitted.
        #[arg(long)]
        id: Option<Uuid>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List enterprises.
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Add an integration; prints its ClientToken once.
    Add {
        /// Its name, as staff see it (1 to 255 characters).
        #[arg(long)]
        name: String,
        /// Where its MessageAdded webhooks go (http or https; the query string is kept exactly).
        #[arg(long, value_parser = parse_webhook_url)]
        webhook_url: Option<WebhookUrl>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Set or clear an integration's webhook URL.
    SetWebhook {
        /// The integration's id (see `integration list`).
        #[arg(long)]
        integration: Uuid,
        /// The new URL (http or https).
        #[arg(long = "url", value_parser = parse_webhook_url, required_unless_present = "clear", conflicts_with = "clear")]
        new_url: Option<WebhookUrl>,
        /// Remove the URL: no more events are produced for the integration.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List integrations.
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an access token; prints it once. The first enterprise is its home;
    /// more than one makes a portfolio token.
    Add {
        /// The id of the integration the token is for.
        #[arg(long)]
        integration: Uuid,
        /// An enterprise the token reaches; give it once per enterprise, the
        /// home enterprise first.
        #[arg(long = "enterprise", required = true)]
        enterprises: Vec<Uuid>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List access tokens (ids, never the tokens).
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Revoke an access token, named by its id or by the token itself.
    Revoke {
        /// The token's id (from `token list`) or the AccessToken itself.
        #[arg(value_name = "TOKEN_OR_ID")]
        token: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

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

fn parse_clock_start(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::domain::time::parse_datetime(text)
        .ok_or_else(|| format!("'{text}' is not a date and time such as 2026-03-10T12:00:00Z"))
}

fn parse_public_url(text: &str) -> Result<String, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "'{text}' is not an http or https address such as https://inbox.hotel.example"
        )),
    }
}

fn parse_webhook_url(text: &str) -> Result<WebhookUrl, String> {
    WebhookUrl::parse(text)
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            if args.clock == ClockMode::System && args.clock_start.is_some() {
                anyhow::bail!("--clock-start needs --clock manual");
            }
            server::run(ServeOptions {
                listen: args.listen,
                database: args.database.url,
                demo: !args.no_demo,
                operator_token: args.operator_token,
                rate_limit: args.rate_limit,
                max_body_bytes: args.max_body_bytes,
                webhooks: WebhookSettings {
                    batch_size: args.webhook_batch.into(),
                    retry: RetryPolicy {
                        attempts: args.webhook_attempts,
                        base_delay: args.webhook_retry_base,
                    },
                    per_receiver: args.webhook_per_receiver.into(),
                    allow_private: args.allow_private_webhooks,
                    redirects: args.webhook_redirects,
                    ..WebhookSettings::default()
                },
                clock: match args.clock {
                    ClockMode::System => ClockSetting::System,
                    ClockMode::Manual => ClockSetting::Manual {
                        start: args.clock_start,
                    },
                },
                request_log: args.request_log,
                public_url: args.public_url,
                limits: Limits {
                    max_connections: args.max_connections as usize,
                    header_timeout: args.header_timeout,
                    drain: args.shutdown_timeout,
                },
            })
            .await
        }
        Command::Enterprise(command) => enterprise(command).await,
        Command::Integration(command) => integration(command).await,
        Command::Token(command) => token(command).await,
        Command::Webhooks(command) => webhooks(command).await,
        Command::Export { output, database } => export(output, &database).await,
        Command::Import { input, database } => import(input, &database).await,
    }
}

async fn export(output: Option<std::path::PathBuf>, database: &DatabaseArg) -> anyhow::Result<()> {
    let backend = store::Backend::open(&database.url).await?;
    let out: Box<dyn std::io::Write + Send> = match &output {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            // It holds every message and the token digests, like the database.
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(
                options
                    .open(path)
                    .with_context(|| format!("cannot write {}", path.display()))?,
            )
        }
        None => Box::new(std::io::stdout()),
    };
    let (_, count) = store::export::export(&backend, out).await?;
    let place = output.map_or_else(|| "standard output".to_owned(), |p| p.display().to_string());
    eprintln!("Exported {count} records to {place}.");
    Ok(())
}

async fn import(input: Option<std::path::PathBuf>, database: &DatabaseArg) -> anyhow::Result<()> {
    let reader: Box<dyn std::io::BufRead + Send> = match &input {
        Some(path) => Box::new(std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::with_capacity(1 << 16, std::io::stdin())),
    };
    let backend = store::Backend::open(&database.url).await?;
    let count = store::export::import(&backend, reader)
        .await
        .context("nothing was imported")?;
    println!("Imported {count} records.");
    Ok(())
}

/// Now, on the clock the server reads.
fn now() -> Timestamp {
    Timestamp::truncate(clock::system().now())
}

fn check_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        anyhow::bail!("--name must be 1 to 255 characters long");
    }
    Ok(name.to_owned())
}

async fn open(database: &DatabaseArg) -> anyhow::Result<Arc<dyn Store>> {
    store::open(&database.url).await
}

async fn enterprise(command: EnterpriseCommand) -> anyhow::Result<()> {
    match command {
        EnterpriseCommand::Add { name, id, database } => {
            let enterprise = Enterprise {
                id: id.unwrap_or_else(Uuid::new_v4),
                name: check_name(&name)?,
                created: now(),
            };
            open(&database)
                .await?
                .add_enterprise(enterprise.clone())
                .await?;
            println!(
                "Added enterprise {} \"{}\".",
                enterprise.id, enterprise.name
            );
        }
        EnterpriseCommand::List { database } => {
            println!("{:<36}  {:<20}  NAME", "ID", "CREATED");
            for e in open(&database).await?.enterprises().await? {
                println!("{:<36}  {:<20}  {}", e.id, e.created, e.name);
            }
        }
    }
    Ok(())
}

async fn integration(command: IntegrationCommand) -> anyhow::Result<()> {
    match command {
        IntegrationCommand::Add {
            name,
            webhook_url,
            database,
        } => {
            let token = tokens::generate()?;
            let integration = Integration {
                id: Uuid::new_v4(),
                name: check_name(&name)?,
                created: now(),
                webhook_url: webhook_url.map(|u| u.as_str().to_owned()),
            };
            open(&database)
                .await?
                .add_integration(NewIntegration {
                    integration: integration.clone(),
                    client_token: TokenHash::of(&token),
                })
                .await?;
            println!(
                "Added integration {} \"{}\".",
                integration.id, integration.name
            );
            println!("ClientToken: {token}");
            println!("Keep it now: switchboard stores only its hash and cannot show it again.");
        }
        IntegrationCommand::SetWebhook {
            integration,
            new_url,
            clear: _,
            database,
        } => {
            let url = new_url.map(|u| u.as_str().to_owned());
            open(&database)
                .await?
                .set_webhook_url(integration, url.clone())
                .await?;
            match url {
                Some(url) => println!(
                    "Webhooks of integration {integration} now go to {}",
                    WebhookUrl::redacted(&url)
                ),
                None => println!("Integration {integration} has no webhook any more."),
            }
        }
        IntegrationCommand::List { database } => {
            println!(
                "{:<36}  {:<20}  {:<30}  WEBHOOK (QUERY HIDDEN)",
                "ID", "CREATED", "NAME"
            );
            for i in open(&database).await?.integrations().await? {
                let hook = i
                    .webhook_url
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), WebhookUrl::redacted);
                println!("{:<36}  {:<20}  {:<30}  {hook}", i.id, i.created, i.name);
            }
        }
    }
    Ok(())
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            integration,
            enterprises,
            database,
        } => {
            let mut unique = enterprises.clone();
            unique.sort();
            unique.dedup();
            if unique.len() != enterprises.len() {
                anyhow::bail!("each --enterprise may be given once");
            }
            let token = tokens::generate()?;
            let info = AccessTokenInfo {
                id: Uuid::new_v4(),
                integration_id: integration,
                enterprises,
                created: now(),
                revoked: None,
            };
            open(&database)
                .await?
                .add_access_token(NewAccessToken {
                    info: info.clone(),
                    token: TokenHash::of(&token),
                })
                .await?;
            println!(
                "Added access token {} for integration {integration}.",
                info.id
            );
            println!("AccessToken: {token}");
            println!("Keep it now: switchboard stores only its hash and cannot show it again.");
        }
        TokenCommand::List { database } => {
            println!(
                "{:<36}  {:<36}  {:<20}  {:<20}  ENTERPRISES (HOME FIRST)",
                "ID", "INTEGRATION", "CREATED", "REVOKED"
            );
            for t in open(&database).await?.access_tokens().await? {
                let enterprises: Vec<String> = t.enterprises.iter().map(Uuid::to_string).collect();
                let revoked = t.revoked.map_or_else(|| "-".to_owned(), |r| r.to_string());
                println!(
                    "{:<36}  {:<36}  {:<20}  {:<20}  {}",
                    t.id,
                    t.integration_id,
                    t.created,
                    revoked,
                    enterprises.join(",")
                );
            }
        }
        TokenCommand::Revoke { token, database } => {
            let by = match Uuid::try_parse(&token) {
                Ok(id) if token.len() == 36 => TokenRef::Id(id),
                _ => TokenRef::Secret(TokenHash::of(&token)),
            };
            open(&database)
                .await?
                .revoke_access_token(by, now())
                .await
                .context("cannot revoke the token")?;
            println!("Revoked.");
        }
    }
    Ok(())
}

async fn webhooks(command: WebhooksCommand) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_follow_the_spec() {
        let cli = Cli::try_parse_from(["switchboard", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.listen, "127.0.0.1:8080");
        assert_eq!(args.database.url, "sqlite://switchboard.db");
        assert_eq!(args.rate_limit.to_string(), "200/30s");
        assert!(!args.no_demo);
    }
}
