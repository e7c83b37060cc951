//! Container networking with netlink messages built by hand: a veth pair (point to point, or
//! a port of the bridge nsbox0), addresses and the default route.
//!
//!   parent, before anything exists: the host end's name must be free, the subnet must not
//!     overlap the host's addresses (RTM_GETLINK, RTM_GETADDR)            `check`
//!   parent, with the state directory: record the host end -> under the leases lock: [veth:
//!     the subnet, checked again] [bridge: the bridge (made on first use), an address] ->
//!     /etc/hosts and /etc/hostname files for the child to bind           `prepare`
//!   parent, after clone, while the child mounts: RTM_NEWLINK veth, its peer eth0 made directly
//!     in the child's namespace -> the host end's alias [veth: its address] -> a socket in the
//!     child's namespace: eth0's address, eth0 up, the default route      `Plan::connect`
//!   teardown: the host end loses its address (veth) or leaves the bridge, the lease returns;
//!     the kernel deletes the pair with the container's namespace       `Plan::teardown`
//!   `rm` and `gc`: RTM_DELLINK what the record names (if it is still there and is nsbox's), the
//!     lease; `gc` also what ended containers left and the unused bridge     `record.rs`

pub mod addr;
mod check;
pub mod cidr;
pub mod hosts;
mod ipam;
pub mod link;
mod message;
pub mod mode;
pub mod netlink;
mod record;

pub use check::{Checked, check};
pub use record::{remove_recorded, sweep};

use crate::error::{Context, Error, Result, Topic};
use crate::spec::{Net, Spec};
use crate::state::{NETWORK_FILE, State};
use crate::sys::{self, fs};
use crate::trace;
use cidr::Cidr;
use mode::{BRIDGE_NAME, CONTAINER_IFNAME};
use netlink::Netlink;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// The container's network, ready to connect once its namespace exists.
pub struct Plan {
    nl: Netlink,
    host_ifname: String,
    /// The host end's alias: this container of this state root.
    alias: String,
    /// The container's eth0 address.
    pub address: Cidr,
    gateway: Ipv4Addr,
    /// veth: the host end's address.
    host_address: Option<Cidr>,
    /// The host end's index, once it exists.
    host_index: Option<i32>,
    /// bridge: the bridge's index (the host end becomes its port).
    bridge: Option<i32>,
    /// The state root, whose lease file holds this container's lease until teardown.
    root: PathBuf,
    id: String,
    leased: bool,
}

/// Records the host end in the state; under the leases lock, leases the veth's subnet (checked
/// again: another nsbox may have taken it since `check`) or makes the bridge and leases an
/// address on it.
pub fn prepare(checked: Checked, spec: &Spec, state: &mut State) -> Result<Plan> {
    prepare_plan(checked, spec, state).map_err(|e| e.or_about(Topic::Network))
}

fn prepare_plan(checked: Checked, spec: &Spec, state: &mut State) -> Result<Plan> {
    let Checked { nl, host_ifname } = checked;
    // Recorded before it exists: teardown and `nsbox gc` find it even after a SIGKILL.
    trace::step(|| format!("network: record the host end {host_ifname:?} in the state"));
    state.add_file(
        NETWORK_FILE,
        format!("link {host_ifname}\n").as_bytes(),
        0o600,
    )?;
    let mut plan = Plan {
        nl,
        alias: mode::RootKey::of(&spec.state_root).link_alias(&spec.id),
        host_ifname,
        address: Cidr {
            addr: Ipv4Addr::UNSPECIFIED,
            prefix: 0,
        },
        gateway: Ipv4Addr::UNSPECIFIED,
        host_address: None,
        host_index: None,
        bridge: None,
        root: spec.state_root.clone(),
        id: spec.id.clone(),
        leased: false,
    };
    trace::step(|| "network: lock the leases (the state root)".into());
    let mut leases = ipam::Leases::lock(&spec.state_root)?;
    match spec.net {
        Net::Veth { host, container } => {
            check::subnet_free(&mut plan.nl, spec, host)?;
            leases.take_subnet(
                host,
                &spec.id,
                &format!("the network {}", mode::describe(spec.net)),
            )?;
            (plan.address, plan.gateway, plan.host_address) = (container, host.addr, Some(host));
        }
        Net::Bridge { gateway } => {
            plan.bridge = Some(ensure_bridge(&mut plan.nl, spec, gateway, &leases)?);
            plan.address = leases.take(gateway, &spec.id)?;
            plan.gateway = gateway.addr;
            trace::step(|| format!("network: leased {} to {}", plan.address, spec.id));
        }
        Net::None | Net::Host => unreachable!("prepare is for veth and bridge"),
    }
    plan.leased = true;
    drop(leases);
    Ok(plan)
}

