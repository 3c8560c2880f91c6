//! The store's conformance suite: the same tests call the store's traits
//! directly, without HTTP, on the suite's backend (SQLite, or PostgreSQL when
//! `SWITCHBOARD_TEST_BACKEND=postgres`), so both backends are held to one
//! behaviour below the API as well as through it.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard::demo;
use switchboard::domain::json::WrittenPage;
use switchboard::domain::message::{Message, Sender};
use switchboard::domain::paging::Count;
use switchboard::domain::scope::{AccessGrant, Visibility};
use switchboard::domain::staff::Actor;
use switchboard::domain::thread::Thread;
use switchboard::domain::time::Timestamp;
use switchboard::ratelimit::{Decision, RateLimit};
use switchboard::store::{
    self, Admission, Attempt, Claim, ClockMove, ClockState, DeliveryOutcome, Enterprise,
    MessageBatch, MessageQuery, Missing, ResetCounts, ResetScope, Store, StoreError, ThreadQuery,
    TokenRef,
};
use switchboard::tokens::TokenHash;
use uuid::Uuid;

use crate::helpers::TestDatabase;

/// A fresh store of the suite's backend with the demo tenant.
async fn fresh() -> (TestDatabase, Arc<dyn Store>) {
    let database = TestDatabase::new().await;
    let store = store::open(&database.url).await.expect("open the store");
    demo::seed(store.as_ref(), Timestamp::from_unix(0))
        .await
        .expect("seed the demo tenant");
    (database, store)
}

/// What Sample Client's portfolio token sees.
fn sample_client() -> Visibility {
    Visibility {
        integration: Some(demo::SAMPLE_CLIENT),
        enterprises: Some(vec![demo::GROSS, demo::NET]),
    }
}

fn thread(integration: Uuid, enterprise: Uuid, created: i64) -> Thread {
    Thread {
        id: Uuid::new_v4(),
        integration_id: integration,
        enterprise_id: enterprise,
        original_sender: "Guest".to_owned(),
        subject: "Subject".to_owned(),
        created: Timestamp::from_unix(created),
        updated: Timestamp::from_unix(created),
        is_resolved: false,
    }
}

fn message(thread: Uuid, sender: Sender, created: i64) -> Message {
    Message {
        id: Uuid::new_v4(),
        thread_id: thread,
        text: "Hello".to_owned(),
        sender,
        created: Timestamp::from_unix(created),
    }
}

fn threads_of(visibility: Visibility, cursor: Option<Uuid>, count: u32) -> ThreadQuery {
    ThreadQuery {
        visibility,
        enterprises: None,
        integrations: None,
        is_resolved: None,
        thread_ids: None,
        created: Some((0, i64::MAX)),
        updated: None,
        cursor,
        count: Count::new(count),
    }
}

fn ids(threads: &[Thread]) -> Vec<Uuid> {
    threads.iter().map(|t| t.id).collect()
}

fn missing<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Missing {
    match result {
        Err(StoreError::Missing(missing)) => missing,
        other => panic!("expected a Missing error, got {other:?}"),
    }
}

#[tokio::test]
async fn pages_are_newest_first_with_ties_in_insertion_order() {
    let (_db, store) = fresh().await;
    let mut added = Vec::new();
    for created in [10, 20, 20, 20, 30] {
        let t = thread(demo::SAMPLE_CLIENT, demo::GROSS, created);
        added.push(store.add_thread(t).await.unwrap().id);
    }
    let page = store
        .threads(threads_of(sample_client(), None, 10))
        .await
        .unwrap();
    let expected: Vec<Uuid> = [4, 3, 2, 1, 0].iter().map(|&i| added[i]).collect();
    assert_eq!(ids(&page), expected);
}

#[tokio::test]
async fn a_page_starts_strictly_after_its_cursor_and_walks_every_thread_once() {
    let (_db, store) = fresh().await;
    let mut added = Vec::new();
    for created in [5, 5, 6, 6, 6, 7, 9, 9] {
        let t = thread(demo::SAMPLE_CLIENT, demo::NET, created);
        added.push(store.add_thread(t).await.unwrap().id);
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .threads(threads_of(sample_client(), cursor, 3))
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.id);
        seen.extend(ids(&page));
    }
    added.reverse();
    assert_eq!(seen, added);
}

#[tokio::test]
async fn a_cursor_the_caller_cannot_see_is_missing() {
    let (_db, store) = fresh().await;
    let theirs = store
        .add_thread(thread(demo::TEST_CLIENT_2, demo::GROSS, 1))
        .await
        .unwrap();
    let query = threads_of(sample_client(), Some(theirs.id), 10);
    assert_eq!(missing(store.threads(query).await), Missing::ThreadCursor);
    let query = threads_of(sample_client(), Some(Uuid::new_v4()), 10);
    assert_eq!(missing(store.threads(query).await), Missing::ThreadCursor);
    // Staff see every thread, so the same cursor is fine for them.
    let query = threads_of(Visibility::staff(), Some(theirs.id), 10);
    assert_eq!(store.threads(query).await.unwrap(), vec![]);
}

