//! `nsbox ps [-a] [-q] [--json]`: the containers under the state root.

use super::container::{self, Found, Liveness};
use crate::cli::Ps;
use crate::error::Result;
use crate::state::record::Status;
use crate::sys::{self, process};

pub fn ps(opts: &Ps) -> Result<u8> {
    let now_ms = process::now_realtime().as_millis() as u64;
    let shown: Vec<Found> = container::list(&opts.root)?
        .into_iter()
        .filter(|f| opts.all || f.liveness() == Liveness::Running)
        .collect();
    let text = if opts.quiet {
        shown.iter().map(|f| format!("{}\n", f.record.id)).collect()
    } else if opts.json {
        json(&shown, now_ms)
    } else {
        table(&shown, now_ms)
    };
    sys::write_stdout(text.as_bytes());
    Ok(0)
}

/// How long it has run (or ran, once exited), in milliseconds.
fn ran_ms(f: &Found, now_ms: u64) -> u64 {
    let end = match f.record.status {
        Status::Exited { finished_ms, .. } => finished_ms,
        Status::Running => now_ms,
    };
    end.saturating_sub(f.record.started_ms)
}

/// `42s`, `3m07s`, `2h05m`, `3d04h`.
pub fn human_duration(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
    }
}

fn table(shown: &[Found], now_ms: u64) -> String {
    let mut rows = vec![[
        "ID".to_string(),
        "PID".into(),
        "STATUS".into(),
        "UPTIME".into(),
        "ADDRESS".into(),
        "COMMAND".into(),
    ]];
    for f in shown {
        let r = &f.record;
        let live = f.liveness();
        rows.push([
            r.id.clone(),
            match live {
                Liveness::Running => r.pid.pid.to_string(),
                _ => "-".into(),
            },
            live.text(),
            human_duration(ran_ms(f, now_ms)),
            r.address.clone().unwrap_or_else(|| "-".into()),
            r.command_line(),
        ]);
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}   ", width = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A JSON string literal.
pub fn js(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json(shown: &[Found], now_ms: u64) -> String {
    let items: Vec<String> = shown
        .iter()
        .map(|f| {
            let r = &f.record;
            let live = f.liveness();
            let (status, code) = match live {
                Liveness::Running => ("running", "null".to_string()),
                Liveness::Exited(c) => ("exited", c.to_string()),
                Liveness::Dead => ("dead", "null".to_string()),
            };
            let pid = match live {
                Liveness::Running => r.pid.pid.to_string(),
                _ => "null".into(),
            };
            let command: Vec<String> = r.command.iter().map(|a| js(&a.to_string_lossy())).collect();
            format!(
                "{{\"id\":{},\"hostname\":{},\"pid\":{pid},\"status\":\"{status}\",\"exit_code\":{code},\
                 \"created_ms\":{},\"uptime_s\":{},\"detached\":{},\"address\":{},\"command\":[{}]}}",
                js(&r.id),
                js(&r.hostname),
                r.created_ms,
                ran_ms(f, now_ms) / 1000,
                r.detached,
                r.address.as_deref().map(js).unwrap_or_else(|| "null".into()),
                command.join(",")
            )
        })
        .collect();
    format!("[{}]\n", items.join(",\n "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(999), "0s");
        assert_eq!(human_duration(59_000), "59s");
        assert_eq!(human_duration(187_000), "3m07s");
        assert_eq!(human_duration(7_500_000), "2h05m");
        assert_eq!(human_duration(273_600_000), "3d04h");
    }

    #[test]
    fn json_strings() {
        assert_eq!(js("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
