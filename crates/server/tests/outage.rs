//! Database outages: while the database cannot be reached, a `SEND` gets an `ERROR` and no
//! receipt, REST answers `503` with the error shape, `/ready` names the storage as unavailable,
//! and nothing unstored is acknowledged; when the database returns, the same server recovers
//! without a restart. Runs against MariaDB and PostgreSQL (SQLite is a file, it has no outage
//! of this kind), with a proxy in between that the test cuts.

mod common;

use std::time::Duration;

use chat_store::Backend;
use common::*;
use serde_json::json;

async fn outage_and_recovery(backend: Backend) {
    let storage = Storage::on(backend).await;
    let (proxy, url) = CuttableProxy::for_url(storage.db.url()).await;
    let mut settings = storage.settings();
    settings.database = url;
    settings.database_timeout = Duration::from_millis(500);
    let s = TestServer::start_settings(&storage, settings).await;
    let (room, mut alice, mut bob) = pair(&s, "alice", "bob", "bike").await;
    alice.say(&room, "alice", "before", "r1").await;
    assert_eq!(bob.message().await["content"], "before");

    proxy.cut();

    // A send while the database is away: an ERROR that names the receipt, never a RECEIPT.
    alice
        .send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\nreceipt:r2\n\n{}\0",
            json!({"content": "during", "clientMessageId": "c-during"})
        ))
        .await;
    let mut frames = alice.expect_closed().await;
    let error = frames.pop().expect("an ERROR frame");
    assert_eq!(error.command, "ERROR", "{frames:?} {error:?}");
    assert_eq!(error.header("receipt-id"), Some("r2"));
    assert_eq!(
        error.header("message"),
        Some("a backend is unavailable, try again later")
    );
    assert!(
        frames.iter().all(|f| f.command != "RECEIPT"),
        "nothing is receipted during the outage: {frames:?}"
    );

    // REST: 503 with the JSON error shape, on reads and writes alike.
    for (method, path) in [
        ("GET", "/room/list".to_owned()),
        ("GET", format!("/chat/room/{room}")),
        (
            "POST",
            "/room/create?user=carol&name=lamp&productId=p-9".to_owned(),
        ),
    ] {
        let (status, body) = s.api("bob").call(method, &path, None).await;
        assert_eq!(status, 503, "{method} {path}: {body}");
        assert_eq!(
            body["error"], "backend_unavailable",
            "{method} {path}: {body}"
        );
        assert!(body["message"].is_string(), "{body}");
    }
    let (status, ready) = s.anonymous().get("/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["backends"]["storage"], "unavailable", "{ready}");
    let (status, _) = s.anonymous().get("/health").await;
    assert_eq!(status, 200, "the process itself is healthy");

    proxy.restore();

    // The same server recovers by itself.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, ready) = s.anonymous().get("/ready").await;
        if status == 200 {
            assert_eq!(ready["backends"]["storage"], "ok");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not ready again 30 s after the database returned: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut alice = s.stomp("alice").await;
    alice.say(&room, "alice", "after", "r3").await;
    // Bob's subscription lived through the outage.
    assert_eq!(bob.message().await["content"], "after");
    let contents: Vec<String> = s
        .api("bob")
        .history(&room, "")
        .await
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(contents, ["before", "after"], "only what was acknowledged");
    let (status, _) = s
        .api("bob")
        .post("/room/create?user=carol&name=lamp&productId=p-9")
        .await;
    assert!(
        status == 200 || status == 201,
        "writes work again: {status}"
    );
}

#[tokio::test]
async fn mariadb_outage_fails_clearly_and_recovers() {
    outage_and_recovery(Backend::MySql).await;
}

#[tokio::test]
async fn postgres_outage_fails_clearly_and_recovers() {
    outage_and_recovery(Backend::Postgres).await;
}
