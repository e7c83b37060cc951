//! Device rules on cgroup v2, which has no devices controller: a BPF_PROG_TYPE_CGROUP_DEVICE
//! program, written here instruction by instruction (no libbpf) and attached to the
//! container's cgroup (sys::bpf). The kernel runs it for every open and mknod of a device node
//! by a process of the cgroup; it returns 1 to allow, 0 to deny (EPERM).
//!
//! The rules keep the v1 meaning: the last rule that matches decides. So the program tests
//! them from the last to the first and returns at the first match; a request no rule
//! matches is allowed, as in a v1 cgroup under an unrestricted parent (OCI configs begin with
//! a rule that denies everything).
//!
//! The program's context is `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32
//! minor; }`, where access_type is `(access << 16) | type`: type 1 block, 2 char; access bits
//! 1 mknod, 2 read, 4 write.

use crate::error::{Error, Result};

/// One eBPF instruction, as `struct bpf_insn` lays it out (little-endian registers nibbles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub fn bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = self.regs;
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

// The eBPF opcodes used (linux/bpf.h, bpf_common.h).
const LDX_MEM_W: u8 = 0x61;
const ALU64_MOV_K: u8 = 0xb7;
const ALU64_AND_K: u8 = 0x57;
const ALU64_RSH_K: u8 = 0x77;
const JMP_JNE_K: u8 = 0x55;
const EXIT: u8 = 0x95;

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// One rule, parsed from its v1 line (`c 1:3 rwm`, `a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    allow: bool,
    /// 1 block, 2 char, None for both.
    kind: Option<i32>,
    major: Option<i32>,
    minor: Option<i32>,
    /// Bits: 1 mknod, 2 read, 4 write.
    access: i32,
}

fn parse(allow: bool, line: &str) -> Option<Rule> {
    let mut words = line.split_whitespace();
    let kind = match words.next()? {
        "a" => {
            return Some(Rule {
                allow,
                kind: None,
                major: None,
                minor: None,
                access: 7,
            });
        }
        "b" => Some(1),
        "c" => Some(2),
        _ => return None,
    };
    let (major, minor) = words.next()?.split_once(':')?;
    let number = |s: &str| -> Option<Option<i32>> {
        match s {
            "*" => Some(None),
            n => n.parse().ok().map(Some),
        }
    };
    let mut access = 0;
    for c in words.next().unwrap_or("rwm").chars() {
        access |= match c {
            'm' => 1,
            'r' => 2,
            'w' => 4,
            _ => return None,
        };
    }
    Some(Rule {
        allow,
        kind,
        major: number(major)?,
        minor: number(minor)?,
        access,
    })
}

