//! One STOMP session over one WebSocket: the `CONNECT` handshake, then a single loop over
//! input, output, pending commits, heart-beats, token expiry and shutdown; each client command
//! acts on the session's state (subscriptions, transactions, frames in flight) through the
//! domain's [`chat_core::ChatService`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chat_core::ports::SessionInfo;
use chat_core::typing::SessionTyping;
use chat_core::{RoomId, SendCommand};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, Sink, Stream, StreamExt};
use reuse_stomp::{Command, Frame};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use super::command::ClientCommand;
use super::connection::{
    Connection, ReadError, Received, TransportError, WriteError, CLOSE_NORMAL, CLOSE_TOO_BIG,
};
use super::context::WsContext;
use super::failure::Failure;
use super::handshake::{handshake, Handshake, Heartbeat};
use super::hub::{CloseReason, Outbound, SessionHandle};
use super::transactions::Transactions;
use crate::auth::{unix_now, Identity};
use crate::telemetry::{FRAMES_IN_BY_COMMAND, FRAMES_OUT_BY_COMMAND};

mod handlers;
#[cfg(test)]
mod tests;

/// Outbound frames written per flush at most, so one busy session cannot starve its own
/// input and timers.
const MAX_BURST: usize = 64;

const SERVER_NAME: &str = concat!("reuse-chat/", env!("CARGO_PKG_VERSION"));

/// How a frame the session accepted ended.
enum Done {
    /// Processed; send a `RECEIPT` if one was asked for.
    Ok(Option<String>),
    /// Refused; the session ends with an `ERROR`.
    Failed(Failure),
}

type Completion = Pin<Box<dyn Future<Output = Done> + Send>>;

