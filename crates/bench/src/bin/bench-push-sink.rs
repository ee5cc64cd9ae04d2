//! The marketplace's push service as the benchmarks need it: an HTTP server that answers every
//! request `204` at once, so reuse-chat's webhook sender runs at full speed during the
//! `marketplace` run with away buyers (issue 16). Counts what it received on SIGTERM.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[derive(Parser)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18091")]
    listen: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let listener = tokio::net::TcpListener::bind(&cli.listen).await?;
    let received = Arc::new(AtomicU64::new(0));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let received = received.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let received = received.clone();
                        async move {
                            // Read the whole body, as a real receiver would.
                            let _ = req.into_body().collect().await;
                            received.fetch_add(1, Ordering::Relaxed);
                            let mut r = Response::new(Empty::<Bytes>::new());
                            *r.status_mut() = StatusCode::NO_CONTENT;
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    eprintln!("push sink: {} requests", received.load(Ordering::Relaxed));
    Ok(())
}
