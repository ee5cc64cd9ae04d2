//! The one test suite every [`Presence`] implementation must pass (feature `testing`): memory
//! and Redis run the same cases, so they are held to the same rules.
//!
//! A backend's tests implement [`PresenceBackend`] (and [`ClusterBackend`] when several nodes
//! share the backend) and call [`presence_suite_tests!`](crate::presence_suite_tests), which
//! writes one `#[tokio::test]` per case. The single-node cases use one instance; the multi-node
//! cases need instances of different nodes that see each other's sessions, which in-memory
//! presence (one per node, shared with nobody) cannot offer, so only cluster backends run them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ids::{RoomId, UserId};
use crate::ports::{Presence, PresenceError, SessionInfo, MAX_PRESENCE_USERS};

/// Makes the presence instances a case runs against.
#[async_trait]
pub trait PresenceBackend: Send + Sync {
    /// A fresh, empty instance acting for node `node`. Instances made by one backend value
    /// share their state when the backend is a cluster backend.
    async fn node(&self, node: &str) -> Arc<dyn Presence>;
}

/// A backend that several nodes share, where a node can die without cleaning up.
#[async_trait]
pub trait ClusterBackend: PresenceBackend {
    /// Ends node `node` the way a crash (SIGKILL) looks to the others: its background work
    /// stops and nothing is removed.
    async fn crash(&self, node: &str);
    /// How long after a crash the dead node's sessions may still be seen.
    fn expiry(&self) -> Duration;
}

/// Writes one `#[tokio::test]` per case of the suite for a backend value.
///
/// `presence_suite_tests!(single_node, backend)` writes the cases every presence must pass;
/// `presence_suite_tests!(multi_node, backend)` the cases for a [`ClusterBackend`].
/// `backend` is evaluated anew in each test (it may use `.await`).
#[macro_export]
macro_rules! presence_suite_tests {
    (single_node, $backend:expr) => {
        $crate::presence_suite_tests!(@cases $backend;
            open_and_close,
            one_user_several_sessions,
            join_and_leave,
            several_rooms,
            repeated_and_unknown_calls_change_nothing,
            answers_are_bounded,
            first_and_last_sessions_are_told,
            typing_claims_last_their_window);
    };
    (multi_node, $backend:expr) => {
        $crate::presence_suite_tests!(@cases $backend;
            nodes_share_presence,
            clean_stop_removes_the_node_at_once,
            dead_node_sessions_expire,
            first_and_last_sessions_across_nodes,
            dead_node_departures_are_reported,
            typing_claims_hold_across_nodes);
    };
    (@cases $backend:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let backend = $backend;
                $crate::presence_suite::$case(&backend).await;
            }
        )*
    };
}

fn user(name: &str) -> UserId {
    UserId::parse(name).expect("valid test user")
}

fn ok<T>(r: Result<T, PresenceError>) -> T {
    r.unwrap_or_else(|e| panic!("presence call failed: {e}"))
}

/// Opens session `n` of `who` on `p`, which acts for `node`; returns the session key.
async fn open(p: &dyn Presence, node: &str, n: u32, who: &str) -> String {
    let session = format!("{node}:{n}");
    ok(p.session_opened(&SessionInfo {
        session: session.clone(),
        user: user(who),
        node: node.to_owned(),
    })
    .await);
    session
}

async fn online(p: &dyn Presence, users: &[&str]) -> Vec<UserId> {
    let users: Vec<UserId> = users.iter().map(|u| user(u)).collect();
    ok(p.online(&users).await)
}

async fn in_room(p: &dyn Presence, room: &RoomId) -> Vec<UserId> {
    ok(p.in_room(room).await)
}

fn users(names: &[&str]) -> Vec<UserId> {
    names.iter().map(|u| user(u)).collect()
}

const ALL: [&str; 3] = ["alice", "bob", "carol"];

/// A session makes its user online until it closes; nobody else is online.
pub async fn open_and_close(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let room = RoomId::new_random();
    assert!(online(&*p, &ALL).await.is_empty(), "nobody online yet");
    assert!(in_room(&*p, &room).await.is_empty());

    let s = open(&*p, "node-a", 1, "bob").await;
    assert_eq!(online(&*p, &ALL).await, users(&["bob"]));
    // Online is answered in the order asked, not sorted.
    let s2 = open(&*p, "node-a", 2, "alice").await;
    assert_eq!(
        online(&*p, &["bob", "carol", "alice"]).await,
        users(&["bob", "alice"])
    );
    assert!(in_room(&*p, &room).await.is_empty(), "open joins no room");

    ok(p.session_closed(&s).await);
    assert_eq!(online(&*p, &ALL).await, users(&["alice"]));
    ok(p.session_closed(&s2).await);
    assert!(online(&*p, &ALL).await.is_empty());
    ok(p.ping().await);
}

