//! `--init`: nsbox's child stays the container's PID 1, a tiny init written into nsbox (no
//! extra binary in the rootfs): it starts the command as PID 2, reaps every process that is
//! re-parented to it (orphans of daemons, double forks), forwards signals to the command, and
//! exits with the command's code (128+N when a signal N ended it).
//!
//! Why: a pid namespace's init must reap, or zombies pile up until the pid limit; and the
//! kernel drops signals that PID 1 has no handler for, so a command that is PID 1 ignores
//! SIGTERM unless it asks for it. This init takes its signals with rt_sigtimedwait (they stay
//! blocked, so the kernel queues them), which also needs no handler.
//!
//! The init runs with the container's privileges (filter, capabilities, uid) like the command,
//! and is undumpable: its /proc/1/exe is nsbox's binary, which root in the container must not
//! be able to open (CVE-2019-5736).

use crate::container::spawn::ChildChannel;
use crate::container::supervise::SI_KERNEL;
use crate::error::{EXIT_NSBOX, Error};
use crate::process::execve;
use crate::spec::Spec;
use crate::sys::clone::{self, How};
use crate::sys::signal::{self, SigSet};
use crate::sys::{lifecycle, process};
use crate::trace;

/// Becomes the init: starts the command, then reaps and forwards until the command ends.
/// Returns only an error that came before the command was started.
pub fn run(spec: &Spec, mask: SigSet, channel: ChildChannel) -> Error {
    let cmd = match execve::prepare(&spec.process, execve::Launch::of(spec), &channel) {
        Ok(cmd) => cmd,
        Err(e) => return e,
    };
    let _ = process::set_name(c"nsbox:init");
    crate::sys::hide_cmdline();
    if let Err(e) = lifecycle::set_undumpable() {
        return Error::sys("prctl(PR_SET_DUMPABLE, 0) for the init", e);
    }
    trace::step(|| "--init: start the command as PID 2; PID 1 reaps and forwards signals".into());
    let top = match clone::stack() {
        Ok(top) => top,
        Err(e) => return Error::sys("map the command's stack", e),
    };
    let mut entry = || -> i32 {
        let err = execve::execvpe(&spec.process, &cmd, mask);
        channel.fail(&err)
    };
    // Every signal waits for the init's loop (blocked, the kernel queues them even for a
    // namespace's init), so `nsbox kill -s WINCH` or a real-time signal reaches the command.
    if let Err(e) = signal::block(catchable()) {
        return Error::sys("block signals in the init", e);
    }
    let pid = match clone::spawn(How::Clone, 0, top, &mut entry) {
        Ok(pid) => pid,
        Err(e) => return Error::sys("clone the command (PID 2)", e),
    };
    // The command's copy of the channel closes at its execve; the parent reads that as
    // "started" only once ours is closed too. Nothing else nsbox had open stays with the init.
    channel.close();
    let _ = crate::sys::fd::close_range(3, u32::MAX);
    trace::step(|| "wait for the command (PID 2), reaping orphans, forwarding signals".into());
    process::exit_now(reap_and_forward(pid))
}

/// Every signal but SIGKILL and SIGSTOP (which cannot be caught).
fn catchable() -> SigSet {
    SigSet(!SigSet::of(&[libc::SIGKILL, libc::SIGSTOP]).0)
}

/// The init's loop. Returns the exit code for the command's end.
fn reap_and_forward(command: i32) -> i32 {
    let set = catchable();
    loop {
        let got = match signal::wait(set) {
            Ok(got) => got,
            Err(_) => return EXIT_NSBOX as i32,
        };
        // A SIGPIPE the init raised itself (a trace line to a closed stderr) is not the
        // command's.
        if got.signo == libc::SIGPIPE && got.pid == lifecycle::getpid() {
            continue;
        }
        if got.signo != libc::SIGCHLD {
            // A terminal's ^C went to the whole foreground process group, the command too;
            // its hangup goes to the session leader only: the init, with -t.
            if got.code != SI_KERNEL || got.signo == libc::SIGHUP {
                let _ = process::kill(command, got.signo);
            }
            continue;
        }
        // One SIGCHLD may stand for many ended children.
        let mut ended = None;
        while let Ok(Some((pid, exit))) = lifecycle::reap_any() {
            if pid == command {
                ended = Some(exit);
            }
        }
        if let Some(exit) = ended {
            return exit.code() as i32;
        }
    }
}
