//! The doctor's report: aligned text for people, or one JSON object for scripts.

use super::{Check, Status};
use crate::commands::ps::js;
use std::fmt::Write;

fn who(uid: u32) -> String {
    match uid {
        0 => "root".into(),
        uid => format!("uid {uid} (rootless: --userns)"),
    }
}

fn count(checks: &[Check], status: Status) -> usize {
    checks.iter().filter(|c| c.status == status).count()
}

pub fn text(checks: &[Check], uid: u32) -> String {
    let mut out = format!(
        "nsbox doctor: what nsbox needs on this host, for {}\n\n",
        who(uid)
    );
    for c in checks {
        let _ = writeln!(out, "  {:<8} {:<18} {}", c.status.name(), c.item, c.detail);
        if !c.fix.is_empty() {
            let _ = writeln!(out, "  {:<8} {:<18} fix: {}", "", "", c.fix);
        }
    }
    let (problems, warnings) = (
        count(checks, Status::Problem),
        count(checks, Status::Warning),
    );
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let verdict = match problems {
        0 => format!(
            "nsbox can run containers here ({})",
            plural(warnings, "warning")
        ),
        n => format!(
            "nsbox cannot run containers here: {} ({})",
            plural(n, "problem"),
            plural(warnings, "warning")
        ),
    };
    let _ = writeln!(out, "\n{verdict}");
    out
}

pub fn json(checks: &[Check], uid: u32) -> String {
    let items: Vec<String> = checks
        .iter()
        .map(|c| {
            format!(
                "{{\"item\":{},\"status\":\"{}\",\"detail\":{},\"fix\":{}}}",
                js(c.item),
                c.status.name(),
                js(&c.detail),
                js(&c.fix)
            )
        })
        .collect();
    format!(
        "{{\"uid\":{uid},\"can_run\":{},\"problems\":{},\"warnings\":{},\"checks\":[\n {}\n]}}\n",
        count(checks, Status::Problem) == 0,
        count(checks, Status::Problem),
        count(checks, Status::Warning),
        items.join(",\n ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let checks = [
            Check::ok("kernel", "Linux 6.1"),
            Check::problem("seccomp", "no \"seccomp\"", "use --seccomp unconfined"),
        ];
        let t = text(&checks, 0);
        assert!(
            t.contains("  ok       kernel             Linux 6.1\n"),
            "{t}"
        );
        assert!(
            t.contains("                              fix: use --seccomp unconfined\n"),
            "{t}"
        );
        assert!(
            t.ends_with("cannot run containers here: 1 problem (0 warnings)\n"),
            "{t}"
        );
        let j = json(&checks, 1000);
        assert!(j.starts_with("{\"uid\":1000,\"can_run\":false,\"problems\":1,\"warnings\":0,"));
        assert!(j.contains("\"detail\":\"no \\\"seccomp\\\"\""), "{j}");
    }
}
