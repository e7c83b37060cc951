//! OCI hooks: programs an OCI config names, run at the moments of the lifecycle the
//! runtime-spec gives, each with the container's state JSON on its stdin:
//! - prestart and createRuntime: by `create`, in the host's namespaces, once the container's
//!   namespaces and filesystem exist and before its pivot_root;
//! - createContainer: by the container's first process, in its namespaces, before pivot_root;
//! - startContainer: by the first process, inside the container, when `start` released it and
//!   before the command's execve;
//! - poststart: by `start`, after the release; poststop: by `delete`, after the teardown.
//!
//! A hook of the create and start phases that fails fails the container; poststart and poststop
//! failures are warnings, as the spec asks.

use crate::error::{Context, Error, Result};
use crate::oci::json::{self, Value};
use crate::sys::{self, fd, lifecycle, process};
use crate::trace;
use std::ffi::CString;
use std::os::fd::AsRawFd;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// The runtime-spec's name of the phase (`createRuntime`), for messages.
    pub phase: &'static str,
    /// Absolute.
    pub path: String,
    /// argv, argv[0] included (the path when the config gives none).
    pub args: Vec<String>,
    pub env: Vec<String>,
    /// Seconds; none waits for as long as the hook runs.
    pub timeout: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hooks {
    /// prestart, then createRuntime.
    pub create_runtime: Vec<Hook>,
    pub create_container: Vec<Hook>,
    pub start_container: Vec<Hook>,
    /// Run by the OCI commands `start` and `delete`, not by the runtime.
    pub poststart: Vec<Hook>,
    pub poststop: Vec<Hook>,
    /// The container's state JSON as `state` shows it; each phase sets its status and pid.
    pub state: Value,
}

/// The state JSON for a hook: `state` with `status` and `pid` set.
pub fn state_text(state: &Value, status: &str, pid: i32) -> String {
    let mut v = state.clone();
    if let Value::Obj(members) = &mut v {
        for (k, val) in members.iter_mut() {
            match k.as_str() {
                "status" => *val = json::str(status),
                "pid" => *val = json::num(pid),
                _ => {}
            }
        }
    }
    v.text()
}

/// Runs `hooks` in order; the first that fails ends the run with its error.
pub fn run(hooks: &[Hook], state: &str) -> Result<()> {
    hooks.iter().try_for_each(|h| run_one(h, state))
}

/// Runs every one of `hooks`; a failure is a warning and the next one runs.
pub fn run_warning(hooks: &[Hook], state: &str) {
    for h in hooks {
        if let Err(e) = run_one(h, state) {
            crate::report_warning(&e);
        }
    }
}

fn run_one(h: &Hook, state: &str) -> Result<()> {
    let what = || format!("the {} hook {:?}", h.phase, h.path);
    trace::step(|| format!("run {}", what()));
    let cstrs = |list: &[String]| -> Result<Vec<CString>> {
        list.iter()
            .map(|a| sys::cstr(a.as_bytes()).ctx(|| format!("{}: {a:?}", what())))
            .collect()
    };
    let (argv, envp) = (cstrs(&h.args)?, cstrs(&h.env)?);
    let path = sys::cstr(h.path.as_bytes()).ctx(what)?;
    // The state goes into the pipe whole before the hook starts: one that never reads its stdin
    // cannot block us.
    let (input, input_w) = fd::pipe().ctx(|| format!("{}: its stdin", what()))?;
    if state.len() > 65536 {
        fd::set_pipe_size(&input_w, state.len()).ctx(|| format!("{}: its stdin", what()))?;
    }
    let mut rest = state.as_bytes();
    while !rest.is_empty() {
        let n = sys::write(&input_w, rest).ctx(|| format!("{}: write its stdin", what()))?;
        rest = &rest[n..];
    }
    sys::close(input_w);
    // Close-on-exec: a successful execve closes it; a failed one writes its errno there.
    let (failed, failed_w) = fd::pipe().ctx(|| format!("{}: its exec check", what()))?;
    let pid = lifecycle::fork().ctx(|| format!("fork for {}", what()))?;
    if pid == 0 {
        // Its stdin, its signal mask, execve: the parent's trace says what runs.
        trace::silence();
        sys::close(failed);
        let e = fd::dup2(&input, 0)
            .and_then(|()| sys::signal::set_mask(sys::signal::SigSet(0)))
            .err()
            .unwrap_or_else(|| process::execve(&path, &argv, &envp, None));
        let _ = sys::write(&failed_w, &(e.into_raw()).to_ne_bytes());
        process::exit_now(127);
    }
    sys::close(input);
    sys::close(failed_w);
    let mut errno = [0u8; 4];
    let exec_failed = matches!(sys::read(&failed, &mut errno), Ok(4));
    sys::close(failed);
    if exec_failed {
        let _ = process::wait(pid);
        let e = syscalls::Errno::new(i32::from_ne_bytes(errno));
        return Err(Error::sys(format!("execute {}", what()), e));
    }
    if let Some(secs) = h.timeout
        && !ended_within(pid, secs)
    {
        let _ = process::kill(pid, libc::SIGKILL);
        let _ = process::wait(pid);
        return Err(Error::new(
            what(),
            format!("did not end within its timeout ({secs} s): killed"),
        ));
    }
    let exit = process::wait(pid).map_err(|e| Error::sys(format!("wait for {}", what()), e))?;
    match exit.code() {
        0 => Ok(()),
        code => Err(Error::new(what(), format!("failed (exit code {code})"))),
    }
}

/// Whether process `pid` (our child) ends within `secs` seconds (its pidfd becomes readable).
fn ended_within(pid: i32, secs: u32) -> bool {
    let Ok(pidfd) = lifecycle::pidfd_open(pid) else {
        // No pidfd (a kernel before 5.3): no timeout either.
        return true;
    };
    let mut fds = [libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }];
    let ms = secs.saturating_mul(1000).min(i32::MAX as u32) as i32;
    !matches!(sys::term::poll(&mut fds, ms), Ok(0))
}
