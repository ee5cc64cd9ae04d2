//! The background sender: claims due inquiries from the outbox, mails each, records the
//! outcome right after the server answers, backs off exponentially (with a cap and jitter) on
//! failure, and on shutdown finishes the send in flight, records it and hands back the rest.
//!
//! Exactly once: a row is only mailed under a claim that no other sender can hold at the same
//! time, a send is only started when it can end before the claim's lease does, and the row is
//! marked sent as soon as the server accepted it, so no later claim ever sees it again. The one
//! window is a crash (or a lost database) between the server's acceptance and that record: the
//! lease then lapses and the row is mailed again, with the same `Message-ID`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::backoff::retry_delay;
use chat_core::ports::InquiryOutbox;
use chat_core::{Millis, QueuedInquiry};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::{MailConfig, MailError, Mailer, SendError, SenderTuning};

/// What `/ready` says about mail: asynchronous, so it never makes the node unready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailStatus {
    /// No contact with the SMTP server yet.
    Unknown,
    /// The last delivery or check succeeded.
    Ok,
    /// The last delivery or check failed; inquiries wait in the outbox.
    Unavailable,
}

impl MailStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Unknown => "unknown",
            MailStatus::Ok => "ok",
            MailStatus::Unavailable => "unavailable",
        }
    }
}

/// The sender's latest [`MailStatus`], shared with whoever reports readiness.
#[derive(Clone, Debug, Default)]
pub struct MailHealth(Arc<AtomicU8>);

impl MailHealth {
    /// The latest status.
    pub fn status(&self) -> MailStatus {
        match self.0.load(Ordering::Relaxed) {
            1 => MailStatus::Ok,
            2 => MailStatus::Unavailable,
            _ => MailStatus::Unknown,
        }
    }

    /// Records `status`; returns the one before.
    fn set(&self, status: MailStatus) -> MailStatus {
        let v = match status {
            MailStatus::Unknown => 0,
            MailStatus::Ok => 1,
            MailStatus::Unavailable => 2,
        };
        let before = self.0.swap(v, Ordering::Relaxed);
        match before {
            1 => MailStatus::Ok,
            2 => MailStatus::Unavailable,
            _ => MailStatus::Unknown,
        }
    }
}

