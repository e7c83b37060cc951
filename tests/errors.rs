//! Bad input: one clear line on stderr, exit 125, and nothing left on the host.

mod common;
use common::*;

/// Runs `nsbox run ARGS` and checks the exit code, that stderr is exactly one line starting with
/// `expected`, and that nothing was left behind.
fn refused(f: &Fixture, args: &[&str], expected: &str) {
    let out = Out(f.command(args).output().unwrap());
    let err = out.stderr();
    assert_eq!(out.code(), 125, "args {args:?}: stderr {err}");
    assert_eq!(err.lines().count(), 1, "one line for {args:?}: {err}");
    assert!(
        err.starts_with(&format!("nsbox: {expected}")),
        "args {args:?}:\n  got      {err}  expected nsbox: {expected}"
    );
    f.assert_clean();
}

#[test]
fn bad_input_is_refused_with_one_line_and_125() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = rootfs().to_str().unwrap();
    refused(
        &f,
        &["--rootfs", "/nonexistent-rootfs", "true"],
        "--rootfs \"/nonexistent-rootfs\": ENOENT (No such file or directory)",
    );
    refused(
        &f,
        &["--rootfs", "/etc/hostname", "true"],
        "--rootfs \"/etc/hostname\": not a directory",
    );
    refused(&f, &["--bogus"], "unknown option --bogus");
    refused(&f, &["--rootfs"], "missing argument for option '--rootfs'");
    refused(
        &f,
        &["-r", r, "--user", "nosuchuser", "true"],
        "--user \"nosuchuser\": no user \"nosuchuser\" in the container's /etc/passwd",
    );
    refused(
        &f,
        &["-r", r, "--user", "1:x", "true"],
        "--user \"1:x\": no group \"x\" in the container's /etc/group",
    );
    refused(
        &f,
        &["-r", r, "--volume", "/tmp", "true"],
        "--volume \"/tmp\": expected SRC:DST[:ro|rw]",
    );
    refused(
        &f,
        &["-r", r, "--volume", "/tmp:/x:rx", "true"],
        "--volume \"/tmp:/x:rx\": unknown mode \"rx\"",
    );
    refused(
        &f,
        &["-r", r, "--volume", "/nonexistent-src:/x", "true"],
        "--volume source \"/nonexistent-src\": ENOENT",
    );
    refused(
        &f,
        &["-r", r, "--volume", "/tmp:/a/../../etc", "true"],
        "--volume \"/tmp:/a/../../etc\": '..' is not allowed",
    );
    refused(
        &f,
        &["-r", r, "--env", "=x", "true"],
        "--env \"=x\": expected KEY=VALUE",
    );
    refused(
        &f,
        &["-r", r, "--env", "=x", "true"],
        "--env \"=x\": expected KEY=VALUE",
    );
    refused(
        &f,
        &["-r", r, "--name", "../evil", "true"],
        "--name \"../evil\": expected 1 to 63 letters",
    );
    refused(
        &f,
        &["-r", r, "--net", "wifi", "true"],
        "the network \"wifi\" (--net): expected none, host, veth[:HOST_CIDR,CONTAINER_CIDR] or bridge[:CIDR]",
    );
    refused(
        &f,
        &["-r", r, "-w", "relative", "true"],
        "--workdir \"relative\": must be an absolute path",
    );
}

#[test]
fn rootfs_without_sh_and_no_command_is_nsboxs_error() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let empty = f.scratch.join("empty-rootfs");
    std::fs::create_dir(&empty).unwrap();
    for d in ["proc", "dev", "sys"] {
        std::fs::create_dir(empty.join(d)).unwrap();
    }
    refused(
        &f,
        &["--rootfs", empty.to_str().unwrap()],
        "exec \"/bin/sh\": ENOENT",
    );
    let out = Out(f
        .command(&["--rootfs", empty.to_str().unwrap()])
        .output()
        .unwrap());
    assert!(
        out.stderr()
            .contains("no command was given, and the rootfs has no /bin/sh"),
        "{}",
        out.stderr()
    );
    std::fs::remove_dir_all(&empty).unwrap();
    f.assert_clean();
}

