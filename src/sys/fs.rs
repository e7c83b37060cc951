//! Files and directories: openat2, mkdirat, mknodat, symlinkat, unlinkat, chdir, stat, umask.

use super::{owned, q, traced};
use crate::flags::{self, AT, OPEN, RESOLVE};
use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use syscalls::{Errno, Sysno};

/// struct open_how from linux/openat2.h.
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

fn dirfd_name(fd: RawFd) -> String {
    if fd == libc::AT_FDCWD {
        "AT_FDCWD".into()
    } else {
        fd.to_string()
    }
}

/// openat2(2): opens `path` below `dir` under the `resolve` rules (RESOLVE_BENEATH, ...).
///
/// The kernel answers EAGAIN when a `..` is resolved while any rename or mount happens anywhere
/// on the host (it cannot then prove the walk stayed beneath `dir`); openat2(2) says to retry.
pub fn openat2(dir: RawFd, path: &CStr, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let mut tries = 0;
    loop {
        match openat2_once(dir, path, flags, resolve) {
            Err(Errno::EAGAIN) if tries < 100 => tries += 1,
            other => return other,
        }
    }
}

fn openat2_once(dir: RawFd, path: &CStr, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let how = OpenHow {
        flags: flags as u64,
        mode: 0,
        resolve,
    };
    traced(
        || {
            format!(
                "openat2({}, {}, {{flags={}, resolve={}}}, {})",
                dirfd_name(dir),
                q(path),
                flags::decode(flags as u64, OPEN),
                flags::decode(resolve, RESOLVE),
                std::mem::size_of::<OpenHow>()
            )
        },
        // SAFETY: `path` is NUL-terminated and `how` is a valid open_how that outlives the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::openat2,
                dir,
                path.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of_val(&how)
            )
        },
    )
    // SAFETY: on success the syscall returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })
}

/// openat(2) with a creation mode.
pub fn openat(dir: RawFd, path: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    traced(
        || {
            format!(
                "openat({}, {}, {}, {mode:#o})",
                dirfd_name(dir),
                q(path),
                flags::decode(flags as u64, OPEN)
            )
        },
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::openat, dir, path.as_ptr(), flags, mode) },
    )
    // SAFETY: on success the syscall returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })
}

/// mkdirat(2).
pub fn mkdirat(dir: RawFd, path: &CStr, mode: u32) -> Result<(), Errno> {
    traced(
        || format!("mkdirat({}, {}, {mode:#o})", dirfd_name(dir), q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::mkdirat, dir, path.as_ptr(), mode) },
    )
    .map(drop)
}

/// mknodat(2) of a character device `major:minor`.
pub fn mknod_char(
    dir: &impl AsRawFd,
    name: &CStr,
    mode: u32,
    major: u32,
    minor: u32,
) -> Result<(), Errno> {
    mknod(dir.as_raw_fd(), name, libc::S_IFCHR, mode, major, minor)
}

/// mknodat(2) of any kind (`S_IFCHR`, `S_IFBLK`, `S_IFIFO`) relative to `dir` (or AT_FDCWD).
pub fn mknod(
    dir: i32,
    name: &CStr,
    kind: u32,
    mode: u32,
    major: u32,
    minor: u32,
) -> Result<(), Errno> {
    let dev = libc::makedev(major, minor);
    let shown = match kind {
        libc::S_IFBLK => "S_IFBLK",
        libc::S_IFIFO => "S_IFIFO",
        _ => "S_IFCHR",
    };
    traced(
        || {
            format!(
                "mknodat({dir}, {}, {shown}|{mode:#o}, makedev({major}, {minor}))",
                q(name)
            )
        },
        // SAFETY: `name` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::mknodat, dir, name.as_ptr(), kind | mode, dev) },
    )
    .map(drop)
}

/// symlinkat(2): `name` in `dir` points at `target`.
pub fn symlinkat(target: &CStr, dir: &impl AsRawFd, name: &CStr) -> Result<(), Errno> {
    let dir = dir.as_raw_fd();
    traced(
        || format!("symlinkat({}, {dir}, {})", q(target), q(name)),
        // SAFETY: both strings are NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::symlinkat, target.as_ptr(), dir, name.as_ptr()) },
    )
    .map(drop)
}

