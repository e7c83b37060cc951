//! OCI `exec`, as conmon and containerd's shim call it: a process JSON applied whole (args,
//! env, cwd, user, capabilities, no_new_privs) in every namespace the container has, with the
//! container's seccomp profile; `--detach` leaves it to the caller's subreaper with its pid in
//! the pid file; bad input is one line and leaves nothing.

mod common;

use common::oci::{Bundle, Config, create_and_start, oci, status_of};
use common::{Fixture, wait_until};

/// A container that runs until deleted; its seccomp profile refuses mkdir with EPERM.
fn running(f: &Fixture, name: &str) -> (Bundle, String, u32) {
    let b = Bundle::new(f, name, false);
    let id = common::unique_id(name);
    b.write(&Config {
        args: &["sleep", "600"],
        linux: r#","seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
        ..Default::default()
    });
    let (pid, _) = create_and_start(f, &b, &id);
    (b, id, pid)
}

fn ns(pid: &str, name: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

const SHOW: &str = "echo $FOO; id -u; id -g; id -G; pwd; hostname; \
    grep -E 'NoNewPrivs|CapEff|CapBnd' /proc/self/status; \
    for n in ipc uts net mnt pid cgroup; do readlink /proc/self/ns/$n; done; \
    mkdir /tmp/x 2>&1 || true; exit 3";

#[test]
fn a_process_json_is_applied_whole_in_every_namespace_of_the_container() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let (_b, id, pid) = running(&f, "oci-exec");
    let process = f.scratch.join("process.json");
    std::fs::write(
        &process,
        format!(
            r#"{{"terminal":false,"user":{{"uid":1000,"gid":1000,"additionalGids":[44]}},
  "args":{},"env":["FOO=from-the-process","PATH=/bin:/usr/bin"],"cwd":"/tmp",
  "capabilities":{{"bounding":["CAP_KILL"],"effective":[],"permitted":[]}},
  "noNewPrivileges":true}}"#,
            common::oci::json_strs(&["sh", "-c", SHOW])
        ),
    )
    .unwrap();
    let out = oci(&f, &["exec", "--process", process.to_str().unwrap(), &id]);
    assert_eq!(out.code(), 3, "the process's exit code: {}", out.stderr());
    let seen = out.stdout();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(
        &lines[..6],
        [
            "from-the-process",
            "1000",
            "1000",
            "1000 44",
            "/tmp",
            "ocibox"
        ],
        "{seen}"
    );
    assert!(seen.contains("NoNewPrivs:\t1"), "{seen}");
    assert!(seen.contains("CapEff:\t0000000000000000"), "{seen}");
    assert!(
        seen.contains("CapBnd:\t0000000000000020"),
        "only KILL: {seen}"
    );
    let pid = pid.to_string();
    for name in ["ipc", "uts", "net", "mnt", "pid", "cgroup"] {
        let theirs = ns(&pid, name);
        assert!(seen.contains(&theirs), "{name}: {theirs} not in {seen}");
        assert_ne!(theirs, ns("self", name), "the container's own {name}");
    }
    // The container's seccomp profile holds for the joined process too.
    assert!(seen.contains("Operation not permitted"), "{seen}");
    // Without --process: the container's process is the base, the flags change it.
    let out = oci(
        &f,
        &[
            "exec",
            "--cwd",
            "/etc",
            "-e",
            "BAR=1",
            &id,
            "sh",
            "-c",
            "pwd; echo $BAR; id -u",
        ],
    );
    assert_eq!(out.code(), 0, "{}", out.stderr());
    assert_eq!(out.stdout(), "/etc\n1\n0\n");
    oci(&f, &["delete", "--force", &id]).ok();
    f.assert_clean();
}

