//! Slow and idle clients cannot starve the server or hold up its exit: the
//! header deadline, the connection cap and the drain deadline, on the binary.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::process::serve;

/// Opens a connection that sends half a request head and then nothing.
async fn slow_client(base: &str) -> TcpStream {
    let address = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream
        .write_all(b"POST /api/connector/v1/messageThreads/getAll HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send half a head");
    stream
}

/// Whether the server closed `stream` within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let read = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // an error answer, then the close
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

async fn healthz(base: &str) -> reqwest::Result<u16> {
    let reply = http_client().get(format!("{base}/healthz")).send().await?;
    Ok(reply.status().as_u16())
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--header-timeout", "1s"]).await;
    let mut stream = slow_client(&server.base).await;
    assert!(
        closed_within(&mut stream, Duration::from_secs(10)).await,
        "the server closes a connection whose headers do not arrive within 1 s"
    );
}

#[tokio::test]
async fn above_the_cap_a_new_connection_waits_until_one_closes() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--max-connections", "2", "--header-timeout", "60s"]).await;
    let first = slow_client(&server.base).await;
    let _second = slow_client(&server.base).await;
    let waiting = tokio::time::timeout(Duration::from_millis(1500), healthz(&server.base)).await;
    assert!(waiting.is_err(), "a third connection waits: {waiting:?}");
    drop(first);
    let answered = tokio::time::timeout(Duration::from_secs(10), healthz(&server.base))
        .await
        .expect("answered once a connection closed")
        .unwrap();
    assert_eq!(answered, 200);
}

#[tokio::test]
async fn slow_clients_beyond_the_cap_leave_room_for_a_normal_client() {
    let db = TestDatabase::new().await;
    let server = serve(&db, &["--max-connections", "4", "--header-timeout", "1s"]).await;
    let mut slow = Vec::new();
    for _ in 0..12 {
        slow.push(slow_client(&server.base).await);
    }
    // Each slow client is cut off after a second, so the normal one gets its
    // turn within a few seconds; the guard is generous.
    let answered = tokio::time::timeout(Duration::from_secs(30), healthz(&server.base))
        .await
        .expect("a normal client is answered")
        .unwrap();
    assert_eq!(answered, 200);
}

#[tokio::test]
async fn shutdown_does_not_wait_for_clients_past_the_drain_deadline() {
    let db = TestDatabase::new().await;
    let mut server = serve(
        &db,
        &["--shutdown-timeout", "1s", "--header-timeout", "60s"],
    )
    .await;
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(slow_client(&server.base).await);
    }
    let pid = server.child.id().expect("running") as i32;
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::time::timeout(Duration::from_secs(10), server.child.wait())
        .await
        .expect("the process exits soon after the 1 s drain deadline")
        .unwrap();
    assert!(status.success(), "{status}");
}
