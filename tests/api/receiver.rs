//! A webhook receiver on port 0 inside the test process: it records every
//! request and answers as the test tells it to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{Notify, Semaphore};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
    pub referer: Option<String>,
    pub body: Value,
    /// The body exactly as it came (what a signature covers).
    pub raw: Bytes,
    pub headers: HeaderMap,
}

impl Received {
    /// A header's value, if the request had it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn event_ids(&self) -> Vec<String> {
        self.body["Events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| e["Value"]["Id"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    /// Statuses to answer with, in order; 200 once they run out.
    answers: Mutex<VecDeque<u16>>,
    arrived: Notify,
    /// When set, each request waits for a permit before it is answered.
    gate: Mutex<Option<Arc<Semaphore>>>,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    inner: Arc<Inner>,
}

async fn record(
    State(inner): State<Arc<Inner>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if path == "/moved-permanently" {
        return (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, "/hook?after=308")],
        )
            .into_response();
    }
    if path == "/moved-temporarily" {
        return (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, "/hook?after=307")],
        )
            .into_response();
    }
    // `/elsewhere?<url>`: a temporary redirect to any URL.
    if path == "/elsewhere" {
        let to = uri.query().unwrap_or_default().to_owned();
        return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response();
    }
    if path == "/found" {
        return (StatusCode::FOUND, [(header::LOCATION, "/hook?after=302")]).into_response();
    }
    inner.received.lock().unwrap().push(Received {
        path,
        query: uri.query().map(str::to_owned),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        referer: headers
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body,
        headers,
    });
    inner.arrived.notify_waiters();
    let gate = inner.gate.lock().unwrap().clone();
    if let Some(gate) = gate {
        let _permit = gate.acquire().await;
    }
    let status = inner.answers.lock().unwrap().pop_front().unwrap_or(200);
    // A body, so that the delivery log has an answer to keep.
    (
        StatusCode::from_u16(status).unwrap(),
        format!("answered {status}"),
    )
        .into_response()
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(address: &str) -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new().fallback(record).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .expect("bind receiver");
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, inner }
    }

    /// Answers the next requests with these statuses (then 200).
    pub fn answer(&self, statuses: &[u16]) {
        self.inner.answers.lock().unwrap().extend(statuses);
    }

    /// Holds every answer until [`Receiver::release`].
    pub fn hold(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.inner.gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what arrived; panics after 60 s (a guard
    /// against a hang, not a measure of speed: after a SIGKILL, a delivery the
    /// dead server had reserved waits for its lease to run out).
    pub async fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let wait = async {
            loop {
                let arrived = self.inner.arrived.notified();
                let received = self.received();
                if done(&received) {
                    return received;
                }
                arrived.await;
            }
        };
        match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(received) => received,
            Err(_) => panic!(
                "the receiver never got {what}; it got {:#?}",
                self.received()
            ),
        }
    }

    /// Waits until events with all of `ids` arrived (in 2xx-answered requests or not).
    pub async fn wait_for_events(&self, ids: &[String]) -> Vec<Received> {
        self.wait_until(&format!("events {ids:?}"), |received| {
            let got: Vec<String> = received.iter().flat_map(Received::event_ids).collect();
            ids.iter().all(|id| got.contains(id))
        })
        .await
    }
}
