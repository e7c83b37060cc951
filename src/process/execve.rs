//! The child's last steps: working directory, privileges and identity, descriptors, signal
//! mask, and execve
//! with a PATH lookup done inside the container.

use crate::container::spawn::ChildChannel;
use crate::error::{EXIT_CANNOT_EXEC, EXIT_NOT_FOUND, Error, Result, Topic};
use crate::spec::{self, Process, Spec};
use crate::sys::{self, fs, process, signal::SigSet};
use crate::trace;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use syscalls::Errno;

/// What becoming the command needs to know of its container besides the process: whether
/// it is in a user namespace (how it sets its ids), and whether it outlives the nsbox that
/// made it (OCI `create`: no parent-death signal).
#[derive(Debug, Clone, Copy)]
pub struct Launch {
    pub userns: bool,
    pub outlives_parent: bool,
}

impl Launch {
    /// The context of a container's first process.
    pub fn of(spec: &Spec) -> Launch {
        Launch {
            userns: spec.userns.is_some(),
            outlives_parent: spec.extra.start_fifo.is_some(),
        }
    }
}

/// The container's first process becomes its command. Returns only the error that prevented
/// it. With OCI `create`'s FIFO, it waits there for `start` first.
pub fn exec(
    spec: &Spec,
    mask: SigSet,
    channel: &ChildChannel,
    gate: Option<&crate::child::extras::StartGate>,
) -> Error {
    let process = &spec.process;
    let ready = prepare(process, Launch::of(spec), channel).and_then(|cmd| match gate {
        // A command that is not there fails `create`, before the wait, as runc's does (the
        // clients report it as create's error, with 127 or 126).
        Some(gate) => look_up(process, &cmd)
            .and_then(|()| crate::child::extras::wait_for_start(gate, spec, channel))
            .map(|()| cmd),
        None => Ok(cmd),
    });
    match ready {
        Ok(cmd) => execvpe(process, &cmd, mask),
        Err(e) => e,
    }
}

/// A process joined to a running container (`exec`) becomes its command.
pub fn exec_process(p: &Process, ctx: Launch, mask: SigSet, channel: &ChildChannel) -> Error {
    match prepare(p, ctx, channel) {
        Ok(cmd) => execvpe(p, &cmd, mask),
        Err(e) => e,
    }
}

