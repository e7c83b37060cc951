//! OCI `ps`, `pause` and `resume`, as podman and containerd's shim call them: the pids of the
//! container's cgroups, a freeze that stops its processes (their CPU time stands still) and a
//! thaw that lets them go on, the state that says so, and a paused container deleted by force.

mod common;

use common::Fixture;
use common::oci::{Bundle, Config, create_and_start, oci, status_of};
use std::process::Command;
use std::time::Duration;

/// utime + stime of `pid`, in clock ticks (/proc/PID/stat fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn ps_pause_and_resume_act_on_the_containers_cgroup() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "pause", false);
    let id = common::unique_id("oci-pause");
    let cg = format!("/nsbox-oci-pause/{id}");
    b.write(&Config {
        args: &["sh", "-c", "sleep 600 & while :; do :; done"],
        linux: &format!(r#","cgroupsPath":"{cg}""#),
        ..Default::default()
    });
    let (pid, _) = create_and_start(&f, &b, &id);
    // ps: the pids of its cgroup, the first process and its sleep.
    common::wait_until("the sleep runs", 10, || {
        oci(&f, &["ps", "--format", "json", &id])
            .ok()
            .matches(',')
            .count()
            == 1
    });
    let listed = oci(&f, &["ps", "--format", "json", &id]).ok();
    assert!(
        listed.starts_with('[') && listed.ends_with("]\n"),
        "{listed}"
    );
    assert!(listed.contains(&pid.to_string()), "{listed}");
    let table = oci(&f, &["ps", &id]).ok();
    assert!(
        table.starts_with("PID\n") && table.contains(&format!("\n{pid}\n")),
        "{table}"
    );
    // pause: the busy loop gets no CPU time while frozen.
    oci(&f, &["pause", &id]).ok();
    assert_eq!(status_of(&f, &id), "paused");
    let frozen = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(pid), frozen, "a frozen process runs no more");
    let again = oci(&f, &["pause", &id]);
    assert_ne!(again.code(), 0);
    assert!(
        again
            .stderr()
            .contains("the container is paused, not running")
    );
    let exec = oci(&f, &["exec", &id, "true"]);
    assert!(
        exec.stderr().contains("the container is paused"),
        "{}",
        exec.stderr()
    );
    // resume: it runs again.
    oci(&f, &["resume", &id]).ok();
    assert_eq!(status_of(&f, &id), "running");
    common::wait_until("the loop runs again", 10, || cpu_ticks(pid) > frozen);
    // A paused container is deleted with --force (thawed first: v1 frozen tasks do not die).
    oci(&f, &["pause", &id]).ok();
    oci(&f, &["delete", "--force", &id]).ok();
    let gone = oci(&f, &["state", &id]);
    assert!(gone.stderr().contains("does not exist"));
    common::oci::remove_cgroup_parent("nsbox-oci-pause");
    f.assert_clean();
}

#[test]
fn pause_without_a_cgroup_of_its_own_is_refused_by_name() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "nopause", false);
    let id = common::unique_id("oci-nopause");
    b.write(&Config {
        args: &["sleep", "600"],
        ..Default::default()
    });
    let (pid, _) = create_and_start(&f, &b, &id);
    let out = oci(&f, &["pause", &id]);
    assert_ne!(out.code(), 0);
    assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    assert!(
        out.stderr().contains("no cgroup with a freezer"),
        "{}",
        out.stderr()
    );
    // ps without cgroups: the first process (and what descends from it).
    assert_eq!(
        oci(&f, &["ps", "--format", "json", &id]).ok(),
        format!("[{pid}]\n")
    );
    oci(&f, &["delete", "--force", &id]).ok();
    f.assert_clean();
}

