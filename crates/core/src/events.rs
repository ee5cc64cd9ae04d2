//! The events that travel between nodes (`RoomEvent`): stored messages, leaves and deletions in
//! a room's order, and the conversation state around them (rooms opened, read marks, typing,
//! presence) that the members' event streams are told.

use std::sync::Arc;

use crate::ids::{RoomId, UserId};
use crate::model::{Millis, Notice, Room, Sequenced};

/// Something that happened and must reach sessions on every node. Messages, leaves and
/// deletions keep their room's order ([`crate::sequencer`]); the rest is told as it comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoomEvent {
    /// A stored message (a member's or a `SYSTEM` notice).
    Message(Sequenced),
    /// A member left the room: their subscriptions to it end, then the member who stays gets
    /// the stored `SYSTEM` notice (whose sender is the member who left). One event, so that it
    /// keeps its place among the room's messages on every node.
    MemberLeft(Sequenced),
    /// The room was deleted (its last member left): every subscription to it ends.
    RoomDeleted {
        /// The room.
        room: RoomId,
        /// The member whose leave deleted it and the room as it stood before, when known: they
        /// get a last `ROOM_UPDATED` with `"left": true`.
        last_member: Option<(UserId, Arc<Room>)>,
    },
    /// The room's state changed without a message of its own (created, a member came back, or
    /// a receiver refreshed it after filling a gap): its members get `ROOM_UPDATED`. The room
    /// has its `last_message`.
    Updated(Arc<Room>),
    /// A member's read mark moved by a read mark (sending moves it too, told with the message).
    Read(ReadMoved),
    /// A member is typing or stopped; never stored.
    Typing(TypingSignal),
    /// A user came online or went offline.
    Presence(PresenceChange),
    /// A block between these two users was made or lifted: every node forgets what it cached
    /// of both. Told to no session.
    BlocksChanged([UserId; 2]),
}

/// A member's read mark moved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadMoved {
    /// Whose mark.
    pub user: UserId,
    /// The message id it moved to.
    pub up_to: i64,
    /// The room after the move, with its `last_message`: the member's `ROOM_UPDATED`.
    pub room: Arc<Room>,
}

/// A member's typing state, relayed to the other member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypingSignal {
    /// The room typed in.
    pub room: RoomId,
    /// Who types.
    pub user: UserId,
    /// The other member, the only one told.
    pub to: UserId,
    /// Typing (`true`) or stopped.
    pub typing: bool,
}

/// A user's first session began or last session ended, anywhere in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresenceChange {
    /// Whose presence.
    pub user: UserId,
    /// Online now.
    pub online: bool,
    /// When they were last online; `None` while online.
    pub last_seen: Option<Millis>,
    /// Everyone who shares a room with `user` (their sessions are told).
    pub to: Vec<UserId>,
}

impl RoomEvent {
    /// The event a stored message stands for when it is read back (to fill a gap, or after a
    /// bus outage): a leave is told by its stored [`Notice`], never by its kind.
    pub fn from_stored(s: Sequenced) -> RoomEvent {
        if s.message.notice == Some(Notice::MemberLeft) {
            RoomEvent::MemberLeft(s)
        } else {
            RoomEvent::Message(s)
        }
    }

    /// The room the event belongs to, if it belongs to one.
    pub fn room(&self) -> Option<&RoomId> {
        match self {
            RoomEvent::Message(m) | RoomEvent::MemberLeft(m) => Some(&m.message.room),
            RoomEvent::RoomDeleted { room, .. } => Some(room),
            RoomEvent::Updated(r) => Some(&r.id),
            RoomEvent::Read(r) => Some(&r.room.id),
            RoomEvent::Typing(t) => Some(&t.room),
            RoomEvent::Presence(_) | RoomEvent::BlocksChanged(_) => None,
        }
    }

    /// What keeps related events in order on a bus that partitions: the room's id, or for a
    /// presence change the user's.
    pub fn bus_key(&self) -> String {
        match (self.room(), self) {
            (Some(room), _) => room.to_text(),
            (None, RoomEvent::Presence(p)) => format!("user:{}", p.user),
            (None, RoomEvent::BlocksChanged([a, _])) => format!("user:{a}"),
            (None, _) => String::new(),
        }
    }
}
