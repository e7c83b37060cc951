//! runc's command line: global flags, then a command and its flags, both spellings `--x v` and
//! `--x=v` (conmon writes `--log-format=json`). Pure, like the native parser.

use crate::error::{Error, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// The flags before the command.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Global {
    pub root: Option<PathBuf>,
    pub log: Option<PathBuf>,
    pub json_log: bool,
    pub debug: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Create(Create),
    /// `run`: create, start, and (unless detached) wait and delete.
    Run(Create, bool),
    Start(String),
    State(String),
    Exec(Exec),
    /// id, --format json.
    Ps(String, bool),
    Pause(String),
    Resume(String),
    Update(Update),
    /// id, --stats, --interval in seconds.
    Events(String, bool, u64),
    /// id, signal, --all.
    Kill(String, i32, bool),
    /// id, --force.
    Delete(String, bool),
    /// --format json.
    List(bool),
    /// --rootless, --bundle.
    Spec(bool, Option<PathBuf>),
    Features,
    Version,
    Help,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Create {
    pub id: String,
    pub bundle: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    /// Where the pty master of a `process.terminal` container goes (runc's protocol).
    pub console_socket: Option<PathBuf>,
}

/// `exec`: a process into a running container, from `--process FILE` or from the arguments
/// after the id (with the container's own process as the base).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exec {
    pub id: String,
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub tty: bool,
    pub cwd: Option<String>,
    pub env: Vec<String>,
    /// `UID[:GID]`.
    pub user: Option<(u32, Option<u32>)>,
    pub no_new_privs: bool,
}

/// `update`: new limits, from `--resources FILE` (`-`: stdin) and runc's flags.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Update {
    pub id: String,
    pub resources: Option<PathBuf>,
    pub memory: Option<u64>,
    /// -1: swap not limited.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<u64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<u64>,
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids: Option<u64>,
}

/// The commands that only the OCI front end has, and the global flags that only it takes.
const OCI_COMMANDS: [&str; 10] = [
    "create", "start", "state", "delete", "list", "spec", "features", "pause", "resume", "update",
];
const GLOBALS: [&str; 7] = [
    "--root",
    "--log",
    "--log-format",
    "--debug",
    "--systemd-cgroup",
    "--rootless",
    "--criu",
];

/// Whether these arguments are for the OCI front end: a global flag of runc's first, a
/// command only it has, `kill ID SIGNAL` (the native kill takes `-s`), or `run --bundle`.
pub fn claims(args: &[OsString]) -> bool {
    let words: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let Some(first) = words.first() else {
        return false;
    };
    let flag = first.split('=').next().unwrap_or("");
    // `--version` alone is runc's (clients read its shape); with more it is the native error.
    if first == "--version" && words.len() == 1 {
        return true;
    }
    if GLOBALS.contains(&flag) || OCI_COMMANDS.contains(&first.as_str()) {
        return true;
    }
    let rest = &words[1..];
    match first.as_str() {
        "kill" => {
            let native = rest
                .iter()
                .any(|w| w == "-s" || w.starts_with("--signal") || w == "--root");
            !native
                && (rest.iter().filter(|w| !w.starts_with('-')).count() >= 2
                    || rest.iter().any(|w| w == "--all" || w == "-a"))
        }
        "run" => rest
            .iter()
            .any(|w| w == "--bundle" || w == "-b" || w.starts_with("--bundle=")),
        // runc's ps names a container (the native one lists them all) or a format.
        "ps" => {
            !rest
                .iter()
                .any(|w| w == "--root" || w.starts_with("--root="))
                && rest
                    .iter()
                    .any(|w| !w.starts_with('-') || w == "-f" || w.starts_with("--format"))
        }
        // runc's exec options, none of which the native exec has.
        "exec" => rest.iter().take_while(|w| w.starts_with('-')).any(|w| {
            let flag = w.split('=').next().unwrap_or("");
            matches!(
                flag,
                "--process"
                    | "-p"
                    | "--pid-file"
                    | "--console-socket"
                    | "--detach"
                    | "-d"
                    | "--cwd"
                    | "--preserve-fds"
                    | "--no-new-privs"
            )
        }),
        _ => false,
    }
}

