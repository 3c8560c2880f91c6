//! SPEC §12: a chaos run. Two nodes on PostgreSQL under load from several
//! clients; one is killed with SIGKILL (and started again), the database
//! goes away and comes back (every connection cut, new ones refused, as in a
//! restart), and the other node is stopped with SIGTERM. Afterwards every
//! acknowledged thread and message is readable, every acknowledged message's
//! webhook event arrived at least once, and no answer was a 500: during the
//! outage a 503 is the right answer.
//!
//! `SWITCHBOARD_CHAOS_SECONDS` sets how long the load runs (default 24, what
//! CI runs; BENCHMARKS.md keeps a longer run's figures), and
//! `SWITCHBOARD_CHAOS_RESTART_POSTGRES` a command that restarts the real
//! PostgreSQL server instead of cutting the test's proxy to it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::outage::Proxy;
use crate::process::{Server, serve};
use crate::receiver::Receiver;

/// What the clients were told, and what went wrong.
#[derive(Default)]
struct Tally {
    threads: Vec<String>,
    messages: Vec<(String, String)>,
    statuses: std::collections::BTreeMap<u16, u64>,
    unanswered: u64,
    wrong: Vec<String>,
}

async fn client_loop(
    client: reqwest::Client,
    nodes: Arc<RwLock<Vec<String>>>,
    tally: Arc<Mutex<Tally>>,
    stop: Arc<AtomicBool>,
    number: usize,
) {
    let mut mine: Option<String> = None;
    let mut i = number;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let base = {
            let nodes = nodes.read().unwrap();
            nodes[i % nodes.len()].clone()
        };
        let (path, fields) = match &mine {
            Some(thread) if !i.is_multiple_of(3) => (
                MESSAGES_ADD,
                json!({"Messages": [{"MessageThreadId": thread, "Text": format!("message {i}")}]}),
            ),
            _ => (
                ADD,
                json!({"OriginalSender": "Chaos", "Subject": format!("thread {i}")}),
            ),
        };
        let sent = client
            .post(format!("{base}{path}"))
            .json(&with_creds(PORTFOLIO, fields))
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(_) => {
                tally.lock().unwrap().unanswered += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let status = answer.status().as_u16();
        let body: Value = match answer.json().await {
            Ok(body) => body,
            Err(_) => {
                // The node died while it answered.
                tally.lock().unwrap().unanswered += 1;
                continue;
            }
        };
        if status == 503 {
            // Out of reach: a client waits a little before it tries again.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut tally = tally.lock().unwrap();
        *tally.statuses.entry(status).or_default() += 1;
        match status {
            200 if path == ADD => {
                let id = body["MessageThreads"][0]["Id"].as_str().unwrap().to_owned();
                tally.threads.push(id.clone());
                mine = Some(id);
            }
            200 => {
                let id = body["Messages"][0]["Message"]["Id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                tally.messages.push((mine.clone().unwrap(), id));
            }
            503 => {}
            _ => tally
                .wrong
                .push(format!("{status} from {base}{path}: {body}")),
        }
    }
}

/// SIGTERM, and the exit it leads to.
async fn terminate(mut server: Server) {
    let pid = server.child.id().unwrap().to_string();
    let sent = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("stops within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_through_kills_and_a_database_restart() {
    if !on_postgres() {
        eprintln!("skipped: the chaos run needs PostgreSQL (the PostgreSQL run checks it)");
        return;
    }
    let seconds: u64 = std::env::var("SWITCHBOARD_CHAOS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let step = Duration::from_millis(seconds * 1000 / 8);

    let mut db = TestDatabase::new().await;
    let mut url = reqwest::Url::parse(&db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(
        tokio::net::lookup_host(target)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    url.set_port(Some(proxy.port)).unwrap();
    db.url = url.to_string();
    let flags = [
        "--operator-token",
        OPERATOR_TOKEN,
        "--rate-limit",
        "100000000/30s",
    ];
    let a = serve(&db, &flags).await;
    let b = serve(&db, &flags).await;
    let receiver = Receiver::start().await;
    let client = http_client();
    let hooked = client
        .post(format!("{}/api/operator/v1/integrations/update", a.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({
            "IntegrationId": switchboard::demo::SAMPLE_CLIENT,
            "WebhookUrl": format!("{}/hook", receiver.base),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(hooked.status(), 200);

    let nodes = Arc::new(RwLock::new(vec![a.base.clone(), b.base.clone()]));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..12)
        .map(|n| {
            tokio::spawn(client_loop(
                client.clone(),
                nodes.clone(),
                tally.clone(),
                stop.clone(),
                n,
            ))
        })
        .collect();

    tokio::time::sleep(step * 2).await;
    // SIGKILL of node a, in the middle of its requests; then it starts again.
    nodes.write().unwrap().retain(|n| *n != a.base);
    let mut a = a;
    a.child.start_kill().unwrap();
    a.child.wait().await.unwrap();
    tokio::time::sleep(step).await;
    let a = serve(&db, &flags).await;
    nodes.write().unwrap().push(a.base.clone());
    tokio::time::sleep(step).await;
    // The database goes away for a while, as in a restart; or is restarted,
    // when the run is given the command that does it (never in the suite,
    // where other tests share the server).
    match std::env::var("SWITCHBOARD_CHAOS_RESTART_POSTGRES") {
        Ok(command) => {
            let restarted = tokio::process::Command::new("sh")
                .args(["-c", &command])
                .status()
                .await
                .unwrap();
            assert!(restarted.success(), "{command}");
        }
        Err(_) => {
            proxy.cut();
            tokio::time::sleep(step.min(Duration::from_secs(5))).await;
            proxy.restore().await;
        }
    }
    tokio::time::sleep(step * 2).await;
    // SIGTERM of node b: what it acknowledged stays.
    nodes.write().unwrap().retain(|n| *n != b.base);
    terminate(b).await;
    tokio::time::sleep(step).await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let tally = std::mem::take(&mut *tally.lock().unwrap());
    eprintln!(
        "chaos: {} threads and {} messages acknowledged; statuses {:?}; {} unanswered",
        tally.threads.len(),
        tally.messages.len(),
        tally.statuses,
        tally.unanswered
    );
    assert!(tally.wrong.is_empty(), "{:#?}", tally.wrong);
    assert!(
        tally.threads.len() > 20 && tally.messages.len() > 20,
        "the load ran"
    );

    // Every acknowledged thread and message is there, read through node a.
    let read = |path: &'static str, fields: Value| {
        let request = client
            .post(format!("{}{path}", a.base))
            .json(&with_creds(PORTFOLIO, fields));
        async move {
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), 200);
            answer.json::<Value>().await.unwrap()
        }
    };
    let mut found_threads = HashSet::new();
    let mut found_messages = HashSet::new();
    for chunk in tally.threads.chunks(1000) {
        let page = read(
            GET_ALL,
            json!({"MessageThreadIds": chunk, "Limitation": {"Count": 1000}}),
        )
        .await;
        found_threads.extend(ids(&page["MessageThreads"]));
        let mut cursor = Value::Null;
        loop {
            let page = read(
                MESSAGES_GET_ALL,
                json!({"MessageThreadIds": chunk, "Limitation": {"Count": 1000, "Cursor": cursor}}),
            )
            .await;
            let messages = ids(&page["Messages"]);
            if messages.is_empty() {
                break;
            }
            found_messages.extend(messages);
            cursor = page["Cursor"].clone();
        }
    }
    let lost_threads: Vec<_> = tally
        .threads
        .iter()
        .filter(|id| !found_threads.contains(*id))
        .collect();
    assert!(lost_threads.is_empty(), "threads lost: {lost_threads:?}");
    let message_ids: Vec<String> = tally.messages.iter().map(|(_, m)| m.clone()).collect();
    let lost: Vec<_> = message_ids
        .iter()
        .filter(|id| !found_messages.contains(*id))
        .collect();
    assert!(lost.is_empty(), "messages lost: {lost:?}");
    // And each one's webhook event arrived at least once.
    receiver.wait_for_events(&message_ids).await;
    drop(a);
}
