//! `nsbox doctor`: can nsbox run containers on this host, for this user? One line per item,
//! ok / warning / problem, each warning and problem with its fix; exit 0 when containers can
//! run, 1 when a problem stops them.
//!
//! Most items read /proc and /sys (from other roots with --proc and --sysfs, so tests can
//! describe any host); three are tried for real, in forked processes and namespaces of their
//! own that go when they exit: pivot_root, veth and bridge creation, and clone3.

mod host;
mod probe;
mod report;

use crate::cli::Doctor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Problem => "problem",
        }
    }
}

/// One item of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// A stable key, for scripts: `kernel`, `namespaces`, `userns`, ...
    pub item: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do (empty when ok).
    pub fix: String,
}

impl Check {
    pub fn ok(item: &'static str, detail: impl Into<String>) -> Check {
        Check {
            item,
            status: Status::Ok,
            detail: detail.into(),
            fix: String::new(),
        }
    }

    pub fn warning(item: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warning,
            fix: fix.into(),
            ..Check::ok(item, detail)
        }
    }

    pub fn problem(item: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Problem,
            fix: fix.into(),
            ..Check::ok(item, detail)
        }
    }

    /// A problem for an ordinary user (rootless containers need it), a warning for root (who
    /// only loses --userns).
    pub fn needed_rootless(
        item: &'static str,
        root: bool,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        match root {
            true => Check::warning(item, detail, fix),
            false => Check::problem(item, detail, fix),
        }
    }
}

/// Runs every check and prints the report; returns the exit code.
pub fn doctor(opts: &Doctor) -> u8 {
    let host = host::Host::new(opts);
    let mut checks = host.checks();
    let userns_usable = checks
        .iter()
        .all(|c| c.item != "userns" || c.status == Status::Ok);
    checks.extend(probe::checks(opts.uid == 0, userns_usable));
    let text = match opts.json {
        true => report::json(&checks, opts.uid),
        false => report::text(&checks, opts.uid),
    };
    crate::sys::write_stdout(text.as_bytes());
    match checks.iter().any(|c| c.status == Status::Problem) {
        true => 1,
        false => 0,
    }
}