/// Starts the sender for `config`. `node` names this process in claims (unique per node);
/// `wake` is signalled after each stored inquiry; `health` receives its status; `shutdown`
/// stops it. The task ends once the send in flight (if any) is finished and recorded.
pub fn spawn(
    outbox: Arc<dyn InquiryOutbox>,
    config: &MailConfig,
    node: &str,
    wake: Arc<Notify>,
    health: MailHealth,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, MailError> {
    let sender = Sender {
        outbox,
        mailer: Mailer::new(config)?,
        tuning: config.tuning.clone(),
        node: node.to_owned(),
        wake,
        shutdown,
        health,
        seq: 0,
        last_contact: None,
    };
    tracing::info!(smtp = %config.smtp, to = %config.to, "mailing inquiries");
    Ok(tokio::spawn(sender.run()))
}

struct Sender {
    outbox: Arc<dyn InquiryOutbox>,
    mailer: Mailer,
    tuning: SenderTuning,
    node: String,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
    health: MailHealth,
    /// Numbers this node's claims, so each claim has its own token.
    seq: u64,
    last_contact: Option<Instant>,
}

/// How a round of claiming and sending ended.
enum Round {
    /// Nothing was due.
    Idle,
    /// Everything claimed was sent, and more may be due (a full batch, or the lease ran short).
    More,
    /// Everything claimed was sent; nothing more was due.
    Drained,
    /// A delivery or the outbox failed, or shutdown began: wait before the next round.
    Stopped,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Sender {
    async fn run(mut self) {
        loop {
            let round = self.round().await;
            if self.shutdown.is_cancelled() {
                break;
            }
            match round {
                Round::More => continue,
                Round::Idle if self.probe_due() => self.probe().await,
                Round::Idle | Round::Drained | Round::Stopped => {}
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.tuning.poll_interval) => {}
            }
        }
        tracing::info!("inquiry mailer stopped");
    }

    /// Claims a batch, sends it in order, records each outcome, and releases what it did not
    /// attempt.
    async fn round(&mut self) -> Round {
        self.seq += 1;
        let claimer = format!("{}/{}", self.node, self.seq);
        let now = Millis::now();
        let lease_until = Millis(now.0.saturating_add(millis(self.tuning.lease)));
        let claimed = match self
            .outbox
            .claim_due(&claimer, now, lease_until, self.tuning.batch)
            .await
        {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim inquiries from the outbox");
                return Round::Stopped;
            }
        };
        if claimed.is_empty() {
            return Round::Idle;
        }
        let mut outcome = if claimed.len() == self.tuning.batch as usize {
            Round::More
        } else {
            Round::Drained
        };
        for inquiry in &claimed {
            if self.shutdown.is_cancelled() {
                outcome = Round::Stopped;
                break;
            }
            // Never start a send that could still run when the lease lapses: another node
            // could claim the row meanwhile and mail it too. Claim afresh instead.
            let latest_end = Millis::now()
                .0
                .saturating_add(millis(self.tuning.send_timeout));
            if latest_end >= lease_until.0 {
                outcome = Round::More;
                break;
            }
            match self.mailer.send(inquiry).await {
                Ok(()) => {
                    self.contact(Ok(()));
                    self.record_sent(inquiry.id).await;
                }
                Err(e) => {
                    self.record_failure(inquiry, &claimer, &e).await;
                    self.contact(Err(&e));
                    outcome = Round::Stopped;
                    break;
                }
            }
        }
        match self.outbox.release(&claimer).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(released = n, "unattempted inquiries handed back"),
            // They become claimable when the lease lapses.
            Err(e) => tracing::warn!(error = %e, "cannot release claimed inquiries"),
        }
        outcome
    }

    /// Records an accepted delivery, retrying a few times: failing here is the one way an
    /// inquiry is mailed twice (the lease lapses and it goes out again).
    async fn record_sent(&self, id: i64) {
        let mut pause = Duration::from_millis(250);
        for attempt in 1..=4 {
            match self.outbox.mark_sent(id, Millis::now()).await {
                Ok(true) => {
                    tracing::info!(id, "inquiry mailed");
                    return;
                }
                Ok(false) => {
                    tracing::warn!(id, "inquiry mailed, but it was already recorded as sent");
                    return;
                }
                Err(e) if attempt < 4 => {
                    tracing::warn!(id, error = %e, "cannot record a mailed inquiry; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => tracing::error!(
                    id,
                    error = %e,
                    "inquiry mailed but not recorded: it will be mailed again when its claim lapses"
                ),
            }
        }
    }

    async fn record_failure(&self, inquiry: &QueuedInquiry, claimer: &str, error: &SendError) {
        let attempts = inquiry.attempts.saturating_add(1);
        let delay = retry_delay(
            attempts,
            self.tuning.retry_base,
            self.tuning.retry_cap,
            rand::random::<f64>(),
        );
        let retry_at = Millis(Millis::now().0.saturating_add(millis(delay)));
        if let SendError::Refused(_) | SendError::Compose(_) = error {
            tracing::error!(id = inquiry.id, attempts, error = %error, "inquiry not mailed");
        } else {
            tracing::debug!(id = inquiry.id, attempts, error = %error, "inquiry not mailed");
        }
        let text = error.to_string();
        match self
            .outbox
            .mark_failed(inquiry.id, claimer, retry_at, &text)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::debug!(
                id = inquiry.id,
                "claim lapsed before the failure was recorded"
            ),
            Err(e) => tracing::warn!(id = inquiry.id, error = %e, "cannot record a failed attempt"),
        }
    }

    fn probe_due(&self) -> bool {
        self.last_contact
            .is_none_or(|at| at.elapsed() >= self.tuning.probe_interval)
    }

    async fn probe(&mut self) {
        let result = tokio::select! {
            _ = self.shutdown.cancelled() => return,
            r = self.mailer.probe() => r,
        };
        self.contact(result.as_ref().map(|_| ()));
    }

    /// Notes the outcome of talking to the SMTP server; logs when availability changes.
    fn contact(&mut self, result: Result<(), &SendError>) {
        self.last_contact = Some(Instant::now());
        match result {
            Ok(()) => {
                if self.health.set(MailStatus::Ok) == MailStatus::Unavailable {
                    tracing::info!("the SMTP server answers again");
                }
            }
            Err(e) => {
                if self.health.set(MailStatus::Unavailable) != MailStatus::Unavailable {
                    tracing::warn!(
                        error = %e,
                        "the SMTP server is unavailable; inquiries stay queued and are retried"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(300);
        let top = |n| retry_delay(n, base, cap, 1.0);
        assert_eq!(top(1), Duration::from_secs(2));
        assert_eq!(top(2), Duration::from_secs(4));
        assert_eq!(top(5), Duration::from_secs(32));
        assert_eq!(top(9), Duration::from_secs(300));
        assert_eq!(top(u32::MAX), Duration::from_secs(300));
        // Jitter spreads each delay over its upper half, never below half of it.
        assert_eq!(retry_delay(3, base, cap, 0.0), Duration::from_secs(4));
        assert_eq!(retry_delay(3, base, cap, 0.5), Duration::from_secs(6));
        assert_eq!(retry_delay(0, base, cap, 1.0), base);
    }

    #[test]
    fn health_reports_the_latest_contact() {
        let h = MailHealth::default();
        assert_eq!(h.status(), MailStatus::Unknown);
        assert_eq!(h.set(MailStatus::Unavailable), MailStatus::Unknown);
        assert_eq!(h.status().as_str(), "unavailable");
        h.set(MailStatus::Ok);
        assert_eq!(h.clone().status().as_str(), "ok");
    }
}
