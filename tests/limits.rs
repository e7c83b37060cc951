//! Resource limits with cgroups, as root on this host's real cgroup layout (hybrid here and
//! in CI; the v2-only paths are unit-tested with injected layouts).

mod common;
use common::*;
use std::time::Duration;

/// A value from a cgroup file inside the container, whichever layout (v1 dir or v2 root).
fn inside(file: &str) -> String {
    let ctrl = file.split('.').next().unwrap();
    format!("$(cat /sys/fs/cgroup/{ctrl}/{file} 2>/dev/null || cat /sys/fs/cgroup/{file})")
}

#[test]
fn a_fork_bomb_stays_inside_pids_limit() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("bomb");
    // A bounded bomb (2^9 processes at most, each sleeping), so that even a broken limit
    // could not hurt the host; with the limit, forks fail once 20 processes exist.
    // The counts are read with the shell's builtin `read`: a fork for $(cat ...) could itself
    // be refused while the bomb's last processes are still there.
    // (v1 or hybrid: pids/FILE in the view; v2: FILE at its top.)
    let read = |var: &str, f: &str| {
        format!(
            "{{ read {var} < /sys/fs/cgroup/pids/{f} || read {var} < /sys/fs/cgroup/{f}; }} 2>/dev/null"
        )
    };
    // The bomb runs in a subshell: a shell that cannot fork (its own `sleep`, once the bomb
    // has taken every pid) exits with 2, and the one that reads the counts must not be it.
    let script = format!(
        "b() {{ if [ $1 -gt 0 ]; then b $(($1-1)) & b $(($1-1)) & fi; sleep 2; }}; \
         (b 8) 2>/dev/null; {}; {}; echo current=$c events=\"$e\"",
        read("c", "pids.current"),
        read("e", "pids.events")
    );
    let out = f
        .run(&[
            "--name",
            &id,
            "--pids-limit",
            "20",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .ok();
    let current: u32 = out
        .split("current=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pids.current in {out:?}"));
    assert!(current <= 20, "{current} processes in the container: {out}");
    let refused: u64 = out
        .split("max ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(refused > 0, "no fork was refused: {out}");
    // The host forks as usual meanwhile and afterwards.
    assert!(
        std::process::Command::new("true")
            .status()
            .unwrap()
            .success()
    );
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    f.assert_clean();
}

#[test]
fn a_memory_hog_is_killed_with_137_and_says_out_of_memory() {
    if !can_run() {
        return;
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let swap_on = meminfo
        .lines()
        .any(|l| l.starts_with("SwapTotal:") && !l.ends_with(" 0 kB"));
    let swap_limited = std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
        .exists()
        || std::path::Path::new("/sys/fs/cgroup/unified").exists()
        || std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    if swap_on && !swap_limited {
        skip("swap is on and not accounted (no memory.memsw): the hog would swap, not die");
        return;
    }
    let f = Fixture::new();
    let id = unique_id("hog");
    // PID 1 (sh) keeps 100 MB in a variable: the biggest process in the cgroup, so the
    // kernel's OOM killer picks it.
    let out = f.run(&[
        "--name",
        &id,
        "-m",
        "32m",
        "--",
        "sh",
        "-c",
        "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived",
    ]);
    assert_eq!(out.code(), 137, "stderr: {}", out.stderr());
    assert_eq!(
        out.stderr(),
        "nsbox: container killed: out of memory (limit 32 MiB)\n"
    );
    assert!(!out.stdout().contains("survived"));
    assert!(cgroup_dirs(&id).is_empty());
    f.assert_clean();
}

#[test]
fn cpus_half_gives_about_half_a_core() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // A busy loop for 2 s of wall time; its CPU time (utime + stime, in 1/100 s) from its
    // /proc stat before it is killed, and the throttling count of the cgroup.
    let script = format!(
        "while :; do :; done & p=$!; sleep 2; \
         set -- $(cat /proc/$p/stat); kill $p; \
         echo ticks=$(( ${{14}} + ${{15}} )) {}",
        inside("cpu.stat")
    );
    let out = f.run(&["--cpus", "0.5", "--", "sh", "-c", &script]).ok();
    let ticks: u64 = out
        .split("ticks=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ticks in {out:?}"));
    // Half a core over 2 s is 100 ticks; a whole core would be 200 (and is, without the
    // limit). Loose bounds: the CI machine has 2 cores and other tests run beside this one,
    // which can only lower the figure.
    assert!((10..=140).contains(&ticks), "{ticks} ticks: {out}");
    assert!(out.contains("nr_throttled"), "no cpu.stat: {out}");
    f.assert_clean();
}