fn usage(what: impl Into<String>) -> Error {
    Error::new(what, "invalid usage").hint("see 'nsbox help oci'")
}

/// Splits `--x=v` into the flag and its value.
fn split(arg: &str) -> (&str, Option<&str>) {
    match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v)),
        _ => (arg, None),
    }
}

struct Args {
    words: std::vec::IntoIter<String>,
}

impl Args {
    fn value(&mut self, flag: &str, inline: Option<&str>) -> Result<String> {
        match inline {
            Some(v) => Ok(v.to_string()),
            None => self
                .words
                .next()
                .ok_or_else(|| usage(format!("{flag} needs a value"))),
        }
    }
}

/// The global flags (as far as they parsed: errors are logged where `--log` says) and the
/// command.
pub fn parse(args: Vec<OsString>) -> (Global, Result<Command>) {
    let mut global = Global::default();
    let command = parse_into(args, &mut global);
    (global, command)
}

fn parse_into(args: Vec<OsString>, global: &mut Global) -> Result<Command> {
    let mut words = Vec::new();
    for a in args {
        words.push(
            a.into_string()
                .map_err(|a| usage(format!("argument {a:?} is not UTF-8")))?,
        );
    }
    let mut a = Args {
        words: words.into_iter(),
    };
    let command = loop {
        let Some(word) = a.words.next() else {
            return Err(usage("no command given"));
        };
        let (flag, inline) = split(&word);
        match flag {
            "--root" => global.root = Some(a.value(flag, inline)?.into()),
            "--log" => global.log = Some(a.value(flag, inline)?.into()),
            "--log-format" => {
                global.json_log = match a.value(flag, inline)?.as_str() {
                    "json" => true,
                    "text" => false,
                    other => {
                        return Err(usage(format!(
                            "--log-format {other:?}: expected text or json"
                        )));
                    }
                }
            }
            "--debug" => global.debug = true,
            "--systemd-cgroup" => {
                return Err(Error::new(
                    "--systemd-cgroup",
                    "nsbox has no systemd cgroup driver: it manages cgroupfs itself",
                )
                .hint("configure the client for the cgroupfs manager (podman: cgroup_manager = \"cgroupfs\"; containerd: SystemdCgroup = false)"));
            }
            // runc's `--rootless auto|true|false` and `--criu PATH`: nsbox decides rootless from
            // its uid, and has no checkpointing, so neither changes anything.
            "--rootless" | "--criu" => drop(a.value(flag, inline)?),
            "--version" | "-v" => return Ok(Command::Version),
            "--help" | "-h" | "help" => return Ok(Command::Help),
            _ if flag.starts_with('-') => {
                return Err(usage(format!("unknown global option {flag}")));
            }
            _ => break word,
        }
    };
    let command = match command.as_str() {
        "create" => Command::Create(create(&mut a, "create")?.0),
        "run" => {
            let (c, detach) = create(&mut a, "run")?;
            Command::Run(c, detach)
        }
        "start" => Command::Start(only_id(&mut a, "start")?),
        "exec" => Command::Exec(exec(&mut a)?),
        "pause" => Command::Pause(only_id(&mut a, "pause")?),
        "update" => Command::Update(update(&mut a)?),
        "events" => {
            let (mut stats, mut interval, mut id) = (false, 5, None);
            while let Some(w) = a.words.next() {
                let (flag, inline) = split(&w);
                match flag {
                    "--stats" => stats = true,
                    "--interval" => {
                        let v = a.value(flag, inline)?;
                        let secs = v.strip_suffix('s').unwrap_or(&v);
                        interval = match secs.parse::<u64>() {
                            Ok(n) if n > 0 => n,
                            _ => {
                                return Err(usage(format!(
                                    "events: --interval {v:?}: expected whole seconds, such as 5s"
                                )));
                            }
                        };
                    }
                    _ if flag.starts_with('-') => {
                        return Err(usage(format!("events: unknown option {flag}")));
                    }
                    _ if id.is_none() => id = Some(w),
                    _ => return Err(usage(format!("events: unexpected argument {w:?}"))),
                }
            }
            Command::Events(need_id(id, "events")?, stats, interval)
        }
        "resume" => Command::Resume(only_id(&mut a, "resume")?),
        "ps" => {
            let (mut json, mut id) = (false, None);
            while let Some(w) = a.words.next() {
                let (flag, inline) = split(&w);
                match flag {
                    "--format" | "-f" => json = a.value(flag, inline)? == "json",
                    _ if flag.starts_with('-') => {
                        return Err(usage(format!("ps: unknown option {flag}")));
                    }
                    // runc passes what follows the id to ps(1); nsbox lists pids only.
                    _ if id.is_none() => id = Some(w),
                    _ => {}
                }
            }
            Command::Ps(need_id(id, "ps")?, json)
        }
        "state" => Command::State(only_id(&mut a, "state")?),
        "kill" => kill(&mut a)?,
        "delete" => {
            let mut force = false;
            let mut id = None;
            for w in a.words.by_ref() {
                match w.as_str() {
                    "--force" | "-f" => force = true,
                    _ if w.starts_with('-') => {
                        return Err(usage(format!("delete: unknown option {w}")));
                    }
                    _ if id.is_none() => id = Some(w),
                    _ => return Err(usage(format!("delete: unexpected argument {w:?}"))),
                }
            }
            Command::Delete(need_id(id, "delete")?, force)
        }
        "list" => {
            let mut json = false;
            while let Some(w) = a.words.next() {
                let (flag, inline) = split(&w);
                match flag {
                    "--format" | "-f" => json = a.value(flag, inline)? == "json",
                    "--quiet" | "-q" => {}
                    _ => return Err(usage(format!("list: unexpected argument {w:?}"))),
                }
            }
            Command::List(json)
        }
        "spec" => {
            let (mut rootless, mut bundle) = (false, None);
            while let Some(w) = a.words.next() {
                let (flag, inline) = split(&w);
                match flag {
                    "--rootless" => rootless = true,
                    "--bundle" | "-b" => bundle = Some(a.value(flag, inline)?.into()),
                    _ => return Err(usage(format!("spec: unexpected argument {w:?}"))),
                }
            }
            Command::Spec(rootless, bundle)
        }
        "features" => Command::Features,
        other => {
            return Err(Error::new(format!("command {other:?}"), "not an OCI command nsbox has")
                .hint("nsbox's OCI commands: create, start, state, exec, ps, pause, resume, update, events, kill, delete, run, list, spec, features"));
        }
    };
    Ok(command)
}

