//! Safety (API-v2 "Safety") against the real server, over REST and STOMP: blocks and everything
//! they stop, reports and the operators' list, scam warnings (with masking and operator rules),
//! and rate limits. Run on every database by scripts/test.sh (`REUSE_CHAT_TEST_BACKEND`).

mod common;

use std::time::Duration;

use common::{pair, Stomp, TestServer};
use reuse_chat::rate_limits::LimitSettings;
use serde_json::{json, Value};

const ADMIN: &str = "operators-token-0123456789";

async fn call(s: &TestServer, user: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    s.api(user)
        .call(method, path, Some(body.to_string().into_bytes()))
        .await
}

async fn block(s: &TestServer, user: &str, other: &str) -> (u16, Value) {
    call(s, user, "POST", "/user/blocks", json!({ "user": other })).await
}

async fn blocked_users(s: &TestServer, user: &str) -> Value {
    let (status, v) = s.api(user).get("/user/blocks").await;
    assert_eq!(status, 200, "{v}");
    v["users"].clone()
}

/// Sends `content` with a receipt; the `ERROR` frame the server answers with (it then closes).
async fn send_refused(c: &mut Stomp, room: &str, content: &str, receipt: &str) -> common::TFrame {
    let body = json!({ "content": content });
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:{receipt}\n\n{body}\0"
    ))
    .await;
    let f = c.expect_error().await;
    assert_eq!(f.header("receipt-id"), Some(receipt), "{f:?}");
    f
}

/// `user` says `content` and reads its own copy back, however it interleaves with the receipt:
/// the connection is quiet afterwards. Returns the stored message.
async fn say(c: &mut Stomp, room: &str, user: &str, content: &str, receipt: &str) -> Value {
    let before = c.say(room, user, content, receipt).await;
    match before.iter().find(|f| f.command == "MESSAGE") {
        Some(f) => f.json(),
        None => c.message().await,
    }
}

/// The next event of `kind` on an event stream (others are skipped).
async fn next_event(c: &mut Stomp, kind: &str) -> Value {
    loop {
        let f = c.recv().await;
        assert_eq!(f.command, "MESSAGE", "{f:?}");
        let e = f.json();
        if e["type"] == kind {
            return e;
        }
    }
}

#[tokio::test]
async fn a_block_stops_messages_rooms_and_typing_both_ways_until_it_is_lifted() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "자전거").await;
    say(&mut alice, &room, "alice", "아직 파시나요?", "r0").await;
    bob.message().await;

    let alice_events = s.follow_events("alice").await;
    let mut alice_events = alice_events;
    assert_eq!(block(&s, "bob", "alice").await, (204, Value::Null));
    // Presence stops: alice sees bob away at once (no time, as for anyone offline).
    let p = next_event(&mut alice_events, "PRESENCE").await;
    assert_eq!(
        (p["user"].as_str(), p["online"].as_bool()),
        (Some("bob"), Some(false)),
        "{p}"
    );
    assert_eq!(p["lastSeenAt"], Value::Null);
    assert_eq!(block(&s, "bob", "alice").await.0, 204, "again is no error");
    assert_eq!(blocked_users(&s, "bob").await, json!(["alice"]));
    // The blocked user learns only the `blocked` code: not who blocks whom.
    assert_eq!(blocked_users(&s, "alice").await, json!([]));

    let f = send_refused(&mut alice, &room, "왜 답이 없으세요?", "a1").await;
    assert_eq!(f.header("code"), Some("blocked"), "{f:?}");
    assert!(
        !f.text().contains("bob"),
        "the refusal names nobody: {}",
        f.text()
    );
    let f = send_refused(&mut bob, &room, "차단했어요", "b1").await;
    assert_eq!(f.header("code"), Some("blocked"), "{f:?}");

    // Neither can open (or reopen) a room with the other, about anything.
    for (a, b) in [("alice", "bob"), ("bob", "alice")] {
        let (status, v) = s
            .api(a)
            .post(&format!(
                "/room/create?user={b}&name=%EB%8B%A4%EB%A5%B8%EB%AC%BC%EA%B1%B4"
            ))
            .await;
        assert_eq!((status, v["error"].as_str()), (403, Some("blocked")), "{v}");
    }
    // A photo cannot be uploaded to send there.
    let (status, v) = common::upload_photo(s.port, "alice", &room, &common::jpeg(16, 16)).await;
    assert_eq!((status, v["error"].as_str()), (403, Some("blocked")), "{v}");
    // History stays readable to both: it is evidence.
    for user in ["alice", "bob"] {
        let history = s.api(user).history(&room, "").await;
        assert_eq!(history.len(), 1, "{history:?}");
    }

    // Typing stops: bob's event stream hears nothing of alice's typing.
    let mut bob_events = s.follow_events("bob").await;
    let mut alice_again = s.stomp("alice").await;
    alice_again
        .send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/typing\ncontent-type:application/json\n\n{{\"typing\":true}}\0"
        ))
        .await;
    let heard = bob_events.maybe(Duration::from_millis(700)).await;
    assert!(heard.is_none(), "typing crossed a block: {heard:?}");

    // Presence stops: bob's room presence does not show alice online.
    let (status, p) = s.api("bob").get(&format!("/room/{room}/presence")).await;
    assert_eq!(status, 200, "{p}");
    assert!(
        !p.to_string().contains("alice"),
        "presence crossed a block: {p}"
    );

    // Lifted: everything works again, presence first (bob is online).
    let (status, v) = s.api("bob").delete("/user/blocks/alice").await;
    assert_eq!((status, v), (204, Value::Null));
    let p = next_event(&mut alice_events, "PRESENCE").await;
    assert_eq!(
        (p["user"].as_str(), p["online"].as_bool()),
        (Some("bob"), Some(true)),
        "{p}"
    );
    assert_eq!(s.api("bob").delete("/user/blocks/alice").await.0, 204);
    assert_eq!(blocked_users(&s, "bob").await, json!([]));
    let mut bob = s.stomp("bob").await;
    bob.subscribe("sub-0", &room).await;
    alice_again
        .say(&room, "alice", "다시 연락드려요", "a2")
        .await;
    assert_eq!(bob.message().await["content"], "다시 연락드려요");
    let (status, _) = s.api("alice").post("/room/create?user=bob&name=x").await;
    assert!(status == 200 || status == 201, "{status}");
}

