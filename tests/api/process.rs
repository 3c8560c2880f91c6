//! Tests that run the `switchboard` binary itself: durability under SIGKILL, the
//! command line, the request log, and shutdown.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

const BINARY: &str = env!("CARGO_BIN_EXE_switchboard");

pub struct Server {
    pub child: Child,
    pub base: String,
    log: PathBuf,
    /// What `serve` printed on standard output before it listened.
    banner: String,
}

impl Server {
    /// Kills the server and waits until it is gone (and its SQLite file free
    /// for the next one).
    pub async fn stop(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// What the server has written to its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Starts `switchboard serve` on port 0 and waits for its "listening" line.
pub async fn serve(db: &TestDatabase, extra: &[&str]) -> Server {
    let log = db
        .dir()
        .join(format!("serve-{}.log", uuid::Uuid::new_v4().simple()));
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        // The tests' receivers listen on 127.0.0.1.
        .arg("--allow-private-webhooks")
        .args(extra)
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start switchboard");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = String::new();
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(base) = line.strip_prefix("switchboard listening on ") {
                return base.to_owned();
            }
            banner.push_str(&line);
            banner.push('\n');
        }
        panic!(
            "switchboard exited before listening: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    };
    let base = tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("switchboard listens within 20 s");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        base,
        log,
        banner,
    }
}

/// Runs a CLI subcommand against `db`; returns (success, stdout, stderr).
pub async fn cli(db: &TestDatabase, args: &[&str]) -> (bool, String, String) {
    cli_at(&db.url, args).await
}

/// Runs a CLI subcommand against the database at `url`.
pub async fn cli_at(url: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env("SWITCHBOARD_DATABASE_URL", url)
        .output()
        .await
        .expect("run switchboard");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let response = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

#[tokio::test]
async fn every_acknowledged_thread_survives_sigkill() {
    let db = TestDatabase::new().await;
    let mut server = serve(&db, &["--rate-limit", "1000000/1s"]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let client = crate::helpers::http_client();
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (stop, client, base) = (stop.clone(), client.clone(), server.base.clone());
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let body = with_creds(PORTFOLIO, json!({"OriginalSender": format!("writer {writer}"), "Subject": format!("#{n}")}));
                match post(&client, &base, ADD, &body).await {
                    Ok((200, reply)) => acknowledged.push(reply["MessageThreads"][0]["Id"].as_str().unwrap().to_owned()),
                    Ok((status, reply)) => panic!("unexpected {status}: {reply}"),
                    Err(_) => break, // the server is gone
                }
            }
            acknowledged
        }));
    }
    // Let the writers run, then kill the server in the middle of their writes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(
        acknowledged.len() >= 50,
        "the writers got going: {}",
        acknowledged.len()
    );

    let server = serve(&db, &["--rate-limit", "1000000/1s"]).await;
    let mut found = 0;
    for chunk in acknowledged.chunks(1000) {
        let body = with_creds(
            PORTFOLIO,
            json!({"MessageThreadIds": chunk, "Limitation": {"Count": 1000}}),
        );
        let (status, reply) = post(&client, &server.base, GET_ALL, &body).await.unwrap();
        assert_eq!(status, 200);
        found += reply["MessageThreads"].as_array().unwrap().len();
    }
    assert_eq!(
        found,
        acknowledged.len(),
        "every acknowledged thread is there after SIGKILL"
    );
}

