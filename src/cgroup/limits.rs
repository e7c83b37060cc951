//! Resource limits as exact values, whichever front end gave them (the native options are
//! parsed in cli/limits.rs), their checks against the machine, and formatting (settings.rs
//! maps them to cgroup files). Pure: what depends on the machine, like the CPU count, is
//! passed in.

use crate::error::{Error, Result, Topic};

/// The smallest memory limit nsbox accepts: below it the runtime's own setup and the command's
/// first pages do not fit, and the container dies before its command runs.
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;
/// The CFS period nsbox uses, in microseconds (the kernel's default).
pub const CPU_PERIOD_US: u64 = 100_000;
/// The kernel refuses a CFS quota under 1 ms.
pub const MIN_QUOTA_US: u64 = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// pids.max: at most this many processes and threads.
    pub pids: Option<u64>,
    /// Memory (and swap together with it) in bytes.
    pub memory: Option<u64>,
    /// CPU time per CPU_PERIOD_US, in microseconds (`--cpus 0.5` is 50,000).
    pub cpu_quota_us: Option<u64>,
    /// The CPUs the container may run on, as a sorted list of CPU numbers.
    pub cpuset: Option<Vec<u32>>,
    /// Device access rules (an OCI config's), in order: `(allow, "c 1:3 rwm")`; the v1
    /// devices controller takes them, on v2 a BPF program made of them.
    pub devices: Option<Vec<(bool, String)>>,
    /// The rest only an OCI config sets (linux.resources).
    /// Memory the kernel reclaims from last, in bytes (memory.reservation).
    pub memory_low: Option<u64>,
    /// Memory and swap together, in bytes (memory.swap); `u64::MAX`: swap not limited.
    /// Without it swap is limited to nothing beyond `memory`.
    pub memory_swap: Option<u64>,
    /// The CPU weight as v1's cpu.shares (2..=262144; 1024 is a default share).
    pub cpu_shares: Option<u64>,
    /// The memory nodes the container may allocate from (cpuset.mems).
    pub cpuset_mems: Option<Vec<u32>>,
    /// Block I/O weights and throttles.
    pub block_io: Option<BlockIo>,
    /// Huge page limits: the page size as the kernel names it (`2MB`, `1GB`) and bytes.
    pub hugepages: Option<Vec<(String, u64)>>,
}

/// An OCI config's linux.resources.blockIO: a weight as v1's blkio.weight (10..=1000),
/// weights per device, and throttles per device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockIo {
    pub weight: Option<u64>,
    /// (major, minor, weight)
    pub device_weights: Vec<(u64, u64, u64)>,
    pub throttles: Vec<Throttle>,
}

/// One device's throttle: at most `rate` bytes or operations per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub kind: ThrottleKind,
    pub major: u64,
    pub minor: u64,
    pub rate: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKind {
    ReadBps,
    WriteBps,
    ReadIops,
    WriteIops,
}

/// A cgroup controller nsbox uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Controller {
    Pids,
    Memory,
    Cpu,
    Cpuset,
    Devices,
    Blkio,
    Hugetlb,
}

impl Controller {
    pub fn name(self) -> &'static str {
        match self {
            Controller::Pids => "pids",
            Controller::Memory => "memory",
            Controller::Cpu => "cpu",
            Controller::Cpuset => "cpuset",
            Controller::Devices => "devices",
            Controller::Blkio => "blkio",
            Controller::Hugetlb => "hugetlb",
        }
    }

    /// Its name in cgroup v2 (blkio is `io` there).
    pub fn v2_name(self) -> &'static str {
        match self {
            Controller::Blkio => "io",
            c => c.name(),
        }
    }

    /// The setting that asks for it, for messages (the front end names it).
    pub fn topic(self) -> Option<Topic> {
        match self {
            Controller::Pids => Some(Topic::Pids),
            Controller::Memory => Some(Topic::Memory),
            Controller::Cpu => Some(Topic::CpuQuota),
            Controller::Cpuset => Some(Topic::Cpuset),
            Controller::Devices => Some(Topic::Devices),
            Controller::Blkio | Controller::Hugetlb => None,
        }
    }
}