/// The command's argv and environment, ready for execve.
pub struct Command {
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// Everything before execve but the signal mask: the working directory (checked to be inside
/// the root), the container's privileges (for this process and all it creates). Called once
/// descriptors 3 and up are closed (the sync socket aside).
pub fn prepare(process: &Process, ctx: Launch, channel: &ChildChannel) -> Result<Command> {
    let argv = process
        .command
        .iter()
        .map(|a| sys::cstr(a.as_bytes()).map_err(|e| Error::sys(format!("argument {a:?}"), e)))
        .collect::<Result<Vec<_>>>()?;
    let envp = process
        .env
        .iter()
        .map(|v| sys::cstr(v.as_bytes()).map_err(|e| Error::sys(format!("environment {v:?}"), e)))
        .collect::<Result<Vec<_>>>()?;

    // The caller closed every descriptor of the host's (`ChildChannel::close_everything_else`):
    // none may be open while the container's paths are resolved (the working directory, the
    // command, its interpreter), or `-w /proc/self/fd/N` would lead out.
    trace::step(|| format!("enter the working directory {}", process.workdir));
    let workdir = sys::cstr(process.workdir.as_bytes())
        .map_err(|e| Error::sys("the working directory", e).about(Topic::Workdir))?;
    fs::chdir(&workdir).map_err(|e| {
        Error::sys(
            format!("chdir to the working directory {:?}", process.workdir),
            e,
        )
        .about(Topic::Workdir)
        .hint_on(
            Errno::ENOENT,
            "the directory must exist in the rootfs (or be a mount of the container)",
        )
    })?;
    require_inside(&process.workdir)?;
    fs::umask(process.umask.unwrap_or(0o022));

    crate::process::hardening::apply(process, ctx, channel)?;
    // Nothing opened since the closing may reach the command either (one syscall, whatever a
    // later change opens without O_CLOEXEC). The sync socket is close-on-exec already: its
    // closing at execve is how the parent learns that the command started.
    sys::fd::cloexec_from(3)
        .map_err(|e| Error::sys("mark descriptors 3 and up close-on-exec", e))?;
    Ok(Command { argv, envp })
}

/// The working directory must be inside the container's root, whatever path led there (a
/// magic link of /proc, a symlink of the image): getcwd(2) names it from that root, or says
/// "(unreachable)".
fn require_inside(workdir: &str) -> Result<()> {
    // On the stack: the child allocates nothing for this check.
    let mut buf = [0u8; libc::PATH_MAX as usize];
    let seen = fs::getcwd(&mut buf).map(|n| &buf[..n]);
    if let Ok(path) = seen
        && path.first() == Some(&b'/')
    {
        return Ok(());
    }
    let why = match seen {
        Ok(path) => format!(
            "it is outside the container's root (getcwd: {:?})",
            String::from_utf8_lossy(path)
        ),
        Err(e) => format!("getcwd cannot name it ({})", crate::error::errno_text(e)),
    };
    Err(
        Error::new(format!("the working directory {workdir:?}"), why)
            .code(crate::error::EXIT_NSBOX)
            .hint("the working directory must be a directory of the container's own filesystem"),
    )
}

/// execve, searching the container's PATH when argv[0] has no `/`, like execvpe(3), with the
/// caller's signal mask `mask` back. Untraced, nothing is written from here on: the mask goes
/// back once. Traced, each execve puts it back itself, after its trace line.
pub fn execvpe(p: &Process, cmd: &Command, mask: SigSet) -> Error {
    trace::end_of_steps();
    let (argv, envp) = (&cmd.argv, &cmd.envp);
    let traced = trace::enabled();
    if !traced && let Err(e) = sys::signal::set_mask(mask) {
        return Error::sys("restore the signal mask", e);
    }
    let execve = |path: &std::ffi::CStr| process::execve(path, argv, envp, traced.then_some(mask));
    let name = argv[0].as_bytes();
    let shown = String::from_utf8_lossy(name).into_owned();
    if name.contains(&b'/') {
        return failure(p, &shown, execve(&argv[0]), None);
    }
    let path = search_path(p);
    let mut denied = None;
    for full in candidates(path, name) {
        match execve(&full) {
            Errno::ENOENT | Errno::ENOTDIR => continue,
            Errno::EACCES => denied = Some(full.to_string_lossy().into_owned()),
            e => return failure(p, &full.to_string_lossy(), e, None),
        }
    }
    match denied {
        Some(found) => failure(p, &found, Errno::EACCES, None),
        None => failure(p, &shown, Errno::ENOENT, Some(path)),
    }
}

/// Whether execvpe will find the command: a file this process may execute, named or found in
/// the container's PATH. The error is the one execve would give. Where the config's seccomp
/// profile refuses faccessat2 itself, execve is left to tell.
fn look_up(p: &Process, cmd: &Command) -> Result<()> {
    let name = cmd.argv[0].as_bytes();
    if name.contains(&b'/') {
        return match fs::executable(&cmd.argv[0]) {
            Ok(()) | Err(Errno::ENOSYS | Errno::EPERM) => Ok(()),
            Err(e) => Err(failure(p, &String::from_utf8_lossy(name), e, None)),
        };
    }
    let path = search_path(p);
    let mut denied = None;
    for full in candidates(path, name) {
        match fs::executable(&full) {
            Ok(()) if fs::file_type(&full) == Ok(libc::S_IFREG) => return Ok(()),
            Ok(()) | Err(Errno::EACCES) => denied = Some(full),
            Err(Errno::ENOSYS | Errno::EPERM) => return Ok(()),
            Err(_) => continue,
        }
    }
    Err(match denied {
        Some(found) => failure(p, &found.to_string_lossy(), Errno::EACCES, None),
        None => failure(p, &String::from_utf8_lossy(name), Errno::ENOENT, Some(path)),
    })
}

fn search_path(p: &Process) -> &str {
    p.env
        .iter()
        .find_map(|v| v.strip_prefix("PATH="))
        .unwrap_or(spec::DEFAULT_PATH)
}

/// `dir/name` for each directory of PATH (an empty entry is the working directory).
fn candidates<'a>(path: &'a str, name: &'a [u8]) -> impl Iterator<Item = std::ffi::CString> + 'a {
    path.split(':').filter_map(move |dir| {
        let dir = if dir.is_empty() { "." } else { dir };
        let mut joined = dir.as_bytes().to_vec();
        joined.push(b'/');
        joined.extend_from_slice(name);
        sys::cstr(joined).ok()
    })
}

/// The error for a failed execve: 127 when not found, 126 when not executable, 125 when nsbox
/// picked the command itself.
fn failure(p: &Process, what: &str, e: Errno, searched: Option<&str>) -> Error {
    let mut err = Error::sys(format!("exec {what:?}"), e);
    err = match (e, searched) {
        // The words runc uses are the ones podman and containerd look for in the message.
        (Errno::ENOENT, Some(path)) => err.code(EXIT_NOT_FOUND).hint(format!("executable file not found in $PATH (the container's PATH={path})")),
        (Errno::ENOENT, None) => err.code(EXIT_NOT_FOUND).hint(
            "no such file or directory in the container (if it exists, its interpreter or dynamic loader is missing from the rootfs)",
        ),
        (Errno::EACCES, _) => err.code(EXIT_CANNOT_EXEC).hint("permission denied: the file is not executable (or its filesystem is noexec)"),
        (Errno::ENOEXEC, _) => err.code(EXIT_CANNOT_EXEC).hint("not a binary this kernel can run, and no #! line"),
        _ => err.code(EXIT_CANNOT_EXEC),
    };
    if p.command_defaulted {
        err = err.code(crate::error::EXIT_NSBOX).hint(format!(
            "no command was given, and the rootfs has no {}: name the command after the options",
            spec::DEFAULT_SHELL
        ));
    }
    // `-r DIR` with an OCI bundle (config.json, rootfs/): the container's / is the bundle.
    if e == Errno::ENOENT && fs::stat(c"/config.json").is_ok() && fs::stat(c"/rootfs").is_ok() {
        err = err.hint("the rootfs given is an OCI bundle (config.json and rootfs/): give its rootfs/ directory as the rootfs");
    }
    err
}
