//! OCI `update`: new limits for a running container, from `--resources FILE` (`-`: stdin, as
//! containerd's shim gives them) and runc's flags, written to the cgroups it has. A memory or
//! pids limit below what the container uses now is refused: nothing is changed.

use super::cli::Update;
use super::commands::find;
use super::field::Field;
use super::json;
use super::state::Status;
use crate::cgroup::limits::{CPU_PERIOD_US, Controller, Limits, Version};
use crate::cgroup::settings::Inherited;
use crate::error::{Error, Result};
use crate::sys::{self, fs};
use std::path::{Path, PathBuf};

pub fn update(root: &Path, u: &Update, cwd: &Path) -> Result<()> {
    let (dir, rec) = find(root, &u.id)?;
    let status = rec.status(&dir);
    if status == Status::Stopped {
        return Err(Error::new(
            format!("update {:?}", u.id),
            "the container is stopped",
        ));
    }
    let mut limits = Limits::default();
    if let Some(source) = &u.resources {
        let bytes = read_source(source, cwd)?;
        let value = json::parse(&bytes).map_err(|e| {
            Error::new(
                format!("the resources line {} column {}", e.line, e.column),
                format!("not valid JSON: {}", e.why),
            )
        })?;
        super::resources::apply(&Field::root("resources", &value), &mut limits, &[])?;
        // Device rules are set at create only, as runc has it.
        limits.devices = None;
    }
    flags(u, &mut limits)?;
    if limits.is_empty() {
        return Err(
            Error::new(format!("update {:?}", u.id), "no limit to change")
                .hint("give --resources FILE (- for stdin) or a flag such as --memory"),
        );
    }
    let dirs = crate::state::recorded_cgroups(&dir)?;
    // Where each controller's files are, first: a missing one is said before anything changes.
    let mut plan = Vec::new();
    for controller in limits.controllers() {
        let found = dirs.iter().find_map(|d| {
            let version = match d.join("cgroup.controllers").exists() {
                true => Version::V2,
                false => Version::V1,
            };
            let settings = limits.settings(controller, version, Inherited::default());
            let first = settings.iter().find(|s| !s.value.is_empty())?;
            d.join(&first.file).exists().then(|| (d.clone(), settings))
        });
        match found {
            Some(f) => plan.push((controller, f)),
            None => {
                return Err(Error::new(
                    format!("update {:?}", u.id),
                    format!("it has no cgroup with the {} controller", controller.name()),
                )
                .hint("a container gets the controllers its limits at create asked for"));
            }
        }
    }
    for (controller, (d, _)) in &plan {
        below_usage(*controller, d, &limits)?;
    }
    crate::trace::step(|| format!("update the limits of {:?}", u.id));
    for (_, (d, mut settings)) in plan {
        // Swap changes only where asked (v2); v1 keeps memory+swap at least the limit.
        if limits.memory_swap.is_none() {
            settings.retain(|s| s.file != "memory.swap.max");
        }
        raise_memsw_first(&d, &mut settings);
        for s in settings.iter().filter(|s| !s.value.is_empty()) {
            let path = d.join(&s.file);
            match fs::write_file_at(libc::AT_FDCWD, &sys::cpath(&path)?, s.value.as_bytes()) {
                Ok(()) => {}
                Err(syscalls::Errno::ENOENT) if s.optional => {}
                Err(e) => return Err(Error::sys(format!("write {:?} to {path:?}", s.value), e)),
            }
        }
    }
    Ok(())
}

/// v1 keeps memory+swap at least the memory limit: a higher limit needs the higher
/// memory.memsw.limit_in_bytes first (a lower one, the lower memory limit first).
fn raise_memsw_first(d: &Path, settings: &mut [crate::cgroup::settings::Setting]) {
    let Some(i) = settings
        .iter()
        .position(|s| s.file == "memory.limit_in_bytes")
    else {
        return;
    };
    let current = sys::read_text(&d.join("memory.limit_in_bytes"))
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    let new = settings[i].value.parse::<u64>().ok();
    if let (Some(current), Some(new)) = (current, new)
        && new > current
        && settings
            .get(i + 1)
            .is_some_and(|s| s.file == "memory.memsw.limit_in_bytes")
    {
        settings.swap(i, i + 1);
    }
}

fn read_source(source: &Path, cwd: &Path) -> Result<Vec<u8>> {
    if source == Path::new("-") {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match sys::read(&0, &mut buf) {
                Ok(0) => return Ok(all),
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) => return Err(Error::sys("read the resources from stdin", e)),
            }
        }
    }
    let path: PathBuf = cwd.join(source);
    fs::read_file(&sys::cpath(&path)?)
        .map_err(|e| Error::sys(format!("read the resources file {path:?}"), e))
}

/// runc's flags, over what `--resources` gave.
fn flags(u: &Update, limits: &mut Limits) -> Result<()> {
    if let Some(m) = u.memory {
        limits.memory = Some(m);
    }
    if let Some(s) = u.memory_swap {
        limits.memory_swap = Some(if s < 0 { u64::MAX } else { s as u64 });
    }
    if let Some(r) = u.memory_reservation {
        limits.memory_low = Some(r);
    }
    if let Some(s) = u.cpu_shares {
        limits.cpu_shares = Some(s);
    }
    if let Some(q) = u.cpu_quota {
        let period = u.cpu_period.unwrap_or(CPU_PERIOD_US).max(1);
        limits.cpu_quota_us = Some((q.saturating_mul(CPU_PERIOD_US) / period).max(1_000));
    }
    if let Some(c) = &u.cpuset_cpus {
        limits.cpuset = Some(cpu_list("--cpuset-cpus", c)?);
    }
    if let Some(m) = &u.cpuset_mems {
        limits.cpuset_mems = Some(cpu_list("--cpuset-mems", m)?);
    }
    if let Some(p) = u.pids {
        limits.pids = Some(p);
    }
    Ok(())
}

fn cpu_list(flag: &str, s: &str) -> Result<Vec<u32>> {
    crate::cgroup::limits::parse_cpu_list(s).ok_or_else(|| {
        Error::new(
            format!("update {flag} {s:?}"),
            "expected numbers and ranges such as 0-2,4",
        )
    })
}

/// A memory or pids limit below what the container's cgroup `d` uses now is refused (v2
/// would OOM-kill to get there, v1 refuse with EBUSY after reclaiming).
fn below_usage(controller: Controller, d: &Path, limits: &Limits) -> Result<()> {
    let (want, files, what): (_, &[&str], _) = match controller {
        Controller::Memory => (
            limits.memory,
            &["memory.current", "memory.usage_in_bytes"],
            "bytes of memory",
        ),
        Controller::Pids => (limits.pids, &["pids.current"], "processes"),
        _ => return Ok(()),
    };
    let Some(want) = want else { return Ok(()) };
    for file in files {
        if let Ok(text) = sys::read_text(&d.join(file))
            && let Ok(used) = text.trim().parse::<u64>()
        {
            if want < used {
                return Err(Error::new(
                    format!("update the {} limit to {want}", controller.name()),
                    format!("the container uses {used} {what} now"),
                )
                .hint("give a limit above its usage (nothing was changed)"));
            }
            return Ok(());
        }
    }
    Ok(())
}
