//! Turns the JSON lines of a benchmark run into docs/BENCHMARKS.md's table: each number of
//! reuse-chat beside RabbitMQ Web-STOMP's and the baseline's, their ratios and the target.

use crate::report::Report;
use crate::BenchError;

/// Reads reports, one JSON object per line (blank lines ignored).
pub fn parse(text: &str) -> Result<Vec<Report>, BenchError> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| BenchError::Report(format!("{e}: {l}"))))
        .collect()
}

/// How a row reads its number off a report.
type Metric = fn(&Report) -> Option<f64>;

/// One table row: its name, the scenario, reuse-chat's label for it (the peers' persistence
/// rows fall back to any label), the metric, its decimals and the target.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    Metric,
    usize,
    &'static str,
);

fn ms(p: u64) -> f64 {
    p as f64 / 1000.0
}

const ROWS: &[Row] = &[
    (
        "idle: sessions held",
        "idle",
        "",
        |r| Some(r.sessions as f64),
        0,
        "≥ 300,000",
    ),
    (
        "idle: server RSS per session (KiB, lower is better)",
        "idle",
        "",
        |r| r.rss_per_session.map(|b| b / 1024.0),
        1,
        "≤ 8 KB",
    ),
    (
        "marketplace @ 10,000 msgs/s offered: msgs/s sent (open loop)",
        "marketplace",
        "10000",
        |r| Some(r.rate),
        0,
        "10,000",
    ),
    (
        "marketplace @ 10,000/s: publish→deliver p50 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        2,
        "",
    ),
    (
        "marketplace @ 10,000/s: publish→deliver p99 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "≤ 5 ms",
    ),
    (
        "marketplace @ 10,000/s: publish→deliver p99.9 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p999_us)),
        2,
        "",
    ),
    (
        "marketplace @ 10,000/s: receipt p99 (ms)",
        "marketplace",
        "10000",
        |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    (
        "marketplace @ 10,000/s: deliveries missing 2 s after the last send",
        "marketplace",
        "10000",
        |r| Some(r.missing as f64),
        0,
        "0",
    ),
    (
        "marketplace @ 2,000/s: publish→deliver p50 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        2,
        "",
    ),
    (
        "marketplace @ 2,000/s: publish→deliver p99 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    (
        "marketplace @ 2,000/s: publish→deliver p99.9 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p999_us)),
        2,
        "",
    ),
    (
        "fan-out, rooms of 10: deliveries/s",
        "fanout",
        "10",
        |r| Some(r.rate),
        0,
        "≥ 3× RabbitMQ, ≥ 80% baseline",
    ),
    (
        "fan-out, rooms of 10: server CPU µs/delivery",
        "fanout",
        "10",
        |r| r.server_cpu_us_per_item,
        2,
        "",
    ),
    (
        "fan-out, rooms of 1,000: deliveries/s",
        "fanout",
        "1000",
        |r| Some(r.rate),
        0,
        "≥ 3× RabbitMQ, ≥ 80% baseline",
    ),
    (
        "fan-out, rooms of 1,000: server CPU µs/delivery",
        "fanout",
        "1000",
        |r| r.server_cpu_us_per_item,
        2,
        "",
    ),
    (
        "fan-out, room of 10,000: deliveries/s",
        "fanout",
        "10000",
        |r| Some(r.rate),
        0,
        "≥ 3× RabbitMQ, ≥ 80% baseline",
    ),
    (
        "fan-out, room of 10,000: server CPU µs/delivery",
        "fanout",
        "10000",
        |r| r.server_cpu_us_per_item,
        2,
        "",
    ),
    (
        "reconnect storm: sessions re-established/s",
        "reconnect",
        "",
        |r| Some(r.rate),
        0,
        "≥ 10,000/s",
    ),
    (
        "reconnect storm: server CPU µs/session",
        "reconnect",
        "",
        |r| r.server_cpu_us_per_item,
        0,
        "",
    ),
    (
        "persistence, SQLite: stored msgs/s (receipts)",
        "persist",
        "sqlite",
        |r| Some(r.rate),
        0,
        "≥ 100,000/s",
    ),
    (
        "persistence, MySQL (MariaDB): stored msgs/s",
        "persist",
        "mysql",
        |r| Some(r.rate),
        0,
        "≥ 30,000/s",
    ),
    (
        "persistence, PostgreSQL: stored msgs/s",
        "persist",
        "postgres",
        |r| Some(r.rate),
        0,
        "",
    ),
];

fn find<'a>(
    reports: &'a [Report],
    target: &str,
    scenario: &str,
    label: &str,
) -> Option<&'a Report> {
    let mine = |r: &&Report| r.target == target && r.scenario == scenario;
    reports
        .iter()
        .rev()
        .filter(mine)
        .find(|r| r.label == label)
        .or_else(|| {
            // Peers have one persistence row (RabbitMQ's queue, the baseline's none) beside
            // every reuse-chat backend; fan-out rows are labelled by room size for everyone.
            (scenario == "persist" && target != "reuse-chat")
                .then(|| reports.iter().rev().find(mine))
                .flatten()
        })
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    match v {
        None => "—".to_owned(),
        Some(v) if digits == 0 => group(v.round() as i64),
        Some(v) => format!("{v:.digits$}"),
    }
}

