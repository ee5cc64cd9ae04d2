//! The domain's data: rooms, chat messages, inquiries, and the events that fan out to a room.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::ids::{ClientMessageId, RoomId, UserId};

/// A point in time as milliseconds since the Unix epoch, UTC: what storage keeps and what the
/// wire shows as RFC 3339 with milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    /// The current time.
    pub fn now() -> Self {
        Millis(Utc::now().timestamp_millis())
    }

    /// RFC 3339, UTC, milliseconds: `2026-11-24T05:48:17.123Z`.
    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// Whether a message was written by a member or by the server itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum MessageKind {
    /// A member's message.
    #[serde(rename = "TEXT")]
    Text,
    /// A member's message carrying photos (`attachments`); its content is the caption.
    #[serde(rename = "IMAGE")]
    Image,
    /// The server's own notice, e.g. that a member left.
    #[serde(rename = "SYSTEM")]
    System,
}

impl MessageKind {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "TEXT",
            MessageKind::Image => "IMAGE",
            MessageKind::System => "SYSTEM",
        }
    }

    /// Reads the stored spelling back. A kind this node does not know (written by a newer
    /// node) is shown like a notice: its content is readable, and it ends nothing, because a
    /// leave is told by its [`Notice`], never by its kind.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "TEXT" => MessageKind::Text,
            "IMAGE" => MessageKind::Image,
            _ => MessageKind::System,
        }
    }
}

/// The machine-readable reason of a `SYSTEM` message (API-v2 "Message kinds"), stored with it,
/// so that no reader has to infer what happened from the kind or the Korean sentence.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Notice {
    /// A member left the room; the message's `sender` is the member who left.
    MemberLeft,
    /// The listing's trade status changed (API-v2 "The listing").
    ProductStatus(crate::listing::ProductStatus),
    /// An appointment was set or cancelled, or it is soon.
    Appointment(Box<crate::listing::AppointmentNotice>),
    /// A notice this node does not know (written by a newer node), or one whose details do not
    /// read: shown, never acted upon.
    Other(String),
}

impl Notice {
    /// The stored and wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Notice::MemberLeft => "MEMBER_LEFT",
            Notice::ProductStatus(_) => "PRODUCT_STATUS",
            Notice::Appointment(_) => "APPOINTMENT",
            Notice::Other(s) => s,
        }
    }

    /// Reads a stored notice that has no details.
    pub fn from_stored(s: &str) -> Self {
        Self::with_details(s, None)
    }

    /// Reads a stored notice and its details (JSON, [`Notice::details_json`]), keeping unknown
    /// ones, and ones whose details do not read, as they are.
    pub fn with_details(s: &str, details: Option<&str>) -> Self {
        #[derive(serde::Deserialize)]
        struct Status {
            #[serde(rename = "productStatus")]
            product_status: crate::listing::ProductStatus,
        }
        #[derive(serde::Deserialize)]
        struct Meeting {
            appointment: Option<crate::listing::Appointment>,
            #[serde(default)]
            reminder: bool,
        }
        match (s, details) {
            ("MEMBER_LEFT", _) => Notice::MemberLeft,
            ("PRODUCT_STATUS", Some(d)) => match serde_json::from_str::<Status>(d) {
                Ok(v) => Notice::ProductStatus(v.product_status),
                Err(_) => Notice::Other(s.to_owned()),
            },
            ("APPOINTMENT", Some(d)) => match serde_json::from_str::<Meeting>(d) {
                Ok(v) => Notice::Appointment(Box::new(crate::listing::AppointmentNotice {
                    appointment: v.appointment,
                    reminder: v.reminder,
                })),
                Err(_) => Notice::Other(s.to_owned()),
            },
            (other, _) => Notice::Other(other.to_owned()),
        }
    }

    /// The notice's details as stored beside it (and carried on the bus): the extra fields of
    /// its message JSON; `None` for notices without any.
    pub fn details_json(&self) -> Option<String> {
        match self {
            Notice::ProductStatus(status) => {
                Some(serde_json::json!({ "productStatus": status.as_str() }).to_string())
            }
            Notice::Appointment(a) => serde_json::to_string(a).ok(),
            Notice::MemberLeft | Notice::Other(_) => None,
        }
    }
}

