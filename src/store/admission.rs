//! A Connector API request's admission, and the operations that may travel
//! with it.
//!
//! Every Connector API request is admitted before its operation runs: its
//! tokens are checked and it is counted against its access token's rate
//! limit ([`Admit::admit`]). The operation needs the grant that admission
//! finds, so done one after the other they are two round trips to a database
//! server.
//!
//! A grant does not change while its token lives: a token's scope is fixed
//! when it is created, and a token can only be revoked. So a node that has
//! admitted a token once can build the next request's operation with the
//! grant it saw, and hand admission and operation to the store together
//! ([`Pipelined::beside`]); PostgreSQL sends them in one exchange. The
//! operation's outcome counts only when the admission allowed the very grant
//! it was built for:
//!
//! - a read runs beside its admission and is dropped otherwise;
//! - a write is guarded in the database by its own admission, and does not
//!   happen otherwise (so a backend sends a write with its admission only
//!   when the write is one statement that can carry the guard).
//!
//! Anything else (an unknown token, a refused or limited one, a different
//! grant) leaves the caller to run the operation the plain way, after
//! admission, as if nothing had been tried.
//!
//! Each of the four operations has its own typed method on [`Admit`], so an
//! answer can only be of the operation's own type.

use std::future::Future;

use async_trait::async_trait;

use crate::domain::json::WrittenPage;
use crate::domain::message::Message;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::Thread;
use crate::ratelimit::{Decision, RateLimit};
use crate::tokens::TokenHash;

use super::{Content, MessageBatch, MessageQuery, RateLimits, StoreResult, Tenants, ThreadQuery};

/// Who asks, under what limit, and when (real time, in milliseconds: rate
/// windows are real time, also on a manual clock).
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

/// An admission and, when it allowed the grant the operation was built for,
/// the operation's outcome.
pub type Beside<T> = (Admitted, Option<StoreResult<T>>);

/// Whether `admitted` allows the request with exactly `grant`.
pub fn allows(admitted: &Admitted, grant: &AccessGrant) -> bool {
    matches!(admitted, Some((found, Decision::Allowed)) if found == grant)
}

/// Runs `operation` after `admitted` if it allows `expected`: what a backend
/// that cannot send the two together does.
pub async fn in_turn<T, F>(
    admitted: Admitted,
    expected: &AccessGrant,
    operation: impl FnOnce() -> F,
) -> StoreResult<Beside<T>>
where
    F: Future<Output = StoreResult<T>>,
{
    let outcome = if allows(&admitted, expected) {
        Some(operation().await)
    } else {
        None
    };
    Ok((admitted, outcome))
}

/// Admission, alone or with one of the operations that may travel with it.
/// The defaults run them one after the other.
#[async_trait]
pub trait Admit: Content + Tenants + RateLimits {
    /// Authenticates a Connector API request and counts it against its access
    /// token's limit: the grant and the decision, or `None` when the tokens are
    /// not an active pair (then nothing is counted).
    async fn admit(&self, admission: Admission) -> StoreResult<Admitted> {
        let Some(grant) = self
            .find_access(admission.client_token, admission.access_token)
            .await?
        else {
            return Ok(None);
        };
        let decision = self
            .check_rate(grant.token_id, admission.limit, admission.now_ms)
            .await?;
        Ok(Some((grant, decision)))
    }

    /// A page of `messageThreads/getAll` beside its admission.
    async fn threads_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        query: ThreadQuery,
    ) -> StoreResult<Beside<WrittenPage>> {
        let admitted = self.admit(admission).await?;
        in_turn(admitted, expected, || self.written_threads(query)).await
    }

    /// A page of `messages/getAll` beside its admission.
    async fn messages_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        query: MessageQuery,
    ) -> StoreResult<Beside<WrittenPage>> {
        let admitted = self.admit(admission).await?;
        in_turn(admitted, expected, || self.written_messages(query)).await
    }

    /// The thread of `messageThreads/add` beside its admission.
    async fn add_thread_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        thread: Thread,
    ) -> StoreResult<Beside<Thread>> {
        let admitted = self.admit(admission).await?;
        in_turn(admitted, expected, || self.add_thread(thread)).await
    }

    /// The messages of `messages/add` beside their admission.
    async fn add_messages_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        batch: MessageBatch,
    ) -> StoreResult<Beside<Vec<Message>>> {
        let admitted = self.admit(admission).await?;
        in_turn(admitted, expected, || self.add_messages(batch)).await
    }
}

/// An operation that can travel with its request's admission, and what it
/// gives.
pub trait Pipelined: Send + Sized {
    type Output: Send;

    /// Runs the operation the plain way.
    fn run<'a>(
        self,
        store: &'a dyn Admit,
    ) -> impl Future<Output = StoreResult<Self::Output>> + Send + 'a;

    /// Sends the operation with its admission, built for `expected`.
    fn beside<'a>(
        self,
        store: &'a dyn Admit,
        admission: Admission,
        expected: &'a AccessGrant,
    ) -> impl Future<Output = StoreResult<Beside<Self::Output>>> + Send + 'a;
}

/// A new thread to add.
#[derive(Debug)]
pub struct NewThread(pub Thread);

impl Pipelined for ThreadQuery {
    type Output = WrittenPage;

    fn run<'a>(
        self,
        store: &'a dyn Admit,
    ) -> impl Future<Output = StoreResult<WrittenPage>> + Send + 'a {
        store.written_threads(self)
    }

    fn beside<'a>(
        self,
        store: &'a dyn Admit,
        admission: Admission,
        expected: &'a AccessGrant,
    ) -> impl Future<Output = StoreResult<Beside<WrittenPage>>> + Send + 'a {
        store.threads_beside(admission, expected, self)
    }
}

impl Pipelined for MessageQuery {
    type Output = WrittenPage;

    fn run<'a>(
        self,
        store: &'a dyn Admit,
    ) -> impl Future<Output = StoreResult<WrittenPage>> + Send + 'a {
        store.written_messages(self)
    }

    fn beside<'a>(
        self,
        store: &'a dyn Admit,
        admission: Admission,
        expected: &'a AccessGrant,
    ) -> impl Future<Output = StoreResult<Beside<WrittenPage>>> + Send + 'a {
        store.messages_beside(admission, expected, self)
    }
}

impl Pipelined for NewThread {
    type Output = Thread;

    fn run<'a>(
        self,
        store: &'a dyn Admit,
    ) -> impl Future<Output = StoreResult<Thread>> + Send + 'a {
        store.add_thread(self.0)
    }

    fn beside<'a>(
        self,
        store: &'a dyn Admit,
        admission: Admission,
        expected: &'a AccessGrant,
    ) -> impl Future<Output = StoreResult<Beside<Thread>>> + Send + 'a {
        store.add_thread_beside(admission, expected, self.0)
    }
}

impl Pipelined for MessageBatch {
    type Output = Vec<Message>;

    fn run<'a>(
        self,
        store: &'a dyn Admit,
    ) -> impl Future<Output = StoreResult<Vec<Message>>> + Send + 'a {
        store.add_messages(self)
    }

    fn beside<'a>(
        self,
        store: &'a dyn Admit,
        admission: Admission,
        expected: &'a AccessGrant,
    ) -> impl Future<Output = StoreResult<Beside<Vec<Message>>>> + Send + 'a {
        store.add_messages_beside(admission, expected, self)
    }
}
