//! Which cgroup layout this host has (v1, v2 or hybrid) and where each controller lives.
//!
//! Read from /proc/self/mountinfo (cgroup and cgroup2 mounts) and /proc/self/cgroup (nsbox's own
//! cgroup in each hierarchy). Pure parsing: the texts are passed in, so tests inject them.

use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Only cgroup v1 hierarchies.
    V1,
    /// Only the unified cgroup2 hierarchy, with controllers.
    V2,
    /// v1 controller hierarchies plus a (usually controller-less) cgroup2 mount.
    Hybrid,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::V1 => "cgroup v1",
            Layout::V2 => "cgroup v2",
            Layout::Hybrid => "hybrid (v1 controllers + cgroup2)",
        }
    }
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where it is mounted, e.g. /sys/fs/cgroup/pids or /sys/fs/cgroup.
    pub mount: PathBuf,
    /// v1: its controllers (e.g. ["cpu", "cpuacct"]); v2: empty (see cgroup.controllers).
    pub controllers: Vec<String>,
    pub v2: bool,
    /// The super options to mount it again (inside the container), e.g. "cpu,cpuacct".
    pub options: String,
    /// nsbox's own cgroup in this hierarchy, from /proc/self/cgroup, e.g. "/user.slice".
    pub own: String,
}

impl Hierarchy {
    /// The directory of nsbox's own cgroup in this hierarchy.
    pub fn own_dir(&self) -> PathBuf {
        self.mount.join(self.own.trim_start_matches('/'))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    pub layout: Layout,
    pub hierarchies: Vec<Hierarchy>,
}

/// Options in a cgroup v1 super-block that are not controllers.
const NOT_CONTROLLERS: [&str; 6] = ["rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode"];

/// Parses mountinfo and /proc/self/cgroup. Returns None when no cgroup filesystem is mounted.
pub fn detect(mountinfo: &str, self_cgroup: &str) -> Option<Hosts> {
    let mut hierarchies = Vec::new();
    for line in mountinfo.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTS
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let mount = left.split(' ').nth(4).unwrap_or_default();
        let mut right = right.split(' ');
        let fstype = right.next().unwrap_or_default();
        let super_opts = right.nth(1).unwrap_or_default();
        let v2 = match fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers: Vec<String> = if v2 {
            Vec::new()
        } else {
            super_opts.split(',').filter(|o| !NOT_CONTROLLERS.contains(o)).map(String::from).collect()
        };
        let options = if v2 { String::new() } else { controllers.join(",") };
        let own = own_cgroup(self_cgroup, v2, &controllers);
        hierarchies.push(Hierarchy { mount: unescape(mount).into(), controllers, v2, options, own });
    }
    let has_v1 = hierarchies.iter().any(|h| !h.v2 && h.controllers.iter().any(|c| !c.starts_with("name=")));
    let has_v2 = hierarchies.iter().any(|h| h.v2);
    let layout = match (has_v1, has_v2) {
        (true, true) => Layout::Hybrid,
        (true, false) => Layout::V1,
        (false, true) => Layout::V2,
        (false, false) => return None,
    };
    Some(Hosts { layout, hierarchies })
}

/// nsbox's own path in a hierarchy: the `0::PATH` line for v2, the line whose controller list
/// equals this hierarchy's for v1. `/` when not listed.
fn own_cgroup(self_cgroup: &str, v2: bool, controllers: &[String]) -> String {
    for line in self_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, list, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
        let matches = if v2 {
            list.is_empty()
        } else {
            !list.is_empty() && {
                let mut a: Vec<&str> = list.split(',').collect();
                let mut b: Vec<&str> = controllers.iter().map(String::as_str).collect();
                a.sort_unstable();
                b.sort_unstable();
                a == b
            }
        };
        if matches {
            return path.to_string();
        }
    }
    "/".into()
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const HYBRID_SELF: &str = "9:name=systemd:/\n8:pids:/\n4:memory:/api/x\n1:cpu,cpuacct:/\n0::/\n";
    const V2: &str = "27 1 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";

    #[test]
    fn hybrid_host() {
        let h = detect(HYBRID, HYBRID_SELF).unwrap();
        assert_eq!(h.layout, Layout::Hybrid);
        let mem = h.hierarchies.iter().find(|h| h.controllers == ["memory"]).unwrap();
        assert_eq!(mem.own, "/api/x");
        assert_eq!(mem.own_dir(), PathBuf::from("/sys/fs/cgroup/memory/api/x"));
        let cpu = h.hierarchies.iter().find(|h| h.controllers.contains(&"cpu".to_string())).unwrap();
        assert_eq!(cpu.options, "cpu,cpuacct");
        assert_eq!(cpu.mount, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        let systemd = h.hierarchies.iter().find(|h| h.options == "name=systemd").unwrap();
        assert_eq!(systemd.own, "/");
    }

    #[test]
    fn pure_v2_and_v1_and_none() {
        let h = detect(V2, "0::/user.slice/session-1.scope\n").unwrap();
        assert_eq!(h.layout, Layout::V2);
        assert_eq!(h.hierarchies[0].own_dir(), PathBuf::from("/sys/fs/cgroup/user.slice/session-1.scope"));
        let v1: String = HYBRID.lines().filter(|l| !l.contains("cgroup2")).map(|l| format!("{l}\n")).collect();
        assert_eq!(detect(&v1, HYBRID_SELF).unwrap().layout, Layout::V1);
        assert!(detect("22 27 0:21 / /proc rw - proc proc rw\n", "").is_none());
    }
}
