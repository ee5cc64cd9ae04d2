//! STOMP over WebSocket: the per-connection session loop and this node's fan-out hub.

pub mod hub;
pub mod session;
