//! The OCI front end driven the way podman (conmon) and containerd's shim drive runc: bundles
//! with a config.json, create/start/state/kill/delete, pid files, JSON error logs. Each config
//! field's effect is checked from inside the container (its output) and on the host.

mod common;

use common::oci::{
    Bundle, CAPS, Config, create_and_start, last_log_msg, oci, output_of, parent_of, status_of,
};
use common::{Fixture, HostSnapshot, Out, nsbox_bin, rootfs, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[test]
fn create_start_state_kill_delete() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "life", false);
    let id = common::unique_id("oci-life");
    b.write(&Config {
        args: &["sh", "-c", "echo started; exec sleep 600"],
        ..Default::default()
    });
    let pid_file = f.scratch.join("pid");
    // create under a subreaper, as conmon and the shim run it; the container keeps create's
    // stdout and stderr, so they are files here (a pipe would stay open after create exits).
    let err = f.scratch.join("create.err");
    let mut reaper = Command::new(common::probe_bin())
        .arg("subreaper")
        .arg(nsbox_bin())
        .arg("--root")
        .arg(&f.state_root)
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(reaper.stdout.take().unwrap()));
    let first = lines.next().unwrap().unwrap();
    assert_eq!(
        first,
        "create ok",
        "{}",
        std::fs::read_to_string(&err).unwrap()
    );
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    // create has exited: the container's first process is the subreaper's now, blocked
    // before execve, and no nsbox process stays.
    assert_eq!(parent_of(pid), reaper.id(), "reparented to the subreaper");
    assert_eq!(status_of(&f, &id), "created");
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "nsbox:child",
        "it has not exec'd its command yet"
    );
    let state = oci(&f, &["state", &id]).ok();
    for field in [
        "\"ociVersion\":\"1.2.0\"",
        &format!("\"id\":\"{id}\""),
        &format!("\"pid\":{pid}"),
        &format!("\"bundle\":\"{}\"", b.dir.display()),
        "\"created\":\"20",
    ] {
        assert!(state.contains(field), "{field} in {state}");
    }
    // A created container is listed, and not started twice; a running one is not deleted
    // without --force (a created one is, as runc does: see delete_of_a_created_container).
    assert!(oci(&f, &["list", "--format", "json"]).ok().contains(&id));
    oci(&f, &["start", &id]).ok();
    wait_until("the command runs", 10, || {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            == "sleep"
    });
    assert_eq!(status_of(&f, &id), "running");
    // The command writes to create's stdout: the caller's (conmon's pipe).
    assert_eq!(lines.next().unwrap().unwrap(), "started");
    let refused = oci(&f, &["delete", &id]);
    assert_ne!(refused.code(), 0);
    assert!(last_log_msg(&f).contains("the container is running"));
    let again = oci(&f, &["start", &id]);
    assert_ne!(again.code(), 0);
    assert!(
        again
            .stderr()
            .contains("the container is running, not created"),
        "{}",
        again.stderr()
    );
    // kill with a number, as podman does: the subreaper reaps the container, killed by 9.
    oci(&f, &["kill", &id, "9"]).ok();
    assert_eq!(lines.next().unwrap().unwrap(), format!("reaped {pid} 9"));
    reaper.wait().unwrap();
    assert_eq!(status_of(&f, &id), "stopped");
    let k = oci(&f, &["kill", &id, "TERM"]);
    assert_ne!(k.code(), 0, "kill of a stopped container fails");
    assert!(
        k.stderr().contains("container not running"),
        "runc's words: {}",
        k.stderr()
    );
    // --all still reaches what the cgroups hold (nothing here): no error.
    assert_eq!(oci(&f, &["kill", "--all", &id, "KILL"]).code(), 0);
    oci(&f, &["delete", &id]).ok();
    let gone = oci(&f, &["state", &id]);
    assert_ne!(gone.code(), 0);
    assert!(
        gone.stderr().contains("does not exist"),
        "{}",
        gone.stderr()
    );
    f.assert_clean();
}

