//! The port storage implements for notifications: push subscriptions, and the outbox that the
//! notifier fills and senders drain under leases, like the inquiry outbox.

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ids::UserId;
use crate::model::Millis;

use super::{Candidate, Coalescing, PushSubscription, QueuedNotification, StoredSubscription};

/// Push subscriptions and the notification outbox.
#[async_trait]
pub trait NotificationStore: Send + Sync + 'static {
    /// Keeps `user`'s subscription (an endpoint already stored, for anyone, becomes this
    /// one: a browser belongs to whoever signed in last). Past `keep` subscriptions the
    /// user's oldest go.
    async fn save_push_subscription(
        &self,
        user: &UserId,
        subscription: &PushSubscription,
        at: Millis,
        keep: u32,
    ) -> Result<(), StoreError>;

    /// Removes `user`'s subscription with `endpoint`; whether there was one.
    async fn delete_push_subscription(
        &self,
        user: &UserId,
        endpoint: &str,
    ) -> Result<bool, StoreError>;

    /// Removes a subscription its push service says is gone (`404`/`410`).
    async fn forget_push_subscription(&self, id: i64) -> Result<(), StoreError>;

    /// `user`'s subscriptions.
    async fn push_subscriptions(
        &self,
        user: &UserId,
    ) -> Result<Vec<StoredSubscription>, StoreError>;

    /// Places each candidate by `rule` ([`Coalescing::place`]): it joins its burst's
    /// notification or starts a new one. Returns how many new ones were queued.
    async fn queue_notifications(
        &self,
        batch: &[Candidate],
        rule: &Coalescing,
        now: Millis,
    ) -> Result<u64, StoreError>;

    /// Claims up to `limit` due notifications for `claimer` until `lease_until`; no other
    /// claimer can hold them meanwhile.
    async fn claim_notifications(
        &self,
        claimer: &str,
        now: Millis,
        lease_until: Millis,
        limit: u32,
    ) -> Result<Vec<QueuedNotification>, StoreError>;

    /// Records a claimed notification delivered (or given up); false if the claim was lost.
    async fn notification_done(
        &self,
        id: i64,
        claimer: &str,
        at: Millis,
    ) -> Result<bool, StoreError>;

    /// Records a failed attempt: due again at `retry_at`, with the targets delivered so far.
    async fn notification_failed(
        &self,
        id: i64,
        claimer: &str,
        retry_at: Millis,
        error: &str,
        done: &[String],
    ) -> Result<bool, StoreError>;

    /// Hands back every claim of `claimer` (at shutdown).
    async fn release_notifications(&self, claimer: &str) -> Result<u64, StoreError>;

    /// How many notifications wait (for operators' metrics).
    async fn pending_notifications(&self) -> Result<u64, StoreError>;
}
