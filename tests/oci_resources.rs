//! linux.resources beyond the limits the native CLI has: memory reservation and swap, cpu
//! shares and memory nodes, block I/O throttles, huge page limits. Each is read back from
//! inside the container (its own view of its cgroups) and, where the kernel lets a test see
//! it, its effect: the memory nodes the process may use, a throttled device read.

mod common;

use common::oci::{Bundle, Config, oci};
use common::{Fixture, Out};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

/// A loop device over a file of the test's, detached when dropped.
struct Loop(String);

impl Loop {
    fn new(f: &Fixture) -> Option<Loop> {
        let file = f.scratch.join("disk.img");
        std::fs::write(&file, vec![0u8; 1 << 20]).unwrap();
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&file)
            .output()
            .ok()?;
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !dev.is_empty()).then_some(Loop(dev))
    }

    fn numbers(&self) -> (u32, u32) {
        let rdev = std::fs::metadata(&self.0).unwrap().rdev();
        (libc::major(rdev), libc::minor(rdev))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

const SHOW: &str = r#"cg=/sys/fs/cgroup
for f in memory/memory.soft_limit_in_bytes memory/memory.memsw.limit_in_bytes cpu/cpu.shares \
    cpuset/cpuset.mems unified/hugetlb.2MB.max blkio/blkio.throttle.read_iops_device \
    memory.low memory.swap.max cpu.weight cpuset.mems hugetlb.2MB.max io.max; do
  [ -f $cg/$f ] && echo "$f=$(cat $cg/$f)"
done
grep Mems_allowed_list /proc/self/status
if [ -b /dev/blk ]; then
  read a _ < /proc/uptime
  dd if=/dev/blk of=/dev/null bs=4096 count=40 iflag=direct 2>/dev/null
  read b _ < /proc/uptime
  echo "read $a $b"
fi"#;

#[test]
fn memory_cpu_io_and_hugepage_resources_take_effect() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "resources", false);
    let id = common::unique_id("oci-res");
    let v1 = Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists();
    let huge = Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").is_dir();
    let disk = Loop::new(&f);
    let mut resources = String::from(
        // Swap as kubelet gives it (`unified`, beyond the limit): 32 MiB more, 96 MiB in all.
        r#""memory":{"limit":67108864,"reservation":16777216},"unified":{"memory.swap.max":"33554432"},"cpu":{"shares":512,"mems":"0"}"#,
    );
    let mut devices = String::new();
    match &disk {
        Some(d) => {
            let (major, minor) = d.numbers();
            resources += &format!(
                r#","blockIO":{{"throttleReadIOPSDevice":[{{"major":{major},"minor":{minor},"rate":20}}]}}"#
            );
            devices = format!(
                r#","devices":[{{"path":"/dev/blk","type":"b","major":{major},"minor":{minor}}}]"#
            );
        }
        None => common::skip("the block I/O throttle part: losetup could not make a loop device"),
    }
    if huge {
        resources += r#","hugepageLimits":[{"pageSize":"2MB","limit":4194304}]"#;
    } else {
        common::skip("the huge page part: this kernel has no 2 MB huge pages");
    }
    let linux = format!(r#","resources":{{{resources}}}{devices}"#);
    b.write(&Config {
        args: &["sh", "-c", SHOW],
        linux: &linux,
        ..Default::default()
    });
    let out = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let seen = out.stdout();
    let has = |line: &str| assert!(seen.lines().any(|l| l == line), "{line:?} in:\n{seen}");
    if v1 {
        has("memory/memory.soft_limit_in_bytes=16777216");
        if Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
            has("memory/memory.memsw.limit_in_bytes=100663296");
        }
        has("cpu/cpu.shares=512");
        has("cpuset/cpuset.mems=0");
    } else {
        has("memory.low=16777216");
        has("memory.swap.max=33554432");
        has("cpu.weight=20");
        has("cpuset.mems=0");
    }
    has("Mems_allowed_list:\t0");
    if huge {
        match v1 {
            true => has("unified/hugetlb.2MB.max=4194304"),
            false => has("hugetlb.2MB.max=4194304"),
        }
    }
    if let Some(d) = &disk {
        let (major, minor) = d.numbers();
        match Path::new("/sys/fs/cgroup/blkio").is_dir() {
            true => has(&format!(
                "blkio/blkio.throttle.read_iops_device={major}:{minor} 20"
            )),
            false => assert!(seen.contains(&format!("io.max={major}:{minor}")), "{seen}"),
        }
        // 40 direct reads at 20 a second take about 2 s (unthrottled: a few ms).
        let read = seen.lines().find_map(|l| l.strip_prefix("read ")).unwrap();
        let (a, b) = read.split_once(' ').unwrap();
        let took = b.parse::<f64>().unwrap() - a.parse::<f64>().unwrap();
        assert!(took >= 1.0, "the throttled read took {took} s");
    }
    drop(disk);
    f.assert_clean();
}

