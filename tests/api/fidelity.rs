//! SPEC §18: a recording of exchanges with an upstream, replayed against
//! switchboard; every difference of status and shape reported.

use std::path::Path;

use serde_json::{Value, json};
use switchboard::fidelity::verify::{self, Target};
use switchboard::fidelity::{self, Exchange};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn kept() -> Vec<Exchange> {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join("fidelity/vendor-examples.jsonl")).unwrap();
    fidelity::read(&text).unwrap().1
}

async fn differences(exchanges: &[Exchange]) -> Vec<verify::Difference> {
    let start = switchboard::domain::time::parse_datetime(&exchanges[0].time_utc).unwrap();
    let target = Target::local(start).await.unwrap();
    verify::verify(exchanges, &target).await.unwrap()
}

#[tokio::test]
async fn the_kept_recording_of_the_vendors_examples_verifies_with_a_junit_report() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("verify.xml");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["verify", "fidelity/vendor-examples.jsonl", "--junit"])
        .arg(&junit)
        .current_dir(ROOT)
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains("16 exchanges replayed: no difference."),
        "{out}"
    );
    let report = std::fs::read_to_string(&junit).unwrap();
    assert!(report.contains(r#"tests="16" failures="0""#), "{report}");
    assert_eq!(report.matches("<testcase").count(), 16);
    // Tokens never reach a recording.
    let kept =
        std::fs::read_to_string(Path::new(ROOT).join("fidelity/vendor-examples.jsonl")).unwrap();
    assert!(!kept.contains(switchboard::demo::CLIENT_TOKEN));
    assert!(!kept.contains(switchboard::demo::PORTFOLIO_ACCESS_TOKEN));
}

/// Each kind of difference, made on purpose in the recording, is reported
/// where it is.
#[tokio::test]
async fn a_difference_made_on_purpose_is_reported_where_it_is() {
    let original = kept();
    let with = |change: &dyn Fn(&mut Vec<Exchange>)| {
        let mut exchanges = original.clone();
        change(&mut exchanges);
        exchanges
    };
    // The first exchange adds a thread; the one that lists threads a page at
    // a time comes later; find them by what they do.
    let add = 0;
    let list = original
        .iter()
        .position(|e| e.path.ends_with("messageThreads/getAll") && e.status == 200)
        .unwrap();
    let cases: Vec<(&str, Vec<Exchange>, &str, &str, &str)> = vec![
        (
            "a renamed property",
            with(&|x: &mut Vec<Exchange>| {
                let thread = x[add].response.as_mut().unwrap()["MessageThreads"][0]
                    .as_object_mut()
                    .unwrap();
                let subject = thread.remove("Subject").unwrap();
                thread.insert("Topic".to_owned(), subject);
            }),
            "$.MessageThreads[0].Topic",
            "a string",
            "absent",
        ),
        (
            "a missing field",
            with(&|x: &mut Vec<Exchange>| {
                x[add].response.as_mut().unwrap()["MessageThreads"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("IsResolved");
            }),
            "$.MessageThreads[0].IsResolved",
            "absent",
            "a boolean",
        ),
        (
            "another status",
            with(&|x: &mut Vec<Exchange>| x[add].status = 201),
            "$",
            "status 201",
            "status 200",
        ),
        (
            "another order",
            with(&|x: &mut Vec<Exchange>| {
                x[list].response.as_mut().unwrap()["MessageThreads"]
                    .as_array_mut()
                    .unwrap()
                    .reverse();
            }),
            "$.MessageThreads[0].Id",
            "the id",
            "another one",
        ),
        (
            "null for absent",
            with(&|x: &mut Vec<Exchange>| {
                x[add].response.as_mut().unwrap()["Extra"] = Value::Null;
            }),
            "$.Extra",
            "null",
            "absent",
        ),
    ];
    for (what, exchanges, at, recorded, target) in cases {
        let found = differences(&exchanges).await;
        assert!(
            found.iter().any(|d| d.at == at
                && d.recorded.starts_with(recorded)
                && d.target.starts_with(target)),
            "{what}: {found:#?}"
        );
        let table = verify::table(&found, exchanges.len());
        assert!(table.contains(at), "{what}: {table}");
    }
}

/// `switchboard record` in front of `upstream`: its address, and the child.
async fn recorder(upstream: &str, output: &Path) -> (String, tokio::process::Child) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "record",
            "--upstream",
            upstream,
            "--listen",
            "127.0.0.1:0",
            "--output",
        ])
        .arg(output)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(base) = line.strip_prefix("switchboard record listening on ") {
            return (base.to_owned(), child);
        }
    }
    panic!("switchboard record did not start");
}