/// The Connector API's page of `threads`, written independently of the
/// server's writer (by serde_json, from the threads' fields).
fn connector_page(threads: &[Thread]) -> serde_json::Value {
    let items: Vec<serde_json::Value> = threads
        .iter()
        .map(|t| {
            serde_json::json!({
                "Id": t.id,
                "OriginalSender": t.original_sender,
                "Subject": t.subject,
                "CreatedUtc": t.created,
                "UpdatedUtc": t.updated,
                "IsResolved": t.is_resolved,
            })
        })
        .collect();
    serde_json::json!({"MessageThreads": items, "Cursor": threads.last().map(|t| t.id)})
}

fn written_ids(page: &WrittenPage) -> Vec<Uuid> {
    let read: serde_json::Value = serde_json::from_slice(&page.json).expect("JSON");
    read["MessageThreads"]
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item["Id"].as_str().expect("Id").parse().expect("a UUID"))
        .collect()
}

#[tokio::test]
async fn a_written_page_shows_the_same_threads_as_the_connector_api_does() {
    let (_db, store) = fresh().await;
    let texts = [
        ("Guest", "Plain"),
        ("\"Quoted\" \\ back", "Tab\tnewline\ncontrol\u{1}"),
        ("Příliš žluťoučký", "🛎️ room 12"),
        ("", ""),
    ];
    for (i, (sender, subject)) in texts.iter().enumerate() {
        let mut t = thread(demo::SAMPLE_CLIENT, demo::GROSS, 100 + i as i64 % 2);
        t.original_sender = (*sender).to_owned();
        t.subject = (*subject).to_owned();
        t.updated = Timestamp::from_unix(500 + i as i64);
        t.is_resolved = i % 2 == 1;
        store.add_thread(t).await.unwrap();
    }
    // Another integration's thread, which Sample Client must not see.
    let theirs = store
        .add_thread(thread(demo::TEST_CLIENT_2, demo::GROSS, 100))
        .await
        .unwrap();
    let all = store
        .threads(threads_of(sample_client(), None, 10))
        .await
        .unwrap();
    assert_eq!(all.len(), texts.len());

    let mut by_ids = threads_of(sample_client(), None, 10);
    by_ids.thread_ids = Some(vec![all[1].id, all[3].id, theirs.id]);
    let mut by_update = threads_of(sample_client(), None, 10);
    by_update.updated = Some((501, 502));
    let queries = [
        threads_of(sample_client(), None, 10),
        threads_of(sample_client(), None, 2),
        threads_of(sample_client(), Some(all[1].id), 10),
        threads_of(sample_client(), Some(all[3].id), 10),
        by_ids,
        by_update,
    ];
    for query in queries {
        let threads = store.threads(query.clone()).await.unwrap();
        let page = store.written_threads(query.clone()).await.unwrap();
        let read: serde_json::Value = serde_json::from_slice(&page.json).expect("JSON");
        assert_eq!(read, connector_page(&threads), "{query:?}");
        assert_eq!(page.len, threads.len(), "{query:?}");
    }

    let unseen = threads_of(sample_client(), Some(theirs.id), 10);
    assert_eq!(
        missing(store.written_threads(unseen).await),
        Missing::ThreadCursor
    );
}

/// A thread of Sample Client's, and one of another integration's in the
/// same enterprise, both created at second 1.
async fn ours_and_theirs(store: &Arc<dyn Store>) -> (Thread, Thread) {
    let add = |integration| store.add_thread(thread(integration, demo::GROSS, 1));
    (
        add(demo::SAMPLE_CLIENT).await.unwrap(),
        add(demo::TEST_CLIENT_2).await.unwrap(),
    )
}

