//! What `rm` and `gc` undo of a container's network: the host end named in its `network`
//! record, its lease; and, for `gc`, the leases nobody owns and the bridge nobody uses.

use super::ipam::{LEASES_FILE, Leases};
use super::mode::{self, BRIDGE_NAME};
use super::{link, netlink::Netlink};
use crate::error::{Error, Result};
use crate::state::NETWORK_FILE;
use crate::sys::{cpath as c, fs, process};
use std::path::Path;
use std::time::{Duration, Instant};
use syscalls::Errno;

/// Deletes the host end recorded in `dir/network` and returns the container's lease. Only what
/// nsbox makes for `id` is touched: a record naming any other interface is refused.
pub fn remove_recorded(root: &Path, dir: &Path, id: &str) -> Result<()> {
    let path = dir.join(NETWORK_FILE);
    let text = match fs::read_file(&c(&path)?) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(Errno::ENOENT) => String::new(),
        Err(e) => return Err(Error::sys(format!("read {path:?}"), e)),
    };
    let ours = mode::host_ifname(id);
    let mut links = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("link ") {
            Some(name) if name == ours => links.push(name),
            _ => {
                return Err(Error::new(
                    format!("{path:?}"),
                    format!("records {line:?}, which is not an interface nsbox makes for {id:?}"),
                )
                .hint("nsbox leaves this directory alone: check it, and remove it by hand"));
            }
        }
    }
    if !links.is_empty() {
        let mut nl = Netlink::open("host")?;
        for name in links {
            link::delete(&mut nl, name)?;
        }
    }
    if exists(&root.join(LEASES_FILE))? {
        Leases::lock(root)?.release_unless(|owner| owner != id)?;
    }
    Ok(())
}

/// `gc`: returns the leases whose container is gone (no state directory), then removes the
/// bridge when no lease is left and no interface is its port. Returns what it removed, one
/// line each (`lease 10.88.0.5 of web`, `bridge nsbox0`).
pub fn sweep(root: &Path) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut any_lease = false;
    if exists(&root.join(LEASES_FILE))? {
        let mut leases = Leases::lock(root)?;
        for (addr, id) in leases.release_unless(|id| exists(&root.join(id)).unwrap_or(true))? {
            removed.push(format!("lease {addr} of {id}"));
        }
        any_lease = !leases.is_empty();
    }
    if any_lease {
        return Ok(removed);
    }
    let mut nl = Netlink::open("host")?;
    let Some(bridge) = link::find(&mut nl, BRIDGE_NAME)? else {
        return Ok(removed);
    };
    if bridge.kind.as_deref() != Some("bridge") {
        return Ok(removed); // not nsbox's: some other interface has the name
    }
    if unused(&mut nl, bridge.index, root)? && link::delete(&mut nl, BRIDGE_NAME)? {
        removed.push(format!("bridge {BRIDGE_NAME}"));
    }
    Ok(removed)
}

/// How long `gc` waits for the kernel to delete the ports of containers that just ended.
const PORTS_GONE_WITHIN: Duration = Duration::from_secs(2);

/// Whether the bridge has no port. Ports of containers that have ended (an nsbox name, no
/// state directory) are being deleted by the kernel with their namespace: waited for.
fn unused(nl: &mut Netlink, bridge: i32, root: &Path) -> Result<bool> {
    let live = live_host_ifnames(root)?;
    let deadline = Instant::now() + PORTS_GONE_WITHIN;
    loop {
        let ports: Vec<link::Link> = link::all(nl)?
            .into_iter()
            .filter(|l| l.master == Some(bridge))
            .collect();
        if ports.is_empty() {
            return Ok(true);
        }
        let ending = |l: &link::Link| l.name.starts_with("nsb") && !live.contains(&l.name);
        if !ports.iter().all(ending) || Instant::now() > deadline {
            return Ok(false);
        }
        process::sleep(Duration::from_millis(20));
    }
}

/// The host-end names of the containers that have a state directory under `root` (running,
/// or being made, or ended and kept): an nsbox interface not among them belongs to a
/// container that has ended (or to another state root).
pub fn live_host_ifnames(root: &Path) -> Result<Vec<String>> {
    match crate::commands::container::open_dir(root) {
        Ok(dir) => Ok(fs::list_dir(&dir)
            .map_err(|e| Error::sys(format!("list state root {root:?}"), e))?
            .into_iter()
            .filter_map(|(name, _)| String::from_utf8(name).ok())
            .map(|id| mode::host_ifname(&id))
            .collect()),
        Err(Errno::ENOENT) => Ok(Vec::new()),
        Err(e) => Err(Error::sys(format!("open state root {root:?}"), e)),
    }
}

fn exists(path: &Path) -> Result<bool> {
    match fs::file_type(&c(path)?) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys(format!("stat {path:?}"), e)),
    }
}
