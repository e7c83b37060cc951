//! The container's /etc/hosts and /etc/hostname (and, sharing the host's network, its
//! resolv.conf): made for each container by nsbox's native front end and bound over the
//! image's files (rootfs/etc_files.rs), so the rootfs on disk is never changed.

use super::cidr::Cidr;
use crate::spec::{Net, Rootfs, Spec};

/// What the container's /etc gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    pub hosts: String,
    pub hostname: String,
    /// The host's /etc/resolv.conf, bound read-only (the container uses the host's network).
    pub host_resolv: bool,
}

const LOCALHOST: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

impl EtcFiles {
    /// The files of a native container: its name on its address (veth, bridge) or on
    /// 127.0.1.1 (no link of its own); with the host's network, the host's /etc/hosts first
    /// (`host_hosts` reads it, only then) and the host's resolv.conf. None for an OCI config
    /// (its mounts say what /etc gets).
    pub fn of(
        spec: &Spec,
        address: Option<Cidr>,
        host_hosts: impl FnOnce() -> Option<String>,
    ) -> Option<EtcFiles> {
        if spec.extra.image_etc {
            return None;
        }
        let name = &spec.hostname;
        let joined_net = spec.joined().any(|(f, _)| f == libc::CLONE_NEWNET);
        let host_net = spec.net == Net::Host && !joined_net;
        let host_hosts = match (address, host_net) {
            (None, true) => host_hosts(),
            _ => None,
        };
        let hosts = match (address, host_hosts) {
            (Some(a), _) => format!("{LOCALHOST}{}\t{name}\n", a.addr),
            (None, Some(mut text)) => {
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                format!("{text}127.0.1.1\t{name}\n")
            }
            (None, None) => format!("{LOCALHOST}127.0.1.1\t{name}\n"),
        };
        Some(EtcFiles {
            hosts,
            hostname: format!("{name}\n"),
            // The host's / as rootfs has the host's file already.
            host_resolv: host_net && spec.rootfs != Rootfs::Host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(net: Net) -> Spec {
        let mut s = crate::spec::test_spec();
        s.hostname = "web".into();
        s.net = net;
        s.rootfs = Rootfs::Dir("/r".into());
        s
    }

    #[test]
    fn the_name_on_its_address() {
        let host = || Some("1.2.3.4 h".to_string());
        let a = Cidr::parse("10.88.0.7/16").unwrap();
        let f = EtcFiles::of(&spec(Net::None), Some(a), || None).unwrap();
        assert_eq!(f.hosts, format!("{LOCALHOST}10.88.0.7\tweb\n"));
        assert_eq!(f.hostname, "web\n");
        assert!(!f.host_resolv);
        let f = EtcFiles::of(&spec(Net::None), None, host).unwrap();
        assert_eq!(f.hosts, format!("{LOCALHOST}127.0.1.1\tweb\n"));
        let f = EtcFiles::of(&spec(Net::Host), None, host).unwrap();
        assert_eq!(f.hosts, "1.2.3.4 h\n127.0.1.1\tweb\n");
        assert!(f.host_resolv);
        let mut oci = spec(Net::Host);
        oci.extra.image_etc = true;
        assert_eq!(EtcFiles::of(&oci, None, host), None);
    }
}
