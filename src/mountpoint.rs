//! Resolving mount targets inside the rootfs without ever leaving it.
//!
//! The child's cwd is the rootfs (a fresh bind mount). Every target is opened with openat2 and
//! RESOLVE_BENEATH, so neither `..` nor an absolute symlink planted in the rootfs can make nsbox
//! mount over a host path (CVE-2019-16884, CVE-2021-30465); the mount then goes through the
//! resolved descriptor (`/proc/self/fd/N`, or move_mount on the fd), never through the path again.

use crate::error::{Error, Result};
use crate::sys::{self, fs, mount};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::Errno;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dir,
    File,
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

/// A new filesystem (`fstype`, with `source` and `data`) at `target`, resolved inside the rootfs
/// first and mounted through the resulting descriptor.
pub fn mount_fs(
    target: &str,
    symlinks: Symlinks,
    fstype: &CStr,
    flags: u64,
    data: Option<&CStr>,
) -> Result<()> {
    let fd = open(target, Kind::Dir, symlinks)?;
    mount::mount(Some(fstype), &fd_path(&fd), Some(fstype), flags, data)
        .map_err(|e| Error::sys(format!("mount {} on {target}", fstype.to_string_lossy()), e))
}

/// `/proc/self/fd/N`: a path that names exactly the object `fd` was opened on.
fn fd_path(fd: &OwnedFd) -> CString {
    // A decimal number never holds a NUL byte.
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// Opens `target` (absolute, normalised, inside the container) below the cwd as an O_PATH fd,
/// creating it (and missing parents) when it does not exist yet.
pub fn open(target: &str, kind: Kind, symlinks: Symlinks) -> Result<OwnedFd> {
    let rel = target.trim_start_matches('/');
    let path = sys::cstr(rel).map_err(|e| Error::sys(format!("mount point {target:?}"), e))?;
    match fs::openat2(
        libc::AT_FDCWD,
        &path,
        open_flags(kind),
        resolve_flags(symlinks),
    ) {
        Ok(fd) => Ok(fd),
        Err(Errno::ENOENT) => {
            create(rel, kind, symlinks).map_err(|e| explain(target, "create mount point", e))?;
            fs::openat2(
                libc::AT_FDCWD,
                &path,
                open_flags(kind),
                resolve_flags(symlinks),
            )
            .map_err(|e| explain(target, "open mount point", e))
        }
        Err(e) => Err(explain(target, "open mount point", e)),
    }
}

/// Creates each missing component of `rel` below the cwd, one directory fd at a time, so a
/// symlink planted on the way is never followed out of the rootfs.
fn create(rel: &str, kind: Kind, symlinks: Symlinks) -> Result<(), Errno> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut dir = fs::openat2(libc::AT_FDCWD, c".", open_flags(Kind::Dir), 0)?;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let name = sys::cstr(*part)?;
        let part_kind = if last { kind } else { Kind::Dir };
        match fs::openat2(
            dir.as_raw_fd(),
            &name,
            open_flags(part_kind),
            resolve_flags(symlinks),
        ) {
            Ok(fd) => dir = fd,
            Err(Errno::ENOENT) => {
                if part_kind == Kind::Dir {
                    fs::mkdirat(dir.as_raw_fd(), &name, 0o755)?;
                } else {
                    let flags = libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC;
                    sys::close(fs::openat(dir.as_raw_fd(), &name, flags, 0o644)?);
                }
                dir = fs::openat2(
                    dir.as_raw_fd(),
                    &name,
                    open_flags(part_kind),
                    resolve_flags(symlinks),
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
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
            "the filesystem there is read-only (--read-only, /sys, or a :ro volume): \
             the mount point must exist in advance",
        ),
        _ => err,
    }
}
