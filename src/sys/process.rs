//! Processes: prctl, wait4, kill, identity, hostname, unshare, sleep, execve, exit.

use super::{q, traced};
use crate::flags::{self, CLONE};
use std::ffi::{CStr, CString};
use std::time::Duration;
use syscalls::{Errno, Sysno};

/// prctl(PR_SET_PDEATHSIG, sig): the kernel sends `sig` to us when our parent dies.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    traced(
        || format!("prctl(PR_SET_PDEATHSIG, {})", flags::signal_name(sig)),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_SET_PDEATHSIG, sig) },
    )
    .map(drop)
}

/// prctl(PR_SET_NAME, name): what `ps` and `strace -f` show for this process until execve.
pub fn set_name(name: &CStr) -> Result<(), Errno> {
    traced(
        || format!("prctl(PR_SET_NAME, {})", q(name)),
        // SAFETY: `name` is NUL-terminated; the kernel copies at most 16 bytes.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_SET_NAME, name.as_ptr()) },
    )
    .map(drop)
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The exit code a shell would report: the code, or 128+N for signal N.
    pub fn code(self) -> u8 {
        match self {
            Exit::Code(c) => c as u8,
            Exit::Signal(s) => 128u8.saturating_add(s as u8),
        }
    }
}

/// wait4(pid, WNOHANG): `Some(exit)` once `pid` has ended, `None` while it runs.
pub fn wait_nohang(pid: i32) -> Result<Option<Exit>, Errno> {
    let mut status: libc::c_int = 0;
    let r = traced(
        || format!("wait4({pid}, <status>, WNOHANG, NULL)"),
        // SAFETY: `status` is valid for writes; no rusage is asked for.
        || unsafe {
            syscalls::syscall!(
                Sysno::wait4,
                pid,
                &mut status as *mut libc::c_int,
                libc::WNOHANG,
                0
            )
        },
    )?;
    if r == 0 {
        return Ok(None);
    }
    Ok(Some(decode_status(status)))
}

/// wait4(pid): waits until `pid` has ended.
pub fn wait(pid: i32) -> Result<Exit, Errno> {
    let mut status: libc::c_int = 0;
    loop {
        let r = traced(
            || format!("wait4({pid}, <status>, 0, NULL)"),
            // SAFETY: `status` is valid for writes; no rusage is asked for.
            || unsafe {
                syscalls::syscall!(Sysno::wait4, pid, &mut status as *mut libc::c_int, 0, 0)
            },
        );
        match r {
            Ok(_) => return Ok(decode_status(status)),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A wait status as an exit code or the signal that ended the process.
pub fn decode_status(status: libc::c_int) -> Exit {
    if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    }
}

/// kill(2).
pub fn kill(pid: i32, sig: i32) -> Result<(), Errno> {
    traced(
        || format!("kill({pid}, {})", flags::signal_name(sig)),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::kill, pid, sig) },
    )
    .map(drop)
}

/// sethostname(2) in the current UTS namespace.
pub fn sethostname(name: &str) -> Result<(), Errno> {
    traced(
        || format!("sethostname({name:?}, {})", name.len()),
        // SAFETY: the kernel reads exactly `len` bytes from `name`.
        || unsafe { syscalls::syscall!(Sysno::sethostname, name.as_ptr(), name.len()) },
    )
    .map(drop)
}