#[test]
fn delete_force_ends_a_running_container_and_its_cgroup() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "force", false);
    let id = common::unique_id("oci-force");
    let cg = format!("/nsbox-oci-test/{id}");
    let linux = format!(
        r#","cgroupsPath":"{cg}","resources":{{"pids":{{"limit":33}},"memory":{{"limit":67108864}},"cpu":{{"quota":25000,"period":50000}}}}"#
    );
    b.write(&Config {
        args: &["sleep", "600"],
        linux: &linux,
        ..Default::default()
    });
    let (pid, _) = create_and_start(&f, &b, &id);
    // The limits are on the host, in the cgroup the config named.
    let host = |ctrl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctrl}{cg}/{file}"))
            .unwrap_or_else(|e| panic!("{ctrl}{cg}/{file}: {e}"))
    };
    if Path::new("/sys/fs/cgroup/pids").is_dir() {
        assert_eq!(host("pids", "pids.max").trim(), "33");
        assert_eq!(host("memory", "memory.limit_in_bytes").trim(), "67108864");
        assert_eq!(
            host("cpu", "cpu.cfs_quota_us").trim(),
            "50000",
            "25 ms per 50 ms is 50 ms per 100 ms"
        );
        assert!(
            host("pids", "cgroup.procs")
                .lines()
                .any(|l| l.trim() == pid.to_string())
        );
    } else {
        assert_eq!(host("", "pids.max").trim(), "33");
        assert_eq!(host("", "memory.max").trim(), "67108864");
        assert!(
            host("", "cgroup.procs")
                .lines()
                .any(|l| l.trim() == pid.to_string())
        );
    }
    oci(&f, &["delete", "--force", &id]).ok();
    assert!(
        !Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z")
    );
    for ctrl in ["pids", "memory", "cpu", "unified", ""] {
        assert!(
            !Path::new(&format!("/sys/fs/cgroup/{ctrl}{cg}")).exists(),
            "cgroup {ctrl}{cg} left"
        );
    }
    // The parent the config named is the caller's, as with runc: the test takes it away, in
    // every hierarchy this host has (cpu and cpuacct apart, or together), and checks it could.
    let hierarchies = std::fs::read_dir("/sys/fs/cgroup").unwrap();
    for dir in hierarchies
        .map(|e| e.unwrap().path())
        .chain([PathBuf::from("/sys/fs/cgroup")])
    {
        let parent = dir.join("nsbox-oci-test");
        if parent.exists() {
            std::fs::remove_dir(&parent).unwrap_or_else(|e| panic!("remove {parent:?}: {e}"));
        }
    }
    f.assert_clean();
}

/// `bind` attaches the source's mount alone, `rbind` the mounts below it too (runc's meaning).
#[test]
fn a_bind_is_one_mount_and_an_rbind_the_tree_below_it() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "binds", false);
    let tree = f.scratch.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/under"), "the tree's own file\n").unwrap();
    let mounts = format!(
        r#",{{"destination":"/mnt/one","type":"bind","source":"{t}","options":["bind"]}},
           {{"destination":"/mnt/all","type":"bind","source":"{t}","options":["rbind"]}},
           {{"destination":"/mnt/both","type":"bind","source":"{t}","options":["bind","rbind"]}}"#,
        t = tree.display()
    );
    b.write(&Config {
        args: &[
            "sh",
            "-c",
            "ls /mnt/one/sub; echo -; ls /mnt/all/sub; ls /mnt/both/sub",
        ],
        mounts: &mounts,
        ..Default::default()
    });
    // A mount below the source, made in a mount namespace of the test's own (the host never
    // sees it), from which nsbox runs the container.
    let id = common::unique_id("oci-binds");
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "mount -t tmpfs -o size=16k nsbox-test-sub \"$1\" && echo x > \"$1/mounted\" && \
             exec \"$2\" --root \"$3\" run -b \"$4\" \"$5\"",
        )
        .arg("sh")
        .arg(tree.join("sub"))
        .arg(common::nsbox_bin())
        .arg(&f.state_root)
        .arg(&b.dir)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "under\n-\nmounted\nmounted\n",
        "bind shows the directory under the submount, rbind (anywhere in the options) the submount; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    f.assert_clean();
}

