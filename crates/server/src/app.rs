//! Assembly: builds every part from [`Settings`], binds the port, serves until shut down, and
//! shuts down in order (stop accepting, finish sessions and commits, close storage).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_blobs::ObjectBlobStore;
use chat_bus_kafka::KafkaBus;
use chat_core::linking::LinkingStore;
use chat_core::links::LinkSigner;
use chat_core::memory::{LocalBus, MemoryPresence};
use chat_core::photos::{PhotoLimits, Photos};
use chat_core::ports::{Bus, ChatStore, EventSink, Presence, SharedBuckets};
use chat_core::safety::blocks::BlockWatch;
use chat_core::safety::{BlockList, Detector};
use chat_core::sequencer::{Sequencer, SequencerOptions};
use chat_core::service::ServiceParts;
use chat_core::{ChatService, DomainLimits, StoreError, StoreErrorKind};
use chat_mail::MailHealth;
use chat_presence_redis::{RedisPresence, RedisPresenceOptions};
use chat_store::{SqlStore, StoreOptions};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Authenticator;
use crate::config::{BusSetting, PresenceSetting, Settings};
use crate::http::{router, AppState};
use crate::http_photos::PhotoDesk;
use crate::rate_limits::RateLimits;
use crate::serve::{serve, ConnLimits};
use crate::stomp::context::{SessionLimits, WsContext};
use crate::stomp::hub::Hub;

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
    /// The inquiry mailer could not be started.
    #[error("mail: {0}")]
    Mail(String),
    /// The bus settings could not be used or the broker could not be reached.
    #[error("bus: {0}")]
    Bus(String),
    /// The presence settings could not be used.
    #[error("presence: {0}")]
    Presence(String),
    /// The blob store could not be opened.
    #[error("blobs: {0}")]
    Blobs(String),
    /// The notification sender could not start.
    #[error("push: {0}")]
    Push(String),
    /// The safety rules could not be loaded.
    #[error("safety rules: {0}")]
    Safety(String),
    /// The server loop failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// A built server, bound to its port, not yet serving.
pub struct App {
    listener: TcpListener,
    router: axum::Router,
    conn_limits: ConnLimits,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    committer: JoinHandle<()>,
    store: Arc<SqlStore>,
    hub: Arc<Hub>,
    /// The inquiry mailer and how long shutdown waits for it.
    mail: Option<(JoinHandle<()>, Duration)>,
    presence: Arc<dyn Presence>,
    kafka: Option<Arc<KafkaBus>>,
    bus_stop: CancellationToken,
    bus_task: Option<JoinHandle<()>>,
    /// The photo janitor, stopped at shutdown (whatever it did not finish, the next start or
    /// another node does).
    janitor: JoinHandle<()>,
    /// The appointment reminder loop, stopped at shutdown (reminders are rows: the next start
    /// or another node posts what is due).
    reminders: JoinHandle<()>,
    /// The notifier (ends once the committer and the service are gone) and the notification
    /// sender (stops at shutdown once its deliveries in flight are recorded).
    notifications: Option<(JoinHandle<()>, JoinHandle<()>)>,
}

/// How long shutdown waits, beyond a send's own timeout, for the mailer to record it.
const MAIL_RECORD_GRACE: Duration = Duration::from_secs(5);

/// How long shutdown waits for sessions to finish their pending commits and say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// Builds the presence backend the settings name, for node `node`. Redis being down is not
/// fatal: presence is advisory, and `/ready` reports it.
/// The presence backend, and with Redis the rate buckets every node shares.
async fn open_presence(
    setting: &PresenceSetting,
    node: &str,
) -> Result<(Arc<dyn Presence>, Option<Arc<dyn SharedBuckets>>), AppError> {
    Ok(match setting {
        PresenceSetting::Memory => (Arc::new(MemoryPresence::new()), None),
        PresenceSetting::Redis { url, prefix } => {
            let options = RedisPresenceOptions {
                prefix: prefix.clone(),
                ..RedisPresenceOptions::default()
            };
            let p = RedisPresence::connect(url, node, options)
                .await
                .map_err(|e| AppError::Presence(e.to_string()))?;
            let p = Arc::new(p);
            (p.clone(), Some(p))
        }
    })
}

