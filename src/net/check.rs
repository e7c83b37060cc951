//! The checks before anything exists: the host end's name is free, and the subnet overlaps
//! none of the host's addresses (but the bridge's own, which must be the one asked for).

use super::cidr::Cidr;
use super::mode::{self, BRIDGE_NAME};
use super::netlink::Netlink;
use super::{addr, link};
use crate::error::{Error, Result};
use crate::spec::{Net, Spec};
use crate::sys::process;
use crate::trace;
use std::time::{Duration, Instant};

/// What the checks leave for `prepare`: the host's socket and the host end's name.
pub struct Checked {
    pub(super) nl: Netlink,
    pub(super) host_ifname: String,
}

/// How long an nsbox interface in the way is given to go: the kernel deletes the pair of a
/// container that has just ended with its namespace, in a worker, some milliseconds later.
const DYING_WITHIN: Duration = Duration::from_secs(1);

/// Checks the request against the host. An interface of nsbox's in the way may be the pair of
/// a container that has just ended: it is waited for (up to DYING_WITHIN) before giving up.
pub fn check(spec: &Spec) -> Result<Checked> {
    trace::step(|| "network: check the names and addresses against the host's".into());
    let mut nl = Netlink::open("host")?;
    let host_ifname = mode::host_ifname(&spec.id);
    let deadline = Instant::now() + DYING_WITHIN;
    let mut waited = false;
    let mut live = None;
    loop {
        let Some((owner, err)) = conflict(&mut nl, spec, &host_ifname)? else {
            return Ok(Checked { nl, host_ifname });
        };
        // An nsbox interface that no container of this state root has: the pair of one that
        // has just ended. An owner gone between the two dumps is no conflict any more either.
        let dying = match owner.as_deref() {
            None => true,
            Some(o) if o.starts_with("nsb") => {
                let live = match &live {
                    Some(l) => l,
                    None => live.insert(super::record::live_host_ifnames(&spec.state_root)?),
                };
                !live.iter().any(|l| l == o)
            }
            Some(_) => false,
        };
        if !dying || Instant::now() > deadline {
            return Err(err);
        }
        if !waited {
            trace::note(|| {
                format!(
                    "{} is in the way; the kernel deletes the pair of a container that just \
                     ended a little later: waiting for it",
                    owner.as_deref().unwrap_or("an interface")
                )
            });
            waited = true;
        }
        process::sleep(Duration::from_millis(5));
    }
}

/// The first thing in the way: the interface that has it (None: gone meanwhile), and the
/// error that names it.
fn conflict(
    nl: &mut Netlink,
    spec: &Spec,
    host_ifname: &str,
) -> Result<Option<(Option<String>, Error)>> {
    let net = format!("--net {}", mode::describe(spec.net));
    if link::find(nl, host_ifname)?.is_some() {
        let err = Error::new(
            net,
            format!(
                "the interface {host_ifname:?} (the host end nsbox names for {:?}) already exists",
                spec.id
            ),
        )
        .hint(format!(
            "another container with this id has it, or a crash left it: 'nsbox gc' removes those \
             of dead containers, 'ip link del {host_ifname}' any other"
        ));
        return Ok(Some((Some(host_ifname.to_string()), err)));
    }
    let (subnet, bridge) = match spec.net {
        Net::Veth { host, .. } => (host, None),
        Net::Bridge { gateway } => (gateway, link::find(nl, BRIDGE_NAME)?),
        Net::None | Net::Host => unreachable!("check is for veth and bridge"),
    };
    let assigned = addr::all(nl)?;
    if let Some(b) = &bridge
        && let Err(err) = bridge_address(b.index, subnet, &assigned)
    {
        return Ok(Some((Some(BRIDGE_NAME.to_string()), err)));
    }
    let bridge_index = bridge.as_ref().map(|b| b.index);
    let Some(clash) = assigned
        .iter()
        .find(|a| Some(a.index) != bridge_index && a.cidr.overlaps(subnet))
    else {
        return Ok(None);
    };
    let owner = link::all(nl)?
        .into_iter()
        .find(|l| l.index == clash.index)
        .map(|l| l.name);
    let err = Error::new(
        net,
        format!(
            "the subnet {} is in use on the host: {} has {}",
            subnet.subnet(),
            match &owner {
                Some(name) => format!("{name:?}"),
                None => format!("interface {}", clash.index),
            },
            clash.cidr
        ),
    )
    .hint(match spec.net {
        Net::Veth { .. } => {
            "give the pair other addresses, e.g. --net veth:10.0.1.1/24,10.0.1.2/24 (two \
             containers cannot share one point-to-point subnet), or use --net bridge"
        }
        _ => "give the bridge another subnet, e.g. --net bridge:10.89.0.1/16",
    });
    Ok(Some((owner, err)))
}

/// The bridge exists: it must have the address asked for. Returns whether it has one at all
/// (none: another nsbox is making it, or one was killed half way; the leases lock decides).
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
            format!("--net bridge:{want}"),
            format!("the bridge {BRIDGE_NAME} exists and has {other}"),
        )
        .hint(format!(
            "use --net bridge:{other} (its subnet), or stop its containers and run 'nsbox gc' \
             to remove it"
        ))),
    }
}
