//! The checks that read the host: /proc, /sys (or the roots given instead), /etc and PATH.
//! Each verdict is a pure function of what was read, so unit tests describe any host.

use super::Check;
use crate::cgroup::layout::{self, Layout};
use crate::cli::Doctor;
use crate::container::userns::Subordinate;
use std::path::{Path, PathBuf};

/// nsbox's oldest kernel: mount_setattr (5.12), on top of openat2 (5.6), the new mount API
/// (5.2) and close_range's CLOSE_RANGE_CLOEXEC (5.11).
const MIN_KERNEL: (u32, u32) = (5, 12);

/// The namespaces every container gets.
const NAMESPACES: [&str; 6] = ["mnt", "uts", "ipc", "pid", "net", "cgroup"];

/// The controllers behind nsbox's limits, and the flag each serves.
const CONTROLLERS: [(&str, &str); 4] = [
    ("pids", "--pids-limit"),
    ("memory", "--memory"),
    ("cpu", "--cpus"),
    ("cpuset", "--cpuset"),
];

pub struct Host<'a> {
    opts: &'a Doctor,
    root: bool,
}

impl<'a> Host<'a> {
    pub fn new(opts: &'a Doctor) -> Host<'a> {
        Host {
            opts,
            root: opts.uid == 0,
        }
    }

    /// A file under the /proc root; empty when it cannot be read.
    fn proc(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.opts.proc_root.join(rel)).ok()
    }

    /// A host path under /sys, moved to the sysfs root given.
    fn sys(&self, path: &Path) -> PathBuf {
        match path.strip_prefix("/sys") {
            Ok(rest) => self.opts.sys_root.join(rest),
            Err(_) => path.into(),
        }
    }

    pub fn checks(&self) -> Vec<Check> {
        let ns: Vec<String> = crate::sys::cpath(&self.opts.proc_root.join("self/ns"))
            .ok()
            .and_then(|p| {
                let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
                crate::sys::fs::openat(libc::AT_FDCWD, &p, flags, 0).ok()
            })
            .and_then(|dir| crate::sys::fs::list_dir(&dir).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| String::from_utf8_lossy(&name).into_owned())
            .collect();
        let layout = layout::parse(
            &self.proc("self/mountinfo").unwrap_or_default(),
            &self.proc("self/cgroup").unwrap_or_default(),
        );
        let v2_controllers = layout.v2.as_ref().map(|v2| {
            let own = std::fs::read_to_string(self.sys(&v2.own).join("cgroup.controllers"));
            own.unwrap_or_default()
        });
        let sysctl = |name: &str| {
            self.proc(&format!("sys/{name}"))
                .map(|v| v.trim().to_string())
        };
        vec![
            kernel(self.proc("sys/kernel/osrelease").as_deref()),
            namespaces(&ns),
            userns(
                self.root,
                ns.iter().any(|n| n == "user"),
                sysctl("user/max_user_namespaces").as_deref(),
                sysctl("kernel/unprivileged_userns_clone").as_deref(),
                sysctl("kernel/apparmor_restrict_unprivileged_userns").as_deref(),
            ),
            self.id_maps(),
            cgroups(&layout, v2_controllers.as_deref()),
            self.delegation(&layout),
            self.state_root(),
            root_mount(&self.proc("self/mountinfo").unwrap_or_default()),
            seccomp(&self.proc("self/status").unwrap_or_default()),
            sealed_copy(sysctl("vm/memfd_noexec").as_deref()),
        ]
    }

    /// newuidmap/newgidmap and the caller's /etc/subuid and /etc/subgid ranges: the maps
    /// `--userns` gives an ordinary user by default (decided as `run` decides them).
    fn id_maps(&self) -> Check {
        const ITEM: &str = "id-maps";
        if self.root {
            return Check::ok(ITEM, "root writes any uid and gid map itself");
        }
        let subs = Subordinate::of_host(self.opts.uid);
        let (uids, _, why) = subs.default_maps(self.opts.uid, crate::sys::getegid());
        if uids.len() > 1 {
            return Check::ok(ITEM, format!("--userns maps your ids and ranges: {why}"));
        }
        let hint = match subs.uids.is_empty() || subs.gids.is_empty() {
            true => "as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER",
            false => "install newuidmap and newgidmap (Debian: apt-get install uidmap)",
        };
        Check::warning(ITEM, format!("--userns maps {why}"), hint)
    }

