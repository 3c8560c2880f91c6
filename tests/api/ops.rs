//! SPEC §1 other endpoints: health, readiness, metrics.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn healthz_and_readyz_answer_ok() {
    let app = spawn_app().await;
    let health = app
        .send(app.client.get(format!("{}/healthz", app.base)))
        .await;
    assert_eq!(health.ok(), json!({"Status": "ok"}));
    let ready = app
        .send(app.client.get(format!("{}/readyz", app.base)))
        .await;
    assert_eq!(ready.ok(), json!({"Status": "ready"}));
}

/// From its second request on, a token's operation goes with its admission
/// (one round trip on PostgreSQL), and `/metrics` shows it.
#[tokio::test]
async fn a_tokens_later_requests_travel_with_their_admission() {
    let app = spawn_app().await;
    let thread = app.add_thread(PORTFOLIO, "A", "B").await;
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    app.add_thread(PORTFOLIO, "C", "D").await;
    app.call(
        MESSAGES_GET_ALL,
        PORTFOLIO,
        json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 10}}),
    )
    .await
    .ok();
    app.call(
        MESSAGES_ADD,
        PORTFOLIO,
        json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": "Hi"}]}),
    )
    .await
    .ok();
    let text = app
        .send(app.client.get(format!("{}/metrics", app.base)))
        .await
        .text;
    let mut admissions: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("switchboard_admissions_total"))
        .collect();
    admissions.sort_unstable();
    assert_eq!(
        admissions,
        [
            "switchboard_admissions_total{outcome=\"alone\"} 1",
            "switchboard_admissions_total{outcome=\"together\"} 4",
        ]
    );
    assert_eq!(app.visible_thread_ids(PORTFOLIO).await.len(), 2);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_group_commit() {
    let app = spawn_app().await;
    app.add_thread(PORTFOLIO, "A", "B").await;
    app.get_threads(PORTFOLIO, json!({})).await.ok();
    app.send(app.client.get(format!("{}/missing", app.base)))
        .await;
    let reply = app
        .send(app.client.get(format!("{}/metrics", app.base)))
        .await;
    assert_eq!(reply.status, 200);
    let text = reply.text;
    for line in [
        "switchboard_http_requests_total{route=\"/api/connector/v1/messageThreads/add\",status=\"200\"} 1",
        "switchboard_http_requests_total{route=\"/api/connector/v1/messageThreads/getAll\",status=\"200\"} 1",
        "switchboard_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(text.contains("switchboard_http_request_duration_seconds_bucket"));
    if on_postgres() {
        // PostgreSQL groups commits itself; the counters are the SQLite writer's.
        return;
    }
    // The demo seed and the thread: at least 8 writes, in at least one commit.
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{text}"))
    };
    assert!(value("switchboard_store_writes_total") >= 8);
    assert!(value("switchboard_store_commits_total") >= 1);
}
