//! Links, as RTM_NEWLINK / RTM_GETLINK / RTM_DELLINK messages: the veth pair (its peer made
//! directly in the container's namespace), the bridge, lookups and deletion.

use super::message::{self, Message, attrs, u32_at};
use super::netlink::{Netlink, Request};
use crate::error::{Error, Result};
use neli::consts::nl::NlmF;
use neli::consts::rtnl::Rtm;
use syscalls::Errno;

/// veth's only IFLA_INFO_DATA attribute (linux/veth.h; neli has no constant for it): the peer,
/// as an ifinfomsg followed by its own attributes.
const VETH_INFO_PEER: u16 = 1;
/// The size of `struct ifinfomsg`, before a link's attributes.
const IFINFOMSG: usize = 16;
const UP: u32 = libc::IFF_UP as u32;

/// An ifinfomsg that names its link (index 0: the kernel looks up IFLA_IFNAME).
fn named(name: &str, flags: u32) -> Message {
    let mut m = Message::ifinfo(0, flags, flags);
    m.str(libc::IFLA_IFNAME, name);
    m
}

/// The container's pair: `host` (up, on the bridge `master` if given) in nsbox's namespace,
/// and its peer `peer` made directly in the namespace `netns_fd` refers to. The peer cannot
/// be brought up in the same request (veth refuses to open an end before both exist:
/// ENOTCONN); `set_up` does it from inside. Returns the host end's index when the kernel
/// echoes the new link (NLM_F_ECHO; Linux 6.3 and later).
pub fn create_veth(
    nl: &mut Netlink,
    host: &str,
    master: Option<i32>,
    peer: &str,
    netns_fd: i32,
) -> Result<Option<i32>> {
    let mut m = named(host, UP);
    m.nest(libc::IFLA_LINKINFO, |info| {
        info.str(libc::IFLA_INFO_KIND, "veth")
            .nest(libc::IFLA_INFO_DATA, |data| {
                data.nest(VETH_INFO_PEER, |p| {
                    p.raw(Message::ifinfo(0, 0, 0).bytes())
                        .str(libc::IFLA_IFNAME, peer)
                        .u32(libc::IFLA_NET_NS_FD, netns_fd as u32);
                });
            });
    });
    if let Some(index) = master {
        m.u32(libc::IFLA_MASTER, index as u32);
    }
    let bridge = match master {
        Some(i) => format!(", port of the bridge (index {i})"),
        None => String::new(),
    };
    let answers = nl
        .request(Request {
            kind: Rtm::Newlink,
            flags: NlmF::CREATE | NlmF::EXCL | NlmF::ECHO,
            payload: m,
            what: format!(
                "RTM_NEWLINK veth {host:?} (up{bridge}) with peer {peer:?} in the container's \
                 network namespace"
            ),
        })
        .map_err(|e| {
            Error {
                what: format!("RTM_NEWLINK veth {host:?}"),
                ..e
            }
            .hint_on(
                Errno::EEXIST,
                "an interface of that name exists: another container with this id, or one left \
             behind ('nsbox gc' removes those of dead containers)",
            )
            .hint_on(
                Errno::EOPNOTSUPP,
                "this kernel has no veth driver (CONFIG_VETH; try modprobe veth)",
            )
            .hint_on(
                Errno::EPERM,
                "creating interfaces needs CAP_NET_ADMIN (root)",
            )
        })?;
    Ok(answers
        .iter()
        .map(|b| parse(b.as_ref()))
        .find(|l| l.name == host)
        .map(|l| l.index))
}

/// The bridge `name`, up, with the fixed MAC `mac` (without one, a bridge takes the lowest MAC
/// of its ports, and the containers' ARP entries for it go stale as ports come and go).
pub fn create_bridge(nl: &mut Netlink, name: &str, mac: [u8; 6]) -> Result<()> {
    let mut m = named(name, UP);
    m.attr(libc::IFLA_ADDRESS, &mac)
        .nest(libc::IFLA_LINKINFO, |info| {
            info.str(libc::IFLA_INFO_KIND, "bridge");
        });
    nl.ack(Request {
        kind: Rtm::Newlink,
        flags: NlmF::CREATE | NlmF::EXCL,
        payload: m,
        what: format!("RTM_NEWLINK bridge {name:?} (up)"),
    })
    .map_err(|e| {
        e.hint_on(
            Errno::EOPNOTSUPP,
            "this kernel has no bridge driver (CONFIG_BRIDGE; try modprobe bridge)",
        )
    })
}

/// Brings the link `index` (`name`) up.
pub fn set_up(nl: &mut Netlink, index: i32, name: &str) -> Result<()> {
    nl.ack(Request {
        kind: Rtm::Newlink,
        flags: NlmF::empty(),
        payload: Message::ifinfo(index, UP, UP),
        what: format!("RTM_NEWLINK {name:?} up"),
    })
}

