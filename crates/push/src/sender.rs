//! The background sender: claims due notifications from the outbox, delivers each to every
//! target of its member (each Web Push subscription, the webhook) at once, records the
//! outcome, and retries what failed with backoff, skipping the targets already reached.
//!
//! Concurrency is bounded by a semaphore: a claim is made only for free slots, and each
//! delivery runs in its own task, so an endpoint that hangs holds one slot for one request
//! timeout and delays nothing else (and never chat delivery, which does not wait for any of
//! this). Exactly once as far as the protocols allow: a notification is delivered only under a
//! claim no other sender holds, marked done as soon as every target answered, and retried with
//! the same `Topic` and `Idempotency-Key`, so a push service or the webhook receiver can drop
//! a repeat after a crash between delivery and record.

use std::sync::Arc;
use std::time::Duration;

use chat_core::backoff::retry_delay;
use chat_core::notify::{NotificationStore, QueuedNotification};
use chat_core::Millis;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{PushConfig, PushError};
use crate::payload::Payload;

/// Counter: deliveries to a target that it accepted, by `channel`.
pub const PUSH_DELIVERED: &str = "reuse_chat_push_delivered_total";
/// Counter: deliveries that failed and will be retried, by `channel`.
pub const PUSH_FAILED: &str = "reuse_chat_push_failed_total";
/// Counter: Web Push subscriptions removed because their push service said they are gone.
pub const PUSH_GONE: &str = "reuse_chat_push_subscriptions_gone_total";

/// The target name of the webhook in a notification's done list.
const WEBHOOK: &str = "webhook";

/// How one request to one target ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Accepted.
    Delivered,
    /// The subscription is gone (`404`/`410`) or unusable: removed, never retried.
    Gone(String),
    /// Refused for good (another `4xx`): retrying would not help.
    Refused(String),
    /// Failed for now (network, timeout, `408`, `429`, `5xx`): retried later.
    Retry(String),
}

