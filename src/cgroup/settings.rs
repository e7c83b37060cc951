//! The cgroup files each limit is written to, per controller and cgroup version, in the order
//! the kernel needs them. Pure: the directory and the writing are tree.rs's.

use super::limits::format_cpus;
use super::limits::{BlockIo, CPU_PERIOD_US, Controller, Limits, ThrottleKind, Version};

/// One value to write: file name, value, and whether the file may be missing (swap
/// accounting is optional in the kernel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub file: String,
    pub value: String,
    pub optional: bool,
}

fn set(file: impl Into<String>, value: impl ToString) -> Setting {
    Setting {
        file: file.into(),
        value: value.to_string(),
        optional: false,
    }
}

fn optional(file: &str, value: impl ToString) -> Setting {
    Setting {
        optional: true,
        ..set(file, value)
    }
}

/// What a new v1 cpuset copies from its parent (it starts with no CPUs and no nodes, and
/// refuses tasks until both are set).
#[derive(Debug, Clone, Copy, Default)]
pub struct Inherited<'a> {
    pub cpus: &'a str,
    pub mems: &'a str,
}

impl Limits {
    /// The files to write for `controller`, in order (v1 needs the period before the quota,
    /// and the memory limit before memory+swap).
    pub fn settings(
        &self,
        controller: Controller,
        version: Version,
        up: Inherited,
    ) -> Vec<Setting> {
        let v2 = version == Version::V2;
        match controller {
            Controller::Pids => self.pids.map(|n| set("pids.max", n)).into_iter().collect(),
            Controller::Memory => self.memory_settings(v2),
            Controller::Cpu => self.cpu_settings(v2),
            Controller::Cpuset => {
                let cpus = self.cpuset.as_deref().map(format_cpus);
                let mems = self.cpuset_mems.as_deref().map(format_cpus);
                let mut s = Vec::new();
                // v1 needs both; v2 inherits what is not set.
                if let Some(cpus) = cpus.or_else(|| (!v2).then(|| up.cpus.to_string())) {
                    s.push(set("cpuset.cpus", cpus));
                }
                if let Some(mems) = mems.or_else(|| (!v2).then(|| up.mems.to_string())) {
                    s.push(set("cpuset.mems", mems));
                }
                s
            }
            // On v2 the rules are a BPF program (device_program.rs), not files.
            Controller::Devices if v2 => Vec::new(),
            Controller::Devices => self
                .devices
                .iter()
                .flatten()
                .map(|(allow, rule)| match allow {
                    true => set("devices.allow", rule),
                    false => set("devices.deny", rule),
                })
                .collect(),
            Controller::Blkio => self
                .block_io
                .as_ref()
                .map(|b| block_io_settings(b, v2))
                .unwrap_or_default(),
            Controller::Hugetlb => self
                .hugepages
                .iter()
                .flatten()
                .map(|(size, bytes)| match v2 {
                    true => set(format!("hugetlb.{size}.max"), bytes),
                    false => set(format!("hugetlb.{size}.limit_in_bytes"), bytes),
                })
                .collect(),
        }
    }

    fn memory_settings(&self, v2: bool) -> Vec<Setting> {
        let mut s = Vec::new();
        let unlimited = self.memory_swap == Some(u64::MAX);
        if v2 {
            if let Some(bytes) = self.memory {
                s.push(set("memory.max", bytes));
                // Swap is limited too: `-m 32m` means 32 MiB in all, as users expect of it.
                let swap = match self.memory_swap {
                    _ if unlimited => "max".to_string(),
                    Some(total) => total.saturating_sub(bytes).to_string(),
                    None => "0".into(),
                };
                s.push(optional("memory.swap.max", swap));
            }
            if let Some(low) = self.memory_low {
                s.push(set("memory.low", low));
            }
        } else {
            if let Some(bytes) = self.memory {
                s.push(set("memory.limit_in_bytes", bytes));
                let total = match self.memory_swap {
                    _ if unlimited => "-1".to_string(),
                    Some(total) => total.to_string(),
                    None => bytes.to_string(),
                };
                s.push(optional("memory.memsw.limit_in_bytes", total));
            }
            if let Some(low) = self.memory_low {
                s.push(set("memory.soft_limit_in_bytes", low));
            }
        }
        s
    }

    fn cpu_settings(&self, v2: bool) -> Vec<Setting> {
        let mut s = Vec::new();
        if let Some(shares) = self.cpu_shares {
            match v2 {
                true => s.push(set("cpu.weight", shares_to_weight(shares))),
                false => s.push(set("cpu.shares", shares)),
            }
        }
        if let Some(quota) = self.cpu_quota_us {
            match v2 {
                true => s.push(set("cpu.max", format!("{quota} {CPU_PERIOD_US}"))),
                false => {
                    s.push(set("cpu.cfs_period_us", CPU_PERIOD_US));
                    s.push(set("cpu.cfs_quota_us", quota));
                }
            }
        }
        s
    }
}

/// v1's cpu.shares (2..=262144) as v2's cpu.weight (1..=10000), as runc and crun map it.
fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// v1's blkio weight (10..=1000) as v2's io.weight (1..=10000).
fn blkio_to_io_weight(weight: u64) -> u64 {
    1 + (weight.clamp(10, 1000) - 10) * 9999 / 990
}

