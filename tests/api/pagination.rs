//! SPEC §7, issue rule 3: walking pages returns every matching thread exactly
//! once, newest first, even while more threads are being added.

use chrono::Duration;
use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard::demo;
use switchboard::http::Settings;
use switchboard::ratelimit::RateLimit;

use crate::helpers::*;

#[derive(Debug, Clone)]
struct NewThread {
    /// Milliseconds the clock moves first; small, so many share a second.
    advance_ms: i64,
    in_net: bool,
    other_integration: bool,
}

fn new_thread() -> impl Strategy<Value = NewThread> {
    (0i64..700, any::<bool>(), prop::bool::weighted(0.2)).prop_map(
        |(advance_ms, in_net, other_integration)| NewThread {
            advance_ms,
            in_net,
            other_integration,
        },
    )
}

/// Adds a thread; returns its id if the portfolio token of Sample Client sees it.
async fn add(app: &TestApp, t: &NewThread) -> (String, bool) {
    app.clock.advance(Duration::milliseconds(t.advance_ms));
    let (creds, enterprise) = if t.other_integration {
        (OTHER_CLIENT, demo::GROSS)
    } else {
        (PORTFOLIO, if t.in_net { demo::NET } else { demo::GROSS })
    };
    let reply = app
        .call(ADD, creds, json!({"OriginalSender": "Guest", "Subject": "S", "EnterpriseId": enterprise.to_string()}))
        .await;
    (
        reply.ok()["MessageThreads"][0]["Id"]
            .as_str()
            .unwrap()
            .to_owned(),
        t.in_net,
    )
}

async fn walk(
    initial: Vec<NewThread>,
    counts: Vec<u32>,
    during: Vec<Vec<NewThread>>,
    only_gross: bool,
) -> Result<(), TestCaseError> {
    // A limit no walk reaches: this test is about pages, not the rate limit.
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 100_000,
            window_secs: 1,
        },
        ..settings()
    })
    .await;
    let mut expected = Vec::new();
    for t in &initial {
        let (id, in_net) = add(&app, t).await;
        let visible = !t.other_integration;
        let filtered_out = only_gross && in_net;
        if visible && !filtered_out {
            expected.push(id);
        }
    }
    expected.reverse();

    let mut filter = json!({"CreatedUtc": everything()});
    if only_gross {
        filter["EnterpriseIds"] = json!([demo::GROSS.to_string()]);
    }
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = Value::Null;
    let most_pages = initial.len() + during.iter().map(Vec::len).sum::<usize>() + 2;
    for page in 0.. {
        prop_assert!(page <= most_pages, "the walk does not end: {seen:?}");
        let count = counts[page % counts.len()];
        let mut body = filter.clone();
        body["Limitation"] = json!({"Count": count, "Cursor": cursor});
        let reply = app.call(GET_ALL, PORTFOLIO, body).await.ok();
        let items = ids(&reply["MessageThreads"]);
        prop_assert!(items.len() <= count as usize);
        if items.is_empty() {
            prop_assert_eq!(&reply["Cursor"], &Value::Null);
            break;
        }
        prop_assert_eq!(reply["Cursor"].as_str(), items.last().map(String::as_str));
        cursor = reply["Cursor"].clone();
        seen.extend(items);
        for t in during.get(page).into_iter().flatten() {
            add(&app, t).await;
        }
    }
    prop_assert_eq!(seen, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn walking_pages_returns_every_thread_once_newest_first(
        initial in prop::collection::vec(new_thread(), 0..60),
        counts in prop::collection::vec(1u32..9, 1..4),
        during in prop::collection::vec(prop::collection::vec(new_thread(), 0..3), 0..10),
        only_gross in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(walk(initial, counts, during, only_gross))?;
    }
}
