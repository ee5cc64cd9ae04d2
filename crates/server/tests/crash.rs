//! Crash safety, measured: the real `reuse-chat` binary under a `persist`-style load (publishers
//! each keeping a window of `SEND`s with receipts in flight) is killed with SIGKILL at a random
//! moment, restarted on the same database, and its history is checked against what the clients
//! saw: every message whose `RECEIPT` arrived is stored exactly once, nothing unacknowledged is
//! stored twice, no id is handed out twice or reassigned, ids within a room only grow, and a
//! send retried with the same `clientMessageId` after the restart is stored once. Three
//! kill/restart cycles on the same data, on SQLite, MariaDB and PostgreSQL.
//!
//! Needs MariaDB (127.0.0.1:3306) and PostgreSQL (127.0.0.1:5432), as the rest of the suite;
//! a missing service fails the test naming it.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_store::Backend;
use common::*;
use futures::SinkExt;
use rand::Rng;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Rooms written to (each by several sessions, so batches mix rooms and sessions).
const ROOMS: usize = 4;
/// Publishing sessions.
const PUBLISHERS: usize = 12;
/// `SEND`s each session keeps in flight (sent, no receipt yet).
const WINDOW: usize = 24;
/// Kill/restart cycles per backend, each continuing on the data of the one before.
const CYCLES: usize = 3;
/// Fewest receipts (all sessions together) that must have arrived before a kill for the cycle
/// to prove anything.
const MIN_RECEIPTS: usize = 100;

/// One `reuse-chat serve` process on the test's storage.
struct Node {
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

impl Node {
    async fn start(storage: &Storage, logs: &std::path::Path, name: &str) -> Node {
        let port = free_port();
        let log = logs.join(format!("{name}.log"));
        let data_dir = storage.dir.path().to_str().expect("utf-8 path");
        let child = spawn_node(
            port,
            &[
                "--database",
                storage.db.url(),
                "--data-dir",
                data_dir,
                "--heartbeat-ms",
                "0",
            ],
            &[],
            Some(&log),
        );
        let node = Node {
            port,
            child: Some(child),
            log,
        };
        wait_ready(port, Some(&node.log)).await;
        node
    }

