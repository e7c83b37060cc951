//! The spec's mounts, in order, inside the child's new mount namespace (cwd: the rootfs, /
//! still the host's), then its device nodes; `protect` makes the masked and read-only paths
//! that are not in a /proc or /sys of the list's. Every target is resolved beneath the rootfs
//! (`mountpoint::open`) and mounted through the descriptor.

use crate::cgroup::join::ViewMount;
use crate::error::{Context, Error, Result};
use crate::net::hosts::EtcFiles;
use crate::rootfs::devices;
use crate::rootfs::mountpoint::{self, Create, Kind, Symlinks};
use crate::spec::{Device, Mount, MountKind, Spec};
use crate::sys::{self, fs, mount};
use crate::trace;
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::Errno;

/// Mounts the list; /dev (a tmpfs there, or none in the list) is nsbox's own: a tmpfs with the
/// standard devices, devpts and /dev/shm, and the native /etc files bound from it (before any
/// mount after it, which may replace them). Returns /dev, for masks.
pub fn apply(
    spec: &Spec,
    create: Create,
    view: Option<&[ViewMount]>,
    etc: Option<&EtcFiles>,
) -> Result<OwnedFd> {
    let list = &spec.mounts;
    let mut dev = None;
    // The list's own devpts and /dev/shm after its /dev replace nsbox's (mounted once, with
    // its options); one before /dev would be covered by it.
    let after_dev = list
        .iter()
        .position(|m| m.destination == "/dev" && m.kind == MountKind::Tmpfs)
        .map_or(&list[..0], |i| &list[i + 1..]);
    let own = devices::Own {
        pts: !after_dev
            .iter()
            .any(|m| m.destination == "/dev/pts" && m.kind == MountKind::Devpts),
        shm: !after_dev
            .iter()
            .any(|m| m.destination == "/dev/shm" && m.kind == MountKind::Tmpfs),
    };
    for (i, m) in list.iter().enumerate() {
        if m.destination == "/dev" && m.kind == MountKind::Tmpfs {
            trace::step(|| "mount /dev (tmpfs with the standard devices)".into());
            let fd = devices::setup(create, spec.userns.is_some(), own)?;
            if let Some(files) = etc {
                super::etc_files::bind(&fd, files)?;
            }
            dev = Some(fd);
            continue;
        }
        one(
            m,
            create_in(create, &list[..i], m),
            view,
            spec.cgroup_namespace(),
        )?;
    }
    let dev = match dev {
        Some(dev) => dev,
        None => devices::setup(create, spec.userns.is_some(), devices::Own::ALL)?,
    };
    for d in &spec.extra.devices {
        make_device(d)?;
    }
    Ok(dev)
}

fn one(m: &Mount, create: Create, view: Option<&[ViewMount]>, cgroupns: bool) -> Result<()> {
    let target = m.destination.as_str();
    let fstype = match m.kind {
        MountKind::Bind { .. } | MountKind::Device => return bind(m, create),
        MountKind::Cgroup => return cgroup(m, create, view, cgroupns),
        MountKind::Proc => c"proc",
        MountKind::Sysfs => c"sysfs",
        MountKind::Tmpfs => c"tmpfs",
        MountKind::Devpts => c"devpts",
        MountKind::Mqueue => c"mqueue",
    };
    trace::step(|| describe(m, fstype));
    let data = sys::cstr(m.data.as_str()).ctx(|| format!("options of the mount on {target}"))?;
    let data = (!m.data.is_empty()).then_some(data.as_c_str());
    let spot = mountpoint::open(target, Kind::Dir, symlinks(target), create)?;
    mountpoint::mount_on(&spot, target, fstype, m.flags, data)?;
    propagate(&spot, m)
}

/// Where the image gets no mount points (`--read-only`), a mount inside a tmpfs mounted before
/// it (`--tmpfs /home -v SRC:/home/x`, a device volume in /dev) still gets its own: that
/// tmpfs is the container's, not the image.
fn create_in(create: Create, before: &[Mount], m: &Mount) -> Create {
    let inside = |t: &Mount| {
        t.kind == MountKind::Tmpfs
            && m.destination
                .strip_prefix(t.destination.as_str())
                .is_some_and(|rest| rest.starts_with('/') || t.destination == "/")
    };
    match create == Create::No && before.iter().any(inside) {
        true => Create::Yes,
        false => create,
    }
}

/// A symlink at /proc, /sys or /dev is an attack, not a layout: whatever is mounted there is
/// attached to the directory itself. Elsewhere relative symlinks inside the rootfs are followed.
fn symlinks(target: &str) -> Symlinks {
    match target {
        "/proc" | "/sys" | "/dev" => Symlinks::Refuse,
        _ => Symlinks::Beneath,
    }
}