impl Delivery {
    /// What an HTTP status means.
    pub(crate) fn from_status(status: u16, channel: &str) -> Delivery {
        match status {
            200..=299 => Delivery::Delivered,
            404 | 410 => Delivery::Gone(format!("{channel}: {status}")),
            408 | 425 | 429 | 500..=599 => Delivery::Retry(format!("{channel}: {status}")),
            _ => Delivery::Refused(format!("{channel}: {status}")),
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

struct Sender {
    store: Arc<dyn NotificationStore>,
    config: PushConfig,
    client: reqwest::Client,
    node: String,
}

/// Starts the sender. `node` names this process in claims; `wake` is signalled when the
/// notifier queued something; `shutdown` stops it once the deliveries in flight are recorded.
pub fn spawn(
    store: Arc<dyn NotificationStore>,
    config: &PushConfig,
    node: &str,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, PushError> {
    let client = reqwest::Client::builder()
        .timeout(config.tuning.request_timeout)
        .connect_timeout(config.tuning.request_timeout)
        // A push endpoint or the webhook must answer itself: a redirect could point anywhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("reuse-chat")
        .build()
        .map_err(|e| PushError::Client(e.to_string()))?;
    let sender = Arc::new(Sender {
        store,
        config: config.clone(),
        client,
        node: node.to_owned(),
    });
    tracing::info!(
        web_push = config.web_push.is_some(),
        webhook = config.webhook.as_ref().map(|w| w.url.as_str()),
        "sending offline notifications"
    );
    Ok(tokio::spawn(run(sender, wake, shutdown)))
}

async fn run(sender: Arc<Sender>, wake: Arc<Notify>, shutdown: CancellationToken) {
    let tuning = sender.config.tuning.clone();
    let slots = Arc::new(Semaphore::new(tuning.concurrency.max(1)));
    let claimer = format!("push/{}", sender.node);
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        // Wait for a free slot, then claim as many as are free.
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let free = 1 + slots.available_permits();
        let now = Millis::now();
        let lease_until = Millis(now.0.saturating_add(millis(tuning.lease)));
        let claimed = match sender
            .store
            .claim_notifications(&claimer, now, lease_until, free as u32)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim notifications from the outbox");
                Vec::new()
            }
        };
        let idle = claimed.is_empty();
        let mut first = Some(first);
        for n in claimed {
            let permit = match first.take() {
                Some(p) => p,
                None => match slots.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let s = sender.clone();
            let claimer = claimer.clone();
            tasks.spawn(async move {
                s.deliver(n, &claimer).await;
                drop(permit);
            });
        }
        drop(first);
        while tasks.try_join_next().is_some() {}
        if idle {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(tuning.poll_interval) => {}
            }
        }
    }
    // Deliveries in flight finish (each within a request timeout) and are recorded.
    while tasks.join_next().await.is_some() {}
    if let Err(e) = sender.store.release_notifications(&claimer).await {
        tracing::warn!(error = %e, "cannot release claimed notifications");
    }
    tracing::info!("notification sender stopped");
}

impl Sender {
    /// Delivers `n` to each of its targets not reached yet, then records the outcome.
    async fn deliver(&self, n: QueuedNotification, claimer: &str) {
        let payload = Payload::of(&n).to_bytes();
        let mut done = n.done.clone();
        let mut errors: Vec<String> = Vec::new();
        let mut attempts: Vec<(
            String,
            &'static str,
            futures::future::BoxFuture<'_, Delivery>,
        )> = Vec::new();
        if let Some(webhook) = &self.config.webhook {
            if !done.iter().any(|d| d == WEBHOOK) {
                let body = payload.clone();
                attempts.push((
                    WEBHOOK.to_owned(),
                    "webhook",
                    Box::pin(crate::webhook::post(&self.client, webhook, n.id, body)),
                ));
            }
        }
        let mut gone_ids = Vec::new();
        if let Some(web_push) = &self.config.web_push {
            match self.store.push_subscriptions(&n.user).await {
                Ok(subscriptions) => {
                    let topic = format!("reuse-chat-n{}", n.id);
                    for s in subscriptions {
                        let key = format!("push:{}", s.id);
                        if done.contains(&key) {
                            continue;
                        }
                        gone_ids.push((key.clone(), s.id));
                        let (client, payload, topic) = (&self.client, &payload, topic.clone());
                        attempts.push((
                            key,
                            "web_push",
                            Box::pin(async move {
                                crate::webpush::send(
                                    client,
                                    web_push,
                                    &s.subscription,
                                    &topic,
                                    payload,
                                )
                                .await
                            }),
                        ));
                    }
                }
                Err(e) => errors.push(format!("subscriptions: {e}")),
            }
        }
        let (keys, futures): (Vec<_>, Vec<_>) = attempts
            .into_iter()
            .map(|(key, channel, f)| ((key, channel), f))
            .unzip();
        let outcomes = futures::future::join_all(futures).await;
        for ((key, channel), outcome) in keys.into_iter().zip(outcomes) {
            match outcome {
                Delivery::Delivered => {
                    metrics::counter!(PUSH_DELIVERED, "channel" => channel).increment(1);
                    done.push(key);
                }
                Delivery::Gone(why) => {
                    if let Some((_, id)) = gone_ids.iter().find(|(k, _)| k == &key) {
                        metrics::counter!(PUSH_GONE).increment(1);
                        tracing::info!(subscription = id, %why, "push subscription gone: removed");
                        if let Err(e) = self.store.forget_push_subscription(*id).await {
                            tracing::warn!(error = %e, "cannot remove a gone push subscription");
                        }
                    } else {
                        tracing::warn!(%why, "notification refused");
                    }
                    done.push(key);
                }
                Delivery::Refused(why) => {
                    tracing::warn!(id = n.id, %why, "notification refused for good");
                    done.push(key);
                }
                Delivery::Retry(why) => {
                    metrics::counter!(PUSH_FAILED, "channel" => channel).increment(1);
                    errors.push(why);
                }
            }
        }
        let now = Millis::now();
        let expired =
            now.0.saturating_sub(n.created_at.0) > millis(self.config.tuning.give_up_after);
        let recorded = if errors.is_empty() || expired {
            if !errors.is_empty() {
                tracing::warn!(id = n.id, errors = ?errors, "notification given up: too old");
            }
            self.store.notification_done(n.id, claimer, now).await
        } else {
            let attempts = n.attempts.saturating_add(1);
            let t = &self.config.tuning;
            let delay = retry_delay(attempts, t.retry_base, t.retry_cap, rand::random::<f64>());
            tracing::debug!(id = n.id, attempts, errors = ?errors, "notification will be retried");
            let retry_at = Millis(now.0.saturating_add(millis(delay)));
            self.store
                .notification_failed(n.id, claimer, retry_at, &errors.join("; "), &done)
                .await
        };
        if let Err(e) = recorded {
            // The lease lapses and it is tried again, with the same idempotency key.
            tracing::warn!(id = n.id, error = %e, "cannot record a notification's delivery");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_say_whether_to_retry() {
        assert_eq!(Delivery::from_status(201, "x"), Delivery::Delivered);
        assert!(matches!(Delivery::from_status(410, "x"), Delivery::Gone(_)));
        assert!(matches!(Delivery::from_status(404, "x"), Delivery::Gone(_)));
        assert!(matches!(
            Delivery::from_status(503, "x"),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            Delivery::from_status(429, "x"),
            Delivery::Retry(_)
        ));
        assert!(matches!(
            Delivery::from_status(400, "x"),
            Delivery::Refused(_)
        ));
        assert!(matches!(
            Delivery::from_status(413, "x"),
            Delivery::Refused(_)
        ));
    }
}
