//! Signals: block and restore masks, wait for one synchronously, reset a disposition.
//!
//! nsbox installs no signal handlers: the parent blocks the signals it cares about before clone
//! and takes them one at a time with rt_sigtimedwait, so nothing runs asynchronously.

use super::traced;

// rt_sigaction below passes the kernel's struct sigaction as laid out on x86_64.
#[cfg(not(target_arch = "x86_64"))]
compile_error!("nsbox's raw signal calls assume the x86_64 kernel ABI");
use crate::flags::signal_name;
use syscalls::{Errno, Sysno};

/// The kernel's signal set: bit N-1 stands for signal N (64 signals on Linux).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub fn of(signals: &[i32]) -> Self {
        SigSet(signals.iter().fold(0, |m, &s| m | 1u64 << (s - 1)))
    }

    fn names(self) -> String {
        let names: Vec<String> = (1..=64)
            .filter(|s| self.0 & (1u64 << (s - 1)) != 0)
            .map(signal_name)
            .collect();
        format!("[{}]", names.join(" "))
    }
}

const SIGSET_SIZE: usize = 8;

/// rt_sigprocmask(SIG_BLOCK, set): returns the mask that was in force before.
pub fn block(set: SigSet) -> Result<SigSet, Errno> {
    let mut old = SigSet::default();
    traced(
        || {
            format!(
                "rt_sigprocmask(SIG_BLOCK, {}, <old>, {SIGSET_SIZE})",
                set.names()
            )
        },
        // SAFETY: both sets are valid 8-byte kernel sigsets that live across the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::rt_sigprocmask,
                libc::SIG_BLOCK,
                &set.0 as *const u64,
                &mut old.0 as *mut u64,
                SIGSET_SIZE
            )
        },
    )?;
    Ok(old)
}

/// rt_sigprocmask(SIG_SETMASK, mask): puts a saved mask back (the child does before execve).
pub fn set_mask(mask: SigSet) -> Result<(), Errno> {
    traced(
        || {
            format!(
                "rt_sigprocmask(SIG_SETMASK, {}, NULL, {SIGSET_SIZE})",
                mask.names()
            )
        },
        // SAFETY: `mask` is a valid 8-byte kernel sigset; no old set is asked for.
        || unsafe {
            syscalls::syscall!(
                Sysno::rt_sigprocmask,
                libc::SIG_SETMASK,
                &mask.0 as *const u64,
                0,
                SIGSET_SIZE
            )
        },
    )
    .map(drop)
}

/// One signal taken from the pending set: its number and si_code (SI_USER, SI_KERNEL, ...).
#[derive(Clone, Copy, Debug)]
pub struct Received {
    pub signo: i32,
    pub code: i32,
    /// The sender's pid (for SI_USER and SI_QUEUE; the raiser itself for a SIGPIPE of write).
    pub pid: i32,
}

/// rt_sigtimedwait(set, info, NULL): sleeps until a signal of `set` is pending and takes it.
/// EINTR (after SIGSTOP/SIGCONT, see signal(7)) just means: wait again.
pub fn wait(set: SigSet) -> Result<Received, Errno> {
    // siginfo_t is 128 bytes: si_signo at offset 0, si_errno at 4, si_code at 8, si_pid at 16.
    let mut info = [0i32; 32];
    loop {
        let r = traced(
            || {
                format!(
                    "rt_sigtimedwait({}, <info>, NULL, {SIGSET_SIZE})",
                    set.names()
                )
            },
            // SAFETY: `info` is a 128-byte buffer, the size of siginfo_t; no timeout is passed.
            || unsafe {
                syscalls::syscall!(
                    Sysno::rt_sigtimedwait,
                    &set.0 as *const u64,
                    info.as_mut_ptr(),
                    0,
                    SIGSET_SIZE
                )
            },
        );
        match r {
            Err(Errno::EINTR) => continue,
            r => {
                return r.map(|signo| Received {
                    signo: signo as i32,
                    code: info[2],
                    pid: info[4],
                });
            }
        }
    }
}

/// rt_sigaction(sig, SIG_DFL): undo an inherited "ignore" (an ignored SIGCHLD would make the
/// kernel reap the container itself, and its exit status would be lost).
pub fn set_default(sig: i32) -> Result<(), Errno> {
    // struct kernel_sigaction on x86_64: handler, flags, restorer, mask.
    let act: [u64; 4] = [libc::SIG_DFL as u64, 0, 0, 0];
    traced(
        || {
            format!(
                "rt_sigaction({}, {{SIG_DFL}}, NULL, {SIGSET_SIZE})",
                signal_name(sig)
            )
        },
        // SAFETY: `act` has the layout of the kernel's sigaction; no old action is asked for.
        || unsafe { syscalls::syscall!(Sysno::rt_sigaction, sig, act.as_ptr(), 0, SIGSET_SIZE) },
    )
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigset_bits() {
        assert_eq!(SigSet::of(&[libc::SIGHUP]).0, 1);
        assert_eq!(
            SigSet::of(&[libc::SIGINT, libc::SIGTERM]).0,
            (1 << 1) | (1 << 14)
        );
        assert_eq!(
            SigSet::of(&[libc::SIGINT, libc::SIGCHLD]).names(),
            "[SIGINT SIGCHLD]"
        );
    }
}
