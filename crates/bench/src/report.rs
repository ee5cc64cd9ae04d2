//! What one scenario run measured, as one JSON line: the numbers for the table plus what the
//! run cost the server and the generator, so a limit can be told from a result.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::machine::Machine;
use crate::procstat::Snapshot;

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

impl Percentiles {
    /// Reads the percentiles off a histogram of microseconds.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// A histogram of microseconds from 1 µs to 10 minutes at 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts.
    Histogram::new_with_bounds(1, 600_000_000, 3)
        .unwrap_or_else(|e| unreachable!("valid histogram bounds: {e}"))
}

/// The result of one scenario against one target. Fields added later default when an older
/// line lacks them, so results of earlier runs still render.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// `idle`, `marketplace`, `fanout`, `reconnect`, `page-resume` or `persist`.
    pub scenario: String,
    /// `reuse-chat`, `rabbitmq`, `baseline` or `bare-storage` (the bare loop of
    /// [`crate::bare`], in the `persist` scenario).
    pub target: String,
    /// The CPU the run was on.
    pub machine: Option<Machine>,
    /// Distinguishes runs of one scenario (room size, storage backend).
    pub label: String,
    /// Sessions the scenario opened (and, for idle, held).
    pub sessions: u64,
    /// Length of the measured window in seconds.
    pub seconds: f64,
    /// The scenario's headline number: sessions/s, deliveries/s or stored messages/s.
    pub rate: f64,
    /// Frames sent (SEND).
    pub sent: u64,
    /// `MESSAGE` frames received.
    pub delivered: u64,
    /// `RECEIPT`s for SENDs received.
    pub receipts: u64,
    /// Deliveries expected but not seen by the end of the run.
    pub missing: u64,
    /// Sessions that failed (connect, subscribe, `ERROR`, dropped).
    pub errors: u64,
    /// One of the errors, for the reader.
    pub first_error: Option<String>,
    /// Server RSS when the scenario started (bytes).
    pub server_rss_before: Option<u64>,
    /// Server RSS at the measuring point (bytes).
    pub server_rss_after: Option<u64>,
    /// (after − before) / sessions, for the idle scenario.
    pub rss_per_session: Option<f64>,
    /// Server CPU seconds in the measured window. For `bare-storage`: the bare loop's own
    /// process, which stands where reuse-chat's server stands (and holds SQLite itself).
    pub server_cpu_s: Option<f64>,
    /// Server CPU microseconds per sent message (marketplace), delivered frame (fan-out),
    /// re-established session (reconnect) or stored message (persist; bare-storage: per row).
    pub server_cpu_us_per_item: Option<f64>,
    /// CPU seconds of the database server (MariaDB, or PostgreSQL's postmaster and all its
    /// processes) in the measured window, when its pid was given or found.
    pub db_cpu_s: Option<f64>,
    /// Database server CPU microseconds per stored message or row.
    pub db_cpu_us_per_item: Option<f64>,
    /// Messages per storage transaction in the measured window: reuse-chat's mean group-commit
    /// batch (from its `/metrics`), or the bare loop's fixed batch.
    pub batch: Option<f64>,
    /// Generator CPU seconds in the measured window.
    pub generator_cpu_s: f64,
    /// Generator CPU as a share of one core over the measured window (2.0 = both cores).
    pub generator_cores: f64,
    /// Publish → deliver latency (from the intended send time).
    pub latency: Option<Percentiles>,
    /// Publish → receipt latency (from the intended send time).
    pub receipt_latency: Option<Percentiles>,
    /// Parameters of the run, for the record.
    pub params: String,
}

impl Report {
    /// A report for `scenario` against `target`, to be filled in.
    pub fn new(scenario: &str, target: &str, label: &str, params: String) -> Report {
        Report {
            scenario: scenario.to_owned(),
            target: target.to_owned(),
            label: label.to_owned(),
            params,
            machine: Some(Machine::this()),
            ..Report::default()
        }
    }

    /// Fills the cost fields from two snapshots bracketing the measured window.
    pub fn costs(&mut self, start: &Snapshot, end: &Snapshot) {
        let secs = end.at.duration_since(start.at).as_secs_f64();
        self.seconds = secs;
        self.server_rss_before = start.server_rss;
        self.server_rss_after = end.server_rss;
        if let (Some(a), Some(b)) = (start.server_cpu, end.server_cpu) {
            self.server_cpu_s = Some(b.saturating_sub(a).as_secs_f64());
        }
        if let (Some(a), Some(b)) = (start.db_cpu, end.db_cpu) {
            self.db_cpu_s = Some(b.saturating_sub(a).as_secs_f64());
        }
        let own = end.own_cpu.saturating_sub(start.own_cpu).as_secs_f64();
        self.generator_cpu_s = own;
        self.generator_cores = if secs > 0.0 { own / secs } else { 0.0 };
    }

    /// Sets the server's and the database's CPU per item from the CPU seconds already filled
    /// in by [`Report::costs`]; nothing when no item was counted.
    pub fn per_item(&mut self, items: u64) {
        let per = |cpu: Option<f64>| cpu.filter(|_| items > 0).map(|c| c * 1e6 / items as f64);
        self.server_cpu_us_per_item = per(self.server_cpu_s);
        self.db_cpu_us_per_item = per(self.db_cpu_s);
    }

    /// Records one more failure, keeping the first message.
    pub fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }

    /// A one-line human summary.
    pub fn summary(&self) -> String {
        let lat = |p: &Option<Percentiles>| {
            p.as_ref().map_or(String::new(), |p| {
                format!(
                    " p50={:.2}ms p99={:.2}ms p99.9={:.2}ms",
                    p.p50_us as f64 / 1e3,
                    p.p99_us as f64 / 1e3,
                    p.p999_us as f64 / 1e3
                )
            })
        };
        format!(
            "{} {} {}: rate={:.0}/s sessions={} sent={} delivered={} receipts={} missing={} errors={}{}{}{}{}{}{} gen_cpu={:.2} cores{}",
            self.target,
            self.scenario,
            self.label,
            self.rate,
            self.sessions,
            self.sent,
            self.delivered,
            self.receipts,
            self.missing,
            self.errors,
            self.rss_per_session.map_or(String::new(), |r| format!(" rss/session={:.1}KiB", r / 1024.0)),
            self.server_cpu_us_per_item.map_or(String::new(), |c| format!(" server_cpu/item={c:.2}us")),
            self.db_cpu_us_per_item.map_or(String::new(), |c| format!(" db_cpu/item={c:.2}us")),
            self.batch.map_or(String::new(), |b| format!(" batch={b:.1}")),
            lat(&self.latency),
            if self.receipt_latency.is_some() { format!(" receipt:{}", lat(&self.receipt_latency)) } else { String::new() },
            self.generator_cores,
            self.first_error.as_ref().map_or(String::new(), |e| format!(" first_error={e}")),
        )
    }
}
