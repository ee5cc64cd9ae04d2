//! The coalescing rule: one notification per burst of messages (docs/DESIGN.md,
//! "Notifications"). Pure, so that every storage backend applies the same rule.

use crate::model::Millis;

/// How messages are gathered into one notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coalescing {
    /// How long a new notification waits before it is sent, so that the messages written
    /// right after the first one join it instead of making their own.
    pub gather_ms: i64,
    /// A message within this long of the previous one in the same room (to the same member,
    /// who has not read up to it) belongs to the same burst: it notifies no one again.
    pub burst_gap_ms: i64,
}

impl Default for Coalescing {
    fn default() -> Self {
        Coalescing {
            gather_ms: 2_000,
            burst_gap_ms: 5 * 60_000,
        }
    }
}

/// The newest notification of a member in a room, as storage has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatestNotification {
    /// Its id.
    pub id: i64,
    /// The newest message it tells of.
    pub message_id: i64,
    /// When that message was written.
    pub last_message_at: Millis,
}

/// What a new message does to a member's notifications in its room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Burst {
    /// It belongs to the burst of this notification: the notification now tells of it (its
    /// count and preview), and nothing new is sent for it once that one has gone.
    Join(i64),
    /// It starts a burst: a new notification, due at this time.
    Start {
        /// When the new notification is due.
        due: Millis,
    },
}

impl Coalescing {
    /// Where a message written `at` to a member who has read up to `read_up_to` goes, given
    /// their newest notification in the room. A burst ends after a quiet `burst_gap_ms`, or
    /// once the member has read everything it told of.
    pub fn place(
        &self,
        latest: Option<LatestNotification>,
        at: Millis,
        read_up_to: i64,
        now: Millis,
    ) -> Burst {
        match latest {
            Some(n)
                if at.0.saturating_sub(n.last_message_at.0) <= self.burst_gap_ms
                    && read_up_to < n.message_id =>
            {
                Burst::Join(n.id)
            }
            _ => Burst::Start {
                due: Millis(now.0.saturating_add(self.gather_ms)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Coalescing = Coalescing {
        gather_ms: 2_000,
        burst_gap_ms: 60_000,
    };

    fn latest(at: i64) -> Option<LatestNotification> {
        Some(LatestNotification {
            id: 7,
            message_id: 100,
            last_message_at: Millis(at),
        })
    }

    #[test]
    fn the_first_message_starts_a_burst_that_waits_to_gather() {
        assert_eq!(
            RULE.place(None, Millis(10), 0, Millis(10)),
            Burst::Start { due: Millis(2_010) }
        );
    }

    #[test]
    fn messages_soon_after_join_it() {
        assert_eq!(
            RULE.place(latest(0), Millis(60_000), 99, Millis(60_000)),
            Burst::Join(7)
        );
    }

    #[test]
    fn a_quiet_gap_or_reading_everything_ends_the_burst() {
        assert!(matches!(
            RULE.place(latest(0), Millis(60_001), 0, Millis(60_001)),
            Burst::Start { .. }
        ));
        assert!(matches!(
            RULE.place(latest(0), Millis(5), 100, Millis(5)),
            Burst::Start { .. }
        ));
    }
}
