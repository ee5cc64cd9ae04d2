//! One STOMP session over one WebSocket: the `CONNECT` handshake, then a single loop over
//! input, output, pending commits, heart-beats, token expiry and shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::BytesMut;
use chat_core::sequencer::Sequencer;
use chat_core::{ChatError, ChatService, PendingSend, RoomId, SendCommand};
use futures::stream::{FuturesOrdered, SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use reuse_stomp::{
    encode_to_bytes, Command, DecodeError, Decoded, Frame, Limits, StompDecoder, Version,
};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use super::hub::{room_destination, to_text, CloseReason, Hub, Outbound, SessionHandle};
use crate::auth::{bearer, unix_now, AuthError, Authenticator, Identity};

/// Limits and timings of STOMP sessions.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Frame size and header limits for the decoder.
    pub frame: Limits,
    /// Subscriptions one session may hold.
    pub max_subscriptions: usize,
    /// Frames queued for one session before it is closed as too slow.
    pub outbound_queue: usize,
    /// Heart-beat interval the server offers and asks for (zero disables).
    pub heartbeat: Duration,
    /// Time allowed between opening the WebSocket and a valid `CONNECT`.
    pub connect_timeout: Duration,
    /// Frames awaiting their commit before the session stops reading more.
    pub max_inflight: usize,
    /// Open transactions per session.
    pub max_transactions: usize,
    /// `SEND` frames one transaction may hold.
    pub max_transaction_frames: usize,
    /// Time allowed to finish pending commits when a session is closing.
    pub drain_timeout: Duration,
    /// Time allowed for one write to the socket before the client is considered gone.
    pub write_timeout: Duration,
}

/// What every session of this node shares.
pub struct WsContext {
    /// The domain.
    pub service: Arc<ChatService>,
    /// This node's fan-out.
    pub hub: Arc<Hub>,
    /// Keeps each room's messages in order in front of the hub; told where a room stands when
    /// this node's first subscriber to it arrives.
    pub sequencer: Arc<Sequencer>,
    /// Identity verification.
    pub auth: Arc<Authenticator>,
    /// Limits and timings.
    pub limits: SessionLimits,
    /// This node's id, to make session keys unique in the cluster.
    pub node_id: String,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Live sessions, for the connection limit.
    pub live: AtomicUsize,
    next_id: AtomicU64,
}

impl WsContext {
    /// Builds the shared session context.
    pub fn new(
        service: Arc<ChatService>,
        hub: Arc<Hub>,
        sequencer: Arc<Sequencer>,
        auth: Arc<Authenticator>,
        limits: SessionLimits,
        node_id: String,
        shutdown: CancellationToken,
    ) -> Self {
        WsContext {
            service,
            hub,
            sequencer,
            auth,
            limits,
            node_id,
            shutdown,
            live: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
        }
    }
}

/// Outbound frames written per flush at most, so one busy session cannot starve its own
/// input and timers.
const MAX_BURST: usize = 64;

const SUB_PREFIX: &str = "/sub/chat/room/";
const PUB_PREFIX: &str = "/pub/room/";
const PUB_SUFFIX: &str = "/message";
const SERVER_NAME: &str = concat!("reuse-chat/", env!("CARGO_PKG_VERSION"));

type Sink = SplitSink<WebSocket, Message>;
type Stream = SplitStream<WebSocket>;

/// How a frame the session accepted ended.
enum Done {
    /// Processed; send a `RECEIPT` if one was asked for.
    Ok(Option<String>),
    /// Refused; the session ends with an `ERROR`.
    Failed(Failure),
}

/// An error to report in an `ERROR` frame before closing.
struct Failure {
    message: String,
    detail: String,
    receipt: Option<String>,
}

impl Failure {
    fn new(message: impl Into<String>, detail: impl Into<String>, receipt: Option<String>) -> Self {
        Failure {
            message: message.into(),
            detail: detail.into(),
            receipt,
        }
    }

    fn chat(context: &str, e: &ChatError, receipt: Option<String>) -> Self {
        Failure::new(e.to_string(), format!("{context}: {e}"), receipt)
    }
}

type Completion = Pin<Box<dyn Future<Output = Done> + Send>>;

/// How the session ends.
enum Ending {
    /// With an `ERROR` frame.
    Error(Failure),
    /// The client said `DISCONNECT` (receipt to send).
    Disconnect(Option<String>),
    /// The connection is gone or dead: nothing more to say.
    Silent,
}

