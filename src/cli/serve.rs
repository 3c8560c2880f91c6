//! `switchboard serve`: its flags, and the server options they make.

use clap::{Args, ValueEnum};

use super::DatabaseArg;
use crate::domain::webhook::{RetryPolicy, parse_duration};
use crate::http::serve::Limits;
use crate::ratelimit::RateLimit;
use crate::server::{self, ClockSetting, ServeOptions};
use crate::webhooks::{Redirects, WebhookSettings};

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
    /// Most live inbox pages (event streams) open at once on this node, at
    /// most 10 per session; it must leave connections to the APIs, so it is
    /// at most half of --max-connections (default: 256, or that half).
    #[arg(long, env = "SWITCHBOARD_MAX_LIVE_STREAMS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_live_streams: Option<u32>,
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
    ///
    /// Without it, a database that keeps a manual clock goes on with it and
    /// any other reads the system's; `--clock system` turns a database's
    /// manual clock off.
    #[arg(long, env = "SWITCHBOARD_CLOCK", value_enum)]
    pub clock: Option<ClockMode>,
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

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.clock != Some(ClockMode::Manual) && args.clock_start.is_some() {
        anyhow::bail!("--clock-start needs --clock manual");
    }
    let half = (args.max_connections / 2).max(1);
    let max_live_streams = match args.max_live_streams {
        Some(streams) if streams > half => anyhow::bail!(
            "--max-live-streams {streams} would leave too few of --max-connections {} to the \
             APIs: give at most {half}",
            args.max_connections
        ),
        Some(streams) => streams,
        None => half.min(crate::http::DEFAULT_LIVE_STREAMS as u32),
    };
    server::run(ServeOptions {
        listen: args.listen,
        database: args.database.url,
        demo: !args.no_demo,
        operator_token: args.operator_token,
        rate_limit: args.rate_limit,
        max_body_bytes: args.max_body_bytes,
        max_live_streams: max_live_streams as usize,
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
            None => ClockSetting::AsStored,
            Some(ClockMode::System) => ClockSetting::System,
            Some(ClockMode::Manual) => ClockSetting::Manual {
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
