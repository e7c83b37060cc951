//! `nsbox gc`: removes what crashed containers left behind.
//!
//! A live nsbox holds a lock on its state directory; the kernel releases it when the process
//! dies, however it dies. So every state directory nobody holds is garbage: the cgroups
//! recorded in it are removed (their processes died with the container: PID 1 had
//! PR_SET_PDEATHSIG), then the directory.

use crate::cgroup;
use crate::error::{Context, Error, Result};
use crate::state::CGROUPS_FILE;
use crate::sys::{self, fs, process};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use syscalls::Errno;

/// A state directory this young may be one whose nsbox has made it and not yet locked it
/// (microseconds apart): left for the next gc.
const MIN_AGE: Duration = Duration::from_secs(1);

use crate::sys::cpath as c;

fn open_dir(path: &Path) -> std::result::Result<OwnedFd, Errno> {
    let p = sys::cstr(path.as_os_str().as_bytes())?;
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    fs::openat(libc::AT_FDCWD, &p, flags, 0)
}

/// Sweeps the state root; prints the id of each container it removed. Returns 0, or 125 when
/// something could not be removed (each such thing is reported).
pub fn gc(root: &Path) -> Result<u8> {
    let dir = match open_dir(root) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(0),
        Err(e) => return Err(Error::sys(format!("open state root {root:?}"), e)),
    };
    let names = fs::list_dir(&dir).ctx(|| format!("list state root {root:?}"))?;
    let mut failed = 0;
    for (name, _) in names {
        let path = root.join(std::ffi::OsStr::from_bytes(&name));
        match collect(&path) {
            Ok(true) => {
                let mut line = name.clone();
                line.push(b'\n');
                sys::write_stdout(&line);
            }
            Ok(false) => {}
            Err(e) => {
                crate::report_warning(&e);
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(Error::new(
            "gc",
            format!("{failed} container(s) could not be removed (see above)"),
        ));
    }
    Ok(0)
}

/// Removes one state directory if no nsbox holds it. Returns whether it did. Only what nsbox
/// makes is touched: a directory named like a container id, holding at most the cgroup record
/// and the host-rootfs mount point, whose recorded cgroups are all `.../nsbox/<that id>`.
fn collect(path: &Path) -> Result<bool> {
    let id = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if crate::spec::check_name("id", id).is_err() {
        return Ok(false);
    }
    let fd = match open_dir(path) {
        Ok(fd) => fd,
        // Not a directory (or gone meanwhile): not ours to judge.
        Err(Errno::ENOTDIR) | Err(Errno::ELOOP) | Err(Errno::ENOENT) => return Ok(false),
        Err(e) => return Err(Error::sys(format!("open {path:?}"), e)),
    };
    match fs::flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => {}
        Err(Errno::EWOULDBLOCK) => return Ok(false), // its nsbox is alive
        Err(e) => return Err(Error::sys(format!("lock {path:?}"), e)),
    }
    let st = match fs::stat(&c(path)?) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(false), // another gc was faster
        Err(e) => return Err(Error::sys(format!("stat {path:?}"), e)),
    };
    let changed = Duration::new(
        st.st_ctime.max(0) as u64,
        st.st_ctime_nsec.clamp(0, 999_999_999) as u32,
    );
    if process::now_realtime().saturating_sub(changed) < MIN_AGE {
        return Ok(false);
    }
    let record = path.join(CGROUPS_FILE);
    match fs::read_file(&c(&record)?) {
        Ok(text) => {
            let paths: Vec<PathBuf> = text
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| PathBuf::from(std::ffi::OsStr::from_bytes(l)))
                .collect();
            let ours = Path::new("nsbox").join(id);
            if let Some(bad) = paths
                .iter()
                .find(|p| !p.is_absolute() || !p.ends_with(&ours))
            {
                return Err(Error::new(
                    format!("{record:?}"),
                    format!("records {bad:?}, which is not a cgroup nsbox makes for {id:?}"),
                )
                .hint("nsbox leaves this directory alone: check it, and remove it by hand"));
            }
            cgroup::remove_recorded(&paths)?;
            fs::unlink(&c(&record)?).ctx(|| format!("remove {record:?}"))?;
        }
        Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("read {record:?}"), e)),
    }
    let mountpoint = path.join("rootfs");
    match fs::rmdir(&c(&mountpoint)?) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(Error::sys(format!("remove {mountpoint:?}"), e)),
    }
    fs::rmdir(&c(path)?).ctx(|| format!("remove {path:?}"))?;
    Ok(true)
}
