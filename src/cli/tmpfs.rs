//! `--tmpfs DST[:OPTIONS]` as docker reads it: a comma-separated list of size, mode, uid, gid,
//! nr_inodes, exec/noexec, ro/rw and the nosuid/nodev that nsbox always keeps.

use crate::cgroup::limits::parse_bytes;
use crate::error::{Error, Result};

/// `--tmpfs DST[:OPTIONS]`: an empty tmpfs at `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    /// Absolute path inside the container, without `..`.
    pub target: String,
    /// tmpfs's own options (`mode=1777,size=1048576`), as mount(2) takes them.
    pub data: String,
    /// MS_NOSUID | MS_NODEV, and MS_NOEXEC, MS_RDONLY as asked.
    pub flags: u64,
}

/// Parses one `--tmpfs` value. Defaults as docker's: rw, noexec, nosuid, nodev, mode 1777.
pub fn parse(s: &str) -> Result<Tmpfs> {
    let (dst, options) = s.split_once(':').unwrap_or((s, ""));
    let target = super::container_path("--tmpfs", dst, false).map_err(|e| Error {
        what: format!("--tmpfs {s:?}"),
        ..e
    })?;
    let bad = |why: String| {
        Error::new(format!("--tmpfs {s:?}"), why)
            .hint("options: size=64m, mode=1777, uid=N, gid=N, nr_inodes=N, exec, noexec, ro, rw, nosuid, nodev")
    };
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    let (mut mode, mut data) = ("1777".to_string(), Vec::new());
    for opt in options.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = match opt.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (opt, None),
        };
        match (key, value) {
            ("exec", None) => flags &= !libc::MS_NOEXEC,
            ("noexec", None) => flags |= libc::MS_NOEXEC,
            ("ro", None) => flags |= libc::MS_RDONLY,
            ("rw", None) => flags &= !libc::MS_RDONLY,
            ("nosuid" | "nodev", None) => {}
            ("suid" | "dev", None) => {
                return Err(bad(format!(
                    "{key} is refused: nsbox keeps a tmpfs nosuid and nodev (a setuid file or a device node made there would work)"
                )));
            }
            ("size", Some(v)) => {
                let bytes = parse_bytes(v).filter(|b| *b > 0).ok_or_else(|| {
                    bad(format!("size={v}: expected a size such as 64m, 512k or 1g"))
                })?;
                data.push(format!("size={bytes}"));
            }
            ("mode", Some(v)) => {
                if v.is_empty() || v.len() > 4 || u32::from_str_radix(v, 8).is_err() {
                    return Err(bad(format!(
                        "mode={v}: expected octal permissions such as 1777 or 755"
                    )));
                }
                mode = v.to_string();
            }
            ("uid" | "gid" | "nr_inodes", Some(v)) => {
                if v.parse::<u32>().is_err() {
                    return Err(bad(format!("{key}={v}: expected a number")));
                }
                data.push(format!("{key}={v}"));
            }
            _ => return Err(bad(format!("unknown option {opt:?}"))),
        }
    }
    data.insert(0, format!("mode={mode}"));
    Ok(Tmpfs {
        target,
        data: data.join(","),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_docker_reads_them() {
        let t = parse("/scratch").unwrap();
        assert_eq!(
            (t.target.as_str(), t.data.as_str()),
            ("/scratch", "mode=1777")
        );
        assert_eq!(t.flags, libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC);
        let t = parse("/s:size=1m,mode=700,uid=5,gid=6,exec,ro").unwrap();
        assert_eq!(t.data, "mode=700,size=1048576,uid=5,gid=6");
        assert_eq!(t.flags, libc::MS_NOSUID | libc::MS_NODEV | libc::MS_RDONLY);
        assert_eq!(
            parse("/s:noexec,rw,nosuid,nodev").unwrap().flags,
            parse("/s").unwrap().flags
        );
    }

    #[test]
    fn bad_options_are_refused() {
        for bad in [
            "/s:size=x",
            "/s:size=0",
            "/s:mode=999",
            "/s:mode=",
            "/s:uid=a",
            "/s:suid",
            "/s:dev",
            "/s:bogus",
            "/s:exec=1",
            "rel:size=1m",
            "/:size=1m",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let e = parse("/s:bogus").unwrap_err().to_string();
        assert!(e.contains("unknown option \"bogus\""), "{e}");
    }
}