    /// Whether an ordinary user could give a container limits (nsbox needs root for them).
    fn delegation(&self, layout: &Layout) -> Check {
        const ITEM: &str = "cgroup-delegation";
        if self.root {
            return Check::ok(ITEM, "root creates cgroups below its own");
        }
        let own = layout.v2.as_ref().map(|v2| self.sys(&v2.own));
        let delegated = own
            .as_ref()
            .is_some_and(|p| writable(&p.join("cgroup.procs")));
        let found = match (own, delegated) {
            (Some(own), true) => format!("your cgroup {own:?} is delegated to you"),
            (Some(own), false) => format!("your cgroup {own:?} is not yours to write"),
            (None, _) => "no cgroup2 here".into(),
        };
        Check::warning(
            ITEM,
            format!("{found}; nsbox gives limits to root's containers only"),
            "run nsbox as root for --pids-limit, --memory, --cpus, --cpuset",
        )
    }

    /// The state root: private if it exists, else creatable.
    fn state_root(&self) -> Check {
        const ITEM: &str = "state-root";
        let root = &self.opts.root;
        let fix =
            "use a directory only you can write: --root DIR or NSBOX_ROOT (or XDG_RUNTIME_DIR)";
        if root.exists() {
            return match crate::state::check_root_owner(root) {
                Ok(()) => Check::ok(ITEM, format!("{root:?} is private to you")),
                Err(e) => Check::warning(ITEM, e.to_string(), fix),
            };
        }
        let parent = root.parent().unwrap_or(Path::new("/"));
        match writable(parent) {
            true => Check::ok(ITEM, format!("{root:?} can be created")),
            false => Check::warning(
                ITEM,
                format!(
                    "{parent:?} is not writable: {root:?} cannot be created (needed by -d, limits, networking and the host's / as rootfs)"
                ),
                fix,
            ),
        }
    }
}

/// The kernel's release, against nsbox's oldest.
pub fn kernel(osrelease: Option<&str>) -> Check {
    const ITEM: &str = "kernel";
    let release = osrelease.unwrap_or("").trim();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let version = (|| Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?)))();
    let need = format!(
        "nsbox needs {}.{} (mount_setattr)",
        MIN_KERNEL.0, MIN_KERNEL.1
    );
    match version {
        Some(v) if v >= MIN_KERNEL => Check::ok(ITEM, format!("Linux {release}")),
        Some(_) => Check::problem(
            ITEM,
            format!("Linux {release}: {need}"),
            "upgrade the kernel",
        ),
        None => Check::warning(
            ITEM,
            format!("cannot read the kernel's version (/proc/sys/kernel/osrelease): {need}"),
            "mount procfs on /proc",
        ),
    }
}

/// The namespaces of /proc/self/ns.
pub fn namespaces(present: &[String]) -> Check {
    const ITEM: &str = "namespaces";
    let missing: Vec<&str> = NAMESPACES
        .into_iter()
        .filter(|n| !present.iter().any(|p| p == n))
        .collect();
    match missing.is_empty() {
        true => Check::ok(ITEM, format!("{} (/proc/self/ns)", NAMESPACES.join(" "))),
        false => Check::problem(
            ITEM,
            format!("no {} namespace in /proc/self/ns", missing.join(", ")),
            "use a kernel built with CONFIG_NAMESPACES and CONFIG_{UTS,IPC,PID,NET,CGROUP}_NS",
        ),
    }
}

/// User namespaces: the kernel's support and the sysctls that restrict them.
pub fn userns(
    root: bool,
    present: bool,
    max: Option<&str>,
    unprivileged_clone: Option<&str>,
    apparmor_restrict: Option<&str>,
) -> Check {
    const ITEM: &str = "userns";
    let loses = match root {
        true => "--userns cannot work",
        false => "rootless containers (--userns) cannot work",
    };
    if !present {
        return Check::needed_rootless(
            ITEM,
            root,
            format!("no user namespace in /proc/self/ns: {loses}"),
            "use a kernel built with CONFIG_USER_NS",
        );
    }
    if max == Some("0") {
        return Check::needed_rootless(
            ITEM,
            root,
            format!("user.max_user_namespaces is 0: {loses}"),
            "sysctl -w user.max_user_namespaces=15000",
        );
    }
    let mut detail = format!("max_user_namespaces {}", max.unwrap_or("unknown"));
    if unprivileged_clone == Some("0") {
        if !root {
            return Check::problem(
                ITEM,
                format!("kernel.unprivileged_userns_clone is 0: {loses}"),
                "sysctl -w kernel.unprivileged_userns_clone=1",
            );
        }
        detail.push_str("; unprivileged_userns_clone 0 (ordinary users cannot)");
    }
    if apparmor_restrict == Some("1") {
        if !root {
            return Check::problem(
                ITEM,
                format!("AppArmor restricts unprivileged user namespaces: {loses}"),
                "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile that allows userns for nsbox",
            );
        }
        detail.push_str("; apparmor_restrict_unprivileged_userns 1 (ordinary users cannot)");
    }
    Check::ok(ITEM, detail)
}

