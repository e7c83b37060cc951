//! OCI `exec`: a process into a running container, as conmon and containerd's shim ask for it
//! (`exec --process FILE --detach --pid-file F ID`). The process JSON is applied whole; the
//! container's seccomp profile (from its config) is applied to it too, as runc does. Joining
//! is `nsbox exec`'s: the namespaces the container made and its cgroups.

use super::cli::Exec;
use super::commands::find;
use super::field::Field;
use super::state::Status;
use super::{config, json};
use crate::commands::exec::{self as join, How, Joined, Target};
use crate::error::{Error, Result};
use crate::spec::{Process, User};
use crate::sys::{self, fs};
use std::path::Path;

/// The namespaces a container can make, by their name under /proc/PID/ns.
const NAMESPACES: [(&str, i32); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
];

pub fn exec(root: &Path, e: &Exec, cwd: &Path) -> Result<u8> {
    let mask = join::before_joining()?;
    let (dir, rec) = find(root, &e.id)?;
    let status = rec.status(&dir);
    if matches!(status, Status::Stopped | Status::Paused) {
        return Err(Error::new(
            format!("exec into {:?}", e.id),
            format!("the container is {}", status.name()),
        ));
    }
    // The container's own config: its process is the base of `exec ID CMD`, and its seccomp
    // profile applies to every process in it.
    let container = config::load(&rec.bundle, &e.id, root)
        .map_err(|err| err.hint("exec reads the container's config.json from its bundle"))?
        .spec;
    let mut process = match &e.process {
        Some(file) => from_file(&absolute(cwd, file))?,
        None => container.process.clone(),
    };
    if e.process.is_none() {
        process.command = e.args.iter().map(Into::into).collect();
        process.tty = e.tty;
        process.console_size = None;
    }
    apply_flags(&mut process, e);
    process.seccomp = container.process.seccomp.clone();
    if process.tty && e.console_socket.is_none() {
        return Err(Error::new(
            format!("exec into {:?} with a terminal", e.id),
            "nsbox relays no terminal for OCI exec",
        )
        .hint("give --console-socket (the client relays the pty), or no terminal"));
    }
    // A pid file of the host: opened before nsbox moves into the container's mount namespace.
    let pid_dir = match &e.pid_file {
        Some(f) => Some(open_parent(&absolute(cwd, f))?),
        None => None,
    };
    let target = Target {
        id: &e.id,
        pid: &rec.pid,
        namespaces: made_namespaces(rec.pid.pid)?,
        dir: &dir,
    };
    let console = match &e.console_socket {
        Some(s) if process.tty => Some(crate::terminal::console::connect(&absolute(cwd, s))?),
        _ => None,
    };
    let how = How {
        detach: e.detach,
        console: console.as_ref(),
    };
    match join::join(mask, &target, &process, &how)? {
        Joined::Exited(code) => Ok(code),
        Joined::Detached(pid) => {
            if let (Some((dir, name)), Some(path)) = (&pid_dir, &e.pid_file)
                && let Err(err) = write_pid_file_at(dir, name, path, pid)
            {
                // A process its caller cannot know of must not run on.
                let _ = crate::sys::process::kill(pid, libc::SIGKILL);
                return Err(err);
            }
            Ok(0)
        }
    }
}

fn from_file(path: &Path) -> Result<Process> {
    let bytes = fs::read_file(&sys::cpath(path)?)
        .map_err(|e| Error::sys(format!("read the process file {path:?}"), e))?;
    let value = json::parse(&bytes).map_err(|e| {
        Error::new(
            format!("{path:?} line {} column {}", e.line, e.column),
            format!("not valid JSON: {}", e.why),
        )
    })?;
    config::process_of(&Field::root("the process", &value))
}

/// `--cwd`, `--env`, `--user`, `--no-new-privs` over the process.
fn apply_flags(p: &mut Process, e: &Exec) {
    if let Some(cwd) = &e.cwd {
        p.workdir = cwd.clone();
    }
    for var in &e.env {
        let key = var.split('=').next().unwrap_or_default();
        match p.env.iter_mut().find(|v| v.split('=').next() == Some(key)) {
            Some(slot) => *slot = var.clone(),
            None => p.env.push(var.clone()),
        }
    }
    if let Some((uid, gid)) = e.user {
        p.user = User {
            uid,
            gid: gid.unwrap_or(p.user.gid),
        };
    }
    if e.no_new_privs {
        p.security.no_new_privs = true;
    }
}

/// The namespaces of `pid` that are not nsbox's own: those the container made (or joined).
fn made_namespaces(pid: i32) -> Result<i32> {
    let mut made = 0;
    for (name, flag) in NAMESPACES {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{name}")).map_err(|_| {
            Error::new(
                format!("/proc/{pid}/ns/{name}"),
                "the container's first process is gone",
            )
        })?;
        let ours = std::fs::read_link(format!("/proc/self/ns/{name}")).ok();
        if ours.as_ref() != Some(&theirs) {
            made |= flag;
        }
    }
    Ok(made)
}

fn absolute(cwd: &Path, p: &Path) -> std::path::PathBuf {
    cwd.join(p)
}

/// The pid file's directory (opened) and its name.
fn open_parent(path: &Path) -> Result<(std::os::fd::OwnedFd, std::ffi::CString)> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .ok_or_else(|| Error::new(format!("the pid file {path:?}"), "it names no file"))?;
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    let dir = fs::openat(libc::AT_FDCWD, &sys::cpath(parent)?, flags, 0)
        .map_err(|e| Error::sys(format!("open the pid file's directory {parent:?}"), e))?;
    Ok((dir, sys::cpath(Path::new(name))?))
}

fn write_pid_file_at(
    dir: &std::os::fd::OwnedFd,
    name: &std::ffi::CStr,
    shown: &Path,
    pid: i32,
) -> Result<()> {
    use std::os::fd::AsRawFd;
    let tmp = sys::cstr(format!("{}.tmp", name.to_string_lossy()))
        .map_err(|e| Error::sys("pid file name", e))?;
    fs::replace_file_at(
        dir.as_raw_fd(),
        &tmp,
        name,
        pid.to_string().as_bytes(),
        0o644,
    )
    .map_err(|e| Error::sys(format!("write the pid file {shown:?}"), e))
}
