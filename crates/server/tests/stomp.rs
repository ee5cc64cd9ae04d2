//! The STOMP rows of API.md and the STOMP 1.0–1.2 framing rules, over real WebSockets.

mod common;

use std::time::Duration;

use common::{pair, Stomp, TestServer};
use serde_json::json;

const SHORT: Duration = Duration::from_millis(300);

#[tokio::test]
async fn send_with_receipt_reaches_every_subscriber_once_with_the_contract_shape() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    alice
        .send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:r-1\n\n{}\0",
            json!({"roomUUID": room, "sender": "alice", "content": "안녕하세요, 아직 판매중인가요?", "clientMessageId": "c-17"})
        ))
        .await;
    // The sender's own MESSAGE comes no later than its RECEIPT.
    let own = alice.recv().await;
    assert_eq!(own.command, "MESSAGE");
    let receipt = alice.recv().await;
    assert_eq!(receipt.command, "RECEIPT");
    assert_eq!(receipt.header("receipt-id"), Some("r-1"));

    let f = bob.recv().await;
    assert_eq!(f.command, "MESSAGE");
    assert_eq!(
        f.header("destination"),
        Some(format!("/sub/chat/room/{room}").as_str())
    );
    assert_eq!(f.header("subscription"), Some("sub-0"));
    assert_eq!(f.header("content-type"), Some("application/json"));
    let m = f.json();
    assert_eq!(f.header("message-id"), Some(m["id"].to_string().as_str()));
    assert_eq!(m["roomUUID"], json!(room));
    assert_eq!(m["sender"], "alice");
    assert_eq!(m["content"], "안녕하세요, 아직 판매중인가요?");
    assert_eq!(m["type"], "TEXT");
    assert_eq!(m["clientMessageId"], "c-17");
    let created = m["createdAt"].as_str().unwrap();
    assert_eq!(created.len(), "2026-11-24T05:48:17.123Z".len(), "{created}");
    assert!(created.ends_with('Z'));
    assert_eq!(own.json(), m);
    // Nothing else arrives: exactly once.
    assert!(bob.maybe(SHORT).await.is_none());
    // And it is in the history.
    let h = s.api("bob").history(&room, "").await;
    assert_eq!(h, vec![m]);
}

#[tokio::test]
async fn ids_increase_and_every_reader_sees_one_order() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    // Both send pipelined, without waiting for receipts.
    for i in 0..20 {
        alice
            .send_raw(format!(
                "SEND\ndestination:/pub/room/{room}/message\n\n{}\0",
                json!({"content": format!("a{i}")})
            ))
            .await;
        bob.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\n\n{}\0",
            json!({"content": format!("b{i}")})
        ))
        .await;
    }
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..40 {
        seen_a.push(alice.message().await);
        seen_b.push(bob.message().await);
    }
    assert_eq!(seen_a, seen_b, "both readers see the same order");
    let ids: Vec<i64> = seen_a.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: {ids:?}"
    );
    // Each sender's messages keep the order they were sent in.
    let a: Vec<&str> = seen_a
        .iter()
        .filter(|m| m["sender"] == "alice")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(a, (0..20).map(|i| format!("a{i}")).collect::<Vec<_>>());
    assert_eq!(s.api("alice").history(&room, "?limit=200").await, seen_a);
}

#[tokio::test]
async fn a_repeated_client_message_id_is_stored_and_broadcast_once() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    let frame = |receipt: &str, content: &str| {
        format!(
            "SEND\ndestination:/pub/room/{room}/message\nreceipt:{receipt}\n\n{}\0",
            json!({"content": content, "clientMessageId": "same-key"})
        )
    };
    alice.send_raw(frame("r1", "once")).await;
    let own = alice.message().await;
    assert_eq!(alice.recv().await.header("receipt-id"), Some("r1"));
    // The retry (even with other content) is answered with a receipt and stores nothing.
    alice.send_raw(frame("r2", "twice")).await;
    let f = alice.recv().await;
    assert_eq!(
        (f.command.as_str(), f.header("receipt-id")),
        ("RECEIPT", Some("r2"))
    );
    assert_eq!(bob.message().await, own);
    assert!(bob.maybe(SHORT).await.is_none(), "no second broadcast");
    let h = s.api("bob").history(&room, "").await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["content"], "once");
    // Bob may use the same key: keys are per sender.
    bob.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\n\n{}\0",
        json!({"content": "bob's", "clientMessageId": "same-key"})
    ))
    .await;
    assert_eq!(bob.message().await["content"], "bob's");
}

