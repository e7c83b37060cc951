//! Resolving mount targets inside the rootfs without ever leaving it.
//!
//! The child's cwd is the rootfs (a fresh bind mount). Every target is opened with openat2 and
//! RESOLVE_BENEATH, so neither `..` nor an absolute symlink planted in the rootfs can make nsbox
//! mount over a host path (CVE-2019-16884, CVE-2021-30465); the mount then goes through the
//! resolved descriptor (`/proc/self/fd/N`, or move_mount on the fd), never through the path again.

use crate::error::{Error, Result, Topic};
use crate::sys::{self, fs, mount};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::Errno;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dir,
    File,
    /// A device node (a volume's source): bound as a file, and its mount keeps device access.
    Device,
}

/// How strictly symlinks on the way are treated.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Symlinks {
    /// Relative symlinks that stay inside the rootfs are followed (user volumes, tmpfs).
    Beneath,
    /// No symlink at all (/proc, /dev, /sys: a symlink there is an attack, not a layout).
    Refuse,
}

fn resolve_flags(symlinks: Symlinks) -> u64 {
    let base = fs::RESOLVE_BENEATH | fs::RESOLVE_NO_MAGICLINKS;
    if symlinks == Symlinks::Refuse {
        base | fs::RESOLVE_NO_SYMLINKS
    } else {
        base
    }
}

fn open_flags(kind: Kind) -> i32 {
    let base = libc::O_PATH | libc::O_CLOEXEC;
    if kind == Kind::Dir {
        base | libc::O_DIRECTORY
    } else {
        base
    }
}

/// Whether a missing mount point may be created in the rootfs (never with --read-only: the
/// image on disk must not change).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Create {
    Yes,
    No,
}

/// A new filesystem (`fstype`, with `data`) at `target`, resolved inside the rootfs first and
/// mounted through the resulting descriptor.
pub fn mount_fs(
    target: &str,
    symlinks: Symlinks,
    create: Create,
    fstype: &CStr,
    flags: u64,
    data: Option<&CStr>,
) -> Result<()> {
    let fd = open(target, Kind::Dir, symlinks, create)?;
    mount_on(&fd, target, fstype, flags, data)
}

/// mount(fstype) onto the directory `fd` refers to (`target` names it in messages).
pub fn mount_on(
    fd: &OwnedFd,
    target: &str,
    fstype: &CStr,
    flags: u64,
    data: Option<&CStr>,
) -> Result<()> {
    mount::mount(Some(fstype), &fd_path(fd), Some(fstype), flags, data)
        .map_err(|e| Error::sys(format!("mount {} on {target}", fstype.to_string_lossy()), e))
}

/// `/proc/self/fd/N`: a path that names exactly the object `fd` was opened on.
fn fd_path(fd: &OwnedFd) -> CString {
    // A decimal number never holds a NUL byte.
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// Opens `target` (absolute, normalised, inside the container) below the cwd (the rootfs) as an
/// O_PATH fd, creating it and missing parents when `create` allows.
pub fn open(target: &str, kind: Kind, symlinks: Symlinks, create: Create) -> Result<OwnedFd> {
    let rel = target.trim_start_matches('/');
    let path = sys::cstr(rel).map_err(|e| Error::sys(format!("mount point {target:?}"), e))?;
    match fs::openat2(libc::AT_FDCWD, &path, open_flags(kind), resolve_flags(symlinks)) {
        Err(Errno::ENOENT) if create == Create::Yes => {
            create_path(rel, kind, symlinks).map_err(|e| explain(target, "create mount point", e))
        }
        Err(Errno::ENOENT) => Err(explain(target, "open mount point", Errno::ENOENT)
            .about(Topic::ReadOnly)
            .hint("on a read-only rootfs nsbox does not create mount points in the image: create it there first")),
        other => other.map_err(|e| explain(target, "open mount point", e)),
    }
}

/// Creates each missing component of `rel`. Every prefix is resolved from the rootfs with
/// RESOLVE_BENEATH (so relative symlinks inside the rootfs work), and each new entry is made
/// in the directory fd of its resolved parent, so nothing is created outside the rootfs.
fn create_path(rel: &str, kind: Kind, symlinks: Symlinks) -> Result<OwnedFd, Errno> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut parent: Option<OwnedFd> = None;
    for i in 0..parts.len() {
        let part_kind = if i + 1 == parts.len() {
            kind
        } else {
            Kind::Dir
        };
        let prefix = sys::cstr(parts[..=i].join("/"))?;
        let resolve = || {
            fs::openat2(
                libc::AT_FDCWD,
                &prefix,
                open_flags(part_kind),
                resolve_flags(symlinks),
            )
        };
        let fd = match resolve() {
            Err(Errno::ENOENT) => {
                let dir = parent
                    .as_ref()
                    .map(|p| p.as_raw_fd())
                    .unwrap_or(libc::AT_FDCWD);
                let name = sys::cstr(parts[i])?;
                if part_kind == Kind::Dir {
                    fs::mkdirat(dir, &name, 0o755)?;
                } else {
                    let flags = libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC;
                    sys::close(fs::openat(dir, &name, flags, 0o644)?);
                }
                resolve()?
            }
            other => other?,
        };
        parent = Some(fd);
    }
    parent.ok_or(Errno::EINVAL)
}

/// Turns the errnos of a refused resolution into words.
fn explain(target: &str, action: &str, e: Errno) -> Error {
    let err = Error::sys(format!("{action} {target:?} in the rootfs"), e);
    match e {
        Errno::EXDEV => err.hint(
            "the path leads out of the rootfs (through '..' or an absolute symlink); nsbox refuses to follow it: \
             name the real directory inside the rootfs",
        ),
        Errno::ELOOP => err.hint("a symlink is on the way; nsbox does not mount over symlinks here"),
        Errno::ENOTDIR => err.hint("a directory is needed there (or a file, to bind a file)"),
        Errno::EROFS => err.hint(
            "the filesystem there is read-only (a read-only rootfs, /sys, or a read-only \
             volume): the mount point must exist in advance",
        ),
        _ => err,
    }
}
