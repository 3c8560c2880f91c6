//! SPEC §3, §12: while the database cannot be reached, every answer says so
//! honestly (503 with `Retry-After` and the error body, never a 500), and
//! the server serves again by itself once the database is back.
//!
//! PostgreSQL is reached through a proxy in the test, which can cut every
//! connection and refuse new ones, as a restart of the database does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::*;
use crate::process::serve;

/// A TCP proxy to PostgreSQL that can be cut and restored on the same port.
pub struct Proxy {
    pub port: u16,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let proxy = Self {
            port,
            target,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (target, tasks) = (self.target, self.tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(relay);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Every connection closed, and new ones refused.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Accepting again, on the same port.
    pub async fn restore(&self) {
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(("127.0.0.1", self.port)).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot listen on port {} again", self.port);
    }
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_everywhere_and_then_passes() {
    if !on_postgres() {
        eprintln!("skipped: the outage test cuts PostgreSQL (the PostgreSQL run checks it)");
        return;
    }
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
    let server = serve(&db, &["--operator-token", OPERATOR_TOKEN]).await;
    let client = http_client();
    let connector = |path: &str, fields: Value| {
        client
            .post(format!("{}{path}", server.base))
            .json(&with_creds(PORTFOLIO, fields))
            .send()
    };
    let added = connector(ADD, json!({"OriginalSender": "Guest", "Subject": "Before"}))
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let added: Value = added.json().await.unwrap();
    let thread = added["MessageThreads"][0]["Id"].clone();
    let login = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/inbox/login", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={OPERATOR_TOKEN}"))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    proxy.cut();
    let requests = [
        (ADD, json!({"OriginalSender": "Guest", "Subject": "During"})),
        (
            MESSAGES_ADD,
            json!({"Messages": [{"MessageThreadId": thread, "Text": "Hello?"}]}),
        ),
        (
            MESSAGES_GET_ALL,
            json!({"MessageThreadIds": [thread], "Limitation": {"Count": 5}}),
        ),
    ];
    for (path, fields) in &requests {
        let answer = connector(path, fields.clone()).await.unwrap();
        assert_eq!(answer.status(), 503, "{path}");
        assert_eq!(answer.headers()["retry-after"], "5", "{path}");
        let request_id = answer.headers()["request-id"].to_str().unwrap().to_owned();
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["RequestId"], request_id);
        assert!(
            body["Message"]
                .as_str()
                .unwrap()
                .starts_with("The database cannot be reached right now."),
            "{body}"
        );
    }
    let staff = client
        .post(format!("{}{STAFF_THREADS_GET_ALL}", server.base))
        .bearer_auth(OPERATOR_TOKEN)
        .json(&json!({"Limitation": {"Count": 5}}))
        .send()
        .await
        .unwrap();
    assert_eq!(staff.status(), 503);
    let inbox = client
        .get(format!("{}/inbox", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 503);
    assert_eq!(inbox.headers()["retry-after"], "5");
    assert!(
        inbox
            .text()
            .await
            .unwrap()
            .contains("The inbox cannot reach its database")
    );
    let ready = client
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let healthy = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(healthy.status(), 200, "the process itself is fine");

    proxy.restore().await;
    let mut answered = None;
    for _ in 0..100 {
        let answer = connector(ADD, json!({"OriginalSender": "Guest", "Subject": "After"}))
            .await
            .unwrap();
        let status = answer.status().as_u16();
        assert!(
            status == 200 || status == 503,
            "{status}: {}",
            server.log_text()
        );
        if status == 200 {
            answered = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        answered.is_some(),
        "the server serves again once the database is back"
    );
    let listed: Value = connector(
        ADD.replace("add", "getAll").as_str(),
        json!({"MessageThreadIds": [thread], "Limitation": {"Count": 5}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(listed["MessageThreads"][0]["Subject"], "Before");
    let log = server.log_text();
    assert!(log.contains("database out of reach"), "{log}");
    assert!(
        !log.lines().any(|line| line.contains("ERROR")),
        "an outage is no error of the server: {log}"
    );
}
