//! The OCI lifecycle over nsbox's runtime: `create` runs the native recipe up to the command's
//! execve (commands::run::run_to), where the first process waits on a FIFO; `start` opens that
//! FIFO; `kill`, `state` and `delete` work from the record.

use super::cli::Create;
use super::config;
use super::state::{self, Record, Status};
use crate::cli::Options;
use crate::commands::run::{self, Outcome};
use crate::error::{Error, Result};
use crate::state::record::Proc;
use crate::sys::{self, fs, process};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `create`: returns the container's first process, which waits for `start`.
pub fn create(c: &Create, root: &Path, cwd: &Path, trace: bool) -> Result<i32> {
    create_record(c, root, cwd, trace, false).map(|(_, rec)| rec.pid.pid)
}

/// `create`, returning the container's directory and record (`run` goes on with them).
/// `start`: `run`'s, which releases the first process before it writes the record (the
/// process waits for no file write then).
fn create_record(
    c: &Create,
    root: &Path,
    cwd: &Path,
    trace: bool,
    start: bool,
) -> Result<(PathBuf, Record)> {
    let bundle = config::bundle_dir(c.bundle.as_ref(), cwd);
    let loaded = config::load(&bundle, &c.id, root)?;
    let mut spec = loaded.spec;
    spec.chroot = c.no_pivot;
    spec.extra.new_keyring = !c.no_new_keyring;
    match (&c.console_socket, spec.process.tty) {
        (Some(socket), true) => {
            let p = sys::cpath(socket)?;
            match fs::file_type(&p) {
                Ok(libc::S_IFSOCK) => {}
                Ok(_) => {
                    return Err(Error::new(
                        format!("--console-socket {socket:?}"),
                        "not a socket",
                    ));
                }
                Err(e) => return Err(Error::sys(format!("--console-socket {socket:?}"), e)),
            }
            spec.extra.console_socket = Some(socket.clone());
        }
        (Some(socket), false) => {
            return Err(Error::new(
                format!("--console-socket {socket:?}"),
                "the config's process has no terminal (process.terminal is false)",
            ));
        }
        (None, true) => {
            return Err(Error::new(
                "process.terminal",
                "a terminal needs --console-socket (where its pty master goes)",
            ));
        }
        (None, false) => {}
    }
    let dir = spec.state_dir();
    spec.extra.start_fifo = Some(dir.join(state::FIFO));
    let rootfs = match &spec.rootfs {
        crate::spec::Rootfs::Dir(d) => d.clone(),
        crate::spec::Rootfs::Host => PathBuf::from("/"),
    };
    let mut record = Record {
        id: c.id.clone(),
        pid: Proc { pid: 0, start: 0 },
        bundle,
        rootfs,
        created: crate::state::time::now_rfc3339(),
        owner: String::new(),
        annotations: loaded.annotations,
        cgroups_path: spec.extra.cgroups_path.clone(),
        hooks: loaded.hooks,
    };
    if let Some(h) = spec.extra.hooks.as_mut() {
        h.state = record.state(Status::Created);
    }
    let opts = Options {
        trace,
        detach: false,
        remove: false,
    };
    let pid = match run::run_to(&spec, opts)? {
        Outcome::Created(pid) => pid,
        Outcome::Exited(code) => {
            return Err(Error::new(
                format!("container {:?}", c.id),
                format!("ended before it was created (exit code {code})"),
            )
            .code(code));
        }
    };
    record.pid = Proc::require(pid)?;
    // The record first: `state` and `delete --force` know the container from its start on.
    let written = record
        .save(&dir)
        .and_then(|()| match &c.pid_file {
            Some(f) => write_pid_file(f, pid),
            None => Ok(()),
        })
        .and_then(|()| match start {
            true => release(&dir, &record, &c.id),
            false => Ok(()),
        });
    if let Err(e) = written {
        // Nothing may stay of a create that failed: the container, then its state.
        let _ = process::kill(pid, libc::SIGKILL);
        wait_gone(&record.pid, Duration::from_secs(5));
        let _ = remove(&dir, &record);
        return Err(e);
    }
    Ok((dir, record))
}

/// The pid file: the decimal pid, no newline (what conmon and the shim read), written whole
/// under a temporary name and renamed.
fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    fs::replace_file(
        &sys::cpath(&tmp)?,
        &sys::cpath(path)?,
        pid.to_string().as_bytes(),
        0o644,
    )
    .map_err(|e| Error::sys(format!("write the pid file {path:?}"), e))
}