#[test]
fn volume_target_through_a_symlink_out_of_the_rootfs_is_refused() {
    if !can_run() {
        return;
    }
    // A rootfs of our own, whose /escape points at the host's /.
    let f = Fixture::new();
    let r = f.rootfs_copy("evil-rootfs");
    std::os::unix::fs::symlink("/", r.join("escape")).unwrap();
    let marker = format!("/nsbox-escape-probe-{}", std::process::id());
    let target = format!("/tmp:/escape{marker}");
    refused(
        &f,
        &["-r", r.to_str().unwrap(), "-v", &target, "true"],
        &format!("open mount point \"/escape{marker}\" in the rootfs: EXDEV"),
    );
    assert!(
        !std::path::Path::new(&marker).exists(),
        "nsbox created {marker} on the host"
    );
    std::fs::remove_dir_all(&r).unwrap();
    f.assert_clean();
}

#[test]
fn duplicate_name_is_refused_while_the_first_runs() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let first = f.spawn(&["--name", "twin", "--", "sleep", "60"]);
    container_pid(first.id());
    let r = rootfs().to_str().unwrap();
    let out = Out(f
        .command(&["-r", r, "--name", "twin", "true"])
        .output()
        .unwrap());
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr()
            .starts_with("nsbox: container \"twin\" (--name): already exists"),
        "{}",
        out.stderr()
    );
    // The way out is nsbox's own, never deleting state by hand.
    assert!(
        out.stderr().contains("nsbox rm -f twin"),
        "{}",
        out.stderr()
    );
    signal(first.id(), "TERM");
    assert_eq!(first.wait_with_output().unwrap().status.code(), Some(143));
    f.assert_clean();
}

#[test]
fn not_root_is_told_that_root_is_needed() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            nsbox_bin(),
            "run",
            "--root",
        ])
        .arg(&f.state_root)
        .arg("true")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with("nsbox: run: root is needed (CAP_SYS_ADMIN"),
        "{err}"
    );
    assert!(err.contains("--userns"), "{err}");
    f.assert_clean();
}

