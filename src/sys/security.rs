//! Privileges: the capability bounding set, capset, the ambient set, no_new_privs, and
//! loading a seccomp filter.

use super::traced;
use crate::process::caps;
use crate::process::seccomp::Insn;
use syscalls::{Errno, Sysno};

/// prctl(PR_CAPBSET_DROP, cap): no later execve can give this capability back. EINVAL means
/// the kernel does not know `cap` (it is past the last capability).
pub fn bounding_drop(cap: u32) -> Result<(), Errno> {
    traced(
        || format!("prctl(PR_CAPBSET_DROP, {})", caps::name(cap)),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_CAPBSET_DROP, cap) },
    )
    .map(drop)
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL): no capability survives execve unasked.
pub fn ambient_clear() -> Result<(), Errno> {
    traced(
        || "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)".into(),
        // SAFETY: no memory is passed.
        || unsafe {
            syscalls::syscall!(
                Sysno::prctl,
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0
            )
        },
    )
    .map(drop)
}

/// prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap): `cap` survives execve for a non-root
/// user (it must be permitted and inheritable).
pub fn ambient_raise(cap: u32) -> Result<(), Errno> {
    traced(
        || {
            format!(
                "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, {}, 0, 0)",
                caps::name(cap)
            )
        },
        // SAFETY: no memory is passed.
        || unsafe {
            syscalls::syscall!(
                Sysno::prctl,
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE,
                cap,
                0,
                0
            )
        },
    )
    .map(drop)
}

/// prctl(PR_SET_KEEPCAPS, on): whether a change from uid 0 keeps the permitted set.
pub fn keep_caps(on: bool) -> Result<(), Errno> {
    traced(
        || format!("prctl(PR_SET_KEEPCAPS, {})", on as u8),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_SET_KEEPCAPS, on as u64) },
    )
    .map(drop)
}

/// struct __user_cap_header_struct.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// struct __user_cap_data_struct; version 3 takes two, for capabilities 0-31 and 32-63.
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// capget(2) for this thread: the permitted set (what capset may keep).
pub fn permitted() -> Result<u64, Errno> {
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    traced(
        || "capget({_LINUX_CAPABILITY_VERSION_3, 0}, <data>)".into(),
        // SAFETY: the header is read and the two data structs are valid for writes.
        || unsafe {
            syscalls::syscall!(
                Sysno::capget,
                &header as *const CapHeader,
                data.as_mut_ptr()
            )
        },
    )?;
    Ok(data[0].permitted as u64 | (data[1].permitted as u64) << 32)
}

/// capset(2) for this thread: its effective, permitted and inheritable sets.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |shift: u32| CapData {
        effective: (effective >> shift) as u32,
        permitted: (permitted >> shift) as u32,
        inheritable: (inheritable >> shift) as u32,
    };
    let data = [half(0), half(32)];
    traced(
        || {
            format!(
                "capset({{_LINUX_CAPABILITY_VERSION_3, 0}}, {{effective={effective:#x}, permitted={permitted:#x}, inheritable={inheritable:#x}}})"
            )
        },
        // SAFETY: the header and the two data structs are valid for the call and are only read.
        || unsafe {
            syscalls::syscall!(
                Sysno::capset,
                &header as *const CapHeader,
                data.as_ptr()
            )
        },
    )
    .map(drop)
}

/// prctl(PR_SET_NO_NEW_PRIVS, 1): execve never grants privileges again (setuid bits and file
/// capabilities are ignored); also what lets an unprivileged process load a seccomp filter.
pub fn no_new_privs() -> Result<(), Errno> {
    traced(
        || "prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)".into(),
        // SAFETY: no memory is passed.
        || unsafe { syscalls::syscall!(Sysno::prctl, libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) },
    )
    .map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, 0, prog): from here on every syscall of this process and
/// its descendants goes through `filter`.
pub fn load_filter(filter: &[Insn]) -> Result<(), Errno> {
    let insns: Vec<libc::sock_filter> = filter
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let prog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_ptr() as *mut libc::sock_filter,
    };
    traced(
        || {
            format!(
                "seccomp(SECCOMP_SET_MODE_FILTER, 0, {{len={}, filter=<classic BPF>}})",
                insns.len()
            )
        },
        // SAFETY: `prog` points at `insns`, which outlives the call; the kernel copies it.
        || unsafe {
            syscalls::syscall!(
                Sysno::seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog
            )
        },
    )
    .map(drop)
}
