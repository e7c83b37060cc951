//! The one re-execution of nsbox (CVE-2019-5736): every command that puts a process of
//! nsbox's into a container (`run`, with `-d` and `--init`; `exec`) first runs from a sealed
//! copy of its own binary in memory.
//!
//! Why: a process of nsbox's in the container (the child before its execve, the --init, the
//! joining process of `exec`) has nsbox's file as /proc/self/exe. A command that is a symlink
//! to /proc/self/exe (or a `#!` line naming it) re-runs that file inside the container, where
//! its ELF interpreter is the image's, or where another process of the container opens
//! /proc/PID/exe; either way root in the container holds the host's nsbox binary and can
//! overwrite it once nothing executes it. Run from a memfd with every seal (write, grow,
//! shrink, and the seal of seals), /proc/self/exe is a file nobody can change, and the host's
//! file is never reachable from the container.
//!
//! Why not a read-only bind mount of the binary: it needs a mount namespace and a re-exec
//! too, and the mount can be made writable again by whoever holds CAP_SYS_ADMIN there. Why
//! not only PR_SET_DUMPABLE: it protects nsbox's own processes, not the file a re-run of it
//! executes. The copy costs one memfd the size of the binary per `run`/`exec` (shared by its
//! forks) and one execveat: see scripts/bench.sh.

use crate::error::{Context, Error, Result};
use crate::sys::exe::{self, FINAL_SEALS, MFD_EXEC};
use crate::sys::{self, fs, signal::SigSet};
use crate::trace;
use std::os::fd::OwnedFd;
use syscalls::Errno;

/// The caller's signal mask, handed to the re-executed image (which starts with nsbox's mask).
const CALLER_MASK: &str = "NSBOX_CALLER_MASK";

/// Returns when nsbox runs from its sealed copy; otherwise makes the copy and re-executes it
/// (with the same arguments and environment, and `caller_mask` for the new image's
/// `signals::block`), and returns only the error that prevented it. Called with nsbox's
/// signals blocked: a closed stderr must not kill it here either.
pub fn ensure(caller_mask: SigSet) -> Result<()> {
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    let running = fs::openat(libc::AT_FDCWD, c"/proc/self/exe", flags, 0)
        .ctx(|| "open /proc/self/exe (nsbox's own binary)".into())?;
    if matches!(exe::seals(&running), Ok(s) if s & FINAL_SEALS == FINAL_SEALS) {
        sys::close(running);
        trace::note(|| "nsbox runs from its sealed copy (/proc/self/exe cannot be written)".into());
        return Ok(());
    }
    trace::step(|| {
        "copy nsbox into a sealed memfd and re-execute it: no container can reach the host's binary (CVE-2019-5736)".into()
    });
    let copy = sealed_copy(&running)?;
    sys::close(running);
    trace::hand_over_to_exec();
    sys::set_env(CALLER_MASK, Some(&format!("{:x}", caller_mask.0)));
    let e = exe::execveat_self(&copy);
    sys::set_env(CALLER_MASK, None);
    Err(
        Error::sys("re-execute nsbox from its sealed copy (execveat)", e)
            .hint_on(Errno::EACCES, NOEXEC_HINT),
    )
}

const NOEXEC_HINT: &str =
    "this host forbids executable memfds (sysctl vm.memfd_noexec=2): set it to 0 or 1";

/// A memfd with the content of `running`, sealed against every change.
fn sealed_copy(running: &OwnedFd) -> Result<OwnedFd> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // MFD_EXEC says "executable" where vm.memfd_noexec=1 would seal it non-executable; a
    // kernel before 6.3 does not know the flag (EINVAL) and makes every memfd executable.
    let copy = match exe::memfd_create(c"nsbox", base | MFD_EXEC) {
        Err(Errno::EINVAL) => exe::memfd_create(c"nsbox", base),
        other => other,
    }
    .map_err(|e| {
        Error::sys("memfd_create for nsbox's sealed copy", e).hint_on(Errno::EACCES, NOEXEC_HINT)
    })?;
    loop {
        match exe::sendfile(&copy, running, 1 << 30) {
            Ok(0) => break,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::sys("copy nsbox into its memfd (sendfile)", e)),
        }
    }
    exe::seal_final(&copy).ctx(|| "seal nsbox's copy (fcntl F_ADD_SEALS)".into())?;
    Ok(copy)
}

/// The caller's mask, when this image was re-executed by `ensure` (taken out of the
/// environment, so it goes no further).
pub fn take_caller_mask() -> Option<SigSet> {
    let hex = std::env::var(CALLER_MASK).ok()?;
    sys::set_env(CALLER_MASK, None);
    u64::from_str_radix(&hex, 16).ok().map(SigSet)
}
