//! Turns the JSON lines of a benchmark run into docs/BENCHMARKS.md's tables: the CPU they were
//! taken on; the headline, reuse-chat as a multiple of RabbitMQ Web-STOMP, of the baseline and
//! of bare storage; the numbers, each rate with the server CPU per item it cost; storage
//! against its physical limit per backend; and the run log.

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

/// One table row.
struct Row {
    /// What the row measures.
    name: &'static str,
    /// The scenario it is read from.
    scenario: &'static str,
    /// reuse-chat's (and the bare loop's) label for it; the peers' persistence rows fall back
    /// to any label.
    label: &'static str,
    /// The number.
    metric: Metric,
    /// Its decimals.
    digits: usize,
    /// The issue's target.
    target: &'static str,
    /// For a rate: the name of its server-CPU-per-item row. The CPU is shown beside the rate,
    /// and its ratios are a headline row of their own, so that figures from different
    /// machines compare.
    cpu: Option<&'static str>,
}

fn ms(p: u64) -> f64 {
    p as f64 / 1000.0
}

/// A row with no CPU beside it.
const fn plain(
    name: &'static str,
    scenario: &'static str,
    label: &'static str,
    metric: Metric,
    digits: usize,
    target: &'static str,
) -> Row {
    Row {
        name,
        scenario,
        label,
        metric,
        digits,
        target,
        cpu: None,
    }
}

/// A rate, with the server CPU per item beside it.
const fn rate(
    name: &'static str,
    scenario: &'static str,
    label: &'static str,
    target: &'static str,
    cpu: &'static str,
) -> Row {
    Row {
        name,
        scenario,
        label,
        metric: |r| Some(r.rate),
        digits: 0,
        target,
        cpu: Some(cpu),
    }
}

