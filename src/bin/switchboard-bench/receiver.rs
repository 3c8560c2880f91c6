//! A webhook receiver inside the harness for S5: counts events and the time from
//! the answer that acknowledged a message to the arrival of its event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[derive(Default)]
pub struct Tally {
    /// When the message add that created each message id was answered.
    pub acknowledged: Mutex<HashMap<String, Instant>>,
    /// Event arrival minus acknowledgement, in microseconds.
    pub latencies_us: Mutex<Vec<u32>>,
    pub events: Mutex<u64>,
    /// Events that arrived before their acknowledgement was recorded.
    pub early: Mutex<HashMap<String, Instant>>,
}

impl Tally {
    pub fn acknowledge(&self, id: String, at: Instant) {
        if let Some(arrived) = self.early.lock().unwrap().remove(&id) {
            // The event beat the answer to the client: count it as zero.
            let _ = arrived;
            self.latencies_us.lock().unwrap().push(0);
        } else {
            self.acknowledged.lock().unwrap().insert(id, at);
        }
    }

    fn arrived(&self, id: String, at: Instant) {
        *self.events.lock().unwrap() += 1;
        match self.acknowledged.lock().unwrap().remove(&id) {
            Some(acked) => self
                .latencies_us
                .lock()
                .unwrap()
                .push(u32::try_from((at - acked).as_micros()).unwrap_or(u32::MAX)),
            None => {
                self.early.lock().unwrap().insert(id, at);
            }
        }
    }
}

/// Starts the receiver; returns its URL.
pub async fn start(tally: Arc<Tally>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tally = tally.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<Incoming>| {
                    let tally = tally.clone();
                    async move {
                        let body = request.into_body().collect().await?.to_bytes();
                        let at = Instant::now();
                        if let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) {
                            for event in payload["Events"].as_array().into_iter().flatten() {
                                if let Some(id) = event["Value"]["Id"].as_str() {
                                    tally.arrived(id.to_owned(), at);
                                }
                            }
                        }
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}
