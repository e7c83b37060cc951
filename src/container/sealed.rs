//! The one re-execution of nsbox (CVE-2019-5736): every command that puts a process of
//! nsbox's into a container (`run`, with `-d` and `--init`; `exec`) first re-executes nsbox
//! from an image of its binary that nobody can write.
//!
//! Why: a process of nsbox's in the container (the child before its execve, the --init, the
//! joining process of `exec`) has nsbox's file as /proc/self/exe. A command that is a symlink
//! to /proc/self/exe (or a `#!` line naming it) re-runs that file inside the container, where
//! its ELF interpreter is the image's, or where another process of the container opens
//! /proc/PID/exe; either way root in the container holds the host's nsbox binary and can
//! overwrite it once nothing executes it. Re-executed from an image nobody can write,
//! /proc/self/exe is that image, and the host's file is never reachable from the container.
//!
//! The image, cheapest first:
//! - a read-only bind mount of the binary, detached (open_tree OPEN_TREE_CLONE, then
//!   mount_setattr MOUNT_ATTR_RDONLY): no copy, the same page cache. It is in no mount
//!   namespace, so nothing can make it writable again but CAP_SYS_ADMIN in the host's user
//!   namespace. Opening /proc/PID/exe for writing gives EROFS. Needs that CAP_SYS_ADMIN itself.
//! - otherwise (rootless, or `NSBOX_SEAL=memfd`), a copy in a memfd sealed against write, grow,
//!   shrink and further seals: writing gives EPERM. It costs the copy (a few hundred
//!   microseconds, and the binary's size in memory while the container runs).
//!
//! Only PR_SET_DUMPABLE would not do: it protects nsbox's own processes, not the file a re-run
//! of nsbox executes.

use crate::error::{Context, Error, Result};
use crate::sys::exe::{self, FINAL_SEALS, MFD_EXEC};
use crate::sys::{self, fs, mount, signal::SigSet};
use crate::trace;
use std::os::fd::OwnedFd;
use syscalls::Errno;

/// The caller's signal mask, handed to the re-executed image (which starts with nsbox's mask).
const CALLER_MASK: &str = "NSBOX_CALLER_MASK";
/// Set for the re-executed image when it runs from nsbox's read-only bind mount.
const BOUND: &str = "NSBOX_READ_ONLY_BIND";
/// `memfd`: always the sealed copy, never the bind mount.
const CHOICE: &str = "NSBOX_SEAL";

/// Returns when nsbox runs from an image nobody can write; otherwise makes one and re-executes
/// it (with the same arguments and environment, and `caller_mask` for the new image's
/// `supervise::block`), and returns only the error that prevented it. Called with nsbox's
/// signals blocked: a closed stderr must not kill it here either.
pub fn ensure(caller_mask: SigSet) -> Result<()> {
    // Confirmed once, it stays so for this process (OCI create asks before it reads the config,
    // then its run again).
    static CONFIRMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if CONFIRMED.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let flags = libc::O_RDONLY | libc::O_CLOEXEC;
    let running = fs::openat(libc::AT_FDCWD, c"/proc/self/exe", flags, 0)
        .ctx(|| "open /proc/self/exe (nsbox's own binary)".into())?;
    if let Some(how) = protected(&running) {
        sys::close(running);
        trace::note(|| format!("nsbox runs from {how}: /proc/self/exe cannot be written"));
        CONFIRMED.store(true, std::sync::atomic::Ordering::Relaxed);
        return Ok(());
    }
    // Re-executed already, yet not confirmed (a filter refusing fstatfs or F_GET_SEALS): going
    // round again would not help.
    if std::env::var_os(CALLER_MASK).is_some() {
        return Err(Error::new(
            "nsbox's read-only image",
            "re-executed from it, nsbox cannot confirm it (fstatfs or F_GET_SEALS failed)",
        )
        .hint("trace it to see the call; a seccomp filter around nsbox may refuse these calls"));
    }
    trace::step(|| {
        "re-execute nsbox from a read-only image of itself: no container can reach a writable nsbox binary (CVE-2019-5736)".into()
    });
    let memfd_only = std::env::var_os(CHOICE).is_some_and(|v| v == "memfd");
    let image = match memfd_only {
        false => read_only_bind(&running),
        true => Err(Errno::EPERM),
    };
    // What the new image is told, in its environment (nsbox's own, which no container gets).
    let mut told = vec![format!("{CALLER_MASK}={:x}", caller_mask.0)];
    let image = match image {
        Ok(bound) => {
            told.push(format!("{BOUND}=1"));
            bound
        }
        Err(_) => {
            // The failed call is in the trace just above.
            trace::note(|| "no read-only bind mount: a sealed copy instead".into());
            sealed_copy(&running)?
        }
    };
    sys::close(running);
    told.extend(trace::hand_over_to_exec());
    let told: Vec<_> = told.into_iter().filter_map(|v| sys::cstr(v).ok()).collect();
    let e = exe::execveat_self(&image, &told);
    Err(
        Error::sys("re-execute nsbox from its read-only image (execveat)", e)
            .hint_on(Errno::EACCES, NOEXEC_HINT),
    )
}

const NOEXEC_HINT: &str =
    "this host forbids executable memfds (sysctl vm.memfd_noexec=2): set it to 0 or 1";

/// What makes the running image unwritable, if anything does: every seal of a memfd, or the
/// read-only bind mount the image before made (and said so).
fn protected(running: &OwnedFd) -> Option<&'static str> {
    if matches!(exe::seals(running), Ok(s) if s & FINAL_SEALS == FINAL_SEALS) {
        return Some("its sealed copy");
    }
    std::env::var_os(BOUND)?;
    matches!(fs::on_read_only_mount(running), Ok(true))
        .then_some("a read-only bind mount of its binary")
}

/// A detached bind mount of the binary, read-only before anyone can see it.
fn read_only_bind(running: &OwnedFd) -> std::result::Result<OwnedFd, Errno> {
    use std::os::fd::AsRawFd;
    let tree = mount::open_tree_clone(mount::Target::Fd(running.as_raw_fd()))?;
    let attrs = mount::MOUNT_ATTR_RDONLY | mount::MOUNT_ATTR_NOSUID | mount::MOUNT_ATTR_NODEV;
    mount::setattr(mount::Target::Fd(tree.as_raw_fd()), attrs, false)?;
    Ok(tree)
}

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

/// The caller's mask, when this image was re-executed by `ensure`. (What `ensure` tells stays
/// in nsbox's environment, which nothing nsbox starts inherits: every execve of a container's
/// command passes the Spec's environment, every helper an empty one.)
pub fn take_caller_mask() -> Option<SigSet> {
    let hex = std::env::var(CALLER_MASK).ok()?;
    u64::from_str_radix(&hex, 16).ok().map(SigSet)
}
