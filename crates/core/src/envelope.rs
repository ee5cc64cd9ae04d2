//! The bytes a room event travels in between nodes, whatever carries them (Kafka today): JSON
//! with a version number and the publishing node's id. Decoding checks every field like any
//! other input, because a topic can hold anything anyone wrote to it. The publishing node may
//! stamp the moment it published (`pub_us`), so the receiver can time the bus hop
//! ([`crate::hops`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use std::borrow::Cow;
use std::sync::Arc;

use crate::attachment::Attachment;
use crate::events::{PresenceChange, ReadMoved, TypingSignal};
use crate::ids::{ClientMessageId, RoomId, UserId};
use crate::model::{
    ChatMessage, MessageKind, Millis, Notice, ReadMark, Room, RoomEvent, Sequenced,
};

/// The version this node writes; it reads only this one.
const VERSION: u32 = 1;

/// Most recipients a presence change may name (a user's partners, bounded by the rooms listed).
pub const MAX_RECIPIENTS: usize = 10_000;

/// Why bytes from the bus are not an event this node can use.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON of the envelope's shape.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// Written by a node speaking another version.
    #[error("unsupported envelope version {0}")]
    Version(u32),
    /// A field is missing or invalid.
    #[error("invalid envelope field {0}")]
    Field(&'static str),
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    v: u32,
    node: Cow<'a, str>,
    kind: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    room: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    message_type: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmid: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice: Option<Cow<'a, str>>,
    /// The notice's details (JSON, `Notice::details_json`); unknown to older nodes, which show
    /// the notice's sentence only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nd: Option<String>,
    /// An `IMAGE` message's photos, with their links (unknown to older nodes, which show the
    /// caption only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    att: Option<Cow<'a, [Attachment]>>,
    /// A message's warnings' stored bits; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warn: Option<i64>,
    /// When the publishing node published, in wall-clock microseconds since the Unix epoch
    /// (only on sampled messages). Unknown to older nodes, which ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub_us: Option<i64>,
    /// The room's state after the event (messages, leaves, updates, read marks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snap: Option<WireRoom<'a>>,
    /// A read mark's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    up_to: Option<i64>,
    /// Typing or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typing: Option<bool>,
    /// Online or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    online: Option<bool>,
    /// Last seen, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seen: Option<i64>,
    /// Who is told (typing: the other member; presence: the partners).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<Vec<Cow<'a, str>>>,
}

/// A room's state on the wire: what [`Room`] holds.
#[derive(Serialize, Deserialize)]
struct WireRoom<'a> {
    name: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product: Option<Cow<'a, str>>,
    buyer: Cow<'a, str>,
    seller: Cow<'a, str>,
    /// Buyer active, seller active.
    active: (bool, bool),
    created: i64,
    count: i64,
    /// (id, ordinal) of the buyer's and the seller's marks.
    marks: [(i64, i64); 2],
    /// The newest message, when the snapshot carries it (not for a message's own snapshot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last: Option<WireMessage<'a>>,
    /// The listing's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ps: Option<crate::listing::ProductStatus>,
    /// The appointment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    appt: Option<crate::listing::Appointment>,
    /// The buyer's and the seller's mutes (until, ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mutes: Option<(Option<i64>, Option<i64>)>,
}

#[derive(Serialize, Deserialize)]
struct WireMessage<'a> {
    id: i64,
    user: Cow<'a, str>,
    content: Cow<'a, str>,
    #[serde(rename = "type")]
    message_type: Cow<'a, str>,
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmid: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    att: Option<Cow<'a, [Attachment]>>,
    /// The warnings' stored bits; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    warn: Option<i64>,
}

/// An event as it came off the bus.
#[derive(Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The publishing node's id.
    pub node: String,
    /// The event.
    pub event: RoomEvent,
    /// When the publishing node published it (wall-clock microseconds since the Unix epoch),
    /// if it stamped it: for timing the bus hop, never for ordering.
    pub published_us: Option<i64>,
}

fn wire_message(m: &ChatMessage) -> WireMessage<'_> {
    WireMessage {
        id: m.id,
        user: m.sender.as_str().into(),
        content: m.content.as_str().into(),
        message_type: m.kind.as_str().into(),
        at: m.created_at.0,
        cmid: m.client_message_id.as_ref().map(|c| c.as_str().into()),
        notice: m.notice.as_ref().map(|n| n.as_str().into()),
        nd: m.notice.as_ref().and_then(Notice::details_json),
        att: wire_attachments(&m.attachments),
        warn: wire_warnings(m.warnings),
    }
}

