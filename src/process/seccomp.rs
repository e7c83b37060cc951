//! The default seccomp filter, written by hand as classic BPF (pure; `sys::security` loads it).
//!
//! It is a deny list: calls that reach the kernel's most dangerous interfaces, or that could
//! undo the container (mount, namespaces), fail with EPERM. Docker's default profile is an allow
//! list; this one refuses the calls it refuses that open a way out or into the kernel, and leaves
//! to the kernel's own capability checks those that need a capability the container lacks
//! (kcmp, NUMA policy calls, fanotify_init, ...). Everything else passes, so the kernel's seccomp
//! cache makes the filter free for them.
//!
//! Layout of what the filter sees (struct seccomp_data): nr at 0, arch at 4, then args[i]
//! as 64-bit values at 16 + 8*i (the low half first on little-endian machines).

use syscalls::Sysno;

/// One classic BPF instruction (struct sock_filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub(crate) const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
pub(crate) const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
pub(crate) const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
pub(crate) const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
pub(crate) const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
pub(crate) const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

pub const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
pub const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
pub const fn errno(e: i32) -> u32 {
    libc::SECCOMP_RET_ERRNO | (e as u32 & libc::SECCOMP_RET_DATA)
}
pub const EPERM: u32 = errno(libc::EPERM);

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_low(i: u32) -> u32 {
    16 + 8 * i
}

#[cfg(target_arch = "x86_64")]
pub const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
pub const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

/// x32 calls on x86_64 carry this bit and have their own numbers: refused wholesale, or they
/// would pass a filter written for x86_64's numbers.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

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

/// Where a jump goes: classic BPF only jumps forward, by at most 255 instructions.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum To {
    Next,
    /// Over this many instructions.
    Skip(usize),
    Label(Label),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Allow,
    Eperm,
    Enosys,
    Kill,
    /// The check of one syscall's argument.
    Check(usize),
    /// The upper half of a range in the binary search.
    Node(usize),
}

/// A tiny assembler with labels, resolved into jump offsets at the end.
#[derive(Default)]
struct Asm {
    code: Vec<(u16, u32, To, To)>,
    labels: Vec<(Label, usize)>,
    nodes: usize,
}

impl Asm {
    fn op(&mut self, code: u16, k: u32) {
        self.code.push((code, k, To::Next, To::Next));
    }

    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.code.push((code, k, jt, jf));
    }

    fn label(&mut self, label: Label) {
        self.labels.push((label, self.code.len()));
    }

    fn finish(self) -> Vec<Insn> {
        let at = |l: Label| {
            self.labels
                .iter()
                .find(|(x, _)| *x == l)
                .map(|(_, pc)| *pc)
                .expect("every label is placed")
        };
        let offset = |pc: usize, to: To| {
            let n = match to {
                To::Next => 0,
                To::Skip(n) => n,
                To::Label(l) => at(l) - (pc + 1),
            };
            u8::try_from(n).expect("a forward jump of less than 256 instructions")
        };
        self.code
            .iter()
            .enumerate()
            .map(|(pc, &(code, k, jt, jf))| Insn {
                code,
                jt: offset(pc, jt),
                jf: offset(pc, jf),
                k,
            })
            .collect()
    }
}

