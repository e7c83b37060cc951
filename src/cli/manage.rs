//! Parsing of the commands that manage containers: ps, logs, exec, kill, rm.

use super::{Command, Context, absolute, arg_name, lex, lossy, parse_env, parse_user, usage};
use super::{container_path, state_root_or_default, value, value_os};
use crate::error::{Error, Result};
use crate::process::users::Names;
use crate::spec::{self, User};
use lexopt::prelude::*;
use std::ffi::OsString;
use std::path::PathBuf;

/// `nsbox ps [-a] [-q] [--json]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Ps {
    pub root: PathBuf,
    pub all: bool,
    pub quiet: bool,
    pub json: bool,
}

/// `nsbox exec [-t] [-e K=V] [-w DIR] [-u UID[:GID]] ID COMMAND...`.
#[derive(Debug, PartialEq, Eq)]
pub struct Exec {
    pub root: PathBuf,
    pub id: String,
    pub command: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub workdir: Option<String>,
    /// `-u`: ids, and names to look up in the container's /etc/passwd and /etc/group.
    pub user: Option<(User, Option<Names>)>,
    pub tty: bool,
    pub trace: bool,
}

/// `nsbox doctor [--json] [--proc DIR] [--sysfs DIR]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Doctor {
    /// The state root nsbox would use (for its checks).
    pub root: PathBuf,
    pub json: bool,
    /// Where /proc and /sys are read from (another root's copies, in tests).
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    /// The caller's effective uid: what it can do decides what counts as a problem.
    pub uid: u32,
}

/// The options every management command shares: --root and --help. Returns `Some(help)` when
/// the argument was --help, `None` when it was --root, and the argument back otherwise.
pub(super) fn common(
    flag: String,
    p: &mut lexopt::Parser,
    root: &mut Option<PathBuf>,
    cmd: &str,
) -> Result<Option<Command>> {
    match flag.as_str() {
        "--root" => {
            *root = Some(PathBuf::from(value_os(p)?));
            Ok(None)
        }
        "-h" | "--help" => Ok(Some(Command::Help(Some(cmd.into())))),
        _ => Err(Error {
            why: None,
            ..usage(format!("unknown option {flag}"), cmd)
        }),
    }
}

pub(super) fn root_of(root: Option<PathBuf>, ctx: &Context<'_>) -> Result<PathBuf> {
    let root = root.or_else(|| ctx.state_root_env.clone().map(PathBuf::from));
    Ok(absolute(ctx.cwd, state_root_or_default(root, ctx)?))
}

pub(super) fn id_arg(v: OsString, cmd: &str) -> Result<String> {
    let id = lossy(v);
    spec::check_name("container id", &id)
        .map_err(|e| e.hint(format!("see 'nsbox ps -a'; 'nsbox help {cmd}'")))?;
    Ok(id)
}

fn need_id(id: Option<String>, cmd: &str) -> Result<String> {
    id.ok_or_else(|| usage("a container id is needed", cmd))
}

pub fn parse_ps(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut all, mut quiet, mut json) = (None, false, false, false);
    while let Some(arg) = p.next().map_err(|e| lex(e, "ps"))? {
        match arg {
            Short('a') | Long("all") => all = true,
            Short('q') | Long("quiet") => quiet = true,
            Long("json") => json = true,
            Value(v) => return Err(usage(format!("unexpected argument {v:?}"), "ps")),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "ps")? {
                    return Ok(help);
                }
            }
        }
    }
    Ok(Command::Ps(Ps {
        root: root_of(root, ctx)?,
        all,
        quiet,
        json,
    }))
}

pub fn parse_doctor(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut json) = (None, false);
    let (mut proc_root, mut sys_root) = (PathBuf::from("/proc"), PathBuf::from("/sys"));
    while let Some(arg) = p.next().map_err(|e| lex(e, "doctor"))? {
        match arg {
            Long("json") => json = true,
            Long("proc") => proc_root = absolute(ctx.cwd, PathBuf::from(value_os(&mut p)?)),
            Long("sysfs") => sys_root = absolute(ctx.cwd, PathBuf::from(value_os(&mut p)?)),
            Value(v) => return Err(usage(format!("unexpected argument {v:?}"), "doctor")),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "doctor")? {
                    return Ok(help);
                }
            }
        }
    }
    Ok(Command::Doctor(Doctor {
        root: root_of(root, ctx)?,
        json,
        proc_root,
        sys_root,
        uid: ctx.uid,
    }))
}

/// `nsbox logs [-f] [-t] [--tail N] ID`.
#[derive(Debug, PartialEq, Eq)]
pub struct Logs {
    pub root: PathBuf,
    pub id: String,
    pub follow: bool,
    /// Only the last N lines (then, with `follow`, what comes); None: all of it.
    pub tail: Option<u64>,
    /// Each line after the time it came.
    pub timestamps: bool,
}

