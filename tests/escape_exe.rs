//! CVE-2019-5736: the container's command is `/bin/evil -> /proc/self/exe`, which re-runs the
//! nsbox that exec'd it inside the container. Root there then holds nsbox's file (through the
//! image's ELF interpreter, or another process's /proc/PID/exe) and overwrites it once nothing
//! executes it: here `nsbox exec` is another copy of the binary than the one that started the
//! container (a package upgrade), so nothing does once it returns.
//!
//! nsbox re-executes itself from a read-only image of its binary: a detached read-only bind
//! mount (as root), or a sealed memfd copy (rootless, or NSBOX_SEAL=memfd): what the container
//! holds is that image, which no one can write. Every attack runs against both. Each also runs
//! against a plain copy of nsbox in the image (`/bin/victim`), which it does overwrite: the
//! attack works, the read-only image is what holds.

mod common;
use common::*;
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The image of the attacks, and the two host copies of nsbox (A starts, B execs).
struct Attack {
    /// `NSBOX_SEAL`: "" for nsbox's choice (a read-only bind mount, as root), "memfd" for the
    /// sealed copy.
    seal: &'static str,
    f: Fixture,
    image: PathBuf,
    a: PathBuf,
    b: PathBuf,
    original: Vec<u8>,
}

/// Where the loader a dynamic nsbox asks for lives (its PT_INTERP).
const INTERP: &str = "/lib64/ld-linux-x86-64.so.2";

impl Attack {
    /// `fake_loader`: the image's ELF interpreter is the probe; otherwise, for a dynamic
    /// nsbox, the image gets the host's loader and libraries so that nsbox runs in it.
    fn new(fake_loader: bool, seal: &'static str) -> Option<Attack> {
        if !can_run() {
            return None;
        }
        let f = Fixture::new();
        let original = std::fs::read(nsbox_bin()).unwrap();
        let image = f.rootfs_copy("evil");
        std::fs::create_dir_all(image.join("lib64")).unwrap();
        std::fs::create_dir(image.join("log")).unwrap();
        match fake_loader {
            true => {
                std::fs::copy(probe_bin(), image.join(&INTERP[1..])).unwrap();
            }
            false => copy_nsbox_libraries(&image),
        }
        std::fs::copy(probe_bin(), image.join("writer")).unwrap();
        std::fs::copy(nsbox_bin(), image.join("bin/victim")).unwrap();
        std::os::unix::fs::symlink("/proc/self/exe", image.join("bin/evil")).unwrap();
        let (a, b) = (f.scratch.join("nsbox-a"), f.scratch.join("nsbox-b"));
        std::fs::copy(nsbox_bin(), &a).unwrap();
        std::fs::copy(nsbox_bin(), &b).unwrap();
        Some(Attack {
            seal,
            f,
            image,
            a,
            b,
            original,
        })
    }

    /// `COPY SUBCOMMAND --root STATE ARGS...` (`run` gets the image as its rootfs).
    fn nsbox(&self, copy: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(copy);
        cmd.env("NSBOX_SEAL", self.seal);
        cmd.arg(args[0]).arg("--root").arg(&self.f.state_root);
        if args[0] == "run" {
            cmd.arg("--rootfs").arg(&self.image);
        }
        cmd.args(&args[1..]).stdin(Stdio::null());
        cmd
    }

    fn output(&self, copy: &Path, args: &[&str]) -> Out {
        Out(output_of_new_file(&mut self.nsbox(copy, args)))
    }

    /// The attack's last line in /log/NAME, once it is written.
    fn verdict(&self, name: &str) -> String {
        let path = self.image.join("log").join(name);
        wait_until(&format!("the attack wrote /log/{name}"), 15, || {
            std::fs::read_to_string(&path).is_ok_and(|s| s.contains("exe="))
        });
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines().last().unwrap().to_string()
    }

    /// What nsbox's read-only image must leave: the attacker never had a host file it could
    /// write (EROFS: the read-only bind mount, shown as `/`; EPERM: the sealed memfd), and both
    /// host copies are what they were. `busy`: the image still runs while the attack writes, so
    /// the kernel may say ETXTBSY first.
    fn assert_held(&self, name: &str, busy: bool) {
        let verdict = self.verdict(name);
        let image = match self.seal {
            "memfd" => "exe=/memfd:nsbox (deleted) ",
            _ => "exe=/ ",
        };
        let refused = ["open=EROFS", "write=EPERM"]
            .iter()
            .chain(if busy { &["open=ETXTBSY"][..] } else { &[] })
            .any(|r| verdict.ends_with(r));
        assert!(
            verdict.starts_with(image) && refused,
            "{name} ({}): {verdict}",
            self.seal
        );
        for copy in [&self.a, &self.b] {
            assert!(
                std::fs::read(copy).unwrap() == self.original,
                "{name}: {} was overwritten",
                copy.display()
            );
        }
    }

