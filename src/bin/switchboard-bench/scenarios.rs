//! The scenarios of a whole run (S1-S5) and of `--profile`, and the table
//! they are reported in.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use serde_json::{Value, json};
use tokio::process::Command;

use crate::dataset::{self, Dataset};
use crate::load::{self, Call};
use crate::{
    Args, Profiled, Row, Server, against_data_floor, chat_messages, credentials, data_floor, floor,
    instructions, measure_server, page_floor, prepare, receiver, serve_args, show_cpu,
    show_database, sibling, spread, start, token_bodies, webhooks, with_floor_beside,
    write_counters,
};

/// What every scenario of a run shares.
struct Run<'a> {
    args: &'a Args,
    url: String,
    dataset: Dataset,
    server: Server,
}

impl Run<'_> {
    /// A page of S2: the last 89 days, 100 threads, after `cursor`.
    fn page(&self, cursor: Option<uuid::Uuid>) -> Value {
        let now = switchboard::clock::system().now();
        credentials(json!({
            "CreatedUtc": {"StartUtc": (now - chrono::Duration::days(89)).to_rfc3339(), "EndUtc": now.to_rfc3339()},
            "Limitation": {"Count": 100, "Cursor": cursor},
        }))
    }
}

/// The body of S1's `messageThreads/add`.
fn add() -> Value {
    credentials(json!({"OriginalSender": "John Doe", "Subject": "Example subject"}))
}

/// Runs what `args` ask for: every scenario, `--profile`'s or
/// `--instructions`'; the report.
pub async fn run_all(args: &Args) -> anyhow::Result<String> {
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
    if args.instructions {
        return count_instructions(args, &url, &serve_args).await;
    }
    let mut command = Command::new(sibling("switchboard")?);
    command
        .args(&serve_args)
        .env("SWITCHBOARD_LOG", "warn")
        .stderr(Stdio::null());
    let server = start(command).await?;
    let run = Run {
        args,
        url,
        dataset,
        server,
    };
    if let Some(scenario) = args.profile {
        return profile(&run, scenario).await;
    }
    let (mut rows, floor_beside) = s2(&run).await?;
    rows.push(s3(&run).await?);
    let (s1, group_commit) = s1(&run).await?;
    rows.push(s1);
    let peak = run.server.peak_memory_mib();
    rows.push(s4(&run).await?);
    // S5: webhooks of integration 1, 10 messages a request from 16 clients.
    let s5 = webhooks(args, run.server.address, &run.dataset, tally).await?;
    let mut out = report(&run, &rows, peak, floor_beside)?;
    out.push_str(&group_commit);
    out.push_str(&s5);
    Ok(out)
}

/// `--instructions`: S2's page and S1's request counted by callgrind.
async fn count_instructions(
    args: &Args,
    url: &str,
    serve_args: &[String],
) -> anyhow::Result<String> {
    let database = url
        .strip_prefix("sqlite://")
        .ok_or_else(|| anyhow::anyhow!("--instructions runs on SQLite only"))?;
    let out = args.dir.join("callgrind.server.out");
    let mut command = instructions::under_callgrind(&out, &[], &sibling("switchboard")?);
    command.args(serve_args).env("SWITCHBOARD_LOG", "warn");
    let now = switchboard::clock::system().now();
    let page = credentials(json!({
        "CreatedUtc": {"StartUtc": (now - chrono::Duration::days(89)).to_rfc3339(), "EndUtc": now.to_rfc3339()},
        "Limitation": {"Count": 100, "Cursor": Value::Null},
    }));
    instructions::compare(
        command,
        &out,
        (
            Bytes::from(page.to_string()),
            Bytes::from(add().to_string()),
        ),
        std::path::Path::new(database),
        &args.dir,
    )
    .await
}

