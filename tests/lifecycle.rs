//! Managed containers: run -d, ps, logs, exec, kill, rm, gc, --init. Each test has its own
//! state root, and ends with nothing left on the host.

mod common;

use common::{Fixture, can_run, cgroup_dirs, unique_id, wait_until};
use std::path::Path;

/// A field of the container's record (e.g. `supervisor` -> "PID START").
fn record_field(f: &Fixture, id: &str, key: &str) -> String {
    let text = std::fs::read_to_string(f.state_root.join(id).join("record")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key} in the record: {text}"))
        .to_string()
}

fn pid_of(f: &Fixture, id: &str, key: &str) -> u32 {
    record_field(f, id, key)
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The line of `nsbox ps -a` for `id`, split into its columns.
fn ps_row(f: &Fixture, id: &str) -> Option<Vec<String>> {
    let out = f.manage(&["ps", "-a"]).ok();
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .map(|l| {
            l.split("   ")
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
}

fn status_of(f: &Fixture, id: &str) -> String {
    ps_row(f, id).map(|r| r[2].clone()).unwrap_or_default()
}

fn exited(f: &Fixture, id: &str) -> bool {
    status_of(f, id).starts_with("exited")
}

#[test]
fn detach_ps_logs_exec_kill_rm() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = "web";
    f.detach(
        id,
        &[
            "--tmpfs",
            "/tmp",
            "--",
            "sh",
            "-c",
            "echo hello; echo oops >&2; echo mark > /tmp/m; sleep 60",
        ],
    );
    let pid1 = pid_of(&f, id, "pid");
    // ps: running, with the host pid of PID 1 and the command.
    let row = ps_row(&f, id).expect("ps lists the container");
    assert_eq!(row[1], pid1.to_string(), "{row:?}");
    assert_eq!(row[2], "running");
    assert!(row[5].starts_with("sh -c \"echo hello"), "{row:?}");
    assert_eq!(f.manage(&["ps", "-q"]).ok(), "web\n");
    let json = f.manage(&["ps", "--json"]).ok();
    assert!(
        json.contains("\"id\":\"web\"") && json.contains("\"status\":\"running\""),
        "{json}"
    );
    assert!(json.contains(&format!("\"pid\":{pid1}")), "{json}");

    // logs: what it wrote, stdout and stderr in order.
    wait_until("the container wrote its output", 5, || {
        f.manage(&["logs", id]).stdout().contains("oops")
    });
    assert_eq!(f.manage(&["logs", id]).ok(), "hello\noops\n");

    // exec: in the same namespaces as PID 1, with its hostname, files and environment.
    wait_until("PID 1 wrote its marker", 5, || {
        f.manage(&["exec", id, "cat", "/tmp/m"]).stdout() == "mark\n"
    });
    let kinds = ["pid", "net", "uts", "mnt", "ipc", "cgroup"];
    let script: String = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}; "))
        .collect();
    let inside = f.manage(&["exec", id, "sh", "-c", &script]).ok();
    let host: String = kinds
        .iter()
        .map(|k| {
            let link = std::fs::read_link(format!("/proc/{pid1}/ns/{k}")).unwrap();
            format!("{}\n", link.display())
        })
        .collect();
    assert_eq!(inside, host, "exec joins every namespace of PID 1");
    let me = std::fs::read_link("/proc/self/ns/pid").unwrap();
    assert_ne!(inside.lines().next().unwrap(), me.to_str().unwrap());
    let out = f.manage(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        id,
        "sh",
        "-c",
        "echo $(hostname) $X $HOSTNAME $(pwd); cat /proc/1/comm",
    ]);
    assert_eq!(out.ok(), "web 1 web /tmp\nsleep\n");
    let out = f.manage(&[
        "exec",
        "-u",
        "1000",
        id,
        "sh",
        "-c",
        "id -u; grep CapEff /proc/self/status; grep Seccomp: /proc/self/status",
    ]);
    assert_eq!(out.ok(), "1000\nCapEff:\t0000000000000000\nSeccomp:\t2\n");
    let code = f.manage(&["exec", id, "sh", "-c", "exit 42"]).code();
    assert_eq!(code, 42);

    // kill: TERM ends it (sh as PID 1 has no handler: nsbox carries out the default action).
    f.manage(&["kill", id]).ok();
    wait_until("the container ended", 5, || exited(&f, id));
    assert_eq!(status_of(&f, id), "exited (143)");
    assert_eq!(
        f.manage(&["ps", "-q"]).ok(),
        "",
        "ps without -a shows running ones only"
    );
    assert!(!Path::new(&format!("/proc/{pid1}")).exists());
    assert_eq!(
        f.manage(&["logs", id]).ok(),
        "hello\noops\n",
        "the log stays"
    );
    // gc leaves an ended detached container alone: it is rm's.
    assert_eq!(f.manage(&["gc"]).ok(), "");
    assert_eq!(f.manage(&["rm", id]).ok(), "web\n");
    assert!(ps_row(&f, id).is_none());
    f.assert_clean();
}

