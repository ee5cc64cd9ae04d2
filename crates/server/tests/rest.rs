//! The REST rows of API.md against the real server: every call, every error case.

mod common;

use common::{enc, TestServer};
use serde_json::json;

#[tokio::test]
async fn create_room_is_idempotent_per_pair_and_product() {
    let s = TestServer::start().await;
    let alice = s.api("alice");
    let bob = s.api("bob");

    let (st, room) = alice
        .post(&format!(
            "/room/create?user=bob&name={}&productId=p-991",
            enc("자전거 팝니다")
        ))
        .await;
    assert_eq!(st, 201, "{room}");
    assert_eq!(room["name"], "자전거 팝니다");
    assert_eq!(room["productId"], "p-991");
    assert_eq!(room["buyer"], "alice");
    assert_eq!(room["seller"], "bob");
    assert_eq!(room["members"], json!(["alice", "bob"]));
    assert_eq!(room["lastMessage"], serde_json::Value::Null);
    let id = room["roomUUID"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36);
    assert!(room["createdAt"].as_str().unwrap().ends_with('Z'));

    // Same pair, same product: same room, 200 — from either side, whatever the name.
    let (st, again) = alice
        .post("/room/create?user=bob&name=x&productId=p-991")
        .await;
    assert_eq!((st, again["roomUUID"].as_str()), (200, Some(id.as_str())));
    let (st, again) = bob
        .post("/room/create?user=alice&name=y&productId=p-991")
        .await;
    assert_eq!((st, again["roomUUID"].as_str()), (200, Some(id.as_str())));

    // Another product, or no productId (keyed by name): other rooms.
    let (st, other) = alice
        .post("/room/create?user=bob&name=bike&productId=p-992")
        .await;
    assert_eq!(st, 201);
    assert_ne!(other["roomUUID"], json!(id));
    let (st, by_name) = alice.post("/room/create?user=bob&name=bike").await;
    assert_eq!(st, 201);
    let (st, by_name2) = alice.post("/room/create?user=bob&name=bike").await;
    assert_eq!(st, 200);
    assert_eq!(by_name["roomUUID"], by_name2["roomUUID"]);
    assert_eq!(by_name["productId"], serde_json::Value::Null);
}