/// unlinkat(AT_FDCWD, path, AT_REMOVEDIR): rmdir.
pub fn rmdir(path: &CStr) -> Result<(), Errno> {
    traced(
        || format!("unlinkat(AT_FDCWD, {}, AT_REMOVEDIR)", q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe {
            syscalls::syscall!(
                Sysno::unlinkat,
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::AT_REMOVEDIR
            )
        },
    )
    .map(drop)
}

/// chdir(2).
pub fn chdir(path: &CStr) -> Result<(), Errno> {
    traced(
        || format!("chdir({})", q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::chdir, path.as_ptr()) },
    )
    .map(drop)
}

/// getcwd(2) into `buf`: the working directory as the kernel sees it from this process's
/// root, its length returned. A directory outside that root comes back prefixed with
/// "(unreachable)".
pub fn getcwd(buf: &mut [u8]) -> Result<usize, Errno> {
    let len = buf.len();
    let n = traced(
        || format!("getcwd(<buf>, {len})"),
        // SAFETY: `buf` is valid for writes of `len` bytes.
        || unsafe { syscalls::syscall!(Sysno::getcwd, buf.as_mut_ptr(), len) },
    )?;
    // The length counts the terminating NUL.
    Ok(n.saturating_sub(1))
}

/// fchdir(2): the cwd becomes the directory `fd` refers to (an O_PATH fd will do).
pub fn fchdir(fd: &impl AsRawFd) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("fchdir({fd})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fchdir, fd) },
    )
    .map(drop)
}

/// fstatfs(2): the type of the filesystem `fd` is on (PROC_SUPER_MAGIC, SYSFS_MAGIC, ...).
pub fn filesystem_type(fd: &impl AsRawFd) -> Result<i64, Errno> {
    let fd = fd.as_raw_fd();
    // SAFETY: statfs is plain old data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    traced(
        || format!("fstatfs({fd}, <statfs>)"),
        // SAFETY: `st` is valid for writes of one struct statfs.
        || unsafe { syscalls::syscall!(Sysno::fstatfs, fd, &mut st as *mut libc::statfs) },
    )?;
    Ok(st.f_type as i64)
}

/// Whether `fd` is on a read-only mount (or filesystem): ST_RDONLY in fstatvfs(3) (the C
/// library's view of fstatfs(2)'s f_flags, which the libc crate does not show).
pub fn on_read_only_mount(fd: &impl AsRawFd) -> Result<bool, Errno> {
    let fd = fd.as_raw_fd();
    // SAFETY: statvfs is plain old data; all-zero is a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    traced(
        || format!("fstatfs({fd}, <statfs>)"),
        // SAFETY: `st` is valid for writes of one struct statvfs.
        || match unsafe { libc::fstatvfs(fd, &mut st) } {
            0 => Ok(0),
            _ => Err(Errno::new(
                std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            )),
        },
    )?;
    Ok(st.f_flag & libc::ST_RDONLY != 0)
}

/// The file type bits (S_IFMT) of what `fd` refers to.
pub fn fd_file_type(fd: &impl AsRawFd) -> Result<u32, Errno> {
    Ok(stat_at(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH)?.st_mode & libc::S_IFMT)
}

/// The file type bits (S_IFMT) of `path`, following symlinks.
pub fn file_type(path: &CStr) -> Result<u32, Errno> {
    Ok(stat(path)?.st_mode & libc::S_IFMT)
}

/// stat(2) of `path`, following symlinks.
pub fn stat(path: &CStr) -> Result<libc::stat, Errno> {
    stat_at(libc::AT_FDCWD, path, 0)
}

/// newfstatat(2): `path` below `dir` (AT_FDCWD: the cwd), or `dir` itself with AT_EMPTY_PATH.
fn stat_at(dir: RawFd, path: &CStr, flags: i32) -> Result<libc::stat, Errno> {
    // SAFETY: stat is plain old data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    traced(
        || {
            format!(
                "newfstatat({}, {}, <stat>, {})",
                if dir == libc::AT_FDCWD {
                    "AT_FDCWD".to_string()
                } else {
                    dir.to_string()
                },
                q(path),
                flags::decode(flags as u64, AT)
            )
        },
        // SAFETY: `path` is NUL-terminated and `st` is valid for writes.
        || unsafe {
            syscalls::syscall!(
                Sysno::newfstatat,
                dir,
                path.as_ptr(),
                &mut st as *mut libc::stat,
                flags
            )
        },
    )?;
    Ok(st)
}

/// umask(2); returns the previous mask.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail and takes no memory.
    traced(
        || format!("umask({mask:#o})"),
        || unsafe { syscalls::syscall!(Sysno::umask, mask) },
    )
    .unwrap_or(0) as u32
}

