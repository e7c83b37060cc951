//! A detached container's output: its stdout and stderr go into a pipe that its supervisor
//! relays into `ROOT/ID/log`, noting when each piece came in `ROOT/ID/log.times` (for
//! `nsbox logs -t`). With `-t`, the pty master is relayed the same way.
//!
//! `log.times` holds one 16-byte entry per piece, written before the piece itself: where the
//! piece starts in `log` and when it came (nanoseconds since the epoch), both little-endian
//! u64 (`od -A d -t u8 -w16 log.times` shows them). So every byte a reader finds in `log` has
//! its entry already; a line takes the time of the piece it starts in. The supervisor's own
//! messages (warnings, `--trace`) go straight into `log`, without an entry of their own.
//!
//! The pipe is given to the container only around clone(2): the supervisor's own stderr is
//! the log before and after, so it never waits on a pipe that nobody reads yet. The pipe is
//! enlarged (best effort) so that a child writing its `--trace` while it builds the container
//! never fills it before the relay runs.

use crate::container::supervise::{self, Supervisor, supervised_set};
use crate::error::{Context, Error, Result};
use crate::state::State;
use crate::sys::process::{self, Exit};
use crate::sys::{self, fd, term};
use crate::terminal::console;
use crate::terminal::tty::{self, Sink};
use std::os::fd::{AsRawFd, OwnedFd};

/// How much the pipe may hold before a writer in the container waits.
const PIPE_BYTES: usize = 1 << 20;

/// The log and its times, as the relay's output.
pub struct LogWriter {
    pub log: OwnedFd,
    pub times: OwnedFd,
}

impl Sink for LogWriter {
    fn put(&mut self, data: &[u8]) -> bool {
        // O_APPEND: the piece lands at the end, where nothing but this process writes.
        let Ok(at) = fd::lseek(&self.log, 0, libc::SEEK_END) else {
            return false;
        };
        let now = process::now_realtime().as_nanos() as u64;
        let mut entry = [0u8; 16];
        entry[..8].copy_from_slice(&at.to_le_bytes());
        entry[8..].copy_from_slice(&now.to_le_bytes());
        // A lost entry costs a time, not output: the log is written regardless.
        let _ = tty::write_all(self.times.as_raw_fd(), &entry);
        tty::write_all(self.log.as_raw_fd(), data)
    }
}

/// A detached container's output. The supervisor's own stdout and stderr are the log
/// throughout, but for clone(2) itself with a pipe.
pub enum Detached {
    /// Without a terminal: the container writes into a pipe that the supervisor relays.
    Piped(Piped),
    /// With `-t`: the supervisor relays the pty master into the log.
    Terminal(LogWriter),
}

impl Detached {
    /// Creates the log and its times in the state directory; the supervisor's stdout and
    /// stderr go there from now on.
    pub fn open(state: &mut State, terminal: bool) -> Result<Detached> {
        let writer = state.create_log()?;
        to_stdio(&writer.log)?;
        match terminal {
            true => Ok(Detached::Terminal(writer)),
            false => Piped::new(writer).map(Detached::Piped),
        }
    }

    /// Right before clone: without a terminal, the pipe becomes stdout and stderr, for the
    /// child to inherit.
    pub fn before_clone(&self) -> Result<()> {
        match self {
            Detached::Piped(Piped { write: Some(w), .. }) => to_stdio(w),
            _ => Ok(()),
        }
    }

    /// Right after clone (whether it worked or not): the supervisor's stdout and stderr are
    /// the log again, and it keeps no write end of the pipe (so the relay sees its end once
    /// the container's are closed).
    pub fn after_clone(&mut self) -> Result<()> {
        if let Detached::Piped(p) = self
            && let Some(w) = p.write.take()
        {
            to_stdio(&p.writer.log)?;
            sys::close(w);
        }
        Ok(())
    }

    /// Relays the container's output (the pipe, or `master` with `-t`) into the log until
    /// `pid` ends, as `supervise::supervise_process` waits (`ns_init`: see there).
    pub fn relay(&mut self, master: Option<OwnedFd>, pid: i32, ns_init: bool) -> Result<Exit> {
        let sup = Supervisor::new(pid, ns_init);
        match (self, master) {
            (Detached::Piped(p), _) => p.relay(sup),
            (Detached::Terminal(writer), Some(m)) => console::relay(m, sup, Some(writer)),
            // The child sends its master before it is released; without one it failed.
            (Detached::Terminal(_), None) => supervise::supervise_process(pid, ns_init),
        }
    }
}

/// The pipe a detached container writes into, and the log it is relayed to.
pub struct Piped {
    writer: LogWriter,
    read: OwnedFd,
    write: Option<OwnedFd>,
}

impl Piped {
    fn new(writer: LogWriter) -> Result<Piped> {
        let (read, write) =
            fd::pipe().map_err(|e| Error::sys("pipe2 for the container's output", e))?;
        let _ = fd::set_pipe_size(&write, PIPE_BYTES);
        Ok(Piped {
            writer,
            read,
            write: Some(write),
        })
    }

    fn relay(&mut self, mut sup: Supervisor) -> Result<Exit> {
        let signals =
            term::signalfd(supervised_set()).ctx(|| "signalfd for the output relay".into())?;
        tty::relay(&self.read, None, &mut self.writer, &signals, |sig| {
            sup.handle(sig)
        })
    }
}

fn to_stdio(fd: &OwnedFd) -> Result<()> {
    for target in [1, 2] {
        fd::dup2(fd, target).map_err(|e| Error::sys("send output to the log", e))?;
    }
    Ok(())
}
