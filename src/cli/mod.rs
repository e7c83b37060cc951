//! Argument parsing into validated values (pure: no syscalls; the caller passes the cwd and env).

mod control;
mod env_file;
mod limits;
mod manage;
mod mounts;
mod tmpfs;
pub mod topics;

pub use control::Stop;
pub use manage::Logs;
pub use manage::{Doctor, Exec, Ps, parse_signal};

use crate::cgroup::limits::Limits;
use crate::error::{Error, Result};
use crate::process::caps::{self, Caps};
use crate::process::users::Names;
use crate::rootfs::masks;
use crate::spec::{self, Net, Process, Rootfs, Security, Spec, User};
use lexopt::prelude::*;
use mounts::Volume;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum Command {
    Run(Box<Spec>, Options),
    /// Remove what crashed containers left in this state root.
    Gc(PathBuf),
    Ps(Ps),
    /// State root, id, follow.
    Logs(Logs),
    Exec(Box<Exec>),
    /// State root, id, signal.
    Kill(PathBuf, String, i32),
    /// State root, ids, force.
    Rm(PathBuf, Vec<String>, bool),
    Stop(Stop),
    /// State root, ids: prints each exit code once it ended.
    Wait(PathBuf, Vec<String>),
    /// State root, ids: each record as JSON.
    Inspect(PathBuf, Vec<String>),
    /// Check this host for what nsbox needs.
    Doctor(Doctor),
    Version,
    Help(Option<String>),
}

/// Process-wide options that are not part of the container's Spec.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub trace: bool,
    /// `-d`: run in the background under a supervisor.
    pub detach: bool,
    /// `--rm`: with `-d`, the record goes when the container ends (a foreground run keeps
    /// none anyway).
    pub remove: bool,
}

/// What the process knows about its surroundings, injected so parsing stays pure.
pub struct Context<'a> {
    pub cwd: &'a Path,
    /// The value of NSBOX_ROOT, if set.
    pub state_root_env: Option<OsString>,
    /// nsbox's own environment (`-e NAME` takes NAME's value from it).
    pub getenv: fn(&str) -> Option<String>,
    /// Reads a file the command line names (`--env-file`).
    pub read_file: fn(&Path) -> std::io::Result<Vec<u8>>,
    /// The state root without --root or NSBOX_ROOT: /run/nsbox for root, else the caller's
    /// $XDG_RUNTIME_DIR/nsbox (or /tmp/nsbox-UID).
    pub default_root: PathBuf,
    /// The caller's effective uid and gid (for --userns's default maps).
    pub uid: u32,
    pub gid: u32,
}

pub(crate) fn usage(message: impl Into<String>, command: &str) -> Error {
    Error::new(message, "invalid usage").hint(format!("see 'nsbox help {command}'"))
}

pub(crate) fn lex(e: lexopt::Error, command: &str) -> Error {
    let e = match e {
        lexopt::Error::UnexpectedOption(o) => format!("unknown option {o}"),
        other => other.to_string(),
    };
    Error {
        why: None,
        ..usage(e, command)
    }
}

/// Parses `nsbox ARGS...` (without argv[0]).
pub fn parse(
    args: Vec<OsString>,
    ctx: &Context<'_>,
    make_id: impl FnOnce() -> Result<String>,
) -> Result<Command> {
    if args.first().is_some_and(|a| a == "--") {
        return Err(Error::new(
            "nsbox --",
            "'--' ends the options of a command, and no command came first",
        )
        .hint("nsbox COMMAND [OPTIONS] [-- ARGS]; see 'nsbox help'"));
    }
    let mut p = lexopt::Parser::from_args(args);
    let first = p.next().map_err(|e| lex(e, ""))?;
    match first {
        None | Some(Short('h')) | Some(Long("help")) => Ok(Command::Help(None)),
        Some(Short('V')) | Some(Long("version")) => no_operands(p, "--version", Command::Version),
        Some(Value(cmd)) => match cmd.to_str() {
            Some("run") => parse_run(p, ctx, make_id),
            Some("version") => no_operands(p, "version", Command::Version),
            Some("gc") => parse_gc(p, ctx),
            Some("ps") => manage::parse_ps(p, ctx),
            Some("logs") => manage::parse_logs(p, ctx),
            Some("exec") => manage::parse_exec(p, ctx),
            Some("kill") => manage::parse_kill(p, ctx),
            Some("rm") => manage::parse_rm(p, ctx),
            Some("stop") => control::parse_stop(p, ctx),
            Some("wait") => control::parse_ids(p, ctx, "wait", Command::Wait),
            Some("inspect") => control::parse_ids(p, ctx, "inspect", Command::Inspect),
            Some("doctor") => manage::parse_doctor(p, ctx),
            Some("help") => Ok(Command::Help(
                p.raw_args().ok().and_then(|mut a| a.next()).map(lossy),
            )),
            _ => Err(Error::new(
                format!("unknown command {:?}", lossy(cmd)),
                "nsbox knows: run, ps, logs, exec, stop, kill, wait, inspect, rm, gc, doctor, version, help",
            )
            .hint("see 'nsbox help'")),
        },
        Some(other) => Err(Error {
            why: None,
            ..usage(format!("unknown option {}", arg_name(&other)), "")
        }),
    }
}

