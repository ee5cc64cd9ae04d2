//! One WebSocket carrying STOMP, generic over any stream and sink of WebSocket messages (so a
//! test drives it with an in-memory pair): the read buffer and decoder, timed writes with a
//! typed error, and the last words (`ERROR`, then a close frame with its code).

use std::time::Duration;

use bytes::BytesMut;
use futures::{Sink, SinkExt, Stream, StreamExt};
use reuse_stomp::{encode_to_bytes, Decoded, Frame, Limits, StompDecoder, Version};
use thiserror::Error;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::failure::Failure;
use super::hub::to_text;
use crate::telemetry::FRAMES_OUT_BY_COMMAND;

/// Close code for a WebSocket message larger than the server accepts (RFC 6455 §7.4.1).
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code for an orderly end (RFC 6455 §7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;

/// What a transport's errors must tell the connection.
pub trait TransportError: std::error::Error + Send + Sync + 'static {
    /// The peer sent a message or frame over the configured size limit.
    fn is_too_large(&self) -> bool;
    /// The connection is already closed or was reset by the peer.
    fn is_closed(&self) -> bool;
}

impl TransportError for tungstenite::Error {
    fn is_too_large(&self) -> bool {
        matches!(self, tungstenite::Error::Capacity(_))
    }

    fn is_closed(&self) -> bool {
        match self {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => true,
            tungstenite::Error::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// Why a write to the client failed.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The client accepted no data for the write timeout: it is gone or not reading.
    #[error("write timed out after {0:?}")]
    Timeout(Duration),
    /// The connection was already closed.
    #[error("connection closed")]
    Closed,
    /// Any other transport failure.
    #[error("write failed: {0}")]
    Io(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Runs one write to the transport (a send, a feed or a flush) within `timeout`, with its
/// outcome as the connection's error.
async fn written<E: TransportError>(
    write: impl std::future::Future<Output = Result<(), E>>,
    timeout: Duration,
) -> Result<(), WriteError> {
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) if e.is_closed() => Err(WriteError::Closed),
        Ok(Err(e)) => Err(WriteError::Io(Box::new(e))),
        Err(_) => Err(WriteError::Timeout(timeout)),
    }
}

/// Why reading from the client stopped.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The client closed the connection (or it dropped).
    #[error("connection closed by the client")]
    Closed,
    /// The client sent a WebSocket message over the size limit.
    #[error("WebSocket message over the size limit")]
    TooLarge,
    /// The client's bytes are not valid STOMP: to report before closing.
    #[error("protocol error: {}", .0.message)]
    Protocol(Failure),
    /// Any other transport failure.
    #[error("read failed: {0}")]
    Io(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What one WebSocket message gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Bytes for the decoder.
    Data,
    /// A ping or pong: proof of life only.
    Control,
}

/// The socket with its read buffer and decoder.
pub struct Connection<R, W> {
    reader: R,
    writer: W,
    buf: BytesMut,
    decoder: StompDecoder,
    version: Version,
    write_timeout: Duration,
    /// When something was last written: heart-beats are due `send_every` after it.
    pub last_write: Instant,
}

impl<R, W, E> Connection<R, W>
where
    R: Stream<Item = Result<Message, E>> + Unpin,
    W: Sink<Message, Error = E> + Unpin,
    E: TransportError,
{
    /// A connection over `reader` and `writer`, decoding frames within `limits`.
    pub fn new(reader: R, writer: W, limits: Limits, write_timeout: Duration) -> Self {
        Connection {
            reader,
            writer,
            buf: BytesMut::new(),
            decoder: StompDecoder::new(limits),
            version: Version::V1_2,
            write_timeout,
            last_write: Instant::now(),
        }
    }

    /// Speaks `version` from now on (header escaping differs between versions).
    pub fn set_version(&mut self, version: Version) {
        self.version = version;
        self.decoder.set_version(version);
    }

    /// Waits for the next WebSocket message (cancel-safe: usable in `select!`).
    pub async fn next_message(&mut self) -> Option<Result<Message, E>> {
        self.reader.next().await
    }

    /// Takes in one WebSocket message: data goes to the read buffer.
    pub fn receive(&mut self, msg: Option<Result<Message, E>>) -> Result<Received, ReadError> {
        match msg {
            Some(Ok(Message::Text(t))) => self.buf.extend_from_slice(t.as_bytes()),
            Some(Ok(Message::Binary(b))) => self.buf.extend_from_slice(&b),
            // Raw frames are never read (only written), so they count as control traffic.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                return Ok(Received::Control)
            }
            Some(Ok(Message::Close(_))) | None => return Err(ReadError::Closed),
            Some(Err(e)) if e.is_too_large() => return Err(ReadError::TooLarge),
            Some(Err(e)) if e.is_closed() => return Err(ReadError::Closed),
            Some(Err(e)) => return Err(ReadError::Io(Box::new(e))),
        }
        Ok(Received::Data)
    }

    /// The next whole frame already in the read buffer, skipping heart-beats.
    pub fn decode(&mut self) -> Result<Option<Frame>, ReadError> {
        loop {
            match self.decoder.decode(&mut self.buf) {
                Ok(Some(Decoded::Frame(f))) => return Ok(Some(f)),
                Ok(Some(Decoded::HeartBeat)) => continue,
                Ok(None) => return Ok(None),
                Err(e) => return Err(ReadError::Protocol(Failure::decode(&e))),
            }
        }
    }

    /// Reads until a whole frame is decoded.
    pub async fn next_frame(&mut self) -> Result<Frame, ReadError> {
        loop {
            if let Some(f) = self.decode()? {
                return Ok(f);
            }
            let msg = self.next_message().await;
            self.receive(msg)?;
        }
    }

    /// Writes one message and flushes.
    pub async fn write(&mut self, msg: Message) -> Result<(), WriteError> {
        self.last_write = Instant::now();
        written(self.writer.send(msg), self.write_timeout).await
    }

    /// Queues a message in the writer's buffer; [`Connection::flush`] sends it.
    pub async fn feed(&mut self, msg: Message) -> Result<(), WriteError> {
        self.last_write = Instant::now();
        written(self.writer.feed(msg), self.write_timeout).await
    }

    /// Sends what [`Connection::feed`] queued.
    pub async fn flush(&mut self) -> Result<(), WriteError> {
        written(self.writer.flush(), self.write_timeout).await
    }

    /// Encodes and writes one frame.
    pub async fn write_frame(&mut self, frame: &Frame) -> Result<(), WriteError> {
        FRAMES_OUT_BY_COMMAND.count(frame.command);
        let text = to_text(encode_to_bytes(frame, self.version));
        self.write(Message::Text(text)).await
    }

    /// Encodes a frame into the writer's buffer; [`Connection::flush`] sends it. The caller
    /// counts the frames it feeds (per burst, not per frame).
    pub async fn feed_frame(&mut self, frame: &Frame) -> Result<(), WriteError> {
        let text = to_text(encode_to_bytes(frame, self.version));
        self.feed(Message::Text(text)).await
    }

    /// Gives back the transport, for the caller to drain or drop.
    pub fn into_parts(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// Sends the closing `ERROR` (if any) and closes the WebSocket with `code`. Best effort:
    /// the client may already be gone, which is why it is ending.
    pub async fn finish(&mut self, failure: Option<&Failure>, code: u16) {
        if let Some(f) = failure {
            let _ = self.write_frame(&f.to_frame()).await;
        }
        let close = Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: Utf8Bytes::from_static(""),
        }));
        let _ = self.write(close).await;
        let timeout = self.write_timeout;
        let _ = tokio::time::timeout(timeout, self.writer.close()).await;
    }
}
