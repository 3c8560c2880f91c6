//! What the staff web inbox reads: threads of every integration by latest
//! activity, each with its last message and the names of its enterprise and
//! integration (SPEC §15).

use async_trait::async_trait;
use uuid::Uuid;

use super::StoreResult;
use super::content::thread;
use super::row::{Row, unknown};
use super::staff::OPERATOR_ID;
use crate::domain::message::Sender;
use crate::domain::paging::Count;
use crate::domain::thread::Thread;
use crate::domain::time::Timestamp;

#[async_trait]
pub trait Inbox: Send + Sync {
    /// A page of the list, most recent activity (`UpdatedUtc`) first;
    /// [`super::Missing::ThreadCursor`] when the cursor names no thread.
    async fn inbox_page(&self, query: InboxQuery) -> StoreResult<InboxPage>;
    /// One thread as the list shows it, with the names of its enterprise and
    /// integration ([`super::Missing::Thread`] when there is none).
    async fn inbox_thread(&self, id: Uuid) -> StoreResult<InboxRow>;
    /// How many open threads wait for a reply (their last message is the
    /// guest's), of these enterprises (all when `None`).
    async fn awaiting_count(&self, scope: Option<Vec<Uuid>>) -> StoreResult<u64>;
    /// Ends an inbox session before it expires (at `expires_utc`); forgets the
    /// ended ones that have expired by `now_utc`.
    async fn end_session(&self, id: String, expires_utc: i64, now_utc: i64) -> StoreResult<()>;
    /// Whether the session was ended.
    async fn session_ended(&self, id: String) -> StoreResult<bool>;
    /// Whether changes are announced through the database to every node
    /// (PostgreSQL), rather than told to this process's pages (SQLite).
    fn announces_inbox(&self) -> bool {
        false
    }
    /// Announces changed threads to every node ([`super::Notices::inbox`]).
    async fn announce_inbox(&self, _threads: &[Uuid]) -> StoreResult<()> {
        Ok(())
    }
}

/// Which threads a page of the inbox holds.
#[derive(Debug, Clone)]
pub struct InboxQuery {
    /// `Some(false)`: open ones; `Some(true)`: resolved ones; `None`: all.
    pub resolved: Option<bool>,
    /// Only those whose last message is the guest's.
    pub awaiting: bool,
    pub enterprise: Option<Uuid>,
    pub integration: Option<Uuid>,
    /// Only threads assigned to this member, or to nobody.
    pub assigned: Option<Assigned>,
    /// The staff member's scope: only threads of these enterprises (all when
    /// `None`).
    pub scope: Option<Vec<Uuid>>,
    /// Text in the sender's name, the subject or a message, ignoring case
    /// and accents: at least [`MIN_SEARCH`] characters (a shorter one
    /// finds nothing).
    pub search: Option<String>,
    /// The page starts after this thread.
    pub after: Option<Uuid>,
    pub count: Count,
}

/// Whose threads a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assigned {
    /// Those assigned to this member ([`OPERATOR_ID`]: the Operator).
    To(Uuid),
    /// Those assigned to nobody.
    Nobody,
}

/// A search has at least this many characters: both backends search by
/// trigrams.
pub const MIN_SEARCH: usize = 3;

/// A search looks among the threads of at most this many of the most recent
/// matching messages, and of this many of the most recent threads whose
/// sender or subject match: what a word found in every tenth message of a
/// year costs stays that of a rare one (SPEC 15.3).
pub const SEARCH_WINDOW: i64 = 500;

/// A page of the list.
#[derive(Debug, Clone, Default)]
pub struct InboxPage {
    pub rows: Vec<InboxRow>,
    /// The search matched more than [`SEARCH_WINDOW`] messages or threads:
    /// the page holds only threads among the most recent matches.
    pub narrowed: bool,
}

/// The threads a search's window holds, from the ids of its matching
/// messages' threads and of its matching threads, newest first; and
/// whether either filled the window.
pub fn search_window(messages: Vec<Uuid>, threads: Vec<Uuid>) -> (Vec<Uuid>, bool) {
    let narrowed = messages.len() as i64 >= SEARCH_WINDOW || threads.len() as i64 >= SEARCH_WINDOW;
    let mut among = messages;
    among.extend(threads);
    among.sort_unstable();
    among.dedup();
    (among, narrowed)
}