#[test]
fn resources_nsbox_cannot_honour_are_refused_by_name() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "resources-bad", false);
    let bundle = b.dir.to_str().unwrap().to_string();
    let refused = |resources: &str, needle: &str| {
        b.write(&Config {
            args: &["true"],
            linux: &format!(r#","resources":{{{resources}}}"#),
            ..Default::default()
        });
        let out: Out = oci(&f, &["create", "--bundle", &bundle, "bad-res"]);
        assert_ne!(out.code(), 0, "{resources}");
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{needle:?} in {err}");
    };
    refused(
        r#""memory":{"swap":100663296}"#,
        "linux.resources.memory.swap: a swap limit needs memory.limit",
    );
    refused(
        r#""memory":{"limit":67108864,"swap":33554432}"#,
        "linux.resources.memory.swap: it is less than memory.limit",
    );
    refused(
        r#""cpu":{"mems":"0-x"}"#,
        "linux.resources.cpu.mems: expected memory node numbers",
    );
    refused(
        r#""blockIO":{"weight":5}"#,
        "linux.resources.blockIO.weight: expected a weight from 10 to 1000",
    );
    refused(
        r#""blockIO":{"leafWeight":100}"#,
        "linux.resources.blockIO.leafWeight: not supported",
    );
    refused(
        r#""hugepageLimits":[{"pageSize":"2M","limit":0}]"#,
        "linux.resources.hugepageLimits[0].pageSize: \"2M\"",
    );
    refused(
        r#""unified":{"cpu.max":"max"}"#,
        "linux.resources.unified.cpu.max: not supported",
    );
    refused(
        r#""hugepageLimits":[{"pageSize":"3MB","limit":0}]"#,
        "hugetlb.3MB",
    );
    // A weight needs a proportional I/O scheduler (BFQ); where the kernel has none, the file
    // is missing and the error says so.
    let blkio = Path::new("/sys/fs/cgroup/blkio");
    if blkio.is_dir()
        && !blkio.join("blkio.weight").exists()
        && !blkio.join("blkio.bfq.weight").exists()
    {
        refused(
            r#""blockIO":{"weight":500}"#,
            "I/O weights need the BFQ I/O scheduler",
        );
    }
    f.assert_clean();
}

/// Without a cgroup namespace (podman's configs on cgroup v1 have none), a new cgroup mount
/// would show the hierarchy's root: every cgroup of the host. The container's own directory is
/// bound instead, read-only, as runc binds it.
#[test]
fn without_a_cgroup_namespace_the_container_sees_only_its_own_cgroups() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "view", false);
    let id = common::unique_id("oci-view");
    let cg = format!("/nsbox-oci-view/{id}");
    let pure_v2 = !Path::new("/sys/fs/cgroup/pids").is_dir();
    let pids = if pure_v2 { "pids.max" } else { "pids/pids.max" };
    let script = format!(
        "cat /sys/fs/cgroup/{pids}; ls /sys/fs/cgroup/ | grep -c nsbox-oci-view; \
         ls /sys/fs/cgroup/*/ 2>/dev/null | grep -c nsbox-oci-view; \
         echo 1 > /sys/fs/cgroup/{pids} 2>/dev/null || echo read-only"
    );
    b.write(&Config {
        args: &["sh", "-c", &script],
        namespaces: Some(
            r#"[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]"#,
        ),
        linux: &format!(r#","cgroupsPath":"{cg}","resources":{{"pids":{{"limit":33}}}}"#),
        ..Default::default()
    });
    let out = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(out.stdout(), "33\n0\n0\nread-only\n", "its own cgroup only");
    common::oci::remove_cgroup_parent("nsbox-oci-view");
    f.assert_clean();
}