fn need_id(id: Option<String>, command: &str) -> Result<String> {
    let id = id.ok_or_else(|| usage(format!("{command}: the container id is missing")))?;
    check_id(&id)?;
    Ok(id)
}

/// An id names a directory of the state root: no `/`, no `..`, nothing odd.
pub fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(Error::new(
            format!("container id {id:?}"),
            "expected letters, digits, '_', '.', '+' or '-' (no '/', not '.' or '..')",
        )),
    }
}

fn only_id(a: &mut Args, command: &str) -> Result<String> {
    let mut id = None;
    for w in a.words.by_ref() {
        match w.starts_with('-') || id.is_some() {
            true => return Err(usage(format!("{command}: unexpected argument {w:?}"))),
            false => id = Some(w),
        }
    }
    need_id(id, command)
}

fn kill(a: &mut Args) -> Result<Command> {
    let (mut all, mut rest) = (false, Vec::new());
    for w in a.words.by_ref() {
        match w.as_str() {
            "--all" | "-a" => all = true,
            _ if w.starts_with('-') && w.parse::<i32>().is_err() => {
                return Err(usage(format!("kill: unknown option {w}")));
            }
            _ => rest.push(w),
        }
    }
    let mut rest = rest.into_iter();
    let id = need_id(rest.next(), "kill")?;
    let signal = match rest.next() {
        Some(s) => crate::cli::parse_signal(&s)?,
        None => libc::SIGTERM,
    };
    if let Some(extra) = rest.next() {
        return Err(usage(format!("kill: unexpected argument {extra:?}")));
    }
    Ok(Command::Kill(id, signal, all))
}

