//! `bench-baseline`: the bare WebSocket broadcast server that the benchmarks measure
//! reuse-chat and RabbitMQ against (see `chat_bench::baseline`). Not part of the product.

use std::net::SocketAddr;

use clap::Parser;
use tokio_util::sync::CancellationToken;

/// A bare STOMP-over-WebSocket broadcast server: the physical limit for the benchmarks.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    chat_bench::procstat::raise_nofile_limit();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        eprintln!("bench-baseline listening on {}", listener.local_addr()?);
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            stop.cancel();
        });
        chat_bench::baseline::serve(listener, shutdown).await;
        Ok(())
    })
}
