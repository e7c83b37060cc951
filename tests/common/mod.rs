//! Shared test harness: the real nsbox binary, a real busybox rootfs, a state root per test,
//! and a check that nothing is left on the host afterwards.
#![allow(dead_code)]

pub mod oci;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The nsbox under test: cargo's build, or the one NSBOX_TEST_BIN names (scripts/test.sh runs
/// the escape suites again against the static release build).
pub fn nsbox_bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var("NSBOX_TEST_BIN") {
        Ok(bin) if !bin.is_empty() => bin,
        _ => env!("CARGO_BIN_EXE_nsbox").into(),
    })
}

/// The escape suites' probe (tests/escape/probe.rs), built once as a static musl binary with
/// std alone, so it runs in the busybox rootfs, and as an image's ELF interpreter.
pub fn probe_bin() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("escape-probe");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/escape/probe.rs");
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
        // Built next to its final name, then renamed: suites running at once never see half.
        let tmp = out.with_extension(format!("{}", std::process::id()));
        let status = Command::new(rustc)
            .args(["--edition", "2021", "-O", "-C", "panic=abort"])
            .args(["--target", "x86_64-unknown-linux-musl", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .expect("run rustc");
        assert!(
            status.success(),
            "building the probe needs the musl target: rustup target add x86_64-unknown-linux-musl (scripts/test.sh does)"
        );
        std::fs::rename(&tmp, &out).unwrap();
        out
    })
}

/// True when the tests can create containers; otherwise each test says why it is skipped.
pub fn can_run() -> bool {
    // SAFETY-free check: root is uid 0 in /proc/self/status.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1));
    if euid != Some("0") {
        skip("nsbox needs root to create namespaces and mounts (run the suite as root)");
        return false;
    }
    true
}

/// Says that the running test is skipped, and why: straight to stderr, past the test
/// harness's capture, so that a skip shows by name even when the test "passes".
pub fn skip(why: &str) {
    use std::io::Write;
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// The busybox rootfs shared by all tests (read by containers, never written by them).
pub fn rootfs() -> &'static Path {
    static ROOTFS: OnceLock<PathBuf> = OnceLock::new();
    ROOTFS.get_or_init(|| {
        if let Some(dir) = std::env::var_os("NSBOX_TEST_ROOTFS") {
            return PathBuf::from(dir);
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rootfs");
        // Made anew when it lacks what the current script makes (its last file).
        if !dir.join("bin/busybox").exists() || !dir.join("etc/resolv.conf").exists() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mkrootfs.sh");
            let ok = Command::new(script)
                .arg(&dir)
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            assert!(
                ok,
                "scripts/mkrootfs.sh failed: install busybox-static (scripts/test.sh does)"
            );
        }
        dir
    })
}

/// What the host has that a container must never change or leave behind.
#[derive(Debug, PartialEq, Eq)]
pub struct HostSnapshot {
    mounts: BTreeSet<String>,
    links: BTreeSet<String>,
    hostname: String,
}

impl HostSnapshot {
    pub fn take() -> Self {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let mounts = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .map(String::from)
            .collect();
        let links = std::fs::read_dir("/sys/class/net")
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        HostSnapshot {
            mounts,
            links,
            hostname,
        }
    }
}

/// One test's world: its own state root, and the host as it was before.
pub struct Fixture {
    pub state_root: PathBuf,
    /// A directory for the test's own files (rootfs copies, volume sources); removed at the end.
    pub scratch: PathBuf,
    before: HostSnapshot,
}

