//! The notifier: after a message is stored, finds the members it should reach while they are
//! away (no live session anywhere, room not muted) and queues their notifications in the
//! outbox. It runs beside delivery, never in front of it: the committer hands it each stored
//! message through a bounded queue without waiting.

use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::ids::UserId;
use crate::listing::Mutes;
use crate::model::{MessageKind, Millis, Notice, Sequenced};
use crate::ports::Presence;

use super::{Candidate, Coalescing, NotificationStore};

/// Counter: notifications queued in the outbox (new bursts).
pub const NOTIFICATIONS_QUEUED: &str = "reuse_chat_notifications_queued_total";
/// Counter: stored messages the notifier could not take because its queue was full; their
/// members get no notification for them (the messages themselves are stored and delivered).
pub const NOTIFIER_OVERFLOW: &str = "reuse_chat_notifier_overflow_total";
/// Most stored messages handled per step.
const STEP: usize = 256;

/// The committer's side of the notifier's queue.
#[derive(Clone)]
pub struct NotifyQueue {
    tx: mpsc::Sender<Sequenced>,
}

impl NotifyQueue {
    /// Hands a stored message over without waiting: a full queue costs the message its
    /// notifications (counted and logged), never delivery time.
    pub fn offer(&self, stored: &Sequenced) {
        if stored.room.is_none() || recipients_kind(stored).is_none() {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(s)) = self.tx.try_send(stored.clone()) {
            metrics::counter!(NOTIFIER_OVERFLOW).increment(1);
            tracing::warn!(
                id = s.message.id,
                "notifier queue full: no notification for it"
            );
        }
    }
}

/// Who of a room a stored message may notify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recipients {
    /// The other member (a member's message, an appointment set or cancelled).
    Other,
    /// Both members (an appointment reminder).
    Both,
    /// The room's buyer (the listing's status; the seller set it).
    Buyer,
}

fn recipients_kind(s: &Sequenced) -> Option<Recipients> {
    let m = &s.message;
    match (&m.kind, &m.notice) {
        (MessageKind::Text | MessageKind::Image, _) => Some(Recipients::Other),
        (MessageKind::System, Some(Notice::Appointment(a))) if a.reminder => Some(Recipients::Both),
        (MessageKind::System, Some(Notice::Appointment(_))) => Some(Recipients::Other),
        (MessageKind::System, Some(Notice::ProductStatus(_))) => Some(Recipients::Buyer),
        _ => None,
    }
}

/// The members `stored` should notify if they are away: current members the rule names who
/// have not muted the room at `now`.
pub fn candidates(stored: &Sequenced, now: Millis) -> Vec<Candidate> {
    let (Some(room), Some(kind)) = (&stored.room, recipients_kind(stored)) else {
        return Vec::new();
    };
    let sender = &stored.message.sender;
    let mut out = Vec::with_capacity(2);
    for (user, active, mute) in [
        (&room.buyer, room.buyer_active, room.mutes.buyer_until),
        (&room.seller, room.seller_active, room.mutes.seller_until),
    ] {
        let named = match kind {
            Recipients::Other => user != sender,
            Recipients::Both => true,
            Recipients::Buyer => user == &room.buyer,
        };
        if named
            && active
            && !Mutes::active(mute, now)
            && !out.iter().any(|c: &Candidate| &c.user == user)
        {
            out.push(Candidate::of(&stored.message, room, user));
        }
    }
    out
}

