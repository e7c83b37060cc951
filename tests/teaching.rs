//! The tools for learning and troubleshooting: the --trace timeline, `nsbox doctor`, the help
//! text and the man page made from it.

mod common;
use common::*;

/// `1.234 ms` -> 1234 (microseconds).
fn micros(ms: &str) -> u64 {
    let (whole, frac) = ms.trim().trim_end_matches(" ms").split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 1000 + frac.parse::<u64>().unwrap()
}

#[test]
fn trace_ends_with_a_timeline_of_every_step_longest_first() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let out = f.run(&["--trace", "--init", "--", "/bin/true"]);
    assert_eq!(out.code(), 0, "{}", out.stderr());
    let err = out.stderr();
    let (trace, timeline) = err.split_once("] timeline: ").expect("a timeline at the end");
    let total = micros(timeline.split(" in all").next().unwrap());
    // Each bar: `  ROLE   1.234 ms |####      | label`.
    let bars: Vec<(&str, u64, &str)> = timeline
        .lines()
        .skip(1)
        .map(|l| {
            let (head, label) = l.split_once("| ").unwrap_or_else(|| panic!("bar: {l:?}"));
            let mut head = head.split_whitespace();
            let role = head.next().unwrap();
            let took = micros(&format!("{} ms", head.next().unwrap()));
            (role, took, label)
        })
        .collect();
    // Every step the trace announced is there once, with the role that announced it.
    let steps: Vec<(&str, &str)> = trace
        .lines()
        .filter_map(|l| {
            let (head, step) = l.split_once("] step: ")?;
            Some((head.trim_start_matches("nsbox[").split(' ').next()?, step))
        })
        .collect();
    assert!(steps.len() > 15, "{trace}");
    for (role, step) in &steps {
        let found = bars.iter().filter(|b| b.2 == *step).count();
        assert_eq!(found, 1, "{step:?} in the timeline:\n{timeline}");
        assert!(bars.iter().any(|b| b.2 == *step && b.0 == *role));
    }
    assert_eq!(bars.len(), steps.len() + 1, "the steps and the start");
    // Longest first, and the steps of one process never add up to more than the run took.
    assert!(bars.windows(2).all(|w| w[0].1 >= w[1].1), "{timeline}");
    let parent: u64 = bars.iter().filter(|b| b.0 == "parent").map(|b| b.1).sum();
    assert!(parent <= total, "parent steps {parent} us > run {total} us");
    let longest = timeline.lines().nth(1).unwrap();
    assert!(
        longest.contains(&"#".repeat(30)) || longest.contains(&".".repeat(30)),
        "the longest bar is full: {longest}"
    );
    f.assert_clean();
}
