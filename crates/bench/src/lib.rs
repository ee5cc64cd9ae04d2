//! reuse-chat-bench: a STOMP-over-WebSocket load generator that drives reuse-chat, RabbitMQ's
//! Web-STOMP plugin and a bare WebSocket broadcast server (the baseline) with the same
//! scenarios, so each number can be read beside its peer and its physical limit.
//!
//! The generator speaks to the servers as the marketplace frontend does (CONNECT with
//! heart-beats, SUBSCRIBE, SEND with receipts), measures with HdrHistogram, reads the server's
//! RSS and CPU time from `/proc` and reports its own CPU use, so a reader can tell when the
//! generator, not the server, was the limit.
//!
//! Beside the servers it measures the physical limit of storage ([`bare`]): the same rows,
//! schema, statements and durability stored by a bare loop without reuse-chat.

pub mod bare;
pub mod baseline;
pub mod client;
pub mod conversation;
pub mod machine;
pub mod page;
pub mod photos;
pub mod procstat;
pub mod report;
pub mod roomlist;
pub mod scenario;
pub mod search;
pub mod table;
pub mod target;

use thiserror::Error;

/// Why a benchmark step failed.
#[derive(Debug, Error)]
pub enum BenchError {
    /// A socket operation failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket layer failed (handshake, framing, closed connection).
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    /// The peer sent bytes that are not STOMP.
    #[error("stomp: {0}")]
    Decode(#[from] reuse_stomp::DecodeError),
    /// The peer answered with an `ERROR` frame or something unexpected.
    #[error("protocol: {0}")]
    Protocol(String),
    /// A REST call (room setup) failed.
    #[error("http: {0}")]
    Http(String),
    /// The peer closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// Something did not happen in time.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// Results could not be read or written.
    #[error("report: {0}")]
    Report(String),
    /// SQLite failed in the bare-storage loop.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// MySQL/MariaDB or PostgreSQL failed in the bare-storage loop.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The database answered the bare-storage loop unexpectedly, or was not usable for it.
    #[error("storage: {0}")]
    Storage(String),
}