/// A user with several sessions stays online (and in a room) until the last one ends.
pub async fn one_user_several_sessions(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let room = RoomId::new_random();
    let s1 = open(&*p, "node-a", 1, "alice").await;
    let s2 = open(&*p, "node-a", 2, "alice").await;
    ok(p.joined(&s1, &room).await);
    ok(p.joined(&s2, &room).await);
    assert_eq!(in_room(&*p, &room).await, users(&["alice"]), "listed once");

    ok(p.session_closed(&s1).await);
    assert_eq!(online(&*p, &ALL).await, users(&["alice"]));
    assert_eq!(in_room(&*p, &room).await, users(&["alice"]));

    ok(p.session_closed(&s2).await);
    assert!(online(&*p, &ALL).await.is_empty());
    assert!(in_room(&*p, &room).await.is_empty());
}

/// Joining puts the user in the room, leaving takes them out; a session's close takes it out
/// of every room; `in_room` is sorted.
pub async fn join_and_leave(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let room = RoomId::new_random();
    let sb = open(&*p, "node-a", 1, "bob").await;
    let sa = open(&*p, "node-a", 2, "alice").await;
    ok(p.joined(&sb, &room).await);
    assert_eq!(in_room(&*p, &room).await, users(&["bob"]));
    ok(p.joined(&sa, &room).await);
    assert_eq!(in_room(&*p, &room).await, users(&["alice", "bob"]));

    ok(p.left(&sb, &room).await);
    assert_eq!(in_room(&*p, &room).await, users(&["alice"]));
    assert_eq!(
        online(&*p, &ALL).await,
        users(&["alice", "bob"]),
        "leaving a room is not going offline"
    );

    // Two sessions of one user in the room: one leaving keeps her in it.
    let sa2 = open(&*p, "node-a", 3, "alice").await;
    ok(p.joined(&sa2, &room).await);
    ok(p.left(&sa, &room).await);
    assert_eq!(in_room(&*p, &room).await, users(&["alice"]));

    ok(p.session_closed(&sa2).await);
    assert!(in_room(&*p, &room).await.is_empty(), "close leaves rooms");
    ok(p.session_closed(&sa).await);
    ok(p.session_closed(&sb).await);
}

/// One session in several rooms is in each until it leaves that one.
pub async fn several_rooms(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let (r1, r2, r3) = (
        RoomId::new_random(),
        RoomId::new_random(),
        RoomId::new_random(),
    );
    let sa = open(&*p, "node-a", 1, "alice").await;
    let sc = open(&*p, "node-a", 2, "carol").await;
    ok(p.joined(&sa, &r1).await);
    ok(p.joined(&sa, &r2).await);
    ok(p.joined(&sc, &r2).await);
    assert_eq!(in_room(&*p, &r1).await, users(&["alice"]));
    assert_eq!(in_room(&*p, &r2).await, users(&["alice", "carol"]));
    assert!(in_room(&*p, &r3).await.is_empty());

    ok(p.left(&sa, &r1).await);
    assert!(in_room(&*p, &r1).await.is_empty());
    assert_eq!(in_room(&*p, &r2).await, users(&["alice", "carol"]));

    ok(p.session_closed(&sa).await);
    assert_eq!(in_room(&*p, &r2).await, users(&["carol"]));
    ok(p.session_closed(&sc).await);
    assert!(in_room(&*p, &r2).await.is_empty());
}

