//! Where a native user gives each setting an error can be about: the option's name.

use crate::error::Topic;

pub fn flag(topic: Topic) -> Option<&'static str> {
    Some(match topic {
        Topic::Memory => "--memory",
        Topic::Pids => "--pids-limit",
        Topic::CpuQuota => "--cpus",
        Topic::Cpuset => "--cpuset",
        Topic::Devices => return None,
        Topic::UidMap => "--uidmap",
        Topic::GidMap => "--gidmap",
        Topic::Capabilities => "--cap-add, --cap-drop",
        Topic::Seccomp => "--seccomp",
        Topic::User => "--user",
        Topic::Workdir => "--workdir",
        Topic::Network => "--net",
        Topic::ReadOnly => "--read-only",
        Topic::Chroot => "--chroot",
        Topic::Rootfs => "--rootfs",
        Topic::Name => "--name",
        Topic::StateRoot => "--root",
    })
}