    /// The control: the same attack on the image's plain copy of nsbox overwrote it.
    fn assert_control_overwritten(&self, name: &str) {
        assert_eq!(
            self.verdict(name),
            "exe=/bin/victim open=ok write=ok",
            "the control attack"
        );
        let victim = std::fs::read(self.image.join("bin/victim")).unwrap();
        assert!(victim.starts_with(b"PWNED"), "the control left /bin/victim");
        std::fs::copy(nsbox_bin(), self.image.join("bin/victim")).unwrap();
    }
}

/// A dynamic nsbox re-run in the container gets the image's ELF interpreter, which holds
/// /proc/self/exe and hands it to a writer that outlives it: run, --init, run -d, and exec
/// from another copy of the binary.
#[test]
fn the_image_loader_cannot_overwrite_nsbox_through_proc_self_exe() {
    let needle = format!("{INTERP}\0");
    let binary = std::fs::read(nsbox_bin()).unwrap();
    if !binary.windows(needle.len()).any(|w| w == needle.as_bytes()) {
        skip(&format!(
            "{} is static (no ELF interpreter to replace); the /proc/PID/exe attack covers it",
            nsbox_bin()
        ));
        return;
    }
    for seal in ["", "memfd"] {
        loader_attack(seal);
    }
}

fn loader_attack(seal: &'static str) {
    let Some(t) = Attack::new(true, seal) else {
        return;
    };
    let hold = |log: &'static str, secs: &'static str, wait: &'static str| {
        ["/bin/evil", "hold-exe", log, "/writer", secs, wait]
    };
    // The writer gives up after a second while the copy still runs (ETXTBSY): either way it
    // must never have had the host's file.
    let mut run = vec!["run", "--"];
    run.extend(hold("/log/run", "1", "wait"));
    t.output(&t.a, &run).ok();
    t.assert_held("run", true);
    let mut init = vec!["run", "--init", "--"];
    init.extend(hold("/log/init", "1", "wait"));
    t.output(&t.a, &init).ok();
    t.assert_held("init", true);
    let mut detached = vec!["run", "-d", "--name", "detached", "--"];
    detached.extend(hold("/log/detached", "1", "wait"));
    t.output(&t.a, &detached).ok();
    t.assert_held("detached", true);

    let started = t.output(
        &t.a,
        &["run", "-d", "--name", "target", "--", "sleep", "60"],
    );
    assert_eq!(started.ok(), "target\n");
    let mut exec = vec!["exec", "target"];
    exec.extend(hold("/log/exec", "10", ""));
    t.output(&t.b, &exec).ok();
    t.assert_held("exec", false);
    // Control: B execs the image's own copy of nsbox, which the same loader overwrites.
    let control = [
        "exec",
        "target",
        "/bin/victim",
        "hold-exe",
        "/log/control",
        "/writer",
        "10",
        "",
    ];
    t.output(&t.b, &control).ok();
    t.assert_control_overwritten("control");
    for id in ["target", "detached"] {
        let _ = t.output(&t.a, &["rm", "-f", id]);
    }
    t.f.assert_clean();
}

/// A pipe whose buffer is full: a program writing to it blocks until the read end closes.
fn full_pipe() -> (std::fs::File, std::fs::File) {
    let mut fds = [0; 2];
    // SAFETY: plain descriptor calls on the pair just made; `fds` has room for two.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096);
        libc::fcntl(fds[1], libc::F_SETFL, libc::O_NONBLOCK);
        let chunk = [b'x'; 512];
        while libc::write(fds[1], chunk.as_ptr().cast(), chunk.len()) > 0 {}
        libc::fcntl(fds[1], libc::F_SETFL, 0);
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    }
}

/// Any build: the re-run nsbox is held (it blocks writing `version` to a full pipe) while a
/// watcher in the container opens its /proc/PID/exe; once the pipe closes and `nsbox exec`
/// (copy B) has returned, the watcher writes.
#[test]
fn a_process_of_the_container_cannot_overwrite_nsbox_through_proc_pid_exe() {
    for seal in ["", "memfd"] {
        watcher_attack(seal);
    }
}

fn watcher_attack(seal: &'static str) {
    let Some(t) = Attack::new(false, seal) else {
        return;
    };
    let watchers =
        "/writer watch-exe evil 10 /log/watch & /writer watch-exe victim 10 /log/control & wait";
    let started = t.output(
        &t.a,
        &["run", "-d", "--name", "target", "--", "sh", "-c", watchers],
    );
    assert_eq!(started.ok(), "target\n");
    for (program, log) in [("/bin/evil", "watch"), ("/bin/victim", "control")] {
        let (reader, writer) = full_pipe();
        let mut exec = spawn_new_file(
            t.nsbox(&t.b, &["exec", "target", program, "version"])
                .stdout(writer)
                .stderr(Stdio::null()),
        );
        let path = t.image.join("log").join(log);
        wait_until(&format!("the watcher holds {program}"), 10, || {
            std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with("held"))
        });
        drop(reader);
        exec.wait().unwrap();
    }
    t.assert_held("watch", false);
    t.assert_control_overwritten("control");
    let _ = t.output(&t.a, &["rm", "-f", "target"]);
    t.f.assert_clean();
}