/// setgroups(0, NULL), setresgid(gid x3), setresuid(uid x3): become `uid:gid` with no
/// supplementary groups (for 0:0, only the groups change: the caller runs as root). Groups and gid first: after setresuid we may no longer change them.
/// `groups`: the supplementary groups to have instead of none.
pub fn set_identity(
    uid: u32,
    gid: u32,
    groups: &[u32],
    how: Identity,
) -> Result<(), (&'static str, Errno)> {
    if how != Identity::GroupsDenied {
        match groups.is_empty() {
            true => drop_groups(),
            false => set_groups(groups),
        }
        .map_err(|e| ("setgroups", e))?;
    }
    if uid == 0 && gid == 0 && how == Identity::HostRoot {
        // Already root:root (nsbox requires it): nothing else changes.
        return Ok(());
    }
    traced(
        || format!("setresgid({gid}, {gid}, {gid})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::setresgid, gid, gid, gid) },
    )
    .map_err(|e| ("setresgid", e))?;
    traced(
        || format!("setresuid({uid}, {uid}, {uid})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::setresuid, uid, uid, uid) },
    )
    .map_err(|e| ("setresuid", e))?;
    Ok(())
}

/// setgroups(0, NULL): no supplementary groups.
pub fn drop_groups() -> Result<(), Errno> {
    traced(
        || "setgroups(0, NULL)".into(),
        // SAFETY: an empty list; no memory is read.
        || unsafe { syscalls::syscall!(Sysno::setgroups, 0, 0) },
    )
    .map(drop)
}

/// setgroups(2) with a list: the supplementary groups of an OCI process's user.
pub fn set_groups(groups: &[u32]) -> Result<(), Errno> {
    traced(
        || format!("setgroups({}, {groups:?})", groups.len()),
        // SAFETY: the kernel reads `len` gid_t values from the slice.
        || unsafe { syscalls::syscall!(Sysno::setgroups, groups.len(), groups.as_ptr()) },
    )
    .map(drop)
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL): a new anonymous session keyring.
pub fn new_session_keyring() -> Result<(), Errno> {
    traced(
        || "keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)".into(),
        // SAFETY: a NULL name asks for an anonymous keyring; no memory is read.
        || unsafe { syscalls::syscall!(Sysno::keyctl, 1, 0) },
    )
    .map(drop)
}

/// setdomainname(2) in the current UTS namespace.
pub fn setdomainname(name: &str) -> Result<(), Errno> {
    traced(
        || format!("setdomainname({name:?}, {})", name.len()),
        // SAFETY: the kernel reads exactly `len` bytes from `name`.
        || unsafe { syscalls::syscall!(Sysno::setdomainname, name.as_ptr(), name.len()) },
    )
    .map(drop)
}

/// prlimit64(0, resource, {soft, hard}, NULL): sets this process's limit.
pub fn set_rlimit(resource: u32, soft: u64, hard: u64) -> Result<(), Errno> {
    let limit = [soft, hard];
    traced(
        || format!("prlimit64(0, {resource}, {{{soft}, {hard}}}, NULL)"),
        // SAFETY: the kernel reads one struct rlimit64 (two u64) from `limit`; no output.
        || unsafe { syscalls::syscall!(Sysno::prlimit64, 0, resource, limit.as_ptr(), 0) },
    )
    .map(drop)
}

/// Where `set_identity` starts from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Identity {
    /// The host's root (no user namespace).
    HostRoot,
    /// In a user namespace: the ids are set even to 0 (the process may still be the
    /// caller's host uid, unmapped or mapped to another id).
    UserNs,
    /// In a user namespace whose setgroups is denied (an unprivileged caller): no setgroups.
    GroupsDenied,
}

/// execve(2). Returns only on failure. With `mask`, the signal mask is put back just before
/// it, and the one before taken back if it fails: for a traced process, whose trace lines must
/// be written while SIGPIPE is still blocked (a reader of the trace that went away must not kill
/// the command's process); a SIGPIPE such a write raised meanwhile is discarded first.
pub fn execve(
    path: &CStr,
    argv: &[CString],
    envp: &[CString],
    mask: Option<super::signal::SigSet>,
) -> Errno {
    let mut args: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    crate::trace::before(|| format!("execve({}, {:?}, <{} vars>)", q(path), argv, envp.len()));
    let pipe = super::signal::SigSet::of(&[libc::SIGPIPE]).0;
    let zero = [0u64; 2];
    let mut before = 0u64;
    // SAFETY: `path` and every element are NUL-terminated and both arrays end with NULL; all of
    // them live until execve returns (it only returns on failure). The sigsets are 8-byte kernel
    // sets; a zero timespec makes rt_sigtimedwait take a pending SIGPIPE or return EAGAIN.
    let r = unsafe {
        if let Some(m) = mask {
            let _ = syscalls::syscall!(
                Sysno::rt_sigtimedwait,
                &pipe as *const u64,
                0,
                zero.as_ptr(),
                8
            );
            let _ = syscalls::syscall!(
                Sysno::rt_sigprocmask,
                libc::SIG_SETMASK,
                &m.0 as *const u64,
                &mut before as *mut u64,
                8
            );
        }
        let r = syscalls::syscall!(Sysno::execve, path.as_ptr(), args.as_ptr(), env.as_ptr());
        if mask.is_some() {
            let _ = syscalls::syscall!(
                Sysno::rt_sigprocmask,
                libc::SIG_SETMASK,
                &before as *const u64,
                0,
                8
            );
        }
        r
    };
    let e = r.err().unwrap_or(Errno::EINVAL);
    crate::trace::syscall(
        crate::trace::clock(),
        || format!("execve({})", q(path)),
        &Err(e),
    );
    e
}

/// sched_setaffinity(0, ...): the calling thread may run only on `cpus` (numbers < 4096).
pub fn set_affinity(cpus: &[u32]) -> Result<(), Errno> {
    let mut mask = [0u64; 64];
    for &cpu in cpus.iter().filter(|c| **c < 4096) {
        mask[cpu as usize / 64] |= 1 << (cpu % 64);
    }
    traced(
        || {
            format!(
                "sched_setaffinity(0, {}, {cpus:?})",
                std::mem::size_of_val(&mask)
            )
        },
        // SAFETY: `mask` is valid for reads of its size.
        || unsafe {
            syscalls::syscall!(
                Sysno::sched_setaffinity,
                0,
                std::mem::size_of_val(&mask),
                mask.as_ptr()
            )
        },
    )
    .map(drop)
}

/// unshare(2) of the namespaces in `flags`.
pub fn unshare(flags: i32) -> Result<(), Errno> {
    traced(
        || format!("unshare({})", flags::decode(flags as u64, CLONE)),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::unshare, flags) },
    )
    .map(drop)
}

