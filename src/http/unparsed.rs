//! Requests that hyper cannot read: a malformed request line or header, a bad
//! `Content-Length`, a target or headers too large. hyper answers those itself
//! (400, 414 or 431, no body) before any of our code sees a request, so the
//! answer would lack what SPEC §3 gives every response: a `Request-Id` and the
//! JSON error body.
//!
//! [`Answering`] wraps a connection's socket and finishes such an answer on its
//! way out. It recognises it by shape: a response head with one of those three
//! statuses, `content-length: 0`, and no header but `date` and `connection`
//! besides. Every response of ours has a `request-id` (the request middleware
//! adds it to all of them), and every body we write starts with `{`, `[`, `<`,
//! a chunk size or an event field, never with `HTTP/` (and JSON holds no raw
//! line breaks, so not even a body cut by a partial write can look like a
//! head), so nothing of ours can match. The head is
//! replaced by one with the id, the JSON type and length, and the body follows.
//! hyper closes the connection after such an answer, as before.
//!
//! The head is looked for at the start of a write only. Should hyper ever
//! write it after the unflushed tail of an earlier answer on the same
//! connection (pipelined requests), it would go out as hyper wrote it; the
//! pipelining test in `tests/api/unreadable.rs` shows that hyper flushes the
//! two apart.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use uuid::Uuid;

use super::context::{JSON_UTF8, REQUEST_ID};
use crate::metrics::Metrics;

/// The route under which these answers are counted in the metrics.
pub const ROUTE: &str = "unparsed";

/// A socket whose writes are passed through, except hyper's own error heads,
/// which are completed (see the module documentation).
pub struct Answering<S> {
    inner: S,
    metrics: Arc<Metrics>,
    /// The answer being written in place of hyper's head.
    replacing: Option<Replacement>,
}

struct Replacement {
    bytes: Vec<u8>,
    written: usize,
    /// The length of hyper's head, reported as written once ours is out.
    replaced: usize,
}

impl<S> Answering<S> {
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            metrics,
            replacing: None,
        }
    }
}

/// What a head that hyper wrote for a request it could not read says, by
/// status, or `None` when `bytes` does not start with such a head.
fn own_error(bytes: &[u8]) -> Option<(u16, &'static str, usize)> {
    let rest = bytes.strip_prefix(b"HTTP/1.")?;
    let (status, message) = match rest.get(2..5)? {
        b"400" => (
            400,
            "The request is not valid HTTP/1.1: its request line, a header or its Content-Length cannot be read.",
        ),
        b"414" => (414, "The request target is too long."),
        b"431" => (431, "The request's headers are too large or too many."),
        _ => return None,
    };
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    // hyper's own head has exactly these headers; anything else is not it.
    let mut empty = false;
    for line in head.trim_end_matches("\r\n").split("\r\n").skip(1) {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            empty = value.trim() == "0";
        } else if !(name.eq_ignore_ascii_case("date") || name.eq_ignore_ascii_case("connection")) {
            return None;
        }
    }
    empty.then_some((status, message, end))
}

/// Our answer in place of hyper's `head`: its status line and headers, less
/// its `content-length`, plus the id, the type, the length and the body.
fn replacement(head: &[u8], message: &str, id: Uuid) -> Vec<u8> {
    let body = serde_json::json!({ "Message": message, "RequestId": id }).to_string();
    let head = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + body.len() + 128);
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        let is_length = line
            .split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"));
        if !is_length {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "content-type: {JSON_UTF8}\r\ncontent-length: {}\r\n{REQUEST_ID}: {id}\r\n\r\n{body}",
        body.len()
    ));
    out.into_bytes()
}

impl<S: AsyncWrite + Unpin> Answering<S> {
    /// Starts a replacement when `buf` begins with hyper's own error head.
    fn notice(&mut self, buf: &[u8]) {
        if self.replacing.is_some() {
            return;
        }
        let Some((status, message, end)) = own_error(buf) else {
            return;
        };
        let id = Uuid::new_v4();
        tracing::info!(
            target: "switchboard::request",
            status,
            request_id = %id,
            "request that could not be read"
        );
        self.metrics.observe_request(ROUTE, status, Duration::ZERO);
        self.replacing = Some(Replacement {
            bytes: replacement(&buf[..end], message, id),
            written: 0,
            replaced: end,
        });
    }

    /// Writes the replacement out; ready with the length of hyper's head.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(replacement) = self.replacing.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while replacement.written < replacement.bytes.len() {
            let rest = &replacement.bytes[replacement.written..];
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, rest))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            replacement.written += n;
        }
        let replaced = replacement.replaced;
        self.replacing = None;
        Poll::Ready(Ok(replaced))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Answering<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Answering<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.notice(buf);
        if this.replacing.is_some() {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // A head is always the first thing hyper queues.
        if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
            this.notice(first);
        }
        if this.replacing.is_some() {
            return this.poll_replacement(cx);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a write holds, looking at it neither panics nor takes a
        /// head that carries a request id, or any 2xx or 3xx head.
        #[test]
        fn any_write_is_looked_at_safely(
            status in 100u16..600,
            headers in proptest::collection::vec(("[a-zA-Z-]{1,12}", "[ -~]{0,20}"), 0..6),
            with_id in any::<bool>(),
            tail in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut head = format!("HTTP/1.1 {status} X\r\n");
            for (name, value) in &headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            if with_id {
                head.push_str("Request-Id: 1\r\n");
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(&tail);
            let seen = own_error(&bytes);
            if with_id || !matches!(status, 400 | 414 | 431) {
                prop_assert!(seen.is_none());
            }
            // Bytes that are not a head at all are never taken either.
            prop_assert!(own_error(&tail).is_none() || tail.starts_with(b"HTTP/1."));
        }
    }

    const HYPER_400: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 23:00:00 GMT\r\n\r\n";

    #[test]
    fn only_hypers_own_error_heads_are_recognised() {
        assert_eq!(
            own_error(HYPER_400).map(|(s, _, n)| (s, n)),
            Some((400, HYPER_400.len()))
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nrequest-id: x\r\n\r\n";
        assert!(
            own_error(ours).is_none(),
            "a head with a request id is ours"
        );
        let with_body = b"HTTP/1.1 431 Too Large\r\ncontent-length: 12\r\n\r\n";
        assert!(
            own_error(with_body).is_none(),
            "a head with a body is not hyper's"
        );
        let continuing = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert!(own_error(continuing).is_none(), "interim answers pass");
        let not_a_head = b"{\"Message\":\"HTTP/1.1 400\"}";
        assert!(own_error(not_a_head).is_none());
        let other = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-other: 1\r\n\r\n";
        assert!(
            own_error(other).is_none(),
            "hyper's head has no other header"
        );
        let hypers = b"HTTP/1.1 431 Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        assert!(own_error(hypers).is_some());
        let cut = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n";
        assert!(own_error(cut).is_none(), "a head cut short is left alone");
    }

    #[test]
    fn the_replacement_keeps_the_status_and_headers_and_adds_the_body() {
        let id = Uuid::new_v4();
        let bytes = replacement(HYPER_400, "Bad.", id);
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(
            head.contains("\r\ndate: Mon, 30 Nov 2026 23:00:00 GMT"),
            "{head}"
        );
        assert!(head.contains(&format!("\r\nrequest-id: {id}")), "{head}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", body.len())),
            "{head}"
        );
        assert!(!head.contains("content-length: 0"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"Message": "Bad.", "RequestId": id})
        );
    }
}
