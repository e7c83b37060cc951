//! The one error type: what failed, on what, the errno (name and text) or a reason, and a hint.
//!
//! `Display` is exactly the line the user reads after `nsbox: `, e.g.
//! `pivot_root(".", "."): EINVAL (Invalid argument) — hint: ...`.
//!
//! Domain code says what failed in its own words and names the setting it is `about`; the
//! front end in use (`name_topics_with`) says where the user gave that setting: `(--memory)`
//! for the native CLI, `(linux.resources.memory)` for an OCI config.

use std::fmt;
use std::sync::OnceLock;
use syscalls::Errno;

/// A setting of the Spec an error is about, as each front end names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Memory,
    Pids,
    CpuQuota,
    Cpuset,
    Devices,
    UidMap,
    GidMap,
    Capabilities,
    Seccomp,
    User,
    Workdir,
    Network,
    ReadOnly,
    Chroot,
    Rootfs,
    Name,
    StateRoot,
}

static NAMES: OnceLock<fn(Topic) -> Option<&'static str>> = OnceLock::new();

/// Set once by the front end that runs (forked processes keep it): how a topic is named.
pub fn name_topics_with(names: fn(Topic) -> Option<&'static str>) {
    let _ = NAMES.set(names);
}

/// Exit code for nsbox's own failures (setup, bad input), as in docker, runc and crun.
pub const EXIT_NSBOX: u8 = 125;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_EXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The action and its subject: `mount proc on "/proc"`, `exec "/bin/nope"`.
    pub what: String,
    /// The kernel's answer, when a syscall failed.
    pub errno: Option<Errno>,
    /// A reason in words, when no errno tells it (bad input, a failed check).
    pub why: Option<String>,
    /// What the user can do about it.
    pub hint: Option<String>,
    /// The exit code nsbox ends with because of this error.
    pub code: u8,
    /// The setting it is about, which the front end names after `what`.
    pub about: Option<Topic>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A syscall (or an action made of one) failed with `errno`.
    pub fn sys(what: impl Into<String>, errno: Errno) -> Self {
        Error {
            what: what.into(),
            errno: Some(errno),
            why: None,
            hint: None,
            code: EXIT_NSBOX,
            about: None,
        }
    }

    /// A failed check or bad input: `what` is the subject, `why` the reason.
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        Error {
            what: what.into(),
            errno: None,
            why: Some(why.into()),
            hint: None,
            code: EXIT_NSBOX,
            about: None,
        }
    }

    /// Names the setting this error is about (see `Topic`).
    pub fn about(mut self, topic: Topic) -> Self {
        self.about = Some(topic);
        self
    }

    /// `about`, unless a more precise topic is named already.
    pub fn or_about(self, topic: Topic) -> Self {
        match self.about {
            Some(_) => self,
            None => self.about(topic),
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a hint only if this error carries `errno`.
    pub fn hint_on(self, errno: Errno, hint: &str) -> Self {
        if self.errno == Some(errno) {
            self.hint(hint)
        } else {
            self
        }
    }

    /// A message another nsbox process already formatted (the child's report, the supervisor's
    /// answer), passed through as it is, with its exit code.
    pub fn reported(code: u8, message: String) -> Self {
        Error {
            what: message,
            errno: None,
            why: None,
            hint: None,
            code,
            about: None,
        }
    }

    pub fn code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }
}

/// `ENOENT (No such file or directory)`, or `errno 4242` for a number the table does not know.
pub fn errno_text(e: Errno) -> String {
    match (e.name(), e.description()) {
        (Some(name), Some(desc)) => format!("{name} ({desc})"),
        (Some(name), None) => name.to_string(),
        _ => format!("errno {}", e.into_raw()),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(name) = self.about.zip(NAMES.get()).and_then(|(t, names)| names(t)) {
            write!(f, " ({name})")?;
        }
        if let Some(e) = self.errno {
            write!(f, ": {}", errno_text(e))?;
        }
        if let Some(why) = &self.why {
            write!(f, ": {why}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " — hint: {hint}")?;
        }
        Ok(())
    }
}

/// Attaches "what was being done" to a bare errno from the syscall layer.
pub trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, Errno> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::sys(what(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_action_errno_and_hint() {
        let e = Error::sys("pivot_root(\".\", \".\")", Errno::EINVAL)
            .hint("the rootfs must be a mount point");
        assert_eq!(
            e.to_string(),
            "pivot_root(\".\", \".\"): EINVAL (Invalid argument) — hint: the rootfs must be a mount point"
        );
        assert_eq!(e.code, EXIT_NSBOX);
    }

    #[test]
    fn display_reason_without_errno() {
        let e = Error::new("--user \"x\"", "expected UID[:GID] with numeric ids");
        assert_eq!(
            e.to_string(),
            "--user \"x\": expected UID[:GID] with numeric ids"
        );
    }

    #[test]
    fn hint_on_matches_only_its_errno() {
        let e = Error::sys("mount", Errno::EPERM).hint_on(Errno::EINVAL, "no");
        assert_eq!(e.hint, None);
        let e = Error::sys("mount", Errno::EPERM).hint_on(Errno::EPERM, "yes");
        assert_eq!(e.hint.as_deref(), Some("yes"));
    }

    #[test]
    fn unknown_errno_prints_number() {
        assert_eq!(errno_text(Errno::new(4242)), "errno 4242");
    }
}