#[tokio::test]
async fn a_written_page_of_messages_shows_the_same_messages_as_the_api_does() {
    let (_db, store) = fresh().await;
    let (ours, theirs) = ours_and_theirs(&store).await;
    let texts = ["Plain", "\"Quoted\"\n\\ \u{7}", "Dobrý den 🛎️"];
    for (i, text) in texts.iter().enumerate() {
        let sender = if i % 2 == 0 {
            Sender::Application
        } else {
            Sender::Enterprise
        };
        let mut m = message(ours.id, sender, 10 + i as i64);
        m.text = (*text).to_owned();
        let batch = MessageBatch {
            visibility: sample_client(),
            messages: vec![m],
            at_ms: 10_000,
            author: None,
        };
        store.add_messages(batch).await.unwrap();
    }
    let other = MessageBatch {
        visibility: Visibility::staff(),
        messages: vec![message(theirs.id, Sender::Application, 11)],
        at_ms: 11_000,
        author: None,
    };
    let their_message = store.add_messages(other).await.unwrap()[0].id;
    let messages_of = |cursor: Option<Uuid>, count: u32| MessageQuery {
        visibility: sample_client(),
        thread_ids: vec![ours.id, theirs.id],
        enterprises: None,
        created: None,
        cursor,
        count: Count::new(count),
    };
    let all = store.messages(messages_of(None, 10)).await.unwrap();
    assert_eq!(all.len(), texts.len());

    for query in [
        messages_of(None, 10),
        messages_of(None, 2),
        messages_of(Some(all[0].id), 10),
        messages_of(Some(all[2].id), 10),
    ] {
        let messages = store.messages(query.clone()).await.unwrap();
        let page = store.written_messages(query.clone()).await.unwrap();
        let items: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "Id": m.id,
                    "MessageThreadId": m.thread_id,
                    "Text": m.text,
                    "Sender": {"Discriminator": m.sender, "Value": null},
                    "CreatedUtc": m.created,
                })
            })
            .collect();
        let expected =
            serde_json::json!({"Messages": items, "Cursor": messages.last().map(|m| m.id)});
        let read: serde_json::Value = serde_json::from_slice(&page.json).expect("JSON");
        assert_eq!(read, expected, "{query:?}");
        assert_eq!(page.len, messages.len(), "{query:?}");
    }

    assert_eq!(
        missing(
            store
                .written_messages(messages_of(Some(their_message), 10))
                .await
        ),
        Missing::MessageCursor
    );
}

#[tokio::test]
async fn the_creation_bounds_are_inclusive_whole_seconds() {
    let (_db, store) = fresh().await;
    let mut at = HashMap::new();
    for created in [9, 10, 15, 20, 21] {
        let t = thread(demo::SAMPLE_CLIENT, demo::GROSS, created);
        at.insert(store.add_thread(t).await.unwrap().id, created);
    }
    let mut query = threads_of(sample_client(), None, 10);
    query.created = Some((10, 20));
    let found: Vec<i64> = store
        .threads(query)
        .await
        .unwrap()
        .iter()
        .map(|t| at[&t.id])
        .collect();
    assert_eq!(found, vec![20, 15, 10]);
}