#[test]
fn config_fields_take_effect_inside() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "fields", true);
    let vol = f.scratch.join("vol");
    std::fs::create_dir_all(&vol).unwrap();
    std::fs::write(vol.join("marker"), "from the host\n").unwrap();
    let mounts = format!(
        r#",{{"destination":"/mnt/ro","type":"bind","source":"{}","options":["rbind","ro","nosuid","nodev"]}},
           {{"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["size=1m","mode=700"]}}"#,
        vol.display()
    );
    let script = "hostname; cat /proc/sys/kernel/domainname; id -u; id -g; id -G; umask; ulimit -n; \
        grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; cat /proc/self/oom_score_adj; pwd; echo $FOO; \
        cat /mnt/ro/marker; grep -c '^[^ ]* /mnt/ro [^ ]* ro,' /proc/self/mounts; \
        stat -c '%a' /scratch; df -k /scratch | tail -1 | awk '{print $2}'; \
        wc -c < /proc/timer_list; grep -c '^[^ ]* /proc/sys [^ ]* ro,' /proc/self/mounts; \
        cat /proc/sys/kernel/shmmni; ip -o link | wc -l; grep -c '^[^ ]* / [^ ]* ro,' /proc/self/mounts; echo end";
    let process = r#","user":{"uid":1000,"gid":1001,"umask":23,"additionalGids":[2000,2001]},"env":["PATH=/bin:/sbin:/usr/bin","FOO=bar"]"#;
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-fields"),
        Config {
            args: &["sh", "-c", script],
            top: r#""domainname":"example.test","#,
            linux: r#","sysctl":{"kernel.shmmni":"1234"}"#,
            mounts: &mounts,
            readonly: true,
            // The base's user, env and cwd come first: these later members replace them.
            process: &format!(r#"{process},"oomScoreAdj":123,"cwd":"/tmp""#),
            ..Default::default()
        },
    );
    let lines: Vec<&str> = out.lines().collect();
    let expect = [
        "ocibox",
        "example.test",
        "1000",
        "1001",
        "1001 2000 2001",
        "0027",
        "1024",
        "CapEff:\t0000000000000000",
        "NoNewPrivs:\t1",
        "123",
        "/tmp",
        "bar",
        "from the host",
        "1",
        "700",
        "1024",
        "0",
        "1",
        "1234",
        "1",
        "1",
        "end",
    ];
    assert_eq!(lines, expect, "full output:\n{out}");
    f.assert_clean();
}

/// An allow list as long as real ones, every call with a rule of its own whose check (a mask
/// of 0) always holds, on an argument that changes from one number to the next: no two
/// neighbours share a body, so the filter is well over 255 instructions and its search
/// reaches the bodies with far jumps. Everything runs but mkdir, which gets EPERM.
#[test]
fn a_long_allow_list_reaches_every_rule() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "allowlist", false);
    let rules: Vec<String> = syscalls::Sysno::iter()
        .filter(|s| !matches!(s.name(), "mkdir" | "mkdirat"))
        .map(|s| {
            format!(
                r#"{{"names":["{}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":{},"value":0,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}}]}}"#,
                s.name(),
                s.id() % 6
            )
        })
        .collect();
    assert!(rules.len() > 300, "{} calls", rules.len());
    let linux = format!(
        r#","seccomp":{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{}]}}"#,
        rules.join(",")
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-allowlist"),
        Config {
            args: &[
                "sh",
                "-c",
                "mkdir /dev/shm/d 2>&1; ls /dev/shm | wc -l; echo end",
            ],
            linux: &linux,
            ..Default::default()
        },
    );
    assert!(
        out.contains("Operation not permitted") && out.ends_with("0\nend\n"),
        "mkdir refused, the rest allowed: {out}"
    );
    f.assert_clean();
}

/// A user other than root given an inheritable set and no permitted one starts with it (nsbox
/// keeps its permitted set through the uid change, so that capset may give it).
#[test]
fn a_user_with_only_inheritable_capabilities_starts() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "inheritable", false);
    let process = r#","user":{"uid":1000,"gid":1000},"capabilities":{"bounding":["CAP_KILL","CAP_CHOWN"],"inheritable":["CAP_KILL"]}"#;
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-inh"),
        Config {
            args: &[
                "sh",
                "-c",
                "grep -E '^Cap(Inh|Prm|Eff|Bnd)' /proc/self/status",
            ],
            process,
            ..Default::default()
        },
    );
    assert_eq!(
        out,
        "CapInh:\t0000000000000020\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000021\n"
    );
    f.assert_clean();
}

