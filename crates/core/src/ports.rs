//! The ports the domain owns: storage (`ChatStore`), the inquiry outbox (`InquiryOutbox`),
//! presence (`Presence`) and fan-out (`Bus`, `EventSink`). Backends implement them in their own crates; the domain sees only these traits.

use async_trait::async_trait;
use thiserror::Error;

use crate::error::StoreError;
use crate::ids::{RoomId, UserId};
use crate::model::{
    AppendOutcome, ChatMessage, HistoryPage, LeaveOutcome, MarkReadOutcome, Millis, NewInquiry,
    NewMessage, NewRoom, QueuedInquiry, Room, RoomEvent,
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

    /// Up to `limit` of `user`'s messages that match `query` (every word a substring of the
    /// message's [`crate::search::index_text`]), newest first: from the rooms `user` is a
    /// current member of (only `room` when given), older than `before` when given.
    async fn search(
        &self,
        user: &UserId,
        query: &crate::search::SearchQuery,
        room: Option<&RoomId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChatMessage>, StoreError>;

    /// Moves `user`'s read mark in `room` forward to the newest message whose id is at most
    /// `up_to`; a mark never moves back. Costs an index lookup, never a scan.
    async fn mark_read(
        &self,
        room: &RoomId,
        user: &UserId,
        up_to: i64,
    ) -> Result<MarkReadOutcome, StoreError>;

    /// The unread count of each room `user` is a current member of (rooms with none included),
    /// from the rooms' counters: at most `limit` rooms.
    async fn unread_counts(&self, user: &UserId, limit: u32) -> Result<Vec<i64>, StoreError>;

    /// The users who share a current room with `user` (both still members), distinct, at most
    /// `limit`: whom `user`'s presence is told to.
    async fn partners(&self, user: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError>;

    /// Keeps `at` as when `user` was last online (a later time than the kept one wins).
    async fn record_last_seen(&self, user: &UserId, at: Millis) -> Result<(), StoreError>;

    /// When each of `users` was last online, for those ever seen.
    async fn last_seen(&self, users: &[UserId]) -> Result<Vec<(UserId, Millis)>, StoreError>;

    /// Stores an inquiry for the mailer; returns its id.
    async fn save_inquiry(&self, inquiry: &NewInquiry) -> Result<i64, StoreError>;

    /// How many stored inquiries are not mailed yet: the outbox's depth, for operators.
    async fn unsent_inquiries(&self) -> Result<u64, StoreError>;

    /// Checks that the database answers (for `/ready`).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The durable outbox of inquiries waiting to be mailed. Every node's mailer claims due rows
/// under a lease, so several nodes can share one database without mailing a row twice; a row
/// whose mailer died becomes claimable again when its lease ends. Times come from the caller
/// (the mailer's clock), which keeps the SQL portable and the rules testable without waiting.
#[async_trait]
pub trait InquiryOutbox: Send + Sync + 'static {
    /// Claims up to `limit` unsent inquiries that are due (`next attempt <= now`) and not under
    /// a live lease (one ending before `now` has lapsed), for `claimer` until `lease_until`,
    /// oldest due first. Two concurrent calls never claim the same row. `claimer` must be
    /// unique per call (e.g. node id plus a counter): it is the claim's token.
    async fn claim_due(
        &self,
        claimer: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> Result<Vec<QueuedInquiry>, StoreError>;

    /// Records that the mail server accepted inquiry `id` at `at`; it is never claimed again.
    /// Recorded even when the claim has lapsed (the mail did go out). `false` when it was
    /// already recorded as sent.
    async fn mark_sent(&self, id: i64, at: Millis) -> Result<bool, StoreError>;

    /// Records a failed attempt under `claimer`'s claim: one more attempt, due again at
    /// `retry_at`, with `error` kept for operators; the claim ends. `false` when `claimer` no
    /// longer holds the row (its lease lapsed and another claim took it, or it was sent).
    async fn mark_failed(
        &self,
        id: i64,
        claimer: &str,
        retry_at: Millis,
        error: &str,
    ) -> Result<bool, StoreError>;

    /// Ends `claimer`'s claim on every row it still holds unsent (not attempted, e.g. because
    /// the mailer is stopping), without counting an attempt; returns how many were released.
    async fn release(&self, claimer: &str) -> Result<u64, StoreError>;
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
    /// A session was authenticated. `true` when it is its user's only live session anywhere
    /// (the user came online: API-v2's `PRESENCE`).
    async fn session_opened(&self, info: &SessionInfo) -> Result<bool, PresenceError>;
    /// The session subscribed to a room.
    async fn joined(&self, session: &str, room: &RoomId) -> Result<(), PresenceError>;
    /// The session unsubscribed from a room (or lost the right to it).
    async fn left(&self, session: &str, room: &RoomId) -> Result<(), PresenceError>;
    /// The session ended. Its user when no live session of theirs is left anywhere (the user
    /// went offline).
    async fn session_closed(&self, session: &str) -> Result<Option<UserId>, PresenceError>;
    /// Claims the right to relay `user`'s `typing: true` in `room` for `window`, across every
    /// node: `false` while an earlier claim's window lasts.
    async fn claim_typing(
        &self,
        room: &RoomId,
        user: &UserId,
        window: std::time::Duration,
    ) -> Result<bool, PresenceError>;
    /// Users whose last session ended without a goodbye (its node died), as this node finds
    /// them while sweeping dead nodes; taken once, by the service. `None` for a presence that
    /// never outlives its node's sessions (memory).
    fn take_departures(&self) -> Option<tokio::sync::mpsc::Receiver<UserId>> {
        None
    }
    /// Which of `users` (the first [`MAX_PRESENCE_USERS`]) have at least one live session, in
    /// the order given.
    async fn online(&self, users: &[UserId]) -> Result<Vec<UserId>, PresenceError>;
    /// Which users have a live session subscribed to `room`: sorted, distinct, at most
    /// [`MAX_PRESENCE_USERS`].
    async fn in_room(&self, room: &RoomId) -> Result<Vec<UserId>, PresenceError>;
    /// Checks that the backend answers (for `/ready`).
    async fn ping(&self) -> Result<(), PresenceError>;
    /// This node is stopping cleanly: end background work and remove whatever this node still
    /// has recorded, so other nodes stop seeing it at once instead of after an expiry.
    async fn stop(&self) -> Result<(), PresenceError> {
        Ok(())
    }
}

/// The most users one presence answer lists (`online` looks at most this many users, `in_room`
/// returns at most this many), so that no answer grows with a misbehaving client.
pub const MAX_PRESENCE_USERS: usize = 1000;

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

/// This node's register of which live session subscribes to which room under which
/// subscription id: the transport's fan-out hub. The domain decides when a subscription starts
/// and ends (after the membership check, with the sequencer told first); the hub delivers.
pub trait LocalSubscriptions: Send + Sync + 'static {
    /// Session `session` (this node's id for it) subscribes to `room` as `sub_id`.
    fn add(&self, room: RoomId, session: u64, sub_id: &str);
    /// Ends one subscription of a session.
    fn remove(&self, room: &RoomId, session: u64, sub_id: &str);
    /// Ends every subscription of a session that ended (its event stream too); `rooms` are the
    /// rooms it held.
    fn remove_session(&self, session: u64, rooms: &[RoomId]);
    /// Session `session` subscribes to its own user's event stream as `sub_id`.
    fn add_user_stream(&self, session: u64, sub_id: &str);
    /// Ends one event-stream subscription of a session.
    fn remove_user_stream_sub(&self, session: u64, sub_id: &str);
}

/// Where a node's bus delivers events: the local fan-out to this node's sessions. It must not
/// block: a slow subscriber is the sink's problem, never the bus's.
pub trait EventSink: Send + Sync + 'static {
    /// Delivers one event to the local subscribers of its room.
    fn deliver(&self, event: &RoomEvent);

    /// Whether this node has subscribers to `room`: the sequencer keeps such a room's place
    /// in its order for as long as it has them.
    fn has_subscribers(&self, room: &RoomId) -> bool;
}

/// A blob store's failure.
#[derive(Debug, Error)]
pub enum BlobError {
    /// The store cannot be reached or refused the operation for now; worth retrying.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
    /// The store answered something unexpected.
    #[error("blob store: {0}")]
    Internal(String),
}

/// A stored blob being read: its length, and its bytes as they arrive (never all in memory).
pub struct BlobRead {
    /// Length in bytes.
    pub size: u64,
    /// The bytes, in order.
    pub chunks: futures::stream::BoxStream<'static, Result<bytes::Bytes, BlobError>>,
}

/// Where photos' bytes live: a directory, or a bucket every node of a cluster shares. Keys are
/// made by the domain (`Variant::blob_key`) from parsed ids only.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `key`, replacing what was there; `Ok` means it is durably stored.
    async fn put(&self, key: &str, bytes: bytes::Bytes) -> Result<(), BlobError>;

    /// The blob under `key`, streamed, or `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<BlobRead>, BlobError>;

    /// Deletes the blob under `key`; deleting one that is not there succeeds (so a retried or
    /// repeated delete is harmless).
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Checks that the store answers (for `/ready`).
    async fn ping(&self) -> Result<(), BlobError>;
}

