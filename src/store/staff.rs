//! Staff accounts in the database (SPEC §15.1): members, and what they did
//! that the inbox shows (a reply's author, resolves and reopens).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::row::{Row, unknown};
use crate::domain::staff::{Actor, Role, Scope, StaffChange, StaffMember};
use crate::domain::time::Timestamp;

#[async_trait]
pub trait Staff: Send + Sync {
    /// Adds a member with its password's hash; a login taken already is a
    /// [`super::StoreError::Conflict`].
    async fn add_staff(&self, member: StaffMember, password_hash: String) -> StoreResult<()>;
    /// Every member, oldest first.
    async fn staff(&self) -> StoreResult<Vec<StaffMember>>;
    async fn staff_member(&self, id: Uuid) -> StoreResult<Option<StaffMember>>;
    /// A member by login (lower case), with its password's hash.
    async fn staff_login(&self, login: String) -> StoreResult<Option<(StaffMember, String)>>;
    /// Changes a member ([`super::Missing::StaffMember`] if there is none);
    /// disabling one ends its sessions as of `now_ms`.
    async fn update_staff(
        &self,
        login: String,
        change: StaffChange,
        now_ms: i64,
    ) -> StoreResult<StaffMember>;
    /// A new password (its hash): sessions issued before `sessions_from_ms`
    /// end.
    async fn set_password(
        &self,
        id: Uuid,
        password_hash: String,
        must_change: bool,
        sessions_from_ms: i64,
    ) -> StoreResult<()>;
    /// Who wrote the staff replies of a thread (by message id), and its
    /// activity, oldest first.
    async fn thread_history(&self, thread: Uuid) -> StoreResult<ThreadHistory>;
    /// Assigns a thread (or unassigns it: `None`), with a line in its
    /// history, when that changes it; [`super::Missing::Thread`] if there
    /// is none.
    async fn assign(
        &self,
        thread: Uuid,
        assignee: Assignee,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()>;
    /// Adds an internal note to a thread's history.
    async fn add_note(
        &self,
        thread: Uuid,
        text: String,
        at: Timestamp,
        actor: Actor,
    ) -> StoreResult<()>;
    /// Notes that `reader` has seen the thread up to its newest message.
    async fn mark_read(&self, reader: Uuid, thread: Uuid) -> StoreResult<()>;
    /// Every canned reply, by name.
    async fn canned_replies(&self) -> StoreResult<Vec<CannedReply>>;
    /// Adds a canned reply; a name taken already for the same enterprise
    /// (or for all) is a [`super::StoreError::Conflict`].
    async fn add_canned_reply(&self, reply: CannedReply) -> StoreResult<()>;
    /// Deletes a canned reply; whether there was one.
    async fn delete_canned_reply(&self, id: Uuid) -> StoreResult<bool>;
    /// How far `reader` has seen each of these threads (the seq of the
    /// newest message seen), for those they have opened.
    async fn seen(&self, reader: Uuid, threads: Vec<Uuid>) -> StoreResult<Vec<(Uuid, i64)>>;
}

/// What the inbox shows of a thread beside its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadHistory {
    /// `(message id, author's name)` of the replies written by someone known.
    pub authors: Vec<(Uuid, String)>,
    pub activity: Vec<Activity>,
}

/// A line of a thread's history: by whom, when, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at_utc: i64,
    pub name: String,
    pub action: Action,
    /// The thread's last message when it happened (none: before any).
    pub after_message: Option<Uuid>,
}

/// What a line of a thread's history says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Resolved,
    Reopened,
    /// Assigned to this member (by name).
    Assigned(String),
    Unassigned,
    /// An internal note: staff only.
    Noted(String),
}

