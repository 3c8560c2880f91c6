//! A Connector API request's admission, and the operations that may travel
//! with it.
//!
//! Every Connector API request is admitted before its operation runs: its
//! tokens are checked and it is counted against its access token's rate
//! limit ([`Store::admit`](super::Store::admit)). The operation needs the
//! grant that admission finds, so done one after the other they are two round
//! trips to a database server.
//!
//! A grant does not change while its token lives: a token's scope is fixed
//! when it is created, and a token can only be revoked. So a node that has
//! admitted a token once can build the next request's operation with the
//! grant it saw, and hand admission and operation to
//! [`Store::admit_then`](super::Store::admit_then) together; PostgreSQL sends
//! them in one exchange. The operation's outcome counts only when the
//! admission allowed the very grant it was built for:
//!
//! - a read runs beside its admission and is dropped otherwise;
//! - a write is guarded in the database by its own admission, and does not
//!   happen otherwise (so a backend sends a write with its admission only
//!   when the write is one statement that can carry the guard).
//!
//! Anything else (an unknown token, a refused or limited one, a different
//! grant) leaves the caller to run the operation the plain way, after
//! admission, as if nothing had been tried.

use crate::domain::json::WrittenPage;
use crate::domain::message::Message;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::Thread;
use crate::ratelimit::{Decision, RateLimit};
use crate::tokens::TokenHash;

use super::{Content, MessageBatch, MessageQuery, StoreResult, ThreadQuery};

/// Who asks, under what limit, and when (the clock's milliseconds).
#[derive(Clone, Copy)]
pub struct Admission {
    pub client_token: TokenHash,
    pub access_token: TokenHash,
    pub limit: RateLimit,
    pub now_ms: i64,
}

/// What admission found: the token's grant and the rate limit's decision, or
/// `None` when the tokens are not an active pair (then nothing was counted).
pub type Admitted = Option<(AccessGrant, Decision)>;

/// Whether `admitted` allows the request with exactly `grant`.
pub fn allows(admitted: &Admitted, grant: &AccessGrant) -> bool {
    matches!(admitted, Some((found, Decision::Allowed)) if found == grant)
}

/// An operation that can travel with its request's admission.
#[derive(Debug)]
pub enum Guarded {
    /// A page of `messageThreads/getAll`.
    Threads(ThreadQuery),
    /// A page of `messages/getAll`.
    Messages(MessageQuery),
    /// The thread of `messageThreads/add`.
    AddThread(NewThread),
    /// The messages of `messages/add`.
    AddMessages(MessageBatch),
}

/// What a [`Guarded`] operation gave.
#[derive(Debug)]
pub enum Outcome {
    Threads(WrittenPage),
    Messages(WrittenPage),
    Thread(Thread),
    Added(Vec<Message>),
}

impl Guarded {
    /// Runs the operation the plain way.
    pub async fn run<S: Content + ?Sized>(self, store: &S) -> StoreResult<Outcome> {
        Ok(match self {
            Self::Threads(query) => Outcome::Threads(store.written_threads(query).await?),
            Self::Messages(query) => Outcome::Messages(store.written_messages(query).await?),
            Self::AddThread(NewThread(thread)) => Outcome::Thread(store.add_thread(thread).await?),
            Self::AddMessages(batch) => Outcome::Added(store.add_messages(batch).await?),
        })
    }
}

/// An operation's own type, and what it gives: so that handlers stay typed.
pub trait Guardable: Into<Guarded> {
    type Output;
    /// The output, if `outcome` is of this operation's kind.
    fn output(outcome: Outcome) -> Option<Self::Output>;
}

/// A new thread to add.
#[derive(Debug)]
pub struct NewThread(pub Thread);

/// Makes `$operation` a [`Guardable`] that travels as `Guarded::$variant`
/// and gives `Outcome::$outcome`.
macro_rules! guardable {
    ($operation:ty, $variant:ident, $outcome:ident, $output:ty) => {
        impl From<$operation> for Guarded {
            fn from(operation: $operation) -> Self {
                Self::$variant(operation)
            }
        }

        impl Guardable for $operation {
            type Output = $output;
            fn output(outcome: Outcome) -> Option<$output> {
                match outcome {
                    Outcome::$outcome(output) => Some(output),
                    _ => None,
                }
            }
        }
    };
}

guardable!(ThreadQuery, Threads, Threads, WrittenPage);
guardable!(MessageQuery, Messages, Messages, WrittenPage);
guardable!(NewThread, AddThread, Thread, Thread);
guardable!(MessageBatch, AddMessages, Added, Vec<Message>);