/// Aborts a background task when dropped (on every way out of `run`).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often each node looks for appointment reminders that are due.
const REMINDER_INTERVAL: Duration = Duration::from_secs(1);

/// Stored messages waiting for the notifier before their notifications are dropped (counted).
const NOTIFIER_QUEUE: usize = 16_384;

/// How often the photo janitor looks for photos to delete when nothing wakes it.
const JANITOR_INTERVAL: Duration = Duration::from_secs(60);

/// Opens the blob store and builds the photos part of the domain over it.
fn open_photos(settings: &Settings, store: Arc<SqlStore>) -> Result<Arc<Photos>, AppError> {
    let p = &settings.photos;
    let blobs = ObjectBlobStore::open(&p.blobs).map_err(|e| AppError::Blobs(e.to_string()))?;
    tracing::info!(blobs = blobs.name(), "photos");
    if !p.signing_key_shared && p.blobs.starts_with("s3://") {
        tracing::warn!(
            "photos are in a shared bucket but their addresses are signed with a key made at \
             start: give every node the same --url-signing-key (or --jwt-secret), or a photo \
             address from one node will not work on another"
        );
    }
    let signer = LinkSigner::new(&p.signing_key, p.url_ttl, &p.public_url);
    let limits = PhotoLimits {
        max_bytes: p.max_bytes,
        ..PhotoLimits::default()
    };
    Ok(Arc::new(Photos::new(
        store.clone(),
        store,
        Arc::new(blobs),
        signer,
        limits,
    )))
}

