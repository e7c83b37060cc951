//! `nsbox run` against a real busybox rootfs, as root: what the container sees, and what the host
//! keeps (nothing).

mod common;
use common::*;

#[test]
fn pid_1_is_the_command_and_only_container_processes_are_visible() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f
        .run(&[
            "--",
            "sh",
            "-c",
            "echo $$; ls -d /proc/[0-9]* | wc -l; cat /proc/1/cmdline | tr '\\0' ' '",
        ])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1", "PID 1 must be the command");
    // sh, ls and wc (the pipeline) at most: no host process shows through.
    let visible: usize = lines[1].trim().parse().unwrap();
    assert!(visible <= 3, "{visible} processes visible inside: {out}");
    assert_eq!(
        lines[2].trim(),
        "sh -c echo $$; ls -d /proc/[0-9]* | wc -l; cat /proc/1/cmdline | tr '\\0' ' '"
    );
    let host_pid = std::process::id().to_string();
    let out = f
        .run(&[
            "--",
            "sh",
            "-c",
            &format!("test -e /proc/{host_pid} && echo visible || echo hidden"),
        ])
        .ok();
    assert_eq!(out.trim(), "hidden");
    f.assert_clean();
}

#[test]
fn hostname_is_set_inside_and_unchanged_on_the_host() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        f.run(&["--hostname", "box-1", "--", "hostname"]).ok(),
        "box-1\n"
    );
    // Default: the container id.
    assert_eq!(
        f.run(&["--name", "idname", "--", "hostname"]).ok(),
        "idname\n"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host
    );
    f.assert_clean();
}

#[test]
fn network_none_has_only_lo_and_it_is_up() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // busybox's ping opens a raw socket: NET_RAW (not in the default set).
    let out = f.run(&["--cap-add", "NET_RAW", "--", "sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok"]).ok();
    // IFF_UP | IFF_LOOPBACK (sysfs reports IFF_RUNNING through operstate, not flags).
    assert_eq!(out, "lo\n0x9\nping-ok\n");
    f.assert_clean();
}

#[test]
fn mountinfo_inside_shows_only_the_containers_mounts() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--", "cat", "/proc/self/mountinfo"]).ok();
    let points: Vec<&str> = out.lines().filter_map(|l| l.split(' ').nth(4)).collect();
    // Then the masks, in nsbox's order, for the paths this kernel has, after every mount.
    let masks = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/interrupts",
        "/proc/acpi",
        "/proc/asound",
        "/proc/scsi",
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ];
    // The container's own /etc files, bound over the image's from its /dev, right after it.
    let mut expected = vec![
        "/",
        "/proc",
        "/dev",
        "/dev/pts",
        "/dev/shm",
        "/etc/hosts",
        "/etc/hostname",
        "/sys",
    ];
    expected.extend(masks.iter().filter(|m| std::path::Path::new(m).exists()));
    assert_eq!(points, expected, "mountinfo: {out}");
    f.assert_clean();
}

#[test]
fn read_only_rootfs_and_sys_refuse_writes() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--read-only", "--", "sh", "-c", "touch /ro-probe 2>&1; touch /tmp/ro-probe 2>&1; { echo x > /sys/kernel/uevent_helper; } 2>&1"]);
    let text = out.stdout();
    assert_eq!(text.matches("Read-only file system").count(), 3, "{text}");
    // Without --read-only the rootfs is writable (and /sys still is not).
    let name = format!("/tmp/rw-probe-{}", std::process::id());
    f.run(&["--", "touch", &name]).ok();
    let on_host = rootfs().join(name.trim_start_matches('/'));
    assert!(on_host.exists());
    std::fs::remove_file(on_host).unwrap();
    f.assert_clean();
}

