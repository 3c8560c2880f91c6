//! SPEC §16.3: export and import. A file moves a database between backends
//! unchanged (exporting the import gives the same bytes), a refused file
//! writes nothing, and the same tokens work after the move.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;
use switchboard::demo;
use switchboard::domain::fault::{Fault, Stage, WebhookFault};
use switchboard::domain::message::{Message, Sender};
use switchboard::domain::scope::Visibility;
use switchboard::domain::thread::Thread;
use switchboard::domain::time::Timestamp;
use switchboard::store::export::{
    self, AccessTokenRecord, AttemptRecord, ClockRecord, DeliveryRecord, DeliveryState, Digest,
    EndRecord, EnterpriseRecord, EventRecord, FaultRecord, ImportError, IntegrationRecord,
    MessageRecord, Record, Secret, SenderName, ThreadRecord,
};
use switchboard::store::{Attempt, Backend, Claim, DeliveryOutcome, MessageBatch, Store, TokenRef};
use uuid::Uuid;

use crate::helpers::*;
use crate::process;

/// 2026-02-01T00:00:00Z: the content's times, inside [`everything`].
const T: i64 = 1_769_904_000;

async fn export_of(db: &TestDatabase) -> Vec<u8> {
    let backend = Backend::open(&db.url).await.expect("open");
    let (file, _) = export::export(&backend, Vec::new()).await.expect("export");
    file
}

async fn import_into(db: &TestDatabase, file: &[u8]) -> Result<u64, ImportError> {
    let backend = Backend::open(&db.url).await.expect("open");
    export::import(&backend, std::io::Cursor::new(file.to_vec())).await
}

/// An empty database of each backend the machine has: SQLite, and PostgreSQL
/// when `SWITCHBOARD_TEST_POSTGRES_URL` names a server.
async fn empty_databases() -> Vec<TestDatabase> {
    let mut all = vec![TestDatabase::sqlite()];
    all.extend(TestDatabase::postgres().await);
    all
}

fn lines(file: &[u8]) -> Vec<&str> {
    std::str::from_utf8(file).expect("UTF-8").lines().collect()
}

fn thread(enterprise: Uuid, created: i64, subject: &str) -> Thread {
    Thread {
        id: Uuid::new_v4(),
        integration_id: demo::SAMPLE_CLIENT,
        enterprise_id: enterprise,
        original_sender: "Guest".to_owned(),
        subject: subject.to_owned(),
        created: Timestamp::from_unix(created),
        updated: Timestamp::from_unix(created),
        is_resolved: false,
    }
}

async fn add_message(store: &Arc<dyn Store>, thread: Uuid, sender: Sender, at: i64, text: &str) {
    store
        .add_messages(MessageBatch {
            visibility: Visibility::staff(),
            messages: vec![Message {
                id: Uuid::new_v4(),
                thread_id: thread,
                text: text.to_owned(),
                sender,
                created: Timestamp::from_unix(at),
            }],
            at_ms: at * 1000,
            author: None,
        })
        .await
        .unwrap();
}

