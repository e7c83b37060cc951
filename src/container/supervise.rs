//! The parent's side of signals: forward what nsbox receives to the container's PID 1, and wait
//! for it to end.
//!
//! A pid namespace's init gets only the signals it has a handler for: the kernel drops the
//! others, even from the host, SIGKILL aside. So `sleep 100` as PID 1 would ignore Ctrl-C and
//! SIGTERM. nsbox looks at PID 1's dispositions when a signal comes: if PID 1 catches (or
//! deliberately ignores) it, nsbox forwards it; if PID 1 left it at the default action, nsbox
//! carries out that action itself (SIGKILL) and reports death by the original signal.

use crate::error::{Context, Result};
use crate::flags::signal_name;
use crate::sys::process::{self, Exit};
use crate::sys::signal::{self, Received, SigSet};
use crate::sys::{self, fs};
use crate::trace;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Signals sent to nsbox that go on to the container.
pub const FORWARDED: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];
/// si_code of a signal the kernel generated (a terminal's ^C or hangup).
pub const SI_KERNEL: i32 = 0x80;

fn waited() -> SigSet {
    let mut all = FORWARDED.to_vec();
    all.push(libc::SIGCHLD);
    SigSet::of(&all)
}

/// Blocks the forwarded signals and SIGCHLD, so they wait for `supervise` instead of killing
/// nsbox mid-setup, and SIGPIPE, so a closed stderr gives EPIPE instead of killing nsbox before
/// it tears down. Returns the caller's mask, which the child restores before execve.
/// Once called, the same answer again without a syscall: the OCI front end blocks before it
/// reads the config (to re-execute first), and the run it goes on with blocks too.
pub fn block() -> Result<SigSet> {
    if BLOCKED.load(Ordering::Relaxed) {
        return Ok(SigSet(CALLER_MASK.load(Ordering::Relaxed)));
    }
    // First, before anything is written to stderr (a traced call): SIGPIPE is blocked.
    let set = SigSet(supervised_set().0 | SigSet::of(&[libc::SIGPIPE]).0);
    let old = signal::block(set).ctx(|| "block signals until the container runs".into())?;
    signal::set_default(libc::SIGCHLD).ctx(|| "reset SIGCHLD to its default action".into())?;
    // Re-executed from its read-only image, nsbox started with its own mask: the caller's came
    // along in the environment.
    let caller = crate::container::sealed::take_caller_mask().unwrap_or(old);
    CALLER_MASK.store(caller.0, Ordering::Relaxed);
    BLOCKED.store(true, Ordering::Relaxed);
    Ok(caller)
}

/// The caller's mask, once `block` has run (signals stay blocked in nsbox from then on).
static CALLER_MASK: AtomicU64 = AtomicU64::new(0);
static BLOCKED: AtomicBool = AtomicBool::new(false);

/// What PID 1 does with a signal, from the SigIgn and SigCgt masks of /proc/PID/status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Caught,
    Ignored,
    Default,
}

pub fn disposition(status: &str, sig: i32) -> Disposition {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << (sig - 1);
    if mask("SigCgt:") & bit != 0 {
        Disposition::Caught
    } else if mask("SigIgn:") & bit != 0 {
        Disposition::Ignored
    } else {
        Disposition::Default
    }
}

fn pid1_disposition(pid: i32, sig: i32) -> Disposition {
    let path = sys::cstr(format!("/proc/{pid}/status")).unwrap_or_default();
    match fs::read_file(&path) {
        Ok(bytes) => disposition(&String::from_utf8_lossy(&bytes), sig),
        // Gone already: SIGCHLD is on its way; nothing to forward.
        Err(_) => Disposition::Ignored,
    }
}

/// Waits for `pid` to end, forwarding signals meanwhile. `ns_init`: it is a pid namespace's
/// init that the kernel shields from signals it has no handler for (the command itself; not
/// nsbox's --init, which takes all forwarded signals, nor an exec'd process).
pub fn supervise_process(pid: i32, ns_init: bool) -> Result<Exit> {
    let set = waited();
    let mut sup = Supervisor::new(pid, ns_init);
    loop {
        let got = signal::wait(set).ctx(|| "wait for signals (rt_sigtimedwait)".into())?;
        if let Some(exit) = sup.handle(got)? {
            return Ok(exit);
        }
    }
}

/// The signals a supervisor takes: the forwarded ones, SIGCHLD, and SIGWINCH (a terminal's
/// new size, for `-t`), as a set for a signalfd.
pub fn supervised_set() -> SigSet {
    SigSet(waited().0 | SigSet::of(&[libc::SIGWINCH]).0)
}

/// What nsbox does with each signal while a process of the container runs.
pub struct Supervisor {
    pid: i32,
    ns_init: bool,
    /// The container has a terminal of its own (-t): nothing from ours reaches it.
    own_terminal: bool,
    /// The signal whose default action nsbox carried out with SIGKILL.
    carried_out: Option<i32>,
}

impl Supervisor {
    pub fn new(pid: i32, ns_init: bool) -> Self {
        Supervisor {
            pid,
            ns_init,
            own_terminal: false,
            carried_out: None,
        }
    }

    /// For -t: every signal is forwarded, the terminal's too.
    pub fn with_own_terminal(mut self) -> Self {
        self.own_terminal = true;
        self
    }

    /// Handles one signal; returns how the process ended once it has.
    pub fn handle(&mut self, got: Received) -> Result<Option<Exit>> {
        let pid = self.pid;
        if got.signo == libc::SIGCHLD {
            return match process::wait_nohang(pid).ctx(|| format!("wait4({pid})"))? {
                Some(Exit::Signal(libc::SIGKILL)) if self.carried_out.is_some() => Ok(Some(
                    Exit::Signal(self.carried_out.unwrap_or(libc::SIGKILL)),
                )),
                other => Ok(other),
            };
        }
        let sig = got.signo;
        if sig == libc::SIGWINCH {
            return Ok(None);
        }
        let disposition = match self.ns_init {
            true => pid1_disposition(pid, sig),
            false => Disposition::Caught,
        };
        match disposition {
            Disposition::Default => {
                trace::note(|| {
                    format!(
                        "{}: PID 1 has no handler, and the kernel drops such signals for a namespace's init; \
                         nsbox ends the container with SIGKILL, as the default action would",
                        signal_name(sig)
                    )
                });
                self.carried_out.get_or_insert(sig);
                let _ = process::kill(pid, libc::SIGKILL);
            }
            // A terminal's signal went to the whole foreground process group, PID 1 included;
            // not a hangup (the session leader's alone), and not with -t (the container has a
            // terminal and a session of its own).
            _ if got.code == SI_KERNEL && sig != libc::SIGHUP && !self.own_terminal => {
                trace::note(|| format!("{}: from the terminal, PID 1 has it", signal_name(sig)))
            }
            _ => {
                let _ = process::kill(pid, sig);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsh\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000004002\n";

    #[test]
    fn reads_dispositions() {
        assert_eq!(disposition(STATUS, libc::SIGINT), Disposition::Caught); // bit 1
        assert_eq!(disposition(STATUS, libc::SIGTERM), Disposition::Caught); // bit 14
        assert_eq!(disposition(STATUS, libc::SIGQUIT), Disposition::Ignored); // bit 2
        assert_eq!(disposition(STATUS, libc::SIGHUP), Disposition::Default);
        assert_eq!(disposition("", libc::SIGHUP), Disposition::Default);
    }
}