/// Serves one WebSocket until it ends. `gateway_user` is the `X-Auth-User` a gateway set on
/// the upgrade request, if any.
pub async fn run(ws: WebSocket, ctx: Arc<WsContext>, gateway_user: Option<String>) {
    let (sink, stream) = ws.split();
    let mut conn = Conn {
        sink,
        stream,
        buf: BytesMut::new(),
        decoder: StompDecoder::new(ctx.limits.frame.clone()),
        version: Version::V1_2,
        write_timeout: ctx.limits.write_timeout,
        last_write: Instant::now(),
    };
    let connect = tokio::select! {
        r = tokio::time::timeout(ctx.limits.connect_timeout, conn.next_frame()) => r,
        _ = ctx.shutdown.cancelled() => {
            conn.finish(Some(Failure::new("server shutting down", "the server is shutting down", None))).await;
            return;
        }
    };
    let frame = match connect {
        Err(_) => {
            let f = Failure::new("connect timeout", "no CONNECT frame arrived in time", None);
            conn.finish(Some(f)).await;
            return;
        }
        Ok(Err(Some(f))) => {
            conn.finish(Some(f)).await;
            return;
        }
        Ok(Err(None)) => return,
        Ok(Ok(frame)) => frame,
    };
    let (identity, version, heartbeat) = match handshake(&ctx, &frame, gateway_user.as_deref()) {
        Ok(x) => x,
        Err(f) => {
            conn.finish(Some(f)).await;
            return;
        }
    };
    conn.version = version;
    conn.decoder.set_version(version);

    let id = ctx.next_id.fetch_add(1, Ordering::Relaxed);
    let key = format!("{}:{id}", ctx.node_id);
    let connected = Frame::new(Command::Connected)
        .with_header("version", version.as_str())
        .with_header("heart-beat", &heartbeat.header)
        .with_header("server", SERVER_NAME)
        .with_header("session", &key)
        .with_header("user-name", identity.user.as_str());
    let written = conn.write_frame(&connected).await;
    // Locals live in the session task for as long as the session unless moved out: the
    // handshake frames and the gateway header are done with (idle sessions must be small).
    drop((connected, frame, gateway_user));
    if written.is_err() {
        return;
    }

    let (tx, rx) = mpsc::channel(ctx.limits.outbound_queue);
    let handle = Arc::new(SessionHandle::new(
        id,
        key.clone(),
        identity.user.clone(),
        version,
        tx,
    ));
    let presence = ctx.service.presence().clone();
    let info = chat_core::ports::SessionInfo {
        session: key.clone(),
        user: identity.user.clone(),
        node: ctx.node_id.clone(),
    };
    if let Err(e) = presence.session_opened(&info).await {
        tracing::warn!(error = %e, "presence: session_opened failed");
    }
    let mut session = Session {
        ctx: ctx.clone(),
        handle,
        identity,
        rx,
        subs: HashMap::new(),
        transactions: HashMap::new(),
        inflight: FuturesOrdered::new(),
        ending: None,
        halted: false,
    };
    let ending = session.serve(&mut conn, heartbeat).await;
    // Unregister before the last words so nothing more is queued for a closing session.
    let rooms: Vec<RoomId> = session.subs.values().copied().collect();
    ctx.hub.remove_session(id, &rooms);
    if let Err(e) = presence.session_closed(&key).await {
        tracing::warn!(error = %e, "presence: session_closed failed");
    }
    match ending {
        Ending::Error(f) => conn.finish(Some(f)).await,
        Ending::Disconnect(receipt) => {
            if let Some(r) = receipt {
                let _ = conn
                    .write_frame(&Frame::new(Command::Receipt).with_header("receipt-id", &r))
                    .await;
            }
            conn.finish(None).await;
        }
        Ending::Silent => {}
    }
}

/// The negotiated heart-beat of a session.
struct Heartbeat {
    /// `heart-beat` header for `CONNECTED`.
    header: String,
    /// How often the server must send something (None: never).
    send_every: Option<Duration>,
    /// How long the client may stay silent before the session is dropped (None: forever).
    silence_limit: Option<Duration>,
}