#[tokio::test]
async fn a_batch_with_a_thread_the_caller_cannot_see_writes_nothing() {
    let (_db, store) = fresh().await;
    let (ours, theirs) = ours_and_theirs(&store).await;
    let batch = MessageBatch {
        visibility: sample_client(),
        messages: vec![
            message(ours.id, Sender::Application, 2),
            message(theirs.id, Sender::Application, 2),
        ],
        at_ms: 2000,
        author: None,
    };
    assert_eq!(
        missing(store.add_messages(batch).await),
        Missing::BatchThread(1)
    );
    let query = MessageQuery {
        visibility: Visibility::staff(),
        thread_ids: vec![ours.id, theirs.id],
        enterprises: None,
        created: None,
        cursor: None,
        count: Count::new(10),
    };
    assert_eq!(store.messages(query).await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_guest_message_reopens_and_a_staff_reply_does_not() {
    let (_db, store) = fresh().await;
    let t = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    let resolved = store
        .set_resolved(t.id, true, Timestamp::from_unix(2), Actor::operator())
        .await
        .unwrap();
    assert!(resolved.is_resolved);
    assert_eq!(resolved.updated, Timestamp::from_unix(2));
    // The same value again changes nothing, not even UpdatedUtc.
    let again = store
        .set_resolved(t.id, true, Timestamp::from_unix(3), Actor::operator())
        .await
        .unwrap();
    assert_eq!(again.updated, Timestamp::from_unix(2));

    let reply = |sender, at| MessageBatch {
        visibility: Visibility::staff(),
        messages: vec![message(t.id, sender, at)],
        at_ms: at * 1000,
        author: None,
    };
    store
        .add_messages(reply(Sender::Enterprise, 4))
        .await
        .unwrap();
    let mut query = threads_of(Visibility::staff(), None, 1);
    query.thread_ids = Some(vec![t.id]);
    let after_staff = store.threads(query.clone()).await.unwrap().remove(0);
    assert!(after_staff.is_resolved, "a staff reply leaves it resolved");
    assert_eq!(after_staff.updated, Timestamp::from_unix(4));

    store
        .add_messages(reply(Sender::Application, 5))
        .await
        .unwrap();
    let after_guest = store.threads(query).await.unwrap().remove(0);
    assert!(!after_guest.is_resolved, "a guest message reopens it");
    assert_eq!(after_guest.updated, Timestamp::from_unix(5));

    let unknown = Uuid::new_v4();
    assert_eq!(
        missing(
            store
                .set_resolved(unknown, true, Timestamp::from_unix(6), Actor::operator())
                .await
        ),
        Missing::Thread(unknown)
    );
}

/// An attempt that ended at `ended_ms` with `status` (or a timeout).
fn attempt(ended_ms: i64, status: Option<u16>) -> Attempt {
    Attempt {
        started_ms: ended_ms - 5,
        duration_ms: 5,
        status,
        error: status.is_none().then(|| "Timeout".to_owned()),
        response: status.map(|s| format!("answer {s}")),
        body: Some(format!("{{\"Ended\":{ended_ms}}}")),
    }
}

fn claim(now_ms: i64, in_flight: HashMap<Uuid, usize>) -> Claim {
    Claim {
        now_ms,
        lease_now_ms: now_ms,
        lease_ms: 10_000,
        batch_size: 2,
        max: 64,
        in_flight,
        per_receiver: 4,
    }
}

/// Points Sample Client's webhooks at a receiver (that is never called here).
async fn hook(store: &Arc<dyn Store>) {
    store
        .set_webhook_url(
            demo::SAMPLE_CLIENT,
            Some("http://127.0.0.1:9/hook".to_owned()),
        )
        .await
        .unwrap();
}

/// Adds one guest message to `thread`, written at `at_ms`.
async fn add_message(store: &Arc<dyn Store>, thread: Uuid, at_ms: i64) -> Uuid {
    let m = message(thread, Sender::Application, at_ms / 1000);
    let id = m.id;
    store
        .add_messages(MessageBatch {
            visibility: Visibility::staff(),
            messages: vec![m],
            at_ms,
            author: None,
        })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn claims_batch_events_per_enterprise_and_lease_what_they_take() {
    let (_db, store) = fresh().await;
    hook(&store).await;
    let gross = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    let net = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::NET, 1))
        .await
        .unwrap();
    let mut written = Vec::new();
    for (t, at) in [
        (gross.id, 1000),
        (net.id, 1001),
        (gross.id, 1002),
        (gross.id, 1003),
    ] {
        written.push(add_message(&store, t, at).await);
    }
    // Integrations without a URL make no events.
    let other = store
        .add_thread(thread(demo::TEST_CLIENT_2, demo::GROSS, 1))
        .await
        .unwrap();
    add_message(&store, other.id, 1004).await;

    let claimed = store
        .claim_deliveries(claim(2000, HashMap::new()))
        .await
        .unwrap();
    let shape: Vec<(Uuid, Vec<Uuid>)> = claimed
        .deliveries
        .iter()
        .map(|d| (d.enterprise_id, d.events.iter().map(|e| e.0).collect()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (demo::GROSS, vec![written[0], written[2]]),
            (demo::NET, vec![written[1]]),
            (demo::GROSS, vec![written[3]]),
        ],
        "at most 2 events of one enterprise each, oldest first"
    );
    assert!(
        claimed
            .deliveries
            .iter()
            .all(|d| d.attempts == 0 && d.url.as_deref() == Some("http://127.0.0.1:9/hook"))
    );
    // Leased: a second claim within the lease takes nothing.
    let again = store
        .claim_deliveries(claim(2001, HashMap::new()))
        .await
        .unwrap();
    assert_eq!(again.deliveries, vec![]);
}

#[tokio::test]
async fn a_receiver_gets_no_more_than_its_room() {
    let (_db, store) = fresh().await;
    hook(&store).await;
    let t = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    for at in 0..10 {
        add_message(&store, t.id, 1000 + at).await;
    }
    let busy = HashMap::from([(demo::SAMPLE_CLIENT, 3)]);
    let claimed = store.claim_deliveries(claim(2000, busy)).await.unwrap();
    assert_eq!(
        claimed.deliveries.len(),
        1,
        "4 in flight at most, 3 already"
    );
    assert_eq!(claimed.deliveries[0].events.len(), 2);
}

#[tokio::test]
async fn outcomes_schedule_retries_fail_and_can_be_sent_again() {
    let (_db, store) = fresh().await;
    hook(&store).await;
    let t = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    add_message(&store, t.id, 1000).await;
    let first = store
        .claim_deliveries(claim(2000, HashMap::new()))
        .await
        .unwrap();
    let id = first.deliveries[0].id;

    let retry = DeliveryOutcome::Retry {
        next_attempt_ms: 60_000,
        error: "the receiver answered 500".to_owned(),
    };
    store
        .finish_delivery(id, retry, attempt(3000, Some(500)))
        .await
        .unwrap();
    let early = store
        .claim_deliveries(claim(59_999, HashMap::new()))
        .await
        .unwrap();
    assert_eq!(early.deliveries, vec![]);
    assert_eq!(early.next_due_ms, Some(60_000));
    let due = store
        .claim_deliveries(claim(60_000, HashMap::new()))
        .await
        .unwrap();
    assert_eq!(due.deliveries.len(), 1);
    assert_eq!(due.deliveries[0].attempts, 1);

    let failed = DeliveryOutcome::Failed {
        error: "no answer within the timeout".to_owned(),
    };
    store
        .finish_delivery(id, failed, attempt(61_000, None))
        .await
        .unwrap();
    let listed = store.deliveries(true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].state.column(),
            listed[0].attempts,
            listed[0].last_error.as_deref()
        ),
        ("failed", 2, Some("no answer within the timeout"))
    );
    assert_eq!(store.webhook_backlog().await.unwrap().pending_events, 0);

    assert_eq!(store.retry_deliveries(Some(id)).await.unwrap(), 1);
    let resent = store
        .claim_deliveries(claim(61_001, HashMap::new()))
        .await
        .unwrap();
    assert_eq!(resent.deliveries.len(), 1, "due at once");
    store
        .finish_delivery(id, DeliveryOutcome::Delivered, attempt(62_000, Some(204)))
        .await
        .unwrap();
    assert_eq!(
        store.prune_deliveries(62_000).await.unwrap(),
        0,
        "not older"
    );
    assert_eq!(store.prune_deliveries(62_001).await.unwrap(), 1);
    assert_eq!(store.deliveries(false).await.unwrap(), vec![]);
}

