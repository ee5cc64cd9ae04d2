//! Search (API-v2 "Search") against the real server over REST: Korean words, 초성, notices and
//! photo captions found at once after their receipt; the caller's current rooms only (a
//! left room gone from the leaver's results, a blocked user's messages kept for the blocker);
//! pages that neither repeat nor skip; every kind of bad input a clear 4xx. Run on every
//! database by scripts/test.sh (`REUSE_CHAT_TEST_BACKEND`).

mod common;

use common::{enc, jpeg, pair, upload_photo, Stomp, TestServer};
use serde_json::{json, Value};

const SERVICE: &str = "marketplace-service-0123456789";

/// `user`'s search for `query` (already a query string: `q=…&…`).
async fn search(s: &TestServer, user: &str, query: &str) -> (u16, Value) {
    s.api(user).get(&format!("/search?{query}")).await
}

/// The contents of `user`'s hits for `q`, newest first (one page of 50).
async fn found(s: &TestServer, user: &str, q: &str) -> Vec<String> {
    let (status, page) = search(s, user, &format!("q={}&limit=50", enc(q))).await;
    assert_eq!(status, 200, "{q}: {page}");
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

async fn say(c: &mut Stomp, room: &str, user: &str, text: &str) {
    c.say(room, user, text, &format!("r-{}", text.len() ^ room.len()))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn korean_words_initials_notices_and_captions_are_found_at_once() {
    let s = TestServer::start_with(|s| s.notify.service_token = Some(SERVICE.into())).await;
    let (status, room) = s
        .api("alice")
        .post("/room/create?user=bob&name=bike&productId=p-search")
        .await;
    assert!(status == 201 || status == 200, "{room}");
    let room = room["roomUUID"].as_str().unwrap().to_owned();
    let mut alice = s.stomp("alice").await;
    alice.subscribe("s", &room).await;
    // Each is searched for right after its receipt: a receipt means stored, and stored means
    // findable.
    say(
        &mut alice,
        &room,
        "alice",
        "택배거래 가능한가요? 자전거는 아직 있나요",
    )
    .await;
    assert_eq!(found(&s, "bob", "택배").await.len(), 1);
    assert_eq!(found(&s, "bob", "ㅌㅂ").await.len(), 1);
    assert_eq!(found(&s, "bob", "자전거").await.len(), 1);
    assert_eq!(found(&s, "bob", "자전거 택배").await.len(), 1);
    assert!(found(&s, "bob", "자전거 직거래").await.is_empty());

    // A photo's caption.
    let (status, up) = upload_photo(s.port, "bob", &room, &jpeg(64, 48)).await;
    assert_eq!(status, 201, "{up}");
    let mut bob = s.stomp("bob").await;
    let body = json!({"roomUUID": room, "content": "기스 부분이에요", "attachments": [up["id"]]});
    bob.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:p\n\n{body}\0"
    ))
    .await;
    assert_eq!(bob.recv().await.command, "RECEIPT");
    let (_, page) = search(&s, "alice", &format!("q={}", enc("기스"))).await;
    let hit = &page["messages"][0];
    assert_eq!(hit["type"], "IMAGE", "{page}");
    assert!(
        hit["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .contains("exp="),
        "a hit's photo has a working link: {hit}"
    );

    // The marketplace's status notice.
    let (status, v) = s
        .anonymous()
        .with_bearer(SERVICE)
        .call(
            "PUT",
            "/product/p-search/status",
            Some(json!({"status": "RESERVED"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    let (_, page) = search(&s, "alice", &format!("q={}", enc("예약"))).await;
    assert_eq!(page["messages"][0]["notice"], "PRODUCT_STATUS", "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_current_rooms_are_searched_and_blocked_users_stay_findable() {
    let s = TestServer::start().await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "의자").await;
    let carol_room = s.api("carol").open_room("bob", "책상").await;
    let mut carol = s.stomp("carol").await;
    say(&mut alice, &room, "alice", "강남역 3시 어떠세요").await;
    say(&mut carol, &carol_room, "carol", "강남역 말고 역삼역이요").await;
    assert_eq!(found(&s, "bob", "강남역").await.len(), 2);
    assert_eq!(found(&s, "alice", "강남역").await, ["강남역 3시 어떠세요"]);
    assert!(found(&s, "dave", "강남역").await.is_empty());

    // Named rooms: members only.
    let (status, v) = search(&s, "carol", &format!("q=abcd&roomUUID={room}")).await;
    assert_eq!((status, v["error"].as_str()), (403, Some("not_a_member")));
    let unknown = "5b0f3c1e-0000-4000-8000-000000000000";
    let (status, v) = search(&s, "carol", &format!("q=abcd&roomUUID={unknown}")).await;
    assert_eq!((status, v["error"].as_str()), (404, Some("room_not_found")));
    let (status, v) = search(&s, "bob", &format!("q={}&roomUUID={room}", enc("강남역"))).await;
    assert_eq!((status, v["messages"].as_array().unwrap().len()), (200, 1));

    // A block keeps the evidence findable for the blocker.
    let (status, _) = s
        .api("bob")
        .call(
            "POST",
            "/user/blocks",
            Some(json!({"user": "carol"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(found(&s, "bob", "역삼역").await, ["강남역 말고 역삼역이요"]);

    // A room left is gone from the leaver's results, not from the other member's.
    let (status, _) = s.api("alice").delete(&format!("/room/delete/{room}")).await;
    assert!(status < 300, "{status}");
    assert!(found(&s, "alice", "강남역").await.is_empty());
    let bobs = found(&s, "bob", "강남역").await;
    assert!(bobs.contains(&"강남역 3시 어떠세요".to_owned()), "{bobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_next_without_repeats_or_gaps() {
    let s = TestServer::start().await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "의자").await;
    for i in 0..23 {
        let text = if i % 2 == 0 {
            format!("택배 {i}")
        } else {
            format!("직거래 {i}")
        };
        alice.say(&room, "alice", &text, &format!("m{i}")).await;
    }
    let mut seen: Vec<i64> = Vec::new();
    let mut before: Option<i64> = None;
    loop {
        let cursor = before.map(|b| format!("&before={b}")).unwrap_or_default();
        let (status, page) = search(&s, "bob", &format!("q={}&limit=5{cursor}", enc("택배"))).await;
        assert_eq!(status, 200, "{page}");
        let ids: Vec<i64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
        seen.extend(&ids);
        match page["next"].as_i64() {
            Some(next) => {
                assert_eq!(Some(&next), ids.last(), "next is the last hit's id");
                before = Some(next);
            }
            None => break,
        }
    }
    let all: Vec<i64> = s
        .api("bob")
        .history(&room, "?limit=200")
        .await
        .iter()
        .filter(|m| m["content"].as_str().unwrap().starts_with("택배"))
        .map(|m| m["id"].as_i64().unwrap())
        .rev()
        .collect();
    assert_eq!(seen, all);
    assert_eq!(seen.len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_and_never_another_users_message() {
    let s = TestServer::start().await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "의자").await;
    say(&mut alice, &room, "alice", "100% 정품 a_b 모델 ㅋㅋ").await;
    let long = "ab".repeat(500);
    let many = (0..9)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let bad: [(&str, String, &str); 16] = [
        ("no q", "limit=5".into(), "invalid_query"),
        ("empty", "q=".into(), "invalid_query"),
        ("spaces", format!("q={}", enc("   ")), "invalid_query"),
        ("one syllable", format!("q={}", enc("가")), "invalid_query"),
        ("one letter", "q=a".into(), "invalid_query"),
        ("one initial", format!("q={}", enc("ㅌ")), "invalid_query"),
        (
            "1,000 characters",
            format!("q={}", enc(&long)),
            "invalid_query",
        ),
        ("nine words", format!("q={}", enc(&many)), "invalid_query"),
        ("limit 0", "q=ab&limit=0".into(), "invalid_limit"),
        ("limit 51", "q=ab&limit=51".into(), "invalid_limit"),
        ("limit text", "q=ab&limit=many".into(), "invalid_limit"),
        ("limit negative", "q=ab&limit=-1".into(), "invalid_limit"),
        ("cursor 0", "q=ab&before=0".into(), "invalid_cursor"),
        ("cursor text", "q=ab&before=x".into(), "invalid_cursor"),
        (
            "cursor huge",
            "q=ab&before=99999999999999999999999".into(),
            "invalid_cursor",
        ),
        (
            "room id",
            "q=ab&roomUUID=not-a-room".into(),
            "invalid_room_id",
        ),
    ];
    for (what, query, code) in bad {
        let (status, v) = search(&s, "bob", &query).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{what}: {v}"
        );
        assert!(
            v["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
    }
    // 1,000 syllables encoded pass the request line's limit before search sees them.
    let (status, v) = search(&s, "bob", &format!("q={}", enc(&"가".repeat(1000)))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (414, Some("uri_too_long")),
        "{v}"
    );
    let (status, v) = search(&s, "bob", &format!("q={}", enc(&"가".repeat(101)))).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_query")),
        "{v}"
    );
    let (status, _) = s.anonymous().get("/search?q=ab").await;
    assert_eq!(status, 401);
    // Only 초성, metacharacters and jamo: answers, literal.
    assert_eq!(found(&s, "bob", "ㅈㅍ").await.len(), 1);
    assert_eq!(found(&s, "bob", "100%").await.len(), 1);
    assert!(found(&s, "bob", "10%").await.is_empty());
    assert_eq!(found(&s, "bob", "a_b").await.len(), 1);
    assert!(found(&s, "bob", "%%").await.is_empty());
    assert!(found(&s, "bob", "a%b").await.is_empty());
    assert!(found(&s, "bob", "'; DROP TABLE messages; --")
        .await
        .is_empty());
    assert_eq!(found(&s, "bob", "ㅋㅋ").await.len(), 1);
    // A stranger's search with the same words finds nothing.
    assert!(found(&s, "mallory", "정품").await.is_empty());
    assert!(found(&s, "mallory", "ㅈㅍ").await.is_empty());
}
