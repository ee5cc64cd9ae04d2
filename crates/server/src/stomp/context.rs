//! What every STOMP session of this node shares: the domain, identity checks, limits and
//! timings, the shutdown signal, and the count of open sessions behind a guard.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_core::ChatService;
use reuse_stomp::Limits;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use crate::auth::Authenticator;

/// Limits and timings of STOMP sessions.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Frame size and header limits for the decoder.
    pub frame: Limits,
    /// Subscriptions one session may hold.
    pub max_subscriptions: usize,
    /// Frames queued for one session before it is closed as too slow.
    pub outbound_queue: usize,
    /// Heart-beat interval the server offers and asks for (zero disables).
    pub heartbeat: Duration,
    /// Time allowed between opening the WebSocket and a valid `CONNECT`.
    pub connect_timeout: Duration,
    /// Frames awaiting their commit before the session stops reading more.
    pub max_inflight: usize,
    /// Open transactions per session.
    pub max_transactions: usize,
    /// `SEND` frames one transaction may hold.
    pub max_transaction_frames: usize,
    /// Time allowed to finish pending commits when a session is closing.
    pub drain_timeout: Duration,
    /// Time allowed for one write to the socket before the client is considered gone.
    pub write_timeout: Duration,
    /// Largest WebSocket message read (twice the frame limit: a frame plus heart-beats); a
    /// larger one closes the connection with code 1009.
    pub max_message_bytes: usize,
}

/// What every session of this node shares.
pub struct WsContext {
    /// The domain.
    pub service: Arc<ChatService>,
    /// This node's fan-out: sessions register their outbound queue here.
    pub hub: Arc<Hub>,
    /// Identity verification.
    pub auth: Arc<Authenticator>,
    /// Limits and timings.
    pub limits: SessionLimits,
    /// This node's id, to make session keys unique in the cluster.
    pub node_id: String,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Rate limits (a user's messages).
    pub rate_limits: Arc<crate::rate_limits::RateLimits>,
    live: AtomicUsize,
    next_id: AtomicU64,
}

/// A place among the node's open sessions, held for as long as the session lives. Dropping it
/// frees the place, also when the session's task panics or its upgrade never happens, so the
/// count cannot leak.
pub struct SessionSlot {
    ctx: Arc<WsContext>,
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        self.ctx.live.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("reuse_chat_sessions_open").decrement(1.0);
    }
}

impl WsContext {
    /// Builds the shared session context.
    pub fn new(
        service: Arc<ChatService>,
        hub: Arc<Hub>,
        auth: Arc<Authenticator>,
        limits: SessionLimits,
        node_id: String,
        shutdown: CancellationToken,
    ) -> Self {
        WsContext {
            service,
            hub,
            auth,
            limits,
            node_id,
            shutdown,
            rate_limits: Arc::new(crate::rate_limits::RateLimits::off()),
            live: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Limits sessions' messages with `limits` (none unless given).
    pub fn with_rate_limits(mut self, limits: Arc<crate::rate_limits::RateLimits>) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Takes a place among at most `max` open sessions, or `None` when all are taken.
    pub fn reserve(self: &Arc<Self>, max: usize) -> Option<SessionSlot> {
        if self.live.fetch_add(1, Ordering::AcqRel) >= max {
            self.live.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        metrics::gauge!("reuse_chat_sessions_open").increment(1.0);
        Some(SessionSlot { ctx: self.clone() })
    }

    /// Sessions open now (including those still upgrading).
    pub fn open_sessions(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// A node-local id for a new session.
    pub fn next_session_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}
