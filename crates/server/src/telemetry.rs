//! Prometheus metrics: the recorder (installed once per process), the names and help texts of
//! every series, the HTTP middleware that counts requests by route and status, and cheap
//! per-command STOMP frame counters for the session's hot path.

use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use chat_core::hops;
use metrics::{describe_counter, describe_gauge, describe_histogram, Counter, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use reuse_stomp::Command;

/// Gauge: STOMP sessions open on this node.
pub const SESSIONS_OPEN: &str = "reuse_chat_sessions_open";
/// Counter: STOMP frames received, by `command`.
pub const FRAMES_IN: &str = "reuse_chat_stomp_frames_in_total";
/// Counter: STOMP frames sent, by `command`.
pub const FRAMES_OUT: &str = "reuse_chat_stomp_frames_out_total";
/// Counter: HTTP requests, by `route`, `method` and `status`.
pub const HTTP_REQUESTS: &str = "reuse_chat_http_requests_total";
/// Histogram: HTTP request duration, by `route`.
pub const HTTP_SECONDS: &str = "reuse_chat_http_request_duration_seconds";
/// Gauge: inquiries stored and not yet mailed (read at scrape time).
pub const OUTBOX_DEPTH: &str = "reuse_chat_outbox_depth";
/// Gauge: offline notifications queued and not yet delivered (read at scrape time).
pub const NOTIFICATIONS_PENDING: &str = "reuse_chat_notifications_pending";

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder for this process (once: later calls return the same
/// handle) and describes every series. `None` if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let seconds = [
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let sizes = [
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
            ];
            // The hops of a cross-node delivery: fine enough that a benchmark can read a p99
            // off the difference of two scrapes to within a few percent (recording costs the
            // same whatever the buckets; only a scrape walks them).
            let hops = [
                0.000_1, 0.000_2, 0.000_3, 0.000_5, 0.000_75, 0.001, 0.001_5, 0.002, 0.003, 0.004,
                0.005, 0.006, 0.008, 0.01, 0.012, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08,
                0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
                2.0, 3.0, 5.0, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("seconds".into()), &seconds)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Suffix("size".into()), &sizes))
                // A prefix match wins over the suffix match above.
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Prefix("reuse_chat_hop_".into()), &hops)
                });
            let recorder = match builder {
                Ok(b) => b.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metrics: bad bucket settings");
                    return None;
                }
            };
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "metrics: a recorder was already installed");
                return None;
            }
            describe();
            // Rare events are registered at zero, so the page names them before they happen.
            metrics::counter!(crate::stomp::hub::SLOW_CONSUMER_CLOSES).increment(0);
            metrics::gauge!(SESSIONS_OPEN).increment(0.0);
            Some(handle)
        })
        .clone()
}