#[tokio::test]
async fn bad_blocks_are_refused_and_store_nothing() {
    let s = TestServer::start().await;
    s.api("alice").open_room("bob", "자전거").await;
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"user": "alice"}), 400, "self_block"),
        (json!({"user": "a b"}), 400, "invalid_user"),
        (json!({"user": "x".repeat(129)}), 400, "invalid_user"),
        (json!({"user": 7}), 400, "invalid_user"),
        (json!({}), 400, "invalid_user"),
        (json!(["bob"]), 400, "invalid_body"),
        (json!({"user": "nobody-ever"}), 404, "user_not_found"),
    ];
    for (body, status, code) in cases {
        let (got, v) = call(&s, "alice", "POST", "/user/blocks", body.clone()).await;
        assert_eq!(
            (got, v["error"].as_str()),
            (status, Some(code)),
            "{body}: {v}"
        );
    }
    let (status, v) = s
        .api("alice")
        .call("POST", "/user/blocks", Some(b"not json".to_vec()))
        .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_body")));
    let (status, v) = s.api("alice").delete("/user/blocks/a%20b").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_user")),
        "{v}"
    );
    let (status, _) = s.anonymous().get("/user/blocks").await;
    assert_eq!(status, 401);
    assert_eq!(
        blocked_users(&s, "alice").await,
        json!([]),
        "nothing stored"
    );
}

