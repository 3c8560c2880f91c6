//! Admission in PostgreSQL: a request's token found and counted in one
//! statement, and the operations sent right behind it in the same exchange
//! (see [`crate::store::admission`]).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use futures_util::future::join;
use tokio_postgres::Statement;
use uuid::Uuid;

use super::query::prepared;
use super::rate_limits::{COUNT, FIRST, OLDEST, decided, parameters};
use super::{PostgresStore, content, internal};
use crate::domain::json::WrittenPage;
use crate::domain::message::Message;
use crate::domain::scope::AccessGrant;
use crate::domain::thread::Thread;

use crate::store::admission::{Admit, Beside, allows};
use crate::store::tenants::{FIND_ACCESS, stored_access};
use crate::store::{Admission, Admitted, MessageBatch, MessageQuery, StoreResult, ThreadQuery};

/// The session setting that [`admit`] sets to its guard's key when it allows
/// the guard's token, and to nothing otherwise: what [`guarded`] writes check.
pub const ADMITTED: &str = "switchboard.admitted";

/// A write's guard: the write is done only if the admission just before it on
/// the same connection allowed `token`. `key` is new for every request, so a
/// setting left on the connection by an earlier request never matches.
#[derive(Debug, Clone)]
pub struct Guard {
    pub key: String,
    pub token: Uuid,
}

impl Guard {
    pub fn new(token: Uuid) -> Self {
        Self {
            key: Uuid::new_v4().simple().to_string(),
            token,
        }
    }
}

/// The condition a guarded statement adds, `key` being its guard's key's
/// placeholder (`$9`).
pub fn guarded(key: &str) -> String {
    format!("current_setting('{ADMITTED}', true) = {key}")
}

/// The statement of [`admit`], prepared on one connection.
///
/// A guarded operation is sent right behind its admission, and must reach
/// the database after it: prepared beforehand, the admission goes out as soon
/// as it is polled, while an operation that still has to prepare its own
/// statement waits for that round trip.
pub struct AdmissionStatement(Statement);

impl AdmissionStatement {
    pub async fn prepare(client: &impl GenericClient) -> StoreResult<Self> {
        prepared(
            client,
            &format!(
                "WITH found AS ({FIND_ACCESS}$1), \
                 counted AS ( \
                     INSERT INTO rate_limits AS r (token_id, first_bucket, counts, allowed) \
                     SELECT id, {FIRST} FROM found WHERE client_token_hash = $5 \
                     {COUNT} RETURNING allowed, {OLDEST} AS oldest) \
                 SELECT f.id, f.integration_id, f.token_hash, f.client_token_hash, f.enterprise_ids, \
                        c.allowed, c.oldest, \
                        set_config('{ADMITTED}', \
                                   CASE WHEN c.allowed AND f.id = $7 THEN $6 ELSE '' END, false) \
                 FROM found f LEFT JOIN counted c ON TRUE"
            ),
        )
        .await
        .map(Self)
    }
}

/// [`find_access`] and [`check_rate`] in one statement, so one round trip: the
/// token's row is found, and counted only when the client token is its
/// integration's (requests that fail authentication are not counted). With a
/// `guard`, the connection's [`ADMITTED`] setting is left at its key if this
/// admission allows the guard's token, and emptied otherwise.
pub async fn admit(
    client: &impl GenericClient,
    statement: &AdmissionStatement,
    admission: Admission,
    guard: Option<&Guard>,
) -> StoreResult<Admitted> {
    let Admission {
        client_token,
        access_token,
        limit,
        now_ms,
    } = admission;
    let (bucket, buckets, requests) = parameters(limit, now_ms);
    let (key, guarded_token) = match guard {
        Some(guard) => (guard.key.as_str(), guard.token),
        None => ("", Uuid::nil()),
    };
    let row = client
        .query_opt(
            &statement.0,
            &[
                &&access_token.0[..],
                &bucket,
                &buckets,
                &requests,
                &&client_token.0[..],
                &key,
                &guarded_token,
            ],
        )
        .await
        .map_err(internal)?;
    let Some(row) = row else { return Ok(None) };
    // The digests are compared again, in constant time, as everywhere.
    let Some(grant) = stored_access(&row)?.grant(client_token, access_token) else {
        return Ok(None);
    };
    let decision = match row.get::<_, Option<bool>>(5) {
        Some(allowed) => decided(allowed, row.get(6), limit, now_ms),
        None => return Ok(None),
    };
    Ok(Some((grant, decision)))
}

