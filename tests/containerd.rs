//! containerd runs its containers on nsbox through the runc v2 shim (`ctr run --runc-binary`),
//! as the CRI plugin does: output and exit code, a detached task with exec, ps, kill and
//! delete, a terminal, and a second container that joins the first's network namespace by
//! path (how a pod's containers share one). The test starts its own containerd (its config,
//! root, state and socket; no CRI plugin) and ends it, and the shims it left, by pid.

mod common;

use common::{Fixture, Out, rootfs, skip};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Containerd {
    dir: PathBuf,
    daemon: Child,
    /// nsbox's state root (`--runc-root`), one directory per containerd namespace in it.
    runc_root: PathBuf,
}

impl Containerd {
    fn new(f: &Fixture) -> Option<Containerd> {
        for tool in ["/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/podman"] {
            if !Path::new(tool).exists() {
                skip(&format!(
                    "{tool} is not installed (scripts/test.sh installs it)"
                ));
                return None;
            }
        }
        let dir = f.scratch.join("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.toml"),
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\n\
                 disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
                 [grpc]\n  address = \"{0}/containerd.sock\"\n",
                dir.display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let c = Containerd {
            runc_root: dir.join("nsbox-root"),
            dir,
            daemon,
        };
        common::wait_until("containerd answers", 20, || {
            c.ctr(&["version"]).0.status.success()
        });
        // The image: the busybox rootfs, made an OCI archive by podman (no registry here).
        let tar = c.dir.join("rootfs.tar");
        let archive = c.dir.join("bb.oci.tar");
        let shell = format!(
            "tar -C {r} -cf {t} . && podman --root {d}/p/root --runroot {d}/p/run --tmpdir {d}/p/tmp \
             --storage-driver vfs import -q {t} localhost/bb:latest >/dev/null && \
             podman --root {d}/p/root --runroot {d}/p/run --tmpdir {d}/p/tmp --storage-driver vfs \
             save -q --format oci-archive -o {a} localhost/bb:latest && \
             podman --root {d}/p/root --runroot {d}/p/run --tmpdir {d}/p/tmp --storage-driver vfs \
             rmi -a -f >/dev/null",
            r = rootfs().display(),
            t = tar.display(),
            d = c.dir.display(),
            a = archive.display()
        );
        std::fs::create_dir_all(c.dir.join("p/tmp")).unwrap();
        let made = Command::new("sh").args(["-c", &shell]).output().unwrap();
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        // Named by the archive's own annotation (`--index-name` writes an index ctr 1.6 then
        // cannot find).
        let imported = c.ctr(&[
            "images",
            "import",
            "--snapshotter",
            "native",
            archive.to_str().unwrap(),
        ]);
        assert_eq!(imported.code(), 0, "{}", imported.stderr());
        Some(c)
    }

    fn ctr_command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ctr");
        c.arg("--address")
            .arg(self.dir.join("containerd.sock"))
            .args(args)
            .stdin(Stdio::null());
        c
    }

    fn ctr(&self, args: &[&str]) -> Out {
        Out(self.ctr_command(args).output().unwrap())
    }

    /// `ctr run` with nsbox as the runtime binary.
    fn run_args<'a>(&'a self, extra: &[&'a str]) -> Vec<String> {
        let mut a: Vec<String> = [
            "run",
            "--snapshotter",
            "native",
            "--runc-binary",
            common::nsbox_bin(),
            "--runc-root",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push(self.runc_root.display().to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }

    fn run(&self, extra: &[&str]) -> Out {
        let args = self.run_args(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ctr(&refs)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert_eq!(out.code(), 0, "ctr {args:?}: {}", out.stderr());
        out.stdout()
    }

    /// The shims this containerd started: they outlive it (`-address` names its socket).
    fn shims(&self) -> Vec<i32> {
        let socket = self.dir.join("containerd.sock").display().to_string();
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| {
                        let c = String::from_utf8_lossy(&c).replace('\0', " ");
                        c.contains("containerd-shim") && c.contains(&socket)
                    })
                    .unwrap_or(false)
            })
            .collect()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        for pid in self.shims() {
            common::signal(pid as u32, "KILL");
        }
    }
}