#[tokio::test]
async fn reports_are_for_members_and_operators_page_through_them() {
    let s = TestServer::start_with(|st| st.safety.admin_token = Some(ADMIN.into())).await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "아이폰").await;
    say(
        &mut bob,
        &room,
        "bob",
        "카톡 아이디 abc123 으로 연락주세요",
        "r1",
    )
    .await;
    let reported = alice.message().await["id"].as_i64().unwrap();

    let report = json!({"roomUUID": room, "messageId": reported, "reason": "SCAM", "detail": "카톡으로 유도해요"});
    let (status, v) = call(&s, "alice", "POST", "/report", report.clone()).await;
    assert_eq!(status, 202, "{v}");
    let first = v["id"].as_i64().unwrap();

    // Refusals: nothing stored.
    let long = "가".repeat(1001);
    let bad: Vec<(&str, Value, u16, &str)> = vec![
        ("mallory", report.clone(), 403, "not_a_member"),
        (
            "alice",
            json!({"roomUUID": "0b8e0000-0000-4000-8000-000000000000", "reason": "SCAM"}),
            404,
            "room_not_found",
        ),
        (
            "alice",
            json!({"roomUUID": room, "reason": "RUDE"}),
            400,
            "invalid_reason",
        ),
        ("alice", json!({"roomUUID": room}), 400, "invalid_reason"),
        (
            "alice",
            json!({"roomUUID": "nope", "reason": "SCAM"}),
            400,
            "invalid_room",
        ),
        (
            "alice",
            json!({"roomUUID": room, "reason": "SCAM", "messageId": 0}),
            400,
            "invalid_message_id",
        ),
        (
            "alice",
            json!({"roomUUID": room, "reason": "SCAM", "messageId": reported + 1000}),
            400,
            "invalid_message_id",
        ),
        (
            "alice",
            json!({"roomUUID": room, "reason": "SCAM", "detail": long}),
            413,
            "detail_too_long",
        ),
        (
            "alice",
            json!({"roomUUID": room, "reason": "SCAM", "detail": 5}),
            400,
            "invalid_detail",
        ),
    ];
    for (user, body, status, code) in bad {
        let (got, v) = call(&s, user, "POST", "/report", body.clone()).await;
        assert_eq!(
            (got, v["error"].as_str()),
            (status, Some(code)),
            "{body}: {v}"
        );
    }

    // The admin API: without, with a wrong, with the right token.
    let (status, v) = s.anonymous().get("/admin/reports").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
    let (status, _) = s
        .anonymous()
        .with_bearer("wrong-token-0123456789")
        .get("/admin/reports")
        .await;
    assert_eq!(status, 401);
    let (status, _) = s.api("alice").get("/admin/reports").await;
    assert_eq!(status, 401, "a user's identity is not the operators' token");
    let admin = s.anonymous().with_bearer(ADMIN);
    for bad in ["?limit=0", "?limit=51", "?before=0", "?before=x"] {
        let (status, v) = admin.get(&format!("/admin/reports{bad}")).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }

    // A second report, then the room is deleted: the evidence stays.
    let (status, v) = call(
        &s,
        "bob",
        "POST",
        "/report",
        json!({"roomUUID": room, "reason": "ABUSE"}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let second = v["id"].as_i64().unwrap();
    assert_eq!(
        s.api("alice")
            .delete(&format!("/room/delete/{room}"))
            .await
            .0,
        204
    );
    assert_eq!(
        s.api("bob").delete(&format!("/room/delete/{room}")).await.0,
        204
    );

    let (status, page) = admin.get("/admin/reports?limit=1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["reports"].as_array().unwrap().len(), 1);
    assert_eq!(page["reports"][0]["id"], second);
    assert_eq!(page["reports"][0]["reason"], "ABUSE");
    assert_eq!(page["reports"][0]["detail"], Value::Null);
    assert_eq!(page["next"], second);
    let (_, older) = admin
        .get(&format!("/admin/reports?before={second}&limit=1"))
        .await;
    let kept = &older["reports"][0];
    assert_eq!(kept["id"], first);
    assert_eq!(kept["roomUUID"], room.as_str());
    assert_eq!(kept["reporter"], "alice");
    assert_eq!(kept["reason"], "SCAM");
    assert_eq!(kept["messageId"], reported);
    assert_eq!(kept["detail"], "카톡으로 유도해요");
    assert!(kept["createdAt"].is_string());
    let messages = kept["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{kept}");
    assert_eq!(messages[0]["content"], "카톡 아이디 abc123 으로 연락주세요");
    assert_eq!(messages[0]["warnings"], json!(["MESSENGER"]));
    assert_eq!(older["next"], Value::Null);
}

#[tokio::test]
async fn without_an_admin_token_the_operators_api_is_off() {
    let s = TestServer::start().await;
    let (status, v) = s.anonymous().with_bearer(ADMIN).get("/admin/reports").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (401, Some("unauthorized")),
        "{v}"
    );
}

#[tokio::test]
async fn risky_messages_carry_warnings_to_the_recipient_and_in_history() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "맥북").await;
    let own = say(
        &mut bob,
        &room,
        "bob",
        "공일공 일이삼사 오육칠팔 로 문자 주세요",
        "r1",
    )
    .await;
    let m = alice.message().await;
    assert_eq!(m["warnings"], json!(["PHONE_NUMBER", "MESSENGER"]), "{m}");
    assert_eq!(
        own["warnings"], m["warnings"],
        "the sender's copy is the same message"
    );
    assert_eq!(
        m["content"], "공일공 일이삼사 오육칠팔 로 문자 주세요",
        "not masked by default"
    );
    let text = "15만원에 가능해요. 12/7 오후 3시 강남역 11번 출구 어떠세요?";
    say(&mut bob, &room, "bob", text, "r2").await;
    let honest = alice.message().await;
    assert!(honest.get("warnings").is_none(), "{honest}");
    let history = s.api("alice").history(&room, "").await;
    assert_eq!(history[0]["warnings"], json!(["PHONE_NUMBER", "MESSENGER"]));
    assert!(history[1].get("warnings").is_none());
    let (_, list) = s.api("alice").get("/room/list").await;
    assert!(list[0]["lastMessage"].get("warnings").is_none(), "{list}");
}

