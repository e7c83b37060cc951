//! config.json's `linux` object: namespaces (new, or joined by path), id maps, devices,
//! cgroupsPath and resources, sysctl, seccomp, propagation, masked and read-only paths, time
//! offsets and personality.

use super::field::Field;
use crate::container::userns::{IdMap, UserNs};
use crate::error::Result;
use crate::flags::CLONE_NEWTIME;
use crate::spec::{Device, Namespace, Net, Spec};
use std::path::PathBuf;

pub fn apply(l: &Field<'_>, spec: &mut Spec) -> Result<()> {
    namespaces(l, spec)?;
    if let Some(f) = l.get("devices") {
        for d in f.items()? {
            spec.extra.devices.push(device(&d)?);
        }
    }
    if let Some(f) = l.get("cgroupsPath") {
        let path = f.str()?;
        if path.contains(':') {
            return Err(f.unsupported(
                "the systemd form slice:prefix:name (nsbox manages cgroupfs; give a path)",
            ));
        }
        if path.split('/').any(|p| p == "..") {
            return Err(f.error("must not contain '..'"));
        }
        if !path.trim_matches('/').is_empty() {
            spec.extra.cgroups_path = Some(path.to_string());
        }
    }
    if let Some(r) = l.get("resources") {
        super::resources::apply(&r, &mut spec.limits, &spec.extra.devices)?;
    }
    if let Some(f) = l.get("sysctl") {
        for (key, value) in f.members()? {
            if key.contains('/') || key.split('.').any(|p| p.is_empty() || p == "..") {
                return Err(value.error("not a sysctl name"));
            }
            spec.extra
                .sysctl
                .push((key.to_string(), value.str()?.to_string()));
        }
    }
    if let Some(f) = l.get("seccomp") {
        spec.process.seccomp = Some(crate::process::seccomp::Seccomp::Config(
            super::seccomp::parse(&f)?,
        ));
    }
    if let Some(f) = l.get("rootfsPropagation") {
        spec.extra.propagation = Some(super::mounts::propagation(f.str()?).ok_or_else(|| {
            f.error("expected private, rprivate, slave, rslave, shared, rshared or unbindable")
        })?);
    }
    for (name, slot) in [("maskedPaths", 0), ("readonlyPaths", 1)] {
        if let Some(f) = l.get(name) {
            let paths: Vec<String> = f.strs()?.into_iter().map(String::from).collect();
            if let Some(bad) = paths.iter().find(|p| !p.starts_with('/')) {
                return Err(f.error(format!("{bad:?} is not an absolute path")));
            }
            match slot {
                0 => spec.masked_paths = paths,
                _ => spec.readonly_paths = paths,
            }
        }
    }
    if let Some(f) = l.get("mountLabel")
        && !f.str()?.is_empty()
    {
        return Err(f.unsupported("nsbox applies no SELinux labels"));
    }
    if let Some(f) = l.get("timeOffsets") {
        let Some(offsets) = spec.extra.time_offsets.as_mut() else {
            return Err(f.error("needs a time namespace of the container's own (type \"time\")"));
        };
        for (clock, o) in f.members()? {
            let clock = match clock {
                "monotonic" => "monotonic",
                "boottime" => "boottime",
                _ => return Err(o.error("only monotonic and boottime have offsets")),
            };
            let nanos = match o.get("nanosecs") {
                Some(n) => n.u32()?,
                None => 0,
            };
            if nanos >= 1_000_000_000 {
                return Err(o.error("nanosecs must be under 1000000000"));
            }
            let secs = match o.get("secs") {
                Some(s) => s.i64()?,
                None => 0,
            };
            offsets.push((clock, secs, nanos));
        }
    }
    if let Some(f) = l.get("personality") {
        let d = f.need("domain")?;
        spec.process.personality = Some(match d.str()? {
            "LINUX" => 0,
            "LINUX32" => 8,
            other => return Err(d.error(format!("{other:?} is not LINUX or LINUX32"))),
        });
        if let Some(flags) = f.get("flags")
            && !flags.strs()?.is_empty()
        {
            return Err(flags.unsupported("personality flags"));
        }
    }
    for other in ["intelRdt", "memoryPolicy", "netDevices"] {
        if let Some(f) = l.get(other) {
            return Err(f.unsupported("nsbox does not set it yet"));
        }
    }
    Ok(())
}

