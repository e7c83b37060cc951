//! OCI hooks: each phase runs at its moment, in the namespaces the runtime-spec names, with the
//! container's state (status and pid of that moment) on its stdin; a failing or hanging hook of
//! the create phase fails `create` and leaves nothing.

mod common;

use common::Fixture;
use common::oci::{Bundle, Config, create_and_start, oci, status_of};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn ns(path: &str) -> String {
    std::fs::read_link(path)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// `{"path":P,"args":[P,PHASE],"env":[...]}` for the host's logging hook.
fn host_hook(path: &Path, phase: &str) -> String {
    format!(
        r#"{{"path":"{p}","args":["{p}","{phase}"],"env":["PATH=/usr/bin:/bin","HOOK_ENV=given"]}}"#,
        p = path.display()
    )
}

#[test]
fn every_hook_runs_at_its_moment_with_the_state() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "hooks", true);
    let id = common::unique_id("oci-hooks");
    let log = f.scratch.join("hooks.log");
    let hook = f.scratch.join("hook.sh");
    // One line per run: phase, mount and network namespaces, the env it was given, the state
    // directory's presence, its stdin.
    script(
        &hook,
        &format!(
            r#"state=$(cat)
if [ -e {dir} ]; then d=present; else d=gone; fi
echo "$1 $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/net) $HOOK_ENV $d $state" >> {log}"#,
            dir = f.state_root.join(&id).display(),
            log = log.display()
        ),
    );
    // startContainer's path is the container's: the script is in its rootfs, and so is what
    // it writes.
    script(
        &b.root.join("start-hook.sh"),
        "echo \"startContainer $(hostname) $(cat)\" > /start-hook.log",
    );
    let hooks = format!(
        r#""hooks":{{"createRuntime":[{cr}],"prestart":[{ps}],"createContainer":[{cc}],
  "startContainer":[{{"path":"/start-hook.sh"}}],"poststart":[{pst}],"poststop":[{pstop}]}},"#,
        cr = host_hook(&hook, "createRuntime"),
        ps = host_hook(&hook, "prestart"),
        cc = host_hook(&hook, "createContainer"),
        pst = host_hook(&hook, "poststart"),
        pstop = host_hook(&hook, "poststop"),
    );
    b.write(&Config {
        args: &["sleep", "600"],
        top: &hooks,
        ..Default::default()
    });
    let (pid, _) = create_and_start(&f, &b, &id);
    let (host_mnt, host_net) = (ns("/proc/self/ns/mnt"), ns("/proc/self/ns/net"));
    let (box_mnt, box_net) = (
        ns(&format!("/proc/{pid}/ns/mnt")),
        ns(&format!("/proc/{pid}/ns/net")),
    );
    assert_ne!(host_mnt, box_mnt);
    common::wait_until("startContainer's log", 5, || {
        b.root.join("start-hook.log").exists()
    });
    let start = std::fs::read_to_string(b.root.join("start-hook.log")).unwrap();
    assert!(
        start.starts_with("startContainer ocibox {"),
        "startContainer runs inside, after the hostname is set: {start}"
    );
    assert!(start.contains(r#""status":"created""#), "{start}");
    assert!(start.contains(&format!(r#""pid":{pid}"#)), "{start}");
    assert_eq!(status_of(&f, &id), "running");
    oci(&f, &["delete", "--force", &id]).ok();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let phases: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        phases,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ],
        "{text}"
    );
    let expect = [
        (&host_mnt, &host_net, "present", "creating", pid),
        (&host_mnt, &host_net, "present", "creating", pid),
        (&box_mnt, &box_net, "present", "creating", pid),
        (&host_mnt, &host_net, "present", "running", pid),
        (&host_mnt, &host_net, "gone", "stopped", 0),
    ];
    for (line, (mnt, net, dir, status, pid)) in lines.iter().zip(expect) {
        let words: Vec<&str> = line.splitn(6, ' ').collect();
        assert_eq!(words[1], mnt.as_str(), "mount namespace: {line}");
        assert_eq!(words[2], net.as_str(), "network namespace: {line}");
        assert_eq!(words[3], "given", "the hook's env: {line}");
        assert_eq!(words[4], dir, "the state directory: {line}");
        let state = words[5];
        assert!(state.contains(&format!(r#""id":"{id}""#)), "{line}");
        assert!(state.contains(&format!(r#""status":"{status}""#)), "{line}");
        assert!(state.contains(&format!(r#""pid":{pid}"#)), "{line}");
        assert!(
            state.contains(&format!(r#""bundle":"{}""#, b.dir.display())),
            "{line}"
        );
    }
    f.assert_clean();
}

#[test]
fn a_failing_or_hanging_hook_fails_create_and_leaves_nothing() {
    if !common::can_run() {
        return;
    }
    let f = Fixture::new();
    let b = Bundle::new(&f, "badhooks", false);
    let fails = f.scratch.join("fails.sh");
    script(&fails, "exit 3");
    let hangs = f.scratch.join("hangs.sh");
    script(&hangs, "exec sleep 600");
    let cases = [
        (
            format!(
                r#""hooks":{{"createRuntime":[{{"path":"{}"}}]}},"#,
                fails.display()
            ),
            format!(
                "the createRuntime hook {:?}: failed (exit code 3)",
                fails.display().to_string()
            ),
        ),
        (
            format!(
                r#""hooks":{{"createContainer":[{{"path":"{}","timeout":1}}]}},"#,
                hangs.display()
            ),
            "did not end within its timeout (1 s): killed".to_string(),
        ),
        (
            r#""hooks":{"prestart":[{"path":"/nonexistent/hook"}]},"#.to_string(),
            "execute the prestart hook \"/nonexistent/hook\": ENOENT".to_string(),
        ),
        (
            r#""hooks":{"startContainer":[{"path":"/bin/false"}]},"#.to_string(),
            "the startContainer hook \"/bin/false\": failed (exit code 1)".to_string(),
        ),
    ];
    for (n, (hooks, why)) in cases.iter().enumerate() {
        let id = format!("{}-{n}", common::unique_id("oci-badhook"));
        b.write(&Config {
            args: &["true"],
            top: hooks,
            ..Default::default()
        });
        let t0 = std::time::Instant::now();
        let out = oci(&f, &["run", "--bundle", b.dir.to_str().unwrap(), &id]);
        assert_ne!(out.code(), 0, "{hooks}");
        let err = out.stderr();
        assert_eq!(err.lines().count(), 1, "{hooks}: one line: {err}");
        assert!(err.contains(why.as_str()), "{hooks}: {err}");
        assert!(t0.elapsed().as_secs() < 10, "{hooks}: the timeout held");
        f.assert_clean();
    }
}
