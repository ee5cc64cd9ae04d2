//! The chat service: every use case of the contract (open, list, enter, leave, history, send,
//! inquire), with validation and the membership rule applied before anything is stored.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Deserialize;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;

use crate::attachment::AttachmentId;
use crate::committer::Committer;
pub use crate::committer::SendOutcome;
use crate::error::ChatError;
use crate::ids::{ClientMessageId, RoomId, UserId};
use crate::limits::DomainLimits;
use crate::model::{
    ChatMessage, HistoryCursor, HistoryPage, LeaveOutcome, MessageKind, Millis, NewInquiry,
    NewMessage, NewRoom, Room, RoomEvent,
};
use crate::photos::Photos;
use crate::ports::{Bus, ChatStore, LocalSubscriptions, Presence, PresenceError, SessionInfo};
use crate::sequencer::Sequencer;

/// The parameters of `POST /room/create`, as the caller gave them (not yet validated).
#[derive(Clone, Debug, Default)]
pub struct OpenRoomRequest {
    /// The other party (`user`).
    pub seller: Option<String>,
    /// The product's name (`name`).
    pub name: Option<String>,
    /// The product's id (`productId`).
    pub product_id: Option<String>,
}

impl OpenRoomRequest {
    /// Checks the request and turns it into the room to create, with its idempotency key.
    pub fn validate(&self, limits: &DomainLimits, caller: &UserId) -> Result<NewRoom, ChatError> {
        let req = self;
        let seller = req
            .seller
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ChatError::bad("missing_user", "the parameter 'user' is required"))?;
        let seller = UserId::parse(seller)?;
        if &seller == caller {
            return Err(ChatError::bad(
                "self_chat",
                "you cannot open a chat room with yourself",
            ));
        }
        let name = req.name.as_deref().map(str::trim).unwrap_or("");
        if name.is_empty() {
            return Err(ChatError::bad(
                "missing_name",
                "the parameter 'name' is required",
            ));
        }
        if name.chars().count() > limits.max_room_name_chars || has_control(name) {
            return Err(ChatError::bad(
                "invalid_name",
                format!(
                    "'name' must be at most {} printable characters",
                    limits.max_room_name_chars
                ),
            ));
        }
        let product_id = match req.product_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(p) => {
                if p.chars().count() > limits.max_product_id_chars || has_control(p) {
                    return Err(ChatError::bad(
                        "invalid_product_id",
                        format!(
                            "'productId' must be at most {} printable characters",
                            limits.max_product_id_chars
                        ),
                    ));
                }
                Some(p.to_owned())
            }
        };
        let new = NewRoom {
            id: RoomId::new_random(),
            pair_key: NewRoom::pair_key(caller, &seller, product_id.as_deref(), name),
            name: name.to_owned(),
            product_id,
            buyer: caller.clone(),
            seller,
            created_at: Millis::now(),
        };
        Ok(new)
    }
}

/// A validated `SEND`: ready to be submitted to the committer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendCommand {
    pub(crate) message: NewMessage,
    /// The photos the send names, claimed for it at submit.
    pub(crate) attachment_ids: Vec<AttachmentId>,
}