fn flag_of(kind: &str) -> Option<i32> {
    Some(match kind {
        "pid" => libc::CLONE_NEWPID,
        "network" => libc::CLONE_NEWNET,
        "mount" => libc::CLONE_NEWNS,
        "ipc" => libc::CLONE_NEWIPC,
        "uts" => libc::CLONE_NEWUTS,
        "user" => libc::CLONE_NEWUSER,
        "cgroup" => libc::CLONE_NEWCGROUP,
        "time" => CLONE_NEWTIME,
        _ => return None,
    })
}

fn namespaces(l: &Field<'_>, spec: &mut Spec) -> Result<()> {
    let (mut flags, mut made) = (0, Vec::new());
    let mut own_net = false;
    if let Some(list) = l.get("namespaces") {
        for ns in list.items()? {
            let t = ns.need("type")?;
            let kind = t.str()?;
            let Some(flag) = flag_of(kind) else {
                return Err(t.error(format!("{kind:?} is not a namespace type")));
            };
            match ns.get("path") {
                // Unshared by the child (clone has no bit for it), with the config's offsets.
                None if flag == CLONE_NEWTIME => spec.extra.time_offsets = Some(Vec::new()),
                None => {
                    flags |= flag;
                    own_net |= flag == libc::CLONE_NEWNET;
                    // The user namespace is `spec.userns`, with its maps (below).
                    if flag != libc::CLONE_NEWUSER {
                        made.push(Namespace::New(flag));
                    }
                }
                Some(p) => {
                    let path = p.str()?;
                    if !path.starts_with('/') {
                        return Err(p.error("must be an absolute path"));
                    }
                    if matches!(flag, libc::CLONE_NEWNS | libc::CLONE_NEWUSER) {
                        return Err(p.unsupported("joining a mount or user namespace"));
                    }
                    made.push(Namespace::Join(flag, PathBuf::from(path)));
                }
            }
        }
    }
    if flags & libc::CLONE_NEWNS == 0 {
        return Err(l.error(
            "namespaces: nsbox needs a mount namespace of the container's own (type \"mount\")",
        ));
    }
    spec.namespaces = made;
    // Without a network namespace of its own, /sys shows the host's: nsbox's /sys handling
    // keys on the native Net setting.
    spec.net = match own_net {
        true => Net::None,
        false => Net::Host,
    };
    let maps = |name: &str| -> Result<Vec<IdMap>> {
        match l.get(name) {
            None => Ok(Vec::new()),
            Some(f) => f
                .items()?
                .iter()
                .map(|m| {
                    Ok(IdMap {
                        inside: m.need("containerID")?.u32()?,
                        outside: m.need("hostID")?.u32()?,
                        count: m.need("size")?.u32()?,
                    })
                })
                .collect(),
        }
    };
    let (uid_map, gid_map) = (maps("uidMappings")?, maps("gidMappings")?);
    if flags & libc::CLONE_NEWUSER != 0 {
        if uid_map.is_empty() || gid_map.is_empty() {
            return Err(l.error("a user namespace needs uidMappings and gidMappings"));
        }
        spec.userns = Some(UserNs {
            uid_map,
            gid_map,
            unprivileged: crate::sys::geteuid() != 0,
            chosen: None,
            host: None,
        });
    } else if !uid_map.is_empty() || !gid_map.is_empty() {
        return Err(l.error("uidMappings and gidMappings need a user namespace (type \"user\")"));
    }
    Ok(())
}

fn device(d: &Field<'_>) -> Result<Device> {
    let path = d.need("path")?;
    let p = path.str()?;
    if !p.starts_with("/dev/") || p.split('/').any(|x| x == "..") {
        return Err(path.unsupported("a device outside /dev"));
    }
    let t = d.need("type")?;
    let kind = match t.str()? {
        "c" | "u" => libc::S_IFCHR,
        "b" => libc::S_IFBLK,
        "p" => libc::S_IFIFO,
        other => return Err(t.error(format!("{other:?} is not a device type (c, b, u or p)"))),
    };
    let num = |name: &str| -> Result<u32> {
        match d.get(name) {
            Some(f) => f.u32(),
            None if kind == libc::S_IFIFO => Ok(0),
            None => Err(d.error(format!("the member {name:?} is missing"))),
        }
    };
    let opt = |name: &str, default: u32| -> Result<u32> {
        match d.get(name) {
            Some(f) => f.u32(),
            None => Ok(default),
        }
    };
    Ok(Device {
        path: p.to_string(),
        kind,
        major: num("major")?,
        minor: num("minor")?,
        mode: opt("fileMode", 0o666)?,
        uid: opt("uid", 0)?,
        gid: opt("gid", 0)?,
    })
}
