//! Descriptors: pipes, dup2, closing ranges.

use super::{owned, traced};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use syscalls::{Errno, Sysno};

/// pipe2(O_CLOEXEC): (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as libc::c_int; 2];
    traced(
        || "pipe2(<fds>, O_CLOEXEC)".into(),
        // SAFETY: `fds` has room for the two descriptors the kernel writes.
        || unsafe { syscalls::syscall!(Sysno::pipe2, fds.as_mut_ptr(), libc::O_CLOEXEC) },
    )?;
    // SAFETY: pipe2 just created both descriptors; nothing else owns them.
    Ok(unsafe { (owned(fds[0] as usize), owned(fds[1] as usize)) })
}

/// Makes `new` refer to `old`'s open file and stay open across execve: dup3(old, new, 0), or,
/// when they are the same number (where dup3 says EINVAL), fcntl(F_SETFD, 0) to clear
/// FD_CLOEXEC.
pub fn dup2(old: &impl AsRawFd, new: RawFd) -> Result<(), Errno> {
    let old = old.as_raw_fd();
    if old == new {
        return traced(
            || format!("fcntl({old}, F_SETFD, 0)"),
            // SAFETY: only changes descriptor flags; no memory is passed.
            || unsafe { syscalls::syscall!(Sysno::fcntl, old, libc::F_SETFD, 0) },
        )
        .map(drop);
    }
    traced(
        || format!("dup3({old}, {new}, 0)"),
        // SAFETY: no memory is passed; `new` is replaced by design (the caller's stdio).
        || unsafe { syscalls::syscall!(Sysno::dup3, old, new, 0) },
    )
    .map(drop)
}

/// fcntl(F_SETPIPE_SZ): lets the pipe hold at least `bytes` (up to /proc/sys/fs/pipe-max-size).
pub fn set_pipe_size(fd: &impl AsRawFd, bytes: usize) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("fcntl({fd}, F_SETPIPE_SZ, {bytes})"),
        // SAFETY: only changes the pipe's capacity; no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fcntl, fd, libc::F_SETPIPE_SZ, bytes) },
    )
    .map(drop)
}

/// close_range(first, last, 0): closes every descriptor in the range.
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    traced(
        || format!("close_range({first}, {last}, 0)"),
        // SAFETY: only closes descriptors; nothing of ours in the range is used afterwards
        // (the caller keeps what it needs outside the range).
        || unsafe { syscalls::syscall!(Sysno::close_range, first, last, 0) },
    )
    .map(drop)
}

/// close_range(first, ~0, CLOSE_RANGE_CLOEXEC): every descriptor from `first` on closes at
/// execve.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    traced(
        || format!("close_range({first}, ~0U, CLOSE_RANGE_CLOEXEC)"),
        // SAFETY: only changes descriptor flags; no memory is passed.
        || unsafe {
            syscalls::syscall!(
                Sysno::close_range,
                first,
                u32::MAX,
                libc::CLOSE_RANGE_CLOEXEC
            )
        },
    )
    .map(drop)
}

/// Closes every descriptor from 3 up but those in `keep` (closed, not only marked close-on-exec: no
/// path of the container's may be resolved while one of the host's is open).
pub fn close_all_but(keep: &[RawFd]) -> Result<(), Errno> {
    let mut from = 3u32;
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .collect();
    crate::sort::sort(&mut kept);
    for fd in kept.into_iter().filter(|&fd| fd >= 3) {
        if fd > from {
            close_range(from, fd - 1)?;
        }
        from = from.max(fd + 1);
    }
    close_range(from, u32::MAX)
}

/// close(2) of a descriptor number this process owns and does not use afterwards (one it
/// copied at clone, which no OwnedFd wraps here; or an OwnedFd given up by `sys::close`).
pub fn close_raw(fd: RawFd) {
    let _ = traced(
        || format!("close({fd})"),
        // SAFETY: closing a descriptor touches no memory.
        || unsafe { syscalls::syscall!(Sysno::close, fd) },
    );
}

/// lseek(2): the new offset. `SEEK_END` with 0 gives a file's size.
pub fn lseek(fd: &impl AsRawFd, offset: i64, whence: i32) -> Result<u64, Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("lseek({fd}, {offset}, {whence})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::lseek, fd, offset, whence) },
    )
    .map(|n| n as u64)
}

/// ftruncate(2): the file ends at `len`.
pub fn ftruncate(fd: &impl AsRawFd, len: u64) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("ftruncate({fd}, {len})"),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::ftruncate, fd, len) },
    )
    .map(drop)
}

/// pread64(2) into `buf` at `offset`, leaving the file offset alone; 0 at end of file.
pub fn pread(fd: &impl AsRawFd, buf: &mut [u8], offset: u64) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    let len = buf.len();
    traced(
        || format!("pread64({fd}, <buf>, {len}, {offset})"),
        // SAFETY: `buf` is valid for writes of `len` bytes.
        || unsafe { syscalls::syscall!(Sysno::pread64, fd, buf.as_mut_ptr(), len, offset) },
    )
}
