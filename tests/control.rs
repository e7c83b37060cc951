//! stop, wait and inspect, as docker users type them: what each container goes through (its
//! handler runs, its code is kept, its record says what it got) and what the host keeps
//! (nothing once it is removed), across the option matrix.

mod common;

use common::{Fixture, MODES, can_run, cgroup_dirs, run_in, unique_id, wait_until};
use std::time::{Duration, Instant};

/// A PID 1 that says goodbye and exits 3 on SIGTERM.
const POLITE: &str = "trap 'echo bye; exit 3' TERM; echo up; while :; do sleep 0.1; done";

/// The text of `"key":` in a JSON object, up to the next comma or brace outside brackets.
fn field<'a>(json: &'a str, key: &str) -> &'a str {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    let rest = &json[at + key.len() + 3..];
    let mut depth = 0;
    let end = rest
        .char_indices()
        .find(|(_, c)| {
            match c {
                '[' | '{' => depth += 1,
                ']' | '}' if depth > 0 => depth -= 1,
                ',' | '}' if depth == 0 => return true,
                _ => {}
            }
            false
        })
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn stop_wait_and_inspect_across_the_option_matrix() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let rootfs = common::rootfs();
    for (mode, opts) in MODES {
        let id = unique_id(&format!("ctl-{mode}"));
        let out = run_in(
            &f,
            mode,
            rootfs,
            &["-d", "--name", &id, "--", "sh", "-c", POLITE],
        );
        assert_eq!(out.ok(), format!("{id}\n"), "{mode}: run -d");
        wait_until(&format!("{mode}: its shell is up"), 10, || {
            f.manage(&["logs", &id]).stdout().contains("up")
        });

        let running = f.manage(&["inspect", &id]).ok();
        assert!(
            running.starts_with("[{") && running.ends_with("}]\n"),
            "{running}"
        );
        assert_eq!(field(&running, "id"), format!("{id:?}"), "{mode}");
        assert_eq!(field(&running, "status"), "\"running\"", "{mode}");
        let pid: u32 = field(&running, "pid").parse().expect("a pid while it runs");
        // With --init, PID 1 is nsbox's init (the command its child).
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
        let pid1 = match opts.contains(&"--init") {
            true => "nsbox:init\n",
            false => "sh\n",
        };
        assert_eq!(comm, pid1, "{mode}: the pid is its PID 1 on the host");
        assert_eq!(field(&running, "exit_code"), "null", "{mode}");
        assert_eq!(field(&running, "finished"), "null", "{mode}");
        let expected_root = match mode {
            "host" => "\"host\"".to_string(),
            _ => format!("{:?}", rootfs.to_str().unwrap()),
        };
        assert_eq!(field(&running, "rootfs"), expected_root, "{mode}");
        let net = field(&running, "network");
        let expected_net = match opts.iter().position(|o| *o == "--net") {
            Some(i) => opts[i + 1],
            None => "none",
        };
        assert!(
            net.contains(&format!("\"mode\":\"{expected_net}\"")),
            "{mode}: {net}"
        );
        assert_eq!(
            field(net, "address") == "null",
            expected_net == "none",
            "{mode}: an address with a link: {net}"
        );
        let limits = field(&running, "limits");
        let pids = match opts.contains(&"--pids-limit") {
            true => "64",
            false => "null",
        };
        assert_eq!(field(limits, "pids"), pids, "{mode}: {limits}");
        let memory = match mode {
            "memory" => "134217728",
            _ => "null",
        };
        assert_eq!(field(limits, "memory_bytes"), memory, "{mode}: {limits}");
        let namespaces = field(&running, "namespaces");
        for ns in ["pid", "mount", "uts", "ipc", "cgroup"] {
            assert!(
                namespaces.contains(&format!("\"{ns}\"")),
                "{mode}: {namespaces}"
            );
        }
        assert_eq!(namespaces.contains("\"user\""), mode == "userns", "{mode}");
        assert!(
            namespaces.contains("\"network\""),
            "{mode}: its own network namespace"
        );
        assert_eq!(
            field(&running, "command"),
            format!("[\"sh\",\"-c\",{POLITE:?}]"),
            "{mode}"
        );
        let log = field(&running, "log");
        assert_eq!(
            log,
            format!("{:?}", f.state_root.join(&id).join("log").to_str().unwrap()),
            "{mode}"
        );

        // stop: the handler runs (its output is in the log), the code is kept, nothing stays.
        assert_eq!(f.manage(&["stop", &id]).ok(), format!("{id}\n"), "{mode}");
        assert!(
            cgroup_dirs(&id).is_empty(),
            "{mode}: cgroups gone when stop returns"
        );
        assert_eq!(f.manage(&["wait", &id]).ok(), "3\n", "{mode}");
        assert!(f.manage(&["logs", &id]).ok().ends_with("bye\n"), "{mode}");
        let ended = f.manage(&["inspect", &id]).ok();
        assert_eq!(field(&ended, "status"), "\"exited\"", "{mode}");
        assert_eq!(field(&ended, "exit_code"), "3", "{mode}");
        assert_eq!(field(&ended, "pid"), "null", "{mode}");
        assert!(
            field(&ended, "finished").ends_with("Z\""),
            "{mode}: {ended}"
        );
        // A second stop of an ended container is not an error (docker prints the id).
        assert_eq!(f.manage(&["stop", &id]).ok(), format!("{id}\n"), "{mode}");
        f.manage(&["rm", &id]).ok();
    }
    f.assert_clean();
}

