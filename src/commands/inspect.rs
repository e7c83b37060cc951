//! `nsbox inspect ID...`: what nsbox knows of each container, as a JSON array (docker's habit:
//! one object per container; pipe it to `jq`).

use super::container::{self, Found, Liveness};
use crate::oci::json::{self, Value};
use crate::state::LOG_FILE;
use crate::state::record::Status;
use crate::state::time::rfc3339_ms;
use std::path::Path;

/// The namespaces as the runtime-spec names them.
const NAMESPACES: [(i32, &str); 7] = [
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNS, "mount"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWNET, "network"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
    (libc::CLONE_NEWUSER, "user"),
];

pub fn inspect(root: &Path, ids: &[String]) -> crate::error::Result<u8> {
    let mut objects = Vec::new();
    let result = super::each_then(
        ids,
        "inspect",
        |id| container::find(root, id).map(|f| object(&f).text()),
        |o| objects.push(o),
    );
    if !objects.is_empty() {
        crate::sys::write_stdout(format!("[{}]\n", objects.join(",\n ")).as_bytes());
    }
    result
}

fn object(f: &Found) -> Value {
    let r = &f.record;
    let live = f.liveness();
    let (status, exit_code, finished) = match (live, r.status) {
        (Liveness::Exited(code), Status::Exited { finished_ms, .. }) => (
            "exited",
            json::num(code),
            json::str(rfc3339_ms(finished_ms)),
        ),
        (Liveness::Running, _) => ("running", Value::Null, Value::Null),
        _ => ("dead", Value::Null, Value::Null),
    };
    let opt = |v: Option<u64>| v.map(json::num).unwrap_or(Value::Null);
    let strs = |items: Vec<String>| Value::Arr(items.into_iter().map(json::str).collect());
    let nums = |items: &[u32]| Value::Arr(items.iter().map(|n| json::num(*n)).collect());
    let l = &r.limits;
    json::obj(vec![
        ("id", json::str(&r.id)),
        ("hostname", json::str(&r.hostname)),
        ("status", json::str(status)),
        (
            "pid",
            match live {
                Liveness::Running => json::num(r.pid.pid),
                _ => Value::Null,
            },
        ),
        ("exit_code", exit_code),
        ("created", json::str(rfc3339_ms(r.created_ms))),
        ("started", json::str(rfc3339_ms(r.started_ms))),
        ("finished", finished),
        ("detached", Value::Bool(r.detached)),
        ("rootfs", json::str(&r.rootfs)),
        (
            "command",
            strs(
                r.command
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect(),
            ),
        ),
        ("env", strs(r.env.clone())),
        ("workdir", json::str(&r.workdir)),
        (
            "user",
            json::obj(vec![
                ("uid", json::num(r.user.uid)),
                ("gid", json::num(r.user.gid)),
                ("groups", nums(&r.groups)),
            ]),
        ),
        (
            "limits",
            json::obj(vec![
                ("pids", opt(l.pids)),
                ("memory_bytes", opt(l.memory)),
                // --cpus as given: CPU time per 100 ms period.
                (
                    "cpus",
                    l.cpu_quota_us
                        .map(|q| json::num(q as f64 / 100_000.0))
                        .unwrap_or(Value::Null),
                ),
                (
                    "cpuset",
                    l.cpuset.as_deref().map(nums).unwrap_or(Value::Null),
                ),
            ]),
        ),
        (
            "network",
            json::obj(vec![
                ("mode", json::str(&r.net)),
                (
                    "address",
                    r.address.as_deref().map(json::str).unwrap_or(Value::Null),
                ),
            ]),
        ),
        (
            "namespaces",
            strs(
                NAMESPACES
                    .iter()
                    .filter(|(flag, _)| r.namespaces & flag != 0)
                    .map(|(_, name)| name.to_string())
                    .collect(),
            ),
        ),
        ("capabilities", json::str(r.security.caps.bounding.names())),
        ("seccomp", Value::Bool(r.seccomp)),
        ("no_new_privileges", Value::Bool(r.security.no_new_privs)),
        (
            "log",
            match r.detached {
                true => json::str(f.dir.join(LOG_FILE).to_string_lossy()),
                false => Value::Null,
            },
        ),
    ])
}