/// A message's notice as its JSON shows it: `notice` and the notice's extra fields, beside the
/// message's own (`#[serde(flatten)]`).
impl Serialize for Notice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("notice", self.as_str())?;
        match self {
            Notice::ProductStatus(status) => m.serialize_entry("productStatus", status)?,
            Notice::Appointment(a) => {
                m.serialize_entry("appointment", &a.appointment)?;
                if a.reminder {
                    m.serialize_entry("reminder", &true)?;
                }
            }
            Notice::MemberLeft | Notice::Other(_) => {}
        }
        m.end()
    }
}

/// A stored chat message, exactly as every reader sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Strictly increasing within a room: the order every reader sees.
    pub id: i64,
    /// The room it belongs to.
    #[serde(rename = "roomUUID")]
    pub room: RoomId,
    /// The authenticated author (for `SYSTEM` notices: the member the notice is about).
    pub sender: UserId,
    /// The text.
    pub content: String,
    /// `TEXT` or `SYSTEM`.
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// When it was committed.
    #[serde(rename = "createdAt")]
    pub created_at: Millis,
    /// The sender's idempotency key, if it gave one.
    #[serde(rename = "clientMessageId")]
    pub client_message_id: Option<ClientMessageId>,
    /// Why a `SYSTEM` message was written, with its details (`productStatus`,
    /// `appointment`); absent on members' messages.
    #[serde(flatten)]
    pub notice: Option<Notice>,
    /// The photos of an `IMAGE` message (with links once read through a
    /// [`crate::linking::LinkingStore`]); absent on other messages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::Attachment>,
    /// What the scam detector found in it (API-v2 "Safety"); absent when nothing.
    #[serde(skip_serializing_if = "crate::safety::Warnings::is_empty")]
    pub warnings: crate::safety::Warnings,
}

/// A message about to be stored: what the committer hands to storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// The target room.
    pub room: RoomId,
    /// The author; storage checks that they are a current member.
    pub sender: UserId,
    /// The text, already validated.
    pub content: String,
    /// `TEXT` for members' messages.
    pub kind: MessageKind,
    /// Commit time.
    pub created_at: Millis,
    /// Idempotency key: a second message with the same (room, sender, key) is not stored again.
    pub client_message_id: Option<ClientMessageId>,
    /// Why a `SYSTEM` message is written; `None` for members' messages.
    pub notice: Option<Notice>,
    /// The photos of an `IMAGE` message, claimed for it (see [`crate::photos::Photos::claim`]).
    pub attachments: Vec<crate::attachment::Attachment>,
    /// What the scam detector found in the content.
    pub warnings: crate::safety::Warnings,
}

/// A newly stored message with the id of the message stored before it in the same room.
/// Message ids are not consecutive within a room (one sequence serves every room), so `prev`
/// is what lets a receiver that is fed from several nodes tell "next" from "I missed one"
/// and put a room's messages back in id order (see [`crate::sequencer`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequenced {
    /// The stored message.
    pub message: ChatMessage,
    /// The id of the room's previous message, `None` for the room's first.
    pub prev: Option<i64>,
    /// The room right after this message was stored, read under the room's lock (counters and
    /// both marks; its `last_message` is `None`: it is `message`). The members' `ROOM_UPDATED`
    /// is built from it, so a message costs no read to tell them. `None` for a message read
    /// back from storage (a gap filled), whose receivers read the room instead.
    pub room: Option<std::sync::Arc<Room>>,
}

/// What storage did with one message of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Newly stored.
    Stored(Sequenced),
    /// The same (room, sender, clientMessageId) was stored before: this is that message.
    Duplicate(ChatMessage),
    /// The room does not exist.
    NoSuchRoom,
    /// The sender is not a current member of the room.
    NotMember,
    /// One of the room's two members blocks the other (checked in the same transaction).
    Blocked,
}

/// A 1:1 room between a buyer and a seller about one product.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    /// Public id.
    pub id: RoomId,
    /// The product's name as the buyer gave it.
    pub name: String,
    /// The marketplace's product id, if the buyer gave one.
    pub product_id: Option<String>,
    /// Who opened the room.
    pub buyer: UserId,
    /// Whom it was opened with.
    pub seller: UserId,
    /// The buyer has not left.
    pub buyer_active: bool,
    /// The seller has not left.
    pub seller_active: bool,
    /// When the room was created.
    pub created_at: Millis,
    /// The newest message, if any.
    pub last_message: Option<ChatMessage>,
    /// How many messages the room holds: the ordinal of its newest one.
    pub message_count: i64,
    /// How far the buyer has read.
    pub buyer_read: ReadMark,
    /// How far the seller has read.
    pub seller_read: ReadMark,
    /// The listing's status and the members' appointment (API-v2 "The listing").
    pub trade: crate::listing::Trade,
    /// Each member's mute (API-v2 "Notifications").
    pub mutes: crate::listing::Mutes,
}

