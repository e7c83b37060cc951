//! The container's record: the file `ROOT/ID/record` that `ps`, `logs`, `exec`, `kill` and `rm`
//! read. One `key value` line per field (values escape `\` and newline), a version line first,
//! so a foreign or damaged file is refused by name instead of being misread.
//!
//! Only the process that holds the state directory's lock writes it (the nsbox that runs the
//! container, or `rm` once it holds the lock), and always whole: `record.tmp`, then rename(2).
//! Readers never see half a record.

use crate::error::{Context, Error, Result};
use crate::process::caps::Caps;
use crate::spec::{Net, Rootfs, Security, Spec, User};
use crate::sys::{self, fs};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

pub const RECORD_FILE: &str = "record";
const TMP_FILE: &str = "record.tmp";
const MAGIC: &str = "nsbox-record 1";

/// A process, named so that a reused pid is not mistaken for it: its start time (in clock
/// ticks since boot, field 22 of /proc/PID/stat) must match too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: i32,
    pub start: u64,
}

impl Proc {
    /// The running process `pid`, if it exists.
    pub fn of(pid: i32) -> Option<Proc> {
        start_time(pid).map(|start| Proc { pid, start })
    }

    /// `of`, as an error when the process is gone (it ended before nsbox could record it).
    pub fn require(pid: i32) -> Result<Proc> {
        Proc::of(pid).ok_or_else(|| {
            Error::new(
                format!("/proc/{pid}/stat"),
                "cannot read the process's start time",
            )
        })
    }

    /// Whether this very process still runs (a zombie does not: it ended, and only waits for
    /// its parent, or for whoever adopted it, to reap it).
    pub fn alive(&self) -> bool {
        stat(self.pid)
            .is_some_and(|(state, start)| start == self.start && !matches!(state, 'Z' | 'X'))
    }
}

/// Field 22 of /proc/PID/stat.
pub fn start_time(pid: i32) -> Option<u64> {
    stat(pid).map(|(_, start)| start)
}

/// The state and start time of `pid`, from /proc/PID/stat.
fn stat(pid: i32) -> Option<(char, u64)> {
    let path = sys::cstr(format!("/proc/{pid}/stat")).ok()?;
    let bytes = sys::fs::read_one_record(&path).ok()?;
    parse_stat(&String::from_utf8_lossy(&bytes))
}

/// Fields 3 (the state: R, S, Z, ...) and 22 (the start time) of /proc/PID/stat. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let mut rest = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((state, rest.nth(18)?.parse().ok()?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    /// nsbox's exit code for it (the command's code, or 128+N for signal N), and when.
    Exited {
        code: u8,
        finished_ms: u64,
    },
}

/// The limits the container got, as `inspect` shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub pids: Option<u64>,
    /// Bytes.
    pub memory: Option<u64>,
    /// CPU time per 100 ms period, in microseconds.
    pub cpu_quota_us: Option<u64>,
    pub cpuset: Option<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: String,
    pub hostname: String,
    /// Milliseconds since the epoch: when its state directory was made (before clone).
    pub created_ms: u64,
    /// When its command started (its execve), in milliseconds since the epoch.
    pub started_ms: u64,
    /// The nsbox process that waits for the container (the foreground nsbox, or the
    /// supervisor of a detached one).
    pub supervisor: Proc,
    /// The container's PID 1, as the host sees it.
    pub pid: Proc,
    pub detached: bool,
    pub status: Status,
    /// The namespaces the container was cloned with (CLONE_NEW* flags).
    pub namespaces: i32,
    /// The root filesystem's directory, or `host` (the host's `/`).
    pub rootfs: String,
    /// The network mode as `--net` takes it (none, host, veth, bridge, ns:PATH).
    pub net: String,
    /// The network address, once networking gives one.
    pub address: Option<String>,
    pub limits: Limits,
    pub command: Vec<OsString>,
    pub env: Vec<String>,
    pub workdir: String,
    pub user: User,
    /// The user's supplementary groups.
    pub groups: Vec<u32>,
    pub security: Security,
    /// Whether the command runs under nsbox's own seccomp profile, which `exec` then gives its
    /// processes too (an OCI config's profile is the config's to give: OCI `exec` reads it).
    pub seccomp: bool,
}