/// Why a send's photos could not be taken for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimRefused {
    /// At least one id is unknown, another user's, another room's, already sent or being sent.
    NotClaimable,
}

/// An upload to delete: its bytes first, then its record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredUpload {
    /// The upload's id.
    pub id: crate::attachment::AttachmentId,
    /// Its room (part of its blob keys).
    pub room: RoomId,
}

/// The records of uploads (`attachments`), kept where every node sees them. Every method is one
/// transaction.
#[async_trait]
pub trait AttachmentStore: Send + Sync + 'static {
    /// Records an upload that is about to be stored (state `uploading`), before its bytes are
    /// written, so that a crash in between leaves a record the janitor deletes.
    async fn record_upload(
        &self,
        record: &crate::attachment::AttachmentRecord,
    ) -> Result<(), StoreError>;

    /// The upload's bytes are stored: `uploading` becomes `ready`. `false` if the record is
    /// gone or no longer uploading (its room was deleted meanwhile).
    async fn upload_stored(&self, id: &crate::attachment::AttachmentId)
        -> Result<bool, StoreError>;

    /// The record of upload `id` in `room`, whatever its state.
    async fn attachment(
        &self,
        room: &RoomId,
        id: &crate::attachment::AttachmentId,
    ) -> Result<Option<crate::attachment::AttachmentRecord>, StoreError>;

    /// How many of `uploader`'s uploads are not sent (uploading, ready or claimed).
    async fn unsent_uploads(&self, uploader: &UserId) -> Result<u64, StoreError>;

    /// Takes `ids` for one send under `key` (unique per send; a retry of the same message uses
    /// the same key): each must be `uploader`'s, in `room`, and ready, or already taken with
    /// this `key` (a retried send). All or nothing; the photos in `ids` order.
    async fn claim(
        &self,
        room: &RoomId,
        uploader: &UserId,
        ids: &[crate::attachment::AttachmentId],
        key: &str,
        at: Millis,
    ) -> Result<Result<Vec<crate::attachment::Attachment>, ClaimRefused>, StoreError>;

    /// Ends the claim under `key`: `sent` marks the photos sent (the message is stored), else
    /// they are ready again (the send was refused).
    async fn settle_claim(&self, key: &str, sent: bool) -> Result<(), StoreError>;

    /// Resolves claims older than `before` whose sender never settled them (a crash between
    /// claim and commit): photos some stored message carries become sent, the others ready.
    /// Returns how many were resolved.
    async fn resolve_stale_claims(&self, before: Millis, limit: u32) -> Result<u64, StoreError>;

    /// Uploads whose bytes are to be deleted: those of deleted rooms, and those never sent
    /// that began before `unsent_before`. At most `limit`.
    async fn expired_uploads(
        &self,
        unsent_before: Millis,
        limit: u32,
    ) -> Result<Vec<ExpiredUpload>, StoreError>;

    /// Deletes the records of uploads whose bytes are gone.
    async fn forget_uploads(
        &self,
        ids: &[crate::attachment::AttachmentId],
    ) -> Result<(), StoreError>;
}

