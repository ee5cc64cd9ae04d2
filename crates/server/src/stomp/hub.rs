//! This node's fan-out: which sessions subscribe to which room, and delivery of room events to
//! them, each frame encoded once and shared between every subscriber that can take it as is.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use bytes::Bytes;
use chat_core::ports::{EventSink, LocalSubscriptions};
use chat_core::{ChatMessage, RoomEvent, RoomId, UserId};
use reuse_stomp::{encode_to_bytes, Command, Frame, Version};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::destination::room_messages;
use super::user_streams::UserStreams;

/// Counter: frames queued to sessions by the fan-out.
pub const DELIVERIES: &str = "reuse_chat_fanout_deliveries_total";
/// Counter: sessions closed because their outbound queue was full.
pub const SLOW_CONSUMER_CLOSES: &str = "reuse_chat_slow_consumer_closes_total";

/// What a session's writer receives from the rest of the node.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// An encoded frame to write as is.
    Frame(Utf8Bytes),
    /// The session's subscription(s) to this room were ended by the server (the user left, or
    /// the room was deleted).
    Revoked(RoomId),
}

/// Why the server ends a session on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The session's outbound queue was full: it cannot keep up.
    SlowConsumer,
}

impl CloseReason {
    /// The `code` and `message` headers and the body of the `ERROR` frame that tells the
    /// client.
    pub fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            CloseReason::SlowConsumer => (
                "slow_consumer",
                "slow consumer",
                "the connection could not keep up with its messages and was closed; \
                 reconnect and read the history with after={last id seen}",
            ),
        }
    }
}

/// The part of a session the rest of the node may touch: its outbound queue and its
/// close signal.
pub struct SessionHandle {
    /// Node-local id.
    pub id: u64,
    /// Cluster-wide id (for presence).
    pub key: String,
    /// The authenticated user.
    pub user: UserId,
    /// Negotiated STOMP version: decides header escaping.
    pub version: Version,
    tx: mpsc::Sender<Outbound>,
    close_reason: Mutex<Option<CloseReason>>,
    /// Woken when the server decides to close the session.
    pub closing: Notify,
}

impl SessionHandle {
    /// A handle whose outbound queue is `tx`.
    pub fn new(
        id: u64,
        key: String,
        user: UserId,
        version: Version,
        tx: mpsc::Sender<Outbound>,
    ) -> Self {
        SessionHandle {
            id,
            key,
            user,
            version,
            tx,
            close_reason: Mutex::new(None),
            closing: Notify::new(),
        }
    }

    /// Asks the session to close (the first reason wins).
    pub fn close(&self, reason: CloseReason) {
        let mut r = self.close_reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(reason);
            match reason {
                CloseReason::SlowConsumer => metrics::counter!(SLOW_CONSUMER_CLOSES).increment(1),
            }
            self.closing.notify_one();
        }
    }

    /// Why the session was asked to close, if it was.
    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.close_reason.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues without waiting; a full queue closes the session rather than dropping a frame
    /// silently or letting memory grow.
    pub(super) fn offer(&self, item: Outbound) {
        match self.tx.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.close(CloseReason::SlowConsumer),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

struct Subscriber {
    session: Arc<SessionHandle>,
    sub_id: Arc<str>,
}

/// Counters for operators and benchmarks.
#[derive(Default)]
pub struct HubStats {
    /// Frames queued to sessions.
    pub delivered: AtomicU64,
    /// Distinct frames encoded.
    pub encoded: AtomicU64,
}

/// The live sessions of this node and their subscriptions, by room.
pub struct Hub {
    rooms: RwLock<HashMap<RoomId, Vec<Subscriber>>>,
    sessions: RwLock<HashMap<u64, Arc<SessionHandle>>>,
    /// The sessions that follow their user's event stream (`/user/queue/events`).
    pub users: UserStreams,
    /// Delivery counters.
    pub stats: HubStats,
    /// The Prometheus side of `stats.delivered`, registered once.
    deliveries: metrics::Counter,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            rooms: RwLock::default(),
            sessions: RwLock::default(),
            users: UserStreams::default(),
            stats: HubStats::default(),
            deliveries: metrics::counter!(DELIVERIES),
        }
    }
}

