//! What `rm` and `gc` undo of a container's network: the host end named in its `network`
//! record, its lease; and, for `gc`, the leases and host ends of containers that are gone, and
//! the bridge once no container is on it. Only interfaces that carry this state root's alias
//! are ever deleted.

use super::ipam::Leases;
use super::mode::{self, BRIDGE_NAME, RootKey};
use super::{link, netlink::Netlink};
use crate::error::{Error, Result};
use crate::state::NETWORK_FILE;
use crate::sys::{cpath as c, fs};
use std::path::Path;
use syscalls::Errno;

/// Deletes the host end recorded in `dir/network` (when it is still there: a namespace kept
/// alive keeps the pair) and returns the container's lease. A record naming another interface
/// than nsbox's for `id` is refused.
pub fn remove_recorded(root: &Path, dir: &Path, id: &str) -> Result<()> {
    let path = dir.join(NETWORK_FILE);
    let text = match fs::read_file(&c(&path)?) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(Error::sys(format!("read {path:?}"), e)),
    };
    let ours = mode::host_ifname(id);
    for line in text.lines() {
        if line.strip_prefix("link ") != Some(ours.as_str()) {
            return Err(Error::new(
                format!("{path:?}"),
                format!("records {line:?}, which is not an interface nsbox makes for {id:?}"),
            )
            .hint("nsbox leaves this directory alone: check it, and remove it by hand"));
        }
    }
    let mut nl = Netlink::open("host")?;
    if let Some(l) = link::find(&mut nl, &ours)?
        && is_host_end_of(&l, &RootKey::of(root), id)
    {
        link::delete(&mut nl, l.index, &ours)?;
    }
    Leases::lock(root)?.release_unless(|owner| owner != id)?;
    Ok(())
}

/// Whether `l` is the host end nsbox made for the container `id` of the state root `root`.
fn is_host_end_of(l: &link::Link, key: &RootKey, id: &str) -> bool {
    l.kind.as_deref() == Some("veth") && key.owns_link(&l.alias, id)
}

/// `gc`, under the leases lock throughout (a run takes its lease and the bridge under it):
/// returns the leases whose container is gone (no state directory), deletes the host ends of
/// this root's containers that are gone (their namespace kept alive by something), then the
/// bridge when no lease is left and no interface is its port. Returns what it removed, one
/// line each (`lease 10.88.0.5/16 of web`, `link nsb0a1b2c3 of web`, `bridge nsbox0`).
pub fn sweep(root: &Path) -> Result<Vec<String>> {
    if !exists(root)? {
        return Ok(Vec::new());
    }
    let mut removed = Vec::new();
    let mut leases = Leases::lock(root)?;
    if leases.remove_leftover()? {
        removed.push(format!("file {}", super::ipam::TMP_FILE));
    }
    // A state directory that cannot be looked at counts as there: nothing goes on a doubt.
    let gone = |id: &str| !exists(&root.join(id)).unwrap_or(true);
    for l in leases.release_unless(|id| !gone(id))? {
        removed.push(format!("lease {} of {}", l.cidr, l.id));
    }
    let key = RootKey::of(root);
    let mut nl = Netlink::open("host")?;
    for l in link::all(&mut nl)? {
        let Some(id) = mode::alias_id(&l.alias) else {
            continue;
        };
        if is_host_end_of(&l, &key, id) && gone(id) && link::delete(&mut nl, l.index, &l.name)? {
            removed.push(format!("link {} of {id}", l.name));
        }
    }
    if !leases.is_empty() {
        return Ok(removed);
    }
    let links = link::all(&mut nl)?;
    let Some(bridge) = links.iter().find(|l| l.name == BRIDGE_NAME) else {
        return Ok(removed);
    };
    let ours = bridge.kind.as_deref() == Some("bridge") && key.owns_bridge(&bridge.alias);
    let ports = links
        .iter()
        .filter(|l| l.master == Some(bridge.index))
        .count();
    if ours && ports == 0 && link::delete(&mut nl, bridge.index, BRIDGE_NAME)? {
        removed.push(format!("bridge {BRIDGE_NAME}"));
    }
    Ok(removed)
}

fn exists(path: &Path) -> Result<bool> {
    match fs::file_type(&c(path)?) {
        Ok(_) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(e) => Err(Error::sys(format!("stat {path:?}"), e)),
    }
}