/// The demo tenant with everything a database can hold: a manual clock,
/// threads sharing a second, messages both ways, a revoked token, webhook
/// events waiting, one delivery failed and one waiting to be retried.
async fn populated() -> TestDatabase {
    let db = TestDatabase::new().await;
    let store = switchboard::store::open(&db.url).await.unwrap();
    demo::seed(store.as_ref(), Timestamp::from_unix(T))
        .await
        .unwrap();
    store.start_clock(1_769_904_500_000).await.unwrap();
    store
        .add_fault(Fault {
            id: Uuid::new_v4(),
            operation: switchboard::domain::fault::Target::One(
                switchboard::operations::Operation::MessagesAdd,
            ),
            integration_id: Some(demo::SAMPLE_CLIENT),
            status: Some(429),
            message: Some("Slow down".to_owned()),
            retry_after_seconds: Some(3),
            delay_ms: 0,
            probability: 0.3,
            times: Some(4),
            remaining: Some(2),
            stage: Stage::Before,
            created_ms: 1_769_904_000_001,
            connection: None,
            matches: Some(switchboard::domain::fault::Match {
                message_thread_id: Uuid::from_u128(77),
            }),
            webhook: None,
            delay_seconds: None,
        })
        .await
        .unwrap();
    store
        .add_fault(Fault {
            id: Uuid::from_u128(78),
            operation: switchboard::domain::fault::Target::Webhook,
            integration_id: Some(demo::SAMPLE_CLIENT),
            status: None,
            message: None,
            retry_after_seconds: None,
            delay_ms: 0,
            probability: 1.0,
            times: Some(2),
            remaining: Some(2),
            stage: Stage::Before,
            created_ms: 1_769_904_000_002,
            connection: None,
            matches: None,
            webhook: Some(switchboard::domain::fault::WebhookFault::Delay),
            delay_seconds: Some(90),
        })
        .await
        .unwrap();
    // Signed, with a secret before a rotation still signing, and paused.
    store
        .set_signing(demo::SAMPLE_CLIENT, Some(vec![1; 32]), 0)
        .await
        .unwrap();
    store
        .set_signing(demo::SAMPLE_CLIENT, Some(vec![2; 32]), 1_769_990_000_000)
        .await
        .unwrap();
    store
        .set_webhooks_paused(demo::TEST_CLIENT_2, true)
        .await
        .unwrap();
    store
        .set_webhook_url(
            demo::SAMPLE_CLIENT,
            Some("http://127.0.0.1:9/hook?secret=s3cr3t".to_owned()),
        )
        .await
        .unwrap();
    let mut threads = Vec::new();
    for (i, enterprise) in [demo::GROSS, demo::NET, demo::GROSS]
        .into_iter()
        .enumerate()
    {
        let t = store
            .add_thread(thread(
                enterprise,
                1_769_904_100,
                &format!("Room {i} — ünïcode \"quoted\""),
            ))
            .await
            .unwrap();
        threads.push(t.id);
    }
    add_message(
        &store,
        threads[0],
        Sender::Application,
        1_769_904_101,
        "Hi\nthere",
    )
    .await;
    add_message(
        &store,
        threads[0],
        Sender::Enterprise,
        1_769_904_102,
        "Welcome 🛎",
    )
    .await;
    add_message(
        &store,
        threads[1],
        Sender::Application,
        1_769_904_103,
        "Towels?",
    )
    .await;
    // A staff member, a reply of theirs, and a resolve by them.
    let anna = switchboard::domain::staff::StaffMember {
        id: Uuid::from_u128(99),
        name: "Anna Novak".to_owned(),
        login: "anna".to_owned(),
        role: switchboard::domain::staff::Role::Agent,
        scope: switchboard::domain::staff::Scope::Enterprises(vec![demo::GROSS]),
        disabled: false,
        must_change_password: false,
        created_ms: 1_769_904_000_003,
        sessions_from_ms: 1_769_904_000_004,
    };
    store
        .add_staff(
            anna.clone(),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".to_owned(),
        )
        .await
        .unwrap();
    let by_anna = switchboard::domain::staff::Actor {
        member: Some(anna.id),
        name: anna.name.clone(),
    };
    store
        .add_messages(MessageBatch {
            visibility: Visibility::staff(),
            messages: vec![Message {
                id: Uuid::from_u128(100),
                thread_id: threads[1],
                text: "On their way".to_owned(),
                sender: Sender::Enterprise,
                created: Timestamp::from_unix(1_769_904_104),
            }],
            at_ms: 1_769_904_104_000,
            author: Some(by_anna.clone()),
        })
        .await
        .unwrap();
    store
        .set_resolved(
            threads[1],
            true,
            Timestamp::from_unix(1_769_904_105),
            by_anna.clone(),
        )
        .await
        .unwrap();
    // An assignment to her, one to nobody after one to the Operator, and an
    // internal note (SPEC 15.2): the assignees come back from the history.
    store
        .assign(
            threads[1],
            Some((anna.id, anna.name.clone())),
            Timestamp::from_unix(1_769_904_106),
            by_anna.clone(),
        )
        .await
        .unwrap();
    store
        .assign(
            threads[0],
            Some((Uuid::nil(), "Operator".to_owned())),
            Timestamp::from_unix(1_769_904_106),
            switchboard::domain::staff::Actor::operator(),
        )
        .await
        .unwrap();
    store
        .assign(
            threads[0],
            None,
            Timestamp::from_unix(1_769_904_107),
            switchboard::domain::staff::Actor::operator(),
        )
        .await
        .unwrap();
    for (id, name, enterprise) in [(1, "towels", None), (2, "Spa", Some(demo::GROSS))] {
        store
            .add_canned_reply(switchboard::store::staff::CannedReply {
                id: Uuid::from_u128(200 + id),
                name: name.to_owned(),
                enterprise_id: enterprise,
                text: "Dear {guest}, {hotel} — \"{agent}\"".to_owned(),
                created_ms: 1_769_904_000_010 + id as i64,
            })
            .await
            .unwrap();
    }
    store
        .add_note(
            threads[1],
            "VIP: \"quoted\" — call before noon".to_owned(),
            Timestamp::from_unix(1_769_904_108),
            by_anna,
        )
        .await
        .unwrap();
    let claim = |now_ms| Claim {
        now_ms,
        lease_now_ms: now_ms,
        lease_ms: 10_000,
        batch_size: 10,
        max: 64,
        in_flight: HashMap::new(),
        per_receiver: 4,
    };
    let claimed = store
        .claim_deliveries(claim(1_769_904_200_000))
        .await
        .unwrap();
    assert_eq!(claimed.deliveries.len(), 2, "one delivery per enterprise");
    store
        .finish_delivery(
            claimed.deliveries[0].id,
            DeliveryOutcome::Failed {
                error: "the receiver answered 500".to_owned(),
            },
            Attempt {
                started_ms: 1_769_904_200_500,
                duration_ms: 500,
                status: Some(500),
                error: None,
                response: Some("{\"error\": \"down\"}".to_owned()),
                body: Some("{\"EnterpriseId\":\"x\",\"Events\":[]}".to_owned()),
            },
        )
        .await
        .unwrap();
    store
        .finish_delivery(
            claimed.deliveries[1].id,
            DeliveryOutcome::Retry {
                next_attempt_ms: 1_769_904_260_000,
                error: "connection refused".to_owned(),
            },
            Attempt {
                started_ms: 1_769_904_201_000,
                duration_ms: 1000,
                status: None,
                error: Some("Connect".to_owned()),
                response: None,
                body: None,
            },
        )
        .await
        .unwrap();
    // An event not yet in any delivery.
    add_message(
        &store,
        threads[2],
        Sender::Application,
        1_769_904_300,
        "Late",
    )
    .await;
    store
        .revoke_access_token(
            TokenRef::Secret(switchboard::tokens::TokenHash::of(demo::NET_ACCESS_TOKEN)),
            Timestamp::from_unix(1_769_904_400),
        )
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn a_database_moves_between_backends_and_exports_the_same_file() {
    let source = populated().await;
    let original = export_of(&source).await;
    let text = lines(&original);
    assert_eq!(text[0], r#"{"Format":"switchboard-export","Version":5}"#);
    let kinds: Vec<&str> = text[1..]
        .iter()
        .map(|l| l.split('"').nth(1).unwrap())
        .collect();
    for kind in [
        "Clock",
        "Enterprise",
        "Integration",
        "AccessToken",
        "Fault",
        "Thread",
        "Message",
        "WebhookDelivery",
        "WebhookAttempt",
        "WebhookEvent",
        "StaffMember",
        "MessageAuthor",
        "ThreadActivity",
        "CannedReply",
        "End",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(text.last().unwrap().starts_with(r#"{"End":{"Records":"#));
    assert!(
        text.iter().any(|l| l.contains(r#""Revoked":1769904400"#)),
        "the revoked token keeps its revocation"
    );
    assert!(
        text.iter().any(|l| l.contains(r#""State":"Failed""#))
            && text.iter().any(|l| l.contains(r#""State":"Pending""#)),
        "failed and pending deliveries"
    );

    // Through every backend there is, and back to SQLite: the same bytes.
    let mut file = original.clone();
    let mut path = vec![source.url.clone()];
    for target in empty_databases()
        .await
        .into_iter()
        .chain([TestDatabase::sqlite()])
    {
        let records = import_into(&target, &file).await.expect("import");
        assert_eq!(
            records as usize,
            text.len() - 2,
            "every record but the header and End"
        );
        file = export_of(&target).await;
        path.push(target.url.clone());
        // What the inbox derives from the messages comes back with them.
        let count = |db: &TestDatabase| {
            let url = db.url.clone();
            async move {
                let store = switchboard::store::open(&url).await.unwrap();
                store.awaiting_count(None).await.unwrap()
            }
        };
        assert_eq!(
            count(&target).await,
            count(&source).await,
            "awaiting a reply"
        );
        assert!(
            file == original,
            "export after {} differs:\n{}\n---\n{}",
            path.join(" -> "),
            String::from_utf8_lossy(&original),
            String::from_utf8_lossy(&file)
        );
    }
}

#[tokio::test]
async fn the_same_tokens_work_after_the_move() {
    let source = populated().await;
    let file = export_of(&source).await;
    for target in empty_databases().await {
        import_into(&target, &file).await.expect("import");
        let server = process::serve(
            &target,
            &["--clock", "manual", "--operator-token", OPERATOR_TOKEN],
        )
        .await;
        let client = http_client();
        let get_all = async |creds: Creds| {
            let body = with_creds(
                creds,
                json!({"Limitation": {"Count": 100}, "UpdatedUtc": everything()}),
            );
            process::post(&client, &server.base, GET_ALL, &body)
                .await
                .unwrap()
        };
        let (status, answer) = get_all(PORTFOLIO).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["MessageThreads"].as_array().unwrap().len(), 3);
        let (status, answer) = get_all(NET_ONLY).await;
        assert_eq!(status, 401, "the revoked token stays revoked: {answer}");
        let clock: serde_json::Value = client
            .post(format!("{}/api/operator/v1/clock/get", server.base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            clock,
            json!({"NowUtc": "2026-02-01T00:08:20Z", "Mode": "Manual"}),
            "the manual clock moved with the data"
        );
    }
}

/// `file` with line `n` (1-based) replaced by `text`.
fn with_line(file: &[u8], n: usize, text: &str) -> Vec<u8> {
    let mut all: Vec<String> = lines(file).iter().map(|l| (*l).to_owned()).collect();
    all[n - 1] = text.to_owned();
    (all.join("\n") + "\n").into_bytes()
}

/// The 1-based number of the first line that starts with `prefix`.
fn line_of(file: &[u8], prefix: &str) -> usize {
    lines(file)
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix}"))
        + 1
}

/// Line `n` as JSON, changed by `change`.
fn edited(file: &[u8], n: usize, change: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value: serde_json::Value = serde_json::from_str(lines(file)[n - 1]).unwrap();
    change(&mut value);
    value.to_string()
}

#[tokio::test]
async fn a_refused_file_names_its_line_and_writes_nothing() {
    let source = populated().await;
    let good = export_of(&source).await;
    let count = lines(&good).len();
    let end = count;
    let first_thread = line_of(&good, r#"{"Thread""#);
    let first_message = line_of(&good, r#"{"Message""#);
    let first_event = line_of(&good, r#"{"WebhookEvent""#);

    let dangling = edited(&good, first_message, |v| {
        v["Message"]["ThreadId"] = json!(Uuid::new_v4())
    });
    let dangling_event = edited(&good, first_event, |v| {
        v["WebhookEvent"]["MessageId"] = json!(Uuid::new_v4())
    });
    let repeated = {
        let mut all: Vec<&str> = lines(&good);
        all.insert(first_thread, all[first_thread - 1]);
        let mut file = all.join("\n") + "\n";
        file = file.replace(
            &format!(r#"{{"End":{{"Records":{}}}}}"#, count - 2),
            &format!(r#"{{"End":{{"Records":{}}}}}"#, count - 1),
        );
        file.into_bytes()
    };
    let bad: Vec<(&str, Vec<u8>, usize, &str)> = vec![
        ("empty", Vec::new(), 1, "no header"),
        (
            "not an export",
            with_line(&good, 1, r#"{"Format":"csv","Version":1}"#),
            1,
            "not a switchboard export",
        ),
        (
            "unknown version",
            with_line(&good, 1, r#"{"Format":"switchboard-export","Version":6}"#),
            1,
            "version 6",
        ),
        (
            "cut inside a line",
            good[..good.len() - 5].to_vec(),
            end,
            "not a valid record",
        ),
        (
            "cut at a line's end",
            (lines(&good)[..count - 1].join("\n") + "\n").into_bytes(),
            end,
            "cut short",
        ),
        (
            "a bad line in the middle",
            with_line(&good, first_message, r#"{"Message":{"Id":"not an id"}}"#),
            first_message,
            "not a valid record",
        ),
        (
            "an unknown kind",
            with_line(&good, first_thread, r#"{"Guest":{}}"#),
            first_thread,
            "unknown variant",
        ),
        (
            "a kind out of order",
            with_line(&good, first_message, lines(&good)[2]),
            first_message,
            "cannot come after",
        ),
        (
            "a message of no thread",
            with_line(&good, first_message, &dangling),
            first_message,
            "no earlier line holds",
        ),
        (
            "an event of no message",
            with_line(&good, first_event, &dangling_event),
            first_event,
            "no earlier line holds",
        ),
        (
            "a repeated thread",
            repeated,
            first_thread + 1,
            "repeats an id",
        ),
        (
            "a wrong count",
            with_line(&good, end, r#"{"End":{"Records":1}}"#),
            end,
            "counts 1 records",
        ),
        (
            "a line after the end",
            [good.clone(), b"{}\n".to_vec()].concat(),
            end + 1,
            "nothing may follow",
        ),
    ];
    for target in empty_databases().await {
        for (case, file, line, reason) in &bad {
            match import_into(&target, file).await {
                Err(ImportError::Line {
                    line: at,
                    reason: why,
                }) => {
                    assert_eq!(
                        (at, why.contains(reason)),
                        (*line as u64, true),
                        "{case} on {}: refused at line {at}: {why}",
                        target.url
                    );
                }
                other => panic!("{case} on {}: {other:?}", target.url),
            }
            assert_eq!(
                lines(&export_of(&target).await),
                vec![
                    r#"{"Format":"switchboard-export","Version":5}"#,
                    r#"{"End":{"Records":0}}"#
                ],
                "{case}: nothing was written"
            );
        }
        // Still empty: the whole file goes in, once.
        import_into(&target, &good).await.expect("the good file");
        assert!(
            matches!(
                import_into(&target, &good).await,
                Err(ImportError::NotEmpty)
            ),
            "a database that holds anything is refused"
        );
        assert_eq!(export_of(&target).await, good);
    }
}

#[tokio::test]
async fn the_command_line_exports_to_a_private_file_and_imports_from_standard_input() {
    let source = populated().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.jsonl");
    let path_text = path.to_str().unwrap();
    let (ok, _, err) = process::cli(&source, &["export", "--output", path_text]).await;
    assert!(ok, "{err}");
    assert!(err.contains("Exported"), "{err}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "only its owner reads the file: it holds every message"
    );
    let file = std::fs::read(&path).unwrap();
    assert_eq!(file, export_of(&source).await);

    let target = TestDatabase::sqlite();
    let run = |args: &[&str], input: Vec<u8>| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .env("SWITCHBOARD_DATABASE_URL", &target.url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
        child.wait_with_output().unwrap()
    };
    let cut = file[..file.len() / 2].to_vec();
    let refused = run(&["import"], cut);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("nothing was imported: line "),
        "the refusal names the line: {said}"
    );
    let imported = run(&["import", "--input", "-"], file.clone());
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let records = lines(&file).len() - 2;
    assert_eq!(
        String::from_utf8_lossy(&imported.stdout),
        format!("Imported {records} records.\n")
    );
    let exported = run(&["export"], Vec::new());
    assert_eq!(exported.stdout, file, "export writes to standard output");
    let dashed = run(&["export", "--output", "-"], Vec::new());
    assert_eq!(dashed.stdout, file, "`-` is standard output too");
}

// The random fields of each kind of record; `usize`s pick among the records
// they refer to (modulo their number), digests end in the `[u8; 16]`.
type IntegrationFields = (String, i64, Option<String>, [u8; 16]);
type TokenFields = (usize, i64, Option<i64>, Vec<usize>, [u8; 16]);
type FaultFields = (
    u8,
    bool,
    Option<u16>,
    Option<String>,
    (u32, u32),
    f64,
    Option<(u32, u32)>,
    bool,
    i64,
);
type AttemptFields = (
    usize,
    (i64, i64),
    Option<u16>,
    Option<String>,
    Option<String>,
);
type ThreadFields = (usize, usize, String, String, (i64, i64), bool);
type DeliveryFields = (
    usize,
    usize,
    u8,
    u32,
    i64,
    Option<i64>,
    Option<String>,
    (i64, Option<i64>),
);

/// A random database, as the records of its export file.
#[derive(Debug, Clone)]
struct Shape {
    salt: u64,
    clock: Option<i64>,
    enterprises: Vec<(String, i64)>,
    integrations: Vec<IntegrationFields>,
    tokens: Vec<TokenFields>,
    faults: Vec<FaultFields>,
    threads: Vec<ThreadFields>,
    messages: Vec<(usize, String, bool, i64)>,
    deliveries: Vec<DeliveryFields>,
    attempts: Vec<AttemptFields>,
    events: Vec<(usize, usize, i64, Option<usize>)>,
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{0,{max}}}")).unwrap()
}

fn shape() -> impl Strategy<Value = Shape> {
    let n = usize::MAX / 2;
    (
        any::<u64>(),
        proptest::option::of(any::<i64>()),
        prop::collection::vec((text(12), any::<i64>()), 1..4),
        prop::collection::vec(
            (
                text(12),
                any::<i64>(),
                proptest::option::of("https?://[a-z]{1,8}\\.example/[a-z?=&]{0,12}"),
                any::<[u8; 16]>(),
            ),
            1..3,
        ),
        prop::collection::vec(
            (
                0..n,
                any::<i64>(),
                proptest::option::of(any::<i64>()),
                prop::collection::vec(0..n, 1..3),
                any::<[u8; 16]>(),
            ),
            0..4,
        ),
        prop::collection::vec(
            (
                0u8..5,
                any::<bool>(),
                proptest::option::of(400u16..600),
                proptest::option::of(text(20)),
                (0..=30_000u32, 1..=86_400u32),
                prop_oneof![Just(1.0), 0.000_001f64..1.0],
                proptest::option::of((1..=i32::MAX as u32, 0..=i32::MAX as u32)),
                any::<bool>(),
                any::<i64>(),
            ),
            0..3,
        ),
        prop::collection::vec(
            (
                0..n,
                0..n,
                text(10),
                text(30),
                any::<(i64, i64)>(),
                any::<bool>(),
            ),
            0..8,
        ),
        prop::collection::vec((0..n, text(60), any::<bool>(), any::<i64>()), 0..12),
        prop::collection::vec(
            (
                0..n,
                0..n,
                0u8..3,
                0..=i32::MAX as u32,
                any::<i64>(),
                proptest::option::of(any::<i64>()),
                proptest::option::of(text(20)),
                any::<(i64, Option<i64>)>(),
            ),
            0..4,
        ),
        prop::collection::vec(
            (
                0..n,
                any::<(i64, i64)>(),
                proptest::option::of(100u16..600),
                proptest::option::of(text(10)),
                proptest::option::of(text(40)),
            ),
            0..6,
        ),
        prop::collection::vec((0..n, 0..n, any::<i64>(), proptest::option::of(0..n)), 0..8),
    )
        .prop_map(
            |(
                salt,
                clock,
                enterprises,
                integrations,
                tokens,
                faults,
                threads,
                messages,
                deliveries,
                attempts,
                events,
            )| {
                Shape {
                    salt,
                    clock,
                    enterprises,
                    integrations,
                    tokens,
                    faults,
                    threads,
                    messages,
                    deliveries,
                    attempts,
                    events,
                }
            },
        )
}

/// Records of a kind the file keeps in id order.
fn sorted(records: &mut Vec<Record>, mut kind: Vec<(Uuid, Record)>) {
    kind.sort_by_key(|(id, _)| *id);
    records.extend(kind.into_iter().map(|(_, r)| r));
}

impl Shape {
    /// The `index`th id of a `kind`: unique by construction.
    fn id(&self, kind: u32, index: usize) -> Uuid {
        Uuid::from_u128((u128::from(self.salt) << 64) | (u128::from(kind) << 32) | index as u128)
    }

    fn digest(id: Uuid, rest: [u8; 16]) -> Digest {
        let mut bytes = [0; 32];
        bytes[..16].copy_from_slice(id.as_bytes());
        bytes[16..].copy_from_slice(&rest);
        Digest(bytes)
    }

    /// The export file of this database, as switchboard writes it.
    fn file(&self) -> Vec<u8> {
        let enterprise = |i: usize| self.id(1, i % self.enterprises.len());
        let integration = |i: usize| self.id(2, i % self.integrations.len());
        let mut records = Vec::new();
        records.extend(
            self.clock
                .map(|now_ms| Record::Clock(ClockRecord { now_ms })),
        );
        sorted(
            &mut records,
            self.enterprises
                .iter()
                .enumerate()
                .map(|(i, (name, created))| {
                    let id = self.id(1, i);
                    let record = EnterpriseRecord {
                        id,
                        name: name.clone(),
                        created: *created,
                    };
                    (id, Record::Enterprise(record))
                })
                .collect(),
        );
        sorted(
            &mut records,
            self.integrations
                .iter()
                .enumerate()
                .map(|(i, (name, created, url, rest))| {
                    let id = self.id(2, i);
                    let record = IntegrationRecord {
                        id,
                        name: name.clone(),
                        client_token_digest: Self::digest(id, *rest),
                        created: *created,
                        webhook_url: url.clone(),
                        webhooks_paused: rest[0] % 2 == 1,
                        signing_secret: (rest[1] % 3 != 0).then(|| Secret(rest.to_vec())),
                        previous_secret: (rest[1] % 3 == 1).then(|| Secret(vec![rest[2]; 32])),
                        previous_until_ms: (rest[1] % 3 == 1)
                            .then(|| created.wrapping_mul(1000).wrapping_add(i64::from(rest[3]))),
                    };
                    (id, Record::Integration(record))
                })
                .collect(),
        );
        sorted(
            &mut records,
            self.tokens
                .iter()
                .enumerate()
                .map(|(i, (of, created, revoked, reaches, rest))| {
                    let id = self.id(3, i);
                    let mut enterprise_ids: Vec<Uuid> = Vec::new();
                    for e in reaches.iter().map(|&e| enterprise(e)) {
                        if !enterprise_ids.contains(&e) {
                            enterprise_ids.push(e);
                        }
                    }
                    let record = AccessTokenRecord {
                        id,
                        integration_id: integration(*of),
                        token_digest: Self::digest(id, *rest),
                        created: *created,
                        revoked: *revoked,
                        enterprise_ids,
                    };
                    (id, Record::AccessToken(record))
                })
                .collect(),
        );
        for (i, fault) in self.faults.iter().enumerate() {
            let (
                operation,
                scoped,
                status,
                message,
                (delay_ms, retry),
                probability,
                times,
                after,
                created_ms,
            ) = fault;
            records.push(Record::Fault(FaultRecord {
                id: self.id(9, i),
                operation: [
                    "*",
                    "messageThreads/getAll",
                    "messageThreads/add",
                    "messages/getAll",
                    "messages/add",
                ][usize::from(*operation)]
                .to_owned(),
                integration_id: scoped.then(|| integration(i)),
                status: *status,
                message: message.clone(),
                retry_after_seconds: (*status == Some(429)).then_some(*retry),
                delay_ms: *delay_ms,
                probability: *probability,
                times: times.map(|(t, _)| t),
                remaining: times.map(|(t, r)| r.min(t)),
                stage: if *after { Stage::After } else { Stage::Before },
                created_ms: *created_ms,
                connection: None,
                match_thread_id: None,
                webhook: None,
                delay_seconds: None,
            }));
            // Every fourth is a webhook fault instead.
            if i % 4 == 3 {
                let Some(Record::Fault(last)) = records.last_mut() else {
                    unreachable!()
                };
                let kind = [
                    WebhookFault::Duplicate,
                    WebhookFault::Delay,
                    WebhookFault::Reorder,
                ][usize::from(*operation) % 3];
                *last = FaultRecord {
                    operation: "webhook".to_owned(),
                    status: None,
                    message: None,
                    retry_after_seconds: None,
                    delay_ms: 0,
                    probability: 1.0,
                    stage: Stage::Before,
                    webhook: Some(kind),
                    delay_seconds: (kind == WebhookFault::Delay).then_some(1 + *delay_ms),
                    ..last.clone()
                };
            }
        }
        for (i, (of, at, sender, subject, (created, updated), is_resolved)) in
            self.threads.iter().enumerate()
        {
            records.push(Record::Thread(ThreadRecord {
                id: self.id(4, i),
                integration_id: integration(*of),
                enterprise_id: enterprise(*at),
                original_sender: sender.clone(),
                subject: subject.clone(),
                created: *created,
                updated: *updated,
                is_resolved: *is_resolved,
            }));
        }
        let messages = if self.threads.is_empty() {
            &[][..]
        } else {
            &self.messages[..]
        };
        for (i, (thread, text, from_guest, created)) in messages.iter().enumerate() {
            records.push(Record::Message(MessageRecord {
                id: self.id(5, i),
                thread_id: self.id(4, thread % self.threads.len()),
                text: text.clone(),
                sender: if *from_guest {
                    SenderName::Application
                } else {
                    SenderName::Enterprise
                },
                created: *created,
            }));
        }
        sorted(
            &mut records,
            self.deliveries
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let (of, at, state, attempts, next, leased, error, (created, finished)) = d;
                    let id = self.id(6, i);
                    let record = DeliveryRecord {
                        id,
                        integration_id: integration(*of),
                        enterprise_id: enterprise(*at),
                        state: [
                            DeliveryState::Pending,
                            DeliveryState::Delivered,
                            DeliveryState::Failed,
                        ][usize::from(*state)],
                        attempts: *attempts,
                        next_attempt_ms: *next,
                        leased_until_ms: *leased,
                        last_error: error.clone(),
                        created_ms: *created,
                        finished_ms: *finished,
                        held: attempts % 2 == 1,
                    };
                    (id, Record::WebhookDelivery(record))
                })
                .collect(),
        );
        if !self.deliveries.is_empty() {
            for (delivery, (started_ms, duration_ms), status, error, response) in &self.attempts {
                records.push(Record::WebhookAttempt(AttemptRecord {
                    delivery_id: self.id(6, delivery % self.deliveries.len()),
                    started_ms: *started_ms,
                    duration_ms: *duration_ms,
                    status: *status,
                    error: error.clone(),
                    response: response.clone(),
                    body: response
                        .as_ref()
                        .map(|r| format!("{{\"Sent\":{}}}", r.len())),
                }));
            }
        }
        if !messages.is_empty() {
            for (message, at, created, delivery) in &self.events {
                records.push(Record::WebhookEvent(EventRecord {
                    message_id: self.id(5, message % messages.len()),
                    integration_id: integration(*at),
                    enterprise_id: enterprise(*at),
                    created_ms: *created,
                    delivery_id: delivery
                        .filter(|_| !self.deliveries.is_empty())
                        .map(|d| self.id(6, d % self.deliveries.len())),
                }));
            }
        }
        let mut file = format!(
            "{{\"Format\":\"switchboard-export\",\"Version\":{}}}\n",
            switchboard::store::export::VERSION
        );
        let count = records.len() as u64;
        for record in records
            .iter()
            .chain([&Record::End(EndRecord { records: count })])
        {
            file.push_str(&serde_json::to_string(record).unwrap());
            file.push('\n');
        }
        file.into_bytes()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Import then export gives the file back, on every backend there is; so
    /// export -> import -> export is the identity, whatever the database holds.
    #[test]
    fn export_import_export_is_the_identity(shape in shape()) {
        let file = shape.file();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            for target in empty_databases().await {
                import_into(&target, &file).await.expect("import");
                let again = export_of(&target).await;
                assert!(
                    again == file,
                    "{}:\n{}\n---\n{}",
                    target.url,
                    String::from_utf8_lossy(&file),
                    String::from_utf8_lossy(&again)
                );
            }
        });
    }
}

/// What a file of `version` holds of a record: the properties added since
/// are left out (a webhook fault, added in 3, is no record of older files).
fn as_of(version: u32, record: &mut serde_json::Value) -> bool {
    let since: [(u32, &str, &[&str]); 4] = [
        (2, "Fault", &["Connection", "MatchThreadId"]),
        (3, "Fault", &["Webhook", "DelaySeconds"]),
        (
            3,
            "Integration",
            &[
                "WebhooksPaused",
                "SigningSecret",
                "PreviousSecret",
                "PreviousUntilMs",
            ],
        ),
        (3, "WebhookDelivery", &["Held"]),
    ];
    if version < 3 && record["Fault"]["Operation"] == "webhook" {
        return false;
    }
    // Version 5 added assignments and notes to threads' histories, and
    // canned replies.
    if version < 5
        && (["Assigned", "Unassigned", "Noted"]
            .iter()
            .any(|action| record["ThreadActivity"]["Action"] == *action)
            || record.get("CannedReply").is_some())
    {
        return false;
    }
    if version < 4
        && ["StaffMember", "MessageAuthor", "ThreadActivity"]
            .iter()
            .any(|kind| record.get(*kind).is_some())
    {
        return false;
    }
    for (added, kind, names) in since.iter().chain(&[(3, "WebhookAttempt", &["Body"][..])]) {
        if version < *added
            && let Some(fields) = record.get_mut(*kind).and_then(|r| r.as_object_mut())
        {
            for name in names.iter() {
                assert!(fields.remove(*name).is_some(), "{kind} has {name}");
            }
        }
    }
    true
}

/// The records of a file as JSON, as `version` would have them, with the
/// header and the end left out.
fn records_as_of(version: u32, file: &[u8]) -> Vec<serde_json::Value> {
    let all = lines(file);
    all[1..all.len() - 1]
        .iter()
        .filter_map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
            as_of(version, &mut record).then_some(record)
        })
        .collect()
}

/// Files of earlier versions (before connection faults and `Match`; before
/// signing, pauses and webhook faults; before staff; before assignments
/// and notes) still import; what
/// they hold comes back as it was.
#[tokio::test]
async fn files_of_older_versions_still_import() {
    let source = populated().await;
    let good = export_of(&source).await;
    for version in [1, 2, 3, 4] {
        let records = records_as_of(version, &good);
        let mut file = vec![json!({"Format": "switchboard-export", "Version": version})];
        file.extend(records.iter().cloned());
        file.push(json!({"End": {"Records": records.len()}}));
        let text: String = file.iter().map(|r| format!("{r}\n")).collect();
        let target = TestDatabase::new().await;
        import_into(&target, text.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("version {version} imports: {e}"));
        let again = export_of(&target).await;
        assert_eq!(records_as_of(version, &again), records, "version {version}");
    }
}
