//! Seccomp profiles as data (pure): what both front ends give, and nsbox's own default one,
//! which `seccomp_writer` writes as classic BPF like any other.
//!
//! nsbox's profile is a deny list: calls that reach the kernel's most dangerous interfaces, or that could
//! undo the container (mount, namespaces), fail with EPERM. Docker's default profile is an allow
//! list; this one refuses the calls it refuses that open a way out or into the kernel, and leaves
//! to the kernel's own capability checks those that need a capability the container lacks
//! (kcmp, NUMA policy calls, fanotify_init, ...). Everything else passes, so the kernel's seccomp
//! cache makes the filter free for them.

use syscalls::Sysno;

/// One classic BPF instruction (struct sock_filter).
pub use super::seccomp_writer::Insn;

pub const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
pub const fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA)
}
pub const EPERM: u32 = errno(libc::EPERM);

/// An action in words: `allow`, `errno 1`, `kill`, ...
pub fn action_name(action: u32) -> String {
    let data = action & libc::SECCOMP_RET_DATA;
    match action & !libc::SECCOMP_RET_DATA {
        libc::SECCOMP_RET_ALLOW => "allow".into(),
        libc::SECCOMP_RET_ERRNO => format!("errno {data}"),
        libc::SECCOMP_RET_KILL_PROCESS => "kill the process".into(),
        libc::SECCOMP_RET_KILL_THREAD => "kill the thread".into(),
        libc::SECCOMP_RET_TRAP => "SIGSYS".into(),
        libc::SECCOMP_RET_LOG => "log and allow".into(),
        libc::SECCOMP_RET_TRACE => "the tracer's".into(),
        other => format!("{other:#x}"),
    }
}

/// The profile a process runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seccomp {
    /// nsbox's own (`Profile::nsbox`), made where it is written: in the container's process,
    /// so that nothing of it is allocated before.
    Nsbox,
    /// A config's `linux.seccomp`.
    Config(Profile),
}

impl Seccomp {
    pub fn profile(&self) -> std::borrow::Cow<'_, Profile> {
        match self {
            Seccomp::Nsbox => std::borrow::Cow::Owned(Profile::nsbox()),
            Seccomp::Config(p) => std::borrow::Cow::Borrowed(p),
        }
    }
}

/// A profile: its rules in order (for each call the first that matches decides), and the
/// action for a call no rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// A SECCOMP_RET_* action (with its errno).
    pub default: u32,
    pub rules: Vec<Rule>,
}

/// The calls `nrs` get `action` when every comparison in `args` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub nrs: Vec<u32>,
    pub action: u32,
    pub args: Vec<Cmp>,
}

/// Argument `index` compared with `value` (`MaskedEq`: `arg & value == two`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmp {
    pub index: u32,
    pub op: Op,
    pub value: u64,
    pub two: u64,
    /// Only the lower 32 bits are compared: the kernel reads this argument as a 32-bit
    /// `int` (ioctl's request, personality's persona), so bits above cannot hide a value.
    pub low_half_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

/// Refused with EPERM whatever the arguments.
pub const DENIED: &[Sysno] = &[
    // Kernel code and the running kernel: modules, kexec, BPF, perf, reboot, swap, clocks.
    Sysno::init_module,
    Sysno::finit_module,
    Sysno::delete_module,
    Sysno::kexec_load,
    Sysno::kexec_file_load,
    Sysno::bpf,
    Sysno::perf_event_open,
    Sysno::reboot,
    Sysno::swapon,
    Sysno::swapoff,
    Sysno::acct,
    Sysno::settimeofday,
    Sysno::clock_settime,
    Sysno::clock_adjtime,
    Sysno::quotactl,
    Sysno::quotactl_fd,
    Sysno::lookup_dcookie,
    // The kernel log and keyring are not namespaced.
    Sysno::syslog,
    Sysno::add_key,
    Sysno::keyctl,
    Sysno::request_key,
    // Files by handle bypass the mount namespace (the "shocker" escape).
    Sysno::open_by_handle_at,
    Sysno::name_to_handle_at,
    // The container's mounts and namespaces are nsbox's, not its own to change.
    Sysno::mount,
    Sysno::umount2,
    Sysno::pivot_root,
    Sysno::open_tree,
    Sysno::move_mount,
    Sysno::fsopen,
    Sysno::fsconfig,
    Sysno::fsmount,
    Sysno::fspick,
    Sysno::mount_setattr,
    Sysno::open_tree_attr,
    Sysno::unshare,
    Sysno::setns,
    // Broad kernel attack surface with a history of container escapes.
    Sysno::userfaultfd,
    Sysno::io_uring_setup,
    Sysno::io_uring_enter,
    Sysno::io_uring_register,
    #[cfg(target_arch = "x86_64")]
    Sysno::iopl,
    #[cfg(target_arch = "x86_64")]
    Sysno::ioperm,
    #[cfg(target_arch = "x86_64")]
    Sysno::create_module,
    #[cfg(target_arch = "x86_64")]
    Sysno::get_kernel_syms,
    #[cfg(target_arch = "x86_64")]
    Sysno::query_module,
    #[cfg(target_arch = "x86_64")]
    Sysno::nfsservctl,
    #[cfg(target_arch = "x86_64")]
    Sysno::uselib,
    #[cfg(target_arch = "x86_64")]
    Sysno::ustat,
    #[cfg(target_arch = "x86_64")]
    Sysno::sysfs,
    #[cfg(target_arch = "x86_64")]
    Sysno::_sysctl,
];