    fn api(&self, user: &str) -> Api {
        Api::on_port(self.port, user)
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reaps the process.
    fn sigkill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL the node");
            c.wait().expect("reap the node");
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.sigkill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of {} ---", self.log.display());
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}

/// A room and its two members.
struct Room {
    uuid: String,
    buyer: String,
    seller: String,
}

/// What the clients know of one message they sent.
struct Expect {
    room: usize,
    sender: String,
    /// A `RECEIPT` for it arrived (in the load, or for a retry after a restart).
    acked: bool,
    /// A settled history read found it missing: it must never appear later unless retried.
    /// (A read right after a restart does not settle: a transaction of the killed process
    /// whose `COMMIT` had reached MariaDB or PostgreSQL may still complete after it. It holds
    /// its rooms' locks until then, so it is settled once a retry in every room of the last
    /// load has been stored.)
    settled_absent: bool,
}

/// One publishing session: its sends in order (by clientMessageId) and how many of them got a
/// receipt (receipts come in send order, so those are the first `acked`).
struct Session {
    room: usize,
    user: String,
    sends: Vec<String>,
    acked: usize,
    /// Frames other than `RECEIPT` (an `ERROR` would mean a send failed before the kill).
    unexpected: Vec<String>,
}

/// Everything sent so far and everything a history read has shown, across restarts.
struct Model {
    rooms: Vec<Room>,
    expect: HashMap<String, Expect>,
    sessions: Vec<Session>,
    /// clientMessageId → id, as the last history read showed it.
    ids: HashMap<String, i64>,
    /// id → clientMessageId, for every id ever shown.
    owners: HashMap<i64, String>,
    /// The newest id of each room at the last history read.
    room_max: Vec<i64>,
}

fn content_of(cmid: &str) -> String {
    format!("crash {cmid}")
}

/// Counts from one history read.
#[derive(Debug, Default)]
struct Checked {
    stored: usize,
    /// New since the last read although no receipt arrived for them.
    new_unacked: usize,
}

impl Model {
    /// Reads every room's whole history from `node` and checks it against what was sent and
    /// what earlier reads showed; `settle`: what is missing now must stay missing.
    async fn verify(&mut self, node: &Node, when: &str, settle: bool) -> Checked {
        let mut checked = Checked::default();
        let mut present: HashMap<String, i64> = HashMap::new();
        let mut ids_now: HashSet<i64> = HashSet::new();
        let mut room_max = self.room_max.clone();
        for (r, room) in self.rooms.iter().enumerate() {
            let history = node.api(&room.buyer).history_after(&room.uuid, 0).await;
            let mut prev_id = 0i64;
            for m in &history {
                let id = m["id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{when}: id of {m}"));
                let cmid = m["clientMessageId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{when}: a message nobody sent: {m}"))
                    .to_owned();
                let e = self
                    .expect
                    .get(&cmid)
                    .unwrap_or_else(|| panic!("{when}: a message nobody sent: {m}"));
                assert_eq!(e.room, r, "{when}: {cmid} stored in the wrong room: {m}");
                assert_eq!(m["sender"], e.sender.as_str(), "{when}: {m}");
                assert_eq!(m["content"], content_of(&cmid).as_str(), "{when}: {m}");
                assert!(
                    id > prev_id,
                    "{when}: ids of room {r} not increasing: {prev_id} then {id}"
                );
                prev_id = id;
                assert!(ids_now.insert(id), "{when}: id {id} appears twice");
                if let Some(first) = present.insert(cmid.clone(), id) {
                    panic!("{when}: {cmid} stored twice, as ids {first} and {id}");
                }
                match self.ids.get(&cmid) {
                    Some(&before) => assert_eq!(
                        before, id,
                        "{when}: {cmid} had id {before} and now has id {id}"
                    ),
                    None => {
                        // New since the last read: a fresh id, after everything the room had.
                        if let Some(owner) = self.owners.get(&id) {
                            panic!(
                                "{when}: id {id} handed out again: it was {owner}'s, now {cmid}'s"
                            );
                        }
                        assert!(
                            id > self.room_max[r],
                            "{when}: {cmid} is new in room {r} but its id {id} is not after the \
                             room's newest id {} at the last read",
                            self.room_max[r]
                        );
                        assert!(
                            !e.settled_absent || e.acked,
                            "{when}: {cmid} was missing at an earlier settled read, was not \
                             retried, and has now appeared (id {id})"
                        );
                        if !e.acked {
                            checked.new_unacked += 1;
                        }
                    }
                }
                room_max[r] = room_max[r].max(id);
                checked.stored += 1;
            }
        }
        let mut lost_acked = Vec::new();
        for (cmid, e) in &mut self.expect {
            if !present.contains_key(cmid) {
                if e.acked {
                    lost_acked.push(cmid.clone());
                }
                e.settled_absent |= settle;
            }
        }
        lost_acked.sort();
        assert!(
            lost_acked.is_empty(),
            "{when}: {} message(s) whose RECEIPT arrived are not stored: {:?}",
            lost_acked.len(),
            &lost_acked[..lost_acked.len().min(20)]
        );
        for cmid in self.ids.keys() {
            assert!(
                present.contains_key(cmid),
                "{when}: {cmid} was stored at an earlier read and is gone"
            );
        }
        // One committer stores a session's sends in the order they arrived, batch after batch
        // (docs/DESIGN.md, "Sending a message"): what a session has stored is a prefix of what
        // it sent, in increasing ids.
        for s in &self.sessions {
            let stored = s
                .sends
                .iter()
                .take_while(|c| present.contains_key(*c))
                .count();
            let holes: Vec<&String> = s.sends[stored..]
                .iter()
                .filter(|c| present.contains_key(*c))
                .collect();
            assert!(
                holes.is_empty(),
                "{when}: session of {} stored {:?} but not {}, which it sent before",
                s.user,
                &holes[..holes.len().min(5)],
                s.sends[stored]
            );
            let ids: Vec<i64> = s.sends[..stored].iter().map(|c| present[c]).collect();
            assert!(
                ids.windows(2).all(|w| w[0] < w[1]),
                "{when}: a session's messages were stored out of order: {ids:?}"
            );
        }
        for (cmid, &id) in &present {
            self.owners.insert(id, cmid.clone());
        }
        self.ids = present;
        self.room_max = room_max;
        checked
    }

