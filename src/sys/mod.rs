//! The syscall layer: the only home of `unsafe`. One thin wrapper per syscall, each traced.
//!
//! Every wrapper returns the kernel's answer as `Result<_, Errno>`; callers add what they were
//! doing (`error::Context::ctx`). With `--trace`, each call prints its decoded arguments, result
//! and duration (see `trace.rs`), in the order the kernel saw them.

pub mod bpf;
pub mod clone;
pub mod exe;
pub mod fd;
pub mod fs;
pub mod lifecycle;
pub mod mount;
pub mod process;
pub mod pty;
pub mod security;
pub mod shared;
pub mod signal;
pub mod term;

use crate::trace;
use std::ffi::{CStr, CString, OsString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use syscalls::Errno;

pub use syscalls::Sysno;

/// Runs one raw syscall and traces it as `call(args)`.
fn traced(
    call: impl FnOnce() -> String,
    f: impl FnOnce() -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let t0 = trace::clock();
    let r = f();
    trace::syscall(t0, call, &r);
    r
}

/// Wraps a new file descriptor the kernel just returned.
///
/// # Safety
/// `fd` must be a descriptor that a syscall has just created and that nothing else owns or
/// will close (the result of open, socket, open_tree, ...).
unsafe fn owned(fd: usize) -> OwnedFd {
    // SAFETY: by this function's contract, nothing else owns `fd`.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// `"path"` for a trace line.
fn q(s: &CStr) -> String {
    format!("{:?}", s.to_string_lossy())
}

/// `"path"` or `NULL`.
fn qo(s: Option<&CStr>) -> String {
    s.map(q).unwrap_or_else(|| "NULL".into())
}

fn ptr(s: Option<&CStr>) -> usize {
    s.map(|s| s.as_ptr() as usize).unwrap_or(0)
}

/// A path or string as a C string; an interior NUL byte is reported as EINVAL by the caller.
pub fn cstr(s: impl Into<Vec<u8>>) -> Result<CString, Errno> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

/// A host path as a C string; an interior NUL byte is an error that names the path.
pub fn cpath(path: &std::path::Path) -> crate::error::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    cstr(path.as_os_str().as_bytes())
        .map_err(|e| crate::error::Error::sys(format!("path {path:?}"), e))
}

/// The whole content of a small text file (procfs, sysfs, cgroupfs), lossily as UTF-8.
pub fn read_text(path: &std::path::Path) -> crate::error::Result<String> {
    fs::read_file(&cpath(path)?)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| crate::error::Error::sys(format!("read {path:?}"), e))
}

/// The file type (S_IFDIR, S_IFREG, ...) of a host path the user named; `what` names it in
/// the error (`--rootfs "/x"`, `--volume source "/y"`).
pub fn host_file_type(what: &str, path: &std::path::Path) -> crate::error::Result<u32> {
    let p = cpath(path)?;
    fs::file_type(&p).map_err(|e| {
        crate::error::Error::sys(format!("{what} {path:?}"), e)
            .hint_on(Errno::ENOENT, "the path does not exist on the host")
    })
}

/// Where the kernel put the argument strings (what /proc/PID/cmdline shows): start, length.
static ARGS_AREA: std::sync::Mutex<(usize, usize)> = std::sync::Mutex::new((0, 0));

/// The program's arguments from C `main`'s argc/argv (nsbox runs without std's runtime init).
#[cfg_attr(test, allow(dead_code))]
pub fn args_from_main(argc: i32, argv: *const *const libc::c_char) -> Vec<OsString> {
    let args: Vec<&CStr> = (0..argc.max(0) as usize)
        // SAFETY: the C runtime passes `argc` valid, NUL-terminated strings in `argv`.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) })
        .collect();
    if let (Some(first), Some(last)) = (args.first(), args.last()) {
        let start = first.as_ptr() as usize;
        let end = last.as_ptr() as usize + last.to_bytes_with_nul().len();
        if let Ok(mut area) = ARGS_AREA.lock() {
            *area = (start, end.saturating_sub(start));
        }
    }
    args.iter()
        .map(|a| OsString::from_vec(a.to_bytes().to_vec()))
        .collect()
}

