//! The safety use cases of the chat service: block, unblock, list blocks, report, and the
//! operators' list of reports.

use std::sync::Arc;

use crate::error::ChatError;
use crate::ids::UserId;
use crate::model::RoomEvent;
use crate::ports::ReportOutcome;
use crate::service::ChatService;

use super::reports::{page_params, NewReport, ReportsPage, SNAPSHOT_MESSAGES};
use super::Blocks;

impl ChatService {
    /// `caller` blocks the user `body` names (`POST /user/blocks`). In force at once on every
    /// node: storage refuses sends between them from now on, and every node's cache forgets
    /// both users.
    pub async fn block(&self, caller: &UserId, body: &[u8]) -> Result<(), ChatError> {
        let user = Blocks::parse(caller, body)?;
        if self.blocks.block(caller, &user).await? {
            self.blocks_changed(caller, &user).await;
            // Presence stops: each now sees the other as away, as a blocked user would see
            // anyone who went offline (no time: none is told).
            for (who, to) in [(caller, &user), (&user, caller)] {
                self.publish(RoomEvent::Presence(crate::events::PresenceChange {
                    user: who.clone(),
                    online: false,
                    last_seen: None,
                    to: vec![to.clone()],
                }))
                .await;
            }
        }
        Ok(())
    }

    /// `caller` lifts a block (`DELETE /user/blocks/{user}`); lifting one that is not there is
    /// no error (the end state is the same).
    pub async fn unblock(&self, caller: &UserId, user: &str) -> Result<(), ChatError> {
        let user = UserId::parse(user)?;
        if self.blocks.unblock(caller, &user).await? {
            self.blocks_changed(caller, &user).await;
            self.tell_presence_again(caller, &user).await;
        }
        Ok(())
    }

    /// Refuses `caller`'s work in `room` (as the caller's membership check read it) while one
    /// of its two members blocks the other: a photo upload, which could never be sent (the send
    /// itself is refused by storage).
    pub async fn ensure_not_blocked(
        &self,
        caller: &UserId,
        room: &crate::model::Room,
    ) -> Result<(), ChatError> {
        self.blocks
            .list()
            .check(caller, room.counterpart(caller))
            .await
    }

    /// Whom `caller` blocks (`GET /user/blocks`).
    pub async fn blocked_users(&self, caller: &UserId) -> Result<Vec<UserId>, ChatError> {
        self.blocks.blocked_by(caller).await
    }

    /// After a block is lifted, each of the two is told the other's presence as it is now,
    /// which the block had hidden. Advisory: a presence failure tells nothing.
    async fn tell_presence_again(&self, a: &UserId, b: &UserId) {
        let pair = [a.clone(), b.clone()];
        let online = match self.presence().online(&pair).await {
            Ok(online) => online,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read presence after an unblock");
                return;
            }
        };
        let seen = match self.store().last_seen(&pair).await {
            Ok(seen) => seen,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read last seen after an unblock");
                Vec::new()
            }
        };
        for (who, to) in [(a, b), (b, a)] {
            let is_online = online.contains(who);
            let last_seen = if is_online {
                None
            } else {
                seen.iter().find(|(u, _)| u == who).map(|(_, at)| *at)
            };
            self.publish(RoomEvent::Presence(crate::events::PresenceChange {
                user: who.clone(),
                online: is_online,
                last_seen,
                to: vec![to.clone()],
            }))
            .await;
        }
    }

    async fn blocks_changed(&self, a: &UserId, b: &UserId) {
        // This node at once, whatever the bus does; the others through the bus.
        self.blocks.list().forget(&[a.clone(), b.clone()]);
        self.publish(RoomEvent::BlocksChanged([a.clone(), b.clone()]))
            .await;
    }

    /// Stores `caller`'s report (`POST /report`) with the room's last messages as evidence and
    /// queues its mail to the operators; returns its id.
    pub async fn report(&self, caller: &UserId, body: &[u8]) -> Result<i64, ChatError> {
        let report = Arc::new(NewReport::parse(caller, body)?);
        let mail_of = report.clone();
        let outcome = self
            .safety
            .save_report(&report, SNAPSHOT_MESSAGES, &move |id, messages| {
                mail_of.mail(id, messages)
            })
            .await
            .map_err(|e| e.into_chat_error("save_report", Some(&report.room)))?;
        match outcome {
            ReportOutcome::Saved(id) => {
                self.wake_mailer();
                Ok(id)
            }
            ReportOutcome::NoSuchRoom => Err(ChatError::RoomNotFound),
            ReportOutcome::NotMember => Err(ChatError::NotMember),
            ReportOutcome::NoSuchMessage => Err(ChatError::bad(
                "invalid_message_id",
                "'messageId' is not a message of this room",
            )),
        }
    }

    /// A page of reports for the operators (`GET /admin/reports`), newest first.
    pub async fn reports(
        &self,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<ReportsPage, ChatError> {
        let (before, limit) = page_params(before, limit)?;
        // One more than asked tells whether a next page exists.
        let mut reports = self
            .safety
            .reports(before, limit + 1)
            .await
            .map_err(|e| e.into_chat_error("reports", None))?;
        let next = if reports.len() > limit as usize {
            reports.truncate(limit as usize);
            reports.last().map(|r| r.id)
        } else {
            None
        };
        Ok(ReportsPage { reports, next })
    }
}