fn handshake(
    ctx: &WsContext,
    frame: &Frame,
    gateway_user: Option<&str>,
) -> Result<(Identity, Version, Heartbeat), Failure> {
    if !matches!(frame.command, Command::Connect | Command::Stomp) {
        return Err(Failure::new(
            "expected CONNECT",
            format!(
                "the first frame must be CONNECT or STOMP, not {}",
                frame.command.as_str()
            ),
            None,
        ));
    }
    let version = Version::negotiate(frame.header("accept-version")).ok_or_else(|| {
        Failure::new(
            "unsupported protocol version",
            "supported STOMP versions are 1.0, 1.1 and 1.2",
            None,
        )
    })?;
    let header_user = frame
        .header("X-Auth-User")
        .or_else(|| frame.header("x-auth-user"));
    let header_user = match (gateway_user, header_user) {
        (Some(g), Some(h)) if g != h => return Err(auth_failure(AuthError::Mismatch)),
        (Some(g), _) => Some(g),
        (None, h) => h,
    };
    let token = frame
        .header("Authorization")
        .or_else(|| frame.header("authorization"))
        .and_then(bearer)
        .or_else(|| frame.header("passcode"));
    let identity = ctx
        .auth
        .identify(header_user, token)
        .map_err(auth_failure)?;
    let hb = ctx.limits.heartbeat.as_millis() as u64;
    let (cx, cy) = if version == Version::V1_0 {
        (0, 0)
    } else {
        parse_heartbeat(frame.header("heart-beat")).ok_or_else(|| {
            Failure::new(
                "invalid heart-beat",
                "the heart-beat header must be two non-negative integers: cx,cy",
                None,
            )
        })?
    };
    let every = |ours: u64, theirs: u64| {
        (ours > 0 && theirs > 0).then(|| Duration::from_millis(ours.max(theirs)))
    };
    let heartbeat = Heartbeat {
        header: format!("{hb},{hb}"),
        send_every: every(hb, cy),
        // Twice the agreed interval: network jitter and busy clients must not cost a session.
        silence_limit: every(hb, cx).map(|d| d * 2),
    };
    Ok((identity, version, heartbeat))
}

fn auth_failure(e: AuthError) -> Failure {
    Failure::new("authentication failed", e.to_string(), None)
}

