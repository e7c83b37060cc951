//! podman runs its containers on nsbox (`--runtime`), as a user would: output and exit codes,
//! a detached container with exec, stop and rm, limits enforced inside, a terminal through the
//! console socket. podman gets private storage, run and tmp directories, cgroupfs, vfs and
//! ulimits this host allows (../shared/oci/CONTRACT.md); nsbox a state root of the test's own.
//! After each: no state entry, cgroup, mount, link or process of nsbox's left.

mod common;

use common::{Fixture, Out, nsbox_bin, rootfs, skip};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Podman {
    dir: PathBuf,
    state_root: PathBuf,
}

impl Podman {
    /// podman with a world of its own in the fixture's scratch directory and the busybox
    /// rootfs imported as `localhost/bb`; None (said as a skip) where podman is missing.
    fn new(f: &Fixture) -> Option<Podman> {
        if !Path::new("/usr/bin/podman").exists() {
            skip("podman is not installed (scripts/test.sh installs it)");
            return None;
        }
        let dir = f.scratch.join("podman");
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        // The runtime: nsbox with the test's state root (conmon passes no --root).
        let wrapper = dir.join("nsbox-runtime");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec {} --root {} \"$@\"\n",
                nsbox_bin(),
                f.state_root.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        // podman's default nofile (1048576) is above this host's hard limit: give it the limits
        // this process has (/proc/self/limits: name, soft, hard).
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
        let hard = |name: &str| -> u64 {
            limits
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1024)
        };
        let nofile = hard("Max open files");
        let nproc = hard("Max processes").min(32768);
        std::fs::write(
            dir.join("containers.conf"),
            format!(
                "[containers]\ndefault_ulimits = [\"nofile={nofile}:{nofile}\", \"nproc={nproc}:{nproc}\"]\n\
                 netns = \"none\"\n[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 runtime = \"nsbox\"\n[engine.runtimes]\nnsbox = [\"{}\"]\n",
                wrapper.display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\nrunroot = \"{0}/runroot\"\ngraphroot = \"{0}/root\"\n",
                dir.display()
            ),
        )
        .unwrap();
        let p = Podman {
            dir,
            state_root: f.state_root.clone(),
        };
        let tar = p.dir.join("rootfs.tar");
        let made = Command::new("tar")
            .arg("-C")
            .arg(rootfs())
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(made.success());
        p.ok(&["import", "-q", tar.to_str().unwrap(), "localhost/bb:latest"]);
        Some(p)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(args)
            // conmon writes an `oom` file into its working directory.
            .current_dir(&self.dir);
        c
    }

    /// The same call as one shell line (for `script`, which gives it a terminal).
    fn shell_line(&self, args: &[&str]) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let mut line = format!(
            "cd {} && CONTAINERS_CONF={} CONTAINERS_STORAGE_CONF={} podman --tmpdir {}",
            q(&self.dir.display().to_string()),
            q(&self.dir.join("containers.conf").display().to_string()),
            q(&self.dir.join("storage.conf").display().to_string()),
            q(&self.dir.join("tmp").display().to_string()),
        );
        for a in args {
            line += " ";
            line += &q(a);
        }
        line
    }

    fn run(&self, args: &[&str]) -> Out {
        Out(self.command(args).output().unwrap())
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(out.code(), 0, "podman {args:?}: {}", out.stderr());
        out.stdout()
    }

    /// Nothing of nsbox's is left: no state entry, no cgroup of a container of podman's.
    /// podman's cleanup of a `--rm` container (conmon's exit command) may end just after
    /// podman itself: a few seconds are allowed.
    fn assert_clean(&self, f: &Fixture) {
        let left = || {
            let mut left: Vec<String> = std::fs::read_dir(&self.state_root)
                .unwrap()
                .map(|e| e.unwrap().path().display().to_string())
                .collect();
            for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
                let parent = h.path().join("libpod_parent");
                for leaf in std::fs::read_dir(&parent).into_iter().flatten().flatten() {
                    if leaf.file_name().to_string_lossy().starts_with("libpod-") {
                        left.push(leaf.path().display().to_string());
                    }
                }
            }
            left
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !left().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(left(), Vec::<String>::new(), "left behind");
        f.assert_clean();
    }
}

impl Drop for Podman {
    /// A test that failed half way leaves its containers: podman removes them (and so calls
    /// nsbox's delete), before the fixture goes.
    fn drop(&mut self) {
        let _ = self.command(&["rm", "-a", "-f", "-t", "0"]).output();
    }
}

