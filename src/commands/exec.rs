//! `nsbox exec ID COMMAND...`: a new process inside a running container.
//!
//!   nsbox: PR_SET_DUMPABLE 0 -> open /proc/PID/ns/{cgroup,ipc,uts,net,pid,mnt} and
//!          /proc/PID/root -> setns(pid) (for the children to come) -> clone
//!   child: join the container's cgroups -> setns(cgroup, ipc, uts, net, mnt) -> fchdir to
//!          PID 1's root, chroot(".") -> the container's privileges -> execve
//!   nsbox: forwards signals, waits, exits with the command's code
//!
//! Everything is opened before anything is joined (after the mount namespace, /proc is the
//! container's), and PID 1's start time is checked after the opening: a reused pid cannot make
//! nsbox join someone else's namespaces. nsbox is not dumpable from the start, so root in the
//! container cannot open /proc/PID/exe of the joining process and overwrite the nsbox binary
//! (CVE-2019-5736), nor its descriptors; and it holds no host directory when it enters
//! (CVE-2016-9962): setns(mnt) moves its cwd and root into the container, and the only
//! descriptors it has are the container's own namespaces and root, closed at execve.

use super::container;
use crate::cli::Exec;
use crate::container::spawn::{self, ChildChannel};
use crate::error::{Context, Error, Result};
use crate::process::execve::{self, Launch};
use crate::spec::Process;
use crate::state;
use crate::state::record::{Proc, Record};
use crate::sys::{self, cpath as c, fs, lifecycle, mount, process, signal::SigSet};
use crate::trace;
use crate::{container::supervise, spec};
use std::convert::Infallible;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The namespaces nsbox joins itself before it creates the process, in this order: the mount
/// namespace last (it changes what paths mean). The pid namespace follows (it applies to the
/// process created next); the cgroup namespace is the child's, after its move into the
/// container's cgroups.
const JOINED: [(&str, i32); 4] = [
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("mnt", libc::CLONE_NEWNS),
];

/// What the child is handed: descriptors opened on the host side.
struct Joins {
    cgroup_procs: Vec<OwnedFd>,
    /// None where the container shares the host's (nsbox's) cgroup namespace.
    cgroup_ns: Option<OwnedFd>,
    namespaces: Vec<(OwnedFd, i32)>,
    root: OwnedFd,
}

pub fn exec(opts: &Exec) -> Result<u8> {
    if opts.trace {
        trace::enable();
    }
    let result = start(opts);
    trace::timeline();
    result
}

fn start(opts: &Exec) -> Result<u8> {
    let mask = before_joining()?;
    if opts.tty {
        crate::terminal::console::require_terminal("exec")?;
    }
    // The records it acts on must be the caller's own to trust.
    crate::state::check_root_owner(&opts.root)?;
    let found = container::find(&opts.root, &opts.id)?;
    found.require_running("exec into")?;
    let rec = &found.record;
    let target = Target {
        id: &rec.id,
        pid: &rec.pid,
        // A native container always has pid and cgroup namespaces of its own (the cgroup one
        // unshared after clone, so not in its clone flags).
        namespaces: rec.namespaces | libc::CLONE_NEWPID | libc::CLONE_NEWCGROUP,
        dir: &found.dir,
    };
    let process = process_for(rec, opts)?;
    match join(mask, &target, &process, &How::default())? {
        Joined::Exited(code) => Ok(code),
        Joined::Detached(_) => Ok(0),
    }
}

/// The running container a process joins.
pub struct Target<'a> {
    pub id: &'a str,
    /// Its first process.
    pub pid: &'a Proc,
    /// The namespaces it made (clone flags): the others are the host's, which nsbox is in.
    pub namespaces: i32,
    /// Its state directory, where the cgroups it was given are recorded.
    pub dir: &'a Path,
}

/// How the joined process runs: waited for, its exit code nsbox's (the default), or detached
/// (OCI `exec --detach`: left to the caller's subreaper once its execve succeeded).
#[derive(Default)]
pub struct How<'a> {
    pub detach: bool,
    /// The console socket the pty master goes to (OCI `--console-socket`, connected before
    /// joining) instead of being relayed.
    pub console: Option<&'a OwnedFd>,
}

pub enum Joined {
    Exited(u8),
    /// The process runs on; its host pid.
    Detached(i32),
}

/// The first steps of every process that joins a container, before anything is opened:
/// signals blocked, nsbox re-executed from a read-only image of itself (see sealed.rs;
/// execveat of a descriptor named it after the descriptor's number), its name.
pub fn before_joining() -> Result<SigSet> {
    let mask = supervise::block()?;
    crate::container::sealed::ensure(mask)?;
    let _ = process::set_name(c"nsbox");
    Ok(mask)
}