/// Whether what the list leaves at `/proc` (`/sys`) is a procfs (a sysfs: a new one, or the
/// host's bound): its masks are then made from inside it, entered through a descriptor that
/// fstatfs checked. A list whose last mount there is something else (`--tmpfs /sys`) has
/// its masks resolved beneath the rootfs like any path.
pub fn shown(list: &[Mount]) -> (bool, bool) {
    let last = |dest: &str| list.iter().rev().find(|m| m.destination == dest);
    let proc = last("/proc").is_some_and(|m| m.kind == MountKind::Proc);
    let sys = last("/sys").is_some_and(|m| {
        m.kind == MountKind::Sysfs
            || (matches!(m.kind, MountKind::Bind { .. })
                && m.source == std::path::Path::new("/sys"))
    });
    (proc, sys)
}

/// The trace's words for a filesystem mount.
fn describe(m: &Mount, fstype: &std::ffi::CStr) -> String {
    let read_only = m.flags & libc::MS_RDONLY != 0;
    match (m.kind, m.destination.as_str()) {
        (MountKind::Proc, "/proc") => "mount /proc (a procfs of the new pid namespace)".into(),
        (MountKind::Sysfs, "/sys") if read_only => "mount /sys read-only".into(),
        (_, dest) => {
            let fstype = fstype.to_string_lossy();
            match m.data.is_empty() {
                true => format!("mount {fstype} on {dest}"),
                false => format!("mount {fstype} on {dest} ({})", m.data),
            }
        }
    }
}

/// A bind of a host path: a detached copy of its tree (open_tree), its attributes set before
/// anyone sees it, attached through the resolved target.
fn bind(m: &Mount, create: Create) -> Result<()> {
    let (source, target) = (m.source.display(), m.destination.as_str());
    trace::step(|| match m.flags & libc::MS_RDONLY {
        0 => format!("bind {source} on {target}"),
        _ => format!("bind {source} on {target} (read-only)"),
    });
    let path = sys::cpath(&m.source)?;
    let tree = match m.kind {
        MountKind::Bind { recursive: false } => {
            mount::open_tree_clone_one(mount::Target::Path(&path))
        }
        _ => mount::open_tree_clone(mount::Target::Path(&path)),
    }
    .map_err(|e| {
        Error::sys(format!("open the bind source {source:?}"), e)
            .hint_on(Errno::ENOENT, "the source must exist on the host")
    })?;
    // The tree just opened decides, not an earlier stat: the path may have changed since.
    let file_type = fs::fd_file_type(&tree);
    let device = matches!(file_type, Ok(libc::S_IFCHR) | Ok(libc::S_IFBLK));
    let kind = match file_type {
        Ok(libc::S_IFDIR) => Kind::Dir,
        _ if device && m.kind == MountKind::Device => Kind::Device,
        _ => Kind::File,
    };
    let mut flags = m.flags;
    if m.kind == MountKind::Device && !device {
        // No longer a device node: nothing under it gets device access.
        flags |= libc::MS_NODEV;
    }
    let attrs = attrs_of(flags);
    if attrs != 0 {
        mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, true)
            .ctx(|| format!("set the options of the bind of {source:?} (mount_setattr)"))?;
    }
    let spot = mountpoint::open(target, kind, symlinks(target), create)?;
    mount::move_mount(&tree, &spot).ctx(|| format!("attach the bind of {source:?} on {target}"))?;
    // The tree's descriptor names the attached mount now.
    propagate(&tree, m)
}

/// The mount flags that mount_setattr takes.
fn attrs_of(flags: u64) -> u64 {
    [
        (libc::MS_RDONLY, mount::MOUNT_ATTR_RDONLY),
        (libc::MS_NOSUID, mount::MOUNT_ATTR_NOSUID),
        (libc::MS_NODEV, mount::MOUNT_ATTR_NODEV),
        (libc::MS_NOEXEC, mount::MOUNT_ATTR_NOEXEC),
    ]
    .iter()
    .filter(|(ms, _)| flags & ms != 0)
    .fold(0, |acc, (_, attr)| acc | attr)
}

/// `rprivate`, `rslave`, `shared`, ... on the mount just made.
fn propagate(spot: &OwnedFd, m: &Mount) -> Result<()> {
    if m.propagation == 0 {
        return Ok(());
    }
    let path = sys::cstr(format!("/proc/self/fd/{}", spot.as_raw_fd())).ctx(|| "fd path".into())?;
    mount::mount(None, &path, None, m.propagation, None)
        .ctx(|| format!("set the propagation of {}", m.destination))
}

/// `cgroup`: the container's own cgroups, read-only, as nsbox shows them natively (bound
/// from the host where it has no cgroup namespace); without cgroups of its own, an empty
/// read-only tmpfs (nothing of the host's hierarchy shows).
fn cgroup(m: &Mount, create: Create, view: Option<&[ViewMount]>, cgroupns: bool) -> Result<()> {
    if m.destination == "/sys/fs/cgroup"
        && let Some(view) = view
    {
        return crate::cgroup::join::mount_view(view, cgroupns);
    }
    trace::step(|| {
        format!(
            "mount an empty read-only tmpfs on {} (no cgroups of its own)",
            m.destination
        )
    });
    let spot = mountpoint::open(&m.destination, Kind::Dir, Symlinks::Beneath, create)?;
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mountpoint::mount_on(&spot, &m.destination, c"tmpfs", flags, Some(c"size=4k"))
}

