//! The appointment reminder loop: every node looks for due reminders now and then, and storage
//! lets exactly one of them post each (API-v2 "The listing"). Reminders are rows, not timers,
//! so they survive restarts and fire late rather than never when every node was down.

use std::sync::Weak;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::model::Millis;
use crate::service::ChatService;

/// Counter: appointment reminders this node posted.
pub const REMINDERS_POSTED: &str = "reuse_chat_reminders_posted_total";

/// Starts the loop: every `every`, posts what is due. It holds the service weakly, so it never
/// keeps a stopping server alive, and ends when the service is gone.
pub fn spawn(service: Weak<ChatService>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let posted = metrics::counter!(REMINDERS_POSTED);
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(service) = service.upgrade() else {
                return;
            };
            match service.post_due_reminders(Millis::now()).await {
                Ok(n) => posted.increment(n as u64),
                // Logged where it happened; the next tick tries again.
                Err(e) => tracing::debug!(error = %e, "reminders: will try again"),
            }
        }
    })
}
