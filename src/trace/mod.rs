//! `--trace`: every step and every syscall on stderr, in the order the kernel saw them.
//!
//! Each line carries the process role (parent or child), the time since nsbox started and, for a
//! syscall, its decoded arguments, its result or errno name, and how long it took. Nothing here
//! costs anything when tracing is off: callers pass closures that only run when it is on.

mod timeline;

use crate::error::errno_text;
use crate::sys::shared::SharedLog;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use syscalls::Errno;

static ENABLED: AtomicBool = AtomicBool::new(false);
static ROLE: AtomicU8 = AtomicU8::new(0);
static START: OnceLock<Instant> = OnceLock::new();
/// The steps of every process of the run, for the timeline (only with --trace).
static STEPS: OnceLock<SharedLog> = OnceLock::new();
/// How long ago, in microseconds, the image before this one started (nsbox re-executed from
/// its sealed copy goes on with the same clock).
static OFFSET_US: AtomicU64 = AtomicU64::new(0);
/// What a traced nsbox hands to the image it re-executes: `START_US\nRECORDS`.
const RESUME: &str = "NSBOX_TRACE_RESUME";
/// Whether this process prints the timeline (the front of `run -d` leaves it to the supervisor).
static PRINTS_TIMELINE: AtomicBool = AtomicBool::new(true);

/// Room for the steps' records: a few thousand, far more than a run has.
const STEPS_BYTES: usize = 64 * 1024;

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
    // Without the shared log there is no timeline, and nothing else changes.
    if let Ok(log) = SharedLog::new(STEPS_BYTES) {
        let _ = STEPS.set(log);
    }
    resume();
}

/// Before nsbox re-executes itself (sealed.rs): its start time and its steps so far, as the
/// `NAME=value` of an environment variable for the new image, so that its trace and timeline go
/// on from them.
pub fn hand_over_to_exec() -> Option<String> {
    let log = STEPS.get()?;
    let start = crate::sys::monotonic_us().saturating_sub(since_start().as_micros());
    let records = String::from_utf8_lossy(&log.contents()).into_owned();
    Some(format!("{RESUME}={start}\n{records}"))
}

/// The other half of `hand_over_to_exec`, in the new image.
fn resume() {
    let Ok(carried) = std::env::var(RESUME) else {
        return;
    };
    let Some((start, records)) = carried.split_once('\n') else {
        return;
    };
    if let Ok(start) = start.parse::<u128>() {
        let ours = crate::sys::monotonic_us().saturating_sub(since_start().as_micros());
        OFFSET_US.store(ours.saturating_sub(start) as u64, Ordering::Relaxed);
        if let Some(log) = STEPS.get() {
            log.append(records.as_bytes());
        }
    }
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// This process traces nothing more: a forked helper whose few calls before its execve would
/// interleave with its parent's lines, in an order that changes from run to run.
pub fn silence() {
    ENABLED.store(false, Ordering::Relaxed);
}

pub fn set_role(role: Role) {
    ROLE.store(role as u8, Ordering::Relaxed);
}

fn role_name() -> &'static str {
    if ROLE.load(Ordering::Relaxed) == Role::Parent as u8 {
        "parent"
    } else {
        "child"
    }
}

fn since_start() -> Duration {
    let offset = Duration::from_micros(OFFSET_US.load(Ordering::Relaxed));
    START
        .get()
        .map(|s| s.elapsed() + offset)
        .unwrap_or_default()
}

/// Adds a record to the timeline's log; an empty label ends this process's last step.
fn record(label: &str) {
    if let Some(log) = STEPS.get() {
        let pid = crate::sys::lifecycle::getpid();
        let line = timeline::record(pid, role_name(), since_start().as_micros(), label);
        log.append(line.as_bytes());
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
    // Integer arithmetic: float formatting would add kilobytes to the binary for one column.
    let us = since_start().as_micros();
    let line = format!(
        "nsbox[{:<6} {:>5}.{:03}ms] {body}\n",
        role_name(),
        us / 1000,
        us % 1000
    );
    // Nobody reads the trace any more: this process stops writing it (each write would raise
    // another SIGPIPE, which the --init would take as a signal).
    if !crate::sys::write_stderr_untraced(line.as_bytes()) {
        ENABLED.store(false, Ordering::Relaxed);
    }
}

/// A step of the recipe: `step: mount /proc (nosuid,noexec,nodev)`.
pub fn step(what: impl FnOnce() -> String) {
    if enabled() {
        step_line(what());
    }
}

/// The part of `step` that does not depend on the closure: one copy, not one per call site.
#[inline(never)]
fn step_line(what: String) {
    record(&what);
    emit(&format!("step: {what}"));
}

/// This process's last step ends here (the child's execve, or its failure).
pub fn end_of_steps() {
    record("");
}

/// Leaves the timeline to another process (the supervisor of `run -d`) and ends this one's steps.
pub fn hand_over_timeline() {
    end_of_steps();
    PRINTS_TIMELINE.store(false, Ordering::Relaxed);
}

/// At the end of a traced run: every step of every process, longest first, as a bar chart.
pub fn timeline() {
    if let (true, Some(log)) = (PRINTS_TIMELINE.load(Ordering::Relaxed), STEPS.get()) {
        let log = String::from_utf8_lossy(&log.contents()).into_owned();
        let end = since_start().as_micros();
        let mut text = timeline::render(&log, end);
        // The heading carries the usual prefix; the bars are easier to read without one.
        if let Some(first_line) = text.find('\n') {
            let heading: String = text.drain(..=first_line).collect();
            emit(heading.trim_end());
        }
        crate::sys::write_stderr_untraced(text.as_bytes());
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
    syscall_line(call(), result, took);
}

#[inline(never)]
fn syscall_line(call: String, result: &Result<usize, Errno>, took: Duration) {
    let outcome = match result {
        Ok(v) => format!("= {v}"),
        Err(e) => format!("= -1 {}", errno_text(*e)),
    };
    emit(&format!("{call} {outcome} <{}us>", micros(took)));
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