#[test]
fn dev_has_exactly_the_expected_nodes() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--", "ls", "/dev"]).ok();
    let names: Vec<&str> = out.lines().collect();
    assert_eq!(
        names,
        [
            "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
            "tty", "urandom", "zero"
        ]
    );
    let out = f.run(&["--", "sh", "-c", "stat -c '%n %F %t:%T %a' /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; readlink /dev/fd; readlink /dev/ptmx; echo hi > /dev/null && head -c4 /dev/zero | wc -c"]).ok();
    assert_eq!(
        out,
        "/dev/null character special file 1:3 666\n/dev/zero character special file 1:5 666\n\
         /dev/full character special file 1:7 666\n/dev/random character special file 1:8 666\n\
         /dev/urandom character special file 1:9 666\n/dev/tty character special file 5:0 666\n\
         /proc/self/fd\npts/ptmx\n4\n"
    );
    f.assert_clean();
}

#[test]
fn exit_codes_come_through() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    for code in [0, 1, 42] {
        assert_eq!(
            f.run(&["--", "sh", "-c", &format!("exit {code}")]).code(),
            code
        );
    }
    let out = f.run(&["--", "/bin/nope"]);
    assert_eq!(out.code(), 127);
    assert!(
        out.stderr()
            .starts_with("nsbox: exec \"/bin/nope\": ENOENT (No such file or directory)"),
        "{}",
        out.stderr()
    );
    let out = f.run(&["--", "nope"]);
    assert_eq!(out.code(), 127);
    assert!(
        out.stderr()
            .contains("executable file not found in $PATH (the container's PATH="),
        "{}",
        out.stderr()
    );
    let out = f.run(&["--", "/etc/passwd"]);
    assert_eq!(out.code(), 126);
    assert!(
        out.stderr()
            .starts_with("nsbox: exec \"/etc/passwd\": EACCES (Permission denied)"),
        "{}",
        out.stderr()
    );
    f.assert_clean();
}

#[test]
fn pid_1_killed_from_the_host_gives_128_plus_9() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let child = f.spawn(&["--", "sleep", "60"]);
    let pid1 = container_pid(child.id());
    signal(pid1, "KILL");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(137));
    f.assert_clean();
}

#[test]
fn sigterm_to_nsbox_ends_a_pid_1_without_handler_with_128_plus_15() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let child = f.spawn(&["--", "sleep", "60"]);
    container_pid(child.id());
    signal(child.id(), "TERM");
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(143));
    // Same for Ctrl-C's SIGINT: the container stops.
    let child = f.spawn(&["--", "sleep", "60"]);
    container_pid(child.id());
    signal(child.id(), "INT");
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(130));
    f.assert_clean();
}

#[test]
fn sigterm_to_nsbox_reaches_a_pid_1_that_handles_it() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let child = f.spawn(&[
        "--",
        "sh",
        "-c",
        "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
    ]);
    let pid1 = container_pid(child.id());
    // Wait until the trap is installed (the shell has printed "ready" only after it).
    wait_until("the trap is installed", 10, || catches(pid1, 15));
    signal(child.id(), "TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ready\ngot TERM\n");
    f.assert_clean();
}

#[test]
fn the_container_gets_only_fds_0_1_2() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // Leak fds 7 and 9 into nsbox on purpose: the container must not get them. (PID 1 is the
    // shell, which lists its own fds: what it got at execve.)
    let script = format!(
        "exec 7</etc/hostname 9</; exec {}",
        f.shell_line("-- sh -c 'ls /proc/$$/fd; :'")
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n1\n2\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.assert_clean();
}

#[test]
fn trace_names_mount_pivot_root_and_execve_in_order() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--trace", "--", "/bin/true"]);
    assert_eq!(out.code(), 0);
    let err = out.stderr();
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in trace:\n{err}"))
    };
    assert!(at("clone(") < at("mount(\"proc\""));
    assert!(at("mount(\"proc\"") < at("pivot_root(\".\", \".\") = 0"));
    assert!(at("pivot_root(\".\", \".\") = 0") < at("execve(\"/bin/true\""));
    assert!(err.contains("nsbox[child "), "child lines are tagged");
    assert!(
        err.lines()
            .filter(|l| l.contains(") = "))
            .all(|l| l.ends_with("us>")),
        "each syscall has its duration"
    );
    f.assert_clean();
}

