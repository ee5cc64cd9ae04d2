//! The web page's load on the server: every open page coming back at once (after a restart or a
//! network blip), doing what the page does on each connection.

use std::sync::Arc;

use reuse_stomp::{Command, Frame};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::procstat::Snapshot;
use crate::report::Report;
use crate::scenario::{gather, join_all, percentiles, pump, record, shared_histogram, Bench};
use crate::target::Kind;
use crate::BenchError;

/// One page's user and the rooms it follows.
struct PageUser {
    user: String,
    rooms: Vec<String>,
}

impl Bench {
    /// Page resume: `users` pages, each the member of `rooms_each` rooms (the page follows the
    /// open room and the 62 most recent others: 63 subscriptions), all coming back at once. Each
    /// does what the web client does on a (re)connect: `GET /` revalidated with its `ETag`
    /// (`304`), `GET /client/config`, `GET /room/list`, CONNECT, SUBSCRIBE to every room with a
    /// receipt, then one `GET /chat/room/{id}?after=…` catch-up read per room. Reports pages
    /// resumed per second, the server's CPU per page and each page's resume time (p50/p99 in
    /// `latency`). reuse-chat only: the other targets serve no page.
    pub async fn page_resume(&self, users: usize, rooms_each: usize) -> Result<Report, BenchError> {
        let mut report = self.report(
            "page-resume",
            format!(
                "users={users} rooms_each={rooms_each} connect_concurrency={}",
                self.connect_concurrency
            ),
        );
        if self.target.kind != Kind::ReuseChat {
            return Err(BenchError::Protocol(
                "page-resume: only reuse-chat serves the web page".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(users.max(1))
            .build()
            .map_err(|e| BenchError::Http(e.to_string()))?;
        let base = Arc::new(format!("http://{}", self.target.addr));
        let pages = self
            .target
            .member_rooms(&self.run, users, rooms_each)
            .await?
            .into_iter()
            .map(|(user, rooms)| PageUser { user, rooms })
            .collect::<Vec<_>>();
        let etag = http
            .get(format!("{base}/"))
            .send()
            .await
            .map_err(|e| BenchError::Http(format!("GET /: {e}")))?
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| BenchError::Http("GET /: no ETag".into()))?;
        let etag = Arc::new(etag);

        let lat = shared_histogram();
        let (ready, mut ready_rx) = mpsc::channel(users.max(1));
        let stop = CancellationToken::new();
        let permits = self.permits();
        let mut set = JoinSet::new();
        let s0 = Snapshot::take(self.server_pid);
        for (i, page) in pages.into_iter().enumerate() {
            let (bench, http, base, etag, lat, ready, stop, permits) = (
                self.clone(),
                http.clone(),
                base.clone(),
                etag.clone(),
                lat.clone(),
                ready.clone(),
                stop.clone(),
                permits.clone(),
            );
            set.spawn(async move {
                let started = Instant::now();
                let resumed = async {
                    let get = |path: String| {
                        http.get(format!("{base}{path}"))
                            .header("X-Auth-User", &page.user)
                            .header("If-None-Match", etag.as_str())
                            .send()
                    };
                    for path in ["/", "/client/config", "/room/list"] {
                        let r = get(path.to_owned())
                            .await
                            .map_err(|e| BenchError::Http(format!("GET {path}: {e}")))?;
                        let status = r.status();
                        r.bytes()
                            .await
                            .map_err(|e| BenchError::Http(e.to_string()))?;
                        if !(status.is_success() || status.as_u16() == 304) {
                            return Err(BenchError::Http(format!("GET {path}: {status}")));
                        }
                    }
                    let mut conn = bench.open(&permits, i, &page.user, None).await?;
                    // All SUBSCRIBEs go out at once, as stompjs sends them; receipts come back
                    // in order, so the last one means every subscription is in place.
                    let mut last = String::new();
                    for (n, room) in page.rooms.iter().enumerate() {
                        last = format!("sub-{n}");
                        let frame = Frame::new(Command::Subscribe)
                            .with_header("destination", &format!("/sub/chat/room/{room}"))
                            .with_header("id", &format!("s{n}"))
                            .with_header("receipt", &last);
                        conn.send(&frame).await?;
                    }
                    conn.wait_receipt(&last).await?;
                    for room in &page.rooms {
                        let path = format!("/chat/room/{room}?after=0&limit=200");
                        let r = get(path.clone())
                            .await
                            .map_err(|e| BenchError::Http(format!("GET {path}: {e}")))?;
                        let status = r.status();
                        r.bytes()
                            .await
                            .map_err(|e| BenchError::Http(e.to_string()))?;
                        if !status.is_success() {
                            return Err(BenchError::Http(format!("GET {path}: {status}")));
                        }
                    }
                    Ok::<_, BenchError>(conn)
                }
                .await;
                let mut conn = match resumed {
                    Ok(conn) => {
                        record(&lat, started.elapsed().as_micros() as u64);
                        let _ = ready.send(Ok(())).await;
                        conn
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string())).await;
                        return Ok(());
                    }
                };
                // Stay connected until every page is back, as the pages do.
                pump(&mut conn, &stop, |_| {})
                    .await
                    .map_err(|e| e.to_string())
            });
        }
        drop(ready);
        let back = gather(&mut ready_rx, users, &mut report).await;
        let s1 = Snapshot::take(self.server_pid);
        stop.cancel();
        join_all(&mut set, &mut report).await;
        report.costs(&s0, &s1);
        report.sessions = back;
        report.rate = back as f64 / report.seconds.max(1e-9);
        report.missing = (users as u64).saturating_sub(back);
        report.latency = percentiles(&lat);
        report.server_cpu_us_per_item = report
            .server_cpu_s
            .filter(|_| back > 0)
            .map(|c| c * 1e6 / back as f64);
        Ok(report)
    }
}
