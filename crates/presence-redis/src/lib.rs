//! Presence in Redis: every node records its live STOMP sessions (user, node, rooms) in one
//! Redis, so any node can answer who is online and who is in a room across the cluster.
//!
//! Each node keeps a deadline in `P:nodes` that a background task extends every `refresh`
//! (default 5 s) to now + `node_ttl` (default 15 s), judged by Redis's clock. Answers count only
//! sessions of nodes whose deadline lies ahead, so a node that dies without cleaning up (SIGKILL,
//! power loss) drops out of every answer within `node_ttl`; the live nodes' refreshers then sweep
//! its leftover records. A clean [`Presence::stop`] removes the node at once.
//!
//! The node also keeps its own sessions in memory. When its deadline had lapsed (a pause or a
//! partition longer than the TTL, after which other nodes may have swept it), when Redis lost
//! its data, or after a write failed, the next refresh makes Redis's record of this node's
//! sessions match that memory again. Presence is advisory: every Redis failure is reported as
//! [`PresenceError::Unavailable`], and each call is bounded by `timeout`.
//!
//! The key layout and the scripts are in the `scripts` module.

mod scripts;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chat_core::ports::{Presence, PresenceError, SessionInfo, SharedBuckets, MAX_PRESENCE_USERS};
use chat_core::{RoomId, UserId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::scripts::Scripts;

/// The key prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "reuse-chat";

/// Sessions per script call when sweeping or re-recording, so no single script blocks Redis
/// for long.
const BATCH: usize = 200;

/// Expired nodes one refresh looks at; more are found by the next refresh.
const DEAD_NODES_PER_BEAT: usize = 16;

/// How the Redis presence behaves.
#[derive(Debug, Clone)]
pub struct RedisPresenceOptions {
    /// Prefix of every key, so several deployments (or tests) can share one Redis.
    pub prefix: String,
    /// How long a node counts as alive after its last refresh.
    pub node_ttl: Duration,
    /// How often a node refreshes its liveness (and sweeps dead nodes).
    pub refresh: Duration,
    /// Longest wait for one Redis call (connecting included) before it fails as unavailable.
    pub timeout: Duration,
}

impl Default for RedisPresenceOptions {
    fn default() -> Self {
        RedisPresenceOptions {
            prefix: DEFAULT_PREFIX.to_owned(),
            node_ttl: Duration::from_secs(15),
            refresh: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }
}

/// Why a Redis presence could not be set up.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RedisPresenceError {
    /// The URL is not a Redis URL the client can use.
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// The options contradict each other or name impossible keys.
    #[error("invalid presence option: {0}")]
    Options(String),
}

/// Checks a Redis URL (`redis://host:port[/db]`) without connecting, for settings validation.
pub fn check_url(url: &str) -> Result<(), RedisPresenceError> {
    if !url.starts_with("redis://") {
        return Err(RedisPresenceError::Url(
            "expected a URL like redis://host:port[/db]".to_owned(),
        ));
    }
    redis::Client::open(url)
        .map(|_| ())
        .map_err(|e| RedisPresenceError::Url(e.to_string()))
}

/// Checks a key prefix: 1–64 characters of letters, digits and `-_.:`, so keys are readable
/// and the prefix can be used as a `SCAN` pattern as is.
pub fn check_prefix(prefix: &str) -> Result<(), RedisPresenceError> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(RedisPresenceError::Options(
            "the prefix must be 1-64 letters, digits or -_.:".to_owned(),
        ))
    }
}

impl RedisPresenceOptions {
    fn check(&self) -> Result<(), RedisPresenceError> {
        check_prefix(&self.prefix)?;
        let bad = |m: &str| Err(RedisPresenceError::Options(m.to_owned()));
        if self.refresh < Duration::from_millis(10) {
            return bad("the refresh interval must be at least 10 ms");
        }
        if self.node_ttl < self.refresh * 2 {
            return bad("the node TTL must be at least twice the refresh interval");
        }
        if self.timeout.is_zero() || self.timeout >= self.node_ttl {
            return bad("the timeout must be positive and shorter than the node TTL");
        }
        Ok(())
    }
}

/// One of this node's sessions as the node itself knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct LocalSession {
    user: UserId,
    rooms: BTreeSet<RoomId>,
}

/// What the presence and its refresher share.
struct Shared {
    conn: ConnectionManager,
    scripts: Scripts,
    prefix: String,
    node: String,
    options: RedisPresenceOptions,
    /// This node's sessions: the truth Redis is brought back to after it lost track.
    local: Mutex<HashMap<String, LocalSession>>,
    /// A write failed, so Redis may disagree with `local` until the next re-record.
    dirty: AtomicBool,
    /// Where sweeps report users left with no live session by a dead node.
    departures: mpsc::Sender<UserId>,
}