fn wire_warnings(w: crate::safety::Warnings) -> Option<i64> {
    (!w.is_empty()).then(|| w.bits())
}

fn wire_room(r: &Room) -> WireRoom<'_> {
    WireRoom {
        name: r.name.as_str().into(),
        product: r.product_id.as_deref().map(Cow::from),
        buyer: r.buyer.as_str().into(),
        seller: r.seller.as_str().into(),
        active: (r.buyer_active, r.seller_active),
        created: r.created_at.0,
        count: r.message_count,
        marks: [
            (r.buyer_read.up_to, r.buyer_read.count),
            (r.seller_read.up_to, r.seller_read.count),
        ],
        last: r.last_message.as_ref().map(wire_message),
        ps: r.trade.product_status,
        appt: r.trade.appointment.clone(),
        mutes: (r.mutes != Default::default()).then(|| {
            (
                r.mutes.buyer_until.map(|m| m.0),
                r.mutes.seller_until.map(|m| m.0),
            )
        }),
    }
}

/// Encodes `event` as published by `node`, stamped with `published_us` when given.
pub fn encode(node: &str, event: &RoomEvent, published_us: Option<i64>) -> Vec<u8> {
    let mut w = Wire {
        v: VERSION,
        node: node.into(),
        kind: "".into(),
        room: event.room().map(|r| r.to_text().into()),
        id: None,
        prev: None,
        user: None,
        content: None,
        message_type: None,
        at: None,
        cmid: None,
        notice: None,
        nd: None,
        att: None,
        warn: None,
        pub_us: published_us,
        snap: None,
        up_to: None,
        typing: None,
        online: None,
        seen: None,
        to: None,
    };
    match event {
        RoomEvent::Message(s) | RoomEvent::MemberLeft(s) => {
            let m = &s.message;
            w.kind = match event {
                RoomEvent::MemberLeft(_) => "left",
                _ => "message",
            }
            .into();
            w.id = Some(m.id);
            w.prev = s.prev;
            w.user = Some(m.sender.as_str().into());
            w.content = Some(m.content.as_str().into());
            w.message_type = Some(m.kind.as_str().into());
            w.at = Some(m.created_at.0);
            w.cmid = m.client_message_id.as_ref().map(|c| c.as_str().into());
            w.notice = m.notice.as_ref().map(|n| n.as_str().into());
            w.nd = m.notice.as_ref().and_then(Notice::details_json);
            w.att = wire_attachments(&m.attachments);
            w.warn = wire_warnings(m.warnings);
            w.snap = s.room.as_deref().map(wire_room);
        }
        RoomEvent::RoomDeleted { last_member, .. } => {
            w.kind = "deleted".into();
            if let Some((user, room)) = last_member {
                w.user = Some(user.as_str().into());
                w.snap = Some(wire_room(room));
            }
        }
        RoomEvent::Updated(room) => {
            w.kind = "updated".into();
            w.snap = Some(wire_room(room));
        }
        RoomEvent::Read(r) => {
            w.kind = "read".into();
            w.user = Some(r.user.as_str().into());
            w.up_to = Some(r.up_to);
            w.snap = Some(wire_room(&r.room));
        }
        RoomEvent::Typing(t) => {
            w.kind = "typing".into();
            w.user = Some(t.user.as_str().into());
            w.typing = Some(t.typing);
            w.to = Some(vec![t.to.as_str().into()]);
        }
        RoomEvent::Presence(p) => {
            w.kind = "presence".into();
            w.user = Some(p.user.as_str().into());
            w.online = Some(p.online);
            w.seen = p.last_seen.map(|m| m.0);
            w.to = Some(p.to.iter().map(|u| u.as_str().into()).collect());
        }
        RoomEvent::BlocksChanged([a, b]) => {
            w.kind = "blocks".into();
            w.user = Some(a.as_str().into());
            w.to = Some(vec![b.as_str().into()]);
        }
    }
    // Serializing a struct of strings and numbers cannot fail.
    serde_json::to_vec(&w).unwrap_or_default()
}

fn user_field(v: Option<&str>, field: &'static str) -> Result<UserId, EnvelopeError> {
    v.and_then(|u| UserId::parse(u).ok())
        .ok_or(EnvelopeError::Field(field))
}

