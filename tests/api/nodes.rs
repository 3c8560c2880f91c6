//! Issue 5: several server nodes on one PostgreSQL database. These tests need
//! PostgreSQL; on the SQLite leg of the suite they say that they were skipped.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::{add_batches, cli, post, serve};
use crate::receiver::Receiver;

/// Two nodes on one fresh PostgreSQL database, or `None` (skipped) on SQLite.
async fn two_nodes(
    name: &str,
    flags: &[&str],
) -> Option<(TestDatabase, [crate::process::Server; 2])> {
    if !on_postgres() {
        eprintln!("skipped {name}: it needs {BACKEND}=postgres and {POSTGRES_URL}");
        return None;
    }
    let db = TestDatabase::new().await;
    let a = serve(&db, flags).await;
    let b = serve(&db, flags).await;
    Some((db, [a, b]))
}

#[tokio::test]
async fn threads_and_messages_written_on_one_node_page_correctly_on_the_other() {
    let Some((_db, nodes)) = two_nodes(
        "the paging test of two nodes",
        &["--rate-limit", "100000/1s"],
    )
    .await
    else {
        return;
    };
    let client = crate::helpers::http_client();
    let mut made = Vec::new();
    for i in 0..40 {
        let node = &nodes[i % 2];
        let body = with_creds(
            PORTFOLIO,
            json!({"OriginalSender": "A", "Subject": format!("#{i}")}),
        );
        let (status, reply) = post(&client, &node.base, ADD, &body).await.unwrap();
        assert_eq!(status, 200);
        made.push(
            reply["MessageThreads"][0]["Id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    made.reverse();
    let now = chrono::Utc::now();
    let interval = json!({"StartUtc": (now - chrono::Duration::days(1)).to_rfc3339(), "EndUtc": (now + chrono::Duration::days(1)).to_rfc3339()});
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    for page in 0.. {
        let node = &nodes[page % 2];
        let body = with_creds(
            PORTFOLIO,
            json!({"CreatedUtc": interval, "Limitation": {"Count": 7, "Cursor": cursor}}),
        );
        let (status, reply) = post(&client, &node.base, GET_ALL, &body).await.unwrap();
        assert_eq!(status, 200, "{reply}");
        let ids = ids(&reply["MessageThreads"]);
        if ids.is_empty() {
            break;
        }
        cursor = reply["Cursor"].clone();
        seen.extend(ids);
        assert!(page < 20, "the walk ends");
    }
    assert_eq!(
        seen, made,
        "every thread once, newest first, through both nodes"
    );

    // A message added on one node is read on the other.
    let items = json!({"Messages": [{"MessageThreadId": made[0], "Text": "hello"}]});
    let (status, _) = post(
        &client,
        &nodes[0].base,
        MESSAGES_ADD,
        &with_creds(PORTFOLIO, items),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    let body = with_creds(
        PORTFOLIO,
        json!({"MessageThreadIds": [made[0]], "Limitation": {"Count": 10}}),
    );
    let (_, reply) = post(&client, &nodes[1].base, MESSAGES_GET_ALL, &body)
        .await
        .unwrap();
    assert_eq!(reply["Messages"][0]["Text"], "hello");
}

#[tokio::test]
async fn the_rate_limit_holds_across_nodes() {
    let Some((_db, nodes)) = two_nodes(
        "the rate-limit test of two nodes",
        &["--rate-limit", "5/30s"],
    )
    .await
    else {
        return;
    };
    let client = crate::helpers::http_client();
    let body = with_creds(
        PORTFOLIO,
        json!({"MessageThreadIds": [uuid::Uuid::new_v4().to_string()], "Limitation": {"Count": 1}}),
    );
    for i in 0..5 {
        let (status, _) = post(&client, &nodes[i % 2].base, GET_ALL, &body)
            .await
            .unwrap();
        assert_eq!(status, 200, "request {i}");
    }
    for i in 0..4 {
        let (status, reply) = post(&client, &nodes[i % 2].base, GET_ALL, &body)
            .await
            .unwrap();
        assert_eq!(
            status,
            429,
            "request {} through node {}: {reply}",
            i + 6,
            i % 2
        );
    }
}

#[tokio::test]
async fn every_webhook_event_is_delivered_once_by_one_node() {
    let Some((db, nodes)) = two_nodes(
        "the webhook test of two nodes",
        &["--rate-limit", "100000/1s"],
    )
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    let (ok, _, err) = cli(
        &db,
        &[
            "integration",
            "set-webhook",
            "--integration",
            &switchboard::demo::SAMPLE_CLIENT.to_string(),
            "--url",
            &format!("{}/hook", receiver.base),
        ],
    )
    .await;
    assert!(ok, "{err}");
    let client = crate::helpers::http_client();
    let (_, thread) = post(
        &client,
        &nodes[0].base,
        ADD,
        &with_creds(PORTFOLIO, json!({"OriginalSender": "A", "Subject": "B"})),
    )
    .await
    .unwrap();
    let thread = thread["MessageThreads"][0]["Id"].clone();
    let bases = [nodes[0].base.as_str(), nodes[1].base.as_str()];
    let ids = add_batches(&client, &bases, &thread, 20, 5).await;
    let received = receiver.wait_for_events(&ids).await;
    let all: Vec<String> = received.iter().flat_map(|r| r.event_ids()).collect();
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), unique.len(), "no event was sent twice");
    assert_eq!(unique.len(), ids.len());
}

#[tokio::test]
async fn an_unreachable_database_stops_serve_at_once_with_its_host() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(15), output)
        .await
        .expect("serve gives up quickly")
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        err.contains("cannot connect to PostgreSQL at 127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--database", "postgres://host:notaport/x"])
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && err.contains("PostgreSQL URL is not valid"),
        "{err}"
    );
}

