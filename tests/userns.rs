//! `--userns`: rootless containers (an unprivileged user made by the test, running nsbox through
//! setpriv) and root's containers on an unprivileged host range.

mod common;

use common::{Fixture, Out, can_run, nsbox_bin, rootfs, skip};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const USER: &str = "nsboxtest";

/// The test user (made once with useradd), as (uid, gid).
fn test_user() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, USER]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .ok()
    };
    if id("-u").is_none() {
        // Another test may be making it right now: either way it exists afterwards.
        let _ = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", USER])
            .output();
    }
    (
        id("-u").expect("useradd made the test user"),
        id("-g").unwrap(),
    )
}

/// What the test user works with: a copy of nsbox it may run, a rootfs and a state root it
/// owns, in the fixture's scratch directory.
struct Rootless {
    uid: u32,
    gid: u32,
    bin: PathBuf,
    rootfs: PathBuf,
    root: PathBuf,
    /// The /etc/subuid and /etc/subgid nsbox and newuidmap see (bound over the host's in a
    /// mount namespace of the test's own): none of the user's ranges unless `with_ranges`.
    subs: Option<(PathBuf, PathBuf)>,
    /// Bound over /usr/bin/newuidmap there too (a copy without its setuid bit: it fails).
    newuidmap: Option<PathBuf>,
}

impl Rootless {
    fn new(f: &Fixture) -> Rootless {
        let (uid, gid) = test_user();
        let bin = f.scratch.join("nsbox");
        std::fs::copy(nsbox_bin(), &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let rootfs = f.rootfs_copy("user-rootfs");
        let root = f.scratch.join("user-state");
        std::fs::create_dir(&root).unwrap();
        for path in [&rootfs, &root] {
            let ok = Command::new("chown")
                .args(["-R", &format!("{uid}:{gid}")])
                .arg(path)
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
        let mut u = Rootless {
            uid,
            gid,
            bin,
            rootfs,
            root,
            subs: None,
            newuidmap: None,
        };
        if Path::new("/etc/subuid").is_file() && Path::new("/etc/subgid").is_file() {
            let (subuid, subgid) = (f.scratch.join("subuid"), f.scratch.join("subgid"));
            std::fs::write(&subuid, "").unwrap();
            std::fs::write(&subgid, "").unwrap();
            u.subs = Some((subuid, subgid));
        }
        u
    }

    /// Gives the user `count` ids from `start` in both files (by name in one, by uid in the
    /// other: newuidmap reads both forms). False where there are no such files to replace.
    fn with_ranges(&self, start: u32, count: u32) -> bool {
        let Some((subuid, subgid)) = &self.subs else {
            return false;
        };
        std::fs::write(
            subuid,
            format!("someone:{start}:5\n{USER}:{start}:{count}\n"),
        )
        .unwrap();
        std::fs::write(subgid, format!("{}:{start}:{count}\n", self.uid)).unwrap();
        true
    }

    /// `nsbox ARGS...` as the test user (its own state root).
    fn nsbox(&self, args: &[&str]) -> Out {
        let mut cmd = match &self.subs {
            Some((subuid, subgid)) => {
                let mut c = Command::new("unshare");
                let helper = self.newuidmap.as_deref().unwrap_or(Path::new(""));
                c.args(["-m", "--", "sh", "-c"])
                    .arg(
                        "mount --bind \"$1\" /etc/subuid && mount --bind \"$2\" /etc/subgid && \
                         { [ -z \"$3\" ] || mount --bind \"$3\" /usr/bin/newuidmap; } && \
                         shift 3 && exec \"$@\"",
                    )
                    .arg("sh")
                    .args([subuid, subgid])
                    .arg(helper)
                    .arg("setpriv");
                c
            }
            None => Command::new("setpriv"),
        };
        cmd.args([
            &format!("--reuid={}", self.uid),
            &format!("--regid={}", self.gid),
            "--clear-groups",
            "--reset-env",
        ])
        .arg(&self.bin)
        .arg(args[0])
        .arg("--root")
        .arg(&self.root)
        .args(&args[1..])
        .current_dir("/");
        Out(cmd.output().unwrap())
    }

    /// `nsbox run --userns --rootfs ROOTFS ARGS...` as the test user.
    fn run(&self, args: &[&str]) -> Out {
        let rootfs = self.rootfs.to_str().unwrap();
        let mut all = vec!["run", "--userns", "--rootfs", rootfs];
        all.extend_from_slice(args);
        self.nsbox(&all)
    }

    fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.root).unwrap().collect();
        assert!(left.is_empty(), "state left behind: {left:?}");
    }
}

