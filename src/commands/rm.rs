//! `nsbox rm [-f] ID...`: removes ended containers; with -f, kills running ones first.

use super::container::{self, Liveness};
use crate::error::{Error, Result};
use crate::state::record::Record;
use crate::sys::{fs, process};
use std::path::Path;
use syscalls::Errno;

pub fn rm(root: &Path, ids: &[String], force: bool) -> Result<u8> {
    super::each(ids, "rm", |id| remove_one(root, id, force))
}

fn remove_one(root: &Path, id: &str, force: bool) -> Result<()> {
    let found = container::find(root, id)?;
    let dir = container::open_dir(&found.dir)
        .map_err(|e| Error::sys(format!("open {:?}", found.dir), e))?;
    match fs::flock(&dir, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        // It ended: its supervisor recorded the code and is letting go of the lock.
        Err(Errno::EWOULDBLOCK) if matches!(found.liveness(), Liveness::Exited(_)) => {
            fs::flock(&dir, libc::LOCK_EX)
                .map_err(|e| Error::sys(format!("wait for the lock on {:?}", found.dir), e))?;
        }
        Err(Errno::EWOULDBLOCK) if !force => {
            return Err(Error::new(format!("rm {id:?}"), "the container is running")
                .hint("stop it first ('nsbox kill'), or use 'nsbox rm -f' to kill and remove it"));
        }
        Err(Errno::EWOULDBLOCK) => {
            // Its nsbox tears it down once PID 1 is gone, then lets go of the lock.
            if found.record.pid.alive() {
                let _ = process::kill(found.record.pid.pid, libc::SIGKILL);
            }
            fs::flock(&dir, libc::LOCK_EX)
                .map_err(|e| Error::sys(format!("wait for the lock on {:?}", found.dir), e))?;
        }
        Err(e) => return Err(Error::sys(format!("lock {:?}", found.dir), e)),
    }
    // A foreground container's nsbox removed the directory itself.
    match Record::load(&found.dir) {
        Ok(None) if !found.dir.exists() => return Ok(()),
        Err(e) if e.errno == Some(Errno::ENOENT) => return Ok(()),
        _ => {}
    }
    container::remove(&found.dir, id)
}
