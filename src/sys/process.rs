//! Processes: clone on a private stack, prctl, wait4, kill, identity, hostname, execve, exit.

use super::{q, traced};
use crate::flags::{self, CLONE};
use std::ffi::{CStr, CString};
use syscalls::{Errno, Sysno};

/// Size of the child's stack. The child runs nsbox's own setup code until execve replaces it.
const STACK_SIZE: usize = 256 * 1024;
const PAGE: usize = 4096;

/// The entry point libc's clone wrapper calls on the new stack.
extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the `&mut dyn FnMut` that `clone_with_stack` passed; the child has
    // its own copy of the parent's memory (no CLONE_VM), so the pointer is valid here.
    let body = unsafe { &mut *(arg as *mut &mut dyn FnMut() -> i32) };
    body()
}

/// clone(2) with `flags` (namespace flags | SIGCHLD), running `body` in the child on a fresh
/// mmap'd stack whose lowest page is a guard page. Returns the child's pid in the parent.
///
/// Without CLONE_VM the child is a copy-on-write copy of this (single-threaded) process, so it
/// may allocate and use everything the parent had; it never returns into the parent's frames.
pub fn clone_with_stack(flags: i32, body: &mut dyn FnMut() -> i32) -> Result<i32, Errno> {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let map = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK;
    let base = traced(
        || {
            format!(
                "mmap(NULL, {STACK_SIZE}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0)"
            )
        },
        // SAFETY: an anonymous private mapping touches no existing memory.
        || unsafe { syscalls::syscall!(Sysno::mmap, 0, STACK_SIZE, prot, map, -1i32, 0) },
    )?;
    traced(
        || format!("mprotect({base:#x}, {PAGE}, PROT_NONE)"),
        // SAFETY: the first page of the mapping we just made becomes the guard page.
        || unsafe { syscalls::syscall!(Sysno::mprotect, base, PAGE, libc::PROT_NONE) },
    )?;
    let top = (base + STACK_SIZE) as *mut libc::c_void;
    let mut body: &mut dyn FnMut() -> i32 = body;
    let arg = &mut body as *mut &mut dyn FnMut() -> i32 as *mut libc::c_void;
    // The child runs (and traces) as soon as clone returns in it: announce the call first.
    let shown = flags::decode((flags & !0xff) as u64, CLONE);
    crate::trace::before(|| format!("clone(<child>, {top:p}, {shown}|SIGCHLD, <arg>)"));
    let t0 = crate::trace::clock();
    // SAFETY: `top` is the 16-byte aligned end of a writable mapping used by nobody else;
    // `child_entry` only dereferences `arg` as set up above.
    let pid = unsafe { libc::clone(child_entry, top, flags, arg) };
    let result = if pid < 0 {
        Err(Errno::new(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL),
        ))
    } else {
        Ok(pid as usize)
    };
    if pid != 0 {
        crate::trace::syscall(t0, || "... clone resumed".to_string(), &result);
    }
    result.map(|p| p as i32)
}

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
    if libc::WIFSIGNALED(status) {
        Ok(Some(Exit::Signal(libc::WTERMSIG(status))))
    } else {
        Ok(Some(Exit::Code(libc::WEXITSTATUS(status))))
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
pub fn set_identity(uid: u32, gid: u32) -> Result<(), (&'static str, Errno)> {
    traced(
        || "setgroups(0, NULL)".into(),
        // SAFETY: an empty list; no memory is read.
        || unsafe { syscalls::syscall!(Sysno::setgroups, 0, 0) },
    )
    .map_err(|e| ("setgroups", e))?;
    if uid == 0 && gid == 0 {
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

/// execve(2). Returns only on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> Errno {
    let mut args: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    args.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    crate::trace::before(|| format!("execve({}, {:?}, <{} vars>)", q(path), argv, envp.len()));
    // SAFETY: `path` and every element are NUL-terminated and both arrays end with NULL; all of
    // them live until execve returns (it only returns on failure).
    let r =
        unsafe { syscalls::syscall!(Sysno::execve, path.as_ptr(), args.as_ptr(), env.as_ptr()) };
    let e = r.err().unwrap_or(Errno::EINVAL);
    crate::trace::syscall(
        crate::trace::clock(),
        || format!("execve({})", q(path)),
        &Err(e),
    );
    e
}

/// exit_group(2) right away: no atexit handlers, no flushing of buffers copied from the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: exit_group never returns and touches no memory.
    unsafe {
        let _ = syscalls::syscall!(Sysno::exit_group, code);
    }
    unreachable!("exit_group returned")
}
