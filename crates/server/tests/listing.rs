//! The listing in the chat (API-v2 "The listing", and mute from "Notifications") against the
//! real server: the marketplace's status reports reaching every room of the listing,
//! appointments and their reminders (once, also across a restart), mutes, and the refusals of
//! bad input. Run on every database by scripts/test.sh (`REUSE_CHAT_TEST_BACKEND`).

mod common;

use std::time::Duration;

use common::{Stomp, TestServer, WAIT};
use serde_json::{json, Value};

const SERVICE: &str = "marketplace-service-0123456789";

async fn call(s: &TestServer, user: &str, method: &str, path: &str, body: Value) -> (u16, Value) {
    s.api(user)
        .call(method, path, Some(body.to_string().into_bytes()))
        .await
}

/// The marketplace reports `product`'s status.
async fn report(s: &TestServer, product: &str, body: Value) -> (u16, Value) {
    s.anonymous()
        .with_bearer(SERVICE)
        .call(
            "PUT",
            &format!("/product/{product}/status"),
            Some(body.to_string().into_bytes()),
        )
        .await
}

/// Opens a room of `buyer` with `seller` about `product`.
async fn open(s: &TestServer, buyer: &str, seller: &str, product: &str) -> String {
    let (status, room) = s
        .api(buyer)
        .post(&format!(
            "/room/create?user={seller}&name=bike&productId={product}"
        ))
        .await;
    assert!(status == 201 || status == 200, "{status} {room}");
    room["roomUUID"].as_str().unwrap().to_owned()
}

/// `user`'s view of `room` in their list.
async fn listed(s: &TestServer, user: &str, room: &str) -> Value {
    let (status, rooms) = s.api(user).get("/room/list").await;
    assert_eq!(status, 200, "{rooms}");
    rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roomUUID"] == room)
        .cloned()
        .unwrap_or_else(|| panic!("{room} not in {user}'s list: {rooms}"))
}

/// The next `ROOM_UPDATED` of `room` on an event stream.
async fn room_updated(c: &mut Stomp, room: &str) -> Value {
    loop {
        let f = c.recv().await;
        assert_eq!(f.command, "MESSAGE", "{f:?}");
        let e = f.json();
        if e["type"] == "ROOM_UPDATED" && e["room"]["roomUUID"] == room {
            return e["room"].clone();
        }
    }
}

fn notices(history: &[Value], notice: &str) -> Vec<Value> {
    history
        .iter()
        .filter(|m| m["type"] == "SYSTEM" && m["notice"] == notice)
        .cloned()
        .collect()
}

fn in_an_hour() -> String {
    let at = std::time::SystemTime::now() + Duration::from_secs(3 * 3600);
    let secs = at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    rfc3339(secs)
}

/// RFC 3339 of a Unix time (UTC, whole seconds).
fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn from_now(d: Duration) -> String {
    let at = std::time::SystemTime::now() + d;
    rfc3339(at.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 1)
}

async fn listing_server() -> TestServer {
    TestServer::start_with(|s| s.notify.service_token = Some(SERVICE.into())).await
}