/// clone(2) flags that make namespaces: refused (a new user namespace would give the process
/// every capability again, inside it). clone3 passes its flags in memory, out of the filter's
/// reach, so it answers ENOSYS and C libraries fall back to clone.
pub const CLONE_NAMESPACES: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

/// ioctl(2) requests refused on any descriptor: TIOCSTI pushes characters into a terminal's
/// input, so a container holding the caller's terminal (nsbox runs without a pty of its own)
/// could type commands into the host's shell; TIOCLINUX can do the same on a virtual console.
pub const IOCTLS_DENIED: [u32; 2] = [0x5412, 0x541C];

/// personality(2) values allowed (as in Docker): Linux, PER_LINUX32, UNAME26, both, and the
/// 0xffffffff query. Others turn off protections (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC).
pub const PERSONALITIES: [u32; 5] = [0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

impl Profile {
    /// nsbox's own profile: everything passes but what the lists above refuse.
    pub fn nsbox() -> Profile {
        let nr = |s: Sysno| s.id() as u32;
        let low = |index: u32, op: Op, value: u32, two: u32| Cmp {
            index,
            op,
            value: value as u64,
            two: two as u64,
            low_half_only: true,
        };
        let rule = |nrs: Vec<u32>, action: u32, args: Vec<Cmp>| Rule { nrs, action, args };
        let mut rules = Vec::with_capacity(16);
        rules.push(rule(DENIED.iter().map(|&s| nr(s)).collect(), EPERM, vec![]));
        rules.push(rule(vec![nr(Sysno::clone3)], errno(libc::ENOSYS), vec![]));
        // clone's flags are 64 bits, but every namespace flag is in the lower half.
        let no_namespace = low(0, Op::MaskedEq, CLONE_NAMESPACES, 0);
        rules.push(rule(vec![nr(Sysno::clone)], ALLOW, vec![no_namespace]));
        rules.push(rule(vec![nr(Sysno::clone)], EPERM, vec![]));
        for p in PERSONALITIES {
            rules.push(rule(
                vec![nr(Sysno::personality)],
                ALLOW,
                vec![low(0, Op::Eq, p, 0)],
            ));
        }
        rules.push(rule(vec![nr(Sysno::personality)], EPERM, vec![]));
        for request in IOCTLS_DENIED {
            rules.push(rule(
                vec![nr(Sysno::ioctl)],
                EPERM,
                vec![low(1, Op::Eq, request, 0)],
            ));
        }
        // Device nodes: the mode's file type (mknod's mode is at 1, mknodat's at 2).
        #[cfg(target_arch = "x86_64")]
        let mknods = [(nr(Sysno::mknod), 1), (nr(Sysno::mknodat), 2)];
        #[cfg(not(target_arch = "x86_64"))]
        let mknods = [(nr(Sysno::mknodat), 2)];
        for (call, index) in mknods {
            for kind in [libc::S_IFCHR, libc::S_IFBLK] {
                rules.push(rule(
                    vec![call],
                    EPERM,
                    vec![low(index, Op::MaskedEq, libc::S_IFMT, kind)],
                ));
            }
        }
        Profile {
            default: ALLOW,
            rules,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter the way the kernel does, on (arch, nr, args).
    use crate::process::seccomp_writer::{ARCH, JA, emulate, write};

    const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;

    fn default_filter() -> Vec<Insn> {
        write(&Profile::nsbox()).unwrap()
    }

    fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        emulate(prog, arch, nr, args).0
    }

    fn run_counted(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        emulate(prog, arch, nr, args)
    }

    fn native(nr: Sysno, args: [u64; 6]) -> u32 {
        run(&default_filter(), ARCH, nr.id() as u32, args)
    }

    #[test]
    fn denied_calls_get_eperm_and_others_pass() {
        for &s in DENIED {
            assert_eq!(native(s, [0; 6]), EPERM, "{s}");
        }
        for s in [
            Sysno::read,
            Sysno::execve,
            Sysno::chroot,
            Sysno::ptrace,
            Sysno::exit_group,
        ] {
            assert_eq!(native(s, [0; 6]), ALLOW, "{s}");
        }
    }

    #[test]
    fn the_search_decides_every_number_as_the_list_says_in_few_steps() {
        let prog = default_filter();
        let (mut longest, mut slowest) = (0, 0);
        for nr in 0..1024u32 {
            let (action, steps) = run_counted(&prog, ARCH, nr, [0; 6]);
            let expected = if DENIED.iter().any(|s| s.id() as u32 == nr) {
                EPERM
            } else if nr == Sysno::clone3.id() as u32 {
                errno(libc::ENOSYS)
            } else {
                ALLOW
            };
            assert_eq!(action, expected, "syscall {nr}");
            if steps > longest {
                (longest, slowest) = (steps, nr);
            }
        }
        // The longest: mknodat, whose two rules each load and mask its mode.
        assert!(
            longest <= 18,
            "{longest} instructions for one call: {slowest}"
        );
    }

    #[test]
    fn arguments_decide_for_clone_personality_and_mknod() {
        let newuser = libc::CLONE_NEWUSER as u64;
        assert_eq!(
            native(Sysno::clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(native(Sysno::clone, [newuser | 17, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(native(Sysno::clone3, [0; 6]), errno(libc::ENOSYS));
        assert_eq!(native(Sysno::personality, [0x8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            native(Sysno::personality, [0xffff_ffff, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            native(Sysno::personality, [0x0040_0000, 0, 0, 0, 0, 0]),
            EPERM
        );
        assert_eq!(
            native(Sysno::ioctl, [0, 0x5412, 0, 0, 0, 0]),
            EPERM,
            "TIOCSTI"
        );
        assert_eq!(native(Sysno::ioctl, [0, 0x1_0000_541C, 0, 0, 0, 0]), EPERM);
        assert_eq!(
            native(Sysno::ioctl, [0, 0x5413, 0, 0, 0, 0]),
            ALLOW,
            "TIOCGWINSZ"
        );
        let mode = |m: u32| (m | 0o600) as u64;
        assert_eq!(
            native(Sysno::mknodat, [0, 0, mode(libc::S_IFIFO), 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            native(Sysno::mknodat, [0, 0, mode(libc::S_IFREG), 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            native(Sysno::mknodat, [0, 0, mode(libc::S_IFBLK), 0, 0, 0]),
            EPERM
        );
        assert_eq!(
            native(Sysno::mknodat, [0, 0, mode(libc::S_IFCHR), 0, 0, 0]),
            EPERM
        );
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            native(Sysno::mknod, [0, mode(libc::S_IFBLK), 0, 0, 0, 0]),
            EPERM
        );
    }

    #[test]
    fn foreign_abis_are_refused() {
        let prog = default_filter();
        assert_eq!(run(&prog, 0x4000_0003, 0, [0; 6]), KILL_PROCESS, "i386");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(run(&prog, ARCH, 0x4000_0000, [0; 6]), EPERM, "x32 read");
    }

    #[test]
    fn jumps_stay_inside_the_program() {
        let prog = default_filter();
        for (pc, i) in prog.iter().enumerate() {
            if i.code & 0x07 == libc::BPF_JMP as u16 {
                let reach = match i.code {
                    JA => i.k as usize,
                    _ => i.jt.max(i.jf) as usize,
                };
                assert!(pc + 1 + reach < prog.len(), "jump at {pc}");
            }
        }
        assert_eq!(
            prog.last().unwrap().code,
            crate::process::seccomp_writer::RET
        );
        assert!(prog.len() < 200, "{} instructions", prog.len());
    }
}
