//! `--transfer`: the time and peak memory of `switchboard export` and
//! `switchboard import` on the generated database, and a check that the
//! imported database exports the same file.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::sibling;

/// What one run of the `switchboard` binary took.
struct Run {
    wall: Duration,
    peak_mib: f64,
}

/// Runs `switchboard ARGS` to the end; its wall time and peak resident memory.
///
/// The peak is the child's own `VmHWM`, read every 10 ms until it exits: the
/// `wait4` figure would also count the pages it shared with this process
/// before `exec`, which after generating a database are the larger part.
fn switchboard(args: &[&str]) -> anyhow::Result<Run> {
    let started = Instant::now();
    let mut child = Command::new(sibling("switchboard")?)
        .args(args)
        .env("SWITCHBOARD_LOG", "warn")
        .spawn()?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| high_water_kib(&status))
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let wall = started.elapsed();
    anyhow::ensure!(status.success(), "switchboard {} failed", args.join(" "));
    Ok(Run {
        wall,
        peak_mib: peak_kib as f64 / 1024.0,
    })
}

fn high_water_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub async fn run(
    dir: &Path,
    source: &str,
    target: Option<&str>,
    threads: usize,
) -> anyhow::Result<String> {
    let file = dir.join(format!("export-{threads}.jsonl"));
    let again = dir.join(format!("export-{threads}-again.jsonl"));
    let target = match target {
        Some(url) => url.to_owned(),
        None => {
            let db = dir.join(format!("import-{threads}.db"));
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
            }
            format!("sqlite://{}", db.display())
        }
    };
    let file_text = file
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("a UTF-8 --dir"))?;
    let again_text = again
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("a UTF-8 --dir"))?;
    println!("export of {source} ...");
    let export = switchboard(&["export", "--database", source, "--output", file_text])?;
    let bytes = std::fs::metadata(&file)?.len();
    println!("import into {target} ...");
    let import = switchboard(&["import", "--database", &target, "--input", file_text])?;
    println!("export of the import ...");
    switchboard(&["export", "--database", &target, "--output", again_text])?;
    let same = std::fs::read(&file)? == std::fs::read(&again)?;
    anyhow::ensure!(same, "the import exports a different file");
    let _ = std::fs::remove_file(&again);
    let row = |name: &str, run: &Run| {
        format!(
            "| {name} | {:.1} s | {:.0} MiB |",
            run.wall.as_secs_f64(),
            run.peak_mib
        )
    };
    Ok(format!(
        "{threads} threads, file of {:.0} MiB; the import exports the same file.\n\n\
         | Step | Wall time | Peak memory (RSS) |\n|---|---|---|\n{}\n{}",
        bytes as f64 / (1024.0 * 1024.0),
        row("export", &export),
        row("import", &import),
    ))
}
