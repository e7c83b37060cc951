//! `-t`: the container's terminal, end to end.
//!
//!   child (after pivot_root): open /dev/ptmx of the container's own devpts -> bind the slave
//!     on /dev/console -> send the master to nsbox (SCM_RIGHTS over the sync channel) -> setsid,
//!     TIOCSCTTY, the slave on fds 0-2
//!   nsbox: receive the master -> the caller's terminal raw, its window size copied -> relay
//!     bytes both ways and signals (a signalfd) until the container ends -> terminal restored
//!
//! The pty comes from the container's devpts instance, so `tty` inside prints /dev/pts/N of
//! the container and no host pty is reachable from it.

use crate::container::spawn::{self, ChildChannel};
use crate::container::supervise::{self, Supervisor};
use crate::error::{Context, Error, Result};
use crate::sys::{self, fs, mount, process::Exit, pty, term};
use crate::terminal::tty::{self, FdSink, RawMode, Sink};
use std::os::fd::{AsRawFd, OwnedFd};

/// In the container (after pivot_root or chroot): a pty from its devpts; the master goes to
/// nsbox, the slave becomes the controlling terminal and fds 0-2. `console`: also bind the
/// slave on /dev/console (for the container's first process, not for exec).
pub fn attach_in_container(channel: &ChildChannel, console: bool) -> Result<()> {
    crate::trace::step(|| "open a pty of the container's devpts (-t)".into());
    let (master, slave) = tty::open_pty()?;
    if console {
        let n = pty::number(&master).ctx(|| "the pty's number (TIOCGPTN)".into())?;
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let target = fs::openat(libc::AT_FDCWD, c"/dev/console", flags, 0o600)
            .ctx(|| "create /dev/console".into())?;
        sys::close(target);
        let source = sys::cstr(format!("/dev/pts/{n}")).ctx(|| "pty path".into())?;
        mount::mount(Some(&source), c"/dev/console", None, libc::MS_BIND, None)
            .ctx(|| format!("bind /dev/pts/{n} on /dev/console"))?;
    }
    channel.send_fd(&master)?;
    sys::close(master);
    tty::attach(slave)
}

/// `-t` in the foreground needs a terminal to relay: said before anything is created.
pub fn require_terminal(flag: &str) -> Result<()> {
    if term::is_terminal(&0) {
        return Ok(());
    }
    Err(Error::new(
        format!("{flag} -t"),
        "stdin is not a terminal, and -t relays one to the container",
    )
    .hint("run it from a terminal, or leave out -t (a detached container, -d -t, needs none)"))
}

/// nsbox's side, before the child is released: the pty master, with the caller's window size
/// already on it (`detached`: there is no caller's terminal), so the command's first look at
/// its terminal sees the right size.
pub fn receive_master(child: &spawn::Child, detached: bool) -> Option<OwnedFd> {
    let master = child.receive_fd()?;
    if !detached {
        tty::copy_winsize(0, master.as_raw_fd());
    }
    Some(master)
}

/// OCI `create --console-socket`: the master goes to the socket (one SCM_RIGHTS message, as
/// runc sends it; the client relays the terminal from then on), with `process.consoleSize`.
pub fn hand_over(
    master: &OwnedFd,
    socket: &std::path::Path,
    size: Option<(u16, u16)>,
) -> Result<()> {
    send_master(&connect(socket)?, master, size)
}

/// Connects to the console socket (before a process that joins a container leaves the host's
/// mount namespace, where the path means something).
pub fn connect(socket: &std::path::Path) -> Result<OwnedFd> {
    sys::unix_connect(&sys::cpath(socket)?).ctx(|| format!("the console socket {socket:?}"))
}

/// Sends the master over the connected console socket `sock`, with the size set first.
pub fn send_master(sock: &OwnedFd, master: &OwnedFd, size: Option<(u16, u16)>) -> Result<()> {
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        term::set_winsize(master, &ws).ctx(|| "set the terminal's size (TIOCSWINSZ)".into())?;
    }
    crate::trace::step(|| "send the pty master to the console socket".into());
    pty::send_fd(sock, master, b"/dev/ptmx")
        .map(drop)
        .ctx(|| "send the pty master to the console socket".into())
}

/// nsbox's side: relays between the caller's terminal and the pty master (`log`: no caller,
/// output only, into a detached container's log), and handles signals, until the process
/// `sup` watches ends.
pub fn relay(master: OwnedFd, sup: Supervisor, log: Option<&mut dyn Sink>) -> Result<Exit> {
    let mut sup = sup.with_own_terminal();
    let signals = term::signalfd(supervise::supervised_set())
        .ctx(|| "signalfd for the terminal relay".into())?;
    let mut stdout = FdSink(1);
    let (input, output): (_, &mut dyn Sink) = match log {
        Some(log) => (None, log),
        None => (Some(0), &mut stdout),
    };
    let _raw = match input {
        Some(fd) => Some(RawMode::enter(fd)?),
        None => None,
    };
    tty::relay(&master, input, output, &signals, |sig| sup.handle(sig))
}
