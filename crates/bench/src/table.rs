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

struct Row {
    name: &'static str,
    scenario: &'static str,
    /// reuse-chat's label for this row; the peers' rows fall back to any label.
    label: &'static str,
    metric: fn(&Report) -> Option<f64>,
    digits: usize,
    target: &'static str,
}

fn ms(p: u64) -> f64 {
    p as f64 / 1000.0
}

const ROWS: &[Row] = &[
    Row {
        name: "idle: sessions held",
        scenario: "idle",
        label: "",
        metric: |r| Some(r.sessions as f64),
        digits: 0,
        target: "≥ 300,000",
    },
    Row {
        name: "idle: server RSS per session (KiB, lower is better)",
        scenario: "idle",
        label: "",
        metric: |r| r.rss_per_session.map(|b| b / 1024.0),
        digits: 1,
        target: "≤ 8 KB",
    },
    Row {
        name: "marketplace: msgs/s sent (open loop)",
        scenario: "marketplace",
        label: "",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "10,000",
    },
    Row {
        name: "marketplace: publish→deliver p50 (ms)",
        scenario: "marketplace",
        label: "",
        metric: |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        digits: 2,
        target: "",
    },
    Row {
        name: "marketplace: publish→deliver p99 (ms)",
        scenario: "marketplace",
        label: "",
        metric: |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        digits: 2,
        target: "≤ 5 ms",
    },
    Row {
        name: "marketplace: publish→deliver p99.9 (ms)",
        scenario: "marketplace",
        label: "",
        metric: |r| r.latency.as_ref().map(|p| ms(p.p999_us)),
        digits: 2,
        target: "",
    },
    Row {
        name: "marketplace: receipt p99 (ms)",
        scenario: "marketplace",
        label: "",
        metric: |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        digits: 2,
        target: "",
    },
    Row {
        name: "fan-out, rooms of 10: deliveries/s",
        scenario: "fanout",
        label: "10",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 3× RabbitMQ, ≥ 80% baseline",
    },
    Row {
        name: "fan-out, rooms of 10: server CPU µs/delivery",
        scenario: "fanout",
        label: "10",
        metric: |r| r.server_cpu_us_per_item,
        digits: 2,
        target: "",
    },
    Row {
        name: "fan-out, rooms of 1,000: deliveries/s",
        scenario: "fanout",
        label: "1000",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 3× RabbitMQ, ≥ 80% baseline",
    },
    Row {
        name: "fan-out, rooms of 1,000: server CPU µs/delivery",
        scenario: "fanout",
        label: "1000",
        metric: |r| r.server_cpu_us_per_item,
        digits: 2,
        target: "",
    },
    Row {
        name: "fan-out, room of 10,000: deliveries/s",
        scenario: "fanout",
        label: "10000",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 3× RabbitMQ, ≥ 80% baseline",
    },
    Row {
        name: "fan-out, room of 10,000: server CPU µs/delivery",
        scenario: "fanout",
        label: "10000",
        metric: |r| r.server_cpu_us_per_item,
        digits: 2,
        target: "",
    },
    Row {
        name: "reconnect storm: sessions re-established/s",
        scenario: "reconnect",
        label: "",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 10,000/s",
    },
    Row {
        name: "persistence, SQLite: stored msgs/s (receipts)",
        scenario: "persist",
        label: "sqlite",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 100,000/s",
    },
    Row {
        name: "persistence, MySQL (MariaDB): stored msgs/s",
        scenario: "persist",
        label: "mysql",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "≥ 30,000/s",
    },
    Row {
        name: "persistence, PostgreSQL: stored msgs/s",
        scenario: "persist",
        label: "postgres",
        metric: |r| Some(r.rate),
        digits: 0,
        target: "",
    },
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
        if i > 0 && (s.len() - i) % 3 == 0 {
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
    for row in ROWS {
        let v = |t: &str| find(reports, t, row.scenario, row.label).and_then(row.metric);
        let (ours, rabbit, base) = (v("reuse-chat"), v("rabbitmq"), v("baseline"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            row.name,
            fmt(ours, row.digits),
            fmt(rabbit, row.digits),
            fmt(base, row.digits),
            ratio(ours, rabbit),
            ratio(ours, base),
            row.target
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
