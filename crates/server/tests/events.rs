//! The user's event stream (API-v2, "The user's event stream" and "Typing and online status")
//! against the real server: `ROOM_UPDATED`, `READ`, `TYPING` and `PRESENCE` to the right
//! sessions and nobody else, the leaver's last update, the typing throttle and every refusal.
//! Run on every database by scripts/test.sh (`REUSE_CHAT_TEST_BACKEND`).

mod common;

use std::time::Duration;

use common::{Stomp, TestServer};
use serde_json::{json, Value};

/// How long a test waits to be sure nothing more arrives.
const QUIET: Duration = Duration::from_millis(400);

async fn follow(s: &TestServer, user: &str) -> Stomp {
    let mut c = s.stomp(user).await;
    c.send_raw("SUBSCRIBE\nid:ev\ndestination:/user/queue/events\nreceipt:ev\n\n\0")
        .await;
    let f = c.recv().await;
    assert_eq!(
        (f.command.as_str(), f.header("receipt-id")),
        ("RECEIPT", Some("ev")),
        "{f:?}"
    );
    c
}

/// The next event on `c`, which must be of `kind`.
async fn event(c: &mut Stomp, kind: &str) -> Value {
    let f = c.recv().await;
    assert_eq!(f.command, "MESSAGE", "{f:?} {}", f.text());
    assert_eq!(f.header("destination"), Some("/user/queue/events"));
    assert_eq!(f.header("subscription"), Some("ev"));
    assert!(f.header("message-id").is_some_and(|m| m.starts_with("ev-")));
    let body = f.json();
    assert_eq!(body["type"], kind, "{body}");
    body
}

async fn quiet(c: &mut Stomp) {
    if let Some(f) = c.maybe(QUIET).await {
        panic!("expected nothing, got {f:?} {}", f.text());
    }
}

async fn typing(c: &mut Stomp, room: &str, body: &str, receipt: &str) {
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/typing\nreceipt:{receipt}\n\n{body}\0"
    ))
    .await;
}

async fn receipt(c: &mut Stomp, id: &str) {
    let f = c.recv().await;
    assert_eq!(
        (f.command.as_str(), f.header("receipt-id")),
        ("RECEIPT", Some(id)),
        "{f:?} {}",
        f.text()
    );
}

#[tokio::test]
async fn room_updates_and_read_marks_reach_every_session_of_both_members() {
    let s = TestServer::start().await;
    let mut alice1 = follow(&s, "alice").await;
    let mut alice2 = follow(&s, "alice").await;
    let mut bob = follow(&s, "bob").await;
    let mut carol = follow(&s, "carol").await;

    // Created: both members' sessions learn of the room.
    let room = s.api("alice").open_room("bob", "자전거").await;
    for c in [&mut alice1, &mut alice2, &mut bob] {
        let e = event(c, "ROOM_UPDATED").await;
        assert_eq!(e["room"]["roomUUID"], room);
        assert_eq!(e["room"]["unreadCount"], 0);
        assert!(e.get("left").is_none());
    }

    // A message: each member's own view (bob has one unread), then where the sender's mark is.
    let mut sender = s.stomp("alice").await;
    sender.say(&room, "alice", "아직 있나요?", "m1").await;
    let id = s.api("bob").history(&room, "").await[0]["id"]
        .as_i64()
        .unwrap();
    let b = event(&mut bob, "ROOM_UPDATED").await;
    assert_eq!(b["room"]["unreadCount"], 1);
    assert_eq!(b["room"]["lastMessage"]["content"], "아직 있나요?");
    assert_eq!(b["room"]["readUpTo"], json!({"alice": id, "bob": 0}));
    let read = event(&mut bob, "READ").await;
    assert_eq!(
        read,
        json!({"type": "READ", "roomUUID": room, "user": "alice", "upTo": id})
    );
    for c in [&mut alice1, &mut alice2] {
        let a = event(c, "ROOM_UPDATED").await;
        assert_eq!(a["room"]["unreadCount"], 0);
        assert_eq!(a["room"]["lastMessage"]["id"], id);
        assert_eq!(event(c, "READ").await, read);
    }

    // Bob reads: his sessions get the room (nothing unread) and READ; alice's get READ only.
    let (status, _) = s
        .api("bob")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": id}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204);
    let b = event(&mut bob, "ROOM_UPDATED").await;
    assert_eq!(
        (
            b["room"]["unreadCount"].clone(),
            b["room"]["readUpTo"]["bob"].clone()
        ),
        (json!(0), json!(id))
    );
    let read = event(&mut bob, "READ").await;
    assert_eq!(
        read,
        json!({"type": "READ", "roomUUID": room, "user": "bob", "upTo": id})
    );
    for c in [&mut alice1, &mut alice2] {
        assert_eq!(event(c, "READ").await, read);
    }
    // The same mark again moves nothing and tells nobody.
    s.api("bob")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": id}).to_string().into_bytes()),
        )
        .await;
    quiet(&mut bob).await;
    quiet(&mut alice1).await;
    // Carol shares no room with either: she heard nothing of it.
    quiet(&mut carol).await;
}

