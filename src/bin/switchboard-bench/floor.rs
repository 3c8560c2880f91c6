//! The floor: a minimal HTTP/1.1 server that reads each request and answers a
//! fixed body. Run as its own process, like switchboard, so that both share the
//! machine with the load generator in the same way.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

pub async fn serve(body_bytes: usize) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("floor listening on {}", listener.local_addr()?);
    let body = Bytes::from(vec![b'x'; body_bytes]);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let body = body.clone();
                async move {
                    let _ = request.into_body().collect().await;
                    hyper::Response::builder()
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
