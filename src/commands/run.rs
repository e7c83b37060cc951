//! `nsbox run`: the whole life of a container, top to bottom.
//!
//!   parent: check inputs -> block signals -> [state, cgroups, network plan]
//!           -> clone(new namespaces) -> [state dir] -> [veth into the child's namespace]
//!           -> "go"
//!   child:  [join cgroups] -> mounts (with /etc/hosts) -> pivot_root -> hostname -> lo
//!           -> (waits for "go") -> execve
//!   parent: forward signals, wait -> report -> tear down
//!
//! The parent's setup runs while the child builds its filesystem: on two cores, off the
//! critical path. The state comes first only when something must exist before clone: the
//! host-rootfs mount point, cgroups (recorded in the state, then created, so that the child
//! is born inside them), or the network's record, lease and /etc/hosts (which the child binds).

use crate::cgroup::{self, Cgroups, limits::human_bytes};
use crate::child;
use crate::cli::Options;
use crate::container::detach;
use crate::container::output::Detached;
use crate::container::spawn;
use crate::container::supervise::Supervisor;
use crate::container::userns;
use crate::error::{Context, Error, Result};
use crate::net::{self, hosts::EtcFiles};
use crate::spec::{Rootfs, Spec};
use crate::state::State;
use crate::state::record::{Proc, Record};
use crate::sys::lifecycle;
use crate::sys::{self, fs, process::Exit, signal::SigSet};
use crate::terminal::console;
use crate::{container::supervise, trace};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Runs the container and returns nsbox's exit code: the command's own, 128+N when it was
/// killed by signal N, 125 for nsbox's errors, 126/127 when the command cannot be executed.
pub fn run(spec: &Spec, opts: Options) -> Result<u8> {
    run_to(spec, opts).map(|outcome| match outcome {
        Outcome::Exited(code) => code,
        Outcome::Created(_) => 0,
    })
}

/// How far `run_to` went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The container ran and ended (or, with -d, started) with this exit code.
    Exited(u8),
    /// OCI `create` (`spec.extra.start_fifo`): the container is built and its first process
    /// (this host pid) waits for `start`; its state directory and cgroups stay.
    Created(i32),
}

/// `run`, or with `spec.extra.start_fifo` OCI `create`: the same steps up to the command's
/// execve, where `create` stops.
pub fn run_to(spec: &Spec, opts: Options) -> Result<Outcome> {
    if opts.trace {
        trace::enable();
    }
    // From here on signals wait (blocked): none can kill nsbox between creating something on
    // the host and removing it, and once the container exists they go to it. SIGPIPE too: a
    // reader of --trace that goes away must not kill nsbox in the middle of its work (so this
    // comes before the first line of the trace).
    let result = supervise::block().and_then(|mask| {
        // What `ps` and `strace -f` show for this process (the child is nsbox:child, --init's
        // PID 1 nsbox:init, a detached container's supervisor nsbox:supervise).
        let _ = sys::process::set_name(c"nsbox:parent");
        start(spec, opts, mask)
    });
    trace::timeline();
    result
}

/// `run`'s work, from the checks to the teardown (or, with -d, to the command's start).
fn start(spec: &Spec, opts: Options, mask: SigSet) -> Result<Outcome> {
    // Every process of nsbox's that enters the container runs from a read-only image of nsbox (sealed.rs).
    crate::container::sealed::ensure(mask)?;
    // Namespaces and mounts need CAP_SYS_ADMIN in the host's user namespace, or a user
    // namespace of the container's own (--userns), where some things cannot be done.
    let maps = check_privileges(spec)?;
    // Fail on bad input before anything exists on the host.
    check_rootfs(spec)?;
    // `-u NAME`: the ids the image gives the names, before anything is made.
    let named;
    let spec = match &spec.process.names {
        Some(names) => {
            named = crate::process::users::resolve_in(spec, names)?;
            &named
        }
        None => spec,
    };
    if spec.process.tty && !opts.detach && spec.extra.console_socket.is_none() {
        console::require_terminal("run")?;
    }
    // Limits are checked against this host (its controllers, its CPUs) just as early.
    let planned = match spec.wants_cgroups() {
        true => Some(cgroup::prepare(&spec.limits)?),
        false => None,
    };
    let mut notify = None;
    if opts.detach {
        trace::step(|| "fork the supervisor of the detached container".into());
        match detach::fork_supervisor()? {
            detach::Side::Front(reader) => {
                trace::hand_over_timeline();
                // ^C may end the wait (the container, in its own session, goes on); SIGPIPE stays
                // blocked, for the trace lines still to come.
                let pipe = SigSet::of(&[libc::SIGPIPE]).0;
                let _ = sys::signal::set_mask(SigSet(mask.0 | pipe));
                return detach::wait_started(reader, &spec.id).map(Outcome::Exited);
            }
            detach::Side::Supervisor(n) => notify = Some(n),
        }
    }
    let setup = Setup {
        planned,
        mask,
        maps,
    };
    let result = run_with_state(spec, setup, notify.as_mut(), !opts.remove);
    match notify {
        // The container never ran: the front prints the error.
        Some(mut n) if n.pending() => {
            let err = match result {
                Ok(outcome) => Error::new("the container", format!("ended at once ({outcome:?})")),
                Err(e) => e,
            };
            n.failed(&err);
            Ok(Outcome::Exited(err.code))
        }
        _ => result,
    }
}

