//! /dev: a small tmpfs with the standard character devices, the usual symlinks, a private
//! devpts instance (so the container's ptys are its own) and /dev/shm.

use crate::error::{Context, Result};
use crate::mountpoint::{self, Symlinks};
use crate::sys::{fs, mount};
use std::ffi::CStr;
use std::os::fd::AsRawFd;

/// name, major, minor: the nodes every runtime provides (mode 0666).
pub const DEVICES: [(&CStr, u32, u32); 6] = [
    (c"null", 1, 3),
    (c"zero", 1, 5),
    (c"full", 1, 7),
    (c"random", 1, 8),
    (c"urandom", 1, 9),
    (c"tty", 5, 0),
];

/// name -> target.
pub const SYMLINKS: [(&CStr, &CStr); 5] = [
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"ptmx", c"pts/ptmx"),
];

/// Mounts and fills /dev below the cwd (the rootfs). Needs umask 0 for the modes to hold.
pub fn setup() -> Result<()> {
    let flags = libc::MS_NOSUID | libc::MS_STRICTATIME;
    let data = c"mode=755,size=65536k";
    mountpoint::mount_fs("/dev", Symlinks::Refuse, c"tmpfs", flags, Some(data))?;
    // The fresh tmpfs now covers "dev": open its root to fill it.
    let dir_flags = libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC;
    let dev = fs::openat2(
        libc::AT_FDCWD,
        c"dev",
        dir_flags,
        fs::RESOLVE_BENEATH | fs::RESOLVE_NO_SYMLINKS,
    )
    .ctx(|| "open the new /dev".into())?;
    for (name, major, minor) in DEVICES {
        fs::mknod_char(&dev, name, 0o666, major, minor)
            .ctx(|| format!("mknod /dev/{}", name.to_string_lossy()))?;
    }
    for (name, target) in SYMLINKS {
        fs::symlinkat(target, &dev, name)
            .ctx(|| format!("symlink /dev/{}", name.to_string_lossy()))?;
    }
    fs::mkdirat(dev.as_raw_fd(), c"pts", 0o755).ctx(|| "mkdir /dev/pts".into())?;
    fs::mkdirat(dev.as_raw_fd(), c"shm", 0o1777).ctx(|| "mkdir /dev/shm".into())?;
    // Both directories were just made in our own tmpfs: nothing else can have replaced them.
    let pts_flags = libc::MS_NOSUID | libc::MS_NOEXEC;
    mount::mount(
        Some(c"devpts"),
        c"dev/pts",
        Some(c"devpts"),
        pts_flags,
        Some(c"newinstance,ptmxmode=0666,mode=0620"),
    )
    .ctx(|| "mount devpts on /dev/pts".into())?;
    let shm_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount::mount(
        Some(c"shm"),
        c"dev/shm",
        Some(c"tmpfs"),
        shm_flags,
        Some(c"mode=1777,size=65536k"),
    )
    .ctx(|| "mount tmpfs on /dev/shm".into())
}
