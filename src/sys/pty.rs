//! Pseudo-terminals: the ptmx ioctls, sessions and controlling terminals, dup onto stdio, and
//! passing a descriptor over a unix socket (the container hands its pty master to the parent).

use super::{owned, traced};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use syscalls::{Errno, Sysno};

/// ioctl(2) traced as `ioctl(fd, NAME, shown)`.
///
/// # Safety
/// `arg` must be what `req` expects: a value, or the address of memory of the right type and
/// size that stays valid (and writable, where the kernel writes) across the call.
pub(super) unsafe fn ioctl(
    fd: RawFd,
    req: libc::Ioctl,
    name: &str,
    shown: impl FnOnce() -> String,
    arg: usize,
) -> Result<usize, Errno> {
    traced(
        || format!("ioctl({fd}, {name}, {})", shown()),
        // SAFETY: by this function's contract, `arg` is valid for `req`.
        || unsafe { syscalls::syscall!(Sysno::ioctl, fd, req, arg) },
    )
}

/// ioctl(TIOCSPTLCK, 0): unlocks the slave of a new master, so that it can be opened.
pub fn unlock(master: &impl AsRawFd) -> Result<(), Errno> {
    let zero: libc::c_int = 0;
    let arg = &zero as *const libc::c_int as usize;
    // SAFETY: TIOCSPTLCK reads one int, which `zero` is and outlives the call.
    unsafe {
        ioctl(
            master.as_raw_fd(),
            libc::TIOCSPTLCK,
            "TIOCSPTLCK",
            || "[0]".into(),
            arg,
        )
    }
    .map(drop)
}

/// ioctl(TIOCGPTPEER, O_RDWR|O_NOCTTY|O_CLOEXEC): opens the slave of `master` straight from
/// the master's devpts instance, with no path lookup.
pub fn peer(master: &impl AsRawFd) -> Result<OwnedFd, Errno> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    let shown = || "O_RDWR|O_NOCTTY|O_CLOEXEC".into();
    // SAFETY: TIOCGPTPEER takes its open flags by value; no memory is passed.
    let fd = unsafe {
        ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            "TIOCGPTPEER",
            shown,
            flags as usize,
        )
    }?;
    // SAFETY: on success TIOCGPTPEER returned a new descriptor that nothing else owns.
    Ok(unsafe { owned(fd) })
}

/// ioctl(TIOCGPTN): the number N of the slave, `/dev/pts/N` in the master's devpts.
pub fn number(master: &impl AsRawFd) -> Result<u32, Errno> {
    let mut n: libc::c_uint = 0;
    let arg = &mut n as *mut libc::c_uint as usize;
    // SAFETY: TIOCGPTN writes one unsigned int, which `n` is and outlives the call.
    unsafe {
        ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTN,
            "TIOCGPTN",
            || "<n>".into(),
            arg,
        )
    }?;
    Ok(n)
}

/// ioctl(TIOCSCTTY, 0): `fd`'s terminal becomes the controlling terminal of the caller's
/// session (the caller must lead a session without one; 0: never steal it from another).
pub fn set_controlling(fd: &impl AsRawFd) -> Result<(), Errno> {
    // SAFETY: TIOCSCTTY takes its argument by value; no memory is passed.
    unsafe {
        ioctl(
            fd.as_raw_fd(),
            libc::TIOCSCTTY,
            "TIOCSCTTY",
            || "0".into(),
            0,
        )
    }
    .map(drop)
}

/// Room for one SCM_RIGHTS message carrying one descriptor.
// SAFETY: CMSG_SPACE is arithmetic on its argument; it touches no memory.
const FD_SPACE: usize = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;

/// A control buffer aligned as the `cmsghdr` at its start must be.
#[repr(C, align(8))]
struct Control([u8; FD_SPACE]);
const _: () = assert!(align_of::<libc::cmsghdr>() <= align_of::<Control>());

/// A msghdr for one buffer and room for one descriptor; both must outlive its use.
fn message(iov: &mut libc::iovec, control: &mut Control) -> libc::msghdr {
    // SAFETY: msghdr is plain old data; all-zero is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
    msg.msg_controllen = FD_SPACE as _;
    msg
}

/// sendmsg(2) of `payload` with `fd` attached (one SCM_RIGHTS message), MSG_NOSIGNAL.
pub fn send_fd(sock: &impl AsRawFd, fd: &impl AsRawFd, payload: &[u8]) -> Result<usize, Errno> {
    let (sock, fd) = (sock.as_raw_fd(), fd.as_raw_fd());
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    let mut control = Control([0; FD_SPACE]);
    let msg = message(&mut iov, &mut control);
    // SAFETY: `msg` points at `control`, aligned and FD_SPACE bytes long, so the first header
    // and its one-descriptor payload (CMSG_LEN(4) <= FD_SPACE) lie inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd);
    }
    let len = payload.len();
    traced(
        || format!("sendmsg({sock}, {{<{len} bytes>, SCM_RIGHTS [{fd}]}}, MSG_NOSIGNAL)"),
        // SAFETY: `msg` and all it points at (iov, payload, control) outlive the call.
        || unsafe {
            syscalls::syscall!(
                Sysno::sendmsg,
                sock,
                &msg as *const libc::msghdr,
                libc::MSG_NOSIGNAL
            )
        },
    )
}

/// recvmsg(2) with MSG_CMSG_CLOEXEC (blocking): the bytes read into `buf` and the descriptor
/// that came with them, if any. Descriptors beyond the first are closed.
pub fn recv_fd(sock: &impl AsRawFd, buf: &mut [u8]) -> Result<(usize, Option<OwnedFd>), Errno> {
    let sock = sock.as_raw_fd();
    let len = buf.len();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: len,
    };
    let mut control = Control([0; FD_SPACE]);
    let mut msg = message(&mut iov, &mut control);
    let n = traced(
        || format!("recvmsg({sock}, {{<buf>, {len}, <control>, {FD_SPACE}}}, MSG_CMSG_CLOEXEC)"),
        // SAFETY: `msg` points at `buf` and `control`, writable for the lengths it gives.
        || unsafe {
            syscalls::syscall!(
                Sysno::recvmsg,
                sock,
                &mut msg as *mut libc::msghdr,
                libc::MSG_CMSG_CLOEXEC
            )
        },
    )?;
    let mut fds = Vec::new();
    // SAFETY: the kernel set msg_controllen to what it wrote into `control`; CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay inside it, and each SCM_RIGHTS payload holds (len - CMSG_LEN(0)) / 4
    // descriptors that were just installed in our table and belong to nobody else.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    fds.push(owned(std::ptr::read_unaligned(data.add(i)) as usize));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    let first = (!fds.is_empty()).then(|| fds.remove(0));
    fds.into_iter().for_each(super::close);
    Ok((n, first))
}
