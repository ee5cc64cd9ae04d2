//! Cross-node delivery latency of a reuse-chat cluster: in each of K rooms one member sends on
//! node A at a steady rate (open loop: scheduled by the clock), the other member is connected
//! to node B; every message travels A → Kafka → B. Reports publish→deliver latency
//! (HdrHistogram, p50/p99/p99.9/max) and what was lost or repeated, then where the time went:
//! the client's own split at the message's `createdAt` (the start of its group commit), and
//! the nodes' per-hop histograms (`reuse_chat_hop_*`, scraped from both nodes' `/metrics`
//! when the measured second starts and after the run). Run by `scripts/bench-cluster.sh`,
//! which starts the broker, the database and the nodes.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_bench::client::{epoch, now_us, StompConn};
use chat_bench::target::{Kind, Purpose, Target};
use clap::Parser;
use hdrhistogram::Histogram;
use reuse_stomp::{Command, Frame};

#[derive(Parser)]
#[command(about = "publish→deliver latency between two reuse-chat nodes")]
struct Args {
    /// Node the senders connect to.
    #[arg(long)]
    send: SocketAddr,
    /// Node the receivers connect to.
    #[arg(long)]
    recv: SocketAddr,
    /// Concurrent rooms.
    #[arg(long, default_value_t = 50)]
    rooms: usize,
    /// Messages per second, all rooms together.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Seconds of sending (after a one-second warm-up that is not measured).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Do not print the per-hop breakdown.
    #[arg(long)]
    no_hops: bool,
}

