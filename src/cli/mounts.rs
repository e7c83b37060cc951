//! The native flags as the ordered mount list both front ends hand the runtime: /proc, /dev
//! (nsbox's tmpfs with the standard devices), /sys, the container's cgroups, then `-v` and
//! `--tmpfs`, parents before children whatever their order on the command line (so that
//! `--tmpfs /t -v SRC:/t/v` shows SRC inside the tmpfs instead of hiding it).

use super::tmpfs::Tmpfs;
use crate::error::{Error, Result};
use crate::spec::{Mount, MountKind};
use crate::sys;
use std::path::PathBuf;

const PROC_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
const SYS_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;

/// `-v SRC:DST[:ro|rw]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Absolute host path.
    pub source: PathBuf,
    /// Absolute path inside the container, without `..`.
    pub target: String,
    pub read_only: bool,
}

/// What the list depends on besides the user's mounts.
pub struct Base {
    /// /sys is the host's, bound read-only: in a user namespace that shares the host's
    /// network, sysfs may not be mounted (only the network namespace's owner may).
    pub host_sys: bool,
    /// The container has cgroups of its own (limits), shown at /sys/fs/cgroup.
    pub cgroups: bool,
}

/// The whole list. Each volume's source must exist on the host now; a target that would hide
/// the container's procfs or /dev is refused.
pub fn list(base: Base, volumes: &[Volume], tmpfs: &[Tmpfs]) -> Result<Vec<Mount>> {
    let fs_mount = |destination: &str, kind, flags, data: &str| Mount {
        destination: destination.into(),
        kind,
        source: PathBuf::new(),
        flags,
        propagation: 0,
        data: data.into(),
    };
    let mut out = vec![
        fs_mount("/proc", MountKind::Proc, PROC_FLAGS, ""),
        fs_mount("/dev", MountKind::Tmpfs, 0, ""),
    ];
    out.push(match base.host_sys {
        true => Mount {
            source: "/sys".into(),
            ..fs_mount(
                "/sys",
                MountKind::Bind { recursive: true },
                libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
                "",
            )
        },
        false => fs_mount("/sys", MountKind::Sysfs, SYS_FLAGS, ""),
    });
    // The host's /sys shows the host's cgroups: an empty tmpfs hides them where the
    // container has none of its own.
    if base.cgroups || base.host_sys {
        out.push(fs_mount("/sys/fs/cgroup", MountKind::Cgroup, 0, ""));
    }
    let mut user = Vec::with_capacity(volumes.len() + tmpfs.len());
    for v in volumes {
        user.push(volume(v)?);
    }
    for t in tmpfs {
        reserved_target(&t.target, Kind::Dir)
            .map_err(|why| why.into_error(format!("--tmpfs {:?}", t.target)))?;
        user.push(fs_mount(&t.target, MountKind::Tmpfs, t.flags, &t.data));
    }
    crate::sort::sort_by_key(&mut user, |m| m.destination.split('/').count());
    out.append(&mut user);
    Ok(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Device,
}

/// A volume's bind: nodev, as the rootfs, unless its source is a device node the user hands
/// to the container (`MountKind::Device`).
fn volume(v: &Volume) -> Result<Mount> {
    let kind = match sys::host_file_type("--volume source", &v.source)? {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFCHR | libc::S_IFBLK => Kind::Device,
        _ => Kind::File,
    };
    reserved_target(&v.target, kind).map_err(|why| {
        why.into_error(format!(
            "--volume {:?}",
            format!("{}:{}", v.source.display(), v.target)
        ))
    })?;
    let (kind, mut flags) = match kind {
        Kind::Device => (MountKind::Device, 0),
        _ => (MountKind::Bind { recursive: true }, libc::MS_NODEV),
    };
    if v.read_only {
        flags |= libc::MS_RDONLY;
    }
    Ok(Mount {
        destination: v.target.clone(),
        kind,
        source: v.source.clone(),
        flags,
        propagation: 0,
        data: String::new(),
    })
}

/// The files of /proc a volume may replace: host-wide figures that tools like lxcfs show per
/// container. Anything else there would hide (or fake) the container's own procfs.
const PROC_FILES: [&str; 7] = [
    "cpuinfo",
    "diskstats",
    "loadavg",
    "meminfo",
    "stat",
    "swaps",
    "uptime",
];

/// Why a mount at `target` is refused: it would hide the container's /proc or /dev (what
/// runc and docker refuse too).
enum Reserved {
    Proc,
    Dev,
}

impl Reserved {
    fn into_error(self, what: String) -> Error {
        match self {
            Reserved::Proc => Error::new(what, "it would hide the container's /proc (its procfs)")
                .hint("mount it elsewhere; under /proc a file may replace only cpuinfo, diskstats, loadavg, meminfo, stat, swaps or uptime"),
            Reserved::Dev => Error::new(what, "it would hide the container's /dev or one of its standard entries")
                .hint("mount it elsewhere; under /dev only a device node (-v /dev/X:/dev/X) and /dev/shm may be mounted"),
        }
    }
}

/// /proc and below (but a file of PROC_FILES), /dev and below (but a device node, and /dev/shm).
fn reserved_target(target: &str, kind: Kind) -> std::result::Result<(), Reserved> {
    let under = |dir: &str| target == dir || target.starts_with(&format!("{dir}/"));
    if under("/proc") {
        let file = target
            .strip_prefix("/proc/")
            .is_some_and(|f| PROC_FILES.contains(&f));
        return match file && kind == Kind::File {
            true => Ok(()),
            false => Err(Reserved::Proc),
        };
    }
    if target == "/dev" || (under("/dev") && kind != Kind::Device && !under("/dev/shm")) {
        return Err(Reserved::Dev);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Base {
        Base {
            host_sys: false,
            cgroups: false,
        }
    }

    fn tmpfs(target: &str) -> Tmpfs {
        Tmpfs {
            target: target.into(),
            data: "mode=1777".into(),
            flags: libc::MS_NOSUID | libc::MS_NODEV,
        }
    }

    fn volume(source: &str, target: &str) -> Volume {
        Volume {
            source: source.into(),
            target: target.into(),
            read_only: false,
        }
    }

    fn destinations(list: &[Mount]) -> Vec<&str> {
        list.iter().map(|m| m.destination.as_str()).collect()
    }

    #[test]
    fn the_standard_mounts_come_first_and_parents_before_children() {
        let list = list(
            base(),
            &[volume("/", "/t/v"), volume("/dev/null", "/dev/null")],
            &[tmpfs("/t")],
        )
        .unwrap();
        assert_eq!(
            destinations(&list),
            ["/proc", "/dev", "/sys", "/t", "/t/v", "/dev/null"]
        );
        assert_eq!(list[2].kind, MountKind::Sysfs);
        assert_eq!(list[4].kind, MountKind::Bind { recursive: true });
        assert_eq!(list[4].flags, libc::MS_NODEV);
        assert_eq!(list[5].kind, MountKind::Device);
        assert_eq!(list[5].flags, 0);
    }

    #[test]
    fn host_sys_is_bound_and_its_cgroups_hidden() {
        let b = Base {
            host_sys: true,
            cgroups: false,
        };
        let list = list(b, &[], &[]).unwrap();
        assert_eq!(
            destinations(&list),
            ["/proc", "/dev", "/sys", "/sys/fs/cgroup"]
        );
        assert_eq!(list[2].kind, MountKind::Bind { recursive: true });
        assert_eq!(list[2].source, std::path::Path::new("/sys"));
        assert_ne!(list[2].flags & libc::MS_RDONLY, 0);
    }

    #[test]
    fn targets_that_hide_proc_or_dev_are_refused() {
        for (v, t) in [
            ("/", "/proc"),
            ("/", "/proc/sys"),
            ("/etc/hostname", "/proc/kcore"),
            ("/", "/dev"),
            ("/etc/hostname", "/dev/null"),
        ] {
            assert!(list(base(), &[volume(v, t)], &[]).is_err(), "{v}:{t}");
        }
        assert!(list(base(), &[], &[tmpfs("/dev/pts")]).is_err());
        assert!(list(base(), &[], &[tmpfs("/dev/shm")]).is_ok());
        assert!(list(base(), &[volume("/etc/hostname", "/proc/meminfo")], &[]).is_ok());
        let err = list(base(), &[volume("/nonexistent-src", "/x")], &[]).unwrap_err();
        assert_eq!(err.what, "--volume source \"/nonexistent-src\"");
    }
}