fn block_io_settings(b: &BlockIo, v2: bool) -> Vec<Setting> {
    let mut s = Vec::new();
    if let Some(w) = b.weight {
        match v2 {
            true => s.push(set(
                "io.weight",
                format!("default {}", blkio_to_io_weight(w)),
            )),
            false => s.push(set("blkio.weight", w)),
        }
    }
    for &(major, minor, w) in &b.device_weights {
        match v2 {
            true => s.push(set(
                "io.weight",
                format!("{major}:{minor} {}", blkio_to_io_weight(w)),
            )),
            false => s.push(set("blkio.weight_device", format!("{major}:{minor} {w}"))),
        }
    }
    for t in &b.throttles {
        let (v1_file, v2_key) = match t.kind {
            ThrottleKind::ReadBps => ("blkio.throttle.read_bps_device", "rbps"),
            ThrottleKind::WriteBps => ("blkio.throttle.write_bps_device", "wbps"),
            ThrottleKind::ReadIops => ("blkio.throttle.read_iops_device", "riops"),
            ThrottleKind::WriteIops => ("blkio.throttle.write_iops_device", "wiops"),
        };
        let dev = format!("{}:{}", t.major, t.minor);
        match v2 {
            // 0 is "no limit": v1 takes 0, v2 wants `max`.
            true if t.rate == 0 => s.push(set("io.max", format!("{dev} {v2_key}=max"))),
            true => s.push(set("io.max", format!("{dev} {v2_key}={}", t.rate))),
            false => s.push(set(v1_file, format!("{dev} {}", t.rate))),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::limits::Throttle;
    use super::*;

    fn files(l: &Limits, c: Controller, v: Version) -> Vec<String> {
        let up = Inherited {
            cpus: "0-3",
            mems: "0",
        };
        l.settings(c, v, up)
            .into_iter()
            .map(|s| format!("{}={}", s.file, s.value))
            .collect()
    }

    #[test]
    fn files_per_version() {
        let l = Limits {
            pids: Some(20),
            memory: Some(32 << 20),
            cpu_quota_us: Some(50_000),
            cpuset: Some(vec![0, 1]),
            ..Limits::default()
        };
        assert_eq!(files(&l, Controller::Pids, Version::V2), ["pids.max=20"]);
        assert_eq!(
            files(&l, Controller::Memory, Version::V2),
            ["memory.max=33554432", "memory.swap.max=0"]
        );
        assert_eq!(
            files(&l, Controller::Memory, Version::V1),
            [
                "memory.limit_in_bytes=33554432",
                "memory.memsw.limit_in_bytes=33554432"
            ]
        );
        assert_eq!(
            files(&l, Controller::Cpu, Version::V2),
            ["cpu.max=50000 100000"]
        );
        assert_eq!(
            files(&l, Controller::Cpu, Version::V1),
            ["cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"]
        );
        assert_eq!(
            files(&l, Controller::Cpuset, Version::V1),
            ["cpuset.cpus=0-1", "cpuset.mems=0"]
        );
        assert_eq!(
            files(&l, Controller::Cpuset, Version::V2),
            ["cpuset.cpus=0-1"]
        );
        assert_eq!(
            l.controllers(),
            [
                Controller::Pids,
                Controller::Memory,
                Controller::Cpu,
                Controller::Cpuset
            ]
        );
        assert!(Limits::default().is_empty());
    }

    #[test]
    fn oci_only_settings() {
        let l = Limits {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            memory_low: Some(16 << 20),
            cpu_shares: Some(512),
            cpuset_mems: Some(vec![0]),
            block_io: Some(BlockIo {
                weight: Some(500),
                device_weights: vec![(8, 0, 100)],
                throttles: vec![Throttle {
                    kind: ThrottleKind::ReadBps,
                    major: 254,
                    minor: 0,
                    rate: 1 << 20,
                }],
            }),
            hugepages: Some(vec![("2MB".into(), 4 << 20)]),
            ..Limits::default()
        };
        assert_eq!(
            files(&l, Controller::Memory, Version::V2),
            [
                "memory.max=67108864",
                "memory.swap.max=33554432",
                "memory.low=16777216"
            ]
        );
        assert_eq!(
            files(&l, Controller::Memory, Version::V1),
            [
                "memory.limit_in_bytes=67108864",
                "memory.memsw.limit_in_bytes=100663296",
                "memory.soft_limit_in_bytes=16777216"
            ]
        );
        let unlimited = Limits {
            memory_swap: Some(u64::MAX),
            ..l.clone()
        };
        assert_eq!(
            files(&unlimited, Controller::Memory, Version::V2)[1],
            "memory.swap.max=max"
        );
        assert_eq!(
            files(&unlimited, Controller::Memory, Version::V1)[1],
            "memory.memsw.limit_in_bytes=-1"
        );
        assert_eq!(files(&l, Controller::Cpu, Version::V1), ["cpu.shares=512"]);
        assert_eq!(files(&l, Controller::Cpu, Version::V2), ["cpu.weight=20"]);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(
            files(&l, Controller::Cpuset, Version::V1),
            ["cpuset.cpus=0-3", "cpuset.mems=0"]
        );
        assert_eq!(
            files(&l, Controller::Cpuset, Version::V2),
            ["cpuset.mems=0"]
        );
        assert_eq!(
            files(&l, Controller::Blkio, Version::V1),
            [
                "blkio.weight=500",
                "blkio.weight_device=8:0 100",
                "blkio.throttle.read_bps_device=254:0 1048576"
            ]
        );
        assert_eq!(
            files(&l, Controller::Blkio, Version::V2),
            [
                "io.weight=default 4950",
                "io.weight=8:0 910",
                "io.max=254:0 rbps=1048576"
            ]
        );
        assert_eq!(
            files(&l, Controller::Hugetlb, Version::V1),
            ["hugetlb.2MB.limit_in_bytes=4194304"]
        );
        assert_eq!(
            files(&l, Controller::Hugetlb, Version::V2),
            ["hugetlb.2MB.max=4194304"]
        );
        assert_eq!(
            l.controllers(),
            [
                Controller::Memory,
                Controller::Cpu,
                Controller::Cpuset,
                Controller::Blkio,
                Controller::Hugetlb
            ]
        );
    }
}
