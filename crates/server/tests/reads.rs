//! Read marks and unread counts (API-v2 "Read marks and unread counts") against the real
//! server, over REST and STOMP: every rule and every refusal. Run on every database by
//! scripts/test.sh (`REUSE_CHAT_TEST_BACKEND`).

mod common;

use common::{pair, TestServer};
use serde_json::{json, Value};

/// The room as `user` sees it in `GET /room/list`.
async fn listed(s: &TestServer, user: &str, room: &str) -> Value {
    let (status, list) = s.api(user).get("/room/list").await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r["roomUUID"] == room)
        .unwrap_or_else(|| panic!("{room} is in {user}'s list: {list}"))
        .clone()
}

async fn unread(s: &TestServer, user: &str) -> Value {
    let (status, body) = s.api(user).get("/room/unread").await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn mark(s: &TestServer, user: &str, room: &str, body: Value) -> (u16, Value) {
    s.api(user)
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(body.to_string().into_bytes()),
        )
        .await
}

#[tokio::test]
async fn unread_counts_follow_sends_and_marks_in_every_room_json() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "자전거").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        alice
            .say(&room, "alice", &format!("사진 {i}"), &format!("s{i}"))
            .await;
        ids.push(bob.message().await["id"].as_i64().unwrap());
    }
    let bobs = listed(&s, "bob", &room).await;
    assert_eq!(bobs["unreadCount"], 3);
    assert_eq!(bobs["readUpTo"], json!({"alice": ids[2], "bob": 0}));
    assert_eq!(listed(&s, "alice", &room).await["unreadCount"], 0);
    assert_eq!(unread(&s, "bob").await, json!({"total": 3, "rooms": 1}));
    assert_eq!(unread(&s, "alice").await, json!({"total": 0, "rooms": 0}));
    let (_, entered) = s.api("bob").get(&format!("/room/enter/{room}")).await;
    assert_eq!(entered["unreadCount"], 3);

    // REST: up to the second message.
    let (status, body) = mark(&s, "bob", &room, json!({"upTo": ids[1]})).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(listed(&s, "bob", &room).await["unreadCount"], 1);
    // A lower mark is accepted and changes nothing.
    let (status, _) = mark(&s, "bob", &room, json!({"upTo": ids[0]})).await;
    assert_eq!(status, 204);
    assert_eq!(listed(&s, "bob", &room).await["readUpTo"]["bob"], ids[1]);
    // STOMP, with a receipt, past the newest: the newest.
    bob.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/read\ncontent-type:application/json\nreceipt:rd\n\n{{\"upTo\": 999999999999}}\0"
    ))
    .await;
    let receipt = bob.recv().await;
    assert_eq!(
        (receipt.command.as_str(), receipt.header("receipt-id")),
        ("RECEIPT", Some("rd"))
    );
    let bobs = listed(&s, "bob", &room).await;
    assert_eq!(
        (bobs["unreadCount"].clone(), bobs["readUpTo"]["bob"].clone()),
        (json!(0), json!(ids[2]))
    );
    assert_eq!(unread(&s, "bob").await, json!({"total": 0, "rooms": 0}));

    // Sending marks read for the sender: bob answers, alice has one unread, bob none.
    bob.say(&room, "bob", "네 가능해요", "b1").await;
    let answer = alice.message().await["id"].as_i64().unwrap();
    let alices = listed(&s, "alice", &room).await;
    assert_eq!(alices["unreadCount"], 1);
    assert_eq!(alices["readUpTo"], json!({"alice": ids[2], "bob": answer}));
    assert_eq!(unread(&s, "alice").await, json!({"total": 1, "rooms": 1}));
    assert_eq!(listed(&s, "bob", &room).await["unreadCount"], 0);
}

