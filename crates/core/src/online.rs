//! Online status and last seen (API-v2, "Typing and online status"): telling a user's partners
//! when their first session starts and their last ends (also when a node died), keeping the
//! time durably, and the `lastSeenAt` of a room's members.
//!
//! A last session's end is told after a grace period ([`DomainLimits::presence_grace`]), and
//! only if the user has not come back by then: a phone that changes networks, or every page of
//! a restarted node reconnecting at once, makes nobody's screen flicker offline-online, and costs
//! no partner lookup, no write of the last seen time and no event.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::ChatError;
use crate::events::{PresenceChange, RoomEvent};
use crate::ids::{RoomId, UserId};
use crate::limits::DomainLimits;
use crate::model::Millis;
use crate::ports::{Bus, ChatStore, Presence};
use crate::service::ChatService;

/// Offline users waiting out their grace; past it a user is told offline at once.
const PENDING_QUEUE: usize = 65_536;

/// Tells partners about a user's presence; owned by the service, its grace timer holds it weakly.
pub(crate) struct Announcer {
    store: Arc<dyn ChatStore>,
    bus: Arc<dyn Bus>,
    presence: Arc<dyn Presence>,
    /// Users who block each other are not told of each other's presence.
    blocks: Arc<crate::safety::BlockList>,
    max_partners: u32,
    /// Users whose last session ended here and who are not told offline yet: since when.
    pending: Mutex<HashMap<UserId, Millis>>,
    queue: mpsc::Sender<(UserId, Millis, Instant)>,
}

impl Announcer {
    /// The announcer and its grace timer (which ends with the announcer).
    pub(crate) fn spawn(
        store: Arc<dyn ChatStore>,
        bus: Arc<dyn Bus>,
        presence: Arc<dyn Presence>,
        blocks: Arc<crate::safety::BlockList>,
        limits: &DomainLimits,
    ) -> Arc<Announcer> {
        let (queue, rx) = mpsc::channel(PENDING_QUEUE);
        let announcer = Arc::new(Announcer {
            store,
            bus,
            presence,
            blocks,
            max_partners: limits.max_rooms_listed,
            pending: Mutex::new(HashMap::new()),
            queue,
        });
        tokio::spawn(wait_out_graces(
            Arc::downgrade(&announcer),
            rx,
            limits.presence_grace,
        ));
        announcer
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<UserId, Millis>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `user`'s first session began: their partners are told, unless the user is back within
    /// the grace of a departure nobody was told of yet.
    pub(crate) async fn came_online(&self, user: &UserId) {
        if self.pending().remove(user).is_some() {
            return;
        }
        self.announce(user, true, None).await;
    }

    /// `user`'s last session ended at `at`: told after the grace unless they come back.
    pub(crate) async fn went_offline(&self, user: &UserId, at: Millis) {
        self.pending().insert(user.clone(), at);
        if self
            .queue
            .try_send((user.clone(), at, Instant::now()))
            .is_err()
        {
            self.pending().remove(user);
            self.offline_now(user, at).await;
        }
    }

    /// Tells `user`'s partners they went offline at `at` now, and keeps the time.
    pub(crate) async fn offline_now(&self, user: &UserId, at: Millis) {
        if let Err(e) = self.store.record_last_seen(user, at).await {
            tracing::warn!(error = %e, user = %user, "cannot store last seen");
        }
        self.announce(user, false, Some(at)).await;
    }

    async fn announce(&self, user: &UserId, online: bool, last_seen: Option<Millis>) {
        let to = match self.store.partners(user, self.max_partners).await {
            Ok(mut to) => {
                match self.blocks.relations(user).await {
                    Ok(blocked) if !blocked.is_empty() => to.retain(|u| !blocked.contains(u)),
                    Ok(_) => {}
                    // Presence is advisory; without the block list nobody is told.
                    Err(e) => {
                        tracing::warn!(error = %e, user = %user, "cannot read blocks for presence");
                        return;
                    }
                }
                to
            }
            Err(e) => {
                tracing::warn!(error = %e, user = %user, "cannot read whom to tell of presence");
                return;
            }
        };
        if to.is_empty() {
            return;
        }
        let event = RoomEvent::Presence(PresenceChange {
            user: user.clone(),
            online,
            last_seen,
            to,
        });
        if let Err(e) = self.bus.publish(event).await {
            tracing::warn!(error = %e, "publish of a presence change failed");
        }
    }

    /// The grace of `user`'s departure at `at` is over: told unless they came back (here, or
    /// on another node: presence says).
    async fn grace_over(&self, user: &UserId, at: Millis) {
        {
            let mut pending = self.pending();
            if pending.get(user) != Some(&at) {
                return;
            }
            pending.remove(user);
        }
        match self.presence.online(std::slice::from_ref(user)).await {
            Ok(online) if !online.is_empty() => {}
            Ok(_) => self.offline_now(user, at).await,
            Err(e) => {
                // Presence is advisory: without it, tell what this node saw.
                tracing::warn!(error = %e, "presence unavailable; announcing a departure");
                self.offline_now(user, at).await;
            }
        }
    }
}

/// Departures arrive in the order they happened and wait alike, so each waits for its own end.
async fn wait_out_graces(
    announcer: Weak<Announcer>,
    mut rx: mpsc::Receiver<(UserId, Millis, Instant)>,
    grace: Duration,
) {
    while let Some((user, at, since)) = rx.recv().await {
        tokio::time::sleep_until(since + grace).await;
        let Some(a) = announcer.upgrade() else {
            return;
        };
        a.grace_over(&user, at).await;
    }
}

impl ChatService {
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
/// at once (the node's expiry was their grace), with the moment it was found as their last
/// seen. Ends when the backend drops its side or the service is gone (held weakly: the service
/// owns the presence that reports).
pub fn follow_departures(
    service: Weak<ChatService>,
    mut departures: mpsc::Receiver<UserId>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(user) = departures.recv().await {
            let Some(service) = service.upgrade() else {
                return;
            };
            service.announcer().offline_now(&user, Millis::now()).await;
        }
    })
}
