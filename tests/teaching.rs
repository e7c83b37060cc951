//! The tools for learning and troubleshooting: the --trace timeline, `nsbox doctor`, the help
//! text and the man page made from it.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `1.234 ms` -> 1234 (microseconds).
fn micros(ms: &str) -> u64 {
    let (whole, frac) = ms.trim().trim_end_matches(" ms").split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 1000 + frac.parse::<u64>().unwrap()
}

#[test]
fn trace_ends_with_a_timeline_of_every_step_longest_first() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--trace", "--init", "--", "/bin/true"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let err = out.stderr();
    let (trace, timeline) = err
        .split_once("] timeline: ")
        .expect("a timeline at the end");
    let total = micros(timeline.split(" in all").next().unwrap());
    // Each bar: `  ROLE   1.234 ms |####      | label`.
    let bars: Vec<(&str, u64, &str)> = timeline
        .lines()
        .skip(1)
        .map(|l| {
            let (head, label) = l.split_once("| ").unwrap_or_else(|| panic!("bar: {l:?}"));
            let mut head = head.split_whitespace();
            let role = head.next().unwrap();
            let took = micros(&format!("{} ms", head.next().unwrap()));
            (role, took, label)
        })
        .collect();
    // Every step the trace announced is there once, with the role that announced it.
    let steps: Vec<(&str, &str)> = trace
        .lines()
        .filter_map(|l| {
            let (head, step) = l.split_once("] step: ")?;
            Some((head.trim_start_matches("nsbox[").split(' ').next()?, step))
        })
        .collect();
    assert!(steps.len() > 15, "{trace}");
    for (role, step) in &steps {
        let found = bars.iter().filter(|b| b.2 == *step).count();
        assert_eq!(found, 1, "{step:?} in the timeline:\n{timeline}");
        assert!(bars.iter().any(|b| b.2 == *step && b.0 == *role));
    }
    assert_eq!(bars.len(), steps.len() + 1, "the steps and the start");
    // Longest first, and the steps of one process never add up to more than the run took.
    assert!(bars.windows(2).all(|w| w[0].1 >= w[1].1), "{timeline}");
    let parent: u64 = bars.iter().filter(|b| b.0 == "parent").map(|b| b.1).sum();
    assert!(parent <= total, "parent steps {parent} us > run {total} us");
    let longest = timeline.lines().nth(1).unwrap();
    assert!(
        longest.contains(&"#".repeat(30)) || longest.contains(&".".repeat(30)),
        "the longest bar is full: {longest}"
    );
    f.assert_clean();
}

/// `nsbox doctor ARGS...` as root, or as `nobody` (through setpriv, a copy of the binary).
fn doctor(f: &Fixture, as_nobody: bool, args: &[&str]) -> Out {
    let mut cmd = match as_nobody {
        false => Command::new(nsbox_bin()),
        true => {
            let bin = f.scratch.join("nsbox");
            if !bin.exists() {
                std::fs::copy(nsbox_bin(), &bin).unwrap();
            }
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(bin);
            c
        }
    };
    cmd.arg("doctor")
        .arg("--root")
        .arg(f.state_root.join("doctor"))
        .args(args);
    Out(cmd.output().unwrap())
}

/// The status column of `item` in the text report.
fn status_of<'a>(report: &'a str, item: &str) -> &'a str {
    report
        .lines()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let status = f.next()?;
            (f.next()? == item).then_some(status)
        })
        .unwrap_or_else(|| panic!("no {item} in:\n{report}"))
}

#[test]
fn doctor_on_this_host_reports_its_cgroup_layout_and_exits_0() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = doctor(&f, false, &[]);
    let report = out.stdout();
    assert_eq!(out.code(), 0, "{report}");
    // The layout, as the test reads it itself from mountinfo.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let v1 = mountinfo.contains(" - cgroup ");
    let v2 = mountinfo.contains(" - cgroup2 ");
    let kind = match (v1, v2) {
        (true, true) => "hybrid",
        (true, false) => "v1",
        _ => "v2",
    };
    let cgroups = report.lines().find(|l| l.contains(" cgroups ")).unwrap();
    assert!(cgroups.contains(&format!(" {kind}: ")), "{cgroups}");
    for item in [
        "kernel",
        "namespaces",
        "userns",
        "seccomp",
        "pivot-root",
        "network",
    ] {
        assert_eq!(status_of(&report, item), "ok", "{report}");
    }
    assert!(
        report.contains("\nnsbox can run containers here ("),
        "{report}"
    );
    // The probes made their links and mounts in namespaces of their own: the host has none.
    f.assert_clean();

    let json = doctor(&f, false, &["--json"]);
    assert_eq!(json.code(), 0);
    let json = json.stdout();
    assert!(
        json.starts_with("{\"uid\":0,\"can_run\":true,\"problems\":0,"),
        "{json}"
    );
    for item in ["kernel", "cgroups", "network", "clone3"] {
        assert_eq!(
            json.matches(&format!("{{\"item\":\"{item}\",")).count(),
            1,
            "{json}"
        );
    }
}

