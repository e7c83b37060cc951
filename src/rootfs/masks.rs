//! Masked and read-only paths in the container's /proc and /sys, as Docker, runc and crun set
//! them: what shows the host's kernel memory, keys, interrupts or firmware is hidden, and what
//! would change the host's kernel (/proc/sys, /proc/sysrq-trigger) is read-only.
//!
//! Every mount is made from inside the new /proc (or /sys), entered through a descriptor that
//! fstatfs showed to be procfs (or sysfs), never through a path in the rootfs: a rootfs whose
//! proc is a symlink, or is swapped meanwhile, cannot make nsbox mask something else and leave
//! the real /proc open (CVE-2019-16884).

use crate::error::{Error, Result};
use crate::rootfs::mountpoint::{self, Create, Kind, Symlinks};
use crate::sys::{fs, mount};
use crate::trace;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::Errno;

/// Files in /proc replaced by /dev/null: reading gives nothing, writing goes nowhere.
const PROC_FILES: [&CStr; 7] = [
    c"kcore",
    c"keys",
    c"latency_stats",
    c"timer_list",
    c"timer_stats",
    c"sched_debug",
    c"interrupts",
];

/// Directories in /proc hidden under an empty read-only tmpfs.
const PROC_DIRS: [&CStr; 3] = [c"acpi", c"asound", c"scsi"];

/// Bound onto themselves read-only.
const PROC_READ_ONLY: [&CStr; 5] = [c"bus", c"fs", c"irq", c"sys", c"sysrq-trigger"];

/// Directories in /sys hidden under an empty read-only tmpfs: firmware tables, and the power
/// meters whose readings leak what other processes compute (CVE-2020-8694).
const SYS_DIRS: [&CStr; 2] = [c"firmware", c"devices/virtual/powercap"];

const EMPTY_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
const PROC_SUPER_MAGIC: i64 = libc::PROC_SUPER_MAGIC;
const SYSFS_MAGIC: i64 = libc::SYSFS_MAGIC;

/// Masks /proc and /sys. `dev` is the container's /dev (its `null` is the mask for files).
/// Paths that this kernel does not have are skipped. Works from inside each filesystem (its
/// root as the cwd, so each path is one step), and returns to the rootfs.
pub fn apply(dev: &OwnedFd) -> Result<()> {
    trace::step(|| "mask /proc paths (/dev/null on files, empty read-only tmpfs on dirs)".into());
    enter("/proc", PROC_SUPER_MAGIC, "procfs")?;
    // Each mask is bound from the previous one: a bind of a bind of /dev/null is /dev/null,
    // and a short source path is a cheap lookup.
    let mut null = under(dev, c"null");
    for name in PROC_FILES {
        let bound = mount::mount(Some(&null), name, None, libc::MS_BIND, None);
        if skip_missing(bound, "/proc", name)? {
            null = name.into();
        }
    }
    let mut empty_dir = None;
    for name in PROC_DIRS {
        if empty(&empty_dir, "/proc", name)? {
            empty_dir = Some(name);
        }
    }
    trace::step(|| {
        "make /proc/sys, /proc/sysrq-trigger, /proc/bus, /proc/fs, /proc/irq read-only".into()
    });
    for name in PROC_READ_ONLY {
        let bound = mount::mount(Some(name), name, None, libc::MS_BIND | libc::MS_REC, None);
        if skip_missing(bound, "/proc", name)? {
            let here = mount::Target::At(libc::AT_FDCWD, name);
            mount::setattr(here, mount::MOUNT_ATTR_RDONLY, true)
                .map_err(|e| failed("make read-only", "/proc", name, e))?;
        }
    }
    leave()?;
    trace::step(|| "mask /sys/firmware and /sys/devices/virtual/powercap".into());
    enter("/sys", SYSFS_MAGIC, "sysfs")?;
    let mut empty_dir = None;
    for name in SYS_DIRS {
        if empty(&empty_dir, "/sys", name)? {
            empty_dir = Some(name);
        }
    }
    leave()
}

/// Makes the root of the filesystem just mounted at `target` the cwd, once fstatfs says it is
/// the kind nsbox mounted there.
fn enter(target: &str, magic: i64, kind: &str) -> Result<()> {
    let fd = open_checked(target, magic, kind)?;
    fs::fchdir(&fd).map_err(|e| Error::sys(format!("enter the new {target}"), e))
}

/// Back from a filesystem's root to the rootfs it is mounted on ('..' crosses the mount).
fn leave() -> Result<()> {
    fs::chdir(c"..").map_err(|e| Error::sys("return to the rootfs (chdir ..)", e))
}

/// Opens the filesystem just mounted at `target` (crossing onto its root) and makes sure it is
/// the kind nsbox mounted there.
fn open_checked(target: &str, magic: i64, kind: &str) -> Result<OwnedFd> {
    let fd = mountpoint::open(target, Kind::Dir, Symlinks::Refuse, Create::No)?;
    let found = fs::filesystem_type(&fd)
        .map_err(|e| Error::sys(format!("fstatfs on the new {target}"), e))?;
    if found != magic {
        return Err(Error::new(
            format!("the container's {target}"),
            format!("it is not {kind} (filesystem type {found:#x}) right after nsbox mounted {kind} there"),
        )
        .hint("something replaced the rootfs's directory meanwhile: nsbox refuses to mask paths on it"));
    }
    Ok(fd)
}

/// An empty read-only tmpfs over the directory `name` (in the cwd): a new one, or a bind of
/// `like`, one made before. Ok(false) when there is no such directory.
fn empty(like: &Option<&CStr>, shown: &str, name: &CStr) -> Result<bool> {
    let mounted = match like {
        Some(source) => mount::mount(Some(source), name, None, libc::MS_BIND, None),
        None => mount::mount(
            Some(c"tmpfs"),
            name,
            Some(c"tmpfs"),
            EMPTY_FLAGS,
            Some(c"mode=555"),
        ),
    };
    skip_missing(mounted, shown, name)
}

/// `/proc/self/fd/N/name`: the entry `name` of the directory `dir` refers to, reached
/// through the descriptor (the lookup starts at the fd's own mount, not at a rootfs path).
fn under(dir: &OwnedFd, name: &CStr) -> CString {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name.to_bytes());
    // Neither the number nor a C string's bytes hold a NUL.
    CString::new(path).unwrap_or_default()
}

/// Ok(true) when done, Ok(false) when this kernel has no such path.
fn skip_missing(r: std::result::Result<(), Errno>, shown: &str, name: &CStr) -> Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(failed("mask", shown, name, e)),
    }
}

fn failed(action: &str, dir: &str, name: &CStr, e: Errno) -> Error {
    Error::sys(format!("{action} {dir}/{}", name.to_string_lossy()), e)
}
