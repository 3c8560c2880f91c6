//! Fidelity you can check (SPEC §18): `record` keeps the exchanges of an
//! integration with an upstream (the vendor's demo environment, say), and
//! `verify` replays them against switchboard and reports every difference
//! of status and JSON shape.
//!
//! A recording is JSON Lines: a header, then one [`Exchange`] a line.

pub mod record;
pub mod verify;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The first line's `Format`.
pub const FORMAT: &str = "switchboard-recording";
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Where the exchanges went, without credentials or query.
    pub upstream: String,
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Exchange {
    /// When the request was sent (UTC, to the millisecond).
    pub time_utc: String,
    /// Such as `/api/connector/v1/messageThreads/add`. An operator path
    /// (`/api/operator/...`) is a step a switchboard target takes with its
    /// operator token: what happens outside the Connector API (a reply of
    /// the property's staff).
    pub path: String,
    /// The body sent, with every `ClientToken` and `AccessToken` as `***`.
    pub request: Value,
    pub status: u16,
    /// The answer's body when it was JSON.
    #[serde(default)]
    pub response: Option<Value>,
    /// The answer's body when it was not JSON (or empty).
    #[serde(default)]
    pub response_text: Option<String>,
}

/// Replaces every `ClientToken` and `AccessToken` value, at any depth, by
/// `***`.
pub fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                if matches!(name.as_str(), "ClientToken" | "AccessToken") && inner.is_string() {
                    *inner = Value::String("***".to_owned());
                } else {
                    mask(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Reads a recording: its header and exchanges, or what is wrong with it,
/// naming the line.
pub fn read(text: &str) -> anyhow::Result<(Header, Vec<Exchange>)> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, first) = lines
        .next()
        .ok_or_else(|| anyhow::anyhow!("the recording is empty"))?;
    let header: Header = serde_json::from_str(first)
        .map_err(|e| anyhow::anyhow!("line 1 is not a recording's header: {e}"))?;
    if header.format != FORMAT || header.version != VERSION {
        anyhow::bail!(
            "line 1: this reads {FORMAT} version {VERSION}, not {} version {}",
            header.format,
            header.version
        );
    }
    let exchanges = lines
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| anyhow::anyhow!("line {} is not an exchange: {e}", n + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((header, exchanges))
}