#[test]
fn bad_input_names_the_problem_and_changes_nothing() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let err = |args: &[&str], code: i32, text: &str| {
        let out = f.manage(args);
        assert_eq!(out.code(), code, "{args:?}: {}", out.stderr());
        assert!(out.stderr().contains(text), "{args:?}: {}", out.stderr());
        assert_eq!(
            out.stderr().lines().count(),
            1,
            "{args:?}: one line: {}",
            out.stderr()
        );
    };
    err(
        &["exec", "nope", "true"],
        125,
        "container \"nope\": no such container",
    );
    err(&["kill", "nope"], 125, "no such container");
    err(&["rm", "nope"], 125, "no such container");
    err(&["logs", "nope"], 125, "no such container");
    err(
        &["kill", "-s", "BOGUS", "x"],
        125,
        "--signal \"BOGUS\": not a signal",
    );
    err(&["exec", "../etc", "true"], 125, "container id \"../etc\"");
    err(&["exec", "x"], 125, "a command to run is needed");
    err(&["rm"], 125, "at least one container id");

    f.detach("busy", &["--", "sleep", "60"]);
    // exec of a command that does not exist: 127 and the message.
    err(&["exec", "busy", "nosuch"], 127, "exec \"nosuch\": ENOENT");
    // rm of a running container without -f.
    err(
        &["rm", "busy"],
        125,
        "rm \"busy\": the container is running",
    );
    assert_eq!(status_of(&f, "busy"), "running");
    // A duplicate name: refused, the first untouched.
    let dup = f.run(&["-d", "--name", "busy", "--", "true"]);
    assert_eq!(dup.code(), 125);
    assert!(dup.stderr().contains("already exists"), "{}", dup.stderr());
    assert_eq!(status_of(&f, "busy"), "running");
    // A foreground container keeps no log.
    let pid1 = pid_of(&f, "busy", "pid");
    f.manage(&["kill", "-s", "KILL", "busy"]).ok();
    wait_until("busy ended", 5, || exited(&f, "busy"));
    assert_eq!(status_of(&f, "busy"), "exited (137)");
    assert!(!Path::new(&format!("/proc/{pid1}")).exists());
    err(
        &["exec", "busy", "true"],
        125,
        "the container is not running (exited (137))",
    );
    err(
        &["kill", "busy"],
        125,
        "the container is not running (exited (137))",
    );
    assert_eq!(f.manage(&["rm", "busy"]).ok(), "busy\n");

    // A command that cannot start: the error comes back to the caller of run -d.
    let out = f.run(&["-d", "--name", "bad", "--", "nosuch"]);
    assert_eq!(out.code(), 127);
    assert!(
        out.stderr().contains("exec \"nosuch\": ENOENT"),
        "{}",
        out.stderr()
    );
    assert_eq!(out.stdout(), "");

    // A damaged record is refused by name, and nothing is deleted.
    let dir = f.state_root.join("broken");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("record"), "not a record\n").unwrap();
    err(&["rm", "broken"], 125, "record\": not an nsbox record");
    assert_eq!(f.manage(&["gc"]).code(), 125);
    assert!(dir.join("record").exists());
    std::fs::remove_dir_all(&dir).unwrap();
    f.assert_clean();
}

