//! Mounts: mount, umount2, pivot_root, chroot, and the new mount API (open_tree, move_mount,
//! mount_setattr) that binds and changes whole trees through file descriptors.

use super::{owned, ptr, q, qo, traced};
use crate::flags::{self, AT, MOUNT, MOUNT_ATTR, MOVE_MOUNT};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::{Errno, Sysno};

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
const OPEN_TREE_CLONE: u32 = 0x1;
const AT_RECURSIVE: u32 = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

/// struct mount_attr from linux/mount.h (MOUNT_ATTR_SIZE_VER0).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// mount(2).
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> Result<(), Errno> {
    traced(
        || {
            format!(
                "mount({}, {}, {}, {}, {})",
                qo(source),
                q(target),
                qo(fstype),
                flags::decode(flags, MOUNT),
                qo(data)
            )
        },
        // SAFETY: every pointer is either NULL or a NUL-terminated string that outlives the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::mount,
                ptr(source),
                target.as_ptr(),
                ptr(fstype),
                flags,
                ptr(data)
            )
        },
    )
    .map(drop)
}

/// umount2(path, MNT_DETACH): lazily detach a mount and everything below it.
pub fn umount_detach(target: &CStr) -> Result<(), Errno> {
    traced(
        || format!("umount2({}, MNT_DETACH)", q(target)),
        // SAFETY: `target` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::umount2, target.as_ptr(), libc::MNT_DETACH) },
    )
    .map(drop)
}

/// pivot_root(2).
pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result<(), Errno> {
    traced(
        || format!("pivot_root({}, {})", q(new_root), q(put_old)),
        // SAFETY: both paths are NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::pivot_root, new_root.as_ptr(), put_old.as_ptr()) },
    )
    .map(drop)
}

/// chroot(2).
pub fn chroot(path: &CStr) -> Result<(), Errno> {
    traced(
        || format!("chroot({})", q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::chroot, path.as_ptr()) },
    )
    .map(drop)
}

/// open_tree(dir, path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_RECURSIVE): a detached copy of
/// the mount tree at `path` (relative to `dir`; with `Target::Fd`, the tree the fd is on),
/// ready to be attached with `move_mount`.
pub fn open_tree_clone(target: Target<'_>) -> Result<OwnedFd, Errno> {
    open_tree(target, AT_RECURSIVE)
}

/// As `open_tree_clone`, the mount at `path` alone, without the mounts below it (a `bind`
/// rather than an `rbind`).
pub fn open_tree_clone_one(target: Target<'_>) -> Result<OwnedFd, Errno> {
    open_tree(target, 0)
}

fn open_tree(target: Target<'_>, recursive: u32) -> Result<OwnedFd, Errno> {
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | recursive;
    let (dirfd, path) = match target {
        Target::Path(p) => (libc::AT_FDCWD, p),
        Target::Fd(fd) => {
            flags |= libc::AT_EMPTY_PATH as u32;
            (fd, c"")
        }
        Target::At(fd, p) => (fd, p),
    };
    traced(
        || {
            let dir = if dirfd == libc::AT_FDCWD {
                "AT_FDCWD".to_string()
            } else {
                dirfd.to_string()
            };
            format!(
                "open_tree({dir}, {}, {})",
                q(path),
                flags::decode(flags as u64, AT)
            )
        },
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::open_tree, dirfd, path.as_ptr(), flags) },
    )
    // SAFETY: on success the syscall returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })
}

