//! `nsbox logs -t` and `--tail`: each line of a detached container's output after the time it
//! came, the last N lines, and both while following, across the option matrix; with a
//! terminal (-d -t) too. What the host keeps: nothing, once the container is removed.

mod common;

use common::{Fixture, MODES, can_run, run_in, unique_id, wait_until};
use std::process::Command;

/// Writes a (stdout), b (stderr) and then c and d in one write, 0.3 s apart.
const SCRIPT: &str = "echo a; sleep 0.3; echo b >&2; sleep 0.3; printf 'c\\nd\\n'";

/// Now, as nsbox writes times (RFC 3339 in UTC with nanoseconds: they sort as text).
fn now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.%NZ"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Each line of `logs -t` output as (time, text); the line ending is left on the text.
fn stamped(out: &str) -> Vec<(String, String)> {
    out.split_inclusive('\n')
        .map(|line| {
            let (time, text) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("no time before {line:?}"));
            assert!(
                time.len() == 30 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
                "not an RFC 3339 time with nanoseconds: {time:?}"
            );
            (time.to_string(), text.to_string())
        })
        .collect()
}

#[test]
fn timestamps_and_tail_across_the_option_matrix() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let rootfs = common::rootfs();
    for (mode, _) in MODES {
        let id = unique_id(&format!("logs-{mode}"));
        let before = now();
        let out = run_in(
            &f,
            mode,
            rootfs,
            &["-d", "--name", &id, "--", "sh", "-c", SCRIPT],
        );
        assert_eq!(out.ok(), format!("{id}\n"), "{mode}: run -d");
        assert_eq!(f.manage(&["wait", &id]).ok(), "0\n", "{mode}");
        let after = now();

        let lines = stamped(&f.manage(&["logs", "-t", &id]).ok());
        let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["a\n", "b\n", "c\n", "d\n"],
            "{mode}: stdout and stderr, in order"
        );
        let t: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
        assert!(
            before.as_str() < t[0] && t[0] < t[1] && t[1] < t[2] && t[3] <= after.as_str(),
            "{mode}: each line at the time it came, within the run ({before} .. {after}): {t:?}"
        );
        assert_eq!(t[2], t[3], "{mode}: c and d came in one write");

        assert_eq!(
            f.manage(&["logs", "--tail", "2", &id]).ok(),
            "c\nd\n",
            "{mode}"
        );
        assert_eq!(f.manage(&["logs", "-n", "0", &id]).ok(), "", "{mode}");
        assert_eq!(f.manage(&["logs", "--tail", "9", &id]).ok(), "a\nb\nc\nd\n");
        assert_eq!(
            f.manage(&["logs", "--tail", "all", &id]).ok(),
            "a\nb\nc\nd\n"
        );
        let last = stamped(&f.manage(&["logs", "-t", "-n", "1", &id]).ok());
        assert_eq!(
            last,
            lines[3..],
            "{mode}: --tail -t stamps as the whole log does"
        );

        f.manage(&["rm", &id]).ok();
        assert!(
            !f.state_root.join(&id).exists(),
            "{mode}: rm leaves neither the log nor its times"
        );
    }
}

#[test]
fn follow_with_tail_and_timestamps_starts_at_the_end_and_sees_what_follows() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("logs-follow");
    f.detach(
        &id,
        &[
            "--pids-limit",
            "16",
            "--",
            "sh",
            "-c",
            "trap 'echo second; exit 0' USR1; echo old; echo first; while :; do sleep 0.05; done",
        ],
    );
    wait_until("its first line", 10, || {
        f.manage(&["logs", &id]).stdout().contains("first")
    });
    let follower = Command::new(common::nsbox_bin())
        .args(["logs", "--root"])
        .arg(&f.state_root)
        .args(["-f", "-t", "--tail", "1", &id])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Nothing is written into the shared rootfs: a signal makes it go on.
    f.manage(&["kill", "-s", "USR1", &id]).ok();
    let out = follower.wait_with_output().unwrap();
    assert!(out.status.success(), "-f ends when the container does");
    let lines = stamped(&String::from_utf8(out.stdout).unwrap());
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        texts,
        ["first\n", "second\n"],
        "the last line, then what followed"
    );
    assert!(lines[0].0 < lines[1].0, "{lines:?}");
    f.manage(&["rm", &id]).ok();
}

