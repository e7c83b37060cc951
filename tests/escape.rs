//! The escape suite: from inside a default container, root tries to get out, and each attempt
//! must fail. Every case also runs where it can succeed (a defense turned off, or the host
//! side), so a probe that silently tests nothing would show up as a failure here.
//!
//! The probe (tests/escape/probe.rs) makes one raw syscall per run and prints the kernel's
//! answer; it is built once as a static musl binary and bound into the container read-only.
//! Its syscall numbers are x86_64's.
#![cfg(target_arch = "x86_64")]

mod common;
use common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// Runs `sh -c SCRIPT` in a container with `opts`, the probe at /home/probe; returns stdout.
fn inside(f: &Fixture, opts: &[&str], script: &str) -> String {
    let volume = format!("{}:/home/probe:ro", probe_bin().display());
    let mut args = vec!["--tmpfs", "/home", "--tmpfs", "/tmp", "-v", &volume];
    args.extend_from_slice(opts);
    args.extend_from_slice(&["--", "sh", "-c", script]);
    let out = f.run(&args);
    assert!(
        out.code() == 0,
        "nsbox {args:?}: exit {}: {}",
        out.code(),
        out.stderr()
    );
    out.stdout()
}

/// Calls that reach the running kernel (modules, kexec, bpf, perf, keys, handles, mounts,
/// namespaces). Each answers EPERM from the filter; the control, with the filter off and every
/// capability, answers something else, which proves the call reached the kernel.
const KERNEL_CALLS: [&str; 19] = [
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "open_by_handle_at",
    "userfaultfd",
    "setns",
    "unshare_user",
    "clone_user",
    "personality",
    "x32_getpid",
    // Typing into the caller's terminal (here stdin is /dev/null: ENOTTY once allowed).
    "tiocsti",
    "mount",
    "pivot_root",
    // Last: in the control it really detaches the container's /proc.
    "umount",
];

fn probe_all(f: &Fixture, opts: &[&str]) -> Vec<String> {
    let script = format!(
        "for c in {}; do /home/probe $c; done",
        KERNEL_CALLS.join(" ")
    );
    inside(f, opts, &script).lines().map(String::from).collect()
}

#[test]
fn kernel_interfaces_fail_with_eperm_even_with_every_capability() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let default = probe_all(&f, &[]);
    // The filter holds whatever else is asked for.
    for opts in [
        &["--pids-limit", "50", "-m", "64m"][..],
        &["--read-only"],
        &["--userns"],
        &["--init"],
        &["--chroot"],
    ] {
        assert_eq!(probe_all(&f, opts), default, "with {opts:?}");
    }
    let all_caps = probe_all(&f, &["--cap-add", "ALL"]);
    let control = probe_all(&f, &["--cap-add", "ALL", "--seccomp", "unconfined"]);
    for (i, call) in KERNEL_CALLS.iter().enumerate() {
        assert_eq!(default[i], "EPERM", "{call} in a default container");
        assert_eq!(all_caps[i], "EPERM", "{call} with --cap-add ALL");
        assert_ne!(
            control[i], "EPERM",
            "{call} with no filter and every capability: the probe did not reach the kernel"
        );
    }
    // clone3 carries its flags in memory, out of the filter's sight: ENOSYS sends C libraries
    // back to clone, whose flags the filter checks.
    assert_eq!(inside(&f, &[], "/home/probe clone3"), "ENOSYS\n");
    f.assert_clean();
}

#[test]
fn without_the_filter_missing_capabilities_still_refuse() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = inside(
        &f,
        &["--seccomp", "unconfined"],
        "for c in mount umount pivot_root; do /home/probe $c; done; mount -t tmpfs none /tmp 2>&1; true",
    );
    assert_eq!(
        out,
        "EPERM\nEPERM\nEPERM\nmount: permission denied (are you root?)\n"
    );
    f.assert_clean();
}