/// Whether the setuid helpers are installed (said as a skip when not).
fn have_newuidmap() -> bool {
    let there = Path::new("/usr/bin/newuidmap").exists();
    if !there {
        skip("newuidmap is not installed (scripts/test.sh installs uidmap)");
    }
    there
}

/// `0 1001 1` for the kernel's aligned `0       1001          1`.
fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn an_unprivileged_user_is_root_inside_and_nobody_more_outside() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let u = Rootless::new(&f);
    let vol = f.scratch.join("vol");
    std::fs::create_dir(&vol).unwrap();
    std::os::unix::fs::chown(&vol, Some(u.uid), Some(u.gid)).unwrap();
    let secret = f.scratch.join("secret");
    std::fs::write(&secret, "root only\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = u.run(&[
        "--hostname",
        "rootless",
        "-v",
        &format!("{}:/vol", vol.display()),
        "-v",
        &format!("{}:/secret", secret.display()),
        "--",
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; hostname; \
         touch /vol/made; cat /secret || echo denied; exit 7",
    ]);
    assert_eq!(out.code(), 7, "{}", out.stderr());
    let lines: Vec<String> = out.stdout().lines().map(words).collect();
    assert_eq!(lines[0], "0", "root inside: {lines:?}");
    assert_eq!(lines[1], "0");
    assert_eq!(lines[2], format!("0 {} 1", u.uid), "uid_map");
    assert_eq!(lines[3], format!("0 {} 1", u.gid), "gid_map");
    assert_eq!(lines[4], "rootless");
    assert_eq!(lines[5], "denied", "a root-only host file stays closed");
    assert!(
        out.stderr().contains("Permission denied"),
        "{}",
        out.stderr()
    );
    let made = std::fs::metadata(vol.join("made")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (u.uid, u.gid),
        "the user owns what it made"
    );
    // Managed the same way: run -d, exec (through the user namespace), rm.
    assert_eq!(
        u.run(&["-d", "--name", "bg", "--", "sleep", "60"]).ok(),
        "bg\n"
    );
    let inside = u.nsbox(&["exec", "bg", "sh", "-c", "id -u; cat /proc/self/uid_map"]);
    assert_eq!(words(&inside.ok()), format!("0 0 {} 1", u.uid));
    // Root does not act on records another user could have forged.
    let from_root = Out(Command::new(nsbox_bin())
        .args(["exec", "--root"])
        .arg(&u.root)
        .args(["bg", "true"])
        .output()
        .unwrap());
    assert_eq!(from_root.code(), 125);
    assert!(
        from_root
            .stderr()
            .contains("is not a private directory of uid 0 (owner"),
        "{}",
        from_root.stderr()
    );
    // With --net host, exec joins no network namespace (the container has none of its own).
    u.nsbox(&["rm", "-f", "bg"]).ok();
    assert_eq!(
        u.run(&[
            "-d", "--name", "hostnet", "--net", "host", "--", "sleep", "60"
        ])
        .ok(),
        "hostnet\n"
    );
    assert_eq!(u.nsbox(&["exec", "hostnet", "id", "-u"]).ok(), "0\n");
    // Without root, no read-only bind mount of nsbox: run and exec re-execute from a sealed
    // memfd copy instead (CVE-2019-5736; tests/escape_exe.rs attacks both).
    let traced = u.nsbox(&["exec", "--trace", "hostnet", "true"]);
    assert!(
        traced.ok().is_empty()
            && traced
                .stderr()
                .contains("note: nsbox runs from its sealed copy"),
        "{}",
        traced.stderr()
    );
    u.nsbox(&["rm", "-f", "hostnet"]).ok();
    u.assert_clean();
    f.assert_clean();
}

