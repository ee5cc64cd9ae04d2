//! The domain core of reuse-chat: rooms, messages, membership and authorization rules, and the
//! ports (`ChatStore`, `InquiryOutbox`, `Presence`, `Bus`, `AttachmentStore`, `BlobStore`) that
//! storage, mail, presence, fan-out and blob backends implement.
//!
//! Nothing here knows about HTTP, STOMP, SQL, Redis or Kafka: adapters live in other crates and
//! plug in through the traits of [`ports`].

pub mod attachment;
pub mod backoff;
#[cfg(feature = "testing")]
pub mod blob_suite;
pub mod committer;
pub mod envelope;
pub mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod hops;
pub mod ids;
pub mod janitor;
pub mod limits;
pub mod linking;
pub mod links;
pub mod listing;
pub mod memory;
pub mod model;
pub mod notify;
pub mod online;
pub mod photos;
pub mod ports;
#[cfg(feature = "testing")]
pub mod presence_suite;
pub mod reads;
pub mod safety;
pub mod search;
pub mod sequencer;
pub mod service;
pub mod typing;
pub mod user_stream;

pub use error::{ChatError, ErrorChain, StoreError, StoreErrorKind};
pub use events::{PresenceChange, ReadMoved, TypingSignal};
pub use ids::{ClientMessageId, RoomId, UserId};
pub use limits::DomainLimits;
pub use model::{
    AppendOutcome, ChatMessage, HistoryCursor, HistoryPage, LeaveOutcome, MarkReadOutcome,
    MessageKind, Millis, NewInquiry, NewMessage, NewRoom, Notice, QueuedInquiry, ReadMark, Room,
    RoomEvent, RoomView, Sequenced,
};
pub use reads::{ReadCommand, UnreadSummary};
pub use service::{ChatService, OpenRoomRequest, PendingSend, SendCommand, SendOutcome};
