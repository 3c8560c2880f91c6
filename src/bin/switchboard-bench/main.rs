//! `switchboard-bench`: loads a running switchboard the way its users do and
//! compares it with a minimal HTTP server answering the same number of bytes
//! (the floor), in the same run. See BENCHMARKS.md for how to run it and for the
//! figures of this machine.

mod data_floor;
mod dataset;
mod floor;
mod instructions;
mod load;
mod receiver;
mod transfer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use dataset::Dataset;
use load::{Call, Stats};

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
    let results = if args.transfer {
        let (url, _) = prepare(&args).await?;
        transfer::run(&args.dir, &url, args.import_into.as_deref(), args.threads).await?
    } else {
        run_all(&args).await?
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

/// CPU time in microseconds: in user space, and in the kernel on the
/// process's behalf (its sockets, its wake-ups).
#[derive(Clone, Copy)]
struct Cpu {
    user: f64,
    system: f64,
    /// That of every PostgreSQL process of the machine, user and kernel,
    /// when the run is on PostgreSQL: the database's share of the two cores.
    database: Option<f64>,
}

impl Cpu {
    fn total(self) -> f64 {
        self.user + self.system
    }

    /// `after - self`, divided among `requests`.
    fn per_request(self, after: Cpu, requests: u64) -> Cpu {
        let n = requests as f64;
        Cpu {
            user: (after.user - self.user) / n,
            system: (after.system - self.system) / n,
            database: after
                .database
                .zip(self.database)
                .map(|(after, before)| (after - before) / n),
        }
    }
}

/// The CPU time all processes named `postgres` have used so far, in
/// microseconds (of those alive: a pooled run keeps its backends).
fn postgres_cpu_us() -> Option<f64> {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some(("postgres", cpu)) = process_cpu(&stat) {
            total += cpu.total();
        }
    }
    Some(total)
}

/// A process's name and CPU time so far, from its `/proc/PID/stat`; `/proc`
/// counts CPU time in ticks of 1/100 s on Linux.
fn process_cpu(stat: &str) -> Option<(&str, Cpu)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let (_, name) = head.split_once('(')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |field: usize| Some(fields.get(field)?.parse::<u64>().ok()? as f64 * 10_000.0);
    Some((
        name,
        Cpu {
            user: ticks(11)?,
            system: ticks(12)?,
            database: None,
        },
    ))
}

/// `total µs (user)`, or `-` when unknown.
fn show_cpu(cpu: Option<Cpu>) -> String {
    cpu.map_or("-".into(), |cpu| {
        format!("{:.0} µs ({:.0} user)", cpu.total(), cpu.user)
    })
}

/// PostgreSQL's CPU a request, where the run measured it: `; PostgreSQL's
/// processes N µs`, or nothing.
fn show_database(cpu: Option<Cpu>) -> String {
    match cpu.and_then(|cpu| cpu.database) {
        Some(database) => format!("; PostgreSQL's processes {database:.0} µs"),
        None => String::new(),
    }
}

/// A server process and where it listens.
struct Server {
    child: Child,
    address: SocketAddr,
    started_in: Duration,
}

impl Server {
    /// CPU time the process has used so far, in microseconds.
    fn cpu_us(&self) -> Option<Cpu> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        process_cpu(&stat).map(|(_, cpu)| cpu)
    }

    fn peak_memory_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let kib: f64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib / 1024.0)
    }
}

/// Starts a child process and waits for its "listening on ADDR" line.
async fn start(mut command: Command) -> anyhow::Result<Server> {
    let started = Instant::now();
    let mut child = command.stdout(Stdio::piped()).kill_on_drop(true).spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some((_, address)) = line.split_once("listening on ") {
            let address = address.trim_start_matches("http://").parse()?;
            let started_in = started.elapsed();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(Server {
                child,
                address,
                started_in,
            });
        }
    }
    anyhow::bail!("the server exited before listening")
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(name))
}

async fn floor_server(bytes: usize) -> anyhow::Result<Server> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["--floor-server", &bytes.to_string()]);
    start(command).await
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

/// One scenario: the medians of its runs, and of the floor's runs.
struct Row {
    name: String,
    switchboard: Stats,
    floor: Option<Stats>,
    unit: &'static str,
    per_request: f64,
    /// Server CPU time per request over every run.
    cpu_us: Option<Cpu>,
    /// The floor's, likewise.
    floor_cpu_us: Option<Cpu>,
}

fn median_run(mut runs: Vec<Stats>) -> Stats {
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    runs.swap_remove(runs.len() / 2)
}