#[test]
fn seccomp_profile_and_capabilities_hold() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "seccomp", false);
    let linux = r#","seccomp":{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
        {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
        {"names":["uname"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":0,"value":0,"op":"SCMP_CMP_NE"}]}]}"#;
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-seccomp"),
        Config {
            args: &[
                "sh",
                "-c",
                "mkdir /dev/shm/d 2>&1; uname -s 2>&1; grep CapBnd /proc/self/status; echo end",
            ],
            linux,
            ..Default::default()
        },
    );
    assert!(
        out.contains("Operation not permitted"),
        "mkdir refused with errnoRet 1: {out}"
    );
    assert!(!out.contains("Linux"), "uname refused: {out}");
    assert!(
        out.contains("CapBnd:\t00000000800405fb"),
        "the bounding set is the config's 11: {out}"
    );
    f.assert_clean();
}

/// The device rules of an OCI config, checked from inside: a node the rules deny cannot be
/// made, nsbox's own nodes and the config's devices stay usable.
fn device_rules_hold(
    f: &Fixture,
    b: &Bundle,
    id: &str,
    run: impl FnOnce(&Fixture, &Bundle, &str, Config<'_>) -> String,
) {
    let caps = CAPS.replace("\"CAP_KILL\"", "\"CAP_KILL\",\"CAP_MKNOD\"");
    let process =
        format!(r#","capabilities":{{"bounding":{caps},"effective":{caps},"permitted":{caps}}}"#);
    let linux = format!(
        r#","cgroupsPath":"/nsbox-oci-dev/{id}","resources":{{"devices":[{{"allow":false,"access":"rwm"}}]}},"devices":[{{"path":"/dev/fuse","type":"c","major":10,"minor":229}}]"#
    );
    let out = run(
        f,
        b,
        id,
        Config {
            args: &[
                "sh",
                "-c",
                "mknod /dev/kmsg2 c 1 11 2>/dev/null && echo kmsg-made || echo kmsg-denied; \
                mknod /dev/null2 c 1 3 && echo null-made; echo x > /dev/null && echo null-ok; ls /dev/fuse",
            ],
            process: &process,
            linux: &linux,
            ..Default::default()
        },
    );
    assert_eq!(out, "kmsg-denied\nnull-made\nnull-ok\n/dev/fuse\n", "{out}");
    for ctrl in ["devices", "unified", "systemd", ""] {
        let _ = std::fs::remove_dir(format!("/sys/fs/cgroup/{ctrl}/nsbox-oci-dev"));
    }
    f.assert_clean();
}

#[test]
fn device_rules_are_enforced_by_the_v1_controller() {
    if !common::can_run() {
        return;
    }
    if !Path::new("/sys/fs/cgroup/devices").is_dir() {
        common::skip("no v1 devices hierarchy on this host (the v2 test covers the BPF program)");
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "devices", false);
    device_rules_hold(&f, &b, &common::unique_id("oci-devices"), output_of);
}

/// On cgroup v2 (here: a mount namespace that sees only the cgroup2 hierarchy, as a pure v2
/// host does), the rules are a BPF program nsbox writes and attaches to the container's cgroup.
#[test]
fn device_rules_are_enforced_by_a_bpf_program_on_cgroup_v2() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "devices-v2", false);
    let pure_v2 = |f: &Fixture, b: &Bundle, id: &str, c: Config<'_>| -> String {
        b.write(&c);
        let out = Out(Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(
                "umount -R -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && \
                 exec \"$0\" --root \"$1\" run --bundle \"$2\" \"$3\"",
            )
            .arg(nsbox_bin())
            .arg(&f.state_root)
            .arg(&b.dir)
            .arg(id)
            .output()
            .unwrap());
        assert_eq!(out.code(), 0, "{}", out.stderr());
        out.stdout()
    };
    device_rules_hold(&f, &b, &common::unique_id("oci-devices-v2"), pure_v2);
}

#[test]
fn ambient_capabilities_reach_a_non_root_user() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "ambient", false);
    let nbs = r#"["CAP_NET_BIND_SERVICE"]"#;
    let process = format!(
        r#","user":{{"uid":1000,"gid":1000}},"capabilities":{{"bounding":{CAPS},"effective":{nbs},"permitted":{nbs},"inheritable":{nbs},"ambient":{nbs}}}"#
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-ambient"),
        Config {
            args: &["sh", "-c", "grep -E '^Cap(Inh|Eff|Amb)' /proc/self/status"],
            process: &process,
            ..Default::default()
        },
    );
    assert_eq!(
        out, "CapInh:\t0000000000000400\nCapEff:\t0000000000000400\nCapAmb:\t0000000000000400\n",
        "uid 1000 keeps NET_BIND_SERVICE through execve, and nothing else"
    );
    // An ambient capability that is not inheritable cannot be raised (runc's default config
    // asks for such): it is left out, never more is given.
    let not_inh = format!(
        r#","user":{{"uid":1000,"gid":1000}},"capabilities":{{"bounding":{CAPS},"permitted":{nbs},"ambient":{nbs}}}"#
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-ambient2"),
        Config {
            args: &["sh", "-c", "grep -E '^Cap(Eff|Amb)' /proc/self/status"],
            process: &not_inh,
            ..Default::default()
        },
    );
    assert_eq!(
        out,
        "CapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n"
    );
    f.assert_clean();
}

