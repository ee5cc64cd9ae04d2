//! The five scenarios — idle, marketplace, fan-out, reconnect storm, persistence — written once
//! against [`Target`], so reuse-chat, RabbitMQ Web-STOMP and the baseline get the same load.
//!
//! Every session is one tokio task that keeps heart-beats going while it waits; the main task
//! only coordinates (ready counts, a start signal, a stop signal) and takes the `/proc`
//! snapshots that bracket the measured window.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use reuse_stomp::{Command, Frame};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::client::{epoch, error_of, now_us, StompConn};
use crate::procstat::Snapshot;
use crate::report::{latency_histogram, Percentiles, Report};
use crate::target::{Purpose, Room, Target};
use crate::BenchError;

/// Padding that brings a chat message to a realistic ~100 characters.
pub(crate) const FILLER: &str =
    "안녕하세요, 아직 판매중인가요? bench filler text for a realistic size";

/// Average number of messages a fan-out subscriber may be behind before its publisher waits:
/// well under reuse-chat's default outbound queue (1,024), so saturation is measured without
/// closing slow consumers.
const FANOUT_LAG: u64 = 100;

/// Lateness of a scheduled send that is put down to the timer (tokio sleeps in whole
/// milliseconds, rounding up), not to the server.
const TIMER_SLACK_US: u64 = 2_000;

/// How a run connects: the target, source addresses, heart-beats and pacing.
#[derive(Clone, Debug)]
pub struct Bench {
    /// The server under test.
    pub target: Target,
    /// Source addresses used round-robin (empty: let the kernel choose).
    pub sources: Vec<IpAddr>,
    /// The server's pid, for RSS and CPU time (none: not measured).
    pub server_pid: Option<u32>,
    /// The pid of the database server behind it (MariaDB, PostgreSQL's postmaster), whose CPU
    /// time with its children's is part of what a stored message costs (none: not measured).
    pub db_pid: Option<u32>,
    /// Heart-beat offered and asked in `CONNECT`.
    pub heartbeat_ms: u64,
    /// Connection handshakes in flight at once.
    pub connect_concurrency: usize,
    /// Distinguishes runs of a scenario in the table (room size, backend).
    pub label: String,
    /// Makes user, room and queue names unique to this run.
    pub run: String,
}

/// A shared histogram: recorded under a short lock from many session tasks.
pub(crate) type SharedHistogram = Arc<Mutex<Histogram<u64>>>;

pub(crate) fn shared_histogram() -> SharedHistogram {
    Arc::new(Mutex::new(latency_histogram()))
}

pub(crate) fn record(h: &SharedHistogram, micros: u64) {
    let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
    h.saturating_record(micros.max(1));
}

pub(crate) fn percentiles(h: &SharedHistogram) -> Option<Percentiles> {
    let h = h.lock().unwrap_or_else(|e| e.into_inner());
    (!h.is_empty()).then(|| Percentiles::of(&h))
}

/// The timestamp a sender wrote into a body or receipt id: the digits after `marker`.
fn stamp(bytes: &[u8], marker: &[u8]) -> Option<u64> {
    let at = bytes.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&bytes[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// The instant `us` microseconds after the generator's epoch (see [`now_us`]).
fn at(us: u64) -> Instant {
    Instant::from_std(epoch() + Duration::from_micros(us))
}

/// Reads frames and keeps heart-beats going until `stop`, handing every frame to `on_frame`.
/// An `ERROR` frame or a lost connection ends it with an error.
pub(crate) async fn pump(
    conn: &mut StompConn,
    stop: &CancellationToken,
    mut on_frame: impl FnMut(&Frame),
) -> Result<(), BenchError> {
    let every = conn.send_every;
    let far = Duration::from_secs(86_400);
    let mut next_beat = Instant::now() + every.unwrap_or(far);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            f = conn.next_frame() => {
                let f = f?;
                if f.command == Command::Error {
                    return Err(error_of(&f));
                }
                on_frame(&f);
            }
            _ = sleep_until(next_beat), if every.is_some() => {
                conn.heartbeat().await?;
                next_beat = Instant::now() + every.unwrap_or(far);
            }
        }
    }
}

