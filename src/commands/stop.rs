//! `nsbox stop [-t SECONDS] [-s SIGNAL] ID...`: a signal (TERM), then SIGKILL to PID 1 once
//! the grace period is over, as docker stop does. Done when the container's nsbox has torn it
//! down, so what follows (`rm`, a new run with the same name) finds nothing in the way.

use super::container::{self, watch_supervisor};
use super::kill;
use crate::cli::Stop;
use crate::error::{Error, Result};
use crate::flags::signal_name;
use crate::sys::process;
use crate::trace;
use std::path::Path;
use std::time::Duration;

/// How long the teardown may take after SIGKILL (cgroups, network) before stop gives up.
const AFTER_KILL: Duration = Duration::from_secs(10);

pub fn stop(opts: &Stop) -> Result<u8> {
    super::each(&opts.ids, "stop", |id| {
        stop_one(&opts.root, id, opts.grace_s, opts.signal)
    })
}

/// Stops one container; one that already ended is done (docker prints its id too).
fn stop_one(root: &Path, id: &str, grace_s: u32, sig: i32) -> Result<()> {
    let found = container::find(root, id)?;
    let Some(nsbox) = watch_supervisor(&found.record)? else {
        trace::note(|| format!("{id}: not running"));
        return Ok(());
    };
    if grace_s > 0 {
        // It may end between the look and the signal: then there is nothing left to do.
        if let Err(e) = kill::send(&found, sig) {
            if !found.record.supervisor.alive() {
                return Ok(());
            }
            return Err(e);
        }
        let grace = Duration::from_secs(grace_s.into());
        if container::wait_ended(&nsbox, Some(grace))? {
            return Ok(());
        }
        trace::note(|| {
            format!(
                "{id}: still running {grace_s} s after {}: SIGKILL to its PID 1",
                signal_name(sig)
            )
        });
    }
    let pid1 = found.record.pid;
    if pid1.alive() {
        let _ = process::kill(pid1.pid, libc::SIGKILL);
    }
    match container::wait_ended(&nsbox, Some(AFTER_KILL))? {
        true => Ok(()),
        false => Err(Error::new(
            format!("stop {id:?}"),
            format!(
                "its PID 1 got SIGKILL, but its nsbox (host pid {}) has not ended within {} s",
                found.record.supervisor.pid,
                AFTER_KILL.as_secs()
            ),
        )
        .hint("see what it waits for with 'nsbox ps' and strace -p on that pid")),
    }
}