/// One of `linux.devices`: a node in the container's /dev (a fresh tmpfs), owned as asked.
fn make_device(d: &Device) -> Result<()> {
    trace::step(|| format!("mknod {} ({}:{})", d.path, d.major, d.minor));
    let rel = d.path.trim_start_matches('/');
    if let Some((parent, _)) = rel.rsplit_once('/') {
        let mut dir = String::new();
        for part in parent.split('/') {
            dir = if dir.is_empty() {
                part.to_string()
            } else {
                format!("{dir}/{part}")
            };
            match fs::mkdirat(
                libc::AT_FDCWD,
                &sys::cstr(dir.as_str()).ctx(|| dir.clone())?,
                0o755,
            ) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(Error::sys(format!("mkdir /{dir}"), e)),
            }
        }
    }
    let path = sys::cstr(rel).ctx(|| d.path.clone())?;
    match fs::mknod(
        libc::AT_FDCWD,
        &path,
        d.kind,
        d.mode & 0o7777,
        d.major,
        d.minor,
    ) {
        Ok(()) => {}
        // The standard ones are there already.
        Err(Errno::EEXIST) => return Ok(()),
        Err(e) => return Err(Error::sys(format!("mknod {}", d.path), e)),
    }
    fs::chown_at(libc::AT_FDCWD, &path, d.uid, d.gid).ctx(|| format!("chown {}", d.path))
}

/// maskedPaths (a file gets /dev/null, a directory an empty read-only tmpfs) and readonlyPaths
/// (bound onto themselves read-only). A path this kernel or image lacks is skipped.
pub fn protect(dev: &OwnedFd, masked: &[String], readonly: &[String]) -> Result<()> {
    trace::step(|| {
        format!(
            "mask {} paths, make {} read-only",
            masked.len(),
            readonly.len()
        )
    });
    let mut empty: Option<OwnedFd> = None;
    for path in masked {
        let Some(spot) = existing(path)? else {
            continue;
        };
        match fs::fd_file_type(&spot) {
            // One empty read-only tmpfs, made once; each further directory gets a bind of it
            // (open_tree is cheaper than a new superblock).
            Ok(libc::S_IFDIR) => {
                let mask = match &empty {
                    Some(first) => mount::open_tree_clone(mount::Target::Fd(first.as_raw_fd())),
                    None => {
                        let options: [(&std::ffi::CStr, &std::ffi::CStr); 1] = [(c"size", c"0")];
                        let attrs = mount::MOUNT_ATTR_RDONLY
                            | mount::MOUNT_ATTR_NOSUID
                            | mount::MOUNT_ATTR_NODEV
                            | mount::MOUNT_ATTR_NOEXEC;
                        mount::new_tmpfs(&options, attrs)
                    }
                }
                .ctx(|| format!("an empty tmpfs for {path}"))?;
                mount::move_mount(&mask, &spot).ctx(|| format!("mask {path}"))?;
                empty.get_or_insert(mask);
            }
            _ => {
                let null = mount::open_tree_clone(mount::Target::At(dev.as_raw_fd(), c"null"))
                    .ctx(|| "open the container's /dev/null (open_tree)".into())?;
                mount::move_mount(&null, &spot).ctx(|| format!("mask {path}"))?;
            }
        }
    }
    for path in readonly {
        let Some(spot) = existing(path)? else {
            continue;
        };
        let tree = mount::open_tree_clone(mount::Target::Fd(spot.as_raw_fd()))
            .ctx(|| format!("open {path} (open_tree)"))?;
        mount::setattr(
            mount::Target::Fd(tree.as_raw_fd()),
            mount::MOUNT_ATTR_RDONLY,
            true,
        )
        .ctx(|| format!("make {path} read-only (mount_setattr)"))?;
        mount::move_mount(&tree, &spot).ctx(|| format!("attach {path} read-only"))?;
    }
    Ok(())
}

/// The path, opened beneath the rootfs, or None where it does not exist.
fn existing(path: &str) -> Result<Option<OwnedFd>> {
    let rel = sys::cstr(path.trim_start_matches('/')).ctx(|| path.into())?;
    let flags = libc::O_PATH | libc::O_CLOEXEC;
    let resolve = fs::RESOLVE_BENEATH | fs::RESOLVE_NO_MAGICLINKS;
    match fs::openat2(libc::AT_FDCWD, &rel, flags, resolve) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(Error::sys(format!("open {path} in the rootfs"), e)),
    }
}
