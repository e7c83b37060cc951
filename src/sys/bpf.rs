//! bpf(2), for the one program nsbox loads: the device rules of a cgroup v2 container
//! (cgroup/device_program.rs writes it).

use super::{owned, traced};
use std::os::fd::{AsRawFd, OwnedFd};
use syscalls::{Errno, Sysno};

const BPF_PROG_LOAD: usize = 5;
const BPF_PROG_ATTACH: usize = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Other programs attached above (systemd's, a parent runtime's) keep running too.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `union bpf_attr`, as large as any command nsbox uses, zeroed where unused (the kernel
/// checks that the bytes past what it knows are zero).
#[repr(C, align(8))]
struct Attr([u32; 32]);

/// BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program; `insns` are 8-byte eBPF
/// instructions. When the kernel refuses it, a second load with the verifier's log gives the
/// reason (the error's second part): the log is asked for only then, as one that outgrows its
/// buffer fails the load.
pub fn load_device_program(insns: &[u8]) -> Result<OwnedFd, (Errno, String)> {
    match prog_load(insns, None) {
        Ok(fd) => Ok(fd),
        Err(e) => {
            let mut log = vec![0u8; 64 * 1024];
            let _ = prog_load(insns, Some(&mut log));
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let last: Vec<&str> = text.lines().rev().take(3).collect();
            Err((e, last.into_iter().rev().collect::<Vec<_>>().join("; ")))
        }
    }
}

fn prog_load(insns: &[u8], log: Option<&mut [u8]>) -> Result<OwnedFd, Errno> {
    let license = c"MIT";
    let mut attr = Attr([0; 32]);
    attr.0[0] = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.0[1] = (insns.len() / 8) as u32;
    let put64 = |a: &mut Attr, at: usize, v: u64| {
        a.0[at] = v as u32;
        a.0[at + 1] = (v >> 32) as u32;
    };
    put64(&mut attr, 2, insns.as_ptr() as u64);
    put64(&mut attr, 4, license.as_ptr() as u64);
    if let Some(log) = log {
        attr.0[6] = 1; // log_level
        attr.0[7] = log.len() as u32;
        put64(&mut attr, 8, log.as_mut_ptr() as u64);
    }
    let r = traced(
        || {
            format!(
                "bpf(BPF_PROG_LOAD, {{BPF_PROG_TYPE_CGROUP_DEVICE, {} insns}})",
                insns.len() / 8
            )
        },
        // SAFETY: `attr` is a zeroed bpf_attr of 128 bytes; the instructions, the license and
        // the log buffer it points to live until the call returns, and the log's size is its
        // length.
        || unsafe {
            syscalls::syscall!(
                Sysno::bpf,
                BPF_PROG_LOAD,
                &attr as *const Attr,
                size_of::<Attr>()
            )
        },
    )?;
    // SAFETY: BPF_PROG_LOAD just created the descriptor; nothing else owns it.
    Ok(unsafe { owned(r) })
}

/// BPF_PROG_ATTACH of `prog` to the cgroup v2 directory `cgroup`, as its device program.
pub fn attach_device_program(cgroup: &impl AsRawFd, prog: &OwnedFd) -> Result<(), Errno> {
    let mut attr = Attr([0; 32]);
    attr.0[0] = cgroup.as_raw_fd() as u32;
    attr.0[1] = prog.as_raw_fd() as u32;
    attr.0[2] = BPF_CGROUP_DEVICE;
    attr.0[3] = BPF_F_ALLOW_MULTI;
    traced(
        || {
            format!(
                "bpf(BPF_PROG_ATTACH, {{{}, {}, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI}})",
                cgroup.as_raw_fd(),
                prog.as_raw_fd()
            )
        },
        // SAFETY: `attr` is a zeroed bpf_attr holding only descriptors and flags.
        || unsafe {
            syscalls::syscall!(
                Sysno::bpf,
                BPF_PROG_ATTACH,
                &attr as *const Attr,
                size_of::<Attr>()
            )
        },
    )
    .map(drop)
}