/// Every request reads its token's enterprises from the token's row
/// (migration 6). The migration fills it for the tokens already there, and
/// the database keeps it for rows that a node of the previous version, which
/// knows nothing of the copy, writes during a rolling upgrade: in their order,
/// whatever the order of the rows.
#[tokio::test]
async fn a_tokens_enterprises_are_copied_into_its_row_whoever_writes_them() {
    use switchboard::store;
    use switchboard::tokens::TokenHash;
    use uuid::Uuid;

    if !on_postgres() {
        eprintln!(
            "skipped the token enterprise copy test: it needs {BACKEND}=postgres and {POSTGRES_URL}"
        );
        return;
    }
    let db = TestDatabase::new().await;
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    tokio::spawn(connection);
    // The schema of version 5, as a node of that version left it.
    client
        .batch_execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_utc BIGINT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0);",
        )
        .await
        .unwrap();
    for sql in [
        include_str!("../../migrations/postgres/0001_init.sql"),
        include_str!("../../migrations/postgres/0002_clock.sql"),
        include_str!("../../migrations/postgres/0003_faults_attempts.sql"),
        include_str!("../../migrations/postgres/0004_ended_sessions.sql"),
        include_str!("../../migrations/postgres/0005_rate_log.sql"),
    ] {
        client.batch_execute(sql).await.unwrap();
    }
    let hotels: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let integration = Uuid::new_v4();
    for (i, hotel) in hotels.iter().enumerate() {
        client
            .execute(
                "INSERT INTO enterprises (id, name, created_utc) VALUES ($1, $2, 0)",
                &[hotel, &format!("Hotel {i}")],
            )
            .await
            .unwrap();
    }
    client
        .execute(
            "INSERT INTO integrations (id, name, client_token_hash, created_utc) \
             VALUES ($1, 'App', $2, 0)",
            &[&integration, &&TokenHash::of("client").0[..]],
        )
        .await
        .unwrap();
    // What a node of version 5 writes for a token: its row, then one row of
    // each enterprise (here out of their order).
    let old_node_adds = |secret: &'static str| {
        let client = &client;
        let hotels = &hotels;
        async move {
            let token = Uuid::new_v4();
            client
                .execute(
                    "INSERT INTO access_tokens (id, integration_id, token_hash, created_utc) \
                     VALUES ($1, $2, $3, 0)",
                    &[&token, &integration, &&TokenHash::of(secret).0[..]],
                )
                .await
                .unwrap();
            for position in [2, 0, 1] {
                client
                    .execute(
                        "INSERT INTO access_token_enterprises (token_id, position, enterprise_id) \
                         VALUES ($1, $2, $3)",
                        &[&token, &(position as i32), &hotels[position]],
                    )
                    .await
                    .unwrap();
            }
            token
        }
    };
    let before = old_node_adds("before the upgrade").await;

    let store = store::open(&db.url).await.expect("migrate and open");
    let after = old_node_adds("during the upgrade").await;
    for (token, secret) in [
        (before, "before the upgrade"),
        (after, "during the upgrade"),
    ] {
        let grant = store
            .find_access(TokenHash::of("client"), TokenHash::of(secret))
            .await
            .unwrap()
            .expect("the token is found");
        assert_eq!(grant.token_id, token);
        assert_eq!(grant.enterprises, hotels, "{secret}");
    }
    // A removed enterprise leaves the copy as well.
    client
        .execute(
            "DELETE FROM access_token_enterprises WHERE token_id = $1 AND position = 1",
            &[&after],
        )
        .await
        .unwrap();
    let listed = store.access_tokens().await.unwrap();
    let enterprises_of = |token: Uuid| {
        listed
            .iter()
            .find(|t| t.id == token)
            .map(|t| t.enterprises.clone())
    };
    assert_eq!(enterprises_of(before), Some(hotels.clone()));
    assert_eq!(enterprises_of(after), Some(vec![hotels[0], hotels[2]]));
}

