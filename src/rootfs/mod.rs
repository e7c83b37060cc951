//! The container's filesystem, built in the child inside its new mount namespace:
//! private propagation, the rootfs bound onto itself, /proc, /dev, /sys, volumes and tmpfs,
//! then pivot_root (or chroot) so that no host path stays reachable.

pub mod devices;
mod etc_files;
pub mod masks;
pub mod mountpoint;
pub mod mounts;

use crate::cgroup::join::ViewMount;
use crate::error::{Context, Error, Result, Topic};
use crate::net::hosts::EtcFiles;
use crate::spec::{Rootfs, Spec};
use crate::state;
use crate::sys::{self, fs, mount};
use crate::trace;
use mountpoint::{Create, Symlinks};
use std::os::fd::AsRawFd;
use syscalls::Errno;

/// Host mounts the host-rootfs mode replaces with private ones.
const HOST_REPLACED: [&str; 6] = ["proc", "sys", "dev", "tmp", "var/tmp", "run"];

use crate::sys::cpath as c;

/// Builds the whole filesystem (`enter` switches the process root into it): the spec's mounts
/// in order, then its masked and read-only paths. `cgroups`: the container's own cgroups, shown at /sys/fs/cgroup. `etc`: what its /etc/hosts
/// and /etc/hostname say (the native front end's).
pub fn setup(spec: &Spec, cgroups: Option<&[ViewMount]>, etc: Option<&EtcFiles>) -> Result<()> {
    // Mounts made from here on must not propagate back to the host (or to other containers).
    trace::step(|| "make every mount private (no propagation to the host)".into());
    match mount::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None) {
        Ok(()) => {}
        // nsbox runs in a chroot: its / is a directory, not a mount.
        Err(Errno::EINVAL) => enter_root_as_a_mount()?,
        Err(e) => return Err(Error::sys("make / private (mount MS_REC|MS_PRIVATE)", e)),
    }

    let host = spec.rootfs == Rootfs::Host;
    bind_root(spec)?;
    if host {
        // The host's / is shared with the host: read-only, and its /proc, /dev, /sys, /tmp,
        // /var/tmp and /run are replaced, so nothing of the host's runtime state shows through
        // (no socket of a host daemon there can be reached).
        trace::step(|| {
            "host rootfs: read-only; detach the host's /proc /sys /dev /tmp /var/tmp /run".into()
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
    // A --read-only image is never written to, not even to add a mount point.
    // (An OCI config's read-only root gets its mount points first, as runc does.)
    let create = match spec.read_only && !spec.extra.make_mount_points {
        true => Create::No,
        false => Create::Yes,
    };
    if host {
        // A host without one of them (a chroot) has nothing there to hide, and its / is
        // read-only: no mount point is made.
        for (dir, mode) in [
            ("/tmp", "mode=1777"),
            ("/var/tmp", "mode=1777"),
            ("/run", "mode=755"),
        ] {
            match tmpfs(dir, mode) {
                Err(e) if e.errno == Some(Errno::ENOENT) => {}
                other => other?,
            }
        }
    }
    let dev = mounts::apply(spec, create, cgroups, etc)?;
    let shown = mounts::shown(&spec.mounts);
    masks::apply(&dev, &spec.masked_paths, &spec.readonly_paths, shown)?;
    sys::close(dev);
    if spec.read_only && !host {
        trace::step(|| "make the rootfs read-only (--read-only)".into());
        mount::setattr(mount::Target::Path(c"."), mount::MOUNT_ATTR_RDONLY, false)
            .ctx(|| "make the rootfs read-only (mount_setattr MOUNT_ATTR_RDONLY)".into())?;
    }
    Ok(())
}

/// Switches the process root into the filesystem `setup` built (OCI hooks run in between).
pub fn enter(spec: &Spec) -> Result<()> {
    if spec.chroot {
        enter_chroot()?;
    } else {
        enter_pivot_root()?;
    }
    if let Some(flags) = spec.extra.propagation {
        trace::step(|| "set the propagation of / (rootfsPropagation)".into());
        mount::mount(None, c"/", None, flags, None)
            .ctx(|| "set the propagation of the container's / (rootfsPropagation)".into())?;
    }
    Ok(())
}

/// In a chroot (a rescue system, a build root), / is a directory of some mount, not a mount:
/// it cannot be made private by that name, nor pivoted from, and a bind onto it would
/// propagate to the host if that mount is shared. So nsbox (root of its own mount namespace,
/// before anything of the container's is opened) steps out to the namespace's real root the
/// way a chroot is left (chroot into a subdirectory with the cwd outside it, climb `..`), makes
/// every mount of this namespace private from there, steps back in through a descriptor of the
/// chroot, binds it onto itself (nothing propagates now) and enters the bind: / is a mount from
/// here on.
fn enter_root_as_a_mount() -> Result<()> {
    trace::step(|| {
        "/ is not a mount (a chroot): make every mount private from the namespace's real root, bind / onto itself and enter it".into()
    });
    step_out_and_back().map_err(|e| {
        Error::sys("make the chroot's / a mount", e)
            .hint("traced, nsbox shows the call that failed")
    })
}

fn step_out_and_back() -> std::result::Result<(), Errno> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let chroot_dir = fs::openat(libc::AT_FDCWD, c"/", flags, 0)?;
    fs::chdir(c"/")?;
    mount::chroot(c"/dev")?;
    // The cwd is outside the root now: `..` climbs to the namespace's real root (128 levels,
    // one call; more stay there).
    let up = sys::cstr("../".repeat(128)).map_err(|_| Errno::EINVAL)?;
    fs::chdir(&up)?;
    mount::chroot(c".")?;
    mount::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    fs::fchdir(&chroot_dir)?;
    mount::chroot(c".")?;
    sys::close(chroot_dir);
    let tree = mount::open_tree_clone(mount::Target::Path(c"/"))?;
    let root = fs::openat(libc::AT_FDCWD, c"/", flags, 0)?;
    mount::move_mount(&tree, &root)?;
    sys::close(root);
    fs::fchdir(&tree)?;
    mount::chroot(c".")
}

/// Binds the rootfs onto itself (pivot_root needs a mount point; the bind also pins it) and
/// enters it, all through descriptors: the rootfs path is looked up once.
fn bind_root(spec: &Spec) -> Result<()> {
    let (source, target) = match &spec.rootfs {
        Rootfs::Dir(dir) => (None, c(dir)?),
        Rootfs::Host => (Some(c"/"), c(&state::rootfs_mountpoint(spec))?),
    };
    trace::step(|| format!("bind the rootfs onto {target:?} and enter it"));
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let dir = fs::openat(libc::AT_FDCWD, &target, flags, 0)
        .ctx(|| format!("open the rootfs {target:?}"))?;
    let tree = match source {
        Some(path) => mount::open_tree_clone(mount::Target::Path(path)),
        None => mount::open_tree_clone(mount::Target::Fd(dir.as_raw_fd())),
    }
    .ctx(|| format!("clone the mount tree of the rootfs {target:?} (open_tree)"))?;
    // A device node in the image (or one made later in it) opens nothing: devices are /dev's.
    mount::setattr(
        mount::Target::Fd(tree.as_raw_fd()),
        mount::MOUNT_ATTR_NODEV,
        true,
    )
    .ctx(|| format!("mount the rootfs {target:?} nodev (mount_setattr)"))?;
    mount::move_mount(&tree, &dir)
        .ctx(|| format!("bind the rootfs onto {target:?} (move_mount)"))?;
    fs::fchdir(&tree).ctx(|| format!("enter the rootfs {target:?}"))
}

/// A tmpfs at `dir` (one of the host's, replaced in the host-rootfs mode) with `mode`.
fn tmpfs(dir: &str, mode: &str) -> Result<()> {
    trace::step(|| format!("mount a tmpfs on {dir} ({mode})"));
    let data = sys::cstr(mode).ctx(|| "tmpfs options".into())?;
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    mountpoint::mount_fs(
        dir,
        Symlinks::Beneath,
        Create::No,
        c"tmpfs",
        flags,
        Some(&data),
    )
}

/// pivot_root(".", "."): the rootfs becomes `/` and the old root is stacked on top of it, then
/// detached, so no path leads back to the host (unlike chroot, which only moves `/`).
fn enter_pivot_root() -> Result<()> {
    trace::step(|| "pivot_root into the rootfs and detach the old root".into());
    mount::pivot_root(c".", c".").map_err(|e| {
        let err = Error::sys("pivot_root(\".\", \".\") into the rootfs", e);
        match e {
            Errno::EINVAL => err.about(Topic::Chroot).hint(
                "a rootfs on the initramfs (rootfs filesystem) cannot be pivoted: chroot into it instead",
            ),
            _ => err,
        }
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
