//! A minimal host that is a plain chroot (a rescue system, a build root): / is a directory, not
//! a mount. nsbox makes it one in the container's mount namespace, and nothing of that reaches
//! the host, even where the chroot lies on a shared mount (propagation would carry a bind).

mod common;
use common::*;
use std::process::Command;

/// `mount ARGS...`, which must succeed.
fn mount(args: &[&str]) {
    let ok = Command::new("mount").args(args).status().unwrap().success();
    assert!(ok, "mount {args:?}");
}

/// What the test mounted, unmounted (recursively, lazily) in reverse when it ends, also when it
/// fails.
struct Mounted(Vec<String>);

impl Mounted {
    fn add(&mut self, args: &[&str]) {
        mount(args);
        self.0.push(args.last().unwrap().to_string());
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        for target in self.0.iter().rev() {
            let _ = Command::new("umount").args(["-R", "-l", target]).status();
        }
    }
}

/// The mount points of the host, in order.
fn mount_points() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(String::from))
        .collect()
}

#[test]
fn nsbox_runs_in_a_chroot_and_leaves_the_host_alone() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // A shared mount, and the chroot a directory in it: what a bind on the chroot's / would
    // propagate to.
    let shared = f.scratch.join("shared");
    std::fs::create_dir(&shared).unwrap();
    let s = shared.to_str().unwrap();
    let mut mounted = Mounted(Vec::new());
    mounted.add(&["--bind", s, s]);
    mount(&["--make-shared", s]);
    let ch = shared.join("ch");
    for dir in ["proc", "dev", "sys", "state"] {
        std::fs::create_dir_all(ch.join(dir)).unwrap();
    }
    std::fs::copy(nsbox_bin(), ch.join("nsbox")).unwrap();
    copy_nsbox_libraries(&ch);
    let copied = Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(ch.join("rf"))
        .status()
        .unwrap();
    assert!(copied.success());
    let c = ch.to_str().unwrap().to_string();
    mounted.add(&["-t", "proc", "proc", &format!("{c}/proc")]);
    for dir in ["dev", "sys"] {
        mounted.add(&["--rbind", &format!("/{dir}"), &format!("{c}/{dir}")]);
        mount(&["--make-rslave", &format!("{c}/{dir}")]);
    }
    let before = mount_points();
    let run = |opts: &[&str]| {
        let mut cmd = Command::new("chroot");
        cmd.args([c.as_str(), "/nsbox", "run", "--root", "/state", "-r", "/rf"]);
        cmd.args(opts).args([
            "--",
            "sh",
            "-c",
            "hostname; awk '$5 == \"/\"' /proc/self/mountinfo | wc -l",
        ]);
        Out(cmd.stdin(std::process::Stdio::null()).output().unwrap())
    };
    for opts in [
        &["--hostname", "inside"][..],
        &["--hostname", "inside", "--chroot"][..],
        &["--hostname", "inside", "--pids-limit", "16"][..],
    ] {
        let out = run(opts);
        // The container's own / is a mount of its namespace.
        assert_eq!(out.ok(), "inside\n1\n", "{opts:?}: {}", out.stderr());
        assert_eq!(mount_points(), before, "{opts:?}: a mount reached the host");
    }
    let left: Vec<_> = std::fs::read_dir(ch.join("state")).unwrap().collect();
    assert!(left.is_empty(), "state left in the chroot: {left:?}");
    drop(mounted);
    f.assert_clean();
}