#[tokio::test]
async fn only_members_subscribe_and_send() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut m = s.stomp("mallory").await;
    m.send_raw(format!(
        "SUBSCRIBE\nid:0\ndestination:/sub/chat/room/{room}\nreceipt:x\n\n\0"
    ))
    .await;
    let e = m.expect_error().await;
    assert_eq!(e.header("message"), Some("not a member of this room"));
    assert_eq!(e.header("receipt-id"), Some("x"));

    let mut m = s.stomp("mallory").await;
    m.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\nreceipt:y\n\n{}\0",
        json!({"content": "spam"})
    ))
    .await;
    let e = m.expect_error().await;
    assert_eq!(e.header("message"), Some("not a member of this room"));
    assert_eq!(e.header("receipt-id"), Some("y"));
    assert!(
        s.api("alice").history(&room, "").await.is_empty(),
        "nothing stored"
    );

    let mut m = s.stomp("mallory").await;
    m.send_raw(format!(
        "SUBSCRIBE\nid:0\ndestination:/sub/chat/room/{}\n\n\0",
        uuid::Uuid::new_v4()
    ))
    .await;
    assert_eq!(
        m.expect_error().await.header("message"),
        Some("unknown room")
    );
}

#[tokio::test]
async fn bad_send_bodies_get_an_error_with_the_receipt_id() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let other = s.api("alice").open_room("carol", "bike").await;
    let cases = [
        (
            json!({"sender": "bob", "content": "impersonation"}).to_string(),
            "the body's sender is not the authenticated user",
        ),
        (
            json!({"roomUUID": other, "content": "wrong room"}).to_string(),
            "the body's roomUUID differs from the destination's",
        ),
        (
            json!({"content": "  "}).to_string(),
            "the message content must be a non-empty string",
        ),
        (
            json!({"content": "가".repeat(4001)}).to_string(),
            "content exceeds the limit of 4000 characters",
        ),
        (
            "not json".to_owned(),
            "the body must be a JSON object {\"roomUUID\", \"sender\", \"content\"}",
        ),
    ];
    for (body, message) in cases {
        let mut c = s.stomp("alice").await;
        c.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\nreceipt:bad\n\n{body}\0"
        ))
        .await;
        let e = c.expect_error().await;
        assert_eq!(e.header("message"), Some(message), "{body}");
        assert_eq!(e.header("receipt-id"), Some("bad"));
        assert!(!e.text().is_empty());
    }
    for dest in ["/pub/room/nope/message", "/topic/x", ""] {
        let mut c = s.stomp("alice").await;
        c.send_raw(format!(
            "SEND\ndestination:{dest}\n\n{{\"content\":\"x\"}}\0"
        ))
        .await;
        assert_eq!(
            c.expect_error().await.header("message"),
            Some("unknown destination")
        );
    }
    assert!(
        s.api("alice").history(&room, "").await.is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn version_negotiation() {
    let s = TestServer::start().await;
    for (accept, expected) in [
        ("1.0,1.1,1.2", "1.2"),
        ("1.1", "1.1"),
        ("1.0,1.1", "1.1"),
        ("1.0", "1.0"),
    ] {
        let mut c = Stomp::open(s.port).await;
        c.send_raw(format!(
            "CONNECT\naccept-version:{accept}\nhost:x\nX-Auth-User:alice\n\n\0"
        ))
        .await;
        let f = c.recv().await;
        assert_eq!(f.command, "CONNECTED");
        assert_eq!(f.header("version"), Some(expected), "{accept}");
        assert!(f.header("session").is_some());
        assert!(f.header("server").unwrap().starts_with("reuse-chat/"));
    }
    // No accept-version: STOMP 1.0; the STOMP command works too.
    let mut c = Stomp::open(s.port).await;
    c.send_raw("CONNECT\nX-Auth-User:alice\n\n\0").await;
    assert_eq!(c.recv().await.header("version"), Some("1.0"));
    let mut c = Stomp::open(s.port).await;
    c.send_raw("STOMP\naccept-version:1.2\nhost:x\nX-Auth-User:alice\n\n\0")
        .await;
    assert_eq!(c.recv().await.header("version"), Some("1.2"));
    // Nothing in common.
    let mut c = Stomp::open(s.port).await;
    c.send_raw("CONNECT\naccept-version:2.0\nhost:x\nX-Auth-User:alice\n\n\0")
        .await;
    assert_eq!(
        c.expect_error().await.header("message"),
        Some("unsupported protocol version")
    );
}

#[tokio::test]
async fn connect_errors_close_the_connection() {
    let s = TestServer::start().await;
    let cases = [
        (
            "CONNECT\naccept-version:1.2\nhost:x\n\n\0",
            "authentication failed",
        ),
        (
            "CONNECT\naccept-version:1.2\nhost:x\nX-Auth-User:bad user\n\n\0",
            "authentication failed",
        ),
        ("SEND\ndestination:/x\n\n\0", "expected CONNECT"),
        (
            "CONNECT\naccept-version:1.2\nX-Auth-User:a\nheart-beat:x\n\n\0",
            "invalid heart-beat",
        ),
        ("HELLO\n\n\0", "unknown command: HELLO"),
    ];
    for (frame, message) in cases {
        let mut c = Stomp::open(s.port).await;
        c.send_raw(frame).await;
        let e = c.expect_error().await;
        assert_eq!(
            e.header("message").map(|m| m.to_lowercase()),
            Some(message.to_lowercase()),
            "{frame:?}"
        );
    }
    // A second CONNECT is an error.
    let mut c = s.stomp("alice").await;
    c.send_raw("CONNECT\naccept-version:1.2\nhost:x\nX-Auth-User:alice\n\n\0")
        .await;
    assert_eq!(
        c.expect_error().await.header("message"),
        Some("already connected")
    );
}

#[tokio::test]
async fn frames_may_be_batched_split_and_padded_with_heartbeats() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut c = Stomp::open(s.port).await;
    let body = |n: i32| json!({"content": format!("m{n}")}).to_string();
    // CONNECT, SUBSCRIBE and two SENDs in ONE WebSocket message, with EOLs between frames.
    c.send_raw(format!(
        "CONNECT\naccept-version:1.2\nhost:x\nX-Auth-User:alice\n\n\0\n\
         SUBSCRIBE\nid:s1\ndestination:/sub/chat/room/{room}\n\n\0\r\n\
         SEND\ndestination:/pub/room/{room}/message\n\n{}\0\
         SEND\ndestination:/pub/room/{room}/message\nreceipt:two\n\n{}\0\n\n",
        body(1),
        body(2)
    ))
    .await;
    assert_eq!(c.recv().await.command, "CONNECTED");
    assert_eq!(c.message().await["content"], "m1");
    assert_eq!(c.message().await["content"], "m2");
    assert_eq!(c.recv().await.header("receipt-id"), Some("two"));
    // One frame split across many WebSocket messages, byte by byte at the start.
    let frame = format!(
        "SEND\r\ndestination:/pub/room/{room}/message\r\nreceipt:split\r\n\r\n{}\0",
        body(3)
    );
    let bytes = frame.as_bytes();
    for b in &bytes[..20] {
        c.send_raw(vec![*b]).await;
    }
    c.send_raw(bytes[20..40].to_vec()).await;
    c.send_raw(bytes[40..].to_vec()).await;
    assert_eq!(c.message().await["content"], "m3");
    assert_eq!(c.recv().await.header("receipt-id"), Some("split"));
    // content-length frames: the body is exactly that many bytes.
    let b = body(4);
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-length:{}\nreceipt:cl\n\n{b}\0",
        b.len()
    ))
    .await;
    assert_eq!(c.message().await["content"], "m4");
    assert_eq!(c.recv().await.header("receipt-id"), Some("cl"));
    // A wrong content-length is a framing error.
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-length:3\n\n{b}\0"
    ))
    .await;
    let e = c.expect_error().await;
    assert!(e.header("message").unwrap().contains("NUL"), "{e:?}");
}

