//! Time-interval filters, the vendor's 2026 rule: `StartUtc <= value < EndUtc`,
//! and exactly that instant when `StartUtc` equals `EndUtc`. It holds for every
//! `CreatedUtc` and `UpdatedUtc` filter of both APIs, so each test runs every
//! filter.

use std::collections::BTreeMap;

use chrono::Duration;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::helpers::*;

/// One interval filter of one operation.
#[derive(Debug, Clone, Copy)]
enum Filter {
    ThreadsCreated,
    ThreadsUpdated,
    MessagesCreated,
    StaffThreadsUpdated,
    StaffMessagesCreated,
}

const FILTERS: [Filter; 5] = [
    Filter::ThreadsCreated,
    Filter::ThreadsUpdated,
    Filter::MessagesCreated,
    Filter::StaffThreadsUpdated,
    Filter::StaffMessagesCreated,
];

/// Items made at known times, for one filter.
struct Items {
    filter: Filter,
    /// The thread that holds the messages, for message filters.
    thread: Value,
    /// Each item's id by the second (from [`start_time`]) it was made at.
    at: BTreeMap<String, i64>,
}

impl Filter {
    fn lists_messages(self) -> bool {
        matches!(self, Filter::MessagesCreated | Filter::StaffMessagesCreated)
    }

    /// Makes one item at each of `seconds` (ascending, from [`start_time`]);
    /// threads get no messages, so their `UpdatedUtc` is their `CreatedUtc`.
    async fn make(self, app: &TestApp, seconds: &[i64]) -> Items {
        let mut now = 0;
        let thread = if self.lists_messages() {
            app.add_thread(PORTFOLIO, "Guest", "holds the messages")
                .await
        } else {
            Value::Null
        };
        let mut at = BTreeMap::new();
        for &second in seconds {
            app.clock.advance(Duration::seconds(second - now));
            now = second;
            let item = if self.lists_messages() {
                app.add_message(PORTFOLIO, &thread, "Hello").await
            } else {
                app.add_thread(PORTFOLIO, "Guest", "Hello").await
            };
            at.insert(item["Id"].as_str().unwrap().to_owned(), second);
        }
        Items {
            filter: self,
            thread,
            at,
        }
    }
}

impl Items {
    /// The ids this filter returns for `interval` (every page, in order).
    async fn matching(&self, app: &TestApp, interval: Value) -> Vec<String> {
        let (path, name, key) = match self.filter {
            Filter::ThreadsCreated => (GET_ALL, "CreatedUtc", "MessageThreads"),
            Filter::ThreadsUpdated => (GET_ALL, "UpdatedUtc", "MessageThreads"),
            Filter::MessagesCreated => (MESSAGES_GET_ALL, "CreatedUtc", "Messages"),
            Filter::StaffThreadsUpdated => (STAFF_THREADS_GET_ALL, "UpdatedUtc", "MessageThreads"),
            Filter::StaffMessagesCreated => (STAFF_MESSAGES_GET_ALL, "CreatedUtc", "Messages"),
        };
        let mut body = json!({ name: interval, "Limitation": {"Count": 1000} });
        if self.filter.lists_messages() {
            body["MessageThreadIds"] = json!([self.thread["Id"]]);
        }
        let reply = match self.filter {
            Filter::StaffThreadsUpdated | Filter::StaffMessagesCreated => {
                app.staff(path, body).await
            }
            _ => app.call(path, PORTFOLIO, body).await,
        };
        let answer = reply.ok();
        assert!(
            answer[key].as_array().unwrap().len() < 1000,
            "one page holds them all"
        );
        ids(&answer[key])
            .into_iter()
            .filter(|id| self.at.contains_key(id))
            .collect()
    }

    /// The ids made at `second`, newest first.
    fn made_at(&self, seconds: &[i64]) -> Vec<String> {
        let mut made: Vec<(i64, &String)> = self
            .at
            .iter()
            .filter(|(_, at)| seconds.contains(at))
            .map(|(id, at)| (*at, id))
            .collect();
        made.sort();
        made.into_iter().rev().map(|(_, id)| id.clone()).collect()
    }
}