#[test]
fn namespaces_are_new_or_joined_by_path() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "ns", false);
    let ns = common::NetNs::new();
    ns.sh("ip link add oci-join0 type veth peer name oci-join1")
        .ok();
    let joined = format!(
        r#"[{{"type":"pid"}},{{"type":"network","path":"{}"}},{{"type":"ipc"}},{{"type":"uts"}},{{"type":"mount"}}]"#,
        ns.path()
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-netjoin"),
        Config {
            args: &["sh", "-c", "ip -o link | grep -c ' oci-join0@'; echo $$"],
            namespaces: Some(&joined),
            ..Default::default()
        },
    );
    assert_eq!(
        out, "1\n1\n",
        "the joined network namespace's link shows; the pid namespace is new"
    );
    // A pid namespace joined by path, as a pod's app container joins its sandbox's: the
    // sandbox here is a native detached container.
    f.detach("oci-sandbox", &["sleep", "600"]);
    let inner = common::first_pid(&f.manage(&["ps", "--json"]).ok());
    let pidns = format!(
        r#"[{{"type":"pid","path":"/proc/{inner}/ns/pid"}},{{"type":"ipc"}},{{"type":"uts"}},{{"type":"mount"}}]"#
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-pidjoin"),
        Config {
            args: &["sh", "-c", "echo $$; ps -o comm | grep -c sleep"],
            namespaces: Some(&pidns),
            ..Default::default()
        },
    );
    f.manage(&["rm", "-f", "oci-sandbox"]).ok();
    let first: u32 = out.lines().next().unwrap_or("").parse().unwrap_or(0);
    assert!(first > 1, "not PID 1 in a joined pid namespace: {out}");
    assert_eq!(
        out.lines().nth(1),
        Some("1"),
        "it sees the namespace's sleep: {out}"
    );
    f.assert_clean();
}

#[test]
fn run_returns_the_exit_code_and_leaves_nothing() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "run", false);
    b.write(&Config {
        args: &["sh", "-c", "exit 42"],
        ..Default::default()
    });
    let id = common::unique_id("oci-run");
    let out = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(out.code(), 42, "{}", out.stderr());
    f.assert_clean();
}

#[test]
fn the_process_gets_the_callers_signal_mask() {
    if !common::can_run() {
        return;
    }
    // nsbox blocks its signals and re-executes itself before it reads the config: the
    // caller's mask still reaches the container's process, not nsbox's.
    let f = Fixture::new();
    let b = Bundle::new(&f, "mask", false);
    b.write(&Config {
        args: &["grep", "SigBlk", "/proc/self/status"],
        ..Default::default()
    });
    let blocked = |block_usr1: bool| {
        let out = f.scratch.join(format!("mask.{block_usr1}"));
        let mut cmd = Command::new(common::nsbox_bin());
        cmd.arg("--root")
            .arg(&f.state_root)
            .args(["run", "--bundle", b.dir.to_str().unwrap()])
            .arg(common::unique_id("oci-mask"))
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap());
        if block_usr1 {
            common::with_usr1_blocked(&mut cmd);
        }
        assert!(cmd.status().unwrap().success());
        std::fs::read_to_string(&out).unwrap()
    };
    assert_eq!(blocked(false), "SigBlk:\t0000000000000000\n");
    assert_eq!(blocked(true), "SigBlk:\t0000000000000200\n");
    f.assert_clean();
}

