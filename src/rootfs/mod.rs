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
use crate::spec::{MountKind, Rootfs, Spec, Tmpfs, Volume};
use crate::state;
use crate::sys::{self, fs, mount};
use crate::trace;
use mountpoint::{Create, Kind, Symlinks};
use std::os::fd::AsRawFd;
use std::path::Path;
use syscalls::Errno;

const PROC_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
const SYS_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
const TMPFS_FLAGS: u64 = libc::MS_NOSUID | libc::MS_NODEV;

/// Host mounts the host-rootfs mode replaces with private ones.
const HOST_REPLACED: [&str; 6] = ["proc", "sys", "dev", "tmp", "var/tmp", "run"];

use crate::sys::cpath as c;

/// Builds the whole filesystem (`enter` switches the process root into it). `volume_kinds[i]` says
/// whether volume i's source is a directory or a file (the parent checked them).
/// `cgroups`: the container's own cgroups, shown at /sys/fs/cgroup. `etc`: what its /etc/hosts
/// and /etc/hostname say (the native front end's).
pub fn setup(
    spec: &Spec,
    volume_kinds: &[Kind],
    cgroups: Option<&[ViewMount]>,
    etc: Option<&EtcFiles>,
) -> Result<()> {
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
    let create = if spec.read_only && spec.extra.mounts.is_none() {
        Create::No
    } else {
        Create::Yes
    };

    match &spec.extra.mounts {
        Some(list) => {
            // An OCI config's own list, then its masks.
            let dev = crate::rootfs::mounts::apply(spec, list, create, cgroups)?;
            let on = |dest: &str, kind: MountKind| {
                list.iter().any(|m| m.destination == dest && m.kind == kind)
            };
            let mounted = (on("/proc", MountKind::Proc), on("/sys", MountKind::Sysfs));
            masks::apply(&dev, &spec.masked_paths, &spec.readonly_paths, mounted)?;
            sys::close(dev);
        }
        None => standard_mounts(spec, create, cgroups, etc)?,
    }
    if host {
        // A host without one of them (a chroot) has nothing there to hide, and its / is
        // read-only: no mount point is made.
        for (dir, mode) in [
            ("/tmp", "mode=1777"),
            ("/var/tmp", "mode=1777"),
            ("/run", "mode=755"),
        ] {
            match tmpfs(dir, mode, TMPFS_FLAGS, Create::No) {
                Err(e) if e.errno == Some(Errno::ENOENT) => {}
                other => other?,
            }
        }
    }
    user_mounts(spec, volume_kinds, create)?;
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

/// /proc, /dev, /sys (masked as runc masks them) and the container's cgroups: the native set.
fn standard_mounts(
    spec: &Spec,
    create: Create,
    cgroups: Option<&[ViewMount]>,
    etc: Option<&EtcFiles>,
) -> Result<()> {
    trace::step(|| "mount /proc (a procfs of the new pid namespace)".into());
    mountpoint::mount_fs("/proc", Symlinks::Refuse, create, c"proc", PROC_FLAGS, None)?;
    trace::step(|| "mount /dev (tmpfs with the standard devices)".into());
    let dev = devices::setup(create, spec.userns.is_some(), devices::Own::ALL)?;
    trace::step(|| "mount /sys read-only".into());
    if spec.userns.is_some() && !spec.net.own_namespace() {
        // sysfs shows the network namespace it is mounted in, and only that namespace's owner
        // may mount it: in a user namespace sharing the host's network, the host's /sys is
        // bound instead (read-only, as the mount would be).
        bind_host_sys(create)?;
    } else {
        mountpoint::mount_fs("/sys", Symlinks::Refuse, create, c"sysfs", SYS_FLAGS, None)?;
    }
    masks::apply(&dev, &spec.masked_paths, &spec.readonly_paths, (true, true))?;
    // Before the user's volumes, which may replace them.
    if let Some(files) = etc {
        etc_files::bind(&dev, files)?;
    }
    sys::close(dev);
    if let Some(view) = cgroups {
        crate::cgroup::join::mount_view(view, true)?;
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

/// The host's /sys, bound read-only (recursively) on the container's /sys.
fn bind_host_sys(create: Create) -> Result<()> {
    let tree = mount::open_tree_clone(mount::Target::Path(c"/sys"))
        .ctx(|| "open the host's /sys (open_tree)".into())?;
    let attrs = mount::MOUNT_ATTR_RDONLY | mount::MOUNT_ATTR_NOSUID | mount::MOUNT_ATTR_NODEV;
    mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, true)
        .ctx(|| "make the host's /sys read-only (mount_setattr)".into())?;
    let spot = mountpoint::open("/sys", Kind::Dir, Symlinks::Refuse, create)?;
    mount::move_mount(&tree, &spot).ctx(|| "bind the host's /sys".into())
}

/// One user mount (-v or --tmpfs).
enum UserMount<'a> {
    Volume(&'a Volume, Kind),
    Tmpfs(&'a Tmpfs),
}

impl UserMount<'_> {
    fn target(&self) -> &str {
        match self {
            UserMount::Volume(v, _) => &v.target,
            UserMount::Tmpfs(t) => &t.target,
        }
    }
}

/// Volumes and tmpfs, parents before children whatever the order on the command line, so that
/// `--tmpfs /t -v SRC:/t/v` shows SRC inside the tmpfs instead of hiding it.
fn user_mounts(spec: &Spec, volume_kinds: &[Kind], create: Create) -> Result<()> {
    let mut mounts: Vec<UserMount<'_>> = spec
        .volumes
        .iter()
        .zip(volume_kinds)
        .map(|(v, k)| UserMount::Volume(v, *k))
        .chain(spec.tmpfs.iter().map(UserMount::Tmpfs))
        .collect();
    crate::sort::sort_by_key(&mut mounts, |m| m.target().split('/').count());
    for m in mounts {
        match m {
            UserMount::Volume(v, kind) => {
                bind_volume(&v.source, &v.target, kind, v.read_only, create)?
            }
            UserMount::Tmpfs(t) => tmpfs(&t.target, &t.data, t.flags, create)?,
        }
    }
    Ok(())
}

/// A tmpfs at `target` with tmpfs's options `data` (its mode, size, ...) and mount `flags`.
fn tmpfs(target: &str, data: &str, flags: u64, create: Create) -> Result<()> {
    trace::step(|| format!("mount a tmpfs on {target} ({data})"));
    let data = sys::cstr(data).ctx(|| "tmpfs options".into())?;
    mountpoint::mount_fs(
        target,
        Symlinks::Beneath,
        create,
        c"tmpfs",
        flags,
        Some(&data),
    )
}

/// `-v SRC:DST[:ro]`: a detached copy of the host tree at SRC (open_tree), made read-only
/// before anyone can see it, then attached at DST through the resolved descriptor.
fn bind_volume(
    source: &Path,
    target: &str,
    kind: Kind,
    read_only: bool,
    create: Create,
) -> Result<()> {
    trace::step(|| {
        format!(
            "bind the volume {source:?} on {target}{}",
            if read_only { " (read-only)" } else { "" }
        )
    });
    let tree = mount::open_tree_clone(mount::Target::Path(&c(source)?))
        .ctx(|| format!("open the volume source {source:?}"))?;
    // nodev, as the rootfs, unless the volume is a device the user hands to the container. The
    // tree just opened decides, not the parent's earlier stat: the path may have changed since.
    let device = kind == Kind::Device
        && matches!(
            fs::fd_file_type(&tree),
            Ok(libc::S_IFCHR) | Ok(libc::S_IFBLK)
        );
    let mut attrs = if device { 0 } else { mount::MOUNT_ATTR_NODEV };
    if read_only {
        attrs |= mount::MOUNT_ATTR_RDONLY;
    }
    if attrs != 0 {
        mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, true)
            .ctx(|| format!("make the volume {source:?} nodev/read-only (mount_setattr)"))?;
    }
    let dest = mountpoint::open(target, kind, Symlinks::Beneath, create)?;
    mount::move_mount(&tree, &dest).ctx(|| format!("attach the volume {source:?} on {target}"))
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
