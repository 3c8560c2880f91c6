//! The load generator: `clients` keep-alive HTTP/1.1 connections, each sending
//! its next request as soon as the previous answer is read in full.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;

/// One request to send: path and JSON body.
pub struct Call {
    pub path: &'static str,
    pub body: Bytes,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub latencies_us: Vec<u32>,
    pub response_bytes: u64,
}

impl Stats {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        percentile(&self.latencies_us, p) / 1000.0
    }

    pub fn mean_response_bytes(&self) -> usize {
        (self.response_bytes / self.requests.max(1)) as usize
    }
}

/// The `p`-th percentile (0..=100) of unsorted microsecond samples.
pub fn percentile(samples: &[u32], p: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

pub type MakeCall = dyn Fn(usize, u64) -> Call + Send + Sync;
pub type OnAnswer = dyn Fn(&Bytes, Instant) + Send + Sync;

/// Runs the load for `duration`; `make(client, n)` gives each request.
pub async fn run(
    address: SocketAddr,
    clients: usize,
    duration: Duration,
    make: Arc<MakeCall>,
    on_answer: Option<Arc<OnAnswer>>,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (make, on_answer) = (make.clone(), on_answer.clone());
        tasks.push(tokio::spawn(async move {
            one_client(address, client, deadline, make, on_answer).await
        }));
    }
    let mut total = Stats::default();
    for task in tasks {
        let stats = task.await??;
        total.requests += stats.requests;
        total.errors += stats.errors;
        total.response_bytes += stats.response_bytes;
        total.latencies_us.extend(stats.latencies_us);
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}

async fn one_client(
    address: SocketAddr,
    client: usize,
    deadline: Instant,
    make: Arc<MakeCall>,
    on_answer: Option<Arc<OnAnswer>>,
) -> anyhow::Result<Stats> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut stats = Stats::default();
    let mut n = 0u64;
    while Instant::now() < deadline {
        let call = make(client, n);
        n += 1;
        let request = hyper::Request::post(call.path)
            .header("host", "bench")
            .header("content-type", "application/json")
            .body(Full::new(call.body))?;
        sender.ready().await?;
        let sent = Instant::now();
        let response = sender.send_request(request).await?;
        let ok = response.status().is_success();
        let body = response.into_body().collect().await?.to_bytes();
        let answered = Instant::now();
        stats
            .latencies_us
            .push(u32::try_from((answered - sent).as_micros()).unwrap_or(u32::MAX));
        stats.requests += 1;
        stats.response_bytes += body.len() as u64;
        if !ok {
            stats.errors += 1;
        }
        if let Some(on_answer) = &on_answer {
            on_answer(&body, answered);
        }
    }
    Ok(stats)
}
