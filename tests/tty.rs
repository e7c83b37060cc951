//! `-t`: a pseudo-terminal for the container, under a real terminal (script(1) gives nsbox
//! one), with the caller's terminal mode restored and its window size followed.

mod common;

use common::{Fixture, can_run, nsbox_bin, rootfs};
use std::process::{Command, Stdio};

/// Runs `sh -c LINE` under script(1): its stdin, stdout and stderr are a fresh terminal.
/// `input` is typed into that terminal. Returns what the terminal showed, without `\r`.
fn in_terminal(line: &str, input: &str) -> String {
    let mut child = Command::new("script")
        .args(["-qfec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux (scripts/test.sh installs it)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        for chunk in input.split_inclusive('\n') {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let _ = stdin.write_all(chunk.as_bytes());
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

fn nsbox(f: &Fixture) -> String {
    format!("{} run --root {}", nsbox_bin(), f.state_root.display())
}

#[test]
fn the_container_gets_its_own_terminal_and_the_callers_is_restored() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let line = format!(
        "stty rows 33 cols 101; stty -g; {} -r {} -it -- sh -c 'tty; stty size; \
         stat -c %t:%T /dev/console $(tty); echo TERM=$TERM; exit 5'; echo rc=$?; stty -g",
        nsbox(&f),
        rootfs().display()
    );
    let out = in_terminal(&line, "");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    assert!(lines[1].starts_with("/dev/pts/"), "tty inside: {out}");
    assert_eq!(lines[2], "33 101", "the window size went in: {out}");
    assert_eq!(
        lines[3], lines[4],
        "/dev/console is the container's pty: {out}"
    );
    // -i is accepted (docker's -it), and a terminal comes with TERM.
    assert_eq!(lines[5], "TERM=xterm", "{out}");
    assert_eq!(lines[6], "rc=5");
    assert_eq!(
        lines[0], lines[7],
        "the caller's terminal mode was restored: {out}"
    );
    f.assert_clean();
}

#[test]
fn typing_and_window_changes_reach_the_container() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    // Typed lines go to the container's shell; a new window size follows (SIGWINCH to nsbox).
    let line = format!(
        "{} -r {} -t -- sh -c 'trap \"stty size\" WINCH; read x; echo got $x; until read y; do :; done; exit $y' \
         </dev/tty & sleep 0.5; stty rows 20 cols 70; kill -WINCH $!; wait $!; echo rc=$?",
        nsbox(&f),
        rootfs().display()
    );
    let out = in_terminal(&line, "hello\n7\n");
    assert!(out.contains("got hello\n"), "{out}");
    assert!(
        out.contains("20 70\n"),
        "the new size reached the container: {out}"
    );
    assert!(out.ends_with("rc=7\n"), "{out}");
    f.assert_clean();
}

#[test]
fn detached_terminal_output_is_logged_and_exec_gets_a_terminal() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    f.detach("t1", &["-t", "--", "sh", "-c", "tty; echo out; sleep 60"]);
    common::wait_until("the output was logged", 5, || {
        f.manage(&["logs", "t1"]).stdout().contains("out")
    });
    let log = f.manage(&["logs", "t1"]).ok();
    assert_eq!(
        log, "/dev/pts/0\r\nout\r\n",
        "a terminal's output (ONLCR): {log:?}"
    );
    let line = format!(
        "{} exec --root {} -it t1 sh -c 'tty; test -t 0 && echo in-tty $TERM'",
        nsbox_bin(),
        f.state_root.display()
    );
    let out = in_terminal(&line, "");
    assert_eq!(out, "/dev/pts/1\nin-tty xterm\n");
    f.manage(&["rm", "-f", "t1"]).ok();
    f.assert_clean();
}

#[test]
fn without_a_terminal_tty_is_refused_and_nothing_is_created() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["-t", "--", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("run -t: stdin is not a terminal"),
        "{}",
        out.stderr()
    );
    f.detach("t2", &["--", "sleep", "60"]);
    let out = f.manage(&["exec", "-t", "t2", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("exec -t: stdin is not a terminal"),
        "{}",
        out.stderr()
    );
    f.manage(&["rm", "-f", "t2"]).ok();
    f.assert_clean();
}