/// The RFC 3339 text of `seconds` after [`start_time`], with `fraction`.
fn time(seconds: i64, fraction: &str) -> String {
    let at = start_time() + Duration::seconds(seconds);
    format!("{}{fraction}Z", at.format("%Y-%m-%dT%H:%M:%S"))
}

fn interval(start: String, end: String) -> Value {
    json!({"StartUtc": start, "EndUtc": end})
}

#[tokio::test]
async fn the_interval_start_is_included() {
    for filter in FILTERS {
        let app = spawn_app().await;
        let items = filter.make(&app, &[10, 11, 30]).await;
        let found = items
            .matching(&app, interval(time(11, ""), time(20, "")))
            .await;
        assert_eq!(
            found,
            items.made_at(&[11]),
            "{filter:?}: StartUtc is included"
        );
        // A start with a fraction excludes the whole second before it.
        let found = items
            .matching(&app, interval(time(10, ".5"), time(20, "")))
            .await;
        assert_eq!(found, items.made_at(&[11]), "{filter:?}: 10.5 <= t");
    }
}

#[tokio::test]
async fn the_interval_end_is_excluded() {
    for filter in FILTERS {
        let app = spawn_app().await;
        let items = filter.make(&app, &[5, 19, 20]).await;
        let found = items
            .matching(&app, interval(time(0, ""), time(20, "")))
            .await;
        assert_eq!(
            found,
            items.made_at(&[5, 19]),
            "{filter:?}: EndUtc is excluded"
        );
        // An end with a fraction includes the whole second it follows.
        let found = items
            .matching(&app, interval(time(0, ""), time(20, ".001")))
            .await;
        assert_eq!(found, items.made_at(&[5, 19, 20]), "{filter:?}: t < 20.001");
        // An offset is converted first: 21:00:20+01:00 is 20:00:20 UTC.
        let end = (start_time() + Duration::seconds(20) + Duration::hours(1))
            .format("%Y-%m-%dT%H:%M:%S+01:00")
            .to_string();
        let found = items.matching(&app, interval(time(0, ""), end)).await;
        assert_eq!(found, items.made_at(&[5, 19]), "{filter:?}: with an offset");
    }
}

#[tokio::test]
async fn equal_start_and_end_match_exactly_that_instant() {
    for filter in FILTERS {
        let app = spawn_app().await;
        let items = filter.make(&app, &[9, 10, 11]).await;
        let found = items
            .matching(&app, interval(time(10, ""), time(10, "")))
            .await;
        assert_eq!(found, items.made_at(&[10]), "{filter:?}: equality mode");
        // A fractional instant equals no stored whole second.
        let found = items
            .matching(&app, interval(time(10, ".5"), time(10, ".5")))
            .await;
        assert_eq!(found, Vec::<String>::new(), "{filter:?}: 10.5 == t");
    }
}

/// Makes items at `seconds`, splits `[0, span)` at `cuts` into back-to-back
/// windows, and checks that the windows together return each item exactly once.
async fn back_to_back(filter: Filter, mut seconds: Vec<i64>, mut cuts: Vec<i64>, span: i64) {
    seconds.sort_unstable();
    cuts.sort_unstable();
    cuts.dedup();
    let app = spawn_app().await;
    let items = filter.make(&app, &seconds).await;
    let mut bounds = vec![0];
    bounds.extend(cuts.into_iter().filter(|&cut| 0 < cut && cut < span));
    bounds.push(span);
    let mut seen = Vec::new();
    for window in bounds.windows(2) {
        let found = items
            .matching(&app, interval(time(window[0], ""), time(window[1], "")))
            .await;
        seen.extend(found);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        seen.len(),
        "{filter:?}: no item in two windows {bounds:?}"
    );
    assert_eq!(
        unique.len(),
        items.at.len(),
        "{filter:?}: every item in some window {bounds:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Items fall on the window edges often: times and cuts share a small range.
    #[test]
    fn back_to_back_windows_return_every_item_exactly_once(
        filter in prop::sample::select(FILTERS.to_vec()),
        seconds in prop::collection::vec(0i64..40, 1..12),
        cuts in prop::collection::vec(0i64..40, 0..6),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(back_to_back(filter, seconds, cuts, 40));
    }
}