/// Why the connection went away without last words.
#[derive(Debug, Error)]
enum Lost {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// How the session ends.
enum Ending {
    /// With an `ERROR` frame.
    Error(Failure),
    /// The client sent a WebSocket message over the limit: `ERROR`, then close code 1009.
    TooLarge,
    /// The client said `DISCONNECT` (receipt to send).
    Disconnect(Option<String>),
    /// The connection is gone or dead: nothing more to say.
    Gone(Lost),
}

/// What a session hands back when it is over.
pub struct Ended<R, W> {
    /// The transport's reading half.
    pub reader: R,
    /// The transport's writing half.
    pub writer: W,
    /// The client may still be sending (its message was refused as too large): read and
    /// discard before closing, or the close frame can be lost to a connection reset.
    pub unread_input: bool,
}

/// Serves one WebSocket (any stream and sink of WebSocket messages) until it ends, and gives
/// the transport back. `gateway_user` is the `X-Auth-User` a gateway set on the upgrade
/// request, if any.
pub async fn run<R, W, E>(
    reader: R,
    writer: W,
    ctx: Arc<WsContext>,
    gateway_user: Option<String>,
) -> Ended<R, W>
where
    R: Stream<Item = Result<Message, E>> + Unpin,
    W: Sink<Message, Error = E> + Unpin,
    E: TransportError,
{
    let limits = &ctx.limits;
    let mut conn = Connection::new(reader, writer, limits.frame.clone(), limits.write_timeout);
    let first = tokio::select! {
        r = tokio::time::timeout(limits.connect_timeout, conn.next_frame()) => r,
        _ = ctx.shutdown.cancelled() => {
            return say_goodbye(conn, &ctx, Ending::Error(Failure::shutting_down()), None).await;
        }
    };
    let frame = match first {
        Err(_) => {
            let f = Failure::new(
                "connect_timeout",
                "connect timeout",
                "no CONNECT frame arrived in time",
                None,
            );
            return say_goodbye(conn, &ctx, Ending::Error(f), None).await;
        }
        Ok(Err(e)) => return say_goodbye(conn, &ctx, reading_ended(e), None).await,
        Ok(Ok(frame)) => {
            FRAMES_IN_BY_COMMAND.count(frame.command);
            frame
        }
    };
    let Handshake {
        identity,
        version,
        heartbeat,
    } = match handshake(&frame, gateway_user.as_deref(), &ctx.auth, limits.heartbeat) {
        Ok(h) => h,
        Err(f) => return say_goodbye(conn, &ctx, Ending::Error(f), None).await,
    };
    conn.set_version(version);

    let id = ctx.next_session_id();
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
    if let Err(e) = written {
        return say_goodbye(conn, &ctx, Ending::Gone(e.into()), Some(&key)).await;
    }

    let (tx, rx) = mpsc::channel(limits.outbound_queue);
    let handle = Arc::new(SessionHandle::new(
        id,
        key.clone(),
        identity.user.clone(),
        version,
        tx,
    ));
    ctx.hub.attach(handle.clone());
    let info = SessionInfo {
        session: key.clone(),
        user: identity.user.clone(),
        node: ctx.node_id.clone(),
    };
    ctx.service.session_opened(&info).await;
    let mut session = Session {
        ctx: ctx.clone(),
        handle,
        identity,
        rx,
        subs: HashMap::new(),
        event_subs: Vec::new(),
        typing: SessionTyping::default(),
        transactions: Transactions::new(limits.max_transactions, limits.max_transaction_frames),
        inflight: FuturesOrdered::new(),
        ending: None,
        halted: false,
    };
    let ending = session.serve(&mut conn, heartbeat).await;
    // Unregister before the last words so nothing more is queued for a closing session.
    let rooms: Vec<RoomId> = session.subs.values().copied().collect();
    ctx.service.session_closed(id, &key, &rooms).await;
    ctx.hub.detach(id);
    say_goodbye(conn, &ctx, ending, Some(&key)).await
}

/// The ending for a read that failed before or during the session.
fn reading_ended(e: ReadError) -> Ending {
    match e {
        ReadError::Protocol(f) => Ending::Error(f),
        ReadError::TooLarge => Ending::TooLarge,
        other => Ending::Gone(Lost::Read(other)),
    }
}

/// The last words of a session, and the one log line for a connection that was lost.
async fn say_goodbye<R, W, E>(
    mut conn: Connection<R, W>,
    ctx: &WsContext,
    ending: Ending,
    key: Option<&str>,
) -> Ended<R, W>
where
    R: Stream<Item = Result<Message, E>> + Unpin,
    W: Sink<Message, Error = E> + Unpin,
    E: TransportError,
{
    let unread_input = matches!(ending, Ending::TooLarge);
    match ending {
        Ending::Error(f) => conn.finish(Some(&f), CLOSE_NORMAL).await,
        Ending::TooLarge => {
            let limit = ctx.limits.max_message_bytes;
            let f = Failure::new(
                "too_large",
                "message too large",
                format!("a WebSocket message may be at most {limit} bytes"),
                None,
            );
            conn.finish(Some(&f), CLOSE_TOO_BIG).await;
        }
        Ending::Disconnect(receipt) => {
            if let Some(r) = receipt {
                let _ = conn
                    .write_frame(&Frame::new(Command::Receipt).with_header("receipt-id", &r))
                    .await;
            }
            conn.finish(None, CLOSE_NORMAL).await;
        }
        Ending::Gone(lost) => {
            tracing::debug!(session = key.unwrap_or("-"), error = %lost, "connection lost");
        }
    }
    let (reader, writer) = conn.into_parts();
    Ended {
        reader,
        writer,
        unread_input,
    }
}

/// The state of an established session.
struct Session {
    ctx: Arc<WsContext>,
    handle: Arc<SessionHandle>,
    identity: Identity,
    rx: mpsc::Receiver<Outbound>,
    /// Subscription id → room.
    subs: HashMap<String, RoomId>,
    /// Ids of the subscriptions to the user's own event stream.
    event_subs: Vec<String>,
    /// Which of this session's `typing: true` were relayed (for its `false`).
    typing: SessionTyping,
    /// Open transactions and their buffered sends.
    transactions: Transactions<SendCommand>,
    /// Frames accepted but not yet finished, in arrival order: their receipts go out in order.
    inflight: FuturesOrdered<Completion>,
    /// Set once the session is closing: no more input is read; pending commits finish first.
    ending: Option<Ending>,
    /// A refused frame is queued behind the in-flight ones: read nothing more.
    halted: bool,
}

/// What woke the session loop.
enum Event<E> {
    Input(Option<Result<Message, E>>),
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
    async fn serve<R, W, E>(&mut self, conn: &mut Connection<R, W>, hb: Heartbeat) -> Ending
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
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
                msg = conn.next_message(), if reading => Event::Input(msg),
                _ = sleep_until(next_beat) => Event::Heartbeat,
                _ = sleep_until(silence_at), if self.ending.is_none() => Event::CheckSilence,
                _ = sleep_until(expiry), if self.ending.is_none() => Event::TokenExpired,
                _ = sleep_until(drain_deadline) => Event::DrainTimeout,
            };
            match event {
                Event::Input(msg) => match conn.receive(msg) {
                    Ok(Received::Data) => {
                        last_read = Instant::now();
                        // Boxed: a task is as large as its largest await point, and frame
                        // handling is far larger than the idle wait every session spends its
                        // life in, so it lives on the heap only while it runs.
                        Box::pin(self.process_buffer(conn)).await;
                    }
                    Ok(Received::Control) => last_read = Instant::now(),
                    Err(e) => return reading_ended(e),
                },
                Event::Output(Some(out)) => {
                    if let Err(e) = self.write_burst(conn, out).await {
                        return Ending::Gone(e.into());
                    }
                }
                Event::Output(None) => return Ending::Gone(Lost::Write(WriteError::Closed)),
                Event::Finished(Some(Done::Ok(receipt))) => {
                    if let Err(e) = self.write_receipts(conn, receipt).await {
                        return Ending::Gone(e.into());
                    }
                }
                Event::Finished(Some(Done::Failed(f))) => self.end(Ending::Error(f)),
                Event::Finished(None) => {}
                Event::Heartbeat => {
                    let beat = Message::Text(Utf8Bytes::from_static("\n"));
                    if let Err(e) = conn.write(beat).await {
                        return Ending::Gone(e.into());
                    }
                }
                Event::CheckSilence => {
                    tracing::debug!(session = %self.handle.key, "heart-beat timeout");
                    return Ending::Error(Failure::new(
                        "heartbeat_timeout",
                        "heart-beat timeout",
                        "nothing was received within the negotiated heart-beat interval",
                        None,
                    ));
                }
                Event::TokenExpired => self.end(Ending::Error(Failure::new(
                    "token_expired",
                    "token expired",
                    "the session's token has expired; reconnect with a fresh token",
                    None,
                ))),
                Event::Closed => {
                    let reason = self
                        .handle
                        .close_reason()
                        .unwrap_or(CloseReason::SlowConsumer);
                    let (code, message, detail) = reason.describe();
                    tracing::info!(session = %self.handle.key, message, "closing session");
                    // A slow consumer gets no more queued frames; it must resume from history.
                    return Ending::Error(Failure::new(code, message, detail, None));
                }
                Event::Shutdown => self.end(Ending::Error(Failure::shutting_down())),
                Event::DrainTimeout => break,
            }
        }
        self.ending
            .take()
            .unwrap_or(Ending::Gone(Lost::Write(WriteError::Closed)))
    }

    /// Starts closing, unless already closing (the first reason wins).
    fn end(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some(ending);
        }
    }

    /// Buffers one outbound item; the caller flushes.
    async fn write_outbound<R, W, E>(
        &mut self,
        conn: &mut Connection<R, W>,
        out: Outbound,
    ) -> Result<(), WriteError>
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
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
    async fn write_burst<R, W, E>(
        &mut self,
        conn: &mut Connection<R, W>,
        first: Outbound,
    ) -> Result<(), WriteError>
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
        let mut frames = u64::from(matches!(first, Outbound::Frame(_)));
        self.write_outbound(conn, first).await?;
        for _ in 1..MAX_BURST {
            let Ok(out) = self.rx.try_recv() else { break };
            frames += u64::from(matches!(out, Outbound::Frame(_)));
            self.write_outbound(conn, out).await?;
        }
        // Counted once per burst: an atomic add per delivered frame is measurable.
        FRAMES_OUT_BY_COMMAND.add(Command::Message, frames);
        conn.flush().await
    }

    /// Queues every frame already waiting for this session in the writer's buffer, without
    /// flushing.
    async fn feed_outbound<R, W, E>(
        &mut self,
        conn: &mut Connection<R, W>,
    ) -> Result<(), WriteError>
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
        let mut frames = 0;
        while let Ok(out) = self.rx.try_recv() {
            frames += u64::from(matches!(out, Outbound::Frame(_)));
            self.write_outbound(conn, out).await?;
        }
        if frames > 0 {
            FRAMES_OUT_BY_COMMAND.add(Command::Message, frames);
        }
        Ok(())
    }

    /// Writes the receipt of a finished frame and of every other frame already finished
    /// behind it (a group commit finishes a session's sends together), with one flush: one
    /// system call for the lot instead of one per receipt. Messages already queued for this
    /// session go out before each receipt, so a sender sees its own MESSAGE no later than its
    /// RECEIPT.
    async fn write_receipts<R, W, E>(
        &mut self,
        conn: &mut Connection<R, W>,
        first: Option<String>,
    ) -> Result<(), WriteError>
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
        let mut receipt = first;
        let mut receipts = 0;
        loop {
            self.feed_outbound(conn).await?;
            if let Some(r) = receipt.take() {
                let frame = Frame::new(Command::Receipt).with_header("receipt-id", &r);
                conn.feed_frame(&frame).await?;
                receipts += 1;
            }
            match self.inflight.next().now_or_never() {
                Some(Some(Done::Ok(next))) => receipt = next,
                Some(Some(Done::Failed(f))) => {
                    self.end(Ending::Error(f));
                    break;
                }
                Some(None) | None => break,
            }
        }
        FRAMES_OUT_BY_COMMAND.add(Command::Receipt, receipts);
        conn.flush().await
    }

    /// The server ended this session's subscriptions to `room`.
    async fn revoked(&mut self, room: RoomId) {
        let before = self.subs.len();
        self.subs.retain(|_, r| *r != room);
        if self.subs.len() != before {
            self.ctx
                .service
                .subscription_revoked(&self.handle.key, &room)
                .await;
        }
    }

    /// Handles every complete frame in the buffer, until the session starts closing.
    async fn process_buffer<R, W, E>(&mut self, conn: &mut Connection<R, W>)
    where
        R: Stream<Item = Result<Message, E>> + Unpin,
        W: Sink<Message, Error = E> + Unpin,
        E: TransportError,
    {
        while self.ending.is_none() && !self.halted {
            match conn.decode() {
                Ok(Some(frame)) => {
                    FRAMES_IN_BY_COMMAND.count(frame.command);
                    match ClientCommand::from_frame(frame, self.handle.version) {
                        Ok(command) => self.execute(command).await,
                        Err(f) => self.fail(f),
                    }
                }
                Ok(None) => break,
                Err(e) => self.end(reading_ended(e)),
            }
        }
    }
}