/// Opening or joining twice counts once; closing twice, closing or leaving what does not
/// exist, and joining with an unknown session change nothing.
pub async fn repeated_and_unknown_calls_change_nothing(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let (room, other) = (RoomId::new_random(), RoomId::new_random());
    let s = open(&*p, "node-a", 1, "alice").await;
    assert_eq!(open(&*p, "node-a", 1, "alice").await, s);
    ok(p.joined(&s, &room).await);
    ok(p.joined(&s, &room).await);
    ok(p.left(&s, &other).await);
    ok(p.session_closed("node-a:999").await);
    ok(p.left("node-a:999", &room).await);
    ok(p.joined("node-a:999", &other).await);
    assert_eq!(in_room(&*p, &room).await, users(&["alice"]));
    assert!(
        in_room(&*p, &other).await.is_empty(),
        "unknown session joins nothing"
    );

    // One left undoes any number of joins of the same session.
    ok(p.left(&s, &room).await);
    assert!(in_room(&*p, &room).await.is_empty());

    ok(p.session_closed(&s).await);
    assert!(
        online(&*p, &ALL).await.is_empty(),
        "one close undoes two opens"
    );
    ok(p.session_closed(&s).await);
    assert!(online(&*p, &ALL).await.is_empty());
}

/// No answer lists more than [`MAX_PRESENCE_USERS`] users.
pub async fn answers_are_bounded(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let room = RoomId::new_random();
    let names: Vec<String> = (0..MAX_PRESENCE_USERS + 5)
        .map(|i| format!("u{i:05}"))
        .collect();
    let mut sessions = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let s = open(&*p, "node-a", i as u32, name).await;
        ok(p.joined(&s, &room).await);
        sessions.push(s);
    }
    let listed = in_room(&*p, &room).await;
    assert_eq!(listed.len(), MAX_PRESENCE_USERS);
    assert!(
        listed.windows(2).all(|w| w[0] < w[1]),
        "sorted and distinct"
    );

    let asked: Vec<&str> = names.iter().map(String::as_str).collect();
    let on = online(&*p, &asked).await;
    assert_eq!(
        on,
        users(&asked[..MAX_PRESENCE_USERS]),
        "the first ones asked"
    );

    for s in &sessions {
        ok(p.session_closed(s).await);
    }
    assert!(in_room(&*p, &room).await.is_empty());
}

/// Two nodes see each other's sessions; a user on both nodes is online while either has her.
pub async fn nodes_share_presence(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    let room = RoomId::new_random();
    let sa = open(&*a, "node-a", 1, "alice").await;
    let sb = open(&*bn, "node-b", 1, "bob").await;
    let sa2 = open(&*bn, "node-b", 2, "alice").await;
    ok(a.joined(&sa, &room).await);
    ok(bn.joined(&sb, &room).await);
    for p in [&a, &bn] {
        assert_eq!(online(&**p, &ALL).await, users(&["alice", "bob"]));
        assert_eq!(in_room(&**p, &room).await, users(&["alice", "bob"]));
    }

    // Alice leaves the room on node A, but her session on B is still online.
    ok(a.session_closed(&sa).await);
    for p in [&a, &bn] {
        assert_eq!(in_room(&**p, &room).await, users(&["bob"]));
        assert_eq!(online(&**p, &ALL).await, users(&["alice", "bob"]));
    }
    ok(bn.session_closed(&sa2).await);
    assert_eq!(online(&*a, &ALL).await, users(&["bob"]));
    ok(bn.session_closed(&sb).await);
    assert!(online(&*a, &ALL).await.is_empty());
}

/// A node that stops cleanly takes its sessions with it at once; the others stay.
pub async fn clean_stop_removes_the_node_at_once(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    let room = RoomId::new_random();
    for n in 0..3 {
        let s = open(&*a, "node-a", n, "alice").await;
        ok(a.joined(&s, &room).await);
    }
    let sb = open(&*bn, "node-b", 1, "bob").await;
    ok(bn.joined(&sb, &room).await);
    assert_eq!(in_room(&*bn, &room).await, users(&["alice", "bob"]));

    ok(a.stop().await);
    assert_eq!(online(&*bn, &ALL).await, users(&["bob"]));
    assert_eq!(in_room(&*bn, &room).await, users(&["bob"]));
    ok(a.stop().await);
}

