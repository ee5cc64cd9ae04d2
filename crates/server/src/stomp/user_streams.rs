//! This node's side of `/user/queue/events`: which live sessions follow their user's event
//! stream, and delivery of each event to them (the rules of who gets what are the domain's,
//! [`chat_core::user_stream`]). Each body is encoded once per event and recipient.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use chat_core::user_stream::{candidates, deliveries, needs_room_refresh};
use chat_core::{RoomEvent, RoomId, UserId};
use reuse_stomp::Version;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::destination::USER_EVENTS;
use super::hub::{message_frame, Outbound, SessionHandle};

/// Counter: event frames queued to sessions' event streams.
pub const EVENT_DELIVERIES: &str = "reuse_chat_user_events_total";

/// Rooms waiting to be read again for their members' streams; past it a refresh is skipped
/// (and logged): the room's next event brings its state anyway.
pub const REFRESH_QUEUE: usize = 1024;

struct Follower {
    session: Arc<SessionHandle>,
    sub_id: Arc<str>,
}

/// The sessions of this node that follow their user's event stream, by user.
pub struct UserStreams {
    by_user: RwLock<HashMap<UserId, Vec<Follower>>>,
    /// Followers in all: an event costs nothing more than this load while nobody follows.
    followers: AtomicUsize,
    /// Numbers the frames' `message-id` (`ev-{n}`).
    next_id: AtomicU64,
    /// Where rooms whose state did not travel with their message are asked to be read again.
    refresh: OnceLock<mpsc::Sender<RoomId>>,
    /// Frames queued, for operators and benchmarks.
    pub delivered: AtomicU64,
    deliveries: metrics::Counter,
}

impl Default for UserStreams {
    fn default() -> Self {
        UserStreams {
            by_user: RwLock::default(),
            followers: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            refresh: OnceLock::new(),
            delivered: AtomicU64::new(0),
            deliveries: metrics::counter!(EVENT_DELIVERIES),
        }
    }
}

impl UserStreams {
    fn read(&self) -> RwLockReadGuard<'_, HashMap<UserId, Vec<Follower>>> {
        self.by_user.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<UserId, Vec<Follower>>> {
        self.by_user.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets where room refreshes are asked for (once, when the node is built).
    pub fn set_refresh(&self, tx: mpsc::Sender<RoomId>) {
        let _ = self.refresh.set(tx);
    }

    /// `session` follows its user's stream as `sub_id`.
    pub fn follow(&self, session: Arc<SessionHandle>, sub_id: &str) {
        let user = session.user.clone();
        self.write().entry(user).or_default().push(Follower {
            session,
            sub_id: Arc::from(sub_id),
        });
        self.followers.fetch_add(1, Ordering::Relaxed);
    }

    /// Ends `sub_id` of the session (every one of its subscriptions when `sub_id` is `None`).
    pub fn unfollow(&self, session_id: u64, user: &UserId, sub_id: Option<&str>) {
        let mut by_user = self.write();
        let Some(followers) = by_user.get_mut(user) else {
            return;
        };
        let before = followers.len();
        followers
            .retain(|f| !(f.session.id == session_id && sub_id.is_none_or(|s| &*f.sub_id == s)));
        let removed = before - followers.len();
        if followers.is_empty() {
            by_user.remove(user);
        }
        self.followers.fetch_sub(removed, Ordering::Relaxed);
    }

    /// Tells `event` to the streams of this node's sessions it concerns.
    pub fn deliver(&self, event: &RoomEvent) {
        if self.followers.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Some(room) = needs_room_refresh(event) {
            if let Some(tx) = self.refresh.get() {
                if tx.try_send(room).is_err() {
                    tracing::warn!(room = %room, "room refresh queue full; its members' lists update with its next event");
                }
            }
        }
        let by_user = self.read();
        // Most events concern nobody here: decide that before building anything.
        if !candidates(event).iter().any(|u| by_user.contains_key(*u)) {
            return;
        }
        let mut queued = 0u64;
        for d in deliveries(event) {
            let mut body: Option<Bytes> = None;
            for user in d.to {
                let Some(followers) = by_user.get(user) else {
                    continue;
                };
                let body = match &body {
                    Some(b) => b.clone(),
                    None => match serde_json::to_vec(&d.event) {
                        Ok(b) => body.insert(Bytes::from(b)).clone(),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot encode a user event");
                            break;
                        }
                    },
                };
                let message_id = format!("ev-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
                let mut encoded: Vec<((Version, &str), Utf8Bytes)> = Vec::new();
                for f in followers {
                    let key = (f.session.version, &*f.sub_id);
                    let frame = match encoded.iter().find(|(k, _)| *k == key) {
                        Some((_, frame)) => frame.clone(),
                        None => {
                            let frame =
                                message_frame(key.0, USER_EVENTS, key.1, &message_id, &body);
                            encoded.push((key, frame.clone()));
                            frame
                        }
                    };
                    f.session.offer(Outbound::Frame(frame));
                    queued += 1;
                }
            }
        }
        self.delivered.fetch_add(queued, Ordering::Relaxed);
        self.deliveries.increment(queued);
    }
}

/// Reads again each room asked for (coalescing repeats) and hands its state to the streams;
/// ends when the asking side or the service is gone (it holds the service weakly: the service
/// owns the hub that asks).
pub fn spawn_refresher(
    service: std::sync::Weak<chat_core::ChatService>,
    mut rooms: mpsc::Receiver<RoomId>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut batch = Vec::new();
        while rooms.recv_many(&mut batch, 64).await > 0 {
            let Some(service) = service.upgrade() else {
                return;
            };
            batch.sort_unstable();
            batch.dedup();
            for room in batch.drain(..) {
                service.refresh_room(&room).await;
            }
        }
    })
}