/// personality(2): the execution domain (PER_LINUX, PER_LINUX32) of this process and what it
/// executes.
pub fn set_personality(persona: u64) -> Result<(), Errno> {
    traced(
        || format!("personality({persona:#x})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::personality, persona) },
    )
    .map(drop)
}

/// clock_nanosleep(CLOCK_MONOTONIC) for `d` (a signal that interrupts it ends it early).
pub fn sleep(d: Duration) {
    let ts = libc::timespec {
        tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: d.subsec_nanos() as libc::c_long,
    };
    let _ = traced(
        || {
            format!(
                "clock_nanosleep(CLOCK_MONOTONIC, 0, {{{}us}}, NULL)",
                d.as_micros()
            )
        },
        // SAFETY: `ts` is a valid timespec for the call; no remainder is asked for.
        || unsafe {
            syscalls::syscall!(
                Sysno::clock_nanosleep,
                libc::CLOCK_MONOTONIC,
                0,
                &ts as *const libc::timespec,
                0
            )
        },
    );
}

/// clock_gettime(CLOCK_REALTIME): the wall clock, as time since the epoch (file times use it).
pub fn now_realtime() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let _ = traced(
        || "clock_gettime(CLOCK_REALTIME, <ts>)".into(),
        // SAFETY: `ts` is valid for writes.
        || unsafe {
            syscalls::syscall!(
                Sysno::clock_gettime,
                libc::CLOCK_REALTIME,
                &mut ts as *mut libc::timespec
            )
        },
    );
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// exit_group(2) right away: no atexit handlers, no flushing of buffers copied from the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: exit_group never returns and touches no memory.
    unsafe {
        let _ = syscalls::syscall!(Sysno::exit_group, code);
    }
    unreachable!("exit_group returned")
}