fn update(a: &mut Args) -> Result<Update> {
    let mut u = Update::default();
    let mut id = None;
    while let Some(w) = a.words.next() {
        let (flag, inline) = split(&w);
        if !flag.starts_with('-') {
            match id {
                None => id = Some(w),
                Some(_) => return Err(usage(format!("update: unexpected argument {w:?}"))),
            }
            continue;
        }
        let v = a.value(flag, inline)?;
        let bytes = |v: &str| -> Result<u64> {
            crate::cgroup::limits::parse_bytes(v).ok_or_else(|| {
                usage(format!(
                    "update: {flag} {v:?}: expected bytes (k, m, g allowed)"
                ))
            })
        };
        let number = |v: &str| -> Result<u64> {
            v.parse()
                .map_err(|_| usage(format!("update: {flag} {v:?}: expected a whole number")))
        };
        match flag {
            "--resources" | "-r" => u.resources = Some(v.into()),
            "--memory" => u.memory = Some(bytes(&v)?),
            "--memory-swap" => {
                u.memory_swap = Some(match v.as_str() {
                    "-1" => -1,
                    _ => bytes(&v)? as i64,
                })
            }
            "--memory-reservation" => u.memory_reservation = Some(bytes(&v)?),
            "--cpu-shares" => u.cpu_shares = Some(number(&v)?),
            "--cpu-quota" => u.cpu_quota = Some(number(&v)?),
            "--cpu-period" => u.cpu_period = Some(number(&v)?),
            "--cpuset-cpus" => u.cpuset_cpus = Some(v),
            "--cpuset-mems" => u.cpuset_mems = Some(v),
            "--pids-limit" => u.pids = Some(number(&v)?),
            _ => return Err(usage(format!("update: unknown option {flag}"))),
        }
    }
    u.id = need_id(id, "update")?;
    Ok(u)
}

fn exec(a: &mut Args) -> Result<Exec> {
    let mut e = Exec::default();
    let mut id = None;
    while let Some(w) = a.words.next() {
        if id.is_some() {
            e.args.push(w);
            continue;
        }
        let (flag, inline) = split(&w);
        match flag {
            "--process" | "-p" => e.process = Some(a.value(flag, inline)?.into()),
            "--detach" | "-d" => e.detach = true,
            "--pid-file" => e.pid_file = Some(a.value(flag, inline)?.into()),
            "--console-socket" => e.console_socket = Some(a.value(flag, inline)?.into()),
            "--tty" | "-t" => e.tty = true,
            "--cwd" => e.cwd = Some(a.value(flag, inline)?),
            "--env" | "-e" => e.env.push(a.value(flag, inline)?),
            "--user" | "-u" => {
                let v = a.value(flag, inline)?;
                let bad = || usage(format!("exec: --user {v:?}: expected UID[:GID], numbers"));
                let (u, g) = match v.split_once(':') {
                    Some((u, g)) => (u, Some(g)),
                    None => (v.as_str(), None),
                };
                let uid = u.parse().map_err(|_| bad())?;
                let gid = g.map(|g| g.parse().map_err(|_| bad())).transpose()?;
                e.user = Some((uid, gid));
            }
            "--no-new-privs" => e.no_new_privs = true,
            "--preserve-fds" => {
                let v = a.value(flag, inline)?;
                if v != "0" {
                    return Err(Error::new(
                        format!("{flag} {v}"),
                        "not supported by nsbox yet",
                    ));
                }
            }
            "--process-label" | "--apparmor" | "--cap" | "-c" | "--additional-gids" | "-g" => {
                let v = a.value(flag, inline)?;
                return Err(
                    Error::new(format!("exec {flag} {v}"), "not supported by nsbox yet")
                        .hint("give a --process file with the process's capabilities and groups"),
                );
            }
            "--" if id.is_none() => {}
            _ if flag.starts_with('-') => {
                return Err(usage(format!("exec: unknown option {flag}")));
            }
            _ => id = Some(w),
        }
    }
    e.id = need_id(id, "exec")?;
    match (&e.process, e.args.is_empty()) {
        (None, true) => Err(usage(
            "exec: give --process FILE or the command after the id",
        )),
        (Some(_), false) => Err(usage("exec: give --process FILE or a command, not both")),
        _ => Ok(e),
    }
}

