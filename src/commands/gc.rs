//! `nsbox gc`: removes what crashed containers left behind.
//!
//! A live nsbox (or supervisor) holds a lock on its state directory; the kernel releases it
//! when the process dies, however it dies. So every state directory nobody holds is garbage,
//! unless it is the record of a detached container that ended (kept until `nsbox rm`): the
//! cgroups recorded in it are removed (their processes died with the container: PID 1 had
//! PR_SET_PDEATHSIG), and its network's host end and lease, then its files, then the
//! directory. Last, the leases whose container is gone return, and the bridge goes when no
//! container is left on it.

use super::container;
use crate::error::{Context, Error, Result};
use crate::state::record::{Record, Status};
use crate::sys::{self, fs, process};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;
use syscalls::Errno;

/// A state directory this young may be one whose nsbox has made it and not yet locked it
/// (microseconds apart): left for the next gc.
const MIN_AGE: Duration = Duration::from_secs(1);

use crate::sys::cpath as c;

/// Sweeps the state root; prints the id of each container it removed. Returns 0, or 125 when
/// something could not be removed (each such thing is reported).
pub fn gc(root: &Path) -> Result<u8> {
    let dir = match container::open_dir(root) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(0),
        Err(e) => return Err(Error::sys(format!("open state root {root:?}"), e)),
    };
    let names = fs::list_dir(&dir).ctx(|| format!("list state root {root:?}"))?;
    let mut failed = 0;
    for (name, _) in names {
        let path = root.join(std::ffi::OsStr::from_bytes(&name));
        match collect(&path) {
            Ok(true) => {
                let mut line = name.clone();
                line.push(b'\n');
                sys::write_stdout(&line);
            }
            Ok(false) => {}
            Err(e) => {
                crate::report_warning(&e);
                failed += 1;
            }
        }
    }
    // Then what containers share: leases of containers that are gone, the unused bridge.
    match crate::net::sweep(root) {
        Ok(removed) => {
            for line in removed {
                sys::write_stdout(format!("{line}\n").as_bytes());
            }
        }
        Err(e) => {
            crate::report_warning(&e);
            failed += 1;
        }
    }
    if failed > 0 {
        return Err(Error::new(
            "gc",
            format!("{failed} container(s) could not be removed (see above)"),
        ));
    }
    Ok(0)
}

/// Removes one state directory if no nsbox holds it and it is not the record of a detached
/// container that ended (those stay for `ps -a`, `logs` and `rm`, their cgroups and network
/// released). Returns whether it removed the directory.
fn collect(path: &Path) -> Result<bool> {
    let id = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if crate::spec::check_name("id", id).is_err() {
        return Ok(false);
    }
    // An OCI container is its client's (podman, containerd) to delete, whatever its state.
    if path.join(crate::oci::STATE_FILE).exists() {
        return Ok(false);
    }
    let fd = match container::open_dir(path) {
        Ok(fd) => fd,
        // Not a directory (or gone meanwhile): not ours to judge.
        Err(Errno::ENOTDIR) | Err(Errno::ELOOP) | Err(Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Error::sys(format!("open {path:?}"), e)),
    };
    match fs::flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        Err(Errno::EWOULDBLOCK) => return Ok(false), // its nsbox is alive
        Err(e) => return Err(Error::sys(format!("lock {path:?}"), e)),
    }
    match Record::load(path)? {
        // Ended detached containers stay until `nsbox rm`; what they held on the host (a cgroup
        // or a lease a failed teardown left) goes now.
        Some(rec) if matches!(rec.status, Status::Exited { .. }) => {
            container::release(path, id)?;
            return Ok(false);
        }
        // Its nsbox wrote the record while it held the lock, and holds it no more: dead.
        Some(_) => {}
        // No record: dead, or made a moment ago by an nsbox that has not locked it yet.
        None if young(path)? => return Ok(false),
        None => {}
    }
    container::remove(path, id)?;
    Ok(true)
}

/// Whether the directory changed less than MIN_AGE ago.
fn young(path: &Path) -> Result<bool> {
    let st = match fs::stat(&c(path)?) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(true), // another gc was faster
        Err(e) => return Err(Error::sys(format!("stat {path:?}"), e)),
    };
    let changed = Duration::new(
        st.st_ctime.max(0) as u64,
        st.st_ctime_nsec.clamp(0, 999_999_999) as u32,
    );
    Ok(process::now_realtime().saturating_sub(changed) < MIN_AGE)
}
