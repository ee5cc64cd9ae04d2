//! The embedded defaults that need no other software: the in-process bus and in-memory presence.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::ids::{RoomId, UserId};
use crate::model::RoomEvent;
use crate::ports::{
    Bus, BusError, EventSink, Presence, PresenceError, SessionInfo, MAX_PRESENCE_USERS,
};
use crate::typing::TypingThrottle;

/// The single-node bus: publishing delivers straight to this node's sink, in call order.
pub struct LocalBus {
    sink: Arc<dyn EventSink>,
}

impl LocalBus {
    /// A bus that delivers to `sink`.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        LocalBus { sink }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, event: RoomEvent) -> Result<(), BusError> {
        self.sink.deliver(&event);
        Ok(())
    }

    async fn ping(&self) -> Result<(), BusError> {
        Ok(())
    }
}

#[derive(Default)]
struct PresenceState {
    sessions: HashMap<String, (UserId, HashSet<RoomId>)>,
    by_user: HashMap<UserId, usize>,
    by_room: HashMap<RoomId, HashMap<UserId, usize>>,
}

/// Presence for one node, kept in memory: lost on restart, which is right, since the sessions
/// it describes are lost too.
#[derive(Default)]
pub struct MemoryPresence {
    state: Mutex<PresenceState>,
    typing: TypingThrottle,
}

impl MemoryPresence {
    /// Empty presence.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, PresenceState> {
        // A panic while holding this lock cannot leave the maps half-updated in a way that
        // matters more than losing presence, so recover the guard instead of propagating.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn session_opened(&self, info: &SessionInfo) -> Result<bool, PresenceError> {
        let mut st = self.lock();
        if st
            .sessions
            .insert(info.session.clone(), (info.user.clone(), HashSet::new()))
            .is_none()
        {
            let n = st.by_user.entry(info.user.clone()).or_default();
            *n += 1;
            return Ok(*n == 1);
        }
        Ok(false)
    }

    async fn joined(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        let mut st = self.lock();
        let st = &mut *st;
        if let Some((user, rooms)) = st.sessions.get_mut(session) {
            if rooms.insert(*room) {
                *st.by_room
                    .entry(*room)
                    .or_default()
                    .entry(user.clone())
                    .or_default() += 1;
            }
        }
        Ok(())
    }

    async fn left(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        let mut st = self.lock();
        let st = &mut *st;
        if let Some((user, rooms)) = st.sessions.get_mut(session) {
            if rooms.remove(room) {
                if let Some(users) = st.by_room.get_mut(room) {
                    decrement(users, user);
                    if users.is_empty() {
                        st.by_room.remove(room);
                    }
                }
            }
        }
        Ok(())
    }

    async fn session_closed(&self, session: &str) -> Result<Option<UserId>, PresenceError> {
        let mut st = self.lock();
        let st = &mut *st;
        if let Some((user, rooms)) = st.sessions.remove(session) {
            for room in rooms {
                if let Some(users) = st.by_room.get_mut(&room) {
                    decrement(users, &user);
                    if users.is_empty() {
                        st.by_room.remove(&room);
                    }
                }
            }
            decrement(&mut st.by_user, &user);
            if !st.by_user.contains_key(&user) {
                return Ok(Some(user));
            }
        }
        Ok(None)
    }

    async fn claim_typing(
        &self,
        room: &RoomId,
        user: &UserId,
        window: std::time::Duration,
    ) -> Result<bool, PresenceError> {
        Ok(self.typing.claim(room, user, window))
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<UserId>, PresenceError> {
        let st = self.lock();
        Ok(users
            .iter()
            .take(MAX_PRESENCE_USERS)
            .filter(|u| st.by_user.contains_key(*u))
            .cloned()
            .collect())
    }

    async fn in_room(&self, room: &RoomId) -> Result<Vec<UserId>, PresenceError> {
        let st = self.lock();
        let mut users: Vec<UserId> = st
            .by_room
            .get(room)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        users.sort();
        users.truncate(MAX_PRESENCE_USERS);
        Ok(users)
    }

    async fn ping(&self) -> Result<(), PresenceError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Recorder(Mutex<Vec<RoomEvent>>);
    impl EventSink for Recorder {
        fn deliver(&self, event: &RoomEvent) {
            self.0.lock().unwrap().push(event.clone());
        }
        fn has_subscribers(&self, _: &RoomId) -> bool {
            false
        }
    }

    #[tokio::test]
    async fn local_bus_delivers_in_publish_order() {
        let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
        let bus = LocalBus::new(rec.clone());
        let room = RoomId::new_random();
        let u = UserId::parse("a").unwrap();
        let left = RoomEvent::MemberLeft(crate::model::Sequenced {
            message: crate::model::ChatMessage {
                attachments: Vec::new(),
                warnings: Default::default(),
                id: 1,
                room,
                sender: u,
                content: "a left".into(),
                kind: crate::model::MessageKind::System,
                created_at: crate::model::Millis(0),
                client_message_id: None,
                notice: Some(crate::model::Notice::MemberLeft),
            },
            prev: None,
            room: None,
        });
        let deleted = RoomEvent::RoomDeleted {
            room,
            last_member: None,
        };
        bus.publish(left.clone()).await.unwrap();
        bus.publish(deleted.clone()).await.unwrap();
        let got = rec.0.lock().unwrap().clone();
        assert_eq!(got, vec![left, deleted]);
    }
}