#[tokio::test]
async fn access_needs_both_tokens_and_an_active_grant() {
    let (_db, store) = fresh().await;
    let client = TokenHash::of(demo::CLIENT_TOKEN);
    let portfolio = TokenHash::of(demo::PORTFOLIO_ACCESS_TOKEN);
    let grant = store
        .find_access(client, portfolio)
        .await
        .unwrap()
        .expect("the demo token works");
    assert_eq!(grant.integration_id, demo::SAMPLE_CLIENT);
    assert_eq!(
        grant.enterprises,
        vec![demo::GROSS, demo::NET],
        "home first"
    );
    // Another integration's ClientToken with this AccessToken: nothing.
    let other_client = TokenHash::of(demo::CLIENT_TOKEN_2);
    assert_eq!(
        store.find_access(other_client, portfolio).await.unwrap(),
        None
    );

    store
        .revoke_access_token(TokenRef::Secret(portfolio), Timestamp::from_unix(1))
        .await
        .unwrap();
    assert_eq!(store.find_access(client, portfolio).await.unwrap(), None);
    assert_eq!(
        missing(
            store
                .revoke_access_token(TokenRef::Secret(portfolio), Timestamp::from_unix(2))
                .await
        ),
        Missing::AccessToken,
        "only an active token can be revoked"
    );
}

#[tokio::test]
async fn tenants_refuse_duplicates_and_unknown_owners() {
    let (_db, store) = fresh().await;
    let gross = Enterprise {
        id: demo::GROSS,
        name: "Again".to_owned(),
        created: Timestamp::from_unix(1),
    };
    assert!(matches!(
        store.add_enterprise(gross).await,
        Err(StoreError::Conflict(_))
    ));
    let unknown = Uuid::new_v4();
    assert_eq!(
        missing(store.set_webhook_url(unknown, None).await),
        Missing::Integration(unknown)
    );
}

#[tokio::test]
async fn the_rate_limit_allows_n_in_any_window() {
    let (_db, store) = fresh().await;
    let token = Uuid::new_v4();
    let limit = RateLimit {
        requests: 2,
        window_secs: 30,
    };
    assert_eq!(
        store.check_rate(token, limit, 1_000).await.unwrap(),
        Decision::Allowed
    );
    assert_eq!(
        store.check_rate(token, limit, 2_000).await.unwrap(),
        Decision::Allowed
    );
    assert_eq!(
        store.check_rate(token, limit, 3_000).await.unwrap(),
        Decision::Limited {
            retry_after_secs: 28
        },
        "the oldest leaves the window at 31 s"
    );
    assert_eq!(
        store.check_rate(token, limit, 31_001).await.unwrap(),
        Decision::Allowed
    );
    // Another token has a window of its own.
    let other = Uuid::new_v4();
    assert_eq!(
        store.check_rate(other, limit, 3_000).await.unwrap(),
        Decision::Allowed
    );
}

/// Nodes whose clocks differ, or a clock that steps back, count requests out
/// of time order; the window still holds what it should, to the second.
#[tokio::test]
async fn the_rate_limit_counts_requests_out_of_time_order() {
    let (_db, store) = fresh().await;
    let token = Uuid::new_v4();
    let limit = RateLimit {
        requests: 2,
        window_secs: 1,
    };
    let limited = Decision::Limited {
        retry_after_secs: 1,
    };
    for (now, decision) in [
        (1_000, Decision::Allowed),
        // A step back counts in the oldest second kept.
        (500, Decision::Allowed),
        // Second 1 holds both; it leaves the window at 2000.
        (1_600, limited),
        (1_999, limited),
        (2_000, Decision::Allowed),
        (2_500, Decision::Allowed),
        (2_600, limited),
    ] {
        assert_eq!(
            store.check_rate(token, limit, now).await.unwrap(),
            decision,
            "at {now} ms"
        );
    }
}

