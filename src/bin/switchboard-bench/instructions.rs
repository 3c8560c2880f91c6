//! S2's page and S1's `messageThreads/add` counted in instructions (issue
//! 16), with valgrind's callgrind.
//!
//! On two shared cores a page's CPU time moves by 10% or more from one run to
//! the next, too much to see a change of a few percent; callgrind's counts
//! repeat to within 0.1%. It counts user-space instructions only, so the
//! kernel's share of a request (socket reads and writes, wake-ups) is not in
//! either figure. Needs `valgrind` and `callgrind_control` (Debian's
//! `valgrind` package).
//!
//! - The server runs under callgrind; after a warm-up its counters are zeroed,
//!   it answers [`PAGES`] requests over one keep-alive connection, one at a
//!   time, and its counters are dumped: every thread of it, hyper and tokio
//!   included. S2's pages first, then S1's threads (whose writes wait for
//!   their fsync, which is the kernel's and not counted).
//! - The page floor (the same page served by a minimal HTTP server, see
//!   [`crate::floor`]) is counted the same way: the least a page over HTTP
//!   costs, every thread of it.
//! - The data floor runs in a process of this binary under callgrind, counted
//!   only inside [`crate::data_floor::counted_pages`].
//!
//! Callgrind also simulates the first-level caches (`--cache-sim=yes`, with
//! the machine's sizes) and a branch predictor (`--branch-sim=yes`) and counts
//! their misses: a program that runs more distinct code or touches more memory
//! a request misses more, and each miss costs cycles that the instruction
//! count does not show. The simulation is of the one process alone (it does
//! not count what other processes on the same cores evict), and its predictor
//! is simpler than a real CPU's: its counts compare two programs, they do not
//! time either.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::process::Command;

use crate::{Server, page_floor_args, start};

/// Requests counted on each side.
pub const PAGES: usize = 200;
/// Pages answered before counting starts, to fill caches and statements.
const WARM_UP: usize = 30;

/// `program` with `args`, under callgrind, its counts written to `out`.
pub fn under_callgrind(out: &Path, extra: &[&str], program: &Path) -> Command {
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg("--cache-sim=yes")
        .arg("--branch-sim=yes")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .args(extra)
        .arg(program)
        .stderr(Stdio::null());
    command
}

/// Counts S2's page (`page`) and S1's request (`add`) on the server that
/// `command` starts (under callgrind, writing to `out`), then S2's page on the
/// page floor and on the data floor over the SQLite file `database`.
pub async fn compare(
    command: Command,
    out: &Path,
    (page, add): (Bytes, Bytes),
    database: &Path,
    dir: &Path,
) -> anyhow::Result<String> {
    for tool in ["valgrind", "callgrind_control"] {
        anyhow::ensure!(
            std::process::Command::new(tool)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok(),
            "--instructions needs `{tool}` (Debian's valgrind package)"
        );
    }
    let server = start(command).await?;
    let mut client = Client::connect(&server).await?;
    let server_per_page = client
        .count("messageThreads/getAll", page.clone(), out, 1)
        .await?;
    let server_per_add = client.count("messageThreads/add", add, out, 2).await?;
    drop(server);

    // The same page from the page floor's server, over HTTP as well.
    let page_floor_out = dir.join("callgrind.page-floor.out");
    let mut page_floor = under_callgrind(&page_floor_out, &[], &std::env::current_exe()?);
    page_floor.args(page_floor_args(database, None));
    let page_floor = start(page_floor).await?;
    let mut client = Client::connect(&page_floor).await?;
    let page_floor_per_page = client
        .count("messageThreads/getAll", page.clone(), &page_floor_out, 1)
        .await?;
    drop(page_floor);

    let floor_out = dir.join("callgrind.floor.out");
    let _ = std::fs::remove_file(&floor_out);
    let status = under_callgrind(
        &floor_out,
        &["--toggle-collect=*data_floor::counted_pages*"],
        &std::env::current_exe()?,
    )
    .args(["--floor-pages", &PAGES.to_string(), "--floor-database"])
    .arg(database)
    .stdout(Stdio::null())
    .status()
    .await?;
    anyhow::ensure!(status.success(), "the data floor under callgrind failed");
    let floor_per_page = summary(&floor_out)?.per(PAGES);

    Ok(format!(
        "S2 depth 0 in instructions (callgrind, user space, {PAGES} pages one at a time): \
         switchboard {:.0} k a page (every thread: HTTP, authentication, rate limit, query, JSON), \
         data floor {:.0} k; {:.2}x\n\
         page floor (the same page served by a minimal HTTP server, every thread) {:.0} k; \
         switchboard {:.2}x\n\
         S2's simulated misses a page: first-level instruction cache {:.1} k (data floor {:.1} k, page floor {:.1} k), \
         first-level data cache {:.1} k (data floor {:.1} k, page floor {:.1} k), \
         branch predictions {:.1} k (data floor {:.1} k, page floor {:.1} k)\n\
         S1 in instructions: switchboard {:.0} k a messageThreads/add",
        server_per_page.instructions / 1000.0,
        floor_per_page.instructions / 1000.0,
        server_per_page.instructions / floor_per_page.instructions,
        page_floor_per_page.instructions / 1000.0,
        server_per_page.instructions / page_floor_per_page.instructions,
        server_per_page.i1_misses / 1000.0,
        floor_per_page.i1_misses / 1000.0,
        page_floor_per_page.i1_misses / 1000.0,
        server_per_page.d1_misses / 1000.0,
        floor_per_page.d1_misses / 1000.0,
        page_floor_per_page.d1_misses / 1000.0,
        server_per_page.mispredicted / 1000.0,
        floor_per_page.mispredicted / 1000.0,
        page_floor_per_page.mispredicted / 1000.0,
        server_per_add.instructions / 1000.0,
    ))
}