impl Hub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<RoomId, Vec<Subscriber>>> {
        self.rooms.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<RoomId, Vec<Subscriber>>> {
        self.rooms.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A session starts: subscriptions may name it from now on.
    pub fn attach(&self, session: Arc<SessionHandle>) {
        self.session_map().insert(session.id, session);
    }

    /// A session ended (after its subscriptions were removed).
    pub fn detach(&self, session_id: u64) {
        self.session_map().remove(&session_id);
    }

    fn session_map(&self) -> RwLockWriteGuard<'_, HashMap<u64, Arc<SessionHandle>>> {
        self.sessions.write().unwrap_or_else(|e| e.into_inner())
    }

    fn attached(&self, session_id: u64) -> Option<Arc<SessionHandle>> {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&session_id)
            .cloned()
    }

    /// Adds a subscription of an attached session.
    pub fn subscribe(&self, room: RoomId, session_id: u64, sub_id: &str) {
        let session = self.attached(session_id);
        let Some(session) = session else {
            tracing::warn!(session_id, "subscription of a session that is not attached");
            return;
        };
        self.write().entry(room).or_default().push(Subscriber {
            session,
            sub_id: Arc::from(sub_id),
        });
    }

    /// Removes one subscription of a session.
    pub fn unsubscribe(&self, room: &RoomId, session_id: u64, sub_id: &str) {
        let mut rooms = self.write();
        if let Some(subs) = rooms.get_mut(room) {
            subs.retain(|s| !(s.session.id == session_id && &*s.sub_id == sub_id));
            if subs.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// Removes every subscription of a session (it ended).
    pub fn remove_session(&self, session_id: u64, rooms_of_session: &[RoomId]) {
        let mut rooms = self.write();
        for room in rooms_of_session {
            if let Some(subs) = rooms.get_mut(room) {
                subs.retain(|s| s.session.id != session_id);
                if subs.is_empty() {
                    rooms.remove(room);
                }
            }
        }
    }

    /// Number of subscriptions to `room` on this node.
    pub fn subscribers(&self, room: &RoomId) -> usize {
        self.read().get(room).map_or(0, Vec::len)
    }

    fn deliver_message(&self, m: &ChatMessage) {
        let rooms = self.read();
        // A room nobody on this node watches costs a map lookup, not an encoding.
        let Some(subs) = rooms.get(&m.room) else {
            return;
        };
        let body = match serde_json::to_vec(m) {
            Ok(b) => Bytes::from(b),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a chat message");
                return;
            }
        };
        let destination = room_messages(&m.room);
        let message_id = m.id.to_string();
        // Subscription ids are chosen by clients, and most clients choose the same ones
        // ("sub-0"): frames are encoded once per distinct (version, id) and shared.
        let mut encoded: Vec<((Version, &str), Utf8Bytes)> = Vec::new();
        for sub in subs {
            let key = (sub.session.version, &*sub.sub_id);
            let frame = match encoded.iter().find(|(k, _)| *k == key) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = message_frame(key.0, &destination, key.1, &message_id, &body);
                    self.stats.encoded.fetch_add(1, Ordering::Relaxed);
                    if encoded.len() < 64 {
                        encoded.push((key, f.clone()));
                    }
                    f
                }
            };
            sub.session.offer(Outbound::Frame(frame));
        }
        self.stats
            .delivered
            .fetch_add(subs.len() as u64, Ordering::Relaxed);
        self.deliveries.increment(subs.len() as u64);
    }

    fn revoke(&self, room: &RoomId, only_user: Option<&UserId>) {
        let mut rooms = self.write();
        let Some(subs) = rooms.get_mut(room) else {
            return;
        };
        let mut told: Vec<u64> = Vec::new();
        subs.retain(|s| {
            let hit = only_user.is_none_or(|u| &s.session.user == u);
            if hit && !told.contains(&s.session.id) {
                told.push(s.session.id);
                s.session.offer(Outbound::Revoked(*room));
            }
            !hit
        });
        if subs.is_empty() {
            rooms.remove(room);
        }
    }
}