#[test]
fn no_new_user_namespace_gives_capabilities_back() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let script = "unshare -U -r id -u 2>&1; /home/probe unshare_user; /home/probe clone_user";
    assert_eq!(
        inside(&f, &[], script),
        "unshare: unshare(0x10000000): Operation not permitted\nEPERM\nEPERM\n"
    );
    // Control: without the filter the kernel lets an unprivileged process make one, and the
    // process is root with every capability inside it.
    assert_eq!(
        inside(&f, &["--seccomp", "unconfined"], script),
        "0\nok\nok\n"
    );
    f.assert_clean();
}

#[test]
fn capabilities_no_new_privs_and_setuid() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // podman's default set: 0x800405fb (Docker's old 0xa80425fb without NET_RAW, MKNOD and
    // AUDIT_WRITE). No capability in the inheritable or ambient sets.
    let status = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\\t' ' '";
    // The same sets whatever else is asked for (--chroot also drops SYS_CHROOT).
    for (opts, set) in [
        (&[][..], "00000000800405fb"),
        (&["--pids-limit", "50", "-m", "64m"], "00000000800405fb"),
        (&["--read-only"], "00000000800405fb"),
        (&["--userns"], "00000000800405fb"),
        (&["--init"], "00000000800405fb"),
        (&["--chroot"], "00000000800005fb"),
    ] {
        assert_eq!(
            inside(&f, opts, status),
            format!(
                "CapInh: 0000000000000000\nCapPrm: {set}\nCapEff: {set}\n\
                 CapBnd: {set}\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"
            ),
            "with {opts:?}"
        );
    }
    assert_eq!(
        inside(&f, &["-u", "1000"], status),
        "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n\
         CapBnd: 00000000800405fb\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"
    );
    // A user given by name (looked up in the image's /etc/passwd) starts with none too.
    let nobody = status.replace("grep", "id -u; grep");
    assert_eq!(
        inside(&f, &["-u", "nobody"], &nobody),
        "65534\nCapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n\
         CapBnd: 00000000800405fb\nCapAmb: 0000000000000000\nNoNewPrivs: 1\nSeccomp: 2\n"
    );
    // exec picks the sets for its own user: root into a uid-1000 container gets the default
    // set, uid 1000 into a root container none.
    for (run_as, exec_as, held) in [
        ("1000", "0", "00000000800405fb"),
        ("0", "1000", "0000000000000000"),
    ] {
        let id = common::unique_id("caps-exec");
        f.detach(&id, &["-u", run_as, "--", "sleep", "30"]);
        let eff = f
            .manage(&[
                "exec",
                "-u",
                exec_as,
                &id,
                "--",
                "sh",
                "-c",
                "grep -E '^Cap(Prm|Eff|Bnd):' /proc/self/status | tr -s '\\t' ' '",
            ])
            .ok();
        assert_eq!(
            eff,
            format!("CapPrm: {held}\nCapEff: {held}\nCapBnd: 00000000800405fb\n"),
            "exec -u {exec_as} into a container run as {run_as}"
        );
        f.manage(&["rm", "-f", &id]).ok();
    }
    // A setuid-root binary run by uid 1000 stays uid 1000 under no_new_privs; the control
    // (--no-new-privs=false) shows that it would be root otherwise.
    let r = f.rootfs_copy("suid-rootfs");
    std::fs::copy(probe_bin(), r.join("bin/suid-probe")).unwrap();
    let ok = Command::new("chmod")
        .args(["4755"])
        .arg(r.join("bin/suid-probe"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ids = |opts: &[&str]| {
        let mut args = vec!["-r", r.to_str().unwrap(), "-u", "1000"];
        args.extend_from_slice(opts);
        args.extend_from_slice(&["--", "/bin/suid-probe", "ids"]);
        f.run(&args).ok()
    };
    assert_eq!(
        ids(&[]),
        "uid 1000 1000 1000 1000 cap 0000000000000000 nnp 1\n"
    );
    assert_eq!(
        ids(&["--no-new-privs=false"]),
        "uid 1000 0 0 0 cap 00000000800405fb nnp 0\n"
    );
    std::fs::remove_dir_all(&r).unwrap();
    f.assert_clean();
}

#[test]
fn a_device_node_cannot_be_made_or_opened() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // The host's root disk, the most valuable device there is.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dev = mountinfo
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .and_then(|l| l.split(' ').nth(2))
        .unwrap()
        .replace(':', " ");
    let data = f.scratch.join("data");
    std::fs::create_dir(&data).unwrap();
    let volume = format!("{}:/data", data.display());
    let r = f.rootfs_copy("dev-rootfs");
    let opts = ["-r", r.to_str().unwrap(), "-v", volume.as_str()];
    let script = format!(
        "/home/probe mknod_block /disk {dev}; /home/probe mknod_block /data/disk {dev}; \
         /home/probe open /disk; /home/probe open /data/disk"
    );
    let run = |extra: &[&str]| {
        let volume = format!("{}:/home/probe:ro", probe_bin().display());
        let mut args = opts.to_vec();
        args.extend_from_slice(&["--tmpfs", "/home", "-v", &volume]);
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "sh", "-c", &script]);
        f.run(&args).ok()
    };
    // The filter refuses device nodes outright, and MKNOD is not in the default set.
    assert_eq!(run(&[]), "EPERM\nEPERM\nENOENT\nENOENT\n");
    assert_eq!(
        run(&["--seccomp", "unconfined"]),
        "EPERM\nEPERM\nENOENT\nENOENT\n"
    );
    // Without both, CAP_MKNOD makes them, but the rootfs and volumes are nodev: they open
    // nothing.
    assert_eq!(
        run(&["--seccomp", "unconfined", "--cap-add", "MKNOD"]),
        "ok\nok\nEACCES\nEACCES\n"
    );
    std::fs::remove_dir_all(&r).unwrap();
    f.assert_clean();
}

