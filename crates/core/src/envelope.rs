//! The bytes a room event travels in between nodes, whatever carries them (Kafka today): JSON
//! with a version number and the publishing node's id. Decoding checks every field like any
//! other input, because a topic can hold anything anyone wrote to it. The publishing node may
//! stamp the moment it published (`pub_us`), so the receiver can time the bus hop
//! ([`crate::hops`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{ClientMessageId, RoomId, UserId};
use crate::model::{ChatMessage, MessageKind, Millis, Notice, RoomEvent, Sequenced};

/// The version this node writes; it reads only this one.
const VERSION: u32 = 1;

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
    node: std::borrow::Cow<'a, str>,
    kind: std::borrow::Cow<'a, str>,
    room: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prev: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    message_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmid: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice: Option<std::borrow::Cow<'a, str>>,
    /// When the publishing node published, in wall-clock microseconds since the Unix epoch
    /// (only on sampled messages). Unknown to older nodes, which ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub_us: Option<i64>,
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

/// Encodes `event` as published by `node`, stamped with `published_us` when given.
pub fn encode(node: &str, event: &RoomEvent, published_us: Option<i64>) -> Vec<u8> {
    let room = event.room().to_text();
    let mut w = Wire {
        v: VERSION,
        node: node.into(),
        kind: "".into(),
        room: room.into(),
        id: None,
        prev: None,
        user: None,
        content: None,
        message_type: None,
        at: None,
        cmid: None,
        notice: None,
        pub_us: published_us,
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
        }
        RoomEvent::RoomDeleted { .. } => w.kind = "deleted".into(),
    }
    // Serializing a struct of strings and numbers cannot fail.
    serde_json::to_vec(&w).unwrap_or_default()
}

/// Decodes an envelope into the publishing node's id, the event and its publish stamp.
pub fn decode(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    let w: Wire<'_> =
        serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if w.v != VERSION {
        return Err(EnvelopeError::Version(w.v));
    }
    let room = RoomId::parse(&w.room).map_err(|_| EnvelopeError::Field("room"))?;
    let event = match &*w.kind {
        "message" | "left" => {
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
                    sender: w
                        .user
                        .as_deref()
                        .and_then(|u| UserId::parse(u).ok())
                        .ok_or(EnvelopeError::Field("user"))?,
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
                    notice: w.notice.as_deref().map(Notice::from_stored),
                },
                prev: w.prev,
            };
            if w.kind == "left" {
                RoomEvent::MemberLeft(s)
            } else {
                RoomEvent::Message(s)
            }
        }
        "deleted" => RoomEvent::RoomDeleted { room },
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
            RoomEvent::RoomDeleted { room },
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
    }
}