impl InboxQuery {
    /// The search, trimmed, if it is one.
    pub fn search(&self) -> Option<&str> {
        self.search
            .as_deref()
            .map(str::trim)
            .filter(|s| s.chars().count() >= MIN_SEARCH)
    }

    /// The search as an FTS5 phrase over folded texts: itself folded, in
    /// double quotes (doubled inside), which the trigram tokenizer finds
    /// anywhere in a text.
    pub fn phrase(&self) -> Option<String> {
        self.search().map(|s| {
            format!(
                "\"{}\"",
                crate::domain::search::fold(s).replace('"', "\"\"")
            )
        })
    }

    /// The search for a `LIKE ... ESCAPE '\\'`: `%`, `_` and `\\` taken
    /// literally (the database folds it, and adds the `%`s).
    pub fn like(&self) -> Option<String> {
        self.search().map(|s| {
            let mut escaped = String::with_capacity(s.len());
            for c in s.chars() {
                if matches!(c, '%' | '_' | '\\') {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            escaped
        })
    }
}

/// A thread as the inbox lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub thread: Thread,
    pub enterprise_name: String,
    pub integration_name: String,
    pub last: Option<LastMessage>,
    /// Who the thread is assigned to: id and name.
    pub assignee: Option<(Uuid, String)>,
    /// The seq of the guest's newest message, for unread marks.
    pub last_guest_seq: Option<i64>,
}

/// The latest message of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub text: String,
    pub sender: Sender,
    pub created: Timestamp,
}

impl InboxRow {
    /// Whether the guest wrote last: the thread waits for a reply.
    pub fn awaiting(&self) -> bool {
        self.last
            .as_ref()
            .is_some_and(|m| m.sender == Sender::Application)
    }
}

/// The columns of a row, in the order both backends read them; `t` is the
/// thread, `e` its enterprise, `i` its integration, `l` its last message.
pub const COLUMNS: &str = "t.id, t.integration_id, t.enterprise_id, t.original_sender, t.subject, \
                           t.created_utc, t.updated_utc, t.is_resolved, e.name, i.name, \
                           l.text, l.sender, l.created_utc, t.assignee_id, s.name, \
                           (SELECT max(g.seq) FROM messages g \
                            WHERE g.thread_id = t.id AND g.sender = 'Application')";

/// The joins of a row to threads named `t`. The last message is found
/// through the messages index.
pub const JOINS: &str = "JOIN enterprises e ON e.id = t.enterprise_id \
    JOIN integrations i ON i.id = t.integration_id \
    LEFT JOIN staff_members s ON s.id = t.assignee_id \
    LEFT JOIN messages l ON l.seq = (SELECT m.seq FROM messages m WHERE m.thread_id = t.id \
                                     ORDER BY m.created_utc DESC, m.seq DESC LIMIT 1)";

/// A list page's rows around `threads`, a query of whole rows of `threads t`
/// that picks a page's threads (filtered, ordered, limited) from the
/// threads table alone: the joins and the last message are then found for
/// those few, never for every thread that matches before the limit.
pub fn page_rows(threads: &str) -> String {
    format!("SELECT {COLUMNS} FROM ({threads}) t {JOINS} ORDER BY t.updated_utc DESC, t.seq DESC")
}

/// A row of [`COLUMNS`].
pub fn row(row: &impl Row) -> StoreResult<InboxRow> {
    let last = match row.text_or_null(11)? {
        None => None,
        Some(sender) => Some(LastMessage {
            text: row.string(10)?,
            sender: Sender::parse(sender).ok_or_else(|| unknown("sender", sender))?,
            created: Timestamp::from_unix(row.int(12)?),
        }),
    };
    let assignee = match row.uuid_or_null(13)? {
        None => None,
        Some(OPERATOR_ID) => Some((OPERATOR_ID, crate::domain::staff::OPERATOR_NAME.to_owned())),
        Some(id) => Some((id, row.string_or_null(14)?.unwrap_or_default())),
    };
    Ok(InboxRow {
        thread: thread(row)?,
        enterprise_name: row.string(8)?,
        integration_name: row.string(9)?,
        last,
        assignee,
        last_guest_seq: row.int_or_null(15)?,
    })
}
