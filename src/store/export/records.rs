//! The records of an export file, each kind with the query that reads it
//! and its conversions to and from what the store keeps: written once, for
//! both backends.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Record;
use crate::domain::fault::{Connection, Fault, Match, Stage, Target, WebhookFault};
use crate::domain::message::Message;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;
use crate::domain::webhook::DeliveryState;
use crate::store::content::{self, MESSAGE_COLUMNS, THREAD_COLUMNS};
use crate::store::outbox::{self, ATTEMPT_COLUMNS, DELIVERY_COLUMNS, EVENT_COLUMNS};
use crate::store::row::Row;
use crate::store::tenants::{self, ENTERPRISE_COLUMNS};
use crate::store::{
    AccessTokenInfo, Attempt, Enterprise, Integration, NewAccessToken, NewIntegration, StoreError,
    StoreResult, faults,
};
use crate::tokens::TokenHash;

/// The manual clock (absent when the database never had one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ClockRecord {
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EnterpriseRecord {
    pub id: Uuid,
    pub name: String,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IntegrationRecord {
    pub id: Uuid,
    pub name: String,
    pub client_token_digest: Digest,
    pub created: i64,
    pub webhook_url: Option<String>,
    /// Version 3: `webhooks/pause` holds its deliveries.
    #[serde(default)]
    pub webhooks_paused: bool,
    /// Version 3: its signing secret, and the one before a rotation with
    /// until when it signs too (base64, as secrets are kept in the file).
    #[serde(default)]
    pub signing_secret: Option<Secret>,
    #[serde(default)]
    pub previous_secret: Option<Secret>,
    #[serde(default)]
    pub previous_until_ms: Option<i64>,
}

/// A signing secret in the file: its bytes in base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(Secret)
            .map_err(serde::de::Error::custom)
    }
}

impl IntegrationRecord {
    /// Its webhook settings beyond the URL, as the store keeps them.
    pub fn webhook_state(&self) -> crate::store::outbox::WebhookTarget {
        crate::store::outbox::WebhookTarget {
            url: self.webhook_url.clone(),
            paused: self.webhooks_paused,
            signing: crate::store::outbox::Signing {
                secret: self.signing_secret.as_ref().map(|s| s.0.clone()),
                previous: self
                    .previous_secret
                    .as_ref()
                    .zip(self.previous_until_ms)
                    .map(|(s, until)| (s.0.clone(), until)),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AccessTokenRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub token_digest: Digest,
    pub created: i64,
    pub revoked: Option<i64>,
    /// The enterprises it reaches, its home first.
    pub enterprise_ids: Vec<Uuid>,
}

/// A staff member of the inbox, with the hash of their password (never the
/// password). Version 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StaffMemberRecord {
    pub id: Uuid,
    pub name: String,
    pub login: String,
    pub password_hash: String,
    pub role: String,
    /// Empty: every enterprise.
    pub enterprise_ids: Vec<Uuid>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_ms: i64,
    pub sessions_from_ms: i64,
}

impl StaffMemberRecord {
    /// The member, once its role is known to be one (see the file's checks).
    pub fn to_member(&self) -> (crate::domain::staff::StaffMember, String) {
        use crate::domain::staff::{Role, Scope, StaffMember};
        (
            StaffMember {
                id: self.id,
                name: self.name.clone(),
                login: self.login.clone(),
                role: Role::parse(&self.role).unwrap_or(Role::Agent),
                scope: Scope::of(self.enterprise_ids.clone()),
                disabled: self.disabled,
                must_change_password: self.must_change_password,
                created_ms: self.created_ms,
                sessions_from_ms: self.sessions_from_ms,
            },
            self.password_hash.clone(),
        )
    }
}

/// Who wrote a staff reply. Version 4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MessageAuthorRecord {
    pub message_id: Uuid,
    pub member_id: Option<Uuid>,
    pub name: String,
}

/// A canned reply of the inbox. Version 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CannedReplyRecord {
    pub id: Uuid,
    pub name: String,
    pub enterprise_id: Option<Uuid>,
    pub text: String,
    pub created_ms: i64,
}

impl CannedReplyRecord {
    pub fn to_canned(&self) -> crate::store::staff::CannedReply {
        crate::store::staff::CannedReply {
            id: self.id,
            name: self.name.clone(),
            enterprise_id: self.enterprise_id,
            text: self.text.clone(),
            created_ms: self.created_ms,
        }
    }
}

