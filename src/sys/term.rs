//! Terminal settings and window size, and what a relay loop waits with: signalfd, poll and
//! non-blocking descriptors.

use super::pty::ioctl;
use super::signal::{Received, SigSet};
use super::{owned, traced};
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::{Errno, Sysno};

/// ioctl(TCGETS): the terminal's settings (tcgetattr). The kernel fills the leading fields
/// that its own `struct termios` has (through c_cc[18]); the rest of libc's larger struct
/// stays zero.
pub fn get_attr(fd: &impl AsRawFd) -> Result<libc::termios, Errno> {
    // SAFETY: termios is plain old data; all-zero is a valid value.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    let arg = &mut t as *mut libc::termios as usize;
    // SAFETY: TCGETS writes a kernel termios (36 bytes), a prefix of libc's, which `t` is.
    unsafe {
        ioctl(
            fd.as_raw_fd(),
            libc::TCGETS,
            "TCGETS",
            || "<termios>".into(),
            arg,
        )
    }?;
    Ok(t)
}

/// ioctl(TCSETS): applies settings at once (tcsetattr TCSANOW).
///
/// Not TCSETSW (TCSADRAIN): output processing (ONLCR, ...) is done when bytes are written, not
/// when they leave, so waiting for the output queue to drain changes nothing about how earlier
/// output looks, and it can wait forever on a terminal whose output is stopped (^S, a pty
/// master nobody reads), which would hang nsbox while it restores the caller's terminal.
pub fn set_attr(fd: &impl AsRawFd, t: &libc::termios) -> Result<(), Errno> {
    let arg = t as *const libc::termios as usize;
    let shown = || {
        format!(
            "{{c_iflag={:#o}, c_oflag={:#o}, c_cflag={:#o}, c_lflag={:#o}}}",
            t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag
        )
    };
    // SAFETY: TCSETS reads a kernel termios (36 bytes), a prefix of `*t`.
    unsafe { ioctl(fd.as_raw_fd(), libc::TCSETS, "TCSETS", shown, arg) }.map(drop)
}

/// Whether `fd` is a terminal (isatty: TCGETS succeeds).
pub fn is_terminal(fd: &impl AsRawFd) -> bool {
    get_attr(fd).is_ok()
}

/// ioctl(TIOCGWINSZ): the terminal's window size.
pub fn get_winsize(fd: &impl AsRawFd) -> Result<libc::winsize, Errno> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let arg = &mut ws as *mut libc::winsize as usize;
    // SAFETY: TIOCGWINSZ writes one struct winsize, which `ws` is.
    unsafe {
        ioctl(
            fd.as_raw_fd(),
            libc::TIOCGWINSZ,
            "TIOCGWINSZ",
            || "<winsize>".into(),
            arg,
        )
    }?;
    Ok(ws)
}

/// ioctl(TIOCSWINSZ): sets the window size; on a change the kernel sends SIGWINCH to the
/// terminal's foreground process group.
pub fn set_winsize(fd: &impl AsRawFd, ws: &libc::winsize) -> Result<(), Errno> {
    let arg = ws as *const libc::winsize as usize;
    let shown = || format!("{{ws_row={}, ws_col={}}}", ws.ws_row, ws.ws_col);
    // SAFETY: TIOCSWINSZ reads one struct winsize, which `*ws` is.
    unsafe { ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, "TIOCSWINSZ", shown, arg) }.map(drop)
}

/// signalfd4(-1, set, 8, SFD_CLOEXEC): a descriptor that reads the signals of `set` (they must
/// be blocked, or they are delivered as usual instead).
pub fn signalfd(set: SigSet) -> Result<OwnedFd, Errno> {
    traced(
        || format!("signalfd4(-1, {:#x}, 8, SFD_CLOEXEC)", set.0),
        // SAFETY: `set` is a valid 8-byte kernel sigset that lives across the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::signalfd4,
                -1i32,
                &set.0 as *const u64,
                8,
                libc::SFD_CLOEXEC
            )
        },
    )
    // SAFETY: on success the syscall returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })
}