/// No NET_RAW by default (raw and packet sockets: CVE-2020-14386), yet ping works: ICMP
/// datagram sockets are allowed in the container's own network namespace, and only there.
#[test]
fn raw_sockets_need_net_raw_and_ping_works_without_it() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap();
    let script =
        "/home/probe icmp_raw; /home/probe ping_dgram; cat /proc/sys/net/ipv4/ping_group_range";
    assert_eq!(inside(&f, &[], script), "EPERM\nok\n0\t2147483647\n");
    assert_eq!(
        inside(&f, &["--cap-add", "NET_RAW"], script),
        "ok\nok\n0\t2147483647\n"
    );
    // --userns: the groups its map has.
    assert_eq!(inside(&f, &["--userns"], script), "EPERM\nok\n0\t65535\n");
    // --net host shares the host's namespace: its setting is left as it is.
    let shared = inside(
        &f,
        &["--net", "host"],
        "cat /proc/sys/net/ipv4/ping_group_range",
    );
    assert_eq!(shared, host_range);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ping_group_range").unwrap(),
        host_range
    );
    f.assert_clean();
}

#[test]
fn chroot_escape_works_only_where_documented() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let marker = f.scratch.join("host-marker");
    std::fs::write(&marker, "host").unwrap();
    let script = format!("/home/probe chroot_escape {}", marker.display());
    // pivot_root: the old root is detached, so climbing '..' ends at the container's root.
    assert_eq!(inside(&f, &[], &script), "contained\n");
    // --chroot keeps the host's tree in the namespace, so nsbox withholds CAP_SYS_CHROOT...
    assert_eq!(inside(&f, &["--chroot"], &script), "chroot EPERM\n");
    // ...whose return is the classic escape (the probe works: it does see the host).
    assert_eq!(
        inside(&f, &["--chroot", "--cap-add", "SYS_CHROOT"], &script),
        "escaped\n"
    );
    f.assert_clean();
}