#[test]
fn rm_force_kills_and_removes() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("rmf");
    f.detach(&id, &["--pids-limit", "20", "--", "sleep", "60"]);
    let pid1 = pid_of(&f, &id, "pid");
    assert!(!cgroup_dirs(&id).is_empty(), "limits give it cgroups");
    assert_eq!(f.manage(&["rm", "-f", &id]).ok(), format!("{id}\n"));
    assert!(!Path::new(&format!("/proc/{pid1}")).exists());
    assert!(cgroup_dirs(&id).is_empty());
    f.assert_clean();
}

#[test]
fn gc_after_the_supervisor_was_killed() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("orphaned");
    f.detach(&id, &["--pids-limit", "20", "--", "sleep", "60"]);
    let supervisor = pid_of(&f, &id, "supervisor");
    let pid1 = pid_of(&f, &id, "pid");
    assert!(!cgroup_dirs(&id).is_empty());
    common::signal(supervisor, "KILL");
    // The container dies with its supervisor (PR_SET_PDEATHSIG).
    wait_until("the container died with its supervisor", 5, || {
        let status = std::fs::read_to_string(format!("/proc/{pid1}/status")).unwrap_or_default();
        status.is_empty() || status.contains("State:\tZ")
    });
    assert_eq!(status_of(&f, &id), "dead");
    assert_eq!(f.manage(&["gc"]).ok(), format!("{id}\n"));
    assert!(cgroup_dirs(&id).is_empty(), "gc removed the cgroups");
    f.assert_clean();
}

/// Zombies in the container, counted from inside with exec.
fn zombies(f: &Fixture, id: &str) -> usize {
    let ps = f.manage(&["exec", id, "ps", "-o", "stat"]).ok();
    ps.lines()
        .filter(|l| l.trim_start().starts_with('Z'))
        .count()
}

#[test]
fn init_reaps_orphans_forwards_signals_and_keeps_the_code() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // An orphan (its parent exits at once) is re-parented to PID 1. `sleep` as PID 1 never
    // reaps it; nsbox's init does.
    let orphans = "sh -c 'sleep 0.05 & sleep 0.05 &'; exec sleep 60";
    f.detach("plain", &["--", "sh", "-c", orphans]);
    f.detach("inited", &["--init", "--", "sh", "-c", orphans]);
    wait_until("the orphans of the control became zombies", 5, || {
        zombies(&f, "plain") == 2
    });
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(zombies(&f, "inited"), 0, "--init reaped them");
    let ps = f.manage(&["exec", "inited", "ps", "-o", "pid,comm"]).ok();
    assert!(
        ps.contains("    1 nsbox:init\n") && ps.contains("    2 sleep\n"),
        "{ps}"
    );
    // TERM reaches the command through the init (sleep is PID 2: the default action applies).
    f.manage(&["kill", "inited"]).ok();
    wait_until("inited ended", 5, || exited(&f, "inited"));
    assert_eq!(status_of(&f, "inited"), "exited (143)");
    f.manage(&["rm", "-f", "plain", "inited"]).ok();

    // The command's exit code, and 128+N for a signal.
    let out = f.run(&["--init", "--", "sh", "-c", "echo $$; exit 3"]);
    assert_eq!((out.code(), out.stdout()), (3, "2\n".to_string()));
    assert_eq!(
        f.run(&["--init", "--", "sh", "-c", "kill -9 $$"]).code(),
        137
    );
    let out = f.run(&["--init", "--", "nosuch"]);
    assert_eq!(out.code(), 127);
    assert!(out.stderr().contains("exec \"nosuch\""), "{}", out.stderr());
    f.assert_clean();
}

