//! A pure STOMP 1.0/1.1/1.2 frame codec: bytes in, frames out, no I/O.
//!
//! [`StompDecoder`] parses frames and heart-beats off the front of a `BytesMut`, returning
//! `Ok(None)` while a frame is incomplete; [`encode`] writes frames back. Transports (TCP,
//! WebSocket) and session logic live elsewhere.

mod decode;
mod encode;
mod frame;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use decode::{DecodeError, Decoded, StompDecoder};
pub use encode::{encode, encode_to_bytes};
pub use frame::{Command, Frame, Limits, Version};