#[tokio::test]
async fn header_escaping_round_trips_in_subscription_ids() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut c = s.stomp("alice").await;
    // id "a:b\nc\\d" escaped as STOMP 1.2 says.
    c.send_raw(format!(
        "SUBSCRIBE\nid:a\\cb\\nc\\\\d\ndestination:/sub/chat/room/{room}\nreceipt:s\n\n\0"
    ))
    .await;
    assert_eq!(c.recv().await.command, "RECEIPT");
    c.say(&room, "alice", "x", "r")
        .await
        .into_iter()
        .for_each(|f| {
            assert_eq!(f.header("subscription"), Some("a:b\nc\\d"));
        });
    // An undefined escape is a fatal error in 1.2.
    c.send_raw("ACK\nid:\\t\n\n\0").await;
    let e = c.expect_error().await;
    assert!(
        e.header("message")
            .unwrap()
            .to_lowercase()
            .contains("escape"),
        "{e:?}"
    );
}

#[tokio::test]
async fn receipts_for_every_client_frame_and_disconnect() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let mut c = s.stomp("alice").await;
    c.subscribe("s1", &room).await;
    for frame in [
        "ACK\nid:1\nreceipt:ack\n\n\0".to_owned(),
        "NACK\nid:1\nreceipt:nack\n\n\0".to_owned(),
        "UNSUBSCRIBE\nid:s1\nreceipt:unsub\n\n\0".to_owned(),
        "UNSUBSCRIBE\nid:never\nreceipt:unsub2\n\n\0".to_owned(),
        "BEGIN\ntransaction:t1\nreceipt:begin\n\n\0".to_owned(),
        "ABORT\ntransaction:t1\nreceipt:abort\n\n\0".to_owned(),
    ] {
        c.send_raw(frame.clone()).await;
        let f = c.recv().await;
        assert_eq!(f.command, "RECEIPT", "{frame:?}");
        let expected = frame
            .split("receipt:")
            .nth(1)
            .unwrap()
            .split('\n')
            .next()
            .unwrap();
        assert_eq!(f.header("receipt-id"), Some(expected));
    }
    // Unsubscribed: no more messages.
    let before_receipt = c.say(&room, "alice", "after unsubscribe", "r").await;
    assert!(
        before_receipt.is_empty(),
        "unexpected frames after UNSUBSCRIBE: {before_receipt:?}"
    );
    c.send_raw("DISCONNECT\nreceipt:bye\n\n\0").await;
    let f = c.recv().await;
    assert_eq!(
        (f.command.as_str(), f.header("receipt-id")),
        ("RECEIPT", Some("bye"))
    );
    assert!(c.expect_closed().await.is_empty());
}

