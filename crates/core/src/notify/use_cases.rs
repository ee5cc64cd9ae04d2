//! Notifications' use cases on [`ChatService`]: the browsers' push subscriptions, and handing
//! stored messages to the notifier.

use serde::Deserialize;

use crate::error::ChatError;
use crate::ids::UserId;
use crate::model::{Millis, Sequenced};
use crate::service::ChatService;

use super::PushSubscription;

impl ChatService {
    /// Keeps the caller's browser subscription (`POST /push/subscriptions`). Refused when the
    /// server sends no Web Push (no VAPID key): the subscription could never be used.
    pub async fn save_push_subscription(
        &self,
        caller: &UserId,
        body: &[u8],
    ) -> Result<(), ChatError> {
        let policy = self.push_policy.ok_or_else(push_disabled)?;
        let subscription = PushSubscription::parse(body, policy)?;
        self.notifications
            .save_push_subscription(
                caller,
                &subscription,
                Millis::now(),
                self.limits().max_push_subscriptions,
            )
            .await
            .map_err(|e| e.into_chat_error("save_push_subscription", None))
    }

    /// Removes the caller's subscription with the body's `{"endpoint"}` (none is no error:
    /// a browser may ask twice).
    pub async fn delete_push_subscription(
        &self,
        caller: &UserId,
        body: &[u8],
    ) -> Result<(), ChatError> {
        #[derive(Deserialize)]
        struct Body {
            endpoint: serde_json::Value,
        }
        let b: Body = serde_json::from_slice(body)
            .map_err(|_| ChatError::bad("invalid_body", r#"the body must be {"endpoint": URL}"#))?;
        let endpoint = b
            .endpoint
            .as_str()
            .filter(|e| !e.is_empty() && e.len() <= super::MAX_ENDPOINT_BYTES)
            .ok_or_else(|| ChatError::bad("invalid_endpoint", "'endpoint' must be a URL string"))?;
        self.notifications
            .delete_push_subscription(caller, endpoint)
            .await
            .map_err(|e| e.into_chat_error("delete_push_subscription", None))?;
        Ok(())
    }

    /// Whether this server sends Web Push (it has a VAPID key).
    pub fn web_push_enabled(&self) -> bool {
        self.push_policy.is_some()
    }

    /// Hands a stored message to the notifier, if notifications are on.
    pub(crate) fn notify_offline(&self, stored: &Sequenced) {
        if let Some(queue) = &self.notify {
            queue.offer(stored);
        }
    }

    /// How many notifications wait in the outbox (for operators' metrics).
    pub async fn notifications_pending(&self) -> Result<u64, ChatError> {
        self.notifications
            .pending_notifications()
            .await
            .map_err(|e| e.into_chat_error("pending_notifications", None))
    }
}

fn push_disabled() -> ChatError {
    ChatError::Conflict {
        code: "push_disabled",
        message: "this server sends no Web Push (it has no VAPID key)".into(),
    }
}