/// The bridge with its address: made now on first use, or found (and, if an nsbox was killed
/// between the requests that make it, given its alias and address). The caller holds the
/// leases lock: one nsbox of this root at a time gets here, and `gc` cannot remove the bridge
/// meanwhile. Returns the bridge's index.
fn ensure_bridge(
    nl: &mut Netlink,
    spec: &Spec,
    gateway: Cidr,
    leases: &ipam::Leases,
) -> Result<i32> {
    let key = mode::RootKey::of(&spec.state_root);
    let what = format!("the network bridge:{gateway}");
    if let Some(b) = link::find(nl, BRIDGE_NAME)? {
        let half_made = b.kind.as_deref() == Some("bridge")
            && b.alias.is_empty()
            && b.mac.starts_with(&mode::BRIDGE_MAC_PREFIX);
        if half_made {
            link::set_alias(nl, b.index, BRIDGE_NAME, &key.bridge_alias())?;
        } else {
            check::bridge_is_ours(&b, &key, gateway)?;
        }
        if !check::bridge_address(b.index, gateway, &addr::all(nl)?)? {
            give_address(nl, b.index, gateway, leases, &what)?;
        }
        return Ok(b.index);
    }
    // A new bridge's subnet must be free on the host and in the leases (a veth pair leased a
    // moment ago has no address on the host yet).
    check::subnet_free(nl, spec, gateway)?;
    trace::step(|| format!("network: create the bridge {BRIDGE_NAME} ({gateway})"));
    let mut mac = [0u8; 6];
    sys::getrandom(&mut mac[3..]).ctx(|| "getrandom for the bridge's MAC address".into())?;
    mac[..3].copy_from_slice(&mode::BRIDGE_MAC_PREFIX);
    link::create_bridge(nl, BRIDGE_NAME, mac)?;
    let Some(bridge) = link::find(nl, BRIDGE_NAME)? else {
        return Err(Error::new(
            format!("bridge {BRIDGE_NAME:?}"),
            "gone right after it was made",
        ));
    };
    // Whatever fails now takes the new bridge back (no port is on it yet).
    let made = link::set_alias(nl, bridge.index, BRIDGE_NAME, &key.bridge_alias())
        .and_then(|()| give_address(nl, bridge.index, gateway, leases, &what));
    if let Err(e) = made {
        let _ = link::delete(nl, bridge.index, BRIDGE_NAME);
        return Err(e);
    }
    Ok(bridge.index)
}

/// Puts `gateway` on the bridge, unless a veth pair of this root has leased an overlapping
/// subnet; then checks no other interface got one meanwhile (another root).
fn give_address(
    nl: &mut Netlink,
    index: i32,
    gateway: Cidr,
    leases: &ipam::Leases,
    what: &str,
) -> Result<()> {
    if let Some(l) = leases.veth_overlapping(gateway) {
        return Err(Error::new(
            what,
            format!(
                "the subnet overlaps {}, leased to the veth pair of the container {:?}",
                l.cidr.subnet(),
                l.id
            ),
        )
        .hint("give the bridge another subnet, e.g. bridge:10.89.0.1/16"));
    }
    addr::add(nl, index, BRIDGE_NAME, gateway)?;
    let alone = check::alone_on_subnet(nl, index, gateway, what);
    if alone.is_err() {
        let _ = addr::delete(nl, index, BRIDGE_NAME, gateway);
    }
    alone
}

impl Plan {
    /// Builds the pair into the namespace of the process `pid` and configures both ends.
    pub fn connect(&mut self, pid: i32) -> Result<()> {
        self.connect_to(pid).map_err(|e| e.or_about(Topic::Network))
    }