/// A guest's conversation through `base`, as an integration has it.
async fn conversation(base: &str) {
    let client = http_client();
    let call = |path: &str, fields: Value| {
        client
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(with_creds(PORTFOLIO, fields).to_string())
            .send()
    };
    let added: Value = call(
        ADD,
        json!({"OriginalSender": "Penelope", "Subject": "Arriving late"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let thread = added["MessageThreads"][0]["Id"].clone();
    for text in ["Hi! I will be late tonight.", "Around 11pm."] {
        call(
            MESSAGES_ADD,
            json!({"Messages": [{"MessageThreadId": thread, "Text": text}]}),
        )
        .await
        .unwrap();
    }
    call(
        MESSAGES_GET_ALL,
        json!({"MessageThreadIds": [thread], "Limitation": {"Count": 1}}),
    )
    .await
    .unwrap();
    call(
        GET_ALL,
        json!({"MessageThreadIds": [thread], "Limitation": {"Count": 5}}),
    )
    .await
    .unwrap();
    call(GET_ALL, json!({"Limitation": {"Count": 5}}))
        .await
        .unwrap();
}

#[tokio::test]
async fn switchboard_recorded_through_one_instance_verifies_against_another() {
    let upstream = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("recording.jsonl");
    let (base, mut child) = recorder(&upstream.base, &file).await;
    conversation(&base).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains(switchboard::demo::CLIENT_TOKEN),
        "tokens masked"
    );
    let (header, exchanges) = fidelity::read(&text).unwrap();
    assert_eq!(header.upstream, upstream.base);
    assert_eq!(exchanges.len(), 6);
    assert_eq!(exchanges[5].status, 400);

    assert_eq!(
        differences(&exchanges).await,
        vec![],
        "against a fresh switchboard"
    );
    let other = spawn_app().await;
    let target = Target::remote(
        &other.base,
        switchboard::demo::CLIENT_TOKEN.to_owned(),
        switchboard::demo::PORTFOLIO_ACCESS_TOKEN.to_owned(),
        Some(OPERATOR_TOKEN.to_owned()),
    );
    assert_eq!(
        verify::verify(&exchanges, &target).await.unwrap(),
        vec![],
        "against --target"
    );
}

/// An upstream that answers as the vendor's examples read (no `IsResolved`
/// in a list, a number for a time): verify names each difference.
#[tokio::test]
async fn a_different_upstream_is_reported_by_verify() {
    use axum::Router;
    use axum::routing::post;
    let app = Router::new().route(
        "/api/connector/v1/messageThreads/add",
        post(|| async {
            axum::Json(json!({"MessageThreads": [{
                "Id": "7f9325f6-ef44-4911-89a8-ae51010a5aa4",
                "OriginalSender": "John Doe",
                "Subject": "Example subject",
                "CreatedUtc": 1646741210,
                "UpdatedUtc": "2022-03-08T12:06:50Z"
            }]}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("other.jsonl");
    let (base, mut child) = recorder(&upstream, &file).await;
    http_client()
        .post(format!("{base}{ADD}"))
        .header("content-type", "application/json")
        .body(
            with_creds(
                PORTFOLIO,
                json!({"OriginalSender": "John Doe", "Subject": "Example subject"}),
            )
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("verify")
        .arg(&file)
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("$.MessageThreads[0].CreatedUtc") && out.contains("a number"),
        "{out}"
    );
    assert!(
        out.contains("$.MessageThreads[0].IsResolved") && out.contains("a boolean"),
        "{out}"
    );
    assert!(
        out.contains("1 exchanges replayed: 2 differences in 1 of them."),
        "{out}"
    );
}