#[test]
fn host_paths_are_out_of_reach_through_proc_and_inherited_fds() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let marker = f.scratch.join("host-marker");
    std::fs::write(&marker, "host").unwrap();
    let m = marker.display();
    // nsbox is started with the host's / open on fd 42, not close-on-exec.
    let root = std::fs::File::open("/").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&root);
    let volume = format!("{}:/home/probe:ro", probe_bin().display());
    let script = format!(
        "for p in /proc/1/root{m} /proc/self/cwd/../../..{m} /../../..{m} /proc/self/fd/42{m} /proc/1/fd/42{m}; do \
         test -e $p && echo reached $p; done; ls /proc/self/fd | tr '\\n' ' '; \
         grep -c . /proc/1/mountinfo >/dev/null && awk '{{print $5}}' /proc/1/mountinfo | grep -c '^/work\\|^/boot\\|^/run\\|^/tmp$' ; true"
    );
    let mut cmd = f.command(&[
        "--rootfs",
        rootfs().to_str().unwrap(),
        "--tmpfs",
        "/home",
        "-v",
        &volume,
        "--",
        "sh",
        "-c",
        &script,
    ]);
    // SAFETY: dup2 is async-signal-safe; it runs in the forked child before exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(fd, 42) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Nothing reached; only the shell's own fds (0-2, and 3 for ls's directory); no host mount.
    assert_eq!(
        text,
        "0 1 2 3 0\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(root);
    // Control: the same test does see the marker where a volume really puts it.
    let shared = format!("{}:/tmp/shared:ro", f.scratch.display());
    let seen = inside(
        &f,
        &["-v", &shared],
        "test -e /tmp/shared/host-marker && echo seen",
    );
    assert_eq!(seen, "seen\n");
    f.assert_clean();
}

#[test]
fn proc_and_sys_are_masked_and_read_only() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // Masked files read as empty, where the host's do not (those this kernel has).
    let files: Vec<&str> = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/interrupts",
    ]
    .into_iter()
    .filter(|p| Path::new(p).exists())
    .collect();
    assert!(!files.is_empty());
    let host_bytes = std::fs::read("/proc/interrupts").unwrap().len();
    assert!(host_bytes > 0, "the host's /proc/interrupts is not empty");
    let host_entries = ["/proc/acpi", "/sys/firmware"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|d| d.into_iter())
        .count();
    assert!(
        host_entries > 0,
        "the host's /proc/acpi or /sys/firmware has entries"
    );
    let script = format!(
        "for p in {}; do echo $p $(cat $p | wc -c); done; find /proc/acpi /sys/firmware -mindepth 1 | wc -l; \
         for p in /proc/sys/kernel/hostname /proc/sysrq-trigger /proc/irq/default_smp_affinity /sys/kernel/uevent_helper; do \
         test -e $p && {{ echo x > $p; }} 2>&1; done; /home/probe umount /proc/keys",
        files.join(" ")
    );
    let mut expected: String = files.iter().map(|p| format!("{p} 0\n")).collect();
    expected.push_str("0\n");
    for p in [
        "/proc/sys/kernel/hostname",
        "/proc/sysrq-trigger",
        "/proc/irq/default_smp_affinity",
        "/sys/kernel/uevent_helper",
    ] {
        if Path::new(p).exists() {
            expected.push_str(&format!("sh: can't create {p}: Read-only file system\n"));
        }
    }
    expected.push_str("EPERM\n");
    // The masks come after every mount: a limit, a volume, a read-only root, a user namespace
    // (with the host's network, the host's /sys bound), the host's / change none of them.
    let vol = format!("{}:/mnt/vol:ro", f.scratch.display());
    for opts in [
        &[][..],
        &["--pids-limit", "50"],
        &["-v", &vol, "--tmpfs", "/scratch"],
        &["--read-only"],
        &["--userns"],
        &["--userns", "--net", "host"],
        &["--init"],
    ] {
        assert_eq!(inside(&f, opts, &script), expected, "with {opts:?}");
    }
    f.assert_clean();
}