#[test]
fn podman_runs_containers_on_nsbox() {
    if !common::can_run() {
        return;
    }
    // podman mounts each container's /dev/shm on the host: one test at a time, so that another
    // test's mounts never show in a test's snapshot of the host.
    let _one = common::one_at_a_time();
    let f = Fixture::new();
    let Some(p) = Podman::new(&f) else { return };
    let image = "localhost/bb";
    // Output, and the command's exit code as podman's.
    assert_eq!(
        p.ok(&[
            "run",
            "--rm",
            image,
            "sh",
            "-c",
            "echo hello; cat /proc/1/comm; exit 0"
        ]),
        "hello\nsh\n"
    );
    assert_eq!(
        p.run(&["run", "--rm", image, "sh", "-c", "exit 42"]).code(),
        42
    );
    let missing = p.run(&["run", "--rm", image, "nosuchcmd"]);
    assert_eq!(missing.code(), 127, "{}", missing.stderr());
    assert!(
        missing
            .stderr()
            .contains("executable file not found in $PATH"),
        "{}",
        missing.stderr()
    );
    // Detached, then exec, stop and rm; a kill shows as 137.
    let id = p.ok(&[
        "run", "-d", "--name", "web", "--memory", "64m", image, "sleep", "300",
    ]);
    assert_eq!(id.trim().len(), 64);
    assert_eq!(
        p.ok(&[
            "exec",
            "-e",
            "K=v",
            "web",
            "sh",
            "-c",
            "echo $K; cat /proc/1/comm"
        ]),
        "v\nsleep\n"
    );
    assert_eq!(p.run(&["exec", "web", "sh", "-c", "exit 9"]).code(), 9);
    // pause and unpause (cgroup freezer), top (the container's processes).
    p.ok(&["pause", "web"]);
    let paused = p.ok(&["inspect", "--format", "{{.State.Status}}", "web"]);
    assert_eq!(paused.trim(), "paused");
    p.ok(&["unpause", "web"]);
    assert!(p.ok(&["top", "web"]).contains("sleep 300"));
    // update: a new memory limit, seen from inside.
    p.ok(&["update", "--memory", "96m", "web"]);
    let max = p.ok(&[
        "exec",
        "web",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(max.trim(), "100663296");
    p.ok(&["kill", "-s", "KILL", "web"]);
    assert_eq!(p.ok(&["wait", "web"]).trim(), "137");
    p.ok(&["rm", "web"]);
    let id = p.ok(&["run", "-d", "--name", "slow", image, "sleep", "300"]);
    p.ok(&["stop", "-t", "1", "slow"]);
    p.ok(&["rm", id.trim()]);
    p.assert_clean(&f);
}

#[test]
fn podman_limits_are_enforced_inside() {
    if !common::can_run() {
        return;
    }
    let _one = common::one_at_a_time();
    let f = Fixture::new();
    let Some(p) = Podman::new(&f) else { return };
    let image = "localhost/bb";
    // A fork bomb stops at the limit: at most 10 processes, the rest cannot fork.
    let bomb = p.run(&[
        "run",
        "--rm",
        "--pids-limit",
        "10",
        image,
        "sh",
        "-c",
        // A shell that forks 20 sleeps dies at the first fork the limit refuses; the
        // container's PID 1 reads how far it got, then ends the sleeps (builtins: no fork).
        "sh -c 'for i in $(seq 20); do sleep 30 & echo $i > /tmp/n; done' 2>/dev/null; \
         read n < /tmp/n; kill -9 -1; echo $n",
    ]);
    assert_eq!(bomb.code(), 0, "{}", bomb.stderr());
    let started: u32 = bomb.stdout().trim().parse().unwrap();
    assert!(
        (1..10).contains(&started),
        "{started} sleeps started under a limit of 10 processes"
    );
    // An allocation beyond --memory is OOM-killed, and podman says 137.
    let swap = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("SwapTotal:") && !l.ends_with(" 0 kB"));
    if swap && !Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        skip("the memory part: swap is on and not accounted (the hog would swap, not die)");
    } else {
        let hog = p.run(&[
            "run",
            "--rm",
            "--memory",
            "32m",
            image,
            "sh",
            "-c",
            "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
        ]);
        assert_eq!(hog.code(), 137, "{}", hog.stderr());
        assert!(!hog.stdout().contains("survived"));
    }
    // A terminal through the console socket: a pty of the container's own devpts.
    let line = p.shell_line(&["run", "--rm", "-t", image, "sh", "-c", "tty; echo t-ok"]);
    let tty = Out(Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
        .unwrap());
    assert_eq!(tty.code(), 0, "{}", tty.stderr());
    assert_eq!(tty.stdout().replace('\r', ""), "/dev/pts/0\nt-ok\n");
    p.assert_clean(&f);
}

/// The README's lines, as a user types them (podman's default runtime state, nsbox's default
/// root), in the test's podman world; nsbox copied where the README puts it, under scratch.
#[test]
fn the_readmes_podman_example_runs_as_written() {
    if !common::can_run() {
        return;
    }
    let _one = common::one_at_a_time();
    let f = Fixture::new();
    let Some(p) = Podman::new(&f) else { return };
    let installed = p.dir.join("nsbox");
    let script = common::readme_block("### Use nsbox under podman")
        .replace(
            "target/x86_64-unknown-linux-musl/release/nsbox",
            nsbox_bin(),
        )
        .replace("/usr/local/bin/nsbox", installed.to_str().unwrap())
        .replace("/tmp/rootfs", rootfs().to_str().unwrap());
    let before = std::fs::read_dir("/run/nsbox")
        .map(|d| d.count())
        .unwrap_or(0);
    let tmp = p.dir.join("tmp");
    let out = Out(Command::new("sh")
        .current_dir(&p.dir)
        .env("CONTAINERS_CONF", p.dir.join("containers.conf"))
        .env("CONTAINERS_STORAGE_CONF", p.dir.join("storage.conf"))
        .args(["-ec"])
        .arg(format!(
            "podman() {{ command podman --tmpdir '{}' \"$@\"; }}\n{script}",
            tmp.display()
        ))
        .output()
        .unwrap());
    assert_eq!(out.code(), 0, "{script}\n{}", out.stderr());
    assert!(out.stdout().contains("\nhello\n"), "{}", out.stdout());
    assert!(
        out.stdout().contains("sleep 600"),
        "ps in exec: {}",
        out.stdout()
    );
    let after = std::fs::read_dir("/run/nsbox")
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(after, before, "the default state root as it was");
    p.assert_clean(&f);
}
