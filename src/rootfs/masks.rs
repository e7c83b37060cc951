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

/// nsbox's own lists, as the native front end gives them (Docker's, runc's and crun's, plus
/// the power meters): masked paths, then read-only ones.
pub const DEFAULT_MASKED: [&str; 12] = [
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/interrupts",
    "/proc/acpi",
    "/proc/asound",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];
pub const DEFAULT_READ_ONLY: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Directories of procfs and sysfs that masked paths name: an empty tmpfs covers them (a file
/// gets /dev/null). Any other name is tried as a file first, then as a directory.
const KNOWN_DIRS: [&str; 9] = [
    "acpi",
    "asound",
    "scsi",
    "bus",
    "fs",
    "irq",
    "sys",
    "firmware",
    "devices/virtual/powercap",
];

const EMPTY_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
const PROC_SUPER_MAGIC: i64 = libc::PROC_SUPER_MAGIC;
const SYSFS_MAGIC: i64 = libc::SYSFS_MAGIC;

/// Masks `masked` (a file gets /dev/null, a directory an empty read-only tmpfs) and makes
/// `readonly` read-only. `dev` is the container's /dev (its `null` is the mask for files).
/// Paths in /proc and /sys are masked from inside the filesystem just mounted there, entered
/// through a descriptor that fstatfs showed to be procfs or sysfs, each path one lookup from its
/// root (`skip`: a path this kernel lacks); other paths (an OCI config's) are resolved beneath
/// the rootfs one by one (`mounts::protect`), as are those of a /proc or /sys the container's
/// mounts did not put there (`mounted`: whether procfs is on /proc, sysfs on /sys).
pub fn apply(
    dev: &OwnedFd,
    masked: &[String],
    readonly: &[String],
    mounted: (bool, bool),
) -> Result<()> {
    let ours = |root: &str| match root {
        "/proc" => mounted.0,
        _ => mounted.1,
    };
    let inside = |root: &str, list: &[String]| -> Vec<CString> {
        if !ours(root) {
            return Vec::new();
        }
        list.iter()
            .filter_map(|p| p.strip_prefix(root)?.strip_prefix('/'))
            .filter(|rel| in_filesystem(rel))
            .filter_map(|rel| CString::new(rel).ok())
            .collect()
    };
    let (proc_m, proc_r) = (inside("/proc", masked), inside("/proc", readonly));
    let (sys_m, sys_r) = (inside("/sys", masked), inside("/sys", readonly));
    if !proc_m.is_empty() || !proc_r.is_empty() {
        trace::step(|| {
            format!(
                "mask {} /proc paths (/dev/null on files, empty read-only tmpfs on dirs), make {} read-only",
                proc_m.len(),
                proc_r.len()
            )
        });
        enter("/proc", PROC_SUPER_MAGIC, "procfs")?;
        mask_here(dev, "/proc", &proc_m, &proc_r)?;
        leave()?;
    }
    if !sys_m.is_empty() || !sys_r.is_empty() {
        trace::step(|| {
            format!(
                "mask {} /sys paths, make {} read-only",
                sys_m.len(),
                sys_r.len()
            )
        });
        enter("/sys", SYSFS_MAGIC, "sysfs")?;
        mask_here(dev, "/sys", &sys_m, &sys_r)?;
        leave()?;
    }
    let elsewhere = |list: &[String]| -> Vec<String> {
        list.iter()
            .filter(|p| {
                !["/proc", "/sys"].iter().any(|root| {
                    ours(root)
                        && p.strip_prefix(root)
                            .and_then(|r| r.strip_prefix('/'))
                            .is_some_and(in_filesystem)
                })
            })
            .cloned()
            .collect()
    };
    let (other_m, other_r) = (elsewhere(masked), elsewhere(readonly));
    if other_m.is_empty() && other_r.is_empty() {
        return Ok(());
    }
    super::mounts::protect(dev, &other_m, &other_r)
}

/// A path below /proc or /sys that is one lookup from the filesystem's root, with no magic
/// link on the way (a pid's directory, `self`, `thread-self`) and no `..`.
fn in_filesystem(rel: &str) -> bool {
    !rel.is_empty()
        && rel.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c != "self"
                && c != "thread-self"
                && !c.bytes().all(|b| b.is_ascii_digit())
        })
}

/// In the cwd (the root of the filesystem): each mask bound from the previous one of its kind
/// (a bind of a bind of /dev/null is /dev/null, and a short source path is a cheap lookup).
fn mask_here(dev: &OwnedFd, shown: &str, masked: &[CString], readonly: &[CString]) -> Result<()> {
    let dev_null = under(dev, c"null");
    let mut null: CString = dev_null.clone();
    let mut empty_dir: Option<&CStr> = None;
    for name in masked {
        let known_dir = KNOWN_DIRS.contains(&name.to_str().unwrap_or_default());
        if !known_dir {
            let mut bound = mount::mount(Some(&null), name, None, libc::MS_BIND, None);
            // The previous mask may be hidden by a later one (a config's `acpi/wakeup`, then
            // `acpi`): from /dev/null itself again. One in the filesystem's root cannot be
            // hidden, so there ENOENT says the target is missing (no second try).
            if bound == Err(Errno::ENOENT) && null != dev_null && nested(&null) {
                bound = mount::mount(Some(&dev_null), name, None, libc::MS_BIND, None);
            }
            match bound {
                Ok(()) => {
                    null = name.clone();
                    continue;
                }
                Err(Errno::ENOENT) => continue,
                // A directory: masked as one below.
                Err(Errno::ENOTDIR) => {}
                Err(e) => return Err(failed("mask", shown, name, e)),
            }
        }
        if empty(&empty_dir, shown, name)? {
            empty_dir = Some(name);
        }
    }
    for name in readonly {
        let bound = mount::mount(Some(name), name, None, libc::MS_BIND | libc::MS_REC, None);
        if skip_missing(bound, shown, name)? {
            let here = mount::Target::At(libc::AT_FDCWD, name);
            mount::setattr(here, mount::MOUNT_ATTR_RDONLY, true)
                .map_err(|e| failed("make read-only", shown, name, e))?;
        }
    }
    Ok(())
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
    let fresh = || {
        mount::mount(
            Some(c"tmpfs"),
            name,
            Some(c"tmpfs"),
            EMPTY_FLAGS,
            Some(c"mode=555"),
        )
    };
    let mounted = match like {
        // The mask made before may be hidden by a later one: a new tmpfs then.
        Some(source) => match mount::mount(Some(source), name, None, libc::MS_BIND, None) {
            Err(Errno::ENOENT) if nested(source) => fresh(),
            other => other,
        },
        None => fresh(),
    };
    match mounted {
        // Under a file (`kcore/x`): no such directory either.
        Err(Errno::ENOTDIR) => Ok(false),
        other => skip_missing(other, shown, name),
    }
}

/// `/proc/self/fd/N/name`: the entry `name` of the directory `dir` refers to, reached
/// through the descriptor (the lookup starts at the fd's own mount, not at a rootfs path).
fn under(dir: &OwnedFd, name: &CStr) -> CString {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(name.to_bytes());
    // Neither the number nor a C string's bytes hold a NUL.
    CString::new(path).unwrap_or_default()
}

/// Whether `path` (relative to the filesystem's root) is below a directory, so that a later
/// mask over that directory may hide it.
fn nested(path: &CStr) -> bool {
    path.to_bytes().contains(&b'/')
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
