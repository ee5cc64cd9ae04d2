//! `GET /room/{roomUUID}/presence` over real HTTP and STOMP, with memory and with Redis
//! presence: members only, and `online`/`inRoom` following connect, subscribe, unsubscribe,
//! leave and disconnect. With Redis: two nodes answer for each other, a clean stop leaves at
//! once, a node killed with SIGKILL leaves within 30 s, and Redis being down breaks presence
//! only. Redis tests use a random key prefix and delete their keys afterwards.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chat_presence_redis::testing::TestPrefix;
use common::*;
use reuse_chat::config::PresenceSetting;
use serde_json::json;

fn redis_presence(keys: &TestPrefix) -> PresenceSetting {
    PresenceSetting::Redis {
        url: keys.url().to_owned(),
        prefix: keys.prefix().to_owned(),
    }
}

fn test_prefix() -> TestPrefix {
    TestPrefix::create().unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `api`'s presence answer for `room` until it is `{"online": online, "inRoom":
/// in_room}`; fails after `within` showing the last answer.
async fn expect_presence(
    api: &Api,
    room: &str,
    online: &[&str],
    in_room: &[&str],
    within: Duration,
) {
    let want = json!({"online": online, "inRoom": in_room});
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = api.get(&format!("/room/{room}/presence")).await;
        assert_eq!(status, 200, "presence: {body}");
        // (v2's `lastSeenAt` is checked by tests/events.rs; here it must only be a map.)
        assert!(body["lastSeenAt"].is_object(), "presence: {body}");
        if json!({"online": body["online"], "inRoom": body["inRoom"]}) == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "presence is {body}, expected {want} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The answer follows every step of two users' sessions on one server.
async fn presence_follows_sessions(s: &TestServer) {
    let room = s.api("alice").open_room("bob", "bike").await;
    let (alice_api, bob_api) = (s.api("alice"), s.api("bob"));
    expect_presence(&bob_api, &room, &[], &[], Duration::ZERO).await;

    let mut alice = s.stomp("alice").await;
    expect_presence(&bob_api, &room, &["alice"], &[], WAIT).await;
    alice.subscribe("sub-0", &room).await;
    expect_presence(&bob_api, &room, &["alice"], &["alice"], WAIT).await;

    let mut bob = s.stomp("bob").await;
    bob.subscribe("sub-0", &room).await;
    // `online` lists members buyer first; `inRoom` is sorted.
    expect_presence(
        &alice_api,
        &room,
        &["alice", "bob"],
        &["alice", "bob"],
        WAIT,
    )
    .await;

    alice
        .send_raw("UNSUBSCRIBE\nid:sub-0\nreceipt:u-1\n\n\0")
        .await;
    assert_eq!(alice.recv().await.header("receipt-id"), Some("u-1"));
    expect_presence(&bob_api, &room, &["alice", "bob"], &["bob"], WAIT).await;

    alice.send_raw("DISCONNECT\nreceipt:d-1\n\n\0").await;
    assert_eq!(alice.recv().await.header("receipt-id"), Some("d-1"));
    alice.expect_closed().await;
    expect_presence(&bob_api, &room, &["bob"], &["bob"], WAIT).await;

    // Bob leaves the room: his subscription ends, so he is no longer in it, and he may no
    // longer ask.
    let (status, _) = bob_api.delete(&format!("/room/delete/{room}")).await;
    assert_eq!(status, 204);
    expect_presence(&alice_api, &room, &[], &[], WAIT).await;
    let (status, body) = bob_api.get(&format!("/room/{room}/presence")).await;
    assert_eq!(
        (status, body["error"].clone()),
        (403, json!("not_a_member"))
    );
}

#[tokio::test]
async fn memory_presence_follows_sessions() {
    let s = TestServer::start().await;
    presence_follows_sessions(&s).await;
}

#[tokio::test]
async fn redis_presence_follows_sessions() {
    let keys = test_prefix();
    let mut s = TestServer::start_with(|c| c.presence = redis_presence(&keys)).await;
    presence_follows_sessions(&s).await;
    s.stop().await;
}

#[tokio::test]
async fn presence_is_for_members_only() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let path = format!("/room/{room}/presence");
    let (status, body) = s.api("carol").get(&path).await;
    assert_eq!(
        (status, body["error"].clone()),
        (403, json!("not_a_member"))
    );
    let (status, body) = s.anonymous().get(&path).await;
    assert_eq!(
        (status, body["error"].clone()),
        (401, json!("unauthorized"))
    );
    let unknown = format!("/room/{}/presence", uuid::Uuid::new_v4());
    let (status, body) = s.api("alice").get(&unknown).await;
    assert_eq!(
        (status, body["error"].clone()),
        (404, json!("room_not_found"))
    );
    let (status, body) = s.api("alice").get("/room/nope/presence").await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("invalid_room_id"))
    );
}

