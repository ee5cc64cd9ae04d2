//! The release-style attack on the real binary: a few thousand connections that never finish
//! their request head (silent, half a request line, half the headers), from several loopback
//! addresses, against a server limited to 1,024 open descriptors. `/health` must answer fast
//! throughout, and the server must close every one of those connections in bounded time.

use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

const BIN: &str = env!("CARGO_BIN_EXE_reuse-chat");

/// The server's descriptor limit.
const NOFILE: u32 = 1024;
/// Connections the attack opens: about three times what the server can hold.
const ATTACK: usize = 3000;
/// Source addresses of the attack (127.0.0.2 and up); `/health` comes from 127.0.0.1.
const ATTACK_ADDRESSES: u8 = 8;
/// The server's default request-head timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/health` may take, each time.
const HEALTH_BOUND: Duration = Duration::from_secs(2);

/// What each kind of held connection sends, and then nothing more.
const KINDS: [(&str, &[u8]); 3] = [
    ("silent", b""),
    ("half request line", b"GET /health HT"),
    (
        "half headers",
        b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: ",
    ),
];

struct Server {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(port: u16) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$@\""))
        .arg("sh")
        .arg(BIN)
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .args(["--log", "info"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .expect("server starts");
    Server {
        child,
        log,
        _dir: dir,
    }
}

/// `GET /health` on a new connection; its time, or why it failed.
async fn health(port: u16) -> Result<Duration, String> {
    let started = Instant::now();
    let attempt = async {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        s.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let text = String::from_utf8_lossy(&out);
        if text.starts_with("HTTP/1.1 200") && text.ends_with("{\"status\":\"ok\"}") {
            Ok(())
        } else {
            Err(format!("answer: {text:?}"))
        }
    };
    match tokio::time::timeout(HEALTH_BOUND, attempt).await {
        Ok(Ok(())) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("no answer within {HEALTH_BOUND:?}")),
    }
}

/// How one held connection ended.
struct Held {
    kind: usize,
    /// From connecting to the server closing it; `None` if it was still open at the deadline.
    closed_after: Option<Duration>,
    /// The server answered something before closing (a 503 for a refused connection).
    answered: bool,
}

/// Opens one connection from `source` (holding `permit` while connecting), sends
/// `KINDS[kind]`, and waits for the server to close it.
async fn hold(
    port: u16,
    source: IpAddr,
    kind: usize,
    deadline: Duration,
    permit: OwnedSemaphorePermit,
) -> Result<Held, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let target: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = tokio::time::timeout(Duration::from_secs(10), socket.connect(target))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    drop(permit);
    let opened = Instant::now();
    // A refused connection may be closed before this is written.
    let _ = s.write_all(KINDS[kind].1).await;
    let mut answered = false;
    let mut buf = [0u8; 1024];
    let closed_after = loop {
        match tokio::time::timeout_at((opened + deadline).into(), s.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0)) | Ok(Err(_)) => break Some(opened.elapsed()),
            Ok(Ok(_)) => answered = true,
        }
    };
    Ok(Held {
        kind,
        closed_after,
        answered,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_connections_are_closed_and_health_stays_fast() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = start_server(port);
    let started = Instant::now();
    while health(port).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // /health from 127.0.0.1 every 100 ms while the attack runs.
    let stop = tokio_util::sync::CancellationToken::new();
    let prober = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut results = Vec::new();
            while !stop.is_cancelled() {
                results.push(health(port).await);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            results
        }
    });

    // The attack: connections opened as fast as 200 concurrent connects allow.
    let deadline = HEADER_TIMEOUT * 4;
    let connects = Arc::new(Semaphore::new(200));
    let attack_started = Instant::now();
    let mut tasks = Vec::with_capacity(ATTACK);
    for i in 0..ATTACK {
        let permit = connects.clone().acquire_owned().await.unwrap();
        let source = IpAddr::from([127, 0, 0, 2 + (i % ATTACK_ADDRESSES as usize) as u8]);
        let kind = i % KINDS.len();
        tasks.push(tokio::spawn(hold(port, source, kind, deadline, permit)));
    }
    let opened_in = attack_started.elapsed();
    let mut held = Vec::with_capacity(ATTACK);
    for t in tasks {
        held.push(t.await.unwrap().expect("attack connection"));
    }
    let attack_done = attack_started.elapsed();
    // A little more /health after the last close, then stop probing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    let probes = prober.await.unwrap();

    // Report.
    let mut times: Vec<Duration> = probes
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .copied()
        .collect();
    times.sort();
    let failures: Vec<&String> = probes.iter().filter_map(|r| r.as_ref().err()).collect();
    eprintln!(
        "attack: {ATTACK} connections from {ATTACK_ADDRESSES} addresses opened in {opened_in:?}, \
         all closed after {attack_done:?}"
    );
    eprintln!(
        "/health: {} probes, p50 {:?}, p99 {:?}, max {:?}, {} failed",
        probes.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        failures.len()
    );
    for (k, (name, _)) in KINDS.iter().enumerate() {
        let mut closed: Vec<Duration> = held
            .iter()
            .filter(|h| h.kind == k)
            .filter_map(|h| h.closed_after)
            .collect();
        closed.sort();
        let refused = held.iter().filter(|h| h.kind == k && h.answered).count();
        eprintln!(
            "{name}: {} closed (refused with 503: {refused}), after p50 {:?}, max {:?}",
            closed.len(),
            percentile(&closed, 0.5),
            closed.last().copied().unwrap_or_default(),
        );
    }
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    let accept_warnings = log.matches("accept failed").count();
    eprintln!("server log: {accept_warnings} 'accept failed' warnings");

    // Checks.
    assert!(
        log.contains(&format!("descriptor_limit={NOFILE}")),
        "the server ran under the lowered limit: {log}"
    );
    assert!(failures.is_empty(), "/health failed: {failures:?}");
    assert!(probes.len() >= 20, "only {} probes", probes.len());
    let still_open = held.iter().filter(|h| h.closed_after.is_none()).count();
    assert_eq!(still_open, 0, "connections the server never closed");
    let bound = HEADER_TIMEOUT + Duration::from_secs(5);
    let late: Vec<Duration> = held
        .iter()
        .filter_map(|h| h.closed_after)
        .filter(|d| *d > bound)
        .collect();
    assert!(late.is_empty(), "closed later than {bound:?}: {late:?}");
    // The accept loop backs off and logs at most once every 5 s.
    let run = started.elapsed().as_secs() as usize;
    assert!(
        accept_warnings <= run / 5 + 2,
        "{accept_warnings} accept warnings in {run} s"
    );
    // Still serving, and still stopping cleanly.
    health(port).await.expect("health after the attack");
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut server = server;
    let stopping = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(20),
            "server did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
