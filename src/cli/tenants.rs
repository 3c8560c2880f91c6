//! `enterprise`, `integration` and `token`: the tenants of a database.

use anyhow::Context;
use clap::Subcommand;
use uuid::Uuid;

use super::{DatabaseArg, now, open};
use crate::admin;
use crate::domain::admin::{ScopeError, SigningChange, TokenScope};
use crate::domain::text::ShortText;
use crate::domain::webhook::WebhookUrl;
use crate::store::TokenRef;
use crate::tokens::TokenHash;

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
    /// Sign the integration's webhooks with a new secret (printed once; the
    /// one it replaces signs beside it for 24 hours), or stop signing them.
    #[command(group(clap::ArgGroup::new("signing").required(true).args(["new_secret", "off"])))]
    Signing {
        /// The integration's id (see `integration list`).
        #[arg(long)]
        integration: Uuid,
        /// Make a new secret.
        #[arg(long)]
        new_secret: bool,
        /// Send its webhooks unsigned again.
        #[arg(long)]
        off: bool,
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

fn parse_webhook_url(text: &str) -> Result<WebhookUrl, String> {
    WebhookUrl::parse(text)
}

impl EnterpriseCommand {
    pub fn database(&self) -> &DatabaseArg {
        match self {
            Self::Add { database, .. } | Self::List { database } => database,
        }
    }
}

impl IntegrationCommand {
    pub fn database(&self) -> &DatabaseArg {
        match self {
            Self::Add { database, .. }
            | Self::SetWebhook { database, .. }
            | Self::Signing { database, .. }
            | Self::List { database } => database,
        }
    }
}

impl TokenCommand {
    pub fn database(&self) -> &DatabaseArg {
        match self {
            Self::Add { database, .. }
            | Self::List { database }
            | Self::Revoke { database, .. } => database,
        }
    }
}

/// `--name`, by the rule of a name over HTTP, less its surrounding blanks.
fn check_name(name: &str) -> anyhow::Result<ShortText> {
    ShortText::checked(name, "--name").map_err(|e| anyhow::anyhow!(e.0))
}

pub async fn enterprise(command: EnterpriseCommand) -> anyhow::Result<()> {
    match command {
        EnterpriseCommand::Add { name, id, database } => {
            let name = check_name(&name)?;
            let store = open(&database).await?;
            let now = now(store.as_ref()).await?;
            let enterprise = admin::add_enterprise(store.as_ref(), id, name, now).await?;
            println!(
                "Added enterprise {} \"{}\".",
                enterprise.id, enterprise.name
            );
        }
        EnterpriseCommand::List { database } => {
            let enterprises = open(&database).await?.enterprises().await?;
            println!("{:<36}  {:<20}  NAME", "ID", "CREATED");
            for e in enterprises {
                println!("{:<36}  {:<20}  {}", e.id, e.created, e.name);
            }
        }
    }
    Ok(())
}

pub async fn integration(command: IntegrationCommand) -> anyhow::Result<()> {
    match command {
        IntegrationCommand::Add {
            name,
            webhook_url,
            database,
        } => {
            let name = check_name(&name)?;
            let store = open(&database).await?;
            let now = now(store.as_ref()).await?;
            let (integration, token) =
                admin::add_integration(store.as_ref(), name, webhook_url, now).await?;
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
            let store = open(&database).await?;
            let changed =
                admin::update_integration(store.as_ref(), integration, None, Some(new_url)).await?;
            match changed.webhook_url {
                Some(url) => println!(
                    "Webhooks of integration {integration} now go to {}",
                    WebhookUrl::redacted(&url)
                ),
                None => println!("Integration {integration} has no webhook any more."),
            }
        }
        IntegrationCommand::Signing {
            integration,
            new_secret,
            off: _,
            database,
        } => {
            let store = open(&database).await?;
            let change = if new_secret {
                SigningChange::NewSecret
            } else {
                SigningChange::Off
            };
            let now_ms = now(store.as_ref()).await?.unix() * 1000;
            match admin::set_signing(store.as_ref(), integration, change, now_ms).await? {
                Some(secret) => {
                    println!("Webhooks of integration {integration} are now signed with:");
                    println!("{secret}");
                    println!(
                        "Keep it now: it is not shown again. The secret it replaces (if any) \
                         signs too for 24 hours."
                    );
                }
                None => println!("Webhooks of integration {integration} go unsigned."),
            }
        }
        IntegrationCommand::List { database } => {
            let integrations = open(&database).await?.integrations().await?;
            println!(
                "{:<36}  {:<20}  {:<30}  WEBHOOK (QUERY HIDDEN)",
                "ID", "CREATED", "NAME"
            );
            for i in integrations {
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

pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Add {
            integration,
            enterprises,
            database,
        } => {
            let scope = TokenScope::new(enterprises).map_err(|e| match e {
                ScopeError::Repeated(id) => {
                    anyhow::anyhow!("each --enterprise may be given once ({id} is twice)")
                }
                ScopeError::Empty | ScopeError::TooMany => {
                    anyhow::anyhow!("give --enterprise 1 to 1000 times")
                }
            })?;
            let store = open(&database).await?;
            let now = now(store.as_ref()).await?;
            let (info, token) =
                admin::add_access_token(store.as_ref(), integration, scope, now).await?;
            println!(
                "Added access token {} for integration {integration}.",
                info.id
            );
            println!("AccessToken: {token}");
            println!("Keep it now: switchboard stores only its hash and cannot show it again.");
        }
        TokenCommand::List { database } => {
            let tokens = admin::access_tokens(open(&database).await?.as_ref(), None).await?;
            println!(
                "{:<36}  {:<36}  {:<20}  {:<20}  ENTERPRISES (HOME FIRST)",
                "ID", "INTEGRATION", "CREATED", "REVOKED"
            );
            for t in tokens {
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
            let store = open(&database).await?;
            let now = now(store.as_ref()).await?;
            admin::revoke(store.as_ref(), by, now)
                .await
                .context("cannot revoke the token")?;
            println!("Revoked.");
        }
    }
    Ok(())
}
