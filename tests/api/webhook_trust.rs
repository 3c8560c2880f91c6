//! SPEC §11 and the webhook faults of §16.5: what a receiver can trust
//! (headers, signatures, the body each attempt sent), what it can ask for
//! (a test request, a pause), and what it can be put through on purpose
//! (duplicates, delays, reordering).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::clock::Clock;
use switchboard::demo;

use crate::helpers::paths::*;
use crate::helpers::*;
use crate::process::cli_at;
use crate::receiver::{Received, Receiver};
use crate::webhooks::{deliveries, retry_wait};

const WEBHOOKS_TEST: &str = "/api/operator/v1/webhooks/test";
const WEBHOOKS_PAUSE: &str = "/api/operator/v1/webhooks/pause";
const WEBHOOKS_RESUME: &str = "/api/operator/v1/webhooks/resume";

/// Waits until the only delivery, not yet attempted, is held for a while;
/// returns how long, in milliseconds.
async fn held_for(app: &TestApp) -> i64 {
    for _ in 0..400 {
        if let [only] = deliveries(app).await.as_slice()
            && only.attempts == 0
            && only.next_attempt_ms > app.clock.now_ms()
        {
            return only.next_attempt_ms - app.clock.now_ms();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no delivery was held: {:?}", deliveries(app).await);
}

async fn hooked(app: &TestApp) -> Receiver {
    let receiver = Receiver::start().await;
    app.staff(
        INTEGRATIONS_UPDATE,
        json!({"IntegrationId": demo::SAMPLE_CLIENT, "WebhookUrl": format!("{}/hook?k=s3cret", receiver.base)}),
    )
    .await
    .ok();
    receiver
}

fn message_id(message: &Value) -> String {
    message["Id"].as_str().unwrap().to_owned()
}

/// Checks `webhook-signature` as the specification says, independently of
/// switchboard's code: the secrets it verifies with, by position.
fn verified_by(received: &Received, secrets: &[&str]) -> Vec<bool> {
    let id = received.header("webhook-id").unwrap();
    let timestamp = received.header("webhook-timestamp").unwrap();
    let signatures: Vec<&str> = received
        .header("webhook-signature")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    secrets
        .iter()
        .map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix("whsec_").unwrap())
                .unwrap();
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            mac.update(format!("{id}.{timestamp}.").as_bytes());
            mac.update(&received.raw);
            let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
            signatures.contains(&expected.as_str())
        })
        .collect()
}

