//! The listing's and notifications' settings (`--service-token`, `--vapid-private-key`,
//! `--vapid-subject`, `--push-webhook`, `--push-webhook-secret`, `--push-allow-http-loopback`,
//! `--reminder-lead-secs`, `--notify-gather-ms`, `--notify-burst-gap-secs`), validated: a key
//! that does not load or a webhook without its secret stops the start, naming the flag.

use std::time::Duration;

use chat_core::notify::{Coalescing, EndpointPolicy};
use chat_push::{PushConfig, VapidKey, WebPushConfig, WebhookConfig};

use crate::config::{bad, ConfigError, RawSettings};

/// Validated settings of the listing and of notifications.
#[derive(Clone)]
pub struct NotifySettings {
    /// The marketplace backend's bearer token; `None` refuses its calls.
    pub service_token: Option<String>,
    /// The push channels; notifications are queued only when one is on.
    pub push: PushConfig,
    /// Which push endpoints subscriptions may name.
    pub endpoints: EndpointPolicy,
    /// How long before an appointment its reminder comes.
    pub reminder_lead: Duration,
    /// How bursts of messages become one notification.
    pub coalescing: Coalescing,
}

impl std::fmt::Debug for NotifySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySettings")
            .field("service_token", &self.service_token.as_ref().map(|_| "…"))
            .field("web_push", &self.push.web_push.is_some())
            .field(
                "webhook",
                &self.push.webhook.as_ref().map(|w| w.url.as_str()),
            )
            .field("endpoints", &self.endpoints)
            .field("reminder_lead", &self.reminder_lead)
            .field("coalescing", &self.coalescing)
            .finish()
    }
}

impl NotifySettings {
    pub(crate) fn resolve(raw: &RawSettings) -> Result<Self, ConfigError> {
        let service_token = match &raw.service_token {
            Some(t) if t.len() < 16 => {
                return Err(bad("--service-token", "must be at least 16 bytes"))
            }
            other => other.clone(),
        };
        let subject = raw
            .vapid_subject
            .clone()
            .unwrap_or_else(|| "mailto:ops@localhost".to_owned());
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err(bad("--vapid-subject", "must be a mailto: or https: URL"));
        }
        let web_push = match &raw.vapid_private_key {
            None => None,
            Some(path) => {
                let pem = std::fs::read_to_string(path).map_err(|e| {
                    bad(
                        "--vapid-private-key",
                        format!("cannot read {}: {e}", path.display()),
                    )
                })?;
                let key = VapidKey::from_pem(&pem)
                    .map_err(|e| bad("--vapid-private-key", e.to_string()))?;
                Some(WebPushConfig { key, subject })
            }
        };
        let webhook = match (&raw.push_webhook, &raw.push_webhook_secret) {
            (None, None) => None,
            (Some(url), Some(secret)) => Some(
                WebhookConfig::new(url, secret)
                    .map_err(|e| bad("--push-webhook", e.to_string()))?,
            ),
            (Some(_), None) => {
                return Err(bad(
                    "--push-webhook-secret",
                    "is needed with --push-webhook",
                ))
            }
            (None, Some(_)) => {
                return Err(bad(
                    "--push-webhook",
                    "is needed with --push-webhook-secret",
                ))
            }
        };
        let reminder_lead = Duration::from_secs(raw.reminder_lead_secs.unwrap_or(3600));
        if !(Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600)).contains(&reminder_lead) {
            return Err(bad("--reminder-lead-secs", "must be between 1 and 604800"));
        }
        let gather_ms = raw.notify_gather_ms.unwrap_or(2_000);
        if gather_ms > 600_000 {
            return Err(bad("--notify-gather-ms", "must be at most 600000"));
        }
        let gap_secs = raw.notify_burst_gap_secs.unwrap_or(300);
        if gap_secs > 24 * 3600 {
            return Err(bad("--notify-burst-gap-secs", "must be at most 86400"));
        }
        Ok(NotifySettings {
            service_token,
            push: PushConfig {
                web_push,
                webhook,
                tuning: Default::default(),
            },
            endpoints: EndpointPolicy {
                allow_http_loopback: raw.push_allow_http_loopback.unwrap_or(false),
            },
            reminder_lead,
            coalescing: Coalescing {
                gather_ms: gather_ms as i64,
                burst_gap_ms: (gap_secs * 1000) as i64,
            },
        })
    }
}
