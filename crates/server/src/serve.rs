//! The HTTP/1.1 connection layer in front of the router (in place of `axum::serve`): the accept
//! loop and its back-off when descriptors run out, the connection limits per client address and
//! in total (closing the oldest idle connection when full), the request-head timeout that also
//! closes silent and idle keep-alive connections, JSON bodies for the errors hyper answers by
//! itself, and graceful shutdown.
//!
//! A connection upgraded to WebSocket leaves this layer once the `101` is written: no timeout
//! here applies to it (the STOMP session has its own), but it counts against the connection
//! limits until it closes.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::http::{MAX_HEADER_BYTES, MAX_URI_BYTES};

/// The most bytes of one request head hyper buffers. Above [`MAX_URI_BYTES`] +
/// [`MAX_HEADER_BYTES`], so a head over those limits still reaches the router, which answers it
/// with the limit's name; hyper answers only what is larger still (see [`automatic_error`]).
pub const MAX_HEAD_BUFFER: usize = 128 * 1024;

/// How the connection layer bounds its clients.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Time allowed for a whole request head, counted from the connection's start (so a
    /// connection that sends nothing is closed too) and again from the end of each response (so
    /// an idle keep-alive connection is closed after it as well).
    pub header_timeout: Duration,
    /// Most open connections from one client address, WebSocket sessions included; 0 is no cap.
    pub max_per_address: usize,
    /// Most open connections in total; `None` derives it from the descriptor limit.
    pub max_total: Option<usize>,
}

/// Connections waiting to be accepted (the kernel caps it at `net.core.somaxconn`): room for a
/// burst, such as every client of a restarted node reconnecting at once.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the listen address (port 0 picks a free port).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    // As `TcpListener::bind` does: a restarted server can bind while old connections linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Raises the soft limit on open descriptors to the hard limit, as far as allowed, and returns
/// the limit now in force.
pub fn raise_descriptor_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-descriptor limit");
            1024
        }
    }
}

/// The default total connection limit for a descriptor limit of `nofile`: a tenth (at least 64)
/// is kept for the database, brokers, logs and accepting.
pub fn default_max_connections(nofile: u64) -> usize {
    let reserve = (nofile / 10).max(64);
    usize::try_from(nofile.saturating_sub(reserve))
        .unwrap_or(usize::MAX)
        .max(16)
}

/// Serves `router` on `listener` until `shutdown` is cancelled; then stops accepting, lets every
/// connection finish its request in flight (idle ones close at once), and returns when all HTTP
/// connections are closed. Upgraded WebSocket connections are not waited for here.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    let nofile = raise_descriptor_limit();
    let max_total = limits
        .max_total
        .unwrap_or_else(|| default_max_connections(nofile));
    tracing::info!(
        descriptor_limit = nofile,
        max_connections = max_total,
        max_connections_per_ip = limits.max_per_address,
        header_timeout_ms = limits.header_timeout.as_millis() as u64,
        "connection limits"
    );
    let registry = Arc::new(Registry::new(limits.max_per_address, max_total));
    let tracker = TaskTracker::new();
    let mut backoff = Backoff::default();
    let mut refusals = RateLimitedLog::default();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // The client gave up before it was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            // Out of descriptors (or memory): make room and wait instead of spinning.
            Err(e) => {
                let evicted = registry.evict_oldest_idle();
                backoff.wait(&e, evicted, &shutdown).await;
                continue;
            }
        };
        backoff.reset();
        match registry.admit(peer.ip()) {
            Admission::Admitted(guard) => {
                tracker.spawn(connection(
                    stream,
                    peer.ip(),
                    guard,
                    router.clone(),
                    registry.clone(),
                    limits.header_timeout,
                    shutdown.clone(),
                ));
            }
            refusal => {
                refusals.log(|suppressed| {
                    tracing::warn!(
                        client = %peer.ip(),
                        reason = refusal.reason(),
                        suppressed,
                        "refused a connection"
                    )
                });
                refuse(stream, &refusal);
            }
        }
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

