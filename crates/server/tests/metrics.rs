//! `/metrics`: the Prometheus page moves with traffic (REST and STOMP), and names every series
//! operators rely on.

mod common;

use common::{pair, TestServer};

/// The page, and the value of one series (summed over its label sets that contain every
/// `label` given).
async fn scrape(port: u16) -> String {
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("/metrics answers");
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    resp.text().await.unwrap()
}

fn value(page: &str, name: &str, labels: &[&str]) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|x| l.contains(x))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn counters_move_with_traffic() {
    let server = TestServer::start().await;
    let before = scrape(server.port).await;
    let (room, mut alice, mut bob) = pair(&server, "alice", "bob", "metrics").await;
    for i in 0..3 {
        alice
            .say(&room, "alice", &format!("hi {i}"), &format!("r{i}"))
            .await;
    }
    for _ in 0..3 {
        bob.message().await;
    }
    let (status, _) = server.api("alice").get("/room/list").await;
    assert_eq!(status, 200);
    let (status, _) = server.api("alice").get("/no/such/route").await;
    assert_eq!(status, 404);
    let after = scrape(server.port).await;

    let moved = |name: &str, labels: &[&str], by: f64| {
        let (b, a) = (value(&before, name, labels), value(&after, name, labels));
        assert!(a - b >= by, "{name}{labels:?}: {b} -> {a}, expected +{by}");
    };
    moved("reuse_chat_messages_stored_total", &[], 3.0);
    moved(
        "reuse_chat_stomp_frames_in_total",
        &["command=\"SEND\""],
        3.0,
    );
    moved(
        "reuse_chat_stomp_frames_in_total",
        &["command=\"SUBSCRIBE\""],
        2.0,
    );
    moved(
        "reuse_chat_stomp_frames_out_total",
        &["command=\"MESSAGE\""],
        6.0,
    );
    moved(
        "reuse_chat_stomp_frames_out_total",
        &["command=\"RECEIPT\""],
        3.0,
    );
    moved("reuse_chat_fanout_deliveries_total", &[], 6.0);
    moved("reuse_chat_commit_batch_size_count", &[], 1.0);
    moved("reuse_chat_commit_seconds_count", &[], 1.0);
    moved(
        "reuse_chat_http_requests_total",
        &["route=\"/room/list\"", "status=\"200\""],
        1.0,
    );
    moved(
        "reuse_chat_http_requests_total",
        &["route=\"/room/create\"", "method=\"POST\""],
        1.0,
    );
    moved(
        "reuse_chat_http_requests_total",
        &["route=\"unmatched\"", "status=\"404\""],
        1.0,
    );
    // Two sessions of this test are open now (other tests of this binary run alongside).
    assert!(value(&after, "reuse_chat_sessions_open", &[]) >= 2.0);
    // Room ids never become label values.
    assert!(!after.contains(&room), "a room id leaked into a label");
    for described in [
        "reuse_chat_outbox_depth",
        "reuse_chat_slow_consumer_closes_total",
    ] {
        assert!(
            after.contains(&format!("# HELP {described}")),
            "{described}"
        );
    }
}
