//! The timeline at the end of a traced run: each step's duration, longest first, as a bar.
//!
//! Every process of the run (nsbox, the container's first process, its init) appends one
//! record per step to a shared log: `PID ROLE MICROS LABEL`. A step lasts until the next record
//! of its process: its next step, its end mark (the child's execve), or the end of the run.
//! Steps of different processes overlap (the parent works while the child builds its mounts),
//! so the bars add up to more than the run took.

use std::fmt::Write;

/// Width of the longest bar, in characters.
const BAR: u128 = 30;

/// One record of the log.
struct Record<'a> {
    pid: &'a str,
    role: &'a str,
    at: u128,
    label: &'a str,
}

/// A record line for `log`: an empty label marks the end of the process's last step.
pub fn record(pid: i32, role: &str, at_us: u128, label: &str) -> String {
    // A label holds user text (a path): one record stays one line.
    let label = label.replace('\n', " ");
    format!("{pid} {role} {at_us} {label}\n")
}

fn parse(log: &str) -> Vec<Record<'_>> {
    log.lines()
        .filter_map(|line| {
            let mut f = line.splitn(4, ' ');
            let (pid, role, at) = (f.next()?, f.next()?, f.next()?.parse().ok()?);
            let label = f.next().unwrap_or("");
            Some(Record {
                pid,
                role,
                at,
                label,
            })
        })
        .collect()
}

/// The summary of `log` for a run that ends at `end_us` (microseconds since the start).
pub fn render(log: &str, end_us: u128) -> String {
    let records = parse(log);
    let mut steps: Vec<(u128, &str, &str)> = Vec::new();
    if let Some(first) = records.first() {
        steps.push((
            first.at,
            first.role,
            "before the first step: read and check the command line",
        ));
    }
    for (i, r) in records.iter().enumerate() {
        if r.label.is_empty() {
            continue;
        }
        let until = records[i + 1..]
            .iter()
            // pid and role: nsbox itself may be PID 1 (a container's entrypoint), as its child is.
            .find(|next| next.pid == r.pid && next.role == r.role)
            .map_or(end_us, |next| next.at);
        steps.push((until.saturating_sub(r.at), r.role, r.label));
    }
    // Longest first; equal ones in the order they happened. An insertion sort: a run has a few
    // dozen steps, and the standard library's sort costs 3 KiB of binary.
    for i in 1..steps.len() {
        let mut j = i;
        while j > 0 && steps[j - 1].0 < steps[j].0 {
            steps.swap(j - 1, j);
            j -= 1;
        }
    }
    let longest = steps.first().map_or(0, |s| s.0).max(1);
    let mut out = format!(
        "timeline: {} in all, {} steps, longest first; a step lasts until the next one of its \
         process, and parent and child overlap (# working, . waiting for the other)\n",
        ms(end_us),
        steps.len()
    );
    for (took, role, label) in steps {
        let width = match took {
            0 => 0,
            t => (t.saturating_mul(BAR) / longest).max(1),
        } as usize;
        let mark = if label.starts_with("wait ") { "." } else { "#" };
        let _ = writeln!(
            out,
            "  {role:<6} {:>10} |{:<w$}| {label}",
            ms(took),
            mark.repeat(width),
            w = BAR as usize
        );
    }
    out
}

/// `1.234 ms`, in integers (float formatting costs kilobytes of binary).
fn ms(us: u128) -> String {
    format!("{}.{:03} ms", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_last_until_the_next_record_of_their_process() {
        let log = [
            record(10, "parent", 40, "clone"),
            record(11, "child", 1200, "mount /proc"),
            record(10, "parent", 1300, "wait for the child"),
            record(11, "child", 1500, "pivot_root"),
            record(11, "child", 1600, ""),
            record(10, "parent", 2000, "tear down"),
        ]
        .concat();
        let out = render(&log, 2100);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("timeline: 2.100 ms in all, 6 steps"),
            "{out}"
        );
        // clone 1260 us, mount /proc 300, wait 700, pivot_root 100, tear down 100, start 40.
        assert_eq!(
            lines[1],
            "  parent   1.260 ms |##############################| clone"
        );
        assert!(
            lines[2].contains(" 0.700 ms |................")
                && lines[2].ends_with("wait for the child")
        );
        assert!(
            lines[3].starts_with("  child    0.300 ms |####### "),
            "{out}"
        );
        assert!(lines[4].ends_with("| pivot_root") && lines[5].ends_with("| tear down"));
        assert!(lines[6].contains("0.040 ms |# ") && lines[6].ends_with("command line"));
        assert_eq!(lines.len(), 7);
    }

    #[test]
    fn a_process_without_an_end_mark_runs_to_the_end() {
        let log = record(7, "child", 100, "--init: start the command");
        let out = render(&log, 900);
        assert!(out.contains("0.800 ms |######"), "{out}");
        assert!(render("", 5).starts_with("timeline: 0.005 ms in all, 0 steps, longest first;"));
        // Garbage (a range reserved but never written) is skipped.
        assert!(render("\0\0\0\n", 5).contains("0 steps"));
    }
}