/// Presence shared by every node through one Redis; see the crate documentation.
pub struct RedisPresence {
    shared: Arc<Shared>,
    refresher: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
    departures: Mutex<Option<mpsc::Receiver<UserId>>>,
}

/// Departures waiting for the service; past it a sweep's report is logged and dropped (the
/// users are offline either way; only their partners' `PRESENCE` is missed).
const DEPARTURES_QUEUE: usize = 4096;

fn unavailable(e: impl std::fmt::Display) -> PresenceError {
    PresenceError::Unavailable(format!("redis: {e}"))
}

impl RedisPresence {
    /// Sets up presence for node `node` (unique in the cluster) on the Redis at `url` and
    /// starts its refresher. Redis being down is not an error here: the first refresh is
    /// tried once (bounded by the timeout), calls fail as unavailable until Redis answers,
    /// and the refresher records this node once it does.
    pub async fn connect(
        url: &str,
        node: &str,
        options: RedisPresenceOptions,
    ) -> Result<RedisPresence, RedisPresenceError> {
        check_url(url)?;
        options.check()?;
        if node.is_empty() {
            return Err(RedisPresenceError::Options(
                "the node id must not be empty".to_owned(),
            ));
        }
        let client =
            redis::Client::open(url).map_err(|e| RedisPresenceError::Url(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.timeout))
            .set_response_timeout(Some(options.timeout))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RedisPresenceError::Url(e.to_string()))?;
        let (departures_tx, departures_rx) = mpsc::channel(DEPARTURES_QUEUE);
        let shared = Arc::new(Shared {
            departures: departures_tx,
            conn,
            scripts: Scripts::new(),
            prefix: options.prefix.clone(),
            node: node.to_owned(),
            options,
            local: Mutex::new(HashMap::new()),
            dirty: AtomicBool::new(false),
        });
        // Beat once before any session is recorded, so this node counts as alive from its
        // first session on.
        let first = shared.refresh().await;
        if let Err(e) = &first {
            tracing::warn!(error = %e, "presence: Redis is not reachable yet; retrying in the background");
        }
        let refresher = CancellationToken::new();
        let task = tokio::spawn(refresh_loop(
            shared.clone(),
            refresher.clone(),
            first.is_ok(),
        ));
        Ok(RedisPresence {
            shared,
            refresher,
            task: Mutex::new(Some(task)),
            departures: Mutex::new(Some(departures_rx)),
        })
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.shared.node
    }

    /// Stops refreshing this node's liveness and removes nothing: what a crash looks like to
    /// the other nodes. For tests of expiry; a server stops with [`Presence::stop`].
    pub async fn halt(&self) {
        self.refresher.cancel();
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for RedisPresence {
    fn drop(&mut self) {
        // The refresher holds only `Shared`; without this it would keep the node alive.
        self.refresher.cancel();
    }
}

/// Locks a mutex that only plain data sits behind; a panic elsewhere cannot leave it in a
/// state worse than losing presence, so the guard is recovered.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Beats every `refresh`; logs when Redis becomes unreachable and when it is back.
async fn refresh_loop(shared: Arc<Shared>, stop: CancellationToken, mut healthy: bool) {
    let mut tick = tokio::time::interval(shared.options.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // The first tick is immediate; `connect` already beat.
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        match shared.refresh().await {
            Ok(()) if !healthy => {
                healthy = true;
                tracing::info!("presence: Redis reachable again");
            }
            Ok(()) => {}
            Err(e) if healthy => {
                healthy = false;
                tracing::warn!(error = %e, "presence: refresh failed; this node's sessions drop out of presence until Redis answers");
            }
            Err(_) => {}
        }
    }
}

impl Shared {
    /// A script call with the prefix as its first argument.
    fn call<'a>(&self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut inv = script.prepare_invoke();
        inv.arg(&self.prefix);
        inv
    }

    /// Runs a script call within the timeout.
    async fn run<T: FromRedisValue>(&self, inv: &ScriptInvocation<'_>) -> Result<T, PresenceError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.options.timeout, inv.invoke_async(&mut conn)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(unavailable("no answer within the timeout")),
        }
    }

    /// Runs a plain command within the timeout.
    async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, PresenceError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.options.timeout, cmd.query_async(&mut conn)).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(unavailable("no answer within the timeout")),
        }
    }

    /// Runs a write; a failure leaves Redis behind this node's memory, which the next
    /// refresh repairs.
    async fn write(&self, inv: &ScriptInvocation<'_>) -> Result<(), PresenceError> {
        let r = self.run::<i64>(inv).await.map(|_| ());
        if r.is_err() {
            self.dirty.store(true, Ordering::Relaxed);
        }
        r
    }

    /// Removes a session; its user when they have no live session left.
    async fn close(&self, session: &str) -> Result<Option<UserId>, PresenceError> {
        let mut inv = self.call(&self.scripts.close);
        inv.arg(session);
        let gone: String = self.run(&inv).await.inspect_err(|_| {
            self.dirty.store(true, Ordering::Relaxed);
        })?;
        Ok(UserId::parse(&gone).ok())
    }

    async fn join(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        let mut inv = self.call(&self.scripts.join);
        inv.arg(session).arg(room.to_string());
        self.write(&inv).await
    }

    async fn leave(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        let mut inv = self.call(&self.scripts.leave);
        inv.arg(session).arg(room.to_string());
        self.write(&inv).await
    }

    /// Removes up to a batch of `node`'s sessions; `force` also when it is alive (our own
    /// clean stop). Repeats until none is left.
    async fn sweep(&self, node: &str, force: bool) -> Result<(), PresenceError> {
        loop {
            let mut inv = self.call(&self.scripts.sweep);
            inv.arg(node).arg(BATCH).arg(if force { "1" } else { "0" });
            let (removed, gone): (usize, Vec<String>) = self.run(&inv).await?;
            for user in gone.iter().filter_map(|u| UserId::parse(u).ok()) {
                if self.departures.try_send(user).is_err() {
                    tracing::warn!(
                        node,
                        "presence: departures queue full; a PRESENCE is not sent"
                    );
                }
            }
            if removed < BATCH {
                return Ok(());
            }
        }
    }

    /// Extends this node's deadline, re-records its sessions when Redis lost track of them,
    /// and sweeps nodes that expired.
    async fn refresh(&self) -> Result<(), PresenceError> {
        let mut inv = self.call(&self.scripts.beat);
        let ttl_ms = u64::try_from(self.options.node_ttl.as_millis()).unwrap_or(u64::MAX);
        inv.arg(&self.node).arg(ttl_ms).arg(DEAD_NODES_PER_BEAT);
        let (lapsed, dead): (i64, Vec<String>) = self.run(&inv).await?;
        if lapsed == 1 || self.dirty.swap(false, Ordering::Relaxed) {
            if let Err(e) = self.rerecord().await {
                self.dirty.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
        for node in dead {
            self.sweep(&node, false).await?;
        }
        Ok(())
    }

    /// Makes Redis's record of this node's sessions match `local`: removes sessions Redis
    /// still has that ended here, rewrites every live one, then replays what changed while
    /// that was under way (those calls may have been overwritten).
    async fn rerecord(&self) -> Result<(), PresenceError> {
        let recorded = self.recorded_sessions().await?;
        let ended: Vec<String> = {
            let local = lock(&self.local);
            recorded
                .into_iter()
                .filter(|s| !local.contains_key(s))
                .collect()
        };
        for session in &ended {
            self.close(session).await?;
        }
        let snapshot: Vec<(String, LocalSession)> = lock(&self.local)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !snapshot.is_empty() {
            tracing::info!(
                sessions = snapshot.len(),
                "presence: re-recording this node's sessions in Redis"
            );
        }
        for chunk in snapshot.chunks(BATCH) {
            let mut inv = self.call(&self.scripts.republish);
            inv.arg(&self.node);
            for (session, s) in chunk {
                inv.arg(session).arg(s.user.as_str()).arg(s.rooms.len());
                for room in &s.rooms {
                    inv.arg(room.to_string());
                }
            }
            self.run::<i64>(&inv).await?;
        }
        // Calls made meanwhile changed `local` first and Redis second; redo their effect.
        let mut fixes = Vec::new();
        {
            let local = lock(&self.local);
            for (session, old) in &snapshot {
                match local.get(session) {
                    None => fixes.push(Fix::Close(session.clone())),
                    Some(now) => {
                        for room in old.rooms.difference(&now.rooms) {
                            fixes.push(Fix::Leave(session.clone(), *room));
                        }
                        for room in now.rooms.difference(&old.rooms) {
                            fixes.push(Fix::Join(session.clone(), *room));
                        }
                    }
                }
            }
        }
        for fix in fixes {
            match fix {
                Fix::Close(s) => {
                    if let Some(user) = self.close(&s).await? {
                        let _ = self.departures.try_send(user);
                    }
                }
                Fix::Leave(s, r) => self.leave(&s, &r).await?,
                Fix::Join(s, r) => self.join(&s, &r).await?,
            }
        }
        Ok(())
    }

    /// The session ids Redis holds for this node.
    async fn recorded_sessions(&self) -> Result<Vec<String>, PresenceError> {
        let key = format!("{}:ns:{}", self.prefix, self.node);
        let mut out = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let mut sscan = redis::cmd("SSCAN");
            sscan.arg(&key).arg(cursor).arg("COUNT").arg(BATCH);
            let (next, page): (u64, Vec<String>) = self.query(&sscan).await?;
            out.extend(page);
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }
}

enum Fix {
    Close(String),
    Leave(String, RoomId),
    Join(String, RoomId),
}

#[async_trait]
impl Presence for RedisPresence {
    /// Recorded under this instance's node id (the one its refresher keeps alive), which in
    /// the server is the `info.node` of every session it opens.
    async fn session_opened(&self, info: &SessionInfo) -> Result<bool, PresenceError> {
        lock(&self.shared.local)
            .entry(info.session.clone())
            .or_insert_with(|| LocalSession {
                user: info.user.clone(),
                rooms: BTreeSet::new(),
            });
        let sh = &self.shared;
        let mut inv = sh.call(&sh.scripts.open);
        inv.arg(&info.session).arg(info.user.as_str()).arg(&sh.node);
        let first: i64 = sh.run(&inv).await.inspect_err(|_| {
            sh.dirty.store(true, Ordering::Relaxed);
        })?;
        Ok(first == 1)
    }

    async fn joined(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        if let Some(s) = lock(&self.shared.local).get_mut(session) {
            s.rooms.insert(*room);
        }
        self.shared.join(session, room).await
    }

    async fn left(&self, session: &str, room: &RoomId) -> Result<(), PresenceError> {
        if let Some(s) = lock(&self.shared.local).get_mut(session) {
            s.rooms.remove(room);
        }
        self.shared.leave(session, room).await
    }

    async fn session_closed(&self, session: &str) -> Result<Option<UserId>, PresenceError> {
        lock(&self.shared.local).remove(session);
        self.shared.close(session).await
    }

    async fn claim_typing(
        &self,
        room: &RoomId,
        user: &UserId,
        window: Duration,
    ) -> Result<bool, PresenceError> {
        let sh = &self.shared;
        let mut inv = sh.call(&sh.scripts.claim_typing);
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        inv.arg(room.to_string()).arg(user.as_str()).arg(ms);
        Ok(sh.run::<i64>(&inv).await? == 1)
    }

    fn take_departures(&self) -> Option<mpsc::Receiver<UserId>> {
        lock(&self.departures).take()
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<UserId>, PresenceError> {
        let users = &users[..users.len().min(MAX_PRESENCE_USERS)];
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let sh = &self.shared;
        let mut inv = sh.call(&sh.scripts.online);
        for u in users {
            inv.arg(u.as_str());
        }
        let found: HashSet<String> = sh.run::<Vec<String>>(&inv).await?.into_iter().collect();
        Ok(users
            .iter()
            .filter(|u| found.contains(u.as_str()))
            .cloned()
            .collect())
    }

    async fn in_room(&self, room: &RoomId) -> Result<Vec<UserId>, PresenceError> {
        let sh = &self.shared;
        let mut inv = sh.call(&sh.scripts.in_room);
        inv.arg(room.to_string()).arg(MAX_PRESENCE_USERS);
        let names: Vec<String> = sh.run(&inv).await?;
        // Only this service writes these keys, but an id that does not parse is skipped
        // rather than trusted.
        let mut users: Vec<UserId> = names.iter().filter_map(|n| UserId::parse(n).ok()).collect();
        users.sort();
        users.dedup();
        Ok(users)
    }

    async fn ping(&self) -> Result<(), PresenceError> {
        self.shared
            .query::<String>(&redis::cmd("PING"))
            .await
            .map(|_| ())
    }

    /// Stops the refresher, then removes this node and every session it still has recorded.
    async fn stop(&self) -> Result<(), PresenceError> {
        self.halt().await;
        lock(&self.shared.local).clear();
        self.shared.sweep(&self.shared.node, true).await
    }
}

/// Rate buckets in the same Redis, under the same prefix: one GCRA per key for the whole
/// cluster (API-v2 "Safety" rate limits).
#[async_trait]
impl SharedBuckets for RedisPresence {
    async fn take(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, PresenceError> {
        let mut inv = self.shared.call(&self.shared.scripts.take_token);
        let interval_us = u64::try_from(interval.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        inv.arg(key).arg(interval_us).arg(burst.max(1));
        let wait_us: i64 = self.shared.run(&inv).await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us.unsigned_abs())))
    }
}
