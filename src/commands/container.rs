//! A container as the management commands find it: its state directory, its record, and
//! whether it still runs; and the removal of everything it left (for `rm` and `gc`).
//!
//! Whether it runs is decided without touching the lock (a `ps` must never make an `rm` fail):
//! the recorded supervisor must exist with the recorded start time. The lock is for those that
//! change the directory: whoever holds it may write, and only an unlocked directory is removed.

use crate::cgroup;
use crate::error::{Context, Error, Result};
use crate::net;
use crate::state::record::{self, Record, Status};
use crate::state::{CGROUPS_FILE, LOG_FILE, NETWORK_FILE, TIMES_FILE, recorded_cgroups};
use crate::sys::{self, cpath as c, fs, lifecycle, term};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use syscalls::Errno;

/// What `ps` says of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    Running,
    Exited(u8),
    /// The record says running, but its nsbox is gone (killed, or the host rebooted):
    /// `nsbox gc` removes what it left.
    Dead,
}

impl Liveness {
    pub fn of(rec: &Record) -> Liveness {
        match rec.status {
            Status::Exited { code, .. } => Liveness::Exited(code),
            Status::Running if rec.supervisor.alive() => Liveness::Running,
            Status::Running => Liveness::Dead,
        }
    }

    pub fn text(self) -> String {
        match self {
            Liveness::Running => "running".into(),
            Liveness::Exited(code) => format!("exited ({code})"),
            Liveness::Dead => "dead".into(),
        }
    }
}

/// A container found under the state root.
pub struct Found {
    pub dir: PathBuf,
    pub record: Record,
}

impl Found {
    pub fn liveness(&self) -> Liveness {
        Liveness::of(&self.record)
    }

    /// The error for a command that needs a running container.
    pub fn require_running(&self, action: &str) -> Result<()> {
        match self.liveness() {
            Liveness::Running => Ok(()),
            other => Err(Error::new(
                format!("{action} {:?}", self.record.id),
                format!("the container is not running ({})", other.text()),
            )
            .hint("see 'nsbox ps -a'")),
        }
    }
}

pub fn open_dir(path: &Path) -> std::result::Result<OwnedFd, Errno> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    fs::openat(
        libc::AT_FDCWD,
        &sys::cstr(path.as_os_str().as_bytes())?,
        flags,
        0,
    )
}

/// The container `id` under `root`, with its record.
pub fn find(root: &Path, id: &str) -> Result<Found> {
    let dir = root.join(id);
    let unknown = || {
        Error::new(format!("container {id:?}"), "no such container")
            .hint(format!("see 'nsbox ps -a --root {}'", root.display()))
    };
    match fs::file_type(&c(&dir)?) {
        Ok(libc::S_IFDIR) => {}
        Ok(_) | Err(Errno::ENOENT) | Err(Errno::ENOTDIR) => return Err(unknown()),
        Err(e) => return Err(Error::sys(format!("stat {dir:?}"), e)),
    }
    match Record::load(&dir)? {
        Some(record) => Ok(Found { dir, record }),
        // Made a moment ago (its record comes right after clone), or left by a crash.
        None => Err(Error::new(
            format!("container {id:?}"),
            "is being created, or crashed before it ran",
        )
        .hint("try again; if it stays so, 'nsbox gc' removes it")),
    }
}

/// The container's nsbox (foreground or supervisor) as a descriptor that becomes readable when
/// it ends; `None` when it has ended already. The recorded start time is checked after the
/// descriptor is open, so a pid the kernel gave to another process since is never watched.
pub fn watch_supervisor(rec: &Record) -> Result<Option<OwnedFd>> {
    let pid = rec.supervisor.pid;
    let fd = match lifecycle::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(Errno::ESRCH) => return Ok(None),
        Err(e) => return Err(Error::sys(format!("pidfd_open({pid}) for {:?}", rec.id), e)),
    };
    Ok(rec.supervisor.alive().then_some(fd))
}