#[tokio::test]
async fn the_stored_clock_starts_once_keeps_its_mode_and_moves_in_versions() {
    let (_db, store) = fresh().await;
    let at = |version, now_ms| ClockState { version, now_ms };
    assert_eq!(store.set_clock(5).await.unwrap(), ClockMove::NoClock);
    assert_eq!(store.stored_clock().await.unwrap(), None);
    assert_eq!(store.start_clock(1_000).await.unwrap(), at(0, 1_000));
    assert_eq!(
        store.start_clock(9_000).await.unwrap(),
        at(0, 1_000),
        "kept"
    );
    assert_eq!(
        store.advance_clock(500, i64::MAX).await.unwrap(),
        ClockMove::Moved(at(1, 1_500))
    );
    assert_eq!(
        store.advance_clock(500, 1_999).await.unwrap(),
        ClockMove::Beyond { now_ms: 1_500 }
    );
    // Nothing is stored: back in time is allowed.
    assert_eq!(
        store.set_clock(1_200).await.unwrap(),
        ClockMove::Moved(at(2, 1_200))
    );
    assert_eq!(store.stored_clock().await.unwrap(), Some(at(2, 1_200)));
    // Turned off, it is no manual clock; started again, it starts anew.
    assert!(store.stop_clock().await.unwrap());
    assert!(!store.stop_clock().await.unwrap());
    assert_eq!(store.stored_clock().await.unwrap(), None);
    assert_eq!(store.set_clock(5_000).await.unwrap(), ClockMove::NoClock);
    assert_eq!(store.start_clock(7_000).await.unwrap(), at(3, 7_000));
}

#[tokio::test]
async fn the_clock_goes_back_only_to_before_nothing_stored() {
    let (_db, store) = fresh().await;
    store.start_clock(100_000_000).await.unwrap();
    let t = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 90_000))
        .await
        .unwrap();
    add_message(&store, t.id, 95_000_000).await;
    assert_eq!(
        store.set_clock(94_000_000).await.unwrap(),
        ClockMove::Newer {
            newest_ms: 95_000_000
        },
        "the message is newer"
    );
    assert!(matches!(
        store.set_clock(95_000_000).await.unwrap(),
        ClockMove::Moved(ClockState {
            now_ms: 95_000_000,
            ..
        })
    ));
    store.reset(ResetScope::default()).await.unwrap();
    assert!(matches!(
        store.set_clock(1_000).await.unwrap(),
        ClockMove::Moved(ClockState { now_ms: 1_000, .. })
    ));
}

#[tokio::test]
async fn a_reset_counts_what_it_removes_in_its_scope() {
    let (_db, store) = fresh().await;
    for (integration, enterprise) in [
        (demo::SAMPLE_CLIENT, demo::GROSS),
        (demo::SAMPLE_CLIENT, demo::NET),
        (demo::TEST_CLIENT_2, demo::GROSS),
    ] {
        let t = store
            .add_thread(thread(integration, enterprise, 1))
            .await
            .unwrap();
        add_message(&store, t.id, 1000).await;
        add_message(&store, t.id, 1001).await;
    }
    let counts = store
        .reset(ResetScope {
            integrations: None,
            enterprises: Some(vec![demo::GROSS]),
            faults: false,
        })
        .await
        .unwrap();
    assert_eq!(
        counts,
        ResetCounts {
            threads: 2,
            messages: 4,
            deliveries: 0
        }
    );
    let left = store
        .threads(threads_of(Visibility::staff(), None, 10))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].enterprise_id, demo::NET);
}

fn admission(client: TokenHash, access: TokenHash, limit: RateLimit, now_ms: i64) -> Admission {
    Admission {
        client_token: client,
        access_token: access,
        limit,
        now_ms,
    }
}

