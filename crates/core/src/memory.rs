//! The embedded defaults that need no other software: the in-process bus and in-memory presence.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::ids::{RoomId, UserId};
use crate::model::RoomEvent;
use crate::ports::{Bus, BusError, EventSink, Presence, PresenceError, SessionInfo};

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
    async fn session_opened(&self, info: &SessionInfo) -> Result<(), PresenceError> {
        let mut st = self.lock();
        if st
            .sessions
            .insert(info.session.clone(), (info.user.clone(), HashSet::new()))
            .is_none()
        {
            *st.by_user.entry(info.user.clone()).or_default() += 1;
        }
        Ok(())
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

    async fn session_closed(&self, session: &str) -> Result<(), PresenceError> {
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
        }
        Ok(())
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<UserId>, PresenceError> {
        let st = self.lock();
        Ok(users
            .iter()
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
        Ok(users)
    }

    async fn ping(&self) -> Result<(), PresenceError> {
        Ok(())
    }
}

/// The behaviour every [`Presence`] implementation must show; run by each backend's tests
/// against a fresh, empty instance so that memory and Redis are held to the same rules.
pub mod presence_suite {
    use super::*;

    fn info(session: &str, user: &str) -> SessionInfo {
        SessionInfo {
            session: session.to_owned(),
            user: UserId::parse(user).expect("valid test user"),
            node: "node-a".to_owned(),
        }
    }

    fn user(s: &str) -> UserId {
        UserId::parse(s).expect("valid test user")
    }

    /// Runs every check; panics (failing the calling test) on the first broken rule.
    pub async fn run(p: &dyn Presence) {
        let room = RoomId::new_random();
        let other_room = RoomId::new_random();
        let (alice, bob, carol) = (user("alice"), user("bob"), user("carol"));
        let all = [alice.clone(), bob.clone(), carol.clone()];

        assert!(
            p.online(&all).await.unwrap().is_empty(),
            "nobody online yet"
        );
        assert!(p.in_room(&room).await.unwrap().is_empty());

        p.session_opened(&info("s1", "alice")).await.unwrap();
        p.session_opened(&info("s2", "alice")).await.unwrap();
        p.session_opened(&info("s3", "bob")).await.unwrap();
        assert_eq!(
            p.online(&all).await.unwrap(),
            vec![alice.clone(), bob.clone()]
        );

        p.joined("s1", &room).await.unwrap();
        p.joined("s2", &room).await.unwrap();
        p.joined("s3", &other_room).await.unwrap();
        assert_eq!(p.in_room(&room).await.unwrap(), vec![alice.clone()]);
        assert_eq!(p.in_room(&other_room).await.unwrap(), vec![bob.clone()]);

        // Alice has two sessions in the room: one leaving keeps her in it.
        p.left("s1", &room).await.unwrap();
        assert_eq!(p.in_room(&room).await.unwrap(), vec![alice.clone()]);
        p.session_closed("s2").await.unwrap();
        assert!(p.in_room(&room).await.unwrap().is_empty());
        // s1 is still open, so alice is still online.
        assert_eq!(
            p.online(&all).await.unwrap(),
            vec![alice.clone(), bob.clone()]
        );

        // Joining twice and closing a session that never existed change nothing.
        p.joined("s3", &other_room).await.unwrap();
        p.session_closed("nope").await.unwrap();
        p.left("s3", &room).await.unwrap();
        assert_eq!(p.in_room(&other_room).await.unwrap(), vec![bob.clone()]);

        p.session_closed("s3").await.unwrap();
        p.session_closed("s1").await.unwrap();
        assert!(p.online(&all).await.unwrap().is_empty());
        assert!(p.in_room(&other_room).await.unwrap().is_empty());
        p.ping().await.unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_presence_passes_the_shared_suite() {
        presence_suite::run(&MemoryPresence::new()).await;
    }

    struct Recorder(Mutex<Vec<RoomEvent>>);
    impl EventSink for Recorder {
        fn deliver(&self, event: &RoomEvent) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[tokio::test]
    async fn local_bus_delivers_in_publish_order() {
        let rec = Arc::new(Recorder(Mutex::new(Vec::new())));
        let bus = LocalBus::new(rec.clone());
        let room = RoomId::new_random();
        let u = UserId::parse("a").unwrap();
        bus.publish(RoomEvent::MemberLeft {
            room,
            user: u.clone(),
        })
        .await
        .unwrap();
        bus.publish(RoomEvent::RoomDeleted { room }).await.unwrap();
        let got = rec.0.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                RoomEvent::MemberLeft { room, user: u },
                RoomEvent::RoomDeleted { room }
            ]
        );
    }
}
