//! One STOMP session over one WebSocket, as the marketplace frontend opens it: TCP (optionally
//! from a chosen 127.0.0.x source address), the WebSocket upgrade with the `v12.stomp`
//! subprotocol, `CONNECT` with heart-beats, then frames both ways through the project's codec.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use reuse_stomp::{encode_to_bytes, Command, Decoded, Frame, Limits, StompDecoder, Version};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::target::Target;
use crate::BenchError;

/// WebSocket buffers kept small: tens of thousands of idle sessions must be cheap in the
/// generator too (tungstenite's default read buffer is 128 KiB per connection).
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1 << 20)
        .max_message_size(Some(1 << 20))
        .max_frame_size(Some(1 << 20))
}

/// Microseconds since the generator started: the clock carried in message bodies and receipt
/// ids, so a receiver in the same process can compute a latency without any lookup.
pub fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// The instant [`now_us`] counts from.
pub fn epoch() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// A connected STOMP session.
pub struct StompConn {
    ws: WebSocketStream<TcpStream>,
    buf: BytesMut,
    decoder: StompDecoder,
    /// How often this client must send something (the negotiated heart-beat), if at all.
    pub send_every: Option<Duration>,
}

impl StompConn {
    /// Connects to `target` as `user` (from `source` when given) and completes the `CONNECT`
    /// handshake, offering and asking heart-beats every `heartbeat_ms` (0: none).
    pub async fn open(
        target: &Target,
        user: &str,
        source: Option<IpAddr>,
        heartbeat_ms: u64,
    ) -> Result<StompConn, BenchError> {
        let socket = match target.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = source {
            // One source address has ~28k ephemeral ports; several 127.0.0.x go past that.
            // The port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT): choosing it at
            // bind time scans every port in use, which makes a reconnect storm crawl.
            no_port_at_bind(&socket);
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let stream = socket.connect(target.addr).await?;
        stream.set_nodelay(true)?;
        let mut request = target.ws_url().into_client_request()?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("v12.stomp"),
        );
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config())).await?;
        let mut conn = StompConn {
            ws,
            buf: BytesMut::new(),
            decoder: StompDecoder::new(Limits {
                max_frame_bytes: 1 << 20,
                ..Limits::default()
            }),
            send_every: None,
        };
        let host = match target.kind {
            crate::target::Kind::Rabbitmq => "/",
            _ => "localhost",
        };
        let connect = Frame::new(Command::Connect)
            .with_header("accept-version", "1.2")
            .with_header("host", host)
            .with_header("heart-beat", &format!("{heartbeat_ms},{heartbeat_ms}"));
        conn.send(&target.identify(connect, user)).await?;
        let reply = conn.next_frame().await?;
        if reply.command != Command::Connected {
            return Err(error_of(&reply));
        }
        let server_wants = reply
            .header("heart-beat")
            .and_then(|h| h.split_once(','))
            .and_then(|(_, sy)| sy.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if heartbeat_ms > 0 && server_wants > 0 {
            conn.send_every = Some(Duration::from_millis(heartbeat_ms.max(server_wants)));
        }
        Ok(conn)
    }

    /// Sends one frame (STOMP 1.2 encoding) as a WebSocket text message.
    pub async fn send(&mut self, frame: &Frame) -> Result<(), BenchError> {
        let bytes = encode_to_bytes(frame, Version::V1_2);
        let text = Utf8Bytes::try_from(bytes)
            .map_err(|_| BenchError::Protocol("a frame to send is not UTF-8".into()))?;
        self.ws.send(Message::Text(text)).await?;
        Ok(())
    }

    /// Sends a heart-beat (one EOL).
    pub async fn heartbeat(&mut self) -> Result<(), BenchError> {
        self.ws
            .send(Message::Text(Utf8Bytes::from_static("\n")))
            .await?;
        Ok(())
    }

    /// `SUBSCRIBE` to `destination` with subscription `id`, asking for a receipt.
    pub async fn subscribe(&mut self, destination: &str, id: &str) -> Result<(), BenchError> {
        let receipt = format!("sub-{id}");
        let frame = Frame::new(Command::Subscribe)
            .with_header("destination", destination)
            .with_header("id", id)
            .with_header("ack", "auto")
            .with_header("receipt", &receipt);
        self.send(&frame).await?;
        self.wait_receipt(&receipt).await
    }

    /// Reads until the `RECEIPT` for `id`; `MESSAGE`s in between are skipped.
    pub async fn wait_receipt(&mut self, id: &str) -> Result<(), BenchError> {
        loop {
            let f = self.next_frame().await?;
            match f.command {
                Command::Receipt if f.header("receipt-id") == Some(id) => return Ok(()),
                Command::Error => return Err(error_of(&f)),
                _ => {}
            }
        }
    }

    /// The next frame, skipping heart-beats. Cancel-safe: whatever was read stays buffered.
    pub async fn next_frame(&mut self) -> Result<Frame, BenchError> {
        loop {
            match self.decoder.decode(&mut self.buf)? {
                Some(Decoded::Frame(f)) => return Ok(f),
                Some(Decoded::HeartBeat) => continue,
                None => {}
            }
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => self.buf.extend_from_slice(t.as_bytes()),
                Some(Ok(Message::Binary(b))) => self.buf.extend_from_slice(&b),
                Some(Ok(Message::Close(_))) | None => return Err(BenchError::Closed),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Ends the session politely (WebSocket close, bounded wait).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}

fn no_port_at_bind(socket: &TcpSocket) {
    use std::os::fd::AsRawFd;
    let one: libc::c_int = 1;
    // SAFETY: a valid socket fd and a c_int option value of the right size. Failure only
    // costs speed, so the result is ignored.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Describes an `ERROR` (or any unexpected) frame for a report.
pub fn error_of(frame: &Frame) -> BenchError {
    let message = frame.header("message").unwrap_or("");
    let body = String::from_utf8_lossy(&frame.body);
    BenchError::Protocol(format!(
        "{} {message} {}",
        frame.command.as_str(),
        body.trim()
    ))
}