#[tokio::test]
async fn a_member_who_leaves_gets_a_last_update_and_so_does_the_last_one() {
    let s = TestServer::start().await;
    let mut alice = follow(&s, "alice").await;
    let mut bob = follow(&s, "bob").await;
    let room = s.api("alice").open_room("bob", "책상").await;
    event(&mut alice, "ROOM_UPDATED").await;
    event(&mut bob, "ROOM_UPDATED").await;

    let (status, _) = s.api("bob").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(status, 204);
    let last = event(&mut bob, "ROOM_UPDATED").await;
    assert_eq!(last["left"], true);
    assert_eq!(last["room"]["roomUUID"], room);
    assert_eq!(
        last["room"]["unreadCount"], 0,
        "nothing is unread for who left"
    );
    let stays = event(&mut alice, "ROOM_UPDATED").await;
    assert!(stays.get("left").is_none());
    assert_eq!(stays["room"]["members"], json!(["alice"]));
    assert_eq!(stays["room"]["unreadCount"], 1, "the notice is unread");
    assert_eq!(stays["room"]["lastMessage"]["notice"], "MEMBER_LEFT");
    // Nothing more of that room for bob.
    s.api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": 1_000_000_000}).to_string().into_bytes()),
        )
        .await;
    event(&mut alice, "ROOM_UPDATED").await;
    event(&mut alice, "READ").await;
    quiet(&mut bob).await;

    // The last member leaves: the room is deleted, and she is told so.
    let (status, _) = s.api("alice").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(status, 204);
    let gone = event(&mut alice, "ROOM_UPDATED").await;
    assert_eq!(
        (gone["left"].clone(), gone["room"]["roomUUID"].clone()),
        (json!(true), json!(room))
    );
}