/// Which cgroup interface a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self == &Limits::default()
    }

    /// The controllers these limits need, each once, in a fixed order.
    pub fn controllers(&self) -> Vec<Controller> {
        let mut c = Vec::new();
        if self.pids.is_some() {
            c.push(Controller::Pids);
        }
        if self.memory.is_some() || self.memory_low.is_some() || self.memory_swap.is_some() {
            c.push(Controller::Memory);
        }
        if self.cpu_quota_us.is_some() || self.cpu_shares.is_some() {
            c.push(Controller::Cpu);
        }
        if self.cpuset.is_some() || self.cpuset_mems.is_some() {
            c.push(Controller::Cpuset);
        }
        if self.devices.is_some() {
            c.push(Controller::Devices);
        }
        if self.block_io.is_some() {
            c.push(Controller::Blkio);
        }
        if self.hugepages.is_some() {
            c.push(Controller::Hugetlb);
        }
        c
    }
}

/// A CPU quota as a number of CPUs: `0.5`, `2`.
pub fn format_quota(quota: u64) -> String {
    let (whole, frac) = (quota / CPU_PERIOD_US, quota % CPU_PERIOD_US);
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:05}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A CPU quota may not ask for more CPUs than the machine has online.
pub fn check_cpus(quota: u64, online: usize) -> Result<()> {
    if quota > online as u64 * CPU_PERIOD_US {
        return Err(Error::new(
            format!("a CPU quota of {} CPUs", format_quota(quota)),
            format!("this machine has {online} CPUs"),
        )
        .about(Topic::CpuQuota));
    }
    Ok(())
}

/// A size in bytes, or a number with k, m or g (powers of 1024; a trailing `b` allowed).
pub fn parse_bytes(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let lower = lower.strip_suffix('b').unwrap_or(&lower);
    let (digits, unit) = match lower.char_indices().last() {
        Some((i, 'k')) => (&lower[..i], 1u64 << 10),
        Some((i, 'm')) => (&lower[..i], 1 << 20),
        Some((i, 'g')) => (&lower[..i], 1 << 30),
        _ => (lower, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .filter(|b| *b < i64::MAX as u64)
}

/// A CPU list as the kernel writes it: `0-3,8,10-11`. Sorted, without duplicates.
pub fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi): (u32, u32) = (lo.parse().ok()?, hi.parse().ok()?);
        if lo > hi || hi >= 4096 {
            return None;
        }
        cpus.extend(lo..=hi);
    }
    crate::sort::sort(&mut cpus);
    cpus.dedup();
    Some(cpus)
}

/// Every CPU of a CPU set must be online (`online`, from /sys/devices/system/cpu/online).
pub fn check_cpuset(cpus: &[u32], online: &[u32]) -> Result<()> {
    let missing: Vec<u32> = cpus
        .iter()
        .copied()
        .filter(|c| !online.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(Error::new(
            format!("the CPU set {}", format_cpus(cpus)),
            format!(
                "no such CPU: {} (online: {})",
                format_cpus(&missing),
                format_cpus(online)
            ),
        )
        .about(Topic::Cpuset));
    }
    Ok(())
}

/// The kernel's list format for sorted CPU numbers: `0-3,8`.
pub fn format_cpus(cpus: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cpus.len() {
        let mut j = i;
        while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            cpus[i].to_string()
        } else {
            format!("{}-{}", cpus[i], cpus[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// `32 MiB`, `1.5 GiB`, `512 KiB`, `100 bytes`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if b >= size {
            let tenths = (b as u128 * 10 / size as u128) as u64;
            return if tenths.is_multiple_of(10) {
                format!("{} {unit}", tenths / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    format!("{b} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas() {
        assert_eq!(format_quota(50_000), "0.5");
        assert_eq!(format_quota(300_000), "3");
        assert_eq!(format_quota(100_001), "1.00001");
        assert!(check_cpus(200_000, 2).is_ok());
        assert_eq!(
            check_cpus(300_000, 2).unwrap_err().to_string(),
            "a CPU quota of 3 CPUs: this machine has 2 CPUs"
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,8,2").unwrap(), vec![0, 1, 2, 3, 8]);
        assert_eq!(parse_cpu_list("0-1\n").unwrap(), vec![0, 1]);
        for bad in ["", "a", "3-1", "1-", ",", "0-99999"] {
            assert!(parse_cpu_list(bad).is_none(), "{bad}");
        }
        assert_eq!(format_cpus(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert!(check_cpuset(&[1], &[0, 1]).is_ok());
        assert_eq!(
            check_cpuset(&[0, 1, 2], &[0, 1]).unwrap_err().to_string(),
            "the CPU set 0-2: no such CPU: 2 (online: 0-1)"
        );
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
        assert_eq!(human_bytes(100), "100 bytes");
    }
}