impl Fixture {
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let state_root =
            std::env::temp_dir().join(format!("nsbox-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&state_root).unwrap();
        let scratch =
            std::env::temp_dir().join(format!("nsbox-scratch-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&scratch).unwrap();
        rootfs();
        Fixture {
            state_root,
            scratch,
            before: HostSnapshot::take(),
        }
    }

    /// A copy of the shared rootfs in the scratch directory, for a test that changes it.
    pub fn rootfs_copy(&self, name: &str) -> PathBuf {
        let copy = self.scratch.join(name);
        let ok = Command::new("cp")
            .arg("-a")
            .arg(rootfs())
            .arg(&copy)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cp -a {} {}", rootfs().display(), copy.display());
        copy
    }

    /// `nsbox run --root STATE ARGS...`, ready to spawn.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(nsbox_bin());
        cmd.arg("run")
            .arg("--root")
            .arg(&self.state_root)
            .args(args);
        cmd.stdin(Stdio::null());
        cmd
    }

    /// `nsbox run --root STATE --rootfs ROOTFS ARGS` as a shell command line (for tests that
    /// need a shell around nsbox: leaked fds, pipes). ARGS is inserted as written.
    pub fn shell_line(&self, args: &str) -> String {
        format!(
            "{} run --root {} --rootfs {} {args}",
            nsbox_bin(),
            self.state_root.display(),
            rootfs().display()
        )
    }

    /// `nsbox run --root STATE --rootfs ROOTFS ARGS...`, run to the end (the shared rootfs
    /// unless ARGS name one: --rootfs may be given once).
    pub fn run(&self, args: &[&str]) -> Out {
        Out(self.command(&with_rootfs(args)).output().unwrap())
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        let all = with_rootfs(args);
        self.command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// `nsbox COMMAND --root STATE ARGS...` for the management commands (ps, logs, exec, kill,
    /// rm, gc), run to the end.
    pub fn manage(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(nsbox_bin());
        cmd.arg(args[0])
            .arg("--root")
            .arg(&self.state_root)
            .args(&args[1..])
            .stdin(Stdio::null());
        Out(cmd.output().unwrap())
    }

    /// `nsbox run -d --name NAME --rootfs ROOTFS ARGS...`: starts a detached container and
    /// checks that the id comes back.
    pub fn detach(&self, name: &str, args: &[&str]) -> Out {
        let mut all = vec!["-d", "--name", name];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.ok(), format!("{name}\n"), "run -d prints the id");
        out
    }

    /// Nothing may stay behind: state directories, mounts, links, the hostname.
    pub fn assert_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(&self.state_root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "state left behind: {left:?}");
        assert_eq!(HostSnapshot::take(), self.before, "the host changed");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // A test that failed half way may leave its detached containers running: end them
        // (only this test's: its own state root) before the next test runs.
        if let Ok(entries) = std::fs::read_dir(&self.state_root) {
            for e in entries.flatten() {
                // An OCI container is its client's to delete: `delete --force` (its cgroups
                // with it); a native one `rm -f`.
                let oci = e.path().join("oci.json").exists();
                let _ = match oci {
                    true => Command::new(nsbox_bin())
                        .arg("--root")
                        .arg(&self.state_root)
                        .args(["delete", "--force"])
                        .arg(e.file_name())
                        .output(),
                    false => Command::new(nsbox_bin())
                        .args(["rm", "-f", "--root"])
                        .arg(&self.state_root)
                        .arg(e.file_name())
                        .output(),
                };
            }
        }
        let _ = std::fs::remove_dir(&self.state_root);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// `--rootfs ROOTFS ARGS...`, or ARGS alone where they name a rootfs before the command.
fn with_rootfs<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let options = args.iter().take_while(|a| **a != "--");
    if options.clone().any(|a| *a == "-r" || *a == "--rootfs") {
        return args.to_vec();
    }
    let mut all = vec!["--rootfs", rootfs().to_str().unwrap()];
    all.extend_from_slice(args);
    all
}

/// Starts a program this test process has just written. It can be busy (ETXTBSY) for a
/// moment: another test's fork holds the write descriptor until its exec; then it tries again.
fn retry_busy<T>(mut start: impl FnMut() -> std::io::Result<T>) -> T {
    for _ in 0..100 {
        match start() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            other => return other.unwrap(),
        }
    }
    start().unwrap()
}

/// `cmd` run to the end, where its program was just written (see `retry_busy`).
pub fn output_of_new_file(cmd: &mut Command) -> Output {
    retry_busy(|| cmd.output())
}

/// `cmd` started, where its program was just written (see `retry_busy`).
pub fn spawn_new_file(cmd: &mut Command) -> Child {
    retry_busy(|| cmd.spawn())
}

/// The shared libraries nsbox is linked with (none for a static build), copied into `root` at
/// the same paths, so that nsbox runs there (a rootfs, a chroot).
pub fn copy_nsbox_libraries(root: &Path) {
    let out = Command::new("ldd").arg(nsbox_bin()).output().unwrap();
    for word in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Some(relative) = word.strip_prefix('/') {
            let to = root.join(relative);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(word, &to).unwrap();
        }
    }
}