/// The whole content of a small file (openat, read until end of file, close).
pub fn read_file(path: &CStr) -> Result<Vec<u8>, Errno> {
    read_file_at(libc::AT_FDCWD, path)
}

/// `read_file` of `path` relative to the directory `dir`.
pub fn read_file_at(dir: RawFd, path: &CStr) -> Result<Vec<u8>, Errno> {
    let fd = openat(dir, path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    let out = read_all(&fd, usize::MAX);
    super::close(fd);
    out
}

/// A procfs file of one record (`/proc/PID/stat`, `/proc/PID/status`): the kernel gives it
/// whole to one read that has room for it, so a read shorter than the buffer is all of it and
/// no second read is made for the end. A file that fills the buffer is read to its end.
pub fn read_one_record(path: &CStr) -> Result<Vec<u8>, Errno> {
    let fd = openat(libc::AT_FDCWD, path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    let mut buf = [0u8; 4096];
    let out = match super::read(&fd, &mut buf) {
        Ok(n) if n < buf.len() => Ok(buf[..n].to_vec()),
        Ok(n) => read_all(&fd, usize::MAX).map(|rest| [&buf[..n], &rest[..]].concat()),
        Err(e) => Err(e),
    };
    super::close(fd);
    out
}

/// Reads `fd` to its end; EFBIG past `max` bytes.
fn read_all(fd: &OwnedFd, max: usize) -> Result<Vec<u8>, Errno> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match super::read(fd, &mut buf)? {
            0 => return Ok(out),
            n if out.len() + n > max => return Err(Errno::EFBIG),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A regular file of a tree that is not nsbox's (an image), read from the host side: `path`
/// resolved as if `root` were `/` (RESOLVE_IN_ROOT: `..` and symlinks stay inside), opened
/// O_PATH and checked to be a regular file before it is opened for reading (a device node or
/// FIFO of the image is never opened), at most `max` bytes (EFBIG beyond).
pub fn read_regular_in_root(root: RawFd, path: &CStr, max: usize) -> Result<Vec<u8>, Errno> {
    let spot = openat2(
        root,
        path,
        libc::O_PATH | libc::O_CLOEXEC,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    )?;
    if fd_file_type(&spot)? != libc::S_IFREG {
        return Err(Errno::EINVAL);
    }
    // Reopened through its magic link: the very file checked above, now for reading.
    let link = super::cstr(format!("/proc/self/fd/{}", spot.as_raw_fd()))?;
    let fd = openat(
        libc::AT_FDCWD,
        &link,
        libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        0,
    );
    super::close(spot);
    let fd = fd?;
    let out = read_all(&fd, max);
    super::close(fd);
    out
}

/// Writes `data` to the existing file `path` (relative to `dir`) in one write(2): the way
/// cgroup and proc files take a value.
pub fn write_file_at(dir: RawFd, path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = openat(dir, path, libc::O_WRONLY | libc::O_CLOEXEC, 0)?;
    let r = super::write(&fd, data);
    super::close(fd);
    match r? {
        n if n == data.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

/// Writes `data` to the new file `tmp` (mode `mode`) and renames it onto `path`: a reader sees
/// the old content or the new, never a part. `tmp` is removed if the write fails.
pub fn replace_file(tmp: &CStr, path: &CStr, data: &[u8], mode: u32) -> Result<(), Errno> {
    replace_file_at(libc::AT_FDCWD, tmp, path, data, mode)
}

/// `replace_file` with both names in the directory `dir` (a descriptor opened before the
/// process moved to another mount namespace, say).
pub fn replace_file_at(
    dir: RawFd,
    tmp: &CStr,
    path: &CStr,
    data: &[u8],
    mode: u32,
) -> Result<(), Errno> {
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
    let fd = openat(dir, tmp, flags, mode)?;
    let written = super::write(&fd, data);
    super::close(fd);
    let r = match written {
        Ok(n) if n == data.len() => rename_at(dir, tmp, path),
        Ok(_) => Err(Errno::EIO),
        Err(e) => Err(e),
    };
    if r.is_err() {
        let _ = unlink_at(dir, tmp);
    }
    r
}

/// fchownat(dir, path, uid, gid, AT_SYMLINK_NOFOLLOW).
pub fn chown_at(dir: RawFd, path: &CStr, uid: u32, gid: u32) -> Result<(), Errno> {
    traced(
        || {
            format!(
                "fchownat({dir}, {}, {uid}, {gid}, AT_SYMLINK_NOFOLLOW)",
                q(path)
            )
        },
        // SAFETY: `path` is NUL-terminated.
        || unsafe {
            syscalls::syscall!(
                Sysno::fchownat,
                dir,
                path.as_ptr(),
                uid,
                gid,
                libc::AT_SYMLINK_NOFOLLOW
            )
        },
    )
    .map(drop)
}

/// unlinkat(AT_FDCWD, path, 0): removes a file.
pub fn unlink(path: &CStr) -> Result<(), Errno> {
    unlink_at(libc::AT_FDCWD, path)
}

fn unlink_at(dir: RawFd, path: &CStr) -> Result<(), Errno> {
    traced(
        || format!("unlinkat({}, {}, 0)", dirfd_name(dir), q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::unlinkat, dir, path.as_ptr(), 0) },
    )
    .map(drop)
}

/// flock(2) with `op` (LOCK_EX, LOCK_NB, ...).
pub fn flock(fd: &impl AsRawFd, op: i32) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    let name = match op & !libc::LOCK_NB {
        libc::LOCK_EX => "LOCK_EX",
        libc::LOCK_SH => "LOCK_SH",
        _ => "LOCK_UN",
    };
    let nb = if op & libc::LOCK_NB != 0 {
        "|LOCK_NB"
    } else {
        ""
    };
    traced(
        || format!("flock({fd}, {name}{nb})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::flock, fd, op) },
    )
    .map(drop)
}

/// The entries of the directory `dir` (getdents64), without `.` and `..`: each name with its
/// type (`libc::DT_DIR`, ...; DT_UNKNOWN where the filesystem does not say).
pub fn list_dir(dir: &impl AsRawFd) -> Result<Vec<(Vec<u8>, u8)>, Errno> {
    let fd = dir.as_raw_fd();
    let mut names = Vec::new();
    const LEN: usize = 16 * 1024;
    let mut buf = vec![0u8; LEN];
    loop {
        let n = traced(
            || format!("getdents64({fd}, <buf>, {LEN})"),
            // SAFETY: `buf` is valid for writes of LEN bytes.
            || unsafe { syscalls::syscall!(Sysno::getdents64, fd, buf.as_mut_ptr(), LEN) },
        )?;
        if n == 0 {
            return Ok(names);
        }
        // struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name NUL-terminated.
        let mut at = 0;
        while at + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            let end = (at + reclen).min(n);
            let name = &buf[at + 19..end];
            let name = &name[..name.iter().position(|b| *b == 0).unwrap_or(name.len())];
            if name != b"." && name != b".." {
                names.push((name.to_vec(), buf[at + 18]));
            }
            if reclen == 0 {
                break;
            }
            at += reclen;
        }
    }
}

/// renameat(dir, from, dir, to).
fn rename_at(dir: RawFd, from: &CStr, to: &CStr) -> Result<(), Errno> {
    traced(
        || {
            let d = dirfd_name(dir);
            format!("renameat({d}, {}, {d}, {})", q(from), q(to))
        },
        // SAFETY: both paths are NUL-terminated.
        || unsafe { syscalls::syscall!(Sysno::renameat, dir, from.as_ptr(), dir, to.as_ptr()) },
    )
    .map(drop)
}

/// faccessat2(AT_FDCWD, path, W_OK, AT_EACCESS): whether this process may write `path`, with
/// its effective ids and the mount's read-only flag counted (unlike a look at the mode bits).
pub fn writable(path: &CStr) -> Result<(), Errno> {
    access(path, libc::W_OK, "W_OK")
}

/// faccessat2(AT_FDCWD, path, X_OK, AT_EACCESS): whether this process may execute `path`
/// (noexec mounts counted).
pub fn executable(path: &CStr) -> Result<(), Errno> {
    access(path, libc::X_OK, "X_OK")
}

fn access(path: &CStr, mode: i32, name: &str) -> Result<(), Errno> {
    traced(
        || format!("faccessat2(AT_FDCWD, {}, {name}, AT_EACCESS)", q(path)),
        // SAFETY: `path` is NUL-terminated.
        || unsafe {
            syscalls::syscall!(
                Sysno::faccessat2,
                libc::AT_FDCWD,
                path.as_ptr(),
                mode,
                libc::AT_EACCESS
            )
        },
    )
    .map(drop)
}