/// Whether an accept error concerns only the connection being accepted.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection over a limit with a `503` (best effort: only what the socket takes at
/// once) and closes it.
fn refuse(stream: TcpStream, refusal: &Admission) {
    let body = serde_json::json!({
        "error": "unavailable",
        "message": format!("{}, retry later", refusal.reason()),
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(response.as_bytes());
}

/// Serves one accepted connection until it closes, is upgraded, times out, or is evicted.
async fn connection(
    stream: TcpStream,
    client: std::net::IpAddr,
    guard: ConnGuard,
    router: Router,
    registry: Arc<Registry>,
    header_timeout: Duration,
    shutdown: CancellationToken,
) {
    let upgraded = Arc::new(AtomicBool::new(false));
    let slot = Arc::new(Slot::new(registry));
    // Waiting for its first request: the oldest such connections make room when full.
    slot.idle();
    let io = TokioIo::new(GuardedIo::new(stream, guard, upgraded.clone()));
    let service = hyper::service::service_fn({
        let slot = slot.clone();
        move |req: Request<Incoming>| {
            slot.busy();
            let slot = slot.clone();
            let upgraded = upgraded.clone();
            let mut req = req.map(axum::body::Body::new);
            // Who is calling, for the per-address rate limits.
            req.extensions_mut()
                .insert(crate::http_safety::ClientAddr(client));
            let response = router.clone().oneshot(req);
            async move {
                let response = match response.await {
                    Ok(r) => r,
                    Err(never) => match never {},
                };
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    upgraded.store(true, Ordering::Release);
                } else {
                    slot.idle();
                }
                Ok::<_, Infallible>(response)
            }
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEAD_BUFFER);
    let conn = builder.serve_connection(io, service).with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let evicted = slot.evict.clone();
    let mut draining = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended");
                }
                break;
            }
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = evicted.cancelled() => {
                tracing::debug!("closed an idle connection to make room for a new one");
                break;
            }
        }
    }
}

/// Why a connection was accepted or not.
enum Admission {
    /// Within the limits; the guard counts it until the socket is closed.
    Admitted(ConnGuard),
    /// Its address has the most connections allowed.
    TooManyFromAddress,
    /// The total limit is reached and no connection is idle.
    Full,
}

impl Admission {
    fn reason(&self) -> &'static str {
        match self {
            Admission::Admitted(_) => "admitted",
            Admission::TooManyFromAddress => "too many connections from this address",
            Admission::Full => "too many connections",
        }
    }
}

/// The open connections: how many in all and per address, and which are idle (no request in
/// progress), oldest first. Its maps hold at most one entry per open connection.
struct Registry {
    max_per_address: usize,
    max_total: usize,
    state: Mutex<RegistryState>,
}

#[derive(Default)]
struct RegistryState {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    next_seq: u64,
    /// Idle connections by when they became idle; cancelling the token closes one.
    idle: BTreeMap<u64, CancellationToken>,
}