/// What [`SafetyStore::block`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// The block is new.
    Added,
    /// It was there already.
    Already,
    /// The blocker has the most blocks allowed; nothing stored.
    TooMany,
}

/// What [`SafetyStore::save_report`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportOutcome {
    /// Stored with its evidence and its mail queued: the report's id.
    Saved(i64),
    /// No such room.
    NoSuchRoom,
    /// The reporter is not a current member.
    NotMember,
    /// The reported message is not in the room.
    NoSuchMessage,
}

/// Builds the operators' mail of a report from its id and evidence (the domain's wording).
pub type ReportMail<'a> =
    &'a (dyn Fn(i64, &[crate::model::ChatMessage]) -> NewInquiry + Send + Sync);

/// Durable storage of blocks and reports (API-v2 "Safety"). Every method is one transaction.
#[async_trait]
pub trait SafetyStore: Send + Sync + 'static {
    /// `blocker` blocks `blocked` from `at`, unless `blocker` has `max` blocks already.
    async fn block(
        &self,
        blocker: &UserId,
        blocked: &UserId,
        at: Millis,
        max: u32,
    ) -> Result<BlockOutcome, StoreError>;

    /// Lifts the block; `false` when there was none.
    async fn unblock(&self, blocker: &UserId, blocked: &UserId) -> Result<bool, StoreError>;

    /// Whom `blocker` blocks, sorted, at most `limit`.
    async fn blocked_by(&self, blocker: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError>;

    /// The users `user` blocks or is blocked by, at most `limit`.
    async fn block_relations(&self, user: &UserId, limit: u32) -> Result<Vec<UserId>, StoreError>;

    /// Whether `user` is known to chat: has been in a room, or has connected.
    async fn user_known(&self, user: &UserId) -> Result<bool, StoreError>;

    /// Stores `report` with a copy of its room's last `snapshot` messages, and queues
    /// `mail(id, messages)` in the inquiry outbox, in one transaction; checks the reporter's
    /// membership and the reported message on the same reads.
    async fn save_report(
        &self,
        report: &crate::safety::NewReport,
        snapshot: u32,
        mail: ReportMail<'_>,
    ) -> Result<ReportOutcome, StoreError>;

    /// Reports, newest first, with ids below `before` when given, at most `limit`.
    async fn reports(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<crate::safety::Report>, StoreError>;
}

/// Rate buckets every node shares: the rate limits that must hold across a cluster (a user's
/// room creations, uploads, reports and blocks, which a load balancer spreads over the nodes).
/// Each bucket is a GCRA: one token every `interval`, at most `burst` at once.
#[async_trait]
pub trait SharedBuckets: Send + Sync + 'static {
    /// Takes one token from the bucket `key`: `None` when taken, or how long until one is.
    async fn take(
        &self,
        key: &str,
        interval: std::time::Duration,
        burst: u32,
    ) -> Result<Option<std::time::Duration>, PresenceError>;
}