impl Action {
    /// The action's name, as the database and export files keep it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Resolved => "Resolved",
            Self::Reopened => "Reopened",
            Self::Assigned(_) => "Assigned",
            Self::Unassigned => "Unassigned",
            Self::Noted(_) => "Noted",
        }
    }

    /// The assignee's name or the note's text.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Assigned(text) | Self::Noted(text) => Some(text),
            _ => None,
        }
    }

    /// The line an assignment to `assignee` writes.
    pub fn assignment(assignee: &Assignee) -> Self {
        match assignee {
            Some((_, name)) => Self::Assigned(name.clone()),
            None => Self::Unassigned,
        }
    }

    /// From its name and detail; `None` when they do not make one.
    pub fn parse(action: &str, detail: Option<String>) -> Option<Self> {
        Some(match (action, detail) {
            ("Resolved", None) => Self::Resolved,
            ("Reopened", None) => Self::Reopened,
            ("Assigned", Some(name)) => Self::Assigned(name),
            ("Unassigned", None) => Self::Unassigned,
            ("Noted", Some(text)) => Self::Noted(text),
            _ => return None,
        })
    }
}

/// A named snippet of a reply that admins keep (SPEC 15.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedReply {
    pub id: Uuid,
    pub name: String,
    /// For this enterprise's threads only; `None`: for all.
    pub enterprise_id: Option<Uuid>,
    /// With `{guest}`, `{hotel}` and `{agent}` to fill in.
    pub text: String,
    pub created_ms: i64,
}

impl CannedReply {
    /// The name as names are told apart: case does not count, in any script.
    pub fn name_key(&self) -> String {
        self.name.to_lowercase()
    }

    /// The text for a guest of a hotel, written by an agent.
    pub fn filled(&self, guest: &str, hotel: &str, agent: &str) -> String {
        self.text
            .replace("{guest}", guest)
            .replace("{hotel}", hotel)
            .replace("{agent}", agent)
    }
}

/// The columns of a canned reply, in the order [`canned_reply`] reads them.
pub const CANNED_COLUMNS: &str = "id, name, enterprise_id, text, created_ms";

pub fn canned_reply(row: &impl Row) -> StoreResult<CannedReply> {
    Ok(CannedReply {
        id: row.uuid(0)?,
        name: row.string(1)?,
        enterprise_id: row.uuid_or_null(2)?,
        text: row.string(3)?,
        created_ms: row.int(4)?,
    })
}

/// The id an assignment to the built-in Operator (who has no member id)
/// keeps.
pub const OPERATOR_ID: Uuid = Uuid::nil();

/// A thread's new assignee: its id ([`OPERATOR_ID`] for the Operator) and
/// name; `None` to unassign.
pub type Assignee = Option<(Uuid, String)>;

/// Sets every thread's assignee from its history's last assignment, as an
/// import does.
pub const DERIVE_ASSIGNEE: &str = "UPDATE threads SET assignee_id = (\
     SELECT a.target_id FROM thread_activity a WHERE a.thread_id = threads.id \
       AND a.action IN ('Assigned', 'Unassigned') ORDER BY a.seq DESC LIMIT 1)";

/// The columns of a history line, in the order [`activity`] reads them.
pub const ACTIVITY_COLUMNS: &str = "at_utc, name, action, after_message_id, detail";

/// The columns of a member, in the order [`member`] reads them.
pub const COLUMNS: &str = "id, name, login, role, enterprise_ids, disabled, must_change_password, \
                           created_ms, sessions_from_ms";

pub fn member(row: &impl Row) -> StoreResult<StaffMember> {
    let role = row.text(3)?;
    Ok(StaffMember {
        id: row.uuid(0)?,
        name: row.string(1)?,
        login: row.string(2)?,
        role: Role::parse(role).ok_or_else(|| unknown("staff role", role))?,
        scope: Scope::of(row.uuid_list(4)?),
        disabled: row.boolean(5)?,
        must_change_password: row.boolean(6)?,
        created_ms: row.int(7)?,
        sessions_from_ms: row.int(8)?,
    })
}

/// A row of [`ACTIVITY_COLUMNS`].
pub fn activity(row: &impl Row) -> StoreResult<Activity> {
    let action = row.text(2)?;
    Ok(Activity {
        at_utc: row.int(0)?,
        name: row.string(1)?,
        after_message: row.uuid_or_null(3)?,
        action: Action::parse(action, row.string_or_null(4)?)
            .ok_or_else(|| unknown("thread activity", action))?,
    })
}
