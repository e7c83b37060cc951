//! Capability sets by name (pure): the default set a container keeps, and `--cap-add` /
//! `--cap-drop` applied to it. `hardening` applies the set (with `sys::security`).

use crate::error::{Error, Result, Topic};

/// Capability names in number order (capability(7); CAP_CHECKPOINT_RESTORE is 40, Linux 5.9).
pub const NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

pub const SYS_CHROOT: u32 = 18;

/// A set of capabilities, bit N for capability N.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps(pub u64);

/// The set podman, buildah and CRI-O give a container by default: what ordinary programs
/// (package managers, servers dropping root) need, and nothing that reaches the kernel or other
/// containers (no SYS_ADMIN, NET_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, ...). Docker's old
/// set also has NET_RAW (raw and packet sockets: CVE-2020-14386 escaped through AF_PACKET),
/// MKNOD and AUDIT_WRITE; ping works without NET_RAW (net.ipv4.ping_group_range).
pub const DEFAULT: [&str; 11] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
];

impl Caps {
    pub const ALL: Caps = Caps((1 << NAMES.len()) - 1);

    pub fn default_set() -> Caps {
        DEFAULT
            .iter()
            .filter_map(|n| number(n))
            .fold(Caps(0), |s, n| s.with(n))
    }

    pub fn has(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1 << cap) != 0
    }

    pub fn with(self, cap: u32) -> Caps {
        Caps(self.0 | (1 << cap))
    }

    pub fn without(self, cap: u32) -> Caps {
        Caps(self.0 & !(1 << cap))
    }

    /// The names in the set, in number order, e.g. `CHOWN,KILL`.
    pub fn names(self) -> String {
        let names: Vec<&str> = (0..NAMES.len() as u32)
            .filter(|&c| self.has(c))
            .map(|c| NAMES[c as usize])
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(",")
        }
    }
}

/// `CAP_NET_ADMIN` for 12; the number itself past the names nsbox knows.
pub fn name(cap: u32) -> String {
    NAMES
        .get(cap as usize)
        .map(|n| format!("CAP_{n}"))
        .unwrap_or_else(|| cap.to_string())
}

/// `NET_ADMIN`, `CAP_NET_ADMIN`, `net_admin`: the capability's number.
fn number(name: &str) -> Option<u32> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// One `--cap-add` or `--cap-drop` value: `ALL`, or names separated by commas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Names {
    All,
    Some(Vec<u32>),
}

pub fn parse_names(flag: &str, value: &str) -> Result<Names> {
    if value.eq_ignore_ascii_case("ALL") {
        return Ok(Names::All);
    }
    let mut caps = Vec::new();
    for name in value.split(',') {
        let cap = number(name).ok_or_else(|| {
            Error::new(format!("{flag} {name:?}"), "unknown capability")
                .hint("give a name from capabilities(7), e.g. NET_ADMIN or CAP_NET_ADMIN, or ALL")
        })?;
        caps.push(cap);
    }
    Ok(Names::Some(caps))
}

/// The capabilities named one by one in these values (ALL aside).
pub fn named(list: &[Names]) -> Caps {
    list.iter()
        .flat_map(|n| match n {
            Names::All => Vec::new(),
            Names::Some(v) => v.clone(),
        })
        .fold(Caps(0), |s, c| s.with(c))
}

/// The set a container keeps: `base` (the default set), with `ALL` dropped or added first,
/// then each named drop and add. A capability both added and dropped by name is a
/// contradiction.
pub fn resolve(base: Caps, add: &[Names], drop: &[Names]) -> Result<Caps> {
    let (added, dropped) = (named(add), named(drop));
    let both = Caps(added.0 & dropped.0);
    if both.0 != 0 {
        return Err(Error::new(
            format!("the capabilities {}", both.names()),
            "the same capability is both added and dropped",
        )
        .about(Topic::Capabilities));
    }
    let mut set = base;
    if drop.contains(&Names::All) {
        set = Caps(0);
    }
    if add.contains(&Names::All) {
        set = Caps::ALL;
    }
    Ok(Caps((set.0 & !dropped.0) | added.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &str) -> Names {
        parse_names("--cap-add", v).unwrap()
    }

    #[test]
    fn the_default_set_is_podmans() {
        let set = Caps::default_set();
        assert_eq!(
            set.names(),
            "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID,SETPCAP,NET_BIND_SERVICE,\
             SYS_CHROOT,SETFCAP"
        );
        assert!(!set.has(21), "SYS_ADMIN");
        assert_eq!(NAMES[40], "CHECKPOINT_RESTORE");
        assert_eq!(NAMES[21], "SYS_ADMIN");
        assert_eq!(NAMES[27], "MKNOD");
        assert_eq!(NAMES[31], "SETFCAP");
    }

    #[test]
    fn names_parse_with_or_without_prefix_and_in_lists() {
        assert_eq!(names("net_admin"), Names::Some(vec![12]));
        assert_eq!(names("CAP_SYS_ADMIN,KILL"), Names::Some(vec![21, 5]));
        assert_eq!(names("all"), Names::All);
        let err = parse_names("--cap-drop", "NET_FOO").unwrap_err();
        assert_eq!(err.what, "--cap-drop \"NET_FOO\"");
        assert!(parse_names("--cap-add", "").is_err());
        assert!(parse_names("--cap-add", "KILL,").is_err());
    }

    #[test]
    fn add_and_drop() {
        let d = Caps::default_set();
        assert_eq!(resolve(d, &[], &[]).unwrap(), d);
        assert_eq!(resolve(d, &[names("NET_ADMIN")], &[]).unwrap(), d.with(12));
        assert_eq!(resolve(d, &[], &[names("KILL")]).unwrap(), d.without(5));
        assert_eq!(
            resolve(d, &[names("KILL")], &[names("ALL")]).unwrap(),
            Caps(1 << 5)
        );
        assert_eq!(
            resolve(d, &[names("ALL")], &[names("SYS_ADMIN")]).unwrap(),
            Caps::ALL.without(21)
        );
        assert!(resolve(d, &[names("KILL")], &[names("CAP_KILL")]).is_err());
    }
}