#[test]
fn bad_input_is_one_line_and_leaves_nothing() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "bad", false);
    let bundle = b.dir.to_str().unwrap().to_string();
    let create = |id: &str| oci(&f, &["create", "--bundle", &bundle, id]);
    let expect = |out: Out, needle: &str| {
        assert_ne!(out.code(), 0, "{needle}");
        assert_eq!(
            out.stderr().lines().count(),
            1,
            "one line: {}",
            out.stderr()
        );
        assert!(
            out.stderr().contains(needle),
            "{needle:?} in {}",
            out.stderr()
        );
        let in_json = needle.replace('"', "\\\"");
        assert!(
            last_log_msg(&f).contains(&in_json),
            "{in_json:?} in the log"
        );
    };
    expect(create("x1"), "cannot read config.json");
    std::fs::write(
        b.dir.join("config.json"),
        "{\n  \"ociVersion\": \"1.0.2\",\n  \"root\" {}\n}",
    )
    .unwrap();
    expect(create("x2"), "line 3 column 10");
    let good = Config {
        args: &["true"],
        ..Default::default()
    }
    .text(&b.root);
    for (from, to, needle) in [
        (
            "\"ociVersion\":\"1.0.2-dev\"",
            "\"ociVersion\":\"2.0.0\"",
            "ociVersion: version \"2.0.0\"",
        ),
        (
            "\"cwd\":\"/\"",
            "\"cwd\":\"tmp\"",
            "process.cwd: must be an absolute path",
        ),
        (
            "\"hostname\"",
            "\"hooks\":{\"prestart\":[{\"path\":\"bin/true\"}]},\"hostname\"",
            "hooks.prestart[0].path: must be an absolute path",
        ),
        (
            "\"type\":\"mqueue\"",
            "\"type\":\"nfs\"",
            "mounts[4].type: not supported",
        ),
        (
            "\"RLIMIT_NOFILE\"",
            "\"RLIMIT_BOGUS\"",
            "process.rlimits[0].type",
        ),
        (
            "\"noNewPrivileges\":true",
            "\"noNewPrivileges\":true,\"apparmorProfile\":\"x\"",
            "process.apparmorProfile: not supported",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        std::fs::write(b.dir.join("config.json"), good.replacen(from, to, 1)).unwrap();
        expect(create("x3"), needle);
    }
    std::fs::write(
        b.dir.join("config.json"),
        good.replace("\"root\":{\"path\"", "\"rooot\":{\"path\""),
    )
    .unwrap();
    expect(create("x4"), "the member \"root\" is missing");
    std::fs::write(b.dir.join("config.json"), &good).unwrap();
    expect(create("../x"), "container id \"../x\"");
    expect(create("a/b"), "container id \"a/b\"");
    expect(oci(&f, &["start", "nosuch"]), "does not exist");
    expect(oci(&f, &["state", "nosuch"]), "does not exist");
    expect(oci(&f, &["kill", "nosuch", "9"]), "does not exist");
    expect(oci(&f, &["delete", "nosuch"]), "does not exist");
    // --force: deleted already (podman deletes a container whose create failed).
    let forced = oci(&f, &["delete", "--force", "nosuch"]);
    assert_eq!((forced.code(), forced.stderr()), (0, String::new()));
    expect(oci(&f, &["kill", "nosuch", "NOPE"]), "signal \"NOPE\"");
    expect(
        oci(
            &f,
            &["--systemd-cgroup", "create", "--bundle", &bundle, "x5"],
        ),
        "--systemd-cgroup",
    );
    // A command that is not in the rootfs fails `create` itself (as runc's does: podman and
    // containerd report it from create), with runc's words; so does one that cannot run.
    for (args, needle) in [
        (&["nosuchcmd"][..], "executable file not found in $PATH"),
        (&["/bin/nosuch"][..], "no such file or directory"),
        (&["/etc/passwd"][..], "permission denied"),
    ] {
        b.write(&Config {
            args,
            ..Default::default()
        });
        let out = create("x6");
        expect(out, needle);
    }
    std::fs::write(b.dir.join("config.json"), &good).unwrap();
    // The same id twice: the second create fails, the first stays as it was.
    let id = common::unique_id("oci-twice");
    oci(&f, &["create", "--bundle", &bundle, &id]).ok();
    expect(create(&id), "already exists");
    assert_eq!(status_of(&f, &id), "created");
    oci(&f, &["delete", "--force", &id]).ok();
    f.assert_clean();
}

#[test]
fn host_descriptors_never_reach_the_oci_container() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "fds", false);
    let marker = f.scratch.join("host-marker");
    std::fs::write(&marker, "host").unwrap();
    for fd in 3..8 {
        b.write(&Config {
            args: &["sh", "-c", "ls ../../../.. ; cat ../../../../host-marker"],
            process: &format!(r#","cwd":"/proc/self/fd/{fd}""#),
            ..Default::default()
        });
        let id = format!("{}-{fd}", common::unique_id("oci-fd"));
        // The caller leaks descriptors 3-7 of a host directory, as CVE-2024-21626's did.
        let line = format!(
            "exec 3<{s} 4<{s} 5<{s} 6<{s} 7<{s}; {bin} --root {root} run --bundle {bundle} {id}",
            s = f.scratch.display(),
            bin = nsbox_bin(),
            root = f.state_root.display(),
            bundle = b.dir.display(),
        );
        let out = Out(Command::new("sh")
            .args(["-c", &line])
            .stdin(Stdio::null())
            .output()
            .unwrap());
        assert_ne!(out.code(), 0, "fd {fd}: {}", out.stdout());
        assert!(
            !out.stdout().contains("host"),
            "fd {fd} led out: {}",
            out.stdout()
        );
        assert!(
            out.stderr().contains("working directory") || out.stderr().contains("chdir"),
            "fd {fd}: {}",
            out.stderr()
        );
    }
    f.assert_clean();
}