/// A fake /proc: this host's files, but `ns` namespaces only and these sysctls.
fn fake_proc(f: &Fixture, name: &str, ns: &[&str], max_userns: &str, mountinfo: &str) -> PathBuf {
    let proc = f.scratch.join(name);
    for dir in ["self/ns", "sys/kernel", "sys/user"] {
        std::fs::create_dir_all(proc.join(dir)).unwrap();
    }
    for n in ns {
        std::fs::write(proc.join("self/ns").join(n), "").unwrap();
    }
    let copy = |rel: &str| std::fs::copy(Path::new("/proc").join(rel), proc.join(rel)).unwrap();
    copy("sys/kernel/osrelease");
    copy("self/status");
    std::fs::write(proc.join("self/mountinfo"), mountinfo).unwrap();
    std::fs::write(proc.join("self/cgroup"), "0::/box\n").unwrap();
    std::fs::write(proc.join("sys/user/max_user_namespaces"), max_userns).unwrap();
    proc
}

#[test]
fn doctor_with_a_proc_without_user_namespaces_reports_a_problem() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // A pure cgroup v2 host, its sysfs given too: /sys/fs/cgroup/box offers every controller.
    let v2 = "20 1 8:1 / / rw - ext4 /dev/sda1 rw\n30 20 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    let sys = f.scratch.join("sys");
    std::fs::create_dir_all(sys.join("fs/cgroup/box")).unwrap();
    std::fs::write(
        sys.join("fs/cgroup/box/cgroup.controllers"),
        "cpuset cpu io memory pids\n",
    )
    .unwrap();
    let all = ["mnt", "uts", "ipc", "pid", "net", "cgroup"];
    let no_userns = fake_proc(&f, "proc-no-userns", &all, "0\n", v2);
    let fake = |proc: &Path| {
        vec![
            "--proc".to_string(),
            proc.to_str().unwrap().to_string(),
            "--sysfs".into(),
            sys.to_str().unwrap().into(),
        ]
    };
    let args = fake(&no_userns);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // Without root, a container needs a user namespace: a problem, exit 1.
    let out = doctor(&f, true, &args);
    let report = out.stdout();
    assert_eq!(out.code(), 1, "{report}{}", out.stderr());
    assert_eq!(status_of(&report, "userns"), "problem", "{report}");
    assert!(
        report.contains("no user namespace in /proc/self/ns"),
        "{report}"
    );
    assert!(
        report.contains("fix: use a kernel built with CONFIG_USER_NS"),
        "{report}"
    );
    assert!(
        report.contains("\nnsbox cannot run containers here: 1 problem ("),
        "{report}"
    );
    let cgroups = report.lines().find(|l| l.contains(" cgroups ")).unwrap();
    assert!(
        cgroups.contains("v2: pids (v2) memory (v2) cpu (v2) cpuset (v2)"),
        "{cgroups}"
    );
    // Root only loses --userns: a warning, exit 0.
    let out = doctor(&f, false, &args);
    assert_eq!(out.code(), 0, "{}", out.stdout());
    assert_eq!(status_of(&out.stdout(), "userns"), "warning");

    // Without a pid namespace nobody can run a container.
    let no_pid = fake_proc(
        &f,
        "proc-no-pid",
        &["mnt", "uts", "ipc", "net", "cgroup", "user"],
        "100\n",
        v2,
    );
    let args = fake(&no_pid);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = doctor(&f, false, &[&args[..], &["--json"]].concat());
    assert_eq!(out.code(), 1);
    let json = out.stdout();
    assert!(
        json.starts_with("{\"uid\":0,\"can_run\":false,\"problems\":1,"),
        "{json}"
    );
    assert!(
        json.contains("\"status\":\"problem\",\"detail\":\"no pid namespace in /proc/self/ns\""),
        "{json}"
    );
    f.assert_clean();
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn ps_and_strace_see_each_process_by_its_role() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let mut nsbox = f.spawn(&["--init", "--", "sleep", "30"]);
    let parent = nsbox.id();
    let (mut init, mut command) = (0, 0);
    wait_until("the command runs under the init", 10, || {
        init = first_child(parent).unwrap_or(0);
        command = first_child(init).unwrap_or(0);
        command != 0 && comm(command) == "sleep"
    });
    assert_eq!(comm(parent), "nsbox:parent");
    assert_eq!(comm(init), "nsbox:init");
    signal(parent, "TERM");
    let status = nsbox.wait().unwrap();
    assert_eq!(status.code(), Some(143), "SIGTERM went to the command");

    // A detached container's supervisor is the parent of its PID 1.
    f.detach("named", &["--", "sleep", "30"]);
    let pid: u32 = first_pid(&f.manage(&["ps", "--json"]).ok())
        .parse()
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let ppid: u32 = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(comm(ppid), "nsbox:supervise");
    f.manage(&["rm", "-f", "named"]).ok();
    f.assert_clean();
}
