//! The `reuse-chat` binary: parses the command line and runs the chosen subcommand.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use reuse_chat::config::{Cli, Command, LogFormat, Settings};
use reuse_chat::App;

// Small short-lived allocations, made on one worker thread and freed on another, are most of
// what a message costs besides SQLite and the sockets. jemalloc did best on the persist and
// fan-out loads for 3% more memory per idle session (docs/BENCHMARKS.md, "Allocator").
#[cfg(all(feature = "mimalloc", not(feature = "jemalloc")))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (raw, serve) = match cli.command {
        Command::Serve(raw) => (raw, true),
        Command::Migrate(raw) => (raw, false),
    };
    let settings = match Settings::load(raw) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reuse-chat: {e}");
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log));
    match settings.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("reuse-chat: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: anyhow::Result<()> = runtime.block_on(async move {
        if !serve {
            reuse_chat::app::open_store(&settings).await?;
            tracing::info!("migrations applied");
            return Ok(());
        }
        // Listen for the signals before the port opens: a service manager (or a test) may stop
        // the server as soon as it accepts connections, and a signal with no handler yet kills
        // the process instead of shutting it down.
        let signals = ShutdownSignals::install();
        let app = App::build(settings).await?;
        let token = app.shutdown_token();
        tokio::spawn(async move {
            signals.wait().await;
            tracing::info!("shutdown signal received");
            token.cancel();
        });
        app.run().await?;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reuse-chat: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and SIGINT, registered when created (not when first awaited).
struct ShutdownSignals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn install() -> ShutdownSignals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            ShutdownSignals {
                term: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        ShutdownSignals {}
    }

    /// Resolves at the first SIGTERM or SIGINT.
    async fn wait(self) {
        #[cfg(unix)]
        {
            let (Some(mut term), Some(mut interrupt)) = (self.term, self.interrupt) else {
                let _ = tokio::signal::ctrl_c().await;
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = interrupt.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
