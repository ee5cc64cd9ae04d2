//! A busy seller's room list: `GET /room/list` for a user with many rooms full of messages, each
//! room with its unread count (issue 13: "`GET /room/list` p99 for a user with 1,000 rooms of
//! 1,000 messages each, on each backend"). The counts must come from counters, not from
//! counting history: this is where a scan would show.

use std::sync::Arc;

use reuse_stomp::{Command, Frame};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::procstat::Snapshot;
use crate::report::Report;
use crate::scenario::{join_all, percentiles, record, shared_histogram, Bench, FILLER};
use crate::target::Kind;
use crate::BenchError;

/// Senders filling rooms at once, and SENDs each keeps in flight.
const FILLERS: usize = 64;
const WINDOW: usize = 64;

impl Bench {
    /// Room list: one user is a member of `rooms` rooms; the other member of each sends
    /// `messages_each` messages into it (all unread for the user); then the user asks for the
    /// list `requests` times in a row. Reports lists per second, the server's CPU per list and
    /// the latency of each (p50/p99 in `latency`), and checks every answer: all rooms, and
    /// unread counts that add up to everything sent. reuse-chat only.
    pub async fn room_list(
        &self,
        rooms: usize,
        messages_each: usize,
        requests: usize,
    ) -> Result<Report, BenchError> {
        let mut report = self.report(
            "room-list",
            format!("rooms={rooms} messages_each={messages_each} requests={requests}"),
        );
        if self.target.kind != Kind::ReuseChat {
            return Err(BenchError::Protocol(
                "room-list: only reuse-chat has room lists".into(),
            ));
        }
        let (user, ids) = self
            .target
            .member_rooms(&self.run, 1, rooms)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| BenchError::Protocol("no rooms were opened".into()))?;
        // The seller of room i is `q{run}-{i}` (Target::member_rooms).
        let filled = std::time::Instant::now();
        let permits = Arc::new(tokio::sync::Semaphore::new(FILLERS));
        let connect = self.permits();
        let mut set = JoinSet::new();
        for (i, room) in ids.iter().enumerate() {
            let (bench, permits, connect, room) =
                (self.clone(), permits.clone(), connect.clone(), room.clone());
            let seller = format!("q{}-{i}", self.run);
            set.spawn(async move {
                let _permit = permits.acquire_owned().await.map_err(|e| e.to_string())?;
                let mut conn = bench
                    .open(&connect, i, &seller, None)
                    .await
                    .map_err(|e| e.to_string())?;
                let destination = format!("/pub/room/{room}/message");
                let (mut sent, mut confirmed) = (0usize, 0usize);
                while confirmed < messages_each {
                    if sent < messages_each && sent - confirmed < WINDOW {
                        let frame = Frame::new(Command::Send)
                            .with_header("destination", &destination)
                            .with_header("content-type", "application/json")
                            .with_header("receipt", &format!("f{sent}"))
                            .with_body(format!("{{\"content\":\"{sent} {FILLER}\"}}"));
                        conn.send(&frame).await.map_err(|e| e.to_string())?;
                        sent += 1;
                        continue;
                    }
                    let f = conn.next_frame().await.map_err(|e| e.to_string())?;
                    match f.command {
                        Command::Receipt => confirmed += 1,
                        Command::Error => return Err(crate::client::error_of(&f).to_string()),
                        _ => {}
                    }
                }
                conn.close().await;
                Ok(())
            });
        }
        join_all(&mut set, &mut report).await;
        if report.errors > 0 {
            return Ok(report);
        }
        let fill_secs = filled.elapsed().as_secs_f64();

        let http = reqwest::Client::new();
        let url = format!("http://{}/room/list", self.target.addr);
        let expected = (rooms * messages_each) as i64;
        let lat = shared_histogram();
        let s0 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        let started = Instant::now();
        for _ in 0..requests {
            let t = Instant::now();
            let resp = http
                .get(&url)
                .header("X-Auth-User", &user)
                .send()
                .await
                .map_err(|e| BenchError::Http(format!("GET /room/list: {e}")))?;
            let status = resp.status();
            let list: serde_json::Value = resp
                .json()
                .await
                .map_err(|e| BenchError::Http(format!("GET /room/list ({status}): {e}")))?;
            record(&lat, t.elapsed().as_micros() as u64);
            let listed = list.as_array().map_or(0, Vec::len);
            let unread: i64 = list
                .as_array()
                .map(|a| a.iter().filter_map(|r| r["unreadCount"].as_i64()).sum())
                .unwrap_or_default();
            if listed != rooms.min(1000) || (rooms <= 1000 && unread != expected) {
                report.errors += 1;
                report.first_error.get_or_insert(format!(
                    "GET /room/list ({status}): {listed} rooms, {unread} unread; expected {} and {expected}",
                    rooms.min(1000)
                ));
            }
        }
        let s1 = Snapshot::take_with_db(self.server_pid, self.db_pid);
        report.costs(&s0, &s1);
        report.seconds = started.elapsed().as_secs_f64();
        report.sessions = rooms as u64;
        report.sent = expected as u64;
        report.receipts = requests as u64;
        report.rate = requests as f64 / report.seconds.max(1e-9);
        report.per_item(requests as u64);
        report.latency = percentiles(&lat);
        report
            .params
            .push_str(&format!(" fill_secs={fill_secs:.1}"));
        Ok(report)
    }
}