#[tokio::test]
async fn one_log_line_per_request_without_tokens() {
    let db = TestDatabase::new().await;
    let mut server = serve(&db, &["--log-format", "json"]).await;
    let client = crate::helpers::http_client();
    let response = client
        .post(format!("{}{ADD}", server.base))
        .header("content-type", "application/json")
        .body(with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"})).to_string())
        .send()
        .await
        .unwrap();
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let wrong = with_creds(
        Creds {
            client: "SECRET-CLIENT",
            access: "SECRET-ACCESS",
        },
        json!({}),
    );
    post(&client, &server.base, ADD, &wrong).await.unwrap();
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let log = std::fs::read_to_string(&server.log).unwrap();
    for secret in [
        PORTFOLIO.client,
        PORTFOLIO.access,
        "SECRET-CLIENT",
        "SECRET-ACCESS",
    ] {
        assert!(!log.contains(secret), "a token reached the log");
    }
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "switchboard::request")
        .collect();
    assert_eq!(lines.len(), 2, "one line per request: {log}");
    let line = lines
        .iter()
        .find(|l| l["request_id"] == request_id.as_str())
        .expect("line of the request");
    assert_eq!(line["method"], "POST");
    assert_eq!(line["path"], ADD);
    assert_eq!(line["status"], 200);
    assert!(line["latency_us"].is_u64());
    assert_eq!(
        line["integration_id"],
        switchboard::demo::SAMPLE_CLIENT.to_string()
    );
    assert_eq!(lines.iter().filter(|l| l["status"] == 401).count(), 1);
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let db = TestDatabase::new().await;
    let mut server = serve(&db, &[]).await;
    let pid = server.child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("exits within 10 s")
        .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn cli_issues_credentials_that_the_server_accepts_and_revokes() {
    let db = TestDatabase::made().await;
    let field = |out: &str, label: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(label))
            .unwrap_or_else(|| panic!("no {label} in {out}"))
            .trim()
            .to_owned()
    };

    let (ok, out, err) = cli(&db, &["enterprise", "add", "--name", "Hotel Sunrise"]).await;
    assert!(ok, "{err}");
    let enterprise = out.split_whitespace().nth(2).unwrap().to_owned();
    let (ok, out, _) = cli(&db, &["enterprise", "list"]).await;
    assert!(
        ok && out.contains(&enterprise) && out.contains("Hotel Sunrise"),
        "{out}"
    );

    let (ok, out, err) = cli(&db, &["integration", "add", "--name", "Chatbot"]).await;
    assert!(ok, "{err}");
    let integration = out.split_whitespace().nth(2).unwrap().to_owned();
    let client_token = field(&out, "ClientToken:");
    let (ok, out, _) = cli(&db, &["integration", "list"]).await;
    assert!(
        ok && out.contains(&integration) && !out.contains(&client_token),
        "{out}"
    );

    let (ok, out, err) = cli(
        &db,
        &[
            "token",
            "add",
            "--integration",
            &integration,
            "--enterprise",
            &enterprise,
        ],
    )
    .await;
    assert!(ok, "{err}");
    let access_token = field(&out, "AccessToken:");
    let (ok, out, _) = cli(&db, &["token", "list"]).await;
    assert!(
        ok && out.contains(&integration) && !out.contains(&access_token),
        "{out}"
    );

    // --no-demo: only what the CLI made exists.
    let server = serve(&db, &["--no-demo"]).await;
    assert!(!server.banner.contains("demo"), "{}", server.banner);
    let client = crate::helpers::http_client();
    let body = json!({"ClientToken": client_token, "AccessToken": access_token, "Client": "cli test", "OriginalSender": "A", "Subject": "B"});
    assert_eq!(
        post(&client, &server.base, ADD, &body).await.unwrap().0,
        200
    );
    let demo = with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"}));
    assert_eq!(
        post(&client, &server.base, ADD, &demo).await.unwrap().0,
        401
    );

    let (ok, _, err) = cli(&db, &["token", "revoke", &access_token]).await;
    assert!(ok, "{err}");
    assert_eq!(
        post(&client, &server.base, ADD, &body).await.unwrap().0,
        401,
        "revoked at once"
    );
    let (ok, _, err) = cli(&db, &["token", "revoke", &access_token]).await;
    assert!(!ok && err.contains("no active access token"), "{err}");
}

#[tokio::test]
async fn cli_refuses_bad_input_with_a_clear_message() {
    let db = TestDatabase::made().await;
    let (ok, _, err) = cli(
        &db,
        &[
            "token",
            "add",
            "--integration",
            "not-a-uuid",
            "--enterprise",
            "x",
        ],
    )
    .await;
    assert!(!ok && err.contains("invalid value 'not-a-uuid'"), "{err}");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (ok, _, err) = cli(
        &db,
        &[
            "token",
            "add",
            "--integration",
            &unknown,
            "--enterprise",
            &unknown,
        ],
    )
    .await;
    assert!(
        !ok && err.contains(&format!("there is no integration {unknown}")),
        "{err}"
    );
    let (ok, _, err) = cli(&db, &["enterprise", "add", "--name", "  "]).await;
    assert!(!ok && err.contains("--name"), "{err}");
    let (ok, out, _) = cli(&db, &["enterprise", "add", "--name", "A", "--id", &unknown]).await;
    assert!(ok, "{out}");
    let (ok, _, err) = cli(&db, &["enterprise", "add", "--name", "B", "--id", &unknown]).await;
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = cli(&db, &["serve", "--database", "mysql://somewhere/db"]).await;
    assert!(!ok && err.contains("unsupported database URL"), "{err}");
    let (ok, _, err) = cli(&db, &["serve", "--rate-limit", "lots"]).await;
    assert!(!ok && err.contains("N/Ss"), "{err}");
    // `webhooks retry` needs one of its two forms, and says so.
    let (ok, _, err) = cli(&db, &["webhooks", "retry"]).await;
    assert!(!ok && err.contains("<--all|ID>"), "{err}");
}

