//! Staff accounts in the database (SPEC §15.1): members, and what they did
//! that the inbox shows (a reply's author, resolves and reopens).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::row::{Row, unknown};
use crate::domain::staff::{Role, Scope, StaffChange, StaffMember};

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
}

/// What the inbox shows of a thread beside its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadHistory {
    /// `(message id, author's name)` of the replies written by someone known.
    pub authors: Vec<(Uuid, String)>,
    pub activity: Vec<Activity>,
}

/// A resolve or a reopen, by whom and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at_utc: i64,
    pub name: String,
    pub resolved: bool,
    /// The thread's last message when it happened (none: before any).
    pub after_message: Option<Uuid>,
}

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

/// A row of `(at_utc, name, action, after_message_id)`.
pub fn activity(row: &impl Row) -> StoreResult<Activity> {
    let action = row.text(2)?;
    Ok(Activity {
        at_utc: row.int(0)?,
        name: row.string(1)?,
        after_message: row.uuid_or_null(3)?,
        resolved: match action {
            "Resolved" => true,
            "Reopened" => false,
            other => return Err(unknown("thread activity", other)),
        },
    })
}
