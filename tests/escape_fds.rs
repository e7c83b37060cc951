//! CVE-2024-21626 and its kin: a descriptor of the host open in nsbox's process while it
//! enters the working directory or looks up the command would lead the container out (`-w
//! /proc/self/fd/N`, an image whose WORKDIR is a symlink to it, a command path through it).
//! nsbox closes every descriptor it does not need before it resolves anything of the
//! container's, and checks the working directory it entered: every mode, every number 3-12.
//!
//! Each attempt climbs with `..` from where it landed and looks for a marker file of the host;
//! the control runs the same climb on the host and finds it.

mod common;
use common::*;
use std::process::Command;

/// The descriptor numbers tried: what nsbox itself holds at clone in every mode fits here.
const FDS: std::ops::RangeInclusive<u32> = 3..=12;

/// The shell line of an attempt: climb from the working directory, look for the host's
/// marker, try to create a file next to it.
fn climb(f: &Fixture) -> String {
    format!(
        "cd -P ../../../../../../../../../..; test -e .{m} && echo REACHED; touch .{c} 2>/dev/null; true",
        m = marker(f).display(),
        c = f.scratch.join("created").display()
    )
}

fn marker(f: &Fixture) -> std::path::PathBuf {
    f.scratch.join("host-marker")
}

/// Nothing of the host was reached or changed.
fn assert_held(f: &Fixture, what: &str, out: &Out) {
    assert!(
        !out.stdout().contains("REACHED") && !out.stdout().contains("ESCAPED"),
        "{what}: the container reached the host: {}",
        out.stdout()
    );
    assert!(
        !f.scratch.join("created").exists(),
        "{what}: the container created a file on the host"
    );
}

/// Nothing of the host reached, and nsbox refused with exit 125 and a line that `says` so.
fn assert_refused(f: &Fixture, what: &str, out: &Out, says: &str) {
    assert_held(f, what, out);
    assert_eq!(out.code(), 125, "{what}: {}", out.stderr());
    assert!(out.stderr().contains(says), "{what}: {}", out.stderr());
}

fn setup() -> Option<Fixture> {
    if !can_run() {
        return None;
    }
    let f = Fixture::new();
    std::fs::write(marker(&f), "host").unwrap();
    // The control: the same climb, run on the host from the scratch directory, does see it.
    let seen = Command::new("sh")
        .args(["-c", &climb(&f)])
        .current_dir(&f.scratch)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&seen.stdout), "REACHED\n");
    std::fs::remove_file(f.scratch.join("created")).unwrap();
    Some(f)
}

/// `-w /proc/self/fd/N`: refused (125) in every mode, for every N, and nothing reached.
#[test]
fn a_workdir_through_proc_self_fd_is_refused_in_every_mode() {
    let Some(f) = setup() else { return };
    let script = climb(&f);
    for (mode, _) in MODES {
        for n in FDS {
            let workdir = format!("/proc/self/fd/{n}");
            let out = run_in(
                &f,
                mode,
                rootfs(),
                &["-w", &workdir, "--", "sh", "-c", &script],
            );
            assert_refused(
                &f,
                &format!("{mode} -w {workdir}"),
                &out,
                "working directory",
            );
        }
    }
    f.assert_clean();
}

/// An image's working directory that is a symlink to /proc/self/fd/N (runc's CVE-2024-21626
/// through WORKDIR): refused the same way.
#[test]
fn an_image_workdir_symlinked_to_proc_self_fd_is_refused() {
    let Some(f) = setup() else { return };
    let image = f.rootfs_copy("symlinked-workdir");
    for n in FDS {
        std::os::unix::fs::symlink(format!("/proc/self/fd/{n}"), image.join(format!("app{n}")))
            .unwrap();
    }
    let script = climb(&f);
    for mode in ["pids-limit", "memory", "veth", "bridge", "init", "chroot"] {
        for n in FDS {
            let workdir = format!("/app{n}");
            let out = run_in(
                &f,
                mode,
                &image,
                &["-w", &workdir, "--", "sh", "-c", &script],
            );
            let what = format!("{mode} -w {workdir} -> /proc/self/fd/{n}");
            assert_refused(&f, &what, &out, "working directory");
        }
    }
    f.assert_clean();
}

/// The command's own path through /proc/self/fd/N: not found (127), or not a directory where N
/// is the sync socket (126); never the host's binary.
#[test]
fn a_command_path_through_proc_self_fd_finds_nothing() {
    let Some(f) = setup() else { return };
    // A program only the host has: busybox (static, so it would run in the container) named
    // echo, which prints its arguments.
    std::fs::create_dir(f.scratch.join("host-only")).unwrap();
    let host_bin = f.scratch.join("host-only/echo");
    std::fs::copy("/bin/busybox", &host_bin).unwrap();
    let control = output_of_new_file(Command::new(&host_bin).arg("ESCAPED"));
    assert_eq!(String::from_utf8_lossy(&control.stdout), "ESCAPED\n");
    for mode in ["default", "pids-limit", "memory", "veth", "init", "host"] {
        for n in FDS {
            let path = format!(
                "/proc/self/fd/{n}/../../../../../../../../..{}",
                host_bin.display()
            );
            let out = run_in(&f, mode, rootfs(), &["--", &path, "ESCAPED"]);
            let what = format!("{mode}: {path}");
            assert_held(&f, &what, &out);
            assert!(
                [126, 127].contains(&out.code()),
                "{what}: exit {}: {}",
                out.code(),
                out.stderr()
            );
        }
    }
    f.assert_clean();
}

/// A host directory the caller hands over as stdin is the caller's choice to share, but it is
/// never accepted as the working directory: getcwd shows it outside the root.
#[test]
fn a_workdir_outside_the_root_is_refused_whatever_path_led_there() {
    let Some(f) = setup() else { return };
    let script = climb(&f);
    for mode in ["default", "pids-limit", "init", "chroot", "userns"] {
        let opts = MODES.iter().find(|(m, _)| *m == mode).unwrap().1;
        let mut cmd = f.command(&["--rootfs", rootfs().to_str().unwrap()]);
        cmd.args(opts)
            .args(["-w", "/proc/self/fd/0", "--", "sh", "-c", &script]);
        cmd.stdin(std::fs::File::open("/").unwrap());
        let out = Out(cmd.output().unwrap());
        assert_refused(&f, mode, &out, "outside the container's root");
    }
    f.assert_clean();
}

/// `run -d` and `exec -w`: the same attempts against a detached container with limits.
#[test]
fn detached_containers_and_exec_hold_too() {
    let Some(f) = setup() else { return };
    let script = climb(&f);
    for n in [3, 4, 5, 6] {
        let workdir = format!("/proc/self/fd/{n}");
        let name = format!("d{n}");
        let out = f.run(&[
            "-d",
            "--name",
            &name,
            "--pids-limit",
            "64",
            "-w",
            &workdir,
            "--",
            "sh",
            "-c",
            &script,
        ]);
        assert_refused(
            &f,
            &format!("run -d -w {workdir}"),
            &out,
            "working directory",
        );
    }
    f.detach(
        "target",
        &["--pids-limit", "64", "-m", "128m", "--", "sleep", "60"],
    );
    for n in FDS {
        let workdir = format!("/proc/self/fd/{n}");
        let out = f.manage(&["exec", "-w", &workdir, "target", "sh", "-c", &script]);
        assert_refused(&f, &format!("exec -w {workdir}"), &out, "working directory");
    }
    f.manage(&["rm", "-f", "target"]).ok();
    f.assert_clean();
}