#[test]
fn volumes_tmpfs_user_env_and_workdir() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let vol = f.scratch.join("vol-src");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("data"), "from the host\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&vol, std::fs::Permissions::from_mode(0o777)).unwrap();
    let spec_ro = format!("{}:/mnt:ro", vol.display());
    let spec_rw = format!("{}:/srv", vol.display());
    let out = f.run(&[
        "-v", &spec_ro, "-v", &spec_rw, "--tmpfs", "/scratch", "-u", "1000:100", "-e", "GREETING=hi", "-w", "/mnt", "--",
        "sh", "-c", "id -u; id -g; pwd; cat data; echo $GREETING; touch /mnt/x 2>&1; echo w > /srv/written; touch /scratch/s && echo scratch-ok",
    ]);
    let text = out.ok();
    assert_eq!(
        text,
        "1000\n100\n/mnt\nfrom the host\nhi\ntouch: /mnt/x: Read-only file system\nscratch-ok\n"
    );
    // The rw volume wrote through to the host, as uid 1000.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(vol.join("written")).unwrap().uid(), 1000);
    std::fs::remove_dir_all(&vol).unwrap();
    f.assert_clean();
}

#[test]
fn chroot_mode_runs_the_command() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f
        .run(&[
            "--chroot",
            "--hostname",
            "ch",
            "--",
            "sh",
            "-c",
            "hostname; echo $$; ls /bin/busybox",
        ])
        .ok();
    assert_eq!(out, "ch\n1\n/bin/busybox\n");
    f.assert_clean();
}

#[test]
fn default_rootfs_is_the_host_read_only_with_private_proc_tmp_var_tmp_run() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // A host daemon's socket in /var/tmp must not be reachable from the container.
    std::fs::create_dir_all("/var/tmp").unwrap();
    let socket = format!("/var/tmp/nsbox-test-{}.sock", std::process::id());
    let _ = std::fs::remove_file(&socket);
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let out = f.command(&["--", "sh", "-c", "ps -e -o pid= | wc -l; find /tmp /var/tmp /run -mindepth 1 | wc -l; touch /etc/nsbox-probe 2>&1 | grep -c Read-only"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(
        lines[0].parse::<u32>().unwrap() <= 4,
        "host processes visible: {text}"
    );
    assert_eq!(
        lines[1], "0",
        "/tmp, /var/tmp and /run are private and empty: {text}"
    );
    assert_eq!(lines[2], "1");
    drop(listener);
    std::fs::remove_file(&socket).unwrap();
    f.assert_clean();
}

/// Whether `pid` has a handler for signal `sig` (SigCgt in /proc/PID/status).
fn catches(pid: u32, sig: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .map(str::trim)
        .unwrap_or("0");
    u64::from_str_radix(mask, 16).unwrap_or(0) & (1 << (sig - 1)) != 0
}

#[test]
fn stopping_and_continuing_nsbox_does_not_end_the_run() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let child = f.spawn(&["--", "sh", "-c", "sleep 0.5; exit 3"]);
    container_pid(child.id());
    signal(child.id(), "STOP");
    std::thread::sleep(std::time::Duration::from_millis(100));
    signal(child.id(), "CONT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.assert_clean();
}

#[test]
fn the_container_dies_with_nsbox_also_after_dropping_root() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // Changing uid clears the parent-death signal: nsbox must set it again.
    let mut child = f.spawn(&["--name", "orphan", "-u", "1000", "--", "sleep", "60"]);
    let pid1 = container_pid(child.id());
    signal(child.id(), "KILL");
    child.wait().unwrap();
    let dead = || {
        let status = std::fs::read_to_string(format!("/proc/{pid1}/status")).unwrap_or_default();
        // Gone, or a zombie waiting for the host's init to reap it.
        status.is_empty()
            || status
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !dead() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if !dead() {
        signal(pid1, "KILL");
        panic!("the container outlived nsbox");
    }
    // nsbox was killed, so its state directory stays, and `nsbox gc` removes it.
    assert!(f.state_root.join("orphan/record").exists());
    let gc = f.manage(&["gc"]);
    assert_eq!(gc.ok(), "orphan\n");
    f.assert_clean();
}

/// A reader of `--trace` that goes away must not kill nsbox (or the command's process) with
/// SIGPIPE, wherever nsbox is when it writes. Deterministic: stderr is a pipe whose read end is
/// closed before nsbox starts, so every trace line meets EPIPE.
#[test]
fn a_closed_stderr_does_not_kill_nsbox_before_teardown() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let closed_stderr = || -> std::fs::File {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills both descriptors; the read end is closed at once, and the write
        // end is owned by the File from here on.
        unsafe {
            assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
            libc::close(fds[0]);
            std::os::fd::FromRawFd::from_raw_fd(fds[1])
        }
    };
    let rootfs = rootfs().to_str().unwrap();
    let status = |args: &[&str]| {
        let mut cmd = std::process::Command::new(nsbox_bin());
        cmd.args(args).stdin(std::process::Stdio::null());
        cmd.stdout(std::process::Stdio::null());
        cmd.stderr(std::process::Stdio::from(closed_stderr()));
        cmd.status().unwrap().code()
    };
    let root = f.state_root.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "--root", root, "--rootfs", rootfs, "--trace"];
        args.extend_from_slice(extra);
        status(&args)
    };
    assert_eq!(
        run(&["--", "sh", "-c", "exit 3"]),
        Some(3),
        "nsbox died of SIGPIPE"
    );
    assert_eq!(run(&["--init", "--", "sh", "-c", "exit 4"]), Some(4));
    assert_eq!(run(&["--pids-limit", "16", "--", "true"]), Some(0));
    assert_eq!(run(&["-d", "--name", "bg", "--", "sleep", "30"]), Some(0));
    let exec = status(&[
        "exec", "--root", root, "--trace", "bg", "sh", "-c", "exit 5",
    ]);
    assert_eq!(exec, Some(5), "nsbox exec died of SIGPIPE");
    f.manage(&["rm", "-f", "bg"]).ok();
    f.assert_clean();
}