#[test]
fn cpuset_pins_the_container() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f
        .run(&[
            "--cpuset",
            "0",
            "--",
            "grep",
            "Cpus_allowed_list",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(out.split_whitespace().nth(1), Some("0"), "{out}");
    f.assert_clean();
}

#[test]
fn the_container_sees_its_own_cgroups_at_root_read_only() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let script = format!(
        "grep -c ':/$' /proc/self/cgroup; wc -l < /proc/self/cgroup; \
         echo max={} mem={}; mkdir /sys/fs/cgroup/pids/sub 2>/dev/null || echo refused",
        inside("pids.max"),
        inside("memory.limit_in_bytes").replace(") || ", ") || cat /sys/fs/cgroup/memory.max || ")
    );
    let out = f
        .run(&["--pids-limit", "7", "-m", "64m", "--", "sh", "-c", &script])
        .ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], lines[1], "every hierarchy at '/': {out}");
    // The values of its own cgroups: it joined them.
    assert_eq!(lines[2], "max=7 mem=67108864");
    // A writable cgroupfs would take the mkdir (a new child cgroup).
    assert_eq!(lines[3], "refused");
    f.assert_clean();
}

#[test]
fn cgroups_exist_while_running_and_go_after_exit_kill_and_failed_setup() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // Killed from the host.
    let id = unique_id("life");
    let mut child = f.spawn(&[
        "--name",
        &id,
        "--pids-limit",
        "10",
        "-m",
        "32m",
        "sleep",
        "100",
    ]);
    let pid = container_pid(child.id());
    let dirs = cgroup_dirs(&id);
    assert!(dirs.len() >= 2, "pids and memory at least: {dirs:?}");
    for d in &dirs {
        let procs = std::fs::read_to_string(d.join("cgroup.procs")).unwrap();
        assert_eq!(procs.trim(), pid.to_string(), "{d:?}");
    }
    // A cgroup below the container's (its root could make one) with a process in it: teardown
    // removes the whole subtree.
    std::fs::create_dir(dirs[0].join("sub")).unwrap();
    std::fs::write(dirs[0].join("sub/cgroup.procs"), pid.to_string()).unwrap();
    signal(pid, "KILL");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));

    // Ended by itself.
    let id = unique_id("exit");
    assert_eq!(
        f.run(&["--name", &id, "--pids-limit", "10", "true"]).code(),
        0
    );
    assert!(cgroup_dirs(&id).is_empty());

    // A setup step of the child fails (a missing workdir), after the cgroups were made.
    let id = unique_id("fail");
    let out = f.run(&[
        "--name",
        &id,
        "--pids-limit",
        "10",
        "-w",
        "/nonexistent",
        "true",
    ]);
    assert_eq!(out.code(), 125, "{}", out.stderr());
    assert!(cgroup_dirs(&id).is_empty());
    f.assert_clean();
}