/// Waits until the process behind `pidfd` ends, or `timeout` passes (`None`: no limit).
/// Returns whether it ended.
pub fn wait_ended(pidfd: &OwnedFd, timeout: Option<Duration>) -> Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Rounded up: a wait never ends a little before the deadline.
                left.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
            }
        };
        let mut fds = [libc::pollfd {
            fd: pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        match term::poll(&mut fds, ms) {
            Ok(0) if ms == 0 => return Ok(false),
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(e) => {
                return Err(Error::sys(
                    "wait for the container's nsbox (poll a pidfd)",
                    e,
                ));
            }
        }
    }
}

/// Every container under `root` that has a record, sorted by creation. A damaged record is
/// reported and skipped.
pub fn list(root: &Path) -> Result<Vec<Found>> {
    let dir = match open_dir(root) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(Vec::new()),
        Err(e) => return Err(Error::sys(format!("open state root {root:?}"), e)),
    };
    let names = fs::list_dir(&dir).ctx(|| format!("list state root {root:?}"))?;
    let mut found = Vec::new();
    for (name, _) in names {
        let Ok(id) = std::str::from_utf8(&name) else {
            continue;
        };
        if crate::spec::check_name("id", id).is_err() {
            continue;
        }
        let path = root.join(id);
        match Record::load(&path) {
            Ok(Some(record)) => found.push(Found { dir: path, record }),
            Ok(None) => {}
            Err(e) if e.errno == Some(Errno::ENOTDIR) => {}
            Err(e) => crate::report_warning(&e),
        }
    }
    crate::sort::sort_by(&mut found, |a, b| {
        (a.record.created_ms, &a.record.id) < (b.record.created_ms, &b.record.id)
    });
    Ok(found)
}

/// Removes what a container left: its recorded cgroups and network (`release`), then the
/// files nsbox writes in its directory, then the directory. A file nsbox does not write stays
/// (the directory's removal then fails, naming it). The caller holds the directory's lock.
pub fn remove(path: &Path, id: &str) -> Result<()> {
    release(path, id)?;
    // `hosts` and `hostname`: what earlier nsbox versions wrote here for veth and bridge.
    for file in [
        "hosts",
        "hostname",
        LOG_FILE,
        TIMES_FILE,
        record::RECORD_FILE,
        "record.tmp",
    ] {
        let p = path.join(file);
        match fs::unlink(&c(&p)?) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys(format!("remove {p:?}"), e)),
        }
    }
    let mountpoint = path.join("rootfs");
    match fs::rmdir(&c(&mountpoint)?) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("remove {mountpoint:?}"), e)),
    }
    remove_dir(path)
}

/// Gives back what a container held on the host: its recorded cgroups and network (host end,
/// lease), then their records (so a record survives every failed removal, for the next try).
/// Only what nsbox makes is touched: a cgroup record naming anything but `.../nsbox/<id>` is
/// refused. `gc` does this for an ended detached container, whose record stays for `ps -a`.
pub fn release(path: &Path, id: &str) -> Result<()> {
    let paths = recorded_cgroups(path)?;
    let ours = Path::new("nsbox").join(id);
    if let Some(bad) = paths
        .iter()
        .find(|p| !p.is_absolute() || !p.ends_with(&ours))
    {
        return Err(Error::new(
            format!("{:?}", path.join(CGROUPS_FILE)),
            format!("records {bad:?}, which is not a cgroup nsbox makes for {id:?}"),
        )
        .hint("nsbox leaves this directory alone: check it, and remove it by hand"));
    }
    cgroup::remove_recorded(&paths)?;
    let root = path.parent().unwrap_or(Path::new("/"));
    net::remove_recorded(root, path, id)?;
    for file in [CGROUPS_FILE, NETWORK_FILE] {
        let p = path.join(file);
        match fs::unlink(&c(&p)?) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys(format!("remove {p:?}"), e)),
        }
    }
    Ok(())
}

fn remove_dir(path: &Path) -> Result<()> {
    fs::rmdir(&c(path)?).map_err(|e| {
        Error::sys(format!("remove {path:?}"), e).hint_on(
            Errno::ENOTEMPTY,
            "it holds files nsbox did not create: nsbox leaves them; check and remove them by hand",
        )
    })
}
