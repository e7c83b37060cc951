//! Every example of the README's usage section runs, as written, on the rootfs that
//! scripts/mkrootfs.sh makes (the README tells new users to make it): the README cannot drift
//! from what nsbox does. The interactive ones (`logs -f`, `exec -t`) are left out, and say so.
//! Everything runs in a throwaway network namespace, with the test's own state root.

mod common;
use common::*;
use std::path::Path;

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
    let ns = NetNs::new();
    let bin_dir = Path::new(nsbox_bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts");
    let sh = |line: &str| {
        let mut cmd = ns.command("sh");
        cmd.args(["-c", line])
            .current_dir(&f.scratch)
            .env("PATH", &path)
            .env("NSBOX_ROOT", &f.state_root);
        Out(cmd.output().unwrap())
    };
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
    drop(ns);
    f.assert_clean();
}
