//! Redis presence against a real Redis (127.0.0.1:6379, or `REUSE_CHAT_TEST_REDIS_URL`): the
//! shared presence suite, single-node and multi-node cases, plus what only Redis has — sweeping
//! a dead node's records, re-recording after Redis lost its data, and failing as unavailable.
//! Every test uses its own random key prefix and deletes its keys afterwards.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chat_core::ports::{Presence, PresenceError, SessionInfo};
use chat_core::presence_suite::{ClusterBackend, PresenceBackend};
use chat_core::{RoomId, UserId};
use chat_presence_redis::testing::TestPrefix;
use chat_presence_redis::{RedisPresence, RedisPresenceOptions};

/// Short times so that expiry tests take about a second, not fifteen.
fn options(prefix: &str) -> RedisPresenceOptions {
    RedisPresenceOptions {
        prefix: prefix.to_owned(),
        node_ttl: Duration::from_millis(1000),
        refresh: Duration::from_millis(200),
        timeout: Duration::from_millis(500),
    }
}

/// Instances of several nodes on one random prefix. Field order matters: the instances are
/// dropped (their refreshers stopped) before the prefix's keys are deleted.
struct RedisBackend {
    nodes: Mutex<HashMap<String, Arc<RedisPresence>>>,
    keys: TestPrefix,
}