/// The program for `rules` (`(allow, v1 line)` in order, as Limits keeps them).
pub fn program(rules: &[(bool, String)]) -> Result<Vec<Insn>> {
    // Each rule loads the fields it tests from the context (r1) afresh, into registers no
    // later rule reads before writing: the verifier then finds the same state at the start of
    // every rule and prunes the paths after the first, where tests on registers that lived
    // on would have made it walk every combination of outcomes (most of a load's time).
    let mut p = Vec::with_capacity(8 * rules.len() + 2);
    for (allow, line) in rules.iter().rev() {
        let r = parse(*allow, line).ok_or_else(|| {
            Error::new(
                format!("device rule {line:?}"),
                "not a rule of the form TYPE MAJOR:MINOR ACCESS",
            )
        })?;
        // Each test jumps past the rest of this rule's block when it does not match.
        let mut tests: Vec<Insn> = Vec::with_capacity(8);
        if let Some(kind) = r.kind {
            // r2 = type
            tests.push(insn(LDX_MEM_W, 2, 1, 0, 0));
            tests.push(insn(ALU64_AND_K, 2, 0, 0, 0xffff));
            tests.push(insn(JMP_JNE_K, 2, 0, 0, kind));
        }
        if r.access != 7 {
            // r3 = access; any bit asked for beyond the rule's access: no match.
            tests.push(insn(LDX_MEM_W, 3, 1, 0, 0));
            tests.push(insn(ALU64_RSH_K, 3, 0, 0, 16));
            tests.push(insn(ALU64_AND_K, 3, 0, 0, !r.access & 7));
            tests.push(insn(JMP_JNE_K, 3, 0, 0, 0));
        }
        if let Some(major) = r.major {
            tests.push(insn(LDX_MEM_W, 4, 1, 4, 0));
            tests.push(insn(JMP_JNE_K, 4, 0, 0, major));
        }
        if let Some(minor) = r.minor {
            tests.push(insn(LDX_MEM_W, 5, 1, 8, 0));
            tests.push(insn(JMP_JNE_K, 5, 0, 0, minor));
        }
        let end = tests.len() + 2;
        for (i, t) in tests.iter_mut().enumerate() {
            if t.code == JMP_JNE_K {
                t.off = (end - i - 1) as i16;
            }
        }
        let unconditional = tests.is_empty();
        p.extend(tests);
        p.push(insn(ALU64_MOV_K, 0, 0, 0, i32::from(r.allow)));
        p.push(insn(EXIT, 0, 0, 0, 0));
        if unconditional {
            // It matches every request: the rules before it never decide (and the verifier
            // refuses instructions no path reaches).
            return Ok(p);
        }
    }
    p.push(insn(ALU64_MOV_K, 0, 0, 0, 1));
    p.push(insn(EXIT, 0, 0, 0, 0));
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program as the kernel would for one request: a tiny interpreter of the
    /// instructions `program` emits, so the rules' meaning is tested without a cgroup.
    fn verdict(p: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
        let ctx = [(access << 16) | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let dst = (i.regs & 0xf) as usize;
            pc += 1;
            match i.code {
                LDX_MEM_W => r[dst] = u64::from(ctx[i.off as usize / 4]),
                ALU64_MOV_K => r[dst] = i.imm as i64 as u64,
                ALU64_AND_K => r[dst] &= i.imm as i64 as u64,
                ALU64_RSH_K => r[dst] >>= i.imm,
                JMP_JNE_K if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
                JMP_JNE_K => {}
                EXIT => return r[0],
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn the_last_matching_rule_decides() {
        let rules = vec![
            (false, "a".to_string()),
            (true, "c 1:3 rwm".to_string()),
            (true, "c 136:* rw".to_string()),
            (false, "c 136:5 w".to_string()),
            (true, "b 8:* r".to_string()),
        ];
        let p = program(&rules).unwrap();
        let (read, write, mknod) = (2, 4, 1);
        assert_eq!(verdict(&p, 2, read | write, 1, 3), 1, "/dev/null");
        assert_eq!(verdict(&p, 2, mknod, 1, 3), 1);
        assert_eq!(verdict(&p, 2, read, 1, 11), 0, "kmsg: denied by 'a'");
        assert_eq!(
            verdict(&p, 1, read, 1, 3),
            0,
            "a block 1:3 is not the char one"
        );
        assert_eq!(verdict(&p, 2, read, 136, 7), 1, "a pty");
        assert_eq!(verdict(&p, 2, mknod, 136, 7), 0, "rw does not allow mknod");
        assert_eq!(verdict(&p, 2, write, 136, 5), 0, "a later deny wins");
        assert_eq!(verdict(&p, 2, read, 136, 5), 1, "for write only");
        assert_eq!(verdict(&p, 1, read, 8, 1), 1);
        assert_eq!(verdict(&p, 1, write, 8, 1), 0);
        // Nothing matches: allowed, as under an unrestricted v1 parent.
        let open = program(&[(true, "c 1:3 rwm".into())]).unwrap();
        assert_eq!(verdict(&open, 2, read, 4, 4), 1);
        assert!(program(&[(true, "x 1:3 r".into())]).is_err());
        // Nothing follows a rule that matches everything: every instruction is reachable.
        assert_eq!(p.iter().filter(|i| i.code == EXIT).count(), rules.len());
    }
}
