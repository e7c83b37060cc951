//! `--env-file FILE` in docker's format: one `KEY=VALUE` per line (the value taken as it is,
//! quotes included), `#` comment lines and blank lines skipped, a bare `KEY` taking KEY's
//! value from nsbox's own environment (left unset where it has none).

use crate::error::{Error, Result};
use std::path::Path;

pub fn parse(
    file: &Path,
    text: &[u8],
    getenv: fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>> {
    let at = |n: usize, why: String| {
        Error::new(format!("--env-file {file:?}, line {n}"), why)
            .hint("one KEY=VALUE per line; # starts a comment line")
    };
    let text = std::str::from_utf8(text)
        .map_err(|e| at(line_of(text, e.valid_up_to()), "not valid UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut vars = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (line.trim_end(), None),
        };
        if key.is_empty() {
            return Err(at(i + 1, "no variable name before '='".into()));
        }
        if key.contains(char::is_whitespace) || key.contains('\0') {
            return Err(at(i + 1, format!("the name {key:?} holds whitespace")));
        }
        if value.is_some_and(|v| v.contains('\0')) {
            return Err(at(i + 1, "the value holds a NUL byte".into()));
        }
        if let Some(v) = value.map(str::to_string).or_else(|| getenv(key)) {
            vars.push((key.to_string(), v));
        }
    }
    Ok(vars)
}

fn line_of(text: &[u8], offset: usize) -> usize {
    text[..offset].iter().filter(|b| **b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "FROM_HOST").then(|| "h".to_string())
    }

    #[test]
    fn docker_format() {
        let text = b"\xef\xbb\xbfA=1\n# a comment\n\n  B= two words \nC=\"quoted\"\nFROM_HOST\nUNSET\nD=x=y\nE=\n";
        let vars = parse(Path::new("f"), text, env).unwrap();
        let want = [
            ("A", "1"),
            ("B", " two words "),
            ("C", "\"quoted\""),
            ("FROM_HOST", "h"),
            ("D", "x=y"),
            ("E", ""),
        ];
        assert_eq!(vars, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = parse(Path::new("f"), b"A=1\n=2\n", env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("no variable name"),
            "{e}"
        );
        let e = parse(Path::new("f"), b"A B=1\n", env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("whitespace"), "{e}");
        let e = parse(Path::new("f"), b"A=1\nB=\xff\n", env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("UTF-8"), "{e}");
    }
}
