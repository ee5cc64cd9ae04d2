//! A cluster of three real `reuse-chat` processes on one MariaDB database, Redis presence and a
//! real Kafka-protocol broker (tansu): cross-node delivery in id order without duplicates, a
//! node killed with SIGKILL in the middle of traffic (its clients resume on another node and
//! miss nothing), and the broker restarted in the middle of traffic. Photos live in a bucket on
//! a real S3-protocol server (`s3s-fs`) that every node shares.
//!
//! Needs the `tansu` binary (`scripts/test.sh` installs it): `REUSE_CHAT_TANSU`, else `tansu`
//! on `PATH`, else `~/.cargo/bin/tansu`.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::Duration;

use chat_blobs::testing::S3Server;
use chat_store::testing::random_name;
use chat_store::Backend;
use common::*;
use serde_json::{json, Value};
use tokio::sync::Mutex;

fn tansu_binary() -> PathBuf {
    if let Ok(p) = std::env::var("REUSE_CHAT_TANSU") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("tansu"))
            .find(|p| p.is_file())
    });
    if let Some(p) = on_path {
        return p;
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
    let p = home.join(".cargo/bin/tansu");
    assert!(
        p.is_file(),
        "the Kafka-protocol broker tansu is required by the cluster tests and was not found \
         (set REUSE_CHAT_TANSU, or run scripts/test.sh, which installs it with \
         `cargo install tansu --features dynostore`)"
    );
    p
}

/// A tansu broker on a fixed port, so that it can be restarted where the nodes expect it.
struct Broker {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Broker {
    async fn start(dir: &std::path::Path) -> Broker {
        let mut b = Broker {
            port: free_port(),
            child: None,
            log: dir.join("tansu.log"),
        };
        b.restart().await;
        b
    }

    async fn restart(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("broker log");
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        wait_for_port(self.port, "tansu").await;
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not listen on 127.0.0.1:{port}");
}

/// The marketplace backend's token on every node.
const SERVICE_TOKEN: &str = "cluster-service-token-0123456789";
/// The webhook's signing key on every node.
const HOOK_SECRET: &str = "cluster-webhook-secret-0123";

/// Every node signs photo addresses with this key, so any node serves what another signed.
const PHOTO_KEY: &str = "cluster-photo-signing-key-0123456789";

/// One `reuse-chat serve` process.
struct Node {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Node {
    async fn start(cluster: &Cluster, name: &str) -> Node {
        let port = free_port();
        let log = cluster.dir.path().join(format!("{name}.log"));
        let bus = format!(
            "kafka://127.0.0.1:{}?topic={}&partitions=4",
            cluster.broker_port, cluster.topic
        );
        let child = spawn_node(
            port,
            &[
                "--blobs",
                &cluster.bucket,
                "--url-signing-key",
                PHOTO_KEY,
                "--database",
                cluster.storage.db.url(),
                "--presence",
                "redis://127.0.0.1:6379",
                "--presence-prefix",
                &cluster.prefix,
                "--bus",
                &bus,
                "--heartbeat-ms",
                "0",
                "--service-token",
                SERVICE_TOKEN,
                "--vapid-private-key",
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/vapid-test-key.pem"
                ),
                "--push-webhook",
                &format!("http://127.0.0.1:{}/hook", cluster.push.port),
                "--push-webhook-secret",
                HOOK_SECRET,
                "--push-allow-http-loopback",
                "--notify-gather-ms",
                "300",
            ],
            &[
                ("REUSE_CHAT_LOG", "info,librdkafka=warn"),
                S3Server::env()[0],
                S3Server::env()[1],
            ],
            Some(&log),
        );
        let node = Node {
            port,
            child: Some(child),
            log,
        };
        node.wait_ready().await;
        node
    }

    async fn wait_ready(&self) {
        wait_ready(self.port, Some(&self.log)).await;
    }