#[tokio::test]
async fn admit_counts_only_requests_with_a_matching_pair() {
    let (_db, store) = fresh().await;
    let limit = RateLimit {
        requests: 2,
        window_secs: 30,
    };
    let client = TokenHash::of(demo::CLIENT_TOKEN);
    let portfolio = TokenHash::of(demo::PORTFOLIO_ACCESS_TOKEN);
    let other_client = TokenHash::of(demo::CLIENT_TOKEN_2);
    for _ in 0..3 {
        assert!(
            store
                .admit(admission(other_client, portfolio, limit, 1000))
                .await
                .unwrap()
                .is_none(),
            "another integration's client token"
        );
    }
    let mut decisions = Vec::new();
    for now in [1000, 1001, 1002] {
        let (grant, decision) = store
            .admit(admission(client, portfolio, limit, now))
            .await
            .unwrap()
            .expect("the right pair");
        assert_eq!(grant.integration_id, demo::SAMPLE_CLIENT);
        assert_eq!(grant.enterprises, vec![demo::GROSS, demo::NET]);
        decisions.push(decision);
    }
    assert_eq!(decisions[..2], [Decision::Allowed, Decision::Allowed]);
    assert!(
        matches!(decisions[2], Decision::Limited { .. }),
        "the refused pairs were not counted: {decisions:?}"
    );
    store
        .revoke_access_token(TokenRef::Secret(portfolio), Timestamp::from_unix(2))
        .await
        .unwrap();
    assert!(
        store
            .admit(admission(client, portfolio, limit, 1003))
            .await
            .unwrap()
            .is_none()
    );
}

/// Sample Client's portfolio token, admitted once at 1000 ms under a limit
/// of 3 requests in 30 s.
struct Admitted {
    limit: RateLimit,
    client: TokenHash,
    portfolio: TokenHash,
    grant: AccessGrant,
}

impl Admitted {
    /// The token's admission at `now_ms`.
    fn at(&self, now_ms: i64) -> Admission {
        admission(self.client, self.portfolio, self.limit, now_ms)
    }
}

/// A fresh store, and its portfolio token admitted once.
async fn fresh_admitted() -> (TestDatabase, Arc<dyn Store>, Admitted) {
    let (db, store) = fresh().await;
    let limit = RateLimit {
        requests: 3,
        window_secs: 30,
    };
    let client = TokenHash::of(demo::CLIENT_TOKEN);
    let portfolio = TokenHash::of(demo::PORTFOLIO_ACCESS_TOKEN);
    let (grant, _) = store
        .admit(admission(client, portfolio, limit, 1000))
        .await
        .unwrap()
        .unwrap();
    let token = Admitted {
        limit,
        client,
        portfolio,
        grant,
    };
    (db, store, token)
}

/// Whether a thread with this id is stored (as staff see it).
async fn stored(store: &Arc<dyn Store>, id: Uuid) -> bool {
    let mut query = threads_of(Visibility::staff(), None, 10);
    query.thread_ids = Some(vec![id]);
    !store.threads(query).await.unwrap().is_empty()
}

#[tokio::test]
async fn a_write_sent_with_its_admission_happens_only_when_that_admission_allows_its_grant() {
    let (_db, store, token) = fresh_admitted().await;
    let (client, portfolio, limit, grant) =
        (token.client, token.portfolio, token.limit, token.grant);
    let add = |store: Arc<dyn Store>, client, expected, now| async move {
        let new = thread(demo::SAMPLE_CLIENT, demo::GROSS, 1);
        let id = new.id;
        let (admitted, outcome) = store
            .add_thread_beside(admission(client, portfolio, limit, now), &expected, new)
            .await
            .unwrap();
        let added = match outcome {
            Some(Ok(thread)) => Some(thread.id),
            None => None,
            other => panic!("unexpected outcome {other:?}"),
        };
        (admitted, added, stored(&store, id).await, id)
    };

    // Admitted with the grant it was built for: added, once.
    let (admitted, added, is_stored, id) = add(store.clone(), client, grant.clone(), 1001).await;
    assert_eq!(admitted, Some((grant.clone(), Decision::Allowed)));
    assert_eq!(added, Some(id));
    assert!(is_stored);

    // Built for another token's grant: admitted, but not added.
    let mut other = grant.clone();
    other.token_id = Uuid::new_v4();
    let (admitted, added, is_stored, _) = add(store.clone(), client, other, 1002).await;
    assert_eq!(admitted, Some((grant.clone(), Decision::Allowed)));
    assert_eq!((added, is_stored), (None, false));

    // The wrong client token: refused, not counted, not added.
    let wrong = TokenHash::of(demo::CLIENT_TOKEN_2);
    let (admitted, added, is_stored, _) = add(store.clone(), wrong, grant.clone(), 1003).await;
    assert_eq!(admitted, None);
    assert_eq!((added, is_stored), (None, false));

    // Over the limit (three counted so far): not added.
    let (admitted, added, is_stored, _) = add(store.clone(), client, grant.clone(), 1004).await;
    assert!(
        matches!(admitted, Some((_, Decision::Limited { .. }))),
        "{admitted:?}"
    );
    assert_eq!((added, is_stored), (None, false));

    // Revoked: refused, not added.
    store
        .revoke_access_token(TokenRef::Secret(portfolio), Timestamp::from_unix(2))
        .await
        .unwrap();
    let (admitted, added, is_stored, _) = add(store.clone(), client, grant, 100_000).await;
    assert_eq!(admitted, None);
    assert_eq!((added, is_stored), (None, false));
}