#[tokio::test]
async fn a_status_report_reaches_every_room_of_the_listing_once() {
    let s = listing_server().await;
    let alice_room = open(&s, "alice", "sam", "p-77").await;
    let bob_room = open(&s, "bob", "sam", "p-77").await;
    let other = open(&s, "carol", "sam", "p-78").await;
    assert_eq!(
        listed(&s, "alice", &alice_room).await["productStatus"],
        Value::Null
    );
    let mut alice_events = s.follow_events("alice").await;
    let mut bob = s.stomp("bob").await;
    bob.subscribe("b", &bob_room).await;

    let (status, v) = report(&s, "p-77", json!({"status": "RESERVED", "buyer": "alice"})).await;
    assert_eq!(status, 204, "{v}");
    // Bob's open room gets the notice live; it tells him the listing went to someone else.
    let live = bob.message().await;
    assert_eq!(live["type"], "SYSTEM");
    assert_eq!(live["notice"], "PRODUCT_STATUS");
    assert_eq!(live["productStatus"], "RESERVED");
    assert!(
        live["content"].as_str().unwrap().contains("다른 구매자"),
        "{live}"
    );
    // Alice's stream gets her room with its new status.
    let updated = room_updated(&mut alice_events, &alice_room).await;
    assert_eq!(updated["productStatus"], "RESERVED");
    let hers = s.api("alice").history(&alice_room, "").await;
    let n = notices(&hers, "PRODUCT_STATUS");
    assert_eq!(n.len(), 1, "{hers:?}");
    assert!(
        n[0]["content"]
            .as_str()
            .unwrap()
            .contains("이 채팅의 구매자"),
        "{n:?}"
    );
    assert_eq!(n[0]["sender"], "sam");
    assert_eq!(
        listed(&s, "sam", &bob_room).await["productStatus"],
        "RESERVED"
    );
    // Another listing's room is untouched.
    assert!(s.api("carol").history(&other, "").await.is_empty());
    assert_eq!(
        listed(&s, "carol", &other).await["productStatus"],
        Value::Null
    );

    // The same report again changes nothing.
    let (status, _) = report(&s, "p-77", json!({"status": "RESERVED", "buyer": "alice"})).await;
    assert_eq!(status, 204);
    assert_eq!(
        notices(
            &s.api("alice").history(&alice_room, "").await,
            "PRODUCT_STATUS"
        )
        .len(),
        1
    );
    assert!(bob.maybe(Duration::from_millis(300)).await.is_none());

    // A room opened later starts with the listing's status.
    let late = open(&s, "dave", "sam", "p-77").await;
    assert_eq!(listed(&s, "dave", &late).await["productStatus"], "RESERVED");

    let (status, _) = report(&s, "p-77", json!({"status": "SOLD", "buyer": "alice"})).await;
    assert_eq!(status, 204);
    let sold = bob.message().await;
    assert_eq!(sold["productStatus"], "SOLD");
    let hers = s.api("alice").history(&alice_room, "").await;
    let last = notices(&hers, "PRODUCT_STATUS").pop().unwrap();
    assert!(
        last["content"].as_str().unwrap().contains("거래가 완료"),
        "{last}"
    );
    assert_eq!(
        notices(&s.api("dave").history(&late, "").await, "PRODUCT_STATUS").len(),
        1
    );
    // Notices count as unread for the buyer, like any message they did not write.
    assert_eq!(listed(&s, "alice", &alice_room).await["unreadCount"], 2);
}

