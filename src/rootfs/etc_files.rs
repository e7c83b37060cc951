//! The container's /etc/hosts, /etc/hostname (and with the host's network its resolv.conf),
//! bound read-only over the image's files. They are written in the container's own /dev (the
//! one tmpfs every native container has, fresh and nsbox's alone until the command starts),
//! bound, and unlinked from there: the mounts keep them alive, nothing is written on the host
//! or in the image, and nothing is left to remove. An image without one of the files keeps
//! none: nsbox does not add files to it.

use super::mountpoint::{self, Create, Kind, Symlinks};
use crate::error::{Context, Error, Result};
use crate::net::hosts::EtcFiles;
use crate::sys::{self, fs, mount};
use crate::trace;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::Errno;

/// `dev`: the container's /dev (attached at the cwd's `dev`).
pub fn bind(dev: &OwnedFd, files: &EtcFiles) -> Result<()> {
    let made: [(&str, &CStr, &CStr, &str); 2] = [
        (
            "/etc/hosts",
            c".nsbox-hosts",
            c"dev/.nsbox-hosts",
            &files.hosts,
        ),
        (
            "/etc/hostname",
            c".nsbox-hostname",
            c"dev/.nsbox-hostname",
            &files.hostname,
        ),
    ];
    for (target, name, path, text) in made {
        let Some(dest) = mount_point(target)? else {
            continue;
        };
        trace::step(|| {
            format!("bind the container's {target} (written in its /dev, then unlinked)")
        });
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let file = fs::openat(dev.as_raw_fd(), name, flags, 0o644)
            .ctx(|| format!("create {target}'s file in /dev"))?;
        let written = sys::write(&file, text.as_bytes());
        sys::close(file);
        written.map_err(|e| Error::sys(format!("write {target}'s file"), e))?;
        attach(path, target, &dest)?;
        fs::unlink(path).ctx(|| format!("unlink {target}'s file from /dev"))?;
    }
    if files.host_resolv
        && let Some(dest) = mount_point("/etc/resolv.conf")?
    {
        trace::step(|| "bind the host's /etc/resolv.conf (the host's network)".into());
        attach(c"/etc/resolv.conf", "/etc/resolv.conf", &dest)?;
    }
    Ok(())
}

/// The image's file at `target`, or None where it has none.
fn mount_point(target: &str) -> Result<Option<OwnedFd>> {
    match mountpoint::open(target, Kind::File, Symlinks::Beneath, Create::No) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.errno == Some(Errno::ENOENT) => {
            trace::note(|| format!("the image has no {target}: left out"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A read-only bind of `source` on `dest` (the image's `target`).
fn attach(source: &CStr, target: &str, dest: &OwnedFd) -> Result<()> {
    let tree = mount::open_tree_clone(mount::Target::Path(source))
        .ctx(|| format!("open {source:?} for {target} (open_tree)"))?;
    let attrs = mount::MOUNT_ATTR_RDONLY
        | mount::MOUNT_ATTR_NOSUID
        | mount::MOUNT_ATTR_NODEV
        | mount::MOUNT_ATTR_NOEXEC;
    mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, false)
        .ctx(|| format!("make {target} read-only (mount_setattr)"))?;
    mount::move_mount(&tree, dest).ctx(|| format!("attach {target} (move_mount)"))
}
