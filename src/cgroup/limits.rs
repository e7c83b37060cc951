//! The limits a user asks for, parsed and checked, and the files that carry them in v1 and v2.

use crate::error::{Error, Result};

/// Docker's floor: below this a container cannot even start a shell.
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;
/// The CFS period nsbox uses for --cpus (100 ms, the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub pids: Option<u64>,
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub cpuset: Option<String>,
}

impl Limits {
    pub fn any(&self) -> bool {
        self.pids.is_some() || self.memory.is_some() || self.cpus.is_some() || self.cpuset.is_some()
    }

    /// The controllers these limits need.
    pub fn controllers(&self) -> Vec<&'static str> {
        let mut c = Vec::new();
        if self.pids.is_some() {
            c.push("pids");
        }
        if self.memory.is_some() {
            c.push("memory");
        }
        if self.cpus.is_some() {
            c.push("cpu");
        }
        if self.cpuset.is_some() {
            c.push("cpuset");
        }
        c
    }

    /// (file, value) pairs to write for `controller`, in order.
    pub fn files(&self, controller: &str, v2: bool) -> Vec<(&'static str, String)> {
        match (controller, v2) {
            ("pids", _) => self.pids.map(|n| vec![("pids.max", n.to_string())]).unwrap_or_default(),
            ("memory", false) => self.memory.map(|m| vec![("memory.limit_in_bytes", m.to_string())]).unwrap_or_default(),
            ("memory", true) => self
                .memory
                .map(|m| vec![("memory.max", m.to_string()), ("memory.swap.max", "0".into())])
                .unwrap_or_default(),
            ("cpu", false) => self
                .cpus
                .map(|c| vec![("cpu.cfs_period_us", CPU_PERIOD_US.to_string()), ("cpu.cfs_quota_us", quota(c).to_string())])
                .unwrap_or_default(),
            ("cpu", true) => self.cpus.map(|c| vec![("cpu.max", format!("{} {CPU_PERIOD_US}", quota(c)))]).unwrap_or_default(),
            ("cpuset", _) => self.cpuset.clone().map(|s| vec![("cpuset.cpus", s)]).unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

fn quota(cpus: f64) -> u64 {
    ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000)
}

/// `64m`, `1g`, `512k`, `1048576`: bytes; at least MIN_MEMORY.
pub fn parse_memory(s: &str) -> Result<u64> {
    let bad = |why: &str| Error::new(format!("--memory {s:?}"), why.to_string());
    let lower = s.trim().to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = match lower.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&lower[..i], c),
        _ => (lower, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'k' => 10,
        'm' => 20,
        'g' => 30,
        't' => 40,
        _ => return Err(bad("expected a size like 64m, 1g or 512k (suffixes k, m, g, t)")),
    };
    let n: u64 = digits.parse().map_err(|_| bad("expected a size like 64m, 1g or 512k (suffixes k, m, g, t)"))?;
    let bytes = n.checked_shl(shift).filter(|b| b >> shift == n).ok_or_else(|| bad("too large"))?;
    if bytes < MIN_MEMORY {
        return Err(bad("below the minimum of 6 MiB a container needs"));
    }
    Ok(bytes)
}

/// A positive whole number of processes.
pub fn parse_pids(s: &str) -> Result<u64> {
    match s.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::new(format!("--pids-limit {s:?}"), "expected a whole number above 0")),
    }
}

/// A positive number of CPUs, at most `online` (fractions allowed: 0.5 is half a core).
pub fn parse_cpus(s: &str, online: usize) -> Result<f64> {
    let bad = |why: String| Error::new(format!("--cpus {s:?}"), why);
    let n: f64 = s.parse().map_err(|_| bad("expected a number of CPUs, e.g. 0.5 or 2".into()))?;
    if !n.is_finite() || n < 0.01 {
        return Err(bad("expected at least 0.01 CPUs".into()));
    }
    if n > online as f64 {
        return Err(bad(format!("this machine has {online} CPUs")));
    }
    Ok(n)
}

/// A CPU list like `0-2,4`, naming only CPUs in `online` (the host's /sys/devices/system/cpu/online).
pub fn parse_cpuset(s: &str, online: &str) -> Result<String> {
    let bad = |why: String| Error::new(format!("--cpuset {s:?}"), why);
    let wanted = cpu_list(s).ok_or_else(|| bad("expected a CPU list like 0-2,4".into()))?;
    let have = cpu_list(online.trim()).unwrap_or_default();
    if let Some(cpu) = wanted.iter().find(|c| !have.contains(c)) {
        return Err(bad(format!("CPU {cpu} does not exist here (online: {})", online.trim())));
    }
    Ok(s.to_string())
}

/// `0-2,4` -> [0, 1, 2, 4]; None if malformed or empty.
pub fn cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    if out.is_empty() { None } else { Some(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("64m").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("33554432").unwrap(), 32 << 20);
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        assert!(parse_memory("1m").unwrap_err().to_string().contains("minimum of 6 MiB"));
        assert!(parse_memory("12q").unwrap_err().to_string().contains("expected a size"));
        assert!(parse_memory("-5m").is_err());
        assert!(parse_memory("").is_err());
        assert!(parse_memory("99999999999t").unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn pids_cpus_cpuset() {
        assert_eq!(parse_pids("20").unwrap(), 20);
        assert!(parse_pids("0").is_err());
        assert!(parse_pids("-1").is_err());
        assert_eq!(parse_cpus("0.5", 2).unwrap(), 0.5);
        assert!(parse_cpus("3", 2).unwrap_err().to_string().contains("this machine has 2 CPUs"));
        assert!(parse_cpus("0", 2).is_err());
        assert!(parse_cpus("x", 2).is_err());
        assert_eq!(cpu_list("0-2,4").unwrap(), vec![0, 1, 2, 4]);
        assert!(cpu_list("2-1").is_none());
        assert!(parse_cpuset("0", "0-1\n").is_ok());
        assert!(parse_cpuset("5", "0-1\n").unwrap_err().to_string().contains("CPU 5 does not exist"));
        assert!(parse_cpuset("a", "0-1").is_err());
    }

    #[test]
    fn files_per_version() {
        let l = Limits { pids: Some(20), memory: Some(32 << 20), cpus: Some(0.5), cpuset: Some("0".into()) };
        assert_eq!(l.controllers(), ["pids", "memory", "cpu", "cpuset"]);
        assert_eq!(l.files("pids", false), [("pids.max", "20".to_string())]);
        assert_eq!(l.files("memory", false), [("memory.limit_in_bytes", "33554432".to_string())]);
        assert_eq!(l.files("memory", true)[0], ("memory.max", "33554432".to_string()));
        assert_eq!(l.files("cpu", true), [("cpu.max", "50000 100000".to_string())]);
        assert_eq!(l.files("cpu", false)[1], ("cpu.cfs_quota_us", "50000".to_string()));
        assert!(!Limits::default().any());
    }
}
