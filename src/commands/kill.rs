//! `nsbox kill [-s SIGNAL] ID`.
//!
//! The signals nsbox forwards (TERM, INT, HUP, QUIT, USR1, USR2) go to the container's nsbox
//! (foreground or supervisor), which knows what PID 1 does with them: a PID 1 without a handler
//! never sees them (the kernel protects a namespace's init), so nsbox ends it as the default
//! action would. Other signals (KILL, STOP, CONT, WINCH, ...) go to PID 1 itself.

use super::container::{self, Found};
use crate::container::supervise::FORWARDED;
use crate::error::{Error, Result};
use crate::flags::signal_name;
use crate::state::record::Proc;
use crate::sys::process;
use crate::trace;
use std::path::Path;

pub fn kill(root: &Path, id: &str, sig: i32) -> Result<u8> {
    let found = container::find(root, id)?;
    found.require_running("kill")?;
    send(&found, sig)?;
    Ok(0)
}

/// Sends `sig` to a running container: to its nsbox, or to its PID 1 (see above).
pub fn send(found: &Found, sig: i32) -> Result<()> {
    let (rec, id) = (&found.record, &found.record.id);
    let (target, who): (Proc, &str) = if FORWARDED.contains(&sig) {
        (rec.supervisor, "its nsbox, which forwards it")
    } else {
        (rec.pid, "its PID 1")
    };
    trace::note(|| {
        format!(
            "{} goes to {who} (host pid {})",
            signal_name(sig),
            target.pid
        )
    });
    // The start time is checked right before kill(2): a pid the kernel gave to another process
    // since is never signalled.
    if !target.alive() {
        return Err(Error::new(
            format!("kill {id:?}"),
            "the container ended meanwhile",
        ));
    }
    process::kill(target.pid, sig).map_err(|e| {
        Error::sys(
            format!("kill({}, {}) for {id:?}", target.pid, signal_name(sig)),
            e,
        )
    })
}
