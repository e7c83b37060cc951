//! A seccomp profile (`seccomp::Profile`) written as classic BPF (pure; `sys::security` loads
//! it). One writer for both front ends: nsbox's own profile and an OCI config's.
//!
//!   ld arch; jeq ARCH else kill; ld nr; [x32 -> EPERM]
//!   a binary search over the numbers the rules name (ranges of numbers with the same rules
//!   merged), falling to the default action
//!   one body per distinct list of rules: each rule's argument checks, its action when they
//!   all hold, else the next rule; the default action after the last
//!
//! Rules keep their order per number, so the first rule that matches a call decides, as the
//! runtime-spec says. Classic BPF jumps only forward, a conditional one at most 255
//! instructions: the search reaches far targets through `ja`, whose offset is 32 bits.
//!
//! Layout of what the filter sees (struct seccomp_data): nr at 0, arch at 4, then args[i]
//! as 64-bit values at 16 + 8*i (the low half first on little-endian machines).

use super::seccomp::{Cmp, Op, Profile, Rule};

/// One classic BPF instruction (struct sock_filter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub(crate) const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
pub(crate) const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
pub(crate) const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
pub(crate) const JGE: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
pub(crate) const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
pub(crate) const AND: u16 = (libc::BPF_ALU | libc::BPF_AND | libc::BPF_K) as u16;
pub(crate) const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

#[cfg(target_arch = "x86_64")]
pub const ARCH: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
pub const ARCH: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64

/// x32 calls on x86_64 carry this bit and have their own numbers: refused wholesale, or they
/// would pass a filter written for x86_64's numbers.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The kernel's limit on a filter's length.
pub const MAX_INSNS: usize = 4096;

/// Why a profile cannot be written.
#[derive(Debug, PartialEq, Eq)]
pub enum TooBig {
    /// One rule's argument checks need a jump longer than classic BPF has.
    Rule,
    /// More instructions than the kernel takes.
    Program(usize),
}

/// A place in the program, by number: the bodies' are 0..bodies, the others come from `fresh`
/// (tree nodes, the end of a comparison, the next rule of a body).
type Label = u32;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum To {
    Next,
    /// Over this many entries of the assembler.
    Skip(u16),
    Label(Label),
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Op(u16, u32),
    /// A conditional jump whose targets are near (a rule's own checks).
    Jump(u16, u32, To, To),
    /// "If the condition holds, go to the label", however far: one conditional jump where it
    /// reaches, else a conditional over a `ja`.
    IfGoto(u16, u32, Label),
    /// `ja label`.
    Goto(Label),
}

/// A tiny assembler with labels, resolved into jump offsets at the end.
struct Asm {
    code: Vec<Entry>,
    /// The entry each label is placed at.
    labels: Vec<usize>,
}