/// Encodes a `MESSAGE` frame; our frames are UTF-8 by construction (UTF-8 headers, JSON body).
pub(super) fn message_frame(
    version: Version,
    destination: &str,
    subscription: &str,
    message_id: &str,
    body: &Bytes,
) -> Utf8Bytes {
    let frame = Frame::new(Command::Message)
        .with_header("destination", destination)
        .with_header("subscription", subscription)
        .with_header("message-id", message_id)
        .with_header("content-type", "application/json")
        .with_body(body.clone());
    to_text(encode_to_bytes(&frame, version))
}

/// Wraps encoded frame bytes as a WebSocket text payload.
pub fn to_text(bytes: Bytes) -> Utf8Bytes {
    match Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => text,
        Err(e) => {
            // Only reachable if a frame we built were not UTF-8: send it lossily rather than
            // dropping it.
            tracing::error!(error = %e, "non-UTF-8 frame");
            Utf8Bytes::from(String::from_utf8_lossy(&bytes).into_owned())
        }
    }
}

impl LocalSubscriptions for Hub {
    fn add(&self, room: RoomId, session: u64, sub_id: &str) {
        self.subscribe(room, session, sub_id);
    }

    fn remove(&self, room: &RoomId, session: u64, sub_id: &str) {
        self.unsubscribe(room, session, sub_id);
    }

    fn remove_session(&self, session: u64, rooms: &[RoomId]) {
        Hub::remove_session(self, session, rooms);
        if let Some(s) = self.attached(session) {
            self.users.unfollow(session, &s.user, None);
        }
    }

    fn add_user_stream(&self, session: u64, sub_id: &str) {
        match self.attached(session) {
            Some(s) => self.users.follow(s, sub_id),
            None => tracing::warn!(session, "event stream of a session that is not attached"),
        }
    }

    fn remove_user_stream_sub(&self, session: u64, sub_id: &str) {
        if let Some(s) = self.attached(session) {
            self.users.unfollow(session, &s.user, Some(sub_id));
        }
    }
}

impl EventSink for Hub {
    fn deliver(&self, event: &RoomEvent) {
        match event {
            RoomEvent::Message(m) => self.deliver_message(&m.message),
            RoomEvent::MemberLeft(notice) => {
                let m = &notice.message;
                self.revoke(&m.room, Some(&m.sender));
                self.deliver_message(m);
            }
            RoomEvent::RoomDeleted { room, .. } => self.revoke(room, None),
            RoomEvent::Updated(_)
            | RoomEvent::Read(_)
            | RoomEvent::Typing(_)
            | RoomEvent::Presence(_)
            | RoomEvent::BlocksChanged(_) => {}
        }
        self.users.deliver(event);
    }

