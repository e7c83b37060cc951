//! `nsbox logs [-f] ID`: a detached container's output, and with -f what follows until it ends.

use super::container::{self, Liveness};
use crate::error::{Error, Result};
use crate::state::LOG_FILE;
use crate::sys::{self, cpath as c, fs, process};
use std::path::Path;
use std::time::Duration;

/// How often `-f` looks for more output (nsbox has no threads and no inotify loop: a short
/// sleep costs nothing measurable and keeps it simple to trace).
const POLL: Duration = Duration::from_millis(100);

pub fn logs(root: &Path, id: &str, follow: bool) -> Result<u8> {
    let found = container::find(root, id)?;
    if !found.record.detached {
        return Err(Error::new(
            format!("logs {id:?}"),
            "the container runs in the foreground: its output goes to the terminal that started it",
        )
        .hint("only containers started with 'nsbox run -d' keep their output"));
    }
    let path = found.dir.join(LOG_FILE);
    let fd = fs::openat(
        libc::AT_FDCWD,
        &c(&path)?,
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| Error::sys(format!("open the log {path:?}"), e))?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match sys::read(&fd, &mut buf) {
            Ok(0) if !follow => return Ok(0),
            // The record is read again: the container may have ended meanwhile.
            Ok(0) if still_running(&found.dir) => process::sleep(POLL),
            // It ended: one more read takes what it wrote last.
            Ok(0) => {
                drain(&fd, &mut buf);
                return Ok(0);
            }
            Ok(n) => sys::write_stdout(&buf[..n]),
            Err(syscalls::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys(format!("read the log {path:?}"), e)),
        }
    }
}

fn still_running(dir: &Path) -> bool {
    matches!(
        crate::state::record::Record::load(dir),
        Ok(Some(r)) if Liveness::of(&r) == Liveness::Running
    )
}

fn drain(fd: &std::os::fd::OwnedFd, buf: &mut [u8]) {
    while let Ok(n @ 1..) = sys::read(fd, buf) {
        sys::write_stdout(&buf[..n]);
    }
}