/// `command` when nothing follows it on the command line.
fn no_operands(mut p: lexopt::Parser, name: &str, command: Command) -> Result<Command> {
    match p.next().map_err(|e| lex(e, ""))? {
        None => Ok(command),
        Some(extra) => Err(Error::new(
            format!("nsbox {name} {}", arg_name(&extra)),
            format!("{name} takes no arguments"),
        )),
    }
}

/// The value of an option that takes one, refused when given twice.
fn value_once(
    p: &mut lexopt::Parser,
    seen: &mut Vec<&'static str>,
    flag: &'static str,
) -> Result<String> {
    once(seen, flag)?;
    value(p, flag)
}

/// Refuses a second value for an option that takes one (the first would be lost silently).
fn once(seen: &mut Vec<&'static str>, flag: &'static str) -> Result<()> {
    if seen.contains(&flag) {
        return Err(Error::new(
            format!("{flag} given twice"),
            "it takes one value: give it once",
        ));
    }
    seen.push(flag);
    Ok(())
}

pub(crate) fn lossy(s: OsString) -> String {
    s.to_string_lossy().into_owned()
}

pub(crate) fn arg_name(arg: &lexopt::Arg<'_>) -> String {
    match arg {
        Short(c) => format!("-{c}"),
        Long(l) => format!("--{l}"),
        Value(v) => v.to_string_lossy().into_owned(),
    }
}

/// The value of the option just read, as given.
pub(crate) fn value_os(p: &mut lexopt::Parser) -> Result<OsString> {
    p.value().map_err(|e| lex(e, "run"))
}

/// The value of the option just read, as UTF-8 text.
pub(crate) fn value(p: &mut lexopt::Parser, flag: &str) -> Result<String> {
    value_os(p)?
        .into_string()
        .map_err(|v| Error::new(format!("{flag} {v:?}"), "not valid UTF-8"))
}

pub(crate) fn absolute(cwd: &Path, p: impl Into<PathBuf>) -> PathBuf {
    let p = p.into();
    if p.is_absolute() { p } else { cwd.join(p) }
}

fn parse_gc(mut p: lexopt::Parser, ctx: &Context<'_>) -> Result<Command> {
    let mut state_root = ctx.state_root_env.clone().map(PathBuf::from);
    while let Some(arg) = p.next().map_err(|e| lex(e, "gc"))? {
        match arg {
            Long("root") => state_root = Some(PathBuf::from(value_os(&mut p)?)),
            Short('h') | Long("help") => return Ok(Command::Help(Some("gc".into()))),
            other => {
                return Err(Error {
                    why: None,
                    ..usage(format!("unexpected argument {:?}", arg_name(&other)), "gc")
                });
            }
        }
    }
    Ok(Command::Gc(absolute(
        ctx.cwd,
        state_root_or_default(state_root, ctx)?,
    )))
}

