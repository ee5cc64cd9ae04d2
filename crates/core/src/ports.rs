//! The ports the domain owns: storage (`ChatStore`), presence (`Presence`) and fan-out (`Bus`,
//! `EventSink`). Backends implement them in their own crates; the domain sees only these traits.

use async_trait::async_trait;
use thiserror::Error;

use crate::error::StoreError;
use crate::ids::{RoomId, UserId};
use crate::model::{
    AppendOutcome, ChatMessage, HistoryPage, LeaveOutcome, Millis, NewInquiry, NewMessage, NewRoom,
    Room, RoomEvent,
};

/// Durable storage of rooms, messages and inquiries. Every method is one transaction: it
/// either took effect completely or not at all, and an `Ok` means it is committed.
#[async_trait]
pub trait ChatStore: Send + Sync + 'static {
    /// Creates the room, or returns the existing one with the same `pair_key` (`false` then).
    /// When the room exists and `new.buyer` (the caller) had left it, the caller rejoins.
    async fn open_room(&self, new: &NewRoom) -> Result<(Room, bool), StoreError>;

    /// The room with its newest message, if it exists.
    async fn room(&self, id: &RoomId) -> Result<Option<Room>, StoreError>;

    /// The rooms `user` is a current member of, most recent activity first, at most `limit`.
    async fn rooms_of(&self, user: &UserId, limit: u32) -> Result<Vec<Room>, StoreError>;

    /// `user` leaves `room`. If the other member remains, a `SYSTEM` message with
    /// `notice` as content is stored (at `at`) and returned; if nobody remains, the room and
    /// its messages are deleted.
    async fn leave(
        &self,
        room: &RoomId,
        user: &UserId,
        notice: &str,
        at: Millis,
    ) -> Result<LeaveOutcome, StoreError>;

    /// Stores a batch of messages in one transaction, in order, with strictly increasing ids
    /// per room, and reports per message what happened. Membership and idempotency are
    /// checked inside the transaction.
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<AppendOutcome>, StoreError>;

    /// A page of a room's history, ascending by id.
    async fn history(
        &self,
        room: &RoomId,
        page: HistoryPage,
    ) -> Result<Vec<ChatMessage>, StoreError>;

    /// Stores an inquiry for the mailer; returns its id.
    async fn save_inquiry(&self, inquiry: &NewInquiry) -> Result<i64, StoreError>;

    /// Checks that the database answers (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A presence backend's failure. Presence is advisory: chat keeps working without it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PresenceError {
    /// The presence backend cannot be reached.
    #[error("presence unavailable: {0}")]
    Unavailable(String),
}

/// One live STOMP session as presence records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// Unique across the cluster (node id + local counter).
    pub session: String,
    /// The authenticated user.
    pub user: UserId,
    /// The node that holds the connection.
    pub node: String,
}

/// Who is connected and in which rooms, across every node.
#[async_trait]
pub trait Presence: Send + Sync + 'static {
    /// A session was authenticated.
    async fn session_opened(&self, info: &SessionInfo) -> Result<(), PresenceError>;
    /// The session subscribed to a room.
    async fn joined(&self, session: &str, room: &RoomId) -> Result<(), PresenceError>;
    /// The session unsubscribed from a room (or lost the right to it).
    async fn left(&self, session: &str, room: &RoomId) -> Result<(), PresenceError>;
    /// The session ended.
    async fn session_closed(&self, session: &str) -> Result<(), PresenceError>;
    /// Which of `users` have at least one live session.
    async fn online(&self, users: &[UserId]) -> Result<Vec<UserId>, PresenceError>;
    /// Which users have a live session subscribed to `room`.
    async fn in_room(&self, room: &RoomId) -> Result<Vec<UserId>, PresenceError>;
    /// Checks that the backend answers (for `/ready`).
    async fn ping(&self) -> Result<(), PresenceError>;
}

/// A bus's failure to accept an event.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BusError {
    /// The bus cannot be reached; the event was not published.
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// Carries room events to every node (this one included), which hand them to their
/// [`EventSink`]. A bus keeps each room's events in the order they were published.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes an event to all nodes.
    async fn publish(&self, event: RoomEvent) -> Result<(), BusError>;
    /// Checks that the bus answers (for `/ready`).
    async fn ping(&self) -> Result<(), BusError>;
}

/// Where a node's bus delivers events: the local fan-out to this node's sessions. It must not
/// block: a slow subscriber is the sink's problem, never the bus's.
pub trait EventSink: Send + Sync + 'static {
    /// Delivers one event to the local subscribers of its room.
    fn deliver(&self, event: &RoomEvent);
}
