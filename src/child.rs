//! The container's first process, from clone to execve. It never prints: a failure goes to the
//! parent over the sync channel, and the parent prints one message.

use crate::error::{Context, Result};
use crate::exec;
use crate::mountpoint::Kind;
use crate::rootfs;
use crate::spawn::ChildChannel;
use crate::spec::{Net, Spec};
use crate::sys::{self, fs, process, signal::SigSet};
use crate::trace::{self, Role};
use std::convert::Infallible;

/// The child's recipe. `mask` is the signal mask to restore before execve.
pub fn main(spec: &Spec, volume_kinds: &[Kind], mask: SigSet, channel: ChildChannel) -> Infallible {
    trace::set_role(Role::Child);
    let err = match setup(spec, volume_kinds) {
        Ok(()) => {
            // The parent's part (state, later cgroup and network) ran while we built the
            // filesystem; the command must not start before it is done.
            trace::step(|| "wait for the parent's go".into());
            channel.wait_for_parent();
            exec::exec(spec, mask, &channel)
        }
        Err(e) => e,
    };
    channel.fail(&err)
}

fn setup(spec: &Spec, volume_kinds: &[Kind]) -> Result<()> {
    // If nsbox dies, the container dies with it (PID 1 gone takes the whole pid namespace).
    process::set_parent_death_signal(libc::SIGKILL)
        .ctx(|| "prctl(PR_SET_PDEATHSIG, SIGKILL)".into())?;
    let _ = process::set_name(c"nsbox:child");
    // Modes given to mknod and mkdir are meant exactly; the container gets 022 back at exec.
    fs::umask(0);

    rootfs::setup(spec, volume_kinds)?;

    trace::step(|| format!("set the hostname to {:?}", spec.hostname));
    process::sethostname(&spec.hostname).ctx(|| format!("sethostname({:?})", spec.hostname))?;

    if spec.net == Net::None {
        trace::step(|| "bring up lo in the new network namespace".into());
        sys::loopback_up().ctx(|| "bring up lo (ioctl SIOCSIFFLAGS)".into())?;
    }
    Ok(())
}