/// The record of container `id`, or the error that it does not exist.
pub fn find(root: &Path, id: &str) -> Result<(PathBuf, Record)> {
    let dir = root.join(id);
    match Record::load(&dir)? {
        Some(r) => Ok((dir, r)),
        None => Err(
            Error::new(format!("container {id:?}"), "does not exist").hint(format!(
                "'nsbox --root {} list' lists the containers",
                root.display()
            )),
        ),
    }
}

/// `start`: opens the FIFO, which lets the first process go on to execve.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let (dir, rec) = find(root, id)?;
    start_found(&dir, &rec, id)
}

fn start_found(dir: &Path, rec: &Record, id: &str) -> Result<()> {
    let status = rec.status(dir);
    if status != Status::Created {
        return Err(Error::new(
            format!("start {id:?}"),
            format!("the container is {}, not created", status.name()),
        )
        .hint("only a created container starts; 'nsbox run' creates and starts one"));
    }
    release(dir, rec, id)
}

/// Opens the FIFO the created container's first process waits on: it goes on to execve.
fn release(dir: &Path, rec: &Record, id: &str) -> Result<()> {
    let fifo = dir.join(state::FIFO);
    crate::trace::step(|| format!("open the FIFO {fifo:?}: the first process goes on to execve"));
    let fd = fs::openat(
        libc::AT_FDCWD,
        &sys::cpath(&fifo)?,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| Error::sys(format!("open {fifo:?}"), e))?;
    // The first process completes its open of the other end, then writes one byte. A second
    // without it, and the process is looked at (it may have died before its open).
    let mut byte = [0u8; 1];
    loop {
        let mut ready = [libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let n = sys::term::poll(&mut ready, 1000)
            .map_err(|e| Error::sys(format!("poll {fifo:?}"), e))?;
        if n > 0 {
            match sys::read(&fd, &mut byte) {
                Ok(1) => break,
                Ok(_) | Err(syscalls::Errno::EAGAIN) => {}
                Err(e) => return Err(Error::sys(format!("read {fifo:?}"), e)),
            }
        }
        if !rec.pid.alive() {
            return Err(Error::new(
                format!("start {id:?}"),
                "the container's process ended before it started",
            ));
        }
    }
    sys::close(fd);
    fs::unlink(&sys::cpath(&fifo)?).map_err(|e| Error::sys(format!("remove {fifo:?}"), e))?;
    if let Some(h) = rec.hooks()? {
        crate::container::hooks::run_warning(&h.poststart, &rec.state(Status::Running).text());
    }
    Ok(())
}

pub fn state_json(root: &Path, id: &str) -> Result<String> {
    let (dir, rec) = find(root, id)?;
    Ok(rec.state(rec.status(&dir)).text())
}

/// `kill`: the first process, or with `all` every process of the container's cgroups.
pub fn kill(root: &Path, id: &str, signal: i32, all: bool) -> Result<()> {
    let (dir, rec) = find(root, id)?;
    kill_found(&dir, &rec, id, signal, all)
}

fn kill_found(dir: &Path, rec: &Record, id: &str, signal: i32, all: bool) -> Result<()> {
    let stopped = rec.status(dir) == Status::Stopped;
    // `--all` of a stopped container still reaches what its cgroups hold (containerd's shim
    // ends a container's last processes so); runc's words for the rest.
    if stopped && !all {
        return Err(Error::new(
            format!("kill {id:?}"),
            "container not running (its first process ended)",
        )
        .hint(format!("remove it: nsbox delete {id}")));
    }
    let mut pids = match stopped {
        true => Vec::new(),
        false => vec![rec.pid.pid],
    };
    if all {
        pids.extend(cgroup_pids(dir)?.into_iter().filter(|p| *p != rec.pid.pid));
    }
    for pid in pids {
        match process::kill(pid, signal) {
            Ok(()) | Err(syscalls::Errno::ESRCH) => {}
            Err(e) => {
                return Err(Error::sys(
                    format!("kill({pid}, {})", crate::flags::signal_name(signal)),
                    e,
                ));
            }
        }
    }
    Ok(())
}

/// Every pid in the container's recorded cgroups.
pub fn cgroup_pids(dir: &Path) -> Result<Vec<i32>> {
    let mut pids = Vec::new();
    for cg in crate::state::recorded_cgroups(dir)? {
        if let Ok(text) = sys::read_text(&cg.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    crate::sort::sort(&mut pids);
    pids.dedup();
    Ok(pids)
}

/// `delete`: a stopped container's teardown; `force` kills a created or running one first.
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    // With --force a container that does not exist is deleted already, as runc has it: podman
    // deletes one whose create failed. (A directory without oci.json is not an OCI container's
    // and stays: the root is shared with native containers.)
    let dir = root.join(id);
    let rec = match Record::load(&dir)? {
        Some(rec) => rec,
        None if force => return Ok(()),
        None => return find(root, id).map(drop),
    };
    delete_found(&dir, &rec, id, force)
}

fn delete_found(dir: &Path, rec: &Record, id: &str, force: bool) -> Result<()> {
    let status = rec.status(dir);
    if status != Status::Stopped {
        // A created container is deleted without --force, as runc does (containerd's shim
        // deletes a created task so).
        if !force && status != Status::Created {
            return Err(Error::new(
                format!("delete {id:?}"),
                format!("the container is {}", status.name()),
            )
            .hint(format!(
                "stop it first (nsbox kill {id} KILL), or use delete --force"
            )));
        }
        super::control::thaw_for_kill(dir);
        let _ = kill_found(dir, rec, id, libc::SIGKILL, true);
        if !wait_gone(&rec.pid, Duration::from_secs(10)) {
            return Err(Error::new(
                format!("delete {id:?}"),
                format!("its process {} did not end after SIGKILL", rec.pid.pid),
            ));
        }
    }
    let hooks = rec.hooks()?;
    crate::trace::step(|| format!("tear down {id:?}: its cgroups, then its state directory"));
    remove(dir, rec)?;
    if let Some(h) = hooks {
        crate::container::hooks::run_warning(&h.poststop, &rec.state(Status::Stopped).text());
    }
    Ok(())
}

/// Waits until `p` is gone (or a zombie): it is not our child, so it is watched, not waited.
fn wait_gone(p: &Proc, patience: Duration) -> bool {
    let mut waited = Duration::ZERO;
    while p.alive() {
        if waited >= patience {
            return false;
        }
        let step = Duration::from_millis(1);
        process::sleep(step);
        waited += step;
    }
    true
}

/// Removes the container's cgroups (only those it was given), then its files and directory.
fn remove(dir: &Path, rec: &Record) -> Result<()> {
    let paths = crate::state::recorded_cgroups(dir)?;
    let expected = rec
        .cgroups_path
        .as_deref()
        .map(|p| p.trim_start_matches('/').to_string());
    if let Some(bad) = paths.iter().find(|p| match &expected {
        Some(e) => !p.ends_with(e),
        None => !p.ends_with(Path::new("nsbox").join(&rec.id)),
    }) {
        return Err(Error::new(
            format!("{:?}", dir.join(crate::state::CGROUPS_FILE)),
            format!("records {bad:?}, which is not this container's cgroup"),
        )
        .hint("nsbox leaves this directory alone: check it, and remove it by hand"));
    }
    crate::cgroup::remove_recorded(&paths)?;
    let unlink = |file: &str| {
        let p = dir.join(file);
        match fs::unlink(&sys::cpath(&p)?) {
            Ok(()) | Err(syscalls::Errno::ENOENT) => Ok(()),
            Err(e) => Err(Error::sys(format!("remove {p:?}"), e)),
        }
    };
    unlink(crate::state::CGROUPS_FILE)?;
    unlink(state::FILE)?;
    let path = sys::cpath(dir)?;
    match fs::rmdir(&path) {
        // The FIFO of a container never started, the record of a write cut short.
        Err(syscalls::Errno::ENOTEMPTY) => {
            unlink(state::FIFO)?;
            unlink("oci.json.tmp")?;
            fs::rmdir(&path)
        }
        other => other,
    }
    .map_err(|e| Error::sys(format!("remove {dir:?}"), e))
}

/// Every OCI container under `root`: (id, pid, status, bundle, created).
pub fn list(root: &Path) -> Result<Vec<(PathBuf, Record)>> {
    let mut out = Vec::new();
    let Ok(dir) = crate::commands::container::open_dir(root) else {
        return Ok(out);
    };
    for (name, _) in fs::list_dir(&dir).unwrap_or_default() {
        let path = root.join(std::ffi::OsStr::from_bytes(&name));
        if let Ok(Some(rec)) = Record::load(&path) {
            out.push((path, rec));
        }
    }
    crate::sort::sort_by(&mut out, |a, b| a.1.created < b.1.created);
    Ok(out)
}

/// `run`: create and start; unless detached, wait for the container (our child: this process
/// cloned it) and delete it. Returns the command's exit code.
pub fn run(c: &Create, detach: bool, root: &Path, cwd: &Path, trace: bool) -> Result<u8> {
    let (dir, rec) = create_record(c, root, cwd, trace, true)?;
    if detach {
        return Ok(0);
    }
    let exit = crate::container::supervise::supervise_process(rec.pid.pid, true);
    let _ = delete_found(&dir, &rec, &c.id, true);
    exit.map(|e| e.code())
}
