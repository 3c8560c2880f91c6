//! Issue 3, rule 4: random operations of two integrations in two enterprises,
//! through portfolio and single-enterprise tokens. No operation, cursor or
//! filter ever shows or changes anything outside the caller's scope.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};
use switchboard::demo;
use switchboard::http::Settings;
use switchboard::ratelimit::RateLimit;
use uuid::Uuid;

use crate::helpers::*;

/// A token, its integration and its scope.
struct Token {
    creds: Creds,
    integration: Uuid,
    scope: &'static [Uuid],
}

const TOKENS: [Token; 3] = [
    Token {
        creds: PORTFOLIO,
        integration: demo::SAMPLE_CLIENT,
        scope: &[demo::GROSS, demo::NET],
    },
    Token {
        creds: NET_ONLY,
        integration: demo::SAMPLE_CLIENT,
        scope: &[demo::NET],
    },
    Token {
        creds: OTHER_CLIENT,
        integration: demo::TEST_CLIENT_2,
        scope: &[demo::GROSS],
    },
];
const ENTERPRISES: [Uuid; 2] = [demo::GROSS, demo::NET];

#[derive(Debug, Clone)]
enum Op {
    AddThread {
        token: Index,
        enterprise: Option<Index>,
    },
    AddMessages {
        token: Index,
        threads: Vec<Index>,
    },
    ListThreads {
        token: Index,
        enterprise: Option<Index>,
        ids: Option<Vec<Index>>,
        cursor: Option<Index>,
    },
    ListMessages {
        token: Index,
        threads: Vec<Index>,
        cursor: Option<Index>,
    },
    Resolve {
        thread: Index,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let index = any::<Index>;
    prop_oneof![
        (index(), prop::option::of(index()))
            .prop_map(|(token, enterprise)| Op::AddThread { token, enterprise }),
        (index(), prop::collection::vec(index(), 1..4))
            .prop_map(|(token, threads)| Op::AddMessages { token, threads }),
        (
            index(),
            prop::option::of(index()),
            prop::option::of(prop::collection::vec(index(), 1..4)),
            prop::option::of(index())
        )
            .prop_map(|(token, enterprise, ids, cursor)| Op::ListThreads {
                token,
                enterprise,
                ids,
                cursor
            }),
        (
            index(),
            prop::collection::vec(index(), 1..4),
            prop::option::of(index())
        )
            .prop_map(|(token, threads, cursor)| Op::ListMessages {
                token,
                threads,
                cursor
            }),
        index().prop_map(|thread| Op::Resolve { thread }),
    ]
}

/// What the test knows was stored.
#[derive(Default)]
struct Model {
    /// (id, integration, enterprise)
    threads: Vec<(String, Uuid, Uuid)>,
    /// (id, thread index)
    messages: Vec<(String, usize)>,
}

impl Model {
    fn sees(&self, token: &Token, thread: usize) -> bool {
        let (_, integration, enterprise) = &self.threads[thread];
        *integration == token.integration && token.scope.contains(enterprise)
    }

    /// A thread index chosen by `index`; `None` while there are no threads.
    fn thread(&self, index: &Index) -> Option<usize> {
        (!self.threads.is_empty()).then(|| index.index(self.threads.len()))
    }

    fn thread_of_id(&self, id: &str) -> usize {
        self.threads
            .iter()
            .position(|t| t.0 == id)
            .expect("a thread the test made")
    }