#[tokio::test]
async fn create_room_refuses_bad_input() {
    let s = TestServer::start().await;
    let alice = s.api("alice");
    for (path, status, code) in [
        ("/room/create?user=alice&name=x", 400, "self_chat"),
        ("/room/create?name=x", 400, "missing_user"),
        ("/room/create?user=bob", 400, "missing_name"),
        ("/room/create?user=bob&name=%20%20", 400, "missing_name"),
        ("/room/create?user=b%20b&name=x", 400, "invalid_user"),
        ("/room/create?user=bob&name=%FF", 400, "invalid_query"),
    ] {
        let (st, body) = alice.post(path).await;
        assert_eq!(st, status, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let long = "n".repeat(101);
    let (st, body) = alice
        .post(&format!("/room/create?user=bob&name={long}"))
        .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_name")));
}

#[tokio::test]
async fn identity_is_required_and_validated() {
    let s = TestServer::start().await;
    let (st, body) = s.anonymous().get("/room/list").await;
    assert_eq!(st, 401);
    assert_eq!(body["error"], "unauthorized");
    let (st, _) = s.api("bad user").get("/room/list").await;
    assert_eq!(st, 401);
    let (st, _) = s.api(&"x".repeat(129)).get("/room/list").await;
    assert_eq!(st, 401);
    let (st, _) = s.anonymous().post("/room/create?user=bob&name=x").await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn room_list_is_most_recent_first_with_last_message() {
    let s = TestServer::start().await;
    let alice = s.api("alice");
    let r1 = alice.open_room("bob", "one").await;
    let r2 = alice.open_room("carol", "two").await;
    let (_, list) = alice.get("/room/list").await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["roomUUID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![r2.as_str(), r1.as_str()], "newest room first");

    // A message in the older room makes it the most recent.
    let mut c = s.stomp("alice").await;
    c.say(&r1, "alice", "안녕하세요, 아직 판매중인가요?", "r1")
        .await;
    let (st, list) = alice.get("/room/list").await;
    assert_eq!(st, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list[0]["roomUUID"], json!(r1));
    assert_eq!(
        list[0]["lastMessage"]["content"],
        "안녕하세요, 아직 판매중인가요?"
    );
    assert_eq!(list[0]["lastMessage"]["sender"], "alice");
    assert_eq!(list[1]["lastMessage"], serde_json::Value::Null);

    // Bob sees only his room; dave sees none.
    let (_, bobs) = s.api("bob").get("/room/list").await;
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    let (st, daves) = s.api("dave").get("/room/list").await;
    assert_eq!((st, daves), (200, json!([])));
}

#[tokio::test]
async fn enter_checks_membership() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let (st, r) = s.api("bob").get(&format!("/room/enter/{room}")).await;
    assert_eq!(st, 200);
    assert_eq!(r["roomUUID"], json!(room));
    let (st, r) = s.api("mallory").get(&format!("/room/enter/{room}")).await;
    assert_eq!((st, r["error"].as_str()), (403, Some("not_a_member")));
    let unknown = uuid::Uuid::new_v4();
    let (st, r) = s.api("alice").get(&format!("/room/enter/{unknown}")).await;
    assert_eq!((st, r["error"].as_str()), (404, Some("room_not_found")));
    let (st, r) = s.api("alice").get("/room/enter/not-a-uuid").await;
    assert_eq!((st, r["error"].as_str()), (400, Some("invalid_room_id")));
}

#[tokio::test]
async fn leaving_notifies_the_other_member_and_the_last_one_deletes_the_room() {
    let s = TestServer::start().await;
    let (room, mut alice_c, mut bob_c) = common::pair(&s, "alice", "bob", "bike").await;
    alice_c.say(&room, "alice", "hi", "r1").await;
    let _ = bob_c.message().await;

    // Strangers cannot leave; unknown rooms are 404.
    let (st, _) = s
        .api("mallory")
        .delete(&format!("/room/delete/{room}"))
        .await;
    assert_eq!(st, 403);
    let (st, _) = s
        .api("alice")
        .delete(&format!("/room/delete/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(st, 404);

    let (st, body) = s.api("alice").delete(&format!("/room/delete/{room}")).await;
    assert_eq!((st, body), (204, serde_json::Value::Null));
    // Bob gets the SYSTEM notice live.
    let notice = bob_c.message().await;
    assert_eq!(notice["type"], "SYSTEM");
    assert_eq!(notice["sender"], "alice");
    assert!(notice["content"].as_str().unwrap().contains("alice"));
    // The room left alice's list, stays in bob's with only bob as member.
    let (_, list) = s.api("alice").get("/room/list").await;
    assert_eq!(list, json!([]));
    let (_, list) = s.api("bob").get("/room/list").await;
    assert_eq!(list[0]["members"], json!(["bob"]));
    assert_eq!(list[0]["lastMessage"]["type"], "SYSTEM");
    // Alice is no member any more: no history, no enter, no second leave.
    let (st, _) = s.api("alice").get(&format!("/chat/room/{room}")).await;
    assert_eq!(st, 403);
    let (st, _) = s.api("alice").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(st, 403);
    // Alice's live subscription ended: bob's next message does not reach her.
    bob_c.say(&room, "bob", "still there?", "r2").await;
    assert!(alice_c
        .maybe(std::time::Duration::from_millis(300))
        .await
        .is_none());

    // The last member leaving deletes the room and its messages.
    let (st, _) = s.api("bob").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(st, 204);
    let (st, _) = s.api("bob").get(&format!("/room/enter/{room}")).await;
    assert_eq!(st, 404);
    // Opening again makes a new room.
    let (st, again) = s.api("alice").post("/room/create?user=bob&name=bike").await;
    assert_eq!(st, 201);
    assert_ne!(again["roomUUID"], json!(room));
}

#[tokio::test]
async fn a_member_who_left_rejoins_by_opening_the_room_again() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let (st, _) = s.api("alice").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(st, 204);
    let (st, r) = s.api("alice").post("/room/create?user=bob&name=bike").await;
    assert_eq!(st, 200);
    assert_eq!(r["roomUUID"], json!(room));
    assert_eq!(r["members"], json!(["alice", "bob"]));
    // The history, including the notice, is still there.
    let h = s.api("alice").history(&room, "").await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["type"], "SYSTEM");
}

#[tokio::test]
async fn history_pages_with_before_after_and_limit() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut c = s.stomp("alice").await;
    for i in 0..60 {
        c.say(&room, "alice", &format!("m{i}"), &format!("r{i}"))
            .await;
    }
    let bob = s.api("bob");
    let latest = bob.history(&room, "").await;
    assert_eq!(latest.len(), 50, "default limit is 50");
    assert_eq!(latest[0]["content"], "m10");
    assert_eq!(latest[49]["content"], "m59");
    let ids: Vec<i64> = latest.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ascending ids: {ids:?}"
    );

    let first_id = ids[0];
    let older = bob
        .history(&room, &format!("?before={first_id}&limit=5"))
        .await;
    let contents: Vec<&str> = older
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["m5", "m6", "m7", "m8", "m9"]);

    let newer = bob
        .history(&room, &format!("?after={}&limit=3", ids[10]))
        .await;
    let contents: Vec<&str> = newer
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, vec!["m21", "m22", "m23"]);
    assert!(bob
        .history(&room, &format!("?after={}", ids[49]))
        .await
        .is_empty());
    assert_eq!(bob.history(&room, "?limit=200").await.len(), 60);

    for (q, code) in [
        ("?limit=201", "invalid_limit"),
        ("?limit=0", "invalid_limit"),
        ("?limit=-1", "invalid_limit"),
        ("?limit=abc", "invalid_limit"),
        ("?before=1&after=2", "invalid_cursor"),
        ("?before=x", "invalid_cursor"),
        ("?after=-5", "invalid_cursor"),
    ] {
        let (st, body) = bob.get(&format!("/chat/room/{room}{q}")).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some(code)),
            "{q}: {body}"
        );
    }
    let (st, _) = s.api("mallory").get(&format!("/chat/room/{room}")).await;
    assert_eq!(st, 403);
    let (st, _) = bob
        .get(&format!("/chat/room/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn inquiries_are_validated_and_stored() {
    let s = TestServer::start().await;
    let api = s.anonymous();
    let ok = json!({"email": "user@example.com", "title": "환불 문의", "content": "거래가 취소되었어요"});
    let (st, body) = api
        .call("POST", "/inquiry", Some(ok.to_string().into_bytes()))
        .await;
    assert_eq!(st, 202, "{body}");
    assert!(body["id"].as_i64().is_some());
    let (st, body2) = s
        .api("alice")
        .call("POST", "/inquiry", Some(ok.to_string().into_bytes()))
        .await;
    assert_eq!(st, 202);
    assert_ne!(body["id"], body2["id"]);

    for (b, code) in [
        (
            json!({"email": "nope", "title": "t", "content": "c"}).to_string(),
            "invalid_email",
        ),
        (
            json!({"email": "a@b.co", "title": "", "content": "c"}).to_string(),
            "missing_field",
        ),
        (
            json!({"email": "a@b.co", "title": "t"}).to_string(),
            "missing_field",
        ),
        (
            json!({"email": "a@b.co", "title": 5, "content": "c"}).to_string(),
            "missing_field",
        ),
        ("{not json".to_owned(), "invalid_body"),
    ] {
        let (st, body) = api
            .call("POST", "/inquiry", Some(b.clone().into_bytes()))
            .await;
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some(code)),
            "{b}: {body}"
        );
    }
    let huge = json!({"email": "a@b.co", "title": "t", "content": "x".repeat(70_000)}).to_string();
    let (st, body) = api.call("POST", "/inquiry", Some(huge.into_bytes())).await;
    assert_eq!(st, 413, "{body}");
    let long = json!({"email": "a@b.co", "title": "t", "content": "x".repeat(10_001)}).to_string();
    let (st, _) = api.call("POST", "/inquiry", Some(long.into_bytes())).await;
    assert_eq!(st, 413);
    // A bad identity is refused even where identity is optional.
    let (st, _) = s
        .api("bad user")
        .call("POST", "/inquiry", Some(ok.to_string().into_bytes()))
        .await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn health_ready_and_unknown_routes() {
    let s = TestServer::start().await;
    let api = s.anonymous();
    assert_eq!(api.get("/health").await, (200, json!({"status": "ok"})));
    let (st, ready) = api.get("/ready").await;
    assert_eq!(st, 200);
    assert_eq!(ready["backends"]["storage"], "ok");
    let (st, body) = api.get("/nope").await;
    assert_eq!((st, body["error"].as_str()), (404, Some("not_found")));
    let (st, body) = api.call("PUT", "/room/list", None).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    // A plain GET on the WebSocket endpoint is a clear 400, not a hang.
    let (st, body) = api.get("/ws-stomp").await;
    assert_eq!((st, body["error"].as_str()), (400, Some("not_a_websocket")));
}

#[tokio::test]
async fn presence_of_a_room_is_for_members() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut a = s.stomp("alice").await;
    a.subscribe("s", &room).await;
    let _b = s.stomp("bob").await;
    let (st, p) = s.api("bob").get(&format!("/room/{room}/presence")).await;
    assert_eq!(st, 200);
    assert_eq!(
        p,
        json!({"online": ["alice", "bob"], "inRoom": ["alice"], "lastSeenAt": {}})
    );
    let (st, _) = s
        .api("mallory")
        .get(&format!("/room/{room}/presence"))
        .await;
    assert_eq!(st, 403);
}