/// Waits for `n` ready signals; returns how many sessions came up and the first failure.
pub(crate) async fn gather(
    rx: &mut mpsc::Receiver<Result<(), String>>,
    n: usize,
    report: &mut Report,
) -> u64 {
    let mut ok = 0;
    for _ in 0..n {
        match rx.recv().await {
            Some(Ok(())) => ok += 1,
            Some(Err(e)) => report.error(e),
            None => break,
        }
    }
    ok
}

/// Collects session tasks' outcomes: a session that failed after coming up is an error.
pub(crate) async fn join_all(set: &mut JoinSet<Result<(), String>>, report: &mut Report) {
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => report.error(e),
            Err(e) => report.error(format!("session task failed: {e}")),
        }
    }
}

impl Bench {
    fn source(&self, i: usize) -> Option<IpAddr> {
        (!self.sources.is_empty()).then(|| self.sources[i % self.sources.len()])
    }

    pub(crate) fn report(&self, scenario: &str, params: String) -> Report {
        Report::new(scenario, self.target.kind.name(), &self.label, params)
    }

    /// Opens session `i` as `user` and subscribes to `dest` (when given), holding a connect
    /// permit only for the handshake.
    pub(crate) async fn open(
        &self,
        permits: &Semaphore,
        i: usize,
        user: &str,
        dest: Option<&str>,
    ) -> Result<StompConn, BenchError> {
        let _permit = permits
            .acquire()
            .await
            .map_err(|_| BenchError::Protocol("connect limiter closed".into()))?;
        let mut conn =
            StompConn::open(&self.target, user, self.source(i), self.heartbeat_ms).await?;
        if let Some(d) = dest {
            conn.subscribe(d, "sub-0").await?;
        }
        Ok(conn)
    }

    pub(crate) fn permits(&self) -> Arc<Semaphore> {
        Arc::new(Semaphore::new(self.connect_concurrency.max(1)))
    }