/// What the checks before the state produced.
struct Setup {
    planned: Option<Vec<cgroup::Planned>>,
    mask: SigSet,
    /// --userns: how each map gets written.
    maps: Option<(userns::Writer, userns::Writer)>,
}

/// Creates the state (and the cgroups, the network plan), runs the container, and tears
/// everything down.
/// `keep_record`: a detached container's record stays after it ended (not with `--rm`).
fn run_with_state(
    spec: &Spec,
    setup: Setup,
    mut notify: Option<&mut detach::Notify>,
    keep_record: bool,
) -> Result<Outcome> {
    let Setup {
        planned,
        mask,
        maps,
    } = setup;
    // The network's names and addresses are checked against the host's before anything is
    // made (here, not before the fork of `-d`: the supervisor closes every inherited fd).
    let checked = match spec.net.has_link() {
        true => Some(net::check(spec)?),
        false => None,
    };
    let detached = notify.is_some();
    let creates = spec.extra.start_fifo.is_some();
    let needs_state = spec.rootfs == Rootfs::Host
        || planned.is_some()
        || checked.is_some()
        || detached
        || creates;
    let mut state = match needs_state {
        true => Some(create_state(spec)?),
        false => None,
    };
    if let (Some(st), Some(fifo)) = (state.as_mut(), &spec.extra.start_fifo)
        && let Err(e) = st.add_fifo(fifo)
    {
        st.remove();
        return Err(e);
    }
    let mut output = match (state.as_mut(), detached) {
        (Some(st), true) => match Detached::open(st, spec.process.tty) {
            Ok(output) => Some(output),
            Err(e) => {
                st.remove();
                return Err(e);
            }
        },
        _ => None,
    };
    let mut cgroups = match (&planned, state.as_mut()) {
        (Some(planned), Some(st)) => match Cgroups::create(
            planned,
            &spec.limits,
            &spec.id,
            spec.extra.cgroups_path.as_deref().map(Path::new),
            st,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                st.remove();
                return Err(e);
            }
        },
        _ => None,
    };
    let mut network = match (checked, state.as_mut()) {
        (Some(checked), Some(st)) => match net::prepare(checked, spec, st) {
            Ok(plan) => Some(plan),
            Err(e) => {
                if let Some(c) = cgroups.as_mut() {
                    c.remove();
                }
                st.remove();
                return Err(e);
            }
        },
        _ => None,
    };
    let parts = Parts {
        mask,
        cgroups: cgroups.as_mut(),
        network: network.as_mut(),
        maps,
        output: output.as_mut(),
    };
    let result = run_container(spec, parts, &mut state, notify.as_deref_mut());
    if let (Ok(Outcome::Created(_)), Some(st)) = (&result, state.as_mut()) {
        // The container lives on without us: `delete` tears it down, from its records.
        st.keep();
        return result;
    }
    // Nothing stays on the host, whatever happened above.
    let mut all_gone = true;
    if let Some(plan) = network.as_mut() {
        all_gone &= plan.teardown();
    }
    if let Some(cgroups) = cgroups.as_mut() {
        trace::step(|| "tear down: remove the cgroups".into());
        all_gone &= cgroups.remove();
    }
    if let Some(state) = state.as_mut() {
        let started = notify.as_ref().is_some_and(|n| !n.pending());
        if started && keep_record {
            // A detached container's record stays for `ps -a`, `logs` and `rm`.
            let code = match &result {
                Ok(Outcome::Exited(code)) => *code,
                Ok(Outcome::Created(_)) => 0,
                Err(e) => e.code,
            };
            trace::step(|| format!("record the exit code {code}"));
            if let Err(e) = state.finish(code) {
                crate::report_warning(&e);
            }
        } else if all_gone {
            trace::step(|| "tear down: remove the state directory".into());
            state.remove();
        } else {
            // Its record of the cgroups lets `nsbox gc` finish the job.
            state.keep();
        }
    }
    result
}

/// The state directory makes the id unique and records what to tear down.
fn create_state(spec: &Spec) -> Result<State> {
    trace::step(|| format!("create the state directory {:?}", spec.state_dir()));
    State::create(spec)
}