#[tokio::test]
async fn two_nodes_answer_for_each_other_and_a_clean_stop_leaves_at_once() {
    let keys = test_prefix();
    let mut one = TestServer::start_with(|c| c.presence = redis_presence(&keys)).await;
    let mut two = one.restart(|c| c.presence = redis_presence(&keys)).await;
    let room = one.api("alice").open_room("bob", "bike").await;

    let mut alice = one.stomp("alice").await;
    alice.subscribe("sub-0", &room).await;
    let mut bob = two.stomp("bob").await;
    bob.subscribe("sub-0", &room).await;
    for node in [&one, &two] {
        expect_presence(
            &node.api("bob"),
            &room,
            &["alice", "bob"],
            &["alice", "bob"],
            WAIT,
        )
        .await;
    }

    // Node one stops cleanly (alice is told and dropped): node two stops seeing her at once,
    // not after the 15 s expiry.
    one.stop().await;
    expect_presence(&two.api("bob"), &room, &["bob"], &["bob"], Duration::ZERO).await;
    drop(bob);
    two.stop().await;
}

#[tokio::test]
async fn redis_down_breaks_presence_and_readiness_but_not_chat() {
    // Nothing listens on port 1.
    let s = TestServer::start_with(|c| {
        c.presence = PresenceSetting::Redis {
            url: "redis://127.0.0.1:1".into(),
            prefix: "rc-test-down".into(),
        }
    })
    .await;
    let (status, body) = s.anonymous().get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["backends"]["presence"], "unavailable");
    assert_eq!(body["backends"]["storage"], "ok");

    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    alice.say(&room, "alice", "still works", "r-1").await;
    assert_eq!(bob.message().await["content"], "still works");
    let (status, body) = s.api("alice").get(&format!("/room/{room}/presence")).await;
    assert_eq!(
        (status, body["error"].clone()),
        (503, json!("backend_unavailable"))
    );
}

#[tokio::test]
async fn ready_reports_redis_presence() {
    let keys = test_prefix();
    let mut s = TestServer::start_with(|c| c.presence = redis_presence(&keys)).await;
    let (status, body) = s.anonymous().get("/ready").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["backends"]["presence"], "ok");
    s.stop().await;
}

/// The real binary as a separate process, killed when the test ends however it ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_node_killed_with_sigkill_leaves_presence_within_30_seconds() {
    let keys = test_prefix();
    let storage = Storage::fresh().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let data_dir = storage.dir.path().display().to_string();
    let args = [
        "--log",
        "warn",
        "--data-dir",
        &data_dir,
        "--database",
        storage.db.url(),
        "--presence",
        keys.url(),
        "--presence-prefix",
        keys.prefix(),
    ];
    let child = spawn_node(port, &args, &[], None);
    let mut node_a = Node(child);
    let started = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        if let Some(status) = node_a.0.try_wait().expect("child status") {
            panic!("node A exited at start: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node A did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut node_b = TestServer::start_on(&storage, |c| c.presence = redis_presence(&keys)).await;

    let room = node_b.api("alice").open_room("bob", "bike").await;
    let mut alice = Stomp::connect(port, "alice").await;
    alice.subscribe("sub-0", &room).await;
    let bob_on_b = node_b.api("bob");
    expect_presence(&bob_on_b, &room, &["alice"], &["alice"], WAIT).await;

    // kill -9: no shutdown code runs on node A.
    node_a.0.kill().expect("SIGKILL node A");
    let status = node_a.0.wait().expect("node A ends");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status}"
    );
    expect_presence(&bob_on_b, &room, &[], &[], Duration::from_secs(30)).await;

    drop(alice);
    node_b.stop().await;
}

#[test]
fn a_bad_presence_setting_stops_the_binary_naming_it() {
    for (args, name) in [
        (vec!["--presence", "memcached://x"], "--presence"),
        (
            vec![
                "--presence",
                "redis://127.0.0.1:6379",
                "--presence-prefix",
                "a b",
            ],
            "--presence-prefix",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_reuse-chat"))
            .arg("serve")
            .args(&args)
            .output()
            .expect("the binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(name), "{args:?} names {name}: {stderr}");
    }
}
