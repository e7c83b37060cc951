//! `ps`, `pause` and `resume`: the processes the container's cgroups hold, frozen or thawed
//! (cgroup v2's cgroup.freeze, or the v1 freezer where the container has a freezer cgroup).

use super::commands::{cgroup_pids, find};
use super::state::Status;
use crate::error::{Error, Result};
use crate::sys;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The freezer of a container: a v2 directory (cgroup.freeze) or a v1 freezer directory.
enum Freezer {
    V2(PathBuf),
    V1(PathBuf),
}

fn freezer(dir: &Path) -> Result<Option<Freezer>> {
    for cg in crate::state::recorded_cgroups(dir)? {
        if cg.join("cgroup.freeze").exists() {
            return Ok(Some(Freezer::V2(cg)));
        }
        if cg.join("freezer.state").exists() {
            return Ok(Some(Freezer::V1(cg)));
        }
    }
    Ok(None)
}

/// Whether the container in `dir` is frozen (paused).
pub fn is_frozen(dir: &Path) -> bool {
    match freezer(dir) {
        Ok(Some(Freezer::V2(cg))) => {
            sys::read_text(&cg.join("cgroup.freeze")).is_ok_and(|t| t.trim() == "1")
        }
        Ok(Some(Freezer::V1(cg))) => {
            sys::read_text(&cg.join("freezer.state")).is_ok_and(|t| t.trim() != "THAWED")
        }
        _ => false,
    }
}

/// `ps`: the host pids of the container's processes, as a JSON array or one per line.
pub fn ps(root: &Path, id: &str, json: bool) -> Result<String> {
    let (dir, rec) = find(root, id)?;
    let mut pids = match rec.status(&dir) {
        Status::Stopped => Vec::new(),
        _ => cgroup_pids(&dir)?,
    };
    if pids.is_empty() && rec.pid.alive() {
        // No cgroups of its own: its first process and what descends from it.
        pids = descendants(rec.pid.pid);
    }
    let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    Ok(match json {
        true => format!("[{}]\n", list.join(",")),
        false => format!(
            "PID\n{}",
            list.iter().map(|p| format!("{p}\n")).collect::<String>()
        ),
    })
}

/// `pid` and its descendants, from /proc/PID/task/PID/children.
fn descendants(pid: i32) -> Vec<i32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        if let Ok(text) = sys::read_text(Path::new(&format!("/proc/{p}/task/{p}/children"))) {
            all.extend(
                text.split_whitespace()
                    .filter_map(|c| c.parse::<i32>().ok()),
            );
        }
        i += 1;
    }
    all
}

/// `pause` (`freeze`) or `resume`; waits until the kernel says it is done.
pub fn set_frozen(root: &Path, id: &str, freeze: bool) -> Result<()> {
    let (dir, rec) = find(root, id)?;
    let verb = if freeze { "pause" } else { "resume" };
    let want = if freeze {
        Status::Running
    } else {
        Status::Paused
    };
    let status = rec.status(&dir);
    if status != want {
        return Err(Error::new(
            format!("{verb} {id:?}"),
            format!("the container is {}, not {}", status.name(), want.name()),
        ));
    }
    let Some(f) = freezer(&dir)? else {
        return Err(Error::new(
            format!("{verb} {id:?}"),
            "it has no cgroup with a freezer (cgroup v2, or a v1 freezer hierarchy)",
        )
        .hint("give the container a cgroupsPath (the clients do)"));
    };
    crate::trace::step(|| format!("{verb} {id:?}: its cgroup's freezer"));
    freeze_cgroup(&f, freeze).map_err(|e| e.hint("see the cgroup's freezer files"))
}

/// Writes the freezer's file and waits (up to 5 s) until the cgroup is in that state.
fn freeze_cgroup(f: &Freezer, freeze: bool) -> Result<()> {
    let (file, value, done, wait_file) = match f {
        Freezer::V2(cg) => (
            cg.join("cgroup.freeze"),
            if freeze { "1" } else { "0" },
            if freeze { "frozen 1" } else { "frozen 0" },
            cg.join("cgroup.events"),
        ),
        Freezer::V1(cg) => (
            cg.join("freezer.state"),
            if freeze { "FROZEN" } else { "THAWED" },
            if freeze { "FROZEN" } else { "THAWED" },
            cg.join("freezer.state"),
        ),
    };
    sys::fs::write_file_at(libc::AT_FDCWD, &sys::cpath(&file)?, value.as_bytes())
        .map_err(|e| Error::sys(format!("write {value:?} to {file:?}"), e))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = sys::read_text(&wait_file).unwrap_or_default();
        if text.lines().any(|l| l.trim() == done) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::new(
                format!("{} {file:?}", if freeze { "freeze" } else { "thaw" }),
                format!("the cgroup did not reach {done:?} within 5 s"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `delete --force` of a paused container thaws it first (a v1 frozen task does not die).
pub fn thaw_for_kill(dir: &Path) {
    if is_frozen(dir)
        && let Ok(Some(f)) = freezer(dir)
    {
        let _ = freeze_cgroup(&f, false);
    }
}
