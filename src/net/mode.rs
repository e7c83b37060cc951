//! `--net MODE`: parsing and checking the addresses (pure, before anything exists), and the
//! names nsbox gives the interfaces it makes.

use super::cidr::Cidr;
use crate::error::{Error, Result, Topic};
use crate::spec::Net;

/// The point-to-point default, as in the classic tutorials.
pub const VETH_DEFAULT: (&str, &str) = ("10.0.0.1/24", "10.0.0.2/24");
/// The bridge's address (its subnet is what containers get leases from).
pub const BRIDGE_DEFAULT: &str = "10.88.0.1/16";
/// The one bridge nsbox makes.
pub const BRIDGE_NAME: &str = "nsbox0";
/// The container's end of the pair, inside its namespace.
pub const CONTAINER_IFNAME: &str = "eth0";

/// `none`, `host`, `veth[:HOST_CIDR,CONTAINER_CIDR]` or `bridge[:CIDR]`.
pub fn parse(s: &str) -> Result<Net> {
    let bad = |why: String| Error::new(format!("the network {s:?}"), why).about(Topic::Network);
    let (mode, arg) = match s.split_once(':') {
        Some((m, a)) => (m, Some(a)),
        None => (s, None),
    };
    match (mode, arg) {
        ("none", None) => Ok(Net::None),
        ("host", None) => Ok(Net::Host),
        ("veth", arg) => {
            let (host, container) = match arg {
                None => VETH_DEFAULT,
                Some(a) => a
                    .split_once(',')
                    .filter(|(_, c)| !c.contains(','))
                    .ok_or_else(|| {
                        bad(
                        "expected veth:HOST_CIDR,CONTAINER_CIDR, e.g. veth:10.0.0.1/24,10.0.0.2/24"
                            .into(),
                    )
                    })?,
            };
            let host = Cidr::parse(host).map_err(|w| bad(format!("host address: {w}")))?;
            let container =
                Cidr::parse(container).map_err(|w| bad(format!("container address: {w}")))?;
            check_pair(host, container).map_err(bad)?;
            Ok(Net::Veth { host, container })
        }
        ("bridge", arg) => {
            let gateway = Cidr::parse(arg.unwrap_or(BRIDGE_DEFAULT))
                .map_err(|w| bad(format!("bridge address: {w}")))?;
            Ok(Net::Bridge { gateway })
        }
        _ => Err(bad(
            "expected none, host, veth[:HOST_CIDR,CONTAINER_CIDR] or bridge[:CIDR]".into(),
        )),
    }
}

/// The mode as `--net` takes it, with its addresses: `veth:10.0.0.1/24,10.0.0.2/24`.
pub fn describe(net: Net) -> String {
    match net {
        Net::None => "none".into(),
        Net::Host => "host".into(),
        Net::Veth { host, container } => format!("veth:{host},{container}"),
        Net::Bridge { gateway } => format!("bridge:{gateway}"),
    }
}

/// Both ends of a pair must be two different hosts of one subnet.
fn check_pair(host: Cidr, container: Cidr) -> std::result::Result<(), String> {
    if host.prefix != container.prefix || !host.contains(container.addr) {
        return Err(format!(
            "{host} and {container} are not in one subnet: both ends of the pair need the same \
             prefix (the container reaches the host through it)"
        ));
    }
    if host.addr == container.addr {
        return Err(format!(
            "the host and the container would both be {}",
            host.addr
        ));
    }
    Ok(())
}

/// The host's end of the container's pair: `nsb` and 8 hex digits of a hash of the id (an
/// interface name has at most 15 bytes; an id has up to 63), so two ids never share a name in
/// practice and the same id always gives the same name (teardown and `gc` find it again).
pub fn host_ifname(id: &str) -> String {
    // FNV-1a, 32 bits.
    let hash = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("nsb{hash:08x}")
}

/// The longest interface alias the kernel takes: IFALIASZ (256) with its NUL, which nsbox
/// sends.
const ALIAS_MAX: usize = 254;

/// Which state root an interface belongs to, for its alias (IFLA_IFALIAS): a hash of the
/// root's canonical path, so one root spelled two ways (`/x/`, `/x`, a symlink) is one and a
/// long path is compared whole, and the path itself for people to read (cut to fit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKey {
    hash: u64,
    shown: String,
}

impl RootKey {
    /// The key of `root` (canonicalized when it exists, which it does once nsbox has made it).
    pub fn of(root: &std::path::Path) -> RootKey {
        use std::os::unix::ffi::OsStrExt;
        let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        // FNV-1a, 64 bits.
        let hash = canonical
            .as_os_str()
            .as_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
        RootKey {
            hash,
            shown: canonical.display().to_string(),
        }
    }

    /// A container's host end: `nsbox ID HASH ROOT`.
    pub fn link_alias(&self, id: &str) -> String {
        fit(format!("{} {}", self.link_prefix(id), self.shown))
    }

    /// The bridge: `nsbox HASH ROOT`.
    pub fn bridge_alias(&self) -> String {
        fit(format!("nsbox {:016x} {}", self.hash, self.shown))
    }

    fn link_prefix(&self, id: &str) -> String {
        format!("nsbox {id} {:016x}", self.hash)
    }

    /// Whether `alias` is the host end of the container `id` of this root.
    pub fn owns_link(&self, alias: &str, id: &str) -> bool {
        starts_token(alias, &self.link_prefix(id))
    }

    /// Whether `alias` is this root's bridge.
    pub fn owns_bridge(&self, alias: &str) -> bool {
        starts_token(alias, &format!("nsbox {:016x}", self.hash))
    }
}