/// `--root`, else NSBOX_ROOT, else the default (`Context::default_root`); never empty.
pub(crate) fn state_root_or_default(root: Option<PathBuf>, ctx: &Context<'_>) -> Result<PathBuf> {
    let root = root.unwrap_or_else(|| ctx.default_root.clone());
    if root.as_os_str().is_empty() {
        return Err(Error::new(
            "--root \"\" (or NSBOX_ROOT)",
            "the state directory is empty",
        )
        .hint("give a directory, e.g. /run/nsbox, or unset NSBOX_ROOT"));
    }
    Ok(root)
}

fn parse_run(
    mut p: lexopt::Parser,
    ctx: &Context<'_>,
    make_id: impl FnOnce() -> Result<String>,
) -> Result<Command> {
    let mut opts = Options::default();
    let (mut rootfs, mut name, mut hostname, mut workdir, mut user) =
        (None, None, None, None, None);
    let (mut env, mut volumes, mut tmpfs) = (Vec::new(), Vec::new(), Vec::new());
    // --env-file's variables, before every -e (which wins, as in docker).
    let mut file_env = Vec::new();
    let (mut read_only, mut chroot, mut net) = (false, false, Net::None);
    // `--net ns:PATH`: the network namespace of that file, joined (as the host's is shared).
    let mut net_join = None;
    let mut state_root = ctx.state_root_env.clone().map(PathBuf::from);
    let mut limits = Limits::default();
    let (mut cap_add, mut cap_drop) = (Vec::new(), Vec::new());
    let (mut seccomp, mut no_new_privs) = (true, true);
    let (mut init, mut tty) = (false, false);
    let (mut userns, mut uid_maps, mut gid_maps) = (false, Vec::new(), Vec::new());
    let mut command: Vec<OsString> = Vec::new();
    let mut seen = Vec::new();
    while let Some(arg) = p.next().map_err(|e| lex(e, "run"))? {
        let flag = arg_name(&arg);
        match arg {
            Short('r') | Long("rootfs") => {
                once(&mut seen, "--rootfs")?;
                let dir = value_os(&mut p)?;
                if dir.is_empty() {
                    return Err(Error::new("--rootfs \"\"", "the path is empty").hint(
                        "give the rootfs directory, or leave out --rootfs for the host's /",
                    ));
                }
                rootfs = Some(absolute(ctx.cwd, dir))
            }
            Long("name") => name = Some(value_once(&mut p, &mut seen, "--name")?),
            Long("hostname") => hostname = Some(value_once(&mut p, &mut seen, "--hostname")?),
            Short('e') | Long("env") => {
                let v = value(&mut p, &flag)?;
                // `-e NAME`: NAME's value in nsbox's own environment, as docker has it (left
                // unset where there is none).
                match v.contains('=') {
                    true => env.push(parse_env(&v)?),
                    false => match (ctx.getenv)(&v) {
                        Some(value) => env.push(parse_env(&format!("{v}={value}"))?),
                        None if !v.is_empty() => {}
                        None => env.push(parse_env(&v)?),
                    },
                }
            }
            Long("env-file") => {
                let file = absolute(ctx.cwd, value_os(&mut p)?);
                let text = (ctx.read_file)(&file).map_err(|e| {
                    Error::new(
                        format!("--env-file {file:?}"),
                        format!("cannot read it: {e}"),
                    )
                })?;
                file_env.extend(env_file::parse(&file, &text, ctx.getenv)?);
            }
            Short('w') | Long("workdir") => {
                workdir = Some(container_path(
                    "--workdir",
                    &value_once(&mut p, &mut seen, "--workdir")?,
                    true,
                )?)
            }
            Short('u') | Long("user") => {
                user = Some(parse_user(&value_once(&mut p, &mut seen, "--user")?)?)
            }
            Short('v') | Long("volume") => {
                volumes.push(parse_volume(&value(&mut p, &flag)?, ctx.cwd)?)
            }
            Long("tmpfs") => tmpfs.push(tmpfs::parse(&value(&mut p, &flag)?)?),
            Long("read-only") => read_only = true,
            Long("net") => {
                let mode = value_once(&mut p, &mut seen, "--net")?;
                match mode.strip_prefix("ns:") {
                    Some(path) if path.starts_with('/') => {
                        net_join = Some(std::path::PathBuf::from(path));
                        net = Net::Host;
                    }
                    Some(_) => {
                        return Err(Error::new(
                            format!("--net {mode:?}"),
                            "ns: needs the absolute path of a network namespace file",
                        )
                        .hint("e.g. --net ns:/run/netns/NAME, as 'ip netns add NAME' makes"));
                    }
                    None => net = crate::net::mode::parse(&mode)?,
                }
            }
            Long("chroot") => chroot = true,
            Long("userns") => userns = true,
            Long("uidmap") => uid_maps.push(crate::container::userns::parse_map(
                &flag,
                &value(&mut p, &flag)?,
            )?),
            Long("gidmap") => gid_maps.push(crate::container::userns::parse_map(
                &flag,
                &value(&mut p, &flag)?,
            )?),
            Short('m') | Long("memory") => {
                limits.memory = Some(limits::parse_memory(&value_once(
                    &mut p, &mut seen, "--memory",
                )?)?)
            }
            Long("pids-limit") => {
                limits.pids = Some(limits::parse_pids(&value_once(
                    &mut p,
                    &mut seen,
                    "--pids-limit",
                )?)?)
            }
            Long("cpus") => {
                limits.cpu_quota_us = Some(limits::parse_cpus(&value_once(
                    &mut p, &mut seen, "--cpus",
                )?)?)
            }
            Long("cpuset") => {
                limits.cpuset = Some(limits::parse_cpuset(&value_once(
                    &mut p, &mut seen, "--cpuset",
                )?)?)
            }
            Long("cap-add") => cap_add.push(caps::parse_names(&flag, &value(&mut p, &flag)?)?),
            Long("cap-drop") => cap_drop.push(caps::parse_names(&flag, &value(&mut p, &flag)?)?),
            Long("seccomp") => {
                seccomp = parse_seccomp(&value_once(&mut p, &mut seen, "--seccomp")?)?
            }
            Long("no-new-privs") => {
                no_new_privs = match p.optional_value() {
                    None => true,
                    Some(v) => parse_bool(&flag, &lossy(v))?,
                }
            }
            Long("trace") => opts.trace = true,
            Short('d') | Long("detach") => opts.detach = true,
            Long("rm") => opts.remove = true,
            Long("init") => init = true,
            Short('t') | Long("tty") => tty = true,
            // stdin always reaches the command: -i is docker's habit (`-it`), and a no-op here.
            Short('i') | Long("interactive") => {}
            Long("root") => {
                once(&mut seen, "--root")?;
                state_root = Some(PathBuf::from(value_os(&mut p)?))
            }
            Short('h') | Long("help") => return Ok(Command::Help(Some("run".into()))),
            Value(v) => {
                command.push(v);
                command.extend(p.raw_args().map_err(|e| lex(e, "run"))?);
            }
            _ => {
                return Err(Error {
                    why: None,
                    ..usage(format!("unknown option {flag}"), "run")
                });
            }
        }
    }
    let id = match name {
        Some(n) => {
            spec::check_name("--name", &n)?;
            n
        }
        None => make_id()?,
    };
    let hostname = hostname.unwrap_or_else(|| id.clone());
    spec::check_name("--hostname", &hostname)?;
    let (user, mut names) = user.unwrap_or((User { uid: 0, gid: 0 }, None));
    if command.first().is_some_and(|c| c.is_empty()) {
        return Err(Error::new("COMMAND \"\"", "the command is empty")
            .hint("name the command to run after the options"));
    }
    let state_root = state_root_or_default(state_root, ctx)?;
    let userns = match userns || !uid_maps.is_empty() || !gid_maps.is_empty() {
        true => Some(crate::container::userns::plan(
            uid_maps,
            gid_maps,
            ctx.uid,
            ctx.gid,
            || crate::container::userns::Subordinate::of_host(ctx.uid),
        )?),
        false => None,
    };
    // chroot leaves the host's root in the mount namespace: with CAP_SYS_CHROOT, root in the
    // container could chroot into a subdirectory and climb out. It is kept only when asked for.
    let base = match chroot {
        true => Caps::default_set().without(caps::SYS_CHROOT),
        false => Caps::default_set(),
    };
    let security = Security {
        caps: crate::spec::CapSets::native(caps::resolve(base, &cap_add, &cap_drop)?, user.uid),
        named: caps::named(&cap_add),
        no_new_privs,
    };
    let command_defaulted = command.is_empty();
    if command_defaulted {
        command.push(spec::DEFAULT_SHELL.into());
    }
    file_env.append(&mut env);
    let mut env = file_env;
    // A terminal needs a TERM to be usable; docker gives xterm when the caller names none.
    if tty && !env.iter().any(|(k, _)| k == "TERM") {
        env.insert(0, ("TERM".into(), "xterm".into()));
    }
    // A user given by name gets the HOME of its /etc/passwd entry, unless -e sets one.
    if let Some(n) = names.as_mut() {
        n.set_home = !env.iter().any(|(k, _)| k == "HOME");
    }
    let process = Process {
        command_defaulted,
        security,
        seccomp: seccomp.then_some(crate::process::seccomp::Seccomp::Nsbox),
        tty,
        names,
        ..Process::new(
            command,
            spec::environment(&hostname, user, &env),
            workdir.unwrap_or_else(|| "/".into()),
            user,
        )
    };
    let base = mounts::Base {
        host_sys: userns.is_some() && !net.own_namespace(),
        cgroups: !limits.is_empty(),
    };
    let spec = Spec {
        id,
        hostname,
        rootfs: rootfs.map(Rootfs::Dir).unwrap_or(Rootfs::Host),
        process,
        mounts: mounts::list(base, &volumes, &tmpfs)?,
        read_only,
        net,
        chroot,
        limits,
        masked_paths: masks::DEFAULT_MASKED.map(String::from).to_vec(),
        readonly_paths: masks::DEFAULT_READ_ONLY.map(String::from).to_vec(),
        init,
        userns,
        namespaces: spec::Namespace::native(net, net_join),
        state_root: absolute(ctx.cwd, state_root),
        extra: spec::Extra::default(),
    };
    Ok(Command::Run(Box::new(spec), opts))
}

