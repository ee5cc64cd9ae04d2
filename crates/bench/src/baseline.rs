//! The baseline: a bare tokio + tungstenite STOMP broadcast server, written only to measure
//! against. It does the least a STOMP fan-out can do — answer `CONNECT`, remember `SUBSCRIBE`
//! destinations, broadcast each `SEND` as a `MESSAGE` encoded once, answer receipts — with no
//! persistence, no authorization and no limits beyond a bounded queue per connection, so its
//! numbers are the physical limit of this machine for the same generator. Not part of the
//! product.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use reuse_stomp::{encode_to_bytes, Command, Decoded, Frame, Limits, StompDecoder, Version};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use crate::BenchError;

/// Frames queued per connection; a full queue marks the connection a slow consumer and it is
/// closed, as reuse-chat does, so neither server buffers without bound.
const QUEUE: usize = 1024;

/// Heart-beat the baseline offers and asks (ms), as reuse-chat's default.
const HEARTBEAT_MS: u64 = 10_000;

struct Subscriber {
    conn: u64,
    id: Arc<str>,
    tx: mpsc::Sender<Utf8Bytes>,
    slow: Arc<AtomicBool>,
}

#[derive(Default)]
struct Broker {
    topics: RwLock<HashMap<String, Vec<Subscriber>>>,
    next_conn: AtomicU64,
    next_message: AtomicU64,
}

impl Broker {
    fn publish(&self, destination: &str, content_type: &str, body: bytes::Bytes) {
        let message_id = self
            .next_message
            .fetch_add(1, Ordering::Relaxed)
            .to_string();
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let Some(subs) = topics.get(destination) else {
            return;
        };
        let mut encoded: Vec<(&str, Utf8Bytes)> = Vec::new();
        for sub in subs {
            let frame = match encoded.iter().find(|(id, _)| *id == &*sub.id) {
                Some((_, f)) => f.clone(),
                None => {
                    let frame = Frame::new(Command::Message)
                        .with_header("destination", destination)
                        .with_header("subscription", &sub.id)
                        .with_header("message-id", &message_id)
                        .with_header("content-type", content_type)
                        .with_body(body.clone());
                    let Ok(text) = Utf8Bytes::try_from(encode_to_bytes(&frame, Version::V1_2))
                    else {
                        return;
                    };
                    encoded.push((&sub.id, text.clone()));
                    text
                }
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = sub.tx.try_send(frame) {
                sub.slow.store(true, Ordering::Relaxed);
            }
        }
    }

    fn remove(&self, conn: u64, destination: &str, id: Option<&str>) {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(subs) = topics.get_mut(destination) {
            subs.retain(|s| !(s.conn == conn && id.is_none_or(|id| &*s.id == id)));
            if subs.is_empty() {
                topics.remove(destination);
            }
        }
    }
}

/// Serves STOMP over WebSocket on `listener` until `shutdown` is cancelled.
pub async fn serve(listener: TcpListener, shutdown: CancellationToken) {
    let broker = Arc::new(Broker::default());
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let (broker, shutdown) = (broker.clone(), shutdown.clone());
                tokio::spawn(async move {
                    let _ = connection(stream, broker, shutdown).await;
                });
            }
            // Out of file descriptors and the like: back off briefly instead of spinning.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

// The signature is tungstenite's handshake callback; its error type is not ours to shrink.
#[allow(clippy::result_large_err)]
fn choose_protocol(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let offered = req
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(p) = ["v12.stomp", "v11.stomp", "v10.stomp"]
        .into_iter()
        .find(|p| offered.split(',').any(|o| o.trim() == *p))
    {
        resp.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
    }
    Ok(resp)
}

async fn connection(
    stream: TcpStream,
    broker: Arc<Broker>,
    shutdown: CancellationToken,
) -> Result<(), BenchError> {
    stream.set_nodelay(true)?;
    // Writes are batched (feed, then one flush), so a small write buffer is allowed to fill.
    let config = crate::client::ws_config().write_buffer_size(16 * 1024);
    let ws = tokio_tungstenite::accept_hdr_async_with_config(stream, choose_protocol, Some(config))
        .await?;
    let conn = broker.next_conn.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel(QUEUE);
    let mut session = Connection {
        ws,
        broker,
        conn,
        tx,
        slow: Arc::new(AtomicBool::new(false)),
        subs: Vec::new(),
        beat: None,
        closing: false,
    };
    let result = session.run(rx, shutdown).await;
    for (dest, id) in std::mem::take(&mut session.subs) {
        session.broker.remove(conn, &dest, Some(&id));
    }
    result
}

struct Connection {
    ws: WebSocketStream<TcpStream>,
    broker: Arc<Broker>,
    conn: u64,
    tx: mpsc::Sender<Utf8Bytes>,
    slow: Arc<AtomicBool>,
    subs: Vec<(String, String)>,
    beat: Option<Duration>,
    closing: bool,
}

impl Connection {
    async fn run(
        &mut self,
        mut rx: mpsc::Receiver<Utf8Bytes>,
        shutdown: CancellationToken,
    ) -> Result<(), BenchError> {
        let mut buf = BytesMut::new();
        let mut decoder = StompDecoder::new(Limits::default());
        let far = Duration::from_secs(86_400);
        let mut next_beat = Instant::now() + far;
        while !self.closing {
            tokio::select! {
                msg = self.ws.next() => {
                    match msg {
                        Some(Ok(Message::Text(t))) => buf.extend_from_slice(t.as_bytes()),
                        Some(Ok(Message::Binary(b))) => buf.extend_from_slice(&b),
                        Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Ok(()),
                        Some(Ok(_)) => continue,
                    }
                    while let Some(item) = decoder.decode(&mut buf)? {
                        if let Decoded::Frame(f) = item {
                            self.handle(f).await?;
                        }
                    }
                    self.ws.flush().await?;
                }
                Some(first) = rx.recv() => {
                    if self.slow.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    self.ws.feed(Message::Text(first)).await?;
                    while let Ok(more) = rx.try_recv() {
                        self.ws.feed(Message::Text(more)).await?;
                    }
                    self.ws.flush().await?;
                    next_beat = Instant::now() + self.beat.unwrap_or(far);
                }
                _ = sleep_until(next_beat) => {
                    self.ws.send(Message::Text(Utf8Bytes::from_static("\n"))).await?;
                    next_beat = Instant::now() + self.beat.unwrap_or(far);
                }
                _ = shutdown.cancelled() => return Ok(()),
            }
        }
        let _ = self.ws.close(None).await;
        Ok(())
    }

