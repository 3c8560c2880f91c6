//! `switchboard record` and `switchboard verify` (SPEC §18).

use clap::Args;

use crate::fidelity::{self, record, verify};

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Where the requests go, such as https://api.mews-demo.com.
    #[arg(long)]
    pub upstream: String,
    /// Where the integration sends its requests instead (port 0: any free one).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: String,
    /// The recording to write (JSON Lines; tokens masked).
    #[arg(long, value_name = "FILE")]
    pub output: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The recording to replay.
    pub file: std::path::PathBuf,
    /// Replay against this server instead of a fresh switchboard in this
    /// process (with the demo tenant).
    #[arg(long)]
    pub target: Option<String>,
    /// With --target: the tokens to send (the demo tenant's by default).
    #[arg(long, env = "SWITCHBOARD_VERIFY_CLIENT_TOKEN")]
    pub client_token: Option<String>,
    #[arg(long, env = "SWITCHBOARD_VERIFY_ACCESS_TOKEN")]
    pub access_token: Option<String>,
    /// With --target: its operator token, so that a target on a manual
    /// clock follows the recording's times (else they are moved to now).
    #[arg(long, env = "SWITCHBOARD_OPERATOR_TOKEN")]
    pub operator_token: Option<String>,
    /// Also write the result as a JUnit report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
}

pub async fn record(args: RecordArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr()?;
    println!(
        "switchboard record: send your requests to http://{address}; they go to {}",
        args.upstream
    );
    println!("switchboard record listening on http://{address}");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        #[cfg(unix)]
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            term.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    };
    record::run(&args.upstream, listener, &args.output, async {
        tokio::select! {
            () = shutdown => {},
            () = terminate => {},
        }
    })
    .await?;
    eprintln!(
        "switchboard record: the recording is in {}",
        args.output.display()
    );
    Ok(())
}

/// Replays the recording; fails (exit 1) when anything differs.
pub async fn verify(args: VerifyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.file.display()))?;
    let (_, exchanges) =
        fidelity::read(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let target = match &args.target {
        Some(base) => verify::Target::remote(
            base,
            args.client_token
                .clone()
                .unwrap_or_else(|| crate::demo::CLIENT_TOKEN.to_owned()),
            args.access_token
                .clone()
                .unwrap_or_else(|| crate::demo::PORTFOLIO_ACCESS_TOKEN.to_owned()),
            args.operator_token.clone(),
        ),
        None => {
            let start = exchanges
                .first()
                .and_then(|e| crate::domain::time::parse_datetime(&e.time_utc))
                .unwrap_or_else(chrono::Utc::now);
            verify::Target::local(start).await?
        }
    };
    let differences = verify::verify(&exchanges, &target).await?;
    print!("{}", verify::table(&differences, exchanges.len()));
    if let Some(path) = &args.junit {
        std::fs::write(path, verify::junit(&differences, &exchanges))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if !differences.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