#[tokio::test]
async fn masking_and_the_operators_rules() {
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), "[messenger]\npatterns = ['디스코드']\n").unwrap();
    let text = std::fs::read_to_string(rules.path()).unwrap();
    let s = TestServer::start_with(|st| {
        st.safety.mask = true;
        st.safety.extra_rules = Some(text);
    })
    .await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "그래픽카드").await;
    say(
        &mut bob,
        &room,
        "bob",
        "국민 123456-01-123456 로 먼저 입금해주세요",
        "r1",
    )
    .await;
    let m = alice.message().await;
    assert_eq!(m["content"], "국민 ●●●●●●-●●-●●●●●● 로 먼저 입금해주세요");
    assert_eq!(m["warnings"], json!(["BANK_ACCOUNT", "PREPAYMENT"]));
    let history = s.api("bob").history(&room, "").await;
    assert_eq!(history[0]["content"], m["content"], "masked before storage");
    say(&mut bob, &room, "bob", "디스코드로 와요", "r2").await;
    assert_eq!(alice.message().await["warnings"], json!(["MESSENGER"]));
}

#[tokio::test]
async fn over_a_rate_limit_rest_says_retry_after_and_stomp_closes() {
    let s = TestServer::start_with(|st| {
        st.safety.limits =
            LimitSettings::parse("messages=1/m:3,rooms=1/m:2,reports=1/h:1,requests=1/m:40")
                .unwrap();
    })
    .await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "책").await;
    for n in 0..3 {
        say(
            &mut alice,
            &room,
            "alice",
            &format!("메시지 {n}"),
            &format!("r{n}"),
        )
        .await;
    }
    let f = send_refused(&mut alice, &room, "네 번째", "r3").await;
    assert_eq!(f.header("code"), Some("rate_limited"), "{f:?}");

    // Rooms: the pair opened one; one more, then 429 with Retry-After.
    let (status, _) = s.api("alice").post("/room/create?user=carol&name=a").await;
    assert_eq!(status, 201);
    let r = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{}/room/create?user=dave&name=b",
            s.port
        ))
        .header("X-Auth-User", "alice")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "rate_limited");
    // Another user has a bucket of their own.
    assert_eq!(
        s.api("carol").post("/room/create?user=dave&name=c").await.0,
        201
    );

    let report = json!({"roomUUID": room, "reason": "SPAM"});
    assert_eq!(
        call(&s, "alice", "POST", "/report", report.clone()).await.0,
        202
    );
    let (status, v) = call(&s, "alice", "POST", "/report", report).await;
    assert_eq!((status, v["error"].as_str()), (429, Some("rate_limited")));

    // The address's REST calls: probes are never limited, the rest run out.
    let mut limited = false;
    for _ in 0..60 {
        let (status, _) = s.api("erin").get("/room/list").await;
        if status == 429 {
            limited = true;
            break;
        }
        assert_eq!(status, 200);
    }
    assert!(limited, "40 calls a minute from one address");
    assert_eq!(s.anonymous().get("/health").await.0, 200);
}

/// Two nodes on one Redis share each user's buckets of the cluster-wide kinds: a user cannot
/// double their room creations by reaching two nodes through the load balancer.
#[tokio::test]
async fn the_cluster_wide_limits_are_shared_by_every_node() {
    let keys = chat_presence_redis::testing::TestPrefix::create().unwrap_or_else(|e| panic!("{e}"));
    let setup = |st: &mut reuse_chat::config::Settings| {
        st.presence = reuse_chat::config::PresenceSetting::Redis {
            url: keys.url().to_owned(),
            prefix: keys.prefix().to_owned(),
        };
        st.safety.limits = LimitSettings::parse("rooms=1/m:2").unwrap();
    };
    let a = TestServer::start_with(setup).await;
    let b = a.restart(setup).await;
    assert_eq!(
        a.api("alice").post("/room/create?user=bob&name=a").await.0,
        201
    );
    assert_eq!(
        b.api("alice").post("/room/create?user=bob&name=b").await.0,
        201
    );
    for node in [&a, &b] {
        let (status, v) = node.api("alice").post("/room/create?user=bob&name=c").await;
        assert_eq!(
            (status, v["error"].as_str()),
            (429, Some("rate_limited")),
            "{v}"
        );
    }
    assert_eq!(
        b.api("carol").post("/room/create?user=bob&name=d").await.0,
        201
    );
}