    fn has_subscribers(&self, room: &RoomId) -> bool {
        self.subscribers(room) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::{MessageKind, Millis, Sequenced};

    fn session(
        id: u64,
        user: &str,
        queue: usize,
    ) -> (Arc<SessionHandle>, mpsc::Receiver<Outbound>) {
        let (tx, rx) = mpsc::channel(queue);
        let user = UserId::parse(user).unwrap();
        (
            Arc::new(SessionHandle::new(
                id,
                format!("n:{id}"),
                user,
                Version::V1_2,
                tx,
            )),
            rx,
        )
    }

    fn message(room: RoomId, id: i64) -> RoomEvent {
        RoomEvent::Message(Sequenced {
            message: ChatMessage {
                attachments: Vec::new(),
                id,
                room,
                sender: UserId::parse("alice").unwrap(),
                content: "hi".into(),
                kind: MessageKind::Text,
                created_at: Millis(0),
                client_message_id: None,
                notice: None,
                warnings: Default::default(),
            },
            prev: None,
            room: None,
        })
    }

    fn frame_text(o: Outbound) -> String {
        match o {
            Outbound::Frame(t) => t.as_str().to_owned(),
            Outbound::Revoked(_) => panic!("expected a frame"),
        }
    }

    #[test]
    fn a_broadcast_is_encoded_once_per_distinct_subscription_id() {
        let hub = Hub::new();
        let room = RoomId::new_random();
        let mut rxs = Vec::new();
        for i in 0..3 {
            let (h, rx) = session(i, "alice", 8);
            hub.attach(h.clone());
            hub.subscribe(room, h.id, "sub-0");
            rxs.push(rx);
        }
        let (h, mut odd) = session(9, "bob", 8);
        hub.attach(h.clone());
        hub.subscribe(room, h.id, "other");
        hub.deliver(&message(room, 7));
        assert_eq!(hub.stats.encoded.load(Ordering::Relaxed), 2);
        assert_eq!(hub.stats.delivered.load(Ordering::Relaxed), 4);
        let texts: Vec<String> = rxs
            .iter_mut()
            .map(|rx| frame_text(rx.try_recv().unwrap()))
            .collect();
        assert!(texts.iter().all(|t| t == &texts[0]));
        assert!(texts[0].starts_with("MESSAGE\n"));
        assert!(texts[0].contains("subscription:sub-0\n"));
        assert!(texts[0].contains("message-id:7\n"));
        assert!(frame_text(odd.try_recv().unwrap()).contains("subscription:other\n"));
        // Another room's subscribers get nothing.
        hub.deliver(&message(RoomId::new_random(), 8));
        assert!(rxs[0].try_recv().is_err());
    }

    #[test]
    fn a_full_queue_closes_the_session_instead_of_dropping_silently() {
        let hub = Hub::new();
        let room = RoomId::new_random();
        let (slow, _rx) = session(1, "bob", 2);
        let (fast, mut fast_rx) = session(2, "alice", 16);
        hub.attach(slow.clone());
        hub.subscribe(room, slow.id, "s");
        hub.attach(fast.clone());
        hub.subscribe(room, fast.id, "s");
        for id in 0..3 {
            hub.deliver(&message(room, id));
        }
        assert_eq!(slow.close_reason(), Some(CloseReason::SlowConsumer));
        assert_eq!(fast.close_reason(), None);
        for _ in 0..3 {
            assert!(matches!(fast_rx.try_recv(), Ok(Outbound::Frame(_))));
        }
    }

    #[test]
    fn leaving_revokes_only_that_users_subscriptions() {
        let hub = Hub::new();
        let room = RoomId::new_random();
        let (a, mut arx) = session(1, "alice", 8);
        let (b, mut brx) = session(2, "bob", 8);
        hub.attach(a.clone());
        hub.subscribe(room, a.id, "x");
        hub.attach(a.clone());
        hub.subscribe(room, a.id, "y");
        hub.attach(b.clone());
        hub.subscribe(room, b.id, "x");
        let RoomEvent::Message(mut notice) = message(room, 9) else {
            unreachable!()
        };
        notice.message.kind = MessageKind::System;
        hub.deliver(&RoomEvent::MemberLeft(notice));
        assert!(matches!(arx.try_recv(), Ok(Outbound::Revoked(r)) if r == room));
        assert!(
            arx.try_recv().is_err(),
            "told once, and the notice is not for alice"
        );
        assert_eq!(hub.subscribers(&room), 1);
        assert!(frame_text(brx.try_recv().unwrap()).contains("message-id:9"));
        hub.deliver(&RoomEvent::RoomDeleted {
            room,
            last_member: None,
        });
        assert!(matches!(brx.try_recv(), Ok(Outbound::Revoked(_))));
        assert_eq!(hub.subscribers(&room), 0);
    }
}
