//! Offline notifications' delivery for reuse-chat: a background sender drains the outbox
//! (`chat_core::notify::NotificationStore`) to Web Push subscriptions (RFC 8030 with VAPID,
//! RFC 8292, and aes128gcm payloads, RFC 8291) and to the marketplace's own push service as a
//! signed webhook, with bounded concurrency, timeouts, retries and backoff.

mod config;
mod payload;
mod sender;
mod webhook;
mod webpush;

pub use config::{PushConfig, PushError, PushTuning, WebPushConfig, WebhookConfig};
pub use payload::Payload;
pub use sender::spawn;
pub use webhook::signature;
pub use webpush::VapidKey;