pub fn parse_logs(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut follow, mut id) = (None, false, None);
    let (mut tail, mut timestamps) = (None, false);
    while let Some(arg) = p.next().map_err(|e| lex(e, "logs"))? {
        match arg {
            Short('f') | Long("follow") => follow = true,
            Short('t') | Long("timestamps") => timestamps = true,
            Short('n') | Long("tail") => {
                let v = value(&mut p, "--tail")?;
                tail = match v.as_str() {
                    "all" => None,
                    n => Some(n.parse().map_err(|_| {
                        Error::new(format!("--tail {v:?}"), "not a number of lines")
                            .hint("give how many of the last lines to show, e.g. --tail 20, or all")
                    })?),
                };
            }
            Value(v) if id.is_none() => id = Some(id_arg(v, "logs")?),
            Value(v) => return Err(usage(format!("unexpected argument {v:?}"), "logs")),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "logs")? {
                    return Ok(help);
                }
            }
        }
    }
    let id = need_id(id, "logs")?;
    Ok(Command::Logs(Logs {
        root: root_of(root, ctx)?,
        id,
        follow,
        tail,
        timestamps,
    }))
}

pub fn parse_kill(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut signal, mut id) = (None, libc::SIGTERM, None);
    while let Some(arg) = p.next().map_err(|e| lex(e, "kill"))? {
        match arg {
            Short('s') | Long("signal") => {
                let v = p.value().map_err(|e| lex(e, "kill"))?;
                signal = parse_signal(&lossy(v))?
            }
            Value(v) if id.is_none() => id = Some(id_arg(v, "kill")?),
            Value(v) => return Err(usage(format!("unexpected argument {v:?}"), "kill")),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "kill")? {
                    return Ok(help);
                }
            }
        }
    }
    let id = need_id(id, "kill")?;
    Ok(Command::Kill(root_of(root, ctx)?, id, signal))
}

pub fn parse_rm(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let (mut root, mut force, mut ids) = (None, false, Vec::new());
    while let Some(arg) = p.next().map_err(|e| lex(e, "rm"))? {
        match arg {
            Short('f') | Long("force") => force = true,
            Value(v) => ids.push(id_arg(v, "rm")?),
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "rm")? {
                    return Ok(help);
                }
            }
        }
    }
    if ids.is_empty() {
        return Err(usage("at least one container id is needed", "rm"));
    }
    Ok(Command::Rm(root_of(root, ctx)?, ids, force))
}

pub fn parse_exec(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let mut root = None;
    let (mut env, mut workdir, mut user, mut tty, mut trace) =
        (Vec::new(), None, None, false, false);
    let mut id = None;
    let mut command = Vec::new();
    while let Some(arg) = p.next().map_err(|e| lex(e, "exec"))? {
        match arg {
            Short('t') | Long("tty") => tty = true,
            Short('i') | Long("interactive") => {}
            Short('e') | Long("env") => env.push(parse_env(&value(&mut p, "--env")?)?),
            Short('w') | Long("workdir") => {
                workdir = Some(container_path(
                    "--workdir",
                    &value(&mut p, "--workdir")?,
                    true,
                )?)
            }
            Short('u') | Long("user") => user = Some(parse_user(&value(&mut p, "--user")?)?),
            Long("trace") => trace = true,
            Value(v) => {
                id = Some(id_arg(v, "exec")?);
                command.extend(p.raw_args().map_err(|e| lex(e, "exec"))?);
                // `exec ID -- COMMAND`: the separator is not the command.
                if command.first().is_some_and(|c| c == "--") {
                    command.remove(0);
                }
            }
            other => {
                if let Some(help) = common(arg_name(&other), &mut p, &mut root, "exec")? {
                    return Ok(help);
                }
            }
        }
    }
    let id = need_id(id, "exec")?;
    if let Some((_, Some(n))) = user.as_mut() {
        n.set_home = !env.iter().any(|(k, _)| k == "HOME");
    }
    if command.is_empty() || command[0].is_empty() {
        return Err(usage("a command to run is needed after the id", "exec"));
    }
    Ok(Command::Exec(Box::new(Exec {
        root: root_of(root, ctx)?,
        id,
        command,
        env,
        workdir,
        user,
        tty,
        trace,
    })))
}

/// A signal by name (`TERM`, `SIGTERM`, `term`) or number (`15`).
pub fn parse_signal(s: &str) -> Result<i32> {
    let bad = || {
        Error::new(format!("--signal {s:?}"), "not a signal")
            .hint("give a name such as TERM, KILL, HUP, INT, USR1, or a number from 1 to 64")
    };
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    crate::flags::signal_number(name).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM"), Ok(libc::SIGTERM));
        assert_eq!(parse_signal("sigkill"), Ok(libc::SIGKILL));
        assert_eq!(parse_signal("9"), Ok(9));
        assert!(parse_signal("0").is_err());
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("SIG").is_err());
    }
}
