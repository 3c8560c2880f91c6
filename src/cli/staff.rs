//! `staff add`, `staff list`, `staff disable` and `staff enable`: the inbox's
//! team from the command line, through the same code as `staff/*` and the
//! Team page ([`crate::admin`]).

use clap::Subcommand;
use uuid::Uuid;

use super::{DatabaseArg, open};
use crate::admin;
use crate::domain::staff::{self, AddStaff, Role, Scope, StaffChange};
use crate::domain::text::ShortText;

/// A member's role, as the command line takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Agent => Self::Agent,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Add a member of the inbox's team; prints a one-time password once
    /// (they choose their own at first login).
    Add {
        /// Their name, as replies show it.
        #[arg(long)]
        name: String,
        /// What they log in with (case-insensitive).
        #[arg(long)]
        login: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// An enterprise they see; give it once per enterprise. None: every
        /// enterprise.
        #[arg(long = "enterprise")]
        enterprises: Vec<Uuid>,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// List the team.
    List {
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Disable a member: they cannot log in, and their sessions end at once.
    Disable {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Enable a disabled member again.
    Enable {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

impl StaffCommand {
    pub fn database(&self) -> &DatabaseArg {
        match self {
            Self::Add { database, .. }
            | Self::List { database }
            | Self::Disable { database, .. }
            | Self::Enable { database, .. } => database,
        }
    }
}

fn login(text: &str) -> anyhow::Result<String> {
    staff::login(text, "--login").map_err(|e| anyhow::anyhow!(e.0))
}

/// Disables or enables the member `given`, as `staff/update` does.
async fn set_disabled(
    given: &str,
    database: &DatabaseArg,
    disabled: bool,
    now_ms: i64,
) -> anyhow::Result<staff::StaffMember> {
    let change = StaffChange {
        disabled: Some(disabled),
        ..StaffChange::default()
    };
    let store = open(database).await?;
    admin::update_staff(store.as_ref(), login(given)?, change, now_ms)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Missing(_) => {
                anyhow::anyhow!("there is no staff member {given}")
            }
            e => e.into(),
        })
}

pub async fn run(command: StaffCommand) -> anyhow::Result<()> {
    let now_ms = crate::clock::real().now_ms();
    match command {
        StaffCommand::Add {
            name,
            login: given,
            role,
            enterprises,
            database,
        } => {
            let request = AddStaff {
                name: ShortText::checked(&name, "--name").map_err(|e| anyhow::anyhow!(e.0))?,
                login: login(&given)?,
                role: role.into(),
                scope: Scope::of(enterprises),
            };
            let store = open(&database).await?;
            let (member, password) = admin::add_staff(store.as_ref(), request, now_ms).await?;
            println!(
                "Added {} \"{}\" ({}).",
                member.login,
                member.name,
                member.role.as_str()
            );
            println!("One-time password: {password}");
            println!("They choose their own password when they first log in to /inbox.");
        }
        StaffCommand::List { database } => {
            println!(
                "{:<36}  {:<24}  {:<6}  {:<9}  NAME, ENTERPRISES",
                "ID", "LOGIN", "ROLE", "STATE"
            );
            for m in open(&database).await?.staff().await? {
                let state = if m.disabled {
                    "disabled"
                } else if m.must_change_password {
                    "invited"
                } else {
                    "active"
                };
                let scope = match m.scope.filter() {
                    None => "every enterprise".to_owned(),
                    Some(ids) => ids
                        .iter()
                        .map(Uuid::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                };
                println!(
                    "{:<36}  {:<24}  {:<6}  {state:<9}  {}, {scope}",
                    m.id,
                    m.login,
                    m.role.as_str(),
                    m.name
                );
            }
        }
        StaffCommand::Disable {
            login: given,
            database,
        } => {
            let member = set_disabled(&given, &database, true, now_ms).await?;
            println!("{} is disabled; their sessions have ended.", member.login);
        }
        StaffCommand::Enable {
            login: given,
            database,
        } => {
            let member = set_disabled(&given, &database, false, now_ms).await?;
            println!("{} may log in again.", member.login);
        }
    }
    Ok(())
}