const ROWS: &[Row] = &[
    plain(
        "idle: sessions held",
        "idle",
        "",
        |r| Some(r.sessions as f64),
        0,
        "≥ 300,000",
    ),
    plain(
        "idle: server RSS per session (KiB, lower is better)",
        "idle",
        "",
        |r| r.rss_per_session.map(|b| b / 1024.0),
        1,
        "≤ 8 KB",
    ),
    rate(
        "marketplace @ 10,000 msgs/s offered: msgs/s sent (open loop)",
        "marketplace",
        "10000",
        "10,000",
        "marketplace @ 10,000/s: server CPU µs/message",
    ),
    plain(
        "marketplace @ 10,000/s: publish→deliver p50 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        2,
        "",
    ),
    plain(
        "marketplace @ 10,000/s: publish→deliver p99 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "≤ 5 ms",
    ),
    plain(
        "marketplace @ 10,000/s: publish→deliver p99.9 (ms)",
        "marketplace",
        "10000",
        |r| r.latency.as_ref().map(|p| ms(p.p999_us)),
        2,
        "",
    ),
    plain(
        "marketplace @ 10,000/s: receipt p99 (ms)",
        "marketplace",
        "10000",
        |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    plain(
        "marketplace @ 10,000/s: deliveries missing 2 s after the last send",
        "marketplace",
        "10000",
        |r| Some(r.missing as f64),
        0,
        "0",
    ),
    rate(
        "marketplace @ 10,000/s, offline notifications on, everyone online: msgs/s sent",
        "marketplace",
        "notify-online",
        "as without",
        "marketplace, notifications on, everyone online: server CPU µs/message",
    ),
    plain(
        "marketplace, notifications on, everyone online: publish→deliver p99 (ms)",
        "marketplace",
        "notify-online",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "as without",
    ),
    rate(
        "marketplace, half the rooms' buyers away (every message there queues a notification): msgs/s sent",
        "marketplace",
        "notify-away",
        "",
        "marketplace, half the buyers away: server CPU µs/message",
    ),
    plain(
        "marketplace, half the buyers away: publish→deliver p50 (ms)",
        "marketplace",
        "notify-away",
        |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        2,
        "",
    ),
    plain(
        "marketplace, half the buyers away: publish→deliver p99 (ms)",
        "marketplace",
        "notify-away",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "≤ 5 ms",
    ),
    plain(
        "marketplace, half the buyers away: receipt p99 (ms)",
        "marketplace",
        "notify-away",
        |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    plain(
        "marketplace, half the buyers away: deliveries missing",
        "marketplace",
        "notify-away",
        |r| Some(r.missing as f64),
        0,
        "0",
    ),
    plain(
        "marketplace @ 2,000/s: publish→deliver p50 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p50_us)),
        2,
        "",
    ),
    plain(
        "marketplace @ 2,000/s: publish→deliver p99 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    plain(
        "marketplace @ 2,000/s: publish→deliver p99.9 (ms)",
        "marketplace",
        "2000",
        |r| r.latency.as_ref().map(|p| ms(p.p999_us)),
        2,
        "",
    ),
    rate(
        "fan-out, rooms of 10: deliveries/s",
        "fanout",
        "10",
        "≥ 3× RabbitMQ, ≥ 80% baseline",
        "fan-out, rooms of 10: server CPU µs/delivery",
    ),
    rate(
        "fan-out, rooms of 1,000: deliveries/s",
        "fanout",
        "1000",
        "≥ 3× RabbitMQ, ≥ 80% baseline",
        "fan-out, rooms of 1,000: server CPU µs/delivery",
    ),
    rate(
        "fan-out, room of 10,000: deliveries/s",
        "fanout",
        "10000",
        "≥ 3× RabbitMQ, ≥ 80% baseline",
        "fan-out, room of 10,000: server CPU µs/delivery",
    ),
    rate(
        "reconnect storm: sessions re-established/s",
        "reconnect",
        "",
        "≥ 10,000/s",
        "reconnect storm: server CPU µs/session",
    ),
    rate(
        "web page resume, 63 rooms each: pages/s",
        "page-resume",
        "",
        "",
        "web page resume: server CPU µs/page",
    ),
    plain(
        "web page resume: p99 per page (ms)",
        "page-resume",
        "",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        1,
        "",
    ),
    rate(
        "event stream, 200 rooms: events/s on /user/queue/events",
        "user-events",
        "",
        "",
        "event stream: server CPU µs/event (storage of the messages included)",
    ),
    rate(
        "typing storm, 1,000 rooms (20,000 frames/s): TYPING relayed/s",
        "typing-storm",
        "",
        "≤ 1,000/s",
        "typing storm: server CPU µs/typing frame",
    ),
    rate(
        "photo upload, 3 MB phone photo (12 MP, turned), directory: uploads/s",
        "photo-upload",
        "file",
        "",
        "photo upload, directory: server CPU µs/upload",
    ),
    plain(
        "photo upload, directory: request→201 p99 (ms)",
        "photo-upload",
        "file",
        |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        0,
        "",
    ),
    rate(
        "photo upload, 3 MB phone photo (12 MP, turned), S3 (s3s-fs): uploads/s",
        "photo-upload",
        "s3",
        "",
        "photo upload, S3: server CPU µs/upload",
    ),
    plain(
        "photo upload, S3: request→201 p99 (ms)",
        "photo-upload",
        "s3",
        |r| r.receipt_latency.as_ref().map(|p| ms(p.p99_us)),
        0,
        "",
    ),
    plain(
        "50 parallel uploads of 40 MP photos: peak server RSS (MiB)",
        "photo-memory",
        "file",
        |r| r.server_rss_after.map(|b| b as f64 / 1048576.0),
        0,
        "≤ 1,024 (512 MiB decode budget)",
    ),
    plain(
        "room list of 1,000 rooms × 1,000 messages, SQLite: p99 (ms)",
        "room-list",
        "sqlite",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    plain(
        "room list of 1,000 rooms × 1,000 messages, MySQL (MariaDB): p99 (ms)",
        "room-list",
        "mysql",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    plain(
        "room list of 1,000 rooms × 1,000 messages, PostgreSQL: p99 (ms)",
        "room-list",
        "postgres",
        |r| r.latency.as_ref().map(|p| ms(p.p99_us)),
        2,
        "",
    ),
    rate(
        "persistence, SQLite: stored msgs/s (receipts)",
        "persist",
        "sqlite",
        "≥ 100,000/s",
        "persistence, SQLite: server CPU µs/msg",
    ),
    rate(
        "persistence, MySQL (MariaDB): stored msgs/s",
        "persist",
        "mysql",
        "≥ 30,000/s",
        "persistence, MySQL (MariaDB): server CPU µs/msg",
    ),
    rate(
        "persistence, PostgreSQL: stored msgs/s",
        "persist",
        "postgres",
        "",
        "persistence, PostgreSQL: server CPU µs/msg",
    ),
];

/// The bare-storage loop's target name.
const BARE: &str = "bare-storage";

/// The targets of the numbers' columns, in order.
const TARGETS: [&str; 4] = ["reuse-chat", "rabbitmq", "baseline", BARE];

/// The persistence backends, as reuse-chat's and the bare loop's rows are labelled.
const BACKENDS: [(&str, &str); 3] = [
    ("sqlite", "SQLite"),
    ("mysql", "MySQL (MariaDB)"),
    ("postgres", "PostgreSQL"),
];

/// Server CPU µs per item; for marketplace lines written before it was stored, per message
/// sent in the window.
fn cpu_per_item(r: &Report) -> Option<f64> {
    r.server_cpu_us_per_item.or_else(|| {
        let items = r.rate * r.seconds;
        (r.scenario == "marketplace" && items > 0.0)
            .then_some(r.server_cpu_s)
            .flatten()
            .map(|c| c * 1e6 / items)
    })
}

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
            (scenario == "persist" && matches!(target, "rabbitmq" | "baseline"))
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

/// The CPUs the reports were taken on, with the targets measured on each, so that figures
/// from different machines are never compared unawares.
pub fn render_machines(reports: &[Report]) -> String {
    let mut seen: Vec<(String, Vec<&str>)> = Vec::new();
    for r in reports {
        let name = r
            .machine
            .as_ref()
            .map_or_else(|| "not recorded".to_owned(), |m| m.describe());
        let at = match seen.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                seen.push((name, Vec::new()));
                seen.len() - 1
            }
        };
        if !seen[at].1.contains(&r.target.as_str()) {
            seen[at].1.push(&r.target);
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [(one, _)] => format!("CPU of every row: {one}.\n"),
        many => {
            let mut out = String::from("Rows were taken on different CPUs:\n\n");
            for (name, targets) in many {
                out.push_str(&format!("- {name}: {}\n", targets.join(", ")));
            }
            out
        }
    }
}

/// The headline (Markdown): reuse-chat as a multiple of RabbitMQ, of the baseline and of the
/// bare-storage loop, for every row and for the server CPU per item of every rate.
pub fn render_ratios(reports: &[Report]) -> String {
    let mut out = String::from(
        "| scenario: metric | reuse-chat ÷ RabbitMQ | reuse-chat ÷ baseline | reuse-chat ÷ bare storage | target |\n|---|---:|---:|---:|---|\n",
    );
    for row in ROWS {
        let v = |t: &str, m: Metric| find(reports, t, row.scenario, row.label).and_then(m);
        let line = |name: &str, m: Metric, target: &str| {
            let ours = v("reuse-chat", m);
            format!(
                "| {name} | {} | {} | {} | {target} |\n",
                ratio(ours, v("rabbitmq", m)),
                ratio(ours, v("baseline", m)),
                ratio(ours, v(BARE, m)),
            )
        };
        out.push_str(&line(row.name, row.metric, row.target));
        if let Some(cpu) = row.cpu {
            out.push_str(&line(cpu, cpu_per_item, ""));
        }
    }
    out
}

/// The numbers (Markdown): every row for each target, each rate followed by the server CPU
/// µs per item it cost.
pub fn render_values(reports: &[Report]) -> String {
    let mut out = String::from(
        "| scenario: metric | reuse-chat | RabbitMQ Web-STOMP | baseline | bare storage | target |\n|---|---:|---:|---:|---:|---|\n",
    );
    for row in ROWS {
        let cells: Vec<String> = TARGETS
            .iter()
            .map(|t| {
                let r = find(reports, t, row.scenario, row.label);
                let v = fmt(r.and_then(row.metric), row.digits);
                match (row.cpu, r.and_then(cpu_per_item)) {
                    (Some(_), Some(c)) => format!("{v} ({c:.2} µs)"),
                    _ => v,
                }
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            row.name,
            cells.join(" | "),
            row.target
        ));
    }
    out
}

/// Storage against its physical limit (Markdown), per backend: reuse-chat's stored msgs/s
/// beside the bare loop's rows/s, and what each costs the process in front of the database and
/// the database server itself.
pub fn render_storage(reports: &[Report]) -> String {
    let mut out = String::from(
        "| backend | reuse-chat msgs/s | bare rows/s | reuse-chat ÷ bare | server CPU µs/msg: reuse-chat | bare loop | reuse-chat ÷ bare | database CPU µs/msg: reuse-chat | bare | messages per transaction: reuse-chat (mean) / bare |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let rate: Metric = |r| Some(r.rate);
    let cpu: Metric = |r| r.server_cpu_us_per_item;
    let db: Metric = |r| r.db_cpu_us_per_item;
    let batch: Metric = |r| r.batch;
    for (label, name) in BACKENDS {
        let ours = find(reports, "reuse-chat", "persist", label);
        let bare = find(reports, BARE, "persist", label);
        let get = |r: Option<&Report>, m: Metric| r.and_then(m);
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |\n",
            fmt(get(ours, rate), 0),
            fmt(get(bare, rate), 0),
            ratio(get(ours, rate), get(bare, rate)),
            fmt(get(ours, cpu), 2),
            fmt(get(bare, cpu), 2),
            ratio(get(ours, cpu), get(bare, cpu)),
            fmt(get(ours, db), 2),
            fmt(get(bare, db), 2),
            fmt(get(ours, batch), 1),
            fmt(get(bare, batch), 0),
        ));
    }
    out
}

/// The comparison (Markdown): the CPU, the headline ratios, the numbers and storage against
/// its physical limit.
pub fn render(reports: &[Report]) -> String {
    format!(
        "{}\n#### Headline: reuse-chat as a multiple of its peers and of bare storage\n\n{}\n\
         #### The numbers (each rate with the server CPU µs per item it cost)\n\n{}\n\
         #### Storage against its physical limit\n\n{}",
        render_machines(reports),
        render_ratios(reports),
        render_values(reports),
        render_storage(reports),
    )
}

/// Every run's costs and failures (Markdown), so each number's limit can be checked.
pub fn render_details(reports: &[Report]) -> String {
    let mut out = String::from(
        "| target | scenario | label | sessions | errors | missing | server CPU s | database CPU s | generator cores | server RSS after (MiB) | params | first error |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
    );
    for r in reports {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
            r.target,
            r.scenario,
            r.label,
            r.sessions,
            r.errors,
            r.missing,
            fmt(r.server_cpu_s, 2),
            fmt(r.db_cpu_s, 2),
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

    /// The lines of a small run, as `reuse-chat-bench` writes them.
    const LINES: &str = r#"
{"scenario":"persist","target":"reuse-chat","label":"sqlite","rate":50000.0,"seconds":10.0,"server_cpu_s":10.0,"server_cpu_us_per_item":20.0,"batch":250.5,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"reuse-chat","label":"mysql","rate":30000.0,"server_cpu_us_per_item":10.0,"db_cpu_us_per_item":25.0,"batch":256.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"rabbitmq","label":"queue","rate":10000.0,"server_cpu_us_per_item":100.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"baseline","label":"","rate":100000.0,"server_cpu_us_per_item":5.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"bare-storage","label":"sqlite","rate":200000.0,"server_cpu_us_per_item":4.0,"batch":256.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"bare-storage","label":"sqlite insert-only","rate":400000.0,"server_cpu_us_per_item":2.0,"batch":256.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"persist","target":"bare-storage","label":"mysql","rate":60000.0,"server_cpu_us_per_item":2.5,"db_cpu_us_per_item":12.5,"batch":256.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"marketplace","target":"reuse-chat","label":"10000","rate":10000.0,"seconds":20.0,"server_cpu_s":18.0,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"fanout","target":"reuse-chat","label":"1000","rate":600000.0,"server_cpu_us_per_item":1.5,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
{"scenario":"fanout","target":"baseline","label":"1000","rate":1000000.0,"server_cpu_us_per_item":0.75,"machine":{"cpu":"AMD EPYC 9B14","family":25,"model":17,"cpus":2}}
"#;

    fn line<'a>(table: &'a str, starts: &str) -> &'a str {
        table
            .lines()
            .find(|l| l.starts_with(starts))
            .unwrap_or_default()
    }

    #[test]
    fn headline_ratios_numbers_and_storage_are_rendered_from_json_lines() {
        let reports = parse(LINES).unwrap_or_default();
        assert_eq!(reports.len(), 10);

        assert_eq!(
            render_machines(&reports),
            "CPU of every row: AMD EPYC 9B14 (family 25, model 17), 2 CPUs.\n"
        );

        // Headline: reuse-chat ÷ RabbitMQ, ÷ baseline, ÷ bare storage of the same backend
        // (the insert-only bare row is not SQLite's limit of the same work).
        let ratios = render_ratios(&reports);
        let sqlite = line(&ratios, "| persistence, SQLite: stored");
        assert!(
            sqlite.contains("| 5.00× | 0.50× | 0.25× | ≥ 100,000/s |"),
            "{sqlite}"
        );
        let sqlite_cpu = line(&ratios, "| persistence, SQLite: server CPU µs/msg");
        assert!(
            sqlite_cpu.contains("| 0.20× | 4.00× | 5.00× |"),
            "{sqlite_cpu}"
        );
        let mysql = line(&ratios, "| persistence, MySQL (MariaDB): stored");
        assert!(mysql.contains("| 3.00× | 0.30× | 0.50× |"), "{mysql}");
        let postgres = line(&ratios, "| persistence, PostgreSQL: stored");
        assert!(postgres.contains("| — | — | — |"), "{postgres}");
        let fanout = line(&ratios, "| fan-out, rooms of 1,000: deliveries/s");
        assert!(fanout.contains("| — | 0.60× | — |"), "{fanout}");
        let fanout_cpu = line(&ratios, "| fan-out, rooms of 1,000: server CPU µs/delivery");
        assert!(fanout_cpu.contains("| — | 2.00× | — |"), "{fanout_cpu}");

        // Numbers: each rate with its server CPU per item; marketplace lines without it get
        // it from the server CPU seconds and the messages sent (18 s / 200,000 = 90 µs).
        let values = render_values(&reports);
        let sqlite = line(&values, "| persistence, SQLite: stored");
        assert!(
            sqlite.contains(
                "| 50,000 (20.00 µs) | 10,000 (100.00 µs) | 100,000 (5.00 µs) | 200,000 (4.00 µs) |"
            ),
            "{sqlite}"
        );
        let market = line(&values, "| marketplace @ 10,000 msgs/s offered");
        assert!(
            market.contains("| 10,000 (90.00 µs) | — | — | — |"),
            "{market}"
        );
        let idle = line(&values, "| idle: sessions held");
        assert!(idle.contains("| — | — | — | — |"), "{idle}");

        // Storage against its limit, per backend, with the database server's CPU.
        let storage = render_storage(&reports);
        let mysql = line(&storage, "| MySQL (MariaDB)");
        assert_eq!(
            mysql,
            "| MySQL (MariaDB) | 30,000 | 60,000 | 0.50× | 10.00 | 2.50 | 4.00× | 25.00 | 12.50 | 256.0 / 256 |"
        );
        let sqlite = line(&storage, "| SQLite");
        assert!(
            sqlite.contains(
                "| 50,000 | 200,000 | 0.25× | 20.00 | 4.00 | 5.00× | — | — | 250.5 / 256 |"
            ),
            "{sqlite}"
        );

        // Every line is a Markdown table row with the header's number of cells.
        for table in [&ratios, &values, &storage, &render_details(&reports)] {
            let cells = |l: &str| l.matches('|').count();
            let header = table.lines().next().map(cells).unwrap_or_default();
            assert!(header > 2);
            assert!(table.lines().all(|l| cells(l) == header), "{table}");
        }
        let all = render(&reports);
        assert!(all.starts_with("CPU of every row"));
        assert!(all.contains("#### Headline"));
    }

    #[test]
    fn machines_that_differ_are_listed_and_older_lines_still_parse() {
        let old = r#"{"scenario":"idle","target":"baseline","label":"","sessions":10,"seconds":1.0,"rate":5.0,"sent":0,"delivered":0,"receipts":0,"missing":0,"errors":0,"first_error":null,"server_rss_before":null,"server_rss_after":null,"rss_per_session":null,"server_cpu_s":null,"server_cpu_us_per_item":null,"generator_cpu_s":0.0,"generator_cores":0.0,"latency":null,"receipt_latency":null,"params":""}"#;
        let mut reports = parse(old).unwrap_or_default();
        assert_eq!(reports.len(), 1);
        assert!(reports[0].machine.is_none() && reports[0].db_cpu_s.is_none());
        reports.push(Report::new("idle", "reuse-chat", "", String::new()));
        let m = render_machines(&reports);
        assert!(m.starts_with("Rows were taken on different CPUs:"), "{m}");
        assert!(m.contains("- not recorded: baseline\n"), "{m}");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(group(-1234), "-1,234");
        assert!(parse("{not json").is_err());
    }
}
