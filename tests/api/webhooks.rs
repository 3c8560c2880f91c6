//! MessageAdded webhooks, delivered from the outbox. The tests run on the
//! manual clock: a retry wait passes when a test moves the clock, not in real
//! time.

use chrono::Duration;
use serde_json::{Value, json};
use switchboard::clock::Clock;
use switchboard::demo;
use switchboard::store::DeliveryInfo;
use switchboard::webhooks::WebhookSettings;

use crate::helpers::*;
use crate::process::cli_at;
use crate::receiver::Receiver;

/// Points Sample Client's webhooks at `url`.
async fn hook(app: &TestApp, url: &str) {
    app.store
        .set_webhook_url(demo::SAMPLE_CLIENT, Some(url.to_owned()))
        .await
        .expect("Sample Client exists");
}

fn id(value: &Value) -> String {
    value["Id"].as_str().unwrap().to_owned()
}

pub(crate) async fn deliveries(app: &TestApp) -> Vec<DeliveryInfo> {
    app.store.deliveries(false).await.unwrap()
}

#[tokio::test]
async fn the_payload_is_exactly_the_references_and_the_query_is_kept() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    hook(
        &app,
        &format!("{}/hook?secret=a%2Fb+c&x=%7E1", receiver.base),
    )
    .await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let message = app.add_message(PORTFOLIO, &thread, "hello").await;
    let received = receiver.wait_for_events(&[id(&message)]).await;
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(
        request.query.as_deref(),
        Some("secret=a%2Fb+c&x=%7E1"),
        "the query string is kept exactly"
    );
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        request.body,
        json!({
            "EnterpriseId": demo::GROSS.to_string(),
            "IntegrationId": demo::SAMPLE_CLIENT.to_string(),
            "Events": [{"Discriminator": "MessageAdded", "Value": {"Id": message["Id"]}}],
        })
    );
}

#[tokio::test]
async fn staff_replies_produce_events_for_the_threads_integration() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let reply = app.reply(&thread, "Hello from the front desk").await;
    let received = receiver.wait_for_events(&[id(&reply)]).await;
    assert_eq!(
        received[0].body["IntegrationId"],
        demo::SAMPLE_CLIENT.to_string()
    );
}

#[tokio::test]
async fn integrations_without_a_url_produce_no_events() {
    let app = spawn_app().await;
    let thread = app.add_thread(OTHER_CLIENT, "A", "B").await;
    app.add_message(OTHER_CLIENT, &thread, "hello").await;
    app.reply(&thread, "hi").await;
    assert_eq!(app.store.webhook_backlog().await.unwrap().pending_events, 0);
    assert!(deliveries(&app).await.is_empty());
}

#[tokio::test]
async fn events_go_together_per_enterprise_at_most_100_a_request() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let gate = receiver.hold();
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let gross = app.add_thread(PORTFOLIO, "A", "Gross").await;
    let net = app.add_thread_in(PORTFOLIO, demo::NET, "A", "Net").await;
    // One commit: 250 messages in Gross and 3 in Net.
    let mut items: Vec<Value> = (0..250)
        .map(|i| json!({"MessageThreadId": gross["Id"], "Text": format!("#{i}")}))
        .collect();
    items
        .extend((0..3).map(|i| json!({"MessageThreadId": net["Id"], "Text": format!("net #{i}")})));
    let added = app
        .call(MESSAGES_ADD, PORTFOLIO, json!({ "Messages": items }))
        .await
        .ok();
    let ids = added_ids(&added);
    gate.add_permits(1000);
    let received = receiver.wait_for_events(&ids).await;

    let mut sizes: Vec<(String, usize)> = received
        .iter()
        .map(|r| {
            (
                r.body["EnterpriseId"].as_str().unwrap().to_owned(),
                r.event_ids().len(),
            )
        })
        .collect();
    sizes.sort();
    let mut expected = vec![
        (demo::GROSS.to_string(), 100),
        (demo::GROSS.to_string(), 100),
        (demo::GROSS.to_string(), 50),
        (demo::NET.to_string(), 3),
    ];
    expected.sort();
    assert_eq!(sizes, expected);
    let all: Vec<String> = received.iter().flat_map(|r| r.event_ids()).collect();
    assert_eq!(all.len(), ids.len(), "each event once");
}