/// Reads one signal from a signalfd (blocking unless the fd is non-blocking): ssi_signo,
/// ssi_code and ssi_pid from its 128-byte signalfd_siginfo.
pub fn read_signal(fd: &impl AsRawFd) -> Result<Received, Errno> {
    let mut info = [0u8; 128];
    if super::read(fd, &mut info)? != info.len() {
        return Err(Errno::EIO);
    }
    let word = |at: usize| [info[at], info[at + 1], info[at + 2], info[at + 3]];
    Ok(Received {
        signo: u32::from_ne_bytes(word(0)) as i32,
        code: i32::from_ne_bytes(word(8)),
        // ssi_pid, after ssi_signo, ssi_errno and ssi_code.
        pid: u32::from_ne_bytes(word(12)) as i32,
    })
}

/// poll(2); EINTR restarts it (with the whole timeout again). Returns how many entries have
/// events; entries with a negative fd are skipped by the kernel.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize, Errno> {
    let n = fds.len();
    // The entries as `fd:events`, worked out before the call (the kernel writes `fds`), and
    // only when tracing.
    let shown = if crate::trace::enabled() {
        let list: Vec<String> = fds
            .iter()
            .map(|p| format!("{}:{:#x}", p.fd, p.events))
            .collect();
        list.join(" ")
    } else {
        String::new()
    };
    loop {
        let r = traced(
            || format!("poll([{shown}], {n}, {timeout_ms})"),
            // SAFETY: `fds` is valid for reads and writes of `n` pollfd entries.
            || unsafe { syscalls::syscall!(Sysno::poll, fds.as_mut_ptr(), n, timeout_ms) },
        );
        match r {
            Err(Errno::EINTR) => continue,
            r => return r,
        }
    }
}

/// fcntl(F_GETFL, F_SETFL): sets or clears O_NONBLOCK on the open file description (shared by
/// every descriptor and process that refers to it).
pub fn set_nonblocking(fd: &impl AsRawFd, on: bool) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    let flags = traced(
        || format!("fcntl({fd}, F_GETFL)"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fcntl, fd, libc::F_GETFL) },
    )? as i32;
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new == flags {
        return Ok(());
    }
    traced(
        || format!("fcntl({fd}, F_SETFL, {new:#o})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fcntl, fd, libc::F_SETFL, new) },
    )
    .map(drop)
}

/// write(2) of data (a terminal's bytes), traced by length only: `sys::write` shows the bytes,
/// which suits values written to cgroup files, not a stream of container output.
pub fn write_data(fd: &impl AsRawFd, buf: &[u8]) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    let len = buf.len();
    traced(
        || format!("write({fd}, <{len} bytes>, {len})"),
        // SAFETY: `buf` is valid for reads of `len` bytes.
        || unsafe { syscalls::syscall!(Sysno::write, fd, buf.as_ptr(), len) },
    )
}

/// libc's cfmakeraw: the reference that `tty::make_raw` is tested against.
#[cfg(test)]
pub fn cfmakeraw(t: &mut libc::termios) {
    // SAFETY: `t` is a valid, writable termios; cfmakeraw only changes its fields.
    unsafe { libc::cfmakeraw(t) }
}

/// tgkill(getpid(), gettid(), sig): a signal to the calling thread only (tests run in threads
/// of one process; a process-wide kill could land in another test's thread).
#[cfg(test)]
pub fn raise_in_thread(sig: i32) -> Result<(), Errno> {
    let pid = std::process::id();
    // SAFETY: gettid takes no arguments and cannot fail.
    let tid = unsafe { syscalls::syscall!(Sysno::gettid) }?;
    traced(
        || format!("tgkill({pid}, {tid}, {sig})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::tgkill, pid, tid, sig) },
    )
    .map(drop)
}
