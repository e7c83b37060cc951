//! An IPv4 address with its prefix length (`10.0.0.1/24`): parsing, and the arithmetic that
//! networking needs (the subnet, its hosts, overlaps). Pure; every rule is unit-tested.

use std::fmt;
use std::net::Ipv4Addr;

/// An interface address: a host address and the length of its subnet's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// The longest prefix that still leaves room for two hosts (a /30: network, 2 hosts, broadcast).
pub const MAX_PREFIX: u8 = 30;

impl Cidr {
    /// Parses `A.B.C.D/N` (N from 1 to 30) whose address is a host of its subnet (neither its
    /// network nor its broadcast address). The error is the reason, for the caller's message.
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let Some((addr, prefix)) = s.split_once('/') else {
            return Err("expected an IPv4 address with its prefix length, e.g. 10.0.0.1/24".into());
        };
        let addr: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 address (A.B.C.D)"))?;
        let digits = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
        let prefix = match prefix.parse::<u8>() {
            Ok(n) if digits && (1..=MAX_PREFIX).contains(&n) => n,
            _ => {
                return Err(format!(
                    "the prefix length {prefix:?} is not a number from 1 to {MAX_PREFIX}"
                ));
            }
        };
        let first = addr.octets()[0];
        let not_unicast = match first {
            0 => Some("in 0.0.0.0/8, 'this network'"),
            127 => Some("a loopback address"),
            224..=239 => Some("a multicast address"),
            240..=255 => Some("in 240.0.0.0/4, reserved"),
            _ => None,
        };
        if let Some(what) = not_unicast {
            return Err(format!("{addr} is {what}, not an address for an interface"));
        }
        let cidr = Cidr { addr, prefix };
        let a = u32::from(addr);
        if a == cidr.network() || a == cidr.broadcast() {
            let which = if a == cidr.network() {
                "network"
            } else {
                "broadcast"
            };
            return Err(format!(
                "{addr} is the {which} address of {}, not a host in it (hosts: {} to {})",
                cidr.subnet(),
                Ipv4Addr::from(cidr.network() + 1),
                Ipv4Addr::from(cidr.broadcast() - 1),
            ));
        }
        Ok(cidr)
    }

    fn mask(self) -> u32 {
        // A /0 (only ever read from the kernel, never parsed) has no network bits.
        u32::MAX
            .checked_shl(32 - u32::from(self.prefix.min(32)))
            .unwrap_or(0)
    }

    /// The subnet's first address (all host bits 0).
    pub fn network(self) -> u32 {
        u32::from(self.addr) & self.mask()
    }

    /// The subnet's last address (all host bits 1).
    pub fn broadcast(self) -> u32 {
        self.network() | !self.mask()
    }

    /// `10.0.0.0/24` for `10.0.0.1/24`.
    pub fn subnet(self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network()), self.prefix)
    }

    /// Whether `addr` lies in this subnet.
    pub fn contains(self, addr: Ipv4Addr) -> bool {
        u32::from(addr) & self.mask() == self.network()
    }

    /// Whether the two subnets share any address.
    pub fn overlaps(self, other: Cidr) -> bool {
        self.network() <= other.broadcast() && other.network() <= self.broadcast()
    }

    /// The same subnet with another host address.
    pub fn with_addr(self, addr: Ipv4Addr) -> Cidr {
        Cidr {
            addr,
            prefix: self.prefix,
        }
    }

    /// The subnet's host addresses, lowest first.
    pub fn hosts(self) -> impl Iterator<Item = Ipv4Addr> {
        (self.network() + 1..self.broadcast()).map(Ipv4Addr::from)
    }

    /// How many host addresses the subnet has.
    pub fn host_count(self) -> u32 {
        self.broadcast() - self.network() - 1
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn parses_and_prints() {
        let x = c("10.0.0.1/24");
        assert_eq!(x.addr, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(x.prefix, 24);
        assert_eq!(x.to_string(), "10.0.0.1/24");
        assert_eq!(x.subnet(), "10.0.0.0/24");
        assert_eq!(c("10.88.0.1/16").subnet(), "10.88.0.0/16");
    }

    #[test]
    fn refuses_what_is_not_a_host_address_with_a_prefix() {
        let err = |s: &str| Cidr::parse(s).unwrap_err();
        assert!(err("10.0.0.1").contains("with its prefix length"));
        assert!(err("10.0.0/24").contains("not an IPv4 address"));
        assert!(err("10.0.0.256/24").contains("not an IPv4 address"));
        assert!(err("10.0.0.1/33").contains("from 1 to 30"));
        assert!(err("10.0.0.1/31").contains("from 1 to 30"));
        assert!(err("10.0.0.1/0").contains("from 1 to 30"));
        assert!(err("10.0.0.1/x").contains("from 1 to 30"));
        assert_eq!(
            err("10.0.0.0/24"),
            "10.0.0.0 is the network address of 10.0.0.0/24, not a host in it \
             (hosts: 10.0.0.1 to 10.0.0.254)"
        );
        assert!(err("10.0.0.255/24").contains("broadcast address"));
        assert!(err("10.0.0.1/+24").contains("from 1 to 30"));
        assert!(err("10.0.0.1/24,10.0.0.3/24").contains("from 1 to 30"));
        assert!(err("224.0.0.1/24").contains("a multicast address"));
        assert!(err("0.0.0.1/8").contains("'this network'"));
        assert!(err("127.0.0.2/8").contains("loopback"));
        assert!(err("250.0.0.1/8").contains("reserved"));
    }

    #[test]
    fn subnet_arithmetic() {
        let x = c("10.0.0.1/24");
        assert!(x.contains(Ipv4Addr::new(10, 0, 0, 200)));
        assert!(!x.contains(Ipv4Addr::new(10, 0, 1, 2)));
        assert!(x.overlaps(c("10.0.0.9/30")));
        assert!(x.overlaps(c("10.0.0.1/8")));
        assert!(!x.overlaps(c("10.0.1.1/24")));
        let small = c("10.77.0.1/30");
        assert_eq!(small.host_count(), 2);
        let hosts: Vec<_> = small.hosts().map(|a| a.to_string()).collect();
        assert_eq!(hosts, ["10.77.0.1", "10.77.0.2"]);
        assert_eq!(c("10.88.0.1/16").host_count(), 65534);
        assert_eq!(
            x.with_addr(Ipv4Addr::new(10, 0, 0, 7)).to_string(),
            "10.0.0.7/24"
        );
    }
}