/// Joins `target` and runs `process` there, as `how` says. `mask`: from `before_joining`.
pub fn join(mask: SigSet, target: &Target, process: &Process, how: &How) -> Result<Joined> {
    trace::step(|| "make nsbox undumpable: the container cannot open /proc/PID/exe of it".into());
    lifecycle::set_undumpable().ctx(|| "prctl(PR_SET_DUMPABLE, 0)".into())?;
    let pid = target.pid.pid;
    // A container with a user namespace is joined through it (its owner needs no root on the
    // host); any other needs root.
    let user_ns = match target.namespaces & libc::CLONE_NEWUSER != 0 {
        true => Some(open_ns(pid, "user")?),
        false => {
            super::run::require_root()?;
            None
        }
    };
    trace::step(|| format!("open the namespaces of PID 1 (host pid {pid})"));
    // The pid and cgroup namespaces too only where the container has its own: after
    // setns(user), one of the host's could not be entered.
    let own = |flag: i32| target.namespaces & flag != 0;
    let pid_ns = match own(libc::CLONE_NEWPID) {
        true => Some(open_ns(pid, "pid")?),
        false => None,
    };
    let joins = Joins {
        cgroup_procs: cgroup_procs(target.dir)?,
        cgroup_ns: match own(libc::CLONE_NEWCGROUP) {
            true => Some(open_ns(pid, "cgroup")?),
            false => None,
        },
        // Only those the container made: one it shares with the host (--net host) is already
        // ours, and after setns(user) it could not be entered again.
        namespaces: JOINED
            .iter()
            .filter(|(_, flag)| target.namespaces & flag != 0)
            .map(|(name, flag)| Ok((open_ns(pid, name)?, *flag)))
            .collect::<Result<_>>()?,
        root: open_proc(pid, "root", libc::O_PATH | libc::O_DIRECTORY)?,
    };
    if !target.pid.alive() {
        return Err(Error::new(
            format!("exec into {:?}", target.id),
            "the container ended meanwhile",
        ));
    }
    // In a user namespace the command sets its ids as there; whether setgroups is denied it
    // reads from its own /proc/self/setgroups (userns::identity).
    let ctx = Launch {
        userns: user_ns.is_some(),
        outlives_parent: how.detach,
    };
    if let Some(fd) = user_ns {
        // The caller's supplementary groups must not come along into the namespace (where a
        // denied setgroups could not drop them): root drops them here; another caller's are
        // its own.
        if sys::geteuid() == 0 {
            process::drop_groups().ctx(|| "setgroups(0, NULL) before joining".into())?;
        }
        // First: the other namespaces belong to it, and joining them needs its capabilities.
        trace::step(|| "join the container's user namespace".into());
        lifecycle::setns(&fd, libc::CLONE_NEWUSER).ctx(|| "setns(user)".into())?;
        sys::close(fd);
    }
    // nsbox enters the container's mount namespace and root itself, and only then the pid
    // namespace: the process it creates there never holds a host path, even for a moment.
    // nsbox stays outside the container's pid namespace, where nothing inside can see it.
    enter_namespaces(&joins)?;
    trace::step(|| "join the pid namespace (for the process about to be created)".into());
    if let Some(ns) = pid_ns {
        lifecycle::setns(&ns, libc::CLONE_NEWPID).ctx(|| "setns(pid)".into())?;
        sys::close(ns);
    }
    trace::step(|| "clone the command's process into the container's pid namespace".into());
    let child = spawn::spawn(0, None, |channel, _| {
        enter(&joins, process, ctx, mask, channel)
    })?;
    drop(joins);
    let handed = how.detach || how.console.is_some();
    let master = match process.tty {
        true => crate::terminal::console::receive_master(&child, handed),
        false => None,
    };
    if let (Some(m), Some(sock)) = (&master, how.console)
        && let Err(e) = crate::terminal::console::send_master(sock, m, process.console_size)
    {
        child.abort();
        return Err(e);
    }
    // Sent: the client holds the terminal now (its hang-up must reach the process).
    let master = master.filter(|_| how.console.is_none());
    child.release()?;
    if how.detach {
        trace::step(|| format!("leave the command (host pid {}) to the caller", child.pid));
        if !child.wait_started() {
            let _ = process::wait(child.pid);
            let (code, message) = child.report().unwrap_or_default();
            return Err(Error::reported(code, message));
        }
        return Ok(Joined::Detached(child.pid));
    }
    trace::step(|| {
        format!(
            "wait for the command (host pid {}), forwarding signals",
            child.pid
        )
    });
    let waited = match master {
        Some(m) if how.console.is_none() => {
            crate::terminal::console::relay(m, supervise::Supervisor::new(child.pid, false), None)
        }
        _ => supervise::supervise_process(child.pid, false),
    };
    let exit = match waited {
        Ok(exit) => exit,
        Err(e) => {
            child.abort();
            return Err(e);
        }
    };
    if let Some((code, message)) = child.report() {
        return Err(Error::reported(code, message));
    }
    Ok(Joined::Exited(exit.code()))
}