impl RedisBackend {
    fn new() -> Self {
        RedisBackend {
            nodes: Mutex::new(HashMap::new()),
            keys: TestPrefix::create().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    async fn instance(&self, node: &str) -> Arc<RedisPresence> {
        let p = RedisPresence::connect(self.keys.url(), node, options(self.keys.prefix()))
            .await
            .expect("presence connects");
        let p = Arc::new(p);
        self.nodes
            .lock()
            .unwrap()
            .insert(node.to_owned(), p.clone());
        p
    }
}

#[async_trait]
impl PresenceBackend for RedisBackend {
    async fn node(&self, node: &str) -> Arc<dyn Presence> {
        self.instance(node).await
    }
}

#[async_trait]
impl ClusterBackend for RedisBackend {
    async fn crash(&self, node: &str) {
        let p = self.nodes.lock().unwrap().get(node).cloned();
        p.expect("node was made by this backend").halt().await;
    }

    fn expiry(&self) -> Duration {
        Duration::from_millis(1000)
    }
}

chat_core::presence_suite_tests!(single_node, RedisBackend::new());
chat_core::presence_suite_tests!(multi_node, RedisBackend::new());

fn user(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

async fn open(p: &RedisPresence, session: &str, who: &str) {
    p.session_opened(&SessionInfo {
        session: session.to_owned(),
        user: user(who),
        node: p.node().to_owned(),
    })
    .await
    .unwrap();
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_dead_nodes_records_are_swept_by_the_live_ones() {
    let b = RedisBackend::new();
    let a = b.instance("node-a").await;
    let live = b.instance("node-b").await;
    let room = RoomId::new_random();
    for n in 0..3 {
        let s = format!("node-a:{n}");
        open(&a, &s, "alice").await;
        a.joined(&s, &room).await.unwrap();
    }
    open(&live, "node-b:1", "bob").await;
    let prefix = b.keys.prefix().to_owned();
    assert!(b
        .keys
        .keys()
        .unwrap()
        .contains(&format!("{prefix}:ns:node-a")));

    a.halt().await;
    eventually(
        Duration::from_secs(10),
        "node-a's records were not swept",
        || async {
            let keys = b.keys.keys().unwrap();
            !keys.iter().any(|k| k.contains("node-a"))
        },
    )
    .await;
    // What is left is exactly node B's bob, and node A is no longer listed as a node.
    assert_eq!(
        b.keys.keys().unwrap(),
        vec![
            format!("{prefix}:nodes"),
            format!("{prefix}:ns:node-b"),
            format!("{prefix}:s:node-b:1"),
            format!("{prefix}:u:bob"),
        ]
    );
    assert_eq!(
        live.online(&[user("alice"), user("bob")]).await.unwrap(),
        vec![user("bob")]
    );
}

#[tokio::test]
async fn sessions_come_back_after_redis_lost_its_data() {
    let b = RedisBackend::new();
    let a = b.instance("node-a").await;
    let room = RoomId::new_random();
    open(&a, "node-a:1", "alice").await;
    a.joined("node-a:1", &room).await.unwrap();
    open(&a, "node-a:2", "bob").await;
    a.joined("node-a:2", &room).await.unwrap();
    a.left("node-a:2", &room).await.unwrap();
    open(&a, "node-a:3", "carol").await;
    a.session_closed("node-a:3").await.unwrap();

    // As after a Redis restart without persistence.
    b.keys.clear().unwrap();
    assert!(a.in_room(&room).await.unwrap().is_empty());

    let all = [user("alice"), user("bob"), user("carol")];
    eventually(
        Duration::from_secs(10),
        "sessions were not re-recorded",
        || async {
            a.in_room(&room).await.unwrap() == vec![user("alice")]
                && a.online(&all).await.unwrap() == vec![user("alice"), user("bob")]
        },
    )
    .await;
}

#[tokio::test]
async fn a_clean_stop_leaves_no_keys() {
    let b = RedisBackend::new();
    let a = b.instance("node-a").await;
    let room = RoomId::new_random();
    open(&a, "node-a:1", "alice").await;
    a.joined("node-a:1", &room).await.unwrap();
    assert!(!b.keys.keys().unwrap().is_empty());
    a.stop().await.unwrap();
    assert_eq!(b.keys.keys().unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn unreachable_redis_fails_as_unavailable() {
    // Nothing listens on port 1: every call fails, none hangs, and building still works
    // (presence is advisory; the server starts without it).
    let p = RedisPresence::connect("redis://127.0.0.1:1", "node-a", options("rc-test-down"))
        .await
        .expect("building does not need Redis");
    let unavailable = |r: Result<(), PresenceError>| {
        assert!(matches!(r, Err(PresenceError::Unavailable(_))), "{r:?}");
    };
    unavailable(p.ping().await);
    unavailable(
        p.session_opened(&SessionInfo {
            session: "node-a:1".into(),
            user: user("alice"),
            node: "node-a".into(),
        })
        .await
        .map(|_| ()),
    );
    unavailable(p.session_closed("node-a:1").await.map(|_| ()));
    unavailable(
        p.claim_typing(
            &RoomId::new_random(),
            &user("alice"),
            Duration::from_secs(2),
        )
        .await
        .map(|_| ()),
    );
    unavailable(p.joined("node-a:1", &RoomId::new_random()).await);
    unavailable(p.online(&[user("alice")]).await.map(|_| ()));
    unavailable(p.in_room(&RoomId::new_random()).await.map(|_| ()));
}

#[tokio::test]
async fn bad_settings_are_refused() {
    use chat_presence_redis::{check_prefix, check_url};
    assert!(check_url("redis://127.0.0.1:6379/2").is_ok());
    assert!(check_url("http://127.0.0.1:6379").is_err());
    assert!(check_prefix("reuse-chat").is_ok());
    assert!(check_prefix("").is_err());
    assert!(check_prefix("a b").is_err());
    assert!(check_prefix("a*").is_err());
    let mut o = options("ok");
    o.node_ttl = o.refresh;
    assert!(RedisPresence::connect("redis://127.0.0.1:6379", "n", o)
        .await
        .is_err());
}

/// The rate buckets every node shares (API-v2 "Safety"): two nodes draw from one bucket per key,
/// a refusal says how long to wait, and a waited-out bucket gives again.
#[tokio::test]
async fn rate_buckets_are_one_per_key_for_every_node() {
    use chat_core::ports::SharedBuckets;
    let keys = TestPrefix::create().unwrap_or_else(|e| panic!("{e}"));
    let a = RedisPresence::connect(keys.url(), "node-a", options(keys.prefix()))
        .await
        .unwrap();
    let b = RedisPresence::connect(keys.url(), "node-b", options(keys.prefix()))
        .await
        .unwrap();
    let minute = Duration::from_secs(60);
    for node in [&a, &b, &a] {
        assert_eq!(node.take("rooms:alice", minute, 3).await.unwrap(), None);
    }
    for node in [&a, &b] {
        let wait = node.take("rooms:alice", minute, 3).await.unwrap();
        let wait = wait.expect("the fourth within a minute is refused on every node");
        assert!(wait > Duration::from_secs(55) && wait <= minute, "{wait:?}");
    }
    // Another key has a bucket of its own.
    assert_eq!(b.take("rooms:bob", minute, 3).await.unwrap(), None);
    // A bucket of one token every 200 ms: refused, then given again after the wait it names.
    let short = Duration::from_millis(200);
    assert_eq!(a.take("reports:alice", short, 1).await.unwrap(), None);
    let wait = b
        .take("reports:alice", short, 1)
        .await
        .unwrap()
        .expect("refused");
    assert!(wait <= short, "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    assert_eq!(b.take("reports:alice", short, 1).await.unwrap(), None);
    // Buckets expire once full again: nothing is left behind for long.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{}:rl:reports:alice", keys.prefix()))
        .query(
            &mut redis::Client::open(keys.url())
                .unwrap()
                .get_connection()
                .unwrap(),
        )
        .unwrap();
    assert!((1..=300).contains(&ttl), "{ttl}");
    drop((a, b));
}