    fn connect_to(&mut self, pid: i32) -> Result<()> {
        let (host, address) = (self.host_ifname.clone(), self.address);
        trace::step(|| format!("network: veth {host:?} <-> {CONTAINER_IFNAME} ({address})"));
        let netns = open_netns(&format!("/proc/{pid}/ns/net"))?;
        let echoed = link::create_veth(
            &mut self.nl,
            &host,
            self.bridge,
            CONTAINER_IFNAME,
            netns.as_raw_fd(),
        )?;
        // Kernels before 6.3 do not echo a new link: its index is asked for.
        let index = match echoed {
            Some(index) => index,
            None => match link::find(&mut self.nl, &host)? {
                Some(l) => l.index,
                None => {
                    return Err(Error::new(
                        format!("{host:?}"),
                        "not there after RTM_NEWLINK made it",
                    ));
                }
            },
        };
        self.host_index = Some(index);
        link::set_alias(&mut self.nl, index, &host, &self.alias)?;
        if let Some(host_address) = self.host_address {
            addr::add(&mut self.nl, index, &host, host_address)?;
            // Another state root may have checked the same subnet at the same moment.
            let what = format!("the network veth:{host_address},{address}");
            check::alone_on_subnet(&mut self.nl, index, host_address, &what)?;
        }
        let home = open_netns("/proc/self/ns/net")?;
        let mut inside = Netlink::open_in(&netns, &home, "container")?;
        let eth0 = link::find(&mut inside, CONTAINER_IFNAME)?.ok_or_else(|| {
            Error::new(
                format!("{CONTAINER_IFNAME:?} in the container"),
                "not there after RTM_NEWLINK made it",
            )
        })?;
        addr::add(&mut inside, eth0.index, CONTAINER_IFNAME, address)?;
        link::set_up(&mut inside, eth0.index, CONTAINER_IFNAME)?;
        addr::add_default_route(&mut inside, self.gateway, eth0.index, CONTAINER_IFNAME)
    }

    /// Cuts the host end off (its address taken back, or off the bridge) and returns the lease:
    /// the next container can have them at once, even if this one's namespace lives on (a
    /// socket left in it keeps it alive; gc deletes the pair then). The pair itself is not
    /// deleted here: the container's network namespace dies with its last process, and the
    /// kernel deletes both ends with it (RTM_DELLINK would too, but waits for RCU callbacks:
    /// 20-30 ms on a small VM, where the namespace's cleanup runs batched in a kernel worker).
    /// Returns whether all went; failures are reported.
    pub fn teardown(&mut self) -> bool {
        if let Some(index) = self.host_index.take() {
            let name = &self.host_ifname;
            match self.host_address {
                Some(cidr) => trace::step(|| format!("tear down: take {cidr} off {name:?}")),
                None => trace::step(|| format!("tear down: take {name:?} off the bridge")),
            }
            // One retry in place: a passing failure (ENOBUFS, EINTR, ...) leaves nothing then.
            let mut cut = || match self.host_address {
                Some(cidr) => addr::delete(&mut self.nl, index, name, cidr),
                None => link::set_nomaster(&mut self.nl, index, name),
            };
            let cut = cut().or_else(|_| cut());
            if let Err(e) = cut {
                // The address stays leased: the host end may still hold it. `gc` deletes the
                // link (it is recorded) and then returns the lease.
                crate::report_warning(&e);
                return false;
            }
        }
        trace::note(|| {
            format!(
                "tear down: the kernel deletes {:?} and its peer with the container's network \
                 namespace",
                self.host_ifname
            )
        });
        if self.leased {
            trace::step(|| format!("tear down: return the lease of {}", self.id));
            let id = &self.id;
            let release =
                || ipam::Leases::lock(&self.root).and_then(|mut l| l.release_unless(|i| i != id));
            match release().or_else(|_| release()) {
                Ok(_) => self.leased = false,
                Err(e) => {
                    crate::report_warning(&e);
                    return false;
                }
            }
        }
        true
    }
}

fn open_netns(path: &str) -> Result<OwnedFd> {
    let p = sys::cstr(path).map_err(|e| Error::sys(path.to_string(), e))?;
    fs::openat(libc::AT_FDCWD, &p, libc::O_RDONLY | libc::O_CLOEXEC, 0)
        .ctx(|| format!("open {path}"))
}