fn describe() {
    describe_gauge!(SESSIONS_OPEN, "STOMP sessions open on this node");
    describe_counter!(FRAMES_IN, "STOMP frames received, by command");
    describe_counter!(FRAMES_OUT, "STOMP frames sent, by command");
    describe_counter!(HTTP_REQUESTS, "HTTP requests, by route, method and status");
    describe_histogram!(
        HTTP_SECONDS,
        Unit::Seconds,
        "HTTP request duration, by route"
    );
    describe_gauge!(OUTBOX_DEPTH, "inquiries stored and not yet mailed");
    describe_gauge!(
        NOTIFICATIONS_PENDING,
        "offline notifications queued and not yet delivered"
    );
    describe_counter!(
        chat_core::notify::notifier::NOTIFICATIONS_QUEUED,
        "offline notifications queued (one per burst)"
    );
    describe_counter!(
        chat_core::notify::notifier::NOTIFIER_OVERFLOW,
        "stored messages the notifier had no room for (no notification for them)"
    );
    describe_counter!(
        chat_core::listing::reminders::REMINDERS_POSTED,
        "appointment reminders this node posted"
    );
    describe_counter!(
        chat_core::committer::MESSAGES_STORED,
        "chat messages stored (duplicates excluded)"
    );
    describe_histogram!(
        chat_core::committer::COMMIT_BATCH_SIZE,
        "messages per group commit"
    );
    describe_histogram!(
        chat_core::committer::COMMIT_SECONDS,
        Unit::Seconds,
        "time to store one group-commit batch"
    );
    describe_counter!(
        crate::stomp::hub::DELIVERIES,
        "frames queued to sessions by the fan-out"
    );
    describe_counter!(
        crate::stomp::hub::SLOW_CONSUMER_CLOSES,
        "sessions closed because they could not keep up"
    );
    describe_histogram!(
        chat_bus_kafka::PUBLISH_LAG_SECONDS,
        Unit::Seconds,
        "Kafka: time from produce to the broker's acknowledgement (sampled)"
    );
    describe_histogram!(
        chat_bus_kafka::CONSUME_LAG_SECONDS,
        Unit::Seconds,
        "Kafka: time from a message's commit on another node to its consumption here (sampled)"
    );
    describe_histogram!(
        hops::COMMIT_SECONDS,
        Unit::Seconds,
        "hop: group commit start to publication on the bus, on the publishing node (sampled)"
    );
    describe_histogram!(
        hops::PRODUCE_SECONDS,
        Unit::Seconds,
        "hop: publication to the broker's acknowledgement, on the publishing node (sampled)"
    );
    describe_histogram!(
        hops::BUS_SECONDS,
        Unit::Seconds,
        "hop: publication on another node to consumption here (sampled)"
    );
    describe_histogram!(
        hops::SEQUENCER_WAIT_SECONDS,
        Unit::Seconds,
        "hop: time an early message waited in the sequencer for the one before it"
    );
    describe_counter!(
        hops::SEQUENCER_HELD,
        "messages the sequencer held for the one before them"
    );
    describe_counter!(
        hops::SEQUENCER_FILLED,
        "messages the sequencer read from storage to fill a gap or after a resync"
    );
}

/// A counter per STOMP command, registered once, so counting a frame costs an atomic add.
pub struct FrameCounters([Counter; Command::ALL.len()]);

impl FrameCounters {
    fn new(name: &'static str) -> Self {
        FrameCounters(Command::ALL.map(|c| metrics::counter!(name, "command" => c.as_str())))
    }

    /// Counts `n` frames of `command`.
    pub fn add(&self, command: Command, n: u64) {
        // `Command::ALL` lists the commands in declaration order (a unit test checks it), so
        // the discriminant is the index: no search on the hot path.
        if let Some(c) = self.0.get(command as usize) {
            c.increment(n);
        }
    }

    /// Counts one frame of `command`.
    pub fn count(&self, command: Command) {
        self.add(command, 1);
    }
}

/// Frames received, by command.
pub static FRAMES_IN_BY_COMMAND: LazyLock<FrameCounters> =
    LazyLock::new(|| FrameCounters::new(FRAMES_IN));
/// Frames sent, by command.
pub static FRAMES_OUT_BY_COMMAND: LazyLock<FrameCounters> =
    LazyLock::new(|| FrameCounters::new(FRAMES_OUT));

/// Drains the histograms' samples into their buckets every few seconds: a recorder built
/// without the exporter's own HTTP listener keeps every sample until this runs, so without it
/// memory would grow with traffic between scrapes. Ends with `shutdown`.
pub fn spawn_upkeep(
    handle: PrometheusHandle,
    shutdown: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => handle.run_upkeep(),
                _ = shutdown.cancelled() => return,
            }
        }
    })
}

/// Counts each HTTP request by its route (the matched pattern, never the raw path, so that
/// room ids do not make a series each), method and status, and times it.
pub async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_SECONDS, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status)
        .increment(1);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_at_its_discriminant() {
        for (i, c) in Command::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
        }
    }
}
