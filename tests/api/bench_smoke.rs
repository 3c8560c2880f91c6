//! Issue 6: a small run of the benchmark harness, so that it keeps working.
//! It measures nothing; the figures live in BENCHMARKS.md.

/// Runs the harness with `--smoke` and `extra` in a folder of its own; what it
/// printed.
async fn smoke(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard-bench"))
        .arg("--smoke")
        .args(extra)
        .arg("--dir")
        .arg(dir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_benchmark_harness_runs_every_scenario() {
    let stdout = smoke(&[]).await;
    for scenario in [
        "S1 ",
        "S2 ",
        "S3 ",
        "S4 ",
        "S5 webhooks",
        "ratio to floor",
        "peak memory",
        "start-up",
        "S2 data floor",
        "S2 data floor beside S2's load",
        "server CPU a request (user)",
    ] {
        assert!(stdout.contains(scenario), "no {scenario} in\n{stdout}");
    }
    // Every S5 event arrived.
    let s5 = stdout
        .lines()
        .find(|l| l.starts_with("S5 webhooks"))
        .unwrap();
    let (delivered, sent) = s5
        .trim_start_matches("S5 webhooks: ")
        .split_once(" of ")
        .map(|(d, rest)| {
            (
                d.to_owned(),
                rest.split_whitespace().next().unwrap().to_owned(),
            )
        })
        .unwrap();
    assert_eq!(delivered, sent, "{s5}");
}

#[tokio::test]
async fn the_benchmark_harness_times_export_and_import() {
    let stdout = smoke(&["--transfer"]).await;
    for line in [
        "the import exports the same file",
        "| export |",
        "| import |",
    ] {
        assert!(stdout.contains(line), "no {line} in\n{stdout}");
    }
}

#[tokio::test]
async fn the_benchmark_harness_times_the_inbox_pages() {
    let stdout = smoke(&["--inbox"]).await;
    let rows = |page: &str| -> u32 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(page))
            .unwrap_or_else(|| panic!("no {page} in\n{stdout}"));
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    // A smoke run's 3,000 threads hold fewer than a page of these.
    for page in ["Awaiting a reply", "One enterprise, open"] {
        assert!(rows(page) > 0, "{page}\n{stdout}");
    }
    for page in [
        "Open (the first page)",
        "Resolved",
        "All, next page",
        "One enterprise, resolved",
        "One integration, all",
        "Search: a common name",
        "Search: a word in many messages",
        "Search: Greek, no accents",
    ] {
        assert_eq!(rows(page), 50, "{page}: a full page\n{stdout}");
    }
    for page in ["Search: a rare name", "Search: a rare phrase"] {
        assert_eq!(rows(page), 1, "{page}: the one thread\n{stdout}");
    }
}
