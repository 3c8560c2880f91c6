//! `switchboard verify`: replays a recording against a target and reports
//! every difference: status, JSON shape (property names, types, null or
//! absent), list lengths, and order (told by the ids, which are mapped from
//! the upstream's to the target's as the answers come).
//!
//! The target is by default a fresh switchboard in this process: SQLite in
//! a temporary folder, the demo tenant (whose tokens are the vendor's public
//! demo tokens), and a manual clock moved to each exchange's time, so that
//! every time the recording names means the same there.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::Exchange;
use crate::clock::{self, ManualClock};
use crate::domain::time::{Timestamp, parse_datetime};
use crate::http::{Settings, router};
use crate::server::{Parts, compose};
use crate::tokens::TokenHash;

/// A difference between the recording and the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The exchange, counting from 1.
    pub exchange: usize,
    pub operation: String,
    /// Where in the answer, such as `$.MessageThreads[0].IsResolved`.
    pub at: String,
    pub recorded: String,
    pub target: String,
}

/// Where the requests go, and how to move its clock.
pub struct Target {
    pub base: String,
    pub client_token: String,
    pub access_token: String,
    /// With it, a target on a manual clock follows the recording's times.
    pub operator_token: Option<String>,
    /// Keeps an in-process target running.
    _local: Option<Local>,
}

struct Local {
    _node: crate::server::Node,
    _dir: tempfile_dir::Dir,
}

/// A temporary folder, removed when dropped (the binary has no `tempfile`).
mod tempfile_dir {
    pub struct Dir(pub std::path::PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Self> {
            let mut name = [0u8; 8];
            let _ = getrandom::fill(&mut name);
            let path =
                std::env::temp_dir().join(format!("switchboard-verify-{}", hex::encode(name)));
            std::fs::create_dir_all(&path)?;
            Ok(Self(path))
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Target {
    /// A target at `base`, with the tokens to send.
    pub fn remote(
        base: &str,
        client_token: String,
        access_token: String,
        operator_token: Option<String>,
    ) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            client_token,
            access_token,
            operator_token,
            _local: None,
        }
    }

    /// A fresh switchboard in this process, its manual clock at `start`.
    pub async fn local(start: DateTime<Utc>) -> anyhow::Result<Self> {
        let dir = tempfile_dir::Dir::new()?;
        let url = format!("sqlite://{}", dir.0.join("verify.db").display());
        let store = crate::store::open(&url).await?;
        crate::demo::seed(store.as_ref(), Timestamp::truncate(start)).await?;
        let started = store.start_clock(start.timestamp_millis()).await?;
        let operator = crate::tokens::generate()?;
        let node = compose(Parts {
            store,
            clock: Arc::new(ManualClock::at(started.version, started.now_ms)),
            real_clock: clock::real(),
            settings: Settings {
                operator_token: TokenHash::of(&operator),
                rate_limit: crate::ratelimit::RateLimit {
                    requests: 1_000_000,
                    window_secs: 1,
                },
                ..Settings::default()
            },
            webhooks: crate::webhooks::WebhookSettings::default(),
            request_log: 0,
            public_url: None,
        })
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(crate::http::serve::serve(
            listener,
            router(node.app.clone()),
            node.app.metrics.clone(),
            crate::http::serve::Limits::default(),
            std::future::pending(),
        ));
        Ok(Self {
            base,
            client_token: crate::demo::CLIENT_TOKEN.to_owned(),
            access_token: crate::demo::PORTFOLIO_ACCESS_TOKEN.to_owned(),
            operator_token: Some(operator),
            _local: Some(Local {
                _node: node,
                _dir: dir,
            }),
        })
    }
}

/// Replays `exchanges` against `target`; every difference found.
pub async fn verify(exchanges: &[Exchange], target: &Target) -> anyhow::Result<Vec<Difference>> {
    let client = reqwest::Client::new();
    let start = exchanges
        .first()
        .and_then(|e| parse_datetime(&e.time_utc))
        .unwrap_or_else(Utc::now);
    // Whether the target's clock follows the recording, else how far the
    // recording's times move.
    let follows = match &target.operator_token {
        Some(token) => clock_mode(&client, target, token).await? == "Manual",
        None => false,
    };
    let shift = if follows {
        chrono::Duration::zero()
    } else {
        Utc::now() - start
    };
    let mut ids = Ids::default();
    let mut differences = Vec::new();
    for (n, exchange) in exchanges.iter().enumerate() {
        let operation = operation_of(&exchange.path);
        if follows
            && let (Some(token), Some(at)) =
                (&target.operator_token, parse_datetime(&exchange.time_utc))
        {
            move_clock(&client, target, token, at).await?;
        }
        let mut body = exchange.request.clone();
        ids.translate(&mut body, shift);
        let operator = exchange.path.starts_with("/api/operator/");
        let request = client
            .post(format!("{}{}", target.base, exchange.path))
            .header("content-type", "application/json");
        let request = if operator {
            strip_tokens(&mut body);
            match &target.operator_token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        } else {
            with_tokens(&mut body, target);
            request
        };
        let answer = request.body(body.to_string()).send().await?;
        let status = answer.status().as_u16();
        let text = answer.text().await?;
        let mut found = Vec::new();
        if status != exchange.status {
            found.push((
                "$".to_owned(),
                format!("status {}", exchange.status),
                format!("status {status}"),
            ));
        }
        match (
            &exchange.response,
            serde_json::from_str::<Value>(&text).ok(),
        ) {
            (Some(recorded), Some(actual)) => {
                compare(recorded, &actual, "$", &mut ids, &mut found);
            }
            (Some(_), None) => found.push((
                "$".to_owned(),
                "a JSON answer".to_owned(),
                describe_text(&text),
            )),
            (None, Some(_)) => found.push((
                "$".to_owned(),
                describe_text(exchange.response_text.as_deref().unwrap_or_default()),
                "a JSON answer".to_owned(),
            )),
            (None, None) => {}
        }
        differences.extend(found.into_iter().map(|(at, recorded, target)| Difference {
            exchange: n + 1,
            operation: operation.clone(),
            at,
            recorded,
            target,
        }));
    }
    Ok(differences)
}

fn describe_text(text: &str) -> String {
    if text.is_empty() {
        "no body".to_owned()
    } else {
        "a body that is not JSON".to_owned()
    }
}

/// `messageThreads/add` of `/api/connector/v1/messageThreads/add`.
fn operation_of(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", api, "v1", rest @ ..] if *api != "connector" => format!("{api}:{}", rest.join("/")),
        ["api", _, "v1", rest @ ..] => rest.join("/"),
        _ => path.to_owned(),
    }
}

