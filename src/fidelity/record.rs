//! `switchboard record`: a proxy for the Connector API that forwards each
//! request to the upstream, answers with the upstream's answer, and appends
//! the exchange to a recording, tokens masked.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::net::TcpListener;

use super::{Exchange, FORMAT, Header, VERSION, mask};

struct Proxy {
    upstream: String,
    client: reqwest::Client,
    out: Mutex<std::io::BufWriter<std::fs::File>>,
}

/// Forwards to `upstream` what arrives on `listener` and records it in
/// `output` (created, or emptied), until `shutdown`.
pub async fn run(
    upstream: &str,
    listener: TcpListener,
    output: &std::path::Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let upstream = upstream.trim_end_matches('/').to_owned();
    let shown = url::Url::parse(&upstream)
        .map(|mut url| {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string().trim_end_matches('/').to_owned()
        })
        .map_err(|e| anyhow::anyhow!("--upstream {upstream} is not a URL: {e}"))?;
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(output)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?,
    );
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        upstream: shown,
    };
    writeln!(file, "{}", serde_json::to_string(&header)?)?;
    file.flush()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let proxy = Arc::new(Proxy {
        upstream,
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?,
        out: Mutex::new(file),
    });
    let app = Router::new().fallback(forward).with_state(proxy);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let time_utc = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut request = proxy
        .client
        .post(format!("{}{path}", proxy.upstream))
        .body(body.clone());
    // What the request is and who sends it; the recording keeps neither
    // the operator token nor anything else of the headers.
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value.clone());
        }
    }
    let answer = match request.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("switchboard record: the upstream did not answer: {e}"),
            )
                .into_response();
        }
    };
    let status = answer.status();
    let kind = answer.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = answer.bytes().await.unwrap_or_default();

    let mut sent: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    mask(&mut sent);
    let (response, response_text) = match serde_json::from_slice::<Value>(&bytes) {
        Ok(json) => (Some(json), None),
        Err(_) => (None, Some(String::from_utf8_lossy(&bytes).into_owned())),
    };
    let exchange = Exchange {
        time_utc,
        path,
        request: sent,
        status: status.as_u16(),
        response,
        response_text,
    };
    if let Ok(line) = serde_json::to_string(&exchange) {
        let mut out = proxy.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    }
    let mut reply = (status, bytes).into_response();
    if let Some(kind) = kind {
        reply.headers_mut().insert(header::CONTENT_TYPE, kind);
    }
    reply
}