/// Both in one exchange on one connection: the operation's statements are
/// sent right behind the admission's, without waiting for its answer. A read
/// is dropped unless the admission allows `expected`; a write checks in the
/// database that it does (see [`Guard`]). `join` polls the admission first,
/// so its statement is sent first.
#[async_trait]
impl Admit for PostgresStore {
    async fn admit(&self, admission: Admission) -> StoreResult<Admitted> {
        let client = self.client().await?;
        let statement = AdmissionStatement::prepare(&client).await?;
        admit(&client, &statement, admission, None).await
    }

    async fn threads_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        query: ThreadQuery,
    ) -> StoreResult<Beside<WrittenPage>> {
        let client = self.client().await?;
        let page = content::written_threads(&client, &query);
        read_beside(&client, admission, expected, page).await
    }

    async fn messages_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        query: MessageQuery,
    ) -> StoreResult<Beside<WrittenPage>> {
        let client = self.client().await?;
        let page = content::written_messages(&client, &query);
        read_beside(&client, admission, expected, page).await
    }

    async fn add_thread_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        thread: Thread,
    ) -> StoreResult<Beside<Thread>> {
        let client = self.client().await?;
        let guard = Guard::new(expected.token_id);
        let add = async {
            let added =
                content::insert_threads(&client, std::slice::from_ref(&thread), Some(&guard))
                    .await?;
            Ok((added == 1).then_some(thread))
        };
        write_beside(&client, admission, expected, &guard, add).await
    }

    async fn add_messages_beside(
        &self,
        admission: Admission,
        expected: &AccessGrant,
        batch: MessageBatch,
    ) -> StoreResult<Beside<Vec<Message>>> {
        let client = self.client().await?;
        let guard = Guard::new(expected.token_id);
        let add = content::add_messages(&client, batch, Some(&guard));
        write_beside(&client, admission, expected, &guard, add).await
    }
}

/// A write sent right behind its admission, guarded by it (`guard` must be
/// the write's own). A write that happened is always reported, so that it is
/// never made twice; one that did not is left to the caller.
async fn write_beside<T>(
    client: &deadpool_postgres::Object,
    admission: Admission,
    expected: &AccessGrant,
    guard: &Guard,
    write: impl std::future::Future<Output = StoreResult<Option<T>>>,
) -> StoreResult<Beside<T>> {
    // Prepared before the join, so that the admission is the first thing
    // sent: a write whose statement this connection had prepared, behind an
    // admission that still had to prepare its own, used to run first, find
    // no admission and be dropped.
    let statement = AdmissionStatement::prepare(client).await?;
    let (admitted, written) = join(admit(client, &statement, admission, Some(guard)), write).await;
    let admitted = admitted?;
    let outcome = match written {
        Ok(written) => written.map(Ok),
        Err(e) => allows(&admitted, expected).then_some(Err(e)),
    };
    Ok((admitted, outcome))
}

/// A read sent right behind its admission; kept only if the admission allows
/// `expected`.
async fn read_beside<T>(
    client: &deadpool_postgres::Object,
    admission: Admission,
    expected: &AccessGrant,
    read: impl std::future::Future<Output = StoreResult<T>>,
) -> StoreResult<Beside<T>> {
    let statement = AdmissionStatement::prepare(client).await?;
    let (admitted, read) = join(admit(client, &statement, admission, None), read).await;
    let admitted = admitted?;
    let kept = allows(&admitted, expected).then_some(read);
    Ok((admitted, kept))
}