impl Record {
    /// The record of a container whose command started now; `created_ms`: when its state
    /// directory was made.
    pub fn new(
        spec: &Spec,
        created_ms: u64,
        supervisor: Proc,
        pid: Proc,
        detached: bool,
    ) -> Record {
        Record {
            id: spec.id.clone(),
            hostname: spec.hostname.clone(),
            created_ms,
            started_ms: sys::process::now_realtime().as_millis() as u64,
            supervisor,
            pid,
            detached,
            status: Status::Running,
            // Those joined by path too (`--net ns:PATH`): `exec` joins what PID 1 is in.
            namespaces: spec.namespace_kinds(),
            rootfs: match &spec.rootfs {
                Rootfs::Host => "host".into(),
                Rootfs::Dir(d) => d.to_string_lossy().into_owned(),
            },
            net: net_mode(spec),
            address: None,
            limits: Limits {
                pids: spec.limits.pids,
                memory: spec.limits.memory,
                cpu_quota_us: spec.limits.cpu_quota_us,
                cpuset: spec.limits.cpuset.clone(),
            },
            command: spec.process.command.clone(),
            env: spec.process.env.clone(),
            workdir: spec.process.workdir.clone(),
            user: spec.process.user,
            groups: spec.process.groups.clone(),
            security: spec.process.security,
            seccomp: spec.process.seccomp == Some(crate::process::seccomp::Seccomp::Nsbox),
        }
    }

    /// Reads `DIR/record`; a missing file is `Ok(None)` (a container being created, or the
    /// remains of a crash before it was written).
    pub fn load(dir: &Path) -> Result<Option<Record>> {
        let path = dir.join(RECORD_FILE);
        match fs::read_file(&sys::cpath(&path)?) {
            Ok(bytes) => decode(&bytes).map(Some).map_err(|why| {
                Error::new(format!("{path:?}"), format!("not an nsbox record ({why})"))
                    .hint("nsbox leaves this directory alone: check it, and remove it by hand")
            }),
            Err(syscalls::Errno::ENOENT) => Ok(None),
            Err(e) => Err(Error::sys(format!("read {path:?}"), e)),
        }
    }

    /// Writes `DIR/record` whole: a temporary file, then rename over the old one.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(RECORD_FILE);
        let tmp = sys::cpath(&dir.join(TMP_FILE))?;
        fs::replace_file(&tmp, &sys::cpath(&path)?, &self.encode(), 0o600)
            .ctx(|| format!("write {path:?} (through {TMP_FILE})"))
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(MAGIC.as_bytes());
        out.push(b'\n');
        let mut put = |key: &str, value: &[u8]| {
            out.extend_from_slice(key.as_bytes());
            out.push(b' ');
            escape(value, &mut out);
            out.push(b'\n');
        };
        put("id", self.id.as_bytes());
        put("hostname", self.hostname.as_bytes());
        put("created", self.created_ms.to_string().as_bytes());
        put("started", self.started_ms.to_string().as_bytes());
        let proc = |p: Proc| format!("{} {}", p.pid, p.start);
        put("supervisor", proc(self.supervisor).as_bytes());
        put("pid", proc(self.pid).as_bytes());
        put("detached", bool_text(self.detached));
        if let Status::Exited { code, finished_ms } = self.status {
            put("exit", format!("{code} {finished_ms}").as_bytes());
        }
        put("namespaces", format!("{:#x}", self.namespaces).as_bytes());
        put("rootfs", self.rootfs.as_bytes());
        put("net", self.net.as_bytes());
        if let Some(a) = &self.address {
            put("address", a.as_bytes());
        }
        let l = &self.limits;
        for (key, v) in [
            ("pids_max", l.pids),
            ("memory_max", l.memory),
            ("cpu_quota_us", l.cpu_quota_us),
        ] {
            if let Some(v) = v {
                put(key, v.to_string().as_bytes());
            }
        }
        if let Some(cpus) = &l.cpuset {
            put("cpuset", join_ids(cpus).as_bytes());
        }
        for a in &self.command {
            put("arg", a.as_bytes());
        }
        for e in &self.env {
            put("env", e.as_bytes());
        }
        put("workdir", self.workdir.as_bytes());
        put(
            "user",
            format!("{}:{}", self.user.uid, self.user.gid).as_bytes(),
        );
        if !self.groups.is_empty() {
            put("groups", join_ids(&self.groups).as_bytes());
        }
        put(
            "caps",
            format!("{:#x}", self.security.caps.bounding.0).as_bytes(),
        );
        put("seccomp", bool_text(self.seccomp));
        put("no_new_privs", bool_text(self.security.no_new_privs));
        out
    }

    /// The command as one line for `ps`.
    pub fn command_line(&self) -> String {
        let words: Vec<String> = self
            .command
            .iter()
            .map(|a| {
                let a = a.to_string_lossy();
                if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"') {
                    format!("{a:?}")
                } else {
                    a.into_owned()
                }
            })
            .collect();
        words.join(" ")
    }
}

