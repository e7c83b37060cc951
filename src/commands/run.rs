//! `nsbox run`: the whole life of a container, top to bottom.
//!
//!   parent: check inputs -> block signals -> clone(new namespaces) -> state dir -> "go"
//!   child:  mounts -> pivot_root -> hostname -> lo -> (waits for "go") -> execve
//!   parent: forward signals, wait -> report -> tear down
//!
//! The parent's setup runs while the child builds its filesystem: on two cores, off the
//! critical path. Only the host-rootfs mode needs its state (a mount point) before clone.

use crate::child;
use crate::cli::Options;
use crate::error::{Context, Error, Result};
use crate::mountpoint::Kind;
use crate::spawn;
use crate::spec::{Rootfs, Spec};
use crate::state::State;
use crate::sys::{self, fs, process::Exit, signal::SigSet};
use crate::{signals, trace};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Runs the container and returns nsbox's exit code: the command's own, 128+N when it was
/// killed by signal N, 125 for nsbox's errors, 126/127 when the command cannot be executed.
pub fn run(spec: &Spec, opts: Options) -> Result<u8> {
    if opts.trace {
        trace::enable();
    }
    // Namespaces and mounts need CAP_SYS_ADMIN in the host's user namespace.
    require_root()?;
    // Fail on bad input before anything exists on the host.
    let volume_kinds = check_inputs(spec)?;
    // From here on signals wait (blocked): none can kill nsbox between creating something on
    // the host and removing it, and once the container exists they go to it.
    let mask = signals::block()?;
    // The host-rootfs mode binds / onto a directory of the state: it must exist before clone.
    let mut state = match spec.rootfs {
        Rootfs::Host => Some(create_state(spec)?),
        Rootfs::Dir(_) => None,
    };
    let result = run_container(spec, &volume_kinds, mask, &mut state);
    // Nothing stays on the host, whatever happened above.
    if let Some(state) = state.as_mut() {
        trace::step(|| "tear down: remove the state directory".into());
        state.remove();
    }
    result
}

/// The state directory makes the id unique and records what to tear down.
fn create_state(spec: &Spec) -> Result<State> {
    trace::step(|| format!("create the state directory {:?}", spec.state_dir()));
    State::create(spec)
}

fn run_container(
    spec: &Spec,
    volume_kinds: &[Kind],
    mask: SigSet,
    state: &mut Option<State>,
) -> Result<u8> {
    trace::step(|| format!("clone the first process into new namespaces ({})", spec.id));
    let child = spawn::spawn(spec.clone_flags(), |channel| {
        child::main(spec, volume_kinds, mask, channel)
    })?;
    // Whatever fails on our side from here must end the child too: never leave it unsupervised.
    let exit = match release_and_wait(spec, &child, state) {
        Ok(exit) => exit,
        Err(e) => {
            child.abort();
            return Err(e);
        }
    };
    if let Some((code, message)) = child.report() {
        return Err(reported(code, message));
    }
    Ok(match exit {
        Exit::Code(c) => c as u8,
        Exit::Signal(s) => {
            trace::note(|| {
                format!(
                    "the container was killed by {}",
                    crate::flags::signal_name(s)
                )
            });
            128u8.saturating_add(s as u8)
        }
    })
}

/// The parent's part (run while the child mounts its filesystem), then "go", then the wait.
fn release_and_wait(spec: &Spec, child: &spawn::Child, state: &mut Option<State>) -> Result<Exit> {
    if state.is_none() {
        *state = Some(create_state(spec)?);
    }
    trace::step(|| "release the child: it may execve now".into());
    child.release()?;
    trace::step(|| {
        format!(
            "wait for the container (host pid {}), forwarding signals",
            child.pid
        )
    });
    signals::supervise(child.pid)
}

/// The child's own report, already formatted: passed through with its exit code.
fn reported(code: u8, message: String) -> Error {
    Error {
        what: message,
        errno: None,
        why: None,
        hint: None,
        code,
    }
}

fn require_root() -> Result<()> {
    if sys::geteuid() != 0 {
        return Err(Error::new(
            "run",
            "root is needed (CAP_SYS_ADMIN, for namespaces and mounts)",
        )
        .hint(
            "run it as root, e.g. with sudo; rootless containers (--userns) are not available yet",
        ));
    }
    Ok(())
}

fn file_type(flag: &str, path: &Path) -> Result<u32> {
    let p = sys::cstr(path.as_os_str().as_bytes()).ctx(|| format!("{flag} {path:?}"))?;
    fs::file_type(&p).map_err(|e| {
        Error::sys(format!("{flag} {path:?}"), e).hint_on(
            syscalls::Errno::ENOENT,
            "the path does not exist on the host",
        )
    })
}

/// The rootfs must be a directory; each volume source must exist. Returns each volume's kind.
fn check_inputs(spec: &Spec) -> Result<Vec<Kind>> {
    if let Rootfs::Dir(dir) = &spec.rootfs
        && file_type("--rootfs", dir)? != libc::S_IFDIR
    {
        return Err(Error::new(format!("--rootfs {dir:?}"), "not a directory")
            .hint("give the directory that holds the container's /bin, /etc, ..."));
    }
    spec.volumes
        .iter()
        .map(|v| match file_type("--volume source", &v.source)? {
            libc::S_IFDIR => Ok(Kind::Dir),
            _ => Ok(Kind::File),
        })
        .collect()
}
