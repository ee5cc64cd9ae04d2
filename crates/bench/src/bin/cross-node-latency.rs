//! Cross-node delivery latency of a reuse-chat cluster: in each of K rooms one member sends on
//! node A at a steady rate (open loop: scheduled by the clock), the other member is connected
//! to node B; every message travels A → Kafka → B. Reports publish→deliver latency
//! (HdrHistogram, p50/p99/p99.9/max) and what was lost or repeated. Run by
//! `scripts/bench-cluster.sh`, which starts the broker, the database and the nodes.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_bench::client::{now_us, StompConn};
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
}

struct Stats {
    latency: Histogram<u64>,
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
    let stats = Arc::new(Mutex::new(Stats {
        latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        received: 0,
        repeated: 0,
    }));
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
                let mut s = stats.lock().unwrap_or_else(|e| e.into_inner());
                if !seen.insert(id) {
                    s.repeated += 1;
                    continue;
                }
                if sent >= measure_from {
                    s.received += 1;
                    let _ = s.latency.record(now.saturating_sub(sent).max(1));
                }
            }
        }));
    }
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
    Ok(())
}
