//! Which cgroup hierarchies this host has and where nsbox's own cgroup is in each, from
//! /proc/self/mountinfo and /proc/self/cgroup (both read once, only when a limit is asked for).
//!
//! - v2: one `cgroup2` mount; /proc/self/cgroup says `0::/PATH`.
//! - v1: one `cgroup` mount per hierarchy, its controllers in the super options
//!   (`rw,cpu,cpuacct`); /proc/self/cgroup says `ID:cpu,cpuacct:/PATH`.
//! - hybrid: v1 hierarchies for the controllers plus a cgroup2 (often without controllers) at
//!   /sys/fs/cgroup/unified.
//!
//! Pure: the texts are passed in, so unit tests describe any host.

use std::path::PathBuf;

/// One mounted hierarchy and nsbox's own cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where the hierarchy is mounted on the host.
    pub mount: PathBuf,
    /// nsbox's own cgroup: a directory below `mount`.
    pub own: PathBuf,
    /// v1: its controllers as /proc/self/cgroup names them (`cpu,cpuacct`, `name=systemd`).
    /// v2: empty (the available controllers are in the cgroup.controllers file).
    pub controllers: String,
}

impl Hierarchy {
    /// Whether this v1 hierarchy holds `controller`.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub v1: Vec<Hierarchy>,
    pub v2: Option<Hierarchy>,
}

impl Layout {
    /// "v1", "v2" or "hybrid" (or "none"), for messages and the trace.
    pub fn kind(&self) -> &'static str {
        match (self.v1.is_empty(), self.v2.is_some()) {
            (false, true) => "hybrid",
            (false, false) => "v1",
            (true, true) => "v2",
            (true, false) => "none",
        }
    }

    /// The v1 hierarchy that holds `controller`, if one does.
    pub fn v1_with(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }
}

/// One mountinfo line: (root, mount point, fstype, super options).
fn fields(line: &str) -> Option<(&str, &str, &str, &str)> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let right: Vec<&str> = right.split(' ').collect();
    Some((left.get(3)?, left.get(4)?, right.first()?, right.get(2)?))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mount` + (`own` seen from the mount's root). None when nsbox's cgroup is not below the
/// part of the hierarchy that is mounted (then nsbox cannot reach it).
fn own_dir(mount: &str, root: &str, own: &str) -> Option<PathBuf> {
    let rel = if root == "/" {
        own
    } else {
        own.strip_prefix(root)
            .filter(|r| r.is_empty() || r.starts_with('/'))?
    };
    let mount = PathBuf::from(unescape(mount));
    match rel.trim_start_matches('/') {
        "" => Some(mount),
        rel => Some(mount.join(rel)),
    }
}

/// Builds the layout from the texts of /proc/self/mountinfo and /proc/self/cgroup.
pub fn parse(mountinfo: &str, proc_cgroup: &str) -> Layout {
    let mut v2_path = None;
    let mut v1_paths: Vec<(&str, &str)> = Vec::new();
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(ctrls), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if ctrls.is_empty() {
            v2_path = Some(path);
        } else {
            v1_paths.push((ctrls, path));
        }
    }
    let mut layout = Layout::default();
    for line in mountinfo.lines() {
        let Some((root, mount, fstype, opts)) = fields(line) else {
            continue;
        };
        match fstype {
            "cgroup2" if layout.v2.is_none() => {
                if let Some(own) = v2_path.and_then(|p| own_dir(mount, root, p)) {
                    layout.v2 = Some(Hierarchy {
                        mount: PathBuf::from(unescape(mount)),
                        own,
                        controllers: String::new(),
                    });
                }
            }
            "cgroup" => {
                let opts: Vec<&str> = opts.split(',').collect();
                // The /proc/self/cgroup entry whose controllers this mount carries.
                let entry = v1_paths
                    .iter()
                    .find(|(ctrls, _)| ctrls.split(',').all(|c| opts.contains(&c)));
                let Some((ctrls, path)) = entry else { continue };
                if layout.v1.iter().any(|h| h.controllers == *ctrls) {
                    continue; // the same hierarchy mounted again
                }
                if let Some(own) = own_dir(mount, root, path) {
                    layout.v1.push(Hierarchy {
                        mount: PathBuf::from(unescape(mount)),
                        own,
                        controllers: ctrls.to_string(),
                    });
                }
            }
            _ => {}
        }
    }
    layout
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID_MOUNTINFO: &str = "\
22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";
    const HYBRID_CGROUP: &str = "\
9:name=systemd:/user.slice
8:pids:/user.slice/s
4:memory:/process_api/30cb
2:cpu,cpuacct:/
0::/user.slice/s
";

    #[test]
    fn hybrid() {
        let l = parse(HYBRID_MOUNTINFO, HYBRID_CGROUP);
        assert_eq!(l.kind(), "hybrid");
        assert_eq!(l.v1.len(), 4);
        let mem = l.v1_with("memory").unwrap();
        assert_eq!(
            mem.own,
            PathBuf::from("/sys/fs/cgroup/memory/process_api/30cb")
        );
        let cpu = l.v1_with("cpu").unwrap();
        assert_eq!(cpu.controllers, "cpu,cpuacct");
        assert_eq!(cpu.own.to_str(), Some("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(l.v1_with("cpuset").is_none());
        assert!(l.v1_with("cpuacct").is_some());
        let v2 = l.v2.unwrap();
        assert_eq!(v2.own, PathBuf::from("/sys/fs/cgroup/unified/user.slice/s"));
    }

    #[test]
    fn pure_v2_with_escaped_mount_point_and_namespace_root() {
        let mi = "30 1 0:26 /ns /mnt/my\\040cg rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = parse(mi, "0::/ns/nsbox-test\n");
        assert_eq!(l.kind(), "v2");
        assert!(l.v1.is_empty());
        assert_eq!(l.v2.unwrap().own, PathBuf::from("/mnt/my cg/nsbox-test"));
    }

    #[test]
    fn own_cgroup_outside_the_mounted_part_is_unreachable() {
        let mi = "30 1 0:26 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(parse(mi, "0::/mine\n").kind(), "none");
        let mi = "30 1 0:26 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(parse(mi, "0::/otherwise\n").kind(), "none");
    }

    #[test]
    fn pure_v1_and_duplicates() {
        let mi = "\
32 31 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
33 31 0:29 / /mnt/pids-again rw - cgroup cgroup rw,pids
";
        let l = parse(mi, "3:pids:/a\n");
        assert_eq!(l.kind(), "v1");
        assert_eq!(l.v1.len(), 1);
        assert_eq!(l.v1[0].own, PathBuf::from("/sys/fs/cgroup/pids/a"));
    }

    #[test]
    fn no_cgroups_at_all() {
        assert_eq!(parse("", "").kind(), "none");
        assert_eq!(parse("garbage\n", "x\n").kind(), "none");
    }
}