#[test]
fn time_namespace_offsets_and_personality() {
    if !common::can_run() {
        return;
    }
    let uptime = |text: &str| -> f64 {
        text.split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0)
    };
    let f = Fixture::new();
    let b = Bundle::new(&f, "time", false);
    let ns = r#"[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"time"}]"#;
    let before = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-time"),
        Config {
            args: &["sh", "-c", "cat /proc/uptime; uname -m"],
            namespaces: Some(ns),
            linux: r#","timeOffsets":{"boottime":{"secs":86400,"nanosecs":5},"monotonic":{"secs":-5}},"personality":{"domain":"LINUX32"}"#,
            ..Default::default()
        },
    );
    let after = uptime(&std::fs::read_to_string("/proc/uptime").unwrap());
    let inside = uptime(&out);
    assert!(
        inside >= before + 86400.0 && inside <= after + 86400.0,
        "the boot time is a day later inside ({inside}; host {before}..{after}): {out}"
    );
    assert_eq!(out.lines().nth(1), Some("i686"), "LINUX32: {out}");
    // Joined by path: the time namespace of a process made with unshare(1).
    let mut holder = Command::new("unshare")
        .args(["--time", "--boottime", "500000", "sleep", "600"])
        .spawn()
        .unwrap();
    let path = format!("/proc/{}/ns/time", holder.id());
    wait_until("unshare's time namespace", 5, || {
        std::fs::read_link(&path).ok() != std::fs::read_link("/proc/self/ns/time").ok()
    });
    let joined = format!(
        r#"[{{"type":"pid"}},{{"type":"ipc"}},{{"type":"uts"}},{{"type":"mount"}},{{"type":"time","path":"{path}"}}]"#
    );
    let out = output_of(
        &f,
        &b,
        &common::unique_id("oci-timejoin"),
        Config {
            args: &["cat", "/proc/uptime"],
            namespaces: Some(&joined),
            ..Default::default()
        },
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(uptime(&out) >= before + 500000.0, "joined: {out}");
    // Offsets need a time namespace of the container's own.
    b.write(&Config {
        args: &["true"],
        linux: r#","timeOffsets":{"boottime":{"secs":1}}"#,
        ..Default::default()
    });
    let bad = oci(
        &f,
        &["run", "--bundle", b.dir.to_str().unwrap(), "oci-time-bad"],
    );
    assert_ne!(bad.code(), 0);
    assert!(
        bad.stderr()
            .contains("linux.timeOffsets: needs a time namespace"),
        "{}",
        bad.stderr()
    );
    f.assert_clean();
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "console", false);
    let id = common::unique_id("oci-console");
    let socket = f.scratch.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    b.write(&Config {
        args: &["sh", "-c", "tty; stty size; echo done"],
        process: r#","terminal":true,"consoleSize":{"height":33,"width":101}"#,
        ..Default::default()
    });
    let dir = b.dir.to_str().unwrap();
    let sock = socket.to_str().unwrap();
    oci(
        &f,
        &["create", "--bundle", dir, "--console-socket", sock, &id],
    )
    .ok();
    let (stream, _) = listener.accept().unwrap();
    let master = common::oci::receive_fd(&stream);
    oci(&f, &["start", &id]).ok();
    // Everything the container wrote, until its last slave descriptor closes (EIO).
    let text = common::oci::read_pty(master);
    assert_eq!(
        text, "/dev/pts/0\n33 101\ndone\n",
        "the pty is the container's, with the config's size"
    );
    wait_until("the container stopped", 10, || {
        status_of(&f, &id) == "stopped"
    });
    oci(&f, &["delete", &id]).ok();
    // Bad input: one line, nothing left.
    let file = f.scratch.join("not-a-socket");
    std::fs::write(&file, "").unwrap();
    for (args, why) in [
        (
            vec!["--console-socket", file.to_str().unwrap()],
            "not a socket",
        ),
        (vec![], "a terminal needs --console-socket"),
    ] {
        let mut all = vec!["create", "--bundle", dir];
        all.extend(args);
        all.push("oci-console-bad");
        let out = oci(&f, &all);
        assert_ne!(out.code(), 0);
        assert!(out.stderr().contains(why), "{}", out.stderr());
    }
    b.write(&Config {
        args: &["true"],
        ..Default::default()
    });
    let out = oci(
        &f,
        &[
            "create",
            "--bundle",
            dir,
            "--console-socket",
            sock,
            "oci-console-bad",
        ],
    );
    assert!(out.stderr().contains("has no terminal"), "{}", out.stderr());
    f.assert_clean();
}

