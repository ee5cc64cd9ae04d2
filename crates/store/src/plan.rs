//! The rules of a group commit, apart from how they reach the database: which messages of a
//! batch are stored, which are duplicates or refused, and how the stored ones are sequenced.
//!
//! Why a module of its own: the batch is stored by two drivers — sqlx's multi-row statements
//! (MySQL, PostgreSQL, in-memory SQLite) and the SQLite writer thread's prepared statements —
//! and both must decide exactly alike.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chat_core::{
    AppendOutcome, ChatMessage, MessageKind, NewMessage, ReadMark, Sequenced, StoreError,
};

use crate::rows::LockedRoom;
use crate::Backend;

/// An idempotency key as the unique index `messages_idempotency` compares it: (room, sender,
/// clientMessageId).
pub(crate) type IdempotencyKey = (String, String, String);

/// The rooms of the batch as read under their locks, by uuid.
pub(crate) type LockedRooms = HashMap<String, LockedRoom>;

/// An idempotency key as the unique index compares it. MySQL/MariaDB collations (`utf8mb4_bin`
/// included) are PAD SPACE: trailing spaces do not count there, so `"c-1 "` is the key `"c-1"`;
/// the other backends compare exactly.
pub(crate) fn key(backend: Backend, room: &str, sender: &str, cmid: &str) -> IdempotencyKey {
    let cmid = match backend {
        Backend::MySql => cmid.trim_end_matches(' '),
        Backend::Sqlite | Backend::Postgres => cmid,
    };
    (room.to_owned(), sender.to_owned(), cmid.to_owned())
}

/// What becomes of one message of the batch, decided under the rooms' locks before the insert.
enum Fate {
    /// Not stored: the outcome is known already.
    Decided(AppendOutcome),
    /// Stored, as the n-th inserted row of this batch.
    Insert(usize),
    /// Its idempotency key was first stored by this batch, as the n-th inserted row.
    SameAs(usize),
}

/// The rooms of a batch in the one global order they are locked in (sorted, distinct), so that
/// two batches never wait on each other in a cycle.
pub(crate) fn rooms_to_lock(room_texts: &[String]) -> Vec<&str> {
    let mut rooms: Vec<&str> = room_texts.iter().map(String::as_str).collect();
    rooms.sort_unstable();
    rooms.dedup();
    rooms
}

/// The (room, sender, clientMessageId) of every message that may be stored (its room exists
/// and its sender is a member), sorted and distinct: the keys to look up before inserting.
pub(crate) fn keys_to_look_up<'a>(
    batch: &'a [NewMessage],
    room_texts: &'a [String],
    locked: &LockedRooms,
) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut keys: Vec<(&str, &str, &str)> = batch
        .iter()
        .zip(room_texts)
        .filter_map(|(m, room)| {
            let membership = &locked.get(room.as_str())?.membership;
            let cmid = m.client_message_id.as_ref()?;
            membership.is_member(m.sender.as_str()).then_some((
                room.as_str(),
                m.sender.as_str(),
                cmid.as_str(),
            ))
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What a touched room's row must say after the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RoomTouch {
    /// Its newest message's id.
    pub last_id: i64,
    /// Its newest message's time: the room's last activity.
    pub at: i64,
    /// Its message count (the newest message's ordinal).
    pub count: i64,
    /// The buyer's mark (moved when the buyer sent in this batch).
    pub buyer_read: ReadMark,
    /// The seller's mark.
    pub seller_read: ReadMark,
}

/// Per touched room, what its row must now say, in room order.
pub(crate) type Touched<'a> = Vec<(&'a str, RoomTouch)>;

/// Each message's fate, in batch order, and the batch positions to insert, in order.
pub(crate) struct BatchPlan {
    fates: Vec<Fate>,
    /// Batch positions of the rows to insert; the n-th inserted row is `batch[inserts[n]]`.
    pub inserts: Vec<usize>,
    /// The n-th inserted row's ordinal in its room (`messages.seq`).
    pub seqs: Vec<i64>,
}

