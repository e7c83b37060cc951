//! The last privileged steps before execve, in the only order that works:
//!
//!   no_new_privs -> seccomp filter -> bounding set -> ambient set -> uid/gid -> capset
//!
//! The filter is loaded while the process still has every capability (without no_new_privs,
//! loading one needs CAP_SYS_ADMIN), and it lets through the calls that follow. The bounding
//! set is cut before the uid changes (dropping needs CAP_SETPCAP). capset comes last: it
//! clears the inheritable set, which no uid change touches (CVE-2022-29162).

use crate::container::spawn::ChildChannel;
use crate::error::{EXIT_NSBOX, Error, Result, Topic};
use crate::process::caps::{self, Caps};
use crate::process::execve::Launch;
use crate::process::{seccomp, seccomp_writer};
use crate::spec::Process;
use crate::sys::{process, security};
use crate::trace;
use syscalls::Errno;

pub fn apply(p: &Process, ctx: Launch, channel: &ChildChannel) -> Result<()> {
    let sec = p.security;
    if sec.no_new_privs {
        trace::step(|| {
            "set no_new_privs: setuid binaries and file capabilities grant nothing".into()
        });
        security::no_new_privs().map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
    }
    if let Some(seccomp) = &p.seccomp {
        // An OCI profile was written once already, when the config was read: it fits.
        let profile = seccomp.profile();
        let filter = seccomp_writer::write(&profile).map_err(|_| {
            Error::new(
                "the seccomp profile",
                "does not fit in a classic BPF program",
            )
        })?;
        trace::step(|| {
            format!(
                "load the seccomp filter ({} instructions for {} rules; any other call: {})",
                filter.len(),
                profile.rules.len(),
                seccomp::action_name(profile.default)
            )
        });
        security::load_filter(&filter).map_err(|e| {
            let err = Error::sys("load the seccomp filter (seccomp SECCOMP_SET_MODE_FILTER)", e)
                .about(Topic::Seccomp);
            match e {
                Errno::EINVAL | Errno::ENOSYS => err.hint(
                    "this kernel lacks seccomp filters (CONFIG_SECCOMP_FILTER): run with --seccomp unconfined",
                ),
                _ => err,
            }
        })?;
    }
    let held = Caps(security::permitted().map_err(|e| Error::sys("capget", e))?);
    // --cap-add ALL means what nsbox holds; a capability named on its own must be there.
    let missing = Caps(sec.named.0 & !held.0);
    if missing.0 != 0 {
        return Err(Error::new(
            format!("the capabilities {}", missing.names()),
            "nsbox itself does not hold this capability, so the container cannot get it",
        )
        .about(Topic::Capabilities)
        .hint(
            "run nsbox with it (e.g. outside a container that dropped it), or do not ask for it",
        ));
    }
    let sets = sec.caps;
    let keep = Caps(sets.bounding.0 & held.0);
    trace::step(|| format!("limit capabilities to {}", keep.names()));
    cut_bounding_set(keep)?;
    // EINVAL: a kernel before 4.3 has no ambient set to clear.
    match security::ambient_clear() {
        Ok(()) | Err(Errno::EINVAL) => {}
        Err(e) => return Err(Error::sys("clear the ambient capabilities", e)),
    }
    // A user other than root given sets of its own (an OCI config's) keeps its permitted set
    // through setresuid (PR_SET_KEEPCAPS): capset may then give it its inheritable set (which
    // must lie within the permitted one) and its ambient capabilities can be raised.
    let given = sets.permitted.0 | sets.inheritable.0 | sets.ambient.0;
    let keeps = p.user.uid != 0 && given != 0;
    let keep_caps =
        |on| security::keep_caps(on).map_err(|e| Error::sys("prctl(PR_SET_KEEPCAPS)", e));
    if keeps {
        keep_caps(true)?;
    }
    become_user(p, ctx, channel)?;
    // capset comes after the uid change, and sets the inheritable set too (empty unless asked).
    let (effective, permitted) = (sets.effective.0 & held.0, sets.permitted.0 & held.0);
    security::capset(effective, permitted, sets.inheritable.0 & held.0)
        .map_err(|e| Error::sys("capset", e))?;
    // The kernel raises only what is permitted and inheritable (runc's default config asks
    // for more): the rest is left out, which gives less, never more.
    let ambient = Caps(sets.ambient.0 & permitted & sets.inheritable.0);
    for cap in 0..64 {
        if ambient.has(cap) {
            security::ambient_raise(cap)
                .map_err(|e| Error::sys(format!("raise the ambient {}", caps::name(cap)), e))?;
        }
    }
    if keeps {
        keep_caps(false)?;
    }
    Ok(())
}

/// PR_CAPBSET_DROP for every capability not kept, up to the first this kernel does not know.
fn cut_bounding_set(keep: Caps) -> Result<()> {
    for cap in 0..64 {
        if keep.has(cap) {
            continue;
        }
        match security::bounding_drop(cap) {
            Ok(()) => {}
            Err(Errno::EINVAL) => return Ok(()),
            Err(e) => {
                return Err(Error::sys(
                    format!("drop {} from the bounding set", caps::name(cap)),
                    e,
                )
                .hint_on(Errno::EPERM, "nsbox itself needs CAP_SETPCAP"));
            }
        }
    }
    Ok(())
}

/// --user: groups, gid, uid; then the parent-death signal again (a uid change clears it).
fn become_user(p: &Process, ctx: Launch, channel: &ChildChannel) -> Result<()> {
    let user = p.user;
    trace::step(|| {
        format!(
            "become uid {} gid {} with no supplementary groups",
            user.uid, user.gid
        )
    });
    let how = match ctx.userns {
        false => process::Identity::HostRoot,
        true => crate::container::userns::identity(),
    };
    process::set_identity(user.uid, user.gid, &p.groups, how).map_err(|(call, e)| {
        Error::sys(format!("{call} for the user {}:{}", user.uid, user.gid), e)
            .about(Topic::User)
            .hint_on(
                Errno::EINVAL,
                "in a user namespace, the user and group must be mapped (by the uid and gid maps)",
            )
    })?;
    // A change of credentials clears the parent-death signal: it is set again, and if the
    // parent died in between, its end of the channel reads as end-of-stream.
    if (user.uid != 0 || user.gid != 0 || ctx.userns) && !ctx.outlives_parent {
        process::set_parent_death_signal(libc::SIGKILL).map_err(|e| {
            Error::sys(
                "prctl(PR_SET_PDEATHSIG, SIGKILL) after the change of user",
                e,
            )
        })?;
        if !channel.parent_alive() {
            process::exit_now(EXIT_NSBOX as i32);
        }
    }
    Ok(())
}