#[tokio::test]
async fn the_cli_makes_no_database_it_was_not_asked_to_and_names_the_one_it_fails_on() {
    let db = TestDatabase::sqlite();
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    for verb in [
        &["enterprise", "list"][..],
        &["integration", "add", "--name", "Bot"],
        &["webhooks", "list"],
        &["export"],
    ] {
        let (ok, _, err) = cli(&db, verb).await;
        assert!(!ok, "{verb:?} on a missing database");
        assert!(
            err.contains(&format!("database sqlite://{file}"))
                && err.contains("there is no SQLite database"),
            "{verb:?}: {err}"
        );
        assert!(
            !std::path::Path::new(&file).exists(),
            "{verb:?} made a database"
        );
    }
    // Once `serve` (here: the store) has made it, the same verbs work.
    switchboard::store::open(&db.url).await.unwrap();
    let (ok, _, err) = cli(&db, &["enterprise", "list"]).await;
    assert!(ok, "{err}");
    // A PostgreSQL URL's password never shows in the message.
    let (ok, _, err) = cli_at(
        "postgres://someone:s3cret-pw@127.0.0.1:1/nowhere",
        &["enterprise", "list"],
    )
    .await;
    assert!(!ok && err.contains("database postgres://"), "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");
}

#[tokio::test]
async fn the_text_log_has_no_colour_codes_in_a_file() {
    let db = TestDatabase::new().await;
    let mut server = serve(&db, &[]).await;
    post(&http_client(), &server.base, ADD, &json!({}))
        .await
        .unwrap();
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("request"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log file: {log:?}"
    );
}

#[tokio::test]
async fn the_database_password_never_reaches_the_log() {
    if !on_postgres() {
        eprintln!("skipped: only a PostgreSQL URL has a password (the PostgreSQL run checks it)");
        return;
    }
    let mut db = TestDatabase::new().await;
    // The test server trusts local connections, so any password is let in.
    let mut url = reqwest::Url::parse(&db.url).unwrap();
    url.set_password(Some("pa55-in-the-url")).unwrap();
    db.url = url.to_string();
    let mut server = serve(&db, &[]).await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("store ready"), "{log}");
    assert!(!log.contains("pa55-in-the-url"), "{log}");
}

#[tokio::test]
async fn demo_tenant_is_created_once_and_announced() {
    let db = TestDatabase::new().await;
    let mut first = serve(&db, &[]).await;
    assert!(
        first
            .banner
            .contains(switchboard::demo::PORTFOLIO_ACCESS_TOKEN),
        "{}",
        first.banner
    );
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    let second = serve(&db, &[]).await;
    assert!(
        !second.banner.contains("demo tenant"),
        "no second seed: {}",
        second.banner
    );
    let (ok, out, _) = cli(&db, &["enterprise", "list"]).await;
    assert!(ok);
    assert_eq!(out.matches("Demo Hotel").count(), 2, "{out}");
}

