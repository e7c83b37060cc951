//! An OCI seccomp profile (`linux.seccomp`) read into a `Profile`, which nsbox's own writer
//! (process/seccomp_writer.rs) turns into classic BPF, as it does nsbox's default profile:
//! the native architecture's rules in their order, first match wins; any other ABI is killed
//! (32-bit programs do not run in such a container).

use super::field::Field;
use crate::error::Result;
use crate::process::seccomp::{Cmp, Op, Profile, Rule};
use crate::process::seccomp_writer::{self, TooBig};
#[cfg(test)]
use syscalls::Sysno;

/// The target's syscall names, a line per number (build.rs).
const NAMES: &str = include_str!(concat!(env!("OUT_DIR"), "/syscall_names.txt"));

/// The number of the call named `name` on this architecture.
fn syscall_number(name: &str) -> Option<u32> {
    if name.is_empty() {
        return None;
    }
    NAMES.split('\n').position(|n| n == name).map(|i| i as u32)
}

/// An action's SECCOMP_RET value.
fn action(f: &Field<'_>, errno_ret: Option<u32>) -> Result<u32> {
    let errno = errno_ret.unwrap_or(libc::EPERM as u32) & libc::SECCOMP_RET_DATA;
    Ok(match f.str()? {
        "SCMP_ACT_ALLOW" => libc::SECCOMP_RET_ALLOW,
        "SCMP_ACT_ERRNO" => libc::SECCOMP_RET_ERRNO | errno,
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => libc::SECCOMP_RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => libc::SECCOMP_RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => libc::SECCOMP_RET_TRAP,
        "SCMP_ACT_LOG" => libc::SECCOMP_RET_LOG,
        "SCMP_ACT_TRACE" => libc::SECCOMP_RET_TRACE | errno,
        "SCMP_ACT_NOTIFY" => return Err(f.unsupported("SCMP_ACT_NOTIFY (nsbox has no listener)")),
        other => return Err(f.error(format!("{other:?} is not a seccomp action"))),
    })
}

fn arg(f: &Field<'_>) -> Result<Cmp> {
    let index = f.need("index")?.u32()?;
    if index > 5 {
        return Err(f.error("index must be from 0 to 5"));
    }
    let o = f.need("op")?;
    let op = match o.str()? {
        "SCMP_CMP_NE" => Op::Ne,
        "SCMP_CMP_LT" => Op::Lt,
        "SCMP_CMP_LE" => Op::Le,
        "SCMP_CMP_EQ" => Op::Eq,
        "SCMP_CMP_GE" => Op::Ge,
        "SCMP_CMP_GT" => Op::Gt,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEq,
        other => return Err(o.error(format!("{other:?} is not a comparison"))),
    };
    let value = f.need("value")?.u64()?;
    let two = f.get("valueTwo").map(|v| v.u64()).transpose()?.unwrap_or(0);
    Ok(Cmp {
        index,
        op,
        value,
        two,
        low_half_only: false,
    })
}