fn message_of(room: RoomId, m: &WireMessage<'_>) -> Result<ChatMessage, EnvelopeError> {
    if m.id <= 0 {
        return Err(EnvelopeError::Field("snap.last.id"));
    }
    Ok(ChatMessage {
        id: m.id,
        room,
        sender: user_field(Some(&m.user), "snap.last.user")?,
        content: m.content.clone().into_owned(),
        kind: MessageKind::from_stored(&m.message_type),
        created_at: Millis(m.at),
        client_message_id: match m.cmid.as_deref() {
            None => None,
            Some(c) => Some(
                ClientMessageId::parse(c).map_err(|_| EnvelopeError::Field("snap.last.cmid"))?,
            ),
        },
        notice: m
            .notice
            .as_deref()
            .map(|n| Notice::with_details(n, m.nd.as_deref())),
        attachments: attachments_of(&m.att)?,
        warnings: crate::safety::Warnings::from_bits(m.warn.unwrap_or(0)),
    })
}

fn wire_attachments(a: &[Attachment]) -> Option<Cow<'_, [Attachment]>> {
    (!a.is_empty()).then_some(Cow::Borrowed(a))
}

/// An envelope's photos, bounded like a send's.
fn attachments_of(a: &Option<Cow<'_, [Attachment]>>) -> Result<Vec<Attachment>, EnvelopeError> {
    match a {
        None => Ok(Vec::new()),
        Some(list) if list.len() <= MAX_ATTACHMENTS => Ok(list.to_vec()),
        Some(_) => Err(EnvelopeError::Field("att")),
    }
}

/// Most photos an envelope's message may carry (a send carries at most 10).
const MAX_ATTACHMENTS: usize = 64;

fn room_of(id: RoomId, r: &WireRoom<'_>) -> Result<Arc<Room>, EnvelopeError> {
    let mark = |(up_to, count): (i64, i64)| {
        if up_to < 0 || count < 0 || count > r.count {
            Err(EnvelopeError::Field("snap.marks"))
        } else {
            Ok(ReadMark { up_to, count })
        }
    };
    if r.count < 0 {
        return Err(EnvelopeError::Field("snap.count"));
    }
    Ok(Arc::new(Room {
        id,
        name: r.name.clone().into_owned(),
        product_id: r.product.as_deref().map(str::to_owned),
        buyer: user_field(Some(&r.buyer), "snap.buyer")?,
        seller: user_field(Some(&r.seller), "snap.seller")?,
        buyer_active: r.active.0,
        seller_active: r.active.1,
        created_at: Millis(r.created),
        last_message: match &r.last {
            Some(m) => Some(message_of(id, m)?),
            None => None,
        },
        message_count: r.count,
        buyer_read: mark(r.marks[0])?,
        seller_read: mark(r.marks[1])?,
        trade: crate::listing::Trade {
            product_status: r.ps,
            appointment: r.appt.clone(),
        },
        mutes: crate::listing::Mutes {
            buyer_until: r.mutes.and_then(|m| m.0).map(Millis),
            seller_until: r.mutes.and_then(|m| m.1).map(Millis),
        },
    }))
}

