//! `linux.resources.blockIO` and `hugepageLimits`: checked here, written to the blkio (v1) or
//! io (v2) and hugetlb controllers by the cgroup module. A controller the host lacks is
//! refused when the cgroups are planned, a file the kernel lacks when they are written.

use super::field::Field;
use crate::cgroup::limits::{BlockIo, Throttle, ThrottleKind};
use crate::error::Result;

pub fn block_io(b: &Field<'_>) -> Result<Option<BlockIo>> {
    let mut io = BlockIo::default();
    if let Some(f) = b.get("weight") {
        io.weight = weight(f)?;
    }
    refuse_leaf_weight(b)?;
    if let Some(list) = b.get("weightDevice") {
        for d in list.items()? {
            refuse_leaf_weight(&d)?;
            if let Some(w) = d.get("weight").map(|f| weight(f)).transpose()?.flatten() {
                let (major, minor) = device(&d)?;
                io.device_weights.push((major, minor, w));
            }
        }
    }
    for (key, kind) in [
        ("throttleReadBpsDevice", ThrottleKind::ReadBps),
        ("throttleWriteBpsDevice", ThrottleKind::WriteBps),
        ("throttleReadIOPSDevice", ThrottleKind::ReadIops),
        ("throttleWriteIOPSDevice", ThrottleKind::WriteIops),
    ] {
        let Some(list) = b.get(key) else { continue };
        for d in list.items()? {
            let (major, minor) = device(&d)?;
            let rate = d.need("rate")?.u64()?;
            io.throttles.push(Throttle {
                kind,
                major,
                minor,
                rate,
            });
        }
    }
    Ok((io != BlockIo::default()).then_some(io))
}

/// A blkio weight, 10 to 1000 (0: not set).
fn weight(f: Field<'_>) -> Result<Option<u64>> {
    match f.u64()? {
        0 => Ok(None),
        w @ 10..=1000 => Ok(Some(w)),
        _ => Err(f.error("expected a weight from 10 to 1000")),
    }
}

fn refuse_leaf_weight(f: &Field<'_>) -> Result<()> {
    match f.get("leafWeight") {
        Some(l) if l.u64()? != 0 => {
            Err(l.unsupported("leaf weights were CFQ's, which kernels since 5.0 no longer have"))
        }
        _ => Ok(()),
    }
}

fn device(d: &Field<'_>) -> Result<(u64, u64)> {
    Ok((d.need("major")?.u64()?, d.need("minor")?.u64()?))
}

pub fn hugepages(h: &Field<'_>) -> Result<Option<Vec<(String, u64)>>> {
    let mut limits = Vec::new();
    for item in h.items()? {
        let size = item.need("pageSize")?;
        let name = size.str()?;
        let digits = name.trim_end_matches(['K', 'M', 'G', 'B']);
        let unit = &name[digits.len()..];
        if digits.is_empty()
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || !matches!(unit, "KB" | "MB" | "GB")
        {
            return Err(size.error(format!(
                "{name:?}: expected a page size as the kernel names it, such as 2MB or 1GB"
            )));
        }
        limits.push((name.to_string(), item.need("limit")?.u64()?));
    }
    Ok((!limits.is_empty()).then_some(limits))
}
