//! The rules of `/user/queue/events` (API-v2, "The user's event stream"): which users an event
//! is told to and the JSON each of them gets. Pure, so the transport only looks up its local
//! sessions of each recipient and encodes each body once.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::events::{PresenceChange, RoomEvent};
use crate::ids::{RoomId, UserId};
use crate::model::{ChatMessage, MessageKind, Millis, Room, RoomView};

/// One event body of the stream, borrowed from the room event it tells.
#[derive(Clone, Copy, Debug)]
pub enum UserEvent<'a> {
    /// `ROOM_UPDATED`: the room as its recipient sees it; `left` for the last one a leaver gets.
    RoomUpdated {
        /// The room, seen by the recipient.
        room: RoomView<'a>,
        /// The recipient has left the room.
        left: bool,
    },
    /// `READ`: `user`'s mark in `room` moved to `up_to`.
    Read {
        /// The room.
        room: &'a RoomId,
        /// Whose mark.
        user: &'a UserId,
        /// The message id.
        up_to: i64,
    },
    /// `TYPING`.
    Typing {
        /// The room.
        room: &'a RoomId,
        /// Who types.
        user: &'a UserId,
        /// Typing or stopped.
        typing: bool,
    },
    /// `PRESENCE`.
    Presence {
        /// Whose presence.
        user: &'a UserId,
        /// Online now.
        online: bool,
        /// Last online; `None` while online.
        last_seen: Option<Millis>,
    },
}

/// An event body and the users whose sessions get it.
#[derive(Clone, Debug)]
pub struct Delivery<'a> {
    /// The recipients (distinct).
    pub to: Vec<&'a UserId>,
    /// What they get.
    pub event: UserEvent<'a>,
}

impl Serialize for UserEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self {
            UserEvent::RoomUpdated { room, left } => {
                m.serialize_entry("type", "ROOM_UPDATED")?;
                m.serialize_entry("room", room)?;
                if *left {
                    m.serialize_entry("left", &true)?;
                }
            }
            UserEvent::Read { room, user, up_to } => {
                m.serialize_entry("type", "READ")?;
                m.serialize_entry("roomUUID", room)?;
                m.serialize_entry("user", user)?;
                m.serialize_entry("upTo", up_to)?;
            }
            UserEvent::Typing { room, user, typing } => {
                m.serialize_entry("type", "TYPING")?;
                m.serialize_entry("roomUUID", room)?;
                m.serialize_entry("user", user)?;
                m.serialize_entry("typing", typing)?;
            }
            UserEvent::Presence {
                user,
                online,
                last_seen,
            } => {
                m.serialize_entry("type", "PRESENCE")?;
                m.serialize_entry("user", user)?;
                m.serialize_entry("online", online)?;
                m.serialize_entry("lastSeenAt", last_seen)?;
            }
        }
        m.end()
    }
}

/// The users an event may concern at all: a cheap first look, so a node with none of them
/// subscribed spends nothing more on it.
pub fn candidates(event: &RoomEvent) -> Vec<&UserId> {
    match event {
        RoomEvent::Message(s) | RoomEvent::MemberLeft(s) => match &s.room {
            Some(r) => vec![&r.buyer, &r.seller],
            // Without a snapshot only the READ of a member's message can be told.
            None => vec![&s.message.sender],
        },
        RoomEvent::RoomDeleted { last_member, .. } => last_member.iter().map(|(u, _)| u).collect(),
        RoomEvent::Updated(r) => r.members(),
        RoomEvent::Read(r) => vec![&r.room.buyer, &r.room.seller],
        RoomEvent::Typing(t) => vec![&t.to],
        RoomEvent::Presence(p) => p.to.iter().collect(),
        RoomEvent::BlocksChanged(_) => Vec::new(),
    }
}

/// Whether an event is a stored message whose room snapshot is missing (read back from
/// storage): its members' `ROOM_UPDATED` needs the room read again.
pub fn needs_room_refresh(event: &RoomEvent) -> Option<RoomId> {
    match event {
        RoomEvent::Message(s) | RoomEvent::MemberLeft(s) if s.room.is_none() => {
            Some(s.message.room)
        }
        _ => None,
    }
}

