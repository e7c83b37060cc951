//! `linux.resources` into nsbox's limits: memory, cpu, pids and device rules here, block I/O
//! and huge pages in resources_io.rs. What nsbox cannot enforce is refused by name.

use super::field::Field;
use crate::cgroup::limits::{self, CPU_PERIOD_US, Limits};
use crate::error::Result;
use crate::spec::Device;

/// `r` into `limits`; `devices` are the config's device nodes (their rules stay allowed).
pub fn apply(r: &Field<'_>, limits: &mut Limits, devices: &[Device]) -> Result<()> {
    if let Some(m) = r.get("memory") {
        if let Some(f) = m.get("limit") {
            let n = f.i64()?;
            if n > 0 {
                if (n as u64) < limits::MIN_MEMORY {
                    return Err(f.error(format!(
                        "{n} bytes is less than the 6 MiB nsbox needs to start a container"
                    )));
                }
                limits.memory = Some(n as u64);
            }
        }
        if let Some(f) = m.get("reservation") {
            let n = f.i64()?;
            if n > 0 {
                limits.memory_low = Some(n as u64);
            }
        }
        if let Some(f) = m.get("swap") {
            // Memory and swap together; -1: swap is not limited; 0: not set.
            let n = f.i64()?;
            let limit = limits.memory;
            if n == -1 || n > 0 {
                if limit.is_none() {
                    return Err(
                        f.error("a swap limit needs memory.limit (swap is counted with it)")
                    );
                }
                if n > 0 && (n as u64) < limit.unwrap_or(0) {
                    return Err(f.error(
                        "it is less than memory.limit: swap is memory and swap together, at least the limit",
                    ));
                }
                limits.memory_swap = Some(if n == -1 { u64::MAX } else { n as u64 });
            } else if n < -1 {
                return Err(f.error("expected bytes, or -1 for no swap limit"));
            }
        }
        for refused in [
            "kernel",
            "kernelTCP",
            "swappiness",
            "disableOOMKiller",
            "checkBeforeUpdate",
        ] {
            if let Some(f) = m.get(refused)
                && !matches!(f.value, super::json::Value::Bool(false))
            {
                return Err(f.unsupported("nsbox sets memory limit, reservation and swap only"));
            }
        }
    }
    if let Some(c) = r.get("cpu") {
        let quota = c.get("quota").map(|f| f.i64()).transpose()?;
        let period = c
            .get("period")
            .map(|f| f.u64())
            .transpose()?
            .unwrap_or(CPU_PERIOD_US);
        if let Some(q) = quota
            && q > 0
        {
            if period == 0 {
                return Err(c.error("period must not be 0"));
            }
            // nsbox's period is the kernel's default: the same share of a CPU.
            let us = (q as u64).saturating_mul(CPU_PERIOD_US) / period;
            limits.cpu_quota_us = Some(us.max(1_000));
        }
        if let Some(f) = c.get("cpus") {
            let list = f.str()?;
            if !list.is_empty() {
                let cpus = limits::parse_cpu_list(list)
                    .ok_or_else(|| f.error("expected CPU numbers and ranges such as 0-2,4"))?;
                limits.cpuset = Some(cpus);
            }
        }
        if let Some(f) = c.get("shares") {
            let n = f.u64()?;
            if n > 0 {
                limits.cpu_shares = Some(n);
            }
        }
        if let Some(f) = c.get("mems") {
            let list = f.str()?;
            if !list.is_empty() {
                let nodes = limits::parse_cpu_list(list).ok_or_else(|| {
                    f.error("expected memory node numbers and ranges such as 0-1")
                })?;
                limits.cpuset_mems = Some(nodes);
            }
        }
        for refused in ["realtimeRuntime", "realtimePeriod", "idle", "burst"] {
            if let Some(f) = c.get(refused)
                && !matches!(f.value, super::json::Value::Str(s) if s.is_empty())
                && !matches!(f.value, super::json::Value::Num(n) if n == "0")
            {
                return Err(
                    f.unsupported("nsbox sets cpu shares, quota, period, cpus and mems only")
                );
            }
        }
    }
    if let Some(p) = r.get("pids")
        && let Some(f) = p.get("limit")
    {
        let n = f.i64()?;
        if n > 0 {
            limits.pids = Some(n as u64);
        }
    }
    if let Some(d) = r.get("devices") {
        let mut rules = Vec::new();
        for rule in d.items()? {
            let allow = rule.need("allow")?.bool()?;
            let kind = match rule.get("type") {
                Some(t) => t.str()?.to_string(),
                None => "a".into(),
            };
            if !matches!(kind.as_str(), "a" | "c" | "b") {
                return Err(rule.error(format!("type {kind:?}: expected a, c or b")));
            }
            let number = |name: &str| -> Result<String> {
                match rule.get(name) {
                    Some(f) => {
                        Ok(f.i64()?.to_string()).map(|n| if n == "-1" { "*".into() } else { n })
                    }
                    None => Ok("*".into()),
                }
            };
            let access = match rule.get("access") {
                Some(a) => a.str()?.to_string(),
                None => "rwm".into(),
            };
            if access.is_empty() || !access.chars().all(|c| "rwm".contains(c)) {
                return Err(rule.error(format!("access {access:?}: expected letters of rwm")));
            }
            let line = match kind.as_str() {
                "a" => "a".to_string(),
                _ => format!("{kind} {}:{} {access}", number("major")?, number("minor")?),
            };
            rules.push((allow, line));
        }
        if !rules.is_empty() {
            // What nsbox makes in /dev stays usable whatever the rules say (as runc does): the
            // standard nodes, the ptys, and the config's own devices.
            for std in [
                "c 1:3 rwm",
                "c 1:5 rwm",
                "c 1:7 rwm",
                "c 1:8 rwm",
                "c 1:9 rwm",
                "c 5:0 rwm",
                "c 5:2 rwm",
                "c 136:* rwm",
            ] {
                rules.push((true, std.to_string()));
            }
            for d in devices {
                let kind = if d.kind == libc::S_IFBLK { 'b' } else { 'c' };
                if d.kind != libc::S_IFIFO {
                    rules.push((true, format!("{kind} {}:{} rwm", d.major, d.minor)));
                }
            }
            limits.devices = Some(rules);
        }
    }
    if let Some(b) = r.get("blockIO") {
        limits.block_io = super::resources_io::block_io(&b)?;
    }
    if let Some(h) = r.get("hugepageLimits") {
        limits.hugepages = super::resources_io::hugepages(&h)?;
    }
    if let Some(u) = r.get("unified") {
        unified(&u, limits)?;
    }
    for refused in ["network", "rdma"] {
        if let Some(f) = r.get(refused)
            && !is_empty(f.value)
        {
            return Err(f.unsupported("nsbox has no limits for it yet"));
        }
    }
    Ok(())
}

/// `unified`: cgroup v2 files by name. kubelet gives `memory.swap.max` to every container;
/// it is the swap limit beyond memory (where a memory limit is set, else accepted and not
/// applied: no memory limit, no swap limit either). Any other file is refused by name.
fn unified(u: &Field<'_>, limits: &mut Limits) -> Result<()> {
    for (key, f) in u.members()? {
        if key != "memory.swap.max" {
            return Err(f.unsupported("nsbox writes memory.swap.max only of the v2 files"));
        }
        let value = f.str()?;
        let Some(memory) = limits.memory else {
            continue;
        };
        limits.memory_swap = Some(match value {
            "max" => u64::MAX,
            v => {
                let beyond = v
                    .parse::<u64>()
                    .map_err(|_| f.error(format!("{v:?}: expected bytes or max")))?;
                memory.saturating_add(beyond)
            }
        });
    }
    Ok(())
}

fn is_empty(v: &super::json::Value) -> bool {
    use super::json::Value;
    match v {
        Value::Obj(m) => m.is_empty(),
        Value::Arr(a) => a.is_empty(),
        _ => false,
    }
}
