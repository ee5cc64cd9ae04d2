//! Online status and last seen (API-v2, "Typing and online status"): telling a user's partners
//! when their first session starts and their last ends (also when a node died), keeping the
//! time durably, and the `lastSeenAt` of a room's members.

use std::collections::BTreeMap;
use std::sync::Weak;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::ChatError;
use crate::events::{PresenceChange, RoomEvent};
use crate::ids::{RoomId, UserId};
use crate::model::Millis;
use crate::service::ChatService;

impl ChatService {
    /// `user` came online: their partners' sessions are told.
    pub(crate) async fn announce_online(&self, user: &UserId) {
        self.announce(user, true, None).await;
    }

    /// `user` went offline at `at`: the time is kept (it survives restarts) and their partners'
    /// sessions are told.
    pub(crate) async fn announce_offline(&self, user: &UserId, at: Millis) {
        if let Err(e) = self.store().record_last_seen(user, at).await {
            tracing::warn!(error = %e, user = %user, "cannot store last seen");
        }
        self.announce(user, false, Some(at)).await;
    }

    async fn announce(&self, user: &UserId, online: bool, last_seen: Option<Millis>) {
        let to = match self
            .store()
            .partners(user, self.limits().max_rooms_listed)
            .await
        {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(error = %e, user = %user, "cannot read whom to tell of presence");
                return;
            }
        };
        if to.is_empty() {
            return;
        }
        self.publish(RoomEvent::Presence(PresenceChange {
            user: user.clone(),
            online,
            last_seen,
            to,
        }))
        .await;
    }

    /// The `members` of `room` who are not `online` and were before, with when: for
    /// `GET /room/{id}/presence`.
    pub(crate) async fn last_seen_of(
        &self,
        room: &RoomId,
        members: &[UserId],
        online: &[UserId],
    ) -> Result<BTreeMap<UserId, Millis>, ChatError> {
        let away: Vec<UserId> = members
            .iter()
            .filter(|m| !online.contains(m))
            .cloned()
            .collect();
        if away.is_empty() {
            return Ok(BTreeMap::new());
        }
        let seen = self
            .store()
            .last_seen(&away)
            .await
            .map_err(|e| e.into_chat_error("last_seen", Some(room)))?;
        Ok(seen.into_iter().collect())
    }
}

/// Follows the users a presence backend found gone with a dead node, and tells their partners
/// (with the moment it was found as their last seen). Ends when the backend drops its side or
/// the service is gone (held weakly: the service owns the presence that reports).
pub fn follow_departures(
    service: Weak<ChatService>,
    mut departures: mpsc::Receiver<UserId>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(user) = departures.recv().await {
            let Some(service) = service.upgrade() else {
                return;
            };
            service.announce_offline(&user, Millis::now()).await;
        }
    })
}