    /// After a restart, retries some sends of the sessions of the last load with their
    /// clientMessageIds: the last acknowledged one (stored: must not be stored again), the first
    /// unacknowledged one and the first one not stored. Each gets its `RECEIPT`. Returns how
    /// many retries there were, and how many of them were of messages not stored at the last
    /// read.
    async fn retry_some(
        &mut self,
        node: &Node,
        sessions: std::ops::Range<usize>,
    ) -> (usize, usize) {
        let (mut picked, mut newly) = (0, 0);
        for s in &self.sessions[sessions] {
            let stored = s
                .sends
                .iter()
                .take_while(|c| self.ids.contains_key(*c))
                .count();
            let mut picks: Vec<usize> = Vec::new();
            if s.acked > 0 {
                picks.push(s.acked - 1);
            }
            picks.extend([s.acked, stored].into_iter().filter(|&i| i < s.sends.len()));
            picks.sort_unstable();
            picks.dedup();
            let room = &self.rooms[s.room].uuid;
            let mut c = Stomp::connect(node.port, &s.user).await;
            picked += picks.len();
            for &i in &picks {
                let cmid = &s.sends[i];
                if !self.ids.contains_key(cmid) {
                    newly += 1;
                }
                c.send_raw(send_frame(room, cmid)).await;
            }
            for &i in &picks {
                let f = c.recv().await;
                assert_eq!(
                    f.command,
                    "RECEIPT",
                    "retry of {}: {f:?} {}",
                    s.sends[i],
                    f.text()
                );
                assert_eq!(f.header("receipt-id"), Some(s.sends[i].as_str()));
            }
            for &i in &picks {
                if let Some(e) = self.expect.get_mut(&s.sends[i]) {
                    e.acked = true;
                }
            }
        }
        (picked, newly)
    }
}

fn send_frame(room: &str, cmid: &str) -> String {
    let body = json!({"roomUUID": room, "content": content_of(cmid), "clientMessageId": cmid});
    format!(
        "SEND\ndestination:/pub/room/{room}/message\ncontent-type:application/json\nreceipt:{cmid}\n\n{body}\0"
    )
}

/// Sends written and receipts read by all publishers so far, for a snapshot at the kill.
#[derive(Default)]
struct Counters {
    written: AtomicUsize,
    receipts: AtomicUsize,
}

/// One publisher: keeps `WINDOW` sends in flight until the connection dies, then reads what
/// the server had sent before it died.
async fn publish(
    port: u16,
    room_index: usize,
    room: String,
    user: String,
    prefix: String,
    started: Arc<tokio::sync::Barrier>,
    counters: Arc<Counters>,
) -> Session {
    let mut c = Stomp::connect(port, &user).await;
    let mut s = Session {
        room: room_index,
        user,
        sends: Vec::new(),
        acked: 0,
        unexpected: Vec::new(),
    };
    started.wait().await;
    let mut open = true;
    loop {
        while open && s.sends.len() - s.acked < WINDOW {
            let cmid = format!("{prefix}-{}", s.sends.len());
            // Recorded before it is written: a send that may have reached the server.
            s.sends.push(cmid.clone());
            if c.ws
                .send(Message::text(send_frame(&room, &cmid)))
                .await
                .is_ok()
            {
                counters.written.fetch_add(1, Ordering::SeqCst);
            } else {
                open = false;
            }
        }
        match c.next(Duration::from_secs(30)).await {
            None => return s,
            Some(f) if f.command == "RECEIPT" => {
                let expected = s.sends.get(s.acked).map(String::as_str);
                assert_eq!(
                    f.header("receipt-id"),
                    expected,
                    "receipts come in the order of the sends"
                );
                s.acked += 1;
                counters.receipts.fetch_add(1, Ordering::SeqCst);
            }
            Some(f) => {
                s.unexpected.push(format!("{f:?} {}", f.text()));
                open = false;
            }
        }
    }
}

/// What one load-and-kill cycle saw.
struct Killed {
    after: Duration,
    /// Receipts read before the kill.
    receipts_at_kill: usize,
    /// Sends written and not yet answered at the kill.
    in_flight_at_kill: usize,
    /// Receipts read in all (the last ones left the server just before it died).
    receipts: usize,
    /// Sends never answered.
    unanswered: usize,
}

/// Runs the publishers against `node` and SIGKILLs it after a random 200–800 ms.
async fn load_and_kill(model: &mut Model, node: &mut Node, cycle: usize) -> Killed {
    let started = Arc::new(tokio::sync::Barrier::new(PUBLISHERS + 1));
    let counters = Arc::new(Counters::default());
    let mut tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let r = p % ROOMS;
        let room = &model.rooms[r];
        let user = if (p / ROOMS).is_multiple_of(2) {
            &room.buyer
        } else {
            &room.seller
        };
        tasks.push(tokio::spawn(publish(
            node.port,
            r,
            room.uuid.clone(),
            user.clone(),
            format!("k{cycle}-p{p}"),
            started.clone(),
            counters.clone(),
        )));
    }
    tokio::time::timeout(Duration::from_secs(20), started.wait())
        .await
        .expect("every publisher connects");
    let started_at = Instant::now();
    let after = Duration::from_millis(rand::thread_rng().gen_range(200..=800));
    tokio::time::sleep(after).await;
    // On a busy machine the server may have stalled: the kill waits for enough receipts (and
    // the test fails below if they never come).
    let deadline = Instant::now() + Duration::from_secs(20);
    while counters.receipts.load(Ordering::SeqCst) < MIN_RECEIPTS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let after = after.max(started_at.elapsed());
    let receipts_at_kill = counters.receipts.load(Ordering::SeqCst);
    let in_flight_at_kill = counters.written.load(Ordering::SeqCst) - receipts_at_kill;
    node.sigkill();
    let (mut receipts, mut unanswered) = (0, 0);
    for t in tasks {
        let s = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("publisher ends after the kill")
            .expect("publisher did not panic");
        assert!(
            s.unexpected.is_empty(),
            "cycle {cycle}: {} got frames other than RECEIPT: {:?}",
            s.user,
            s.unexpected
        );
        receipts += s.acked;
        unanswered += s.sends.len() - s.acked;
        for (i, cmid) in s.sends.iter().enumerate() {
            model.expect.insert(
                cmid.clone(),
                Expect {
                    room: s.room,
                    sender: s.user.clone(),
                    acked: i < s.acked,
                    settled_absent: false,
                },
            );
        }
        model.sessions.push(s);
    }
    Killed {
        after,
        receipts_at_kill,
        in_flight_at_kill,
        receipts,
        unanswered,
    }
}

