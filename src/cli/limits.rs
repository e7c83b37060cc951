//! The native options for limits as the user types them (`--pids-limit 20`, `-m 64m`,
//! `--cpus 0.5`, `--cpuset 0-1`), parsed into the exact values of `cgroup::limits`.

use crate::cgroup::limits::{
    CPU_PERIOD_US, MIN_MEMORY, MIN_QUOTA_US, human_bytes, parse_bytes, parse_cpu_list,
};
use crate::error::{Error, Result};

/// `--pids-limit N`: a whole number, at least 1.
pub fn parse_pids(s: &str) -> Result<u64> {
    match s.parse::<u64>() {
        Ok(n) if n >= 1 && n < i64::MAX as u64 => Ok(n),
        _ => Err(Error::new(
            format!("--pids-limit {s:?}"),
            "expected a whole number of processes, at least 1",
        )),
    }
}

/// `-m SIZE`: bytes, or a number with k, m or g (powers of 1024); at least MIN_MEMORY.
pub fn parse_memory(s: &str) -> Result<u64> {
    let bad = |why: &str| Error::new(format!("--memory {s:?}"), why.to_string());
    let bytes = parse_bytes(s).ok_or_else(|| {
        bad("expected a size such as 64m, 512k or 1g (k, m, g are powers of 1024)")
    })?;
    if bytes < MIN_MEMORY {
        return Err(bad(&format!(
            "below the minimum of {}: the container could not even start",
            human_bytes(MIN_MEMORY)
        )));
    }
    Ok(bytes)
}

/// `--cpus F`: a positive decimal number of CPUs (at most 5 decimals), as a CFS quota in µs
/// per CPU_PERIOD_US. The machine's CPU count is checked by `check_cpus`.
pub fn parse_cpus(s: &str) -> Result<u64> {
    let bad = |why: &str| Error::new(format!("--cpus {s:?}"), why.to_string());
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 5 {
        return Err(bad("expected a number of CPUs such as 0.5, 1 or 2.25"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad("too large"))?
    };
    let frac_us = format!("{frac:0<5}").parse::<u64>().unwrap_or(0);
    let quota = whole
        .checked_mul(CPU_PERIOD_US)
        .and_then(|w| w.checked_add(frac_us))
        .filter(|q| *q < 1 << 40)
        .ok_or_else(|| bad("too large"))?;
    if quota < MIN_QUOTA_US {
        return Err(bad(
            "must be at least 0.01 (the kernel's smallest CPU quota)",
        ));
    }
    Ok(quota)
}

/// `--cpuset LIST`: CPU numbers and ranges. Whether they exist is checked by `check_cpuset`.
pub fn parse_cpuset(s: &str) -> Result<Vec<u32>> {
    parse_cpu_list(s).ok_or_else(|| {
        Error::new(
            format!("--cpuset {s:?}"),
            "expected CPU numbers and ranges such as 0-2,4",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids() {
        assert_eq!(parse_pids("20").unwrap(), 20);
        for bad in ["0", "-1", "x", "", "1.5"] {
            assert!(parse_pids(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("32m").unwrap(), 32 << 20);
        assert_eq!(parse_memory("32M").unwrap(), 32 << 20);
        assert_eq!(parse_memory("1g").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("7340032").unwrap(), 7 << 20);
        for bad in ["", "m", "-1m", "1.5m", "12x", "0", "99999999999999g"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
        let e = parse_memory("4m").unwrap_err().to_string();
        assert_eq!(
            e,
            "--memory \"4m\": below the minimum of 6 MiB: the container could not even start"
        );
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("0.5").unwrap(), 50_000);
        assert_eq!(parse_cpus("2").unwrap(), 200_000);
        assert_eq!(parse_cpus(".25").unwrap(), 25_000);
        assert_eq!(parse_cpus("1.00001").unwrap(), 100_001);
        for bad in [
            "0", "0.001", "-1", "nan", "inf", "", ".", "1e3", "0.123456", "1,5",
        ] {
            assert!(parse_cpus(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpusets() {
        assert_eq!(parse_cpuset("1").unwrap(), vec![1]);
        assert!(parse_cpuset("x").is_err());
    }
}
