//! STOMP over WebSocket: the destinations, the handshake, client commands, the connection, the
//! per-connection session loop, and this node's fan-out hub.

pub mod command;
pub mod connection;
pub mod context;
pub mod destination;
pub mod failure;
pub mod handshake;
pub mod hub;
pub mod session;
pub mod transactions;
pub mod user_streams;