/// The median run, and the requests of every run together.
async fn measure_all(
    args: &Args,
    address: SocketAddr,
    clients: usize,
    make: Arc<load::MakeCall>,
) -> anyhow::Result<(Stats, u64)> {
    let mut runs = Vec::new();
    for _ in 0..args.runs {
        runs.push(
            load::run(
                address,
                clients,
                Duration::from_secs(args.seconds),
                make.clone(),
                None,
            )
            .await?,
        );
    }
    let requests = runs.iter().map(|r| r.requests).sum();
    Ok((median_run(runs), requests))
}

/// Measures `make` on `server` with the server's CPU time per request, and
/// PostgreSQL's when the run is on it.
async fn measure_server(
    args: &Args,
    server: &Server,
    make: Arc<load::MakeCall>,
) -> anyhow::Result<(Stats, Option<Cpu>)> {
    let on_postgres = args.database.is_some();
    let sample = || {
        server.cpu_us().map(|cpu| Cpu {
            database: on_postgres.then(postgres_cpu_us).flatten(),
            ..cpu
        })
    };
    let before = sample();
    let (stats, requests) = measure_all(args, server.address, args.clients, make).await?;
    let cpu = match (before, sample()) {
        (Some(before), Some(after)) if requests > 0 => Some(before.per_request(after, requests)),
        _ => None,
    };
    Ok((stats, cpu))
}

/// The floor under the same load, answering as many bytes as switchboard did,
/// and its CPU time a request.
async fn floor(
    args: &Args,
    make: Arc<load::MakeCall>,
    bytes: usize,
) -> anyhow::Result<(Stats, Option<Cpu>)> {
    let server = floor_server(bytes).await?;
    let (stats, cpu) = measure_server(args, &server, make).await?;
    // PostgreSQL has no part in the floor's answers.
    Ok((
        stats,
        cpu.map(|cpu| Cpu {
            database: None,
            ..cpu
        }),
    ))
}

/// The page floor ([`floor::Answer::Page`]) under `make`'s load, after
/// checking that it answers the page `server` answers: a line that reports
/// it, and its CPU a page.
async fn page_floor(
    args: &Args,
    server: &Server,
    database: &std::path::Path,
    after: Option<uuid::Uuid>,
    make: Arc<load::MakeCall>,
) -> anyhow::Result<(String, Option<Cpu>)> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(page_floor_args(database, after));
    let floor = start(command).await?;
    let call = make(0, 0);
    let post = |address| send_one(address, hyper::Method::POST, call.path, call.body.clone());
    let theirs: Value = serde_json::from_slice(&post(server.address).await?)?;
    let ours: Value = serde_json::from_slice(&post(floor.address).await?)?;
    anyhow::ensure!(
        theirs == ours,
        "the page floor answers another page than switchboard's"
    );
    let (stats, cpu) = measure_server(args, &floor, make).await?;
    anyhow::ensure!(stats.errors == 0, "the page floor: {} errors", stats.errors);
    let line = format!(
        "\npage floor (the same page, queried and written for each request by a minimal \
         HTTP server): {:.0} pages/s, {} of its CPU a page",
        stats.per_second(),
        show_cpu(cpu),
    );
    Ok((line, cpu))
}

/// The database of the run, generated the first time, and what it holds.
async fn prepare(args: &Args) -> anyhow::Result<(String, Dataset)> {
    let (url, sidecar) = match &args.database {
        Some(url) => (
            url.clone(),
            args.dir
                .join(format!("bench-postgres-{}.json", args.threads)),
        ),
        None => {
            let db = args.dir.join(format!("bench-{}.db", args.threads));
            (
                format!("sqlite://{}", db.display()),
                db.with_extension("json"),
            )
        }
    };
    let dataset: Dataset = match std::fs::read(&sidecar) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(_) => {
            if args.database.is_none() {
                let db = sidecar.with_extension("db");
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
            }
            println!("generating {} threads ...", args.threads);
            let dataset = dataset::generate(&url, args.threads).await?;
            std::fs::write(&sidecar, serde_json::to_vec_pretty(&dataset)?)?;
            dataset
        }
    };
    println!("dataset: {dataset:?}");
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
        "1000000000/1s",
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