/// How far a member has read a room: the id of the newest message they have read and that
/// message's ordinal in the room. With the room's message count it makes the unread count a
/// subtraction, so no count ever scans a room's history (docs/DESIGN.md, "Read marks").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadMark {
    /// The id read up to (0: nothing read).
    pub up_to: i64,
    /// How many of the room's messages that covers.
    pub count: i64,
}

/// What marking a room read did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkReadOutcome {
    /// No such room.
    NoSuchRoom,
    /// The caller is not a current member.
    NotMember,
    /// The mark was already there or further: nothing changed (and nobody is told).
    Unchanged,
    /// The mark moved to this message id.
    Moved(i64),
}

impl Room {
    /// The users who have not left, buyer first.
    pub fn members(&self) -> Vec<&UserId> {
        let mut m = Vec::with_capacity(2);
        if self.buyer_active {
            m.push(&self.buyer);
        }
        if self.seller_active {
            m.push(&self.seller);
        }
        m
    }

    /// Whether `user` is a current member: the rule behind every room-scoped permission.
    pub fn is_member(&self, user: &UserId) -> bool {
        (self.buyer_active && &self.buyer == user) || (self.seller_active && &self.seller == user)
    }

    /// How far `user` has read (the default mark for someone who is neither member).
    pub fn read_mark(&self, user: &UserId) -> ReadMark {
        if &self.buyer == user {
            self.buyer_read
        } else if &self.seller == user {
            self.seller_read
        } else {
            ReadMark::default()
        }
    }

    /// Messages after `user`'s mark: they are never `user`'s own, because sending marks the
    /// room read up to the message sent.
    pub fn unread_for(&self, user: &UserId) -> i64 {
        (self.message_count - self.read_mark(user).count).max(0)
    }

    /// The room as `viewer` sees it in JSON: with their unread count.
    pub fn seen_by<'a>(&'a self, viewer: &'a UserId) -> RoomView<'a> {
        RoomView {
            room: self,
            viewer,
            last: None,
        }
    }

    /// The other party of the room, seen from `user`.
    pub fn counterpart(&self, user: &UserId) -> &UserId {
        if &self.buyer == user {
            &self.seller
        } else {
            &self.buyer
        }
    }
}

/// A room as one member sees it: the Room JSON of the contract, whose `unreadCount` depends on
/// who is looking.
#[derive(Clone, Copy, Debug)]
pub struct RoomView<'a> {
    /// The room.
    pub room: &'a Room,
    /// Who is looking.
    pub viewer: &'a UserId,
    /// The newest message when the room's own `last_message` is not filled in (a snapshot
    /// travelling with its message, [`Sequenced::room`]).
    pub last: Option<&'a ChatMessage>,
}

impl<'a> RoomView<'a> {
    /// The view with `message` as the newest message.
    pub fn with_last(self, message: &'a ChatMessage) -> RoomView<'a> {
        RoomView {
            last: Some(message),
            ..self
        }
    }
}

/// Each current member's mark, as `readUpTo` shows it.
struct ReadUpTo<'a>(&'a Room);

impl Serialize for ReadUpTo<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let mut m = s.serialize_map(Some(2))?;
        if r.buyer_active {
            m.serialize_entry(&r.buyer, &r.buyer_read.up_to)?;
        }
        if r.seller_active && r.seller != r.buyer {
            m.serialize_entry(&r.seller, &r.seller_read.up_to)?;
        }
        m.end()
    }
}

impl Serialize for RoomView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.room;
        let mut st = s.serialize_struct("Room", 14)?;
        st.serialize_field("roomUUID", &r.id)?;
        st.serialize_field("name", &r.name)?;
        st.serialize_field("productId", &r.product_id)?;
        st.serialize_field("buyer", &r.buyer)?;
        st.serialize_field("seller", &r.seller)?;
        st.serialize_field("members", &r.members())?;
        st.serialize_field("createdAt", &r.created_at)?;
        st.serialize_field("lastMessage", &self.last.or(r.last_message.as_ref()))?;
        st.serialize_field("unreadCount", &r.unread_for(self.viewer))?;
        st.serialize_field("readUpTo", &ReadUpTo(r))?;
        st.serialize_field("productStatus", &r.trade.product_status)?;
        st.serialize_field("appointment", &r.trade.appointment)?;
        let mute = r.mutes.view(&r.buyer == self.viewer, Millis::now());
        st.serialize_field("muted", &mute.muted)?;
        st.serialize_field("mutedUntil", &mute.until)?;
        st.end()
    }
}

