//! OCI `events`: the container's resource usage as runc's stats JSON (`--stats`: once), or a
//! line of it every `--interval` and an `oom` event when the kernel kills for memory, until the
//! container stops. Read from the cgroups the container has (v1 or v2 file names).

use super::commands::find;
use super::json::{self, Value};
use super::state::Status;
use crate::error::{Error, Result};
use crate::sys;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub fn events(root: &Path, id: &str, stats_once: bool, interval: Duration) -> Result<()> {
    let (dir, rec) = find(root, id)?;
    if rec.status(&dir) == Status::Stopped {
        return Err(Error::new(
            format!("events of {id:?}"),
            "the container is stopped",
        ));
    }
    let cgroups = crate::state::recorded_cgroups(&dir)?;
    let line = |kind: &str, data: Value| {
        let v = json::obj(vec![
            ("type", json::str(kind)),
            ("id", json::str(id)),
            ("data", data),
        ]);
        sys::write_stdout(format!("{}\n", v.text()).as_bytes());
    };
    if stats_once {
        line("stats", stats(&cgroups));
        return Ok(());
    }
    let mut ooms = oom_kills(&cgroups);
    while rec.status(&dir) != Status::Stopped {
        line("stats", stats(&cgroups));
        // Woken every 100 ms for the OOM count and the end; stats every `interval`.
        let mut waited = Duration::ZERO;
        while waited < interval && rec.pid.alive() {
            let now = oom_kills(&cgroups);
            if now > ooms {
                line("oom", Value::Obj(Vec::new()));
                ooms = now;
            }
            let step = Duration::from_millis(100).min(interval - waited);
            std::thread::sleep(step);
            waited += step;
        }
    }
    Ok(())
}

/// The first of `files` that one of the cgroups has, as a number (`max` is 0: no limit).
fn number(cgroups: &[PathBuf], files: &[&str]) -> Option<u64> {
    cgroups.iter().find_map(|cg| {
        files.iter().find_map(|f| {
            let text = sys::read_text(&cg.join(f)).ok()?;
            match text.trim() {
                "max" => Some(0),
                t => t.parse().ok(),
            }
        })
    })
}

/// `key value` lines of a file such as cpu.stat or memory.stat.
fn keyed(cgroups: &[PathBuf], file: &str) -> Vec<(String, u64)> {
    cgroups
        .iter()
        .find_map(|cg| sys::read_text(&cg.join(file)).ok())
        .map(|text| {
            text.lines()
                .filter_map(|l| {
                    let (k, v) = l.split_once(' ')?;
                    Some((k.to_string(), v.trim().parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn get(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
        .unwrap_or(0)
}

fn oom_kills(cgroups: &[PathBuf]) -> u64 {
    let v2 = keyed(cgroups, "memory.events");
    let v1 = keyed(cgroups, "memory.oom_control");
    get(&v2, "oom_kill").max(get(&v1, "oom_kill"))
}

/// runc's stats shape: cpu (nanoseconds), memory (bytes), pids.
fn stats(cgroups: &[PathBuf]) -> Value {
    let n = |v: u64| json::num(v);
    // CPU: v2's cpu.stat in microseconds; v1's cpuacct in nanoseconds (user/system in ticks).
    let cpu_stat = keyed(cgroups, "cpu.stat");
    let (total, user, kernel) = match number(cgroups, &["cpuacct.usage"]) {
        Some(total) => {
            let ticks = keyed(cgroups, "cpuacct.stat");
            let ns = |k| get(&ticks, k) * 10_000_000;
            (total, ns("user"), ns("system"))
        }
        None => (
            get(&cpu_stat, "usage_usec") * 1000,
            get(&cpu_stat, "user_usec") * 1000,
            get(&cpu_stat, "system_usec") * 1000,
        ),
    };
    let periods = get(&cpu_stat, "nr_periods");
    let throttled = get(&cpu_stat, "nr_throttled");
    let throttled_ns = get(&cpu_stat, "throttled_usec") * 1000 + get(&cpu_stat, "throttled_time");
    let usage = number(cgroups, &["memory.current", "memory.usage_in_bytes"]).unwrap_or(0);
    let limit = number(cgroups, &["memory.max", "memory.limit_in_bytes"]).unwrap_or(0);
    let max = number(cgroups, &["memory.peak", "memory.max_usage_in_bytes"]).unwrap_or(0);
    let failcnt = number(cgroups, &["memory.failcnt"]).unwrap_or(0);
    let raw: Vec<(String, Value)> = keyed(cgroups, "memory.stat")
        .into_iter()
        .map(|(k, v)| (k, n(v)))
        .collect();
    json::obj(vec![
        (
            "cpu",
            json::obj(vec![
                (
                    "usage",
                    json::obj(vec![
                        ("total", n(total)),
                        ("kernel", n(kernel)),
                        ("user", n(user)),
                    ]),
                ),
                (
                    "throttling",
                    json::obj(vec![
                        ("periods", n(periods)),
                        ("throttledPeriods", n(throttled)),
                        ("throttledTime", n(throttled_ns)),
                    ]),
                ),
            ]),
        ),
        (
            "memory",
            json::obj(vec![
                (
                    "usage",
                    json::obj(vec![
                        ("limit", n(limit)),
                        ("usage", n(usage)),
                        ("max", n(max)),
                        ("failcnt", n(failcnt)),
                    ]),
                ),
                ("raw", Value::Obj(raw)),
            ]),
        ),
        (
            "pids",
            json::obj(vec![
                (
                    "current",
                    n(number(cgroups, &["pids.current"]).unwrap_or(0)),
                ),
                ("limit", n(number(cgroups, &["pids.max"]).unwrap_or(0))),
            ]),
        ),
    ])
}