#[tokio::test]
async fn transactions_store_on_commit_and_discard_on_abort() {
    let s = TestServer::start().await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    let send = |tx: &str, content: &str| {
        format!(
            "SEND\ndestination:/pub/room/{room}/message\ntransaction:{tx}\n\n{}\0",
            json!({"content": content})
        )
    };
    alice.send_raw("BEGIN\ntransaction:t1\n\n\0").await;
    alice.send_raw(send("t1", "one")).await;
    alice.send_raw(send("t1", "two")).await;
    assert!(bob.maybe(SHORT).await.is_none(), "nothing before COMMIT");
    alice.send_raw("BEGIN\ntransaction:t2\n\n\0").await;
    alice.send_raw(send("t2", "never")).await;
    alice.send_raw("ABORT\ntransaction:t2\n\n\0").await;
    alice
        .send_raw("COMMIT\ntransaction:t1\nreceipt:c\n\n\0")
        .await;
    assert_eq!(bob.message().await["content"], "one");
    assert_eq!(bob.message().await["content"], "two");
    assert!(bob.maybe(SHORT).await.is_none());
    let h = s.api("bob").history(&room, "").await;
    assert_eq!(h.len(), 2);
    // Unknown transactions are errors.
    alice.send_raw(send("t9", "x")).await;
    // (drain alice's own copies first)
    let mut got = Vec::new();
    loop {
        let f = alice.recv().await;
        if f.command == "ERROR" {
            assert_eq!(f.header("message"), Some("unknown transaction"));
            break;
        }
        got.push(f.command);
    }
    assert!(
        got.iter().all(|c| c == "MESSAGE" || c == "RECEIPT"),
        "{got:?}"
    );
}

