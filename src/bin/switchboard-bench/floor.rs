//! The floors over HTTP: minimal HTTP/1.1 servers that read each request and
//! answer it, run as processes of their own, like switchboard, so that all
//! share the machine with the load generator in the same way.
//!
//! - The HTTP floor answers a fixed body: what HTTP alone costs.
//! - The page floor answers S2's page, queried and written for each request
//!   as the data floor does it ([`crate::data_floor`]), on a read-only SQLite
//!   connection of each runtime thread, on that thread: the least a page over
//!   HTTP can cost. What switchboard spends beyond it is its own (routing, the
//!   body's parse and checks, authentication, the rate limit, the hop of the
//!   read to the blocking pool, metrics and the request log).

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use uuid::Uuid;

use crate::data_floor::Pages;

/// What a floor answers.
pub enum Answer {
    /// The same body every time.
    Fixed(Bytes),
    /// S2's page of this SQLite file, at depth 0 or after a thread.
    Page {
        database: PathBuf,
        after: Option<Uuid>,
    },
}

thread_local! {
    /// The page floor's connection of this runtime thread, opened on its
    /// first request.
    static PAGES: RefCell<Option<Pages>> = const { RefCell::new(None) };
}

impl Answer {
    fn body(&self) -> anyhow::Result<Bytes> {
        match self {
            Answer::Fixed(body) => Ok(body.clone()),
            Answer::Page { database, after } => PAGES.with(|pages| {
                let mut pages = pages.borrow_mut();
                let pages = match &mut *pages {
                    Some(opened) => opened,
                    none => none.insert(Pages::open(database, *after)?),
                };
                Ok(Bytes::from(pages.page()?))
            }),
        }
    }
}

pub async fn serve(answer: Answer) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("floor listening on {}", listener.local_addr()?);
    let answer = Arc::new(answer);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let answer = answer.clone();
                async move {
                    let _ = request.into_body().collect().await;
                    let (status, body) = match answer.body() {
                        Ok(body) => (200, body),
                        Err(e) => (500, Bytes::from(e.to_string())),
                    };
                    hyper::Response::builder()
                        .status(status)
                        .header("content-type", "application/json; charset=utf-8")
                        .body(Full::new(body))
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