/// What the container is built with, beside its Spec.
struct Parts<'a> {
    mask: SigSet,
    cgroups: Option<&'a mut Cgroups>,
    network: Option<&'a mut net::Plan>,
    maps: Option<(userns::Writer, userns::Writer)>,
    /// `-d`: where its output goes.
    output: Option<&'a mut Detached>,
}

fn run_container(
    spec: &Spec,
    parts: Parts<'_>,
    state: &mut Option<State>,
    notify: Option<&mut detach::Notify>,
) -> Result<Outcome> {
    let Parts {
        mask,
        mut cgroups,
        network,
        maps,
        mut output,
    } = parts;
    trace::step(|| format!("clone the first process into new namespaces ({})", spec.id));
    if !spec.init {
        trace::note(|| {
            "the command is PID 1: the kernel drops signals it has no handler for, and orphans \
             are its to reap (--init puts a tiny init in front of it)"
                .into()
        });
    }
    let inputs = child::Inputs {
        spec,
        mask,
        cgroups: cgroups
            .as_deref()
            .map(|c| c.join(&spec.limits, spec.cgroup_namespace())),
        etc: EtcFiles::of(spec, network.as_ref().map(|plan| plan.address), || {
            fs::read_file(c"/etc/hosts")
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        }),
        output: output.as_deref().and_then(Detached::child_end),
    };
    let into = cgroups
        .as_deref()
        .and_then(|c| c.v2_dir())
        .map(|fd| fd.as_raw_fd());
    // Only children enter a pid namespace: one named by path is joined here, before clone.
    if let Some((_, path)) = spec.joined().find(|(f, _)| *f == libc::CLONE_NEWPID) {
        trace::step(|| format!("join the pid namespace {path:?} (for the child)"));
        let fd = crate::child::extras::open_namespace(path)?;
        lifecycle::setns(&fd, libc::CLONE_NEWPID).ctx(|| format!("setns into {path:?}"))?;
    }
    let spawned = spawn::spawn(spec.clone_flags(), into, |channel, born_inside| {
        child::main(&inputs, channel, born_inside)
    });
    if let Some(out) = output.as_deref_mut() {
        out.after_clone();
    }
    let child = spawned.map_err(|e| match spec.userns {
        Some(_) => userns_clone_error(e),
        None => e,
    })?;
    if let Some(c) = cgroups.as_deref_mut()
        && let Err(e) = c.child_started()
    {
        child.abort();
        return Err(e);
    }
    // The child waits for its uid and gid maps before anything else: until then it is nobody.
    if let (Some(ns), Some(writers)) = (&spec.userns, &maps) {
        trace::step(|| "write the user namespace's maps, then let the child go on".into());
        if let Err(e) = userns::write_maps(ns, child.pid, writers).and_then(|()| child.release()) {
            child.abort();
            return Err(e);
        }
    }
    // Whatever fails on our side from here must end the child too: never leave it unsupervised.
    let exit = match release_and_wait(spec, &child, state, network, (notify, output)) {
        Ok(Some(exit)) => exit,
        Ok(None) => return Ok(Outcome::Created(child.pid)),
        Err(e) => {
            child.abort();
            return Err(e);
        }
    };
    if let Some((code, message)) = child.report() {
        return Err(Error::reported(code, message));
    }
    if let Some((kills, limit)) = cgroups.and_then(|c| c.oom_kills())
        && kills > 0
    {
        let oom = format!("out of memory (limit {})", human_bytes(limit));
        if exit == Exit::Signal(libc::SIGKILL) {
            return Err(Error::new("container killed", oom).code(128 + libc::SIGKILL as u8));
        }
        crate::report_warning(&Error::new(
            oom,
            format!("the kernel killed {kills} process(es) in the container"),
        ));
    }
    if let Exit::Signal(s) = exit {
        trace::note(|| {
            format!(
                "the container was killed by {}",
                crate::flags::signal_name(s)
            )
        });
    }
    Ok(Outcome::Exited(exit.code()))
}