    fn thread_of_message(&self, id: &str) -> usize {
        self.messages
            .iter()
            .find(|m| m.0 == id)
            .expect("a message the test made")
            .1
    }
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let app = spawn_app_with(Settings {
        rate_limit: RateLimit {
            requests: 100_000,
            window_secs: 1,
        },
        ..settings()
    })
    .await;
    let mut model = Model::default();
    for op in ops {
        match op {
            Op::AddThread { token, enterprise } => {
                let token = token.get(&TOKENS);
                let enterprise = enterprise.map(|e| *e.get(&ENTERPRISES));
                let mut body = json!({"OriginalSender": "Guest", "Subject": "S"});
                if let Some(e) = enterprise {
                    body["EnterpriseId"] = json!(e.to_string());
                }
                let reply = app.call(ADD, token.creds, body).await;
                let target = enterprise.unwrap_or(token.scope[0]);
                if token.scope.contains(&target) {
                    let id = reply.ok()["MessageThreads"][0]["Id"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                    model.threads.push((id, token.integration, target));
                } else {
                    prop_assert_eq!(reply.status, 400);
                }
            }
            Op::AddMessages { token, threads } => {
                let token = token.get(&TOKENS);
                let chosen: Vec<usize> = threads.iter().filter_map(|t| model.thread(t)).collect();
                if chosen.is_empty() {
                    continue;
                }
                let items: Vec<Value> = chosen
                    .iter()
                    .map(|&t| json!({"MessageThreadId": model.threads[t].0, "Text": "hello"}))
                    .collect();
                let reply = app
                    .call(MESSAGES_ADD, token.creds, json!({ "Messages": items }))
                    .await;
                match chosen.iter().position(|&t| !model.sees(token, t)) {
                    None => {
                        let body = reply.ok();
                        for (added, &t) in body["Messages"].as_array().unwrap().iter().zip(&chosen)
                        {
                            model
                                .messages
                                .push((added["Message"]["Id"].as_str().unwrap().to_owned(), t));
                        }
                    }
                    Some(first_invisible) => {
                        let message = reply.assert_error(400);
                        prop_assert!(
                            message.starts_with(&format!("Messages[{first_invisible}]")),
                            "{}",
                            message
                        );
                    }
                }
            }
            Op::ListThreads {
                token,
                enterprise,
                ids,
                cursor,
            } => {
                let token = token.get(&TOKENS);
                let mut body = json!({"CreatedUtc": everything(), "Limitation": {"Count": 1000}});
                let enterprise = enterprise.map(|e| *e.get(&ENTERPRISES));
                if let Some(e) = enterprise {
                    body["EnterpriseIds"] = json!([e.to_string()]);
                }
                if let Some(ids) = &ids {
                    let chosen: Vec<&str> = ids
                        .iter()
                        .filter_map(|i| model.thread(i))
                        .map(|t| model.threads[t].0.as_str())
                        .collect();
                    if !chosen.is_empty() {
                        body["MessageThreadIds"] = json!(chosen);
                    }
                }
                let cursor = cursor.and_then(|c| model.thread(&c));
                if let Some(c) = cursor {
                    body["Limitation"]["Cursor"] = json!(model.threads[c].0);
                }
                let reply = app.call(GET_ALL, token.creds, body).await;
                // The enterprise is checked first, then the cursor; each refusal
                // says which rule refused.
                let outside = enterprise.filter(|e| !token.scope.contains(e));
                if let Some(e) = outside {
                    let message = reply.assert_error(400);
                    prop_assert!(
                        message.starts_with("EnterpriseIds contains enterprises outside the scope")
                            && message.contains(&e.to_string()),
                        "{}",
                        message
                    );
                    continue;
                }
                if cursor.is_some_and(|c| !model.sees(token, c)) {
                    prop_assert_eq!(
                        reply.assert_error(400),
                        "Limitation.Cursor is not the id of a message thread visible to the caller."
                    );
                    continue;
                }
                for id in ids_of(&reply.ok()["MessageThreads"]) {
                    let t = model.thread_of_id(&id);
                    prop_assert!(model.sees(token, t), "thread {} leaked", id);
                    prop_assert!(enterprise.is_none_or(|e| model.threads[t].2 == e));
                }
            }
            Op::ListMessages {
                token,
                threads,
                cursor,
            } => {
                let token = token.get(&TOKENS);
                let chosen: Vec<usize> = threads.iter().filter_map(|t| model.thread(t)).collect();
                if chosen.is_empty() {
                    continue;
                }
                let mut body = json!({
                    "MessageThreadIds": chosen.iter().map(|&t| model.threads[t].0.clone()).collect::<Vec<_>>(),
                    "Limitation": {"Count": 1000},
                });
                let cursor = cursor.and_then(|c| {
                    (!model.messages.is_empty()).then(|| c.index(model.messages.len()))
                });
                if let Some(c) = cursor {
                    body["Limitation"]["Cursor"] = json!(model.messages[c].0);
                }
                let reply = app.call(MESSAGES_GET_ALL, token.creds, body).await;
                if cursor.is_some_and(|c| !model.sees(token, model.messages[c].1)) {
                    reply.assert_error(400);
                    continue;
                }
                for id in ids_of(&reply.ok()["Messages"]) {
                    let t = model.thread_of_message(&id);
                    prop_assert!(
                        model.sees(token, t) && chosen.contains(&t),
                        "message {} leaked",
                        id
                    );
                }
            }
            Op::Resolve { thread } => {
                if let Some(t) = model.thread(&thread) {
                    app.staff(
                        STAFF_THREADS_UPDATE,
                        json!({"MessageThreadId": model.threads[t].0, "IsResolved": true}),
                    )
                    .await
                    .ok();
                }
            }
        }
    }

    // In the end every token sees exactly its own threads and their messages.
    for token in &TOKENS {
        let seen: BTreeSet<String> =
            ids_of(&app.get_threads(token.creds, json!({})).await.ok()["MessageThreads"])
                .into_iter()
                .collect();
        let expected: BTreeSet<String> = (0..model.threads.len())
            .filter(|&t| model.sees(token, t))
            .map(|t| model.threads[t].0.clone())
            .collect();
        prop_assert_eq!(&seen, &expected);
        if model.threads.is_empty() {
            continue;
        }
        let all: Vec<&str> = model.threads.iter().map(|t| t.0.as_str()).collect();
        let body = json!({"MessageThreadIds": all, "Limitation": {"Count": 1000}});
        let messages: BTreeSet<String> =
            ids_of(&app.call(MESSAGES_GET_ALL, token.creds, body).await.ok()["Messages"])
                .into_iter()
                .collect();
        let expected: BTreeSet<String> = model
            .messages
            .iter()
            .filter(|m| model.sees(token, m.1))
            .map(|m| m.0.clone())
            .collect();
        prop_assert_eq!(&messages, &expected);
    }
    // And nothing was stored beyond what the model holds.
    let all = app
        .staff(
            STAFF_THREADS_GET_ALL,
            json!({"Limitation": {"Count": 1000}}),
        )
        .await
        .ok();
    prop_assert_eq!(
        all["MessageThreads"].as_array().unwrap().len(),
        model.threads.len()
    );
    Ok(())
}

fn ids_of(items: &Value) -> Vec<String> {
    ids(items)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn no_operation_crosses_an_integration_or_a_token_scope(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(run(ops))?;
    }
}