fn parse_heartbeat(h: Option<&str>) -> Option<(u64, u64)> {
    let Some(h) = h else {
        return Some((0, 0));
    };
    let (a, b) = h.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// The socket with its read buffer and decoder.
struct Conn {
    sink: Sink,
    stream: Stream,
    buf: BytesMut,
    decoder: StompDecoder,
    version: Version,
    write_timeout: Duration,
    last_write: Instant,
}

impl Conn {
    /// Reads until a whole frame is decoded (heart-beats skipped). `Err(None)`: the
    /// connection closed; `Err(Some)`: a protocol error to report.
    async fn next_frame(&mut self) -> Result<Frame, Option<Failure>> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(Decoded::Frame(f))) => return Ok(f),
                Ok(Some(Decoded::HeartBeat)) => continue,
                Ok(None) => {}
                Err(e) => return Err(Some(decode_failure(&e))),
            }
            match self.stream.next().await {
                Some(Ok(Message::Text(t))) => self.buf.extend_from_slice(t.as_bytes()),
                Some(Ok(Message::Binary(b))) => self.buf.extend_from_slice(&b),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Err(None),
            }
        }
    }

    async fn write(&mut self, msg: Message) -> Result<(), ()> {
        self.last_write = Instant::now();
        match tokio::time::timeout(self.write_timeout, self.sink.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    /// Queues a message in the WebSocket's write buffer; [`Conn::flush`] sends it.
    async fn feed(&mut self, msg: Message) -> Result<(), ()> {
        self.last_write = Instant::now();
        match tokio::time::timeout(self.write_timeout, self.sink.feed(msg)).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn flush(&mut self) -> Result<(), ()> {
        match tokio::time::timeout(self.write_timeout, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn write_frame(&mut self, frame: &Frame) -> Result<(), ()> {
        let text = to_text(encode_to_bytes(frame, self.version));
        self.write(Message::Text(text)).await
    }

    /// Sends the closing `ERROR` (if any) and closes the WebSocket.
    async fn finish(&mut self, failure: Option<Failure>) {
        if let Some(f) = failure {
            let mut frame = Frame::new(Command::Error)
                .with_header("message", &f.message)
                .with_header("content-type", "text/plain");
            if let Some(r) = &f.receipt {
                frame = frame.with_header("receipt-id", r);
            }
            let frame = frame.with_body(f.detail.into_bytes());
            let _ = self.write_frame(&frame).await;
        }
        let close = Message::Close(Some(CloseFrame {
            code: 1000,
            reason: Utf8Bytes::from_static(""),
        }));
        let _ = self.write(close).await;
        let _ = tokio::time::timeout(self.write_timeout, self.sink.close()).await;
    }
}

fn decode_failure(e: &DecodeError) -> Failure {
    Failure::new(e.to_string(), format!("malformed frame: {e}"), None)
}

/// The state of an established session.
struct Session {
    ctx: Arc<WsContext>,
    handle: Arc<SessionHandle>,
    identity: Identity,
    rx: mpsc::Receiver<Outbound>,
    /// Subscription id → room.
    subs: HashMap<String, RoomId>,
    /// Open transactions and their buffered sends.
    transactions: HashMap<String, Vec<SendCommand>>,
    /// Frames accepted but not yet finished, in arrival order: their receipts go out in order.
    inflight: FuturesOrdered<Completion>,
    /// Set once the session is closing: no more input is read; pending commits finish first.
    ending: Option<Ending>,
    /// A refused frame is queued behind the in-flight ones: read nothing more.
    halted: bool,
}

/// What woke the session loop.
enum Event {
    Input(Option<Result<Message, axum::Error>>),
    Output(Option<Outbound>),
    Finished(Option<Done>),
    Heartbeat,
    CheckSilence,
    TokenExpired,
    Closed,
    Shutdown,
    DrainTimeout,
}

impl Session {
    async fn serve(&mut self, conn: &mut Conn, hb: Heartbeat) -> Ending {
        let far = Instant::now() + Duration::from_secs(86400 * 365);
        let mut last_read = Instant::now();
        let expiry = self
            .identity
            .expires_at
            .map(|exp| Instant::now() + Duration::from_secs(exp.saturating_sub(unix_now())))
            .unwrap_or(far);
        let mut drain_deadline = far;
        // Frames that arrived together with CONNECT.
        Box::pin(self.process_buffer(conn)).await;
        loop {
            if self.ending.is_some() && self.inflight.is_empty() {
                break;
            }
            if self.ending.is_some() && drain_deadline == far {
                drain_deadline = Instant::now() + self.ctx.limits.drain_timeout;
            }
            let reading = self.ending.is_none()
                && !self.halted
                && self.inflight.len() < self.ctx.limits.max_inflight;
            let next_beat = hb.send_every.map_or(far, |d| conn.last_write + d);
            let silence_at = hb.silence_limit.map_or(far, |d| last_read + d);
            let event = tokio::select! {
                biased;
                _ = self.handle.closing.notified() => Event::Closed,
                _ = self.ctx.shutdown.cancelled(), if self.ending.is_none() => Event::Shutdown,
                done = self.inflight.next(), if !self.inflight.is_empty() => Event::Finished(done),
                out = self.rx.recv() => Event::Output(out),
                msg = conn.stream.next(), if reading => Event::Input(msg),
                _ = sleep_until(next_beat) => Event::Heartbeat,
                _ = sleep_until(silence_at), if self.ending.is_none() => Event::CheckSilence,
                _ = sleep_until(expiry), if self.ending.is_none() => Event::TokenExpired,
                _ = sleep_until(drain_deadline) => Event::DrainTimeout,
            };
            match event {
                Event::Input(Some(Ok(msg))) => {
                    last_read = Instant::now();
                    match msg {
                        Message::Text(t) => conn.buf.extend_from_slice(t.as_bytes()),
                        Message::Binary(b) => conn.buf.extend_from_slice(&b),
                        Message::Close(_) => return Ending::Silent,
                        Message::Ping(_) | Message::Pong(_) => continue,
                    }
                    // Boxed: a task is as large as its largest await point, and frame
                    // handling is far larger than the idle wait every session spends its
                    // life in, so it lives on the heap only while it runs.
                    Box::pin(self.process_buffer(conn)).await;
                }
                Event::Input(_) => return Ending::Silent,
                Event::Output(Some(out)) => {
                    if self.write_burst(conn, out).await.is_err() {
                        return Ending::Silent;
                    }
                }
                Event::Output(None) => return Ending::Silent,
                Event::Finished(Some(Done::Ok(receipt))) => {
                    // Messages already queued for this session go out before the receipt, so
                    // a sender sees its own MESSAGE no later than its RECEIPT.
                    if self.flush_outbound(conn).await.is_err() {
                        return Ending::Silent;
                    }
                    if let Some(r) = receipt {
                        let frame = Frame::new(Command::Receipt).with_header("receipt-id", &r);
                        if conn.write_frame(&frame).await.is_err() {
                            return Ending::Silent;
                        }
                    }
                }
                Event::Finished(Some(Done::Failed(f))) => self.end(Ending::Error(f)),
                Event::Finished(None) => {}
                Event::Heartbeat => {
                    if conn
                        .write(Message::Text(Utf8Bytes::from_static("\n")))
                        .await
                        .is_err()
                    {
                        return Ending::Silent;
                    }
                }
                Event::CheckSilence => {
                    tracing::debug!(session = %self.handle.key, "heart-beat timeout");
                    return Ending::Error(Failure::new(
                        "heart-beat timeout",
                        "nothing was received within the negotiated heart-beat interval",
                        None,
                    ));
                }
                Event::TokenExpired => self.end(Ending::Error(Failure::new(
                    "token expired",
                    "the session's token has expired; reconnect with a fresh token",
                    None,
                ))),
                Event::Closed => {
                    let reason = self
                        .handle
                        .close_reason()
                        .unwrap_or(CloseReason::SlowConsumer);
                    let (message, detail) = reason.describe();
                    tracing::info!(session = %self.handle.key, message, "closing session");
                    // A slow consumer gets no more queued frames; it must resume from history.
                    return Ending::Error(Failure::new(message, detail, None));
                }
                Event::Shutdown => self.end(Ending::Error(Failure::new(
                    "server shutting down",
                    "the server is shutting down; reconnect shortly",
                    None,
                ))),
                Event::DrainTimeout => break,
            }
        }
        self.ending.take().unwrap_or(Ending::Silent)
    }

    /// Starts closing, unless already closing (the first reason wins).
    fn end(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
        }
    }

    /// Buffers one outbound item; the caller flushes.
    async fn write_outbound(&mut self, conn: &mut Conn, out: Outbound) -> Result<(), ()> {
        match out {
            Outbound::Frame(text) => conn.feed(Message::Text(text)).await,
            Outbound::Revoked(room) => {
                self.revoked(room).await;
                Ok(())
            }
        }
    }

    /// Writes `first` and whatever else is already queued (up to [`MAX_BURST`]) with one
    /// flush: a busy room's frames reach the socket in a few large writes instead of one
    /// system call per frame.
    async fn write_burst(&mut self, conn: &mut Conn, first: Outbound) -> Result<(), ()> {
        self.write_outbound(conn, first).await?;
        for _ in 1..MAX_BURST {
            let Ok(out) = self.rx.try_recv() else { break };
            self.write_outbound(conn, out).await?;
        }
        conn.flush().await
    }

    async fn flush_outbound(&mut self, conn: &mut Conn) -> Result<(), ()> {
        while let Ok(out) = self.rx.try_recv() {
            self.write_outbound(conn, out).await?;
        }
        conn.flush().await
    }

    /// The server ended this session's subscriptions to `room`.
    async fn revoked(&mut self, room: RoomId) {
        let before = self.subs.len();
        self.subs.retain(|_, r| *r != room);
        if self.subs.len() != before {
            if let Err(e) = self
                .ctx
                .service
                .presence()
                .left(&self.handle.key, &room)
                .await
            {
                tracing::warn!(error = %e, "presence: left failed");
            }
        }
    }

    /// Handles every complete frame in the buffer, until the session starts closing.
    async fn process_buffer(&mut self, conn: &mut Conn) {
        while self.ending.is_none() && !self.halted {
            match conn.decoder.decode(&mut conn.buf) {
                Ok(Some(Decoded::Frame(frame))) => self.handle_frame(frame).await,
                Ok(Some(Decoded::HeartBeat)) => {}
                Ok(None) => break,
                Err(e) => self.end(Ending::Error(decode_failure(&e))),
            }
        }
    }

    fn accept(&mut self, done: Completion) {
        self.inflight.push_back(done);
    }

    fn receipt_only(&mut self, receipt: Option<String>) {
        if receipt.is_some() {
            self.accept(Box::pin(std::future::ready(Done::Ok(receipt))));
        }
    }

    /// Queues a failure behind what is in flight, so earlier receipts still go out first.
    fn fail(&mut self, f: Failure) {
        self.halted = true;
        self.accept(Box::pin(std::future::ready(Done::Failed(f))));
    }

    async fn handle_frame(&mut self, frame: Frame) {
        let receipt = frame.header("receipt").map(str::to_owned);
        match frame.command {
            Command::Send => self.on_send(frame, receipt).await,
            Command::Subscribe => self.on_subscribe(&frame, receipt).await,
            Command::Unsubscribe => self.on_unsubscribe(&frame, receipt).await,
            Command::Ack | Command::Nack => {
                // Every subscription is auto-acknowledged; ACK/NACK are accepted and ignored.
                self.receipt_only(receipt)
            }
            Command::Begin => self.on_begin(&frame, receipt),
            Command::Commit => self.on_commit(&frame, receipt).await,
            Command::Abort => self.on_abort(&frame, receipt),
            Command::Disconnect => self.end(Ending::Disconnect(receipt)),
            Command::Connect | Command::Stomp => self.fail(Failure::new(
                "already connected",
                "CONNECT was sent twice on one connection",
                receipt,
            )),
            other => self.fail(Failure::new(
                "unexpected frame",
                format!("{} is a server frame", other.as_str()),
                receipt,
            )),
        }
    }

    fn parse_send(&self, frame: &Frame, receipt: &Option<String>) -> Result<SendCommand, Failure> {
        let dest = frame.header("destination").unwrap_or("");
        let room = dest
            .strip_prefix(PUB_PREFIX)
            .and_then(|r| r.strip_suffix(PUB_SUFFIX))
            .and_then(|r| RoomId::parse(r).ok())
            .ok_or_else(|| {
                Failure::new(
                    "unknown destination",
                    format!("SEND to '{dest}': messages go to /pub/room/{{roomUUID}}/message"),
                    receipt.clone(),
                )
            })?;
        self.ctx
            .service
            .parse_send(&self.identity.user, room, &frame.body)
            .map_err(|e| Failure::chat(&format!("SEND to {dest}"), &e, receipt.clone()))
    }

    async fn on_send(&mut self, frame: Frame, receipt: Option<String>) {
        let cmd = match self.parse_send(&frame, &receipt) {
            Ok(cmd) => cmd,
            Err(f) => return self.fail(f),
        };
        if let Some(tx) = frame.header("transaction") {
            let limit = self.ctx.limits.max_transaction_frames;
            match self.transactions.get_mut(tx) {
                None => self.fail(Failure::new(
                    "unknown transaction",
                    format!("transaction '{tx}' was not begun"),
                    receipt,
                )),
                Some(sends) if sends.len() >= limit => self.fail(Failure::new(
                    "transaction too large",
                    format!("a transaction holds at most {limit} SEND frames"),
                    receipt,
                )),
                Some(sends) => {
                    sends.push(cmd);
                    self.receipt_only(receipt);
                }
            }
            return;
        }
        let context = format!("SEND to /pub/room/{}/message", cmd.room());
        match self.ctx.service.submit(cmd).await {
            Ok(pending) => self.accept(Box::pin(finish_sends(vec![pending], context, receipt))),
            Err(e) => self.fail(Failure::chat(&context, &e, receipt)),
        }
    }

    async fn on_subscribe(&mut self, frame: &Frame, receipt: Option<String>) {
        let dest = frame.header("destination").unwrap_or("");
        let Some(room) = dest
            .strip_prefix(SUB_PREFIX)
            .and_then(|r| RoomId::parse(r).ok())
        else {
            return self.fail(Failure::new(
                "unknown destination",
                format!("SUBSCRIBE to '{dest}': rooms are at /sub/chat/room/{{roomUUID}}"),
                receipt,
            ));
        };
        let id = match (frame.header("id"), self.handle.version) {
            (Some(id), _) => id.to_owned(),
            (None, Version::V1_0) => dest.to_owned(),
            (None, _) => {
                return self.fail(Failure::new(
                    "missing id",
                    "SUBSCRIBE needs an id header",
                    receipt,
                ))
            }
        };
        if self.subs.contains_key(&id) {
            return self.fail(Failure::new(
                "duplicate subscription id",
                format!("subscription id '{id}' is already in use on this connection"),
                receipt,
            ));
        }
        let limit = self.ctx.limits.max_subscriptions;
        if self.subs.len() >= limit {
            return self.fail(Failure::new(
                "too many subscriptions",
                format!("a connection may hold at most {limit} subscriptions (max-subscriptions)"),
                receipt,
            ));
        }
        match self.ctx.service.enter(&self.identity.user, &room).await {
            Ok(r) => self.ctx.sequencer.watch(room, r.last_message.map(|m| m.id)),
            Err(e) => {
                return self.fail(Failure::chat(&format!("SUBSCRIBE to {dest}"), &e, receipt));
            }
        }
        self.ctx
            .hub
            .subscribe(room, self.handle.clone(), Arc::from(id.as_str()));
        self.subs.insert(id, room);
        if let Err(e) = self
            .ctx
            .service
            .presence()
            .joined(&self.handle.key, &room)
            .await
        {
            tracing::warn!(error = %e, "presence: joined failed");
        }
        self.receipt_only(receipt);
    }

    async fn on_unsubscribe(&mut self, frame: &Frame, receipt: Option<String>) {
        let id = frame
            .header("id")
            .or_else(|| frame.header("destination"))
            .unwrap_or("");
        if let Some(room) = self.subs.remove(id) {
            self.ctx.hub.unsubscribe(&room, self.handle.id, id);
            if !self.subs.values().any(|r| *r == room) {
                if let Err(e) = self
                    .ctx
                    .service
                    .presence()
                    .left(&self.handle.key, &room)
                    .await
                {
                    tracing::warn!(error = %e, "presence: left failed");
                }
            }
        }
        // Unsubscribing from something not subscribed is harmless: the goal holds.
        self.receipt_only(receipt);
    }

    fn on_begin(&mut self, frame: &Frame, receipt: Option<String>) {
        let Some(tx) = frame.header("transaction") else {
            return self.fail(Failure::new(
                "missing transaction",
                "BEGIN needs a transaction header",
                receipt,
            ));
        };
        let limit = self.ctx.limits.max_transactions;
        if self.transactions.contains_key(tx) {
            return self.fail(Failure::new(
                "duplicate transaction",
                format!("transaction '{tx}' is already open"),
                receipt,
            ));
        }
        if self.transactions.len() >= limit {
            return self.fail(Failure::new(
                "too many transactions",
                format!("at most {limit} transactions may be open at once"),
                receipt,
            ));
        }
        self.transactions.insert(tx.to_owned(), Vec::new());
        self.receipt_only(receipt);
    }

    async fn on_commit(&mut self, frame: &Frame, receipt: Option<String>) {
        let tx = frame.header("transaction").unwrap_or("");
        let Some(sends) = self.transactions.remove(tx) else {
            return self.fail(Failure::new(
                "unknown transaction",
                format!("transaction '{tx}' was not begun"),
                receipt,
            ));
        };
        let context = format!("COMMIT of transaction '{tx}'");
        let mut pending = Vec::with_capacity(sends.len());
        for cmd in sends {
            match self.ctx.service.submit(cmd).await {
                Ok(p) => pending.push(p),
                Err(e) => {
                    // Those already queued still commit; the session reports the failure.
                    self.accept(Box::pin(finish_sends(pending, context.clone(), None)));
                    return self.fail(Failure::chat(&context, &e, receipt));
                }
            }
        }
        self.accept(Box::pin(finish_sends(pending, context, receipt)));
    }

    fn on_abort(&mut self, frame: &Frame, receipt: Option<String>) {
        let tx = frame.header("transaction").unwrap_or("");
        if self.transactions.remove(tx).is_none() {
            return self.fail(Failure::new(
                "unknown transaction",
                format!("transaction '{tx}' was not begun"),
                receipt,
            ));
        }
        self.receipt_only(receipt);
    }
}

/// Waits for queued sends (in order) and turns their outcome into a receipt or a failure.
async fn finish_sends(pending: Vec<PendingSend>, context: String, receipt: Option<String>) -> Done {
    for p in pending {
        if let Err(e) = p.await {
            return Done::Failed(Failure::chat(&context, &e, receipt));
        }
    }
    Done::Ok(receipt)
}

/// The destination of a room's messages, re-exported for tests and docs.
pub fn destination_of(room: &RoomId) -> String {
    room_destination(room)
}
