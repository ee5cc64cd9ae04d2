//! Smoke run of the load generator, so it cannot rot: every scenario for about a second with
//! tiny numbers, against the real reuse-chat server (in process, SQLite in a temporary
//! directory, port 0) and against the baseline; each report must be sane.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use chat_bench::report::Report;
use chat_bench::scenario::Bench;
use chat_bench::target::{Kind, Target};
use reuse_chat::config::Settings;
use reuse_chat::App;
use tokio_util::sync::CancellationToken;

const SEC: Duration = Duration::from_secs(1);

fn bench(kind: Kind, port: u16, label: &str) -> Bench {
    Bench {
        target: Target::new(kind, SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)),
        sources: vec![
            Ipv4Addr::new(127, 0, 0, 1).into(),
            Ipv4Addr::new(127, 0, 0, 2).into(),
        ],
        server_pid: Some(std::process::id()),
        db_pid: None,
        heartbeat_ms: 10_000,
        connect_concurrency: 8,
        label: label.to_owned(),
        run: format!("smoke{}", chat_bench::client::now_us()),
    }
}

fn clean(r: &Report) {
    assert_eq!(r.errors, 0, "{}", r.summary());
    assert!(r.sessions > 0, "{}", r.summary());
    assert!(r.rate > 0.0, "{}", r.summary());
    assert!(r.seconds > 0.0, "{}", r.summary());
}

/// Runs every scenario against `b` and checks what each must show.
async fn every_scenario(b: &Bench) {
    let idle = b.idle(10, SEC).await.expect("idle runs");
    clean(&idle);
    assert_eq!(idle.sessions, 10);
    assert!(idle.rss_per_session.is_some() && idle.server_rss_after.is_some());

    let m = b
        .marketplace(3, 40.0, SEC, Duration::ZERO, 0.0)
        .await
        .expect("marketplace runs");
    clean(&m);
    assert!(m.sent > 0 && m.delivered > 0, "{}", m.summary());
    // Both members are subscribed: every message measured reaches both, and every send is
    // confirmed.
    assert_eq!(m.missing, 0, "{}", m.summary());
    assert_eq!(m.delivered, m.sent * 2, "{}", m.summary());
    assert_eq!(m.receipts, m.sent, "{}", m.summary());
    let lat = m.latency.as_ref().expect("delivery latencies recorded");
    assert_eq!(lat.count, m.delivered);
    assert!(lat.p50_us > 0 && lat.p50_us <= lat.p99_us && lat.p99_us <= lat.p999_us);
    assert!(m
        .receipt_latency
        .as_ref()
        .is_some_and(|p| p.count == m.receipts));

    // Two of four rooms with their buyer away: their messages reach the seller's session only.
    let away = b
        .marketplace(4, 40.0, SEC, Duration::ZERO, 0.5)
        .await
        .expect("marketplace with away buyers runs");
    clean(&away);
    assert_eq!(away.sessions, 6, "{}", away.summary());
    assert_eq!(away.missing, 0, "{}", away.summary());
    assert!(away.delivered < away.sent * 2, "{}", away.summary());
    assert_eq!(away.receipts, away.sent, "{}", away.summary());

    let f = b
        .fanout(6, 3, SEC, Duration::ZERO, 4)
        .await
        .expect("fan-out runs");
    clean(&f);
    assert_eq!(
        f.sessions, 8,
        "2 rooms of 3 subscribers and a publisher each"
    );
    assert!(f.delivered > 0 && f.receipts > 0, "{}", f.summary());
    assert!(f.delivered <= f.sent * 3, "{}", f.summary());
    assert!(f.server_cpu_us_per_item.is_some(), "{}", f.summary());

    let r = b.reconnect(12).await.expect("reconnect runs");
    clean(&r);
    assert_eq!((r.sessions, r.missing), (12, 0), "{}", r.summary());

    let p = b
        .persist(2, 4, SEC, Duration::ZERO)
        .await
        .expect("persist runs");
    clean(&p);
    assert!(p.receipts > 0 && p.receipts <= p.sent, "{}", p.summary());
    assert!(p.receipt_latency.is_some(), "{}", p.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_against_reuse_chat() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::for_data_dir(dir.path());
    settings.listen = "127.0.0.1:0".parse().expect("address");
    // As scripts/bench.sh runs it: the rate limits in the path, far above any scenario's rate.
    settings.safety.limits = reuse_chat::rate_limits::LimitSettings::parse(
        "messages=1000000/s:1000000,rooms=1000000/s:1000000,connects=1000000/s:1000000,\
         requests=1000000/s:1000000",
    )
    .expect("rate limits");
    let app = App::build(settings).await.expect("reuse-chat starts");
    let port = app.port();
    let token = app.shutdown_token();
    let server = tokio::spawn(app.run());
    every_scenario(&bench(Kind::ReuseChat, port, "sqlite")).await;
    token.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(30), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_against_the_baseline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(chat_bench::baseline::serve(listener, shutdown.clone()));
    every_scenario(&bench(Kind::Baseline, port, "")).await;
    shutdown.cancel();
    assert!(tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .is_ok());
}