#[tokio::test]
async fn a_generated_operator_token_is_printed_once_and_works() {
    let db = TestDatabase::new().await;
    let mut server = serve(&db, &[]).await;
    let token = server
        .banner
        .lines()
        .find_map(|l| l.split_once("Operator token").map(|(_, rest)| rest))
        .and_then(|rest| rest.rsplit(' ').next())
        .expect("the operator token is printed")
        .to_owned();
    let client = crate::helpers::http_client();
    let list = |token: String| {
        client
            .post(format!("{}{STAFF_THREADS_GET_ALL}", server.base))
            .header("content-type", "application/json")
            .bearer_auth(token)
            .body(json!({"Limitation": {"Count": 1}}).to_string())
            .send()
    };
    assert_eq!(list(token.clone()).await.unwrap().status(), 200);
    assert_eq!(list("wrong".into()).await.unwrap().status(), 401);
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains(&token), "the operator token is not logged");

    // Given by the environment, it is used and not printed.
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        .env("SWITCHBOARD_OPERATOR_TOKEN", "chosen-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        printed.push_str(&line);
        if let Some(base) = line.strip_prefix("switchboard listening on ") {
            let reply = client
                .post(format!("{base}{STAFF_THREADS_GET_ALL}"))
                .header("content-type", "application/json")
                .bearer_auth("chosen-token")
                .body(json!({"Limitation": {"Count": 1}}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200);
            break;
        }
    }
    assert!(
        !printed.contains("chosen-token") && !printed.contains("Operator token"),
        "{printed}"
    );
}

/// Adds `batches` batches of `size` messages to `thread`, through the nodes at
/// `bases` in turn; returns the message ids in order.
pub async fn add_batches(
    client: &reqwest::Client,
    bases: &[&str],
    thread: &Value,
    batches: usize,
    size: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for batch in 0..batches {
        let items: Vec<Value> = (0..size)
            .map(|i| json!({"MessageThreadId": thread, "Text": format!("{batch}.{i}")}))
            .collect();
        let body = with_creds(PORTFOLIO, json!({ "Messages": items }));
        let (status, added) = post(client, bases[batch % bases.len()], MESSAGES_ADD, &body)
            .await
            .unwrap();
        assert_eq!(status, 200, "{added}");
        ids.extend(added_ids(&added));
    }
    ids
}

/// The `sh` blocks of the README section headed `heading`, but for those that
/// start the server (`readme.rs` checks them).
fn readme_blocks(heading: &str) -> Vec<String> {
    crate::readme::readme_section_blocks(heading)
        .into_iter()
        .filter(|block| !block.starts_with("cargo "))
        .collect()
}