#[tokio::test]
async fn every_request_says_who_sent_it_and_which_delivery_it_is() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    receiver.answer(&[503]);
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let message = app.add_message(PORTFOLIO, &thread, "Hello").await;
    let first = receiver
        .wait_until("the first attempt", |r| !r.is_empty())
        .await;
    // The retry, once its wait is over. The clock moves only once the first
    // attempt's outcome is recorded: moved earlier, the retry's wait would
    // be counted from the moved clock.
    let wait = retry_wait(&app, 1).await;
    let delivery = deliveries(&app).await[0].clone();
    app.clock.advance(chrono::Duration::milliseconds(wait));
    app.wake.now();
    let both = receiver.wait_until("the retry", |r| r.len() >= 2).await;
    for received in &both {
        assert_eq!(
            received.header("user-agent"),
            Some(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(
            received.header("webhook-id"),
            Some(delivery.id.to_string().as_str()),
            "the delivery's id, the same on every attempt"
        );
        assert_eq!(
            received.header("webhook-timestamp"),
            Some(start_time().timestamp().to_string().as_str()),
            "real time, in Unix seconds"
        );
        assert_eq!(received.header("webhook-signature"), None, "not signed");
    }
    assert_eq!(first[0].event_ids(), vec![message_id(&message)]);
    // The delivery log keeps the exact body of each attempt (once the
    // second is recorded, just after its answer).
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app
            .staff(WEBHOOKS_GET_ALL, json!({"Limitation": {"Count": 10}}))
            .await
            .ok();
        if log["WebhookDeliveries"][0]["Attempts"]
            .as_array()
            .map(Vec::len)
            == Some(2)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let attempts = log["WebhookDeliveries"][0]["Attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{log}");
    for (attempt, received) in attempts.iter().zip(&both) {
        assert_eq!(attempt["Request"], received.body);
        assert_eq!(
            attempt["Request"].to_string().len(),
            received.raw.len(),
            "byte for byte"
        );
    }
}

#[tokio::test]
async fn signed_webhooks_verify_with_the_secret_and_both_sign_through_a_rotation() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    let signing = |value: &str| {
        app.staff(
            INTEGRATIONS_UPDATE,
            json!({"IntegrationId": demo::SAMPLE_CLIENT, "WebhookSigning": value}),
        )
    };
    let first = signing("NewSecret").await.ok();
    let old = first["WebhookSecret"].as_str().unwrap().to_owned();
    assert!(old.starts_with("whsec_"));
    assert_eq!(STANDARD.decode(&old[6..]).unwrap().len(), 32);
    assert_eq!(first["Integration"]["WebhookSigning"], "On");
    let listed = app.staff(INTEGRATIONS_GET_ALL, json!({})).await.ok();
    assert!(
        !listed.to_string().contains(&old[6..]),
        "the secret is shown once"
    );

    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    app.add_message(PORTFOLIO, &thread, "One").await;
    let got = receiver
        .wait_until("a signed request", |r| r.len() == 1)
        .await;
    assert_eq!(verified_by(&got[0], &[&old]), [true]);

    // A rotation: the new secret and the old one both sign for 24 hours.
    let new = signing("NewSecret").await.ok()["WebhookSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    app.add_message(PORTFOLIO, &thread, "Two").await;
    let got = receiver
        .wait_until("two signatures", |r| r.len() == 2)
        .await;
    assert_eq!(verified_by(&got[1], &[&new, &old]), [true, true]);
    assert_eq!(
        got[1]
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    // A day later only the new one signs.
    app.clock.advance(chrono::Duration::hours(24));
    app.add_message(PORTFOLIO, &thread, "Three").await;
    let got = receiver.wait_until("one signature", |r| r.len() == 3).await;
    assert_eq!(verified_by(&got[2], &[&new, &old]), [true, false]);
    // A changed body or timestamp does not verify.
    let mut tampered = got[2].clone();
    tampered.raw = axum::body::Bytes::from(
        String::from_utf8(tampered.raw.to_vec())
            .unwrap()
            .replace("Events", "Eventz"),
    );
    assert_eq!(verified_by(&tampered, &[&new]), [false]);
    let mut later = got[2].clone();
    later.headers.insert(
        "webhook-timestamp",
        (start_time().timestamp() + 1).to_string().parse().unwrap(),
    );
    assert_eq!(verified_by(&later, &[&new]), [false]);

    // Off: unsigned again.
    assert_eq!(
        signing("Off").await.ok()["Integration"]["WebhookSigning"],
        "Off"
    );
    app.add_message(PORTFOLIO, &thread, "Four").await;
    let got = receiver
        .wait_until("an unsigned request", |r| r.len() == 4)
        .await;
    assert_eq!(got[3].header("webhook-signature"), None);
    signing("Sometimes")
        .await
        .assert_message(400, "WebhookSigning must be \"Off\" or \"NewSecret\".");
}

#[tokio::test]
async fn a_test_request_is_answered_at_once_and_stores_nothing() {
    let app = spawn_app().await;
    let no_url = app
        .staff(WEBHOOKS_TEST, json!({"IntegrationId": demo::SAMPLE_CLIENT}))
        .await
        .ok();
    assert_eq!(no_url["Attempt"]["Error"], "NoUrl");
    assert_eq!(no_url["Attempt"]["Status"], Value::Null);

    let receiver = hooked(&app).await;
    let secret = app
        .staff(
            INTEGRATIONS_UPDATE,
            json!({"IntegrationId": demo::SAMPLE_CLIENT, "WebhookSigning": "NewSecret"}),
        )
        .await
        .ok()["WebhookSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    receiver.answer(&[418]);
    let tested = app
        .staff(WEBHOOKS_TEST, json!({"IntegrationId": demo::SAMPLE_CLIENT}))
        .await
        .ok();
    let attempt = &tested["Attempt"];
    assert_eq!(attempt["Status"], 418);
    assert_eq!(attempt["Response"], "answered 418");
    assert_eq!(attempt["Request"]["Events"], json!([]));
    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent before the answer");
    assert_eq!(got[0].body["Events"], json!([]));
    assert_eq!(got[0].body["IntegrationId"], json!(demo::SAMPLE_CLIENT));
    assert_eq!(got[0].header("webhook-id"), tested["WebhookId"].as_str());
    assert_eq!(verified_by(&got[0], &[&secret]), [true]);
    assert!(app.store.deliveries(false).await.unwrap().is_empty());
    app.staff(
        WEBHOOKS_TEST,
        json!({"IntegrationId": uuid::Uuid::new_v4()}),
    )
    .await
    .assert_message(400, "IntegrationId is not the id of an integration.");
}

#[tokio::test]
async fn a_paused_integration_keeps_its_events_and_sends_them_oldest_first_on_resume() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    let paused = app
        .staff(
            WEBHOOKS_PAUSE,
            json!({"IntegrationId": demo::SAMPLE_CLIENT}),
        )
        .await
        .ok();
    assert_eq!(paused["Integration"]["WebhooksPaused"], true);
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let mut sent = Vec::new();
    for text in ["first", "second", "third"] {
        sent.push(message_id(&app.add_message(PORTFOLIO, &thread, text).await));
        app.wake.now();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // A retry that falls due while paused waits too.
    app.clock.advance(chrono::Duration::hours(1));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(receiver.received().is_empty(), "held while paused");
    let log = app
        .staff(WEBHOOKS_GET_ALL, json!({"Limitation": {"Count": 10}}))
        .await
        .ok();
    assert_eq!(log["WebhookDeliveries"], json!([]), "not even formed");

    let resumed = app
        .staff(
            WEBHOOKS_RESUME,
            json!({"IntegrationId": demo::SAMPLE_CLIENT}),
        )
        .await
        .ok();
    assert_eq!(resumed["Integration"]["WebhooksPaused"], false);
    let got = receiver.wait_for_events(&sent).await;
    let order: Vec<String> = got.iter().flat_map(Received::event_ids).collect();
    assert_eq!(order, sent, "oldest first");
}

#[tokio::test]
async fn a_duplicate_fault_sends_a_delivery_twice_with_one_id() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "webhook", "Webhook": "Duplicate", "Times": 1}),
    )
    .await
    .ok();
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let one = app.add_message(PORTFOLIO, &thread, "Twice").await;
    let got = receiver.wait_until("two copies", |r| r.len() == 2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(got[0].body, got[1].body);
    assert_eq!(got[0].event_ids(), vec![message_id(&one)]);
    // Used up: the next goes once.
    let two = app.add_message(PORTFOLIO, &thread, "Once").await;
    receiver.wait_for_events(&[message_id(&two)]).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_delay_fault_holds_a_delivery_until_the_clock_passes_it() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    let fault = app
        .staff(
            FAULTS_ADD,
            json!({"Operation": "webhook", "Webhook": "Delay", "DelaySeconds": 120}),
        )
        .await
        .ok()["Faults"][0]
        .clone();
    assert_eq!(fault["DelaySeconds"], 120);
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let held = app.add_message(PORTFOLIO, &thread, "Later").await;
    // Held from the moment the worker picked it up.
    let wait = held_for(&app).await;
    assert_eq!(wait, 120_000);
    assert!(receiver.received().is_empty(), "held");
    app.clock.advance(chrono::Duration::seconds(119));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty(), "still held");
    app.clock.advance(chrono::Duration::seconds(1));
    let got = receiver.wait_for_events(&[message_id(&held)]).await;
    assert_eq!(got.len(), 1, "held once, then sent");
    // Once its outcome is recorded: one attempt, for holding is none.
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app
            .staff(WEBHOOKS_GET_ALL, json!({"Limitation": {"Count": 10}}))
            .await
            .ok();
        if log["WebhookDeliveries"][0]["State"] == "Delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        log["WebhookDeliveries"][0]["Attempts"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "holding is no attempt: {log}"
    );
    for (bad, message) in [
        (
            json!({"Operation": "webhook", "Webhook": "Delay"}),
            "DelaySeconds is required: how long a Delay fault holds a delivery.",
        ),
        (
            json!({"Operation": "webhook", "Webhook": "Drop"}),
            "Webhook must be \"Duplicate\", \"Delay\" or \"Reorder\".",
        ),
        (
            json!({"Operation": "webhook", "Webhook": "Duplicate", "Status": 500}),
            "Status is for a fault on Connector API requests, not on webhooks.",
        ),
        (
            json!({"Operation": "messages/add", "Status": 500, "Webhook": "Duplicate"}),
            "Webhook is for a fault with Operation \"webhook\" only.",
        ),
    ] {
        app.staff(FAULTS_ADD, bad)
            .await
            .assert_message(400, message);
    }
}

