//! `nsbox wait ID...`: waits for each detached container to end and prints its exit code.

use super::container::{self, Liveness, watch_supervisor};
use crate::error::{Error, Result};
use crate::state::record::Record;
use std::path::Path;

pub fn wait(root: &Path, ids: &[String]) -> Result<u8> {
    super::each_printing(ids, "wait", |id| wait_one(root, id).map(|c| c.to_string()))
}

fn wait_one(root: &Path, id: &str) -> Result<u8> {
    let found = container::find(root, id)?;
    if !found.record.detached {
        return Err(Error::new(
            format!("wait {id:?}"),
            "the container runs in the foreground: its exit code goes to the nsbox that runs it",
        )
        .hint("'nsbox wait' is for containers started with 'nsbox run -d'"));
    }
    if let Some(nsbox) = watch_supervisor(&found.record)? {
        container::wait_ended(&nsbox, None)?;
    }
    // Its nsbox recorded the exit code before it ended.
    match Record::load(&found.dir) {
        Ok(Some(rec)) => match Liveness::of(&rec) {
            Liveness::Exited(code) => Ok(code),
            _ => Err(Error::new(
                format!("wait {id:?}"),
                "its nsbox ended without recording an exit code (it was killed)",
            )
            .hint("'nsbox gc' removes what it left")),
        },
        Ok(None) => Err(removed(id)),
        Err(e) if e.errno == Some(syscalls::Errno::ENOENT) => Err(removed(id)),
        Err(e) => Err(e),
    }
}

fn removed(id: &str) -> Error {
    Error::new(
        format!("wait {id:?}"),
        "the container was removed when it ended (--rm, or nsbox rm): its exit code was not kept",
    )
}
