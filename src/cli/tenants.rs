//! `enterprise`, `integration` and `token`: the tenants of a database.

use anyhow::Context;
use clap::Subcommand;
use uuid::Uuid;

use super::{DatabaseArg, now, open};
use crate::domain::webhook::WebhookUrl;
use crate::store::{
    AccessTokenInfo, Enterprise, Integration, NewAccessToken, NewIntegration, TokenRef,
};
use crate::tokens::{self, TokenHash};

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

fn parse_webhook_url(text: &str) -> Result<WebhookUrl, String> {
    WebhookUrl::parse(text)
}

fn check_name(name: &str) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        anyhow::bail!("--name must be 1 to 255 characters long");
    }
    Ok(name.to_owned())
}

pub async fn enterprise(command: EnterpriseCommand) -> anyhow::Result<()> {
    match command {
        EnterpriseCommand::Add { name, id, database } => {
            let name = check_name(&name)?;
            let store = open(&database).await?;
            let enterprise = Enterprise {
                id: id.unwrap_or_else(Uuid::new_v4),
                name,
                created: now(store.as_ref()).await?,
            };
            store.add_enterprise(enterprise.clone()).await?;
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

pub async fn integration(command: IntegrationCommand) -> anyhow::Result<()> {
    match command {
        IntegrationCommand::Add {
            name,
            webhook_url,
            database,
        } => {
            let name = check_name(&name)?;
            let store = open(&database).await?;
            let token = tokens::generate()?;
            let integration = Integration {
                id: Uuid::new_v4(),
                name,
                created: now(store.as_ref()).await?,
                webhook_url: webhook_url.map(|u| u.as_str().to_owned()),
            };
            store
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

pub async fn token(command: TokenCommand) -> anyhow::Result<()> {
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
            let store = open(&database).await?;
            let token = tokens::generate()?;
            let info = AccessTokenInfo {
                id: Uuid::new_v4(),
                integration_id: integration,
                enterprises,
                created: now(store.as_ref()).await?,
                revoked: None,
            };
            store
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
            let store = open(&database).await?;
            store
                .revoke_access_token(by, now(store.as_ref()).await?)
                .await
                .context("cannot revoke the token")?;
            println!("Revoked.");
        }
    }
    Ok(())
}
