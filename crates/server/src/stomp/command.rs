//! Client frames as typed commands, in the style of mini-redis's `Command::from_frame`: every
//! header a command needs is checked here, once, so the session acts on commands that are
//! already well-formed. Pure: a frame in, a command (or the refusal to report) out.

use bytes::Bytes;
use chat_core::RoomId;
use reuse_stomp::{Command, Frame, Version};

use super::destination::{Destination, USER_EVENTS, USER_PREFIX};
use super::failure::Failure;

/// What a connected client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientCommand {
    /// `SEND` a message to a room, now or as part of a transaction.
    Send {
        /// The destination's room.
        room: RoomId,
        /// The JSON body, validated by the domain.
        body: Bytes,
        /// The transaction it belongs to, if any.
        transaction: Option<String>,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `SEND` a read mark to a room (`/pub/room/{roomUUID}/read`).
    MarkRead {
        /// The destination's room.
        room: RoomId,
        /// The JSON body `{"upTo"}`, validated by the domain.
        body: Bytes,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `SEND` a typing state to a room (`/pub/room/{roomUUID}/typing`).
    Typing {
        /// The destination's room.
        room: RoomId,
        /// The JSON body `{"typing"}`, validated by the domain.
        body: Bytes,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `SUBSCRIBE` to the session's own event stream (`/user/queue/events`).
    SubscribeEvents {
        /// The client's subscription id.
        id: String,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `SUBSCRIBE` to a room's messages.
    Subscribe {
        /// The client's subscription id (the destination for STOMP 1.0 clients without one).
        id: String,
        /// The room.
        room: RoomId,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `UNSUBSCRIBE` by subscription id.
    Unsubscribe {
        /// The subscription id (or, for STOMP 1.0, the destination).
        id: String,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `ACK` or `NACK`: every subscription is auto-acknowledged, so only the receipt matters.
    Acknowledge {
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `BEGIN` a transaction.
    Begin {
        /// The transaction's name.
        transaction: String,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `COMMIT` a transaction: its sends are stored together.
    Commit {
        /// The transaction's name.
        transaction: String,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `ABORT` a transaction: its sends are dropped.
    Abort {
        /// The transaction's name.
        transaction: String,
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
    /// `DISCONNECT`, with the receipt to send before closing.
    Disconnect {
        /// The `receipt` asked for.
        receipt: Option<String>,
    },
}

impl ClientCommand {
    /// Reads a frame of a connected session that speaks `version`.
    pub fn from_frame(frame: Frame, version: Version) -> Result<ClientCommand, Failure> {
        let receipt = frame.header("receipt").map(str::to_owned);
        let header = |name: &str| frame.header(name).map(str::to_owned);
        match frame.command {
            Command::Send => {
                let dest = frame.header("destination").unwrap_or("");
                let transaction = header("transaction");
                let room = match Destination::parse(dest) {
                    Some(Destination::RoomSend(room)) => room,
                    // A read mark or a typing state takes effect at once: it is not part of a
                    // transaction's messages, and pretending otherwise would make ABORT a lie.
                    Some(Destination::RoomRead(_) | Destination::RoomTyping(_))
                        if transaction.is_some() =>
                    {
                        return Err(Failure::new(
                            "not_transactional",
                            "not transactional",
                            format!(
                                "SEND to '{dest}' in a transaction: only messages are \
                                 transactional, send it outside"
                            ),
                            receipt,
                        ))
                    }
                    Some(Destination::RoomRead(room)) => {
                        return Ok(ClientCommand::MarkRead {
                            room,
                            body: frame.body,
                            receipt,
                        })
                    }
                    Some(Destination::RoomTyping(room)) => {
                        return Ok(ClientCommand::Typing {
                            room,
                            body: frame.body,
                            receipt,
                        })
                    }
                    _ => {
                        return Err(Failure::new(
                            "unknown_destination",
                            "unknown destination",
                            format!(
                                "SEND to '{dest}': messages go to /pub/room/{{roomUUID}}/message, \
                                 read marks to /pub/room/{{roomUUID}}/read, typing to \
                                 /pub/room/{{roomUUID}}/typing"
                            ),
                            receipt,
                        ))
                    }
                };
                Ok(ClientCommand::Send {
                    room,
                    body: frame.body,
                    transaction,
                    receipt,
                })
            }
            Command::Subscribe => {
                let dest = frame.header("destination").unwrap_or("");
                let id = match (frame.header("id"), version) {
                    (Some(id), _) => id.to_owned(),
                    (None, Version::V1_0) => dest.to_owned(),
                    (None, _) => {
                        return Err(Failure::new(
                            "missing_id",
                            "missing id",
                            "SUBSCRIBE needs an id header",
                            receipt,
                        ))
                    }
                };
                if dest == USER_EVENTS {
                    return Ok(ClientCommand::SubscribeEvents { id, receipt });
                }
                if dest.starts_with(USER_PREFIX) {
                    return Err(Failure::new(
                        "forbidden_destination",
                        "forbidden destination",
                        format!("SUBSCRIBE to '{dest}': the only queue of yours is {USER_EVENTS}"),
                        receipt,
                    ));
                }
                let Some(Destination::RoomMessages(room)) = Destination::parse(dest) else {
                    return Err(Failure::new(
                        "unknown_destination",
                        "unknown destination",
                        format!("SUBSCRIBE to '{dest}': rooms are at /sub/chat/room/{{roomUUID}}"),
                        receipt,
                    ));
                };
                Ok(ClientCommand::Subscribe { id, room, receipt })
            }
            Command::Unsubscribe => {
                let id = header("id")
                    .or_else(|| header("destination"))
                    .unwrap_or_default();
                Ok(ClientCommand::Unsubscribe { id, receipt })
            }
            Command::Ack | Command::Nack => Ok(ClientCommand::Acknowledge { receipt }),
            Command::Begin => match header("transaction") {
                Some(transaction) => Ok(ClientCommand::Begin {
                    transaction,
                    receipt,
                }),
                None => Err(Failure::new(
                    "missing_transaction",
                    "missing transaction",
                    "BEGIN needs a transaction header",
                    receipt,
                )),
            },
            Command::Commit => Ok(ClientCommand::Commit {
                transaction: header("transaction").unwrap_or_default(),
                receipt,
            }),
            Command::Abort => Ok(ClientCommand::Abort {
                transaction: header("transaction").unwrap_or_default(),
                receipt,
            }),
            Command::Disconnect => Ok(ClientCommand::Disconnect { receipt }),
            Command::Connect | Command::Stomp => Err(Failure::new(
                "already_connected",
                "already connected",
                "CONNECT was sent twice on one connection",
                receipt,
            )),
            other => Err(Failure::new(
                "unexpected_frame",
                "unexpected frame",
                format!("{} is a server frame", other.as_str()),
                receipt,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
        headers
            .iter()
            .fold(Frame::new(command), |f, (k, v)| f.with_header(k, v))
    }

    fn parse(command: Command, headers: &[(&str, &str)]) -> Result<ClientCommand, Failure> {
        ClientCommand::from_frame(frame(command, headers), Version::V1_2)
    }

    #[test]
    fn sends_name_their_room_transaction_and_receipt() {
        let room = RoomId::new_random();
        let dest = format!("/pub/room/{room}/message");
        let f = frame(
            Command::Send,
            &[
                ("destination", &dest),
                ("receipt", "r"),
                ("transaction", "t"),
            ],
        )
        .with_body(&b"{}"[..]);
        assert_eq!(
            ClientCommand::from_frame(f, Version::V1_2),
            Ok(ClientCommand::Send {
                room,
                body: Bytes::from_static(b"{}"),
                transaction: Some("t".into()),
                receipt: Some("r".into()),
            })
        );
        let wrong = parse(
            Command::Send,
            &[("destination", &format!("/sub/chat/room/{room}"))],
        );
        assert_eq!(wrong.unwrap_err().code, "unknown_destination");
        let none = parse(Command::Send, &[("receipt", "r9")]).unwrap_err();
        assert_eq!(
            (none.code, none.receipt.as_deref()),
            ("unknown_destination", Some("r9"))
        );
    }

    #[test]
    fn read_marks_are_sends_to_their_own_destination_outside_transactions() {
        let room = RoomId::new_random();
        let dest = format!("/pub/room/{room}/read");
        let f = frame(Command::Send, &[("destination", &dest), ("receipt", "m1")])
            .with_body(&br#"{"upTo":7}"#[..]);
        assert_eq!(
            ClientCommand::from_frame(f, Version::V1_2),
            Ok(ClientCommand::MarkRead {
                room,
                body: Bytes::from_static(br#"{"upTo":7}"#),
                receipt: Some("m1".into()),
            })
        );
        let in_tx = parse(
            Command::Send,
            &[("destination", &dest), ("transaction", "t")],
        );
        assert_eq!(in_tx.unwrap_err().code, "not_transactional");
    }

    #[test]
    fn typing_is_a_send_to_its_own_destination_outside_transactions() {
        let room = RoomId::new_random();
        let dest = format!("/pub/room/{room}/typing");
        let f =
            frame(Command::Send, &[("destination", &dest)]).with_body(&br#"{"typing":true}"#[..]);
        assert_eq!(
            ClientCommand::from_frame(f, Version::V1_2),
            Ok(ClientCommand::Typing {
                room,
                body: Bytes::from_static(br#"{"typing":true}"#),
                receipt: None,
            })
        );
        let in_tx = parse(
            Command::Send,
            &[
                ("destination", &dest),
                ("transaction", "t"),
                ("receipt", "x"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            (in_tx.code, in_tx.receipt.as_deref()),
            ("not_transactional", Some("x"))
        );
    }

    #[test]
    fn the_own_event_stream_is_a_subscription_with_an_id() {
        assert_eq!(
            parse(
                Command::Subscribe,
                &[("destination", "/user/queue/events"), ("id", "ev")]
            ),
            Ok(ClientCommand::SubscribeEvents {
                id: "ev".into(),
                receipt: None
            })
        );
        let no_id = parse(Command::Subscribe, &[("destination", "/user/queue/events")]);
        assert_eq!(no_id.unwrap_err().code, "missing_id");
    }

    #[test]
    fn nothing_under_user_may_be_subscribed_but_ones_own_queues() {
        for dest in [
            "/user/bob/queue/events",
            "/user/queue/other",
            "/user/",
            "/user/queue/events/../x",
        ] {
            let refused = parse(
                Command::Subscribe,
                &[("destination", dest), ("id", "s"), ("receipt", "r")],
            )
            .unwrap_err();
            assert_eq!(
                (refused.code, refused.receipt.as_deref()),
                ("forbidden_destination", Some("r")),
                "{dest}"
            );
        }
    }

    #[test]
    fn subscriptions_need_an_id_except_in_stomp_1_0() {
        let room = RoomId::new_random();
        let dest = format!("/sub/chat/room/{room}");
        assert_eq!(
            parse(
                Command::Subscribe,
                &[("destination", &dest), ("id", "sub-0")]
            ),
            Ok(ClientCommand::Subscribe {
                id: "sub-0".into(),
                room,
                receipt: None
            })
        );
        assert_eq!(
            parse(Command::Subscribe, &[("destination", &dest)])
                .unwrap_err()
                .code,
            "missing_id"
        );
        let old = ClientCommand::from_frame(
            frame(Command::Subscribe, &[("destination", &dest)]),
            Version::V1_0,
        );
        assert_eq!(
            old,
            Ok(ClientCommand::Subscribe {
                id: dest.clone(),
                room,
                receipt: None
            })
        );
        let pub_dest = format!("/pub/room/{room}/message");
        assert_eq!(
            parse(
                Command::Subscribe,
                &[("destination", &pub_dest), ("id", "x")]
            )
            .unwrap_err()
            .code,
            "unknown_destination"
        );
        assert_eq!(
            parse(Command::Unsubscribe, &[("destination", &dest)]),
            Ok(ClientCommand::Unsubscribe {
                id: dest,
                receipt: None
            })
        );
    }

    #[test]
    fn transactions_and_the_rest() {
        assert_eq!(
            parse(Command::Begin, &[("transaction", "t1"), ("receipt", "r")]),
            Ok(ClientCommand::Begin {
                transaction: "t1".into(),
                receipt: Some("r".into())
            })
        );
        assert_eq!(
            parse(Command::Begin, &[]).unwrap_err().code,
            "missing_transaction"
        );
        assert_eq!(
            parse(Command::Commit, &[]),
            Ok(ClientCommand::Commit {
                transaction: String::new(),
                receipt: None
            })
        );
        assert_eq!(
            parse(Command::Abort, &[("transaction", "t")]),
            Ok(ClientCommand::Abort {
                transaction: "t".into(),
                receipt: None
            })
        );
        assert_eq!(
            parse(Command::Nack, &[("receipt", "r")]),
            Ok(ClientCommand::Acknowledge {
                receipt: Some("r".into())
            })
        );
        assert_eq!(
            parse(Command::Disconnect, &[("receipt", "bye")]),
            Ok(ClientCommand::Disconnect {
                receipt: Some("bye".into())
            })
        );
        assert_eq!(
            parse(Command::Connect, &[]).unwrap_err().code,
            "already_connected"
        );
        let server = parse(Command::Message, &[("receipt", "r")]).unwrap_err();
        assert_eq!(
            (server.code, server.receipt.as_deref()),
            ("unexpected_frame", Some("r"))
        );
    }
}