#[tokio::test]
async fn counts_are_exact_across_rooms_leaves_rejoins_and_restarts() {
    let s = TestServer::start().await;
    let (r1, mut alice, bob) = pair(&s, "alice", "bob", "의자").await;
    let r2 = s.api("carol").open_room("bob", "책상").await;
    let mut carol = s.stomp("carol").await;
    carol.subscribe("c", &r2).await;
    alice.say(&r1, "alice", "1", "a1").await;
    alice.say(&r1, "alice", "2", "a2").await;
    carol.say(&r2, "carol", "3", "c1").await;
    assert_eq!(unread(&s, "bob").await, json!({"total": 3, "rooms": 2}));

    // alice leaves r1: her room is gone from her totals; bob's count gains the notice.
    let (status, _) = s.api("alice").delete(&format!("/room/delete/{r1}")).await;
    assert_eq!(status, 204);
    drop(alice);
    assert_eq!(listed(&s, "bob", &r1).await["unreadCount"], 3);
    assert_eq!(listed(&s, "bob", &r1).await["readUpTo"], json!({"bob": 0}));
    assert_eq!(unread(&s, "bob").await, json!({"total": 4, "rooms": 2}));
    let (status, body) = mark(&s, "alice", &r1, json!({"upTo": 1})).await;
    assert_eq!(
        (status, body["error"].clone()),
        (403, json!("not_a_member"))
    );

    // The counts are stored, not kept in memory: the same after a restart.
    drop(bob);
    drop(carol);
    let mut old = s;
    old.stop().await;
    let s = old.restart(|_| {}).await;
    assert_eq!(unread(&s, "bob").await, json!({"total": 4, "rooms": 2}));
    // alice comes back through the listing: nothing unread for her.
    let again = s.api("alice").open_room("bob", "의자").await;
    assert_eq!(again, r1);
    assert_eq!(listed(&s, "alice", &r1).await["unreadCount"], 0);
    // Her mark is the newest message (her own leave notice), and bob sees it.
    let bobs = listed(&s, "bob", &r1).await;
    assert_eq!(bobs["readUpTo"]["alice"], bobs["lastMessage"]["id"]);
    assert_eq!(bobs["lastMessage"]["notice"], "MEMBER_LEFT");
}

#[tokio::test]
async fn bad_marks_are_refused_and_change_nothing() {
    let s = TestServer::start().await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "모니터").await;
    alice.say(&room, "alice", "hi", "a").await;
    for body in [
        json!({"upTo": 0}),
        json!({"upTo": -3}),
        json!({"upTo": 1.5}),
        json!({"upTo": "12"}),
        json!({"upTo": null}),
        json!({}),
        json!([1]),
    ] {
        let (status, err) = mark(&s, "bob", &room, body.clone()).await;
        assert_eq!(
            (status, err["error"].clone()),
            (400, json!("invalid_body")),
            "{body}"
        );
    }
    let (status, err) = s
        .api("bob")
        .call("POST", &format!("/room/{room}/read"), Some(b"{".to_vec()))
        .await;
    assert_eq!((status, err["error"].clone()), (400, json!("invalid_body")));
    let (status, err) = mark(&s, "mallory", &room, json!({"upTo": 1})).await;
    assert_eq!((status, err["error"].clone()), (403, json!("not_a_member")));
    let unknown = "0b8e0000-0000-4000-8000-000000000000";
    let (status, err) = mark(&s, "bob", unknown, json!({"upTo": 1})).await;
    assert_eq!(
        (status, err["error"].clone()),
        (404, json!("room_not_found"))
    );
    let (status, err) = mark(&s, "bob", "not-a-uuid", json!({"upTo": 1})).await;
    assert_eq!(
        (status, err["error"].clone()),
        (400, json!("invalid_room_id"))
    );
    let (status, err) = s.anonymous().get("/room/unread").await;
    assert_eq!((status, err["error"].clone()), (401, json!("unauthorized")));
    assert_eq!(
        listed(&s, "bob", &room).await["unreadCount"],
        1,
        "nothing changed"
    );

    // Over STOMP: an ERROR with the same code, and the session ends.
    for (body, code) in [
        (r#"{"upTo": -1}"#.to_owned(), "invalid_body"),
        (r#"{"upTo": 1}"#.to_owned(), "not_a_member"),
    ] {
        let user = if code == "not_a_member" {
            "mallory"
        } else {
            "bob"
        };
        let mut c = s.stomp(user).await;
        c.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/read\nreceipt:x\n\n{body}\0"
        ))
        .await;
        let e = c.expect_error().await;
        assert_eq!(
            (e.header("code"), e.header("receipt-id")),
            (Some(code), Some("x"))
        );
    }
    let mut c = s.stomp("bob").await;
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/read\ntransaction:t\n\n{{\"upTo\": 1}}\0"
    ))
    .await;
    assert_eq!(
        c.expect_error().await.header("code"),
        Some("not_transactional")
    );
    // Someone else's queue, or anything under /user/ but one's own queues.
    let mut c = s.stomp("bob").await;
    c.send_raw("SUBSCRIBE\nid:e\ndestination:/user/alice/queue/events\n\n\0")
        .await;
    assert_eq!(
        c.expect_error().await.header("code"),
        Some("forbidden_destination")
    );
    assert_eq!(
        listed(&s, "bob", &room).await["unreadCount"],
        1,
        "nothing changed"
    );
}
