//! `switchboard-bench`: loads a running switchboard the way its users do and
//! compares it with a minimal HTTP server answering the same number of bytes
//! (the floor), in the same run. See BENCHMARKS.md for how to run it and for the
//! figures of this machine.

mod data_floor;
mod dataset;
mod floor;
mod inbox;
mod instructions;
mod load;
mod measure;
mod receiver;
mod scenarios;
mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hyper::body::Bytes;
use serde_json::{Value, json};

use dataset::Dataset;
use load::Call;
pub(crate) use measure::*;

/// The server's allocator, so that the data floor (run in this process) and
/// the HTTP floor cost what they would in the server.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The scenario `--profile` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Profiled {
    S1,
    S2,
    /// S2's page after its deep cursor.
    S2Deep,
    /// `messages/add` with one message a request, each connection in a
    /// thread of its own: guests' chat messages.
    Message,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmarks of switchboard against a minimal HTTP server")]
struct Args {
    /// Threads in the generated database.
    #[arg(long, default_value_t = 1_000_000)]
    threads: usize,
    /// Runs of each scenario; figures are their medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Seconds of load in each run.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Where the databases go.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Run on this database instead of a SQLite file in --dir: an empty
    /// PostgreSQL database (postgres://...) that the harness fills once.
    #[arg(long)]
    database: Option<String>,
    /// Time `switchboard export` of the database and `switchboard import` of
    /// the file (into a new SQLite file in --dir, or into --import-into),
    /// instead of the load scenarios.
    #[arg(long)]
    transfer: bool,
    /// With --transfer: the empty database to import into (postgres://...).
    #[arg(long, requires = "transfer")]
    import_into: Option<String>,
    /// The server's --request-log (its default, 1000, when not given), to
    /// measure what the request log costs.
    #[arg(long)]
    request_log: Option<usize>,
    /// Send the requests of S1-S4 with this many access tokens of integration
    /// 0, all with its portfolio's scope, one per client connection in turn.
    /// A token may make 200 requests in 30 s, so traffic at these rates comes
    /// from many tokens, hence 64. With one (the default before 2026-12-01,
    /// for comparing with older figures), every request rewrites one long
    /// rate-limit log (on PostgreSQL, a row shared by all).
    #[arg(long, default_value_t = 64)]
    tokens: usize,
    /// The server's --rate-limit: by default so high, over so short a window,
    /// that it never refuses. `--tokens 1 --rate-limit 100000000/30s` is the
    /// load test of one token with a raised limit, whose cost a token's
    /// window of fixed size keeps at that of 64 tokens.
    #[arg(long, default_value = "1000000000/1s")]
    rate_limit: String,
    /// Time the staff inbox's pages (SPEC 15.3) on a database of --threads
    /// threads with three messages each (a SQLite file in --dir, or the empty
    /// PostgreSQL database of --database), instead of the load scenarios.
    #[arg(long, conflicts_with_all = ["profile", "transfer", "instructions"])]
    inbox: bool,
    /// A tiny, fast run that only checks the harness works.
    #[arg(long)]
    smoke: bool,
    /// Run one scenario alone, without its floor, after printing the
    /// server's process id: for a profiler (`perf record -p PID`), or to
    /// compare two builds run after each other. `--profile` is S2 at depth 0,
    /// `--profile s2-deep` S2 after its deep cursor, `--profile s1` S1,
    /// `--profile message` `messages/add` with one message a request, each
    /// connection in a thread of its own.
    #[arg(long, num_args = 0..=1, default_missing_value = "s2", value_name = "SCENARIO")]
    profile: Option<Profiled>,
    /// Count S2's page at depth 0 in instructions, on the server and on the
    /// data floor, and S1's request on the server, with valgrind's callgrind
    /// (SQLite only), instead of the
    /// load scenarios: figures that repeat from run to run, where CPU time
    /// on two shared cores does not.
    #[arg(long, conflicts_with_all = ["profile", "transfer", "database"])]
    instructions: bool,
    /// Internal: run this many data-floor pages (under callgrind).
    #[arg(long, hide = true, requires = "floor_database")]
    floor_pages: Option<usize>,
    /// Internal: the SQLite file of --floor-pages.
    #[arg(long, hide = true)]
    floor_database: Option<PathBuf>,
    /// Internal: serve the floor with a body of this many bytes.
    #[arg(long, hide = true)]
    floor_server: Option<usize>,
    /// Internal: serve the page floor of this SQLite file.
    #[arg(long, hide = true)]
    page_floor_server: Option<PathBuf>,
    /// Internal: the page floor's pages follow this thread.
    #[arg(long, hide = true, requires = "page_floor_server")]
    page_floor_after: Option<uuid::Uuid>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if let Some(bytes) = args.floor_server {
        return floor::serve(floor::Answer::Fixed(Bytes::from(vec![b'x'; bytes]))).await;
    }
    if let Some(database) = args.page_floor_server.take() {
        let after = args.page_floor_after;
        return floor::serve(floor::Answer::Page { database, after }).await;
    }
    if let (Some(pages), Some(database)) = (args.floor_pages, &args.floor_database) {
        return data_floor::count(database, pages);
    }
    if args.smoke {
        args.threads = args.threads.min(3000);
        args.runs = 1;
        args.seconds = 1;
        args.clients = args.clients.min(8);
    }
    std::fs::create_dir_all(&args.dir)?;
    println!("{}", machine());
    let results = if args.inbox {
        inbox::run(&args).await?
    } else if args.transfer {
        let (url, _) = prepare(&args).await?;
        transfer::run(&args.dir, &url, args.import_into.as_deref(), args.threads).await?
    } else {
        scenarios::run_all(&args).await?
    };
    println!("\n{results}");
    Ok(())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("machine: {cores} cores, {cpu}")
}

