//! Offline notifications (API-v2 "Notifications") against the real server and a real push
//! service and webhook receiver (`common::push_receiver`): who is notified and how often,
//! coalescing, mutes, retries while a receiver is down, gone subscriptions, a hanging endpoint,
//! and the refusals of bad subscriptions. Run on every database by scripts/test.sh.

mod common;

use std::time::Duration;

use common::push_receiver::PushReceiver;
use common::{Stomp, TestServer, WAIT};
use reuse_chat::config::Settings;
use serde_json::{json, Value};

const HOOK_SECRET: &str = "webhook-secret-0123456789";

fn vapid() -> chat_push::VapidKey {
    chat_push::VapidKey::from_pem(include_str!("fixtures/vapid-test-key.pem")).expect("test key")
}

/// Web Push and the webhook on, both at `receiver`; fast retries and a short gather window.
fn notifying(receiver: &PushReceiver) -> impl FnOnce(&mut Settings) {
    let port = receiver.port;
    move |s: &mut Settings| {
        s.notify.push.web_push = Some(chat_push::WebPushConfig {
            key: vapid(),
            subject: "mailto:ops@example.com".into(),
        });
        s.notify.push.webhook = Some(
            chat_push::WebhookConfig::new(&format!("http://127.0.0.1:{port}/hook"), HOOK_SECRET)
                .unwrap(),
        );
        s.notify.endpoints.allow_http_loopback = true;
        s.notify.coalescing.gather_ms = 400;
        s.notify.push.tuning.retry_base = Duration::from_millis(200);
        s.notify.push.tuning.retry_cap = Duration::from_millis(800);
        s.notify.push.tuning.poll_interval = Duration::from_millis(100);
        s.notify.push.tuning.request_timeout = Duration::from_secs(2);
    }
}

async fn receiver() -> PushReceiver {
    let r = PushReceiver::start(HOOK_SECRET).await;
    r.expect_vapid_key(&vapid().public_key());
    r
}

async fn subscribe(s: &TestServer, user: &str, subscription: &Value) -> (u16, Value) {
    s.api(user)
        .call(
            "POST",
            "/push/subscriptions",
            Some(subscription.to_string().into_bytes()),
        )
        .await
}

/// Sends `n` messages from `sender` (connected as `c`) and waits for each receipt.
async fn send(c: &mut Stomp, room: &str, sender: &str, n: usize, tag: &str) {
    for i in 0..n {
        c.say(room, sender, &format!("{tag} {i}"), &format!("{tag}-{i}"))
            .await;
    }
}

/// Checks that nothing more arrives at `r` for a while beyond `n` deliveries.
async fn quiet_after(r: &PushReceiver, n: usize) {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = r.received();
    assert_eq!(got.len(), n, "{got:?}");
    assert!(r.rejected().is_empty(), "{:?}", r.rejected());
}

