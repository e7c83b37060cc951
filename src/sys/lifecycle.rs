//! Processes that manage containers: fork (the supervisor of a detached container, the command
//! of `--init`), sessions, setns, dumpability, and reaping any child.

use super::{process::Exit, traced};
use crate::flags::{self, CLONE};
use std::os::fd::AsRawFd;
use syscalls::{Errno, Sysno};

/// fork(2) through the C library (nsbox has no threads, so the child is a full copy).
/// Returns 0 in the child and the child's pid in the parent.
pub fn fork() -> Result<i32, Errno> {
    let t0 = crate::trace::clock();
    // SAFETY: nsbox is single-threaded, so the child is a consistent copy of this process.
    let pid = unsafe { libc::fork() };
    let r = if pid < 0 {
        Err(Errno::new(
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ))
    } else {
        Ok(pid as usize)
    };
    if pid != 0 {
        crate::trace::syscall(t0, || "fork()".into(), &r);
    }
    r.map(|p| p as i32)
}

/// Runs the program `args[0]` (an absolute path) with `args` and an empty environment, and
/// returns its exit code (128+N for signal N): fork, execve, wait4. For the setuid helpers
/// newuidmap and newgidmap; they write their own errors on stderr.
pub fn run_helper(args: &[String]) -> Result<u8, Errno> {
    let argv = args
        .iter()
        .map(|a| std::ffi::CString::new(a.as_bytes()).map_err(|_| Errno::EINVAL))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(path) = argv.first() else {
        return Err(Errno::EINVAL);
    };
    match fork()? {
        0 => {
            let _ = super::process::execve(path, &argv, &[], None);
            super::process::exit_now(127)
        }
        pid => super::process::wait(pid).map(|exit| exit.code()),
    }
}

/// pidfd_open(pid, 0): a descriptor that becomes readable when the process `pid` ends.
pub fn pidfd_open(pid: i32) -> Result<std::os::fd::OwnedFd, Errno> {
    traced(
        || format!("pidfd_open({pid}, 0)"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::pidfd_open, pid, 0) },
    )
    // SAFETY: pidfd_open just created the descriptor; nothing else owns it.
    .map(|fd| unsafe { super::owned(fd) })
}

/// setsid(2): a new session and process group, without a controlling terminal.
pub fn setsid() -> Result<(), Errno> {
    traced(
        || "setsid()".into(),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::setsid) },
    )
    .map(drop)
}

/// getpid(2).
pub fn getpid() -> i32 {
    // SAFETY: getpid cannot fail and takes no memory.
    unsafe { syscalls::syscall!(Sysno::getpid) }.unwrap_or(0) as i32
}

/// prctl(PR_SET_DUMPABLE, 0): other processes of our uid (root in a container, say) can no
/// longer open our /proc/PID/exe, fd/, mem or ptrace us.
pub fn set_undumpable() -> Result<(), Errno> {
    traced(
        || "prctl(PR_SET_DUMPABLE, 0)".into(),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_SET_DUMPABLE, 0) },
    )
    .map(drop)
}

/// setns(fd, nstype): joins the namespace that `fd` (a /proc/PID/ns/* file) stands for.
pub fn setns(fd: &impl AsRawFd, nstype: i32) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("setns({fd}, {})", flags::decode(nstype as u64, CLONE)),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::setns, fd, nstype) },
    )
    .map(drop)
}

/// wait4(-1, WNOHANG): one ended child, `Some((pid, exit))`, or `None` when none has ended
/// (ECHILD, no children at all, is `None` too).
pub fn reap_any() -> Result<Option<(i32, Exit)>, Errno> {
    let mut status: libc::c_int = 0;
    let r = traced(
        || "wait4(-1, <status>, WNOHANG, NULL)".into(),
        // SAFETY: `status` is valid for writes; no rusage is asked for.
        || unsafe {
            syscalls::syscall!(
                Sysno::wait4,
                -1i32,
                &mut status as *mut libc::c_int,
                libc::WNOHANG,
                0
            )
        },
    );
    match r {
        Ok(0) | Err(Errno::ECHILD) => Ok(None),
        Ok(pid) => Ok(Some((pid as i32, super::process::decode_status(status)))),
        Err(e) => Err(e),
    }
}