/// The container id a host end's alias names (`nsbox ID HASH ROOT`).
pub fn alias_id(alias: &str) -> Option<&str> {
    let mut words = alias.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("nsbox"), Some(id), Some(hash)) if hash.len() == 16 => Some(id),
        _ => None,
    }
}

/// `s` starts with the words of `prefix`, whole.
fn starts_token(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

fn fit(mut s: String) -> String {
    while s.len() > ALIAS_MAX {
        s.pop();
    }
    s
}

/// The first three bytes of the MAC nsbox gives its bridge (locally administered, "ns"): a
/// bridge left without its alias (nsbox killed between the two requests) is still known.
pub const BRIDGE_MAC_PREFIX: [u8; 3] = [0x02, 0x6e, 0x73];

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn modes_and_defaults() {
        assert_eq!(parse("none").unwrap(), Net::None);
        assert_eq!(parse("host").unwrap(), Net::Host);
        let Net::Veth { host, container } = parse("veth").unwrap() else {
            panic!("veth")
        };
        assert_eq!(
            (host.to_string(), container.to_string()),
            ("10.0.0.1/24".into(), "10.0.0.2/24".into())
        );
        let Net::Veth { host, container } = parse("veth:192.168.7.1/30,192.168.7.2/30").unwrap()
        else {
            panic!("veth")
        };
        assert_eq!(
            (host.prefix, container.addr.octets()),
            (30, [192, 168, 7, 2])
        );
        let Net::Bridge { gateway } = parse("bridge").unwrap() else {
            panic!("bridge")
        };
        assert_eq!(gateway.to_string(), "10.88.0.1/16");
        assert_eq!(
            parse("bridge:10.77.0.1/30").unwrap(),
            Net::Bridge {
                gateway: Cidr::parse("10.77.0.1/30").unwrap()
            }
        );
    }

    #[test]
    fn described_as_given() {
        for s in [
            "none",
            "host",
            "veth:10.0.0.1/24,10.0.0.2/24",
            "bridge:10.88.0.1/16",
        ] {
            assert_eq!(describe(parse(s).unwrap()), s);
        }
    }

    #[test]
    fn bad_modes_and_addresses_are_named() {
        assert!(msg("wifi").contains("expected none, host, veth"));
        assert!(msg("none:1").contains("expected none, host, veth"));
        assert!(msg("veth:10.0.0.1/24").contains("expected veth:HOST_CIDR,CONTAINER_CIDR"));
        assert!(
            msg("veth:10.0.0.1/24,10.0.0.2/24,10.0.0.3/24").contains("expected veth:HOST_CIDR")
        );
        assert!(msg("veth:10.0.0.1,10.0.0.2/24").contains("host address: expected an IPv4"));
        assert!(
            msg("veth:10.0.0.1/24,10.0.0.0/24")
                .contains("container address: 10.0.0.0 is the network address")
        );
        assert_eq!(
            msg("veth:10.0.0.1/24,10.0.1.2/24"),
            "the network \"veth:10.0.0.1/24,10.0.1.2/24\": 10.0.0.1/24 and 10.0.1.2/24 are not in one \
             subnet: both ends of the pair need the same prefix (the container reaches the host \
             through it)"
        );
        assert!(msg("veth:10.0.0.1/24,10.0.0.2/16").contains("not in one subnet"));
        assert!(msg("veth:10.0.0.1/24,10.0.0.1/24").contains("would both be 10.0.0.1"));
        assert!(msg("bridge:10.88.0.1/40").contains("bridge address: the prefix length"));
    }

    #[test]
    fn aliases_name_the_container_and_the_root_whole() {
        let dir = std::env::temp_dir().join(format!("nsbox-alias-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = RootKey::of(&dir);
        let alias = key.link_alias("web");
        assert!(alias.starts_with("nsbox web "), "{alias}");
        assert!(alias.ends_with(&dir.display().to_string()), "{alias}");
        assert_eq!(alias_id(&alias), Some("web"));
        assert!(key.owns_link(&alias, "web"));
        assert!(!key.owns_link(&alias, "we"));
        assert!(key.owns_bridge(&key.bridge_alias()));
        assert_eq!(alias_id(&key.bridge_alias()), None);
        // One root spelled two ways is one.
        let slash = std::path::PathBuf::from(format!("{}/", dir.display()));
        assert_eq!(RootKey::of(&slash), key);
        assert_eq!(RootKey::of(&dir.join(".")), key);
        // Two roots are two, even past what the alias can show.
        let long_a = std::path::PathBuf::from(format!("/{}a", "x".repeat(300)));
        let long_b = std::path::PathBuf::from(format!("/{}b", "x".repeat(300)));
        let (a, b) = (RootKey::of(&long_a), RootKey::of(&long_b));
        assert!(a.link_alias("web").len() <= 254);
        assert!(!b.owns_link(&a.link_alias("web"), "web"));
        assert!(!b.owns_bridge(&a.bridge_alias()));
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn host_ifnames_fit_and_differ() {
        let a = host_ifname("0a1b2c3d4e5f");
        assert_eq!(a, host_ifname("0a1b2c3d4e5f"));
        assert!(a.starts_with("nsb") && a.len() == 11, "{a}");
        let long = "x".repeat(63);
        assert_eq!(host_ifname(&long).len(), 11);
        let names: std::collections::HashSet<_> = (0..1000)
            .map(|i| host_ifname(&format!("web-{i}")))
            .collect();
        assert_eq!(names.len(), 1000);
    }
}