#[tokio::test]
async fn limits_on_frames_and_subscriptions() {
    let s = TestServer::start_with(|st| st.max_subscriptions = 2).await;
    let room = s.api("alice").open_room("bob", "bike").await;
    // A frame over 64 KiB.
    let mut c = s.stomp("alice").await;
    let big = "x".repeat(70 * 1024);
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\n\n{big}\0"
    ))
    .await;
    let e = c.expect_error().await;
    assert!(
        e.header("message").unwrap().contains("65536"),
        "names the limit: {e:?}"
    );
    // A content-length over the limit is refused before the body arrives.
    let mut c = s.stomp("alice").await;
    c.send_raw(format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-length:100000\n\n"
    ))
    .await;
    assert!(c
        .expect_error()
        .await
        .header("message")
        .unwrap()
        .contains("65536"));
    // Too many headers.
    let mut c = s.stomp("alice").await;
    let headers: String = (0..100).map(|i| format!("h{i}:v\n")).collect();
    c.send_raw(format!("SEND\ndestination:/x\n{headers}\n\0"))
        .await;
    assert!(c
        .expect_error()
        .await
        .header("message")
        .unwrap()
        .contains("header"));
    // Too many subscriptions (limit 2 here) and duplicate ids.
    let mut c = s.stomp("alice").await;
    c.subscribe("a", &room).await;
    c.send_raw(format!(
        "SUBSCRIBE\nid:a\ndestination:/sub/chat/room/{room}\n\n\0"
    ))
    .await;
    assert_eq!(
        c.expect_error().await.header("message"),
        Some("duplicate subscription id")
    );
    let mut c = s.stomp("alice").await;
    c.subscribe("a", &room).await;
    c.subscribe("b", &room).await;
    c.send_raw(format!(
        "SUBSCRIBE\nid:c\ndestination:/sub/chat/room/{room}\n\n\0"
    ))
    .await;
    let e = c.expect_error().await;
    assert_eq!(e.header("message"), Some("too many subscriptions"));
    assert!(e.text().contains('2'));
    // A WebSocket message far over the limit is refused at the WebSocket layer.
    let mut c = s.stomp("alice").await;
    c.send_raw("x".repeat(200 * 1024)).await;
    c.expect_closed().await;
    // The server is still fine.
    let mut c = s.stomp("alice").await;
    c.say(&room, "alice", "still up", "r").await;
}

#[tokio::test]
async fn heartbeats_are_sent_and_silent_clients_dropped() {
    let s = TestServer::start_with(|st| st.heartbeat = Duration::from_millis(100)).await;
    // The client offers to send every 100 ms and wants one every 100 ms, then stays silent.
    let mut c = Stomp::open(s.port).await;
    c.send_raw("CONNECT\naccept-version:1.2\nhost:x\nX-Auth-User:alice\nheart-beat:100,100\n\n\0")
        .await;
    let f = c.recv().await;
    assert_eq!(f.header("heart-beat"), Some("100,100"));
    let started = tokio::time::Instant::now();
    let rest = c.expect_closed().await;
    assert!(rest.iter().all(|f| f.command == "ERROR"), "{rest:?}");
    assert!(c.beats >= 1, "the server sent heart-beats before giving up");
    assert!(started.elapsed() < Duration::from_secs(4));

    // A client that keeps sending heart-beats stays connected.
    let mut c = Stomp::open(s.port).await;
    c.send_raw("CONNECT\naccept-version:1.2\nhost:x\nX-Auth-User:alice\nheart-beat:100,100\n\n\0")
        .await;
    assert_eq!(c.recv().await.command, "CONNECTED");
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        c.send_raw("\n").await;
    }
    assert!(c.maybe(Duration::from_millis(10)).await.is_none());
    assert!(!c.closed, "kept alive by heart-beats");
    assert!(c.beats >= 3, "server heart-beats arrive: {}", c.beats);

    // heart-beat 0,0 (or STOMP 1.0) means no heart-beats at all.
    let mut c = s.stomp("alice").await;
    assert!(c.maybe(Duration::from_millis(400)).await.is_none());
    assert_eq!(c.beats, 0);
    assert!(!c.closed);
}

