//! The container Spec: what to run and with which isolation. Pure data; defaults live here.

use crate::cgroup::limits::Limits;
use crate::error::{Error, Result};
use crate::net::cidr::Cidr;
use crate::process::caps::Caps;
use std::ffi::OsString;
use std::path::PathBuf;

pub const DEFAULT_STATE_ROOT: &str = "/run/nsbox";
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub const DEFAULT_SHELL: &str = "/bin/sh";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rootfs {
    /// The host's `/`, bind-mounted read-only, with private /proc, /dev, /sys, /tmp and /run.
    Host,
    /// A directory holding the container's root filesystem.
    Dir(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Net {
    /// A new network namespace with only `lo`, brought up.
    None,
    /// The host's network namespace, shared.
    Host,
    /// A veth pair: `host` on the host's end, `container` on eth0 inside, the default route
    /// via the host's end.
    Veth { host: Cidr, container: Cidr },
    /// The host's end on the bridge nsbox0, whose address is `gateway`; the container gets a
    /// leased address of the same subnet.
    Bridge { gateway: Cidr },
}

impl Net {
    /// Whether the container gets a network namespace of its own.
    pub fn own_namespace(self) -> bool {
        self != Net::Host
    }

    /// Whether nsbox builds interfaces on the host for it (veth or bridge).
    pub fn has_link(self) -> bool {
        matches!(self, Net::Veth { .. } | Net::Bridge { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

/// The privileges the command starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    /// The five capability sets.
    pub caps: CapSets,
    /// The capabilities `--cap-add` named one by one (not through ALL).
    pub named: Caps,
    /// PR_SET_NO_NEW_PRIVS: setuid binaries and file capabilities grant nothing.
    pub no_new_privs: bool,
}

/// How the container gets a namespace of one kind (its CLONE_NEW* flag): both front ends
/// give the whole list, the native one from `--net`, a config from `linux.namespaces`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Namespace {
    /// A new one, made at clone (a cgroup namespace rooted at the container's own cgroups is
    /// unshared by the child once it is in them).
    New(i32),
    /// The one this file names, joined with setns: `/proc/PID/ns/net`, a bind mount made by
    /// `ip netns add`.
    Join(i32, PathBuf),
}

impl Namespace {
    /// The native CLI's: pid, mount, uts, ipc and cgroup namespaces of the container's own;
    /// the network's as `--net` says (`join`: `--net ns:PATH`; none of its own with host).
    pub fn native(net: Net, join: Option<PathBuf>) -> Vec<Namespace> {
        let mut all: Vec<Namespace> = [
            libc::CLONE_NEWPID,
            libc::CLONE_NEWNS,
            libc::CLONE_NEWUTS,
            libc::CLONE_NEWIPC,
            libc::CLONE_NEWCGROUP,
        ]
        .map(Namespace::New)
        .into();
        match join {
            Some(path) => all.push(Namespace::Join(libc::CLONE_NEWNET, path)),
            None if net.own_namespace() => all.push(Namespace::New(libc::CLONE_NEWNET)),
            None => {}
        }
        all
    }

    pub fn flag(&self) -> i32 {
        match self {
            Namespace::New(f) | Namespace::Join(f, _) => *f,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub id: String,
    pub hostname: String,
    pub rootfs: Rootfs,
    /// The command and what it starts with.
    pub process: Process,
    /// The mounts in the order they are made, /proc, /dev and /sys included: the native front
    /// end expands its flags to this list (cli/mounts.rs), a config gives its own.
    pub mounts: Vec<Mount>,
    pub read_only: bool,
    pub net: Net,
    pub chroot: bool,
    /// Resource limits; any of them gives the container cgroups of its own.
    pub limits: Limits,
    /// Paths hidden (a file by /dev/null, a directory by an empty tmpfs), and paths made
    /// read-only: the native front end gives nsbox's lists (rootfs/masks.rs), a config its own.
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// `--init`: nsbox stays as PID 1, reaps zombies and forwards signals to the command.
    pub init: bool,
    /// `--userns`: a user namespace of its own, with its uid and gid maps.
    pub userns: Option<crate::container::userns::UserNs>,
    /// Each namespace but the user's (above) and the time's (`extra.time_offsets`): new or
    /// joined. The mount namespace is always new.
    pub namespaces: Vec<Namespace>,
    /// Where nsbox keeps one directory per container.
    pub state_root: PathBuf,
    /// What only the OCI front end sets so far (the native CLI leaves the defaults).
    pub extra: Extra,
}

/// The container's command and what it starts with: identity, environment, privileges,
/// limits of its own, terminal. Apart from the container, so that `exec` (and OCI `exec
/// --process`) can give a process alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// argv of the command; argv[0] is looked up in the container's PATH when it has no `/`.
    pub command: Vec<OsString>,
    /// True when no command was given and `/bin/sh` was chosen for the user.
    pub command_defaulted: bool,
    /// The environment, `KEY=VALUE`, in order.
    pub env: Vec<String>,
    pub workdir: String,
    pub user: User,
    /// `-u NAME[:GROUP]`: names to look up in the container's /etc/passwd and /etc/group
    /// before it is made (they then set `user`, `groups` and maybe HOME).
    pub names: Option<crate::process::users::Names>,
    /// Supplementary groups of the user.
    pub groups: Vec<u32>,
    /// The umask at execve (default 022).
    pub umask: Option<u32>,
    /// What the process may do.
    pub security: Security,
    /// The seccomp profile it runs under: nsbox's own natively, unless `--seccomp
    /// unconfined`; a config's (`linux.seccomp`), or none.
    pub seccomp: Option<crate::process::seccomp::Seccomp>,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    /// personality(2) before execve (PER_LINUX32: `uname -m` says i686).
    pub personality: Option<u64>,
    /// `-t`: a pseudo-terminal from the container's own devpts.
    pub tty: bool,
    /// The terminal's size (rows, columns), `process.consoleSize`.
    pub console_size: Option<(u16, u16)>,
}

impl Process {
    /// `command` run as `user` in `workdir` with `env` and the default privileges; the rest
    /// as the native CLI leaves it.
    pub fn new(command: Vec<OsString>, env: Vec<String>, workdir: String, user: User) -> Self {
        Process {
            command,
            command_defaulted: false,
            env,
            workdir,
            user,
            names: None,
            groups: Vec::new(),
            umask: None,
            security: Security {
                caps: CapSets::native(Caps::default_set(), user.uid),
                named: Caps(0),
                no_new_privs: true,
            },
            seccomp: Some(crate::process::seccomp::Seccomp::Nsbox),
            rlimits: Vec::new(),
            oom_score_adj: None,
            personality: None,
            tty: false,
            console_size: None,
        }
    }
}

/// The settings of a runtime-spec config that the native CLI has no flag for. Each default
/// is what the native CLI does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The container's net.ipv4.ping_group_range is left as the kernel makes it (the native
    /// CLI opens ICMP datagram sockets to every group, as podman does).
    pub keep_ping_group_range: bool,
    /// A read-only root still gets the mount points its mounts need, made before it turns
    /// read-only (runc's way); the native `--read-only` never writes into the image.
    pub make_mount_points: bool,
    /// /etc/hosts and /etc/hostname are the image's, or what the mounts put there (a config's);
    /// the native front end writes the container's own.
    pub image_etc: bool,
    /// The propagation of the container's mounts after the pivot (MS_SHARED, MS_SLAVE, ...).
    pub propagation: Option<u64>,
    /// Device nodes to make in /dev besides the standard ones.
    pub devices: Vec<Device>,
    /// (sysctl name with dots, value), written in the container's namespaces.
    pub sysctl: Vec<(String, String)>,
    pub domainname: Option<String>,
    /// The cgroup the container gets, relative to each hierarchy's root (default: none without
    /// limits, else one per hierarchy under nsbox's own cgroup).
    pub cgroups_path: Option<String>,
    /// A session keyring of the container's own (OCI's default; runc's --no-new-keyring
    /// leaves the caller's).
    pub new_keyring: bool,
    /// OCI `create`: the first process stops before execve, and waits until `start` opens this
    /// FIFO; it outlives the nsbox that made it (no parent-death signal).
    pub start_fifo: Option<PathBuf>,
    /// A time namespace of the container's own (unshared by the first process, entered at its
    /// execve), with these offsets: (clock name, seconds, nanoseconds).
    pub time_offsets: Option<Vec<(&'static str, i64, u32)>>,
    /// OCI `create --console-socket`: the pty master of `tty` goes to this AF_UNIX socket
    /// (SCM_RIGHTS) instead of being relayed by nsbox.
    pub console_socket: Option<PathBuf>,
    /// OCI hooks (with the state they are given).
    pub hooks: Option<Box<crate::container::hooks::Hooks>>,
}

/// The capability sets the command starts with (capabilities(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapSets {
    /// What the process and its children can ever hold.
    pub bounding: Caps,
    pub effective: Caps,
    pub permitted: Caps,
    pub inheritable: Caps,
    /// Kept across execve by a non-root user (each must be permitted and inheritable).
    pub ambient: Caps,
}

impl CapSets {
    /// The native front end's sets (docker's and podman's): `bounding`, and the same as
    /// effective and permitted for root; another user starts with none (a uid change drops
    /// them, as the kernel does), and nothing is inheritable or ambient.
    pub fn native(bounding: Caps, uid: u32) -> CapSets {
        let held = if uid == 0 { bounding } else { Caps(0) };
        CapSets {
            bounding,
            effective: held,
            permitted: held,
            inheritable: Caps(0),
            ambient: Caps(0),
        }
    }
}

/// One entry of the ordered mount list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute, inside the container.
    pub destination: String,
    pub kind: MountKind,
    /// A bind's host path (absolute, any bytes), else the filesystem's source name.
    pub source: PathBuf,
    /// MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME, ...
    pub flags: u64,
    /// MS_PRIVATE, MS_SLAVE, MS_SHARED or MS_UNBINDABLE, with MS_REC; 0 for none.
    pub propagation: u64,
    /// The filesystem's own options (`mode=755,size=65536k`).
    pub data: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    Bind {
        recursive: bool,
    },
    /// A host device node bound onto a file, with device access (no nodev) as long as the
    /// source still is a character or block device when it is opened (`-v /dev/fuse:...`).
    Device,
    Proc,
    Sysfs,
    Tmpfs,
    Devpts,
    Mqueue,
    /// The container's cgroups (as nsbox shows them natively).
    Cgroup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Absolute, under /dev.
    pub path: String,
    /// S_IFCHR, S_IFBLK or S_IFIFO.
    pub kind: u32,
    pub major: u32,
    pub minor: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// RLIMIT_NOFILE, ...
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

impl Spec {
    /// The namespaces the container gets at clone, as clone(2) flags.
    pub fn clone_flags(&self) -> i32 {
        let mut flags = self
            .namespaces
            .iter()
            .filter_map(|ns| match ns {
                Namespace::New(f) => Some(*f),
                Namespace::Join(..) => None,
            })
            .fold(0, |all, f| all | f);
        // With cgroups of its own, the child first joins them, then unshares the cgroup
        // namespace (one made at clone would be rooted at nsbox's own cgroup).
        if self.wants_cgroups() {
            flags &= !libc::CLONE_NEWCGROUP;
        }
        if self.userns.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        flags
    }

    /// Every kind of namespace the container is in apart from the host's, new or joined (the
    /// time namespace aside): what `exec` joins.
    pub fn namespace_kinds(&self) -> i32 {
        let user = match self.userns {
            Some(_) => libc::CLONE_NEWUSER,
            None => 0,
        };
        self.namespaces
            .iter()
            .map(Namespace::flag)
            .filter(|f| *f != crate::flags::CLONE_NEWTIME)
            .fold(user, |all, f| all | f)
    }

    /// The namespaces joined by path, as (flag, path).
    pub fn joined(&self) -> impl Iterator<Item = (i32, &std::path::Path)> {
        self.namespaces.iter().filter_map(|ns| match ns {
            Namespace::Join(f, path) => Some((*f, path.as_path())),
            Namespace::New(_) => None,
        })
    }

    /// Whether the container gets cgroups of its own.
    pub fn wants_cgroups(&self) -> bool {
        !self.limits.is_empty() || self.extra.cgroups_path.is_some()
    }

    /// Whether the container's cgroups come with a cgroup namespace rooted at them.
    pub fn cgroup_namespace(&self) -> bool {
        self.namespaces
            .contains(&Namespace::New(libc::CLONE_NEWCGROUP))
    }

    /// The container's directory under the state root.
    pub fn state_dir(&self) -> PathBuf {
        self.state_root.join(&self.id)
    }
}

/// The environment a container starts with: PATH, HOME and HOSTNAME, then the user's `-e`
/// values, each replacing an earlier one with the same key.
pub fn environment(hostname: &str, user: User, extra: &[(String, String)]) -> Vec<String> {
    let home = if user.uid == 0 { "/root" } else { "/" };
    let mut vars = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOME={home}"),
        format!("HOSTNAME={hostname}"),
    ];
    override_env(&mut vars, extra);
    vars
}

/// Sets each `KEY=VALUE` of `extra` in `vars`: in the place of an earlier value of the same
/// key, else at the end.
pub fn override_env(vars: &mut Vec<String>, extra: &[(String, String)]) {
    for (key, value) in extra {
        let var = format!("{key}={value}");
        match vars
            .iter_mut()
            .find(|v| v.split_once('=').map(|(k, _)| k) == Some(key.as_str()))
        {
            Some(slot) => *slot = var,
            None => vars.push(var),
        }
    }
}

/// A container id from 6 random bytes: 12 lowercase hex digits.
pub fn random_id(bytes: [u8; 6]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Container ids and hostnames: 1 to 63 of `[A-Za-z0-9_.-]`, starting with a letter or digit.
pub fn check_name(flag: &str, name: &str) -> Result<()> {
    let ok_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok_start || !ok_chars || name.len() > 63 {
        return Err(Error::new(
            format!("{flag} {name:?}"),
            "expected 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit",
        ));
    }
    Ok(())
}

/// A container of `/bin/true` on the host's / with every default: for unit tests.
#[cfg(test)]
pub fn test_spec() -> Spec {
    let user = User { uid: 0, gid: 0 };
    Spec {
        id: "test".into(),
        hostname: "test".into(),
        rootfs: Rootfs::Host,
        process: Process::new(vec!["true".into()], Vec::new(), "/".into(), user),
        mounts: Vec::new(),
        read_only: false,
        net: Net::None,
        chroot: false,
        limits: Limits::default(),
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        init: false,
        userns: None,
        namespaces: Namespace::native(Net::None, None),
        state_root: DEFAULT_STATE_ROOT.into(),
        extra: Extra::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_new_or_joined() {
        let base = libc::CLONE_NEWPID
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWCGROUP;
        let mut s = test_spec();
        assert_eq!(s.clone_flags(), base | libc::CLONE_NEWNET);
        assert!(s.cgroup_namespace());
        // --net host: none of its own; --net ns:PATH: joined, not made.
        s.namespaces = Namespace::native(Net::Host, None);
        assert_eq!(s.clone_flags(), base);
        s.namespaces = Namespace::native(Net::Host, Some("/run/netns/x".into()));
        assert_eq!(s.clone_flags(), base);
        assert_eq!(s.namespace_kinds(), base | libc::CLONE_NEWNET);
        let joined: Vec<_> = s.joined().collect();
        assert_eq!(
            joined,
            [(libc::CLONE_NEWNET, std::path::Path::new("/run/netns/x"))]
        );
        // With cgroups of its own the child unshares the cgroup namespace once in them.
        s.limits.pids = Some(10);
        assert_eq!(s.clone_flags(), base & !libc::CLONE_NEWCGROUP);
        assert!(s.cgroup_namespace());
        // A time namespace joined by path is no clone flag nor a kind `exec` joins.
        s.namespaces.push(Namespace::Join(
            crate::flags::CLONE_NEWTIME,
            "/proc/1/ns/time".into(),
        ));
        assert_eq!(s.namespace_kinds(), base | libc::CLONE_NEWNET);
    }

    #[test]
    fn environment_defaults_and_overrides() {
        let env = environment(
            "box",
            User { uid: 0, gid: 0 },
            &[("PATH".into(), "/x".into()), ("A".into(), "1".into())],
        );
        assert_eq!(env, vec!["PATH=/x", "HOME=/root", "HOSTNAME=box", "A=1"]);
        let env = environment(
            "box",
            User {
                uid: 1000,
                gid: 1000,
            },
            &[],
        );
        assert_eq!(env[1], "HOME=/");
    }

    #[test]
    fn ids_are_twelve_hex_digits() {
        assert_eq!(
            random_id([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]),
            "deadbeef0001"
        );
    }

    #[test]
    fn names() {
        assert!(check_name("--name", "web-1.a_b").is_ok());
        assert!(check_name("--name", "").is_err());
        assert!(check_name("--name", "-x").is_err());
        assert!(check_name("--name", "a/b").is_err());
        assert!(check_name("--name", &"a".repeat(64)).is_err());
    }
}
