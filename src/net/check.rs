//! The checks: the host end's name is free (before anything exists); under the leases lock,
//! the subnet overlaps none of the host's addresses (but the bridge's own), and an existing
//! nsbox0 is nsbox's bridge for this state root, with the address asked for.

use super::addr;
use super::cidr::Cidr;
use super::link::{self, Link};
use super::mode::{self, BRIDGE_NAME};
use super::netlink::Netlink;
use crate::error::{Error, Result, Topic};
use crate::spec::{Net, Spec};
use crate::trace;

/// What the checks leave for `prepare`: the host's socket and the host end's name.
pub struct Checked {
    pub(super) nl: Netlink,
    pub(super) host_ifname: String,
}

/// Checks the request against the host. A host end of the same container id and state root
/// whose container is gone (its namespace kept alive by something) is deleted, as `gc` would.
pub fn check(spec: &Spec) -> Result<Checked> {
    check_host(spec).map_err(|e| e.or_about(Topic::Network))
}

fn check_host(spec: &Spec) -> Result<Checked> {
    trace::step(|| "network: check the names and addresses against the host's".into());
    let mut nl = Netlink::open("host")?;
    let host_ifname = mode::host_ifname(&spec.id);
    if let Some(old) = link::find(&mut nl, &host_ifname)? {
        let key = mode::RootKey::of(&spec.state_root);
        let ours = key.owns_link(&old.alias, &spec.id) && !exists(&spec.state_dir())?;
        if !ours {
            return Err(Error::new(
                format!("the network {}", mode::describe(spec.net)),
                format!(
                    "the interface {host_ifname:?} (the host end nsbox names for {:?}) already \
                     exists",
                    spec.id
                ),
            )
            .hint(format!(
                "another container with this id has it (see 'nsbox ps -a'), or it is not \
                 nsbox's: 'ip link del {host_ifname}' if nothing needs it"
            )));
        }
        trace::note(|| {
            format!(
                "{host_ifname:?} is left from an ended container {:?}",
                spec.id
            )
        });
        link::delete(&mut nl, old.index, &host_ifname)?;
    }
    // The subnet (and the bridge) are checked in `prepare`, under the leases lock: checked
    // here too, two runs started together could both pass.
    Ok(Checked { nl, host_ifname })
}

/// No address of the host overlaps `subnet`.
pub(super) fn subnet_free(nl: &mut Netlink, spec: &Spec, subnet: Cidr) -> Result<()> {
    let assigned = addr::all(nl)?;
    let Some(clash) = assigned.iter().find(|a| a.cidr.overlaps(subnet)) else {
        return Ok(());
    };
    let owner = match link::all(nl)?.into_iter().find(|l| l.index == clash.index) {
        Some(l) => format!("{:?}", l.name),
        None => format!("interface {}", clash.index),
    };
    Err(Error::new(
        format!("the network {}", mode::describe(spec.net)),
        format!(
            "the subnet {} is in use on the host: {owner} has {}",
            subnet.subnet(),
            clash.cidr
        ),
    )
    .hint(match spec.net {
        Net::Veth { .. } => {
            "give the pair other addresses, e.g. veth:10.0.1.1/24,10.0.1.2/24 (two containers \
             cannot share one point-to-point subnet), or use the bridge"
        }
        _ => "give the bridge another subnet, e.g. bridge:10.89.0.1/16",
    }))
}

/// An existing nsbox0 must be a bridge that nsbox made for this state root (its alias says so):
/// nsbox never changes an interface it did not make, and leases are kept per state root.
pub(super) fn bridge_is_ours(b: &Link, key: &mode::RootKey, gateway: Cidr) -> Result<()> {
    if b.kind.as_deref() == Some("bridge") && key.owns_bridge(&b.alias) {
        return Ok(());
    }
    let (why, hint) = if b.kind.as_deref() != Some("bridge") || !b.alias.starts_with("nsbox ") {
        (
            format!(
                "{BRIDGE_NAME} exists and is not nsbox's bridge (kind {}, alias {:?})",
                b.kind.as_deref().unwrap_or("unknown"),
                b.alias
            ),
            format!("nsbox uses only a bridge it made: rename or remove that {BRIDGE_NAME}"),
        )
    } else {
        (
            format!(
                "the bridge {BRIDGE_NAME} belongs to another state root ({})",
                b.alias.splitn(3, ' ').nth(2).unwrap_or("?")
            ),
            "its addresses are leased there: use that state root, or a network namespace of its own"
                .to_string(),
        )
    };
    Err(Error::new(format!("the network bridge:{gateway}"), why).hint(hint))
}

/// Whether `path` exists; an error other than ENOENT counts as "it does" (nothing is deleted
/// or released on a doubt).
pub(super) fn exists(path: &std::path::Path) -> Result<bool> {
    match crate::sys::fs::file_type(&crate::sys::cpath(path)?) {
        Ok(_) => Ok(true),
        Err(syscalls::Errno::ENOENT) => Ok(false),
        Err(_) => Ok(true),
    }
}

/// After nsbox put `cidr` on the interface `mine`, no other interface may have an overlapping
/// address: two nsbox (two state roots, or a veth and a new bridge) could have checked at the
/// same moment; of two, at least one sees the other here.
pub(super) fn alone_on_subnet(nl: &mut Netlink, mine: i32, cidr: Cidr, what: &str) -> Result<()> {
    match addr::all(nl)?
        .into_iter()
        .find(|a| a.index != mine && a.cidr.overlaps(cidr))
    {
        None => Ok(()),
        Some(other) => Err(Error::new(
            what,
            format!(
                "another interface (index {}) got {} at the same moment: the subnet {} is taken",
                other.index,
                other.cidr,
                cidr.subnet()
            ),
        )
        .hint("try again, or give this container another subnet")),
    }
}

/// The bridge exists: it must have the address asked for. Returns whether it has one at all
/// (none: an nsbox was killed while making it; `prepare` adds it, under the leases lock).
pub(super) fn bridge_address(index: i32, want: Cidr, assigned: &[addr::Assigned]) -> Result<bool> {
    let has: Vec<Cidr> = assigned
        .iter()
        .filter(|a| a.index == index)
        .map(|a| a.cidr)
        .collect();
    match has.first() {
        None => Ok(false),
        Some(_) if has.contains(&want) => Ok(true),
        Some(other) => Err(Error::new(
            format!("the network bridge:{want}"),
            format!("the bridge {BRIDGE_NAME} exists and has {other}"),
        )
        .hint(format!(
            "use bridge:{other} (its subnet), or stop its containers and run 'nsbox gc' \
             to remove it"
        ))),
    }
}
