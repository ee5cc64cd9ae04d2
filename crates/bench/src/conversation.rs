//! The conversation-state load (API-v2's event stream): events delivered per second on
//! `/user/queue/events` while both members of many rooms chat, and a typing storm (every
//! member of many rooms typing at once) against the 2 s typing throttle. reuse-chat only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reuse_stomp::{Command, Frame};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use crate::client::{error_of, now_us, StompConn};
use crate::procstat::Snapshot;
use crate::report::Report;
use crate::scenario::{gather, join_all, pump, Bench, FILLER};
use crate::target::{Kind, Purpose};
use crate::BenchError;

/// Events each room's members may be behind its sender before it waits: keeps every queue
/// far from its bound, so the number is a rate, not a slow-consumer test.
const EVENTS_LAG: u64 = 400;

/// Every message tells each of the two members a `ROOM_UPDATED` and a `READ`.
const EVENTS_PER_MESSAGE: u64 = 4;

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    receipts: AtomicU64,
    events: AtomicU64,
    typing: AtomicU64,
}

/// Follows `/user/queue/events` on `conn` with a receipt.
async fn follow(conn: &mut StompConn) -> Result<(), BenchError> {
    let f = Frame::new(Command::Subscribe)
        .with_header("destination", "/user/queue/events")
        .with_header("id", "ev")
        .with_header("receipt", "ev");
    conn.send(&f).await?;
    conn.wait_receipt("ev").await
}

fn is_event(f: &Frame) -> bool {
    f.command == Command::Message && f.header("destination") == Some("/user/queue/events")
}

impl Bench {
    /// Opens session `i` of `user`, following its event stream when `events`, and reports to
    /// `ready` whether it came up; `None` when it did not (the report says why).
    async fn open_ready(
        &self,
        permits: &Semaphore,
        i: usize,
        user: &str,
        events: bool,
        ready: &mpsc::Sender<Result<(), String>>,
    ) -> Option<StompConn> {
        let opened = async {
            let mut conn = self.open(permits, i, user, None).await?;
            if events {
                follow(&mut conn).await?;
            }
            Ok::<_, BenchError>(conn)
        }
        .await;
        let _ = ready
            .send(opened.as_ref().map(|_| ()).map_err(|e| e.to_string()))
            .await;
        opened.ok()
    }

    fn only_reuse_chat(&self, scenario: &str) -> Result<(), BenchError> {
        if self.target.kind == Kind::ReuseChat {
            Ok(())
        } else {
            Err(BenchError::Protocol(format!(
                "{scenario}: only reuse-chat has per-user event streams"
            )))
        }
    }

