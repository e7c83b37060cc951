//! The state directory: one directory per container under the state root (`--root`).
//!
//! Creating `ROOT/ID` with mkdir is what makes a container id unique on this host: a second
//! `nsbox run --name ID` fails with EEXIST. Everything created here is removed on teardown.

use crate::error::{Context, Error, Result};
use crate::spec::{Rootfs, Spec};
use crate::sys::{self, fs};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use syscalls::Errno;

/// What this run created on the host, in creation order (removed in reverse).
#[derive(Debug, Default)]
pub struct State {
    created: Vec<PathBuf>,
}

fn c(path: &Path) -> Result<CString> {
    sys::cstr(path.as_os_str().as_bytes()).ctx(|| format!("path {path:?}"))
}

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
            .hint("choose a writable state directory with --root DIR or NSBOX_ROOT")),
    }
}

impl State {
    /// Creates `ROOT/ID` (and, for the host-rootfs mode, the empty mount point `ROOT/ID/rootfs`).
    pub fn create(spec: &Spec) -> Result<State> {
        ensure_root(&spec.state_root)?;
        let dir = spec.state_dir();
        let mut state = State::default();
        match mkdir(&dir, 0o700) {
            Ok(()) => state.created.push(dir.clone()),
            Err(Errno::EEXIST) => {
                return Err(Error::new(
                    format!("container {:?}", spec.id),
                    format!("already exists (its state directory {dir:?} is there)"),
                )
                .hint("choose another --name; if no such container runs, remove that directory"));
            }
            Err(e) => return Err(Error::sys(format!("create state directory {dir:?}"), e)),
        }
        if spec.rootfs == Rootfs::Host {
            let mp = rootfs_mountpoint(spec);
            if let Err(e) = mkdir(&mp, 0o700) {
                state.remove();
                return Err(Error::sys(format!("create mount point {mp:?}"), e));
            }
            state.created.push(mp);
        }
        Ok(state)
    }

    /// Removes what `create` made, newest first. Failures are reported, never fatal: the
    /// container has already ended and its exit code matters more.
    pub fn remove(&mut self) {
        while let Some(path) = self.created.pop() {
            let r = c(&path).and_then(|p| fs::rmdir(&p).ctx(|| format!("remove {path:?}")));
            if let Err(e) = r {
                crate::report_warning(&e);
            }
        }
    }
}

/// Where the host's `/` is bind-mounted (inside the container's own mount namespace) when no
/// `--rootfs` is given.
pub fn rootfs_mountpoint(spec: &Spec) -> PathBuf {
    spec.state_dir().join("rootfs")
}
