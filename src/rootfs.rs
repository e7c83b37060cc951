//! The container's filesystem, built in the child inside its new mount namespace:
//! private propagation, the rootfs bound onto itself, /proc, /dev, /sys, volumes and tmpfs,
//! then pivot_root (or chroot) so that no host path stays reachable.

use crate::devices;
use crate::error::{Context, Error, Result};
use crate::mountpoint::{self, Kind, Symlinks};
use crate::spec::{Rootfs, Spec};
use crate::state;
use crate::sys::{self, fs, mount};
use crate::trace;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use syscalls::Errno;

const PROC_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
const SYS_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
const TMPFS_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NODEV;

/// Host mounts the host-rootfs mode replaces with private ones.
const HOST_REPLACED: [&str; 5] = ["proc", "sys", "dev", "tmp", "run"];

fn c(path: &Path) -> Result<CString> {
    sys::cstr(path.as_os_str().as_bytes()).ctx(|| format!("path {path:?}"))
}

/// Builds the whole filesystem and switches the process root into it. `volume_kinds[i]` says
/// whether volume i's source is a directory or a file (the parent checked them).
pub fn setup(spec: &Spec, volume_kinds: &[Kind]) -> Result<()> {
    // Mounts made from here on must not propagate back to the host (or to other containers).
    trace::step(|| "make every mount private (no propagation to the host)".into());
    mount::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .ctx(|| "make / private (mount MS_REC|MS_PRIVATE)".into())?;

    // pivot_root needs the new root to be a mount point; the bind also pins the rootfs.
    let host = spec.rootfs == Rootfs::Host;
    let (source, root) = match &spec.rootfs {
        Rootfs::Dir(dir) => (c(dir)?, c(dir)?),
        Rootfs::Host => (CString::from(c"/"), c(&state::rootfs_mountpoint(spec))?),
    };
    trace::step(|| format!("bind the rootfs {source:?} onto {root:?} and enter it"));
    mount::mount(
        Some(&source),
        &root,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .ctx(|| format!("bind-mount the rootfs {source:?} onto {root:?}"))?;
    fs::chdir(&root).ctx(|| format!("chdir into the rootfs {root:?}"))?;

    if host {
        // The host's / is shared with the host: read-only, and its /proc, /dev, /sys, /tmp and
        // /run are replaced, so nothing of the host's runtime state shows through.
        trace::step(|| {
            "host rootfs: make it read-only and detach the host's /proc /sys /dev /tmp /run".into()
        });
        mount::setattr(mount::Target::Path(c"."), mount::MOUNT_ATTR_RDONLY, true).ctx(|| {
            "make the host rootfs read-only (mount_setattr MOUNT_ATTR_RDONLY, recursive)".into()
        })?;
        for dir in HOST_REPLACED {
            let path = sys::cstr(dir).ctx(|| dir.into())?;
            match mount::umount_detach(&path) {
                Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
                Err(e) => return Err(Error::sys(format!("detach the host's /{dir}"), e)),
            }
        }
    }

    trace::step(|| "mount /proc (a procfs of the new pid namespace)".into());
    mountpoint::mount_fs("/proc", Symlinks::Refuse, c"proc", PROC_FLAGS, None)?;

    trace::step(|| "mount /dev (tmpfs with the standard devices)".into());
    devices::setup()?;

    trace::step(|| "mount /sys read-only".into());
    mountpoint::mount_fs("/sys", Symlinks::Refuse, c"sysfs", SYS_FLAGS, None)?;

    if host {
        tmpfs("/tmp", "mode=1777")?;
        tmpfs("/run", "mode=755")?;
    }
    for (volume, kind) in spec.volumes.iter().zip(volume_kinds) {
        bind_volume(&volume.source, &volume.target, *kind, volume.read_only)?;
    }
    for target in &spec.tmpfs {
        tmpfs(target, "mode=1777")?;
    }
    if spec.read_only && !host {
        trace::step(|| "make the rootfs read-only (--read-only)".into());
        mount::setattr(mount::Target::Path(c"."), mount::MOUNT_ATTR_RDONLY, false)
            .ctx(|| "make the rootfs read-only (mount_setattr MOUNT_ATTR_RDONLY)".into())?;
    }
    if spec.chroot {
        enter_chroot()
    } else {
        enter_pivot_root()
    }
}

/// A tmpfs at `target` (mode in `data`), nosuid and nodev.
fn tmpfs(target: &str, data: &str) -> Result<()> {
    trace::step(|| format!("mount a tmpfs on {target}"));
    let data = sys::cstr(data).ctx(|| "tmpfs options".into())?;
    mountpoint::mount_fs(
        target,
        Symlinks::Beneath,
        c"tmpfs",
        TMPFS_FLAGS,
        Some(&data),
    )
}

/// `-v SRC:DST[:ro]`: a detached copy of the host tree at SRC (open_tree), made read-only
/// before anyone can see it, then attached at DST through the resolved descriptor.
fn bind_volume(source: &Path, target: &str, kind: Kind, read_only: bool) -> Result<()> {
    trace::step(|| {
        format!(
            "bind the volume {source:?} on {target}{}",
            if read_only { " (read-only)" } else { "" }
        )
    });
    let tree =
        mount::open_tree_clone(&c(source)?).ctx(|| format!("open the volume source {source:?}"))?;
    if read_only {
        mount::setattr(
            mount::Target::Fd(std::os::fd::AsRawFd::as_raw_fd(&tree)),
            mount::MOUNT_ATTR_RDONLY,
            true,
        )
        .ctx(|| format!("make the volume {source:?} read-only"))?;
    }
    let dest = mountpoint::open(target, kind, Symlinks::Beneath)?;
    mount::move_mount(&tree, &dest).ctx(|| format!("attach the volume {source:?} on {target}"))
}

/// pivot_root(".", "."): the rootfs becomes `/` and the old root is stacked on top of it, then
/// detached, so no path leads back to the host (unlike chroot, which only moves `/`).
fn enter_pivot_root() -> Result<()> {
    trace::step(|| "pivot_root into the rootfs and detach the old root".into());
    mount::pivot_root(c".", c".").map_err(|e| {
        Error::sys("pivot_root(\".\", \".\") into the rootfs", e).hint_on(
            Errno::EINVAL,
            "a rootfs on the initramfs (rootfs filesystem) cannot be pivoted; use --chroot",
        )
    })?;
    mount::umount_detach(c".").ctx(|| "detach the old root (umount2 \".\" MNT_DETACH)".into())?;
    fs::chdir(c"/").ctx(|| "chdir / in the new root".into())
}

/// chroot("."): the seed tutorials' way. The host's mounts stay in the mount namespace, and a
/// process with CAP_SYS_CHROOT can climb out; see `nsbox help run`.
fn enter_chroot() -> Result<()> {
    trace::step(|| "chroot into the rootfs (--chroot)".into());
    mount::chroot(c".").ctx(|| "chroot(\".\") into the rootfs".into())?;
    fs::chdir(c"/").ctx(|| "chdir / in the new root".into())
}
