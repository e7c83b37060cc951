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
//! The pipe becomes the child's stdout and stderr only at the go, right before its execve:
//! until then the child writes (its `--trace`, a warning) where the supervisor does, straight
//! into the log, so it never waits on a pipe nobody reads yet (the relay starts once the
//! command runs). The pipe keeps the kernel's default size.

use crate::container::supervise::{self, Supervisor, supervised_set};
use crate::error::{Context, Error, Result};
use crate::state::State;
use crate::sys::process::{self, Exit};
use crate::sys::{self, fd, term};
use crate::terminal::console;
use crate::terminal::tty::{self, Sink};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// The log and its times, as the relay's output.
pub struct LogWriter {
    pub log: OwnedFd,
    /// None once an entry could not be written whole (the file was cut back to the entries
    /// before it: a torn one would shift every later one).
    times: Option<OwnedFd>,
    /// The bytes of whole entries in `times`.
    times_len: u64,
}

impl LogWriter {
    /// Both files, just created (empty) and opened for appending.
    pub fn new(log: OwnedFd, times: OwnedFd) -> LogWriter {
        LogWriter {
            log,
            times: Some(times),
            times_len: 0,
        }
    }

    fn note_time(&mut self) {
        let Some(times) = &self.times else { return };
        // O_APPEND: the piece lands at the end, where nothing but this process writes.
        let Ok(at) = fd::lseek(&self.log, 0, libc::SEEK_END) else {
            return;
        };
        let now = process::now_realtime().as_nanos() as u64;
        let mut entry = [0u8; ENTRY];
        entry[..8].copy_from_slice(&at.to_le_bytes());
        entry[8..].copy_from_slice(&now.to_le_bytes());
        if tty::write_all(times.as_raw_fd(), &entry) {
            self.times_len += ENTRY as u64;
        } else {
            // A lost time costs `-t` its later times, never output (the log goes on).
            let _ = fd::ftruncate(times, self.times_len);
            self.times = None;
        }
    }
}

/// One entry of `log.times`: the piece's offset in the log, then its time.
const ENTRY: usize = 16;

impl Sink for LogWriter {
    fn put(&mut self, data: &[u8]) -> bool {
        self.note_time();
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

    /// The pipe's write end for the child (it becomes the child's stdout and stderr at the
    /// go, `child::output_to_pipe`); none with `-t`.
    pub fn child_end(&self) -> Option<RawFd> {
        match self {
            Detached::Piped(Piped { write: Some(w), .. }) => Some(w.as_raw_fd()),
            _ => None,
        }
    }

    /// Right after clone (whether it worked or not): the supervisor keeps no write end of the
    /// pipe, so the relay sees its end once the container's are closed.
    pub fn after_clone(&mut self) {
        if let Detached::Piped(p) = self
            && let Some(w) = p.write.take()
        {
            sys::close(w);
        }
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
