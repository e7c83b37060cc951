//! Every example of the README's usage section runs, as written, on the rootfs that
//! scripts/mkrootfs.sh makes (the README tells new users to make it): the README cannot drift
//! from what nsbox does. The interactive ones (`logs -f`, `exec -t`) are left out, and say so.
//! Everything runs in a throwaway network namespace, with the test's own state root.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};

/// The example commands: the indented lines after "Examples (as root):", up to the table,
/// split where a `;` starts another nsbox command, without their trailing comments.
fn examples() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = readme
        .split_once("Examples (as root):")
        .expect("README has its examples")
        .1
        .split_once("| option |")
        .unwrap()
        .0;
    block
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .map(|l| l.split("  #").next().unwrap().trim())
        .flat_map(|l| {
            l.split("; nsbox ")
                .enumerate()
                .map(|(i, c)| {
                    if i == 0 {
                        c.to_string()
                    } else {
                        format!("nsbox {c}")
                    }
                })
                .collect::<Vec<_>>()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn every_readme_example_runs() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let all = examples();
    assert!(all.len() >= 12, "the examples were found: {all:?}");
    // A network namespace of the test's own, held by a sleep it started.
    let mut holder = Command::new("unshare")
        .args([
            "--net",
            "--",
            "setpriv",
            "--pdeathsig",
            "KILL",
            "--",
            "sleep",
            "300",
        ])
        .spawn()
        .unwrap();
    let netns = format!("/proc/{}/ns/net", holder.id());
    let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
    wait_until("the holder has its own network namespace", 5, || {
        std::fs::read_link(&netns).is_ok_and(|l| l != mine)
    });
    let bin_dir = Path::new(nsbox_bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let sh = |line: &str| {
        Out(Command::new("nsenter")
            .arg(format!("--net={netns}"))
            .args(["--", "sh", "-c", line])
            .current_dir(&f.scratch)
            .env("PATH", &path)
            .env("NSBOX_ROOT", &f.state_root)
            .stdin(Stdio::null())
            .output()
            .unwrap())
    };
    sh("ip link set lo up").ok();
    for example in &all {
        if example.contains("logs -f") || example.contains("exec -t") {
            skip(&format!("left out, as interactive: {example}"));
            continue;
        }
        let line = example.replace("scripts/", &format!("{}/", scripts.display()));
        let out = sh(&line);
        assert_eq!(
            out.code(),
            0,
            "README example `{example}`: {}{}",
            out.stdout(),
            out.stderr()
        );
        // A detached example must still run a moment later (its command may fail after its
        // execve, which `run -d` does not wait for).
        if let Some(name) = example
            .split("--name ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            && example.contains("run -d")
        {
            std::thread::sleep(std::time::Duration::from_millis(300));
            let ps = sh("nsbox ps").ok();
            assert!(
                ps.lines()
                    .any(|l| l.starts_with(name) && l.contains("running")),
                "README example `{example}` no longer runs: {ps}{}",
                sh(&format!("nsbox logs {name}")).stdout()
            );
        }
    }
    for id in ["web", "db"] {
        let _ = sh(&format!("nsbox rm -f {id}"));
    }
    let _ = holder.kill();
    let _ = holder.wait();
    f.assert_clean();
}
