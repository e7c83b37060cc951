//! nsbox: a Linux container runtime in one small static binary.
//!
//! main only wires things up: parse -> Spec -> command -> print the error -> exit code.
//! nsbox starts without std's runtime initialisation (`no_main`): fewer syscalls at start-up,
//! and no SIGPIPE disposition changed behind the container's back.
#![cfg_attr(not(test), no_main)]
// `unsafe` lives in the syscall layer (sys/) alone: the compiler keeps it there.
#![deny(unsafe_code)]

mod cgroup;
mod child;
mod cli;
mod commands;
mod container;
mod doctor;
mod error;
mod flags;
mod help;
mod net;
mod oci;
mod process;
mod rootfs;
mod sort;
mod spec;
mod state;
#[allow(unsafe_code)]
mod sys;
mod terminal;
mod trace;

use error::{EXIT_NSBOX, Error};
use std::ffi::OsString;

/// C's `main`: called by the C runtime with the raw arguments.
#[cfg(not(test))]
#[allow(unsafe_code)] // the C runtime finds it by its name
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    sys::exe::save_argv(argv);
    let args = sys::args_from_main(argc, argv);
    libc::c_int::from(cli_main(args.into_iter().skip(1).collect()))
}

#[cfg_attr(test, allow(dead_code))]
fn cli_main(args: Vec<OsString>) -> u8 {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let (uid, gid) = (sys::geteuid(), sys::getegid());
    let default_root = match (uid, std::env::var_os("XDG_RUNTIME_DIR")) {
        (0, _) => spec::DEFAULT_STATE_ROOT.into(),
        (_, Some(dir)) if !dir.is_empty() => std::path::PathBuf::from(dir).join("nsbox"),
        (uid, _) => format!("/tmp/nsbox-{uid}").into(),
    };
    let state_root_env = std::env::var_os("NSBOX_ROOT").filter(|r| !r.is_empty());
    // runc's command line (podman, containerd): the OCI front end, with the same state root.
    if oci::claims(&args) {
        let root = state_root_env.map(Into::into).unwrap_or(default_root);
        return oci::main(args, &cwd, root);
    }
    error::name_topics_with(cli::topics::flag);
    let ctx = cli::Context {
        cwd: &cwd,
        state_root_env,
        getenv: |name| std::env::var(name).ok(),
        read_file: |path| std::fs::read(path),
        default_root,
        uid,
        gid,
    };
    let result = cli::parse(args, &ctx, new_id).and_then(|command| match command {
        cli::Command::Run(spec, opts) => commands::run::run(&spec, opts),
        cli::Command::Gc(root) => commands::gc::gc(&root),
        cli::Command::Ps(opts) => commands::ps::ps(&opts),
        cli::Command::Logs(opts) => commands::logs::logs(&opts),
        cli::Command::Exec(opts) => commands::exec::exec(&opts),
        cli::Command::Kill(root, id, sig) => commands::kill::kill(&root, &id, sig),
        cli::Command::Rm(root, ids, force) => commands::rm::rm(&root, &ids, force),
        cli::Command::Stop(opts) => commands::stop::stop(&opts),
        cli::Command::Wait(root, ids) => commands::wait::wait(&root, &ids),
        cli::Command::Inspect(root, ids) => commands::inspect::inspect(&root, &ids),
        cli::Command::Doctor(opts) => Ok(doctor::doctor(&opts)),
        cli::Command::Version => {
            sys::write_stdout(commands::version::text().as_bytes());
            Ok(0)
        }
        cli::Command::Help(topic) => match help::text(topic.as_deref()) {
            Some(text) => {
                sys::write_stdout(text.as_bytes());
                Ok(0)
            }
            None => Err(Error::new(
                format!("help {:?}", topic.unwrap_or_default()),
                "no such command",
            )
            .hint("see 'nsbox help'")),
        },
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            if e.code == 0 { EXIT_NSBOX } else { e.code }
        }
    }
}

/// A fresh container id: 12 random hex digits.
#[cfg_attr(test, allow(dead_code))]
fn new_id() -> error::Result<String> {
    let mut bytes = [0u8; 6];
    sys::getrandom(&mut bytes).map_err(|e| Error::sys("getrandom for a container id", e))?;
    Ok(spec::random_id(bytes))
}

/// The one line a user reads when something failed.
#[cfg_attr(test, allow(dead_code))]
pub fn report_error(e: &Error) {
    sys::write_stderr_untraced(format!("nsbox: {e}\n").as_bytes());
}

/// A problem that does not change the outcome (e.g. a failed cleanup step after the container
/// ended), said once on stderr.
pub fn report_warning(e: &Error) {
    sys::write_stderr_untraced(format!("nsbox: warning: {e}\n").as_bytes());
}
