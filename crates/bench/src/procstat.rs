//! Process resource readings from `/proc`: resident memory and CPU time of the server under
//! test (by pid) and of the generator itself, so every report says what the run cost.

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

/// Resource readings of the server and the generator at one moment, to subtract later.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    /// Server RSS in bytes, when a pid is known.
    pub server_rss: Option<u64>,
    /// Server CPU time, when a pid is known.
    pub server_cpu: Option<Duration>,
    /// Generator CPU time.
    pub own_cpu: Duration,
    /// When it was taken.
    pub at: std::time::Instant,
}

impl Snapshot {
    /// Reads everything now.
    pub fn take(server_pid: Option<u32>) -> Snapshot {
        Snapshot {
            server_rss: server_pid.and_then(rss_bytes),
            server_cpu: server_pid.and_then(cpu_time),
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
    }
}