#[test]
fn user_mounts_nest_parents_first_whatever_the_order_given() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let src = f.scratch.join("nest-src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "inner\n").unwrap();
    let vol = format!("{}:/t/v", src.display());
    // The volume is named first but lives inside the tmpfs: it must not be hidden by it.
    let out = f
        .run(&["-v", &vol, "--tmpfs", "/t", "--", "cat", "/t/v/f"])
        .ok();
    assert_eq!(out, "inner\n");
    // A tmpfs inside a volume goes on top of it (its mount point is made in the volume, as
    // Docker does): what is written there stays in the tmpfs, not on the host.
    let vol = format!("{}:/d", src.display());
    f.run(&[
        "--tmpfs",
        "/d/cache",
        "-v",
        &vol,
        "--",
        "touch",
        "/d/cache/x",
    ])
    .ok();
    assert!(src.join("cache").is_dir());
    assert!(
        !src.join("cache/x").exists(),
        "the tmpfs was not mounted over the volume"
    );
    std::fs::remove_dir_all(&src).unwrap();
    std::fs::remove_dir_all(rootfs().join("t")).unwrap();
    f.assert_clean();
}

#[test]
fn read_only_never_writes_the_image_and_relative_symlinks_inside_work() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = f.rootfs_copy("rootfs-copy");
    let rs = r.to_str().unwrap();
    // --read-only: a missing mount point is an error, and the image stays as it was.
    let out = Out(f
        .command(&["-r", rs, "--read-only", "--tmpfs", "/new/dir", "--", "true"])
        .output()
        .unwrap());
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr()
            .contains("does not create mount points in the image"),
        "{}",
        out.stderr()
    );
    assert!(
        !r.join("new").exists(),
        "the read-only image was written to"
    );
    // Inside a tmpfs of the container's (not the image), mount points are made: a volume in a
    // tmpfs, a device node in /dev.
    let vol = format!("{}:/tmp/v/w:ro", f.scratch.display());
    let out = f
        .run(&[
            "-r",
            rs,
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-v",
            &vol,
            "-v",
            "/dev/null:/dev/extra",
            "--",
            "sh",
            "-c",
            "test -d /tmp/v/w && test -c /dev/extra && echo ok",
        ])
        .ok();
    assert_eq!(out, "ok\n");
    assert!(
        !r.join("tmp/v").exists(),
        "the read-only image was written to"
    );
    // A relative symlink that stays inside the rootfs is followed when creating mount points.
    std::os::unix::fs::symlink("../var", r.join("usr/x")).unwrap();
    f.run(&["-r", rs, "--tmpfs", "/usr/x/new", "--", "true"])
        .ok();
    assert!(r.join("var/new").is_dir());
    std::fs::remove_dir_all(&r).unwrap();
    f.assert_clean();
}