/// One keep-alive connection to the server under callgrind.
struct Client {
    pid: String,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(server: &Server) -> anyhow::Result<Self> {
        let pid = server
            .child
            .id()
            .ok_or_else(|| anyhow::anyhow!("the server has exited"))?
            .to_string();
        let stream = tokio::net::TcpStream::connect(server.address).await?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { pid, sender })
    }

    async fn send(&mut self, operation: &str, body: &Bytes) -> anyhow::Result<()> {
        let request = hyper::Request::post(format!("/api/connector/v1/{operation}"))
            .header("host", "bench")
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        anyhow::ensure!(
            response.status() == 200,
            "{operation} answered {}",
            response.status()
        );
        response.into_body().collect().await?;
        Ok(())
    }

    /// The server's instructions a request of `operation`, over [`PAGES`]
    /// requests after a warm-up: its `dump`th dump of `out`.
    async fn count(
        &mut self,
        operation: &str,
        body: Bytes,
        out: &Path,
        dump: usize,
    ) -> anyhow::Result<Counts> {
        for _ in 0..WARM_UP {
            self.send(operation, &body).await?;
        }
        control(&["-z", &self.pid]).await?;
        for _ in 0..PAGES {
            self.send(operation, &body).await?;
        }
        control(&["-d", &self.pid]).await?;
        let mut file = PathBuf::from(out);
        file.as_mut_os_string().push(format!(".{dump}"));
        Ok(summary(&file)?.per(PAGES))
    }
}

async fn control(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("callgrind_control")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await?;
    anyhow::ensure!(status.success(), "callgrind_control {args:?} failed");
    Ok(())
}

/// What callgrind counted: instructions, the misses of its simulated
/// first-level instruction and data caches, and its mispredicted branches
/// (conditional and indirect).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Counts {
    instructions: f64,
    i1_misses: f64,
    d1_misses: f64,
    mispredicted: f64,
}

impl Counts {
    /// A `n`th of these counts.
    fn per(self, n: usize) -> Self {
        let n = n as f64;
        Self {
            instructions: self.instructions / n,
            i1_misses: self.i1_misses / n,
            d1_misses: self.d1_misses / n,
            mispredicted: self.mispredicted / n,
        }
    }
}

/// The counts of a callgrind file: its `summary:` line, whose numbers follow
/// the order of its `events:` line.
fn summary(file: &Path) -> anyhow::Result<Counts> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    parse_summary(&text).ok_or_else(|| anyhow::anyhow!("no summary in {}", file.display()))
}

fn parse_summary(text: &str) -> Option<Counts> {
    let field = |prefix: &str| text.lines().find_map(|line| line.strip_prefix(prefix));
    let events: Vec<&str> = field("events:")?.split_whitespace().collect();
    let values: Vec<f64> = field("summary:")?
        .split_whitespace()
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    let event = |name: &str| {
        events
            .iter()
            .position(|e| *e == name)
            .and_then(|i| values.get(i).copied())
    };
    Some(Counts {
        instructions: event("Ir")?,
        i1_misses: event("I1mr")?,
        d1_misses: event("D1mr")? + event("D1mw")?,
        mispredicted: event("Bcm")? + event("Bim")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_is_read_by_its_event_names() {
        let text = "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim\n\
                    summary: 1000 50 40 30 20 10 3 2 1 90 8 60 4\n";
        assert_eq!(
            parse_summary(text),
            Some(Counts {
                instructions: 1000.0,
                i1_misses: 30.0,
                d1_misses: 30.0,
                mispredicted: 12.0,
            })
        );
        // Without the simulations' events there are no misses to read.
        assert_eq!(parse_summary("events: Ir\nsummary: 1000\n"), None);
    }
}
