//! clone(2) into new namespaces, and the sync channel between parent and child.
//!
//! The channel is one AF_UNIX SOCK_SEQPACKET pair, close-on-exec:
//! - parent -> child: one byte, "go", once the parent has done its part of the setup (the child
//!   builds its filesystem meanwhile, and waits only right before execve);
//! - child -> parent: at most one report, `[exit code][message]`, when a setup step or execve
//!   fails. A successful execve closes the child's end, so the parent then reads end-of-stream.
//! - OCI hooks: the child says `[1]` when its filesystem is built (before pivot_root); the
//!   parent runs its hooks and answers `h` and the child's host pid (for the hooks' state).

use crate::error::{Context, EXIT_NSBOX, Error, Result};
use crate::sys::clone::{self, How};
use crate::sys::{self, process};
use crate::trace;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use syscalls::Errno;

/// The running child, seen from the parent.
pub struct Child {
    pub pid: i32,
    sock: OwnedFd,
    /// A report read early (by `wait_started`), for `report`.
    early: std::cell::RefCell<Option<(u8, String)>>,
}

/// What the parent can get from the child on the channel.
enum Received {
    /// End of stream: every copy of the child's end is closed (execve succeeded).
    End,
    /// A descriptor (the pty master of `-t`).
    Fd(OwnedFd),
    /// A failure report (kept in `early`), or the channel failed.
    Report,
    /// OCI `create`: the container is built and waits for `start`.
    Created,
    /// OCI hooks: the filesystem is built, the pivot_root waits for the parent's hooks.
    Hooks,
}

/// The child's message for `Received::Created` (a report is never one byte: it has a line).
const CREATED: &[u8] = &[0];
/// The child's message for `Received::Hooks`.
const HOOKS: &[u8] = &[1];

/// The child's end of the channel, seen from the child.
#[derive(Clone, Copy)]
pub struct ChildChannel {
    sock: RawFd,
}

/// Clones a child into the namespaces of `flags` and runs `body` there. `body` never returns:
/// it ends in execve or in `ChildChannel::fail`. With `cgroup` (a cgroup v2 directory), the
/// child is born in it (clone3 CLONE_INTO_CGROUP); where clone3 is unavailable (old kernels,
/// some seccomp filters) plain clone is used and `body` is told (`false`) to move itself.
///
/// In the child, libc's idea of its own thread id is the parent's (the raw clone3 path skips
/// libc's fix-up): the child must not use raise(3) or abort(3). It does not: it reports over
/// the channel and leaves with exit_group.
pub fn spawn(
    flags: i32,
    cgroup: Option<RawFd>,
    body: impl FnOnce(ChildChannel, bool) -> std::convert::Infallible,
) -> Result<Child> {
    let (parent_end, child_end) =
        sys::seqpacket_pair().ctx(|| "create the parent/child sync socket".into())?;
    let channel = ChildChannel {
        sock: child_end.as_raw_fd(),
    };
    // The child closes its copy of the parent's end (so the parent's death reads as end-of-
    // stream): it takes it out of its own copy of this frame; the parent's copy keeps it.
    let parent_end = std::cell::Cell::new(Some(parent_end));
    let born_inside = std::cell::Cell::new(cgroup.is_some());
    let mut body = Some(body);
    let mut entry = || -> i32 {
        // First: every trace line from here on is the child's.
        trace::set_role(trace::Role::Child);
        if let Some(fd) = parent_end.take() {
            sys::close(fd);
        }
        if let Some(body) = body.take() {
            match body(channel, born_inside.get()) {}
        }
        EXIT_NSBOX as i32
    };
    let top = clone::stack().ctx(|| "map the child's stack".into())?;
    let how = cgroup.map(How::IntoCgroup).unwrap_or(How::Clone);
    let pid = match clone::spawn(how, flags, top, &mut entry) {
        // No clone3 (old kernel, a seccomp filter), or the kernel would not place the child
        // (EBUSY, EOPNOTSUPP, ...): plain clone, then the child moves itself, and if that
        // fails too its error names the cgroup.
        Err(e) if how != How::Clone && !matches!(e, Errno::EAGAIN | Errno::ENOMEM) => {
            trace::note(|| {
                format!(
                    "clone3 into the cgroup failed ({}): clone, then the child moves itself",
                    crate::error::errno_text(e)
                )
            });
            born_inside.set(false);
            clone::spawn(How::Clone, flags, top, &mut entry)
        }
        other => other,
    }
    .map_err(|e| clone_error(flags, e))?;
    sys::close(child_end);
    let sock = parent_end
        .take()
        .ok_or_else(|| Error::new("clone", "lost the sync socket"))?;
    Ok(Child {
        pid,
        sock,
        early: Default::default(),
    })
}