struct Stats {
    latency: Histogram<u64>,
    /// Send → `createdAt` (queueing before the group commit starts), microseconds.
    to_commit: Histogram<u64>,
    /// `createdAt` → read by the receiver (commit, bus, sequencer, hub, socket), microseconds.
    from_commit: Histogram<u64>,
    /// Latency by the second of the run the message was sent in: a tail that grows with the
    /// run (a broker slowing down as its log grows) reads differently from one that comes in
    /// bursts (backoffs, timers).
    by_second: Vec<Histogram<u64>>,
    received: u64,
    repeated: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let run = format!("x{}", std::process::id());
    let sender_node = Target::new(Kind::ReuseChat, args.send);
    let receiver_node = Target::new(Kind::ReuseChat, args.recv);
    let rooms = sender_node.rooms(&run, args.rooms, Purpose::Chat).await?;
    let histogram = || Histogram::new_with_bounds(1, 60_000_000, 3);
    let stats = Arc::new(Mutex::new(Stats {
        latency: histogram()?,
        to_commit: histogram()?,
        from_commit: histogram()?,
        by_second: (0..args.seconds)
            .map(|_| histogram())
            .collect::<Result<_, _>>()?,
        received: 0,
        repeated: 0,
    }));
    // The generator's clock (monotonic, from its start) in wall-clock terms, to compare with
    // the server's `createdAt`; both run on this machine's clock.
    let wall_at_epoch = wall_us().saturating_sub(epoch().elapsed().as_micros() as u64);
    let measure_from = now_us() + 1_000_000;
    let mut receivers = Vec::new();
    for room in &rooms {
        let mut conn = StompConn::open(&receiver_node, &room.users[1], None, 0).await?;
        conn.subscribe(&room.subscribe, "sub-0").await?;
        let stats = stats.clone();
        receivers.push(tokio::spawn(async move {
            let mut seen = HashSet::new();
            while let Ok(f) = conn.next_frame().await {
                if f.command != Command::Message {
                    continue;
                }
                let now = now_us();
                let Ok(body) = serde_json::from_slice::<serde_json::Value>(&f.body) else {
                    continue;
                };
                let sent: u64 = body["content"]
                    .as_str()
                    .and_then(|c| c.split(' ').nth(1))
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let id = body["id"].as_i64().unwrap_or(0);
                let created = body["createdAt"].as_str().and_then(rfc3339_millis);
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                if !seen.insert(id) {
                    s.repeated += 1;
                    continue;
                }
                if sent >= measure_from {
                    s.received += 1;
                    let _ = s.latency.record(now.saturating_sub(sent).max(1));
                    let second = ((sent - measure_from) / 1_000_000) as usize;
                    if let Some(h) = s.by_second.get_mut(second) {
                        let _ = h.record(now.saturating_sub(sent).max(1));
                    }
                    if let Some(created_ms) = created {
                        // `createdAt` has millisecond resolution: the split is good to 1 ms.
                        let created_us = created_ms.saturating_mul(1000);
                        let (sent_wall, now_wall) = (wall_at_epoch + sent, wall_at_epoch + now);
                        let _ = s
                            .to_commit
                            .record(created_us.saturating_sub(sent_wall).max(1));
                        let _ = s
                            .from_commit
                            .record(now_wall.saturating_sub(created_us).max(1));
                    }
                }
            }
        }));
    }
    // Both nodes' hop histograms when the measured part starts.
    let nodes: Vec<SocketAddr> = if args.send == args.recv {
        vec![args.send]
    } else {
        vec![args.send, args.recv]
    };
    let before = {
        let nodes = nodes.clone();
        tokio::spawn(async move {
            let wait = measure_from.saturating_sub(now_us());
            tokio::time::sleep(Duration::from_micros(wait)).await;
            scrape_all(&nodes).await
        })
    };
    // Open loop: each room's sender sends at rate/rooms per second, on the clock.
    let per_room = (args.rate as f64 / args.rooms as f64).max(0.001);
    let interval = Duration::from_secs_f64(1.0 / per_room);
    let total = Duration::from_secs(args.seconds + 1);
    let mut senders = Vec::new();
    for (i, room) in rooms.iter().enumerate() {
        let mut conn = StompConn::open(&sender_node, &room.users[0], None, 0).await?;
        let dest = room.send.clone();
        senders.push(tokio::spawn(async move {
            // Spread the rooms over the interval so sends do not come in bursts.
            tokio::time::sleep(interval.mul_f64(i as f64 / 50.0).min(interval)).await;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let end = tokio::time::Instant::now() + total;
            let mut sent_measured = 0u64;
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                let ts = now_us();
                let body = serde_json::json!({ "content": format!("t {ts}") }).to_string();
                let frame = Frame::new(Command::Send)
                    .with_header("destination", &dest)
                    .with_body(body.into_bytes());
                if conn.send(&frame).await.is_err() {
                    break;
                }
                if ts >= measure_from {
                    sent_measured += 1;
                }
            }
            sent_measured
        }));
    }
    let mut sent = 0;
    for s in senders {
        sent += s.await.unwrap_or(0);
    }
    // Let the last messages arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for r in &receivers {
        r.abort();
    }
    let after = scrape_all(&nodes).await;
    let before = before.await.unwrap_or_default();
    let s = stats.lock().unwrap_or_else(|e| e.into_inner());
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "rate={} msg/s rooms={} sent={} received={} missing_after_3s={} repeated={} p50={:.2}ms p99={:.2}ms p99.9={:.2}ms max={:.2}ms",
        args.rate,
        args.rooms,
        sent,
        s.received,
        sent.saturating_sub(s.received),
        s.repeated,
        ms(s.latency.value_at_quantile(0.50)),
        ms(s.latency.value_at_quantile(0.99)),
        ms(s.latency.value_at_quantile(0.999)),
        ms(s.latency.max()),
    );
    if args.no_hops {
        return Ok(());
    }
    let client_row = |name: &str, h: &Histogram<u64>| {
        println!(
            "  {name:<34} n={:<6} p50={:>9.2}ms p99={:>9.2}ms max={:>9.2}ms",
            h.len(),
            ms(h.value_at_quantile(0.50)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        );
    };
    let per_second: Vec<String> = s
        .by_second
        .iter()
        .map(|h| {
            format!(
                "{:.0}/{:.0}",
                ms(h.value_at_quantile(0.5)),
                ms(h.value_at_quantile(0.99))
            )
        })
        .collect();
    println!("  p50/p99 ms by second sent: {}", per_second.join(" "));
    client_row("client: send → createdAt", &s.to_commit);
    client_row("client: createdAt → read", &s.from_commit);
    for (i, node) in nodes.iter().enumerate() {
        let role = match (i, nodes.len()) {
            (_, 1) => "A=B",
            (0, _) => "A",
            _ => "B",
        };
        let (Some(b), Some(a)) = (before.get(i), after.get(i)) else {
            continue;
        };
        for hop in HOPS {
            let Some(d) = prom::delta(b, a, hop) else {
                continue;
            };
            if d.count == 0 {
                continue;
            }
            println!(
                "  {:<34} n={:<6} p50={:>9.2}ms p99={:>9.2}ms",
                format!(
                    "{role} {node}: {}",
                    hop.trim_start_matches("reuse_chat_hop_")
                ),
                d.count,
                d.quantile(0.50) * 1000.0,
                d.quantile(0.99) * 1000.0,
            );
        }
        let counters: Vec<String> = COUNTERS
            .iter()
            .map(|c| {
                let n = prom::counter(a, c).unwrap_or(0.0) - prom::counter(b, c).unwrap_or(0.0);
                format!("{}={n}", c.trim_start_matches("reuse_chat_"))
            })
            .collect();
        println!("  {role} {node}: {}", counters.join(" "));
    }
    Ok(())
}

