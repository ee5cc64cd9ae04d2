//! The sender's settings: which channels are on, and its timing.

use std::time::Duration;

use thiserror::Error;

use crate::webpush::VapidKey;

/// Why the sender cannot start.
#[derive(Debug, Error)]
pub enum PushError {
    /// The VAPID key file does not hold a P-256 private key in PEM.
    #[error("VAPID key: {0}")]
    Vapid(String),
    /// The webhook's URL or secret is unusable.
    #[error("webhook: {0}")]
    Webhook(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// Web Push settings.
#[derive(Clone)]
pub struct WebPushConfig {
    /// The server's VAPID key (`--vapid-private-key`).
    pub key: VapidKey,
    /// The contact push services may reach the operator at (the JWT's `sub`).
    pub subject: String,
}

/// The marketplace push service's webhook.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where notifications are posted (`--push-webhook`).
    pub url: url::Url,
    /// The HMAC-SHA256 key of `X-Reuse-Signature` (`--push-webhook-secret`).
    pub secret: String,
}

impl WebhookConfig {
    /// Checks the URL (http or https) and that a secret is given.
    pub fn new(url: &str, secret: &str) -> Result<Self, PushError> {
        let url = url::Url::parse(url).map_err(|e| PushError::Webhook(format!("{url}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(PushError::Webhook(format!("{url}: not an http(s) URL")));
        }
        if secret.len() < 16 {
            return Err(PushError::Webhook(
                "--push-webhook-secret must be at least 16 characters".into(),
            ));
        }
        Ok(WebhookConfig {
            url,
            secret: secret.to_owned(),
        })
    }
}

/// How the sender paces itself.
#[derive(Clone, Debug)]
pub struct PushTuning {
    /// Deliveries in flight at once (each to all of its targets).
    pub concurrency: usize,
    /// Longest one request may take, connecting included.
    pub request_timeout: Duration,
    /// How long a claim holds a notification; longer than any delivery can take.
    pub lease: Duration,
    /// How often the outbox is looked at when nothing wakes the sender.
    pub poll_interval: Duration,
    /// The first retry's delay; doubled per failure up to `retry_cap`.
    pub retry_base: Duration,
    /// The longest delay between retries.
    pub retry_cap: Duration,
    /// A notification older than this is given up: news of a day-old message is no news.
    pub give_up_after: Duration,
}

impl Default for PushTuning {
    fn default() -> Self {
        PushTuning {
            concurrency: 32,
            request_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// Which channels the sender uses; notifications are queued only when one is on.
#[derive(Clone, Default)]
pub struct PushConfig {
    /// Web Push, with the server's VAPID key.
    pub web_push: Option<WebPushConfig>,
    /// The marketplace's own push service.
    pub webhook: Option<WebhookConfig>,
    /// Pacing.
    pub tuning: PushTuning,
}

impl PushConfig {
    /// Whether any channel is on.
    pub fn enabled(&self) -> bool {
        self.web_push.is_some() || self.webhook.is_some()
    }
}
