//! Typing (API-v2, "Typing and online status"): the `{"typing": bool}` command, the 2 s
//! throttle of `typing: true` per member and room, and each session's rule for `false`.
//! Never stored; the service relays what passes to the other member through the bus.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::error::ChatError;
use crate::events::{RoomEvent, TypingSignal};
use crate::ids::{RoomId, UserId};
use crate::service::ChatService;

/// At most one `typing: true` per member and room is relayed in this window (API-v2).
pub const TYPING_WINDOW: Duration = Duration::from_secs(2);

/// Most (member, room) pairs a node's throttle remembers; past it, expired ones are dropped and,
/// if none has expired, the pair is relayed unthrottled locally (the cluster claim still holds).
const MAX_THROTTLED: usize = 100_000;

/// Most rooms one session remembers a relayed `true` for.
const MAX_SESSION_ROOMS: usize = 64;

/// `SEND /pub/room/{id}/typing`'s body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypingCommand {
    /// Typing, or stopped.
    pub typing: bool,
}

impl TypingCommand {
    /// `{"typing": true}` or `{"typing": false}`; anything else is `invalid_body`.
    pub fn parse(body: &[u8]) -> Result<TypingCommand, ChatError> {
        #[derive(Deserialize)]
        struct Body {
            typing: bool,
        }
        serde_json::from_slice::<Body>(body)
            .map(|b| TypingCommand { typing: b.typing })
            .map_err(|_| {
                ChatError::bad(
                    "invalid_body",
                    "the body must be JSON {\"typing\": true} or {\"typing\": false}",
                )
            })
    }
}

/// Remembers when each (room, member) last had a `typing: true` relayed, so that at most one is
/// relayed per [`TYPING_WINDOW`]. The memory presence's claim and every node's local first
/// filter (in front of the Redis claim) are this.
#[derive(Default)]
pub struct TypingThrottle {
    last: Mutex<HashMap<(RoomId, UserId), Instant>>,
}

impl TypingThrottle {
    /// Whether `user`'s `true` in `room` may be relayed now (and if so, the window starts).
    pub fn claim(&self, room: &RoomId, user: &UserId, window: Duration) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(&(*room, user.clone())) {
            if now.duration_since(*at) < window {
                return false;
            }
        }
        if last.len() >= MAX_THROTTLED {
            last.retain(|_, at| now.duration_since(*at) < window);
            if last.len() >= MAX_THROTTLED {
                return true;
            }
        }
        last.insert((*room, user.clone()), now);
        true
    }
}

/// One session's typing state: the rooms whose `true` it had relayed since its last `false`.
/// A `false` is relayed only for those (there is nothing else to take back), which also keeps a
/// client that alternates `true`/`false` to one pair per window.
#[derive(Default, Debug)]
pub struct SessionTyping {
    relayed: Vec<RoomId>,
}

impl SessionTyping {
    /// The session's `true` in `room` was relayed.
    pub fn relayed_true(&mut self, room: RoomId) {
        if !self.relayed.contains(&room) {
            if self.relayed.len() >= MAX_SESSION_ROOMS {
                self.relayed.remove(0);
            }
            self.relayed.push(room);
        }
    }

    /// Whether the session's `false` in `room` is to be relayed; it forgets the room.
    pub fn take_false(&mut self, room: &RoomId) -> bool {
        let before = self.relayed.len();
        self.relayed.retain(|r| r != room);
        self.relayed.len() != before
    }
}

/// What became of a typing command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypingOutcome {
    /// Relayed to the other member.
    Relayed,
    /// Dropped by the throttle or the session's rule (silently, as API-v2 says).
    Dropped,
}

impl ChatService {
    /// `caller` types (or stopped) in `room`, from a session whose state is `session`: checks
    /// the throttle, then membership, then relays to the other member through the bus.
    pub async fn typing(
        &self,
        caller: &UserId,
        room: &RoomId,
        cmd: TypingCommand,
        session: &mut SessionTyping,
    ) -> Result<TypingOutcome, ChatError> {
        if cmd.typing {
            if !self.typing_throttle().claim(room, caller, TYPING_WINDOW) {
                return Ok(TypingOutcome::Dropped);
            }
            match self
                .presence()
                .claim_typing(room, caller, TYPING_WINDOW)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Ok(TypingOutcome::Dropped),
                // Presence is advisory: without it, the node's own throttle is the limit.
                Err(e) => tracing::warn!(error = %e, "typing claim failed"),
            }
        } else if !session.take_false(room) {
            return Ok(TypingOutcome::Dropped);
        }
        let entered = self.enter(caller, room).await?;
        if cmd.typing {
            session.relayed_true(*room);
        }
        let signal = TypingSignal {
            room: *room,
            user: caller.clone(),
            to: entered.counterpart(caller).clone(),
            typing: cmd.typing,
        };
        // The other member may have left: only a current member is told; and between users
        // who block each other, typing stops (API-v2 "Safety").
        if !entered.is_member(&signal.to) || self.blocks.list().between(caller, &signal.to).await {
            return Ok(TypingOutcome::Dropped);
        }
        self.publish(RoomEvent::Typing(signal)).await;
        Ok(TypingOutcome::Relayed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_boolean_typing_is_a_command() {
        assert_eq!(
            TypingCommand::parse(br#"{"typing": true}"#).unwrap(),
            TypingCommand { typing: true }
        );
        assert_eq!(
            TypingCommand::parse(br#"{"typing": false, "x": 1}"#).unwrap(),
            TypingCommand { typing: false }
        );
        for bad in [
            &br#"{"typing": "yes"}"#[..],
            br#"{"typing": 1}"#,
            br#"{"typing": null}"#,
            br#"{}"#,
            br#"true"#,
            b"",
            b"{",
        ] {
            assert_eq!(
                TypingCommand::parse(bad).unwrap_err().code(),
                "invalid_body",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_true_per_member_and_room_per_window() {
        let t = TypingThrottle::default();
        let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
        let (a, b) = (UserId::parse("a").unwrap(), UserId::parse("b").unwrap());
        assert!(t.claim(&r1, &a, TYPING_WINDOW));
        assert!(!t.claim(&r1, &a, TYPING_WINDOW));
        // Another member, another room: their own windows.
        assert!(t.claim(&r1, &b, TYPING_WINDOW));
        assert!(t.claim(&r2, &a, TYPING_WINDOW));
        tokio::time::advance(Duration::from_millis(1_999)).await;
        assert!(!t.claim(&r1, &a, TYPING_WINDOW));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(t.claim(&r1, &a, TYPING_WINDOW));
    }

    #[test]
    fn a_false_is_relayed_once_after_a_relayed_true() {
        let mut s = SessionTyping::default();
        let r = RoomId::new_random();
        assert!(!s.take_false(&r), "nothing to take back");
        s.relayed_true(r);
        s.relayed_true(r);
        assert!(s.take_false(&r));
        assert!(!s.take_false(&r));
        // Bounded: the oldest room is forgotten.
        let rooms: Vec<RoomId> = (0..=MAX_SESSION_ROOMS)
            .map(|_| RoomId::new_random())
            .collect();
        for room in &rooms {
            s.relayed_true(*room);
        }
        assert!(!s.take_false(&rooms[0]));
        assert!(s.take_false(&rooms[MAX_SESSION_ROOMS]));
    }
}