#[tokio::test]
async fn the_batch_size_is_configurable() {
    let app = spawn_app_full(
        settings(),
        switchboard::webhooks::WebhookSettings {
            batch_size: 2,
            ..webhook_settings()
        },
    )
    .await;
    let receiver = Receiver::start().await;
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"MessageThreadId": thread["Id"], "Text": format!("#{i}")}))
        .collect();
    let added = app
        .call(MESSAGES_ADD, PORTFOLIO, json!({ "Messages": items }))
        .await
        .ok();
    let ids = added_ids(&added);
    let received = receiver.wait_for_events(&ids).await;
    let mut sizes: Vec<usize> = received.iter().map(|r| r.event_ids().len()).collect();
    sizes.sort();
    assert_eq!(sizes, vec![1, 2, 2]);
}

#[tokio::test]
async fn a_500_is_retried_until_delivered() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let message = app.add_message(PORTFOLIO, &thread, "hello").await;
    retry_wait(&app, 1).await;
    let delivered = wait_for_status(&app, "delivered").await;
    let received = receiver.received();
    assert_eq!(received[0].body, received[1].body, "the same events again");
    assert_eq!(received[1].event_ids(), vec![id(&message)]);
    assert_eq!(delivered.attempts, 2);
    let metrics = app
        .send(app.client.get(format!("{}/metrics", app.base)))
        .await
        .text;
    for line in [
        "switchboard_webhook_deliveries_total{outcome=\"retry\"} 1",
        "switchboard_webhook_deliveries_total{outcome=\"delivered\"} 1",
        "switchboard_webhook_retries_total 1",
        "switchboard_webhook_queue_depth 0",
        "switchboard_webhook_delivery_latency_seconds_count 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Waits until the only delivery has `status`, moving the clock to each retry
/// as soon as one is scheduled.
async fn wait_for_status(app: &TestApp, status: &str) -> DeliveryInfo {
    for _ in 0..400 {
        let all = deliveries(app).await;
        if let [only] = all.as_slice() {
            if only.state.column() == status {
                return only.clone();
            }
            move_to_next_attempt(app, only);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no delivery reached {status}: {:?}", deliveries(app).await);
}

/// Moves the clock to the next attempt of a delivery waiting for a retry;
/// returns how far, in milliseconds.
fn move_to_next_attempt(app: &TestApp, delivery: &DeliveryInfo) -> Option<i64> {
    let wait = delivery.next_attempt_ms - app.clock.now_ms();
    let waiting = delivery.state.column() == "pending" && delivery.attempts > 0 && wait > 0;
    waiting.then(|| {
        app.clock.advance(Duration::milliseconds(wait));
        wait
    })
}

/// Waits until the only delivery has failed `attempts` times and waits for a
/// retry; returns how long that wait is, in milliseconds.
pub(crate) async fn retry_wait(app: &TestApp, attempts: u32) -> i64 {
    for _ in 0..400 {
        if let [only] = deliveries(app).await.as_slice()
            && only.state.column() == "pending"
            && only.attempts == attempts
        {
            return only.next_attempt_ms - app.clock.now_ms();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "no retry after {attempts} attempts: {:?}",
        deliveries(app).await
    );
}

#[tokio::test]
async fn a_retry_waits_on_the_clock_and_goes_out_when_it_is_moved() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    // The first wait is 42 s, ±20%.
    let wait = retry_wait(&app, 1).await;
    assert!((33_600..=50_400).contains(&wait), "{wait} ms");
    // One second short of it, nothing is sent.
    app.clock.advance(Duration::milliseconds(wait - 1000));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "not due yet");
    // Moving the clock to it wakes the worker, which sends at once.
    app.clock.advance(Duration::seconds(1));
    receiver
        .wait_until("the retry, once the clock reached it", |r| r.len() >= 2)
        .await;
    assert_eq!(wait_for_status(&app, "delivered").await.attempts, 2);
}

#[tokio::test]
async fn permanent_and_temporary_redirects_are_followed() {
    for (path, query) in [
        ("/moved-permanently", "after=308"),
        ("/moved-temporarily", "after=307"),
    ] {
        let app = spawn_app().await;
        let receiver = Receiver::start().await;
        hook(&app, &format!("{}{path}", receiver.base)).await;
        let thread = app.add_thread(PORTFOLIO, "A", "B").await;
        let message = app.add_message(PORTFOLIO, &thread, "hello").await;
        let received = receiver.wait_for_events(&[id(&message)]).await;
        assert_eq!(
            (received[0].path.as_str(), received[0].query.as_deref()),
            ("/hook", Some(query))
        );
        assert_eq!(
            received[0].body["Events"][0]["Value"]["Id"], message["Id"],
            "the body follows the redirect"
        );
        assert_eq!(
            received[0].referer, None,
            "no Referer: it would carry the URL's secret to the next hop"
        );
        assert_eq!(wait_for_status(&app, "delivered").await.attempts, 1);
    }
}

#[tokio::test]
async fn after_the_last_attempt_a_delivery_is_kept_as_failed_and_can_be_sent_again() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[503, 503, 503]);
    hook(&app, &format!("{}/hook?secret=s3cret", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let message = app.add_message(PORTFOLIO, &thread, "hello").await;
    let failed = wait_for_status(&app, "failed").await;
    assert_eq!(failed.attempts, 3, "the configured number of attempts");
    assert_eq!(
        failed.last_error.as_deref(),
        Some("the receiver answered 503 Service Unavailable")
    );
    assert_eq!(receiver.received().len(), 3);

    // The CLI shows it with its last error, never the URL's secret.
    let out = switchboard_cli(&app, &["webhooks", "list", "--failed"]).await;
    assert!(
        out.contains(&failed.id.to_string()) && out.contains("failed") && out.contains("503"),
        "{out}"
    );
    assert!(!out.contains("s3cret"));
    let out = switchboard_cli(&app, &["webhooks", "retry", &failed.id.to_string()]).await;
    assert_eq!(
        out.trim(),
        format!("Delivery {} will be sent again.", failed.id)
    );
    app.wake.now();
    let received = receiver
        .wait_until("the re-sent delivery", |r| r.len() >= 4)
        .await;
    assert_eq!(received[3].event_ids(), vec![id(&message)]);
    assert_eq!(wait_for_status(&app, "delivered").await.attempts, 1);
}

#[tokio::test]
async fn a_302_is_not_followed_but_retried() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    hook(&app, &format!("{}/found", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    let failed = wait_for_status(&app, "failed").await;
    assert_eq!(
        failed.last_error.as_deref(),
        Some("the receiver answered 302 Found")
    );
    assert!(receiver.received().is_empty(), "never sent on as a GET");
}

#[tokio::test]
async fn a_dead_receiver_is_retried_with_a_clear_error() {
    let app = spawn_app().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    hook(&app, &format!("http://127.0.0.1:{port}/hook?secret=s3cret")).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    let failed = wait_for_status(&app, "failed").await;
    let error = failed.last_error.unwrap();
    assert!(error.starts_with("cannot connect"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}

#[tokio::test]
async fn a_slow_receiver_never_delays_another_integrations_events() {
    let app = spawn_app().await;
    let slow = Receiver::start().await;
    let gate = slow.hold();
    let fast = Receiver::start().await;
    hook(&app, &format!("{}/slow", slow.base)).await;
    app.store
        .set_webhook_url(demo::TEST_CLIENT_2, Some(format!("{}/fast", fast.base)))
        .await
        .unwrap();

    // Sample Client's receiver holds every request: its deliveries pile up.
    // One message at a time until the receiver holds as many requests as it
    // may (messages written faster than the worker plans them would share a
    // delivery), then more, which must wait.
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let per_receiver = webhook_settings().per_receiver;
    for i in 0..per_receiver {
        app.add_message(PORTFOLIO, &thread, &format!("#{i}")).await;
        slow.wait_until("requests in flight", |r| r.len() > i).await;
    }
    for i in per_receiver..per_receiver + 4 {
        app.add_message(PORTFOLIO, &thread, &format!("#{i}")).await;
    }
    // Test Client 2's event still goes out while the slow receiver holds.
    let other = app.add_thread(OTHER_CLIENT, "C", "D").await;
    let message = app.add_message(OTHER_CLIENT, &other, "hello").await;
    fast.wait_for_events(&[id(&message)]).await;
    assert_eq!(
        slow.received().len(),
        per_receiver,
        "at most per_receiver requests in flight to one receiver"
    );
    gate.add_permits(1000);
}

#[tokio::test]
async fn set_webhook_refuses_urls_that_are_not_http() {
    let app = spawn_app().await;
    let integration = demo::SAMPLE_CLIENT.to_string();
    let (ok, _, err) = cli_at(
        &app.database,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &integration,
            "--url",
            "ftp://example.com/x",
        ],
    )
    .await;
    assert!(
        !ok && err.contains("a webhook URL must be http or https, not ftp"),
        "{err}"
    );
    let (ok, _, err) = cli_at(
        &app.database,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &integration,
            "--url",
            "not a url",
        ],
    )
    .await;
    assert!(!ok && err.contains("is not a URL"), "{err}");
    let (ok, _, err) = cli_at(
        &app.database,
        &[
            "integration",
            "add",
            "--name",
            "X",
            "--webhook-url",
            "mailto:a@b.c",
        ],
    )
    .await;
    assert!(!ok && err.contains("http or https"), "{err}");

    let url = "https://hook-user:pa55@hooks.example.com/in?token=A%2Fb&x=1";
    let out = switchboard_cli(
        &app,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &integration,
            "--url",
            url,
        ],
    )
    .await;
    assert!(
        out.contains("https://hooks.example.com/in")
            && !out.contains("token=")
            && !out.contains("pa55"),
        "{out}"
    );
    let stored = app.store.integrations().await.unwrap();
    let sample = stored.iter().find(|i| i.id == demo::SAMPLE_CLIENT).unwrap();
    assert_eq!(sample.webhook_url.as_deref(), Some(url), "kept exactly");
    let list = switchboard_cli(&app, &["integration", "list"]).await;
    assert!(
        list.contains("https://hooks.example.com/in")
            && !list.contains("A%2Fb")
            && !list.contains("pa55"),
        "{list}"
    );

    switchboard_cli(
        &app,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &integration,
            "--clear",
        ],
    )
    .await;
    let stored = app.store.integrations().await.unwrap();
    assert_eq!(
        stored
            .iter()
            .find(|i| i.id == demo::SAMPLE_CLIENT)
            .unwrap()
            .webhook_url,
        None
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let (ok, _, err) = cli_at(
        &app.database,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &unknown,
            "--clear",
        ],
    )
    .await;
    assert!(!ok && err.contains("there is no integration"), "{err}");
}

async fn switchboard_cli(app: &TestApp, args: &[&str]) -> String {
    let (ok, out, err) = cli_at(&app.database, args).await;
    assert!(ok, "switchboard {args:?}: {err}");
    out
}

#[tokio::test]
async fn only_old_delivered_deliveries_are_pruned() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[503, 503, 503]);
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "fails").await;
    wait_for_status(&app, "failed").await;
    app.add_message(PORTFOLIO, &thread, "arrives").await;
    for _ in 0..400 {
        if deliveries(&app)
            .await
            .iter()
            .any(|d| d.state.column() == "delivered")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let now = app.clock.now_ms();
    assert_eq!(
        app.store.prune_deliveries(now - 60_000).await.unwrap(),
        0,
        "recent ones stay"
    );
    assert_eq!(app.store.prune_deliveries(now + 60_000).await.unwrap(), 1);
    let left = deliveries(&app).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        left[0].state.column(),
        "failed",
        "failed deliveries stay for a retry"
    );
}