#[test]
fn exec_detach_leaves_the_process_to_the_callers_subreaper() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let (_b, id, _) = running(&f, "oci-exec-d");
    let process = f.scratch.join("process.json");
    std::fs::write(
        &process,
        r#"{"args":["sh","-c","sleep 1; exit 5"],"cwd":"/","env":["PATH=/bin"]}"#,
    )
    .unwrap();
    let pid_file = f.scratch.join("exec.pid");
    let (mut reaper, mut lines) = common::oci::under_subreaper(
        &f,
        &[
            "exec".as_ref(),
            "--detach".as_ref(),
            "--pid-file".as_ref(),
            pid_file.as_os_str(),
            "--process".as_ref(),
            process.as_os_str(),
            id.as_ref(),
        ],
    );
    assert_eq!(lines.next().unwrap().unwrap(), "create ok");
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    // nsbox has exited: the process is the subreaper's child, and runs its command.
    assert_eq!(common::oci::parent_of(pid), reaper.id());
    wait_until("the command runs", 10, || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() != "nsbox")
    });
    // The subreaper reaps it when it ends (exit 5: status 5 << 8, no signal).
    assert_eq!(lines.next().unwrap().unwrap(), format!("reaped {pid} 0"));
    reaper.wait().unwrap();
    assert_eq!(status_of(&f, &id), "running");
    oci(&f, &["delete", "--force", &id]).ok();
    f.assert_clean();
}

#[test]
fn a_terminal_of_exec_goes_to_the_console_socket() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let (_b, id, _) = running(&f, "oci-exec-t");
    let socket = f.scratch.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let process = f.scratch.join("process.json");
    std::fs::write(
        &process,
        r#"{"terminal":true,"consoleSize":{"height":20,"width":70},"cwd":"/","env":["PATH=/bin"],
            "args":["sh","-c","tty; stty size; echo done"]}"#,
    )
    .unwrap();
    let out = oci(
        &f,
        &[
            "exec",
            "--detach",
            "--console-socket",
            socket.to_str().unwrap(),
            "--process",
            process.to_str().unwrap(),
            &id,
        ],
    );
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let (stream, _) = listener.accept().unwrap();
    let text = common::oci::read_pty(common::oci::receive_fd(&stream));
    assert_eq!(
        text, "/dev/pts/0\n20 70\ndone\n",
        "a pty of the container's devpts"
    );
    oci(&f, &["delete", "--force", &id]).ok();
    f.assert_clean();
}

#[test]
fn bad_exec_input_is_one_line_and_leaves_nothing() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let (_b, id, _) = running(&f, "oci-exec-bad");
    let process = f.scratch.join("process.json");
    let refused = |args: &[&str], needle: &str| {
        let out = oci(&f, args);
        assert_ne!(out.code(), 0, "{args:?}");
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.contains(needle), "{needle:?} in {err}");
    };
    let p = process.to_str().unwrap();
    std::fs::write(&process, "{\"args\": [\"true\"],\n \"cwd\" \"/\"}").unwrap();
    refused(&["exec", "--process", p, &id], "line 2 column 8");
    std::fs::write(&process, r#"{"cwd":"/"}"#).unwrap();
    refused(
        &["exec", "--process", p, &id],
        "the member \"args\" is missing",
    );
    std::fs::write(&process, r#"{"args":["true"],"cwd":"/","terminal":true}"#).unwrap();
    refused(&["exec", "--process", p, &id], "give --console-socket");
    refused(
        &["exec", "--process", "/nonexistent/p.json", &id],
        "read the process file",
    );
    refused(&["exec", "--process", p, "nosuch"], "does not exist");
    refused(&["exec", "--process", p, &id, "extra"], "not both");
    refused(
        &["exec", &id, "nosuchcmd"],
        "executable file not found in $PATH",
    );
    let not_a_socket = f.scratch.join("not-a-socket");
    std::fs::write(&not_a_socket, "").unwrap();
    let s = not_a_socket.to_str().unwrap();
    refused(
        &["exec", "-t", "--console-socket", s, &id, "true"],
        "the console socket",
    );
    oci(&f, &["kill", &id, "9"]).ok();
    wait_until("stopped", 10, || status_of(&f, &id) == "stopped");
    refused(&["exec", &id, "true"], "the container is stopped");
    oci(&f, &["delete", &id]).ok();
    f.assert_clean();
}