fn clone_error(flags: i32, e: Errno) -> Error {
    Error::sys(
        format!(
            "clone({})",
            crate::flags::decode(flags as u64, crate::flags::CLONE)
        ),
        e,
    )
    .hint_on(
        Errno::EPERM,
        "creating namespaces needs root (CAP_SYS_ADMIN)",
    )
    .hint_on(
        Errno::ENOSPC,
        "a namespace limit is reached: see /proc/sys/user/max_*_namespaces",
    )
    .hint_on(
        Errno::EINVAL,
        "this kernel lacks one of these namespaces (CONFIG_*_NS)",
    )
    .hint_on(
        Errno::EAGAIN,
        "a process limit is reached (ulimit -u, or pids.max of nsbox's cgroup)",
    )
}

impl Child {
    /// Lets the child go on to execve: the parent's part of the setup is done. If the child has
    /// already failed and exited (EPIPE), its report and exit status tell the rest.
    pub fn release(&self) -> Result<()> {
        match sys::send(&self.sock, b"g") {
            Ok(_) | Err(Errno::EPIPE) => Ok(()),
            Err(e) => Err(Error::sys(
                format!("release the child (pid {})", self.pid),
                e,
            )),
        }
    }

    /// Ends a child that must not run (a setup step of the parent failed) and reaps it.
    pub fn abort(&self) {
        let _ = process::kill(self.pid, libc::SIGKILL);
        while let Ok(None) = process::wait_nohang(self.pid) {
            let _ = sys::signal::wait(sys::signal::SigSet::of(&[libc::SIGCHLD]));
        }
    }

    /// Blocks until the command's execve succeeded (the child's end of the channel closes with
    /// it) or the child failed (its report arrives; `report` returns it later). Returns whether
    /// the command runs.
    pub fn wait_started(&self) -> bool {
        // A failure that came before (with the pty, say) is kept in `early`.
        if self.early.borrow().is_some() {
            return false;
        }
        matches!(self.receive(), Received::End)
    }

    /// OCI `create`: blocks until the child says it is built and waits for `start` (true), or
    /// failed (its report is kept for `report`).
    pub fn wait_created(&self) -> bool {
        matches!(self.receive(), Received::Created)
    }

    /// OCI hooks: blocks until the child's filesystem is built (true), or it failed.
    pub fn wait_for_hooks(&self) -> bool {
        matches!(self.receive(), Received::Hooks)
    }

    /// OCI hooks: the parent's hooks ran; the child may run its own and go on.
    pub fn hooks_done(&self) -> Result<()> {
        let mut msg = vec![b'h'];
        msg.extend_from_slice(&self.pid.to_ne_bytes());
        sys::send(&self.sock, &msg)
            .map(drop)
            .map_err(|e| Error::sys(format!("release the child (pid {})", self.pid), e))
    }

    /// Receives the descriptor the child sends (`-t`'s pty master). `None` when the child
    /// failed first: its report is kept for `report`.
    pub fn receive_fd(&self) -> Option<OwnedFd> {
        match self.receive() {
            Received::Fd(fd) => Some(fd),
            _ => None,
        }
    }

    /// The next message from the child, blocking; a report is kept for `report`.
    fn receive(&self) -> Received {
        // On the stack: no allocation (and no mmap of its size) per message.
        let mut buf = [0u8; REPORT_MAX];
        for _ in 0..3 {
            match sys::pty::recv_fd(&self.sock, &mut buf) {
                Ok((_, Some(fd))) => return Received::Fd(fd),
                Ok((0, None)) => return Received::End,
                Ok((1, None)) if buf[0] == 0 => return Received::Created,
                Ok((1, None)) if buf[0] == 1 => return Received::Hooks,
                Ok((n, None)) => {
                    *self.early.borrow_mut() = Some(decode(&buf[..n]));
                    return Received::Report;
                }
                // ECONNRESET: see `report`; the report, if any, is queued behind it.
                Err(Errno::ECONNRESET) | Err(Errno::EINTR) => continue,
                Err(_) => return Received::Report,
            }
        }
        Received::Report
    }