/// A decision that depends on one argument (its low 32 bits).
#[derive(Clone, Copy)]
enum Check {
    /// EPERM if any of these bits is set.
    DenyBits(u32),
    /// ALLOW only these values.
    AllowOnly(&'static [u32]),
    /// EPERM for these values.
    DenyOnly(&'static [u32]),
    /// EPERM for a character or block device mode.
    DenyDevices,
}

/// What the filter does for a range of syscall numbers.
#[derive(Clone, Copy)]
enum Action {
    Ret(Label),
    Arg(u32, Check),
}

/// The rules, merged into ranges of consecutive numbers with the same action (x86_64 has
/// acct..reboot and iopl..nfsservctl, io_uring_setup..fspick in a row), sorted.
fn ranges() -> Vec<(u32, u32, Action)> {
    let mut rules: Vec<(u32, Action)> = Vec::with_capacity(DENIED.len() + 8);
    rules.extend(
        DENIED
            .iter()
            .map(|s| (s.id() as u32, Action::Ret(Label::Eperm))),
    );
    rules.push((Sysno::clone3.id() as u32, Action::Ret(Label::Enosys)));
    rules.push((
        Sysno::clone.id() as u32,
        Action::Arg(0, Check::DenyBits(CLONE_NAMESPACES)),
    ));
    rules.push((
        Sysno::personality.id() as u32,
        Action::Arg(0, Check::AllowOnly(&PERSONALITIES)),
    ));
    rules.push((
        Sysno::ioctl.id() as u32,
        Action::Arg(1, Check::DenyOnly(&IOCTLS_DENIED)),
    ));
    #[cfg(target_arch = "x86_64")]
    rules.push((Sysno::mknod.id() as u32, Action::Arg(1, Check::DenyDevices)));
    rules.push((
        Sysno::mknodat.id() as u32,
        Action::Arg(2, Check::DenyDevices),
    ));
    crate::sort::sort_by_key(&mut rules, |(nr, _)| *nr);
    let mut ranges: Vec<(u32, u32, Action)> = Vec::with_capacity(rules.len());
    for (nr, action) in rules {
        match (ranges.last_mut(), action) {
            (Some((_, hi, Action::Ret(a))), Action::Ret(b)) if *hi + 1 == nr && *a == b => *hi = nr,
            _ => ranges.push((nr, nr, action)),
        }
    }
    ranges
}

/// Binary search over the ranges: JGE halves them down to a few comparisons. A syscall meets
/// about a dozen instructions instead of one per rule. That matters when the filter is
/// loaded, as the kernel runs it for every syscall number to learn which ones it can allow
/// without running it at all.
fn search(asm: &mut Asm, ranges: &[(u32, u32, Action)], checks: &mut Vec<(u32, Check)>) {
    if ranges.len() > 3 {
        let (low, high) = ranges.split_at(ranges.len() / 2);
        let node = Label::Node(asm.nodes);
        asm.nodes += 1;
        asm.jump(JGE, high[0].0, To::Label(node), To::Next);
        search(asm, low, checks);
        asm.label(node);
        search(asm, high, checks);
        return;
    }
    for &(lo, hi, action) in ranges {
        let target = match action {
            Action::Ret(label) => label,
            Action::Arg(arg, check) => {
                checks.push((arg, check));
                Label::Check(checks.len() - 1)
            }
        };
        if lo == hi {
            asm.jump(JEQ, lo, To::Label(target), To::Next);
        } else {
            asm.jump(JGE, lo, To::Next, To::Skip(1));
            asm.jump(JGT, hi, To::Next, To::Label(target));
        }
    }
    asm.op(RET, ALLOW);
}

fn check(asm: &mut Asm, arg: u32, check: Check) {
    asm.op(LD_W_ABS, off_arg_low(arg));
    let (allow, eperm) = (To::Label(Label::Allow), To::Label(Label::Eperm));
    match check {
        Check::DenyBits(mask) => asm.jump(JSET, mask, eperm, allow),
        Check::AllowOnly(values) => {
            for (i, &v) in values.iter().enumerate() {
                let last = i + 1 == values.len();
                asm.jump(JEQ, v, allow, if last { eperm } else { To::Next });
            }
        }
        Check::DenyOnly(values) => {
            for (i, &v) in values.iter().enumerate() {
                let last = i + 1 == values.len();
                asm.jump(JEQ, v, eperm, if last { allow } else { To::Next });
            }
        }
        Check::DenyDevices => {
            asm.op(AND, libc::S_IFMT);
            asm.jump(JEQ, libc::S_IFCHR, eperm, To::Next);
            asm.jump(JEQ, libc::S_IFBLK, eperm, allow);
        }
    }
}

/// The whole default filter.
pub fn default_filter() -> Vec<Insn> {
    // Room for the whole filter at once (it is about 90 instructions): the child builds it
    // without growing a vector, so without asking the kernel for more memory.
    let mut asm = Asm {
        code: Vec::with_capacity(128),
        labels: Vec::with_capacity(32),
        nodes: 0,
    };
    // A foreign ABI (i386 on x86_64, arm32 on arm64) numbers its calls differently: it is
    // not run at all rather than filtered with the wrong numbers.
    asm.op(LD_W_ABS, OFF_ARCH);
    asm.jump(JEQ, ARCH, To::Next, To::Label(Label::Kill));
    asm.op(LD_W_ABS, OFF_NR);
    #[cfg(target_arch = "x86_64")]
    asm.jump(JGE, X32_SYSCALL_BIT, To::Label(Label::Eperm), To::Next);
    let mut checks = Vec::new();
    search(&mut asm, &ranges(), &mut checks);
    for (i, &(arg, c)) in checks.iter().enumerate() {
        asm.label(Label::Check(i));
        check(&mut asm, arg, c);
    }
    for (label, action) in [
        (Label::Allow, ALLOW),
        (Label::Eperm, EPERM),
        (Label::Enosys, errno(libc::ENOSYS)),
        (Label::Kill, KILL_PROCESS),
    ] {
        asm.label(label);
        asm.op(RET, action);
    }
    asm.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter the way the kernel does, on (arch, nr, args).
    fn run(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        run_counted(prog, arch, nr, args).0
    }

    /// The action, and how many instructions ran to reach it.
    fn run_counted(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut a, mut pc, mut steps) = (0u32, 0usize, 0usize);
        loop {
            let i = prog[pc];
            pc += 1;
            steps += 1;
            let jump = |cond: bool| if cond { i.jt as usize } else { i.jf as usize };
            match i.code {
                LD_W_ABS => {
                    let k = i.k as usize;
                    a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                }
                AND => a &= i.k,
                JEQ => pc += jump(a == i.k),
                JGE => pc += jump(a >= i.k),
                JGT => pc += jump(a > i.k),
                JSET => pc += jump(a & i.k != 0),
                RET => return (i.k, steps),
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
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
        let mut longest = 0;
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
            longest = longest.max(steps);
        }
        assert!(longest <= 16, "{longest} instructions for one call");
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
                assert!(
                    pc + 1 + (i.jt.max(i.jf) as usize) < prog.len(),
                    "jump at {pc}"
                );
            }
        }
        assert_eq!(prog.last().unwrap().code, RET);
        assert!(prog.len() < 200, "{} instructions", prog.len());
    }
}
