//! The child's steps for the settings only an OCI config gives (`spec::Extra`): namespaces
//! joined by path, sysctl, rlimits, oom_score_adj, and `create`'s stop before execve, where the
//! first process waits for `start` on a FIFO of the state directory.

use crate::error::{Context, Error, Result};
use crate::spec::Spec;
use crate::sys::{self, fs, lifecycle, process};
use crate::trace;
use std::os::fd::{AsRawFd, OwnedFd};

/// setns into each namespace the config names by path (not the pid namespace: the parent
/// joined that one before clone, as only children enter a pid namespace).
pub fn join_namespaces(spec: &Spec) -> Result<()> {
    for (flag, path) in spec.joined() {
        if flag == libc::CLONE_NEWPID {
            continue;
        }
        trace::step(|| format!("join the namespace {path:?}"));
        let fd = open_namespace(path)?;
        lifecycle::setns(&fd, flag).ctx(|| format!("setns into {path:?}"))?;
    }
    Ok(())
}

/// A time namespace of the container's own: unshared, given its offsets while nothing is in
/// it yet, and entered by this process's execve (and by what it forks from now on).
pub fn new_time_namespace(spec: &Spec) -> Result<()> {
    let Some(offsets) = &spec.extra.time_offsets else {
        return Ok(());
    };
    trace::step(|| "unshare a time namespace (the command enters it at execve)".into());
    process::unshare(crate::flags::CLONE_NEWTIME).ctx(|| "unshare(CLONE_NEWTIME)".into())?;
    if offsets.is_empty() {
        return Ok(());
    }
    let text: String = offsets
        .iter()
        .map(|(clock, secs, nanos)| format!("{clock} {secs} {nanos}\n"))
        .collect();
    fs::write_file_at(
        libc::AT_FDCWD,
        c"/proc/self/timens_offsets",
        text.as_bytes(),
    )
    .ctx(|| {
        format!(
            "write the time offsets {:?} to /proc/self/timens_offsets",
            text.trim_end()
        )
    })
}

/// Opens a namespace file (`/proc/PID/ns/net`, a bind mount of one).
pub fn open_namespace(path: &std::path::Path) -> Result<OwnedFd> {
    let p = sys::cpath(path)?;
    fs::openat(libc::AT_FDCWD, &p, libc::O_RDONLY | libc::O_CLOEXEC, 0)
        .ctx(|| format!("open the namespace {path:?}"))
}

/// sysctl, rlimits and oom_score_adj: through the host's /proc (the child's namespaces are
/// the container's already), while nsbox still holds every capability.
pub fn apply_process_settings(spec: &Spec) -> Result<()> {
    for (key, value) in &spec.extra.sysctl {
        trace::step(|| format!("set the sysctl {key} = {value}"));
        let path = sys::cstr(format!("/proc/sys/{}", key.replace('.', "/")))
            .ctx(|| format!("sysctl {key:?}"))?;
        fs::write_file_at(libc::AT_FDCWD, &path, value.as_bytes())
            .ctx(|| format!("set the sysctl {key} to {value:?}"))?;
    }
    for r in &spec.process.rlimits {
        process::set_rlimit(r.resource, r.soft, r.hard)
            .map_err(|e| {
                Error::sys(
                    format!("set the rlimit {} to {}/{}", r.resource, r.soft, r.hard),
                    e,
                )
            })
            .map_err(|e| {
                e.hint_on(
                    syscalls::Errno::EPERM,
                    "raising a hard limit needs CAP_SYS_RESOURCE, which nsbox does not hold here",
                )
            })?;
    }
    if let Some(persona) = spec.process.personality {
        process::set_personality(persona).ctx(|| format!("personality({persona:#x})"))?;
    }
    if spec.extra.new_keyring {
        trace::step(|| "join a new session keyring (keys of the caller's stay out)".into());
        process::new_session_keyring()
            .ctx(|| "keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)".into())?;
    }
    if let Some(adj) = spec.process.oom_score_adj {
        trace::step(|| format!("set oom_score_adj to {adj}"));
        fs::write_file_at(
            libc::AT_FDCWD,
            c"/proc/self/oom_score_adj",
            adj.to_string().as_bytes(),
        )
        .ctx(|| format!("write {adj} to /proc/self/oom_score_adj"))?;
    }
    Ok(())
}

/// OCI `create`'s gate: the FIFO `start` opens, and (with hooks) the process's host pid.
pub struct StartGate {
    fifo: OwnedFd,
    pub host_pid: Option<i32>,
}

/// Opens `create`'s FIFO (O_PATH: it opens nothing yet), before the container's filesystem
/// hides the state directory. The descriptor is close-on-exec.
pub fn open_start_fifo(spec: &Spec) -> Result<Option<StartGate>> {
    let Some(path) = &spec.extra.start_fifo else {
        return Ok(None);
    };
    let p = sys::cpath(path)?;
    fs::openat(libc::AT_FDCWD, &p, libc::O_PATH | libc::O_CLOEXEC, 0)
        .ctx(|| format!("open {path:?}"))
        .map(|fifo| {
            Some(StartGate {
                fifo,
                host_pid: None,
            })
        })
}

/// `create`'s end: tells the parent the container is built, then waits until `start` opens
/// the FIFO for reading, and writes it one byte. Opened again through /proc/self/fd, the only
/// way to it from inside the container's root. Then the startContainer hooks run.
pub fn wait_for_start(
    gate: &StartGate,
    spec: &Spec,
    channel: &crate::container::spawn::ChildChannel,
) -> Result<()> {
    trace::step(|| "created: wait for 'start' on the FIFO".into());
    channel.created();
    let path = sys::cstr(format!("/proc/self/fd/{}", gate.fifo.as_raw_fd()))
        .ctx(|| "the FIFO's path".into())?;
    let end = fs::openat(libc::AT_FDCWD, &path, libc::O_WRONLY | libc::O_CLOEXEC, 0)
        .ctx(|| "open the start FIFO for writing (through /proc/self/fd)".into())?;
    sys::write(&end, b"0").ctx(|| "write to the start FIFO".into())?;
    sys::close(end);
    match (&spec.extra.hooks, gate.host_pid) {
        (Some(h), Some(pid)) => crate::container::hooks::run(
            &h.start_container,
            &crate::container::hooks::state_text(&h.state, "created", pid),
        ),
        _ => Ok(()),
    }
}