/// The admission must reach the database before the write it guards, even on
/// a connection that has prepared the write's statement and not yet the
/// admission's: a store opened anew has one connection, which a plain add
/// prepares the write on.
#[tokio::test]
async fn a_write_goes_with_its_admission_where_only_the_write_was_prepared() {
    let (db, _first, token) = fresh_admitted().await;
    let store = store::open(&db.url).await.expect("open the store again");
    store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    let new = thread(demo::SAMPLE_CLIENT, demo::GROSS, 2);
    let id = new.id;
    let (admitted, outcome) = store
        .add_thread_beside(token.at(1001), &token.grant, new)
        .await
        .unwrap();
    assert_eq!(admitted, Some((token.grant, Decision::Allowed)));
    assert!(
        matches!(outcome, Some(Ok(ref thread)) if thread.id == id),
        "{outcome:?}"
    );
    assert!(stored(&store, id).await);
}

#[tokio::test]
async fn a_read_sent_with_its_admission_is_kept_only_when_that_admission_allows_its_grant() {
    let (_db, store, token) = fresh_admitted().await;
    let grant = token.grant.clone();
    let added = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::NET, 5))
        .await
        .unwrap();
    let page = || threads_of(sample_client(), None, 10);
    // A grant that is not the token's (another token id): nothing kept.
    let mut other = grant.clone();
    other.token_id = Uuid::nil();
    let (admitted, outcome) = store
        .threads_beside(token.at(1001), &other, page())
        .await
        .unwrap();
    assert_eq!(admitted, Some((grant.clone(), Decision::Allowed)));
    assert!(outcome.is_none());
    // The token's own grant: the page.
    let (admitted, outcome) = store
        .threads_beside(token.at(1002), &grant, page())
        .await
        .unwrap();
    assert_eq!(admitted, Some((grant.clone(), Decision::Allowed)));
    match outcome {
        Some(Ok(page)) => assert_eq!(written_ids(&page), vec![added.id]),
        other => panic!("unexpected outcome {other:?}"),
    }
    // Over the limit: nothing kept.
    let (admitted, outcome) = store
        .threads_beside(token.at(1003), &grant, page())
        .await
        .unwrap();
    assert!(matches!(admitted, Some((_, Decision::Limited { .. }))));
    assert!(outcome.is_none());
}

#[tokio::test]
async fn messages_sent_with_their_admission_are_added_only_when_it_allows_them_all() {
    let (_db, store, token) = fresh_admitted().await;
    let grant = token.grant.clone();
    let mine = store
        .add_thread(thread(demo::SAMPLE_CLIENT, demo::GROSS, 1))
        .await
        .unwrap();
    let theirs = store
        .add_thread(thread(demo::TEST_CLIENT_2, demo::GROSS, 1))
        .await
        .unwrap();
    let batch = |threads: &[Uuid]| MessageBatch {
        visibility: grant.visibility(),
        messages: threads
            .iter()
            .map(|&t| message(t, Sender::Application, 2))
            .collect(),
        at_ms: 2000,
        author: None,
    };
    let count = |store: Arc<dyn Store>| async move {
        let query = MessageQuery {
            visibility: Visibility::staff(),
            thread_ids: vec![mine.id, theirs.id],
            enterprises: None,
            created: None,
            cursor: None,
            count: Count::new(100),
        };
        store.messages(query).await.unwrap().len()
    };

    // Allowed: both messages, in order.
    let (admitted, outcome) = store
        .add_messages_beside(token.at(1001), &grant, batch(&[mine.id, mine.id]))
        .await
        .unwrap();
    assert_eq!(admitted, Some((grant.clone(), Decision::Allowed)));
    assert!(
        matches!(outcome, Some(Ok(ref m)) if m.len() == 2),
        "{outcome:?}"
    );
    assert_eq!(count(store.clone()).await, 2);

    // One thread the token cannot see, second in the batch: none added.
    let (_, outcome) = store
        .add_messages_beside(
            token.at(1002),
            &grant,
            batch(&[mine.id, theirs.id, theirs.id]),
        )
        .await
        .unwrap();
    match outcome {
        Some(Err(StoreError::Missing(Missing::BatchThread(1)))) => {}
        other => panic!("expected the second message refused, got {other:?}"),
    }
    assert_eq!(count(store.clone()).await, 2);

    // Over the limit: none added, nothing reported.
    let (admitted, outcome) = store
        .add_messages_beside(token.at(1003), &grant, batch(&[mine.id]))
        .await
        .unwrap();
    assert!(matches!(admitted, Some((_, Decision::Limited { .. }))));
    assert!(outcome.is_none(), "{outcome:?}");
    assert_eq!(count(store.clone()).await, 2);
}