async fn clock_mode(
    client: &reqwest::Client,
    target: &Target,
    token: &str,
) -> anyhow::Result<String> {
    let answer: Value = client
        .post(format!("{}/api/operator/v1/clock/get", target.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await?
        .text()
        .await
        .map(|text| serde_json::from_str(&text).unwrap_or_default())?;
    Ok(answer["Mode"].as_str().unwrap_or_default().to_owned())
}

/// Sets the target's manual clock to `at`, when that is forward.
async fn move_clock(
    client: &reqwest::Client,
    target: &Target,
    token: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let now_utc = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // An earlier time is refused (something newer is stored): the clock
    // stays, which is what the recording's order means anyway.
    client
        .post(format!("{}/api/operator/v1/clock/set", target.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(serde_json::json!({ "NowUtc": now_utc }).to_string())
        .send()
        .await?;
    Ok(())
}

fn with_tokens(body: &mut Value, target: &Target) {
    if let Value::Object(map) = body {
        for (name, token) in [
            ("ClientToken", &target.client_token),
            ("AccessToken", &target.access_token),
        ] {
            if map.get(name).is_some_and(|v| v == "***") {
                map.insert(name.to_owned(), Value::String(token.clone()));
            }
        }
    }
}

fn strip_tokens(body: &mut Value) {
    if let Value::Object(map) = body {
        for name in ["ClientToken", "AccessToken", "Client"] {
            map.remove(name);
        }
    }
}

/// The upstream's ids and the target's, learnt from the answers in turn.
#[derive(Default)]
struct Ids {
    to_target: HashMap<Uuid, Uuid>,
    from_target: HashMap<Uuid, Uuid>,
}

impl Ids {
    /// A request's ids made the target's, and its times moved by `shift`.
    fn translate(&self, value: &mut Value, shift: chrono::Duration) {
        match value {
            Value::String(text) => {
                if let Ok(id) = Uuid::try_parse(text) {
                    if let Some(theirs) = self.to_target.get(&id) {
                        *text = theirs.to_string();
                    }
                } else if !shift.is_zero()
                    && let Some(at) = parse_datetime(text)
                {
                    *text = (at + shift).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.translate(v, shift)),
            Value::Object(map) => map.values_mut().for_each(|v| self.translate(v, shift)),
            _ => {}
        }
    }

    /// Whether the recorded id and the target's are the same one: learnt
    /// the first time either is seen.
    fn same(&mut self, recorded: Uuid, target: Uuid) -> bool {
        match (self.to_target.get(&recorded), self.from_target.get(&target)) {
            (Some(known), _) => *known == target,
            (None, Some(_)) => false,
            (None, None) => {
                self.to_target.insert(recorded, target);
                self.from_target.insert(target, recorded);
                true
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Compares the shape of `recorded` and `actual` at `at`; ids (of the same
/// kind) must be the same ones, which tells lists' order.
fn compare(
    recorded: &Value,
    actual: &Value,
    at: &str,
    ids: &mut Ids,
    found: &mut Vec<(String, String, String)>,
) {
    match (recorded, actual) {
        (Value::Object(r), Value::Object(a)) => {
            for (name, value) in r {
                let here = format!("{at}.{name}");
                match a.get(name) {
                    Some(other) => compare(value, other, &here, ids, found),
                    None => found.push((here, kind(value).to_owned(), "absent".to_owned())),
                }
            }
            for (name, value) in a {
                if !r.contains_key(name) {
                    found.push((
                        format!("{at}.{name}"),
                        "absent".to_owned(),
                        kind(value).to_owned(),
                    ));
                }
            }
        }
        (Value::Array(r), Value::Array(a)) => {
            if r.len() != a.len() {
                found.push((
                    at.to_owned(),
                    format!("{} items", r.len()),
                    format!("{} items", a.len()),
                ));
            }
            for (i, (rv, av)) in r.iter().zip(a).enumerate() {
                compare(rv, av, &format!("{at}[{i}]"), ids, found);
            }
        }
        (Value::String(r), Value::String(a)) => {
            if let (Ok(r), Ok(a)) = (Uuid::try_parse(r), Uuid::try_parse(a))
                && !ids.same(r, a)
            {
                found.push((
                    at.to_owned(),
                    format!("the id {r}"),
                    format!("another one, {a} (another item, or another order)"),
                ));
            }
        }
        (r, a) if kind(r) != kind(a) => {
            found.push((at.to_owned(), kind(r).to_owned(), kind(a).to_owned()));
        }
        _ => {}
    }
}

/// The differences as a table for a terminal.
pub fn table(differences: &[Difference], exchanges: usize) -> String {
    let mut out = String::new();
    if differences.is_empty() {
        out.push_str(&format!("{exchanges} exchanges replayed: no difference.\n"));
        return out;
    }
    out.push_str(&format!(
        "{:>4}  {:<28}  {:<44}  {:<22}  TARGET\n",
        "#", "OPERATION", "WHERE", "RECORDING"
    ));
    for d in differences {
        out.push_str(&format!(
            "{:>4}  {:<28}  {:<44}  {:<22}  {}\n",
            d.exchange, d.operation, d.at, d.recorded, d.target
        ));
    }
    let failed: std::collections::BTreeSet<usize> =
        differences.iter().map(|d| d.exchange).collect();
    out.push_str(&format!(
        "{exchanges} exchanges replayed: {} differences in {} of them.\n",
        differences.len(),
        failed.len()
    ));
    out
}

/// The differences as a JUnit report: a test case per exchange.
pub fn junit(differences: &[Difference], exchanges: &[Exchange]) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failed: std::collections::BTreeSet<usize> =
        differences.iter().map(|d| d.exchange).collect();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"switchboard verify\" tests=\"{}\" failures=\"{}\">\n",
        exchanges.len(),
        failed.len()
    );
    for (n, exchange) in exchanges.iter().enumerate() {
        let name = format!("{} {}", n + 1, operation_of(&exchange.path));
        out.push_str(&format!(
            "  <testcase classname=\"recording\" name=\"{}\"",
            escape(&name)
        ));
        let mine: Vec<&Difference> = differences.iter().filter(|d| d.exchange == n + 1).collect();
        if mine.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        let text: Vec<String> = mine
            .iter()
            .map(|d| format!("{}: recording {}, target {}", d.at, d.recorded, d.target))
            .collect();
        out.push_str(&format!(
            ">\n    <failure message=\"{} differences\">{}</failure>\n  </testcase>\n",
            mine.len(),
            escape(&text.join("\n"))
        ));
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff(recorded: Value, actual: Value) -> Vec<(String, String, String)> {
        let mut found = Vec::new();
        compare(&recorded, &actual, "$", &mut Ids::default(), &mut found);
        found
    }

    #[test]
    fn a_shape_differs_by_names_types_null_lengths_and_ids() {
        let a = Uuid::new_v4().to_string();
        let b = Uuid::new_v4().to_string();
        assert!(
            diff(json!({"X": [{"Id": a}]}), json!({"X": [{"Id": b}]})).is_empty(),
            "ids map"
        );
        let found = diff(
            json!({"Name": "x", "Gone": 1, "Kind": "s", "Maybe": null, "List": [1, 2]}),
            json!({"Name": "y", "New": true, "Kind": 3, "List": [1]}),
        );
        let wheres: Vec<&str> = found.iter().map(|(w, _, _)| w.as_str()).collect();
        assert_eq!(wheres, ["$.Gone", "$.Kind", "$.Maybe", "$.List", "$.New"]);
        assert_eq!(found[2].1, "null");
        assert_eq!(found[2].2, "absent");
        // Two items in another order: their ids tell.
        let mut ids = Ids::default();
        let mut found = Vec::new();
        compare(
            &json!([a, b]),
            &json!(["1", "2"]),
            "$",
            &mut ids,
            &mut found,
        );
        let (x, y) = (Uuid::new_v4().to_string(), Uuid::new_v4().to_string());
        compare(&json!([a, b]), &json!([x, y]), "$", &mut ids, &mut found);
        compare(&json!([a, b]), &json!([y, x]), "$", &mut ids, &mut found);
        assert_eq!(found.len(), 2, "{found:?}");
    }
}