async fn run_shell(script: &str, base: &str) -> String {
    let script = script.replace("http://127.0.0.1:8080", base);
    let output = Command::new("bash")
        .args(["-euc", &script])
        .output()
        .await
        .expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{script}\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_readme_examples_work_as_printed() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--operator-token", "staff-secret"]).await;

    let try_it = readme_blocks("## Try it");
    assert_eq!(
        try_it.len(),
        3,
        "add, getAll as in the reference, getAll of the last seven days"
    );
    let added: Value = serde_json::from_str(&run_shell(&try_it[0], &server.base).await).unwrap();
    let thread = added["MessageThreads"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let old: Value = serde_json::from_str(&run_shell(&try_it[1], &server.base).await).unwrap();
    assert_eq!(old, json!({"MessageThreads": [], "Cursor": null}));
    // Seven back-to-back days: the new thread is in exactly one of them.
    let windows: Vec<Value> = run_shell(&try_it[2], &server.base)
        .await
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(windows.len(), 7, "{windows:?}");
    let found: Vec<String> = windows
        .iter()
        .flat_map(|window| ids(&window["MessageThreads"]))
        .collect();
    assert_eq!(found, vec![thread.clone()], "{windows:?}");

    let conversation = readme_blocks("## A whole conversation");
    assert_eq!(conversation.len(), 1);
    let out = run_shell(&conversation[0], &server.base).await;
    assert!(out.contains(r#""Discriminator":"Enterprise""#), "{out}");
    assert!(out.contains(r#""IsResolved":true"#), "{out}");
    let last = out.rsplit(r#""IsResolved":"#).next().unwrap();
    assert!(last.starts_with("false"), "the thread is open again: {out}");
}

#[tokio::test]
async fn webhook_events_survive_sigkill_and_arrive_after_a_restart() {
    let db = TestDatabase::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flags = [
        "--rate-limit",
        "100000/1s",
        "--webhook-retry-base",
        "100ms",
        "--webhook-attempts",
        "30",
    ];
    let mut server = serve(&db, &flags).await;
    let (ok, _, err) = cli(
        &db,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &switchboard::demo::SAMPLE_CLIENT.to_string(),
            "--url",
            &format!("http://127.0.0.1:{port}/hook?k=v"),
        ],
    )
    .await;
    assert!(ok, "{err}");

    // The receiver is down while the messages are written.
    let client = crate::helpers::http_client();
    let body = with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"}));
    let (_, thread) = post(&client, &server.base, ADD, &body).await.unwrap();
    let thread = thread["MessageThreads"][0]["Id"].clone();
    let ids = add_batches(&client, &[&server.base], &thread, 5, 7).await;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();

    let receiver = crate::receiver::Receiver::start_on(&format!("127.0.0.1:{port}")).await;
    let _server = serve(&db, &flags).await;
    let received = receiver.wait_for_events(&ids).await;
    assert!(received.iter().all(|r| r.query.as_deref() == Some("k=v")));
}

#[tokio::test]
async fn the_readme_testing_section_works_as_printed() {
    let db = TestDatabase::new().await;
    let server = serve(
        &db,
        &[
            "--clock",
            "manual",
            "--clock-start",
            "2026-03-10T12:00:00Z",
            "--operator-token",
            "staff-secret",
        ],
    )
    .await;
    let blocks = readme_blocks("## Testing your integration against switchboard");
    assert_eq!(blocks.len(), 2, "the clock, and faults; besides the start");
    let out = run_shell(&blocks[0], &server.base).await;
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        answers,
        vec![
            json!({"NowUtc": "2026-03-10T12:00:00Z", "Mode": "Manual"}),
            json!({"NowUtc": "2026-03-10T13:00:00Z", "Mode": "Manual"}),
            json!({"NowUtc": "2026-06-10T12:00:00Z", "Mode": "Manual"}),
            json!({"MessageThreads": 0, "Messages": 0, "WebhookDeliveries": 0}),
        ]
    );

    let out = run_shell(&blocks[1], &server.base).await;
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let [too_many, lost, answer, requests, deliveries, deleted] = answers.as_slice() else {
        panic!("six answers: {out}");
    };
    assert_eq!(too_many["Faults"][0]["RetryAfterSeconds"], 5);
    assert_eq!(lost["Faults"][0]["Stage"], "After");
    assert!(
        answer["RequestId"].is_string(),
        "the 504's error body: {answer}"
    );
    let logged = &requests["Requests"][0];
    assert_eq!(
        (&logged["Operation"], &logged["Status"], &logged["FaultId"]),
        (
            &json!("messageThreads/add"),
            &json!(504),
            &lost["Faults"][0]["Id"]
        )
    );
    assert_eq!(logged["Request"]["AccessToken"], "***");
    assert_eq!(logged["Response"], *answer, "the answer the client got");
    assert_eq!(
        deliveries,
        &json!({"WebhookDeliveries": [], "Cursor": null})
    );
    assert_eq!(deleted, &json!({"Deleted": 2}));
}

/// SPEC §12: one server per SQLite file. A second refuses to start, naming
/// the file, and leaves the first serving; the command line still works
/// beside the server.
#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let db = TestDatabase::sqlite();
    let first = serve(&db, &[]).await;
    let (ok, _, err) = cli(&db, &["serve", "--listen", "127.0.0.1:0"]).await;
    let file = db.url.strip_prefix("sqlite://").unwrap();
    assert!(!ok, "a second server started");
    assert!(
        err.contains(&format!(
            "another switchboard serves the SQLite database {file}"
        )),
        "{err}"
    );
    let (ok, out, err) = cli(&db, &["enterprise", "list"]).await;
    assert!(ok && out.contains("Demo Hotel"), "{err}");
    assert_eq!(
        http_client()
            .get(format!("{}/readyz", first.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Once the first is gone, the file is free.
    first.stop().await;
    serve(&db, &[]).await;
}

/// Start-up checks the flags, then the address, then the database, before
/// it makes anything: a refused start leaves no database file behind.
#[tokio::test]
async fn a_refused_start_makes_nothing_and_says_what_to_fix() {
    let db = TestDatabase::sqlite();
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let (ok, out, err) = cli(&db, &["serve", "--operator-token", "  "]).await;
    assert!(!ok && err.contains("--operator-token"), "{err}");
    assert!(
        !out.contains("demo tenant") && !out.contains("Access"),
        "{out}"
    );
    assert!(!std::path::Path::new(&file).exists(), "no database made");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (ok, _, err) = cli(&db, &["serve", "--listen", &address]).await;
    assert!(
        !ok && err.contains(&format!("cannot listen on {address}")) && err.contains("--listen"),
        "{err}"
    );
    assert!(!std::path::Path::new(&file).exists(), "no database made");
}