#[test]
fn a_hundred_containers_leave_nothing() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    for i in 0..100 {
        let id = format!("{}-{i}", unique_id("many"));
        if i % 2 == 0 {
            // Ended by itself, then removed.
            f.detach(&id, &["--pids-limit", "10", "--", "true"]);
            wait_until("it ended", 5, || {
                std::fs::read_to_string(f.state_root.join(&id).join("record"))
                    .is_ok_and(|r| r.contains("\nexit "))
            });
            f.manage(&["rm", &id]).ok();
        } else {
            // Killed and removed while running.
            f.detach(&id, &["--pids-limit", "10", "--", "sleep", "60"]);
            f.manage(&["rm", "-f", &id]).ok();
        }
        assert!(cgroup_dirs(&id).is_empty(), "{id} left a cgroup");
    }
    f.assert_clean();
}

#[test]
fn a_container_is_listed_and_joinable_only_once_its_command_runs() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // strace holds the command's execve for a second: PID 1 is still nsbox's, building the
    // filesystem, and its root is still the host's. exec must not join it then.
    let mut starting = std::process::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=execve"])
        .args([
            "-P",
            "/bin/sleep",
            "-e",
            "inject=execve:delay_enter=1000000",
        ])
        .arg(common::nsbox_bin())
        .args(["run", "-d", "--root"])
        .arg(&f.state_root)
        .args(["--rootfs", common::rootfs().to_str().unwrap()])
        .args(["--name", "slow", "--", "/bin/sleep", "60"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("strace (scripts/test.sh installs it)");
    wait_until("the state directory exists", 5, || {
        f.state_root.join("slow").exists()
    });
    let out = f.manage(&["exec", "slow", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("is being created"),
        "{}",
        out.stderr()
    );
    assert_eq!(f.manage(&["ps", "-q"]).ok(), "");
    // The id comes once the command runs (strace goes on following the supervisor).
    let mut line = String::new();
    use std::io::BufRead;
    std::io::BufReader::new(starting.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "slow\n");
    assert_eq!(f.manage(&["ps", "-q"]).ok(), "slow\n");
    assert_eq!(f.manage(&["exec", "slow", "--", "hostname"]).ok(), "slow\n");
    f.manage(&["rm", "-f", "slow"]).ok();
    starting.wait().unwrap();
    f.assert_clean();
}

#[test]
fn detach_with_closed_stdio_and_init_details() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // The caller closed stdin and stdout: the pipe and the log must not take their place.
    let line = format!(
        "{} run -d --root {} --rootfs {} --name closed --init -- sh -c \
         'trap \"echo got WINCH\" WINCH; trap \"echo got USR1\" USR1; while :; do sleep 0.05; done' \
         0<&- 1>&-; echo rc=$? >&2",
        common::nsbox_bin(),
        f.state_root.display(),
        common::rootfs().display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &line])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "rc=0\n");
    assert_eq!(status_of(&f, "closed"), "running");
    // Signals that are not forwarded by nsbox go to PID 1, the init, which passes them on.
    f.manage(&["kill", "-s", "WINCH", "closed"]).ok();
    f.manage(&["kill", "-s", "USR1", "closed"]).ok();
    wait_until("both signals reached the command", 5, || {
        let log = f.manage(&["logs", "closed"]).stdout();
        log.contains("got WINCH") && log.contains("got USR1")
    });
    // The init shows nothing of the host's command line (state root, rootfs path).
    let cmdline = f.manage(&["exec", "closed", "cat", "/proc/1/cmdline"]).ok();
    assert!(cmdline.bytes().all(|b| b == 0), "{cmdline:?}");
    f.manage(&["rm", "-f", "closed"]).ok();
    f.assert_clean();
}
