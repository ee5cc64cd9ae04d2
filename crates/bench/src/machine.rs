//! The CPU a run was on (model name, family and model numbers, CPUs available), stored in every
//! report so that figures taken on different machines are never compared unawares.

use serde::{Deserialize, Serialize};

/// What one run's machine was, as `/proc/cpuinfo` and `nproc` tell it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Machine {
    /// The first processor's `model name` (empty when unreadable).
    pub cpu: String,
    /// Its `cpu family`.
    pub family: Option<u32>,
    /// Its `model` number.
    pub model: Option<u32>,
    /// CPUs this process may run on, as `nproc` counts them.
    pub cpus: usize,
}

impl Machine {
    /// Reads this machine (`/proc/cpuinfo` and the CPUs the process may use).
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        Machine::parse(&cpuinfo, cpus)
    }

    /// Reads the first processor's description out of `/proc/cpuinfo` text.
    pub fn parse(cpuinfo: &str, cpus: usize) -> Machine {
        let first = cpuinfo.split("\n\n").next().unwrap_or_default();
        let field = |name: &str| {
            first.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_owned())
            })
        };
        Machine {
            cpu: field("model name").unwrap_or_default(),
            family: field("cpu family").and_then(|v| v.parse().ok()),
            model: field("model").and_then(|v| v.parse().ok()),
            cpus,
        }
    }

    /// One line for the table: `AMD EPYC 7B13 (family 25, model 1), 2 CPUs`.
    pub fn describe(&self) -> String {
        let name = if self.cpu.is_empty() {
            "unknown CPU"
        } else {
            &self.cpu
        };
        let numbers = match (self.family, self.model) {
            (Some(f), Some(m)) => format!(" (family {f}, model {m})"),
            _ => String::new(),
        };
        format!("{name}{numbers}, {} CPUs", self.cpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_first_processor() {
        let text = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                    model name\t: AMD EPYC 9B14\n\nprocessor\t: 1\nmodel name\t: other\n";
        let m = Machine::parse(text, 2);
        assert_eq!(m.cpu, "AMD EPYC 9B14");
        assert_eq!((m.family, m.model, m.cpus), (Some(25), Some(17), 2));
        assert_eq!(m.describe(), "AMD EPYC 9B14 (family 25, model 17), 2 CPUs");
        assert_eq!(Machine::parse("", 1).describe(), "unknown CPU, 1 CPUs");
        assert!(Machine::this().cpus > 0);
    }
}