#[test]
fn update_changes_the_limits_of_a_running_container() {
    if !common::can_run() {
        return;
    }
    use std::io::Write;
    let f = Fixture::new();
    let b = Bundle::new(&f, "update", false);
    let id = common::unique_id("oci-update");
    let cg = format!("/nsbox-oci-update/{id}");
    b.write(&Config {
        args: &["sh", "-c", "sleep 600 & wait"],
        linux: &format!(
            r#","cgroupsPath":"{cg}","resources":{{"pids":{{"limit":50}},"memory":{{"limit":67108864}}}}"#
        ),
        ..Default::default()
    });
    create_and_start(&f, &b, &id);
    let v1 = std::path::Path::new("/sys/fs/cgroup/pids").is_dir();
    let host = |ctrl: &str, v1_file: &str, v2_file: &str| {
        let path = match v1 {
            true => format!("/sys/fs/cgroup/{ctrl}{cg}/{v1_file}"),
            false => format!("/sys/fs/cgroup{cg}/{v2_file}"),
        };
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_string()
    };
    let memory = || host("memory", "memory.limit_in_bytes", "memory.max");
    let pids = || host("pids", "pids.max", "pids.max");
    // runc's flags.
    oci(
        &f,
        &["update", "--memory", "128m", "--pids-limit", "30", &id],
    )
    .ok();
    assert_eq!((memory(), pids()), ("134217728".into(), "30".into()));
    // The resources JSON on stdin, as containerd's shim gives it.
    let mut c = Command::new(common::nsbox_bin())
        .arg("--root")
        .arg(&f.state_root)
        .args(["update", "--resources", "-", &id])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(br#"{"memory":{"limit":100663296},"pids":{"limit":40}}"#)
        .unwrap();
    assert!(c.wait().unwrap().success());
    assert_eq!((memory(), pids()), ("100663296".into(), "40".into()));
    // Below what it uses now, or for a controller it has no cgroup of: one line, no change.
    let refused = |args: &[&str], needle: &str| {
        let out = oci(&f, args);
        assert_ne!(out.code(), 0, "{args:?}");
        assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
        assert!(
            out.stderr().contains(needle),
            "{needle:?} in {}",
            out.stderr()
        );
    };
    refused(&["update", "--memory", "4096", &id], "the container uses");
    refused(&["update", "--pids-limit", "1", &id], "the container uses");
    refused(
        &["update", "--cpu-shares", "512", &id],
        "no cgroup with the cpu controller",
    );
    refused(&["update", &id], "no limit to change");
    refused(&["update", "--memory", "lots", &id], "expected bytes");
    assert_eq!((memory(), pids()), ("100663296".into(), "40".into()));
    oci(&f, &["kill", &id, "9"]).ok();
    common::wait_until("stopped", 10, || status_of(&f, &id) == "stopped");
    refused(
        &["update", "--pids-limit", "10", &id],
        "the container is stopped",
    );
    oci(&f, &["delete", &id]).ok();
    common::oci::remove_cgroup_parent("nsbox-oci-update");
    f.assert_clean();
}

/// conmon or containerd's shim killed while its container runs (SIGKILL: no cleanup): the
/// container runs on, an orphan; `delete --force` ends it and leaves nothing, and `nsbox gc`
/// finds nothing more.
#[test]
fn a_container_whose_caller_was_killed_is_deleted_leaving_nothing() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "orphan", false);
    let id = common::unique_id("oci-orphan");
    let cg = format!("/nsbox-oci-orphan/{id}");
    b.write(&Config {
        args: &["sh", "-c", "sleep 600 & wait"],
        linux: &format!(r#","cgroupsPath":"{cg}","resources":{{"pids":{{"limit":20}}}}"#),
        ..Default::default()
    });
    let pid_file = f.scratch.join("pid");
    let (mut reaper, mut lines) = common::oci::under_subreaper(
        &f,
        &[
            "create".as_ref(),
            "--bundle".as_ref(),
            b.dir.as_os_str(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
            id.as_ref(),
        ],
    );
    assert_eq!(lines.next().unwrap().unwrap(), "create ok");
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    oci(&f, &["start", &id]).ok();
    common::signal(reaper.id(), "KILL");
    reaper.wait().unwrap();
    assert_eq!(
        status_of(&f, &id),
        "running",
        "the container outlives its caller"
    );
    oci(&f, &["delete", "--force", &id]).ok();
    common::wait_until("the orphan is gone", 10, || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.contains(") Z"))
            .unwrap_or(true)
    });
    assert!(common::cgroup_dirs(&id).is_empty(), "its cgroups are gone");
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        assert!(!h.path().join(cg.trim_start_matches('/')).exists());
    }
    common::oci::remove_cgroup_parent("nsbox-oci-orphan");
    assert_eq!(f.manage(&["gc"]).ok(), "", "nothing for gc");
    f.assert_clean();
}

/// `events --stats`: runc's stats JSON from the container's cgroups; `events`: a line every
/// interval and an `oom` line when the kernel kills inside for memory, until it stops.
#[test]
fn events_report_stats_and_an_oom_kill() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "events", false);
    let id = common::unique_id("oci-events");
    let cg = format!("/nsbox-oci-events/{id}");
    // After a second, a subshell allocates 100 MB under a 32 MiB limit and is OOM-killed; the
    // first process lives on.
    b.write(&Config {
        args: &[
            "sh",
            "-c",
            "sleep 1; (x=$(head -c 100000000 /dev/zero | tr '\\0' a)); sleep 600",
        ],
        linux: &format!(
            r#","cgroupsPath":"{cg}","resources":{{"pids":{{"limit":50}},"memory":{{"limit":33554432}}}}"#
        ),
        ..Default::default()
    });
    let (_pid, _) = create_and_start(&f, &b, &id);
    let once = oci(&f, &["events", "--stats", &id]).ok();
    for part in [
        format!("{{\"type\":\"stats\",\"id\":\"{id}\",\"data\":{{\"cpu\":{{\"usage\":{{\"total\":"),
        "\"limit\":33554432".to_string(),
        "\"pids\":{\"current\":".to_string(),
        ",\"limit\":50}".to_string(),
    ] {
        assert!(once.contains(&part), "{part} in {once}");
    }
    assert_eq!(once.lines().count(), 1);
    let swap = std::fs::read_to_string("/proc/meminfo")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("SwapTotal:") && !l.ends_with(" 0 kB"));
    if swap && !std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        common::skip("the oom part: swap is on and not accounted (the hog would swap, not die)");
    } else {
        let mut events = Command::new(common::nsbox_bin())
            .arg("--root")
            .arg(&f.state_root)
            .args(["events", "--interval", "1s", &id])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let lines = std::io::BufRead::lines(std::io::BufReader::new(events.stdout.take().unwrap()));
        let mut seen = Vec::new();
        for l in lines {
            let l = l.unwrap();
            let oom = l.starts_with("{\"type\":\"oom\"");
            seen.push(l);
            if oom {
                break;
            }
            assert!(seen.len() < 30, "no oom event: {seen:?}");
        }
        assert!(
            seen.iter().any(|l| l.starts_with("{\"type\":\"stats\"")),
            "{seen:?}"
        );
        // It ends with the container (which the OOM kill may have ended already).
        let _ = oci(&f, &["kill", &id, "9"]);
        assert!(events.wait().unwrap().success());
    }
    oci(&f, &["delete", "--force", &id]).ok();
    common::oci::remove_cgroup_parent("nsbox-oci-events");
    f.assert_clean();
}
