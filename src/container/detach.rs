//! `run -d`: the container runs on without the nsbox that started it.
//!
//!   nsbox (front) -- fork --> supervisor: setsid, stdin from /dev/null, stdout and stderr
//!        |                    through it into ROOT/ID/log, then the usual run: clone, release, wait,
//!        |                    tear down, record the exit code
//!        `-- reads one message from a pipe: "started" (prints the id, exits 0) or the error
//!            that stopped the container from starting (prints it, exits with its code)
//!
//! The supervisor is a fork of nsbox, not a re-executed binary and not a thread: it keeps the
//! Spec in memory and waits for the container as the foreground nsbox would. It is the
//! container's parent, so the container dies with it (PR_SET_PDEATHSIG), and its lock on the
//! state directory tells `gc` whether it lives.

use crate::container::spawn;
use crate::error::{EXIT_NSBOX, Error, Result};
use crate::sys::{self, fd, fs, lifecycle};
use std::os::fd::{AsRawFd, OwnedFd};

/// Which side of the fork this process is on.
pub enum Side {
    /// The nsbox the user ran: waits for the supervisor's message on the pipe.
    Front(OwnedFd),
    /// The supervisor: tells the front how the start went.
    Supervisor(Notify),
}

/// Forks the supervisor. The supervisor keeps only fds 0-2 and the pipe's write end, leaves
/// the caller's session (a terminal's hangup or ^C does not reach it), and reads nothing.
pub fn fork_supervisor() -> Result<Side> {
    fill_stdio()?;
    let (reader, writer) = fd::pipe().map_err(|e| Error::sys("pipe2 for the supervisor", e))?;
    let pid = lifecycle::fork().map_err(|e| {
        Error::sys("fork the supervisor of the detached container", e).hint_on(
            syscalls::Errno::EAGAIN,
            "a process limit is reached (ulimit -u)",
        )
    })?;
    if pid != 0 {
        sys::close(writer);
        return Ok(Side::Front(reader));
    }
    sys::close(reader);
    let _ = sys::process::set_name(c"nsbox:supervise");
    // Descriptors the caller leaked to us must not be held open for the container's life
    // (a shell's `$(nsbox run -d ...)` would wait for them).
    let keep = writer.as_raw_fd() as u32;
    let _ = fd::close_range(3, keep - 1);
    let _ = fd::close_range(keep + 1, u32::MAX);
    let mut notify = Notify { fd: Some(writer) };
    if let Err(e) = detach_stdio() {
        notify.failed(&e);
        sys::process::exit_now(EXIT_NSBOX as i32);
    }
    Ok(Side::Supervisor(notify))
}

/// Opens /dev/null on any of fds 0-2 the caller closed, so the pipe and the log never land
/// there by accident.
fn fill_stdio() -> Result<()> {
    loop {
        let null = fs::openat(libc::AT_FDCWD, c"/dev/null", libc::O_RDWR, 0)
            .map_err(|e| Error::sys("open /dev/null", e))?;
        if null.as_raw_fd() > 2 {
            sys::close(null);
            return Ok(());
        }
        // It filled a closed standard descriptor: it stays open as that descriptor.
        let _ = std::os::fd::IntoRawFd::into_raw_fd(null);
    }
}

fn detach_stdio() -> Result<()> {
    lifecycle::setsid().map_err(|e| Error::sys("setsid for the supervisor", e))?;
    // The caller's directory is not pinned for the container's life.
    fs::chdir(c"/").map_err(|e| Error::sys("chdir / for the supervisor", e))?;
    let null = fs::openat(
        libc::AT_FDCWD,
        c"/dev/null",
        libc::O_RDWR | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| Error::sys("open /dev/null", e))?;
    fd::dup2(&null, 0).map_err(|e| Error::sys("stdin from /dev/null", e))?;
    sys::close(null);
    Ok(())
}

/// The supervisor's end of the pipe: one message, then closed.
pub struct Notify {
    fd: Option<OwnedFd>,
}

impl Notify {
    /// Whether the front still waits for a message.
    pub fn pending(&self) -> bool {
        self.fd.is_some()
    }

    /// The container's command is running (its execve succeeded).
    pub fn started(&mut self) {
        self.send(&[0]);
    }

    /// The container did not start: the front prints `err` and exits with its code.
    pub fn failed(&mut self, err: &Error) {
        let mut msg = spawn::encode(err);
        if msg[0] == 0 {
            msg[0] = EXIT_NSBOX;
        }
        msg.truncate(libc::PIPE_BUF);
        self.send(&msg);
    }

    fn send(&mut self, msg: &[u8]) {
        if let Some(fd) = self.fd.take() {
            let _ = sys::write(&fd, msg);
            sys::close(fd);
        }
    }
}

/// The front: waits for the supervisor's message, prints the id once the container runs.
pub fn wait_started(reader: OwnedFd, id: &str) -> Result<u8> {
    // One message in one write (shorter than PIPE_BUF, so it is read whole): not read until
    // end-of-file, which would wait for every process that inherited the pipe.
    let mut buf = [0u8; 4096];
    let msg = loop {
        match sys::read(&reader, &mut buf) {
            Ok(n) => break &buf[..n],
            Err(syscalls::Errno::EINTR) => continue,
            Err(e) => return Err(Error::sys("read the supervisor's message", e)),
        }
    };
    match msg {
        [0] => {
            sys::write_stdout(format!("{id}\n").as_bytes());
            Ok(0)
        }
        [_, ..] => {
            let (code, text) = spawn::decode(msg);
            Err(Error::reported(code, text))
        }
        [] => Err(Error::new(
            format!("container {id:?}"),
            "its supervisor ended before the container started",
        )
        .hint("see 'nsbox logs' for its output, and 'nsbox gc' to remove what it left")),
    }
}