#[test]
fn containerd_runs_containers_on_nsbox() {
    if !common::can_run() {
        return;
    }
    // One test at a time: the containers' cgroups are named by containerd's namespace and id
    // (`/default/web`), the same in every containerd, and their rootfs mounts are the host's.
    let _one = common::one_at_a_time();
    let f = Fixture::new();
    let Some(c) = Containerd::new(&f) else { return };
    let image = "localhost/bb:latest";
    // Output and exit code through the shim.
    let out = c.run(&[
        "--rm",
        image,
        "once",
        "sh",
        "-c",
        "echo hello from ctr; exit 3",
    ]);
    assert_eq!(out.code(), 3, "{}", out.stderr());
    assert_eq!(out.stdout(), "hello from ctr\n");
    // A detached task: exec, ps (a JSON array of pids from nsbox), kill, delete.
    c.run(&["-d", image, "web", "sleep", "300"]);
    let tasks = c.ok(&["task", "ls"]);
    assert!(tasks.contains("RUNNING"), "{tasks}");
    let pid: u32 = tasks
        .lines()
        .find(|l| l.starts_with("web "))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        c.ok(&[
            "task",
            "exec",
            "--exec-id",
            "e1",
            "web",
            "sh",
            "-c",
            "cat /proc/1/comm"
        ]),
        "sleep\n"
    );
    assert!(c.ok(&["task", "ps", "web"]).contains(&pid.to_string()));
    // A second container in the first's network namespace, by path (as a pod's app
    // containers join its sandbox).
    let netns = format!("network:/proc/{pid}/ns/net");
    let joined = c.run(&[
        "--rm",
        "--with-ns",
        &netns,
        image,
        "joined",
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(joined.code(), 0, "{}", joined.stderr());
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(joined.stdout().trim(), theirs.to_string_lossy());
    c.ok(&["task", "kill", "-s", "SIGKILL", "web"]);
    common::wait_until("web stopped", 10, || {
        c.ok(&["task", "ls"]).contains("STOPPED")
    });
    c.ok(&["task", "delete", "web"]);
    c.ok(&["container", "delete", "web"]);
    // A terminal (ctr -t: the console socket).
    let line = c
        .run_args(&["--rm", "-t", image, "tty", "sh", "-c", "tty; echo t-ok"])
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let line = format!(
        "ctr --address '{}' {line}",
        c.dir.join("containerd.sock").display()
    );
    let tty = Out(Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .output()
        .unwrap());
    assert_eq!(tty.code(), 0, "{}", tty.stderr());
    // (ctr's console may echo a NUL first, `^@`.)
    let seen = tty.stdout().replace('\r', "");
    assert!(seen.ends_with("/dev/pts/0\nt-ok\n"), "{seen:?}");
    // Nothing left: nsbox's state, the containers' cgroups (/default/ID), mounts.
    std::thread::sleep(Duration::from_millis(100));
    let ns_root = c.runc_root.join("default");
    let left: Vec<_> = std::fs::read_dir(&ns_root)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state left: {left:?}");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        for id in ["once", "web", "joined", "tty"] {
            let cg = h.path().join("default").join(id);
            assert!(!cg.exists(), "{cg:?} left");
        }
    }
    drop(c);
    f.assert_clean();
}

/// The README's lines, as a user types them (the shim's default root), against the test's
/// containerd.
#[test]
fn the_readmes_containerd_example_runs_as_written() {
    if !common::can_run() {
        return;
    }
    let _one = common::one_at_a_time();
    let f = Fixture::new();
    let Some(c) = Containerd::new(&f) else { return };
    let script = common::readme_block("### Use nsbox under containerd")
        .replace("/usr/local/bin/nsbox", common::nsbox_bin())
        .replace("bb.oci.tar", c.dir.join("bb.oci.tar").to_str().unwrap());
    let socket = c.dir.join("containerd.sock");
    let out = Out(Command::new("sh")
        .arg("-ec")
        .arg(format!(
            "ctr() {{ command ctr --address '{}' \"$@\"; }}\n{script}",
            socket.display()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap());
    assert_eq!(out.code(), 0, "{script}\n{}", out.stderr());
    assert!(out.stdout().contains("hello\n"), "{}", out.stdout());
    assert!(
        out.stdout().contains("sleep 600"),
        "ps in exec: {}",
        out.stdout()
    );
    assert!(c.ok(&["task", "ls", "-q"]).trim().is_empty());
    drop(c);
    f.assert_clean();
}