#[test]
fn hostile_rootfs_layouts_are_refused_and_the_host_is_untouched() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let host_dir = f.scratch.join("host-dir");
    std::fs::create_dir(&host_dir).unwrap();
    for (entry, target) in [
        ("dev", host_dir.to_str().unwrap()),
        ("proc", "/"),
        ("sys", "../../etc"),
    ] {
        let r = f.rootfs_copy(&format!("evil-{entry}"));
        let path = r.join(entry);
        if path.is_dir() {
            std::fs::remove_dir(&path).unwrap();
        }
        std::os::unix::fs::symlink(target, &path).unwrap();
        // With a user namespace and the host's network, /sys is the host's, bound: the same
        // refusal holds for a bind.
        for opts in [
            &[][..],
            &["--userns", "--net", "host"],
            &["--read-only"],
            &["--pids-limit", "50"],
        ] {
            let mut args = vec!["-r", r.to_str().unwrap()];
            args.extend_from_slice(opts);
            args.push("true");
            let out = f.run(&args);
            assert_eq!(out.code(), 125, "{entry} -> {target} with {opts:?}");
            assert!(
                out.stderr()
                    .contains(&format!("open mount point \"/{entry}\" in the rootfs")),
                "{opts:?}: {}",
                out.stderr()
            );
            assert!(out.stderr().contains("ELOOP"), "{opts:?}: {}", out.stderr());
        }
        std::fs::remove_dir_all(&r).unwrap();
    }
    assert_eq!(std::fs::read_dir(&host_dir).unwrap().count(), 0);
    f.assert_clean();
}

/// CVE-2019-5736: a process of nsbox's inside the container (the --init, or `nsbox exec`
/// before its execve) has the host's nsbox binary as /proc/PID/exe. Root in the container must
/// not be able to open it (to overwrite the binary), nor the process's descriptors.
#[test]
fn nsbox_processes_in_the_container_cannot_be_opened_through_proc() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let check = |p: &str| {
        format!(
            "cat {p}/exe >/dev/null 2>&1 && echo exe-open || echo exe-denied; \
             readlink {p}/fd/1 >/dev/null 2>&1 && echo fd-open || echo fd-denied; "
        )
    };
    // The init; and, as a control, the shell's own entry, which root may open.
    let script = format!(
        "{} {} cat /proc/1/comm",
        check("/proc/1"),
        check("/proc/$$")
    );
    let out = inside(&f, &["--init"], &script);
    assert_eq!(
        out,
        "exe-denied\nfd-denied\nexe-open\nfd-open\nnsbox:init\n"
    );

    // exec: the joining process is held before its execve (strace delays the call), while a
    // watcher in the container tries to open it. An open counts only if the process was still
    // nsbox's afterwards (once execve is done, its exe is the container's /bin/true).
    let watcher = "while :; do for p in /proc/[0-9]*; do \
        if [ \"$(cat $p/comm 2>/dev/null)\" = nsbox:exec ]; then \
        if cat $p/exe >/dev/null 2>&1; then \
        [ \"$(cat $p/comm 2>/dev/null)\" = nsbox:exec ] && echo OPENED; \
        else echo DENIED; fi; fi; done; done";
    f.detach("watched", &["--", "sh", "-c", watcher]);
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=execve"])
        // Only the execve of /bin/true (-P) is held, for a second.
        .args(["-P", "/bin/true", "-e", "inject=execve:delay_enter=1000000"])
        .arg(nsbox_bin())
        .args(["exec", "--root"])
        .arg(&f.state_root)
        .args(["watched", "/bin/true"])
        .status()
        .expect("strace (scripts/test.sh installs it)");
    assert!(status.success());
    let log = f.manage(&["logs", "watched"]).ok();
    let (denied, opened) = (log.matches("DENIED").count(), log.matches("OPENED").count());
    assert!(denied > 0, "the watcher never saw the joining process");
    assert_eq!(
        opened, 0,
        "root in the container opened nsbox's exe ({denied} denied)"
    );
    f.manage(&["rm", "-f", "watched"]).ok();
    f.assert_clean();
}
