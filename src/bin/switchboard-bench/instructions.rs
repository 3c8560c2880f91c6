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
//! - The data floor runs in a process of this binary under callgrind, counted
//!   only inside [`crate::data_floor::counted_pages`].

use std::path::{Path, PathBuf};
use std::process::Stdio;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::process::Command;

use crate::{Server, start};

/// Requests counted on each side.
pub const PAGES: usize = 200;
/// Pages answered before counting starts, to fill caches and statements.
const WARM_UP: usize = 30;

/// `program` with `args`, under callgrind, its counts written to `out`.
pub fn under_callgrind(out: &Path, extra: &[&str], program: &Path) -> Command {
    let mut command = Command::new("valgrind");
    command
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .args(extra)
        .arg(program)
        .stderr(Stdio::null());
    command
}

/// Counts S2's page (`page`) and S1's request (`add`) on the server that
/// `command` starts (under callgrind, writing to `out`), then S2's page on the
/// data floor over the SQLite file `database`.
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
    let server_per_page = client.count("messageThreads/getAll", page, out, 1).await?;
    let server_per_add = client.count("messageThreads/add", add, out, 2).await?;
    drop(server);

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
    let floor_per_page = summary(&floor_out)? / PAGES as f64;

    Ok(format!(
        "S2 depth 0 in instructions (callgrind, user space, {PAGES} pages one at a time): \
         switchboard {:.0} k a page (every thread: HTTP, authentication, rate limit, query, JSON), \
         data floor {:.0} k; {:.2}x\n\
         S1 in instructions: switchboard {:.0} k a messageThreads/add",
        server_per_page / 1000.0,
        floor_per_page / 1000.0,
        server_per_page / floor_per_page,
        server_per_add / 1000.0,
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
    ) -> anyhow::Result<f64> {
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
        Ok(summary(&file)? / PAGES as f64)
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

/// The instructions counted in a callgrind file (its `summary:` line).
fn summary(file: &Path) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no summary in {}", file.display()))
}