/// The parent's part (run while the child mounts its filesystem), then "go", then the wait.
fn release_and_wait(
    spec: &Spec,
    child: &spawn::Child,
    state: &mut Option<State>,
    network: Option<&mut net::Plan>,
    (notify, output): (Option<&mut detach::Notify>, Option<&mut Detached>),
) -> Result<Option<Exit>> {
    let state = match state {
        Some(st) => st,
        None => state.insert(create_state(spec)?),
    };
    let address = match network {
        Some(plan) => {
            plan.connect(child.pid)?;
            Some(plan.address.addr.to_string())
        }
        None => None,
    };
    if let Some(hooks) = &spec.extra.hooks {
        trace::step(|| {
            "wait for the child's filesystem: the hooks run before its pivot_root".into()
        });
        if !child.wait_for_hooks() {
            let exit = sys::process::wait(child.pid).map_err(|e| {
                Error::sys("wait4 for the container's first process, which failed", e)
            })?;
            return Ok(Some(exit));
        }
        let state = crate::container::hooks::state_text(&hooks.state, "creating", child.pid);
        crate::container::hooks::run(&hooks.create_runtime, &state)?;
        child.hooks_done()?;
    }
    let detached = notify.is_some();
    let socket = &spec.extra.console_socket;
    let master = match spec.process.tty {
        true => console::receive_master(child, detached || socket.is_some()),
        false => None,
    };
    if let (Some(socket), Some(m)) = (socket, &master) {
        console::hand_over(m, socket, spec.process.console_size)?;
    }
    trace::step(|| "release the child: it may execve now".into());
    child.release()?;
    if spec.extra.start_fifo.is_some() {
        trace::step(|| "wait for the child to be built (created)".into());
        if child.wait_created() {
            return Ok(None);
        }
        // It failed: its report says why.
        let exit = sys::process::wait(child.pid)
            .map_err(|e| Error::sys("wait4 for the container's first process, which failed", e))?;
        return Ok(Some(exit));
    }
    // The record (what `ps` lists and `exec` joins) is written once the command runs: before
    // its execve, PID 1 still builds the filesystem, and its root is the host's.
    trace::step(|| "wait for the command's execve".into());
    if child.wait_started() {
        trace::step(|| "write the container's record".into());
        let me = Proc::require(lifecycle::getpid())?;
        let pid1 = Proc::require(child.pid)?;
        let mut record = Record::new(spec, state.created_ms, me, pid1, detached);
        record.address = address;
        state.save_record(record)?;
        if let Some(notify) = notify {
            notify.started();
        }
    }
    trace::step(|| {
        format!(
            "wait for the container (host pid {}), forwarding signals",
            child.pid
        )
    });
    match (output, master) {
        (Some(out), master) => out.relay(master, child.pid, !spec.init),
        (None, Some(master)) => {
            console::relay(master, Supervisor::new(child.pid, !spec.init), None)
        }
        (None, None) => supervise::supervise_process(child.pid, !spec.init),
    }
    .map(Some)
}

pub fn require_root() -> Result<()> {
    if sys::geteuid() != 0 {
        return Err(Error::new(
            "run",
            "root is needed (CAP_SYS_ADMIN, for namespaces and mounts)",
        )
        .hint("run it as root, e.g. with sudo, or add --userns (a rootless container)"));
    }
    Ok(())
}

/// Root, or --userns; what a user namespace cannot do is refused here, before anything
/// exists, each with its reason. Returns how --userns's maps get written.
fn check_privileges(spec: &Spec) -> Result<Option<(userns::Writer, userns::Writer)>> {
    let Some(ns) = &spec.userns else {
        require_root()?;
        return Ok(None);
    };
    let refuse = |what: &str, why: &str, hint: &str| Err(Error::new(what, why).hint(hint));
    if !spec.limits.is_empty() {
        return refuse(
            "--userns with limits",
            "not available yet: the container's cgroups would need delegating to its user namespace",
            "leave out --userns, or the limits",
        );
    }
    if ns.unprivileged {
        if spec.net.has_link() {
            return refuse(
                &format!("--net {}", net::mode::describe(spec.net)),
                "making interfaces on the host needs root there (CAP_NET_ADMIN in the host's network namespace)",
                "use --net none (lo only) or --net host without root; or run as root",
            );
        }
        if spec.rootfs == Rootfs::Host {
            return refuse(
                "--userns without --rootfs",
                "the host's / cannot be the container's root without root on the host",
                "give a root filesystem you own, e.g. --rootfs ~/rootfs (scripts/mkrootfs.sh makes one)",
            );
        }
    }
    let (uid, gid) = (sys::geteuid(), sys::getegid());
    userns::writers(ns, uid, gid).map(Some)
}

/// clone(CLONE_NEWUSER) refused: the setting that refused it, when one did.
fn userns_clone_error(e: Error) -> Error {
    match e.errno.and_then(userns::explain_clone_error) {
        Some(why) => Error {
            why: Some(why),
            hint: Some("see 'nsbox help run' (--userns)".into()),
            ..e
        },
        None => e,
    }
}

/// The rootfs must be a directory (each volume's source was checked by the front end).
fn check_rootfs(spec: &Spec) -> Result<()> {
    if let Rootfs::Dir(dir) = &spec.rootfs
        && sys::host_file_type("--rootfs", dir)? != libc::S_IFDIR
    {
        return Err(Error::new(format!("--rootfs {dir:?}"), "not a directory")
            .hint("give the directory that holds the container's /bin, /etc, ..."));
    }
    Ok(())
}