async fn run_all(args: &Args) -> anyhow::Result<String> {
    let (url, dataset) = prepare(args).await?;

    // S5's receiver gets integration 1's webhooks.
    let tally = Arc::new(receiver::Tally::default());
    let hook = receiver::start(tally.clone()).await?;
    {
        let store = switchboard::store::open(&url).await?;
        store
            .set_webhook_url(dataset::integration(1), Some(hook))
            .await?;
    }
    dataset::add_portfolio_copies(&url, args.tokens).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let serve_args = serve_args(args, &url);
    let page = |cursor: Option<uuid::Uuid>| {
        let now = switchboard::clock::system().now();
        credentials(json!({
            "CreatedUtc": {"StartUtc": (now - chrono::Duration::days(89)).to_rfc3339(), "EndUtc": now.to_rfc3339()},
            "Limitation": {"Count": 100, "Cursor": cursor},
        }))
    };
    let add = credentials(json!({"OriginalSender": "John Doe", "Subject": "Example subject"}));
    if args.instructions {
        let database = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| anyhow::anyhow!("--instructions runs on SQLite only"))?;
        let out = args.dir.join("callgrind.server.out");
        let mut command = instructions::under_callgrind(&out, &[], &sibling("switchboard")?);
        command.args(&serve_args).env("SWITCHBOARD_LOG", "warn");
        return instructions::compare(
            command,
            &out,
            (
                Bytes::from(page(None).to_string()),
                Bytes::from(add.to_string()),
            ),
            std::path::Path::new(database),
            &args.dir,
        )
        .await;
    }
    let mut command = Command::new(sibling("switchboard")?);
    command
        .args(&serve_args)
        .env("SWITCHBOARD_LOG", "warn")
        .stderr(Stdio::null());
    let server = start(command).await?;
    let address = server.address;
    let mut rows = Vec::new();

    if let Some(scenario) = args.profile {
        println!("server pid: {}", server.child.id().unwrap_or_default());
        tokio::time::sleep(Duration::from_secs(2)).await;
        let cpu = show_cpu;
        if scenario == Profiled::S1 {
            let make = spread(args.tokens, "/api/connector/v1/messageThreads/add", add);
            let (stats, cpu_us) = measure_server(args, &server, make).await?;
            return Ok(format!(
                "S1: {:.0} threads/s, {} of server CPU a thread{}",
                stats.per_second(),
                cpu(cpu_us),
                show_database(cpu_us),
            ));
        }
        if scenario == Profiled::Message {
            let make = chat_messages(args, address, &add).await?;
            let (stats, cpu_us) = measure_server(args, &server, make).await?;
            return Ok(format!(
                "messages/add, one a request: {:.0} messages/s, {} of server CPU a message{}",
                stats.per_second(),
                cpu(cpu_us),
                show_database(cpu_us),
            ));
        }
        let deep = scenario == Profiled::S2Deep;
        let after = deep.then_some(dataset.deep_cursor);
        let make = spread(
            args.tokens,
            "/api/connector/v1/messageThreads/getAll",
            page(after),
        );
        let ((stats, cpu_us), beside) = with_floor_beside(
            &url,
            dataset.deep_cursor,
            measure_server(args, &server, make.clone()),
        )
        .await?;
        let (page_floor, page_floor_cpu) = match url.strip_prefix("sqlite://") {
            Some(path) => {
                let floor = page_floor(args, &server, std::path::Path::new(path), after, make);
                floor.await?
            }
            None => (String::new(), None),
        };
        let data_floor = match (url.strip_prefix("sqlite://"), beside) {
            (Some(path), Some(beside)) => {
                let idle = data_floor::page_us(std::path::Path::new(path), dataset.deep_cursor)?;
                let pick = |(shallow, deeper): (f64, f64)| if deep { deeper } else { shallow };
                let (idle, beside) = (pick(idle), pick(beside));
                let against = cpu_us.map_or(String::new(), |cpu| {
                    format!(
                        "; against it idle {}; against it beside the load {}",
                        against_data_floor(cpu, idle),
                        against_data_floor(cpu, beside)
                    )
                });
                format!("; data floor {idle:.0} µs idle, {beside:.0} µs beside the load{against}")
            }
            _ => String::new(),
        };
        let depth = if deep { dataset.deep_position } else { 0 };
        let against_page_floor =
            page_floor_cpu
                .zip(cpu_us)
                .map_or(String::new(), |(floor, cpu)| {
                    format!(
                        "; against the page floor {:.1}x, in user space {:.1}x",
                        cpu.total() / floor.total(),
                        cpu.user / floor.user
                    )
                });
        return Ok(format!(
            "S2 depth {depth}: {:.0} pages/s, {} of server CPU a page{}{data_floor}{against_page_floor}{page_floor}",
            stats.per_second(),
            cpu(cpu_us),
            show_database(cpu_us),
        ));
    }
    // S2: a page at depth 0 against a page deep in the history.
    let mut floor_beside = None;
    for (name, cursor) in [
        ("S2 getAll Count 100, depth 0".to_owned(), None),
        (
            format!("S2 getAll Count 100, depth {}", dataset.deep_position),
            Some(dataset.deep_cursor),
        ),
    ] {
        let make = spread(
            args.tokens,
            "/api/connector/v1/messageThreads/getAll",
            page(cursor),
        );
        let ((stats, cpu_us), beside) = match cursor {
            // The data floor beside S2's load gives both of its depths.
            None => {
                with_floor_beside(
                    &url,
                    dataset.deep_cursor,
                    measure_server(args, &server, make.clone()),
                )
                .await?
            }
            Some(_) => (measure_server(args, &server, make.clone()).await?, None),
        };
        floor_beside = floor_beside.or(beside);
        anyhow::ensure!(stats.errors == 0, "{name}: {} errors", stats.errors);
        let (floor, floor_cpu_us) = floor(args, make, stats.mean_response_bytes()).await?;
        rows.push(Row {
            name,
            switchboard: stats,
            floor: Some(floor),
            unit: "pages/s",
            per_request: 1.0,
            cpu_us,
            floor_cpu_us,
        });
    }

    // S3: 90% getAll, 10% add.
    let gets = token_bodies(args.tokens, &page(None));
    let adds = token_bodies(
        args.tokens,
        &credentials(json!({"OriginalSender": "Guest", "Subject": "Mixed"})),
    );
    let mixed: Arc<load::MakeCall> = Arc::new(move |client, n| {
        if (n as usize + client).is_multiple_of(10) {
            Call {
                path: "/api/connector/v1/messageThreads/add",
                body: adds[client % adds.len()].clone(),
            }
        } else {
            Call {
                path: "/api/connector/v1/messageThreads/getAll",
                body: gets[client % gets.len()].clone(),
            }
        }
    });
    let (stats, cpu_us) = measure_server(args, &server, mixed.clone()).await?;
    let (floor_stats, floor_cpu_us) = floor(args, mixed, stats.mean_response_bytes()).await?;
    rows.push(Row {
        name: "S3 mixed 90% getAll / 10% add".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "requests/s",
        per_request: 1.0,
        cpu_us,
        floor_cpu_us,
    });

    // S1: durable thread creation.
    let make = spread(args.tokens, "/api/connector/v1/messageThreads/add", add);
    let before = write_counters(address).await?;
    let (stats, cpu_us) = measure_server(args, &server, make.clone()).await?;
    let after = write_counters(address).await?;
    let (writes, commits) = (after.0 - before.0, after.1 - before.1);
    let group_commit = format!(
        "S1 group commit: {writes} writes in {commits} commits, {:.1} writes per fsync, {:.0} fsyncs/s\n",
        writes / commits.max(1.0),
        commits / (args.seconds * args.runs as u64) as f64,
    );
    let (floor_stats, floor_cpu_us) = floor(args, make, stats.mean_response_bytes()).await?;
    rows.push(Row {
        name: "S1 messageThreads/add".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "threads/s",
        per_request: 1.0,
        cpu_us,
        floor_cpu_us,
    });
    let peak = server.peak_memory_mib();

    // S4: 100 messages a request.
    let items: Vec<Value> = (0..100).map(|i| json!({"MessageThreadId": dataset.thread0, "Text": format!("Message {i} of a batch")})).collect();
    let make = spread(
        args.tokens,
        "/api/connector/v1/messages/add",
        credentials(json!({"Messages": items})),
    );
    let (stats, cpu_us) = measure_server(args, &server, make.clone()).await?;
    let (floor_stats, floor_cpu_us) = floor(args, make, stats.mean_response_bytes()).await?;
    rows.push(Row {
        name: "S4 messages/add, 100 a request".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "messages/s",
        per_request: 100.0,
        cpu_us,
        floor_cpu_us,
    });

    // S5: webhooks of integration 1, 10 messages a request from 16 clients.
    let s5 = webhooks(args, address, &dataset, tally).await?;

    let mut out = String::new();
    let backend = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    out.push_str(&format!(
        "backend: {backend}\ndatabase: {} threads, generated in {:.1} s; server start-up {:.0} ms; peak memory during S1-S3 {}\n\n",
        dataset.threads,
        dataset.generate_seconds,
        server.started_in.as_secs_f64() * 1000.0,
        peak.map_or("unknown".into(), |m| format!("{m:.0} MiB")),
    ));
    out.push_str("| scenario | switchboard | p50 ms | p99 ms | server CPU a request (user) | floor | p50 ms | floor CPU a request (user) | ratio to floor |\n|---|---|---|---|---|---|---|---|---|\n");
    for row in &rows {
        let s = &row.switchboard;
        let (floor_rate, floor_p50, ratio) = match &row.floor {
            Some(f) => (
                format!("{:.0} req/s", f.per_second()),
                format!("{:.2}", f.percentile_ms(50.0)),
                format!("{:.2}", s.per_second() / f.per_second()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let us = show_cpu;
        out.push_str(&format!(
            "| {} | {:.0} {} | {:.2} | {:.2} | {}{} | {} | {} | {} | {} |\n",
            row.name,
            s.per_second() * row.per_request,
            row.unit,
            s.percentile_ms(50.0),
            s.percentile_ms(99.0),
            us(row.cpu_us),
            show_database(row.cpu_us),
            floor_rate,
            floor_p50,
            us(row.floor_cpu_us),
            ratio
        ));
    }
    let (shallow, deep) = (&rows[0].switchboard, &rows[1].switchboard);
    out.push_str(&format!(
        "\nS2 deep/shallow p50 ratio: {:.2}; p99 ratio: {:.2}\n",
        deep.percentile_ms(50.0) / shallow.percentile_ms(50.0).max(0.001),
        deep.percentile_ms(99.0) / shallow.percentile_ms(99.0).max(0.001),
    ));
    // The data floor runs on an idle machine: after every scenario.
    if let Some(path) = url.strip_prefix("sqlite://") {
        let (floor_shallow, floor_deep) =
            data_floor::page_us(std::path::Path::new(path), dataset.deep_cursor)?;
        // Against the data floor alone, and against it plus the HTTP floor's
        // CPU a request (the least a page over HTTP can cost).
        let ratio = |row: &Row, floor: f64| match (row.cpu_us, row.floor_cpu_us) {
            (Some(cpu), Some(http)) => format!(
                "{}; {:.1}x the data floor and the HTTP floor's {:.0} µs together",
                against_data_floor(cpu, floor),
                cpu.total() / (floor + http.total()),
                http.total(),
            ),
            (Some(cpu), None) => against_data_floor(cpu, floor),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "S2 data floor (the same query and its JSON, in process): {floor_shallow:.0} µs a page at depth 0 \
             (switchboard: {}), {floor_deep:.0} µs at depth {} (switchboard: {})\n",
            ratio(&rows[0], floor_shallow),
            dataset.deep_position,
            ratio(&rows[1], floor_deep),
        ));
        if let Some((shallow, deep)) = floor_beside {
            let against = |row: &Row, floor: f64| {
                row.cpu_us
                    .map_or("-".to_owned(), |cpu| against_data_floor(cpu, floor))
            };
            out.push_str(&format!(
                "S2 data floor beside S2's load (its own thread's CPU, sharing the cores and \
                 caches with the server and the load): {shallow:.0} µs a page at depth 0 \
                 (switchboard: {}), {deep:.0} µs at depth {} (switchboard: {})\n",
                against(&rows[0], shallow),
                dataset.deep_position,
                against(&rows[1], deep),
            ));
        }
    }
    out.push_str(&group_commit);
    out.push_str(&s5);
    Ok(out)
}

/// `measure`, with the data floor measured on a thread of its own once the
/// load has run for a second: the floor in the server's conditions, sharing
/// its cores and caches with the server and the load generator. `None` off
/// SQLite. The floor takes about a second of CPU, so the load should run for
/// several (the default runs do).
async fn with_floor_beside<T>(
    url: &str,
    deep_cursor: uuid::Uuid,
    measure: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<(T, Option<(f64, f64)>)> {
    let Some(path) = url.strip_prefix("sqlite://").map(std::path::PathBuf::from) else {
        return Ok((measure.await?, None));
    };
    let floor = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(1));
        data_floor::page_us(&path, deep_cursor)
    });
    let (measured, floor) = tokio::join!(measure, floor);
    Ok((measured?, Some(floor??)))
}

/// A page's CPU against the data floor's time: in all, and in user space
/// alone (the data floor, one process making no system call, has no kernel
/// part).
fn against_data_floor(cpu: Cpu, floor: f64) -> String {
    format!(
        "{:.0} µs, {:.1}x; in user space {:.0} µs, {:.1}x",
        cpu.total(),
        cpu.total() / floor,
        cpu.user,
        cpu.user / floor
    )
}

/// `(writes, commits)` of the store, from `/metrics`.
async fn write_counters(address: SocketAddr) -> anyhow::Result<(f64, f64)> {
    let body = send_one(address, hyper::Method::GET, "/metrics", Bytes::new()).await?;
    let text = String::from_utf8_lossy(&body);
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    };
    Ok((
        value("switchboard_store_writes_total "),
        value("switchboard_store_commits_total "),
    ))
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
