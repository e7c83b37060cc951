//! `--trace`: every step and every syscall on stderr, in the order the kernel saw them.
//!
//! Each line carries the process role (parent or child), the time since nsbox started and, for a
//! syscall, its decoded arguments, its result or errno name, and how long it took. Nothing here
//! costs anything when tracing is off: callers pass closures that only run when it is on.

use crate::error::errno_text;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};
use syscalls::Errno;

static ENABLED: AtomicBool = AtomicBool::new(false);
static ROLE: AtomicU8 = AtomicU8::new(0);
static START: OnceLock<Instant> = OnceLock::new();

/// Which process writes a trace line; the child is a copy of the parent and sets its own role.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Role {
    Parent = 0,
    Child = 1,
}

pub fn enable() {
    START.get_or_init(Instant::now);
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub fn set_role(role: Role) {
    ROLE.store(role as u8, Ordering::Relaxed);
}

fn role_name() -> &'static str {
    if ROLE.load(Ordering::Relaxed) == Role::Parent as u8 {
        "parent"
    } else {
        "child "
    }
}

/// The start time of a syscall, or `None` when tracing is off (then nothing is measured).
pub fn clock() -> Option<Instant> {
    if enabled() {
        Some(Instant::now())
    } else {
        None
    }
}

fn emit(body: &str) {
    let since = START.get().map(|s| s.elapsed()).unwrap_or_default();
    // Integer arithmetic: float formatting would add kilobytes to the binary for one column.
    let us = since.as_micros();
    let line = format!(
        "nsbox[{} {:>5}.{:03}ms] {body}\n",
        role_name(),
        us / 1000,
        us % 1000
    );
    crate::sys::write_stderr_untraced(line.as_bytes());
}

/// A step of the recipe: `step: mount /proc (nosuid,noexec,nodev)`.
pub fn step(what: impl FnOnce() -> String) {
    if enabled() {
        emit(&format!("step: {}", what()));
    }
}

/// A note that is neither a step nor a syscall (a decision, a warning).
pub fn note(what: impl FnOnce() -> String) {
    if enabled() {
        emit(&format!("note: {}", what()));
    }
}

/// One finished syscall: `mount("proc", ...) = 0 <12us>` or `... = -1 ENOENT (...) <3us>`.
pub fn syscall(
    started: Option<Instant>,
    call: impl FnOnce() -> String,
    result: &Result<usize, Errno>,
) {
    let Some(t0) = started else { return };
    let took = t0.elapsed();
    let outcome = match result {
        Ok(v) => format!("= {v}"),
        Err(e) => format!("= -1 {}", errno_text(*e)),
    };
    emit(&format!("{} {outcome} <{}us>", call(), micros(took)));
}

/// One netlink request and the kernel's answer, on the socket of `side` (host or container):
/// `netlink(host): RTM_NEWADDR 10.0.0.1/24 on "nsb1a2b3c4d" -> ACK <21us>`.
pub fn netlink(started: Option<Instant>, side: &str, request: &str, answer: &str) {
    let Some(t0) = started else { return };
    emit(&format!(
        "netlink({side}): {request} -> {answer} <{}us>",
        micros(t0.elapsed())
    ));
}

/// A syscall announced before it runs, for calls that do not return on success (execve).
pub fn before(call: impl FnOnce() -> String) {
    if enabled() {
        emit(&format!("{} ...", call()));
    }
}

fn micros(d: Duration) -> u128 {
    d.as_micros()
}