async fn crash_cycles(backend: Backend) {
    let began = Instant::now();
    let storage = Storage::on(backend).await;
    let logs = tempfile::tempdir().expect("tempdir");
    let mut node = Node::start(&storage, logs.path(), "start-0").await;
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        let (buyer, seller) = (format!("buyer{r}"), format!("seller{r}"));
        let uuid = node
            .api(&buyer)
            .open_room(&seller, &format!("crash {r}"))
            .await;
        rooms.push(Room {
            uuid,
            buyer,
            seller,
        });
    }
    let mut model = Model {
        rooms,
        expect: HashMap::new(),
        sessions: Vec::new(),
        ids: HashMap::new(),
        owners: HashMap::new(),
        room_max: vec![0; ROOMS],
    };
    for cycle in 0..CYCLES {
        let first_session = model.sessions.len();
        let killed = load_and_kill(&mut model, &mut node, cycle).await;
        let restart = Instant::now();
        node = Node::start(&storage, logs.path(), &format!("start-{}", cycle + 1)).await;
        let restart = restart.elapsed();
        let when = format!("{backend:?} cycle {cycle}, after the restart");
        let checked = model.verify(&node, &when, false).await;
        // Sends of this cycle stored although their receipt never arrived (at the first
        // read after the restart).
        let stored_unacked: usize = model.sessions[first_session..]
            .iter()
            .map(|s| {
                let unanswered = &s.sends[s.acked..];
                unanswered
                    .iter()
                    .filter(|c| model.ids.contains_key(*c))
                    .count()
            })
            .sum();
        let (picked, newly) = model
            .retry_some(&node, first_session..model.sessions.len())
            .await;
        let when = format!("{backend:?} cycle {cycle}, after the retries");
        let settled = model.verify(&node, &when, true).await;
        println!(
            "{backend:?} cycle {cycle}: SIGKILL after {:?}: {} receipts and {} sends in flight \
             at the kill, {} receipts in all, {} sends unanswered; after the restart ({:?}) \
             {} messages stored in all, {} unanswered sends of this cycle among them (receipt \
             lost); at least {} more committed only after that read (an in-doubt COMMIT); \
             {picked} retries, {newly} of them of sends missing at that read",
            killed.after,
            killed.receipts_at_kill,
            killed.in_flight_at_kill,
            killed.receipts,
            killed.unanswered,
            restart,
            checked.stored,
            stored_unacked,
            settled.new_unacked,
        );
        if backend == Backend::Sqlite {
            // SQLite's writer lived in the killed process: nothing of it can commit later.
            assert_eq!(settled.new_unacked, 0, "{when}: late commits on SQLite");
        }
        assert!(
            killed.receipts_at_kill >= MIN_RECEIPTS,
            "{backend:?} cycle {cycle}: only {} receipts arrived before the kill (at least \
             {MIN_RECEIPTS} needed for the cycle to mean something)",
            killed.receipts_at_kill
        );
        assert!(
            killed.in_flight_at_kill >= PUBLISHERS,
            "{backend:?} cycle {cycle}: only {} sends were in flight at the kill",
            killed.in_flight_at_kill
        );
    }
    node.sigkill();
    println!(
        "{backend:?}: {CYCLES} kill/restart cycles in {:?}",
        began.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_every_receipted_message_through_sigkill() {
    crash_cycles(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_keeps_every_receipted_message_through_sigkill() {
    crash_cycles(Backend::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_every_receipted_message_through_sigkill() {
    crash_cycles(Backend::Postgres).await;
}
