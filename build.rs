//! Embeds the version, git revision, target triple and profile, shown by `nsbox version`, and
//! writes the target's syscall names (`OUT_DIR/syscall_names.txt`: one line per number, empty
//! where the number has no call) for the OCI seccomp profile.
use std::process::Command;

fn syscall_names() -> String {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let mut names: Vec<(usize, &str)> = match arch.as_str() {
        "aarch64" => syscalls::aarch64::Sysno::iter()
            .map(|s| (s.id() as usize, s.name()))
            .collect(),
        _ => syscalls::x86_64::Sysno::iter()
            .map(|s| (s.id() as usize, s.name()))
            .collect(),
    };
    names.sort_unstable();
    let last = names.last().map_or(0, |(id, _)| *id);
    let mut lines = vec![""; last + 1];
    for (id, name) in names {
        lines[id] = name;
    }
    lines.join("\n")
}

fn main() {
    let rev = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=NSBOX_GIT_REV={rev}");
    println!("cargo:rustc-env=NSBOX_TARGET={target}");
    println!("cargo:rustc-env=NSBOX_PROFILE={profile}");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    std::fs::write(out.join("syscall_names.txt"), syscall_names())
        .expect("write OUT_DIR/syscall_names.txt");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
}