/// The network mode as `--net` takes it.
fn net_mode(spec: &Spec) -> String {
    let joined = spec.joined().find(|(f, _)| *f == libc::CLONE_NEWNET);
    match (joined, spec.net) {
        (Some((_, path)), _) => format!("ns:{}", path.display()),
        (None, Net::None) => "none".into(),
        (None, Net::Host) => "host".into(),
        (None, Net::Veth { .. }) => "veth".into(),
        (None, Net::Bridge { .. }) => "bridge".into(),
    }
}

fn join_ids(ids: &[u32]) -> String {
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    ids.join(",")
}

fn bool_text(b: bool) -> &'static [u8] {
    if b { b"1" } else { b"0" }
}

fn escape(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn unescape(value: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(value.len());
    let mut it = value.iter();
    while let Some(&b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            _ => return Err("a bad escape".into()),
        }
    }
    Ok(out)
}

fn decode(bytes: &[u8]) -> std::result::Result<Record, String> {
    let mut lines = bytes.split(|b| *b == b'\n');
    if lines.next() != Some(MAGIC.as_bytes()) {
        return Err(format!("its first line is not {MAGIC:?}"));
    }
    let mut fields: Vec<(&str, Vec<u8>)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let sp = line
            .iter()
            .position(|b| *b == b' ')
            .ok_or("a line without a value")?;
        let key = std::str::from_utf8(&line[..sp]).map_err(|_| "a key that is not text")?;
        fields.push((key, unescape(&line[sp + 1..])?));
    }
    let text = |key: &str| -> std::result::Result<String, String> {
        let v = fields
            .iter()
            .find(|(k, _)| *k == key)
            .ok_or_else(|| format!("no {key:?}"))?;
        String::from_utf8(v.1.clone()).map_err(|_| format!("{key:?} is not text"))
    };
    let all = |key: &'static str| {
        fields
            .iter()
            .filter(move |(k, _)| *k == key)
            .map(|(_, v)| v)
    };
    let bad = |key: &str| format!("a bad {key:?}");
    let num = |key: &str, s: &str| -> std::result::Result<u64, String> {
        match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).map_err(|_| bad(key)),
            None => s.parse().map_err(|_| bad(key)),
        }
    };
    let proc = |key: &str| -> std::result::Result<Proc, String> {
        let t = text(key)?;
        let (pid, start) = t.split_once(' ').ok_or_else(|| bad(key))?;
        Ok(Proc {
            pid: pid.parse().map_err(|_| bad(key))?,
            start: num(key, start)?,
        })
    };
    let flag = |key: &str| -> std::result::Result<bool, String> {
        match text(key)?.as_str() {
            "1" => Ok(true),
            "0" => Ok(false),
            _ => Err(bad(key)),
        }
    };
    let status = match text("exit") {
        Ok(t) => {
            let (code, at) = t.split_once(' ').ok_or_else(|| bad("exit"))?;
            Status::Exited {
                code: code.parse().map_err(|_| bad("exit"))?,
                finished_ms: num("exit", at)?,
            }
        }
        Err(_) => Status::Running,
    };
    let opt_num = |key: &str| text(key).ok().map(|t| num(key, &t)).transpose();
    let ids = |key: &str| -> std::result::Result<Option<Vec<u32>>, String> {
        text(key)
            .ok()
            .map(|t| {
                t.split(',')
                    .map(|g| g.parse().map_err(|_| bad(key)))
                    .collect()
            })
            .transpose()
    };
    let created_ms = num("created", &text("created")?)?;
    let user = text("user")?;
    let (uid, gid) = user.split_once(':').ok_or_else(|| bad("user"))?;
    let user = User {
        uid: uid.parse().map_err(|_| bad("user"))?,
        gid: gid.parse().map_err(|_| bad("user"))?,
    };
    let id = text("id")?;
    crate::spec::check_name("id", &id).map_err(|_| bad("id"))?;
    Ok(Record {
        id,
        hostname: text("hostname")?,
        created_ms,
        // Records of earlier versions: written when the command started.
        started_ms: opt_num("started")?.unwrap_or(created_ms),
        supervisor: proc("supervisor")?,
        pid: proc("pid")?,
        detached: flag("detached")?,
        status,
        namespaces: num("namespaces", &text("namespaces")?)? as i32,
        rootfs: text("rootfs").unwrap_or_default(),
        net: text("net").unwrap_or_default(),
        address: text("address").ok(),
        limits: Limits {
            pids: opt_num("pids_max")?,
            memory: opt_num("memory_max")?,
            cpu_quota_us: opt_num("cpu_quota_us")?,
            cpuset: ids("cpuset")?,
        },
        command: all("arg").map(|a| OsString::from_vec(a.clone())).collect(),
        env: all("env")
            .map(|e| String::from_utf8(e.clone()).map_err(|_| bad("env")))
            .collect::<std::result::Result<_, _>>()?,
        workdir: text("workdir")?,
        user,
        groups: ids("groups")?.unwrap_or_default(),
        security: Security {
            caps: crate::spec::CapSets::native(Caps(num("caps", &text("caps")?)?), user.uid),
            named: Caps(0),
            no_new_privs: flag("no_new_privs")?,
        },
        seccomp: flag("seccomp")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            id: "web".into(),
            hostname: "web".into(),
            created_ms: 1_700_000_000_123,
            started_ms: 1_700_000_000_200,
            supervisor: Proc { pid: 10, start: 99 },
            pid: Proc {
                pid: 11,
                start: 100,
            },
            detached: true,
            status: Status::Exited {
                code: 137,
                finished_ms: 1_700_000_001_000,
            },
            namespaces: libc::CLONE_NEWPID | libc::CLONE_NEWNS,
            rootfs: "/srv/rootfs".into(),
            net: "bridge".into(),
            address: Some("10.88.0.2".into()),
            limits: Limits {
                pids: Some(64),
                memory: Some(64 << 20),
                cpu_quota_us: Some(50_000),
                cpuset: Some(vec![0, 1]),
            },
            command: vec!["sh".into(), "-c".into(), "echo a\\b\nc".into()],
            env: vec!["PATH=/bin".into(), "X=1 2".into()],
            workdir: "/tmp".into(),
            user: User {
                uid: 1000,
                gid: 100,
            },
            groups: vec![10, 29],
            security: Security {
                caps: crate::spec::CapSets::native(Caps(0xa80425fb), 1000),
                named: Caps(0),
                no_new_privs: false,
            },
            seccomp: true,
        }
    }

    #[test]
    fn round_trip() {
        let r = sample();
        assert_eq!(decode(&r.encode()), Ok(r.clone()));
        let running = Record {
            status: Status::Running,
            address: None,
            limits: Limits::default(),
            ..r
        };
        assert_eq!(decode(&running.encode()), Ok(running));
    }

    #[test]
    fn refuses_foreign_and_damaged_files() {
        assert!(decode(b"hello\n").unwrap_err().contains("first line"));
        let mut text = sample().encode();
        text.extend_from_slice(b"env \\x\n");
        assert!(decode(&text).unwrap_err().contains("escape"));
        let text = String::from_utf8(sample().encode()).unwrap();
        let broken = text.replace("pid 11 100", "pid eleven 100");
        assert_eq!(decode(broken.as_bytes()).unwrap_err(), "a bad \"pid\"");
        let bad_id = text.replace("id web", "id ../etc");
        assert!(decode(bad_id.as_bytes()).is_err());
    }

    #[test]
    fn start_time_after_the_last_parenthesis() {
        let stat = "42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1 2";
        assert_eq!(parse_stat(stat), Some(('S', 98765)));
        assert_eq!(parse_stat("garbage"), None);
        assert!(Proc::of(std::process::id() as i32).is_some_and(|p| p.alive()));
    }

    #[test]
    fn command_line_quotes_what_needs_it() {
        assert_eq!(sample().command_line(), "sh -c \"echo a\\\\b\\nc\"");
    }
}
