//! An OCI seccomp profile (`linux.seccomp`) compiled into classic BPF by nsbox's own writer:
//! the native architecture's rules in their order, first match wins; any other ABI is killed,
//! as nsbox's default filter does (32-bit programs do not run in such a container).
//!
//!   ld arch; jeq ARCH else kill; ld nr; [x32 -> EPERM]
//!   per rule without args: ld nr; jeq n1 -> ret; jeq n2 -> ret; ...; ret ACTION  (blocks of 200)
//!   per rule with args, per name: ld nr; jne n -> next; [64-bit compares -> next]; ret ACTION
//!   ret DEFAULT

use super::field::Field;
use crate::error::Result;
use crate::process::seccomp::{AND, ARCH, Insn, JEQ, JGE, JGT, LD_W_ABS as LD, RET};
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

/// The most names one block of an argument-free rule compares (jumps reach 255 ahead).
const BLOCK: usize = 200;
/// The kernel's limit on a filter's length.
const MAX_INSNS: usize = 4096;

fn insn(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
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

/// One comparison of argument `index`: how the check goes, in 64 bits.
struct Cmp {
    index: u32,
    op: Op,
    value: u64,
    two: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
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
    })
}

/// The instructions of one comparison, with where each jump goes.
fn compare(c: &Cmp) -> Vec<(u16, u32, Jump, Jump)> {
    let (lo, hi) = (16 + 8 * c.index, 20 + 8 * c.index);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    use Jump::{Fail, Next, Pass};
    match c.op {
        Op::Eq => vec![
            (LD, hi, Next, Next),
            (JEQ, vh, Next, Fail),
            (LD, lo, Next, Next),
            (JEQ, vl, Pass, Fail),
        ],
        Op::Ne => vec![
            (LD, hi, Next, Next),
            (JEQ, vh, Next, Pass),
            (LD, lo, Next, Next),
            (JEQ, vl, Fail, Pass),
        ],
        Op::MaskedEq => {
            let (mh, ml) = ((c.value >> 32) as u32, c.value as u32);
            let (th, tl) = ((c.two >> 32) as u32, c.two as u32);
            vec![
                (LD, hi, Next, Next),
                (AND, mh, Next, Next),
                (JEQ, th, Next, Fail),
                (LD, lo, Next, Next),
                (AND, ml, Next, Next),
                (JEQ, tl, Pass, Fail),
            ]
        }
        // hi > vh decides, hi == vh leaves it to lo, hi < vh decides the other way.
        Op::Gt | Op::Ge => {
            let low = if c.op == Op::Gt { JGT } else { JGE };
            vec![
                (LD, hi, Next, Next),
                (JGT, vh, Pass, Next),
                (JEQ, vh, Next, Fail),
                (LD, lo, Next, Next),
                (low, vl, Pass, Fail),
            ]
        }
        Op::Lt | Op::Le => {
            // lo < vl is !(lo >= vl); lo <= vl is !(lo > vl).
            let low = if c.op == Op::Lt { JGE } else { JGT };
            vec![
                (LD, hi, Next, Next),
                (JGT, vh, Fail, Next),
                (JEQ, vh, Next, Pass),
                (LD, lo, Next, Next),
                (low, vl, Fail, Pass),
            ]
        }
    }
}

#[derive(Clone, Copy)]
enum Jump {
    Next,
    /// Past the end of this comparison (to the next one, or to the rule's action).
    Pass,
    /// To the end of the rule (the next rule).
    Fail,
}

pub fn compile(s: &Field<'_>) -> Result<Vec<Insn>> {
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
    let mut out = vec![
        insn(LD, 4, 0, 0),
        insn(JEQ, ARCH, 1, 0),
        insn(RET, libc::SECCOMP_RET_KILL_PROCESS, 0, 0),
        insn(LD, 0, 0, 0),
    ];
    #[cfg(target_arch = "x86_64")]
    {
        out.push(insn(JGE, 0x4000_0000, 0, 1));
        out.push(insn(
            RET,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            0,
            0,
        ));
    }
    if let Some(rules) = s.get("syscalls") {
        for rule in rules.items()? {
            let errno = rule
                .get("errnoRet")
                .map(|f| f.u32())
                .transpose()?
                .or(errno_ret);
            let act = action(&rule.need("action")?, errno)?;
            let names = rule.need("names")?;
            // Names this architecture lacks are skipped, as libseccomp does.
            let nrs: Vec<u32> = names
                .strs()?
                .into_iter()
                .filter_map(syscall_number)
                .collect();
            let args = match rule.get("args") {
                Some(a) => a.items()?.iter().map(arg).collect::<Result<Vec<_>>>()?,
                None => Vec::new(),
            };
            if args.is_empty() {
                for block in nrs.chunks(BLOCK) {
                    out.push(insn(LD, 0, 0, 0));
                    for (i, nr) in block.iter().enumerate() {
                        let to_ret = (block.len() - 1 - i) as u8;
                        let last = i + 1 == block.len();
                        out.push(insn(JEQ, *nr, to_ret, if last { 1 } else { 0 }));
                    }
                    out.push(insn(RET, act, 0, 0));
                }
            } else {
                for nr in nrs {
                    let body: Vec<Vec<_>> = args.iter().map(compare).collect();
                    let body_len: usize = body.iter().map(Vec::len).sum();
                    if body_len + 2 > 250 {
                        return Err(rule.unsupported("this many argument checks in one rule"));
                    }
                    out.push(insn(LD, 0, 0, 0));
                    // Not this call: past the checks and the return.
                    out.push(insn(JEQ, nr, 0, (body_len + 1) as u8));
                    let mut done = 0;
                    for cmp in &body {
                        done += cmp.len();
                        for (i, (code, k, t, f)) in cmp.iter().enumerate() {
                            let after = cmp.len() - 1 - i; // instructions left in this compare
                            let to_fail = (body_len - done + after + 1) as u8;
                            let j = |j: Jump| match j {
                                Jump::Next => 0,
                                Jump::Pass => after as u8,
                                Jump::Fail => to_fail,
                            };
                            out.push(insn(*code, *k, j(*t), j(*f)));
                        }
                    }
                    out.push(insn(RET, act, 0, 0));
                }
            }
        }
    }
    out.push(insn(RET, default, 0, 0));
    if out.len() > MAX_INSNS {
        return Err(s.error(format!(
            "the profile compiles to {} instructions, more than the kernel's {MAX_INSNS}",
            out.len()
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::json::parse;

    /// Runs the filter the way the kernel does, for one call.
    fn run(prog: &[Insn], nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&ARCH.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD => {
                    acc =
                        u32::from_le_bytes(data[i.k as usize..i.k as usize + 4].try_into().unwrap())
                }
                AND => acc &= i.k,
                RET => return i.k,
                JEQ | JGT | JGE => {
                    let hit = match i.code {
                        JEQ => acc == i.k,
                        JGT => acc > i.k,
                        _ => acc >= i.k,
                    };
                    pc += if hit { i.jt } else { i.jf } as usize;
                }
                _ => panic!("unexpected instruction"),
            }
        }
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
    }
}
