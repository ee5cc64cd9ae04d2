//! Read marks and unread counts (API-v2 "Read marks and unread counts"): the `{"upTo"}` body,
//! moving a member's mark, and the caller's unread totals. The counts themselves are a
//! subtraction of counters storage keeps (`Room::unread_for`); nothing here scans history.

use std::sync::Arc;

use serde::Serialize;

use crate::error::ChatError;
use crate::events::{ReadMoved, RoomEvent};
use crate::ids::{RoomId, UserId};
use crate::model::MarkReadOutcome;
use crate::service::ChatService;

/// Most rooms `GET /room/unread` adds up: far more than anyone chats in, so the total is exact
/// for every real user, and bounded for a misbehaving one.
pub const MAX_ROOMS_COUNTED: u32 = 100_000;

/// A validated read mark request: the id to read up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadCommand {
    /// A positive message id (past the room's newest is taken as the newest).
    pub up_to: i64,
}

impl ReadCommand {
    /// Reads `{"upTo": 42}`: `upTo` must be a positive integer (not a string, a fraction, zero
    /// or negative); other fields are ignored, as everywhere in the contract.
    pub fn parse(body: &[u8]) -> Result<ReadCommand, ChatError> {
        let invalid = || {
            ChatError::bad(
                "invalid_body",
                "the body must be a JSON object {\"upTo\": <a positive message id>}",
            )
        };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| invalid())?;
        let up_to = value
            .get("upTo")
            .and_then(serde_json::Value::as_i64)
            .filter(|n| *n > 0)
            .ok_or_else(invalid)?;
        Ok(ReadCommand { up_to })
    }
}

/// The caller's unread totals, as `GET /room/unread` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnreadSummary {
    /// Unread messages over all the caller's rooms.
    pub total: i64,
    /// Rooms with at least one unread message.
    pub rooms: i64,
}

impl UnreadSummary {
    /// Adds up per-room counts.
    pub fn of(counts: &[i64]) -> UnreadSummary {
        counts
            .iter()
            .filter(|n| **n > 0)
            .fold(UnreadSummary::default(), |s, n| UnreadSummary {
                total: s.total + n,
                rooms: s.rooms + 1,
            })
    }
}

impl ChatService {
    /// Moves the caller's read mark in `room` to `cmd.up_to` (or the newest message before
    /// it). `Some(id)` when the mark moved to message `id`, `None` when it was there already.
    pub async fn mark_read(
        &self,
        caller: &UserId,
        room: &RoomId,
        cmd: ReadCommand,
    ) -> Result<Option<i64>, ChatError> {
        let outcome = self
            .store()
            .mark_read(room, caller, cmd.up_to)
            .await
            .map_err(|e| e.into_chat_error("mark_read", Some(room)))?;
        match outcome {
            MarkReadOutcome::NoSuchRoom => Err(ChatError::RoomNotFound),
            MarkReadOutcome::NotMember => Err(ChatError::NotMember),
            MarkReadOutcome::Unchanged => Ok(None),
            MarkReadOutcome::Moved(id) => {
                // The members' streams need the room as it is now (with its newest message),
                // which the mark's transaction did not read: one read, only when it moved.
                match self.store().room(room).await {
                    Ok(Some(after)) => {
                        self.publish(RoomEvent::Read(ReadMoved {
                            user: caller.clone(),
                            up_to: id,
                            room: Arc::new(after),
                        }))
                        .await
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, room = %room, "room after a read mark"),
                }
                Ok(Some(id))
            }
        }
    }

    /// The caller's unread messages and rooms.
    pub async fn unread(&self, caller: &UserId) -> Result<UnreadSummary, ChatError> {
        let counts = self
            .store()
            .unread_counts(caller, MAX_ROOMS_COUNTED)
            .await
            .map_err(|e| e.into_chat_error("unread", None))?;
        Ok(UnreadSummary::of(&counts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_must_be_a_positive_integer() {
        assert_eq!(
            ReadCommand::parse(br#"{"upTo": 42}"#).unwrap(),
            ReadCommand { up_to: 42 }
        );
        assert_eq!(
            ReadCommand::parse(br#"{"upTo": 9007199254740993, "extra": true}"#).unwrap(),
            ReadCommand {
                up_to: 9_007_199_254_740_993
            }
        );
        for bad in [
            &br#"{"upTo": 0}"#[..],
            br#"{"upTo": -1}"#,
            br#"{"upTo": 1.5}"#,
            br#"{"upTo": "42"}"#,
            br#"{"upTo": null}"#,
            br#"{"upTo": 1e3}"#,
            br#"{"upTo": 99999999999999999999}"#,
            br#"{}"#,
            br#"[42]"#,
            br#"42"#,
            b"",
            b"{",
        ] {
            let e = ReadCommand::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_body", "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn totals_count_rooms_with_something_unread() {
        assert_eq!(UnreadSummary::of(&[]), UnreadSummary::default());
        assert_eq!(
            UnreadSummary::of(&[0, 3, 0, 1, 0]),
            UnreadSummary { total: 4, rooms: 2 }
        );
    }
}