/// A new, detached tmpfs (fsopen, fsconfig, fsmount) with `options` (key, value) and the
/// MOUNT_ATTR_* flags `attrs`: filled through its fd, then attached with `move_mount`.
pub fn new_tmpfs(options: &[(&CStr, &CStr)], attrs: u64) -> Result<OwnedFd, Errno> {
    const FSOPEN_CLOEXEC: u32 = 1;
    const FSCONFIG_SET_STRING: u32 = 1;
    const FSCONFIG_CMD_CREATE: u32 = 6;
    const FSMOUNT_CLOEXEC: u32 = 1;
    let fs = traced(
        || "fsopen(\"tmpfs\", FSOPEN_CLOEXEC)".into(),
        // SAFETY: the name is a static NUL-terminated string.
        || unsafe { syscalls::syscall!(Sysno::fsopen, c"tmpfs".as_ptr(), FSOPEN_CLOEXEC) },
    )
    // SAFETY: on success fsopen returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })?;
    let fsfd = fs.as_raw_fd();
    for (key, value) in options {
        traced(
            || {
                format!(
                    "fsconfig({fsfd}, FSCONFIG_SET_STRING, {}, {}, 0)",
                    q(key),
                    q(value)
                )
            },
            // SAFETY: key and value are NUL-terminated strings that outlive the call.
            || unsafe {
                syscalls::syscall!(
                    Sysno::fsconfig,
                    fsfd,
                    FSCONFIG_SET_STRING,
                    key.as_ptr(),
                    value.as_ptr(),
                    0
                )
            },
        )?;
    }
    traced(
        || format!("fsconfig({fsfd}, FSCONFIG_CMD_CREATE, NULL, NULL, 0)"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fsconfig, fsfd, FSCONFIG_CMD_CREATE, 0, 0, 0) },
    )?;
    let mnt = traced(
        || {
            format!(
                "fsmount({fsfd}, FSMOUNT_CLOEXEC, {})",
                flags::decode(attrs, MOUNT_ATTR)
            )
        },
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fsmount, fsfd, FSMOUNT_CLOEXEC, attrs) },
    )
    // SAFETY: on success fsmount returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) });
    super::close(fs);
    mnt
}

/// move_mount(from, "", to, "", F_EMPTY_PATH|T_EMPTY_PATH): attach a detached tree onto the
/// directory (or file) that `to` refers to.
pub fn move_mount(from: &impl AsRawFd, to: &impl AsRawFd) -> Result<(), Errno> {
    let (from, to) = (from.as_raw_fd(), to.as_raw_fd());
    let flags = MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH;
    traced(
        || {
            format!(
                "move_mount({from}, \"\", {to}, \"\", {})",
                flags::decode(flags as u64, MOVE_MOUNT)
            )
        },
        // SAFETY: the empty paths are static NUL-terminated strings.
        || unsafe {
            syscalls::syscall!(
                Sysno::move_mount,
                from,
                c"".as_ptr(),
                to,
                c"".as_ptr(),
                flags
            )
        },
    )
    .map(drop)
}

/// mount_setattr(2) on the mount `path` is on (relative to the cwd) or on the tree `fd` holds:
/// sets `attrs` (MOUNT_ATTR_*), on every mount below too when `recursive`.
/// Also `Target::At`: the mount at a path below a directory descriptor.
pub fn setattr(target: Target<'_>, attrs: u64, recursive: bool) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: attrs,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let (dirfd, path, mut flags) = match target {
        Target::Path(p) => (libc::AT_FDCWD, p, 0u32),
        Target::Fd(fd) => (fd, c"", libc::AT_EMPTY_PATH as u32),
        Target::At(fd, p) => (fd, p, libc::AT_SYMLINK_NOFOLLOW as u32),
    };
    if recursive {
        flags |= AT_RECURSIVE;
    }
    traced(
        || {
            format!(
                "mount_setattr({}, {}, {}, {{attr_set={}}}, {})",
                if dirfd == libc::AT_FDCWD {
                    "AT_FDCWD".to_string()
                } else {
                    dirfd.to_string()
                },
                q(path),
                flags::decode(flags as u64, AT),
                flags::decode(attrs, MOUNT_ATTR),
                std::mem::size_of::<MountAttr>()
            )
        },
        // SAFETY: `path` is NUL-terminated and `attr` is a valid mount_attr for the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::mount_setattr,
                dirfd,
                path.as_ptr(),
                flags,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>()
            )
        },
    )
    .map(drop)
}

/// What `setattr` (and `open_tree_clone`) act on.
pub enum Target<'a> {
    /// A path relative to the cwd.
    Path(&'a CStr),
    /// What the descriptor refers to.
    Fd(i32),
    /// `path` below the directory descriptor (setattr does not follow a final symlink).
    At(i32, &'a CStr),
}