/// A node that dies without cleaning up disappears from the answers within the backend's
/// expiry, while the live node's sessions stay.
pub async fn dead_node_sessions_expire(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    let room = RoomId::new_random();
    let sa = open(&*a, "node-a", 1, "alice").await;
    ok(a.joined(&sa, &room).await);
    let sb = open(&*bn, "node-b", 1, "bob").await;
    ok(bn.joined(&sb, &room).await);
    assert_eq!(in_room(&*bn, &room).await, users(&["alice", "bob"]));

    b.crash("node-a").await;
    // Generous slack over the expiry: this checks that the sessions go, not how fast.
    let deadline = tokio::time::Instant::now() + b.expiry() * 3 + Duration::from_secs(5);
    loop {
        let on = online(&*bn, &ALL).await;
        let here = in_room(&*bn, &room).await;
        if on == users(&["bob"]) && here == users(&["bob"]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the dead node's sessions are still seen: online {on:?}, in room {here:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok(bn.session_closed(&sb).await);
    assert!(online(&*bn, &ALL).await.is_empty());
}

fn session(node: &str, n: u32, who: &str) -> SessionInfo {
    SessionInfo {
        session: format!("{node}:{n}"),
        user: user(who),
        node: node.to_owned(),
    }
}

/// Opening tells whether it is the user's first live session, closing whether it was the last:
/// API-v2's `PRESENCE` fires on exactly those.
pub async fn first_and_last_sessions_are_told(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    assert!(ok(p.session_opened(&session("node-a", 1, "alice")).await));
    assert!(
        !ok(p.session_opened(&session("node-a", 1, "alice")).await),
        "a repeat is not a new session"
    );
    assert!(!ok(p.session_opened(&session("node-a", 2, "alice")).await));
    assert!(ok(p.session_opened(&session("node-a", 3, "bob")).await));
    assert_eq!(ok(p.session_closed("node-a:1").await), None);
    assert_eq!(
        ok(p.session_closed("node-a:1").await),
        None,
        "closed already"
    );
    assert_eq!(ok(p.session_closed("node-a:2").await), Some(user("alice")));
    assert_eq!(ok(p.session_closed("node-a:3").await), Some(user("bob")));
    assert!(ok(p.session_opened(&session("node-a", 4, "alice")).await));
    assert_eq!(ok(p.session_closed("node-a:4").await), Some(user("alice")));
}

/// One claim per user and room per window.
pub async fn typing_claims_last_their_window(b: &dyn PresenceBackend) {
    let p = b.node("node-a").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let window = Duration::from_millis(300);
    assert!(ok(p.claim_typing(&r1, &user("alice"), window).await));
    assert!(!ok(p.claim_typing(&r1, &user("alice"), window).await));
    assert!(ok(p.claim_typing(&r1, &user("bob"), window).await));
    assert!(ok(p.claim_typing(&r2, &user("alice"), window).await));
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assert!(ok(p.claim_typing(&r1, &user("alice"), window).await));
}

/// First and last are judged across nodes: a user on two nodes comes online once and goes
/// offline once.
pub async fn first_and_last_sessions_across_nodes(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    assert!(ok(a.session_opened(&session("node-a", 1, "alice")).await));
    assert!(!ok(bn.session_opened(&session("node-b", 1, "alice")).await));
    assert_eq!(ok(a.session_closed("node-a:1").await), None);
    assert_eq!(ok(bn.session_closed("node-b:1").await), Some(user("alice")));
}

/// When a node dies, a live node's sweep reports each user it left with no live session, once;
/// a user still online elsewhere is not reported.
pub async fn dead_node_departures_are_reported(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    let mut departures = bn
        .take_departures()
        .expect("a cluster presence reports departures");
    open(&*a, "node-a", 1, "alice").await;
    open(&*a, "node-a", 2, "alice").await;
    open(&*a, "node-a", 3, "bob").await;
    open(&*bn, "node-b", 1, "bob").await;
    b.crash("node-a").await;
    let wait = b.expiry() * 3 + Duration::from_secs(5);
    let first = tokio::time::timeout(wait, departures.recv())
        .await
        .expect("the departure of the dead node's only user is reported")
        .expect("the departures channel stays open");
    assert_eq!(first, user("alice"));
    // Nothing else: bob is still online on node B, and alice is told once.
    let more = tokio::time::timeout(Duration::from_secs(3), departures.recv()).await;
    assert!(more.is_err(), "unexpected departure: {more:?}");
    assert_eq!(online(&*bn, &ALL).await, users(&["bob"]));
    ok(bn.session_closed("node-b:1").await);
}

/// A typing claim on one node holds on the others.
pub async fn typing_claims_hold_across_nodes(b: &dyn ClusterBackend) {
    let (a, bn) = (b.node("node-a").await, b.node("node-b").await);
    let room = RoomId::new_random();
    let window = Duration::from_secs(2);
    assert!(ok(a.claim_typing(&room, &user("alice"), window).await));
    assert!(!ok(bn.claim_typing(&room, &user("alice"), window).await));
    assert!(ok(bn.claim_typing(&room, &user("bob"), window).await));
}
