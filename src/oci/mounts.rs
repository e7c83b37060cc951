//! config.json's `mounts`: each type and option checked and turned into flags, in order.

use super::field::Field;
use crate::error::Result;
use crate::spec::{Mount, MountKind};

/// The propagation of an option (`rslave`), with MS_REC for the `r` forms.
pub fn propagation(option: &str) -> Option<u64> {
    let (rec, base) = match option.strip_prefix('r') {
        Some(b) if b != "o" && b != "w" && b != "bind" => (libc::MS_REC, b),
        _ => (0, option),
    };
    let flag = match base {
        "private" => libc::MS_PRIVATE,
        "slave" => libc::MS_SLAVE,
        "shared" => libc::MS_SHARED,
        "unbindable" => libc::MS_UNBINDABLE,
        _ => return None,
    };
    Some(flag | rec)
}

/// Options that are mount flags: (name, set, clear).
const FLAGS: [(&str, u64, u64); 18] = [
    ("ro", libc::MS_RDONLY, 0),
    ("rw", 0, libc::MS_RDONLY),
    ("nosuid", libc::MS_NOSUID, 0),
    ("suid", 0, libc::MS_NOSUID),
    ("nodev", libc::MS_NODEV, 0),
    ("dev", 0, libc::MS_NODEV),
    ("noexec", libc::MS_NOEXEC, 0),
    ("exec", 0, libc::MS_NOEXEC),
    ("noatime", libc::MS_NOATIME, 0),
    ("atime", 0, libc::MS_NOATIME),
    ("relatime", libc::MS_RELATIME, 0),
    ("norelatime", 0, libc::MS_RELATIME),
    ("strictatime", libc::MS_STRICTATIME, 0),
    ("nodiratime", libc::MS_NODIRATIME, 0),
    ("diratime", 0, libc::MS_NODIRATIME),
    ("sync", libc::MS_SYNCHRONOUS, 0),
    ("async", 0, libc::MS_SYNCHRONOUS),
    ("defaults", 0, 0),
];

pub fn parse(list: &Field<'_>) -> Result<Vec<Mount>> {
    let mut out = Vec::new();
    for m in list.items()? {
        let dest = m.need("destination")?;
        let destination = dest.str()?;
        if !destination.starts_with('/') || destination.split('/').any(|p| p == "..") {
            return Err(dest.error("must be an absolute path without '..'"));
        }
        let options: Vec<&str> = match m.get("options") {
            Some(o) => o.strs()?,
            None => Vec::new(),
        };
        let source = match m.get("source") {
            Some(s) => s.str()?.to_string(),
            None => String::new(),
        };
        let fstype = match m.get("type") {
            Some(t) => t.str()?,
            None => "",
        };
        // `rbind` anywhere makes it recursive, as runc reads the options.
        let bind = options.iter().any(|o| *o == "bind" || *o == "rbind");
        let recursive = fstype == "rbind" || options.contains(&"rbind");
        let kind = match (fstype, bind) {
            (_, true) | ("bind" | "rbind", false) => MountKind::Bind { recursive },
            ("proc", _) => MountKind::Proc,
            ("sysfs", _) => MountKind::Sysfs,
            ("tmpfs", _) => MountKind::Tmpfs,
            ("devpts", _) => MountKind::Devpts,
            ("mqueue", _) => MountKind::Mqueue,
            ("cgroup" | "cgroup2", _) => MountKind::Cgroup,
            (other, _) => {
                let f = m.get("type");
                let at = f.as_ref().unwrap_or(&m);
                return Err(at.unsupported(&format!("the mount type {other:?} (nsbox mounts bind, rbind, proc, sysfs, tmpfs, devpts, mqueue and cgroup)")));
            }
        };
        let (mut flags, mut prop, mut data) = (0u64, 0u64, Vec::new());
        for o in &options {
            if *o == "bind" || *o == "rbind" {
                continue;
            }
            if let Some((_, set, clear)) = FLAGS.iter().find(|(n, _, _)| n == o) {
                flags = (flags | set) & !clear;
            } else if let Some(p) = propagation(o) {
                prop = p;
            } else if *o == "tmpcopyup" {
                return Err(m.unsupported("the option tmpcopyup"));
            } else if matches!(kind, MountKind::Bind { .. }) {
                return Err(m.error(format!("the option {o:?} is not one a bind mount takes")));
            } else {
                data.push(*o);
            }
        }
        if let MountKind::Bind { .. } = kind
            && !source.starts_with('/')
        {
            return Err(m.error(format!(
                "a bind's source must be an absolute host path, not {source:?}"
            )));
        }
        out.push(Mount {
            destination: destination
                .trim_end_matches('/')
                .to_string()
                .replace("//", "/"),
            kind,
            source: source.into(),
            flags,
            propagation: prop,
            data: data.join(","),
        });
    }
    for m in &mut out {
        if m.destination.is_empty() {
            m.destination = "/".into();
        }
    }
    Ok(out)
}
