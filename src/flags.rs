//! Names for syscall flag bits and signals, so `--trace` reads like strace.

type Table = &'static [(u64, &'static str)];

/// The time namespace (Linux 5.6): unshare(2) and setns(2) only, as clone(2) reads this bit as
/// part of its exit signal.
pub const CLONE_NEWTIME: i32 = 0x80;

pub const CLONE: Table = &[
    (libc::CLONE_NEWNS as u64, "CLONE_NEWNS"),
    (libc::CLONE_NEWCGROUP as u64, "CLONE_NEWCGROUP"),
    (libc::CLONE_NEWUTS as u64, "CLONE_NEWUTS"),
    (libc::CLONE_NEWIPC as u64, "CLONE_NEWIPC"),
    (libc::CLONE_NEWUSER as u64, "CLONE_NEWUSER"),
    (libc::CLONE_NEWPID as u64, "CLONE_NEWPID"),
    (libc::CLONE_NEWNET as u64, "CLONE_NEWNET"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
    (CLONE_NEWTIME as u64, "CLONE_NEWTIME"),
];

pub const MOUNT: Table = &[
    (libc::MS_RDONLY, "MS_RDONLY"),
    (libc::MS_NOSUID, "MS_NOSUID"),
    (libc::MS_NODEV, "MS_NODEV"),
    (libc::MS_NOEXEC, "MS_NOEXEC"),
    (libc::MS_REMOUNT, "MS_REMOUNT"),
    (libc::MS_BIND, "MS_BIND"),
    (libc::MS_MOVE, "MS_MOVE"),
    (libc::MS_REC, "MS_REC"),
    (libc::MS_PRIVATE, "MS_PRIVATE"),
    (libc::MS_SLAVE, "MS_SLAVE"),
    (libc::MS_STRICTATIME, "MS_STRICTATIME"),
];

pub const MOUNT_ATTR: Table = &[
    (0x1, "MOUNT_ATTR_RDONLY"),
    (0x2, "MOUNT_ATTR_NOSUID"),
    (0x4, "MOUNT_ATTR_NODEV"),
    (0x8, "MOUNT_ATTR_NOEXEC"),
    (0x20, "MOUNT_ATTR_STRICTATIME"),
];

pub const AT: Table = &[
    (libc::AT_SYMLINK_NOFOLLOW as u64, "AT_SYMLINK_NOFOLLOW"),
    (libc::AT_EMPTY_PATH as u64, "AT_EMPTY_PATH"),
    (0x8000, "AT_RECURSIVE"),
    (0x1, "OPEN_TREE_CLONE"),
    (libc::O_CLOEXEC as u64, "OPEN_TREE_CLOEXEC"),
];

pub const MOVE_MOUNT: Table = &[
    (0x4, "MOVE_MOUNT_F_EMPTY_PATH"),
    (0x40, "MOVE_MOUNT_T_EMPTY_PATH"),
];

pub const OPEN: Table = &[
    (libc::O_WRONLY as u64, "O_WRONLY"),
    (libc::O_RDWR as u64, "O_RDWR"),
    (libc::O_CREAT as u64, "O_CREAT"),
    (libc::O_EXCL as u64, "O_EXCL"),
    (libc::O_NOCTTY as u64, "O_NOCTTY"),
    (libc::O_TRUNC as u64, "O_TRUNC"),
    (libc::O_NONBLOCK as u64, "O_NONBLOCK"),
    (libc::O_DIRECTORY as u64, "O_DIRECTORY"),
    (libc::O_NOFOLLOW as u64, "O_NOFOLLOW"),
    (libc::O_CLOEXEC as u64, "O_CLOEXEC"),
    (libc::O_PATH as u64, "O_PATH"),
];

pub const RESOLVE: Table = &[
    (0x01, "RESOLVE_NO_XDEV"),
    (0x02, "RESOLVE_NO_MAGICLINKS"),
    (0x04, "RESOLVE_NO_SYMLINKS"),
    (0x08, "RESOLVE_BENEATH"),
    (0x10, "RESOLVE_IN_ROOT"),
];

/// `A|B|0x40`: the named bits, then whatever is left as hex; `0` when no bit is set.
pub fn decode(bits: u64, table: Table) -> String {
    let mut names = Vec::new();
    let mut rest = bits;
    for &(bit, name) in table {
        if bit != 0 && bits & bit == bit && rest & bit != 0 {
            names.push(name.to_string());
            rest &= !bit;
        }
    }
    if rest != 0 || names.is_empty() {
        names.push(if rest == 0 {
            "0".into()
        } else {
            format!("{rest:#x}")
        });
    }
    names.join("|")
}

const SIGNALS: &[(i32, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGILL, "ILL"),
    (libc::SIGTRAP, "TRAP"),
    (libc::SIGABRT, "ABRT"),
    (libc::SIGBUS, "BUS"),
    (libc::SIGFPE, "FPE"),
    (libc::SIGKILL, "KILL"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGSEGV, "SEGV"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGPIPE, "PIPE"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGCHLD, "CHLD"),
    (libc::SIGCONT, "CONT"),
    (libc::SIGSTOP, "STOP"),
    (libc::SIGTSTP, "TSTP"),
    (libc::SIGTTIN, "TTIN"),
    (libc::SIGTTOU, "TTOU"),
    (libc::SIGWINCH, "WINCH"),
];

/// The number of a signal from its name without `SIG` (`TERM`).
pub fn signal_number(name: &str) -> Option<i32> {
    SIGNALS.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
}

/// `SIGTERM`, or `SIG42` for a signal without a classic name.
pub fn signal_name(sig: i32) -> String {
    match SIGNALS.iter().find(|(n, _)| *n == sig) {
        Some((_, name)) => format!("SIG{name}"),
        None => format!("SIG{sig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_known_bits_and_leftovers() {
        assert_eq!(
            decode(libc::MS_REC | libc::MS_PRIVATE, MOUNT),
            "MS_REC|MS_PRIVATE"
        );
        assert_eq!(decode(0, MOUNT), "0");
        assert_eq!(
            decode(libc::MS_BIND | 0x1_0000_0000, MOUNT),
            "MS_BIND|0x100000000"
        );
        let clone = (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u64;
        assert_eq!(decode(clone, CLONE), "CLONE_NEWNS|CLONE_NEWPID");
    }

    #[test]
    fn names_signals() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(40), "SIG40");
    }
}