/// Blanks the argument strings, so that /proc/PID/cmdline, which any process of the container
/// may read even when nsbox is undumpable, shows nothing of the host's command line (paths,
/// -e values). For nsbox's own processes inside the container (--init, exec before execve).
pub fn hide_cmdline() {
    let (start, len) = ARGS_AREA.lock().map(|a| *a).unwrap_or((0, 0));
    if start != 0 {
        // SAFETY: [start, start+len) is the block of argument strings the kernel placed for
        // this process (contiguous, NUL-separated); nsbox copied them at start and never reads
        // this memory again.
        unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
    }
}

/// write(2) of all bytes to stderr without tracing (the tracer itself uses it).
/// Returns false when nobody reads stderr any more (EPIPE).
pub fn write_stderr_untraced(buf: &[u8]) -> bool {
    write_all_untraced(2, buf) != Err(Errno::EPIPE)
}

/// write(2) of all bytes to stdout without tracing (help, version and other plain output).
pub fn write_stdout(buf: &[u8]) {
    let _ = write_all_untraced(1, buf);
}

fn write_all_untraced(fd: RawFd, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        // SAFETY: `buf` is a valid slice for its length; the kernel only reads it.
        match unsafe { syscalls::syscall!(Sysno::write, fd, buf.as_ptr(), buf.len()) } {
            Ok(0) => return Ok(()),
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// send(2) with MSG_NOSIGNAL: a closed peer gives EPIPE instead of killing us with SIGPIPE.
pub fn send(fd: &impl AsRawFd, buf: &[u8]) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || {
            format!(
                "sendto({fd}, <{} bytes>, {}, MSG_NOSIGNAL, NULL, 0)",
                buf.len(),
                buf.len()
            )
        },
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes; no address is passed.
        || unsafe {
            syscalls::syscall!(
                Sysno::sendto,
                fd,
                buf.as_ptr(),
                buf.len(),
                libc::MSG_NOSIGNAL,
                0,
                0
            )
        },
    )
}

/// write(2) of `buf` (cgroup files take each value in one write).
pub fn write(fd: &impl AsRawFd, buf: &[u8]) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || {
            format!(
                "write({fd}, {:?}, {})",
                String::from_utf8_lossy(buf),
                buf.len()
            )
        },
        // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
        || unsafe { syscalls::syscall!(Sysno::write, fd, buf.as_ptr(), buf.len()) },
    )
}

/// read(2) into `buf`; 0 means end of file (or the peer closed its end).
pub fn read(fd: &impl AsRawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    let len = buf.len();
    traced(
        || format!("read({fd}, <buf>, {len})"),
        // SAFETY: `buf` is valid for writes of `len` bytes.
        || unsafe { syscalls::syscall!(Sysno::read, fd, buf.as_mut_ptr(), len) },
    )
}

/// recvfrom(2) with MSG_DONTWAIT: a queued datagram, 0 at end of stream, EAGAIN if none yet.
pub fn recv_nowait(fd: &impl AsRawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    let fd = fd.as_raw_fd();
    let len = buf.len();
    traced(
        || format!("recvfrom({fd}, <buf>, {len}, MSG_DONTWAIT, NULL, NULL)"),
        // SAFETY: `buf` is valid for writes of `len` bytes; no address is asked for.
        || unsafe {
            syscalls::syscall!(
                Sysno::recvfrom,
                fd,
                buf.as_mut_ptr(),
                len,
                libc::MSG_DONTWAIT,
                0,
                0
            )
        },
    )
}

/// socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC): the parent/child sync channel.
pub fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as libc::c_int; 2];
    let ty = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    traced(
        || "socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_CLOEXEC, 0, <fds>)".into(),
        // SAFETY: `fds` has room for the two descriptors the kernel writes.
        || unsafe { syscalls::syscall!(Sysno::socketpair, libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) },
    )?;
    // SAFETY: socketpair just created both descriptors; nothing else owns them.
    Ok(unsafe { (owned(fds[0] as usize), owned(fds[1] as usize)) })
}

/// socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC) connected to the socket file `path` (at most
/// 107 bytes: sun_path's size).
pub fn unix_connect(path: &CStr) -> Result<OwnedFd, Errno> {
    let bytes = path.to_bytes();
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(Errno::ENAMETOOLONG);
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    let fd = traced(
        || "socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)".into(),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::socket, libc::AF_UNIX, ty, 0) },
    )?;
    // SAFETY: socket just created the descriptor; nothing else owns it.
    let sock = unsafe { owned(fd) };
    let len = size_of::<libc::sa_family_t>() + bytes.len() + 1;
    traced(
        || format!("connect({fd}, {{AF_UNIX, {path:?}}}, {len})"),
        // SAFETY: `addr` is a sockaddr_un that lives across the call; `len` is within it.
        || unsafe {
            syscalls::syscall!(Sysno::connect, fd, &addr as *const libc::sockaddr_un, len)
        },
    )?;
    Ok(sock)
}

/// close(2) of a descriptor we own, traced (a plain drop closes untraced).
pub fn close(fd: OwnedFd) {
    fd::close_raw(std::os::fd::IntoRawFd::into_raw_fd(fd));
}

/// CLOCK_MONOTONIC in microseconds (the clock `Instant` reads), to carry a time across execve.
pub fn monotonic_us() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for the kernel's write; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000 + ts.tv_nsec as u128 / 1000
}

/// getrandom(2) into `buf` (for container ids).
pub fn getrandom(buf: &mut [u8]) -> Result<(), Errno> {
    let len = buf.len();
    traced(
        || format!("getrandom(<buf>, {len}, 0)"),
        // SAFETY: `buf` is valid for writes of `len` bytes.
        || unsafe { syscalls::syscall!(Sysno::getrandom, buf.as_mut_ptr(), len, 0) },
    )
    .map(drop)
}

/// getegid(2).
pub fn getegid() -> u32 {
    // SAFETY: getegid takes no arguments and cannot fail.
    traced(
        || "getegid()".into(),
        || unsafe { syscalls::syscall!(Sysno::getegid) },
    )
    .unwrap_or(u32::MAX as usize) as u32
}

/// geteuid(2).
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments and cannot fail.
    traced(
        || "geteuid()".into(),
        || unsafe { syscalls::syscall!(Sysno::geteuid) },
    )
    .unwrap_or(u32::MAX as usize) as u32
}

/// ioctl(SIOCSIFFLAGS) on a throwaway AF_INET socket: brings `lo` up in the current netns.
pub fn loopback_up() -> Result<(), Errno> {
    let sock = traced(
        || "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)".into(),
        // SAFETY: no memory is passed.
        || unsafe {
            syscalls::syscall!(
                Sysno::socket,
                libc::AF_INET,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0
            )
        },
    )
    // SAFETY: on success the syscall returned a new descriptor that nothing else owns.
    .map(|fd| unsafe { owned(fd) })?;
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags =
        (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as libc::c_short;
    let fd = sock.as_raw_fd();
    let r = traced(
        || {
            format!(
                "ioctl({fd}, SIOCSIFFLAGS, {{ifr_name=\"lo\", ifr_flags=IFF_UP|IFF_LOOPBACK|IFF_RUNNING}})"
            )
        },
        // SAFETY: `req` is a valid ifreq for SIOCSIFFLAGS and lives across the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::ioctl,
                fd,
                libc::SIOCSIFFLAGS,
                &req as *const libc::ifreq
            )
        },
    );
    close(sock);
    r.map(drop)
}