impl Registry {
    fn new(max_per_address: usize, max_total: usize) -> Self {
        Registry {
            max_per_address,
            max_total,
            state: Mutex::new(RegistryState::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        // The state stays consistent at every step, so a panic elsewhere does not spoil it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a new connection from `address`, closing the oldest idle connection when the
    /// total is reached.
    fn admit(self: &Arc<Self>, address: IpAddr) -> Admission {
        let mut st = self.lock();
        let from_address = st.per_address.get(&address).copied().unwrap_or(0);
        if self.max_per_address > 0 && from_address >= self.max_per_address {
            return Admission::TooManyFromAddress;
        }
        if st.total >= self.max_total {
            match st.idle.pop_first() {
                Some((_, token)) => token.cancel(),
                None => return Admission::Full,
            }
        }
        st.total += 1;
        *st.per_address.entry(address).or_insert(0) += 1;
        Admission::Admitted(ConnGuard {
            registry: self.clone(),
            address,
        })
    }

    /// Closes the connection idle the longest; whether there was one.
    fn evict_oldest_idle(&self) -> bool {
        match self.lock().idle.pop_first() {
            Some((_, token)) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Counts one open connection until dropped, which happens when its socket is closed (it lives
/// in the socket's wrapper, so it follows an upgraded connection into its WebSocket session).
struct ConnGuard {
    registry: Arc<Registry>,
    address: IpAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let mut st = self.registry.lock();
        st.total = st.total.saturating_sub(1);
        if let Some(n) = st.per_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                st.per_address.remove(&self.address);
            }
        }
    }
}

/// One connection's place among the idle ones.
struct Slot {
    registry: Arc<Registry>,
    /// Its key in the idle map, 0 while a request is in progress (changed under the lock).
    seq: AtomicU64,
    /// Cancelled to close the connection.
    evict: CancellationToken,
}

impl Slot {
    fn new(registry: Arc<Registry>) -> Self {
        Slot {
            registry,
            seq: AtomicU64::new(0),
            evict: CancellationToken::new(),
        }
    }

    /// No request in progress: the connection may be closed to make room.
    fn idle(&self) {
        let mut st = self.registry.lock();
        let old = self.seq.load(Ordering::Relaxed);
        if old != 0 {
            st.idle.remove(&old);
        }
        st.next_seq += 1;
        let seq = st.next_seq;
        st.idle.insert(seq, self.evict.clone());
        self.seq.store(seq, Ordering::Relaxed);
    }

    /// A request is in progress.
    fn busy(&self) {
        let mut st = self.registry.lock();
        let seq = self.seq.swap(0, Ordering::Relaxed);
        if seq != 0 {
            st.idle.remove(&seq);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.busy();
    }
}

/// Backs the accept loop off while accepting fails (descriptors or memory exhausted): 5 ms
/// doubling to 500 ms, with one warning every 5 s at most.
struct Backoff {
    delay: Duration,
    log: RateLimitedLog,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: Self::FIRST,
            log: RateLimitedLog::default(),
        }
    }
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_millis(500);

    async fn wait(&mut self, e: &io::Error, evicted: bool, shutdown: &CancellationToken) {
        let delay = self.delay;
        self.log.log(|suppressed| {
            tracing::warn!(
                error = %e,
                closed_an_idle_connection = evicted,
                retry_in_ms = delay.as_millis() as u64,
                suppressed,
                "accept failed (lower --max-connections or raise the descriptor limit)"
            )
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {}
        }
        self.delay = (delay * 2).min(Self::MAX);
    }

    fn reset(&mut self) {
        self.delay = Self::FIRST;
    }
}

/// Lets a repeated warning through once every 5 s, counting the ones it held back.
#[derive(Default)]
struct RateLimitedLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    const EVERY: Duration = Duration::from_secs(5);

    fn log(&mut self, emit: impl FnOnce(u64)) {
        if self.last.is_some_and(|t| t.elapsed() < Self::EVERY) {
            self.suppressed += 1;
            return;
        }
        emit(self.suppressed);
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

/// The socket of one connection, holding its [`ConnGuard`], and replacing the empty-bodied
/// error responses hyper writes by itself with the JSON error shape (see [`automatic_error`]).
struct GuardedIo {
    stream: TcpStream,
    _guard: ConnGuard,
    /// Set once the connection is upgraded: from then on the bytes are WebSocket frames.
    upgraded: Arc<AtomicBool>,
    /// Bytes still to write before anything else (a replaced response).
    pending: Vec<u8>,
    pending_at: usize,
}

impl GuardedIo {
    fn new(stream: TcpStream, guard: ConnGuard, upgraded: Arc<AtomicBool>) -> Self {
        GuardedIo {
            stream,
            _guard: guard,
            upgraded,
            pending: Vec::new(),
            pending_at: 0,
        }
    }

    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.pending_at < self.pending.len() {
            let n = ready!(
                Pin::new(&mut self.stream).poll_write(cx, &self.pending[self.pending_at..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending_at += n;
        }
        self.pending = Vec::new();
        self.pending_at = 0;
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GuardedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for GuardedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if !this.upgraded.load(Ordering::Acquire) {
            if let Some((start, status)) = automatic_error(buf) {
                let mut out = buf[..start].to_vec();
                out.extend_from_slice(&json_error_response(status));
                this.pending = out;
                this.pending_at = 0;
                // What the socket does not take now is written on the next write or flush.
                if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(buf.len()));
            }
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// If `buf` ends with a response head that hyper wrote by itself for a request it could not
/// take — `400` (malformed), `414` (target over 64 KiB) or `431` (head over
/// [`MAX_HEAD_BUFFER`] or over 100 header fields), always without a body — where that head
/// starts and its status. This server's own responses with those statuses always have a JSON
/// body, and a JSON body never contains a line break, so nothing else matches.
fn automatic_error(buf: &[u8]) -> Option<(usize, u16)> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let start = buf.windows(7).rposition(|w| w == b"HTTP/1.")?;
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(&buf[start..]) {
        Ok(httparse::Status::Complete(n)) if start + n == buf.len() => {}
        _ => return None,
    }
    let status = response.code?;
    let bodiless = response.headers.iter().all(|h| {
        !(h.name.eq_ignore_ascii_case("transfer-encoding")
            || h.name.eq_ignore_ascii_case("content-length") && h.value != b"0")
    });
    (matches!(status, 400 | 414 | 431) && bodiless).then_some((start, status))
}

/// The whole response (head and JSON body) that replaces hyper's own for `status`.
fn json_error_response(status: u16) -> Vec<u8> {
    let (reason, code, message) = match status {
        414 => (
            "URI Too Long",
            "uri_too_long",
            format!("the request target is over {MAX_URI_BYTES} bytes"),
        ),
        431 => (
            "Request Header Fields Too Large",
            "headers_too_large",
            format!("the request headers are over {MAX_HEADER_BYTES} bytes or 100 fields"),
        ),
        _ => (
            "Bad Request",
            "invalid_request",
            "the request is not valid HTTP/1.1".to_owned(),
        ),
    };
    let body = serde_json::json!({"error": code, "message": message}).to_string();
    format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_s_bodiless_error_heads_are_replaced() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\
                     date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n";
        assert_eq!(automatic_error(head), Some((0, 431)));
        // After the tail of an earlier response in the same write.
        let mut joined = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec();
        joined.extend_from_slice(head);
        assert_eq!(
            automatic_error(&joined),
            Some((joined.len() - head.len(), 431))
        );
        let uri = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(automatic_error(uri), Some((0, 414)));
        // Our own responses: other statuses, or a body.
        assert_eq!(automatic_error(b"HTTP/1.1 204 No Content\r\n\r\n"), None);
        assert_eq!(
            automatic_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}"),
            None
        );
        assert_eq!(
            automatic_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 9\r\n\r\n"),
            None
        );
        assert_eq!(automatic_error(b"{\"content\":\"HTTP/1.1 400 x\"}"), None);
        let replaced = String::from_utf8(json_error_response(431)).unwrap();
        let (head, body) = replaced.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 "));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "headers_too_large");
    }

    #[test]
    fn the_total_limit_closes_the_oldest_idle_connection() {
        let registry = Arc::new(Registry::new(2, 3));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let Admission::Admitted(g1) = registry.admit(a) else {
            panic!("first")
        };
        let s1 = Slot::new(registry.clone());
        s1.idle();
        let Admission::Admitted(_g2) = registry.admit(a) else {
            panic!("second")
        };
        assert!(matches!(registry.admit(a), Admission::TooManyFromAddress));
        let s2 = Slot::new(registry.clone());
        s2.idle();
        s2.busy();
        let Admission::Admitted(_g3) = registry.admit(b) else {
            panic!("third")
        };
        // Full: the idle one (s1) is closed for the newcomer; the busy one is not.
        let Admission::Admitted(_g4) = registry.admit(b) else {
            panic!("fourth")
        };
        assert!(s1.evict.is_cancelled());
        assert!(!s2.evict.is_cancelled());
        // Still full, nothing idle any more.
        assert!(matches!(registry.admit(b), Admission::TooManyFromAddress));
        let c: IpAddr = "127.0.0.4".parse().unwrap();
        assert!(matches!(registry.admit(c), Admission::Full));
        drop(g1);
        assert_eq!(registry.lock().per_address.get(&a), Some(&1));
    }
}