/// `--profile`: one scenario alone, with the floors beside it.
async fn profile(run: &Run<'_>, scenario: Profiled) -> anyhow::Result<String> {
    let (args, server, dataset) = (run.args, &run.server, &run.dataset);
    println!("server pid: {}", server.child.id().unwrap_or_default());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = show_cpu;
    if scenario == Profiled::S1 {
        let make = spread(args.tokens, "/api/connector/v1/messageThreads/add", add());
        let (stats, cpu_us) = measure_server(args, server, make).await?;
        return Ok(format!(
            "S1: {:.0} threads/s, {} of server CPU a thread{}",
            stats.per_second(),
            cpu(cpu_us),
            show_database(cpu_us),
        ));
    }
    if scenario == Profiled::Message {
        let make = chat_messages(args, server.address, &add()).await?;
        let (stats, cpu_us) = measure_server(args, server, make).await?;
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
        run.page(after),
    );
    let ((stats, cpu_us), beside) = with_floor_beside(
        &run.url,
        dataset.deep_cursor,
        measure_server(args, server, make.clone()),
    )
    .await?;
    let (page_floor, page_floor_cpu) = match run.url.strip_prefix("sqlite://") {
        Some(path) => {
            let floor = page_floor(args, server, std::path::Path::new(path), after, make);
            floor.await?
        }
        None => (String::new(), None),
    };
    let data_floor = match (run.url.strip_prefix("sqlite://"), beside) {
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
    let against_page_floor = page_floor_cpu
        .zip(cpu_us)
        .map_or(String::new(), |(floor, cpu)| {
            format!(
                "; against the page floor {:.1}x, in user space {:.1}x",
                cpu.total() / floor.total(),
                cpu.user / floor.user
            )
        });
    Ok(format!(
        "S2 depth {depth}: {:.0} pages/s, {} of server CPU a page{}{data_floor}{against_page_floor}{page_floor}",
        stats.per_second(),
        cpu(cpu_us),
        show_database(cpu_us),
    ))
}

/// S2: a page at depth 0 against a page deep in the history; with the data
/// floor beside the load, when there is one.
async fn s2(run: &Run<'_>) -> anyhow::Result<(Vec<Row>, Option<(f64, f64)>)> {
    let (args, server, dataset) = (run.args, &run.server, &run.dataset);
    let mut rows = Vec::new();
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
            run.page(cursor),
        );
        let ((stats, cpu_us), beside) = match cursor {
            // The data floor beside S2's load gives both of its depths.
            None => {
                with_floor_beside(
                    &run.url,
                    dataset.deep_cursor,
                    measure_server(args, server, make.clone()),
                )
                .await?
            }
            Some(_) => (measure_server(args, server, make.clone()).await?, None),
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
    Ok((rows, floor_beside))
}

/// S3: 90% getAll, 10% add.
async fn s3(run: &Run<'_>) -> anyhow::Result<Row> {
    let args = run.args;
    let gets = token_bodies(args.tokens, &run.page(None));
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
    let (stats, cpu_us) = measure_server(args, &run.server, mixed.clone()).await?;
    let (floor_stats, floor_cpu_us) = floor(args, mixed, stats.mean_response_bytes()).await?;
    Ok(Row {
        name: "S3 mixed 90% getAll / 10% add".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "requests/s",
        per_request: 1.0,
        cpu_us,
        floor_cpu_us,
    })
}

/// S1: durable thread creation; with how well its commits were grouped.
async fn s1(run: &Run<'_>) -> anyhow::Result<(Row, String)> {
    let args = run.args;
    let make = spread(args.tokens, "/api/connector/v1/messageThreads/add", add());
    let before = write_counters(run.server.address).await?;
    let (stats, cpu_us) = measure_server(args, &run.server, make.clone()).await?;
    let after = write_counters(run.server.address).await?;
    let (writes, commits) = (after.0 - before.0, after.1 - before.1);
    let group_commit = format!(
        "S1 group commit: {writes} writes in {commits} commits, {:.1} writes per fsync, {:.0} fsyncs/s\n",
        writes / commits.max(1.0),
        commits / (args.seconds * args.runs as u64) as f64,
    );
    let (floor_stats, floor_cpu_us) = floor(args, make, stats.mean_response_bytes()).await?;
    let row = Row {
        name: "S1 messageThreads/add".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "threads/s",
        per_request: 1.0,
        cpu_us,
        floor_cpu_us,
    };
    Ok((row, group_commit))
}

/// S4: 100 messages a request.
async fn s4(run: &Run<'_>) -> anyhow::Result<Row> {
    let args = run.args;
    let items: Vec<Value> = (0..100).map(|i| json!({"MessageThreadId": run.dataset.thread0, "Text": format!("Message {i} of a batch")})).collect();
    let make = spread(
        args.tokens,
        "/api/connector/v1/messages/add",
        credentials(json!({"Messages": items})),
    );
    let (stats, cpu_us) = measure_server(args, &run.server, make.clone()).await?;
    let (floor_stats, floor_cpu_us) = floor(args, make, stats.mean_response_bytes()).await?;
    Ok(Row {
        name: "S4 messages/add, 100 a request".into(),
        switchboard: stats,
        floor: Some(floor_stats),
        unit: "messages/s",
        per_request: 100.0,
        cpu_us,
        floor_cpu_us,
    })
}

/// The table of a run, and the data floor against S2.
fn report(
    run: &Run<'_>,
    rows: &[Row],
    peak: Option<f64>,
    floor_beside: Option<(f64, f64)>,
) -> anyhow::Result<String> {
    let (url, dataset, server) = (&run.url, &run.dataset, &run.server);
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
    for row in rows {
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
    Ok(out)
}
