//! The test harness: `spawn_app()` starts the real application on port 0 with a
//! fresh SQLite database (the demo tenant seeded) and a manual clock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use switchboard::clock::{FakeRealClock, ManualClock};
use switchboard::demo;
use switchboard::domain::time::Timestamp;
use switchboard::domain::webhook::RetryPolicy;
use switchboard::http::serve::{self, Limits};
use switchboard::http::{Settings, router};
use switchboard::server::{Node, Parts, compose};
use switchboard::store::{self, Store};
use switchboard::tokens::TokenHash;
use switchboard::webhooks::{Wake, WebhookSettings};
use tempfile::TempDir;

pub use paths::{
    MESSAGES_ADD, MESSAGES_GET_ALL, STAFF_MESSAGES_ADD, STAFF_MESSAGES_GET_ALL,
    STAFF_THREADS_GET_ALL, STAFF_THREADS_UPDATE, THREADS_ADD as ADD, THREADS_GET_ALL as GET_ALL,
};

/// The addresses of the operations the tests call by name, from the
/// server's own table.
pub mod paths {
    use switchboard::operations::{Api, Operation as O};

    pub const THREADS_GET_ALL: &str = O::ThreadsGetAll.path();
    pub const THREADS_ADD: &str = O::ThreadsAdd.path();
    pub const MESSAGES_GET_ALL: &str = O::MessagesGetAll.path();
    pub const MESSAGES_ADD: &str = O::MessagesAdd.path();
    pub const STAFF_THREADS_GET_ALL: &str = O::StaffThreadsGetAll.path();
    pub const STAFF_THREADS_UPDATE: &str = O::StaffThreadsUpdate.path();
    pub const STAFF_MESSAGES_GET_ALL: &str = O::StaffMessagesGetAll.path();
    pub const STAFF_MESSAGES_ADD: &str = O::StaffMessagesAdd.path();
    pub const CLOCK_GET: &str = O::ClockGet.path();
    pub const CLOCK_SET: &str = O::ClockSet.path();
    pub const CLOCK_ADVANCE: &str = O::ClockAdvance.path();
    pub const RESET: &str = O::Reset.path();
    pub const FAULTS_ADD: &str = O::FaultsAdd.path();
    pub const FAULTS_GET_ALL: &str = O::FaultsGetAll.path();
    pub const FAULTS_DELETE: &str = O::FaultsDelete.path();
    pub const WEBHOOKS_GET_ALL: &str = O::WebhooksGetAll.path();
    pub const WEBHOOKS_RETRY: &str = O::WebhooksRetry.path();
    pub const REQUESTS_GET_ALL: &str = O::RequestsGetAll.path();
    pub const REQUESTS_DELETE: &str = O::RequestsDelete.path();
    pub const ENTERPRISES_ADD: &str = O::EnterprisesAdd.path();
    pub const ENTERPRISES_GET_ALL: &str = O::EnterprisesGetAll.path();
    pub const INTEGRATIONS_ADD: &str = O::IntegrationsAdd.path();
    pub const INTEGRATIONS_GET_ALL: &str = O::IntegrationsGetAll.path();
    pub const INTEGRATIONS_UPDATE: &str = O::IntegrationsUpdate.path();
    pub const ACCESS_TOKENS_ADD: &str = O::AccessTokensAdd.path();
    pub const ACCESS_TOKENS_GET_ALL: &str = O::AccessTokensGetAll.path();
    pub const ACCESS_TOKENS_REVOKE: &str = O::AccessTokensRevoke.path();

    /// Every operation's address.
    pub fn operations() -> Vec<&'static str> {
        O::ALL.iter().map(|op| op.path()).collect()
    }

    /// Whether the operation at `path` is the staff's.
    pub fn is_staff(path: &str) -> bool {
        O::at(path).is_some_and(|op| op.api() == Api::Operator)
    }
}

/// The operator token of every test server.
pub const OPERATOR_TOKEN: &str = "test-operator-token";

/// An HTTP client for the tests. reqwest is built with rustls and no built-in
/// crypto provider (as the server is), so the provider is installed first.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A ClientToken and AccessToken pair.
#[derive(Clone, Copy, Debug)]
pub struct Creds {
    pub client: &'static str,
    pub access: &'static str,
}

/// Sample Client's portfolio token: home Gross, also Net.
pub const PORTFOLIO: Creds = Creds {
    client: demo::CLIENT_TOKEN,
    access: demo::PORTFOLIO_ACCESS_TOKEN,
};
/// Sample Client's token for Net only.
pub const NET_ONLY: Creds = Creds {
    client: demo::CLIENT_TOKEN,
    access: demo::NET_ACCESS_TOKEN,
};
/// Test Client 2's token for Gross only.
pub const OTHER_CLIENT: Creds = Creds {
    client: demo::CLIENT_TOKEN_2,
    access: demo::GROSS_ACCESS_TOKEN_2,
};