#[tokio::test]
async fn status_reports_need_the_service_token_and_a_good_body() {
    let s = listing_server().await;
    let room = open(&s, "alice", "sam", "p-1").await;
    let put = |token: Option<&'static str>, body: Vec<u8>| {
        let mut api = s.anonymous();
        if let Some(t) = token {
            api = api.with_bearer(t);
        }
        async move { api.call("PUT", "/product/p-1/status", Some(body)).await }
    };
    let good = json!({"status": "SOLD"}).to_string().into_bytes();
    let (status, v) = put(None, good.clone()).await;
    assert_eq!(status, 401, "{v}");
    assert_eq!(v["error"], "unauthorized");
    let (status, _) = put(Some("wrong-token-wrong-token"), good.clone()).await;
    assert_eq!(status, 401);
    // A member's own identity is no service token.
    let (status, _) = s
        .api("sam")
        .call("PUT", "/product/p-1/status", Some(good))
        .await;
    assert_eq!(status, 401);
    for (body, code) in [
        (json!({"status": "GONE"}), "invalid_status"),
        (json!({"status": "sold"}), "invalid_status"),
        (json!({}), "invalid_body"),
        (json!(["SOLD"]), "invalid_body"),
        (json!({"status": "SOLD", "price": 3}), "invalid_body"),
        (
            json!({"status": "ON_SALE", "buyer": "alice"}),
            "invalid_body",
        ),
        (
            json!({"status": "SOLD", "buyer": "no spaces"}),
            "invalid_user",
        ),
    ] {
        let (status, v) = report(&s, "p-1", body.clone()).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    let (status, v) = s
        .anonymous()
        .with_bearer(SERVICE)
        .call("PUT", "/product/p-1/status", Some(b"{".to_vec()))
        .await;
    assert_eq!(status, 400, "{v}");
    let long = "p".repeat(65);
    let (status, v) = report(&s, &long, json!({"status": "SOLD"})).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_product_id"))
    );
    let huge = format!(r#"{{"status":"SOLD","buyer":"{}"}}"#, "a".repeat(2 << 20));
    let (status, _) = s
        .anonymous()
        .with_bearer(SERVICE)
        .call("PUT", "/product/p-1/status", Some(huge.into_bytes()))
        .await;
    assert_eq!(status, 413);
    // Nothing was stored.
    assert!(s.api("alice").history(&room, "").await.is_empty());
    assert_eq!(
        listed(&s, "alice", &room).await["productStatus"],
        Value::Null
    );

    // Without --service-token the marketplace's calls are off.
    let off = TestServer::start().await;
    let (status, v) = off
        .anonymous()
        .with_bearer(SERVICE)
        .call(
            "PUT",
            "/product/p-1/status",
            Some(br#"{"status":"SOLD"}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 401, "{v}");
}

#[tokio::test]
async fn appointments_are_set_moved_and_cancelled_with_notices() {
    let s = listing_server().await;
    let room = open(&s, "alice", "sam", "p-2").await;
    let mut sam_events = s.follow_events("sam").await;
    let at = in_an_hour();
    let (status, v) = call(
        &s,
        "alice",
        "PUT",
        &format!("/room/{room}/appointment"),
        json!({"at": at, "place": " 강남역 2번 출구 "}),
    )
    .await;
    assert_eq!(status, 204, "{v}");
    let updated = room_updated(&mut sam_events, &room).await;
    assert_eq!(updated["appointment"]["place"], "강남역 2번 출구");
    assert_eq!(updated["appointment"]["setBy"], "alice");
    let history = s.api("sam").history(&room, "").await;
    let n = notices(&history, "APPOINTMENT");
    assert_eq!(n.len(), 1, "{history:?}");
    assert_eq!(n[0]["appointment"]["place"], "강남역 2번 출구");
    assert!(n[0].get("reminder").is_none(), "{n:?}");
    let shown = listed(&s, "alice", &room).await;
    assert_eq!(shown["appointment"]["setBy"], "alice");
    assert_eq!(
        shown["appointment"]["at"].as_str().unwrap()[..19],
        at[..19],
        "{shown}"
    );
    // The same appointment again: no notice.
    let (status, _) = call(
        &s,
        "sam",
        "PUT",
        &format!("/room/{room}/appointment"),
        json!({"at": at, "place": "강남역 2번 출구"}),
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(
        notices(&s.api("sam").history(&room, "").await, "APPOINTMENT").len(),
        1
    );
    // Cancelled by the other member.
    let (status, _) = s
        .api("sam")
        .delete(&format!("/room/{room}/appointment"))
        .await;
    assert_eq!(status, 204);
    let history = s.api("alice").history(&room, "").await;
    let n = notices(&history, "APPOINTMENT");
    assert_eq!(n.len(), 2);
    assert_eq!(n[1]["appointment"], Value::Null);
    assert_eq!(n[1]["sender"], "sam");
    assert_eq!(listed(&s, "alice", &room).await["appointment"], Value::Null);
    let (status, _) = s
        .api("sam")
        .delete(&format!("/room/{room}/appointment"))
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        notices(&s.api("alice").history(&room, "").await, "APPOINTMENT").len(),
        2
    );
}

#[tokio::test]
async fn bad_appointments_and_settings_are_refused_and_store_nothing() {
    let s = listing_server().await;
    let room = open(&s, "alice", "sam", "p-3").await;
    let path = format!("/room/{room}/appointment");
    for (body, code) in [
        (
            json!({"at": "2020-01-01T00:00:00Z", "place": "역"}),
            "invalid_time",
        ),
        (json!({"at": "내일 3시", "place": "역"}), "invalid_time"),
        (json!({"at": 1_900_000_000, "place": "역"}), "invalid_time"),
        (
            json!({"at": from_now(Duration::from_secs(400 * 86_400)), "place": "역"}),
            "invalid_time",
        ),
        (json!({"at": in_an_hour(), "place": ""}), "invalid_place"),
        (
            json!({"at": in_an_hour(), "place": "가".repeat(101)}),
            "invalid_place",
        ),
        (json!({"at": in_an_hour()}), "invalid_body"),
        (json!([in_an_hour(), "역"]), "invalid_body"),
    ] {
        let (status, v) = call(&s, "alice", "PUT", &path, body.clone()).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    let (status, v) = call(
        &s,
        "mallory",
        "PUT",
        &path,
        json!({"at": in_an_hour(), "place": "역"}),
    )
    .await;
    assert_eq!((status, v["error"].as_str()), (403, Some("not_a_member")));
    let (status, _) = s.api("mallory").delete(&path).await;
    assert_eq!(status, 403);
    let nowhere = "0b8e0000-0000-4000-8000-000000000001";
    let (status, _) = call(
        &s,
        "alice",
        "PUT",
        &format!("/room/{nowhere}/appointment"),
        json!({"at": in_an_hour(), "place": "역"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &s,
        "alice",
        "PUT",
        "/room/not-a-uuid/appointment",
        json!({"at": in_an_hour(), "place": "역"}),
    )
    .await;
    assert_eq!(status, 400);

    let settings = format!("/room/{room}/settings");
    for (body, code) in [
        (
            json!({"muted": true, "mutedUntil": "2020-01-01T00:00:00Z"}),
            "invalid_time",
        ),
        (json!({"muted": true, "mutedUntil": "soon"}), "invalid_time"),
        (
            json!({"muted": false, "mutedUntil": in_an_hour()}),
            "invalid_body",
        ),
        (json!({"muted": "yes"}), "invalid_body"),
        (json!({}), "invalid_body"),
    ] {
        let (status, v) = call(&s, "alice", "PUT", &settings, body.clone()).await;
        assert_eq!(
            (status, v["error"].as_str()),
            (400, Some(code)),
            "{body}: {v}"
        );
    }
    let (status, _) = call(&s, "mallory", "PUT", &settings, json!({"muted": true})).await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &s,
        "alice",
        "PUT",
        &format!("/room/{nowhere}/settings"),
        json!({"muted": true}),
    )
    .await;
    assert_eq!(status, 404);
    let huge = format!(
        r#"{{"at":"{}","place":"{}"}}"#,
        in_an_hour(),
        "가".repeat(1 << 20)
    );
    let (status, _) = s
        .api("alice")
        .call("PUT", &path, Some(huge.into_bytes()))
        .await;
    assert_eq!(status, 413);
    assert!(s.api("alice").history(&room, "").await.is_empty());
    let shown = listed(&s, "alice", &room).await;
    assert_eq!(shown["appointment"], Value::Null);
    assert_eq!(shown["muted"], false);
}

#[tokio::test]
async fn a_member_mutes_a_room_for_themselves() {
    let s = listing_server().await;
    let room = open(&s, "alice", "sam", "p-4").await;
    let mut alice_events = s.follow_events("alice").await;
    let settings = format!("/room/{room}/settings");
    let (status, v) = call(&s, "alice", "PUT", &settings, json!({"muted": true})).await;
    assert_eq!(status, 204, "{v}");
    let updated = room_updated(&mut alice_events, &room).await;
    assert_eq!(updated["muted"], true);
    assert_eq!(updated["mutedUntil"], Value::Null);
    assert_eq!(listed(&s, "alice", &room).await["muted"], true);
    // The other member's view is their own.
    assert_eq!(listed(&s, "sam", &room).await["muted"], false);
    let until = in_an_hour();
    let (status, _) = call(
        &s,
        "alice",
        "PUT",
        &settings,
        json!({"muted": true, "mutedUntil": until}),
    )
    .await;
    assert_eq!(status, 204);
    let shown = listed(&s, "alice", &room).await;
    assert_eq!(shown["muted"], true);
    assert_eq!(shown["mutedUntil"].as_str().unwrap()[..19], until[..19]);
    let (status, _) = call(&s, "alice", "PUT", &settings, json!({"muted": false})).await;
    assert_eq!(status, 204);
    let shown = listed(&s, "alice", &room).await;
    assert_eq!(
        (shown["muted"].clone(), shown["mutedUntil"].clone()),
        (json!(false), Value::Null)
    );
    // Muting writes no message.
    assert!(s.api("alice").history(&room, "").await.is_empty());
}

/// Sets an appointment `ahead` from now in `room` as alice.
async fn appoint(s: &TestServer, room: &str, ahead: Duration) {
    let (status, v) = call(
        s,
        "alice",
        "PUT",
        &format!("/room/{room}/appointment"),
        json!({"at": from_now(ahead), "place": "역 앞"}),
    )
    .await;
    assert_eq!(status, 204, "{v}");
}

/// Waits until `room` holds `n` reminders (at most `within`), then a little more to see that
/// no more come; the reminders.
async fn reminders(s: &TestServer, room: &str, n: usize, within: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got: Vec<Value> = notices(&s.api("sam").history(room, "").await, "APPOINTMENT")
            .into_iter()
            .filter(|m| m["reminder"] == true)
            .collect();
        if got.len() >= n || tokio::time::Instant::now() > deadline {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let again: Vec<Value> = notices(&s.api("sam").history(room, "").await, "APPOINTMENT")
                .into_iter()
                .filter(|m| m["reminder"] == true)
                .collect();
            assert_eq!(again.len(), n, "{again:?}");
            return again;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_reminder_is_posted_once_before_the_appointment() {
    let s = TestServer::start_with(|s| s.notify.reminder_lead = Duration::from_secs(60)).await;
    let room = open(&s, "alice", "sam", "p-5").await;
    // An appointment sooner than the lead gets no reminder.
    appoint(&s, &room, Duration::from_secs(30)).await;
    reminders(&s, &room, 0, Duration::from_millis(500)).await;
    // 62 s ahead with a 60 s lead: due in about 2 s.
    appoint(&s, &room, Duration::from_secs(62)).await;
    let got = reminders(&s, &room, 1, WAIT + WAIT).await;
    assert!(
        got[0]["content"]
            .as_str()
            .unwrap()
            .starts_with("약속 1분 전"),
        "{got:?}"
    );
    assert_eq!(got[0]["appointment"]["place"], "역 앞");
}

#[tokio::test]
async fn a_reminder_due_while_no_server_ran_is_posted_once_after_the_restart() {
    let mut s = TestServer::start_with(|s| s.notify.reminder_lead = Duration::from_secs(60)).await;
    let room = open(&s, "alice", "sam", "p-6").await;
    // Due in about 4 s: after this server has stopped.
    appoint(&s, &room, Duration::from_secs(64)).await;
    s.stop().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let a = s
        .restart(|s| s.notify.reminder_lead = Duration::from_secs(60))
        .await;
    // A second node on the same database races it for the same reminder.
    let b = a
        .restart(|s| s.notify.reminder_lead = Duration::from_secs(60))
        .await;
    reminders(&a, &room, 1, WAIT + WAIT).await;
    drop(b);
}