/// A room about to be created, with the key that makes creation idempotent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRoom {
    /// Id to use if the room is new.
    pub id: RoomId,
    /// Same two users (either order) and same product ⇒ same key ⇒ same room.
    pub pair_key: String,
    /// Product name.
    pub name: String,
    /// Product id, if given.
    pub product_id: Option<String>,
    /// The caller.
    pub buyer: UserId,
    /// The other party.
    pub seller: UserId,
    /// Creation time.
    pub created_at: Millis,
}

impl NewRoom {
    /// The idempotency key of a room: a hash of the unordered user pair and the product
    /// (its id when given, else its name), so that it fits one fixed-size unique index.
    pub fn pair_key(a: &UserId, b: &UserId, product_id: Option<&str>, name: &str) -> String {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = Sha256::new();
        h.update(lo.as_str().as_bytes());
        h.update([0]);
        h.update(hi.as_str().as_bytes());
        h.update([0]);
        match product_id {
            Some(p) => {
                h.update(b"p:");
                h.update(p.as_bytes());
            }
            None => {
                h.update(b"n:");
                h.update(name.as_bytes());
            }
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Which part of a room's history to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HistoryCursor {
    /// The newest messages.
    Latest,
    /// Messages with smaller ids (paging back).
    Before(i64),
    /// Messages with larger ids (catching up after a reconnect).
    After(i64),
}

/// A validated history request: always answered in ascending id order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// Where to read.
    pub cursor: HistoryCursor,
    /// How many messages at most.
    pub limit: u32,
}

/// What leaving a room did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaveOutcome {
    /// No such room.
    NoSuchRoom,
    /// The caller was not a current member.
    NotMember,
    /// The caller left; the other member remains and was sent this notice.
    Left(Sequenced),
    /// The caller was the last member: the room and its messages are gone. This is the room
    /// as it stood just before (for the leaver's last `ROOM_UPDATED`).
    Deleted(Box<Room>),
}

/// An inquiry to the operators, validated and about to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInquiry {
    /// The reply address.
    pub email: String,
    /// Subject.
    pub title: String,
    /// Text.
    pub content: String,
    /// Who sent it, when the request carried an identity.
    pub user: Option<UserId>,
    /// When it arrived.
    pub created_at: Millis,
}

/// A stored inquiry that the outbox handed to a mailer under a claim: the mailer owns it until
/// the claim's lease ends or it reports the outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedInquiry {
    /// The stored id: stable across attempts, so a mail can carry it for deduplication.
    pub id: i64,
    /// The inquirer's reply address.
    pub email: String,
    /// Subject.
    pub title: String,
    /// Text.
    pub content: String,
    /// Who sent it, when the request carried an identity.
    pub user: Option<UserId>,
    /// When it arrived.
    pub created_at: Millis,
    /// Failed delivery attempts so far: what the next backoff grows from.
    pub attempts: u32,
}