/// Where the manual clock starts.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    /// Real time, which rate windows and sessions follow.
    pub real_clock: Arc<FakeRealClock>,
    pub store: Arc<dyn Store>,
    /// Wakes the webhook worker, as a commit would.
    pub wake: Arc<Wake>,
    /// The `sqlite://` URL of the test's database, for the CLI.
    pub database: String,
    _node: Node,
    _database: TestDatabase,
}

/// The settings of SPEC.md, with [`OPERATOR_TOKEN`] for the staff API.
pub fn settings() -> Settings {
    Settings {
        operator_token: TokenHash::of(OPERATOR_TOKEN),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings()).await
}

/// Webhook settings of the tests: the real retry waits (the tests move the
/// manual clock past them), 3 attempts, and a poll interval so long that only a
/// commit or a move of the clock can wake the worker in time.
pub fn webhook_settings() -> WebhookSettings {
    WebhookSettings {
        retry: RetryPolicy {
            attempts: 3,
            ..RetryPolicy::default()
        },
        poll: std::time::Duration::from_secs(3600),
        // The tests' receivers listen on 127.0.0.1.
        allow_private: true,
        ..WebhookSettings::default()
    }
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_full(settings, webhook_settings()).await
}

/// The variable that selects the backend of the whole suite: `postgres`, or
/// anything else (or nothing) for SQLite.
pub const BACKEND: &str = "SWITCHBOARD_TEST_BACKEND";
/// The PostgreSQL server to create test databases on, such as
/// `postgres://postgres@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

pub fn on_postgres() -> bool {
    std::env::var(BACKEND).is_ok_and(|b| b == "postgres")
}

/// A database of the suite's backend, made for one test and removed after it.
pub struct TestDatabase {
    pub url: String,
    /// `(server URL, database name)` of a PostgreSQL database to drop.
    postgres: Option<(String, String)>,
    _dir: TempDir,
}

impl TestDatabase {
    /// A folder that lives as long as the database, for logs and such.
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A database of the suite's backend.
    pub async fn new() -> Self {
        if on_postgres() {
            Self::postgres()
                .await
                .unwrap_or_else(|| panic!("{BACKEND}=postgres needs {POSTGRES_URL}"))
        } else {
            Self::sqlite()
        }
    }

    /// A database of the suite's backend with its tables made, as `serve`
    /// leaves it: the CLI's other verbs refuse a database nobody made.
    pub async fn made() -> Self {
        let db = Self::new().await;
        switchboard::store::open(&db.url)
            .await
            .expect("make the test database");
        db
    }

