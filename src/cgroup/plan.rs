//! Where a container's cgroups go: one directory per hierarchy it needs, chosen from the
//! host's layout before anything is created. Pure, so every layout is unit-tested.
//!
//! - A controller lives in the v1 hierarchy that holds it if there is one (a controller bound to
//!   v1 is never available in v2), else in v2 if v2 offers it; else it is missing: an error.
//! - Device rules go to v1's devices hierarchy, else to v2 as a BPF program (device_program.rs).
//! - The v2 hierarchy gets a directory even when it holds no controller (hybrid hosts): the
//!   container is born there with CLONE_INTO_CGROUP, and it tracks every process it forks.

use super::layout::{Hierarchy, Layout};
use super::limits::{Controller, Limits, Version};
use crate::error::{Error, Result};

/// One cgroup directory to create for the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub version: Version,
    pub hierarchy: Hierarchy,
    /// The limited controllers this directory carries.
    pub controllers: Vec<Controller>,
}

impl Planned {
    /// The name of this hierarchy's directory under the container's /sys/fs/cgroup, as on the
    /// host (`pids`, `cpu,cpuacct`; `unified` for v2 beside v1 hierarchies).
    pub fn view_name(&self) -> String {
        match self.version {
            Version::V2 => "unified".into(),
            Version::V1 => self
                .hierarchy
                .mount
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| self.hierarchy.controllers.clone()),
        }
    }
}

/// `v2_available` is the v2 root's cgroup.controllers (e.g. `cpuset cpu io memory pids`).
pub fn plan(limits: &Limits, layout: &Layout, v2_available: &str) -> Result<Vec<Planned>> {
    let mut dirs: Vec<Planned> = Vec::new();
    let mut v2_controllers = Vec::new();
    for controller in limits.controllers() {
        if let Some(h) = layout.v1_with(controller.name()) {
            match dirs.iter_mut().find(|d| d.hierarchy == *h) {
                Some(d) => d.controllers.push(controller),
                None => dirs.push(Planned {
                    version: Version::V1,
                    hierarchy: h.clone(),
                    controllers: vec![controller],
                }),
            }
        } else if layout.v2.is_some()
            && (controller == Controller::Devices
                || v2_available
                    .split_whitespace()
                    .any(|c| c == controller.v2_name()))
        {
            // v2 has no devices controller: its rules are a BPF program of the directory.
            v2_controllers.push(controller);
        } else {
            return Err(missing(controller, layout));
        }
    }
    if let Some(h) = &layout.v2 {
        dirs.push(Planned {
            version: Version::V2,
            hierarchy: h.clone(),
            controllers: v2_controllers,
        });
    }
    Ok(dirs)
}

fn missing(controller: Controller, layout: &Layout) -> Error {
    let name = controller.name();
    let what = format!("the cgroup controller {name}");
    let about = |e: Error| match controller.topic() {
        Some(t) => e.about(t),
        None => e,
    };
    if layout.kind() == "none" {
        return about(Error::new(what, "no cgroup filesystem is mounted on this host")).hint(
            "mount cgroup v2: mount -t cgroup2 none /sys/fs/cgroup (or run nsbox where cgroups are mounted)",
        );
    }
    let v1_hint = format!(
        "mount its v1 hierarchy: mkdir -p /sys/fs/cgroup/{name} && mount -t cgroup -o {name} cgroup /sys/fs/cgroup/{name}"
    );
    let hint = match &layout.v2 {
        Some(v2) => format!(
            "on cgroup v2 it must be listed in {}/cgroup.controllers (a kernel built with it, not bound to a v1 hierarchy); otherwise {v1_hint}",
            v2.mount.display()
        ),
        None => v1_hint,
    };
    about(Error::new(
        what,
        format!(
            "the {name} controller is not available on this host ({} cgroups)",
            layout.kind()
        ),
    ))
    .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::super::layout::parse;
    use super::*;

    const HYBRID: (&str, &str) = (
        "\
32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
",
        "5:pids:/\n4:memory:/m\n2:cpuacct:/\n1:cpu:/\n0::/\n",
    );

    fn limits() -> Limits {
        Limits {
            pids: Some(20),
            memory: Some(32 << 20),
            ..Limits::default()
        }
    }

    #[test]
    fn hybrid_puts_controllers_in_v1_and_tracks_in_v2() {
        let layout = parse(HYBRID.0, HYBRID.1);
        let dirs = plan(&limits(), &layout, "").unwrap();
        let summary: Vec<(Version, String, Vec<Controller>)> = dirs
            .iter()
            .map(|d| (d.version, d.view_name(), d.controllers.clone()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (Version::V1, "pids".into(), vec![Controller::Pids]),
                (Version::V1, "memory".into(), vec![Controller::Memory]),
                (Version::V2, "unified".into(), vec![]),
            ]
        );
        assert_eq!(
            dirs[1].hierarchy.own.to_str(),
            Some("/sys/fs/cgroup/memory/m")
        );
    }

    #[test]
    fn hybrid_without_cpuset_says_so() {
        let layout = parse(HYBRID.0, HYBRID.1);
        let l = Limits {
            cpuset: Some(vec![0]),
            ..Limits::default()
        };
        let e = plan(&l, &layout, "").unwrap_err().to_string();
        assert!(
            e.starts_with(
                "the cgroup controller cpuset: the cpuset controller is not available on this host (hybrid cgroups) — hint: on cgroup v2 it must be listed in /sys/fs/cgroup/unified/cgroup.controllers"
            ),
            "{e}"
        );
    }

    #[test]
    fn pure_v2_uses_one_directory() {
        let layout = parse(
            "30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n",
            "0::/user.slice/x\n",
        );
        let l = Limits {
            cpu_quota_us: Some(50_000),
            ..limits()
        };
        let dirs = plan(&l, &layout, "cpuset cpu io memory hugetlb pids\n").unwrap();
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[0].version, Version::V2);
        assert_eq!(
            dirs[0].controllers,
            [Controller::Pids, Controller::Memory, Controller::Cpu]
        );
        let e = plan(&l, &layout, "memory pids").unwrap_err();
        assert!(e.to_string().starts_with("the cgroup controller cpu:"));
    }

    #[test]
    fn comounted_v1_controllers_share_a_directory() {
        let layout = parse(
            "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
            "2:cpu,cpuacct:/\n",
        );
        let l = Limits {
            cpu_quota_us: Some(50_000),
            ..Limits::default()
        };
        let dirs = plan(&l, &layout, "").unwrap();
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[0].view_name(), "cpu,cpuacct");
    }

    #[test]
    fn no_cgroups_mounted() {
        let e = plan(&limits(), &Layout::default(), "").unwrap_err();
        assert!(
            e.to_string()
                .contains("no cgroup filesystem is mounted on this host")
        );
    }
}