impl BatchPlan {
    /// Decides every message of the batch: refused (no such room, not a member), a duplicate
    /// of a message stored before or earlier in this batch, or a new row.
    pub(crate) fn decide(
        backend: Backend,
        batch: &[NewMessage],
        room_texts: &[String],
        locked: &LockedRooms,
        stored_before: &HashMap<IdempotencyKey, ChatMessage>,
    ) -> BatchPlan {
        let mut fates = Vec::with_capacity(batch.len());
        let mut inserts: Vec<usize> = Vec::with_capacity(batch.len());
        let mut seqs: Vec<i64> = Vec::with_capacity(batch.len());
        let mut counts: HashMap<&str, i64> = HashMap::new();
        let mut stored_now: HashMap<IdempotencyKey, usize> = HashMap::new();
        for (i, (msg, room)) in batch.iter().zip(room_texts).enumerate() {
            let Some(locked_room) = locked.get(room.as_str()) else {
                fates.push(Fate::Decided(AppendOutcome::NoSuchRoom));
                continue;
            };
            if !locked_room.membership.is_member(msg.sender.as_str()) {
                fates.push(Fate::Decided(AppendOutcome::NotMember));
                continue;
            }
            if let Some(cmid) = &msg.client_message_id {
                let k = key(backend, room, msg.sender.as_str(), cmid.as_str());
                // A retry of a message stored before a block still gets its receipt.
                if let Some(m) = stored_before.get(&k) {
                    fates.push(Fate::Decided(AppendOutcome::Duplicate(m.clone())));
                    continue;
                }
                if locked_room.blocked {
                    fates.push(Fate::Decided(AppendOutcome::Blocked));
                    continue;
                }
                match stored_now.entry(k) {
                    Entry::Occupied(first) => {
                        fates.push(Fate::SameAs(*first.get()));
                        continue;
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(inserts.len());
                    }
                }
            }
            if locked_room.blocked {
                fates.push(Fate::Decided(AppendOutcome::Blocked));
                continue;
            }
            let count = counts.entry(room.as_str()).or_insert(locked_room.count);
            *count += 1;
            seqs.push(*count);
            fates.push(Fate::Insert(inserts.len()));
            inserts.push(i);
        }
        BatchPlan {
            fates,
            inserts,
            seqs,
        }
    }

