//! Where a message's time goes between nodes: the names of the per-hop histograms and the one
//! sampling rule every hop uses, so that the hops of a sampled message can be compared.
//!
//! A message crosses these hops on its way from the sender's node to a subscriber on another
//! node: commit (the group commit, from the batch's `created_at` to the publish call), produce
//! (publish to the broker's acknowledgement, seen on the publishing node), bus (publish to
//! consumption on the receiving node: produce, broker and the consumer's fetch cycle), and the
//! sequencer (how long an early message waited for the one before it). The hub's queueing is
//! a `try_send` in the same call as the sequencer's release, and the socket write is what the
//! benchmark's end-to-end latency adds on top (`cross-node-latency` prints both).
//!
//! Recording is sampled by message id ([`sampled`]): a quarter of the messages cost one clock
//! read and one histogram sample per hop, the rest nothing. Ids come from one sequence, so the
//! sample is spread evenly over rooms and time, and each hop samples the same messages.

use std::time::{SystemTime, UNIX_EPOCH};

/// Histogram: seconds from the start of a message's group commit to its publication on the bus
/// (the database transaction and the committer's queue), on the publishing node. Sampled.
pub const COMMIT_SECONDS: &str = "reuse_chat_hop_commit_seconds";
/// Histogram: seconds from the publication of a message on the bus to the broker's
/// acknowledgement (producer batching, the request, the broker's append), on the publishing
/// node. Sampled.
pub const PRODUCE_SECONDS: &str = "reuse_chat_hop_produce_seconds";
/// Histogram: seconds from the publication of a message on another node to its consumption
/// here (produce, broker and this node's fetch cycle). Sampled.
pub const BUS_SECONDS: &str = "reuse_chat_hop_bus_seconds";
/// Histogram: seconds an early message waited in the sequencer for the one before it (every
/// such message: in-order messages do not wait and are not recorded).
pub const SEQUENCER_WAIT_SECONDS: &str = "reuse_chat_hop_sequencer_wait_seconds";
/// Counter: messages the sequencer held because the one before them had not arrived yet.
pub const SEQUENCER_HELD: &str = "reuse_chat_sequencer_held_total";
/// Counter: messages the sequencer read from storage to fill a gap the bus left (or after a
/// resync).
pub const SEQUENCER_FILLED: &str = "reuse_chat_sequencer_filled_total";

/// One message in this many is timed at every hop.
pub const SAMPLE_EVERY: i64 = 4;

/// Whether the message with this id is timed at each hop.
pub fn sampled(id: i64) -> bool {
    id % SAMPLE_EVERY == 0
}

/// Wall-clock microseconds since the Unix epoch: the stamp carried between nodes, so that a
/// hop that starts on one node and ends on another can be timed (nodes' clocks are assumed
/// to agree to well under the latencies measured, as for `created_at`).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Seconds from `from_us` to `to_us`, never negative (clocks may step).
pub fn seconds_between(from_us: i64, to_us: i64) -> f64 {
    to_us.saturating_sub(from_us).max(0) as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_of_the_ids_are_sampled_and_time_never_runs_backwards() {
        assert_eq!((1..=400).filter(|i| sampled(*i)).count(), 100);
        assert_eq!(seconds_between(2_000_000, 1_000_000), 0.0);
        assert_eq!(seconds_between(1_000_000, 1_250_000), 0.25);
        assert!(now_us() > 1_600_000_000_000_000);
    }
}