#[test]
fn version_and_help() {
    let out = std::process::Command::new(nsbox_bin())
        .arg("version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("nsbox {} (git ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("x86_64-unknown-linux"), "{text}");
    let out = std::process::Command::new(nsbox_bin())
        .args(["help", "run"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("--chroot"));
    let out = std::process::Command::new(nsbox_bin())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    // Extra operands, and a '--' with no command before it, are errors, not a quiet exit 0.
    for (args, expected) in [
        (
            &["version", "extra"][..],
            "nsbox: nsbox version extra: version takes no arguments",
        ),
        (
            &["--version", "x"][..],
            "nsbox: nsbox --version x: --version takes no arguments",
        ),
        (
            &["--"][..],
            "nsbox: nsbox --: '--' ends the options of a command",
        ),
        (
            &["--", "run"][..],
            "nsbox: nsbox --: '--' ends the options of a command",
        ),
    ] {
        let out = Out(std::process::Command::new(nsbox_bin())
            .args(args)
            .output()
            .unwrap());
        assert_eq!(out.code(), 125, "{args:?}");
        assert_eq!(
            out.stderr().lines().count(),
            1,
            "{args:?}: {}",
            out.stderr()
        );
        assert!(
            out.stderr().starts_with(expected),
            "{args:?}: {}",
            out.stderr()
        );
        assert_eq!(out.stdout(), "");
    }
}

/// Mounts that would hide the container's procfs or /dev are refused (as runc and docker
/// refuse them); a file over one of /proc's host-wide figures, a device node under /dev and
/// /dev/shm stay allowed. A repeated single-value option and an empty --rootfs are refused.
#[test]
fn mounts_over_proc_and_dev_and_repeated_options_are_refused() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = rootfs().to_str().unwrap();
    let dir = f.scratch.to_str().unwrap().to_string();
    let vol = |dst: &str| format!("{dir}:{dst}");
    for dst in ["/proc", "/proc/sys", "/proc/self/fd", "/proc/meminfo"] {
        refused(
            &f,
            &["-r", r, "-v", &vol(dst), "true"],
            &format!(
                "--volume \"{}\": it would hide the container's /proc",
                vol(dst)
            ),
        );
    }
    for dst in ["/dev", "/dev/pts", "/dev/null", "/dev/mqueue"] {
        refused(
            &f,
            &["-r", r, "-v", &vol(dst), "true"],
            &format!(
                "--volume \"{}\": it would hide the container's /dev",
                vol(dst)
            ),
        );
    }
    refused(
        &f,
        &["-r", r, "--tmpfs", "/proc/sys", "true"],
        "--tmpfs \"/proc/sys\": it would hide the container's /proc",
    );
    refused(
        &f,
        &["-r", r, "--tmpfs", "/dev", "true"],
        "--tmpfs \"/dev\": it would hide the container's /dev",
    );
    // What stays allowed, with its effect: a host file over /proc/meminfo, a device node, /dev/shm.
    let figures = f.scratch.join("meminfo");
    std::fs::write(&figures, "MemTotal: 1 kB\n").unwrap();
    let meminfo = format!("{}:/proc/meminfo:ro", figures.display());
    let out = Out(f
        .command(&[
            "-r", r, "-v", &meminfo, "-v", "/dev/null:/dev/host-null", "-v", &vol("/dev/shm"),
            "--", "sh", "-c", "cat /proc/meminfo; test -c /dev/host-null && echo dev; test -e /dev/shm/meminfo && echo shm",
        ])
        .output()
        .unwrap());
    assert_eq!(out.ok(), "MemTotal: 1 kB\ndev\nshm\n");
    refused(
        &f,
        &["-r", r, "--net", "none", "--net", "host", "true"],
        "--net given twice",
    );
    refused(&f, &["-r", r, "-r", r, "true"], "--rootfs given twice");
    refused(
        &f,
        &["-m", "64m", "--memory", "32m", "-r", r, "true"],
        "--memory given twice",
    );
    refused(&f, &["-r", "", "true"], "--rootfs \"\": the path is empty");
    f.assert_clean();
}

#[test]
fn bad_limits_are_refused_before_anything_is_created() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = rootfs().to_str().unwrap();
    let id = unique_id("badlimit");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--pids-limit", "0"],
            "--pids-limit \"0\": expected a whole number of processes, at least 1",
        ),
        (
            &["--pids-limit", "-5"],
            "--pids-limit \"-5\": expected a whole number",
        ),
        (
            &["-m", "lots"],
            "--memory \"lots\": expected a size such as 64m",
        ),
        (&["-m", "-64m"], "--memory \"-64m\": expected a size"),
        (
            &["--memory", "0"],
            "--memory \"0\": below the minimum of 6 MiB",
        ),
        (&["-m", "1m"], "--memory \"1m\": below the minimum of 6 MiB"),
        (&["--cpus", "0"], "--cpus \"0\": must be at least 0.01"),
        (
            &["--cpus", "-1"],
            "--cpus \"-1\": expected a number of CPUs",
        ),
        (
            &["--cpus", "1e9"],
            "--cpus \"1e9\": expected a number of CPUs",
        ),
        (
            &["--cpus", "4096"],
            "a CPU quota of 4096 CPUs (--cpus): this machine has",
        ),
        (
            &["--cpuset", "4000"],
            "the CPU set 4000 (--cpuset): no such CPU: 4000 (online: ",
        ),
        (
            &["--cpuset", "1-0"],
            "--cpuset \"1-0\": expected CPU numbers and ranges",
        ),
    ];
    for (limit, expected) in cases {
        let mut args = vec!["--name", id.as_str(), "-r", r];
        args.extend_from_slice(limit);
        args.push("true");
        refused(&f, &args, expected);
        assert!(
            cgroup_dirs(&id).is_empty(),
            "{limit:?} left {:?}",
            cgroup_dirs(&id)
        );
    }
}