    /// Sequences the inserted rows (`ids[n]` is the id of the n-th): each names its room's
    /// previous message, which must be older, and a member's message marks the room read up to
    /// it for its sender. Returns them and, per touched room in room order, what its row must
    /// now say.
    pub(crate) fn sequence<'a>(
        &self,
        batch: &[NewMessage],
        room_texts: &'a [String],
        locked: &mut LockedRooms,
        ids: &[i64],
    ) -> Result<(Vec<Sequenced>, Touched<'a>), StoreError> {
        if ids.len() != self.inserts.len() {
            return Err(StoreError::internal(format!(
                "{} messages to insert but {} ids",
                self.inserts.len(),
                ids.len()
            )));
        }
        let mut sequenced: Vec<Sequenced> = Vec::with_capacity(self.inserts.len());
        let mut newest: BTreeMap<&str, i64> = BTreeMap::new();
        for ((&i, &id), &seq) in self.inserts.iter().zip(ids).zip(&self.seqs) {
            let msg = &batch[i];
            let room = room_texts[i].as_str();
            let Some(locked_room) = locked.get_mut(room) else {
                return Err(StoreError::internal("stored into a room not locked"));
            };
            let prev = locked_room.last.replace(id);
            if prev.is_some_and(|p| p >= id) {
                return Err(StoreError::internal(format!(
                    "message id {id} does not follow its room's previous message {prev:?}"
                )));
            }
            if seq != locked_room.count + 1 {
                return Err(StoreError::internal(format!(
                    "message {id} has ordinal {seq} after {}",
                    locked_room.count
                )));
            }
            locked_room.count = seq;
            if msg.kind != MessageKind::System {
                if let Some(mark) = locked_room.mark_of(msg.sender.as_str()) {
                    *mark = ReadMark {
                        up_to: id,
                        count: seq,
                    };
                }
            }
            newest.insert(room, msg.created_at.0);
            let snapshot = Arc::new(locked_room.snapshot(msg.room));
            sequenced.push(Sequenced {
                message: ChatMessage {
                    id,
                    room: msg.room,
                    sender: msg.sender.clone(),
                    content: msg.content.clone(),
                    kind: msg.kind,
                    created_at: msg.created_at,
                    client_message_id: msg.client_message_id.clone(),
                    notice: msg.notice.clone(),
                    attachments: msg.attachments.clone(),
                    warnings: msg.warnings,
                },
                prev,
                room: Some(snapshot),
            });
        }
        let mut touched = Vec::with_capacity(newest.len());
        for (room, at) in newest {
            let r = locked
                .get(room)
                .ok_or_else(|| StoreError::internal("touched a room not locked"))?;
            touched.push((
                room,
                RoomTouch {
                    last_id: r.last.unwrap_or_default(),
                    at,
                    count: r.count,
                    buyer_read: r.buyer_read,
                    seller_read: r.seller_read,
                },
            ));
        }
        Ok((sequenced, touched))
    }

    /// Each message's outcome, in batch order, once the batch is committed.
    pub(crate) fn outcomes(
        self,
        sequenced: Vec<Sequenced>,
    ) -> Result<Vec<AppendOutcome>, StoreError> {
        // Each stored message is handed out once, moved; a later duplicate of it in the same
        // batch gets a copy of the message, taken before the move.
        let mut copies: HashMap<usize, ChatMessage> = HashMap::new();
        for fate in &self.fates {
            if let Fate::SameAs(n) = fate {
                if !copies.contains_key(n) {
                    let first = sequenced
                        .get(*n)
                        .ok_or_else(|| StoreError::internal(format!("no stored message #{n}")))?;
                    copies.insert(*n, first.message.clone());
                }
            }
        }
        let mut stored: Vec<Option<Sequenced>> = sequenced.into_iter().map(Some).collect();
        self.fates
            .into_iter()
            .map(|fate| match fate {
                Fate::Decided(outcome) => Ok(outcome),
                Fate::Insert(n) => stored
                    .get_mut(n)
                    .and_then(Option::take)
                    .map(AppendOutcome::Stored)
                    .ok_or_else(|| StoreError::internal(format!("no stored message #{n}"))),
                Fate::SameAs(n) => copies
                    .get(&n)
                    .cloned()
                    .map(AppendOutcome::Duplicate)
                    .ok_or_else(|| StoreError::internal(format!("no stored message #{n}"))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use chat_core::{ClientMessageId, MessageKind, Millis, RoomId, UserId};

    use super::*;
    use crate::rows::Membership;

    fn room(n: u8) -> RoomId {
        RoomId::parse(&format!("0b8e0000-0000-4000-8000-0000000000{n:02}")).unwrap()
    }

    fn msg(room: RoomId, sender: &str, cmid: Option<&str>) -> NewMessage {
        NewMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            room,
            sender: UserId::parse(sender).unwrap(),
            content: format!("from {sender}"),
            kind: MessageKind::Text,
            created_at: Millis(7),
            client_message_id: cmid.map(|c| ClientMessageId::parse(c).unwrap()),
            notice: None,
        }
    }

    fn locked(rooms: &[(RoomId, Option<i64>)]) -> LockedRooms {
        rooms
            .iter()
            .map(|(r, last)| {
                let membership = Membership {
                    buyer: UserId::parse("alice").unwrap(),
                    seller: UserId::parse("bob").unwrap(),
                    buyer_active: true,
                    seller_active: true,
                };
                let count = if last.is_some() { 4 } else { 0 };
                let mark = ReadMark {
                    up_to: last.unwrap_or_default(),
                    count,
                };
                let room = LockedRoom {
                    membership,
                    last: *last,
                    count,
                    buyer_read: mark,
                    seller_read: ReadMark::default(),
                    name: "room".into(),
                    product_id: None,
                    created_at: Millis(0),
                    blocked: false,
                    trade: Default::default(),
                    mutes: Default::default(),
                };
                (r.to_text(), room)
            })
            .collect()
    }

    /// Bob's message with key `old`, stored in room `a` before the batch.
    fn stored_before(a: RoomId) -> ChatMessage {
        ChatMessage {
            attachments: Vec::new(),
            warnings: Default::default(),
            id: 5,
            room: a,
            sender: UserId::parse("bob").unwrap(),
            content: "earlier".into(),
            kind: MessageKind::Text,
            created_at: Millis(1),
            client_message_id: Some(ClientMessageId::parse("old").unwrap()),
            notice: None,
        }
    }

    #[test]
    fn a_blocked_room_takes_nothing_new_but_a_retry_still_gets_its_receipt() {
        let a = room(1);
        let batch = vec![
            msg(a, "alice", None),
            msg(a, "bob", Some("old")),
            msg(a, "bob", Some("new")),
        ];
        let texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
        let mut rooms = locked(&[(a, Some(10))]);
        if let Some(r) = rooms.get_mut(&a.to_text()) {
            r.blocked = true;
        }
        let old = stored_before(a);
        let mut before = HashMap::new();
        before.insert(key(Backend::Sqlite, &a.to_text(), "bob", "old"), old);
        let plan = BatchPlan::decide(Backend::Sqlite, &batch, &texts, &rooms, &before);
        assert!(plan.inserts.is_empty());
        let outcomes = plan.outcomes(Vec::new()).unwrap();
        assert!(matches!(outcomes[0], AppendOutcome::Blocked));
        assert!(matches!(&outcomes[1], AppendOutcome::Duplicate(m) if m.id == 5));
        assert!(matches!(outcomes[2], AppendOutcome::Blocked));
    }

    #[test]
    fn decides_refusals_duplicates_and_inserts_in_batch_order() {
        let (a, b, gone) = (room(1), room(2), room(3));
        let batch = vec![
            msg(a, "alice", Some("c-1")),
            msg(gone, "alice", None),
            msg(a, "mallory", None),
            msg(b, "bob", Some("c-1")),
            msg(a, "alice", Some("c-1")),
            msg(a, "bob", Some("old")),
            msg(b, "bob", None),
        ];
        let texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
        let mut rooms = locked(&[(a, Some(10)), (b, None)]);
        assert_eq!(
            rooms_to_lock(&texts),
            vec![a.to_text(), b.to_text(), gone.to_text()]
        );
        let keys = keys_to_look_up(&batch, &texts, &rooms);
        // Strangers and unknown rooms are not looked up; keys are distinct.
        assert_eq!(keys.len(), 3);
        let mut before = HashMap::new();
        let old = stored_before(a);
        before.insert(
            key(Backend::Sqlite, &a.to_text(), "bob", "old"),
            old.clone(),
        );

        let plan = BatchPlan::decide(Backend::Sqlite, &batch, &texts, &rooms, &before);
        assert_eq!(plan.inserts, vec![0, 3, 6]);
        // Ordinals continue each room's count: room a held 4 messages, room b none.
        assert_eq!(plan.seqs, vec![5, 1, 2]);
        let (sequenced, touched) = plan
            .sequence(&batch, &texts, &mut rooms, &[11, 12, 13])
            .unwrap();
        assert_eq!(sequenced[0].prev, Some(10));
        assert_eq!(sequenced[1].prev, None);
        assert_eq!(sequenced[2].prev, Some(12));
        // Each sender's mark moved to their newest message; the other mark stayed.
        assert_eq!(
            touched,
            vec![
                (
                    texts[0].as_str(),
                    RoomTouch {
                        last_id: 11,
                        at: 7,
                        count: 5,
                        buyer_read: ReadMark {
                            up_to: 11,
                            count: 5
                        },
                        seller_read: ReadMark::default(),
                    }
                ),
                (
                    texts[3].as_str(),
                    RoomTouch {
                        last_id: 13,
                        at: 7,
                        count: 2,
                        buyer_read: ReadMark::default(),
                        seller_read: ReadMark {
                            up_to: 13,
                            count: 2
                        },
                    }
                )
            ]
        );

        let outcomes = plan.outcomes(sequenced).unwrap();
        let ids: Vec<String> = outcomes
            .iter()
            .map(|o| match o {
                AppendOutcome::Stored(s) => format!("stored {}", s.message.id),
                AppendOutcome::Duplicate(m) => format!("duplicate {}", m.id),
                AppendOutcome::NoSuchRoom => "no room".into(),
                AppendOutcome::NotMember => "not member".into(),
                AppendOutcome::Blocked => "blocked".into(),
            })
            .collect();
        assert_eq!(
            ids,
            [
                "stored 11",
                "no room",
                "not member",
                "stored 12",
                "duplicate 11",
                "duplicate 5",
                "stored 13"
            ]
        );
    }

    #[test]
    fn a_system_notice_moves_nobodys_mark() {
        let a = room(1);
        let mut notice = msg(a, "bob", None);
        notice.kind = MessageKind::System;
        let batch = vec![notice];
        let texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
        let mut rooms = locked(&[(a, Some(10))]);
        let plan = BatchPlan::decide(Backend::Sqlite, &batch, &texts, &rooms, &HashMap::new());
        let (_, touched) = plan.sequence(&batch, &texts, &mut rooms, &[11]).unwrap();
        assert_eq!(touched[0].1.count, 5);
        assert_eq!(touched[0].1.seller_read, ReadMark::default());
        assert_eq!(
            touched[0].1.buyer_read,
            ReadMark {
                up_to: 10,
                count: 4
            }
        );
    }

    #[test]
    fn mysql_keys_ignore_trailing_spaces_like_its_collation() {
        assert_eq!(
            key(Backend::MySql, "r", "s", "c-1  "),
            key(Backend::MySql, "r", "s", "c-1")
        );
        assert_ne!(
            key(Backend::Postgres, "r", "s", "c-1 "),
            key(Backend::Postgres, "r", "s", "c-1")
        );
    }

    #[test]
    fn ids_that_do_not_follow_the_room_are_refused() {
        let a = room(1);
        let batch = vec![msg(a, "alice", None), msg(a, "bob", None)];
        let texts: Vec<String> = batch.iter().map(|m| m.room.to_text()).collect();
        let mut rooms = locked(&[(a, Some(20))]);
        let plan = BatchPlan::decide(Backend::Sqlite, &batch, &texts, &rooms, &HashMap::new());
        assert!(plan
            .sequence(&batch, &texts, &mut rooms, &[19, 21])
            .is_err());
        let mut rooms = locked(&[(a, Some(20))]);
        assert!(plan
            .sequence(&batch, &texts, &mut rooms, &[22, 21])
            .is_err());
        let mut rooms = locked(&[(a, Some(20))]);
        assert!(plan.sequence(&batch, &texts, &mut rooms, &[21]).is_err());
    }
}