#[test]
fn stop_kills_what_ignores_the_signal_after_the_grace_period() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("deaf");
    f.detach(
        &id,
        &[
            "--pids-limit",
            "16",
            "--",
            "sh",
            "-c",
            "trap '' TERM; echo up; while :; do sleep 0.1; done",
        ],
    );
    wait_until("its shell is up", 10, || {
        f.manage(&["logs", &id]).stdout().contains("up")
    });
    let t = Instant::now();
    assert_eq!(f.manage(&["stop", "-t", "1", &id]).ok(), format!("{id}\n"));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(6),
        "TERM is ignored, so SIGKILL after the 1 s grace period: took {took:?}"
    );
    assert_eq!(f.manage(&["wait", &id]).ok(), "137\n", "128 + SIGKILL");
    assert!(cgroup_dirs(&id).is_empty());

    // -t 0: SIGKILL at once, however PID 1 handles TERM.
    let id2 = unique_id("now");
    f.detach(
        &id2,
        &[
            "--",
            "sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.1; done",
        ],
    );
    assert_eq!(
        f.manage(&["stop", "-t", "0", &id2]).ok(),
        format!("{id2}\n")
    );
    assert_eq!(f.manage(&["wait", &id2]).ok(), "137\n");
    // -s: another first signal.
    let id3 = unique_id("hup");
    f.detach(
        &id3,
        &[
            "--",
            "sh",
            "-c",
            "trap 'exit 4' HUP; while :; do sleep 0.1; done",
        ],
    );
    wait_until("its trap is set", 10, || {
        let pid = common::first_pid(&f.manage(&["ps", "--json"]).ok());
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("SigCgt:") && !l.ends_with("0000000000000000"))
        })
    });
    assert_eq!(
        f.manage(&["stop", "-s", "HUP", &id3]).ok(),
        format!("{id3}\n")
    );
    assert_eq!(f.manage(&["wait", &id3]).ok(), "4\n");
    f.manage(&["rm", &id, &id2, &id3]).ok();
    f.assert_clean();
}

#[test]
fn wait_prints_codes_in_order_and_refuses_what_keeps_none() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let (slow, quick) = (unique_id("slow"), unique_id("quick"));
    f.detach(&slow, &["--", "sh", "-c", "sleep 0.5; exit 5"]);
    f.detach(&quick, &["--", "sh", "-c", "exit 7"]);
    // The order given, whichever ends first.
    assert_eq!(f.manage(&["wait", &slow, &quick]).ok(), "5\n7\n");

    // A missing id among others: the others' codes, one error line, exit 125.
    let out = f.manage(&["wait", &quick, "nope"]);
    assert_eq!((out.code(), out.stdout()), (125, "7\n".to_string()));
    assert!(
        out.stderr().contains("\"nope\": no such container"),
        "{}",
        out.stderr()
    );

    // --rm: the record goes with the container, and with it the code.
    let gone = unique_id("gone");
    f.detach(&gone, &["--rm", "--", "sh", "-c", "sleep 0.3"]);
    let out = f.manage(&["wait", &gone]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("removed when it ended")
            || out.stderr().contains("no such container"),
        "{}",
        out.stderr()
    );

    // A foreground container's code goes to the nsbox that runs it.
    let fg = unique_id("fg");
    let mut child = f.spawn(&["--name", &fg, "--", "sleep", "10"]);
    wait_until("the foreground container is listed", 10, || {
        f.manage(&["ps", "-q"]).stdout().contains(&fg)
    });
    let out = f.manage(&["wait", &fg]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("runs in the foreground"),
        "{}",
        out.stderr()
    );
    assert_eq!(f.manage(&["stop", "-t", "0", &fg]).ok(), format!("{fg}\n"));
    assert_eq!(child.wait().unwrap().code(), Some(137));
    f.manage(&["rm", &slow, &quick]).ok();
    f.assert_clean();
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    for (args, says) in [
        (&["stop"][..], "at least one container id is needed"),
        (&["wait"], "at least one container id is needed"),
        (&["inspect"], "at least one container id is needed"),
        (
            &["stop", "-t", "soon", "x"],
            "not a whole number of seconds",
        ),
        (&["stop", "-t", "-1", "x"], "not a whole number of seconds"),
        (&["stop", "-s", "BOGUS", "x"], "not a signal"),
        (&["stop", "--bogus", "x"], "unknown option --bogus"),
        (&["stop", "nope"], "no such container"),
        (&["wait", "nope"], "no such container"),
        (&["inspect", "nope"], "no such container"),
        (&["inspect", "../etc"], "container id"),
    ] {
        let out = f.manage(args);
        assert_eq!(out.code(), 125, "{args:?}");
        assert_eq!(out.stdout(), "", "{args:?}");
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    f.assert_clean();
}