/// The cgroup layout and which of nsbox's controllers it offers.
pub fn cgroups(layout: &Layout, v2_controllers: Option<&str>) -> Check {
    const ITEM: &str = "cgroups";
    let kind = layout.kind();
    if kind == "none" {
        return Check::warning(
            ITEM,
            "no cgroup hierarchy mounted: limits cannot work",
            "mount cgroup2 on /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)",
        );
    }
    let v2_has = |c: &str| v2_controllers.is_some_and(|t| t.split_whitespace().any(|x| x == c));
    let (mut have, mut lack) = (Vec::new(), Vec::new());
    for (controller, flag) in CONTROLLERS {
        match (layout.v1_with(controller).is_some(), v2_has(controller)) {
            (true, _) => have.push(format!("{controller} (v1)")),
            (_, true) => have.push(format!("{controller} (v2)")),
            _ => lack.push((controller, flag)),
        }
    }
    let mut detail = format!("{kind}: {}", have.join(" "));
    if let Some(v2) = &layout.v2
        && kind == "hybrid"
    {
        let on_v2 = v2_controllers.unwrap_or("").trim();
        let on_v2 = if on_v2.is_empty() { "none" } else { on_v2 };
        detail.push_str(&format!(
            "; cgroup2 at {:?} (controllers: {on_v2})",
            v2.mount
        ));
    }
    match lack.is_empty() {
        true => Check::ok(ITEM, detail),
        false => Check::warning(
            ITEM,
            format!(
                "{detail}; no {}: {} cannot work",
                lack.iter().map(|l| l.0).collect::<Vec<_>>().join(", "),
                lack.iter().map(|l| l.1).collect::<Vec<_>>().join(", ")
            ),
            "enable the controller for nsbox's cgroup (v2: echo +NAME > PARENT/cgroup.subtree_control)",
        ),
    }
}

/// pivot_root cannot leave the initial ramfs: it has no parent mount to move it under.
pub fn root_mount(mountinfo: &str) -> Check {
    const ITEM: &str = "root-mount";
    // The last mount on / is the one in use.
    let root_fs = mountinfo.lines().rev().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        (left.split(' ').nth(4)? == "/").then(|| right.split(' ').next().unwrap_or(""))
    });
    match root_fs {
        Some("rootfs") => Check::problem(
            ITEM,
            "/ is the initial ramfs (rootfs): pivot_root(2) refuses to move it",
            "use --chroot, or have the initramfs switch_root to a real root first",
        ),
        Some(fs) => Check::ok(ITEM, format!("/ is {fs}")),
        None if mountinfo.trim().is_empty() => Check::warning(
            ITEM,
            "/proc/self/mountinfo is empty",
            "mount procfs on /proc",
        ),
        // A chroot: its / is a directory of a mount outside it.
        None => Check::ok(
            ITEM,
            "/ is not a mount (a chroot): nsbox makes it one in the container's mount namespace",
        ),
    }
}

/// seccomp, from /proc/self/status.
pub fn seccomp(status: &str) -> Check {
    const ITEM: &str = "seccomp";
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(str::trim);
    match mode {
        Some("0") => Check::ok(ITEM, "available (nsbox's filter is loaded by default)"),
        Some("2") => Check::ok(
            ITEM,
            "nsbox itself runs under a filter: nsbox's own stacks on it, and calls either refuses fail",
        ),
        Some(other) => Check::warning(
            ITEM,
            format!("mode {other} (strict) for nsbox itself"),
            "run nsbox outside of seccomp strict mode",
        ),
        None => Check::problem(
            ITEM,
            "this kernel has no seccomp (no Seccomp: line in /proc/self/status): the default filter cannot load",
            "use --seccomp unconfined, or a kernel with CONFIG_SECCOMP_FILTER",
        ),
    }
}

/// `run` and `exec` re-execute nsbox from a sealed memfd (CVE-2019-5736): the memfd must be
/// executable.
pub fn sealed_copy(memfd_noexec: Option<&str>) -> Check {
    const ITEM: &str = "sealed-copy";
    match memfd_noexec {
        Some("2") => Check::problem(
            ITEM,
            "vm.memfd_noexec=2: without root, run and exec cannot make nsbox's sealed copy",
            "sysctl -w vm.memfd_noexec=1 (nsbox asks for MFD_EXEC itself)",
        ),
        _ => Check::ok(
            ITEM,
            "run and exec re-execute nsbox from a read-only image of itself",
        ),
    }
}