#[test]
fn spec_and_features() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "spec", false);
    let out = Out(Command::new(nsbox_bin())
        .arg("spec")
        .current_dir(&b.dir)
        .output()
        .unwrap());
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let config = std::fs::read_to_string(b.dir.join("config.json")).unwrap();
    let compact = config.replace([' ', '\n'], "");
    assert!(
        compact.contains("\"ociVersion\":\"1.2.0\"") && compact.contains("\"path\":\"rootfs\""),
        "{config}"
    );
    let again = Out(Command::new(nsbox_bin())
        .arg("spec")
        .current_dir(&b.dir)
        .output()
        .unwrap());
    assert_ne!(again.code(), 0, "spec does not overwrite config.json");
    // The default config runs as written, on a bundle with the rootfs beside it.
    std::os::unix::fs::symlink(rootfs(), b.dir.join("rootfs")).unwrap();
    assert!(config.contains("\"args\": [\"sh\"]"), "{config}");
    let text = config.replace(
        "\"args\": [\"sh\"]",
        "\"args\": [\"sh\",\"-c\",\"echo default-ok\"]",
    );
    std::fs::write(b.dir.join("config.json"), text).unwrap();
    let id = common::unique_id("oci-spec");
    let run = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "default-ok\n");
    let features = Out(Command::new(nsbox_bin()).arg("features").output().unwrap()).ok();
    for part in [
        "\"ociVersionMax\":\"1.2.0\"",
        "\"SCMP_CMP_MASKED_EQ\"",
        "\"rbind\"",
        "\"systemd\":false",
    ] {
        assert!(features.contains(part), "{part} in {features}");
    }
    let version = Out(Command::new(nsbox_bin()).arg("--version").output().unwrap()).ok();
    assert!(
        version.starts_with("nsbox version ") && version.contains("\nspec: 1.2.0\n"),
        "{version}"
    );
    let _ = HostSnapshot::take();
    f.assert_clean();
}

#[test]
fn the_readmes_oci_example_runs_as_written() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split_once("OCI example (as root, after `scripts/mkrootfs.sh ./rootfs`):\n\n")
        .expect("the README has its OCI example")
        .1
        .split("\n\n")
        .next()
        .unwrap();
    let script: Vec<&str> = block
        .lines()
        .map(|l| l.strip_prefix("    ").expect("indented"))
        .collect();
    assert!(script.len() >= 4, "{block}");
    let work = f.scratch.join("readme");
    std::fs::create_dir_all(&work).unwrap();
    // `cp -a rootfs ...` copies the rootfs that mkrootfs.sh made: a copy of the shared one here.
    let made = Command::new("cp")
        .arg("-a")
        .arg(rootfs())
        .arg(work.join("rootfs"))
        .status()
        .unwrap();
    assert!(made.success());
    let bin_dir = Path::new(nsbox_bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Each command of an `a && b` line on its own, so that `sh -e` stops at any that fails.
    let out = Out(Command::new("sh")
        .args(["-ec", &script.join("\n").replace(" && ", "\n")])
        .current_dir(&work)
        .env("PATH", path)
        .env("NSBOX_ROOT", &f.state_root)
        .stdin(Stdio::null())
        .output()
        .unwrap());
    assert_eq!(out.code(), 0, "{}\n{}", out.stdout(), out.stderr());
    assert!(
        out.stdout().contains("\"status\":\"created\""),
        "{}",
        out.stdout()
    );
    assert!(
        out.stdout().contains("\"status\":\"running\""),
        "{}",
        out.stdout()
    );
    assert!(!work.join("bundle").exists());
    f.assert_clean();
}

/// A config's masks in any order: a later one may hide an earlier one (the chain of masks
/// then starts again from /dev/null), and /sys paths of a config without a /sys mount are
/// masked beneath the rootfs like any other path.
#[test]
fn masks_in_any_order_and_without_a_sys_mount() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    // Its own rootfs: without a /sys mount, the cgroup mount point is made in the image.
    let b = Bundle::new(&f, "masks", true);
    let id = common::unique_id("oci-masks");
    let mut config = Config {
        args: &["sh", "-c", "wc -c < /proc/version; ls /proc/sys | wc -l"],
        ..Default::default()
    }
    .text(&b.root);
    let masked = r#""maskedPaths":["/proc/sys/kernel/hostname","/proc/sys","/proc/version","/sys/firmware"],"#;
    config = config.replacen(r#""maskedPaths":["#, &format!("{masked}\"unused\":["), 1);
    // No /sys mount in this config.
    config = config.replace(
        r#" {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},"#,
        "",
    );
    std::fs::write(b.dir.join("config.json"), &config).unwrap();
    let out = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(out.stdout(), "0\n0\n", "/proc/version and /proc/sys masked");
    f.assert_clean();
}

/// `delete` without --force of a created container kills and removes it, as runc does
/// (containerd's shim deletes a created task so).
#[test]
fn delete_of_a_created_container() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "created", false);
    let id = common::unique_id("oci-created");
    b.write(&Config {
        args: &["sleep", "600"],
        ..Default::default()
    });
    let bundle = b.dir.to_str().unwrap().to_string();
    oci(&f, &["create", "--bundle", &bundle, &id]).ok();
    assert_eq!(status_of(&f, &id), "created");
    oci(&f, &["delete", &id]).ok();
    assert!(oci(&f, &["state", &id]).stderr().contains("does not exist"));
    f.assert_clean();
}