/// The hop histograms each node exposes (`chat_core::hops`), in the order a message meets them.
const HOPS: [&str; 4] = [
    "reuse_chat_hop_commit_seconds",
    "reuse_chat_hop_produce_seconds",
    "reuse_chat_hop_bus_seconds",
    "reuse_chat_hop_sequencer_wait_seconds",
];
const COUNTERS: [&str; 2] = [
    "reuse_chat_sequencer_held_total",
    "reuse_chat_sequencer_filled_total",
];

fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Milliseconds since the Unix epoch of `2026-11-24T05:48:17.123Z` (the server's format: UTC,
/// milliseconds).
fn rfc3339_millis(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 24 || b[23] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| s.get(from..to)?.parse::<i64>().ok();
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, min, sec, milli) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let ms = ((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + milli;
    u64::try_from(ms).ok()
}

async fn scrape_all(nodes: &[SocketAddr]) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut pages = Vec::new();
    for node in nodes {
        let page = match http.get(format!("http://{node}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        pages.push(page);
    }
    pages
}

/// Just enough of the Prometheus text format to difference two scrapes of a histogram.
mod prom {
    /// A histogram's samples between two scrapes: cumulative counts by upper bound.
    pub struct Delta {
        pub count: u64,
        buckets: Vec<(f64, u64)>,
    }

    impl Delta {
        /// The `q` quantile in seconds, interpolated linearly within its bucket (as
        /// Prometheus' `histogram_quantile` does); the last finite bound if it lies beyond.
        pub fn quantile(&self, q: f64) -> f64 {
            let rank = q * self.count as f64;
            let mut lower = (0.0, 0u64);
            for &(le, cum) in &self.buckets {
                if cum as f64 >= rank {
                    if le.is_infinite() {
                        return lower.0;
                    }
                    let within = (cum - lower.1) as f64;
                    let frac = if within > 0.0 {
                        (rank - lower.1 as f64) / within
                    } else {
                        1.0
                    };
                    return lower.0 + (le - lower.0) * frac.clamp(0.0, 1.0);
                }
                lower = (le, cum);
            }
            lower.0
        }
    }

    fn buckets(page: &str, name: &str) -> Vec<(f64, u64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        let mut out: Vec<(f64, u64)> = page
            .lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(&prefix)?;
                let (le, value) = rest.split_once("\"} ")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, value.trim().parse::<f64>().ok()? as u64))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }

    /// The samples `name` gained from `before` to `after`; `None` if `after` lacks it.
    pub fn delta(before: &str, after: &str, name: &str) -> Option<Delta> {
        let a = buckets(after, name);
        let b = buckets(before, name);
        if a.is_empty() {
            return None;
        }
        let buckets: Vec<(f64, u64)> = a
            .iter()
            .map(|&(le, n)| {
                let was = b.iter().find(|(l, _)| *l == le).map_or(0, |(_, n)| *n);
                (le, n.saturating_sub(was))
            })
            .collect();
        let count = buckets.last().map_or(0, |(_, n)| *n);
        Some(Delta { count, buckets })
    }

    /// A counter's value (no labels).
    pub fn counter(page: &str, name: &str) -> Option<f64> {
        page.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_timestamps_and_histogram_deltas_are_read() {
        assert_eq!(rfc3339_millis("1970-01-01T00:00:01.234Z"), Some(1_234));
        assert_eq!(
            rfc3339_millis("2026-11-24T05:48:17.123Z"),
            Some(1_795_499_297_123)
        );
        assert_eq!(rfc3339_millis("2026-11-24T05:48:17Z"), None);
        let before = "h_bucket{le=\"0.01\"} 1\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 1\n";
        let after = "h_bucket{le=\"0.01\"} 51\nh_bucket{le=\"0.1\"} 101\nh_bucket{le=\"+Inf\"} 101\nc_total 7\n";
        let d = prom::delta(before, after, "h").unwrap();
        assert_eq!(d.count, 100);
        assert!((d.quantile(0.5) - 0.01).abs() < 1e-9);
        assert!((d.quantile(0.75) - 0.055).abs() < 1e-9);
        assert_eq!(d.quantile(1.0), 0.1);
        assert_eq!(prom::counter(after, "c_total"), Some(7.0));
    }
}
