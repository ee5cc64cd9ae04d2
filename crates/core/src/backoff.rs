//! Retry timing shared by the outboxes' senders (inquiry mail, notifications).

use std::time::Duration;

/// The delay before attempt `attempts + 1`, after `attempts` (at least 1) failures:
/// `base · 2^(attempts-1)`, capped at `cap`, of which the upper half is scaled by `jitter`
/// (in `[0, 1]`), so that nodes and inquiries that failed together do not retry in lockstep,
/// yet never sooner than half the nominal delay.
pub fn retry_delay(attempts: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    let nominal = base.saturating_mul(1u32 << doublings).min(cap);
    let half = nominal / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}
