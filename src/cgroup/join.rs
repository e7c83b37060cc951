//! The child's part: join the container's cgroups, take a new cgroup namespace rooted there,
//! and show them read-only at /sys/fs/cgroup.

use crate::error::{Context, Result};
use crate::rootfs::mountpoint::{self, Create, Kind, Symlinks};
use crate::sys::{self, fs, mount, process};
use crate::trace;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};

const RO_FLAGS: u64 = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;

/// One hierarchy as the container sees it: `/sys/fs/cgroup/NAME` (or /sys/fs/cgroup itself
/// for a lone cgroup2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMount {
    pub name: String,
    pub fstype: &'static str,
    /// v1: the hierarchy's controllers, as mount options (`cpu,cpuacct`).
    pub options: String,
    /// The container's cgroup directory on the host: bound read-only where the container has
    /// no cgroup namespace (a new mount would show the hierarchy's root, every cgroup of the
    /// host), as runc binds it.
    pub source: std::path::PathBuf,
}

/// What the child needs (descriptors it inherited from the parent).
pub struct Join<'a> {
    /// v1 `tasks` files: writing "0" moves the writing thread, without the global lock that
    /// moving a whole process takes (which waits for an RCU grace period).
    pub tasks: Vec<RawFd>,
    /// The v2 directory (the child was born in it unless clone3 was unavailable).
    pub v2_dir: Option<RawFd>,
    pub view: &'a [ViewMount],
    /// `--cpuset`: also set as the affinity (kernels before 6.4 give a child born with
    /// CLONE_INTO_CGROUP its parent's CPUs, whatever the cgroup says).
    pub cpuset: Option<&'a [u32]>,
    /// Whether a cgroup namespace rooted here follows (an OCI config may not ask for one).
    pub namespace: bool,
}

/// Joins the cgroups and unshares the cgroup namespace, so that the container sees its own
/// cgroup as `/`. `born_inside`: clone3 already placed us in the v2 directory.
pub fn enter(join: &Join<'_>, born_inside: bool) -> Result<()> {
    trace::step(|| "join the container's cgroups, then a new cgroup namespace".into());
    for fd in &join.tasks {
        sys::write(fd, b"0")
            .ctx(|| format!("join a v1 cgroup (write \"0\" to its tasks, fd {fd})"))?;
    }
    if let (Some(dir), false) = (join.v2_dir, born_inside) {
        fs::write_file_at(dir, c"cgroup.procs", b"0")
            .ctx(|| "join the v2 cgroup (write \"0\" to cgroup.procs)".into())?;
    }
    if let Some(cpus) = join.cpuset {
        process::set_affinity(cpus).ctx(|| "sched_setaffinity for the CPU set".into())?;
    }
    match join.namespace {
        true => process::unshare(libc::CLONE_NEWCGROUP).ctx(|| "unshare(CLONE_NEWCGROUP)".into()),
        false => Ok(()),
    }
}

/// Mounts the container's cgroups read-only at /sys/fs/cgroup (which /sys, read-only, already
/// has): cgroup2 right there when it is the only one; otherwise a small read-only tmpfs with one
/// directory per hierarchy, like the host's. Called in the rootfs, after /sys, and after the
/// cgroup namespace was unshared: the mounts are rooted at the container's cgroups (and a
/// cgroup2 mount made from the host's namespace would reset the host's nsdelegate option).
pub fn mount_view(view: &[ViewMount], namespace: bool) -> Result<()> {
    trace::step(|| "mount the container's cgroups read-only on /sys/fs/cgroup".into());
    let target = mountpoint::open("/sys/fs/cgroup", Kind::Dir, Symlinks::Refuse, Create::No)?;
    if let [only] = view
        && only.fstype == "cgroup2"
    {
        return match namespace {
            true => mountpoint::mount_on(&target, "/sys/fs/cgroup", c"cgroup2", RO_FLAGS, None),
            false => bind_own(only, &target),
        };
    }
    let options: [(&CStr, &CStr); 2] = [(c"mode", c"755"), (c"size", c"64k")];
    let attrs = mount::MOUNT_ATTR_NOSUID | mount::MOUNT_ATTR_NODEV | mount::MOUNT_ATTR_NOEXEC;
    let tmp = mount::new_tmpfs(&options, attrs)
        .ctx(|| "create the tmpfs for /sys/fs/cgroup (fsopen, fsconfig, fsmount)".into())?;
    for m in view {
        let name = sys::cstr(m.name.as_str()).ctx(|| format!("cgroup name {:?}", m.name))?;
        fs::mkdirat(tmp.as_raw_fd(), &name, 0o755)
            .ctx(|| format!("mkdir /sys/fs/cgroup/{}", m.name))?;
    }
    mount::move_mount(&tmp, &target).ctx(|| "attach /sys/fs/cgroup".into())?;
    for m in view {
        let name = sys::cstr(m.name.as_str()).ctx(|| format!("cgroup name {:?}", m.name))?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let resolve = fs::RESOLVE_BENEATH | fs::RESOLVE_NO_SYMLINKS;
        let dir = fs::openat2(tmp.as_raw_fd(), &name, flags, resolve)
            .ctx(|| format!("open /sys/fs/cgroup/{}", m.name))?;
        if !namespace {
            bind_own(m, &dir)?;
            continue;
        }
        let fstype = sys::cstr(m.fstype).ctx(|| "fstype".into())?;
        let data = sys::cstr(m.options.as_str()).ctx(|| "cgroup options".into())?;
        let data = (!m.options.is_empty()).then_some(data.as_c_str());
        let target = format!("/sys/fs/cgroup/{}", m.name);
        mountpoint::mount_on(&dir, &target, &fstype, RO_FLAGS, data)?;
    }
    mount::setattr(
        mount::Target::Fd(tmp.as_raw_fd()),
        mount::MOUNT_ATTR_RDONLY,
        false,
    )
    .ctx(|| "make /sys/fs/cgroup read-only (mount_setattr)".into())
}

/// The container's own cgroup directory of the host, bound read-only on `spot`.
fn bind_own(m: &ViewMount, spot: &impl AsRawFd) -> Result<()> {
    let source = sys::cpath(&m.source)?;
    let what = || format!("bind the container's cgroup {:?} read-only", m.source);
    let tree = mount::open_tree_clone(mount::Target::Path(&source)).ctx(what)?;
    let attrs = mount::MOUNT_ATTR_RDONLY
        | mount::MOUNT_ATTR_NOSUID
        | mount::MOUNT_ATTR_NODEV
        | mount::MOUNT_ATTR_NOEXEC;
    mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, false).ctx(what)?;
    mount::move_mount(&tree, spot).ctx(what)
}