/// A tmpfs or a volume may take /sys's place (the masks of /sys then find nothing to mask);
/// a volume under /sys is covered by the masks, as runc covers it.
#[test]
fn a_tmpfs_or_a_volume_may_replace_sys() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let fs_at_sys = "grep ' /sys ' /proc/mounts | tail -1 | cut -d' ' -f3; ls /sys | wc -l";
    assert_eq!(
        f.run(&["--tmpfs", "/sys", "--", "sh", "-c", fs_at_sys])
            .ok(),
        "tmpfs\n0\n"
    );
    std::fs::write(f.scratch.join("marker"), "x").unwrap();
    let vol = format!("{}:/sys:ro", f.scratch.display());
    assert_eq!(
        f.run(&["-v", &vol, "--", "sh", "-c", "ls /sys"]).ok(),
        "marker\n"
    );
    let under = format!("{}:/sys/firmware", f.scratch.display());
    assert_eq!(
        f.run(&["-v", &under, "--", "sh", "-c", "ls /sys/firmware | wc -l"])
            .ok(),
        "0\n"
    );
    f.assert_clean();
}

/// A volume whose source is not UTF-8 is refused in one line (the command line is read as
/// text), and nothing is made.
#[test]
fn a_volume_source_that_is_not_utf8_is_refused_in_one_line() {
    if !can_run() {
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    let dir = f
        .scratch
        .join(std::ffi::OsStr::from_bytes(b"latin1-\xe9t\xe9"));
    std::fs::create_dir(&dir).unwrap();
    let mut spec = dir.clone().into_os_string();
    spec.push(":/mnt/v");
    let out = Out(f
        .command(&["-r", common::rootfs().to_str().unwrap()])
        .arg("-v")
        .arg(&spec)
        .args(["--", "true"])
        .output()
        .unwrap());
    assert_eq!(out.code(), 125);
    assert!(out.stderr().contains("not valid UTF-8"), "{}", out.stderr());
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    f.assert_clean();
}

/// The command starts with the caller's signal mask, not nsbox's (which blocks signals while it
/// works), though nsbox re-executes itself from its sealed copy in between.
#[test]
fn the_command_gets_the_callers_signal_mask() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let blocked = |block_usr1: bool| {
        let mut cmd = f.command(&[
            "--rootfs",
            rootfs().to_str().unwrap(),
            "--",
            "grep",
            "SigBlk",
            "/proc/self/status",
        ]);
        if block_usr1 {
            common::with_usr1_blocked(&mut cmd);
        }
        Out(cmd.output().unwrap()).ok()
    };
    assert_eq!(blocked(false), "SigBlk:\t0000000000000000\n");
    assert_eq!(blocked(true), "SigBlk:\t0000000000000200\n");
    f.assert_clean();
}

/// docker's habits: `-e NAME` takes NAME's value from nsbox's environment (unset where there is
/// none); `-d --rm` leaves no record once the container ends.
#[test]
fn env_by_name_and_detached_rm() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = Out(f
        .command(&[
            "-e",
            "NSBOX_T_FOO",
            "-e",
            "NSBOX_T_NONE",
            "--",
            "sh",
            "-c",
            "echo \"$NSBOX_T_FOO ${NSBOX_T_NONE-unset}\"",
        ])
        .env("NSBOX_T_FOO", "from the caller")
        .env_remove("NSBOX_T_NONE")
        .output()
        .unwrap());
    assert_eq!(out.ok(), "from the caller unset\n");
    let id = f
        .detach("gone", &["--rm", "--", "sh", "-c", "sleep 0.2"])
        .ok();
    assert_eq!(id.trim(), "gone");
    wait_until("the record is gone", 10, || {
        !f.state_root.join("gone").exists()
    });
    assert_eq!(f.manage(&["ps", "-a", "-q"]).ok(), "");
    f.assert_clean();
}