#[tokio::test]
async fn a_slow_consumer_is_closed_on_purpose_and_others_are_unaffected() {
    let s = TestServer::start_with(|st| {
        st.outbound_queue = 8;
        st.write_timeout = Duration::from_millis(500);
    })
    .await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    // Bob stops reading; alice floods the room with large messages.
    let content = "가".repeat(4000);
    let n = 400;
    for i in 0..n {
        alice
            .send_raw(format!(
                "SEND\ndestination:/pub/room/{room}/message\n\n{}\0",
                json!({"content": content, "clientMessageId": format!("m{i}")})
            ))
            .await;
        // Alice reads her own copies so that she is not the slow one.
        let _ = alice.message().await;
    }
    // Bob's connection was closed by the server (possibly after an ERROR), not left to grow.
    let frames = tokio::time::timeout(Duration::from_secs(10), bob.expect_closed())
        .await
        .expect("bob's connection is closed");
    assert!(
        frames.len() < n,
        "bob did not get everything: {}",
        frames.len()
    );
    // Nothing was lost: everything is in the history for bob to resume from.
    let h = s.api("bob").history(&room, "?limit=200").await;
    assert_eq!(h.len(), 200);
    // Alice is still connected and served.
    alice.say(&room, "alice", "still here", "r").await;
}

#[tokio::test]
async fn shutdown_finishes_commits_and_says_goodbye() {
    let mut s = TestServer::start().await;
    let (room, mut alice, _bob) = pair(&s, "alice", "bob", "bike").await;
    // A burst of sends in one WebSocket message; shutdown starts as soon as the first one is
    // receipted, while the rest are being committed.
    const N: usize = 100;
    let burst: String = (0..N)
        .map(|i| {
            format!(
                "SEND\ndestination:/pub/room/{room}/message\nreceipt:r{i}\n\n{}\0",
                json!({"content": format!("burst {i}")})
            )
        })
        .collect();
    alice.send_raw(burst).await;
    let mut frames = Vec::new();
    loop {
        let f = alice.recv().await;
        let first_receipt = f.command == "RECEIPT";
        frames.push(f);
        if first_receipt {
            break;
        }
    }
    s.stop().await;
    frames.extend(alice.expect_closed().await);
    let last = frames.last().unwrap();
    assert_eq!(last.command, "ERROR", "{frames:?}");
    assert_eq!(last.header("message"), Some("server shutting down"));
    // Receipts come in order, none after the goodbye.
    let receipts: Vec<&str> = frames
        .iter()
        .filter(|f| f.command == "RECEIPT")
        .filter_map(|f| f.header("receipt-id"))
        .collect();
    let expected: Vec<String> = (0..receipts.len()).map(|i| format!("r{i}")).collect();
    assert_eq!(receipts, expected);
    // Every receipted message was stored: the restarted server has each of them.
    let s2 = s.restart(|_| {}).await;
    let h = s2.api("alice").history(&room, "?limit=200").await;
    let stored: Vec<&str> = h.iter().filter_map(|m| m["content"].as_str()).collect();
    for i in 0..receipts.len() {
        assert_eq!(stored.get(i).copied(), Some(format!("burst {i}").as_str()));
    }
}

#[tokio::test]
async fn history_survives_a_restart() {
    let mut s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "자전거").await;
    let mut c = s.stomp("alice").await;
    for i in 0..5 {
        c.say(&room, "alice", &format!("메시지 {i}"), &format!("r{i}"))
            .await;
    }
    let before = s.api("bob").history(&room, "").await;
    s.stop().await;
    let s = s.restart(|_| {}).await;
    let after = s.api("bob").history(&room, "").await;
    assert_eq!(before, after);
    assert_eq!(after.len(), 5);
    // Ids keep increasing after the restart.
    let mut c = s.stomp("alice").await;
    c.say(&room, "alice", "after restart", "r").await;
    let h = s.api("bob").history(&room, "").await;
    assert!(h[5]["id"].as_i64() > h[4]["id"].as_i64());
}