fn group(v: i64) -> String {
    let s = v.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    }
}

/// The comparison table (Markdown).
pub fn render(reports: &[Report]) -> String {
    let mut out = String::from(
        "| scenario: metric | reuse-chat | RabbitMQ Web-STOMP | baseline | reuse-chat ÷ RabbitMQ | reuse-chat ÷ baseline | target |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    for &(name, scenario, label, metric, digits, target) in ROWS {
        let v = |t: &str| find(reports, t, scenario, label).and_then(metric);
        let (ours, rabbit, base) = (v("reuse-chat"), v("rabbitmq"), v("baseline"));
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {target} |\n",
            fmt(ours, digits),
            fmt(rabbit, digits),
            fmt(base, digits),
            ratio(ours, rabbit),
            ratio(ours, base),
        ));
    }
    out
}

/// Every run's costs and failures (Markdown), so each number's limit can be checked.
pub fn render_details(reports: &[Report]) -> String {
    let mut out = String::from(
        "| target | scenario | label | sessions | errors | missing | server CPU s | generator cores | server RSS after (MiB) | params | first error |\n|---|---|---|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for r in reports {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
            r.target,
            r.scenario,
            r.label,
            r.sessions,
            r.errors,
            r.missing,
            fmt(r.server_cpu_s, 2),
            r.generator_cores,
            fmt(r.server_rss_after.map(|b| b as f64 / 1048576.0), 0),
            r.params,
            r.first_error.as_deref().unwrap_or("").replace('|', "/"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pair_each_target_and_compute_ratios() {
        let mk = |target: &str, label: &str, rate: f64| Report {
            target: target.into(),
            scenario: "persist".into(),
            label: label.into(),
            rate,
            ..Report::default()
        };
        let reports = vec![
            mk("reuse-chat", "sqlite", 50_000.0),
            mk("rabbitmq", "", 10_000.0),
            mk("baseline", "", 100_000.0),
        ];
        let table = render(&reports);
        let line = table
            .lines()
            .find(|l| l.contains("SQLite"))
            .unwrap_or_default();
        assert!(
            line.contains("| 50,000 | 10,000 | 100,000 | 5.00× | 0.50× |"),
            "{line}"
        );
        let mysql = table
            .lines()
            .find(|l| l.contains("MySQL"))
            .unwrap_or_default();
        assert!(mysql.contains("| — | 10,000 |"), "{mysql}");
        assert_eq!(group(1234567), "1,234,567");
        let back = parse(&serde_json::to_string(&reports[0]).unwrap_or_default()).map(|v| v.len());
        assert_eq!(back.ok(), Some(1));
    }
}