    /// Event stream: `rooms` rooms whose two members each follow their event stream, while
    /// the buyer sends from a second session as fast as receipts allow (at most `window`
    /// unacknowledged). Reports events delivered per second on `/user/queue/events` (each
    /// message tells both members a `ROOM_UPDATED` and a `READ`) and the server's CPU per
    /// event; `delivered` counts the window's events, `sent` its messages.
    pub async fn user_events(
        &self,
        rooms_n: usize,
        secs: Duration,
        warmup: Duration,
        window: usize,
    ) -> Result<Report, BenchError> {
        let mut report = self.report(
            "user-events",
            format!("rooms={rooms_n} window={window} secs={}", secs.as_secs()),
        );
        self.only_reuse_chat("user-events")?;
        let rooms = Arc::new(self.target.rooms(&self.run, rooms_n, Purpose::Chat).await?);
        let per_room: Arc<Vec<AtomicU64>> =
            Arc::new((0..rooms_n).map(|_| AtomicU64::new(0)).collect());
        let tally = Arc::new(Tally::default());
        // Per room: buyer's stream, seller's stream, buyer's sending session.
        let n = rooms_n * 3;
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
            let (per_room, tally) = (per_room.clone(), tally.clone());
            set.spawn(async move {
                let (r, slot) = (i / 3, i % 3);
                let room = &rooms[r];
                let sender = slot == 2;
                let user = &room.users[if slot == 1 { 1 } else { 0 }];
                let Some(mut conn) = bench.open_ready(&permits, i, user, !sender, &ready).await
                else {
                    return Ok(());
                };
                pump(&mut conn, &go, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                if !sender {
                    return pump(&mut conn, &stop, |f| {
                        if is_event(f) {
                            per_room[r].fetch_add(1, Ordering::Relaxed);
                            tally.events.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                    .await
                    .map_err(|e| format!("follower: {e}"));
                }
                let (mut sent, mut inflight) = (0u64, 0usize);
                while !stop.is_cancelled() {
                    let behind = (sent * EVENTS_PER_MESSAGE)
                        .saturating_sub(per_room[r].load(Ordering::Relaxed));
                    if inflight < window && behind < EVENTS_LAG {
                        let ts = now_us();
                        let f = Frame::new(Command::Send)
                            .with_header("destination", &room.send)
                            .with_header("content-type", "application/json")
                            .with_header("receipt", &format!("r{ts}"))
                            .with_body(format!("{{\"content\":\"ts={ts} {FILLER}\"}}"));
                        conn.send(&f).await.map_err(|e| e.to_string())?;
                        sent += 1;
                        inflight += 1;
                        tally.sent.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    tokio::select! {
                        f = conn.next_frame() => {
                            let f = f.map_err(|e| e.to_string())?;
                            match f.command {
                                Command::Receipt => {
                                    inflight = inflight.saturating_sub(1);
                                    tally.receipts.fetch_add(1, Ordering::Relaxed);
                                }
                                Command::Error => return Err(format!("sender: {}", error_of(&f))),
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
        let (e0, m0) = (
            tally.events.load(Ordering::Relaxed),
            tally.receipts.load(Ordering::Relaxed),
        );
        let s0 = Snapshot::take(self.server_pid);
        sleep(secs).await;
        let (e1, m1) = (
            tally.events.load(Ordering::Relaxed),
            tally.receipts.load(Ordering::Relaxed),
        );
        let s1 = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = up;
        report.delivered = e1 - e0;
        report.sent = m1 - m0;
        report.receipts = tally.receipts.load(Ordering::Relaxed);
        report.rate = report.delivered as f64 / report.seconds.max(1e-9);
        report.per_item(report.delivered);
        // Every stored message's four events arrived by the end (checked after a short wait).
        let expected = tally.receipts.load(Ordering::Relaxed) * EVENTS_PER_MESSAGE;
        let deadline = Instant::now() + Duration::from_secs(10);
        while tally.events.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            sleep(Duration::from_millis(50)).await;
        }
        report.missing = expected.saturating_sub(tally.events.load(Ordering::Relaxed));
        Ok(report)
    }

    /// Typing storm: both members of `rooms` rooms follow their event stream and send
    /// `{"typing": true}` every `interval` for `secs`. The server relays at most one per member
    /// and room every 2 s, so however fast the storm, at most `rooms` relayed `TYPING`/s.
    /// Reports relayed `TYPING` events per second (`rate`, `delivered`), typing frames offered
    /// (`sent`) and the server's CPU per offered frame.
    pub async fn typing_storm(
        &self,
        rooms_n: usize,
        secs: Duration,
        interval: Duration,
    ) -> Result<Report, BenchError> {
        let mut report = self.report(
            "typing-storm",
            format!(
                "rooms={rooms_n} interval_ms={} secs={}",
                interval.as_millis(),
                secs.as_secs()
            ),
        );
        self.only_reuse_chat("typing-storm")?;
        let rooms = Arc::new(self.target.rooms(&self.run, rooms_n, Purpose::Chat).await?);
        let tally = Arc::new(Tally::default());
        let n = rooms_n * 2;
        let (ready, mut ready_rx) = mpsc::channel(n.max(1));
        let go = CancellationToken::new();
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        for i in 0..n {
            let (bench, rooms, ready, go, stop, permits, tally) = (
                self.clone(),
                rooms.clone(),
                ready.clone(),
                go.clone(),
                stop.clone(),
                permits.clone(),
                tally.clone(),
            );
            set.spawn(async move {
                let room = &rooms[i / 2];
                let user = &room.users[i % 2];
                let Some(mut conn) = bench.open_ready(&permits, i, user, true, &ready).await else {
                    return Ok(());
                };
                pump(&mut conn, &go, |_| {})
                    .await
                    .map_err(|e| e.to_string())?;
                let typing = Frame::new(Command::Send)
                    .with_header("destination", &room.send.replace("/message", "/typing"))
                    .with_header("content-type", "application/json")
                    .with_body(&b"{\"typing\":true}"[..]);
                // Members start spread over one interval, as real typing would be.
                let mut next = Instant::now() + interval.mul_f64((i % 97) as f64 / 97.0);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return Ok(()),
                        _ = tokio::time::sleep_until(next) => {
                            conn.send(&typing).await.map_err(|e| e.to_string())?;
                            tally.sent.fetch_add(1, Ordering::Relaxed);
                            next += interval;
                        }
                        f = conn.next_frame() => {
                            let f = f.map_err(|e| e.to_string())?;
                            if f.command == Command::Error {
                                return Err(format!("typist: {}", error_of(&f)));
                            }
                            if is_event(&f) && f.body.windows(8).any(|w| w == b"\"TYPING\"") {
                                tally.typing.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            });
        }
        drop(ready);
        let up = gather(&mut ready_rx, n, &mut report).await;
        go.cancel();
        // One throttle window first, so the measured window is the steady state.
        sleep(Duration::from_secs(2)).await;
        let (t0, f0) = (
            tally.typing.load(Ordering::Relaxed),
            tally.sent.load(Ordering::Relaxed),
        );
        let s0 = Snapshot::take(self.server_pid);
        sleep(secs).await;
        let (t1, f1) = (
            tally.typing.load(Ordering::Relaxed),
            tally.sent.load(Ordering::Relaxed),
        );
        let s1 = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = up;
        report.delivered = t1 - t0;
        report.sent = f1 - f0;
        report.rate = report.delivered as f64 / report.seconds.max(1e-9);
        report.per_item(report.sent);
        Ok(report)
    }
}
