//! /dev: a small tmpfs with the standard character devices, the usual symlinks, a private
//! devpts instance (so the container's ptys are its own) and /dev/shm.

use crate::error::{Context, Result};
use crate::rootfs::mountpoint::{self, Create, Kind, Symlinks};
use crate::sys::{fs, mount};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};

/// name, major, minor: the nodes every runtime provides (mode 0666).
pub const DEVICES: [(&CStr, u32, u32); 6] = [
    (c"null", 1, 3),
    (c"zero", 1, 5),
    (c"full", 1, 7),
    (c"random", 1, 8),
    (c"urandom", 1, 9),
    (c"tty", 5, 0),
];

/// Binds the host's /dev/NAME (the root is still the host's) onto each file of `dev`.
fn bind_host_devices(dev: &OwnedFd) -> Result<()> {
    for (name, _, _) in DEVICES {
        let shown = name.to_string_lossy();
        crate::trace::step(|| {
            format!("bind the host's /dev/{shown} (no mknod in a user namespace)")
        });
        let host = crate::sys::cstr(format!("/dev/{shown}")).ctx(|| "device path".into())?;
        let tree = mount::open_tree_clone(mount::Target::Path(&host))
            .ctx(|| format!("open the host's /dev/{shown} (open_tree)"))?;
        let flags = libc::O_PATH | libc::O_CLOEXEC;
        let spot = fs::openat2(
            dev.as_raw_fd(),
            name,
            flags,
            fs::RESOLVE_BENEATH | fs::RESOLVE_NO_SYMLINKS,
        )
        .ctx(|| format!("open /dev/{shown}"))?;
        mount::move_mount(&tree, &spot).ctx(|| format!("bind the host's /dev/{shown}"))?;
    }
    Ok(())
}

/// name -> target.
pub const SYMLINKS: [(&CStr, &CStr); 5] = [
    (c"fd", c"/proc/self/fd"),
    (c"stdin", c"/proc/self/fd/0"),
    (c"stdout", c"/proc/self/fd/1"),
    (c"stderr", c"/proc/self/fd/2"),
    (c"ptmx", c"pts/ptmx"),
];

/// Builds /dev as a detached tmpfs, fills it through its own descriptor, attaches it at the
/// rootfs's /dev, then mounts devpts and /dev/shm on directories opened beneath it. No path in
/// the rootfs is looked up again after it was resolved. Needs umask 0 for the modes to hold.
/// Returns the new /dev (its root), for masks to bind its `null`.
///
/// `bind`: in a user namespace mknod is refused (a device node there would be the host's
/// privilege), so each device is the host's node, bind-mounted onto an empty file.
pub fn setup(create: Create, bind: bool, own: Own) -> Result<OwnedFd> {
    let target = mountpoint::open("/dev", Kind::Dir, Symlinks::Refuse, create)?;
    let options: [(&CStr, &CStr); 2] = [(c"mode", c"755"), (c"size", c"65536k")];
    let dev = mount::new_tmpfs(
        &options,
        mount::MOUNT_ATTR_NOSUID | mount::MOUNT_ATTR_STRICTATIME,
    )
    .ctx(|| "create the tmpfs for /dev (fsopen, fsconfig, fsmount)".into())?;
    for (name, major, minor) in DEVICES {
        if bind {
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
            let file = fs::openat(dev.as_raw_fd(), name, flags, 0o666)
                .ctx(|| format!("create the mount point /dev/{}", name.to_string_lossy()))?;
            crate::sys::close(file);
        } else {
            fs::mknod_char(&dev, name, 0o666, major, minor)
                .ctx(|| format!("mknod /dev/{}", name.to_string_lossy()))?;
        }
    }
    for (name, link) in SYMLINKS {
        fs::symlinkat(link, &dev, name)
            .ctx(|| format!("symlink /dev/{}", name.to_string_lossy()))?;
    }
    fs::mkdirat(dev.as_raw_fd(), c"pts", 0o755).ctx(|| "mkdir /dev/pts".into())?;
    fs::mkdirat(dev.as_raw_fd(), c"shm", 0o1777).ctx(|| "mkdir /dev/shm".into())?;
    mount::move_mount(&dev, &target).ctx(|| "attach the new /dev".into())?;
    if bind {
        bind_host_devices(&dev)?;
    }

    let beneath = |name: &CStr| {
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        fs::openat2(
            dev.as_raw_fd(),
            name,
            flags,
            fs::RESOLVE_BENEATH | fs::RESOLVE_NO_SYMLINKS,
        )
        .ctx(|| format!("open /dev/{}", name.to_string_lossy()))
    };
    if own.pts {
        let pts_flags = libc::MS_NOSUID | libc::MS_NOEXEC;
        let pts_data = c"newinstance,ptmxmode=0666,mode=0620";
        mountpoint::mount_on(
            &beneath(c"pts")?,
            "/dev/pts",
            c"devpts",
            pts_flags,
            Some(pts_data),
        )?;
    }
    if own.shm {
        let shm_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
        let shm_data = c"mode=1777,size=65536k";
        mountpoint::mount_on(
            &beneath(c"shm")?,
            "/dev/shm",
            c"tmpfs",
            shm_flags,
            Some(shm_data),
        )?;
    }
    Ok(dev)
}

/// Which of /dev/pts and /dev/shm nsbox mounts itself: all but those an OCI config's mount
/// list mounts there (with its own options), so that nothing is mounted twice.
#[derive(Debug, Clone, Copy)]
pub struct Own {
    pub pts: bool,
    pub shm: bool,
}

impl Own {
    pub const ALL: Own = Own {
        pts: true,
        shm: true,
    };
}
