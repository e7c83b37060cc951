//! nsbox's own executable: a sealed in-memory copy of it (memfd_create, F_ADD_SEALS), and the
//! execveat(2) that makes the copy the running image.

use super::{owned, q, traced};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicPtr, Ordering};
use syscalls::{Errno, Sysno};

/// MFD_EXEC (Linux 6.3): the memfd may be executed even where vm.memfd_noexec defaults to not.
pub const MFD_EXEC: u32 = 0x10;

/// The seals that make a memfd's content final: no write, no resize, no unsealing.
pub const FINAL_SEALS: u32 =
    (libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE) as u32;

/// argv as the kernel handed it to C `main` (NULL-terminated), for the re-execution.
static ARGV: AtomicPtr<*const libc::c_char> = AtomicPtr::new(std::ptr::null_mut());

unsafe extern "C" {
    /// The C runtime's environment block, NULL-terminated (C may change it: `static mut`).
    static mut environ: *const *const libc::c_char;
}

/// Keeps C `main`'s argv for `execveat_self`.
#[cfg_attr(test, allow(dead_code))]
pub fn save_argv(argv: *const *const libc::c_char) {
    ARGV.store(argv.cast_mut(), Ordering::Relaxed);
}

/// memfd_create(name, flags): an anonymous file in memory.
pub fn memfd_create(name: &CStr, flags: u32) -> Result<OwnedFd, Errno> {
    let fd = traced(
        || format!("memfd_create({}, {flags:#x})", q(name)),
        // SAFETY: `name` is NUL-terminated; no other memory is passed.
        || unsafe { syscalls::syscall!(Sysno::memfd_create, name.as_ptr(), flags) },
    )?;
    // SAFETY: memfd_create just created the descriptor; nothing else owns it.
    Ok(unsafe { owned(fd) })
}

/// fcntl(F_GET_SEALS): the seals of a memfd; EINVAL for a file that cannot have any.
pub fn seals(fd: &impl AsRawFd) -> Result<u32, Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("fcntl({fd}, F_GET_SEALS)"),
        // SAFETY: only reads the descriptor's seals; no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fcntl, fd, libc::F_GET_SEALS) },
    )
    .map(|s| s as u32)
}

/// fcntl(F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE).
pub fn seal_final(fd: &impl AsRawFd) -> Result<(), Errno> {
    let fd = fd.as_raw_fd();
    traced(
        || format!("fcntl({fd}, F_ADD_SEALS, F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE)"),
        // SAFETY: only changes the file's seals; no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::fcntl, fd, libc::F_ADD_SEALS, FINAL_SEALS) },
    )
    .map(drop)
}

/// sendfile(out, in, NULL, count): copies in the kernel, from `input`'s offset on.
pub fn sendfile(out: &impl AsRawFd, input: &impl AsRawFd, count: usize) -> Result<usize, Errno> {
    let (o, i) = (out.as_raw_fd(), input.as_raw_fd());
    traced(
        || format!("sendfile({o}, {i}, NULL, {count})"),
        // SAFETY: a NULL offset pointer means "the file's own offset"; no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::sendfile, o, i, 0usize, count) },
    )
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): runs the file `fd` refers to with this
/// process's own arguments and environment, where the `NAME=value` strings of `set` replace
/// (or add) the variables they name. Returns only on failure.
pub fn execveat_self(fd: &impl AsRawFd, set: &[CString]) -> Errno {
    let fd = fd.as_raw_fd();
    let argv = ARGV.load(Ordering::Relaxed);
    if argv.is_null() {
        return Errno::EFAULT;
    }
    let name = |s: &[u8]| s.split(|b| *b == b'=').next().map(<[u8]>::to_vec);
    let replaced: Vec<_> = set.iter().map(|s| name(s.as_bytes())).collect();
    let mut envp: Vec<*const libc::c_char> = Vec::new();
    // SAFETY: `environ` is the C runtime's NULL-terminated array of NUL-terminated strings (or
    // NULL after a clearenv), read once through its address; nsbox has one thread and never
    // calls setenv, so nothing changes it meanwhile.
    unsafe {
        let mut entry = std::ptr::addr_of!(environ).read();
        while !entry.is_null() && !(*entry).is_null() {
            if !replaced.contains(&name(CStr::from_ptr(*entry).to_bytes())) {
                envp.push(*entry);
            }
            entry = entry.add(1);
        }
    }
    envp.extend(set.iter().map(|s| s.as_ptr()));
    envp.push(std::ptr::null());
    crate::trace::before(|| {
        format!(
            "execveat({fd}, \"\", <nsbox's argv>, <environ and {} more>, AT_EMPTY_PATH)",
            set.len()
        )
    });
    // SAFETY: `argv` is the NULL-terminated array the C runtime was given (its strings are
    // never moved or freed); `envp` is NULL-terminated and its strings live until execveat
    // returns (it only returns on failure); the path is an empty NUL-terminated string.
    let r = unsafe {
        syscalls::syscall!(
            Sysno::execveat,
            fd,
            c"".as_ptr(),
            argv,
            envp.as_ptr(),
            libc::AT_EMPTY_PATH
        )
    };
    let e = r.err().unwrap_or(Errno::EINVAL);
    crate::trace::syscall(crate::trace::clock(), || format!("execveat({fd})"), &Err(e));
    e
}
