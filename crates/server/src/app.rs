//! Assembly: builds every part from [`Settings`], binds the port, serves until shut down, and
//! shuts down in order (stop accepting, finish sessions and commits, close storage).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_core::memory::{LocalBus, MemoryPresence};
use chat_core::{ChatService, DomainLimits, StoreError};
use chat_store::{SqlStore, StoreOptions};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Authenticator;
use crate::config::Settings;
use crate::http::{router, AppState};
use crate::stomp::hub::Hub;
use crate::stomp::session::{SessionLimits, WsContext};

/// Why the server could not start or stopped abnormally.
#[derive(Debug, Error)]
pub enum AppError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The identity settings could not be used.
    #[error("auth: {0}")]
    Auth(String),
    /// The server loop failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// A built server, bound to its port, not yet serving.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    committer: JoinHandle<()>,
    store: Arc<SqlStore>,
    hub: Arc<Hub>,
}

/// How long shutdown waits for sessions to finish their pending commits and say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Opens the database named by the settings and runs its migrations.
pub async fn open_store(settings: &Settings) -> Result<SqlStore, AppError> {
    if settings.database.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            AppError::Store(StoreError::Unavailable(format!(
                "cannot create {}: {e}",
                settings.data_dir.display()
            )))
        })?;
    }
    let options = StoreOptions {
        acquire_timeout: settings.database_timeout,
        ..StoreOptions::default()
    };
    let store = SqlStore::connect(&settings.database, options).await?;
    store.migrate().await?;
    Ok(store)
}

impl App {
    /// Builds every part and binds the listen address (port 0 picks a free port).
    pub async fn build(settings: Settings) -> Result<App, AppError> {
        let store = Arc::new(open_store(&settings).await?);
        let hub = Arc::new(Hub::new());
        let bus = Arc::new(LocalBus::new(hub.clone()));
        let presence = Arc::new(MemoryPresence::new());
        let limits = DomainLimits {
            max_content_chars: settings.max_content_chars,
            history_max: settings.history_max,
            history_default: 50.min(settings.history_max),
            ..DomainLimits::default()
        };
        let (service, committer) = ChatService::new(store.clone(), bus, presence, limits);
        let service = Arc::new(service);
        let auth = Arc::new(Authenticator::new(&settings.auth).map_err(AppError::Auth)?);
        if auth.is_header_mode() {
            tracing::warn!(
                "auth mode 'header': X-Auth-User is trusted as is. This service must sit behind a \
                 gateway that authenticates users and sets X-Auth-User (and strips it from \
                 client requests); use --auth jwt otherwise"
            );
        }
        let shutdown = CancellationToken::new();
        let tracker = TaskTracker::new();
        let session_limits = SessionLimits {
            frame: reuse_stomp::Limits {
                max_frame_bytes: settings.max_frame_bytes,
                max_headers: 32,
                max_header_bytes: 8 * 1024,
            },
            max_subscriptions: settings.max_subscriptions,
            outbound_queue: settings.outbound_queue,
            heartbeat: settings.heartbeat,
            connect_timeout: Duration::from_secs(10),
            max_inflight: 256,
            max_transactions: 8,
            max_transaction_frames: 100,
            drain_timeout: Duration::from_secs(10),
            write_timeout: settings.write_timeout,
        };
        let node_id = format!("{:08x}", rand_u32());
        let ws = Arc::new(WsContext::new(
            service.clone(),
            hub.clone(),
            auth.clone(),
            session_limits,
            node_id,
            shutdown.clone(),
        ));
        let state = AppState {
            service,
            auth,
            ws,
            tracker: tracker.clone(),
            max_ws_message: settings.max_frame_bytes * 2,
            max_sessions: settings.max_sessions,
        };
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| AppError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        Ok(App {
            listener,
            router: router(state, 64 * 1024),
            shutdown,
            tracker,
            committer,
            store,
            hub,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Cancel it to shut the server down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// This node's fan-out hub (for counters).
    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Serves until the shutdown token is cancelled, then stops accepting, lets every session
    /// finish its pending commits and say `ERROR` "server shutting down", drains the
    /// committer and closes the database.
    pub async fn run(self) -> Result<(), AppError> {
        let App {
            listener,
            router,
            shutdown,
            tracker,
            committer,
            store,
            hub: _,
        } = self;
        tracing::info!(addr = ?listener.local_addr().ok(), "serving");
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await;
        shutdown.cancel();
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sessions did not finish within the shutdown grace period");
        }
        // Every handle on the service is gone now, so the committer drains and ends.
        if tokio::time::timeout(SHUTDOWN_GRACE, committer)
            .await
            .is_err()
        {
            tracing::warn!("the committer did not finish within the shutdown grace period");
        }
        store.close().await;
        tracing::info!("stopped");
        result.map_err(AppError::Serve)
    }
}

fn rand_u32() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}