/// Sets the alias (IFLA_IFALIAS) of the link `index` (`name`).
pub fn set_alias(nl: &mut Netlink, index: i32, name: &str, alias: &str) -> Result<()> {
    let mut m = Message::ifinfo(index, 0, 0);
    m.str(libc::IFLA_IFALIAS, alias);
    nl.ack(Request {
        kind: Rtm::Newlink,
        flags: NlmF::empty(),
        payload: m,
        what: format!("RTM_NEWLINK {name:?} alias {alias:?}"),
    })
}

/// Takes the link `index` (`name`) off its bridge.
pub fn set_nomaster(nl: &mut Netlink, index: i32, name: &str) -> Result<()> {
    let mut m = Message::ifinfo(index, 0, 0);
    m.u32(libc::IFLA_MASTER, 0);
    let r = nl.ack(Request {
        kind: Rtm::Newlink,
        flags: NlmF::empty(),
        payload: m,
        what: format!("RTM_NEWLINK {name:?} nomaster"),
    });
    match r {
        Err(e) if e.errno == Some(Errno::ENODEV) => Ok(()),
        other => other,
    }
}

/// Deletes the link `index` (`name`, for the messages): by index, so a link of the same name
/// made meanwhile is never the one deleted. False when there was none (a veth pair also goes
/// when the namespace of its other end is destroyed).
pub fn delete(nl: &mut Netlink, index: i32, name: &str) -> Result<bool> {
    let r = nl.ack(Request {
        kind: Rtm::Dellink,
        flags: NlmF::empty(),
        payload: Message::ifinfo(index, 0, 0),
        what: format!("RTM_DELLINK {name:?} (index {index})"),
    });
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.errno == Some(Errno::ENODEV) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A link as a dump or a get reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: i32,
    pub name: String,
    /// The bridge it is a port of.
    pub master: Option<i32>,
    /// IFLA_INFO_KIND: "veth", "bridge", ...
    pub kind: Option<String>,
    /// IFLA_IFALIAS, empty when none.
    pub alias: String,
    /// IFLA_ADDRESS: the MAC address.
    pub mac: Vec<u8>,
}

/// The link `name`, if there is one.
pub fn find(nl: &mut Netlink, name: &str) -> Result<Option<Link>> {
    let answer = nl.get(Request {
        kind: Rtm::Getlink,
        flags: NlmF::empty(),
        payload: named(name, 0),
        what: format!("RTM_GETLINK {name:?}"),
    })?;
    Ok(answer.map(|b| parse(b.as_ref())))
}

/// Every link of the namespace.
pub fn all(nl: &mut Netlink) -> Result<Vec<Link>> {
    let answers = nl.dump(Request {
        kind: Rtm::Getlink,
        flags: NlmF::empty(),
        payload: Message::ifinfo(0, 0, 0),
        what: "RTM_GETLINK (dump)".into(),
    })?;
    Ok(answers.iter().map(|b| parse(b.as_ref())).collect())
}

fn parse(bytes: &[u8]) -> Link {
    let mut link = Link {
        index: u32_at(bytes, 4).unwrap_or(0) as i32,
        name: String::new(),
        master: None,
        kind: None,
        alias: String::new(),
        mac: Vec::new(),
    };
    for (kind, value) in attrs(bytes, IFINFOMSG) {
        match kind {
            libc::IFLA_IFNAME => link.name = message::text(value),
            libc::IFLA_IFALIAS => link.alias = message::text(value),
            libc::IFLA_ADDRESS => link.mac = value.to_vec(),
            libc::IFLA_MASTER => link.master = u32_at(value, 0).map(|i| i as i32),
            libc::IFLA_LINKINFO => {
                link.kind = attrs(value, 0)
                    .find(|(k, _)| *k == libc::IFLA_INFO_KIND)
                    .map(|(_, v)| message::text(v))
            }
            _ => {}
        }
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_answer_is_read_back() {
        let mut m = Message::ifinfo(5, UP, 0);
        m.str(libc::IFLA_IFNAME, "nsbox0")
            .str(libc::IFLA_IFALIAS, "nsbox /run/nsbox")
            .u32(libc::IFLA_MASTER, 3)
            .nest(libc::IFLA_LINKINFO, |i| {
                i.str(libc::IFLA_INFO_KIND, "bridge");
            });
        let link = parse(m.bytes());
        assert_eq!(
            link,
            Link {
                index: 5,
                name: "nsbox0".into(),
                master: Some(3),
                kind: Some("bridge".into()),
                alias: "nsbox /run/nsbox".into(),
                mac: Vec::new(),
            }
        );
    }
}