/// A throwaway network namespace, held by a `sleep` this test started (the network tests, the
/// README's examples): nothing a test does there touches the machine's own network.
pub struct NetNs {
    holder: Child,
}

impl NetNs {
    pub fn new() -> NetNs {
        // setpriv: the holder dies with this test's thread, even if the test process is killed.
        let holder = Command::new("unshare")
            .args([
                "--net",
                "--",
                "setpriv",
                "--pdeathsig",
                "KILL",
                "--",
                "sleep",
                "600",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare(1) from util-linux");
        let ns = NetNs { holder };
        let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
        wait_until(
            "the namespace holder has its own network namespace",
            5,
            || std::fs::read_link(ns.path()).is_ok_and(|l| l != mine),
        );
        ns.sh("ip link set lo up").ok();
        ns
    }

    pub fn path(&self) -> String {
        format!("/proc/{}/ns/net", self.holder.id())
    }

    /// `PROGRAM` run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net={}", self.path()))
            .arg("--")
            .arg(program)
            .stdin(Stdio::null());
        cmd
    }

    pub fn sh(&self, line: &str) -> Out {
        Out(self.command("sh").args(["-c", line]).output().unwrap())
    }

    /// `nsbox SUBCOMMAND --root STATE ARGS...` inside the namespace.
    pub fn nsbox(&self, f: &Fixture, args: &[&str]) -> Out {
        let mut cmd = self.command(nsbox_bin());
        cmd.arg(args[0]).arg("--root").arg(&f.state_root);
        Out(cmd.args(&args[1..]).output().unwrap())
    }

    /// `nsbox run -d --name NAME --rootfs ROOTFS ARGS...` inside the namespace.
    pub fn detach(&self, f: &Fixture, name: &str, args: &[&str]) {
        let mut all = vec![
            "run",
            "-d",
            "--name",
            name,
            "--rootfs",
            rootfs().to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        assert_eq!(self.nsbox(f, &all).ok(), format!("{name}\n"));
    }

    /// The names of the namespace's links.
    pub fn links(&self) -> Vec<String> {
        self.sh("ip -o link show")
            .ok()
            .lines()
            .filter_map(|l| l.split(": ").nth(1))
            .map(|n| n.split('@').next().unwrap_or(n).to_string())
            .collect()
    }

    /// The kernel deletes a pair with its container's namespace, in a worker, just after the
    /// container ends: waits until only `keep` is left.
    pub fn wait_links(&self, keep: &[&str]) {
        wait_until(&format!("only {keep:?} are left"), 10, || {
            self.links() == keep.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        });
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A finished run: exit code, stdout and stderr as text.
pub struct Out(pub Output);

impl Out {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert_eq!(self.code(), 0, "nsbox failed: stderr: {}", self.stderr());
        self.stdout()
    }
}

/// Polls `cond` every 10 ms until it holds; fails the test after `secs` seconds, naming `what`.
pub fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The first child of `pid`, if it has one.
pub fn first_child(pid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The host pid of the container's PID 1 once it has exec'd (its name is no longer nsbox's).
pub fn container_pid(nsbox_pid: u32) -> u32 {
    let mut pid = 0;
    wait_until(
        &format!("the container of nsbox pid {nsbox_pid} started"),
        10,
        || {
            let Some(first) = first_child(nsbox_pid) else {
                return false;
            };
            let comm = std::fs::read_to_string(format!("/proc/{first}/comm")).unwrap_or_default();
            pid = first;
            !comm.is_empty() && !comm.starts_with("nsbox")
        },
    );
    pid
}

/// kill(1) of one pid this test started.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Every cgroup directory named `nsbox/<id>` on the host, in any hierarchy.
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, depth: usize, id: &str, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if e.file_name() == "nsbox" {
                if path.join(id).is_dir() {
                    found.push(path.join(id));
                }
            } else if depth > 0 {
                walk(&path, depth - 1, id, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 8, id, &mut found);
    found
}

/// A container id unique to this test process and `tag`.
pub fn unique_id(tag: &str) -> String {
    format!("{tag}-{}", std::process::id())
}

/// The `"pid"` of the first container in `nsbox ps --json` output (PID 1's host pid).
pub fn first_pid(json: &str) -> String {
    json.split("\"pid\":")
        .nth(1)
        .unwrap_or_else(|| panic!("no pid in {json:?}"))
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect()
}

/// The first indented block after the heading `heading` of README.md: shell lines, without
/// their trailing comments.
pub fn readme_block(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let after = readme
        .split_once(heading)
        .unwrap_or_else(|| panic!("README has {heading:?}"))
        .1;
    after
        .lines()
        .skip_while(|l| !l.starts_with("    "))
        .take_while(|l| l.starts_with("    "))
        .map(|l| l[4..].split("  #").next().unwrap().trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One test of this test binary at a time, for tests whose clients put things on the host that
/// another test's snapshot of it would see (podman's /dev/shm mounts, containerd's cgroups).
pub fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The option matrix that isolation tests run across (`host` leaves out --rootfs: the host's `/`).
pub const MODES: [(&str, &[&str]); 11] = [
    ("default", &[]),
    ("pids-limit", &["--pids-limit", "64"]),
    ("memory", &["-m", "128m"]),
    ("read-only", &["--read-only", "--pids-limit", "64"]),
    ("veth", &["--net", "veth", "--pids-limit", "64"]),
    ("bridge", &["--net", "bridge"]),
    ("userns", &["--userns"]),
    ("chroot", &["--chroot", "--pids-limit", "64"]),
    ("init", &["--init", "--pids-limit", "64"]),
    ("init-veth", &["--init", "--net", "veth"]),
    ("host", &["--pids-limit", "64"]),
];

/// `nsbox run` in `mode` with `args` (a network mode inside a throwaway network namespace).
pub fn run_in(f: &Fixture, mode: &str, rootfs: &Path, args: &[&str]) -> Out {
    let opts = MODES.iter().find(|(m, _)| *m == mode).unwrap().1;
    let mut cmd = match opts.contains(&"--net") {
        true => {
            let mut c = Command::new("unshare");
            c.args(["--net", "--"]).arg(nsbox_bin());
            c
        }
        false => Command::new(nsbox_bin()),
    };
    cmd.arg("run").arg("--root").arg(&f.state_root);
    if mode != "host" {
        cmd.arg("--rootfs").arg(rootfs);
    }
    cmd.args(opts).args(args).stdin(Stdio::null());
    Out(cmd.output().unwrap())
}

/// Starts `cmd` with SIGUSR1 blocked, as a caller with its own signal mask would (what the
/// container's process must get back).
pub fn with_usr1_blocked(cmd: &mut Command) {
    // SAFETY: sigprocmask is async-signal-safe; it runs in the child before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, || {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
}