/// A `ROOM_UPDATED` to each current member with the room as they see it; `last` is the newest
/// message when it travels beside the room rather than in it.
fn each_members_view<'a>(
    out: &mut Vec<Delivery<'a>>,
    room: &'a Room,
    last: Option<&'a ChatMessage>,
) {
    for member in room.members() {
        let view = room.seen_by(member);
        out.push(Delivery {
            to: vec![member],
            event: UserEvent::RoomUpdated {
                room: match last {
                    Some(m) => view.with_last(m),
                    None => view,
                },
                left: false,
            },
        });
    }
}

/// Everything the event stream tells about `event`, to whom.
pub fn deliveries(event: &RoomEvent) -> Vec<Delivery<'_>> {
    let mut out = Vec::new();
    match event {
        RoomEvent::Message(s) => {
            let m = &s.message;
            if let Some(room) = &s.room {
                each_members_view(&mut out, room, Some(m));
            }
            // Sending moves the sender's mark to the message (notices move none): both
            // members learn it, so the other's "1"s above it go.
            if m.kind != MessageKind::System {
                let to = match &s.room {
                    Some(room) => room.members(),
                    None => vec![&m.sender],
                };
                out.push(Delivery {
                    to,
                    event: UserEvent::Read {
                        room: &m.room,
                        user: &m.sender,
                        up_to: m.id,
                    },
                });
            }
        }
        RoomEvent::MemberLeft(s) => {
            let m = &s.message;
            if let Some(room) = &s.room {
                each_members_view(&mut out, room, Some(m));
                out.push(Delivery {
                    to: vec![&m.sender],
                    event: UserEvent::RoomUpdated {
                        room: room.seen_by(&m.sender).with_last(m),
                        left: true,
                    },
                });
            }
        }
        RoomEvent::RoomDeleted { last_member, .. } => {
            if let Some((user, room)) = last_member {
                out.push(Delivery {
                    to: vec![user],
                    event: UserEvent::RoomUpdated {
                        room: room.seen_by(user),
                        left: true,
                    },
                });
            }
        }
        RoomEvent::Updated(room) => {
            each_members_view(&mut out, room, None);
        }
        RoomEvent::Read(r) => {
            out.push(Delivery {
                to: vec![&r.user],
                event: UserEvent::RoomUpdated {
                    room: r.room.seen_by(&r.user),
                    left: false,
                },
            });
            out.push(Delivery {
                to: r.room.members(),
                event: UserEvent::Read {
                    room: &r.room.id,
                    user: &r.user,
                    up_to: r.up_to,
                },
            });
        }
        RoomEvent::Typing(t) => out.push(Delivery {
            to: vec![&t.to],
            event: UserEvent::Typing {
                room: &t.room,
                user: &t.user,
                typing: t.typing,
            },
        }),
        RoomEvent::Presence(PresenceChange {
            user,
            online,
            last_seen,
            to,
        }) => out.push(Delivery {
            to: to.iter().collect(),
            event: UserEvent::Presence {
                user,
                online: *online,
                last_seen: if *online { None } else { *last_seen },
            },
        }),
        RoomEvent::BlocksChanged(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};

    use super::*;
    use crate::events::{ReadMoved, TypingSignal};
    use crate::model::{Notice, ReadMark, Sequenced};

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn room(id: RoomId) -> Room {
        Room {
            id,
            name: "자전거".into(),
            product_id: None,
            buyer: u("alice"),
            seller: u("bob"),
            buyer_active: true,
            seller_active: true,
            created_at: Millis(0),
            last_message: None,
            message_count: 3,
            buyer_read: ReadMark {
                up_to: 30,
                count: 3,
            },
            seller_read: ReadMark {
                up_to: 10,
                count: 1,
            },
            trade: Default::default(),
            mutes: Default::default(),
        }
    }

    fn message(id: RoomId, kind: MessageKind) -> ChatMessage {
        ChatMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            id: 30,
            room: id,
            sender: u("alice"),
            content: "hi".into(),
            kind,
            created_at: Millis(0),
            client_message_id: None,
            notice: (kind == MessageKind::System).then_some(Notice::MemberLeft),
        }
    }

    /// (recipients, body) of every delivery, as JSON.
    fn told(event: &RoomEvent) -> Vec<(Vec<String>, Value)> {
        deliveries(event)
            .into_iter()
            .map(|d| {
                (
                    d.to.iter().map(|u| u.to_string()).collect(),
                    serde_json::to_value(d.event).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn a_message_tells_each_member_their_view_then_the_senders_mark() {
        let id = RoomId::new_random();
        let event = RoomEvent::Message(Sequenced {
            message: message(id, MessageKind::Text),
            prev: Some(10),
            room: Some(Arc::new(room(id))),
        });
        let t = told(&event);
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].0, ["alice"]);
        assert_eq!(t[0].1["type"], "ROOM_UPDATED");
        assert_eq!(t[0].1["room"]["unreadCount"], 0);
        assert_eq!(t[0].1["room"]["lastMessage"]["id"], 30);
        assert_eq!(t[1].0, ["bob"]);
        assert_eq!(t[1].1["room"]["unreadCount"], 2);
        assert_eq!(t[2].0, ["alice", "bob"]);
        assert_eq!(
            t[2].1,
            json!({"type": "READ", "roomUUID": id, "user": "alice", "upTo": 30})
        );
        let mut c: Vec<String> = candidates(&event).iter().map(|u| u.to_string()).collect();
        c.sort();
        assert_eq!(c, ["alice", "bob"]);
        assert_eq!(needs_room_refresh(&event), None);
    }

    #[test]
    fn a_message_read_back_from_storage_asks_for_its_room() {
        let id = RoomId::new_random();
        let event = RoomEvent::Message(Sequenced {
            message: message(id, MessageKind::Text),
            prev: Some(10),
            room: None,
        });
        assert_eq!(needs_room_refresh(&event), Some(id));
        let t = told(&event);
        assert_eq!(t.len(), 1, "only what the message itself says: {t:?}");
        assert_eq!(t[0].1["type"], "READ");
    }

    #[test]
    fn a_leave_tells_the_leaver_left_and_moves_no_mark() {
        let id = RoomId::new_random();
        let mut after = room(id);
        after.buyer_active = false;
        let event = RoomEvent::MemberLeft(Sequenced {
            message: message(id, MessageKind::System),
            prev: Some(10),
            room: Some(Arc::new(after)),
        });
        let t = told(&event);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(
            (t[0].0.clone(), t[0].1.get("left")),
            (vec!["bob".to_string()], None)
        );
        assert_eq!(t[0].1["room"]["members"], json!(["bob"]));
        assert_eq!(
            (t[1].0.clone(), t[1].1["left"].clone()),
            (vec!["alice".to_string()], json!(true))
        );
        let deleted = RoomEvent::RoomDeleted {
            room: id,
            last_member: Some((u("bob"), Arc::new(room(id)))),
        };
        let t = told(&deleted);
        assert_eq!(
            (t[0].0.clone(), t[0].1["left"].clone()),
            (vec!["bob".to_string()], json!(true))
        );
        assert!(told(&RoomEvent::RoomDeleted {
            room: id,
            last_member: None
        })
        .is_empty());
    }

    #[test]
    fn a_read_mark_updates_the_reader_and_tells_both_typing_only_the_other() {
        let id = RoomId::new_random();
        let read = RoomEvent::Read(ReadMoved {
            user: u("bob"),
            up_to: 30,
            room: Arc::new(room(id)),
        });
        let t = told(&read);
        assert_eq!(t[0].0, ["bob"]);
        assert_eq!(t[0].1["type"], "ROOM_UPDATED");
        assert_eq!(t[1].0, ["alice", "bob"]);
        assert_eq!(t[1].1["user"], "bob");
        let typing = RoomEvent::Typing(TypingSignal {
            room: id,
            user: u("alice"),
            to: u("bob"),
            typing: false,
        });
        assert_eq!(
            told(&typing),
            [(
                vec!["bob".to_string()],
                json!({"type": "TYPING", "roomUUID": id, "user": "alice", "typing": false})
            )]
        );
    }

    #[test]
    fn presence_says_last_seen_only_when_offline() {
        let on = RoomEvent::Presence(PresenceChange {
            user: u("alice"),
            online: true,
            last_seen: Some(Millis(5)),
            to: vec![u("bob"), u("carol")],
        });
        assert_eq!(
            told(&on),
            [(
                vec!["bob".to_string(), "carol".to_string()],
                json!({"type": "PRESENCE", "user": "alice", "online": true, "lastSeenAt": null})
            )]
        );
        let off = RoomEvent::Presence(PresenceChange {
            user: u("alice"),
            online: false,
            last_seen: Some(Millis(1_700_000_000_000)),
            to: vec![u("bob")],
        });
        assert_eq!(told(&off)[0].1["lastSeenAt"], "2023-11-14T22:13:20.000Z");
    }
}
