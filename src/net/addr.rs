//! Addresses and routes, as RTM_NEWADDR / RTM_GETADDR / RTM_NEWROUTE messages (IPv4).

use super::cidr::Cidr;
use super::message::{Message, attrs, u32_at};
use super::netlink::{Netlink, Request};
use crate::error::Result;
use neli::consts::nl::NlmF;
use neli::consts::rtnl::Rtm;
use std::net::Ipv4Addr;
use syscalls::Errno;

/// The size of `struct ifaddrmsg`, before an address's attributes.
const IFADDRMSG: usize = 8;

/// Adds `cidr` to the interface `index` (`name` for the messages); the kernel adds the route
/// to its subnet once the interface is up.
pub fn add(nl: &mut Netlink, index: i32, name: &str, cidr: Cidr) -> Result<()> {
    let mut m = Message::ifaddr(cidr.prefix, index as u32);
    m.attr(libc::IFA_LOCAL, &cidr.addr.octets())
        .attr(libc::IFA_ADDRESS, &cidr.addr.octets());
    nl.ack(Request {
        kind: Rtm::Newaddr,
        flags: NlmF::CREATE | NlmF::EXCL,
        payload: m,
        what: format!("RTM_NEWADDR {cidr} on {name:?}"),
    })
}

/// Takes `cidr` off the interface `index` (`name`); an interface or address already gone is
/// not an error (the kernel may have deleted the pair first).
pub fn delete(nl: &mut Netlink, index: i32, name: &str, cidr: Cidr) -> Result<()> {
    let mut m = Message::ifaddr(cidr.prefix, index as u32);
    m.attr(libc::IFA_LOCAL, &cidr.addr.octets());
    let r = nl.ack(Request {
        kind: Rtm::Deladdr,
        flags: NlmF::empty(),
        payload: m,
        what: format!("RTM_DELADDR {cidr} on {name:?}"),
    });
    match r {
        Err(e) if matches!(e.errno, Some(Errno::ENODEV) | Some(Errno::EADDRNOTAVAIL)) => Ok(()),
        other => other,
    }
}

/// The default route via `gateway` out of the interface `index` (`name`).
pub fn add_default_route(
    nl: &mut Netlink,
    gateway: Ipv4Addr,
    index: i32,
    name: &str,
) -> Result<()> {
    let mut m = Message::rtmsg(
        0,
        libc::RTPROT_BOOT,
        libc::RT_SCOPE_UNIVERSE,
        libc::RTN_UNICAST,
    );
    m.attr(libc::RTA_GATEWAY, &gateway.octets())
        .u32(libc::RTA_OIF, index as u32);
    nl.ack(Request {
        kind: Rtm::Newroute,
        flags: NlmF::CREATE | NlmF::EXCL,
        payload: m,
        what: format!("RTM_NEWROUTE default via {gateway} dev {name:?}"),
    })
    .map_err(|e| {
        e.hint_on(
            Errno::ENETUNREACH,
            "the gateway is not in the subnet of the interface's address",
        )
    })
}

/// An IPv4 address of the namespace, with the interface that has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assigned {
    pub index: i32,
    pub cidr: Cidr,
}

/// Every IPv4 address of the namespace.
pub fn all(nl: &mut Netlink) -> Result<Vec<Assigned>> {
    let answers = nl.dump(Request {
        kind: Rtm::Getaddr,
        flags: NlmF::empty(),
        payload: Message::ifaddr(0, 0),
        what: "RTM_GETADDR (dump, IPv4)".into(),
    })?;
    Ok(answers.iter().filter_map(|b| parse(b.as_ref())).collect())
}

/// An IPv4 address answer: its interface, its IFA_LOCAL and prefix length.
fn parse(bytes: &[u8]) -> Option<Assigned> {
    if bytes.len() < IFADDRMSG || bytes[0] != libc::AF_INET as u8 {
        return None;
    }
    let local = attrs(bytes, IFADDRMSG)
        .find(|(k, _)| *k == libc::IFA_LOCAL)
        .and_then(|(_, v)| <[u8; 4]>::try_from(v).ok())?;
    Some(Assigned {
        index: u32_at(bytes, 4)? as i32,
        cidr: Cidr {
            addr: Ipv4Addr::from(local),
            prefix: bytes[1],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_answer_is_read_back() {
        let mut m = Message::ifaddr(16, 4);
        m.attr(libc::IFA_ADDRESS, &[10, 88, 0, 1])
            .attr(libc::IFA_LOCAL, &[10, 88, 0, 1]);
        let got = parse(m.bytes()).unwrap();
        assert_eq!(got.index, 4);
        assert_eq!(got.cidr.to_string(), "10.88.0.1/16");
        let mut v6 = m.bytes().to_vec();
        v6[0] = libc::AF_INET6 as u8;
        assert_eq!(parse(&v6), None);
    }
}
