//! Resource limits with cgroups, on v1, v2 and hybrid hosts.
//!
//!   parent, before clone: detect the layout -> plan one directory per hierarchy -> record the
//!     paths in the state -> mkdir `<own cgroup>/nsbox/<id>` -> write the limits
//!   clone3(CLONE_INTO_CGROUP) into the v2 directory (the child is born there)
//!   child: writes 0 to each v1 `tasks` file (moves itself: no global lock for a single
//!     thread) -> unshare(CLONE_NEWCGROUP) -> mounts its own cgroups read-only at /sys/fs/cgroup
//!   parent, after the container ended: out-of-memory report -> rmdir (bounded retry)

mod device_program;
pub mod join;
pub mod layout;
pub mod limits;
mod plan;
pub mod settings;
mod tree;

pub use plan::Planned;
pub use tree::{Cgroups, remove_recorded};

use crate::error::{Error, Result};
use crate::sys::read_text;
use crate::trace;
use limits::Limits;
use std::path::Path;

/// Reads what the limits depend on (the layout, the CPUs) and checks the limits against it:
/// bad values and missing controllers are reported before anything is created.
pub fn prepare(limits: &Limits) -> Result<Vec<Planned>> {
    if limits.cpu_quota_us.is_some() || limits.cpuset.is_some() {
        let online = online_cpus()?;
        if let Some(quota) = limits.cpu_quota_us {
            limits::check_cpus(quota, online.len())?;
        }
        if let Some(cpus) = &limits.cpuset {
            limits::check_cpuset(cpus, &online)?;
        }
    }
    let layout = layout::parse(
        &read_text(Path::new("/proc/self/mountinfo"))?,
        &read_text(Path::new("/proc/self/cgroup"))?,
    );
    trace::note(|| format!("cgroup layout: {}", layout.kind()));
    let v2_available = match &layout.v2 {
        Some(v2) => read_text(&v2.mount.join("cgroup.controllers")).unwrap_or_default(),
        None => String::new(),
    };
    plan::plan(limits, &layout, &v2_available)
}

/// The CPUs that are online, from /sys/devices/system/cpu/online (`0-15`).
pub fn online_cpus() -> Result<Vec<u32>> {
    let text = read_text(Path::new("/sys/devices/system/cpu/online"))?;
    limits::parse_cpu_list(&text).ok_or_else(|| {
        Error::new(
            "/sys/devices/system/cpu/online",
            "not a CPU list as the kernel writes it",
        )
    })
}
