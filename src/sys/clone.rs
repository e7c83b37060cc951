//! Creating the container's first process on a private stack: clone(2), or clone3(2) with
//! CLONE_INTO_CGROUP so that it is born inside its cgroup (no migration afterwards, which on
//! many kernels costs an RCU grace period: several milliseconds).

use super::traced;
use crate::flags::{self, CLONE};
use std::os::fd::RawFd;
use syscalls::{Errno, Sysno};

/// Size of the child's stack. The child runs nsbox's own setup code until execve replaces it.
const STACK_SIZE: usize = 256 * 1024;
const PAGE: usize = 4096;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The entry point both clone paths call on the new stack.
extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` points at the `&mut dyn FnMut` that `spawn` passed; the child has its own
    // copy of the parent's memory (no CLONE_VM), so the pointer is valid here.
    let body = unsafe { &mut *(arg as *mut &mut dyn FnMut() -> i32) };
    body()
}

/// A fresh stack: an mmap'd region whose lowest page is a guard page. Returns its top.
pub fn stack() -> Result<usize, Errno> {
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
    Ok(base + STACK_SIZE)
}

/// How the child is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum How {
    /// clone(2).
    Clone,
    /// clone3(2) with CLONE_INTO_CGROUP: the child starts in the cgroup v2 directory `fd`.
    IntoCgroup(RawFd),
}

/// Runs `body` in a child created with `flags` (namespaces; SIGCHLD is added) on the stack
/// whose top is `top`. Returns the child's pid in the parent. Without CLONE_VM the child is a
/// copy-on-write copy of this single-threaded process; it never returns into the parent's
/// frames (`body` ends in execve or exit).
pub fn spawn(
    how: How,
    flags: i32,
    top: usize,
    body: &mut dyn FnMut() -> i32,
) -> Result<i32, Errno> {
    let mut body: &mut dyn FnMut() -> i32 = body;
    let arg = &mut body as *mut &mut dyn FnMut() -> i32 as *mut libc::c_void;
    let shown = flags::decode(flags as u64, CLONE);
    let t0 = crate::trace::clock();
    let pid = match how {
        How::Clone => {
            // The child runs (and traces) as soon as clone returns in it: announce it first.
            crate::trace::before(|| format!("clone(<child>, {top:#x}, {shown}|SIGCHLD, <arg>)"));
            // SAFETY: `top` is the 16-byte aligned end of a writable mapping used by nobody
            // else; `child_entry` only dereferences `arg` as set up above.
            let pid = unsafe {
                libc::clone(
                    child_entry,
                    top as *mut libc::c_void,
                    flags | libc::SIGCHLD,
                    arg,
                )
            };
            if pid < 0 {
                Err(Errno::new(
                    std::io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EINVAL),
                ))
            } else {
                Ok(pid as usize)
            }
        }
        How::IntoCgroup(cgroup) => {
            let args = CloneArgs {
                flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                stack: (top - STACK_SIZE) as u64,
                stack_size: STACK_SIZE as u64,
                cgroup: cgroup as u64,
                ..CloneArgs::default()
            };
            crate::trace::before(|| {
                format!(
                    "clone3({{flags={shown}|CLONE_INTO_CGROUP, exit_signal=SIGCHLD, stack={:#x}, stack_size={STACK_SIZE}, cgroup={cgroup}}}, {})",
                    args.stack,
                    std::mem::size_of::<CloneArgs>()
                )
            });
            // SAFETY: `args` describes a stack nobody else uses and a cgroup fd we hold; the
            // child side of `raw_clone3` only calls `child_entry(arg)` and exits.
            let r = unsafe { raw_clone3(&args, child_entry, arg) };
            if r < 0 {
                Err(Errno::new(-r as i32))
            } else {
                Ok(r as usize)
            }
        }
    };
    crate::trace::syscall(t0, || "... clone resumed".to_string(), &pid);
    pid.map(|p| p as i32)
}

/// struct clone_args from linux/sched.h (CLONE_ARGS_SIZE_VER2: with `cgroup`).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3(2) with a new stack. Like every libc's clone wrapper this must be assembly: the
/// child comes back from the syscall on the new stack, where no Rust frame exists, so it calls
/// `entry(arg)` from there and exits with its result. Returns the child's pid or -errno.
///
/// # Safety
/// `args` must name a valid, otherwise unused stack; `entry` must never return into frames of
/// the parent (it cannot: the child exits right after it).
#[cfg(target_arch = "x86_64")]
unsafe fn raw_clone3(
    args: &CloneArgs,
    entry: extern "C" fn(*mut libc::c_void) -> libc::c_int,
    arg: *mut libc::c_void,
) -> isize {
    let ret: isize;
    // SAFETY: the parent path is a plain syscall (rcx, r11 clobbered by it). The child path
    // runs on the stack from `args` (rsp = its 16-byte aligned top), clears the frame pointer,
    // calls entry(arg) with r12/r13 (which the syscall preserves) and exits with its result.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const Sysno::exit as usize,
            inlateout("rax") Sysno::clone3 as isize => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") std::mem::size_of::<CloneArgs>(),
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Whether this kernel (and any seccomp filter nsbox runs under) lets clone3 through: a call
/// with no arguments is refused with EINVAL by a kernel that has it, ENOSYS (or a filter's
/// answer) otherwise. Creates nothing.
pub fn clone3_available() -> Result<(), Errno> {
    let r = traced(
        || "clone3(NULL, 0)".into(),
        // SAFETY: with size 0 the kernel rejects the call before it reads any memory.
        || unsafe { syscalls::syscall!(Sysno::clone3, 0, 0) },
    );
    match r {
        Err(Errno::EINVAL) => Ok(()),
        Err(e) => Err(e),
        // Cannot happen (size 0 is never valid); not a process either way.
        Ok(_) => Ok(()),
    }
}