/// `reset {"Faults", "RequestLog"}` and `requests/delete` sent to one node
/// empty what every node keeps: the faults in the database, and each
/// node's own request log in its memory.
#[tokio::test]
async fn reset_and_requests_delete_reach_every_node() {
    let Some((_db, nodes)) = two_nodes(
        "the reset test of two nodes",
        &["--operator-token", OPERATOR_TOKEN],
    )
    .await
    else {
        return;
    };
    let client = http_client();
    let staff = |node: usize, path: &'static str, body: Value| {
        let request = client
            .post(format!("{}{path}", nodes[node].base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let logged = |node: usize| {
        let page = staff(
            node,
            paths::REQUESTS_GET_ALL,
            json!({"Limitation": {"Count": 100}}),
        );
        async move { page.await["Requests"].as_array().unwrap().len() }
    };
    let list = with_creds(
        PORTFOLIO,
        json!({"MessageThreadIds": [uuid::Uuid::new_v4()], "Limitation": {"Count": 1}}),
    );
    let get_all = |node: usize| post(&client, &nodes[node].base, GET_ALL, &list);

    for round in ["requests/delete", "reset"] {
        for node in [0, 1] {
            assert_eq!(get_all(node).await.unwrap().0, 200);
        }
        assert_eq!((logged(0).await, logged(1).await), (1, 1), "{round}");
        if round == "reset" {
            staff(
                1,
                paths::FAULTS_ADD,
                json!({"Operation": "*", "Status": 500, "Match": {"MessageThreadId": uuid::Uuid::new_v4()}}),
            )
            .await;
            staff(0, paths::RESET, json!({"Faults": true, "RequestLog": true})).await;
        } else {
            staff(0, paths::REQUESTS_DELETE, json!({})).await;
        }
        assert_eq!((logged(0).await, logged(1).await), (0, 0), "{round}");
        for node in [0, 1] {
            let faults = staff(node, paths::FAULTS_GET_ALL, json!({})).await;
            assert_eq!(faults["Faults"], json!([]), "{round}");
        }
        // What comes after is logged again.
        assert_eq!(get_all(1).await.unwrap().0, 200);
        assert_eq!((logged(0).await, logged(1).await), (0, 1), "{round}");
        staff(1, paths::REQUESTS_DELETE, json!({})).await;
    }
}

/// A webhook fault's `Times` counts once per use across nodes: with two
/// nodes sending, exactly that many deliveries go out twice.
#[tokio::test]
async fn a_webhook_faults_times_is_exact_across_nodes() {
    let Some((_db, nodes)) = two_nodes(
        "the webhook fault test of two nodes",
        &[
            "--operator-token",
            OPERATOR_TOKEN,
            "--rate-limit",
            "100000/1s",
        ],
    )
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    let client = http_client();
    let staff = |node: usize, path: &'static str, body: Value| {
        let request = client
            .post(format!("{}{path}", nodes[node].base))
            .bearer_auth(OPERATOR_TOKEN)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
        }
    };
    staff(
        0,
        paths::INTEGRATIONS_UPDATE,
        json!({"IntegrationId": switchboard::demo::SAMPLE_CLIENT, "WebhookUrl": format!("{}/hook", receiver.base)}),
    )
    .await;
    staff(
        1,
        paths::FAULTS_ADD,
        json!({"Operation": "webhook", "Webhook": "Duplicate", "Times": 3}),
    )
    .await;
    let body = with_creds(PORTFOLIO, json!({"OriginalSender": "G", "Subject": "S"}));
    let (_, added) = post(&client, &nodes[0].base, ADD, &body).await.unwrap();
    let thread = added["MessageThreads"][0]["Id"].clone();
    let mut ids = Vec::new();
    for i in 0..12 {
        let message = with_creds(
            PORTFOLIO,
            json!({"Messages": [{"MessageThreadId": thread, "Text": format!("{i}")}]}),
        );
        let (status, added) = post(&client, &nodes[i % 2].base, MESSAGES_ADD, &message)
            .await
            .unwrap();
        assert_eq!(status, 200);
        ids.extend(added_ids(&added));
        // One delivery each: the next is written once this one went out.
        let last = ids.last().unwrap().clone();
        receiver.wait_for_events(&[last]).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for received in receiver.received() {
        *seen
            .entry(received.header("webhook-id").unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 12, "one delivery per message");
    assert_eq!(seen.values().filter(|n| **n == 2).count(), 3, "{seen:?}");
}