/// Reads a `SEND`'s `attachments`: absent or null for none, else 1 to `per_message` distinct
/// upload ids; anything else is `invalid_attachment`.
fn parse_attachment_ids(
    limits: &DomainLimits,
    value: Option<serde_json::Value>,
) -> Result<Vec<AttachmentId>, ChatError> {
    let items = match value {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => {
            return Err(ChatError::bad(
                "invalid_attachment",
                "attachments must be an array of upload ids",
            ))
        }
    };
    if items.is_empty() || items.len() > limits.max_attachments_per_message {
        return Err(ChatError::bad(
            "invalid_attachment",
            format!(
                "a message carries 1 to {} photos",
                limits.max_attachments_per_message
            ),
        ));
    }
    let mut ids: Vec<AttachmentId> = Vec::with_capacity(items.len());
    for item in items {
        let id = match item {
            serde_json::Value::String(s) => AttachmentId::parse(&s)?,
            _ => {
                return Err(ChatError::bad(
                    "invalid_attachment",
                    "an attachment id is a string",
                ))
            }
        };
        if ids.contains(&id) {
            return Err(ChatError::bad(
                "invalid_attachment",
                "the same photo is attached twice",
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

impl SendCommand {
    /// Validates a `SEND` body for `room` from `caller`: the sender is the caller, the body's
    /// room (if named) is the destination's, and the content is non-empty and within limits.
    pub fn parse(
        limits: &DomainLimits,
        caller: &UserId,
        room: RoomId,
        body: &[u8],
    ) -> Result<SendCommand, ChatError> {
        let body: SendBody = serde_json::from_slice(body).map_err(|_| {
            ChatError::bad(
                "invalid_body",
                "the body must be a JSON object {\"roomUUID\", \"sender\", \"content\"}",
            )
        })?;
        if let Some(v) = body.room_uuid.filter(|v| !v.is_null()) {
            let same = v
                .as_str()
                .and_then(|s| RoomId::parse(s).ok())
                .is_some_and(|r| r == room);
            if !same {
                return Err(ChatError::bad(
                    "room_mismatch",
                    "the body's roomUUID differs from the destination's",
                ));
            }
        }
        if let Some(v) = body.sender.filter(|v| !v.is_null()) {
            if v.as_str() != Some(caller.as_str()) {
                return Err(ChatError::bad(
                    "sender_mismatch",
                    "the body's sender is not the authenticated user",
                ));
            }
        }
        let attachments = parse_attachment_ids(limits, body.attachments)?;
        let content = match body.content {
            Some(serde_json::Value::String(s)) => s,
            // A photo needs no caption.
            None | Some(serde_json::Value::Null) if !attachments.is_empty() => String::new(),
            _ => {
                return Err(ChatError::bad(
                    "empty_content",
                    "the message content must be a non-empty string",
                ))
            }
        };
        let content = if attachments.is_empty() {
            if content.trim().is_empty() {
                return Err(ChatError::bad(
                    "empty_content",
                    "the message content must be a non-empty string",
                ));
            }
            content
        } else if content.trim().is_empty() {
            String::new()
        } else {
            content
        };
        if content.contains('\0') {
            return Err(ChatError::bad(
                "invalid_content",
                "the message content must not contain NUL characters",
            ));
        }
        if content.chars().count() > limits.max_content_chars {
            return Err(ChatError::too_large(
                "content_too_long",
                format!(
                    "content exceeds the limit of {} characters",
                    limits.max_content_chars
                ),
            ));
        }
        let client_message_id = match body.client_message_id {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(ClientMessageId::parse(&s)?),
            Some(serde_json::Value::Number(n)) => Some(ClientMessageId::parse(&n.to_string())?),
            Some(_) => {
                return Err(ChatError::bad(
                    "invalid_client_message_id",
                    "clientMessageId must be a string",
                ))
            }
        };
        Ok(SendCommand {
            message: NewMessage {
                room,
                sender: caller.clone(),
                content,
                kind: if attachments.is_empty() {
                    MessageKind::Text
                } else {
                    MessageKind::Image
                },
                created_at: Millis::now(),
                client_message_id,
                notice: None,
                attachments: Vec::new(),
                warnings: crate::safety::Warnings::NONE,
            },
            attachment_ids: attachments,
        })
    }

    /// The room the message goes to.
    pub fn room(&self) -> &RoomId {
        &self.message.room
    }
}

/// A send that is queued for commit; resolves once it is stored (or refused).
pub struct PendingSend {
    rx: oneshot::Receiver<Result<SendOutcome, ChatError>>,
}

impl Future for PendingSend {
    type Output = Result<SendOutcome, ChatError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(ChatError::ShuttingDown)))
    }
}

#[derive(Deserialize)]
struct SendBody {
    #[serde(rename = "roomUUID")]
    room_uuid: Option<serde_json::Value>,
    sender: Option<serde_json::Value>,
    content: Option<serde_json::Value>,
    #[serde(rename = "clientMessageId")]
    client_message_id: Option<serde_json::Value>,
    attachments: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct InquiryBody {
    email: Option<serde_json::Value>,
    title: Option<serde_json::Value>,
    content: Option<serde_json::Value>,
}

/// The backends and this node's fan-out that the service is built on.
pub struct ServiceParts {
    /// Durable storage.
    pub store: Arc<dyn ChatStore>,
    /// Carries room events to every node.
    pub bus: Arc<dyn Bus>,
    /// Who is online and in which room.
    pub presence: Arc<dyn Presence>,
    /// Keeps each room's events in order in front of this node's sessions.
    pub sequencer: Arc<Sequencer>,
    /// This node's register of subscriptions (the transport's hub).
    pub subscriptions: Arc<dyn LocalSubscriptions>,
    /// Photos; `None` where a server takes none (a send naming photos is then refused).
    pub photos: Option<Arc<Photos>>,
    /// Blocks and reports.
    pub safety: Arc<dyn crate::ports::SafetyStore>,
    /// This node's cache of blocks (told of changes by the bus through a
    /// [`crate::safety::blocks::BlockWatch`] in front of the sink).
    pub blocks: Arc<crate::safety::BlockList>,
    /// The listing's status, appointments and mutes.
    pub listing: Arc<dyn crate::listing::ListingStore>,
    /// Push subscriptions and the notification outbox.
    pub notifications: Arc<dyn crate::notify::NotificationStore>,
    /// The notifier's queue, when offline notifications are on.
    pub notify: Option<crate::notify::NotifyQueue>,
}

/// Who is online among a room's members, and who has it open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomPresence {
    /// Members with at least one live session anywhere.
    pub online: Vec<UserId>,
    /// Users with a live session subscribed to the room.
    pub in_room: Vec<UserId>,
    /// When each member who is not online was last (members never seen are absent).
    pub last_seen: std::collections::BTreeMap<UserId, Millis>,
}

/// The domain's entry point: adapters (REST, STOMP) call these methods and nothing else.
pub struct ChatService {
    pub(crate) store: Arc<dyn ChatStore>,
    bus: Arc<dyn Bus>,
    presence: Arc<dyn Presence>,
    sequencer: Arc<Sequencer>,
    subscriptions: Arc<dyn LocalSubscriptions>,
    committer: Committer,
    limits: DomainLimits,
    /// This node's first filter on `typing: true`, in front of the cluster-wide claim.
    typing_throttle: crate::typing::TypingThrottle,
    /// Tells partners when a user comes online or goes offline.
    announcer: Arc<crate::online::Announcer>,
    /// Woken after each stored inquiry, so a mailer sends it now instead of at its next poll.
    inquiry_signal: Option<Arc<Notify>>,
    /// Photos: claimed by sends, their janitor woken when a room is deleted.
    photos: Option<Arc<Photos>>,
    /// Blocks and reports (`crate::safety::use_cases`).
    pub(crate) safety: Arc<dyn crate::ports::SafetyStore>,
    /// Blocks as the API offers them, over the cache.
    pub(crate) blocks: crate::safety::Blocks,
    /// Reads every member's message for scam and off-platform signs.
    detector: Arc<crate::safety::Detector>,
    /// The listing's status, appointments and mutes (`crate::listing`).
    pub(crate) listing: Arc<dyn crate::listing::ListingStore>,
    /// Push subscriptions and the outbox (`crate::notify`).
    pub(crate) notifications: Arc<dyn crate::notify::NotificationStore>,
    /// The notifier's queue, when offline notifications are on.
    pub(crate) notify: Option<crate::notify::NotifyQueue>,
    /// Which push endpoints are taken; `None`: this server sends no Web Push.
    pub(crate) push_policy: Option<crate::notify::EndpointPolicy>,
}

/// Presence is advisory (chat works without it): its failures are logged here, once, and
/// never fail the caller.
fn advisory(operation: &'static str, result: Result<(), PresenceError>) {
    if let Err(e) = result {
        tracing::warn!(operation, error = %e, "presence update failed");
    }
}

impl ChatService {
    /// Builds the service and starts its committer; the handle ends once the service (and
    /// every clone of its committer) is dropped and the queued sends are stored.
    pub fn new(parts: ServiceParts, limits: DomainLimits) -> (Self, JoinHandle<()>) {
        let ServiceParts {
            store,
            bus,
            presence,
            sequencer,
            subscriptions,
            photos,
            safety,
            blocks,
            listing,
            notifications,
            notify,
        } = parts;
        let (committer, handle) = Committer::spawn(
            store.clone(),
            bus.clone(),
            notify.clone(),
            limits.commit_queue,
            limits.commit_batch,
        );
        let max_blocks = limits.max_blocks_per_user;
        let announcer = crate::online::Announcer::spawn(
            store.clone(),
            bus.clone(),
            presence.clone(),
            blocks.clone(),
            &limits,
        );
        let svc = ChatService {
            announcer,
            store,
            bus,
            presence,
            sequencer,
            subscriptions,
            committer,
            limits,
            typing_throttle: Default::default(),
            inquiry_signal: None,
            photos,
            blocks: crate::safety::Blocks::new(safety.clone(), blocks, max_blocks),
            safety,
            detector: Arc::new(crate::safety::Detector::shipped()),
            listing,
            notifications,
            notify,
            push_policy: None,
        };
        (svc, handle)
    }

    /// Wakes `signal` after every stored inquiry: how the outbox's mailer learns of new work
    /// without waiting for its poll.
    pub fn with_inquiry_signal(mut self, signal: Arc<Notify>) -> Self {
        self.inquiry_signal = Some(signal);
        self
    }

    /// Reads messages with `detector` (the operator's rules, masking) instead of the shipped
    /// rules alone.
    pub fn with_detector(mut self, detector: Arc<crate::safety::Detector>) -> Self {
        self.detector = detector;
        self
    }

    /// Takes push subscriptions under `policy`: this server sends Web Push.
    pub fn with_web_push(mut self, policy: crate::notify::EndpointPolicy) -> Self {
        self.push_policy = Some(policy);
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> &DomainLimits {
        &self.limits
    }

    /// A transport session was authenticated; when it is its user's first anywhere, the
    /// user's partners are told they came online.
    pub async fn session_opened(&self, info: &SessionInfo) {
        match self.presence.session_opened(info).await {
            Ok(true) => self.announcer.came_online(&info.user).await,
            Ok(false) => {}
            Err(e) => advisory("session_opened", Err(e)),
        }
    }

    /// A transport session ended: its subscriptions (to `rooms`) end and presence forgets it;
    /// when it was its user's last anywhere, the time is kept and their partners are told.
    pub async fn session_closed(&self, session: u64, key: &str, rooms: &[RoomId]) {
        self.subscriptions.remove_session(session, rooms);
        match self.presence.session_closed(key).await {
            Ok(Some(user)) => self.announcer.went_offline(&user, Millis::now()).await,
            Ok(None) => {}
            Err(e) => advisory("session_closed", Err(e)),
        }
    }

    /// Presence, for the domain's other modules (typing, online status).
    pub(crate) fn presence(&self) -> &Arc<dyn Presence> {
        &self.presence
    }

    /// The presence announcer.
    pub(crate) fn announcer(&self) -> &crate::online::Announcer {
        &self.announcer
    }

    /// This node's typing throttle.
    pub(crate) fn typing_throttle(&self) -> &crate::typing::TypingThrottle {
        &self.typing_throttle
    }

    /// Hands an event to the bus. A failure is logged, never the caller's: what it tells is
    /// advisory (a stored message waits in history, a state in the next read).
    pub(crate) async fn publish(&self, event: RoomEvent) {
        if let Err(e) = self.bus.publish(event).await {
            tracing::warn!(error = %e, "publish failed");
        }
    }

    /// Subscribes a session of `caller` to `room`'s messages, in the one order that loses
    /// nothing: the membership check, then the sequencer learns where the room stands (so a
    /// message from another node that arrives early waits for its predecessor), then the
    /// subscription starts, then presence records it.
    pub async fn subscribe(
        &self,
        caller: &UserId,
        session: u64,
        key: &str,
        room: RoomId,
        sub_id: &str,
    ) -> Result<(), ChatError> {
        let entered = self.enter(caller, &room).await?;
        self.sequencer
            .watch(room, entered.last_message.map(|m| m.id));
        self.subscriptions.add(room, session, sub_id);
        advisory("joined", self.presence.joined(key, &room).await);
        Ok(())
    }

    /// Subscribes a session to its own user's event stream (`/user/queue/events`): nothing to
    /// check, the stream carries only what concerns the session's user.
    pub fn subscribe_events(&self, session: u64, sub_id: &str) {
        self.subscriptions.add_user_stream(session, sub_id);
    }

    /// Ends a session's event-stream subscription.
    pub fn unsubscribe_events(&self, session: u64, sub_id: &str) {
        self.subscriptions.remove_user_stream_sub(session, sub_id);
    }

    /// Reads `room` again and hands its state to this node's event streams: for a message that
    /// reached this node without its room's state (read back from storage to fill a gap).
    pub async fn refresh_room(&self, room: &RoomId) {
        match self.store.room(room).await {
            Ok(Some(r)) => {
                use crate::ports::EventSink;
                self.sequencer.deliver(&RoomEvent::Updated(Arc::new(r)));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, room = %room, "cannot refresh a room"),
        }
    }

    /// Ends one subscription; `last_in_room` says the session holds no other one to the room,
    /// so presence no longer counts it in the room.
    pub async fn unsubscribe(
        &self,
        session: u64,
        key: &str,
        room: &RoomId,
        sub_id: &str,
        last_in_room: bool,
    ) {
        self.subscriptions.remove(room, session, sub_id);
        if last_in_room {
            advisory("left", self.presence.left(key, room).await);
        }
    }

    /// The server ended a session's subscriptions to `room` (its user left, or the room was
    /// deleted); presence no longer counts the session in the room.
    pub async fn subscription_revoked(&self, key: &str, room: &RoomId) {
        advisory("left", self.presence.left(key, room).await);
    }

    /// Which of the room's members are online and who has the room open; members only.
    pub async fn room_presence(
        &self,
        caller: &UserId,
        room: &RoomId,
    ) -> Result<RoomPresence, ChatError> {
        let room = self.enter(caller, room).await?;
        let members: Vec<UserId> = room.members().into_iter().cloned().collect();
        let unavailable = |e: PresenceError| {
            tracing::warn!(error = %e, room = %room.id, "presence query failed");
            ChatError::Unavailable
        };
        let mut online = self.presence.online(&members).await.map_err(unavailable)?;
        let mut in_room = self.presence.in_room(&room.id).await.map_err(unavailable)?;
        let mut last_seen = self.last_seen_of(&room.id, &members, &online).await?;
        // Between users who block each other, presence stops (API-v2 "Safety").
        let other = room.counterpart(caller);
        if self.blocks.list().between(caller, other).await {
            online.retain(|u| u != other);
            in_room.retain(|u| u != other);
            last_seen.remove(other);
        }
        Ok(RoomPresence {
            online,
            in_room,
            last_seen,
        })
    }

    /// Opens (or returns) the 1:1 room between `caller` (buyer) and the seller about a product.
    pub async fn open_room(
        &self,
        caller: &UserId,
        req: OpenRoomRequest,
    ) -> Result<(Room, bool), ChatError> {
        let new = req.validate(&self.limits, caller)?;
        // Read from storage, not the cache: a refusal here must be exact.
        let blocked = self
            .safety
            .block_relations(caller, crate::safety::blocks::MAX_RELATIONS)
            .await
            .map_err(|e| e.into_chat_error("open_room", None))?;
        if blocked.contains(&new.seller) {
            return Err(ChatError::Blocked);
        }
        let (room, created) = self
            .store
            .open_room(&new)
            .await
            .map_err(|e| e.into_chat_error("open_room", Some(&new.id)))?;
        // A new room, or a member coming back (`open_room` rejoins), appears in the members'
        // lists. Asking again for a room both are in tells them its state once more: the
        // store does not say which of the two happened, and a repeat changes no list.
        self.publish(RoomEvent::Updated(Arc::new(room.clone())))
            .await;
        Ok((room, created))
    }

    /// Storage, for the domain's other modules (read marks).
    pub(crate) fn store(&self) -> &Arc<dyn ChatStore> {
        &self.store
    }

    /// The caller's rooms, most recent activity first.
    pub async fn list_rooms(&self, caller: &UserId) -> Result<Vec<Room>, ChatError> {
        self.store
            .rooms_of(caller, self.limits.max_rooms_listed)
            .await
            .map_err(|e| e.into_chat_error("list_rooms", None))
    }

    /// The room, if the caller is a member: the check behind enter, subscribe and history.
    pub async fn enter(&self, caller: &UserId, room: &RoomId) -> Result<Room, ChatError> {
        let room = self
            .store
            .room(room)
            .await
            .map_err(|e| e.into_chat_error("enter", Some(room)))?
            .ok_or(ChatError::RoomNotFound)?;
        if !room.is_member(caller) {
            return Err(ChatError::NotMember);
        }
        Ok(room)
    }

    /// The caller leaves the room; the other member is told, or the room is deleted when the
    /// caller was the last one.
    pub async fn leave(&self, caller: &UserId, room: &RoomId) -> Result<(), ChatError> {
        let notice = format!("{caller}님이 채팅방을 나갔습니다.");
        let outcome = self
            .store
            .leave(room, caller, &notice, Millis::now())
            .await
            .map_err(|e| e.into_chat_error("leave", Some(room)))?;
        let events = match outcome {
            LeaveOutcome::NoSuchRoom => return Err(ChatError::RoomNotFound),
            LeaveOutcome::NotMember => return Err(ChatError::NotMember),
            // The leaver's subscriptions end first, so the notice reaches only the member who
            // stays.
            LeaveOutcome::Left(notice) => RoomEvent::MemberLeft(notice),
            LeaveOutcome::Deleted(last) => {
                // The room's photos are doomed with it; their bytes go now, not at the next sweep.
                if let Some(photos) = &self.photos {
                    photos.janitor_signal().notify_one();
                }
                RoomEvent::RoomDeleted {
                    room: *room,
                    last_member: Some((caller.clone(), Arc::from(last))),
                }
            }
        };
        self.publish(events).await;
        Ok(())
    }

    /// A page of history, ascending by id. `limit` defaults to the configured default.
    pub async fn history(
        &self,
        caller: &UserId,
        room: &RoomId,
        cursor: HistoryCursor,
        limit: Option<u32>,
    ) -> Result<Vec<ChatMessage>, ChatError> {
        let limit = limit.unwrap_or(self.limits.history_default);
        if limit == 0 || limit > self.limits.history_max {
            return Err(ChatError::bad(
                "invalid_limit",
                format!(
                    "'limit' must be between 1 and {} (history page limit)",
                    self.limits.history_max
                ),
            ));
        }
        match cursor {
            HistoryCursor::Before(id) | HistoryCursor::After(id) if id < 0 => {
                return Err(ChatError::bad(
                    "invalid_cursor",
                    "'before' and 'after' must be message ids (non-negative integers)",
                ));
            }
            _ => {}
        }
        self.enter(caller, room).await?;
        self.store
            .history(room, HistoryPage { cursor, limit })
            .await
            .map_err(|e| e.into_chat_error("history", Some(room)))
    }

    /// Validates a `SEND` body for `room` from `caller` (see [`SendCommand::parse`]).
    pub fn parse_send(
        &self,
        caller: &UserId,
        room: RoomId,
        body: &[u8],
    ) -> Result<SendCommand, ChatError> {
        let mut cmd = SendCommand::parse(&self.limits, caller, room, body)?;
        self.check_content(&mut cmd.message);
        Ok(cmd)
    }

    /// Reads a member's message for scam and off-platform signs (API-v2 "Safety"): the
    /// warnings travel with it, and under `--safety-mask` the flagged digits are masked before
    /// it is stored.
    pub fn check_content(&self, message: &mut NewMessage) {
        if message.kind == MessageKind::System || message.content.is_empty() {
            return;
        }
        let finding = self.detector.check(&message.content);
        message.warnings = finding.warnings;
        if let Some(masked) = finding.masked {
            message.content = masked;
        }
    }

    /// Queues a validated send for commit, waiting while the queue is full. The returned
    /// future resolves once the message is durably stored (or refused); sends queued from
    /// one task are stored in the order they were queued.
    pub async fn submit(&self, cmd: SendCommand) -> Result<PendingSend, ChatError> {
        if cmd.attachment_ids.is_empty() {
            let rx = self.committer.submit(cmd.message).await?;
            return Ok(PendingSend { rx });
        }
        let photos = self.photos.clone().ok_or_else(|| {
            ChatError::bad("invalid_attachment", "this server does not take photos")
        })?;
        let SendCommand {
            mut message,
            attachment_ids,
        } = cmd;
        let key = crate::photos::claim_key(
            &message.room,
            &message.sender,
            message.client_message_id.as_ref(),
        );
        message.attachments = photos
            .claim(&message.room, &message.sender, &attachment_ids, &key)
            .await?;
        let stored = match self.committer.submit(message).await {
            Ok(rx) => rx,
            Err(e) => {
                photos.settle(&key, false).await;
                return Err(e);
            }
        };
        // The claim is settled once the commit's outcome is known; the sender hears after.
        let (reply, rx) = oneshot::channel();
        tokio::spawn(async move {
            let outcome = stored.await.unwrap_or(Err(ChatError::ShuttingDown));
            photos.settle(&key, outcome.is_ok()).await;
            let _ = reply.send(outcome);
        });
        Ok(PendingSend { rx })
    }

    /// Validates and stores an inquiry to the operators; returns its id.
    pub async fn submit_inquiry(
        &self,
        caller: Option<UserId>,
        body: &[u8],
    ) -> Result<i64, ChatError> {
        let inquiry = NewInquiry::parse(&self.limits, caller, body)?;
        let id = self
            .store
            .save_inquiry(&inquiry)
            .await
            .map_err(|e| e.into_chat_error("save_inquiry", None))?;
        self.wake_mailer();
        Ok(id)
    }

    /// Tells the mailer (when there is one) that the outbox has a new row.
    pub(crate) fn wake_mailer(&self) {
        if let Some(signal) = &self.inquiry_signal {
            // A permit is kept when the mailer is busy, so this wake-up is never lost.
            signal.notify_one();
        }
    }

    /// How many inquiries wait to be mailed (for operators' metrics).
    pub async fn outbox_depth(&self) -> Result<u64, ChatError> {
        self.store
            .unsent_inquiries()
            .await
            .map_err(|e| e.into_chat_error("outbox_depth", None))
    }

    /// Each configured backend and whether it answers, for `/ready`.
    pub async fn readiness(&self) -> Vec<(&'static str, Result<(), String>)> {
        let store = self.store.ping().await.map_err(|e| e.to_string());
        let presence = self.presence.ping().await.map_err(|e| e.to_string());
        let bus = self.bus.ping().await.map_err(|e| e.to_string());
        let mut checks = vec![("storage", store), ("presence", presence), ("bus", bus)];
        if let Some(photos) = &self.photos {
            checks.push(("blobs", photos.ping().await));
        }
        checks
    }
}

impl NewInquiry {
    /// Validates an inquiry's JSON body `{"email", "title", "content"}`.
    pub fn parse(
        limits: &DomainLimits,
        caller: Option<UserId>,
        body: &[u8],
    ) -> Result<NewInquiry, ChatError> {
        let body: InquiryBody = serde_json::from_slice(body).map_err(|_| {
            ChatError::bad(
                "invalid_body",
                "the body must be a JSON object {\"email\", \"title\", \"content\"}",
            )
        })?;
        let field = |v: Option<serde_json::Value>, name: &str, max: usize| {
            let s = match v {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
                _ => {
                    return Err(ChatError::bad(
                        "missing_field",
                        format!("'{name}' must be a non-empty string"),
                    ))
                }
            };
            if s.chars().count() > max {
                return Err(ChatError::too_large(
                    "field_too_long",
                    format!("'{name}' exceeds the limit of {max} characters"),
                ));
            }
            if s.contains('\0') {
                return Err(ChatError::bad(
                    "invalid_field",
                    format!("'{name}' must not contain NUL characters"),
                ));
            }
            Ok(s)
        };
        let email = field(body.email, "email", 254)?.trim().to_owned();
        if !valid_email(&email) {
            return Err(ChatError::bad(
                "invalid_email",
                "'email' is not a valid e-mail address",
            ));
        }
        let title = field(body.title, "title", limits.max_inquiry_title_chars)?;
        if has_control(&title) {
            return Err(ChatError::bad(
                "invalid_title",
                "'title' must be a single line of printable characters",
            ));
        }
        let content = field(body.content, "content", limits.max_inquiry_content_chars)?;
        Ok(NewInquiry {
            email,
            title: title.trim().to_owned(),
            content,
            user: caller,
            created_at: Millis::now(),
        })
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A deliberately plain address check: one `@`, a non-empty local part, a dotted domain, no
/// spaces or control characters. Deliverability is the mail server's to judge.
fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn send(body: &str) -> Result<SendCommand, ChatError> {
        let room = RoomId::parse("0b8e0000-0000-4000-8000-000000000000").unwrap();
        SendCommand::parse(&DomainLimits::default(), &u("alice"), room, body.as_bytes())
    }

    #[test]
    fn send_bodies() {
        let ok = send(r#"{"roomUUID":"0B8E0000-0000-4000-8000-000000000000","sender":"alice","content":"hi","clientMessageId":"c-1"}"#).unwrap();
        assert_eq!(ok.message.content, "hi");
        assert_eq!(ok.message.sender, u("alice"));
        assert_eq!(ok.message.kind, MessageKind::Text);
        assert_eq!(ok.message.client_message_id.unwrap().as_str(), "c-1");
        // Sender and room may be left out; numbers are accepted as idempotency keys.
        let ok = send(r#"{"content":"hi","clientMessageId":17}"#).unwrap();
        assert_eq!(ok.message.client_message_id.unwrap().as_str(), "17");
        assert!(send(r#"{"content":"hi","clientMessageId":null}"#)
            .unwrap()
            .message
            .client_message_id
            .is_none());

        let code = |b: &str| send(b).unwrap_err().code();
        assert_eq!(
            code(r#"{"sender":"bob","content":"hi"}"#),
            "sender_mismatch"
        );
        assert_eq!(code(r#"{"sender":7,"content":"hi"}"#), "sender_mismatch");
        assert_eq!(
            code(r#"{"roomUUID":"0b8e0000-0000-4000-8000-000000000001","content":"hi"}"#),
            "room_mismatch"
        );
        assert_eq!(code(r#"{"roomUUID":"x","content":"hi"}"#), "room_mismatch");
        assert_eq!(code(r#"{"content":"   "}"#), "empty_content");
        assert_eq!(code(r#"{"content":""}"#), "empty_content");
        assert_eq!(code(r#"{"content":5}"#), "empty_content");
        assert_eq!(code(r#"{}"#), "empty_content");
        assert_eq!(code("not json"), "invalid_body");
        assert_eq!(code("[1,2]"), "invalid_body");
        assert_eq!(
            code(r#"{"content":"hi","clientMessageId":{}}"#),
            "invalid_client_message_id"
        );
        let long = format!(r#"{{"content":"{}"}}"#, "가".repeat(4001));
        assert_eq!(code(&long), "content_too_long");
        // PostgreSQL cannot store NUL in text: it is refused up front, on every backend alike.
        assert_eq!(code(r#"{"content":"a\u0000b"}"#), "invalid_content");
        let max = format!(r#"{{"content":"{}"}}"#, "가".repeat(4000));
        assert!(send(&max).is_ok());
    }

    #[test]
    fn open_room_requests() {
        let limits = DomainLimits::default();
        let req = |seller: Option<&str>, name: Option<&str>, pid: Option<&str>| OpenRoomRequest {
            seller: seller.map(Into::into),
            name: name.map(Into::into),
            product_id: pid.map(Into::into),
        };
        let new = req(Some("bob"), Some(" 자전거 팝니다 "), Some("p-991"))
            .validate(&limits, &u("alice"))
            .unwrap();
        assert_eq!(new.name, "자전거 팝니다");
        assert_eq!(new.buyer, u("alice"));
        assert_eq!(new.seller, u("bob"));
        assert_eq!(new.product_id.as_deref(), Some("p-991"));
        let code = |r: OpenRoomRequest| r.validate(&limits, &u("alice")).unwrap_err().code();
        assert_eq!(code(req(None, Some("x"), None)), "missing_user");
        assert_eq!(code(req(Some(""), Some("x"), None)), "missing_user");
        assert_eq!(code(req(Some("alice"), Some("x"), None)), "self_chat");
        assert_eq!(code(req(Some("bad user"), Some("x"), None)), "invalid_user");
        assert_eq!(code(req(Some("bob"), None, None)), "missing_name");
        assert_eq!(code(req(Some("bob"), Some("  "), None)), "missing_name");
        assert_eq!(
            code(req(Some("bob"), Some(&"n".repeat(101)), None)),
            "invalid_name"
        );
        assert_eq!(code(req(Some("bob"), Some("a\nb"), None)), "invalid_name");
        assert_eq!(
            code(req(Some("bob"), Some("x"), Some(&"p".repeat(65)))),
            "invalid_product_id"
        );
    }

    #[test]
    fn inquiries() {
        let limits = DomainLimits::default();
        let parse = |b: &str| NewInquiry::parse(&limits, None, b.as_bytes());
        let ok = parse(r#"{"email":" a@b.co ","title":"환불","content":"문의합니다"}"#).unwrap();
        assert_eq!(ok.email, "a@b.co");
        assert_eq!(ok.title, "환불");
        let code = |b: &str| parse(b).unwrap_err().code();
        assert_eq!(
            code(r#"{"email":"nope","title":"t","content":"c"}"#),
            "invalid_email"
        );
        assert_eq!(
            code(r#"{"email":"a@b.co","title":"","content":"c"}"#),
            "missing_field"
        );
        assert_eq!(code(r#"{"email":"a@b.co","title":"t"}"#), "missing_field");
        assert_eq!(
            code(r#"{"email":"a@b.co","title":"t\nx","content":"c"}"#),
            "invalid_title"
        );
        assert_eq!(code("{"), "invalid_body");
        assert_eq!(
            code(r#"{"email":"a@b.co","title":"t","content":"a\u0000"}"#),
            "invalid_field"
        );
        let long = format!(
            r#"{{"email":"a@b.co","title":"t","content":"{}"}}"#,
            "x".repeat(10_001)
        );
        assert_eq!(code(&long), "field_too_long");
    }

    #[test]
    fn emails() {
        assert!(valid_email("a@b.co"));
        assert!(valid_email("first.last+tag@mail.example.kr"));
        assert!(!valid_email("ab.co"));
        assert!(!valid_email("@b.co"));
        assert!(!valid_email("a@bco"));
        assert!(!valid_email("a@b.co."));
        assert!(!valid_email("a b@c.de"));
        assert!(!valid_email("a@b@c.de"));
    }
}