#[test]
fn subordinate_ranges_go_through_newuidmap() {
    if !can_run() {
        return;
    }
    if !have_newuidmap() {
        return;
    }
    let f = Fixture::new();
    let u = Rootless::new(&f);
    let start = "300000";
    if !u.with_ranges(300_000, 65_536) {
        skip("the host has no /etc/subuid and /etc/subgid to stand in for");
        return;
    }
    let out = u.run(&[
        "--uidmap",
        &format!("0:{}:1", u.uid),
        "--uidmap",
        &format!("1:{start}:1000"),
        "--gidmap",
        &format!("0:{}:1", u.gid),
        "--gidmap",
        &format!("1:{start}:1000"),
        "--",
        "sh",
        "-c",
        "cat /proc/self/uid_map; su -s /bin/sh nobody -c 'id -u' 2>/dev/null || echo 1000-mapped",
    ]);
    let text = out.ok();
    let lines: Vec<String> = text.lines().map(words).collect();
    assert_eq!(lines[0], format!("0 {} 1", u.uid));
    assert_eq!(lines[1], format!("1 {start} 1000"));
    // Beyond the user's ranges: refused, and /etc/subuid is named.
    let out = u.run(&[
        "--uidmap",
        &format!("0:{}:1", u.uid),
        "--uidmap",
        "1:1:10",
        "true",
    ]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr()
            .contains("the host ids 1-10 are not yours to map: /etc/subuid gives you"),
        "{}",
        out.stderr()
    );
    u.assert_clean();
    f.assert_clean();
}

