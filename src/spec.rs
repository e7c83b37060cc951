//! The container Spec: what to run and with which isolation. Pure data; defaults live here.

use crate::caps::Caps;
use crate::cgroup::limits::Limits;
use crate::error::{Error, Result};
use crate::net::cidr::Cidr;
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Absolute host path.
    pub source: PathBuf,
    /// Absolute path inside the container, without `..`.
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
}

/// The privileges the command starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    /// Bounding, permitted and effective capabilities (for uid 0; other users get none).
    pub caps: Caps,
    /// The capabilities `--cap-add` named one by one (not through ALL).
    pub named: Caps,
    /// PR_SET_NO_NEW_PRIVS: setuid binaries and file capabilities grant nothing.
    pub no_new_privs: bool,
    /// The default seccomp filter (`--seccomp unconfined` turns it off).
    pub seccomp: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub id: String,
    pub hostname: String,
    pub rootfs: Rootfs,
    /// argv of the command; argv[0] is looked up in the container's PATH when it has no `/`.
    pub command: Vec<OsString>,
    /// True when no command was given and `/bin/sh` was chosen for the user.
    pub command_defaulted: bool,
    /// The container's environment, `KEY=VALUE`, in order.
    pub env: Vec<String>,
    pub workdir: String,
    pub user: User,
    pub volumes: Vec<Volume>,
    pub tmpfs: Vec<String>,
    pub read_only: bool,
    pub net: Net,
    pub chroot: bool,
    /// Resource limits; any of them gives the container cgroups of its own.
    pub limits: Limits,
    /// What the container's process may do.
    pub security: Security,
    /// `--init`: nsbox stays as PID 1, reaps zombies and forwards signals to the command.
    pub init: bool,
    /// `-t`: the command gets a pseudo-terminal from the container's own devpts.
    pub tty: bool,
    /// `--userns`: a user namespace of its own, with its uid and gid maps.
    pub userns: Option<crate::userns::UserNs>,
    /// Where nsbox keeps one directory per container.
    pub state_root: PathBuf,
}

impl Spec {
    /// The namespaces the container gets, as clone(2) flags.
    pub fn clone_flags(&self) -> i32 {
        let mut flags =
            libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
        // With limits, the child first joins its cgroups, then unshares the cgroup namespace
        // (a namespace made at clone would be rooted at nsbox's own cgroup).
        if self.limits.is_empty() {
            flags |= libc::CLONE_NEWCGROUP;
        }
        if self.userns.is_some() {
            flags |= libc::CLONE_NEWUSER;
        }
        if self.net.own_namespace() {
            flags |= libc::CLONE_NEWNET;
        }
        flags
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

#[cfg(test)]
mod tests {
    use super::*;

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
