//! Process resource readings from `/proc`: resident memory and CPU time of the server under
//! test (by pid), of the database server behind it (a process and its children) and of the
//! generator itself, so every report says what the run cost.

use std::time::Duration;

/// Resident set size of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`), or `None` when the
/// process is gone or unreadable.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// User plus system CPU time consumed so far by every thread of `pid` (fields 14 and 15 of
/// `/proc/<pid>/stat`).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; every later field follows the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // `rest` starts at field 3 (state), so utime (14) is the 12th entry and stime the 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = clock_ticks_per_second();
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

/// The parent of `pid` (field 4 of `/proc/<pid>/stat`).
pub fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU time of `pid` and of every process descended from it. A database server is measured
/// this way: PostgreSQL forks a backend per connection (and has a WAL writer, checkpointer and
/// background writer besides), and `/proc/<pid>/stat` of the postmaster counts none of them;
/// MariaDB is one process, whose threads its own line already counts.
pub fn tree_cpu_time(pid: u32) -> Option<Duration> {
    let mut total = cpu_time(pid)?;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Some(total);
    };
    let mut children: Vec<(u32, u32)> = Vec::new();
    for entry in dir.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_pid(child) {
            children.push((parent, child));
        }
    }
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for &(parent, child) in &children {
            if parent == p && child != pid {
                // A process that ended since the listing simply counts nothing.
                total += cpu_time(child).unwrap_or_default();
                todo.push(child);
            }
        }
    }
    Some(total)
}

/// The oldest process whose command name (`/proc/<pid>/comm`) is one of `names`, e.g.
/// `mariadbd`: how the bare-storage loop finds the database server to measure.
pub fn find_process(names: &[&str]) -> Option<u32> {
    let mut found: Option<(u64, u32)> = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if !names.contains(&comm.trim_end()) {
            continue;
        }
        let started = start_time(pid).unwrap_or(u64::MAX);
        if found.is_none_or(|(s, _)| started < s) {
            found = Some((started, pid));
        }
    }
    found.map(|(_, pid)| pid)
}

/// When `pid` started, in clock ticks after boot (field 22 of `/proc/<pid>/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// The generator's own CPU time (user + system, all threads), from `getrusage(RUSAGE_SELF)`.
pub fn self_cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the zero-initialised struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// Raises this process's soft open-file limit to its hard limit, since every session is a
/// socket; returns the limit now in force.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    lim.rlim_cur
}

/// Resource readings of the server, its database and the generator at one moment, to
/// subtract later.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Server RSS in bytes, when a pid is known.
    pub server_rss: Option<u64>,
    /// Server CPU time, when a pid is known.
    pub server_cpu: Option<Duration>,
    /// CPU time of the database server and its children, when its pid is known.
    pub db_cpu: Option<Duration>,
    /// Generator CPU time.
    pub own_cpu: Duration,
    /// When it was taken.
    pub at: std::time::Instant,
}

impl Snapshot {
    /// Reads everything now (no database server).
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot::take_with_db(server_pid, None)
    }

    /// Reads everything now, the database server `db_pid` and its children included.
    pub fn take_with_db(server_pid: Option<u32>, db_pid: Option<u32>) -> Snapshot {
        Snapshot {
            server_rss: server_pid.and_then(rss_bytes),
            server_cpu: server_pid.and_then(cpu_time),
            db_cpu: db_pid.and_then(tree_cpu_time),
            own_cpu: self_cpu_time(),
            at: std::time::Instant::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).is_some_and(|r| r > 0));
        let spin = std::time::Instant::now();
        let mut x = 0u64;
        while spin.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_time(pid).is_some());
        assert!(self_cpu_time() > Duration::ZERO);
        assert!(rss_bytes(u32::MAX).is_none());
        // The tree of this process counts at least this process.
        let own = cpu_time(pid).unwrap_or_default();
        assert!(tree_cpu_time(pid).is_some_and(|t| t >= own));
        assert!(tree_cpu_time(u32::MAX).is_none());
        assert!(parent_pid(pid).is_some_and(|p| p > 0));
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let found = find_process(&[name.trim_end()]);
        assert!(found.is_some(), "{name}");
        assert!(find_process(&["no-such-process-name"]).is_none());
    }
}