/// `KEY=VALUE`; the key is not empty.
pub fn parse_env(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !s.contains('\0') => Ok((k.into(), v.into())),
        _ => Err(Error::new(
            format!("--env {s:?}"),
            "expected KEY=VALUE with a non-empty KEY",
        )),
    }
}

/// `-u USER[:GROUP]`: numbers (GID defaults to UID), or names to look up in the container's
/// /etc/passwd and /etc/group when it is made (then `User` is a placeholder).
pub fn parse_user(s: &str) -> Result<(User, Option<Names>)> {
    let bad = |why: &str| {
        Error::new(format!("--user {s:?}"), why.to_string())
            .hint("e.g. 1000, 1000:100, www, www:wheel")
    };
    let (u, g) = s
        .split_once(':')
        .map(|(u, g)| (u, Some(g)))
        .unwrap_or((s, None));
    let number = |p: &str| p.parse::<u32>().ok().filter(|n| *n != u32::MAX);
    let name = |p: &str| {
        !p.is_empty()
            && !p.starts_with(|c: char| c.is_ascii_digit() || c == '-')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-$".contains(c))
    };
    for part in std::iter::once(u).chain(g) {
        if number(part).is_none() && !name(part) {
            return Err(bad(&format!(
                "{part:?} is neither a number (0 to 4294967294) nor a user or group name"
            )));
        }
    }
    match (number(u), g.map(number)) {
        (Some(uid), None) => Ok((User { uid, gid: uid }, None)),
        (Some(uid), Some(Some(gid))) => Ok((User { uid, gid }, None)),
        _ => Ok((
            User { uid: 0, gid: 0 },
            Some(Names {
                user: u.to_string(),
                group: g.map(str::to_string),
                set_home: false,
            }),
        )),
    }
}