    /// The child's failure report, if it sent one. Call after the child has been reaped.
    pub fn report(&self) -> Option<(u8, String)> {
        if let Some(early) = self.early.borrow_mut().take() {
            return Some(early);
        }
        let mut buf = [0u8; REPORT_MAX];
        // A child that exits with our "go" still unread makes the kernel flag our end with
        // ECONNRESET: the first read returns that error, and the report is queued behind it.
        for _ in 0..2 {
            match sys::recv_nowait(&self.sock, &mut buf) {
                Ok(n) if n > 0 => return Some(decode(&buf[..n])),
                Err(Errno::ECONNRESET) => continue,
                _ => return None,
            }
        }
        None
    }
}

impl ChildChannel {
    /// Waits for "go". If the parent is gone, the read sees end-of-stream and the child quits:
    /// nobody would reap it or tear it down.
    pub fn wait_for_parent(&self) {
        let mut go = [0u8; 1];
        if !matches!(sys::read(&self.sock, &mut go), Ok(1)) {
            process::exit_now(EXIT_NSBOX as i32);
        }
    }

    /// Whether the parent still holds its end: a read that would block means it does; end-of-
    /// stream means it is gone. (Call after "go", which was the only byte it sends.)
    pub fn parent_alive(&self) -> bool {
        let mut byte = [0u8; 1];
        matches!(sys::recv_nowait(&self.sock, &mut byte), Err(Errno::EAGAIN))
    }

    /// OCI `create`: tells the parent that the container is built.
    pub fn created(&self) {
        let _ = sys::send(&self.sock, CREATED);
    }

    /// OCI hooks: tells the parent the filesystem is built, waits until its hooks ran, and
    /// returns this process's pid on the host. Quits if the parent is gone.
    pub fn pause_for_hooks(&self) -> i32 {
        let _ = sys::send(&self.sock, HOOKS);
        let mut msg = [0u8; 5];
        match sys::read(&self.sock, &mut msg) {
            Ok(5) if msg[0] == b'h' => i32::from_ne_bytes([msg[1], msg[2], msg[3], msg[4]]),
            _ => process::exit_now(EXIT_NSBOX as i32),
        }
    }

    /// Hands `fd` (the pty master of `-t`) to nsbox.
    pub fn send_fd(&self, fd: &OwnedFd) -> Result<()> {
        sys::pty::send_fd(&self.sock, fd, b"t")
            .map(drop)
            .ctx(|| "send the pty to nsbox (SCM_RIGHTS)".into())
    }

    /// Closes every descriptor from 3 up but this channel (and `output`, the pipe a detached
    /// container writes into, given onto 1 and 2 at the go): whatever nsbox opened on the host
    /// (state directory, cgroup files, netlink sockets, namespaces) and whatever its caller
    /// leaked to it. Called before anything of the container's is looked up (CVE-2024-21626).
    pub fn close_everything_else(&self, output: Option<RawFd>) -> Result<()> {
        trace::step(|| {
            let pipe = output.map(|fd| format!(" and the output pipe ({fd})"));
            format!(
                "close every descriptor from 3 up but the sync socket ({}){}: nothing of the host's stays open",
                self.sock,
                pipe.unwrap_or_default()
            )
        });
        let keep = [self.sock, output.unwrap_or(self.sock)];
        sys::fd::close_all_but(&keep).ctx(|| "close descriptors 3 and up (close_range)".into())
    }

    /// Closes this process's copy of the channel (a process that goes on without exec).
    pub fn close(self) {
        sys::fd::close_raw(self.sock);
    }

    /// Sends the error to the parent (which prints it) and exits with its code. Where the
    /// parent is gone (OCI `start` released the container, and `create` has ended), the line
    /// goes to the container's stderr.
    pub fn fail(&self, err: &Error) -> ! {
        trace::end_of_steps();
        if sys::send(&self.sock, &encode(err)).is_err() {
            crate::report_error(err);
        }
        process::exit_now(err.code as i32)
    }
}

/// The largest report; longer messages are cut (a report is one line for a human).
const REPORT_MAX: usize = 16 * 1024;

/// A report: the exit code, then the error's line.
pub fn encode(err: &Error) -> Vec<u8> {
    let mut msg = vec![err.code];
    msg.extend_from_slice(err.to_string().as_bytes());
    msg.truncate(REPORT_MAX);
    msg
}

/// The exit code and line of a report.
pub fn decode(msg: &[u8]) -> (u8, String) {
    match msg.split_first() {
        Some((code, text)) => (*code, String::from_utf8_lossy(text).into_owned()),
        None => (EXIT_NSBOX, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        let e = Error::new("exec \"x\"", "not found").code(127);
        assert_eq!(
            decode(&encode(&e)),
            (127, "exec \"x\": not found".to_string())
        );
        assert_eq!(decode(&[]), (EXIT_NSBOX, String::new()));
    }
}