#[test]
fn the_childs_trace_goes_straight_to_the_log_and_the_command_into_the_pipe() {
    if !can_run() {
        return;
    }
    // Until its execve the child writes where the supervisor does (the log), so a long trace
    // never waits on a pipe nobody reads yet; the command's stdout and stderr are the pipe.
    let f = Fixture::new();
    let id = unique_id("logs-trace");
    let mut args = vec!["--trace".to_string()];
    for i in 0..40 {
        args.extend(["--tmpfs".to_string(), format!("/t{i}")]);
    }
    args.extend(["--".into(), "sh".into(), "-c".into()]);
    args.push("readlink /proc/self/fd/1; readlink /proc/self/fd/2; echo done".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    f.detach(&id, &args);
    assert_eq!(f.manage(&["wait", &id]).ok(), "0\n");
    let log = f.manage(&["logs", &id]).ok();
    let child = log
        .find("nsbox[child ")
        .expect("the child's trace is in the log");
    let done = log.find("done\n").expect("the command's output");
    assert!(child < done, "{log}");
    // The first piece relayed (its entry in log.times: offset, then time) comes after the
    // child's trace of building the container, which went into the log directly.
    let times = std::fs::read(f.state_root.join(&id).join("log.times")).unwrap();
    assert!(
        times.len() >= 16 && times.len().is_multiple_of(16),
        "{}",
        times.len()
    );
    let first = u64::from_le_bytes(times[..8].try_into().unwrap()) as usize;
    let built = log
        .find("but the sync socket")
        .expect("the child's close_range step");
    assert!(
        first > built,
        "first relayed piece at {first}, child's setup at {built}"
    );
    let pipes: Vec<&str> = log.lines().filter(|l| l.starts_with("pipe:[")).collect();
    assert_eq!(pipes.len(), 2, "stdout and stderr are the pipe: {log}");
    assert_eq!(pipes[0], pipes[1]);
    let stamped = f.manage(&["logs", "-t", &id]).ok();
    assert!(
        stamped.lines().any(|l| l.ends_with("Z done")),
        "the command's line is stamped: {stamped}"
    );
    f.manage(&["rm", &id]).ok();
}

#[test]
fn a_terminals_output_is_stamped_too() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("logs-tty");
    f.detach(
        &id,
        &["-t", "--", "sh", "-c", "echo one; sleep 0.3; echo two"],
    );
    assert_eq!(f.manage(&["wait", &id]).ok(), "0\n");
    let lines = stamped(&f.manage(&["logs", "-t", &id]).ok());
    let texts: Vec<&str> = lines.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["one\r\n", "two\r\n"], "what the terminal showed");
    assert!(lines[0].0 < lines[1].0, "{lines:?}");
    assert_eq!(f.manage(&["logs", "--tail", "1", &id]).ok(), "two\r\n");
    f.manage(&["rm", &id]).ok();
}

#[test]
fn a_large_burst_is_kept_whole() {
    if !can_run() {
        return;
    }
    // 3 MiB, more than the pipe holds, written as fast as it goes, then the container ends.
    let f = Fixture::new();
    let id = unique_id("logs-burst");
    f.detach(
        &id,
        &["--", "sh", "-c", "yes 0123456789abcde | head -c 3145728"],
    );
    assert_eq!(f.manage(&["wait", &id]).ok(), "0\n");
    let all = f.manage(&["logs", &id]).ok();
    assert_eq!(all.len(), 3 << 20, "every byte, once");
    assert!(all.lines().all(|l| l == "0123456789abcde"));
    let stamped = f.manage(&["logs", "-t", "--tail", "3", &id]).ok();
    assert_eq!(stamped.lines().count(), 3, "{stamped}");
    f.manage(&["rm", &id]).ok();
}

#[test]
fn bad_input_is_refused_with_its_reason() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let id = unique_id("logs-bad");
    f.detach(&id, &["--", "echo", "hi"]);
    assert_eq!(f.manage(&["wait", &id]).ok(), "0\n");
    for (args, says) in [
        (&["--tail", "x"][..], "--tail \"x\": not a number of lines"),
        (&["--tail", "-1"][..], "not a number of lines"),
        (&["--tail"][..], "--tail"),
    ] {
        let out = f.manage(&[&["logs"][..], args, &[id.as_str()][..]].concat());
        assert_ne!(out.code(), 0, "{args:?}");
        assert!(out.stderr().contains(says), "{args:?}: {}", out.stderr());
        assert_eq!(out.stderr().lines().count(), 1, "{}", out.stderr());
    }
    // Without its times (a container of an older nsbox): -t says so; plain logs still works.
    std::fs::remove_file(f.state_root.join(&id).join("log.times")).unwrap();
    let out = f.manage(&["logs", "-t", &id]);
    assert_ne!(out.code(), 0);
    assert!(
        out.stderr().contains("log's times") && out.stderr().contains("leave out -t"),
        "{}",
        out.stderr()
    );
    assert_eq!(f.manage(&["logs", &id]).ok(), "hi\n");
    f.manage(&["rm", &id]).ok();
    assert!(!f.state_root.join(&id).exists());
}