    async fn reply(&mut self, frame: Frame) -> Result<(), BenchError> {
        let text = Utf8Bytes::try_from(encode_to_bytes(&frame, Version::V1_2))
            .map_err(|_| BenchError::Protocol("reply is not UTF-8".into()))?;
        self.ws.feed(Message::Text(text)).await?;
        Ok(())
    }

    async fn handle(&mut self, f: Frame) -> Result<(), BenchError> {
        match f.command {
            Command::Connect | Command::Stomp => {
                let wants = f
                    .header("heart-beat")
                    .and_then(|h| h.split_once(','))
                    .and_then(|(_, cy)| cy.trim().parse::<u64>().ok())
                    .unwrap_or(0);
                self.beat = (wants > 0).then(|| Duration::from_millis(wants.max(HEARTBEAT_MS)));
                let hb = format!("{HEARTBEAT_MS},{HEARTBEAT_MS}");
                let connected = Frame::new(Command::Connected)
                    .with_header("version", "1.2")
                    .with_header("heart-beat", &hb)
                    .with_header("server", "bench-baseline");
                return self.reply(connected).await;
            }
            Command::Subscribe => {
                let dest = f.header("destination").unwrap_or("").to_owned();
                let id = f.header("id").unwrap_or(&dest).to_owned();
                let sub = Subscriber {
                    conn: self.conn,
                    id: Arc::from(id.as_str()),
                    tx: self.tx.clone(),
                    slow: self.slow.clone(),
                };
                self.broker
                    .topics
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(dest.clone())
                    .or_default()
                    .push(sub);
                self.subs.push((dest, id));
            }
            Command::Unsubscribe => {
                let id = f.header("id").unwrap_or("").to_owned();
                if let Some(at) = self.subs.iter().position(|(_, i)| *i == id) {
                    let (dest, id) = self.subs.remove(at);
                    self.broker.remove(self.conn, &dest, Some(&id));
                }
            }
            Command::Send => {
                let dest = f.header("destination").unwrap_or("");
                let content_type = f.header("content-type").unwrap_or("text/plain");
                self.broker.publish(dest, content_type, f.body.clone());
            }
            Command::Disconnect => self.closing = true,
            _ => {}
        }
        if let Some(r) = f.header("receipt") {
            let receipt = Frame::new(Command::Receipt).with_header("receipt-id", r);
            self.reply(receipt).await?;
        }
        Ok(())
    }
}
