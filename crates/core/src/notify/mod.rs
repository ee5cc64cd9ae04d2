//! Offline notifications (API-v2 "Notifications"): which member of which message is told, how
//! a burst of messages becomes one notification, the browsers' push subscriptions, and the
//! port of the durable outbox that senders deliver from.

mod burst;
mod model;
pub mod notifier;
mod port;
mod use_cases;

pub use burst::{Burst, Coalescing, LatestNotification};
pub use model::{
    Candidate, EndpointPolicy, PushSubscription, QueuedNotification, StoredSubscription,
    MAX_ENDPOINT_BYTES,
};
pub use notifier::NotifyQueue;
pub use port::NotificationStore;