/// Starts the notifier with a queue of `capacity` stored messages; `wake` is signalled when
/// new notifications are queued, so a sender delivers them without waiting for its poll.
pub fn spawn(
    store: Arc<dyn NotificationStore>,
    presence: Arc<dyn Presence>,
    rule: Coalescing,
    wake: Arc<Notify>,
    capacity: usize,
) -> (NotifyQueue, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Sequenced>(capacity.max(1));
    let task = tokio::spawn(async move {
        let queued = metrics::counter!(NOTIFICATIONS_QUEUED);
        let mut stored = Vec::with_capacity(STEP);
        while rx.recv_many(&mut stored, STEP).await > 0 {
            let now = Millis::now();
            let mut batch: Vec<Candidate> =
                stored.drain(..).flat_map(|s| candidates(&s, now)).collect();
            if batch.is_empty() {
                continue;
            }
            let mut users: Vec<UserId> = batch.iter().map(|c| c.user.clone()).collect();
            users.sort_unstable();
            users.dedup();
            match presence.online(&users).await {
                Ok(online) => batch.retain(|c| !online.contains(&c.user)),
                // Without presence nobody can be known to be here: telling someone twice
                // is better than telling a member who is away nothing.
                Err(e) => tracing::warn!(error = %e, "notifier: presence unknown, notifying all"),
            }
            if batch.is_empty() {
                continue;
            }
            match store.queue_notifications(&batch, &rule, now).await {
                Ok(n) => {
                    queued.increment(n);
                    if n > 0 {
                        wake.notify_one();
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, lost = batch.len(), "notifier: could not queue")
                }
            }
        }
    });
    (NotifyQueue { tx }, task)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ids::RoomId;
    use crate::listing::{AppointmentNotice, ProductStatus, MUTED_FOREVER};
    use crate::model::{ChatMessage, ReadMark, Room};

    fn u(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    fn stored(kind: MessageKind, sender: &str, notice: Option<Notice>, room: Room) -> Sequenced {
        Sequenced {
            message: ChatMessage {
                id: 9,
                room: room.id,
                sender: u(sender),
                content: "안녕하세요".into(),
                kind,
                created_at: Millis(1_000),
                client_message_id: None,
                notice,
                attachments: Vec::new(),
                warnings: Default::default(),
            },
            prev: None,
            room: Some(Arc::new(room)),
        }
    }

    fn room() -> Room {
        Room {
            id: RoomId::new_random(),
            name: "자전거".into(),
            product_id: None,
            buyer: u("alice"),
            seller: u("bob"),
            buyer_active: true,
            seller_active: true,
            created_at: Millis(0),
            last_message: None,
            message_count: 3,
            buyer_read: ReadMark { up_to: 7, count: 2 },
            seller_read: ReadMark::default(),
            trade: Default::default(),
            mutes: Default::default(),
        }
    }

    fn told(s: &Sequenced, now: i64) -> Vec<String> {
        candidates(s, Millis(now))
            .into_iter()
            .map(|c| c.user.as_str().to_owned())
            .collect()
    }

    #[test]
    fn a_members_message_is_for_the_other_member() {
        let s = stored(MessageKind::Text, "bob", None, room());
        let c = candidates(&s, Millis(0));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].user.as_str(), "alice");
        assert_eq!(c[0].read_up_to, 7);
        assert_eq!(c[0].title, "자전거");
        assert_eq!(c[0].body, "bob: 안녕하세요");
    }

    #[test]
    fn mutes_and_leaves_silence_a_member_until_the_mute_ends() {
        let mut r = room();
        r.mutes.buyer_until = Some(Millis(5_000));
        let s = stored(MessageKind::Text, "bob", None, r.clone());
        assert!(told(&s, 4_999).is_empty());
        assert_eq!(told(&s, 5_000), ["alice"]);
        r.mutes.buyer_until = Some(MUTED_FOREVER);
        assert!(told(&stored(MessageKind::Text, "bob", None, r.clone()), 0).is_empty());
        r.mutes.buyer_until = None;
        r.buyer_active = false;
        assert!(told(&stored(MessageKind::Text, "bob", None, r), 0).is_empty());
    }

    #[test]
    fn notices_go_to_whom_they_concern() {
        let status = Some(Notice::ProductStatus(ProductStatus::Sold));
        assert_eq!(
            told(&stored(MessageKind::System, "bob", status, room()), 0),
            ["alice"]
        );
        let reminder = Some(Notice::Appointment(Box::new(AppointmentNotice {
            appointment: None,
            reminder: true,
        })));
        assert_eq!(
            told(&stored(MessageKind::System, "alice", reminder, room()), 0),
            ["alice", "bob"]
        );
        let set = Some(Notice::Appointment(Box::new(AppointmentNotice {
            appointment: None,
            reminder: false,
        })));
        assert_eq!(
            told(&stored(MessageKind::System, "alice", set, room()), 0),
            ["bob"]
        );
        let left = Some(Notice::MemberLeft);
        assert!(told(&stored(MessageKind::System, "alice", left, room()), 0).is_empty());
    }
}
