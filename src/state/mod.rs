//! The state directory: one directory per container under the state root (`--root`).
//!
//! Creating `ROOT/ID` with mkdir is what makes a container id unique on this host: a second
//! `nsbox run --name ID` fails with EEXIST. Everything created here is removed on teardown.
//!
//! While its nsbox lives, the directory is locked (flock on an open descriptor of it; the
//! kernel drops the lock when the process dies, however it dies). `nsbox gc` takes only
//! unlocked directories, and removes the host objects recorded in them (`cgroups`: one path a
//! line, written before the cgroups are created) before the directory itself.

pub mod record;
pub mod time;

use crate::container::output::LogWriter;
use crate::error::{Context, Error, Result, Topic};
use crate::spec::{Rootfs, Spec};
use crate::sys::{self, fs};
use record::{Record, Status};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use syscalls::Errno;

/// The record of the cgroup directories, in the state directory.
pub const CGROUPS_FILE: &str = "cgroups";
/// The record of the host's network interfaces made for the container (`link NAME` lines).
pub const NETWORK_FILE: &str = "network";
/// A detached container's output (stdout and stderr).
pub const LOG_FILE: &str = "log";
/// When each piece of the log came (see container/output.rs).
pub const TIMES_FILE: &str = "log.times";

/// What this run created on the host, in creation order (removed in reverse).
#[derive(Debug, Default)]
pub struct State {
    /// Paths and whether each is a directory.
    created: Vec<(PathBuf, bool)>,
    /// The locked descriptor of the state directory: held for the life of this nsbox.
    lock: Option<OwnedFd>,
    /// The container's record, once written.
    record: Option<Record>,
    /// When the state directory was made, in milliseconds since the epoch.
    pub created_ms: u64,
}

use crate::sys::cpath as c;

fn mkdir(path: &Path, mode: u32) -> std::result::Result<(), Errno> {
    let p = sys::cstr(path.as_os_str().as_bytes())?;
    fs::mkdirat(libc::AT_FDCWD, &p, mode)
}

/// mkdir -p for the state root itself (its parents are shared, so they are never removed).
fn ensure_root(root: &Path) -> Result<()> {
    match mkdir(root, 0o711) {
        Ok(()) | Err(Errno::EEXIST) => Ok(()),
        Err(Errno::ENOENT) if root.parent().is_some() => {
            ensure_root(root.parent().unwrap_or(Path::new("/")))?;
            ensure_root(root)
        }
        Err(e) => Err(Error::sys(format!("create state root {root:?}"), e)
            .about(Topic::StateRoot)
            .hint("choose a writable state directory")),
    }
}

/// The state root must be the caller's own: a directory (not a symlink) it owns, that no one
/// else may write. Otherwise another user could plant or move records nsbox would act on
/// (a /tmp/nsbox-UID made first by someone else, say).
pub fn check_root_owner(root: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(root)
        .map_err(|e| Error::new(format!("state root {root:?}"), e.to_string()))?;
    let me = sys::geteuid();
    // Root's directories are trusted by everyone; another user's by no one but that user.
    let owner_ok = meta.uid() == me || meta.uid() == 0;
    let private = meta.file_type().is_dir() && owner_ok && meta.mode() & 0o022 == 0;
    if private {
        return Ok(());
    }
    Err(Error::new(
        format!("state root {root:?}"),
        format!(
            "is not a private directory of uid {me} (owner {}, mode {:o}{})",
            meta.uid(),
            meta.mode() & 0o7777,
            if meta.file_type().is_symlink() {
                ", a symlink"
            } else {
                ""
            }
        ),
    )
    .about(Topic::StateRoot)
    .hint("use a directory only you can write"))
}

impl State {
    /// Creates `ROOT/ID` (and, for the host-rootfs mode, the empty mount point `ROOT/ID/rootfs`).
    pub fn create(spec: &Spec) -> Result<State> {
        ensure_root(&spec.state_root)?;
        check_root_owner(&spec.state_root)?;
        let dir = spec.state_dir();
        let mut state = State {
            created_ms: sys::process::now_realtime().as_millis() as u64,
            ..State::default()
        };
        match mkdir(&dir, 0o700) {
            Ok(()) => state.created.push((dir.clone(), true)),
            Err(Errno::EEXIST) => {
                return Err(Error::new(
                    format!("container {:?}", spec.id),
                    format!("already exists (its state directory {dir:?} is there)"),
                )
                .about(Topic::Name)
                .hint(format!("choose another name, or remove it: nsbox rm -f {} (nsbox gc where no process of it is left)", spec.id)));
            }
            Err(e) => return Err(Error::sys(format!("create state directory {dir:?}"), e)),
        }
        if let Err(e) = state.lock(&dir) {
            state.remove();
            return Err(e);
        }
        if spec.rootfs == Rootfs::Host {
            let mp = rootfs_mountpoint(spec);
            if let Err(e) = mkdir(&mp, 0o700) {
                state.remove();
                return Err(Error::sys(format!("create mount point {mp:?}"), e));
            }
            state.created.push((mp, true));
        }
        Ok(state)
    }

