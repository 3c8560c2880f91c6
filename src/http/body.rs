//! The request body of every API operation: a JSON object of bounded size.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tokio::time::Instant;

use std::sync::Arc;

use super::AppState;
use super::context::RequestContext;
use super::error::ApiError;
use crate::request_log;

/// A request body that is JSON, sent as `application/json`, within the size limit.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, ApiError> {
        let context = request.extensions().get::<Arc<RequestContext>>().cloned();
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Type must be application/json.",
            ));
        }
        if is_encoded(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "Content-Encoding is not supported: send the body uncompressed.",
            ));
        }
        let limit = app.settings.max_body_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let too_large = declared.is_some_and(|length| length > limit as u64);
        let bytes = match read_within(request.into_body(), limit, too_large).await {
            Ok(bytes) => bytes,
            Err(Read::TooLarge) => return Err(ApiError::PayloadTooLarge(limit)),
            Err(Read::Failed) => {
                return Err(ApiError::BadRequest(
                    "The request body could not be read.".to_owned(),
                ));
            }
        };
        let value = parse_json(&bytes).map_err(|e| {
            // The very body a tester needs to see: kept as text.
            if let Some(context) = &context
                && app.requests.is_on()
            {
                context.set_logged_body(request_log::request_text(&bytes));
            }
            ApiError::BadRequest(format!("The request body is not valid JSON: {e}."))
        })?;
        Ok(Self(value))
    }
}

/// How much of a body over the limit is read and thrown away before the 413
/// goes out, and for how long at most. A client that sends its whole body
/// before it reads the answer (most HTTP libraries do) then receives the 413;
/// answered while its body still arrives, it would see the connection reset.
const DRAIN_BYTES: u64 = 32 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Why a body was not read.
enum Read {
    TooLarge,
    Failed,
}

/// The body, if it is at most `limit` bytes. One over the limit (or
/// `too_large` already, by its `Content-Length`) is drained within
/// [`DRAIN_BYTES`] and [`DRAIN_TIME`] and refused.
async fn read_within(mut body: Body, limit: usize, mut too_large: bool) -> Result<Bytes, Read> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut kept = 0usize;
    let mut drained = 0u64;
    let mut deadline = too_large.then(|| Instant::now() + DRAIN_TIME);
    loop {
        let frame = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(frame) => frame,
                Err(_) => return Err(Read::TooLarge),
            },
            None => body.frame().await,
        };
        let data = match frame {
            None => break,
            Some(Err(_)) if too_large => return Err(Read::TooLarge),
            Some(Err(_)) => return Err(Read::Failed),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        if too_large {
            drained += data.len() as u64;
            if drained > DRAIN_BYTES {
                return Err(Read::TooLarge);
            }
        } else if kept + data.len() > limit {
            too_large = true;
            deadline = Some(Instant::now() + DRAIN_TIME);
            drained = (kept + data.len()) as u64;
            chunks = Vec::new();
        } else {
            kept += data.len();
            chunks.push(data);
        }
    }
    if too_large {
        return Err(Read::TooLarge);
    }
    Ok(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => Bytes::from(chunks.concat()),
    })
}

/// Parses JSON, refusing an object that names a property twice: a proxy that
/// reads the first of two `AccessToken`s must not see another token than we do.
pub fn parse_json(bytes: &[u8]) -> serde_json::Result<Value> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value = Unique.deserialize(&mut reader)?;
    reader.end()?;
    Ok(value)
}

/// Reads a JSON value like `serde_json::Value` does, but for duplicate names.
struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Unique)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(A::Error::custom(format!(
                    "the property {name} appears more than once"
                )));
            }
            let value = map.next_value_seed(Unique)?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

/// A body sent compressed (anything but `identity`).
fn is_encoded(headers: &HeaderMap) -> bool {
    headers.get_all(header::CONTENT_ENCODING).iter().any(|v| {
        !v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    })
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether the client asked for `204 No Content` instead of an empty page.
pub fn prefers_minimal(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
}