#[tokio::test]
async fn a_reorder_fault_sends_the_next_two_deliveries_newest_first() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    app.staff(
        FAULTS_ADD,
        json!({"Operation": "webhook", "Webhook": "Reorder", "Times": 1}),
    )
    .await
    .ok();
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let older = app.add_message(PORTFOLIO, &thread, "Older").await;
    // The first delivery is formed and held before the second is written.
    for _ in 0..100 {
        if !app.store.deliveries(false).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let newer = app.add_message(PORTFOLIO, &thread, "Newer").await;
    let got = receiver
        .wait_for_events(&[message_id(&older), message_id(&newer)])
        .await;
    let order: Vec<String> = got.iter().flat_map(Received::event_ids).collect();
    assert_eq!(order, [message_id(&newer), message_id(&older)]);
}

/// The command line does what the API does: signing with a secret printed
/// once, the delivery log filtered, any delivery sent again.
#[tokio::test]
async fn the_command_line_signs_lists_and_resends_like_the_api() {
    let app = spawn_app().await;
    let receiver = hooked(&app).await;
    let integration = demo::SAMPLE_CLIENT.to_string();
    let (ok, out, err) = cli_at(
        &app.database,
        &[
            "integration",
            "signing",
            "--integration",
            &integration,
            "--new-secret",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let secret = out
        .lines()
        .find(|l| l.starts_with("whsec_"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let thread = app.add_thread(PORTFOLIO, "Guest", "Room").await;
    let message = app
        .add_message(PORTFOLIO, &thread, "Signed by the CLI's secret")
        .await;
    let got = receiver.wait_for_events(&[message_id(&message)]).await;
    assert_eq!(verified_by(&got[0], &[&secret]), [true]);
    let (ok, _, err) = cli_at(
        &app.database,
        &["integration", "signing", "--integration", &integration],
    )
    .await;
    assert!(!ok && err.contains("--new-secret"), "{err}");

    // Wait until the delivery is recorded as delivered.
    let mut delivered = None;
    for _ in 0..100 {
        let all = app.store.deliveries(false).await.unwrap();
        if let Some(d) = all.iter().find(|d| d.state.column() == "delivered") {
            delivered = Some(d.id);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let delivered = delivered.expect("delivered").to_string();
    for (args, listed) in [
        (vec!["--state", "delivered"], true),
        (vec!["--state", "failed"], false),
        (vec!["--integration", &integration], true),
        (
            vec!["--integration", demo::TEST_CLIENT_2.to_string().leak()],
            false,
        ),
    ] {
        let mut all = vec!["webhooks", "list"];
        all.extend(args.iter().copied());
        let (ok, out, err) = cli_at(&app.database, &all).await;
        assert!(ok, "{err}");
        assert_eq!(out.contains(&delivered), listed, "{args:?}: {out}");
    }
    // A delivered delivery goes out again, as webhooks/retry does it.
    let (ok, out, err) = cli_at(&app.database, &["webhooks", "retry", &delivered]).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        format!("Delivery {delivered} will be sent again.")
    );
    app.wake.now();
    receiver
        .wait_until("the delivery again", |r| r.len() == 2)
        .await;
    let (ok, _, err) = cli_at(
        &app.database,
        &["webhooks", "retry", &uuid::Uuid::new_v4().to_string()],
    )
    .await;
    assert!(!ok && err.contains("there is no delivery"), "{err}");
}