/// Opens the database named by the settings and runs its migrations.
pub async fn open_store(settings: &Settings) -> Result<SqlStore, AppError> {
    if settings.database.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            AppError::Store(StoreError::with_source(
                StoreErrorKind::Unavailable,
                format!("cannot create {}", settings.data_dir.display()),
                e,
            ))
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
        // First, so that every counter registered below reports to it.
        let metrics = crate::telemetry::install();
        let store = Arc::new(open_store(&settings).await?);
        // Messages stored before search existed get their searchable form in the background;
        // an interrupted backfill resumes at the next start (it skips what it wrote).
        tokio::spawn({
            let store = store.clone();
            async move {
                match store.backfill_search_text().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(messages = n, "search: earlier messages made searchable")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "search backfill stopped; the next start resumes it")
                    }
                }
            }
        });
        let hub = Arc::new(Hub::new());
        // Unique in the cluster: it prefixes session keys and names this node in presence
        // and on the bus.
        let node_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
        // Whatever the bus, events reach this node's sessions through the sequencer, which
        // keeps each room in id order and fills gaps from storage.
        let photos = open_photos(&settings, store.clone())?;
        // Every message read from storage (history, room lists, a commit's fan-out, a gap
        // filled) gets fresh signed addresses for its photos.
        let linked: Arc<dyn ChatStore> =
            Arc::new(LinkingStore::new(store.clone(), photos.signer().clone()));
        // Blocks are cached on each node; a block change on the bus makes every node forget
        // both users' entries on its way to the sessions.
        let block_list = Arc::new(BlockList::new(store.clone()));
        let watched: Arc<dyn EventSink> =
            Arc::new(BlockWatch::new(block_list.clone(), hub.clone()));
        let (sequencer, _sequencer_task) =
            Sequencer::new(watched, linked.clone(), SequencerOptions::default());
        let bus_stop = CancellationToken::new();
        let (bus, kafka, bus_task): (Arc<dyn Bus>, _, _) = match &settings.bus {
            BusSetting::Local => (Arc::new(LocalBus::new(sequencer.clone())), None, None),
            BusSetting::Kafka(config) => {
                let (bus, task) = KafkaBus::start(
                    config.clone(),
                    node_id.clone(),
                    sequencer.clone(),
                    bus_stop.clone(),
                )
                .await
                .map_err(|e| AppError::Bus(e.to_string()))?;
                (bus.clone(), Some(bus), Some(task))
            }
        };
        let (presence, shared_buckets) = open_presence(&settings.presence, &node_id).await?;
        let limits = DomainLimits {
            max_content_chars: settings.max_content_chars,
            history_max: settings.history_max,
            history_default: 50.min(settings.history_max),
            reminder_lead: settings.notify.reminder_lead,
            ..DomainLimits::default()
        };
        // Offline notifications: queued by the notifier beside delivery, sent from the outbox.
        let notify_wake = Arc::new(tokio::sync::Notify::new());
        let notifier = settings.notify.push.enabled().then(|| {
            chat_core::notify::notifier::spawn(
                store.clone(),
                presence.clone(),
                settings.notify.coalescing,
                notify_wake.clone(),
                NOTIFIER_QUEUE,
            )
        });
        let parts = ServiceParts {
            store: linked,
            bus,
            presence: presence.clone(),
            sequencer,
            subscriptions: hub.clone(),
            photos: Some(photos.clone()),
            safety: store.clone(),
            blocks: block_list,
            listing: store.clone(),
            notifications: store.clone(),
            notify: notifier.as_ref().map(|(queue, _)| queue.clone()),
        };
        let safety = &settings.safety;
        let extra_rules: Vec<&str> = safety.extra_rules.iter().map(String::as_str).collect();
        let detector = Detector::new(&extra_rules, safety.mask)
            .map_err(|e| AppError::Safety(e.to_string()))?;
        let (service, committer) = ChatService::new(parts, limits);
        let service = service.with_detector(Arc::new(detector));
        let service = match &settings.notify.push.web_push {
            Some(_) => service.with_web_push(settings.notify.endpoints),
            None => service,
        };
        let rate_limits = RateLimits::new(&safety.limits);
        let rate_limits = Arc::new(match shared_buckets {
            Some(shared) => rate_limits.with_shared(shared),
            None => rate_limits,
        });
        // Stored inquiries wake the mailer (when there is one) instead of waiting for its poll.
        let inquiry_signal = Arc::new(tokio::sync::Notify::new());
        let service = Arc::new(service.with_inquiry_signal(inquiry_signal.clone()));
        // Messages read back from storage reach the event streams without their room's state:
        // the refresher reads it. Users a dead node left offline are announced from here.
        let (refresh_tx, refresh_rx) =
            tokio::sync::mpsc::channel(crate::stomp::user_streams::REFRESH_QUEUE);
        hub.users.set_refresh(refresh_tx);
        crate::stomp::user_streams::spawn_refresher(Arc::downgrade(&service), refresh_rx);
        if let Some(departures) = presence.take_departures() {
            chat_core::online::follow_departures(Arc::downgrade(&service), departures);
        }
        let auth = Arc::new(Authenticator::new(&settings.auth).map_err(AppError::Auth)?);
        if auth.is_header_mode() {
            tracing::warn!(
                "auth mode 'header': X-Auth-User is trusted as is. This service must sit behind a \
                 gateway that authenticates users and sets X-Auth-User (and strips it from \
                 client requests); use --auth jwt otherwise"
            );
        }
        let shutdown = CancellationToken::new();
        if let Some(handle) = &metrics {
            crate::telemetry::spawn_upkeep(handle.clone(), shutdown.clone());
        }
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
            max_message_bytes: settings.max_frame_bytes * 2,
        };
        let mail_health = settings.mail.as_ref().map(|_| MailHealth::default());
        let mail_node = node_id.clone();
        let ws = Arc::new(
            WsContext::new(
                service.clone(),
                hub.clone(),
                auth.clone(),
                session_limits,
                node_id,
                shutdown.clone(),
            )
            .with_rate_limits(rate_limits.clone()),
        );
        rate_limits.spawn_upkeep(shutdown.clone());
        let state = AppState {
            service,
            auth,
            ws,
            tracker: tracker.clone(),
            max_sessions: settings.max_sessions,
            mail: mail_health.clone(),
            metrics,
            photos: Arc::new(PhotoDesk::new(
                photos.clone(),
                settings.photos.decode_memory,
            )),
            limits: rate_limits,
            admin_token: settings.safety.admin_token.as_deref().map(Arc::from),
            service_token: settings.notify.service_token.as_deref().map(Arc::from),
            vapid_public_key: settings
                .notify
                .push
                .web_push
                .as_ref()
                .map(|w| Arc::from(w.key.public_key())),
        };
        let janitor = chat_core::janitor::spawn(photos, JANITOR_INTERVAL);
        let reminders =
            chat_core::listing::reminders::spawn(Arc::downgrade(&state.service), REMINDER_INTERVAL);
        let notifications = match notifier {
            Some((_, notifier_task)) => {
                let sender = chat_push::spawn(
                    store.clone(),
                    &settings.notify.push,
                    &mail_node,
                    notify_wake,
                    shutdown.clone(),
                )
                .map_err(|e| AppError::Push(e.to_string()))?;
                Some((notifier_task, sender))
            }
            None => None,
        };
        let listener = crate::serve::bind(settings.listen).map_err(|source| AppError::Bind {
            addr: settings.listen,
            source,
        })?;
        let mail = match (&settings.mail, mail_health) {
            (Some(config), Some(health)) => {
                let task = chat_mail::spawn(
                    store.clone(),
                    config,
                    &mail_node,
                    inquiry_signal,
                    health,
                    shutdown.clone(),
                )
                .map_err(|e| AppError::Mail(e.to_string()))?;
                Some((task, config.tuning.send_timeout + MAIL_RECORD_GRACE))
            }
            _ => {
                tracing::warn!("no --smtp: inquiries are stored but not mailed");
                None
            }
        };
        Ok(App {
            listener,
            router: router(state, crate::http::MAX_BODY_BYTES),
            conn_limits: ConnLimits {
                header_timeout: settings.header_timeout,
                max_per_address: settings.max_connections_per_ip,
                max_total: settings.max_connections,
            },
            shutdown,
            tracker,
            committer,
            store,
            hub,
            mail,
            presence,
            kafka,
            bus_stop,
            bus_task,
            janitor,
            reminders,
            notifications,
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
            conn_limits,
            shutdown,
            tracker,
            committer,
            store,
            hub: _,
            mail,
            presence,
            kafka,
            bus_stop,
            bus_task,
            janitor,
            reminders,
            notifications,
        } = self;
        let _janitor = AbortOnDrop(janitor);
        let _reminders = AbortOnDrop(reminders);
        tracing::info!(addr = ?listener.local_addr().ok(), "serving");
        serve(listener, router, conn_limits, shutdown.clone()).await;
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
        // The notifier queues what the last commits left it; the sender has stopped claiming
        // and records what it delivered.
        if let Some((notifier, sender)) = notifications {
            if tokio::time::timeout(SHUTDOWN_GRACE, notifier)
                .await
                .is_err()
            {
                tracing::warn!("the notifier did not finish within the shutdown grace period");
            }
            if tokio::time::timeout(SHUTDOWN_GRACE, sender).await.is_err() {
                tracing::warn!("the notification sender did not stop within its grace period");
            }
        }
        // Every event is published; give the ones still buffered a moment to reach the broker.
        if let Some(kafka) = kafka {
            let _ = tokio::task::spawn_blocking(move || kafka.flush(Duration::from_secs(5))).await;
        }
        bus_stop.cancel();
        if let Some(task) = bus_task {
            let _ = task.await;
        }
        // Sessions are gone; take this node out of presence now rather than at its expiry.
        if let Err(e) = presence.stop().await {
            tracing::warn!(error = %e, "presence: could not remove this node");
        }
        // The mailer stopped starting sends when shutdown began; wait until the one in
        // flight is recorded, which needs the database.
        if let Some((task, grace)) = mail {
            if tokio::time::timeout(grace, task).await.is_err() {
                tracing::warn!("the inquiry mailer did not stop within its grace period");
            }
        }
        store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