    /// Opens the directory and locks it: `nsbox gc` leaves it alone while we live.
    fn lock(&mut self, dir: &Path) -> Result<()> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let fd = fs::openat(libc::AT_FDCWD, &c(dir)?, flags, 0)
            .ctx(|| format!("open state directory {dir:?}"))?;
        fs::flock(&fd, libc::LOCK_EX | libc::LOCK_NB)
            .ctx(|| format!("lock state directory {dir:?}"))?;
        self.lock = Some(fd);
        Ok(())
    }

    /// Records the cgroup directories about to be created (one write, before any mkdir).
    pub fn record_cgroups(&mut self, paths: &[PathBuf]) -> Result<()> {
        let mut text = Vec::new();
        for p in paths {
            text.extend_from_slice(p.as_os_str().as_bytes());
            text.push(b'\n');
        }
        self.add_file(CGROUPS_FILE, &text, 0o600)
    }

    /// Creates the new file `name` in the state directory with `text` (one write), and
    /// removes it on teardown.
    pub fn add_file(&mut self, name: &str, text: &[u8], mode: u32) -> Result<()> {
        let file = self.dir()?.join(name);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
        let fd = fs::openat(libc::AT_FDCWD, &c(&file)?, flags, mode)
            .ctx(|| format!("create {file:?}"))?;
        self.created.push((file.clone(), false));
        let written = sys::write(&fd, text);
        sys::close(fd);
        match written {
            Ok(n) if n == text.len() => Ok(()),
            Ok(_) => Err(Error::sys(format!("write {file:?}"), Errno::EIO)),
            Err(e) => Err(Error::sys(format!("write {file:?}"), e)),
        }
    }

    /// Makes the FIFO of OCI `create` (mode 0622: the container's user writes it), removed
    /// on teardown.
    pub fn add_fifo(&mut self, path: &Path) -> Result<()> {
        let old = fs::umask(0);
        let made = fs::mknod(libc::AT_FDCWD, &c(path)?, libc::S_IFIFO, 0o622, 0, 0);
        fs::umask(old);
        made.ctx(|| format!("create the FIFO {path:?}"))?;
        self.created.push((path.to_path_buf(), false));
        Ok(())
    }

    /// The state directory, `ROOT/ID`.
    pub fn dir(&self) -> Result<PathBuf> {
        match self.created.first() {
            Some((dir, _)) => Ok(dir.clone()),
            None => Err(Error::new("the container's state", "no state directory")),
        }
    }

    /// Creates `ROOT/ID/log` and `ROOT/ID/log.times`, where a detached container's output
    /// goes.
    pub fn create_log(&mut self) -> Result<LogWriter> {
        let log = self.create_append(LOG_FILE)?;
        Ok(LogWriter::new(log, self.create_append(TIMES_FILE)?))
    }

    fn create_append(&mut self, name: &str) -> Result<OwnedFd> {
        let path = self.dir()?.join(name);
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_APPEND | libc::O_CLOEXEC;
        let fd = fs::openat(libc::AT_FDCWD, &c(&path)?, flags, 0o600)
            .ctx(|| format!("create {path:?}"))?;
        self.created.push((path, false));
        Ok(fd)
    }

    /// Writes the container's record (what `ps`, `exec`, `kill` read).
    pub fn save_record(&mut self, rec: Record) -> Result<()> {
        let dir = self.dir()?;
        rec.save(&dir)?;
        if self.record.is_none() {
            self.created.push((dir.join(record::RECORD_FILE), false));
        }
        self.record = Some(rec);
        Ok(())
    }

    /// Records how the container ended and leaves the directory for `ps -a`, `logs` and `rm`.
    pub fn finish(&mut self, code: u8) -> Result<()> {
        let dir = self.dir()?;
        let Some(rec) = self.record.as_mut() else {
            return Ok(());
        };
        rec.status = Status::Exited {
            code,
            finished_ms: crate::sys::process::now_realtime().as_millis() as u64,
        };
        let r = rec.save(&dir);
        self.keep();
        r
    }

    /// Leaves everything in place (a cgroup could not be removed: its record stays for
    /// `nsbox gc`); only the lock goes, with this process.
    pub fn keep(&mut self) {
        self.created.clear();
    }

    /// Removes what `create` made, newest first. Failures are reported, never fatal: the
    /// container has already ended and its exit code matters more.
    pub fn remove(&mut self) {
        while let Some((path, is_dir)) = self.created.pop() {
            let r = c(&path).and_then(|p| {
                let remove = || match is_dir {
                    true => fs::rmdir(&p),
                    false => fs::unlink(&p),
                };
                // One retry in place: a passing failure (EIO, EINTR) then leaves nothing.
                remove()
                    .or_else(|_| remove())
                    .ctx(|| format!("remove {path:?}"))
            });
            if let Err(e) = r {
                crate::report_warning(&e);
            }
        }
    }
}

/// The cgroup directories recorded in the state directory `dir` (none when it has no record).
pub fn recorded_cgroups(dir: &Path) -> Result<Vec<PathBuf>> {
    let record = dir.join(CGROUPS_FILE);
    match fs::read_file(&c(&record)?) {
        Ok(text) => Ok(text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| PathBuf::from(std::ffi::OsStr::from_bytes(l)))
            .collect()),
        Err(Errno::ENOENT) => Ok(Vec::new()),
        Err(e) => Err(Error::sys(format!("read {record:?}"), e)),
    }
}

/// Where the host's `/` is bind-mounted (inside the container's own mount namespace) when no
/// `--rootfs` is given.
pub fn rootfs_mountpoint(spec: &Spec) -> PathBuf {
    spec.state_dir().join("rootfs")
}