#[tokio::test]
async fn https_receivers_are_spoken_to_over_tls() {
    let app = spawn_app().await;
    // A plain-HTTP receiver behind an https URL: the TLS handshake must fail,
    // cleanly, and the plain receiver must never see the request.
    let receiver = Receiver::start().await;
    let url = receiver.base.replace("http://", "https://");
    hook(&app, &format!("{url}/hook")).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    let failed = wait_for_status(&app, "failed").await;
    let error = failed.last_error.unwrap();
    assert!(
        error.starts_with("cannot connect") || error.starts_with("request failed"),
        "{error}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let internal = Receiver::start().await;
    let target = format!("{}/internal-admin", internal.base);
    hook(&app, &format!("{}/elsewhere?{target}", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "hello").await;
    let failed = wait_for_status(&app, "failed").await;
    let error = failed.last_error.unwrap();
    assert!(
        error.contains("redirected to another scheme, host or port"),
        "{error}"
    );
    assert!(internal.received().is_empty(), "never sent elsewhere");
}

/// An app whose webhooks go to public addresses only, as `serve` does without
/// `--allow-private-webhooks`.
async fn public_only_app() -> TestApp {
    spawn_app_full(
        settings(),
        WebhookSettings {
            allow_private: false,
            ..webhook_settings()
        },
    )
    .await
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_unless_allowed() {
    let receiver = Receiver::start().await;
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    // Written as an address, and as a name that resolves to one.
    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
    ] {
        let app = public_only_app().await;
        hook(&app, &url).await;
        let thread = app.add_thread(PORTFOLIO, "A", "B").await;
        app.add_message(PORTFOLIO, &thread, "hello").await;
        let failed = wait_for_status(&app, "failed").await;
        let error = failed.last_error.unwrap();
        assert!(
            error.contains("is not public (serve --allow-private-webhooks allows it)"),
            "{url}: {error}"
        );
    }
    assert!(
        receiver.received().is_empty(),
        "nothing reached the receiver"
    );
}

const LOG: &str = "/api/operator/v1/webhooks/getAll";
const RESEND: &str = "/api/operator/v1/webhooks/retry";

#[tokio::test]
async fn the_delivery_log_keeps_every_attempt_and_never_the_secret() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.answer(&[500]);
    hook(&app, &format!("{}/hook?secret=s3cr3t", receiver.base)).await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    let message = app.add_message(PORTFOLIO, &thread, "hello").await;
    let wait = retry_wait(&app, 1).await;
    app.clock.advance(Duration::milliseconds(wait));
    wait_for_status(&app, "delivered").await;

    let log = app
        .staff(LOG, json!({"Limitation": {"Count": 10}}))
        .await
        .ok();
    assert!(!log.to_string().contains("s3cr3t"), "{log}");
    let delivery = &log["WebhookDeliveries"][0];
    assert_eq!(delivery["State"], "Delivered");
    assert_eq!(delivery["IntegrationId"], json!(demo::SAMPLE_CLIENT));
    assert_eq!(
        delivery["EnterpriseId"],
        json!(demo::GROSS),
        "the home of the token"
    );
    assert_eq!(delivery["MessageIds"], json!([message["Id"]]));
    assert_eq!(delivery["NextAttemptUtc"], Value::Null);
    let attempts = delivery["Attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(
        (
            &attempts[0]["Status"],
            &attempts[0]["Error"],
            &attempts[0]["Response"]
        ),
        (&json!(500), &Value::Null, &json!("answered 500"))
    );
    assert_eq!(attempts[1]["Status"], 200);
    assert_eq!(attempts[1]["Response"], "answered 200");
    let first: chrono::DateTime<chrono::Utc> =
        attempts[0]["StartedUtc"].as_str().unwrap().parse().unwrap();
    let second: chrono::DateTime<chrono::Utc> =
        attempts[1]["StartedUtc"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (second - first).num_milliseconds(),
        wait,
        "each attempt starts on the clock the server reads"
    );
    assert_eq!(log["Cursor"], delivery["Id"]);

    // Pruning a delivered delivery takes its attempts with it. It finished
    // when its last attempt ended: the clock's reading at the start plus the
    // attempt's real duration, which may be a millisecond or more.
    let finished = second.timestamp_millis() + attempts[1]["DurationMs"].as_i64().unwrap();
    let pruned = app.store.prune_deliveries(finished).await.unwrap();
    assert_eq!(pruned, 0, "only what finished before the cut is pruned");
    let pruned = app.store.prune_deliveries(finished + 1).await.unwrap();
    assert_eq!(pruned, 1);
    let log = app
        .staff(LOG, json!({"Limitation": {"Count": 10}}))
        .await
        .ok();
    assert_eq!(log["WebhookDeliveries"], json!([]));
}

#[tokio::test]
async fn the_log_names_an_error_kind_filters_pages_and_resends() {
    let app = spawn_app().await;
    // Nothing listens on port 9 of this machine: every attempt is refused.
    hook(&app, "http://127.0.0.1:9/hook?secret=s3cr3t").await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.add_message(PORTFOLIO, &thread, "one").await;
    // All three attempts of the test policy fail.
    let failed = wait_for_status(&app, "failed").await;
    let receiver = Receiver::start().await;
    hook(&app, &format!("{}/hook", receiver.base)).await;
    let other = app.add_message(PORTFOLIO, &thread, "two").await;
    receiver.wait_for_events(&[id(&other)]).await;
    wait_until_delivered(&app, |d| d.id != failed.id).await;

    let page = |body: Value| async { app.staff(LOG, body).await.ok() };
    let failed_only = page(json!({"States": ["Failed"], "Limitation": {"Count": 10}})).await;
    let deliveries = failed_only["WebhookDeliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["Id"], json!(failed.id));
    let attempts = deliveries[0]["Attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    for attempt in attempts {
        assert_eq!(
            (&attempt["Status"], &attempt["Error"], &attempt["Response"]),
            (&Value::Null, &json!("Connect"), &Value::Null)
        );
    }
    assert!(!failed_only.to_string().contains("s3cr3t"));

    // Newest first, a page at a time.
    let first = page(json!({"Limitation": {"Count": 1}})).await;
    assert_eq!(first["WebhookDeliveries"][0]["State"], "Delivered");
    let second = page(json!({"Limitation": {"Count": 1, "Cursor": first["Cursor"]}})).await;
    assert_eq!(second["WebhookDeliveries"][0]["Id"], json!(failed.id));
    let none = page(json!({"Limitation": {"Count": 1, "Cursor": second["Cursor"]}})).await;
    assert_eq!(none, json!({"WebhookDeliveries": [], "Cursor": null}));
    let other_integration = page(json!({
        "IntegrationIds": [demo::TEST_CLIENT_2], "Limitation": {"Count": 10}
    }))
    .await;
    assert_eq!(other_integration["WebhookDeliveries"], json!([]));
    app.staff(
        LOG,
        json!({"Limitation": {"Count": 1, "Cursor": uuid::Uuid::new_v4()}}),
    )
    .await
    .assert_message(
        400,
        "Limitation.Cursor is not the id of a webhook delivery.",
    );
    app.staff(LOG, json!({"States": ["Lost"], "Limitation": {"Count": 1}}))
        .await
        .assert_error(400);

    // Sent again now, to the receiver that listens: a fourth attempt.
    let unknown = uuid::Uuid::new_v4();
    let resent = app
        .staff(RESEND, json!({"WebhookDeliveryIds": [failed.id, unknown]}))
        .await
        .ok();
    assert_eq!(resent, json!({"WebhookDeliveryIds": [failed.id]}));
    wait_until_delivered(&app, |d| d.id == failed.id).await;
    let after = page(json!({"States": ["Delivered"], "Limitation": {"Count": 10}})).await;
    let resent = after["WebhookDeliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["Id"] == json!(failed.id))
        .cloned()
        .unwrap();
    let attempts = resent["Attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 4);
    assert_eq!(attempts[3]["Status"], 200);

    // The command line shows the attempts too.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["webhooks", "list", "--database", &app.database])
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains("attempt 3"), "{out}");
    assert!(out.contains("Connect"), "{out}");
    assert!(!out.contains("s3cr3t"), "{out}");
}

/// Waits until a delivery that `which` picks is delivered.
async fn wait_until_delivered(app: &TestApp, which: impl Fn(&DeliveryInfo) -> bool) {
    for _ in 0..400 {
        if deliveries(app)
            .await
            .iter()
            .any(|d| which(d) && d.state.column() == "delivered")
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not delivered: {:?}", deliveries(app).await);
}