#[test]
fn gc_removes_what_a_killed_nsbox_left_and_spares_running_ones() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let gc = || {
        let out = std::process::Command::new(nsbox_bin())
            .args(["gc", "--root"])
            .arg(&f.state_root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dead = unique_id("dead");
    let live = unique_id("live");
    let mut victim = f.spawn(&["--name", &dead, "--pids-limit", "10", "sleep", "100"]);
    let mut running = f.spawn(&["--name", &live, "--pids-limit", "10", "sleep", "100"]);
    let victim_container = container_pid(victim.id());
    let running_container = container_pid(running.id());
    // SIGKILL: nsbox cannot tear anything down. Its container dies with it (PDEATHSIG).
    signal(victim.id(), "KILL");
    victim.wait().unwrap();
    wait_until("the orphaned container died", 10, || {
        !std::path::Path::new(&format!("/proc/{victim_container}")).exists()
    });
    assert!(
        !cgroup_dirs(&dead).is_empty(),
        "the crash should leave cgroups"
    );
    assert!(f.state_root.join(&dead).exists());
    std::thread::sleep(Duration::from_millis(1100)); // gc spares directories younger than 1 s
    assert_eq!(gc(), format!("{dead}\n"));
    assert!(cgroup_dirs(&dead).is_empty(), "{:?}", cgroup_dirs(&dead));
    assert!(!f.state_root.join(&dead).exists());
    // The running one is untouched, and still tears down by itself.
    assert!(!cgroup_dirs(&live).is_empty());
    signal(running_container, "KILL");
    assert_eq!(running.wait().unwrap().code(), Some(137));
    assert!(cgroup_dirs(&live).is_empty());
    f.assert_clean();
}

/// An ended detached container keeps its record (for `ps -a`, `logs`, `rm`), but what its
/// teardown failed to remove goes with the next gc: its cgroups record survives until then.
#[test]
fn gc_removes_the_cgroups_an_ended_detached_container_left() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("ended");
    f.detach(&id, &["--pids-limit", "10", "--", "true"]);
    let record = f.state_root.join(&id).join("cgroups");
    wait_until("the detached container ended", 10, || {
        f.manage(&["ps", "-a"]).ok().contains("exited")
    });
    assert!(cgroup_dirs(&id).is_empty(), "its nsbox removed them");
    // What a failed rmdir (EIO) leaves: the directories, still recorded.
    let recorded = std::fs::read_to_string(&record).expect("the cgroups record stays");
    for dir in recorded.lines() {
        std::fs::create_dir_all(dir).unwrap();
    }
    assert!(!cgroup_dirs(&id).is_empty());
    let out = f.manage(&["gc"]);
    assert_eq!(out.ok(), "", "the record is not removed");
    assert!(cgroup_dirs(&id).is_empty(), "{:?}", cgroup_dirs(&id));
    assert!(!record.exists());
    assert!(f.manage(&["ps", "-a"]).ok().contains(&id));
    f.manage(&["rm", &id]).ok();
    f.assert_clean();
}

/// A seccomp filter, installed in the test's child before it execs nsbox, that makes clone3
/// fail with ENOSYS, as old kernels and some container runtimes' profiles do.
fn without_clone3(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only builds a filter on its stack and makes
    // two raw syscalls; it allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(|| {
            let filter = [
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 0,
                }, // ld [nr]
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: libc::SYS_clone3 as u32,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x0005_0000 | libc::ENOSYS as u32,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                }, // allow
            ];
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut _,
            };
            if libc::syscall(libc::SYS_seccomp, 1, 0, &prog as *const libc::sock_fprog) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
fn without_clone3_the_child_moves_itself_into_its_cgroups() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("noclone3");
    let r = rootfs().to_str().unwrap();
    let mut cmd = f.command(&[
        "--trace",
        "--name",
        &id,
        "-r",
        r,
        "--pids-limit",
        "9",
        "--",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/pids/pids.max /proc/self/cgroup",
    ]);
    without_clone3(&mut cmd);
    let out = Out(cmd.output().unwrap());
    let stdout = out.ok();
    assert!(stdout.starts_with("9\n"), "{stdout}");
    assert!(stdout.contains("0::/\n"), "the v2 cgroup too: {stdout}");
    assert!(
        out.stderr()
            .contains("clone3 into the cgroup failed (ENOSYS"),
        "{}",
        out.stderr()
    );
    assert!(cgroup_dirs(&id).is_empty());
    f.assert_clean();
}