/// A line of a thread's history, by whom: a resolve or a reopen (version
/// 4), an assignment or an internal note (version 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ThreadActivityRecord {
    pub thread_id: Uuid,
    pub at: i64,
    pub member_id: Option<Uuid>,
    pub name: String,
    /// `Resolved` or `Reopened`.
    pub action: String,
    /// The thread's last message when it happened.
    pub after_message_id: Option<Uuid>,
    /// `Assigned`: the assignee's member id (the nil id: the Operator).
    /// Version 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<Uuid>,
    /// `Assigned`: the assignee's name; `Noted`: the note. Version 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A fault, with its uses left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FaultRecord {
    pub id: Uuid,
    pub operation: String,
    pub integration_id: Option<Uuid>,
    pub status: Option<u16>,
    pub message: Option<String>,
    pub retry_after_seconds: Option<u32>,
    pub delay_ms: u32,
    pub probability: f64,
    pub times: Option<u32>,
    pub remaining: Option<u32>,
    pub stage: Stage,
    pub created_ms: i64,
    /// Version 2.
    #[serde(default)]
    pub connection: Option<Connection>,
    #[serde(default)]
    pub match_thread_id: Option<Uuid>,
    /// Version 3.
    #[serde(default)]
    pub webhook: Option<WebhookFault>,
    #[serde(default)]
    pub delay_seconds: Option<u32>,
}

impl From<Fault> for FaultRecord {
    fn from(f: Fault) -> Self {
        Self {
            id: f.id,
            operation: f.operation.name().to_owned(),
            integration_id: f.integration_id,
            status: f.status,
            message: f.message,
            retry_after_seconds: f.retry_after_seconds,
            delay_ms: f.delay_ms,
            probability: f.probability,
            times: f.times,
            remaining: f.remaining,
            stage: f.stage,
            created_ms: f.created_ms,
            connection: f.connection,
            match_thread_id: f.matches.map(|m| m.message_thread_id),
            webhook: f.webhook,
            delay_seconds: f.delay_seconds,
        }
    }
}