    fn api(&self, user: &str) -> Api {
        Api::on_port(self.port, user)
    }

    async fn stomp(&self, user: &str) -> Stomp {
        Stomp::connect(self.port, user).await
    }

    fn sigkill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL on Unix
            let _ = c.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.sigkill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of node :{} ---", self.port);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

// Fields drop in this order: nodes and broker first, the directory with their logs last.
struct Cluster {
    nodes: Vec<Node>,
    broker: Broker,
    /// The push service and webhook receiver every node notifies.
    push: common::push_receiver::PushReceiver,
    /// The photos' bucket, shared by every node.
    s3: S3Server,
    bucket: String,
    storage: Arc<Storage>,
    prefix: String,
    topic: String,
    broker_port: u16,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn start(n: usize) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = Broker::start(dir.path()).await;
        let s3 = S3Server::start();
        let bucket = s3.bucket();
        let push = common::push_receiver::PushReceiver::start(HOOK_SECRET).await;
        let mut cluster = Cluster {
            push,
            s3,
            bucket,
            storage: Storage::on(Backend::MySql).await,
            prefix: random_name("rc_test_"),
            topic: random_name("rc-test-"),
            broker_port: broker.port,
            broker,
            dir,
            nodes: Vec::new(),
        };
        for i in 0..n {
            let node = Node::start(&cluster, &format!("node{i}")).await;
            cluster.nodes.push(node);
        }
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            n.sigkill();
        }
        // Presence keys of killed nodes would expire by themselves; remove them now.
        if let Ok(client) = redis_client() {
            if let Ok(mut c) = client.get_connection() {
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg(format!("{}*", self.prefix))
                    .query(&mut c)
                    .unwrap_or_default();
                for k in keys {
                    let _: Result<(), _> = redis::cmd("DEL").arg(k).query(&mut c);
                }
            }
        }
    }
}

fn redis_client() -> redis::RedisResult<redis::Client> {
    redis::Client::open("redis://127.0.0.1:6379")
}

/// A subscriber that collects the ids of the messages it receives, in order.
struct Reader {
    seen: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Reader {
    async fn start(node: &Node, user: &str, room: &str) -> Reader {
        let mut c = node.stomp(user).await;
        c.subscribe("sub-0", room).await;
        Self::from_client(c)
    }

    fn from_client(mut c: Stomp) -> Reader {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let task = tokio::spawn(async move {
            while let Some(f) = c.next(Duration::from_secs(3600)).await {
                if f.command == "MESSAGE" {
                    s.lock().await.push(f.json());
                }
            }
        });
        Reader { seen, task }
    }

    async fn ids(&self) -> Vec<i64> {
        self.seen
            .lock()
            .await
            .iter()
            .filter_map(|m| m["id"].as_i64())
            .collect()
    }

    /// Waits until the reader has seen `expected` (or a minute passed), then checks it saw
    /// exactly that: every message once, in id order.
    async fn assert_saw(&self, expected: &[i64], who: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.ids().await;
            if got.len() >= expected.len() || tokio::time::Instant::now() > deadline {
                assert_eq!(got, expected, "{who}: every message once, in id order");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Every message id of the room, oldest first, read page by page.
async fn history_ids(api: &Api, room: &str) -> Vec<i64> {
    ids_of(&api.history_after(room, 0).await)
}

fn ids_of(messages: &[Value]) -> Vec<i64> {
    messages.iter().filter_map(|m| m["id"].as_i64()).collect()
}

/// Sends `n` messages one after another, each waiting for its receipt.
async fn send_many(node_port: u16, user: &str, room: &str, n: usize, tag: &str) {
    send_paced(node_port, user, room, n, tag, Duration::ZERO, None).await;
}

/// Sends `n` messages, pausing `pause` after each receipt; counts receipts into `receipts`.
async fn send_paced(
    node_port: u16,
    user: &str,
    room: &str,
    n: usize,
    tag: &str,
    pause: Duration,
    receipts: Option<Arc<std::sync::atomic::AtomicUsize>>,
) {
    let mut c = Stomp::connect(node_port, user).await;
    for i in 0..n {
        c.say(room, user, &format!("{tag} {i}"), &format!("{tag}-{i}"))
            .await;
        if let Some(r) = &receipts {
            r.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        tokio::time::sleep(pause).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_cross_nodes_in_order_exactly_once() {
    let cluster = Cluster::start(3).await;
    let [n0, n1, n2] = &cluster.nodes[..] else {
        unreachable!()
    };
    let room = n0.api("alice").open_room("bob", "자전거").await;
    let alice = Reader::start(n0, "alice", &room).await;
    let bob = Reader::start(n1, "bob", &room).await;
    let bob_phone = Reader::start(n2, "bob", &room).await;

    // Both members write at once from different nodes: the room's ids interleave.
    let (p0, p1) = (n0.port, n1.port);
    let (r0, r1) = (room.clone(), room.clone());
    let a = tokio::spawn(async move { send_many(p0, "alice", &r0, 100, "a").await });
    let b = tokio::spawn(async move { send_many(p1, "bob", &r1, 100, "b").await });
    a.await.unwrap();
    b.await.unwrap();

    // A leave on a third node reaches the member who stays as a SYSTEM notice.
    let (status, _) = n2.api("bob").delete(&format!("/room/delete/{room}")).await;
    assert_eq!(status, 204);
    let history = history_ids(&n0.api("alice"), &room).await;
    assert_eq!(history.len(), 201);
    alice.assert_saw(&history, "alice on node 0").await;
    let last = alice.seen.lock().await.last().cloned().unwrap();
    assert_eq!(last["type"], "SYSTEM", "{last}");
    // Bob's subscriptions ended with his leave: everything before it, nothing after.
    bob.assert_saw(&history[..200], "bob on node 1").await;
    bob_phone
        .assert_saw(&history[..200], "bob's phone on node 2")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_nodes_clients_resume_elsewhere_and_miss_nothing() {
    let mut cluster = Cluster::start(3).await;
    let room = cluster.nodes[0].api("alice").open_room("bob", "lamp").await;
    let alice = Reader::start(&cluster.nodes[0], "alice", &room).await;
    let bob = Reader::start(&cluster.nodes[1], "bob", &room).await;

    // Alice writes from node 2 throughout; bob writes from node 1, the node that dies, as
    // fast as he can without waiting for receipts.
    let (p2, r2) = (cluster.nodes[2].port, room.clone());
    let alice_sends = tokio::spawn(async move { send_many(p2, "alice", &r2, 300, "a").await });
    let mut bob_sender = cluster.nodes[1].stomp("bob").await;
    // 2,000 sends in WebSocket messages of 100 frames (a message is limited to 128 KiB).
    for chunk in 0..20 {
        let burst: String = (chunk * 100..(chunk + 1) * 100)
            .map(|i| {
                format!(
                    "SEND\ndestination:/pub/room/{room}/message\nreceipt:b-{i}\n\n{}\0",
                    json!({"content": format!("b {i}"), "clientMessageId": format!("b-{i}")})
                )
            })
            .collect();
        bob_sender.send_raw(burst).await;
    }
    let mut receipted = Vec::new();
    while receipted.len() < 50 {
        let f = bob_sender.recv().await;
        if f.command == "RECEIPT" {
            receipted.push(f.header("receipt-id").unwrap_or_default().to_owned());
        }
    }
    cluster.nodes[1].sigkill();
    while let Some(f) = bob_sender.next(Duration::from_secs(10)).await {
        if f.command == "RECEIPT" {
            receipted.push(f.header("receipt-id").unwrap_or_default().to_owned());
        }
    }
    alice_sends.await.unwrap();

    // Bob's client resumes on node 2: subscribe again, then read history after the last id
    // it showed, dropping live messages it already has.
    let shown = bob.ids().await;
    drop(bob);
    let last_shown = shown.last().copied().unwrap_or(0);
    let mut c = cluster.nodes[2].stomp("bob").await;
    c.subscribe("sub-0", &room).await;
    let live = Reader::from_client(c);
    let api = cluster.nodes[2].api("bob");
    let mut resumed = shown.clone();
    resumed.extend(ids_of(&api.history_after(&room, last_shown).await));
    let stored = api.history_after(&room, 0).await;
    let history = ids_of(&stored);
    // Live messages after the catch-up (none are expected, since sending has stopped).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut known: HashSet<i64> = resumed.iter().copied().collect();
    for id in live.ids().await {
        if known.insert(id) {
            resumed.push(id);
        }
    }
    assert_eq!(resumed, history, "bob resumed without a gap or a repeat");
    alice
        .assert_saw(&history, "alice on a surviving node")
        .await;

    // Nothing was acknowledged that is not stored.
    let contents: HashSet<&str> = stored
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    for r in &receipted {
        let content = r.replace('-', " ");
        assert!(
            contents.contains(content.as_str()),
            "receipted {r} is stored"
        );
    }
    assert!(receipted.len() >= 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_loses_nothing_and_repeats_nothing() {
    let mut cluster = Cluster::start(3).await;
    let room = cluster.nodes[0].api("alice").open_room("bob", "desk").await;
    let alice = Reader::start(&cluster.nodes[0], "alice", &room).await;
    let bob = Reader::start(&cluster.nodes[1], "bob", &room).await;
    let bob_phone = Reader::start(&cluster.nodes[2], "bob", &room).await;

    let (p0, p1) = (cluster.nodes[0].port, cluster.nodes[1].port);
    let (r0, r1) = (room.clone(), room.clone());
    let receipts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (c0, c1) = (receipts.clone(), receipts.clone());
    let pause = Duration::from_millis(30);
    let a =
        tokio::spawn(async move { send_paced(p0, "alice", &r0, 200, "a", pause, Some(c0)).await });
    let b =
        tokio::spawn(async move { send_paced(p1, "bob", &r1, 200, "b", pause, Some(c1)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.broker.kill();
    let at_kill = receipts.load(std::sync::atomic::Ordering::SeqCst);
    // Readiness names the bus as what is missing.
    let (status, ready) = cluster.nodes[2].api("x").get("/ready").await;
    assert_eq!(status, 503, "{ready}");
    assert_eq!(ready["backends"]["bus"], "unavailable", "{ready}");
    assert_eq!(ready["backends"]["storage"], "ok", "{ready}");
    // Receipts keep coming while the broker is away: they mean "stored", not "delivered".
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_restart = receipts.load(std::sync::atomic::Ordering::SeqCst);
    cluster.broker.restart().await;
    assert!(
        at_kill > 0 && at_restart > at_kill && at_restart < 400,
        "traffic before, during and after the outage: {at_kill} then {at_restart} of 400"
    );
    a.await.unwrap();
    b.await.unwrap();

    let history = history_ids(&cluster.nodes[0].api("alice"), &room).await;
    assert_eq!(history.len(), 400);
    alice.assert_saw(&history, "alice on node 0").await;
    bob.assert_saw(&history, "bob on node 1").await;
    bob_phone
        .assert_saw(&history, "bob's phone on node 2")
        .await;
    for node in &cluster.nodes {
        node.wait_ready().await;
    }
}

/// A session following its user's event stream: a [`Reader`] of `/user/queue/events`.
async fn follow_events(node: &Node, user: &str) -> Reader {
    let mut c = node.stomp(user).await;
    c.send_raw("SUBSCRIBE\nid:ev\ndestination:/user/queue/events\nreceipt:ev\n\n\0")
        .await;
    let f = c.recv().await;
    assert_eq!(f.command, "RECEIPT", "{f:?}");
    Reader::from_client(c)
}

impl Reader {
    /// Waits (up to `within`) for a frame body that `pred` accepts; returns it.
    async fn wait_for(&self, what: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(e) = self.seen.lock().await.iter().find(|e| pred(e)) {
                return e.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} within {within:?}; got {:?}",
                self.seen.lock().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.seen.lock().await.iter().filter(|e| pred(e)).count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversation_state_crosses_nodes_and_a_dead_nodes_user_goes_offline() {
    let mut cluster = Cluster::start(3).await;
    let within = Duration::from_secs(20);
    // Bob has two devices on two nodes; alice follows hers on node 0.
    let bob_phone = follow_events(&cluster.nodes[1], "bob").await;
    let bob_laptop = follow_events(&cluster.nodes[2], "bob").await;
    let room = cluster.nodes[0]
        .api("alice")
        .open_room("bob", "자전거")
        .await;
    for bob in [&bob_phone, &bob_laptop] {
        bob.wait_for("the new room", within, |e| {
            e["type"] == "ROOM_UPDATED" && e["room"]["roomUUID"] == room
        })
        .await;
    }
    let alice = follow_events(&cluster.nodes[0], "alice").await;
    for bob in [&bob_phone, &bob_laptop] {
        bob.wait_for("alice online", within, |e| {
            e["type"] == "PRESENCE" && e["user"] == "alice" && e["online"] == true
        })
        .await;
    }

    // Twenty messages from node 2: every device of bob's counts them all.
    send_many(cluster.nodes[2].port, "alice", &room, 20, "m").await;
    let last = *history_ids(&cluster.nodes[1].api("bob"), &room)
        .await
        .last()
        .unwrap();
    for bob in [&bob_phone, &bob_laptop] {
        let e = bob
            .wait_for("the 20th message's update", within, |e| {
                e["type"] == "ROOM_UPDATED" && e["room"]["lastMessage"]["id"] == last
            })
            .await;
        assert_eq!(e["room"]["unreadCount"], 20);
        bob.wait_for("alice's mark", within, |e| {
            e["type"] == "READ" && e["user"] == "alice" && e["upTo"] == last
        })
        .await;
    }
    // Bob reads on node 1: his other device and alice (node 0) learn it.
    let (status, _) = cluster.nodes[1]
        .api("bob")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204);
    bob_laptop
        .wait_for("bob's own mark from the other device", within, |e| {
            e["type"] == "ROOM_UPDATED"
                && e["room"]["unreadCount"] == 0
                && e["room"]["readUpTo"]["bob"] == last
        })
        .await;
    alice
        .wait_for("bob's READ", within, |e| {
            e["type"] == "READ" && e["user"] == "bob" && e["upTo"] == last
        })
        .await;
    let (_, unread) = cluster.nodes[2].api("bob").get("/room/unread").await;
    assert_eq!(unread, json!({"total": 0, "rooms": 0}));

    // Alice types on two nodes at once: one `true` reaches bob (per device) in the window.
    let mut t0 = cluster.nodes[0].stomp("alice").await;
    let mut t2 = cluster.nodes[2].stomp("alice").await;
    for (c, r) in [(&mut t0, "t0"), (&mut t2, "t2")] {
        c.send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/typing\nreceipt:{r}\n\n{{\"typing\": true}}\0"
        ))
        .await;
        assert_eq!(c.recv().await.command, "RECEIPT");
    }
    for bob in [&bob_phone, &bob_laptop] {
        bob.wait_for("alice typing", within, |e| {
            e["type"] == "TYPING" && e["typing"] == true
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for bob in [&bob_phone, &bob_laptop] {
        assert_eq!(
            bob.count(|e| e["type"] == "TYPING").await,
            1,
            "one typing per window across nodes"
        );
    }
    drop(t0);
    drop(t2);

    // Node 0, where alice's last session is, dies: bob's devices hear she went offline, and
    // her last seen is kept.
    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.nodes[0].sigkill();
    let mut offline = Value::Null;
    for bob in [&bob_phone, &bob_laptop] {
        offline = bob
            .wait_for(
                "alice offline after her node died",
                Duration::from_secs(60),
                |e| e["type"] == "PRESENCE" && e["user"] == "alice" && e["online"] == false,
            )
            .await;
        assert!(offline["lastSeenAt"].is_string(), "{offline}");
    }
    let (_, p) = cluster.nodes[1]
        .api("bob")
        .get(&format!("/room/{room}/presence"))
        .await;
    assert_eq!(p["online"], json!(["bob"]));
    assert_eq!(p["lastSeenAt"]["alice"], offline["lastSeenAt"]);
    drop(alice);
}

#[tokio::test]
async fn a_photo_uploaded_on_one_node_is_sent_through_another_and_served_by_a_third() {
    let cluster = Cluster::start(3).await;
    let [upload_node, send_node, bob_node] =
        [&cluster.nodes[0], &cluster.nodes[1], &cluster.nodes[2]];
    let room = upload_node.api("alice").open_room("bob", "카메라").await;
    let mut bob = bob_node.stomp("bob").await;
    bob.subscribe("r", &room).await;

    let (status, up) = upload_photo(upload_node.port, "alice", &room, &jpeg(400, 300)).await;
    assert_eq!(status, 201, "{up}");
    let id = up["id"].as_str().unwrap();
    // What node 0 signed, node 2 serves (one bucket, one key).
    let client = reqwest::Client::new();
    let fetch = |port: u16, path: String| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.bytes().await.unwrap())
        }
    };
    let (status, bytes) = fetch(bob_node.port, up["url"].as_str().unwrap().to_owned()).await;
    assert_eq!(
        (status, bytes.len() as u64),
        (200, up["size"].as_u64().unwrap())
    );

    let mut alice = send_node.stomp("alice").await;
    let body = json!({"roomUUID": room, "content": "렌즈 상태예요", "attachments": [id]});
    alice
        .send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\nreceipt:p\n\n{body}\0"
        ))
        .await;
    let f = alice.recv().await;
    assert_eq!(
        (f.command.as_str(), f.header("receipt-id")),
        ("RECEIPT", Some("p")),
        "{f:?} {}",
        f.text()
    );

    let m = tokio::time::timeout(Duration::from_secs(20), bob.message())
        .await
        .expect("bob gets the photo on node 2");
    assert_eq!(m["type"], "IMAGE", "{m}");
    assert_eq!(m["attachments"][0]["id"], id);
    let (status, served) = fetch(
        bob_node.port,
        m["attachments"][0]["url"].as_str().unwrap().to_owned(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(served, bytes, "node 2 served other bytes than node 0");
    let (status, thumb) = fetch(
        upload_node.port,
        m["attachments"][0]["thumbnailUrl"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!thumb.is_empty());
    // By membership, on yet another node than the one that stored it.
    let plain = format!("/room/{room}/attachments/{id}");
    let r = client
        .get(format!("http://127.0.0.1:{}{plain}", send_node.port))
        .header("X-Auth-User", "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let history = bob_node.api("bob").history(&room, "").await;
    assert_eq!(history.last().unwrap()["attachments"][0]["id"], id);
    assert_eq!(
        cluster.s3.objects(&cluster.bucket).len(),
        2,
        "photo and thumbnail, once"
    );
}

/// API-v2 "Safety" across nodes: a block made through node 0 refuses the blocked user's send
/// on node 1 at once (storage checks it in the commit's transaction), every node forgets its
/// cached blocks through the bus (typing relayed by node 1 stops), a room cannot be reopened
/// through node 2, and lifting the block on node 2 lets the next message through everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_block_made_on_one_node_stops_the_others_at_once() {
    let cluster = Cluster::start(3).await;
    let within = Duration::from_secs(20);
    let room = cluster.nodes[0]
        .api("alice")
        .open_room("bob", "노트북")
        .await;
    let bob_events = follow_events(&cluster.nodes[2], "bob").await;
    let bob_room = Reader::start(&cluster.nodes[2], "bob", &room).await;
    let mut alice = cluster.nodes[1].stomp("alice").await;
    let typing = format!(
        "SEND\ndestination:/pub/room/{room}/typing\ncontent-type:application/json\n\n{{\"typing\":true}}\0"
    );
    // Before the block: node 1 relays alice's typing (and caches that she has no blocks).
    alice.send_raw(typing.clone()).await;
    bob_events
        .wait_for("alice typing", within, |e| {
            e["type"] == "TYPING" && e["user"] == "alice"
        })
        .await;

    let (status, v) = cluster.nodes[0]
        .api("bob")
        .call(
            "POST",
            "/user/blocks",
            Some(br#"{"user":"alice"}"#.to_vec()),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    // At once, on another node: the send is refused and reaches nobody.
    let body = json!({"content": "제 말 들리세요?"});
    alice
        .send_raw(format!(
            "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:x\n\n{body}\0"
        ))
        .await;
    let f = alice.expect_error().await;
    assert_eq!(f.header("code"), Some("blocked"), "{f:?}");
    let (status, v) = cluster.nodes[2]
        .api("alice")
        .post("/room/create?user=bob&name=x")
        .await;
    assert_eq!((status, v["error"].as_str()), (403, Some("blocked")), "{v}");

    // Typing through node 1 no longer reaches bob: past the relay window, one more try.
    let typed_before = bob_events.count(|e| e["type"] == "TYPING").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut alice = cluster.nodes[1].stomp("alice").await;
    alice.send_raw(typing).await;
    // A message after the typing, on another room, proves the stream is flowing meanwhile.
    let other = cluster.nodes[1]
        .api("carol")
        .open_room("bob", "모니터")
        .await;
    bob_events
        .wait_for("carol's room", within, |e| {
            e["type"] == "ROOM_UPDATED" && e["room"]["roomUUID"] == other
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        bob_events.count(|e| e["type"] == "TYPING").await,
        typed_before,
        "typing crossed the block"
    );

    // Lifted on node 2: alice's next message through node 1 reaches bob on node 2.
    let (status, _) = cluster.nodes[2]
        .api("bob")
        .delete("/user/blocks/alice")
        .await;
    assert_eq!(status, 204);
    alice.say(&room, "alice", "다시 안녕하세요", "again").await;
    let deadline = tokio::time::Instant::now() + within;
    while bob_room.ids().await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message after unblocking never came"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bob_room.seen.lock().await[0]["content"], "다시 안녕하세요");
    assert_eq!(
        bob_room.ids().await.len(),
        1,
        "the refused message never arrived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_status_change_on_one_node_reaches_rooms_served_by_another_and_is_found_there() {
    let cluster = Cluster::start(3).await;
    let within = Duration::from_secs(20);
    let mut rooms = Vec::new();
    for (buyer, node) in [("alice", 1), ("bob", 2)] {
        let (status, room) = cluster.nodes[node]
            .api(buyer)
            .post("/room/create?user=sam&name=bike&productId=p-cluster")
            .await;
        assert!(status == 201 || status == 200, "{status} {room}");
        rooms.push(room["roomUUID"].as_str().unwrap().to_owned());
    }
    let alice = Reader::start(&cluster.nodes[1], "alice", &rooms[0]).await;
    let bob = Reader::start(&cluster.nodes[2], "bob", &rooms[1]).await;
    let (status, v) = cluster.nodes[0]
        .api("nobody")
        .with_bearer(SERVICE_TOKEN)
        .call(
            "PUT",
            "/product/p-cluster/status",
            Some(
                json!({"status": "SOLD", "buyer": "bob"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(status, 204, "{v}");
    let to_alice = alice
        .wait_for("alice's notice", within, |m| {
            m["notice"] == "PRODUCT_STATUS"
        })
        .await;
    let to_bob = bob
        .wait_for("bob's notice", within, |m| m["notice"] == "PRODUCT_STATUS")
        .await;
    assert_eq!(to_alice["productStatus"], "SOLD");
    assert!(
        to_alice["content"]
            .as_str()
            .unwrap()
            .contains("다른 구매자"),
        "{to_alice}"
    );
    assert!(
        to_bob["content"].as_str().unwrap().contains("거래가 완료"),
        "{to_bob}"
    );
    let (_, list) = cluster.nodes[2].api("bob").get("/room/list").await;
    assert_eq!(list[0]["productStatus"], "SOLD", "{list}");

    // Search (API-v2: findable within 5 s in a cluster): a message sent through node 1 and
    // the notice written by node 0 are found on node 2, and only by the rooms' members.
    send_many(
        cluster.nodes[1].port,
        "alice",
        &rooms[0],
        1,
        "택배거래 가능한가요",
    )
    .await;
    let search = |node: usize, user: &'static str, q: &'static str| {
        let api = cluster.nodes[node].api(user);
        async move {
            let (status, page) = api.get(&format!("/search?q={}", common::enc(q))).await;
            assert_eq!(status, 200, "{page}");
            page["messages"].as_array().unwrap().clone()
        }
    };
    let hits = search(2, "sam", "ㅌㅂ").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["content"], "택배거래 가능한가요 0");
    let notices = search(2, "alice", "다른 구매자").await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["notice"], "PRODUCT_STATUS");
    assert!(search(0, "bob", "택배").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_away_member_of_a_three_node_cluster_is_notified_once() {
    let cluster = Cluster::start(3).await;
    let push = &cluster.push;
    let room = cluster.nodes[0].api("alice").open_room("sam", "lamp").await;
    let (status, v) = cluster.nodes[0]
        .api("alice")
        .call(
            "POST",
            "/push/subscriptions",
            Some(push.subscription("alice-phone").to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    // Sam writes from two nodes at once; alice has no session on any node. Every node runs a
    // sender; the burst still arrives once on her phone and once at the webhook.
    let mut sam1 = cluster.nodes[1].stomp("sam").await;
    let mut sam2 = cluster.nodes[2].stomp("sam").await;
    for i in 0..3 {
        sam1.say(&room, "sam", &format!("one {i}"), &format!("a{i}"))
            .await;
        sam2.say(&room, "sam", &format!("two {i}"), &format!("b{i}"))
            .await;
    }
    let got = push.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got_later = push.received();
    assert_eq!(got_later.len(), 2, "once per target: {got_later:?}");
    assert!(push.rejected().is_empty(), "{:?}", push.rejected());
    let mut targets: Vec<_> = got.iter().map(|g| g.target.clone()).collect();
    targets.sort();
    assert_eq!(targets, ["push:alice-phone", "webhook"]);
    assert_eq!(got[0].payload["id"], got[1].payload["id"]);
    // Alice online on node 2 (after reading): a message from node 0 notifies nobody.
    let _alice = cluster.nodes[2].stomp("alice").await;
    let last = cluster.nodes[2]
        .api("alice")
        .history(&room, "")
        .await
        .last()
        .unwrap()["id"]
        .clone();
    let (status, _) = cluster.nodes[2]
        .api("alice")
        .call(
            "POST",
            &format!("/room/{room}/read"),
            Some(json!({"upTo": last}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 204);
    let mut sam0 = cluster.nodes[0].stomp("sam").await;
    sam0.say(&room, "sam", "are you there?", "c").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(push.received().len(), 2, "{:?}", push.received());
}
