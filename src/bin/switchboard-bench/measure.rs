//! Measuring: server processes and their CPU time, the runs of a scenario
//! and their medians, and the floors measured beside them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::load::{self, Stats};
use hyper::body::Bytes;
use serde_json::Value;

use crate::{Args, data_floor, page_floor_args, send_one};
/// CPU time in microseconds: in user space, and in the kernel on the
/// process's behalf (its sockets, its wake-ups).
#[derive(Clone, Copy)]
pub(crate) struct Cpu {
    pub(crate) user: f64,
    pub(crate) system: f64,
    /// That of every PostgreSQL process of the machine, user and kernel,
    /// when the run is on PostgreSQL: the database's share of the two cores.
    pub(crate) database: Option<f64>,
}

impl Cpu {
    pub(crate) fn total(self) -> f64 {
        self.user + self.system
    }

    /// `after - self`, divided among `requests`.
    pub(crate) fn per_request(self, after: Cpu, requests: u64) -> Cpu {
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
pub(crate) fn postgres_cpu_us() -> Option<f64> {
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
pub(crate) fn process_cpu(stat: &str) -> Option<(&str, Cpu)> {
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
pub(crate) fn show_cpu(cpu: Option<Cpu>) -> String {
    cpu.map_or("-".into(), |cpu| {
        format!("{:.0} µs ({:.0} user)", cpu.total(), cpu.user)
    })
}

/// PostgreSQL's CPU a request, where the run measured it: `; PostgreSQL's
/// processes N µs`, or nothing.
pub(crate) fn show_database(cpu: Option<Cpu>) -> String {
    match cpu.and_then(|cpu| cpu.database) {
        Some(database) => format!("; PostgreSQL's processes {database:.0} µs"),
        None => String::new(),
    }
}

/// A server process and where it listens.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) address: SocketAddr,
    pub(crate) started_in: Duration,
}

impl Server {
    /// CPU time the process has used so far, in microseconds.
    pub(crate) fn cpu_us(&self) -> Option<Cpu> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        process_cpu(&stat).map(|(_, cpu)| cpu)
    }

    pub(crate) fn peak_memory_mib(&self) -> Option<f64> {
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
pub(crate) async fn start(mut command: Command) -> anyhow::Result<Server> {
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

pub(crate) fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(name))
}

pub(crate) async fn floor_server(bytes: usize) -> anyhow::Result<Server> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["--floor-server", &bytes.to_string()]);
    start(command).await
}

/// One scenario: the medians of its runs, and of the floor's runs.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) switchboard: Stats,
    pub(crate) floor: Option<Stats>,
    pub(crate) unit: &'static str,
    pub(crate) per_request: f64,
    /// Server CPU time per request over every run.
    pub(crate) cpu_us: Option<Cpu>,
    /// The floor's, likewise.
    pub(crate) floor_cpu_us: Option<Cpu>,
}

pub(crate) fn median_run(mut runs: Vec<Stats>) -> Stats {
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    runs.swap_remove(runs.len() / 2)
}

/// The median run, and the requests of every run together.
pub(crate) async fn measure_all(
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
pub(crate) async fn measure_server(
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
pub(crate) async fn floor(
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
pub(crate) async fn page_floor(
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

/// `measure`, with the data floor measured on a thread of its own once the
/// load has run for a second: the floor in the server's conditions, sharing
/// its cores and caches with the server and the load generator. `None` off
/// SQLite. The floor takes about a second of CPU, so the load should run for
/// several (the default runs do).
pub(crate) async fn with_floor_beside<T>(
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
pub(crate) fn against_data_floor(cpu: Cpu, floor: f64) -> String {
    format!(
        "{:.0} µs, {:.1}x; in user space {:.0} µs, {:.1}x",
        cpu.total(),
        cpu.total() / floor,
        cpu.user,
        cpu.user / floor
    )
}

/// `(writes, commits)` of the store, from `/metrics`.
pub(crate) async fn write_counters(address: SocketAddr) -> anyhow::Result<(f64, f64)> {
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