#[tokio::test]
async fn typing_reaches_the_other_member_only_throttled_and_never_stored() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "의자").await;
    let mut bob = follow(&s, "bob").await;
    let mut alice_events = follow(&s, "alice").await;
    assert_eq!(event(&mut bob, "PRESENCE").await["online"], true);
    let mut alice = s.stomp("alice").await;

    // Three in a row: one is relayed, the rest dropped silently (each still gets its receipt).
    for n in 0..3 {
        typing(&mut alice, &room, r#"{"typing": true}"#, &format!("t{n}")).await;
        receipt(&mut alice, &format!("t{n}")).await;
    }
    assert_eq!(
        event(&mut bob, "TYPING").await,
        json!({"type": "TYPING", "roomUUID": room, "user": "alice", "typing": true})
    );
    quiet(&mut bob).await;
    // `false` goes at once, once.
    typing(&mut alice, &room, r#"{"typing": false}"#, "f1").await;
    receipt(&mut alice, "f1").await;
    assert_eq!(event(&mut bob, "TYPING").await["typing"], false);
    typing(&mut alice, &room, r#"{"typing": false}"#, "f2").await;
    receipt(&mut alice, "f2").await;
    // Within the window a new `true` is still held back, from any session of alice's.
    let mut alice_phone = s.stomp("alice").await;
    typing(&mut alice_phone, &room, r#"{"typing": true}"#, "p1").await;
    receipt(&mut alice_phone, "p1").await;
    quiet(&mut bob).await;
    // After it, the next one goes.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    typing(&mut alice_phone, &room, r#"{"typing": true}"#, "p2").await;
    receipt(&mut alice_phone, "p2").await;
    assert_eq!(event(&mut bob, "TYPING").await["typing"], true);
    // Alice never hears her own typing; nothing was stored.
    quiet(&mut alice_events).await;
    assert!(s.api("bob").history(&room, "").await.is_empty());
}

#[tokio::test]
async fn bad_typing_frames_are_refused_with_codes() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "램프").await;
    for (user, body, extra, code) in [
        ("alice", r#"{"typing": "yes"}"#, "", "invalid_body"),
        ("alice", "typing", "", "invalid_body"),
        (
            "alice",
            r#"{"typing": true}"#,
            "transaction:t1\n",
            "not_transactional",
        ),
        ("carol", r#"{"typing": true}"#, "", "not_a_member"),
    ] {
        let mut c = s.stomp(user).await;
        if !extra.is_empty() {
            c.send_raw("BEGIN\ntransaction:t1\n\n\0").await;
        }
        c.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/typing\n{extra}receipt:x\n\n{body}\0"
        ))
        .await;
        let e = c.expect_error().await;
        assert_eq!(e.header("code"), Some(code), "{body}: {}", e.text());
        assert_eq!(e.header("receipt-id"), Some("x"));
    }
    let mut c = s.stomp("alice").await;
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{}/typing\n\n{{\"typing\": true}}\0",
        uuid::Uuid::new_v4()
    ))
    .await;
    assert_eq!(
        c.expect_error().await.header("code"),
        Some("room_not_found")
    );
    // Only one's own stream exists under /user/.
    let mut c = s.stomp("alice").await;
    c.send_raw("SUBSCRIBE\nid:x\ndestination:/user/bob/queue/events\n\n\0")
        .await;
    assert_eq!(
        c.expect_error().await.header("code"),
        Some("forbidden_destination")
    );
    // The stream counts toward the subscription limit and its id must be unused.
    let mut c = follow(&s, "alice").await;
    c.send_raw("SUBSCRIBE\nid:ev\ndestination:/user/queue/events\n\n\0")
        .await;
    assert_eq!(
        c.expect_error().await.header("code"),
        Some("duplicate_subscription")
    );
}

#[tokio::test]
async fn presence_is_told_on_the_first_connect_and_the_last_disconnect_and_last_seen_is_kept() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "자전거").await;
    let mut bob = follow(&s, "bob").await;
    let mut dave = follow(&s, "dave").await;
    // Bob's own first connection told alice nothing (she is not connected), but the room's
    // presence shows him online and alice never seen.
    let (_, p) = s.api("bob").get(&format!("/room/{room}/presence")).await;
    assert_eq!(p["online"], json!(["bob"]));
    assert_eq!(p["lastSeenAt"], json!({}));

    let mut phone = s.stomp("alice").await;
    assert_eq!(
        event(&mut bob, "PRESENCE").await,
        json!({"type": "PRESENCE", "user": "alice", "online": true, "lastSeenAt": null})
    );
    let laptop = s.stomp("alice").await;
    quiet(&mut bob).await;
    phone.send_raw("DISCONNECT\nreceipt:bye\n\n\0").await;
    receipt(&mut phone, "bye").await;
    quiet(&mut bob).await;
    // Her last connection drops and she is back within the grace (a phone changing networks):
    // bob's screen does not flicker.
    drop(laptop);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let back = s.stomp("alice").await;
    if let Some(f) = bob.maybe(Duration::from_secs(4)).await {
        panic!("a reconnect within the grace told bob {}", f.text());
    }
    drop(back);
    let gone = event(&mut bob, "PRESENCE").await;
    assert_eq!(
        (gone["user"].clone(), gone["online"].clone()),
        (json!("alice"), json!(false))
    );
    let seen = gone["lastSeenAt"].as_str().expect("a time").to_owned();
    assert!(seen.ends_with('Z') && seen.len() == 24, "{seen}");
    // Dave shares no room with alice.
    quiet(&mut dave).await;

    let (_, p) = s.api("bob").get(&format!("/room/{room}/presence")).await;
    assert_eq!(p["online"], json!(["bob"]));
    assert_eq!(p["lastSeenAt"], json!({"alice": seen}));

    // Kept in the database: a restarted server still knows.
    drop(bob);
    drop(dave);
    let mut s = s;
    s.stop().await;
    let again = s.restart(|_| {}).await;
    let (_, p) = again
        .api("bob")
        .get(&format!("/room/{room}/presence"))
        .await;
    assert_eq!(p["lastSeenAt"]["alice"], json!(seen));
}
