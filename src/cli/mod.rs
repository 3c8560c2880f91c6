//! The command line: the product's verbs as clap subcommands, one module per
//! group of verbs.

mod fidelity;
mod serve;
mod staff;
mod tenants;
mod transfer;
mod webhooks;

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::clock;
use crate::domain::time::Timestamp;
use crate::domain::webhook::WebhookUrl;
use crate::store::{self, Store};
pub use serve::{ClockMode, LogFormat, ServeArgs};
use staff::StaffCommand;
use tenants::{EnterpriseCommand, IntegrationCommand, TokenCommand};
use webhooks::WebhooksCommand;

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
    /// Manage the staff who log in to the inbox.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// Record the Connector API exchanges of an integration with an upstream
    /// (the vendor's demo environment, say), as a proxy.
    Record(fidelity::RecordArgs),
    /// Replay a recording against switchboard (or --target) and report every
    /// difference; exits 1 when there is one.
    Verify(fidelity::VerifyArgs),
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
/// Runs a parsed command line. What goes wrong with a database names it.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let database = match &cli.command {
        Command::Serve(_) | Command::Record(_) | Command::Verify(_) => None,
        Command::Enterprise(c) => Some(c.database().url.clone()),
        Command::Integration(c) => Some(c.database().url.clone()),
        Command::Token(c) => Some(c.database().url.clone()),
        Command::Webhooks(c) => Some(c.database().url.clone()),
        Command::Staff(c) => Some(c.database().url.clone()),
        Command::Export { database, .. } | Command::Import { database, .. } => {
            Some(database.url.clone())
        }
    };
    let done = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Enterprise(command) => tenants::enterprise(command).await,
        Command::Integration(command) => tenants::integration(command).await,
        Command::Token(command) => tenants::token(command).await,
        Command::Webhooks(command) => webhooks::run(command).await,
        Command::Staff(command) => staff::run(command).await,
        Command::Record(args) => fidelity::record(args).await,
        Command::Verify(args) => fidelity::verify(args).await,
        Command::Export { output, database } => transfer::export(output, &database).await,
        Command::Import { input, database } => transfer::import(input, &database).await,
    };
    match database {
        Some(url) => done.with_context(|| format!("database {}", WebhookUrl::redacted(&url))),
        None => done,
    }
}

/// The store of an existing database: the CLI makes none (but `serve` and
/// `import`).
async fn open(database: &DatabaseArg) -> anyhow::Result<Arc<dyn Store>> {
    Ok(store::Backend::open_as(&database.url, store::Create::No)
        .await?
        .store())
}

/// Now, on the database's clock: its manual clock when it keeps one, so that
/// what the CLI writes beside a server on a manual clock has that server's
/// time.
async fn now(store: &dyn Store) -> anyhow::Result<Timestamp> {
    let now = match store.stored_clock().await? {
        Some(clock) => chrono::DateTime::from_timestamp_millis(clock.now_ms).unwrap_or_default(),
        None => clock::system().now(),
    };
    Ok(Timestamp::truncate(now))
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
