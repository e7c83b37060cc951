//! `nsbox logs [-f] [-t] [--tail N] ID`: a detached container's output, and with -f what
//! follows until it ends. `--tail` starts that many lines before the end (tail.rs); `-t` puts
//! the time each line came in front of it (stamp.rs, from `log.times`).

mod stamp;
mod tail;

use super::container::{self, Liveness};
use crate::cli::Logs;
use crate::error::{Error, Result};
use crate::state::{LOG_FILE, TIMES_FILE};
use crate::sys::{self, cpath as c, fd, fs, process};
use stamp::Stamper;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Duration;

/// How often `-f` looks for more output (nsbox has no threads and no inotify loop: a short
/// sleep costs nothing measurable and keeps it simple to trace).
const POLL: Duration = Duration::from_millis(100);

pub fn logs(opts: &Logs) -> Result<u8> {
    let id = &opts.id;
    let found = container::find(&opts.root, id)?;
    if !found.record.detached {
        return Err(Error::new(
            format!("logs {id:?}"),
            "the container runs in the foreground: its output goes to the terminal that started it",
        )
        .hint("only containers started with 'nsbox run -d' keep their output"));
    }
    let path = found.dir.join(LOG_FILE);
    let log = open(&path, "the log")?;
    let start = match opts.tail {
        // Read from where the last lines begin (finding them moved the offset to the end).
        Some(lines) => tail::start_of_last(&log, lines)
            .and_then(|at| fd::lseek(&log, at as i64, libc::SEEK_SET))
            .map_err(|e| Error::sys(format!("read the log {path:?} from its end"), e))?,
        None => 0,
    };
    let mut stamper = match opts.timestamps {
        true => {
            let times_path = found.dir.join(TIMES_FILE);
            let times = open(&times_path, "the log's times").map_err(|e| {
                e.hint("a container started by an nsbox before 0.9 has none: leave out -t")
            })?;
            let line_start = start == 0 || tail::byte_before(&log, start) == Some(b'\n');
            let created = Duration::from_millis(found.record.created_ms).as_nanos() as u64;
            Some(Stamper::new(times, start, line_start, created))
        }
        false => None,
    };
    let mut out = Output {
        stamper: stamper.as_mut(),
        buf: Vec::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match sys::read(&log, &mut buf) {
            Ok(0) if !opts.follow => return Ok(0),
            // The record is read again: the container may have ended meanwhile.
            Ok(0) if still_running(&found.dir) => process::sleep(POLL),
            // It ended: one more read takes what it wrote last.
            Ok(0) => {
                while let Ok(n @ 1..) = sys::read(&log, &mut buf) {
                    out.write(&buf[..n]);
                }
                return Ok(0);
            }
            Ok(n) => out.write(&buf[..n]),
            Err(syscalls::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys(format!("read the log {path:?}"), e)),
        }
    }
}

fn open(path: &Path, what: &str) -> Result<OwnedFd> {
    fs::openat(
        libc::AT_FDCWD,
        &c(path)?,
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| Error::sys(format!("open {what} {path:?}"), e))
}

/// Stdout, with each line stamped when `-t` asks.
struct Output<'a> {
    stamper: Option<&'a mut Stamper>,
    buf: Vec<u8>,
}

impl Output<'_> {
    fn write(&mut self, data: &[u8]) {
        match self.stamper.as_deref_mut() {
            None => sys::write_stdout(data),
            Some(stamper) => {
                self.buf.clear();
                stamper.stamp(data, &mut self.buf);
                sys::write_stdout(&self.buf);
            }
        }
    }
}

fn still_running(dir: &Path) -> bool {
    matches!(
        crate::state::record::Record::load(dir),
        Ok(Some(r)) if Liveness::of(&r) == Liveness::Running
    )
}