fn open_proc(pid: i32, name: &str, flags: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/{name}");
    let p = sys::cstr(path.as_bytes()).map_err(|e| Error::sys(path.clone(), e))?;
    fs::openat(
        libc::AT_FDCWD,
        &p,
        flags | libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| match e {
        // PID 1 is gone (or going): its /proc entries with it.
        syscalls::Errno::ENOENT | syscalls::Errno::ESRCH => Error::new(
            format!("open {path}"),
            "PID 1 is gone: the container ended meanwhile",
        )
        .hint("see 'nsbox ps -a'"),
        e => Error::sys(format!("open {path}"), e),
    })
}

fn open_ns(pid: i32, name: &str) -> Result<OwnedFd> {
    open_proc(pid, &format!("ns/{name}"), 0)
}

/// The container's own cgroups (recorded when it has limits): their `cgroup.procs`, opened
/// for writing here, on the host side.
fn cgroup_procs(dir: &Path) -> Result<Vec<OwnedFd>> {
    state::recorded_cgroups(dir)?
        .into_iter()
        .map(|cg| {
            let procs = cg.join("cgroup.procs");
            fs::openat(
                libc::AT_FDCWD,
                &c(&procs)?,
                libc::O_WRONLY | libc::O_CLOEXEC,
                0,
            )
            .map_err(|e| Error::sys(format!("open {procs:?}"), e))
        })
        .collect()
}

/// The command's process: the container's environment, user, working directory and
/// privileges, with what `exec` overrides (a user by name looked up in the container's
/// /etc/passwd, through PID 1's root).
fn process_for(rec: &Record, opts: &Exec) -> Result<Process> {
    let mut env = rec.env.clone();
    spec::override_env(&mut env, &opts.env);
    if opts.tty && !env.iter().any(|v| v.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    let (user, groups) = match &opts.user {
        None => (rec.user, rec.groups.clone()),
        Some((ids, None)) => (*ids, Vec::new()),
        Some((_, Some(names))) => {
            let root = format!("/proc/{}/root", rec.pid.pid);
            let found = crate::process::users::resolve_under(Path::new(&root), names)?;
            if let Some(home) = found.home {
                spec::override_env(&mut env, &[("HOME".into(), home)]);
            }
            (found.user, found.groups)
        }
    };
    let mut security = rec.security;
    security.caps = crate::spec::CapSets::native(rec.security.caps.bounding, user.uid);
    Ok(Process {
        security,
        seccomp: rec
            .seccomp
            .then_some(crate::process::seccomp::Seccomp::Nsbox),
        tty: opts.tty,
        groups,
        ..Process::new(
            opts.command.clone(),
            env,
            opts.workdir.clone().unwrap_or_else(|| rec.workdir.clone()),
            user,
        )
    })
}

/// The child: into the container's cgroups and cgroup namespace, then the command.
fn enter(
    joins: &Joins,
    process: &Process,
    ctx: Launch,
    mask: SigSet,
    channel: ChildChannel,
) -> Infallible {
    // The cgroup files were the last of the host's descriptors the child needed.
    let joined = join_cgroups(joins, ctx.outlives_parent)
        .and_then(|()| channel.close_everything_else(None))
        .and_then(|()| match process.tty {
            true => crate::terminal::console::attach_in_container(&channel, false),
            false => Ok(()),
        });
    let err = match joined {
        Ok(()) => {
            // "go" must be taken: the privilege step reads the channel to learn whether
            // nsbox still lives.
            channel.wait_for_parent();
            execve::exec_process(process, ctx, mask, &channel)
        }
        Err(e) => e,
    };
    channel.fail(&err)
}

fn join_cgroups(joins: &Joins, detached: bool) -> Result<()> {
    // If nsbox dies, the command dies with it (unless it is left to the caller).
    if !detached {
        process::set_parent_death_signal(libc::SIGKILL)
            .ctx(|| "prctl(PR_SET_PDEATHSIG, SIGKILL)".into())?;
    }
    let _ = process::set_name(c"nsbox:exec");
    sys::hide_cmdline();
    for procs in &joins.cgroup_procs {
        sys::write(procs, b"0")
            .ctx(|| "join the container's cgroup (write cgroup.procs)".into())?;
    }
    match &joins.cgroup_ns {
        Some(ns) => lifecycle::setns(ns, libc::CLONE_NEWCGROUP).ctx(|| "setns(cgroup)".into()),
        None => Ok(()),
    }
}

/// nsbox's part: the ipc, uts, net and mount namespaces, then the root of PID 1.
fn enter_namespaces(joins: &Joins) -> Result<()> {
    trace::step(|| "join the container's namespaces and its root".into());
    for (fd, flag) in &joins.namespaces {
        lifecycle::setns(fd, *flag).ctx(|| {
            format!(
                "setns({})",
                crate::flags::decode(*flag as u64, crate::flags::CLONE)
            )
        })?;
    }
    // setns(mnt) put us at the namespace's root; PID 1's root may be below it (--chroot).
    fs::fchdir(&joins.root).ctx(|| "enter the root of PID 1".into())?;
    mount::chroot(c".").ctx(|| "chroot(\".\") into the root of PID 1".into())?;
    Ok(())
}