/// `SRC:DST[:ro|rw]`; SRC relative to the cwd, DST an absolute path inside the container.
pub fn parse_volume(s: &str, cwd: &Path) -> Result<Volume> {
    let bad = |why: &str| Error::new(format!("--volume {s:?}"), why.to_string());
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, read_only) = match parts.as_slice() {
        [src, dst] => (*src, *dst, false),
        [src, dst, "ro"] => (*src, *dst, true),
        [src, dst, "rw"] => (*src, *dst, false),
        [_, _, mode] => return Err(bad(&format!("unknown mode {mode:?}; expected ro or rw"))),
        _ => return Err(bad("expected SRC:DST[:ro|rw]")),
    };
    if src.is_empty() {
        return Err(bad("the source path is empty"));
    }
    let target = container_path("--volume", dst, false).map_err(|e| Error {
        what: format!("--volume {s:?}"),
        ..e
    })?;
    Ok(Volume {
        source: absolute(cwd, src),
        target,
        read_only,
    })
}

/// An absolute path inside the container, normalised, with no `..` (which could climb out of
/// the rootfs). `/` itself only where `allow_root`.
pub fn container_path(flag: &str, s: &str, allow_root: bool) -> Result<String> {
    let bad = |why: &str| Error::new(format!("{flag} {s:?}"), why.to_string());
    if !s.starts_with('/') {
        return Err(bad("must be an absolute path inside the container"));
    }
    if s.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    let mut parts = Vec::new();
    for part in s.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(bad("'..' is not allowed: it could lead out of the rootfs"));
        }
        parts.push(part);
    }
    if parts.is_empty() && !allow_root {
        return Err(bad("cannot be the container's root directory"));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// `--seccomp default` or `--seccomp unconfined`: whether the default filter is loaded.
fn parse_seccomp(s: &str) -> Result<bool> {
    match s {
        "default" => Ok(true),
        "unconfined" => Ok(false),
        _ => Err(Error::new(
            format!("--seccomp {s:?}"),
            "expected default or unconfined (nsbox has one built-in filter)",
        )),
    }
}

/// `true` or `false`, for `--flag=VALUE`.
fn parse_bool(flag: &str, s: &str) -> Result<bool> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::new(format!("{flag}={s}"), "expected true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A root caller's context in `cwd`, with NSBOX_ROOT `env`.
    fn test_ctx(cwd: &Path, env: Option<OsString>) -> Context<'_> {
        Context {
            cwd,
            state_root_env: env,
            getenv: |name| (name == "NSBOX_TEST_VAR").then(|| "from-env".to_string()),
            read_file: |path| match path.to_str() {
                Some("/work/vars.env") => {
                    Ok(b"A=from-file\nB=from-file\nNSBOX_TEST_VAR\n".to_vec())
                }
                _ => Err(std::io::ErrorKind::NotFound.into()),
            },
            default_root: "/run/nsbox".into(),
            uid: 0,
            gid: 0,
        }
    }

    fn run(args: &[&str]) -> Result<(Spec, Options)> {
        let ctx = test_ctx(Path::new("/work"), None);
        let args = std::iter::once("run")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        match parse(args, &ctx, || Ok("0123456789ab".into()))? {
            Command::Run(spec, opts) => Ok((*spec, opts)),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let (s, o) = run(&[]).unwrap();
        assert_eq!(s.id, "0123456789ab");
        assert_eq!(s.hostname, "0123456789ab");
        assert_eq!(s.rootfs, Rootfs::Host);
        assert_eq!(s.process.command, vec![OsString::from("/bin/sh")]);
        assert!(s.process.command_defaulted);
        assert_eq!(s.process.workdir, "/");
        assert_eq!(s.net, Net::None);
        assert_eq!(s.state_root, PathBuf::from("/run/nsbox"));
        assert!(!o.trace);
    }

    #[test]
    fn options_stop_at_the_command() {
        let (s, o) = run(&[
            "-r", "rfs", "--name", "web", "--trace", "ls", "-l", "--trace",
        ])
        .unwrap();
        assert_eq!(s.rootfs, Rootfs::Dir("/work/rfs".into()));
        assert_eq!(s.id, "web");
        assert_eq!(
            s.process.command,
            ["ls", "-l", "--trace"].map(OsString::from).to_vec()
        );
        assert!(o.trace);
        let (s, _) = run(&["--", "-weird"]).unwrap();
        assert_eq!(s.process.command, vec![OsString::from("-weird")]);
    }

    #[test]
    fn limits_and_gc() {
        let (s, _) = run(&[
            "-m",
            "64m",
            "--pids-limit",
            "20",
            "--cpus",
            "0.5",
            "--cpuset",
            "1,0",
            "true",
        ])
        .unwrap();
        assert_eq!(
            s.limits,
            Limits {
                pids: Some(20),
                memory: Some(64 << 20),
                cpu_quota_us: Some(50_000),
                cpuset: Some(vec![0, 1]),
                ..Limits::default()
            }
        );
        assert_eq!(s.clone_flags() & libc::CLONE_NEWCGROUP, 0);
        let (s, _) = run(&["true"]).unwrap();
        assert_ne!(s.clone_flags() & libc::CLONE_NEWCGROUP, 0);
        let ctx = test_ctx(Path::new("/work"), None);
        let gc = |args: &[&str]| {
            parse(args.iter().map(OsString::from).collect(), &ctx, || {
                Ok("x".into())
            })
        };
        assert!(
            matches!(gc(&["gc", "--root", "st"]), Ok(Command::Gc(p)) if p == Path::new("/work/st"))
        );
        assert!(matches!(gc(&["gc"]), Ok(Command::Gc(p)) if p == Path::new("/run/nsbox")));
        assert!(gc(&["gc", "extra"]).is_err());
    }

    #[test]
    fn values() {
        let (s, _) = run(&[
            "-v",
            "/:/srv//x/./y:ro",
            "--tmpfs",
            "/t",
            "-u",
            "7",
            "-e",
            "A=b=c",
            "-w",
            "/tmp",
            "true",
        ])
        .unwrap();
        let user: Vec<(&str, &str, u64)> = s.mounts[3..]
            .iter()
            .map(|m| (m.destination.as_str(), m.source.to_str().unwrap(), m.flags))
            .collect();
        let ro_nodev = libc::MS_RDONLY | libc::MS_NODEV;
        assert_eq!(
            user,
            [
                ("/t", "", libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC),
                ("/srv/x/y", "/", ro_nodev)
            ]
        );
        assert_eq!(s.process.user, User { uid: 7, gid: 7 });
        assert!(s.process.env.contains(&"A=b=c".to_string()));
        assert_eq!(s.process.workdir, "/tmp");
    }

    #[test]
    fn bad_input_messages() {
        let msg = |args: &[&str]| run(args).unwrap_err().to_string();
        assert_eq!(
            msg(&["--bogus"]),
            "unknown option --bogus — hint: see 'nsbox help run'"
        );
        assert!(msg(&["--name"]).starts_with("missing argument for option '--name'"));
        assert!(msg(&["-u", "ro ot"]).contains("neither a number"));
        assert!(msg(&["-u", "1:"]).contains("neither a number"));
        assert!(msg(&["-u", "4294967295"]).contains("neither a number"));
        // Names are looked up in the image when the container is made; numbers stay numbers.
        let (s, _) = run(&["-u", "www:wheel", "true"]).unwrap();
        let names = s.process.names.unwrap();
        assert_eq!(
            (names.user.as_str(), names.group.as_deref()),
            ("www", Some("wheel"))
        );
        assert!(names.set_home);
        let (s, _) = run(&["-u", "1:x", "-e", "HOME=/h", "true"]).unwrap();
        assert!(!s.process.names.unwrap().set_home);
        let (s, _) = run(&["-u", "7:8", "true"]).unwrap();
        assert_eq!(
            (s.process.user, s.process.names),
            (User { uid: 7, gid: 8 }, None)
        );
        assert!(msg(&["-v", "/a"]).contains("expected SRC:DST[:ro|rw]"));
        assert!(msg(&["-v", "/a:/b:rx"]).contains("unknown mode \"rx\""));
        assert!(msg(&["-v", "/a:rel"]).contains("must be an absolute path"));
        assert!(msg(&["-v", "/a:/x/../../etc"]).contains("'..' is not allowed"));
        assert!(msg(&["-v", "/a:/"]).contains("cannot be the container's root"));
        assert!(msg(&["-e", "=x"]).contains("expected KEY=VALUE"));
        assert!(msg(&["-e", ""]).contains("expected KEY=VALUE"));
        // -e NAME: from nsbox's environment (the test's getenv has NSBOX_TEST_VAR), else unset.
        let (s, _) = run(&["-e", "NSBOX_TEST_VAR", "-e", "NOVALUE", "true"]).unwrap();
        assert!(
            s.process
                .env
                .contains(&"NSBOX_TEST_VAR=from-env".to_string())
        );
        assert!(!s.process.env.iter().any(|v| v.starts_with("NOVALUE")));
        // --env-file: its variables first, every -e after (-e wins, wherever it stands).
        let (s, _) = run(&["-e", "B=from-e", "--env-file", "vars.env", "true"]).unwrap();
        let env = &s.process.env;
        for var in ["A=from-file", "B=from-e", "NSBOX_TEST_VAR=from-env"] {
            assert!(env.contains(&var.to_string()), "{env:?}");
        }
        assert!(msg(&["--env-file", "nope.env"]).contains("cannot read it"));
        let (_, o) = run(&["-d", "--rm", "true"]).unwrap();
        assert!(o.detach && o.remove);
        assert!(msg(&["--name", "a/b"]).contains("--name \"a/b\""));
        assert!(msg(&["--net", "wifi"]).contains("expected none, host, veth"));
        assert!(msg(&["--", ""]).contains("the command is empty"));
        assert!(msg(&["--root", "", "true"]).contains("the state directory is empty"));
        assert!(msg(&["--cap-add", "FLY"]).contains("unknown capability"));
        assert!(msg(&["--seccomp", "strict"]).contains("expected default or unconfined"));
        assert!(msg(&["--no-new-privs=maybe"]).contains("expected true or false"));
        assert!(
            msg(&["--cap-add", "KILL", "--cap-drop", "KILL"]).contains("both added and dropped")
        );
    }

    #[test]
    fn security_options() {
        let (s, _) = run(&["true"]).unwrap();
        let sets = s.process.security.caps;
        assert_eq!(sets, spec::CapSets::native(Caps::default_set(), 0));
        assert_eq!(
            (sets.bounding, sets.effective),
            (Caps::default_set(), Caps::default_set())
        );
        assert!(s.process.security.no_new_privs && s.process.seccomp.is_some());
        // Another user starts with none.
        let (s, _) = run(&["-u", "7", "true"]).unwrap();
        let sets = s.process.security.caps;
        assert_eq!(sets.bounding, Caps::default_set());
        assert_eq!((sets.effective, sets.permitted), (Caps(0), Caps(0)));
        let (s, _) = run(&["--chroot", "true"]).unwrap();
        assert!(!s.process.security.caps.bounding.has(caps::SYS_CHROOT));
        let (s, _) = run(&["--chroot", "--cap-add", "sys_chroot", "true"]).unwrap();
        assert!(s.process.security.caps.bounding.has(caps::SYS_CHROOT));
        let (s, _) = run(&[
            "--cap-drop=ALL",
            "--cap-add",
            "NET_ADMIN,KILL",
            "--seccomp=unconfined",
            "--no-new-privs=false",
            "true",
        ])
        .unwrap();
        assert_eq!(s.process.security.caps.bounding.names(), "KILL,NET_ADMIN");
        assert!(!s.process.security.no_new_privs && s.process.seccomp.is_none());
        let (s, _) = run(&["--no-new-privs", "true"]).unwrap();
        assert!(s.process.security.no_new_privs);
    }

    #[test]
    fn top_level() {
        let ctx = test_ctx(Path::new("/"), Some("/tmp/st".into()));
        let p = |a: &[&str]| {
            parse(a.iter().map(OsString::from).collect(), &ctx, || {
                Ok("x".into())
            })
        };
        assert!(matches!(p(&["version"]), Ok(Command::Version)));
        assert!(matches!(p(&["--version"]), Ok(Command::Version)));
        assert!(matches!(p(&[]), Ok(Command::Help(None))));
        assert!(matches!(p(&["help", "run"]), Ok(Command::Help(Some(ref c))) if c == "run"));
        assert!(matches!(p(&["run", "--help"]), Ok(Command::Help(Some(ref c))) if c == "run"));
        assert!(
            p(&["frobnicate"])
                .unwrap_err()
                .to_string()
                .starts_with("unknown command \"frobnicate\"")
        );
        match p(&["run", "true"]) {
            Ok(Command::Run(s, _)) => assert_eq!(s.state_root, PathBuf::from("/tmp/st")),
            other => panic!("{other:?}"),
        }
    }
}