/// The arguments that start this binary as the page floor's server: S2's
/// page of `database`, at depth 0 or after `after`.
fn page_floor_args(
    database: &std::path::Path,
    after: Option<uuid::Uuid>,
) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--page-floor-server".into(), database.into()];
    if let Some(after) = after {
        args.extend(["--page-floor-after".into(), after.to_string().into()]);
    }
    args
}

fn credentials(extra: Value) -> Value {
    let mut body = json!({
        "ClientToken": dataset::client_token(0),
        "AccessToken": dataset::portfolio_token(0),
        "Client": "switchboard-bench",
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// `body` (with integration 0's portfolio token) once for each of `tokens`
/// tokens: the portfolio token and its copies.
fn token_bodies(tokens: usize, body: &Value) -> Vec<Bytes> {
    (0..tokens.max(1))
        .map(|k| {
            let mut body = body.clone();
            if k > 0 {
                body["AccessToken"] = json!(dataset::portfolio_copy(k));
            }
            Bytes::from(body.to_string())
        })
        .collect()
}

/// The same request from each of `tokens` tokens, one per client in turn.
fn spread(tokens: usize, path: &'static str, body: Value) -> Arc<load::MakeCall> {
    let bodies = token_bodies(tokens, &body);
    Arc::new(move |client, _| Call {
        path,
        body: bodies[client % bodies.len()].clone(),
    })
}

fn fixed(path: &'static str, body: Value) -> Arc<load::MakeCall> {
    let body = Bytes::from(body.to_string());
    Arc::new(move |_, _| Call {
        path,
        body: body.clone(),
    })
}

/// The database of the run, generated the first time, and what it holds.
async fn prepare(args: &Args) -> anyhow::Result<(String, Dataset)> {
    let generate = |url: String, threads| async move { dataset::generate(&url, threads).await };
    let dataset = kept_database(args, "bench", "", generate).await?;
    println!("dataset: {:?}", dataset.1);
    Ok(dataset)
}

/// The database named `name` (a SQLite file `{name}-{threads}.db` in --dir,
/// or --database's, whose sidecar file is `{name}-postgres-{threads}.json`)
/// and what it holds (its sidecar, a JSON file beside it): made by
/// `generate` the first time, read from the sidecar afterwards.
async fn kept_database<T, F, G>(
    args: &Args,
    name: &str,
    what: &str,
    generate: G,
) -> anyhow::Result<(String, T)>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
    G: FnOnce(String, usize) -> F,
    F: std::future::Future<Output = anyhow::Result<T>>,
{
    let (url, sidecar) = match &args.database {
        Some(url) => (
            url.clone(),
            args.dir
                .join(format!("{name}-postgres-{}.json", args.threads)),
        ),
        None => {
            let db = args.dir.join(format!("{name}-{}.db", args.threads));
            (
                format!("sqlite://{}", db.display()),
                db.with_extension("json"),
            )
        }
    };
    if let Ok(bytes) = std::fs::read(&sidecar) {
        return Ok((url, serde_json::from_slice(&bytes)?));
    }
    if args.database.is_none() {
        let db = sidecar.with_extension("db");
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    println!("generating {} threads{what} ...", args.threads);
    let dataset = generate(url.clone(), args.threads).await?;
    std::fs::write(&sidecar, serde_json::to_vec_pretty(&dataset)?)?;
    Ok((url, dataset))
}

/// The server's command line for a run on `url`.
fn serve_args(args: &Args, url: &str) -> Vec<String> {
    let mut serve: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--allow-private-webhooks",
        "--no-demo",
        "--operator-token",
        "bench",
        "--rate-limit",
        &args.rate_limit,
        "--database",
        url,
    ]
    .map(str::to_owned)
    .into();
    if let Some(n) = args.request_log {
        serve.extend(["--request-log".to_owned(), n.to_string()]);
    }
    serve
}

/// One request on a connection of its own: the answer's body.
async fn send_one(
    address: SocketAddr,
    method: hyper::Method,
    path: &str,
    body: Bytes,
) -> anyhow::Result<Bytes> {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "bench")
        .header("content-type", "application/json")
        .body(Full::new(body))?;
    Ok(sender
        .send_request(request)
        .await?
        .into_body()
        .collect()
        .await?
        .to_bytes())
}

/// `messages/add` with one message a request, each connection writing in a
/// thread of its own (made first), as guests write in their own threads.
async fn chat_messages(
    args: &Args,
    address: SocketAddr,
    add: &Value,
) -> anyhow::Result<Arc<load::MakeCall>> {
    let adds = token_bodies(args.tokens, add);
    let mut bodies = Vec::with_capacity(args.clients);
    for client in 0..args.clients {
        let token_body = &adds[client % adds.len()];
        let path = "/api/connector/v1/messageThreads/add";
        let answer = send_one(address, hyper::Method::POST, path, token_body.clone()).await?;
        let answer: Value = serde_json::from_slice(&answer)?;
        let thread = answer["MessageThreads"][0]["Id"].clone();
        anyhow::ensure!(thread.is_string(), "messageThreads/add answered {answer}");
        let mut body: Value = serde_json::from_slice(token_body)?;
        if let Some(fields) = body.as_object_mut() {
            fields.remove("OriginalSender");
            fields.remove("Subject");
        }
        body["Messages"] =
            json!([{"MessageThreadId": thread, "Text": "Is breakfast served until ten?"}]);
        bodies.push(Bytes::from(body.to_string()));
    }
    Ok(Arc::new(move |client, _| Call {
        path: "/api/connector/v1/messages/add",
        body: bodies[client % bodies.len()].clone(),
    }))
}

async fn webhooks(
    args: &Args,
    address: SocketAddr,
    dataset: &Dataset,
    tally: Arc<receiver::Tally>,
) -> anyhow::Result<String> {
    let items: Vec<Value> = (0..10)
        .map(
            |i| json!({"MessageThreadId": dataset.thread1, "Text": format!("Webhook message {i}")}),
        )
        .collect();
    let body = json!({"ClientToken": dataset::client_token(1), "AccessToken": dataset::portfolio_token(1), "Client": "switchboard-bench", "Messages": items});
    let make = fixed("/api/connector/v1/messages/add", body);
    let acknowledge = tally.clone();
    let on_answer: Arc<load::OnAnswer> = Arc::new(move |body: &Bytes, at| {
        if let Ok(reply) = serde_json::from_slice::<Value>(body) {
            for added in reply["Messages"].as_array().into_iter().flatten() {
                if let Some(id) = added["Message"]["Id"].as_str() {
                    acknowledge.acknowledge(id.to_owned(), at);
                }
            }
        }
    });
    let started = Instant::now();
    let stats = load::run(
        address,
        16,
        Duration::from_secs(args.seconds),
        make,
        Some(on_answer),
    )
    .await?;
    let sent = stats.requests * 10;
    let deadline = Instant::now() + Duration::from_secs(30);
    while *tally.events.lock().unwrap() < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let events = *tally.events.lock().unwrap();
    let latencies = tally.latencies_us.lock().unwrap().clone();
    Ok(format!(
        "S5 webhooks: {events} of {sent} events delivered, {:.0} events/s; commit-to-delivery p50 {:.1} ms, p99 {:.1} ms\n",
        events as f64 / elapsed,
        load::percentile(&latencies, 50.0) / 1000.0,
        load::percentile(&latencies, 99.0) / 1000.0,
    ))
}