/// Waits until `user` is online (`true`) or away in `room`'s presence, as `viewer` sees it.
async fn wait_presence(s: &TestServer, viewer: &str, room: &str, user: &str, online: bool) {
    for _ in 0..100 {
        let (status, v) = s.api(viewer).get(&format!("/room/{room}/presence")).await;
        assert_eq!(status, 200, "{v}");
        let here = v["online"].as_array().unwrap().iter().any(|u| u == user);
        if here == online {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{user} never became online={online}");
}

#[tokio::test]
async fn an_away_member_is_told_once_per_burst_by_web_push_and_webhook() {
    let r = receiver().await;
    let s = TestServer::start_with(notifying(&r)).await;
    let (status, v) = s.anonymous().get("/push/config").await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"webPush": true, "vapidPublicKey": vapid().public_key()})
    );
    let room = s.api("alice").open_room("sam", "자전거").await;
    let (status, v) = subscribe(&s, "alice", &r.subscription("alice-phone")).await;
    assert_eq!(status, 201, "{v}");
    let (status, _) = subscribe(&s, "alice", &r.subscription("alice-laptop")).await;
    assert_eq!(status, 201);
    // Subscribing the same browser again keeps one subscription.
    let again = r.subscription("alice-tablet");
    assert_eq!(subscribe(&s, "alice", &again).await.0, 201);
    assert_eq!(subscribe(&s, "alice", &again).await.0, 201);

    // Alice has no session anywhere: sam's burst of three messages is one notification on
    // each of her browsers and one webhook call.
    let mut sam = s.stomp("sam").await;
    sam.subscribe("s", &room).await;
    send(&mut sam, &room, "sam", 3, "네고 가능할까요").await;
    let got = r.wait_for(4, WAIT).await;
    quiet_after(&r, 4).await;
    let mut targets: Vec<&str> = got.iter().map(|g| g.target.as_str()).collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "push:alice-laptop",
            "push:alice-phone",
            "push:alice-tablet",
            "webhook"
        ]
    );
    let id = got[0].payload["id"].clone();
    for g in &got {
        let p = &g.payload;
        assert_eq!(p["id"], id, "one notification: {got:?}");
        assert_eq!(p["type"], "MESSAGE");
        assert_eq!(p["user"], "alice");
        assert_eq!(p["roomUUID"], room);
        assert_eq!(p["count"], 3, "{p}");
        assert_eq!(p["url"], format!("/?room={room}"));
        assert_eq!(p["title"], "자전거 (새 메시지 3개)");
        assert!(
            p["body"]
                .as_str()
                .unwrap()
                .starts_with("sam: 네고 가능할까요 2"),
            "{p}"
        );
        assert!(g.key.is_some(), "Topic / Idempotency-Key: {g:?}");
    }

    // More right after belongs to the same burst: nothing new.
    send(&mut sam, &room, "sam", 1, "혹시").await;
    quiet_after(&r, 4).await;

    // Once alice has read the room, the next message starts a new burst.
    let alice = s.stomp("alice").await;
    wait_presence(&s, "sam", &room, "alice", true).await;
    let last = s.api("alice").history(&room, "").await.last().unwrap()["id"].clone();
    let (status, _) = s
        .api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204);
    // While she is connected, nothing is sent.
    send(&mut sam, &room, "sam", 1, "계신가요").await;
    quiet_after(&r, 4).await;
    drop(alice);
    wait_presence(&s, "sam", &room, "alice", false).await;
    let last = s.api("alice").history(&room, "").await.last().unwrap()["id"].clone();
    s.api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    send(&mut sam, &room, "sam", 1, "내일 어때요").await;
    let got = r.wait_for(8, WAIT).await;
    quiet_after(&r, 8).await;
    let second: Vec<_> = got[4..].iter().map(|g| g.payload["id"].clone()).collect();
    assert!(
        second.iter().all(|i| *i == second[0] && *i != id),
        "{got:?}"
    );
    assert_eq!(got[4].payload["count"], 1);

    // Muted: nothing, until unmuted.
    let (status, _) = s
        .api("alice")
        .call(
            "PUT",
            &format!("/room/{room}/settings"),
            Some(br#"{"muted":true}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 204);
    let last = s.api("alice").history(&room, "").await.last().unwrap()["id"].clone();
    s.api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    send(&mut sam, &room, "sam", 1, "음소거").await;
    quiet_after(&r, 8).await;

    // Unsubscribed browsers get nothing; the sender of a message is never told of it.
    for name in ["alice-phone", "alice-laptop", "alice-tablet"] {
        let endpoint = format!("http://127.0.0.1:{}/push/{name}", r.port);
        let (status, _) = s
            .api("alice")
            .call(
                "DELETE",
                "/push/subscriptions",
                Some(json!({"endpoint": endpoint}).to_string().into_bytes()),
            )
            .await;
        assert_eq!(status, 204);
    }
    let (status, _) = s
        .api("alice")
        .call(
            "PUT",
            &format!("/room/{room}/settings"),
            Some(br#"{"muted":false}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 204);
    send(&mut sam, &room, "sam", 1, "웹훅만").await;
    let got = r.wait_for(9, WAIT).await;
    quiet_after(&r, 9).await;
    assert_eq!(got[8].target, "webhook");
    assert_eq!(got[8].payload["user"], "alice");
}

#[tokio::test]
async fn every_notification_arrives_once_while_receivers_go_down_and_come_back() {
    let r = receiver().await;
    let s = TestServer::start_with(notifying(&r)).await;
    let room = s.api("alice").open_room("sam", "lamp").await;
    assert_eq!(
        subscribe(&s, "alice", &r.subscription("alice")).await.0,
        201
    );
    let mut sam = s.stomp("sam").await;
    sam.subscribe("s", &room).await;
    r.down();
    send(&mut sam, &room, "sam", 2, "down").await;
    // Retries meet a closed port for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    r.up().await;
    let got = r.wait_for(2, WAIT + WAIT).await;
    quiet_after(&r, 2).await;
    assert_eq!(got[0].payload["id"], got[1].payload["id"]);
    // A receiver that answers 503 is retried with the same Topic and Idempotency-Key.
    r.answer(503);
    let second = s.api("bob").open_room("alice", "fan").await;
    let mut bob = s.stomp("bob").await;
    bob.subscribe("b", &second).await;
    send(&mut bob, &second, "bob", 1, "503").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(r.requests() > 4, "retried: {}", r.requests());
    r.answer(201);
    let got = r.wait_for(4, WAIT + WAIT).await;
    quiet_after(&r, 4).await;
    let keys: Vec<_> = got[2..].iter().map(|g| g.payload["id"].clone()).collect();
    assert_eq!(keys[0], keys[1], "{got:?}");
    assert_ne!(keys[0], got[0].payload["id"]);
}

#[tokio::test]
async fn a_gone_subscription_is_removed() {
    let r = receiver().await;
    let s = TestServer::start_with(notifying(&r)).await;
    let room = s.api("alice").open_room("sam", "desk").await;
    assert_eq!(
        subscribe(&s, "alice", &r.subscription("old-phone")).await.0,
        201
    );
    let mut sam = s.stomp("sam").await;
    sam.subscribe("s", &room).await;
    r.answer(410);
    send(&mut sam, &room, "sam", 1, "gone").await;
    // The push service says 410 and the webhook says 410: neither is retried.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after_first = r.requests();
    assert_eq!(after_first, 2, "one request each, no retry");
    r.answer(201);
    // A new burst (after a quiet gap of 0: the settings make every read start one) reaches
    // only the webhook: the subscription is gone.
    let last = s.api("alice").history(&room, "").await.last().unwrap()["id"].clone();
    s.api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    send(&mut sam, &room, "sam", 1, "again").await;
    let got = r.wait_for(1, WAIT).await;
    quiet_after(&r, 1).await;
    assert_eq!(got[0].target, "webhook");
}

#[tokio::test]
async fn a_hanging_push_endpoint_never_slows_chat() {
    let r = receiver().await;
    let s = TestServer::start_with(|settings| {
        notifying(&r)(settings);
        settings.notify.push.tuning.request_timeout = Duration::from_secs(60);
        settings.notify.coalescing.gather_ms = 0;
        settings.notify.coalescing.burst_gap_ms = 0;
    })
    .await;
    r.hang(true);
    let mut rooms = Vec::new();
    for i in 0..40 {
        let buyer = format!("buyer{i}");
        let room = s.api(&buyer).open_room("sam", "item").await;
        assert_eq!(subscribe(&s, &buyer, &r.subscription(&buyer)).await.0, 201);
        rooms.push(room);
    }
    let mut sam = s.stomp("sam").await;
    // Every notification hangs (more than the sender's slots); every send still gets its
    // receipt at once (`say` waits at most WAIT for each).
    for (i, room) in rooms.iter().enumerate() {
        sam.say(room, "sam", "hello", &format!("h-{i}")).await;
    }
    let mut watcher = s.stomp("buyer0").await;
    watcher.subscribe("w", &rooms[0]).await;
    sam.say(&rooms[0], "sam", "still fast", "last").await;
    let m = watcher.message().await;
    assert_eq!(m["content"], "still fast");
    assert!(r.received().is_empty());
    r.hang(false);
}

#[tokio::test]
async fn bad_subscriptions_are_refused_and_store_nothing() {
    let r = receiver().await;
    let s = TestServer::start_with(|settings| {
        notifying(&r)(settings);
        settings.notify.endpoints.allow_http_loopback = false;
    })
    .await;
    let good = r.subscription("x");
    let keys = good["keys"].clone();
    for (body, code) in [
        (
            json!({"endpoint": good["endpoint"], "keys": keys}),
            "invalid_endpoint",
        ),
        (
            json!({"endpoint": "http://push.example.com/x", "keys": keys}),
            "invalid_endpoint",
        ),
        (
            json!({"endpoint": "https://10.1.2.3/x", "keys": keys}),
            "invalid_endpoint",
        ),
        (
            json!({"endpoint": "https://localhost/x", "keys": keys}),
            "invalid_endpoint",
        ),
        (
            json!({"endpoint": "javascript:alert(1)", "keys": keys}),
            "invalid_endpoint",
        ),
        (
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": "AAAA", "auth": keys["auth"]}}),
            "invalid_key",
        ),
        (
            json!({"endpoint": "https://push.example.com/x", "keys": {"p256dh": keys["p256dh"], "auth": "短"}}),
            "invalid_key",
        ),
        (
            json!({"endpoint": "https://push.example.com/x"}),
            "invalid_body",
        ),
        (json!(["https://push.example.com/x"]), "invalid_body"),
    ] {
        let (status, v) = subscribe(&s, "alice", &body).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    let long =
        json!({"endpoint": format!("https://push.example.com/{}", "a".repeat(3000)), "keys": keys});
    assert_eq!(subscribe(&s, "alice", &long).await.0, 400);
    let huge = format!(
        r#"{{"endpoint":"https://push.example.com/{}"}}"#,
        "a".repeat(2 << 20)
    );
    let (status, _) = s
        .api("alice")
        .call("POST", "/push/subscriptions", Some(huge.into_bytes()))
        .await;
    assert_eq!(status, 413);
    let (status, _) = s
        .anonymous()
        .call(
            "POST",
            "/push/subscriptions",
            Some(good.to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 401);
    // Nothing was kept: a message to alice reaches only the webhook.
    let room = s.api("alice").open_room("sam", "x").await;
    let mut sam = s.stomp("sam").await;
    sam.subscribe("s", &room).await;
    send(&mut sam, &room, "sam", 1, "hi").await;
    let got = r.wait_for(1, WAIT).await;
    quiet_after(&r, 1).await;
    assert_eq!(got[0].target, "webhook");
    // Removing what is not there is no error.
    let (status, _) = s
        .api("alice")
        .call(
            "DELETE",
            "/push/subscriptions",
            Some(br#"{"endpoint":"https://push.example.com/none"}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = s
        .api("alice")
        .call("DELETE", "/push/subscriptions", Some(b"{}".to_vec()))
        .await;
    assert_eq!(status, 400);

    // Without a VAPID key there is no Web Push to subscribe to.
    let plain = TestServer::start().await;
    let (status, v) = subscribe(
        &plain,
        "alice",
        &json!({"endpoint": "https://push.example.com/x", "keys": keys}),
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (409, Some("push_disabled")));
    let (status, v) = plain.anonymous().get("/push/config").await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"webPush": false, "vapidPublicKey": null}));
}