#[test]
fn a_missing_controller_is_named_with_how_to_enable_it() {
    if !can_run() {
        return;
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    if !mountinfo.contains(" /sys/fs/cgroup/pids ") {
        skip("needs the pids controller as a v1 hierarchy at /sys/fs/cgroup/pids, to hide it");
        return;
    }
    let f = Fixture::new();
    let id = unique_id("nopids");
    // In a private mount namespace of its own, the pids hierarchy is unmounted: to nsbox the
    // controller is missing (it stays bound to v1, so v2 cannot offer it either).
    let script = format!(
        "umount /sys/fs/cgroup/pids && exec {}",
        f.shell_line(&format!("--name {id} --pids-limit 5 true"))
    );
    let out = Out(std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .unwrap());
    let err = out.stderr();
    assert_eq!(out.code(), 125, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "nsbox: the cgroup controller pids (--pids-limit): the pids controller is not available on this host ("
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: ") && err.contains("mount -t cgroup -o pids"),
        "{err}"
    );
    assert!(cgroup_dirs(&id).is_empty());
    f.assert_clean();
}

#[test]
fn gc_never_touches_what_nsbox_did_not_make() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // A state directory whose record names a path that is not a container cgroup.
    let forged = f.state_root.join("forged");
    std::fs::create_dir(&forged).unwrap();
    std::fs::write(forged.join("cgroups"), "/tmp\n").unwrap();
    // A directory that cannot be a container id.
    let odd = f.state_root.join("not an id");
    std::fs::create_dir(&odd).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = Out(std::process::Command::new(nsbox_bin())
        .args(["gc", "--root"])
        .arg(&f.state_root)
        .output()
        .unwrap());
    assert_eq!(out.code(), 125, "{}", out.stderr());
    assert!(
        out.stderr()
            .contains("records \"/tmp\", which is not a cgroup nsbox makes for \"forged\""),
        "{}",
        out.stderr()
    );
    assert!(forged.join("cgroups").exists() && odd.exists());
    assert!(std::path::Path::new("/tmp").is_dir());
    std::fs::remove_dir_all(&forged).unwrap();
    std::fs::remove_dir(&odd).unwrap();
    f.assert_clean();
}

#[test]
fn a_capability_nsbox_lacks_is_refused_by_name_and_left_out_of_all() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // nsbox started without CAP_SYS_RESOURCE in its bounding set (so not in its permitted set).
    let run = |caps: &str, cmd: &[&str]| {
        let mut c = std::process::Command::new("setpriv");
        c.args([
            "--bounding-set",
            "-sys_resource",
            nsbox_bin(),
            "run",
            "--root",
        ])
        .arg(&f.state_root)
        .args([
            "--rootfs",
            rootfs().to_str().unwrap(),
            "--cap-add",
            caps,
            "--",
        ])
        .args(cmd);
        Out(c.output().unwrap())
    };
    let out = run("SYS_RESOURCE", &["true"]);
    assert_eq!(out.code(), 125);
    assert_eq!(
        out.stderr(),
        "nsbox: the capabilities SYS_RESOURCE (--cap-add, --cap-drop): nsbox itself does not \
         hold this capability, so the container cannot get it — hint: run nsbox with it (e.g. outside a container that \
         dropped it), or do not ask for it\n"
    );
    // ALL means every capability nsbox holds.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let all_but_sys_resource = ((1u64 << (last + 1)) - 1) & !(1 << 24);
    let out = run("ALL", &["grep", "CapEff", "/proc/self/status"]);
    assert_eq!(out.ok(), format!("CapEff:\t{all_but_sys_resource:016x}\n"));
    f.assert_clean();
}

/// `-r BUNDLE` where BUNDLE is an OCI bundle (config.json and rootfs/): the command is not
/// found, and the hint says why and what to give instead.
#[test]
fn a_bundle_given_as_rootfs_is_named_as_such() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let bundle = f.scratch.join("bundle");
    std::fs::create_dir_all(bundle.join("rootfs")).unwrap();
    std::fs::write(bundle.join("config.json"), "{}").unwrap();
    let out = Out(f
        .command(&["-r", bundle.to_str().unwrap(), "--", "true"])
        .output()
        .unwrap());
    assert_eq!(out.code(), 127, "{}", out.stderr());
    assert!(
        out.stderr().contains(
            "the rootfs given is an OCI bundle (config.json and rootfs/): give its rootfs/ directory as the rootfs"
        ),
        "{}",
        out.stderr()
    );
    f.assert_clean();
}