impl FaultRecord {
    /// The fault, once its operation is known to be one (see the file's checks).
    pub fn to_fault(&self) -> Fault {
        let f = self.clone();
        Fault {
            id: f.id,
            operation: Target::parse(&f.operation).unwrap_or(Target::Any),
            integration_id: f.integration_id,
            status: f.status,
            message: f.message,
            retry_after_seconds: f.retry_after_seconds,
            delay_ms: f.delay_ms,
            probability: f.probability,
            times: f.times,
            remaining: f.remaining,
            stage: f.stage,
            created_ms: f.created_ms,
            connection: f.connection,
            matches: f
                .match_thread_id
                .map(|message_thread_id| Match { message_thread_id }),
            webhook: f.webhook,
            delay_seconds: f.delay_seconds,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ThreadRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub original_sender: String,
    pub subject: String,
    pub created: i64,
    pub updated: i64,
    pub is_resolved: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MessageRecord {
    pub id: Uuid,
    pub thread_id: Uuid,
    pub text: String,
    pub sender: SenderName,
    pub created: i64,
}

/// Who wrote a message, as the database keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SenderName {
    Application,
    Enterprise,
}

impl SenderName {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "Application",
            Self::Enterprise => "Enterprise",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Application" => Some(Self::Application),
            "Enterprise" => Some(Self::Enterprise),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub leased_until_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    /// Version 3: a `Delay` fault held it already.
    #[serde(default)]
    pub held: bool,
}

/// One attempt of a delivery, in the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttemptRecord {
    pub delivery_id: Uuid,
    pub started_ms: i64,
    pub duration_ms: i64,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub response: Option<String>,
    /// Version 3: the body the attempt sent.
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EventRecord {
    pub message_id: Uuid,
    pub integration_id: Uuid,
    pub enterprise_id: Uuid,
    pub created_ms: i64,
    pub delivery_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EndRecord {
    pub records: u64,
}

impl From<Thread> for ThreadRecord {
    fn from(t: Thread) -> Self {
        Self {
            id: t.id,
            integration_id: t.integration_id,
            enterprise_id: t.enterprise_id,
            original_sender: t.original_sender,
            subject: t.subject,
            created: t.created.unix(),
            updated: t.updated.unix(),
            is_resolved: t.is_resolved,
        }
    }
}

impl ThreadRecord {
    pub fn to_thread(&self) -> Thread {
        Thread {
            id: self.id,
            integration_id: self.integration_id,
            enterprise_id: self.enterprise_id,
            original_sender: self.original_sender.clone(),
            subject: self.subject.clone(),
            created: Timestamp::from_unix(self.created),
            updated: Timestamp::from_unix(self.updated),
            is_resolved: self.is_resolved,
        }
    }
}

impl From<Message> for MessageRecord {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            thread_id: m.thread_id,
            text: m.text,
            sender: match m.sender {
                crate::domain::message::Sender::Application => SenderName::Application,
                crate::domain::message::Sender::Enterprise => SenderName::Enterprise,
            },
            created: m.created.unix(),
        }
    }
}

impl MessageRecord {
    pub fn to_message(&self) -> Message {
        Message {
            id: self.id,
            thread_id: self.thread_id,
            text: self.text.clone(),
            sender: match self.sender {
                SenderName::Application => crate::domain::message::Sender::Application,
                SenderName::Enterprise => crate::domain::message::Sender::Enterprise,
            },
            created: Timestamp::from_unix(self.created),
        }
    }
}

/// The query that reads each kind of record (by `Record::rank`, `End`
/// aside), in the file's order: the same on both backends.
pub fn queries() -> [String; 14] {
    [
        "SELECT now_ms FROM clock".to_owned(),
        format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprises ORDER BY id"),
        "SELECT id, name, created_utc, webhook_url, client_token_hash, webhooks_paused, \
                signing_secret, previous_secret, previous_until_ms \
         FROM integrations ORDER BY id"
            .to_owned(),
        "SELECT t.id, t.integration_id, t.created_utc, t.revoked_utc, t.enterprise_ids, \
                t.token_hash \
         FROM access_tokens t ORDER BY t.id"
            .to_owned(),
        format!(
            "SELECT {}, password_hash FROM staff_members ORDER BY created_ms, id",
            crate::store::staff::COLUMNS
        ),
        format!("SELECT {} FROM faults ORDER BY seq", faults::COLUMNS),
        format!("SELECT {THREAD_COLUMNS} FROM threads ORDER BY seq"),
        format!("SELECT {MESSAGE_COLUMNS} FROM messages ORDER BY seq"),
        "SELECT a.message_id, a.member_id, a.name FROM message_authors a \
         JOIN messages m ON m.id = a.message_id ORDER BY m.seq"
            .to_owned(),
        "SELECT thread_id, at_utc, member_id, name, action, after_message_id, target_id, detail \
         FROM thread_activity ORDER BY seq"
            .to_owned(),
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY id"),
        format!("SELECT {ATTEMPT_COLUMNS}, delivery_id FROM webhook_attempts ORDER BY seq"),
        format!("SELECT {EVENT_COLUMNS} FROM webhook_events ORDER BY seq"),
        format!(
            "SELECT {} FROM canned_replies ORDER BY created_ms, id",
            crate::store::staff::CANNED_COLUMNS
        ),
    ]
}

/// A row of `queries()[rank]` as its record.
pub fn record(rank: usize, row: &impl Row) -> StoreResult<Record> {
    let digest = |column| Digest::from_stored(row.bytes(column)?);
    Ok(match rank {
        0 => Record::Clock(ClockRecord {
            now_ms: row.int(0)?,
        }),
        1 => {
            let e = tenants::enterprise(row)?;
            Record::Enterprise(EnterpriseRecord {
                id: e.id,
                name: e.name,
                created: e.created.unix(),
            })
        }
        2 => {
            let i = tenants::integration(row)?;
            let signing = crate::store::outbox::Signing::from_row(row, 6)?;
            let (previous_secret, previous_until_ms) = match signing.previous {
                Some((secret, until)) => (Some(Secret(secret)), Some(until)),
                None => (None, None),
            };
            Record::Integration(IntegrationRecord {
                id: i.id,
                name: i.name,
                client_token_digest: digest(4)?,
                created: i.created.unix(),
                webhook_url: i.webhook_url,
                webhooks_paused: row.boolean(5)?,
                signing_secret: signing.secret.map(Secret),
                previous_secret,
                previous_until_ms,
            })
        }
        3 => {
            let t = tenants::access_token(row)?;
            Record::AccessToken(AccessTokenRecord {
                id: t.id,
                integration_id: t.integration_id,
                token_digest: digest(5)?,
                created: t.created.unix(),
                revoked: t.revoked.map(Timestamp::unix),
                enterprise_ids: t.enterprises,
            })
        }
        4 => {
            let m = crate::store::staff::member(row)?;
            Record::StaffMember(StaffMemberRecord {
                id: m.id,
                name: m.name,
                login: m.login,
                password_hash: row.string(9)?,
                role: m.role.as_str().to_owned(),
                enterprise_ids: m.scope.ids().to_vec(),
                disabled: m.disabled,
                must_change_password: m.must_change_password,
                created_ms: m.created_ms,
                sessions_from_ms: m.sessions_from_ms,
            })
        }
        5 => Record::Fault(faults::fault(row)?.into()),
        6 => Record::Thread(content::thread(row)?.into()),
        7 => Record::Message(content::message(row)?.into()),
        8 => Record::MessageAuthor(MessageAuthorRecord {
            message_id: row.uuid(0)?,
            member_id: row.uuid_or_null(1)?,
            name: row.string(2)?,
        }),
        9 => Record::ThreadActivity(ThreadActivityRecord {
            thread_id: row.uuid(0)?,
            at: row.int(1)?,
            member_id: row.uuid_or_null(2)?,
            name: row.string(3)?,
            action: row.string(4)?,
            after_message_id: row.uuid_or_null(5)?,
            target_id: row.uuid_or_null(6)?,
            detail: row.string_or_null(7)?,
        }),
        10 => Record::WebhookDelivery(DeliveryRecord {
            id: row.uuid(0)?,
            integration_id: row.uuid(1)?,
            enterprise_id: row.uuid(2)?,
            state: outbox::state(row, 3)?,
            attempts: row.number(4)?,
            next_attempt_ms: row.int(5)?,
            leased_until_ms: row.int_or_null(6)?,
            last_error: row.string_or_null(7)?,
            created_ms: row.int(8)?,
            finished_ms: row.int_or_null(9)?,
            held: row.boolean(10)?,
        }),
        11 => {
            let a = outbox::attempt(row)?;
            Record::WebhookAttempt(AttemptRecord {
                delivery_id: row.uuid(6)?,
                started_ms: a.started_ms,
                duration_ms: a.duration_ms,
                status: a.status,
                error: a.error,
                response: a.response,
                body: a.body,
            })
        }
        12 => Record::WebhookEvent(EventRecord {
            message_id: row.uuid(0)?,
            integration_id: row.uuid(1)?,
            enterprise_id: row.uuid(2)?,
            created_ms: row.int(3)?,
            delivery_id: row.uuid_or_null(4)?,
        }),
        _ => {
            let c = crate::store::staff::canned_reply(row)?;
            Record::CannedReply(CannedReplyRecord {
                id: c.id,
                name: c.name,
                enterprise_id: c.enterprise_id,
                text: c.text,
                created_ms: c.created_ms,
            })
        }
    })
}

impl EnterpriseRecord {
    pub fn to_enterprise(&self) -> Enterprise {
        Enterprise {
            id: self.id,
            name: self.name.clone(),
            created: Timestamp::from_unix(self.created),
        }
    }
}

impl IntegrationRecord {
    pub fn to_integration(&self) -> NewIntegration {
        NewIntegration {
            integration: Integration {
                id: self.id,
                name: self.name.clone(),
                created: Timestamp::from_unix(self.created),
                webhook_url: self.webhook_url.clone(),
            },
            client_token: self.client_token_digest.into(),
        }
    }
}

impl AccessTokenRecord {
    pub fn to_token(&self) -> NewAccessToken {
        NewAccessToken {
            info: AccessTokenInfo {
                id: self.id,
                integration_id: self.integration_id,
                enterprises: self.enterprise_ids.clone(),
                created: Timestamp::from_unix(self.created),
                revoked: self.revoked.map(Timestamp::from_unix),
            },
            token: self.token_digest.into(),
        }
    }
}

impl AttemptRecord {
    pub fn to_attempt(&self) -> Attempt {
        Attempt {
            started_ms: self.started_ms,
            duration_ms: self.duration_ms,
            status: self.status,
            error: self.error.clone(),
            response: self.response.clone(),
            body: self.body.clone(),
        }
    }
}

impl From<Digest> for TokenHash {
    fn from(digest: Digest) -> Self {
        Self(digest.0)
    }
}

/// Why the database refused a record, in the file's words.
pub fn refusal(record: &Record, e: &StoreError) -> String {
    let what = match e {
        StoreError::Conflict(_) => {
            "it repeats an id or a token digest of an earlier line".to_owned()
        }
        StoreError::Missing(_) => "it names something that no earlier line holds".to_owned(),
        StoreError::Unavailable(cause) => format!("the database could not be reached ({cause})"),
        StoreError::Internal(e) => {
            let text = format!("{e:#}");
            if text.contains("FOREIGN KEY") || text.contains("foreign key") {
                "it names something that no earlier line holds".to_owned()
            } else if text.contains("UNIQUE") || text.contains("duplicate key") {
                "it repeats an id or a token digest of an earlier line".to_owned()
            } else {
                format!("the database refused it ({text})")
            }
        }
    };
    format!("{} record: {what}", record.kind())
}

/// A SHA-256 digest, written in hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// A digest read from the database, which keeps 32 bytes.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, StoreError> {
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| {
            StoreError::Internal(anyhow::anyhow!(
                "a stored token digest has {} bytes, not 32",
                bytes.len()
            ))
        })
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut bytes = [0; 32];
        hex::decode_to_slice(text.as_bytes(), &mut bytes).map_err(|_| {
            serde::de::Error::custom("a token digest is 64 hexadecimal digits (SHA-256)")
        })?;
        Ok(Self(bytes))
    }
}