/// `create`'s and `run`'s flags. Returns them and `--detach`.
fn create(a: &mut Args, command: &str) -> Result<(Create, bool)> {
    let mut c = Create::default();
    let (mut id, mut detach) = (None, false);
    while let Some(w) = a.words.next() {
        let (flag, inline) = split(&w);
        match flag {
            "--bundle" | "-b" => c.bundle = Some(a.value(flag, inline)?.into()),
            "--pid-file" => c.pid_file = Some(a.value(flag, inline)?.into()),
            "--no-pivot" => c.no_pivot = true,
            "--no-new-keyring" => c.no_new_keyring = true,
            "--detach" | "-d" if command == "run" => detach = true,
            "--console-socket" => c.console_socket = Some(a.value(flag, inline)?.into()),
            // Every descriptor beyond 0-2 is closed before the container's paths are resolved
            // (CVE-2024-21626): none can be passed on yet.
            "--preserve-fds" => {
                let v = a.value(flag, inline)?;
                if v != "0" {
                    return Err(Error::new(
                        format!("{flag} {v}"),
                        "not supported by nsbox yet",
                    ));
                }
            }
            _ if flag.starts_with('-') => {
                return Err(usage(format!("{command}: unknown option {flag}")));
            }
            _ if id.is_none() => id = Some(w),
            _ => return Err(usage(format!("{command}: unexpected argument {w:?}"))),
        }
    }
    c.id = need_id(id, command)?;
    Ok((c, detach))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn conmons_spellings() {
        let (g, c) = parse(args(
            "--log-format=json --log /x/oci-log create --bundle /b --pid-file /p abc",
        ));
        let c = c.unwrap();
        assert!(g.json_log);
        assert_eq!(g.log, Some("/x/oci-log".into()));
        let Command::Create(c) = c else { panic!() };
        assert_eq!(
            (c.id.as_str(), c.bundle, c.pid_file),
            ("abc", Some("/b".into()), Some("/p".into()))
        );
        assert_eq!(
            parse(args("kill abc 9")).1.unwrap(),
            Command::Kill("abc".into(), 9, false)
        );
        assert_eq!(
            parse(args("kill --all abc KILL")).1.unwrap(),
            Command::Kill("abc".into(), 9, true)
        );
        assert_eq!(
            parse(args("kill abc")).1.unwrap(),
            Command::Kill("abc".into(), 15, false)
        );
        assert_eq!(
            parse(args("--root=/r delete -f abc")).1.unwrap(),
            Command::Delete("abc".into(), true)
        );
    }

    #[test]
    fn bad_input() {
        assert!(parse(args("create ../x")).1.is_err());
        assert!(parse(args("create a/b")).1.is_err());
        assert!(parse(args("kill abc NOPE")).1.is_err());
        assert!(parse(args("start")).1.is_err());
        assert!(parse(args("--systemd-cgroup create x")).1.is_err());
        assert!(parse(args("--log-format yaml state x")).1.is_err());
    }

    #[test]
    fn what_it_claims() {
        assert!(claims(&args("create --bundle . x")));
        assert!(claims(&args("--root /r kill x 9")));
        assert!(claims(&args("kill x 15")));
        assert!(!claims(&args("kill x")));
        assert!(!claims(&args("kill -s TERM x")));
        assert!(!claims(&args("run -r /rootfs sh")));
        assert!(claims(&args("run --bundle /b x")));
    }
}