#[test]
fn by_default_an_ordinary_user_gets_its_ranges_or_else_its_own_ids() {
    if !can_run() {
        return;
    }
    if !have_newuidmap() {
        return;
    }
    let f = Fixture::new();
    let mut u = Rootless::new(&f);
    let probe = "cat /proc/self/uid_map /proc/self/gid_map; rm -f /made; touch /made; \
                 chown 1000:1000 /made && echo chowned; su -s /bin/sh nobody -c 'id -u' \
                 2>/dev/null || true";
    // No range: root inside is the caller, and no other id exists there.
    let out = u.run(&["--trace", "--", "sh", "-c", probe]);
    let lines: Vec<String> = out.ok().lines().map(words).collect();
    assert_eq!(
        lines[..2],
        [format!("0 {} 1", u.uid), format!("0 {} 1", u.gid)]
    );
    assert!(!lines.contains(&"chowned".to_string()), "{lines:?}");
    assert!(
        out.stderr().contains(
            "note: the default maps (--userns without root): only your own ids: /etc/subuid \
             and /etc/subgid give you no range"
        ),
        "{}",
        out.stderr()
    );
    let doctor = u.nsbox(&["doctor"]).stdout();
    assert!(
        doctor.contains("id-maps            --userns maps only your own ids"),
        "{doctor}"
    );

    // With ranges (as podman maps them): 1..65536 inside are the range, through newuidmap.
    if !u.with_ranges(300_000, 65_536) {
        skip("the host has no /etc/subuid and /etc/subgid to stand in for");
        return;
    }
    let out = u.run(&["--trace", "--", "sh", "-c", probe]);
    let lines: Vec<String> = out.ok().lines().map(words).collect();
    assert_eq!(
        lines[..4],
        [
            format!("0 {} 1", u.uid),
            "1 300000 65536".to_string(),
            format!("0 {} 1", u.gid),
            "1 300000 65536".to_string(),
        ],
        "{lines:?}"
    );
    assert_eq!(lines[4..], ["chowned", "65534"], "chown and su work inside");
    let made = std::fs::metadata(u.rootfs.join("made")).unwrap();
    assert_eq!(
        (made.uid(), made.gid()),
        (300_999, 300_999),
        "id 1000 inside is the range's 1000th id on the host"
    );
    let err = out.stderr();
    assert!(
        err.contains(
            "the default maps (--userns without root): you are root inside; your /etc/subuid and \
             /etc/subgid ranges are 1-65536 and 1-65536 inside"
        ) && err.contains("run /usr/bin/newuidmap"),
        "{err}"
    );
    // -u with a mapped id, and exec into it.
    assert_eq!(u.run(&["-u", "1000:1000", "--", "id", "-u"]).ok(), "1000\n");
    assert_eq!(
        u.run(&["-d", "--name", "ranged", "--", "sleep", "60"]).ok(),
        "ranged\n"
    );
    let inside = u.nsbox(&[
        "exec",
        "-u",
        "42",
        "ranged",
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map",
    ]);
    assert_eq!(
        words(&inside.ok()),
        format!("42 0 {} 1 1 300000 65536", u.uid)
    );
    u.nsbox(&["rm", "-f", "ranged"]).ok();
    let doctor = u.nsbox(&["doctor"]).stdout();
    assert!(
        doctor.contains("ok       id-maps            --userns maps your ids and ranges"),
        "{doctor}"
    );
    std::fs::remove_file(u.rootfs.join("made")).unwrap();

    // A helper that is there but cannot work (no setuid bit): a warning, and the own ids.
    let broken = f.scratch.join("newuidmap");
    std::fs::copy("/usr/bin/newuidmap", &broken).unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();
    u.newuidmap = Some(broken);
    let out = u.run(&["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    let lines: Vec<String> = out.ok().lines().map(words).collect();
    assert_eq!(
        lines,
        [format!("0 {} 1", u.uid), format!("0 {} 1", u.gid),],
        "both maps fall back to the own ids (the gid map is not mixed)"
    );
    assert!(
        out.stderr()
            .contains("warning: /usr/bin/newuidmap for the default maps: /usr/bin/newuidmap"),
        "{}",
        out.stderr()
    );
    u.assert_clean();
    f.assert_clean();
}

#[test]
fn roots_containers_run_on_an_unprivileged_host_range() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    for (args, base) in [
        (vec!["--userns"], 100_000),
        (
            vec!["--uidmap", "0:200000:1000", "--gidmap", "0:200000:1000"],
            200_000,
        ),
    ] {
        let mut all = vec!["-d", "--name", "ranged"];
        all.extend_from_slice(&args);
        all.extend_from_slice(&["--", "sleep", "60"]);
        assert_eq!(f.run(&all).ok(), "ranged\n");
        let pid = common::first_pid(&f.manage(&["ps", "--json"]).ok());
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert_eq!(words(uid_line), format!("Uid: {base} {base} {base} {base}"));
        let inside = f.manage(&[
            "exec",
            "ranged",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map",
        ]);
        let text = words(&inside.ok());
        assert!(text.starts_with(&format!("0 0 {base} ")), "{text}");
        f.manage(&["rm", "-f", "ranged"]).ok();
    }
    // Files of the (root-owned) image are nobody's inside: root there cannot change them.
    let out = f.run(&[
        "--userns",
        "--",
        "sh",
        "-c",
        "stat -c %U /bin/busybox; touch /etc/x",
    ]);
    assert_ne!(out.code(), 0);
    assert!(out.stdout().starts_with("nobody"), "{}", out.stdout());
    assert!(!rootfs().join("etc/x").exists());
    f.assert_clean();
}

#[test]
fn what_a_user_namespace_cannot_do_is_refused_with_its_reason() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let u = Rootless::new(&f);
    let refused = |out: Out, want: &str| {
        assert_eq!(out.code(), 125, "{}", out.stderr());
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(want), "{err:?} lacks {want:?}");
    };
    let own = format!("0:{}:1", u.uid);
    refused(
        u.run(&["--uidmap", "0:1000", "true"]),
        "expected INSIDE:OUTSIDE:COUNT",
    );
    refused(u.run(&["--uidmap", "0:1000:0", "true"]), "the count is 0");
    refused(
        u.run(&["--uidmap", &own, "--uidmap", "0:100000:5", "true"]),
        "the ranges overlap inside",
    );
    refused(
        u.run(&["--uidmap", &format!("5:{}:1", u.uid), "true"]),
        "no range maps id 0 inside",
    );
    // A state root someone else may write is not trusted.
    let open = f.scratch.join("open-root");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = Out(Command::new(nsbox_bin())
        .args(["run", "--root"])
        .arg(&open)
        .args(["--rootfs", rootfs().to_str().unwrap(), "true"])
        .output()
        .unwrap());
    refused(out, "is not a private directory of uid 0");
    refused(
        u.run(&["--uidmap", "0:100000:1", "true"]),
        &format!("the map does not include you (uid {})", u.uid),
    );
    refused(
        u.run(&["--net", "veth", "true"]),
        "making interfaces on the host needs root there",
    );
    refused(u.run(&["--net", "bridge", "true"]), "needs root there");
    refused(
        u.run(&["--pids-limit", "10", "true"]),
        "--userns with limits",
    );
    refused(
        u.nsbox(&["run", "--userns", "true"]),
        "--userns without --rootfs",
    );
    refused(
        u.nsbox(&["run", "--rootfs", u.rootfs.to_str().unwrap(), "true"]),
        "or add --userns (a rootless container)",
    );
    // Root too: limits are not delegated to a user namespace yet.
    refused(
        f.run(&["--userns", "-m", "64m", "true"]),
        "--userns with limits",
    );
    u.assert_clean();
    f.assert_clean();
}