#[tokio::test]
async fn garbage_input_never_takes_the_server_down() {
    let s = TestServer::start().await;
    let room = s.api("alice").open_room("bob", "bike").await;
    let inputs: Vec<Vec<u8>> = vec![
        b"\0\0\0".to_vec(),
        vec![0xff, 0xfe, 0x00],
        b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0SEND\n\xff\xfe:x\n\n\0".to_vec(),
        b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0SEND\nno-colon\n\n\0".to_vec(),
        b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0SEND\ncontent-length:-1\n\n\0"
            .to_vec(),
        b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0MESSAGE\n\n\0".to_vec(),
        b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0COMMIT\n\n\0".to_vec(),
    ];
    for input in inputs {
        let mut c = Stomp::open(s.port).await;
        c.send_raw(input.clone()).await;
        let frames = c.expect_closed().await;
        assert_eq!(
            frames.last().map(|f| f.command.as_str()),
            Some("ERROR"),
            "{:?}: {frames:?}",
            String::from_utf8_lossy(&input)
        );
    }
    let mut c = s.stomp("alice").await;
    c.say(&room, "alice", "alive", "r").await;
}

/// What the server sent on a raw WebSocket: text payloads and the close code.
struct RawOutcome {
    texts: Vec<String>,
    close_code: Option<u16>,
}

/// Plays the attack on a raw TCP connection: the upgrade by hand, then (after a CONNECT, if
/// `connect`) either one 10 MiB text message or 160 unfinished 64 KiB fragments, written by
/// one task while another reads what the server says, as a misbehaving client would.
async fn raw_oversized(port: u16, connect: bool, fragments: bool) -> RawOutcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.write_all(
        format!(
            "GET /ws-stomp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tcp.read_u8().await.unwrap());
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    // A client frame: FIN and opcode, then the masked length (mask key 0: payload as is).
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = vec![(u8::from(fin) << 7) | opcode];
        if len < 126 {
            f.push(0x80 | len as u8);
        } else if len <= 0xffff {
            f.push(0x80 | 126);
            f.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            f.push(0x80 | 127);
            f.extend_from_slice(&(len as u64).to_be_bytes());
        }
        f.extend_from_slice(&[0, 0, 0, 0]);
        f
    }
    let (mut rd, mut wr) = tcp.into_split();
    let writer = tokio::spawn(async move {
        if connect {
            let c = b"CONNECT\naccept-version:1.2\nX-Auth-User:alice\n\n\0";
            let mut m = frame(true, 1, c.len());
            m.extend_from_slice(c);
            wr.write_all(&m).await?;
        }
        if fragments {
            let chunk = vec![b'x'; 64 << 10];
            for i in 0..160 {
                wr.write_all(&frame(false, if i == 0 { 1 } else { 0 }, chunk.len()))
                    .await?;
                wr.write_all(&chunk).await?;
            }
        } else {
            let len = 10 << 20;
            wr.write_all(&frame(true, 1, len)).await?;
            wr.write_all(&vec![b'x'; len]).await?;
        }
        Ok::<_, std::io::Error>(wr)
    });
    let mut out = RawOutcome {
        texts: Vec::new(),
        close_code: None,
    };
    let read = async {
        loop {
            let Ok(b0) = rd.read_u8().await else { return };
            let Ok(b1) = rd.read_u8().await else { return };
            let len = match b1 & 0x7f {
                126 => rd.read_u16().await.map(usize::from),
                127 => rd.read_u64().await.map(|n| n as usize),
                n => Ok(usize::from(n)),
            };
            let Ok(len) = len else { return };
            let mut payload = vec![0; len];
            if rd.read_exact(&mut payload).await.is_err() {
                return;
            }
            match b0 & 0x0f {
                1 => out
                    .texts
                    .push(String::from_utf8_lossy(&payload).into_owned()),
                8 => {
                    out.close_code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return;
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the server answers within 20 s");
    writer.abort();
    out
}

#[tokio::test]
async fn an_oversized_websocket_message_closes_with_1009() {
    let server = TestServer::start().await;
    for (connect, fragments) in [(false, false), (true, false), (false, true), (true, true)] {
        let case = format!("after CONNECT: {connect}, fragments: {fragments}");
        let out = raw_oversized(server.port, connect, fragments).await;
        assert_eq!(out.close_code, Some(1009), "{case}: {:?}", out.texts);
        let error = out.texts.iter().find(|t| t.starts_with("ERROR\n"));
        assert!(
            error.is_some_and(|e| e.contains("\ncode:too_large\n")),
            "{case}: {:?}",
            out.texts
        );
    }
    // The server is fine afterwards.
    Stomp::connect(server.port, "alice").await;
}