/// The profile, checked: it must fit in one classic BPF program (it is written here once to
/// know, and again in the container's process).
pub fn parse(s: &Field<'_>) -> Result<Profile> {
    let errno_ret = s.get("defaultErrnoRet").map(|f| f.u32()).transpose()?;
    let default = action(&s.need("defaultAction")?, errno_ret)?;
    if let Some(f) = s.get("listenerPath") {
        return Err(f.unsupported("a seccomp listener"));
    }
    if let Some(f) = s.get("flags") {
        for flag in f.strs()? {
            if !matches!(
                flag,
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW" | "SECCOMP_FILTER_FLAG_LOG"
            ) {
                return Err(f.unsupported(&format!("the filter flag {flag}")));
            }
        }
    }
    let mut profile = Profile {
        default,
        rules: Vec::new(),
    };
    if let Some(rules) = s.get("syscalls") {
        for rule in rules.items()? {
            let errno = rule
                .get("errnoRet")
                .map(|f| f.u32())
                .transpose()?
                .or(errno_ret);
            let action = action(&rule.need("action")?, errno)?;
            // Names this architecture lacks are skipped, as libseccomp does.
            let nrs: Vec<u32> = rule
                .need("names")?
                .strs()?
                .into_iter()
                .filter_map(syscall_number)
                .collect();
            let args = match rule.get("args") {
                Some(a) => a.items()?.iter().map(arg).collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            // The checks of one rule must fit in the jumps of classic BPF (255 instructions:
            // at most 6 a comparison, so a rule of 40 or fewer always fits and is not written
            // alone to find out).
            if args.len() > 40 {
                let alone = Profile {
                    default,
                    rules: vec![Rule {
                        nrs: vec![0],
                        action,
                        args: args.clone(),
                    }],
                };
                if seccomp_writer::write(&alone) == Err(TooBig::Rule) {
                    return Err(rule.unsupported("this many argument checks in one rule"));
                }
            }
            profile.rules.push(Rule { nrs, action, args });
        }
    }
    match seccomp_writer::write(&profile) {
        Ok(_) => Ok(profile),
        Err(TooBig::Program(n)) => Err(s.error(format!(
            "the profile compiles to {n} instructions, more than the kernel's {}",
            seccomp_writer::MAX_INSNS
        ))),
        Err(TooBig::Rule) => Err(s.unsupported("this many argument checks in one rule")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::json::parse;

    fn compile(f: &Field<'_>) -> Result<Vec<crate::process::seccomp::Insn>> {
        super::parse(f).map(|p| seccomp_writer::write(&p).unwrap())
    }

    fn run(prog: &[crate::process::seccomp::Insn], nr: u32, args: [u64; 6]) -> u32 {
        seccomp_writer::emulate(prog, seccomp_writer::ARCH, nr, args).0
    }

    #[test]
    fn rules_in_order_with_64_bit_arguments() {
        let text = br#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
            {"names":["read","write","nosuchcall"],"action":"SCMP_ACT_ALLOW"},
            {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["mmap"],"action":"SCMP_ACT_ALLOW","args":[{"index":2,"value":4294967296,"op":"SCMP_CMP_GE"}]},
            {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
            {"names":["kill"],"action":"SCMP_ACT_ERRNO","errnoRet":1,"args":[{"index":1,"value":9,"op":"SCMP_CMP_LT"},{"index":0,"value":1,"op":"SCMP_CMP_NE"}]}
        ]}"#;
        let v = parse(text).unwrap();
        let prog = compile(&Field::root("config.json", &v)).unwrap();
        let nr = |s: Sysno| s.id() as u32;
        let (allow, enosys) = (libc::SECCOMP_RET_ALLOW, libc::SECCOMP_RET_ERRNO | 38);
        assert_eq!(run(&prog, nr(Sysno::read), [0; 6]), allow);
        assert_eq!(run(&prog, nr(Sysno::write), [0; 6]), allow);
        assert_eq!(run(&prog, nr(Sysno::open), [0; 6]), enosys);
        assert_eq!(
            run(&prog, nr(Sysno::personality), [8, 0, 0, 0, 0, 0]),
            allow
        );
        assert_eq!(
            run(&prog, nr(Sysno::personality), [8 | 1 << 32, 0, 0, 0, 0, 0]),
            enosys
        );
        assert_eq!(run(&prog, nr(Sysno::mmap), [0, 0, 1 << 32, 0, 0, 0]), allow);
        assert_eq!(
            run(&prog, nr(Sysno::mmap), [0, 0, (1 << 32) - 1, 0, 0, 0]),
            enosys
        );
        assert_eq!(run(&prog, nr(Sysno::mmap), [0, 0, 2 << 32, 0, 0, 0]), allow);
        assert_eq!(run(&prog, nr(Sysno::clone), [0x11, 0, 0, 0, 0, 0]), allow);
        assert_eq!(
            run(&prog, nr(Sysno::clone), [0x1000_0000, 0, 0, 0, 0, 0]),
            enosys
        );
        let eperm = libc::SECCOMP_RET_ERRNO | 1;
        assert_eq!(run(&prog, nr(Sysno::kill), [5, 8, 0, 0, 0, 0]), eperm);
        assert_eq!(run(&prog, nr(Sysno::kill), [1, 8, 0, 0, 0, 0]), enosys);
        assert_eq!(run(&prog, nr(Sysno::kill), [5, 9, 0, 0, 0, 0]), enosys);
        assert_eq!(
            run(&prog, nr(Sysno::kill), [5, 1 << 32, 0, 0, 0, 0]),
            enosys
        );
    }

    #[test]
    fn names_are_the_kernels_numbers() {
        for s in [
            Sysno::read,
            Sysno::write,
            Sysno::openat,
            Sysno::clone3,
            Sysno::mkdir,
        ] {
            assert_eq!(syscall_number(s.name()), Some(s.id() as u32));
        }
        assert_eq!(syscall_number("nosuchcall"), None);
        assert_eq!(syscall_number(""), None);
    }

    #[test]
    fn bad_profiles() {
        for text in [
            r#"{"defaultAction":"SCMP_ACT_NOPE"}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_NOTIFY"}]}"#,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#,
        ] {
            let v = parse(text.as_bytes()).unwrap();
            assert!(compile(&Field::root("config.json", &v)).is_err(), "{text}");
        }
        // 50 masked comparisons in one rule: more than classic BPF's jumps reach.
        let cmp = r#"{"index":0,"value":1,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}"#;
        let text = format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{}]}}]}}"#,
            vec![cmp; 50].join(",")
        );
        let v = parse(text.as_bytes()).unwrap();
        let err = compile(&Field::root("config.json", &v)).unwrap_err();
        assert!(format!("{err:?}").contains("argument checks"), "{err:?}");
    }
}