impl Asm {
    fn op(&mut self, code: u16, k: u32) {
        self.code.push(Entry::Op(code, k));
    }

    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.code.push(Entry::Jump(code, k, jt, jf));
    }

    fn if_goto(&mut self, code: u16, k: u32, label: Label) {
        self.code.push(Entry::IfGoto(code, k, label));
    }

    fn goto(&mut self, label: Label) {
        self.code.push(Entry::Goto(label));
    }

    fn place(&mut self, label: Label) {
        self.labels[label as usize] = self.code.len();
    }

    fn fresh(&mut self) -> Label {
        self.labels.push(usize::MAX);
        (self.labels.len() - 1) as Label
    }

    fn finish(self) -> Result<Vec<Insn>, TooBig> {
        let entry_of = |l: Label| self.labels[l as usize];
        // Each IfGoto starts short and grows to two instructions where its target is too
        // far; growing only moves targets farther, so this ends.
        let mut long = vec![false; self.code.len()];
        let mut at = Vec::with_capacity(self.code.len() + 1);
        loop {
            at.clear();
            let mut pc = 0;
            for grows in &long {
                at.push(pc);
                pc += 1 + *grows as usize;
            }
            at.push(pc);
            let mut grew = false;
            for (i, e) in self.code.iter().enumerate() {
                if let Entry::IfGoto(_, _, l) = e
                    && !long[i]
                    && at[entry_of(*l)] - (at[i] + 1) > 255
                {
                    long[i] = true;
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        let mut out = Vec::with_capacity(at[self.code.len()]);
        for (i, e) in self.code.iter().enumerate() {
            let from = at[i] + 1;
            let to = |t: To| match t {
                To::Next => from,
                To::Skip(n) => at[i + 1 + n as usize],
                To::Label(l) => at[entry_of(l)],
            };
            let short = |target: usize| u8::try_from(target - from).map_err(|_| TooBig::Rule);
            let insn = |code, jt, jf, k| Insn { code, jt, jf, k };
            match *e {
                Entry::Op(code, k) => out.push(insn(code, 0, 0, k)),
                Entry::Jump(code, k, jt, jf) => {
                    out.push(insn(code, short(to(jt))?, short(to(jf))?, k))
                }
                Entry::Goto(l) => out.push(insn(JA, 0, 0, (to(To::Label(l)) - from) as u32)),
                Entry::IfGoto(code, k, l) if long[i] => {
                    // The condition falls through to the `ja`, else over it.
                    out.push(insn(code, 0, 1, k));
                    out.push(insn(JA, 0, 0, (to(To::Label(l)) - (from + 1)) as u32));
                }
                Entry::IfGoto(code, k, l) => out.push(insn(code, short(to(To::Label(l)))?, 0, k)),
            }
        }
        Ok(out)
    }
}

/// The rules that apply to one call, in order: up to the first without argument checks (it
/// always matches), without those that would give the default action anyway at the end.
fn chain(profile: &Profile, nr: u32) -> Vec<&Rule> {
    let mut out: Vec<&Rule> = Vec::with_capacity(8);
    for rule in profile.rules.iter().filter(|r| r.nrs.contains(&nr)) {
        out.push(rule);
        if rule.args.is_empty() {
            break;
        }
    }
    while out
        .last()
        .is_some_and(|r| r.args.is_empty() && r.action == profile.default)
    {
        out.pop();
    }
    out
}

/// Whether two lists of rules decide alike (whichever calls they name).
fn same_body(a: &[&Rule], b: &[&Rule]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.action == y.action && x.args == y.args)
}

/// Numbers low to high that share one body (an index into the bodies).
type Range = (u32, u32, usize);

/// The ranges of numbers with the same rules, in number order, and the bodies.
fn ranges(profile: &Profile) -> (Vec<Range>, Vec<Vec<&Rule>>) {
    let mut nrs: Vec<u32> = Vec::with_capacity(profile.rules.iter().map(|r| r.nrs.len()).sum());
    for r in &profile.rules {
        nrs.extend_from_slice(&r.nrs);
    }
    crate::sort::sort(&mut nrs);
    nrs.dedup();
    let mut bodies: Vec<Vec<&Rule>> = Vec::with_capacity(profile.rules.len());
    let mut out: Vec<Range> = Vec::with_capacity(nrs.len());
    for nr in nrs {
        let rules = chain(profile, nr);
        if rules.is_empty() {
            continue;
        }
        let body = match bodies.iter().position(|b| same_body(b, &rules)) {
            Some(i) => i,
            None => {
                bodies.push(rules);
                bodies.len() - 1
            }
        };
        match out.last_mut() {
            Some((_, hi, b)) if *hi + 1 == nr && *b == body => *hi = nr,
            _ => out.push((nr, nr, body)),
        }
    }
    (out, bodies)
}

/// The search over `ranges` (the number is in A): each leaf jumps to its body; a number in
/// none gets the default action.
fn search(asm: &mut Asm, ranges: &[Range], default: u32) {
    if ranges.len() > 3 {
        let (low, high) = ranges.split_at(ranges.len() / 2);
        let node = asm.fresh();
        asm.if_goto(JGE, high[0].0, node);
        search(asm, low, default);
        asm.place(node);
        search(asm, high, default);
        return;
    }
    for &(lo, hi, body) in ranges {
        if lo == hi {
            asm.if_goto(JEQ, lo, body as Label);
        } else {
            asm.jump(JGE, lo, To::Next, To::Skip(2));
            asm.jump(JGT, hi, To::Skip(1), To::Next);
            asm.goto(body as Label);
        }
    }
    asm.op(RET, default);
}

/// One comparison of an argument: `pass` when it holds, `fail` when not.
fn compare(asm: &mut Asm, c: &Cmp, pass: To, fail: To) {
    let (lo, hi) = (16 + 8 * c.index, 20 + 8 * c.index);
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let (th, tl) = ((c.two >> 32) as u32, c.two as u32);
    let next = To::Next;
    // The upper half first (for 64-bit arguments): where it decides, it jumps.
    if !c.low_half_only {
        asm.op(LD_W_ABS, hi);
        match c.op {
            Op::Eq => asm.jump(JEQ, vh, next, fail),
            Op::Ne => asm.jump(JEQ, vh, next, pass),
            Op::MaskedEq => {
                asm.op(AND, vh);
                asm.jump(JEQ, th, next, fail);
            }
            Op::Gt | Op::Ge => {
                asm.jump(JGT, vh, pass, next);
                asm.jump(JEQ, vh, next, fail);
            }
            Op::Lt | Op::Le => {
                asm.jump(JGT, vh, fail, next);
                asm.jump(JEQ, vh, next, pass);
            }
        }
    }
    asm.op(LD_W_ABS, lo);
    match c.op {
        Op::Eq => asm.jump(JEQ, vl, pass, fail),
        Op::Ne => asm.jump(JEQ, vl, fail, pass),
        Op::MaskedEq => {
            asm.op(AND, vl);
            asm.jump(JEQ, tl, pass, fail);
        }
        Op::Gt => asm.jump(JGT, vl, pass, fail),
        Op::Ge => asm.jump(JGE, vl, pass, fail),
        // lo < vl is !(lo >= vl); lo <= vl is !(lo > vl).
        Op::Lt => asm.jump(JGE, vl, fail, pass),
        Op::Le => asm.jump(JGT, vl, fail, pass),
    }
}

/// A body: each rule's checks (all must hold) and its action; the default after the last.
fn body(asm: &mut Asm, rules: &[&Rule], default: u32) {
    for rule in rules {
        if rule.args.is_empty() {
            asm.op(RET, rule.action);
            return;
        }
        let fail = asm.fresh();
        for c in &rule.args {
            let pass = asm.fresh();
            compare(asm, c, To::Label(pass), To::Label(fail));
            asm.place(pass);
        }
        asm.op(RET, rule.action);
        asm.place(fail);
    }
    asm.op(RET, default);
}

pub fn write(profile: &Profile) -> Result<Vec<Insn>, TooBig> {
    let (ranges, bodies) = ranges(profile);
    // Entries of the bodies (up to 6 per comparison, 3 for one of the lower half, and a
    // return per rule), and their labels (one per comparison and rule).
    let rules = || bodies.iter().flat_map(|b| b.iter());
    let per_cmp = |c: &Cmp| if c.low_half_only { 3 } else { 6 };
    let entries: usize = rules()
        .map(|r| r.args.iter().map(per_cmp).sum::<usize>() + 1)
        .sum();
    let labels: usize = rules().map(|r| r.args.len() + 1).sum();
    let mut asm = Asm {
        code: Vec::with_capacity(8 + 3 * ranges.len() + entries + bodies.len()),
        labels: Vec::with_capacity(bodies.len() + ranges.len() + labels),
    };
    asm.labels.resize(bodies.len(), usize::MAX);
    asm.op(LD_W_ABS, 4);
    asm.jump(JEQ, ARCH, To::Skip(1), To::Next);
    asm.op(RET, libc::SECCOMP_RET_KILL_PROCESS);
    asm.op(LD_W_ABS, 0);
    #[cfg(target_arch = "x86_64")]
    {
        asm.jump(JGE, X32_SYSCALL_BIT, To::Next, To::Skip(1));
        asm.op(RET, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);
    }
    search(&mut asm, &ranges, profile.default);
    for (i, rules) in bodies.iter().enumerate() {
        asm.place(i as Label);
        body(&mut asm, rules, profile.default);
    }
    let out = asm.finish()?;
    if out.len() > MAX_INSNS {
        return Err(TooBig::Program(out.len()));
    }
    Ok(out)
}

/// Runs a filter the way the kernel does, for one call: its action and how many
/// instructions it took.
#[cfg(test)]
pub fn emulate(prog: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
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
            JA => pc += i.k as usize,
            JEQ => pc += jump(a == i.k),
            JGE => pc += jump(a >= i.k),
            JGT => pc += jump(a > i.k),
            RET => return (i.k, steps),
            other => panic!("unexpected instruction {other:#x}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(nrs: &[u32], action: u32, args: Vec<Cmp>) -> Rule {
        Rule {
            nrs: nrs.to_vec(),
            action,
            args,
        }
    }

    fn cmp(index: u32, op: Op, value: u64, two: u64) -> Cmp {
        Cmp {
            index,
            op,
            value,
            two,
            low_half_only: false,
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const E1: u32 = libc::SECCOMP_RET_ERRNO | 1;
    const E38: u32 = libc::SECCOMP_RET_ERRNO | 38;

    fn run(prog: &[Insn], nr: u32, args: [u64; 6]) -> u32 {
        emulate(prog, ARCH, nr, args).0
    }

    #[test]
    fn the_first_matching_rule_decides_with_64_bit_comparisons() {
        let p = Profile {
            default: E38,
            rules: vec![
                rule(&[0, 1], ALLOW, vec![]),
                rule(&[135], ALLOW, vec![cmp(0, Op::Eq, 8, 0)]),
                rule(&[9], ALLOW, vec![cmp(2, Op::Ge, 1 << 32, 0)]),
                rule(&[56], ALLOW, vec![cmp(0, Op::MaskedEq, 0x7e02_0000, 0)]),
                rule(&[62], E1, vec![cmp(1, Op::Lt, 9, 0), cmp(0, Op::Ne, 1, 0)]),
                rule(&[62, 1], E1, vec![]),
            ],
        };
        let prog = write(&p).unwrap();
        assert_eq!(run(&prog, 0, [0; 6]), ALLOW);
        assert_eq!(run(&prog, 1, [0; 6]), ALLOW, "the first rule for 1 wins");
        assert_eq!(run(&prog, 2, [0; 6]), E38);
        assert_eq!(run(&prog, 135, [8, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&prog, 135, [8 | 1 << 32, 0, 0, 0, 0, 0]), E38);
        assert_eq!(run(&prog, 9, [0, 0, 1 << 32, 0, 0, 0]), ALLOW);
        assert_eq!(run(&prog, 9, [0, 0, (1 << 32) - 1, 0, 0, 0]), E38);
        assert_eq!(run(&prog, 9, [0, 0, 2 << 32, 0, 0, 0]), ALLOW);
        assert_eq!(run(&prog, 56, [0x11, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(run(&prog, 56, [0x1000_0000, 0, 0, 0, 0, 0]), E38);
        assert_eq!(run(&prog, 62, [5, 8, 0, 0, 0, 0]), E1);
        assert_eq!(run(&prog, 62, [1, 8, 0, 0, 0, 0]), E1, "the next rule");
        assert_eq!(run(&prog, 62, [5, 1 << 32, 0, 0, 0, 0]), E1);
    }

    #[test]
    fn every_comparison_at_its_edges() {
        let v = (7u64 << 32) | 100;
        for (op, below, at, above) in [
            (Op::Eq, false, true, false),
            (Op::Ne, true, false, true),
            (Op::Lt, true, false, false),
            (Op::Le, true, true, false),
            (Op::Gt, false, false, true),
            (Op::Ge, false, true, true),
        ] {
            let p = Profile {
                default: E38,
                rules: vec![rule(&[3], ALLOW, vec![cmp(1, op, v, 0)])],
            };
            let prog = write(&p).unwrap();
            for (arg, want) in [
                (v - 1, below),
                (v, at),
                (v + 1, above),
                (v - (1 << 32), below),
                (v + (1 << 32), above),
            ] {
                let got = run(&prog, 3, [0, arg, 0, 0, 0, 0]) == ALLOW;
                assert_eq!(got, want, "{op:?} {arg:#x} against {v:#x}");
            }
        }
    }

    #[test]
    fn a_long_profile_reaches_its_far_bodies() {
        // 400 calls, each with a rule of its own: far more than 255 instructions.
        let rules: Vec<Rule> = (0..400)
            .map(|nr| rule(&[nr], E1, vec![cmp(0, Op::Eq, nr as u64, 0)]))
            .collect();
        let prog = write(&Profile {
            default: ALLOW,
            rules,
        })
        .unwrap();
        assert!(prog.len() > 1000, "{}", prog.len());
        for nr in [0, 1, 199, 200, 399] {
            assert_eq!(run(&prog, nr, [nr as u64, 0, 0, 0, 0, 0]), E1, "{nr}");
            assert_eq!(run(&prog, nr, [nr as u64 + 1, 0, 0, 0, 0, 0]), ALLOW);
        }
        assert_eq!(run(&prog, 400, [400, 0, 0, 0, 0, 0]), ALLOW);
        for (pc, i) in prog.iter().enumerate() {
            let reach = match i.code {
                JA => i.k as usize,
                JEQ | JGE | JGT => i.jt.max(i.jf) as usize,
                _ => continue,
            };
            assert!(
                pc + 1 + reach < prog.len(),
                "jump at {pc}: {i:?} of {}",
                prog.len()
            );
        }
    }

    #[test]
    fn too_big_is_an_error() {
        let many: Vec<Cmp> = (0..80).map(|i| cmp(i % 6, Op::Eq, i as u64, 0)).collect();
        let p = Profile {
            default: ALLOW,
            rules: vec![rule(&[1], E1, many)],
        };
        assert_eq!(write(&p), Err(TooBig::Rule));
        let rules: Vec<Rule> = (0..3000)
            .map(|nr| rule(&[nr], E1, vec![cmp(0, Op::Eq, nr as u64, 0)]))
            .collect();
        let p = Profile {
            default: ALLOW,
            rules,
        };
        assert!(matches!(write(&p), Err(TooBig::Program(_))));
    }
}