/// Decodes an envelope into the publishing node's id, the event and its publish stamp.
pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    let w: Wire<'_> =
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if w.v != VERSION {
        return Err(EnvelopeError::Version(w.v));
    }
    let room = || -> Result<RoomId, EnvelopeError> {
        w.room
            .as_deref()
            .and_then(|r| RoomId::parse(r).ok())
            .ok_or(EnvelopeError::Field("room"))
    };
    let snap = |id: RoomId| -> Result<Arc<Room>, EnvelopeError> {
        room_of(id, w.snap.as_ref().ok_or(EnvelopeError::Field("snap"))?)
    };
    let user = || user_field(w.user.as_deref(), "user");
    let event = match &*w.kind {
        "message" | "left" => {
            let room = room()?;
            let id = w.id.filter(|i| *i > 0).ok_or(EnvelopeError::Field("id"))?;
            if w.prev.is_some_and(|p| p >= id) {
                return Err(EnvelopeError::Field("prev"));
            }
            let cmid = match w.cmid.as_deref() {
                None => None,
                Some(c) => {
                    Some(ClientMessageId::parse(c).map_err(|_| EnvelopeError::Field("cmid"))?)
                }
            };
            let s = Sequenced {
                message: ChatMessage {
                    id,
                    room,
                    sender: user()?,
                    content: w
                        .content
                        .as_deref()
                        .ok_or(EnvelopeError::Field("content"))?
                        .to_owned(),
                    kind: MessageKind::from_stored(
                        w.message_type
                            .as_deref()
                            .ok_or(EnvelopeError::Field("type"))?,
                    ),
                    created_at: Millis(w.at.ok_or(EnvelopeError::Field("at"))?),
                    client_message_id: cmid,
                    notice: w
                        .notice
                        .as_deref()
                        .map(|n| Notice::with_details(n, w.nd.as_deref())),
                    attachments: attachments_of(&w.att)?,
                    warnings: crate::safety::Warnings::from_bits(w.warn.unwrap_or(0)),
                },
                prev: w.prev,
                room: match &w.snap {
                    Some(r) => Some(room_of(room, r)?),
                    None => None,
                },
            };
            if w.kind == "left" {
                RoomEvent::MemberLeft(s)
            } else {
                RoomEvent::Message(s)
            }
        }
        "deleted" => {
            let room = room()?;
            RoomEvent::RoomDeleted {
                room,
                last_member: match w.user {
                    Some(_) => Some((user()?, snap(room)?)),
                    None => None,
                },
            }
        }
        "updated" => RoomEvent::Updated(snap(room()?)?),
        "read" => RoomEvent::Read(ReadMoved {
            user: user()?,
            up_to: w
                .up_to
                .filter(|u| *u > 0)
                .ok_or(EnvelopeError::Field("up_to"))?,
            room: snap(room()?)?,
        }),
        "typing" => RoomEvent::Typing(TypingSignal {
            room: room()?,
            user: user()?,
            to: match w.to.as_deref() {
                Some([to]) => user_field(Some(to), "to")?,
                _ => return Err(EnvelopeError::Field("to")),
            },
            typing: w.typing.ok_or(EnvelopeError::Field("typing"))?,
        }),
        "presence" => {
            let to = w.to.as_deref().ok_or(EnvelopeError::Field("to"))?;
            if to.len() > MAX_RECIPIENTS {
                return Err(EnvelopeError::Field("to"));
            }
            RoomEvent::Presence(PresenceChange {
                user: user()?,
                online: w.online.ok_or(EnvelopeError::Field("online"))?,
                last_seen: w.seen.map(Millis),
                to: to
                    .iter()
                    .map(|u| user_field(Some(u), "to"))
                    .collect::<Result<_, _>>()?,
            })
        }
        "blocks" => RoomEvent::BlocksChanged([
            user()?,
            match w.to.as_deref() {
                Some([to]) => user_field(Some(to), "to")?,
                _ => return Err(EnvelopeError::Field("to")),
            },
        ]),
        _ => return Err(EnvelopeError::Field("kind")),
    };
    Ok(Envelope {
        node: w.node.into_owned(),
        event,
        published_us: w.pub_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(cmid: Option<&str>, prev: Option<i64>) -> RoomEvent {
        RoomEvent::Message(Sequenced {
            message: ChatMessage {
                attachments: Vec::new(),
                warnings: Default::default(),
                id: 42,
                room: RoomId::new_random(),
                sender: UserId::parse("seller-1").unwrap(),
                content: "네고 가능한가요? \"따옴표\"\n줄바꿈".into(),
                kind: MessageKind::Text,
                created_at: Millis(1_700_000_000_123),
                client_message_id: cmid.map(|c| ClientMessageId::parse(c).unwrap()),
                notice: None,
            },
            prev,
            room: None,
        })
    }

    fn snapshot(room: RoomId, last: bool) -> Arc<Room> {
        let m = match message(Some("c-9"), None) {
            RoomEvent::Message(s) => s.message,
            _ => unreachable!(),
        };
        Arc::new(Room {
            id: room,
            name: "자전거".into(),
            product_id: Some("p-1".into()),
            buyer: UserId::parse("buyer-1").unwrap(),
            seller: UserId::parse("seller-1").unwrap(),
            buyer_active: true,
            seller_active: false,
            created_at: Millis(1_700_000_000_000),
            last_message: last.then_some(ChatMessage { room, ..m }),
            message_count: 7,
            buyer_read: ReadMark {
                up_to: 42,
                count: 7,
            },
            seller_read: ReadMark { up_to: 3, count: 1 },
            trade: Default::default(),
            mutes: Default::default(),
        })
    }

    #[test]
    fn every_event_round_trips() {
        let room = RoomId::new_random();
        let events = [
            message(Some("c-1"), Some(41)),
            message(None, None),
            match message(None, Some(7)) {
                RoomEvent::Message(mut s) => {
                    s.message.kind = MessageKind::System;
                    s.message.notice = Some(Notice::MemberLeft);
                    RoomEvent::MemberLeft(s)
                }
                other => other,
            },
            RoomEvent::RoomDeleted {
                room,
                last_member: None,
            },
            RoomEvent::RoomDeleted {
                room,
                last_member: Some((UserId::parse("buyer-1").unwrap(), snapshot(room, true))),
            },
            match message(None, Some(7)) {
                RoomEvent::Message(mut s) => {
                    s.room = Some(snapshot(s.message.room, false));
                    RoomEvent::Message(s)
                }
                other => other,
            },
            RoomEvent::Updated(snapshot(room, true)),
            RoomEvent::Updated(snapshot(room, false)),
            RoomEvent::Read(ReadMoved {
                user: UserId::parse("buyer-1").unwrap(),
                up_to: 42,
                room: snapshot(room, true),
            }),
            RoomEvent::Typing(TypingSignal {
                room,
                user: UserId::parse("buyer-1").unwrap(),
                to: UserId::parse("seller-1").unwrap(),
                typing: true,
            }),
            RoomEvent::Presence(PresenceChange {
                user: UserId::parse("buyer-1").unwrap(),
                online: false,
                last_seen: Some(Millis(1_700_000_000_999)),
                to: vec![
                    UserId::parse("seller-1").unwrap(),
                    UserId::parse("seller-2").unwrap(),
                ],
            }),
        ];
        for (i, e) in events.into_iter().enumerate() {
            let stamp = (i % 2 == 0).then_some(1_700_000_000_123_456);
            let back = decode(&encode("node-a", &e, stamp)).unwrap();
            assert_eq!(back.node, "node-a");
            assert_eq!(back.event, e);
            assert_eq!(back.published_us, stamp);
        }
    }

    #[test]
    fn bad_envelopes_are_errors_not_events() {
        let good = String::from_utf8(encode("n", &message(None, Some(41)), None)).unwrap();
        let cases: Vec<(String, EnvelopeError)> = vec![
            ("not json".into(), EnvelopeError::Malformed(String::new())),
            (
                good.replace("\"v\":1", "\"v\":2"),
                EnvelopeError::Version(2),
            ),
            (
                good.replace("\"kind\":\"message\"", "\"kind\":\"x\""),
                EnvelopeError::Field("kind"),
            ),
            (
                good.replace("\"id\":42", "\"id\":-1"),
                EnvelopeError::Field("id"),
            ),
            (
                good.replace("\"prev\":41", "\"prev\":42"),
                EnvelopeError::Field("prev"),
            ),
            (
                good.replace("\"user\":\"seller-1\"", "\"user\":\"\""),
                EnvelopeError::Field("user"),
            ),
            (
                good.replace(",\"at\":1700000000123", ""),
                EnvelopeError::Field("at"),
            ),
        ];
        for (input, expected) in cases {
            let got = decode(input.as_bytes()).unwrap_err();
            match (&got, &expected) {
                (EnvelopeError::Malformed(_), EnvelopeError::Malformed(_)) => {}
                _ => assert_eq!(got, expected, "{input}"),
            }
        }
        let room = decode(good.replace("\"room\":\"", "\"room\":\"x").as_bytes()).unwrap_err();
        assert_eq!(room, EnvelopeError::Field("room"));
        // The new kinds check their fields like the old ones.
        let r = RoomId::new_random();
        let typing = String::from_utf8(encode(
            "n",
            &RoomEvent::Typing(TypingSignal {
                room: r,
                user: UserId::parse("a").unwrap(),
                to: UserId::parse("b").unwrap(),
                typing: true,
            }),
            None,
        ))
        .unwrap();
        for (input, field) in [
            (typing.replace("\"to\":[\"b\"]", "\"to\":[]"), "to"),
            (typing.replace("\"to\":[\"b\"]", "\"to\":[\"\"]"), "to"),
            (typing.replace(",\"typing\":true", ""), "typing"),
            (
                typing.replace("\"kind\":\"typing\"", "\"kind\":\"read\""),
                "up_to",
            ),
            (
                typing.replace("\"kind\":\"typing\"", "\"kind\":\"updated\""),
                "snap",
            ),
            (
                typing.replace("\"kind\":\"typing\"", "\"kind\":\"presence\""),
                "online",
            ),
        ] {
            assert_eq!(
                decode(input.as_bytes()).unwrap_err(),
                EnvelopeError::Field(field),
                "{input}"
            );
        }
        let read = String::from_utf8(encode(
            "n",
            &RoomEvent::Read(ReadMoved {
                user: UserId::parse("buyer-1").unwrap(),
                up_to: 42,
                room: snapshot(r, true),
            }),
            None,
        ))
        .unwrap();
        let bad_mark = read.replace("\"marks\":[[42,7]", "\"marks\":[[42,8]");
        assert_ne!(bad_mark, read);
        assert_eq!(
            decode(bad_mark.as_bytes()).unwrap_err(),
            EnvelopeError::Field("snap.marks")
        );
    }
}
