//! The OCI front end: runc's command line over a runtime-spec bundle, building the same Spec
//! as the native CLI for the same runtime. What podman (conmon), containerd's shim and the CRI
//! plugin call is in docs/OCI.md.

mod cli;
mod commands;
mod config;
mod control;
mod events;
mod exec;
mod field;
mod hooks;
pub mod json;
mod linux;
mod mounts;
mod resources;
mod resources_io;
mod seccomp;
mod state;
mod template;
mod update;

pub use cli::claims;

use crate::error::{EXIT_NSBOX, Error};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The OCI record in a container's state directory (native `gc` leaves such directories alone).
pub const STATE_FILE: &str = state::FILE;

/// The runtime-spec version nsbox reads and reports.
pub const SPEC_VERSION: &str = "1.2.0";

/// Runs one OCI command; returns the exit code. Errors go to stderr as one line, and with
/// `--log` to that file too (a JSON line with `--log-format json`): clients show its `msg`.
/// `default_root`: the native CLI's (NSBOX_ROOT, else /run/nsbox for root).
pub fn main(args: Vec<OsString>, cwd: &Path, default_root: PathBuf) -> u8 {
    crate::error::name_topics_with(field_of);
    let (global, command) = cli::parse(args);
    // The log file must exist after any call, even one that fails before it writes.
    if let Some(log) = &global.log {
        append(log, b"");
    }
    let command = match command {
        Ok(c) => c,
        Err(e) => {
            report(&e, &global);
            return EXIT_NSBOX;
        }
    };
    let root = global.root.clone().unwrap_or(default_root);
    match run(command, &root, cwd, global.debug) {
        Ok(code) => code,
        Err(e) => {
            report(&e, &global);
            if e.code == 0 { 1 } else { e.code }
        }
    }
}

fn run(command: cli::Command, root: &Path, cwd: &Path, debug: bool) -> crate::error::Result<u8> {
    use cli::Command as C;
    // --debug: every command traces its steps and syscalls (create and run as `nsbox run
    // --trace` does).
    if debug {
        crate::trace::enable();
    }
    // create and run re-execute nsbox from its read-only image (container/sealed.rs) before
    // they read the config, which the new image reads anyway: once, not twice.
    if matches!(command, C::Create(_) | C::Run(..)) {
        let mask = crate::container::supervise::block()?;
        crate::container::sealed::ensure(mask)?;
    }
    let out = |text: String| crate::sys::write_stdout(text.as_bytes());
    match command {
        C::Create(c) => commands::create(&c, root, cwd, debug).map(|_| 0),
        C::Run(c, detach) => commands::run(&c, detach, root, cwd, debug),
        C::Start(id) => commands::start(root, &id).map(|()| 0),
        C::Exec(e) => exec::exec(root, &e, cwd),
        C::Ps(id, as_json) => {
            out(control::ps(root, &id, as_json)?);
            Ok(0)
        }
        C::Pause(id) => control::set_frozen(root, &id, true).map(|()| 0),
        C::Resume(id) => control::set_frozen(root, &id, false).map(|()| 0),
        C::Update(u) => update::update(root, &u, cwd).map(|()| 0),
        C::Events(id, stats, secs) => {
            events::events(root, &id, stats, std::time::Duration::from_secs(secs)).map(|()| 0)
        }
        C::State(id) => {
            out(commands::state_json(root, &id)? + "\n");
            Ok(0)
        }
        C::Kill(id, sig, all) => commands::kill(root, &id, sig, all).map(|()| 0),
        C::Delete(id, force) => commands::delete(root, &id, force).map(|()| 0),
        C::List(as_json) => {
            let found = commands::list(root)?;
            let text = match as_json {
                true => {
                    let items = found
                        .iter()
                        .map(|(dir, r)| r.state(r.status(dir)))
                        .collect();
                    json::Value::Arr(items).text() + "\n"
                }
                false => {
                    let mut t = format!(
                        "{:<20} {:<8} {:<10} {:<40} {}\n",
                        "ID", "PID", "STATUS", "BUNDLE", "CREATED"
                    );
                    for (dir, r) in &found {
                        let status = r.status(dir);
                        let pid = if status == state::Status::Stopped {
                            0
                        } else {
                            r.pid.pid
                        };
                        t += &format!(
                            "{:<20} {:<8} {:<10} {:<40} {}\n",
                            r.id,
                            pid,
                            status.name(),
                            r.bundle.display(),
                            r.created
                        );
                    }
                    t
                }
            };
            out(text);
            Ok(0)
        }
        C::Spec(rootless, bundle) => {
            template::write_spec(&config::bundle_dir(bundle.as_ref(), cwd), rootless).map(|()| 0)
        }
        C::Features => {
            out(format!("{}\n", template::FEATURES));
            Ok(0)
        }
        C::Version => {
            out(format!(
                "nsbox version {}\ncommit: {}\nspec: {SPEC_VERSION}\n",
                env!("CARGO_PKG_VERSION"),
                env!("NSBOX_GIT_REV")
            ));
            Ok(0)
        }
        C::Help => {
            out(crate::help::text(Some("oci"))
                .unwrap_or_default()
                .to_string());
            Ok(0)
        }
    }
}

/// The error on stderr and in the log, without nsbox's name as runc's: the clients put the
/// runtime's name first ("Error: nsbox: ...", conmon passing stderr on for exec).
fn report(e: &Error, global: &cli::Global) {
    crate::sys::write_stderr_untraced(format!("{e}\n").as_bytes());
    let Some(log) = &global.log else { return };
    let msg = json::str(e.to_string());
    let time = json::str(crate::state::time::now_rfc3339());
    // text: runc's logrus shape, with the same quoting.
    let line = match global.json_log {
        true => json::obj(vec![
            ("level", json::str("error")),
            ("msg", msg),
            ("time", time),
        ])
        .text(),
        false => format!("time={} level=error msg={}", time.text(), msg.text()),
    };
    append(log, format!("{line}\n").as_bytes());
}

/// Appends to the log file (creating it), best effort: a log that cannot be written must not
/// change the outcome.
fn append(log: &Path, text: &[u8]) {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC;
    let Ok(path) = crate::sys::cpath(log) else {
        return;
    };
    if let Ok(fd) = crate::sys::fs::openat(libc::AT_FDCWD, &path, flags, 0o644) {
        let _ = crate::sys::write(&fd, text);
        crate::sys::close(fd);
    }
}

/// Where an OCI config (or runc's command line) gives each setting an error can be about.
fn field_of(topic: crate::error::Topic) -> Option<&'static str> {
    use crate::error::Topic;
    Some(match topic {
        Topic::Memory => "linux.resources.memory",
        Topic::Pids => "linux.resources.pids",
        Topic::CpuQuota => "linux.resources.cpu.quota",
        Topic::Cpuset => "linux.resources.cpu.cpus",
        Topic::Devices => "linux.resources.devices",
        Topic::UidMap => "linux.uidMappings",
        Topic::GidMap => "linux.gidMappings",
        Topic::Capabilities => "process.capabilities",
        Topic::Seccomp => "linux.seccomp",
        Topic::User => "process.user",
        Topic::Workdir => "process.cwd",
        Topic::Network => return None,
        Topic::ReadOnly => "root.readonly",
        Topic::Chroot => "--no-pivot",
        Topic::Rootfs => "root.path",
        Topic::Name => "the container id",
        Topic::StateRoot => "--root",
    })
}