/// Whether this process may write `path` (its effective ids, and read-only mounts counted).
fn writable(path: &Path) -> bool {
    crate::sys::cpath(path).is_ok_and(|p| crate::sys::fs::writable(&p).is_ok())
}

#[cfg(test)]
mod tests {
    use super::super::Status;
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel(Some("6.18.44-fc\n")).status, Status::Ok);
        assert_eq!(kernel(Some("5.12.0")).status, Status::Ok);
        let old = kernel(Some("5.10.200-generic"));
        assert_eq!(old.status, Status::Problem);
        assert!(old.detail.contains("nsbox needs 5.12"), "{old:?}");
        assert_eq!(kernel(None).status, Status::Warning);
    }

    #[test]
    fn missing_namespaces_are_named() {
        let all: Vec<String> = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"]
            .map(String::from)
            .to_vec();
        assert_eq!(namespaces(&all).status, Status::Ok);
        let c = namespaces(&all[1..]);
        assert_eq!(c.status, Status::Problem);
        assert!(c.detail.contains("no cgroup namespace"), "{c:?}");
    }

    #[test]
    fn user_namespaces_matter_most_without_root() {
        assert_eq!(
            userns(false, true, Some("100"), None, None).status,
            Status::Ok
        );
        assert_eq!(
            userns(true, false, None, None, None).status,
            Status::Warning
        );
        assert_eq!(
            userns(false, false, None, None, None).status,
            Status::Problem
        );
        assert_eq!(
            userns(false, true, Some("0"), None, None).status,
            Status::Problem
        );
        let debian = userns(false, true, Some("9"), Some("0"), None);
        assert!(debian.fix.contains("unprivileged_userns_clone=1"));
        let ubuntu = userns(false, true, Some("9"), Some("1"), Some("1"));
        assert!(ubuntu.detail.contains("AppArmor") && ubuntu.status == Status::Problem);
        let root = userns(true, true, Some("9"), Some("0"), Some("1"));
        assert_eq!(root.status, Status::Ok);
        assert!(root.detail.contains("ordinary users cannot"));
    }

    const HYBRID: &str = "\
30 25 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
31 25 0:27 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
32 25 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
33 25 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
";

    #[test]
    fn cgroup_layouts_and_controllers() {
        let proc = "0::/\n4:pids:/\n3:memory:/\n2:cpu,cpuacct:/\n";
        let hybrid = cgroups(&layout::parse(HYBRID, proc), Some(""));
        assert_eq!(hybrid.status, Status::Warning);
        assert!(
            hybrid
                .detail
                .starts_with("hybrid: pids (v1) memory (v1) cpu (v1)")
        );
        assert!(
            hybrid.detail.contains("no cpuset: --cpuset cannot work"),
            "{hybrid:?}"
        );
        assert!(hybrid.detail.contains("(controllers: none)"), "{hybrid:?}");
        let v2 = "30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let pure = cgroups(
            &layout::parse(v2, "0::/user.slice\n"),
            Some("cpuset cpu io memory pids\n"),
        );
        assert_eq!(pure.status, Status::Ok, "{pure:?}");
        assert!(
            pure.detail
                .starts_with("v2: pids (v2) memory (v2) cpu (v2) cpuset (v2)")
        );
        assert_eq!(cgroups(&Layout::default(), None).status, Status::Warning);
    }

    #[test]
    fn the_initial_ramfs_cannot_be_pivoted() {
        let ramfs = "1 1 0:2 / / rw - rootfs rootfs rw\n";
        assert_eq!(root_mount(ramfs).status, Status::Problem);
        let ext4 = "1 1 0:2 / / rw - rootfs rootfs rw\n20 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
        assert_eq!(root_mount(ext4).detail, "/ is ext4");
        let chroot = "30 1 0:5 / /proc rw - proc proc rw\n";
        assert_eq!(root_mount(chroot).status, Status::Ok);
        assert_eq!(root_mount("").status, Status::Warning);
    }

    #[test]
    fn an_executable_memfd_is_needed() {
        assert_eq!(sealed_copy(None).status, Status::Ok);
        assert_eq!(sealed_copy(Some("1")).status, Status::Ok);
        assert_eq!(sealed_copy(Some("2")).status, Status::Problem);
    }

    #[test]
    fn seccomp_modes() {
        assert_eq!(seccomp("Name:\tx\nSeccomp:\t0\n").status, Status::Ok);
        assert_eq!(seccomp("Seccomp:\t2\n").status, Status::Ok);
        assert_eq!(seccomp("Name:\tx\n").status, Status::Problem);
    }
}
