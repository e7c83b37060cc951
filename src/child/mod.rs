//! The container's first process, from clone to execve. It never prints: a failure goes to the
//! parent over the sync channel, and the parent prints one message.

pub mod extras;
pub mod init;

use crate::cgroup::join::{self as cgroup, Join};
use crate::container::spawn::ChildChannel;
use crate::error::{Context, Error, Result};
use crate::process::execve;
use crate::rootfs;
use crate::spec::Spec;
use crate::sys::{self, fs, process, signal::SigSet};
use crate::trace;
use std::convert::Infallible;
use std::os::fd::RawFd;

/// What the child is given: the Spec and what the parent learned or opened for it.
pub struct Inputs<'a> {
    pub spec: &'a Spec,
    /// The signal mask to restore before execve.
    pub mask: SigSet,
    /// The container's cgroups, when it has limits.
    pub cgroups: Option<Join<'a>>,
    /// What the container's /etc/hosts and /etc/hostname say (native containers).
    pub etc: Option<crate::net::hosts::EtcFiles>,
    /// `run -d`: the pipe its output goes into, from the go on (until then the child writes
    /// where its parent does, the log, so that nothing waits on a pipe nobody reads yet).
    pub output: Option<RawFd>,
}

/// The child's recipe. `born_inside`: clone3 placed it in its cgroup v2 directory already.
pub fn main(inputs: &Inputs<'_>, channel: ChildChannel, born_inside: bool) -> Infallible {
    let (spec, mask) = (inputs.spec, inputs.mask);
    let err = match setup(inputs, born_inside, &channel).and_then(|fifo| match spec.process.tty {
        true => crate::terminal::console::attach_in_container(&channel, true).map(|()| fifo),
        false => Ok(fifo),
    }) {
        Ok(fifo) => {
            // The parent's part (state, later cgroup and network) ran while we built the
            // filesystem; the command must not start before it is done.
            trace::step(|| "wait for the parent's go".into());
            channel.wait_for_parent();
            if let Some(fd) = inputs.output
                && let Err(e) = output_to_pipe(fd)
            {
                channel.fail(&e)
            }
            match spec.init {
                true => crate::child::init::run(spec, mask, channel),
                false => execve::exec(spec, mask, &channel, fifo.as_ref()),
            }
        }
        Err(e) => e,
    };
    channel.fail(&err)
}

/// `run -d`: stdout and stderr become the pipe the supervisor relays into the log.
fn output_to_pipe(fd: RawFd) -> Result<()> {
    trace::step(|| {
        format!("stdout and stderr into the output pipe ({fd}), which the supervisor relays")
    });
    for target in [1, 2] {
        sys::fd::dup2(&fd, target).map_err(|e| Error::sys(format!("dup2({fd}, {target})"), e))?;
    }
    sys::fd::close_raw(fd);
    Ok(())
}

/// Returns OCI `create`'s FIFO, when there is one.
fn setup(
    inputs: &Inputs<'_>,
    born_inside: bool,
    channel: &ChildChannel,
) -> Result<Option<crate::child::extras::StartGate>> {
    let spec = inputs.spec;
    if spec.userns.is_some() {
        // Until the parent has written the maps, this process is nobody in its namespace;
        // then it becomes the namespace's root (files it makes must have a mapped owner).
        trace::step(|| "wait for the parent to write the uid and gid maps".into());
        channel.wait_for_parent();
        let how = crate::container::userns::identity();
        trace::step(|| "become root of the user namespace".into());
        process::set_identity(0, 0, &[], how)
            .map_err(|(call, e)| Error::sys(format!("{call} to root of the user namespace"), e))?;
    }
    // If nsbox dies, the container dies with it (PID 1 gone takes the whole pid namespace);
    // but the container of OCI `create` outlives the nsbox that made it.
    if spec.extra.start_fifo.is_none() {
        process::set_parent_death_signal(libc::SIGKILL)
            .ctx(|| "prctl(PR_SET_PDEATHSIG, SIGKILL)".into())?;
    }
    crate::child::extras::join_namespaces(spec)?;
    crate::child::extras::new_time_namespace(spec)?;
    let _ = process::set_name(c"nsbox:child");
    // Modes given to mknod and mkdir are meant exactly; the container gets 022 back at exec.
    fs::umask(0);
    if let Some(join) = &inputs.cgroups {
        cgroup::enter(join, born_inside)?;
    }
    // The cgroup files were the last of the host's descriptors the child needed.
    channel.close_everything_else(inputs.output)?;
    let mut fifo = crate::child::extras::open_start_fifo(spec)?;
    if spec.net.own_namespace() && !spec.extra.keep_ping_group_range {
        allow_ping(spec);
    }
    crate::child::extras::apply_process_settings(spec)?;

    let view = inputs.cgroups.as_ref().map(|j| j.view);
    rootfs::setup(spec, view, inputs.etc.as_ref())?;
    if let (Some(hooks), Some(gate)) = (&spec.extra.hooks, fifo.as_mut()) {
        trace::step(|| "built: wait for the parent's hooks (prestart, createRuntime)".into());
        let pid = channel.pause_for_hooks();
        gate.host_pid = Some(pid);
        let state = crate::container::hooks::state_text(&hooks.state, "creating", pid);
        crate::container::hooks::run(&hooks.create_container, &state)?;
    }
    rootfs::enter(spec)?;

    trace::step(|| format!("set the hostname to {:?}", spec.hostname));
    process::sethostname(&spec.hostname).ctx(|| format!("sethostname({:?})", spec.hostname))?;
    if let Some(name) = &spec.extra.domainname {
        process::setdomainname(name).ctx(|| format!("setdomainname({name:?})"))?;
    }

    if spec.net.own_namespace() {
        trace::step(|| "bring up lo in the new network namespace".into());
        sys::loopback_up().ctx(|| "bring up lo (ioctl SIOCSIFFLAGS)".into())?;
    }
    Ok(fifo)
}

/// Without CAP_NET_RAW (not in the default set), `ping` needs ICMP datagram sockets, which
/// `net.ipv4.ping_group_range` allows to the groups it names: every group, in the container's
/// own network namespace only (as podman does). Written through the host's /proc before the
/// pivot: a net sysctl is the writer's network namespace's. Not fatal: ping is a convenience.
fn allow_ping(spec: &Spec) {
    // In a user namespace only its mapped groups are valid.
    let last = match &spec.userns {
        Some(ns) => ns
            .gid_map
            .iter()
            .map(|m| m.inside.saturating_add(m.count.saturating_sub(1)))
            .max()
            .unwrap_or(0),
        None => i32::MAX as u32,
    };
    trace::step(|| format!("allow ping to groups 0-{last} (net.ipv4.ping_group_range)"));
    let range = format!("0 {last}");
    if let Err(e) = fs::write_file_at(
        libc::AT_FDCWD,
        c"/proc/sys/net/ipv4/ping_group_range",
        range.as_bytes(),
    ) {
        trace::note(|| {
            format!(
                "ping_group_range not set ({}): ping needs the capability NET_RAW",
                crate::error::errno_text(e)
            )
        });
    }
}