    /// Idle: `n` sessions (CONNECT + SUBSCRIBE, heart-beats on), two per 1:1 room, held for
    /// `hold`; reports the server's RSS growth per session.
    pub async fn idle(&self, n: usize, hold: Duration) -> Result<Report, BenchError> {
        let mut report = self.report("idle", format!("sessions={n} hold={}s", hold.as_secs()));
        let rooms = Arc::new(
            self.target
                .rooms(&self.run, n.div_ceil(2), Purpose::Chat)
                .await?,
        );
        let before = Snapshot::take(self.server_pid);
        let (ready, mut ready_rx) = mpsc::channel(n.max(1));
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        let opened_at = Instant::now();
        for i in 0..n {
            let (bench, rooms, ready, stop, permits) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                stop.clone(),
                permits.clone(),
            );
            set.spawn(async move {
                let room = &rooms[i / 2];
                let opened = bench
                    .open(&permits, i, &room.users[i % 2], Some(&room.subscribe))
                    .await;
                let mut conn = match opened {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                let _ = ready.send(Ok(())).await;
                pump(&mut conn, &stop, |_| {})
                    .await
                    .map_err(|e| format!("idle session dropped: {e}"))
            });
        }
        drop(ready);
        let up = gather(&mut ready_rx, n, &mut report).await;
        let open_secs = opened_at.elapsed().as_secs_f64();
        // Let allocators and lazily grown buffers settle before reading memory.
        sleep(Duration::from_secs(2).min(hold)).await;
        let start = Snapshot::take(self.server_pid);
        sleep(hold).await;
        let end = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&start, &end);
        report.sessions = up;
        report.server_rss_before = before.server_rss;
        report.rate = up as f64 / open_secs.max(1e-9);
        if let (Some(b), Some(a)) = (before.server_rss, end.server_rss) {
            if up > 0 {
                report.rss_per_session = Some((a as f64 - b as f64) / up as f64);
            }
        }
        Ok(report)
    }

    /// Marketplace: `rooms` 1:1 rooms with both members connected; each member sends
    /// `rate` messages/s with receipts, scheduled by the clock (open loop); latencies are
    /// measured from the intended send time, so a stalled server cannot hide its stalls.
    /// With `away_share` > 0, that share of the rooms has its buyer away (no session): only
    /// the seller sends there, and every one of those messages is for someone away (issue 16:
    /// each then goes through the server's offline notifications).
    pub async fn marketplace(
        &self,
        rooms_n: usize,
        rate: f64,
        secs: Duration,
        warmup: Duration,
        away_share: f64,
    ) -> Result<Report, BenchError> {
        let away_rooms = ((rooms_n as f64) * away_share.clamp(0.0, 1.0)).round() as usize;
        // A room is away when its index is below `away_rooms`; its buyer (member 0) never
        // connects.
        let away = move |room: usize| room < away_rooms;
        let n = rooms_n * 2;
        let senders = n - away_rooms;
        let mut report = self.report(
            "marketplace",
            format!(
                "rooms={rooms_n} rate={rate}/s/sender offered={:.0}/s secs={} warmup={} away_rooms={away_rooms}",
                rate * senders as f64,
                secs.as_secs(),
                warmup.as_secs()
            ),
        );
        let rooms = Arc::new(self.target.rooms(&self.run, rooms_n, Purpose::Chat).await?);
        let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
        let lat = shared_histogram();
        let rlat = shared_histogram();
        let counts = Arc::new(Counts::default());
        let (ready, mut ready_rx) = mpsc::channel(n.max(1));
        let go = CancellationToken::new();
        let t0 = Arc::new(AtomicU64::new(0));
        let permits = self.permits();
        let mut set = JoinSet::new();
        for i in 0..n {
            let (bench, rooms, ready, go, permits) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                go.clone(),
                permits.clone(),
            );
            let (lat, rlat, counts, t0) = (lat.clone(), rlat.clone(), counts.clone(), t0.clone());
            set.spawn(async move {
                if away(i / 2) && i % 2 == 0 {
                    // The away buyer: no session at all.
                    let _ = ready.send(Ok(())).await;
                    return Ok(());
                }
                // Who receives this session's messages: both members' subscriptions, or the
                // sender's own alone where the buyer is away.
                let copies = if away(i / 2) { 1 } else { 2 };
                let room = &rooms[i / 2];
                let mut conn = match bench.open(&permits, i, &room.users[i % 2], Some(&room.subscribe)).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                let _ = ready.send(Ok(())).await;
                pump(&mut conn, &go, |_| {}).await.map_err(|e| e.to_string())?;
                let start = t0.load(Ordering::Acquire);
                let measure_from = start + warmup.as_micros() as u64;
                let send_until = measure_from + secs.as_micros() as u64;
                let phase = interval.as_micros() as u64 * i as u64 / n as u64;
                let sender = Sender::new(&bench.target, room, Purpose::Chat);
                let mut k: u64 = 0;
                let mut next = start + phase;
                let drain_until = at(send_until) + Duration::from_secs(2);
                let mut beat = Instant::now() + conn.send_every.unwrap_or(Duration::from_secs(86_400));
                loop {
                    let sending = next < send_until;
                    let wake = if sending { at(next) } else { drain_until };
                    tokio::select! {
                        _ = sleep_until(wake) => {
                            if !sending {
                                break;
                            }
                            // Latency counts from the scheduled time (a send held up by the
                            // server is charged to it), except for tokio's 1 ms timer
                            // resolution, which is the generator's own lateness.
                            let now = now_us();
                            let ts = if now.saturating_sub(next) <= TIMER_SLACK_US { now } else { next };
                            conn.send(&sender.frame(ts)).await.map_err(|e| e.to_string())?;
                            if ts >= measure_from {
                                counts.sent.fetch_add(1, Ordering::Relaxed);
                                counts.expected.fetch_add(copies, Ordering::Relaxed);
                            }
                            k += 1;
                            next = start + phase + k * interval.as_micros() as u64;
                            beat = Instant::now() + conn.send_every.unwrap_or(Duration::from_secs(86_400));
                        }
                        _ = sleep_until(beat), if conn.send_every.is_some() => {
                            conn.heartbeat().await.map_err(|e| e.to_string())?;
                            beat = Instant::now() + conn.send_every.unwrap_or(Duration::from_secs(86_400));
                        }
                        f = conn.next_frame() => {
                            let f = f.map_err(|e| e.to_string())?;
                            let now = now_us();
                            match f.command {
                                Command::Message => {
                                    if let Some(ts) = stamp(&f.body, b"ts=").filter(|ts| *ts >= measure_from) {
                                        counts.delivered.fetch_add(1, Ordering::Relaxed);
                                        record(&lat, now.saturating_sub(ts));
                                    }
                                }
                                Command::Receipt => {
                                    if let Some(ts) = f.header("receipt-id").and_then(|r| stamp(r.as_bytes(), b"r")).filter(|ts| *ts >= measure_from) {
                                        counts.receipts.fetch_add(1, Ordering::Relaxed);
                                        record(&rlat, now.saturating_sub(ts));
                                    }
                                }
                                Command::Error => return Err(error_of(&f).to_string()),
                                _ => {}
                            }
                        }
                    }
                }
                Ok(())
            });
        }
        drop(ready);
        let up = gather(&mut ready_rx, n, &mut report).await;
        let start_us = now_us() + 100_000;
        t0.store(start_us, Ordering::Release);
        go.cancel();
        sleep_until(at(start_us) + warmup).await;
        let s0 = Snapshot::take(self.server_pid);
        sleep(secs).await;
        let s1 = Snapshot::take(self.server_pid);
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        // Away buyers count as up: they were meant to have no session.
        report.sessions = up.saturating_sub(away_rooms as u64);
        counts.fill(&mut report);
        // Both members subscribe, so every message is delivered twice (once where the buyer
        // is away).
        report.missing = counts
            .expected
            .load(Ordering::Relaxed)
            .saturating_sub(report.delivered);
        report.rate = report.sent as f64 / secs.as_secs_f64();
        // Per message sent in the window (reuse-chat: stored and delivered twice).
        report.per_item(report.sent);
        report.latency = percentiles(&lat);
        report.receipt_latency = percentiles(&rlat);
        Ok(report)
    }

    /// Fan-out: `subscribers` sessions in rooms of `room_size`, one publisher per room sending
    /// as fast as receipts (window `window`) and its subscribers' progress allow; reports
    /// deliveries per second at saturation and server CPU time per delivery.
    pub async fn fanout(
        &self,
        subscribers: usize,
        room_size: usize,
        secs: Duration,
        warmup: Duration,
        window: usize,
    ) -> Result<Report, BenchError> {
        let room_size = room_size.max(1);
        let rooms_n = (subscribers / room_size).max(1);
        let mut report = self.report(
            "fanout",
            format!(
                "subscribers={} room_size={room_size} rooms={rooms_n} window={window} secs={}",
                rooms_n * room_size,
                secs.as_secs()
            ),
        );
        let rooms = Arc::new(self.target.rooms(&self.run, rooms_n, Purpose::Chat).await?);
        let per_room: Arc<Vec<AtomicU64>> =
            Arc::new((0..rooms_n).map(|_| AtomicU64::new(0)).collect());
        let counts = Arc::new(Counts::default());
        let n = rooms_n * (room_size + 1);
        let (ready, mut ready_rx) = mpsc::channel(n.max(1));
        let go = CancellationToken::new();
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        for i in 0..n {
            let (bench, rooms, ready, go, stop, permits) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                go.clone(),
                stop.clone(),
                permits.clone(),
            );
            let (per_room, counts) = (per_room.clone(), counts.clone());
            set.spawn(async move {
                let r = i / (room_size + 1);
                let slot = i % (room_size + 1);
                let room = &rooms[r];
                let publisher = slot == room_size;
                let dest = (!publisher).then_some(room.subscribe.as_str());
                let mut conn = match bench.open(&permits, i, &room.users[slot % 2], dest).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                let _ = ready.send(Ok(())).await;
                pump(&mut conn, &go, |_| {}).await.map_err(|e| e.to_string())?;
                if !publisher {
                    return pump(&mut conn, &stop, |f| {
                        if f.command == Command::Message {
                            per_room[r].fetch_add(1, Ordering::Relaxed);
                            counts.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await
                    .map_err(|e| format!("subscriber: {e}"));
                }
                let sender = Sender::new(&bench.target, room, Purpose::Chat);
                let (mut sent, mut inflight) = (0u64, 0usize);
                let size = room_size as u64;
                while !stop.is_cancelled() {
                    let behind = (sent * size).saturating_sub(per_room[r].load(Ordering::Relaxed));
                    if inflight < window && behind < size * FANOUT_LAG {
                        conn.send(&sender.frame(now_us())).await.map_err(|e| e.to_string())?;
                        sent += 1;
                        inflight += 1;
                        counts.sent.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    tokio::select! {
                        f = conn.next_frame() => {
                            let f = f.map_err(|e| e.to_string())?;
                            match f.command {
                                Command::Receipt => {
                                    inflight = inflight.saturating_sub(1);
                                    counts.receipts.fetch_add(1, Ordering::Relaxed);
                                }
                                Command::Error => return Err(format!("publisher: {}", error_of(&f))),
                                _ => {}
                            }
                        }
                        _ = sleep(Duration::from_millis(1)) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                Ok(())
            });
        }
        drop(ready);
        let up = gather(&mut ready_rx, n, &mut report).await;
        go.cancel();
        sleep(warmup).await;
        let d0 = counts.delivered.load(Ordering::Relaxed);
        let s0 = Snapshot::take(self.server_pid);
        sleep(secs).await;
        let d1 = counts.delivered.load(Ordering::Relaxed);
        let s1 = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = up;
        counts.fill(&mut report);
        let window_deliveries = d1 - d0;
        report.rate = window_deliveries as f64 / report.seconds.max(1e-9);
        report.server_cpu_us_per_item = report
            .server_cpu_s
            .filter(|_| window_deliveries > 0)
            .map(|c| c * 1e6 / window_deliveries as f64);
        Ok(report)
    }

    /// Reconnect storm: `n` sessions come up, then all drop at once and reconnect (CONNECT +
    /// SUBSCRIBE with receipt); reports sessions re-established per second.
    pub async fn reconnect(&self, n: usize) -> Result<Report, BenchError> {
        let mut report = self.report(
            "reconnect",
            format!(
                "sessions={n} connect_concurrency={}",
                self.connect_concurrency
            ),
        );
        let rooms = Arc::new(
            self.target
                .rooms(&self.run, n.div_ceil(2), Purpose::Chat)
                .await?,
        );
        let (ready, mut ready_rx) = mpsc::channel(n.max(1));
        let (again, mut again_rx) = mpsc::channel(n.max(1));
        let storm = CancellationToken::new();
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        for i in 0..n {
            let (bench, rooms, ready, again, storm, stop, permits) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                again.clone(),
                storm.clone(),
                stop.clone(),
                permits.clone(),
            );
            set.spawn(async move {
                let room = &rooms[i / 2];
                let user = &room.users[i % 2];
                let mut conn = match bench.open(&permits, i, user, Some(&room.subscribe)).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                let _ = ready.send(Ok(())).await;
                pump(&mut conn, &storm, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                // The network blinks: the connection is gone without a goodbye.
                drop(conn);
                let mut conn = match bench.open(&permits, i, user, Some(&room.subscribe)).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = again.send(Err(format!("reconnect: {e}"))).await;
                        return Ok(());
                    }
                };
                let _ = again.send(Ok(())).await;
                pump(&mut conn, &stop, |_| {})
                    .await
                    .map_err(|e| e.to_string())
            });
        }
        drop((ready, again));
        let up = gather(&mut ready_rx, n, &mut report).await;
        let s0 = Snapshot::take(self.server_pid);
        storm.cancel();
        let back = gather(&mut again_rx, n, &mut report).await;
        let s1 = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = up;
        report.rate = back as f64 / report.seconds.max(1e-9);
        report.missing = up.saturating_sub(back);
        report.server_cpu_us_per_item = report
            .server_cpu_s
            .filter(|_| back > 0)
            .map(|c| c * 1e6 / back as f64);
        Ok(report)
    }

    /// Persistence: `publishers` sessions, each in its own room, keep `window` SENDs with
    /// receipts outstanding; a receipt means "stored" (reuse-chat: committed; RabbitMQ:
    /// confirmed persistent message on a durable queue). Reports stored messages per second.
    pub async fn persist(
        &self,
        publishers: usize,
        window: usize,
        secs: Duration,
        warmup: Duration,
    ) -> Result<Report, BenchError> {
        let mut report = self.report(
            "persist",
            format!(
                "publishers={publishers} window={window} secs={}",
                secs.as_secs()
            ),
        );
        let rooms = Arc::new(
            self.target
                .rooms(&self.run, publishers, Purpose::Persist)
                .await?,
        );
        let rlat = shared_histogram();
        let counts = Arc::new(Counts::default());
        let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (ready, mut ready_rx) = mpsc::channel(publishers.max(1));
        let go = CancellationToken::new();
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        for i in 0..publishers {
            let (bench, rooms, ready, go, stop, permits) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                go.clone(),
                stop.clone(),
                permits.clone(),
            );
            let (rlat, counts, measuring) = (rlat.clone(), counts.clone(), measuring.clone());
            set.spawn(async move {
                let room = &rooms[i];
                let mut conn = match bench.open(&permits, i, &room.users[0], None).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                let _ = ready.send(Ok(())).await;
                pump(&mut conn, &go, |_| {}).await.map_err(|e| e.to_string())?;
                let sender = Sender::new(&bench.target, room, Purpose::Persist);
                let mut inflight = 0usize;
                while !stop.is_cancelled() {
                    if inflight < window {
                        conn.send(&sender.frame(now_us())).await.map_err(|e| e.to_string())?;
                        inflight += 1;
                        counts.sent.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    tokio::select! {
                        f = conn.next_frame() => {
                            let f = f.map_err(|e| e.to_string())?;
                            match f.command {
                                Command::Receipt => {
                                    inflight -= 1;
                                    counts.receipts.fetch_add(1, Ordering::Relaxed);
                                    if measuring.load(Ordering::Relaxed) {
                                        if let Some(ts) = f.header("receipt-id").and_then(|r| stamp(r.as_bytes(), b"r")) {
                                            record(&rlat, now_us().saturating_sub(ts));
                                        }
                                    }
                                }
                                Command::Error => return Err(error_of(&f).to_string()),
                                _ => {}
                            }
                        }
                        _ = stop.cancelled() => {}
                    }
                }
                Ok(())
            });
        }
        drop(ready);
        let up = gather(&mut ready_rx, publishers, &mut report).await;
        go.cancel();
        sleep(warmup).await;
        measuring.store(true, Ordering::Relaxed);
        let b0 = self.target.commit_batches().await;
        let r0 = counts.receipts.load(Ordering::Relaxed);
        let s0 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        sleep(secs).await;
        let r1 = counts.receipts.load(Ordering::Relaxed);
        let s1 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        let b1 = self.target.commit_batches().await;
        measuring.store(false, Ordering::Relaxed);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = up;
        counts.fill(&mut report);
        let stored = r1 - r0;
        report.rate = stored as f64 / report.seconds.max(1e-9);
        report.per_item(stored);
        if let (Some((sum0, n0)), Some((sum1, n1))) = (b0, b1) {
            report.batch = (n1 > n0).then(|| (sum1 - sum0) / (n1 - n0));
        }
        report.receipt_latency = percentiles(&rlat);
        Ok(report)
    }
}

/// Counters shared by a scenario's session tasks.
#[derive(Default)]
struct Counts {
    sent: AtomicU64,
    delivered: AtomicU64,
    receipts: AtomicU64,
    /// Deliveries the sends in the window should make (marketplace).
    expected: AtomicU64,
}

impl Counts {
    fn fill(&self, report: &mut Report) {
        report.sent = self.sent.load(Ordering::Relaxed);
        report.delivered = self.delivered.load(Ordering::Relaxed);
        report.receipts = self.receipts.load(Ordering::Relaxed);
    }
}

/// Builds the `SEND` frames of one session: the target's destination and headers, the
/// timestamp in the body (for delivery latency) and in the receipt id (for receipt latency).
struct Sender {
    destination: String,
    extra: &'static [(&'static str, &'static str)],
}

impl Sender {
    fn new(target: &Target, room: &Room, purpose: Purpose) -> Sender {
        Sender {
            destination: room.send.clone(),
            extra: target.send_headers(purpose),
        }
    }

    fn frame(&self, ts: u64) -> Frame {
        let mut f = Frame::new(Command::Send)
            .with_header("destination", &self.destination)
            .with_header("content-type", "application/json")
            .with_header("receipt", &format!("r{ts}"));
        for (k, v) in self.extra {
            f = f.with_header(k, v);
        }
        f.with_body(format!("{{\"content\":\"ts={ts} {FILLER}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_found_in_bodies_and_receipt_ids() {
        let body = br#"{"id":7,"sender":"b1-2","content":"ts=123456 filler","type":"TEXT"}"#;
        assert_eq!(stamp(body, b"ts="), Some(123456));
        assert_eq!(stamp(b"r987", b"r"), Some(987));
        assert_eq!(stamp(b"nothing here", b"ts="), None);
        assert_eq!(stamp(b"ts=", b"ts="), None);
    }
}