pub use crate::events::RoomEvent;

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    #[test]
    fn pair_key_ignores_order_and_prefers_product_id() {
        let k1 = NewRoom::pair_key(&u("alice"), &u("bob"), Some("p-1"), "bike");
        let k2 = NewRoom::pair_key(&u("bob"), &u("alice"), Some("p-1"), "other name");
        assert_eq!(k1, k2);
        assert_eq!(k1.len(), 64);
        let k3 = NewRoom::pair_key(&u("alice"), &u("bob"), None, "bike");
        assert_ne!(k1, k3);
        let k4 = NewRoom::pair_key(&u("alice"), &u("bob"), None, "bike2");
        assert_ne!(k3, k4);
        // The separator keeps ("ab","c") and ("a","bc") apart.
        let k5 = NewRoom::pair_key(&u("ab"), &u("c"), None, "x");
        let k6 = NewRoom::pair_key(&u("a"), &u("bc"), None, "x");
        assert_ne!(k5, k6);
    }

    #[test]
    fn message_json_has_the_contract_shape() {
        let m = ChatMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            id: 42,
            room: RoomId::parse("0b8e0000-0000-4000-8000-000000000000").unwrap(),
            sender: u("alice"),
            content: "안녕하세요".into(),
            kind: MessageKind::Text,
            created_at: Millis(1_795_499_297_123),
            client_message_id: Some(ClientMessageId::parse("c-17").unwrap()),
            notice: None,
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id": 42, "roomUUID": "0b8e0000-0000-4000-8000-000000000000",
                "sender": "alice", "content": "안녕하세요", "type": "TEXT",
                "createdAt": "2026-11-24T05:48:17.123Z", "clientMessageId": "c-17"})
        );
    }

    #[test]
    fn a_notice_is_on_the_wire_and_only_a_member_left_notice_is_a_leave() {
        let m = ChatMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            id: 43,
            room: RoomId::new_random(),
            sender: u("alice"),
            content: "alice님이 채팅방을 나갔습니다.".into(),
            kind: MessageKind::System,
            created_at: Millis(0),
            client_message_id: None,
            notice: Some(Notice::MemberLeft),
        };
        assert_eq!(serde_json::to_value(&m).unwrap()["notice"], "MEMBER_LEFT");
        let s = |m: ChatMessage| Sequenced {
            message: m,
            prev: None,
            room: None,
        };
        assert!(matches!(
            RoomEvent::from_stored(s(m.clone())),
            RoomEvent::MemberLeft(_)
        ));
        let other = ChatMessage {
            notice: Some(Notice::from_stored("PRODUCT_STATUS")),
            ..m.clone()
        };
        assert_eq!(
            serde_json::to_value(&other).unwrap()["notice"],
            "PRODUCT_STATUS"
        );
        assert!(matches!(
            RoomEvent::from_stored(s(other)),
            RoomEvent::Message(_)
        ));
        // A SYSTEM message without a notice (or of an unknown kind) ends nothing.
        let bare = ChatMessage {
            notice: None,
            ..m.clone()
        };
        assert!(matches!(
            RoomEvent::from_stored(s(bare)),
            RoomEvent::Message(_)
        ));
        let unknown = ChatMessage {
            kind: MessageKind::from_stored("IMAGE"),
            notice: None,
            ..m
        };
        assert!(matches!(
            RoomEvent::from_stored(s(unknown)),
            RoomEvent::Message(_)
        ));
    }

    #[test]
    fn room_json_lists_only_active_members() {
        let r = Room {
            id: RoomId::new_random(),
            name: "자전거".into(),
            product_id: None,
            buyer: u("alice"),
            seller: u("bob"),
            buyer_active: false,
            seller_active: true,
            created_at: Millis(0),
            last_message: None,
            message_count: 0,
            buyer_read: ReadMark::default(),
            seller_read: ReadMark::default(),
            trade: Default::default(),
            mutes: Default::default(),
        };
        let v = serde_json::to_value(r.seen_by(&u("bob"))).unwrap();
        assert_eq!(v["members"], serde_json::json!(["bob"]));
        assert_eq!(v["productId"], serde_json::Value::Null);
        assert_eq!(v["lastMessage"], serde_json::Value::Null);
        assert_eq!(v["createdAt"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["readUpTo"], serde_json::json!({"bob": 0}));
        assert!(r.is_member(&u("bob")));
        assert!(!r.is_member(&u("alice")));
        assert_eq!(r.counterpart(&u("alice")), &u("bob"));
    }

    #[test]
    fn unread_is_the_count_after_the_viewers_mark() {
        let r = Room {
            id: RoomId::new_random(),
            name: "자전거".into(),
            product_id: Some("p-1".into()),
            buyer: u("alice"),
            seller: u("bob"),
            buyer_active: true,
            seller_active: true,
            created_at: Millis(0),
            last_message: None,
            message_count: 7,
            buyer_read: ReadMark {
                up_to: 41,
                count: 7,
            },
            seller_read: ReadMark {
                up_to: 30,
                count: 4,
            },
            trade: Default::default(),
            mutes: Default::default(),
        };
        assert_eq!(r.unread_for(&u("alice")), 0);
        assert_eq!(r.unread_for(&u("bob")), 3);
        assert_eq!(r.unread_for(&u("carol")), 7);
        let alice = serde_json::to_value(r.seen_by(&u("alice"))).unwrap();
        let bob = serde_json::to_value(r.seen_by(&u("bob"))).unwrap();
        assert_eq!(alice["unreadCount"], 0);
        assert_eq!(bob["unreadCount"], 3);
        assert_eq!(
            alice["readUpTo"],
            serde_json::json!({"alice": 41, "bob": 30})
        );
        assert_eq!(alice["readUpTo"], bob["readUpTo"]);
        // A count never goes negative, whatever storage says.
        let odd = Room {
            buyer_read: ReadMark {
                up_to: 50,
                count: 9,
            },
            ..r
        };
        assert_eq!(odd.unread_for(&u("alice")), 0);
    }
}