    /// A new SQLite file, whatever the suite's backend.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            postgres: None,
            _dir: dir,
        }
    }

    /// A new PostgreSQL database, whatever the suite's backend; `None` when
    /// `SWITCHBOARD_TEST_POSTGRES_URL` names no server.
    pub async fn postgres() -> Option<Self> {
        let server = std::env::var(POSTGRES_URL).ok()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let name = format!("switchboard_test_{}", uuid::Uuid::new_v4().simple());
        let (client, connection) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create a test database");
        let mut url = reqwest::Url::parse(&server).expect("a PostgreSQL URL");
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            postgres: Some((server, name)),
            _dir: dir,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async code: a thread of its own does the clean-up.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&server, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Ok(Err(e)) = done.join() {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

pub async fn spawn_app_full(settings: Settings, webhooks: WebhookSettings) -> TestApp {
    let database = TestDatabase::new().await;
    let url = database.url.clone();
    let store = store::open(&url).await.expect("open store");
    demo::seed(store.as_ref(), Timestamp::truncate(start_time()))
        .await
        .expect("seed demo tenant");
    // The manual clock is kept in the database too, as `serve --clock manual`
    // does; this node's copy shows that move, so that the database's
    // announcement of it, which may come later, changes nothing.
    let started = store
        .start_clock(start_time().timestamp_millis())
        .await
        .expect("start the manual clock");
    let clock = Arc::new(ManualClock::at(started.version, started.now_ms));
    let real_clock = Arc::new(FakeRealClock::new(start_time().timestamp_millis()));
    let node = compose(Parts {
        store: store.clone(),
        clock: clock.clone(),
        real_clock: real_clock.clone(),
        settings,
        webhooks,
        request_log: switchboard::request_log::DEFAULT_LENGTH,
        public_url: None,
    })
    .await
    .expect("compose a node");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The server's own accept loop, with its limits, until the test ends.
    tokio::spawn(serve::serve(
        listener,
        router(node.app.clone()),
        node.app.metrics.clone(),
        Limits::default(),
        std::future::pending(),
    ));
    TestApp {
        base,
        client: crate::helpers::http_client(),
        clock,
        real_clock,
        store,
        wake: node.app.webhooks.clone(),
        database: url,
        _node: node,
        _database: database,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Checks the status and the error body of SPEC §3, including that `RequestId`
    /// equals the `Request-Id` header; returns the message.
    pub fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "status; body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        let body = self.json();
        let id = self.header("request-id").expect("Request-Id header");
        assert!(uuid::Uuid::try_parse(id).is_ok(), "Request-Id is a UUID");
        assert_eq!(
            body["RequestId"], id,
            "RequestId equals the Request-Id header"
        );
        assert_eq!(
            body.as_object().unwrap().len(),
            2,
            "only Message and RequestId: {body}"
        );
        body["Message"].as_str().expect("Message").to_owned()
    }

    /// Checks the status and the exact message of an error.
    pub fn assert_message(&self, status: u16, message: &str) {
        assert_eq!(self.assert_error(status), message);
    }

    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert!(self.header("request-id").is_some());
        self.json()
    }
}

impl TestApp {
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }

    /// Sends raw bytes on a new connection and reads until the server closes it.
    pub async fn raw(&self, request: &[u8]) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let address = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.write_all(request).await.expect("write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// Posts `fields` with `creds` and the `Client` name added.
    pub async fn call(&self, path: &str, creds: Creds, fields: Value) -> Reply {
        self.post(path, &with_creds(creds, fields)).await
    }

    /// Posts `body` to an operator operation with the operator token.
    pub async fn staff(&self, path: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/json")
                .bearer_auth(OPERATOR_TOKEN)
                .body(body.to_string()),
        )
        .await
    }

    /// Adds one message from the app; returns the stored message.
    pub async fn add_message(&self, creds: Creds, thread: &Value, text: &str) -> Value {
        let reply = self
            .call(
                MESSAGES_ADD,
                creds,
                json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": text}]}),
            )
            .await;
        reply.ok()["Messages"][0]["Message"].clone()
    }

    /// Adds one staff reply; returns the stored message.
    pub async fn reply(&self, thread: &Value, text: &str) -> Value {
        let reply = self
            .staff(
                STAFF_MESSAGES_ADD,
                json!({"Messages": [{"MessageThreadId": thread["Id"], "Text": text}]}),
            )
            .await;
        reply.ok()["Messages"][0]["Message"].clone()
    }

    /// The messages of `thread` that `creds` can see, newest first.
    pub async fn messages_of(&self, creds: Creds, thread: &Value) -> Value {
        self.call(
            MESSAGES_GET_ALL,
            creds,
            json!({"MessageThreadIds": [thread["Id"]], "Limitation": {"Count": 1000}}),
        )
        .await
        .ok()["Messages"]
            .clone()
    }

    pub async fn add_thread(&self, creds: Creds, sender: &str, subject: &str) -> Value {
        let reply = self
            .call(
                ADD,
                creds,
                json!({"OriginalSender": sender, "Subject": subject}),
            )
            .await;
        reply.ok()["MessageThreads"][0].clone()
    }

    /// Adds a thread in a given enterprise of the token's scope.
    pub async fn add_thread_in(
        &self,
        creds: Creds,
        enterprise: uuid::Uuid,
        sender: &str,
        subject: &str,
    ) -> Value {
        let fields = json!({"OriginalSender": sender, "Subject": subject, "EnterpriseId": enterprise.to_string()});
        self.call(ADD, creds, fields).await.ok()["MessageThreads"][0].clone()
    }

    /// `getAll` with a creation interval covering the test's whole time span.
    pub async fn get_threads(&self, creds: Creds, fields: Value) -> Reply {
        let mut body = json!({
            "CreatedUtc": everything(),
            "Limitation": {"Count": 1000},
        });
        merge(&mut body, fields);
        self.call(GET_ALL, creds, body).await
    }

    /// The ids of every thread `creds` can see, newest first.
    pub async fn visible_thread_ids(&self, creds: Creds) -> Vec<String> {
        ids(&self.get_threads(creds, json!({})).await.ok()["MessageThreads"])
    }
}

/// A creation interval that covers every thread a test makes.
pub fn everything() -> Value {
    json!({"StartUtc": "2026-01-01T00:00:00Z", "EndUtc": "2026-04-01T00:00:00Z"})
}

pub fn with_creds(creds: Creds, fields: Value) -> Value {
    let mut body = json!({
        "ClientToken": creds.client,
        "AccessToken": creds.access,
        "Client": "switchboard tests 1.0",
    });
    merge(&mut body, fields);
    body
}

/// Sets every property of `extra` on `body` (a `null` is sent as `null`).
pub fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        for (key, value) in extra {
            body.insert(key, value);
        }
    }
}

/// The message ids of a `messages/add` answer, in request order.
pub fn added_ids(answer: &Value) -> Vec<String> {
    answer["Messages"]
        .as_array()
        .expect("Messages")
        .iter()
        .map(|added| added["Message"]["Id"].as_str().expect("Id").to_owned())
        .collect()
}

pub fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item["Id"].as_str().expect("Id").to_owned())
        .collect()
}
