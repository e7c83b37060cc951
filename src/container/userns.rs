//! `--userns`: the container's user namespace and its uid/gid maps.
//!
//!   parent, before clone: the maps are checked (form, overlaps, who may write them)
//!   clone(CLONE_NEWUSER | ...) -> child: waits for the maps before anything else
//!   parent: [non-root: "deny" to /proc/PID/setgroups] -> uid_map -> gid_map, written by nsbox
//!     (root, or a non-root caller's own ids) or by the setuid helpers newuidmap/newgidmap
//!     (ranges from /etc/subuid, /etc/subgid) -> the child goes on
//!
//! Default maps: a caller that is not root becomes root inside (its uid and gid, one each);
//! root gets 0-65535 inside mapped from 100000-165535 outside, so a process that escapes the
//! container is nobody on the host.

use crate::error::{Context, Error, Result, Topic};
use crate::sys::{self, cpath as c, fs};
use crate::trace;
use std::path::Path;
use syscalls::Errno;

/// One line of a map: `count` ids from `inside` in the container are `outside` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

/// The container's user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNs {
    pub uid_map: Vec<IdMap>,
    pub gid_map: Vec<IdMap>,
    /// The caller is not root: setgroups(2) is denied in the namespace (the kernel's rule for
    /// an unprivileged gid_map), and nothing that needs the host's privileges can be done.
    pub unprivileged: bool,
    /// How an ordinary user's default maps were chosen (traced when they are written).
    pub chosen: Option<String>,
    /// The host's ranges for the caller, when choosing the default maps read them (`writers`
    /// checks against these rather than reading the files again).
    pub host: Option<Subordinate>,
}

/// The range root's containers get by default.
pub const ROOT_DEFAULT: IdMap = IdMap {
    inside: 0,
    outside: 100_000,
    count: 65_536,
};

/// The most lines a map may have (the kernel's limit).
const MAX_LINES: usize = 340;

/// `C:H:N`, as `--uidmap` and `--gidmap` take it.
pub fn parse_map(flag: &str, s: &str) -> Result<IdMap> {
    let bad = || {
        Error::new(
            format!("{flag} {s:?}"),
            "expected INSIDE:OUTSIDE:COUNT, three numbers, e.g. 0:100000:65536",
        )
    };
    let mut parts = s
        .split(':')
        .map(|p| match p.bytes().all(|b| b.is_ascii_digit()) {
            true => p.parse::<u32>().ok(),
            false => None,
        });
    let (Some(Some(inside)), Some(Some(outside)), Some(Some(count)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if count == 0 {
        return Err(Error::new(format!("{flag} {s:?}"), "the count is 0"));
    }
    let end_in = u64::from(inside) + u64::from(count);
    let end_out = u64::from(outside) + u64::from(count);
    if end_in > u64::from(u32::MAX) || end_out > u64::from(u32::MAX) {
        return Err(Error::new(
            format!("{flag} {s:?}"),
            "the range goes past the largest id (4294967294)",
        ));
    }
    Ok(IdMap {
        inside,
        outside,
        count,
    })
}

/// Which of the two maps: for messages, and the setting it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Uid,
    Gid,
}

impl Which {
    fn word(self) -> &'static str {
        match self {
            Which::Uid => "uid",
            Which::Gid => "gid",
        }
    }

    /// `the uid map 0:1000:1 1:100000:65536`, about the setting that gave it.
    fn error(self, map: &[IdMap], why: impl Into<String>) -> Error {
        let lines: Vec<_> = map.iter().map(text).collect();
        let topic = match self {
            Which::Uid => Topic::UidMap,
            Which::Gid => Topic::GidMap,
        };
        Error::new(format!("the {} map {}", self.word(), lines.join(" ")), why).about(topic)
    }
}

/// A map's lines must not overlap, inside or outside, and be few enough for the kernel.
pub fn check_map(which: Which, map: &[IdMap]) -> Result<()> {
    if map.len() > MAX_LINES {
        return Err(which.error(
            &[],
            format!("{} ranges: the kernel takes at most {MAX_LINES}", map.len()),
        ));
    }
    let overlap = |a: u32, n: u32, b: u32, m: u32| {
        u64::from(a) < u64::from(b) + u64::from(m) && u64::from(b) < u64::from(a) + u64::from(n)
    };
    for (i, x) in map.iter().enumerate() {
        for y in &map[i + 1..] {
            let side = if overlap(x.inside, x.count, y.inside, y.count) {
                "inside"
            } else if overlap(x.outside, x.count, y.outside, y.count) {
                "outside"
            } else {
                continue;
            };
            return Err(which.error(
                &[*x, *y],
                format!("the ranges overlap {side} (each id is mapped once)"),
            ));
        }
    }
    Ok(())
}

fn text(m: &IdMap) -> String {
    format!("{}:{}:{}", m.inside, m.outside, m.count)
}

/// What the host gives an ordinary user for its containers' ids: its ranges of /etc/subuid and
/// /etc/subgid, and whether the setuid helpers that map them (newuidmap, newgidmap) are there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subordinate {
    pub uids: Vec<(u32, u32)>,
    pub gids: Vec<(u32, u32)>,
    pub helpers: bool,
}

impl Subordinate {
    /// This host's, for `uid` (its ranges are found by name or by number).
    pub fn of_host(uid: u32) -> Subordinate {
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let name = user_name(&passwd, uid);
        let ranges = |file: &str| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            sub_ranges(&text, name.as_deref(), uid)
        };
        Subordinate {
            uids: ranges("/etc/subuid"),
            gids: ranges("/etc/subgid"),
            helpers: find_helper("newuidmap").is_some() && find_helper("newgidmap").is_some(),
        }
    }

    /// An ordinary user's default maps: itself as root, then its ranges as 1, 2, ... (as
    /// podman maps them), or, without ranges of both kinds or the helpers, its own ids alone.
    /// The second part says which, and why (for `--trace` and `nsbox doctor`).
    pub fn default_maps(&self, uid: u32, gid: u32) -> (Vec<IdMap>, Vec<IdMap>, String) {
        let (uids, gids) = (ranged(uid, &self.uids), ranged(gid, &self.gids));
        let own = |id| {
            vec![IdMap {
                inside: 0,
                outside: id,
                count: 1,
            }]
        };
        let alone = |why: &str| (own(uid), own(gid), format!("only your own ids: {why}"));
        if uids.len() < 2 || gids.len() < 2 {
            let which = match (uids.len() < 2, gids.len() < 2) {
                (true, true) => "/etc/subuid and /etc/subgid give",
                (true, false) => "/etc/subuid gives",
                _ => "/etc/subgid gives",
            };
            return alone(&format!("{which} you no range"));
        }
        if !self.helpers {
            return alone(
                "newuidmap and newgidmap are not both installed (Debian: apt-get install uidmap)",
            );
        }
        let inside = |map: &[IdMap]| {
            let last = map[map.len() - 1];
            format!("1-{}", u64::from(last.inside) + u64::from(last.count) - 1)
        };
        let why = format!(
            "you are root inside; your /etc/subuid and /etc/subgid ranges are {} and {} inside",
            inside(&uids),
            inside(&gids)
        );
        (uids, gids, why)
    }
}

/// `0:own:1`, then each range that overlaps neither `own` nor an earlier one, from 1 up, within
/// the kernel's line limit and the largest id.
fn ranged(own: u32, ranges: &[(u32, u32)]) -> Vec<IdMap> {
    let mut map = vec![IdMap {
        inside: 0,
        outside: own,
        count: 1,
    }];
    let mut next = 1u64;
    for &(start, count) in ranges {
        let end = u64::from(start) + u64::from(count);
        let clash = map.iter().any(|m| {
            u64::from(m.outside) < end
                && u64::from(start) < u64::from(m.outside) + u64::from(m.count)
        });
        if count == 0
            || clash
            || end > u64::from(u32::MAX)
            || next + u64::from(count) > u64::from(u32::MAX)
        {
            continue;
        }
        if map.len() == MAX_LINES {
            break;
        }
        map.push(IdMap {
            inside: next as u32,
            outside: start,
            count,
        });
        next += u64::from(count);
    }
    map
}

/// The user namespace for a caller `uid`:`gid`, with the maps given (empty: the defaults;
/// `subordinate` is asked only for an ordinary user's).
pub fn plan(
    uid_map: Vec<IdMap>,
    gid_map: Vec<IdMap>,
    uid: u32,
    gid: u32,
    subordinate: impl FnOnce() -> Subordinate,
) -> Result<UserNs> {
    let unprivileged = uid != 0;
    let (defaults, chosen, host) = match unprivileged && (uid_map.is_empty() || gid_map.is_empty())
    {
        true => {
            let host = subordinate();
            let (u, g, why) = host.default_maps(uid, gid);
            ((u, g), Some(why), Some(host))
        }
        false => ((vec![ROOT_DEFAULT], vec![ROOT_DEFAULT]), None, None),
    };
    let uid_map = if uid_map.is_empty() {
        defaults.0
    } else {
        uid_map
    };
    let gid_map = if gid_map.is_empty() {
        defaults.1
    } else {
        gid_map
    };
    check_map(Which::Uid, &uid_map)?;
    check_map(Which::Gid, &gid_map)?;
    // The container's first process becomes root of the namespace: 0 must be mapped.
    for (which, map) in [(Which::Uid, &uid_map), (Which::Gid, &gid_map)] {
        if !map.iter().any(|m| m.inside == 0) {
            return Err(which
                .error(
                    map,
                    "no range maps id 0 inside: the container's first process is root there",
                )
                .hint("add a range starting at 0 (0:OUTSIDE:COUNT)"));
        }
    }
    if unprivileged {
        includes(Which::Uid, &uid_map, uid)?;
        includes(Which::Gid, &gid_map, gid)?;
    }
    Ok(UserNs {
        uid_map,
        gid_map,
        unprivileged,
        chosen,
        host,
    })
}

/// A caller without root must be in its map: the container's first process is the caller, and
/// an unmapped process can neither become root inside nor own a file it makes.
fn includes(which: Which, map: &[IdMap], own: u32) -> Result<()> {
    let mapped = map
        .iter()
        .any(|m| own >= m.outside && u64::from(own) < u64::from(m.outside) + u64::from(m.count));
    match mapped {
        true => Ok(()),
        false => Err(which
            .error(
                map,
                format!(
                    "the map does not include you ({} {own}): the container's first process is you",
                    which.word()
                ),
            )
            .hint(format!("add the range 0:{own}:1 (you are root inside)"))),
    }
}

/// The map's text for /proc/PID/{uid,gid}_map: one `INSIDE OUTSIDE COUNT` line each.
fn map_text(map: &[IdMap]) -> String {
    map.iter()
        .map(|m| format!("{} {} {}\n", m.inside, m.outside, m.count))
        .collect()
}

/// Whether a non-root caller can write `map` itself: one line, of its own id.
fn own_only(map: &[IdMap], own: u32) -> bool {
    matches!(map, [m] if m.outside == own && m.count == 1)
}

/// The ranges of /etc/subuid (or subgid) `text` that belong to `user` (a name) or `id`.
pub fn sub_ranges(text: &str, user: Option<&str>, id: u32) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split(':');
            let (owner, start, count) = (f.next()?, f.next()?, f.next()?);
            let mine = Some(owner) == user || owner.parse::<u32>().ok() == Some(id);
            match mine {
                true => Some((start.trim().parse().ok()?, count.trim().parse().ok()?)),
                false => None,
            }
        })
        .collect()
}

/// The lines of `map` that are neither `own` nor inside one of `ranges`.
fn outside_ranges(map: &[IdMap], own: u32, ranges: &[(u32, u32)]) -> Vec<IdMap> {
    map.iter()
        .filter(|m| {
            let own_line = m.outside == own && m.count == 1;
            let in_range = ranges.iter().any(|(start, n)| {
                m.outside >= *start
                    && u64::from(m.outside) + u64::from(m.count)
                        <= u64::from(*start) + u64::from(*n)
            });
            !own_line && !in_range
        })
        .copied()
        .collect()
}

/// How the parent will write one map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writer {
    /// nsbox writes it (root, or a non-root caller's own id alone).
    Direct,
    /// The setuid helper at this path (newuidmap, newgidmap).
    Helper(String),
}

/// Decides, before clone, how each map gets written, and refuses what a non-root caller may
/// not map: the reason names /etc/subuid or the missing helper.
pub fn writers(ns: &UserNs, uid: u32, gid: u32) -> Result<(Writer, Writer)> {
    if !ns.unprivileged {
        return Ok((Writer::Direct, Writer::Direct));
    }
    if own_only(&ns.uid_map, uid) && own_only(&ns.gid_map, gid) {
        return Ok((Writer::Direct, Writer::Direct));
    }
    // The ranges the default maps were chosen from, or else this host's now.
    let host = ns.host.clone().unwrap_or_else(|| Subordinate::of_host(uid));
    let one = |map: &[IdMap],
               own: u32,
               which: Which,
               helper: &str,
               file: &str,
               ranges: &[(u32, u32)]|
     -> Result<Writer> {
        if own_only(map, own) {
            return Ok(Writer::Direct);
        }
        let beyond = outside_ranges(map, own, ranges);
        if let Some(m) = beyond.first() {
            let yours = match ranges.is_empty() {
                true => format!("{file} gives you no range"),
                false => format!(
                    "{file} gives you {}",
                    ranges
                        .iter()
                        .map(|(s, n)| format!("{s}-{}", u64::from(*s) + u64::from(*n) - 1))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err(which
                .error(
                    std::slice::from_ref(m),
                    format!("the host ids {} are not yours to map: {yours}", span(m)),
                )
                .hint(format!(
                    "map only your own id ({own}), or ask for a range: usermod --add-subuids / \
                 --add-subgids (as root), which writes {file}"
                )));
        }
        match find_helper(helper) {
            Some(path) => Ok(Writer::Helper(path)),
            None => Err(which
                .error(
                    map,
                    format!("mapping more than your own id needs the setuid helper {helper}, which is not installed"),
                )
                .hint("install it (Debian: apt-get install uidmap), or map only your own id")),
        }
    };
    Ok((
        one(
            &ns.uid_map,
            uid,
            Which::Uid,
            "newuidmap",
            "/etc/subuid",
            &host.uids,
        )?,
        one(
            &ns.gid_map,
            gid,
            Which::Gid,
            "newgidmap",
            "/etc/subgid",
            &host.gids,
        )?,
    ))
}

/// The login name of `uid` in /etc/passwd's `text` (subuid and subgid use names).
fn user_name(text: &str, uid: u32) -> Option<String> {
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let (name, id) = (f.next()?, f.nth(1)?);
        (id.parse::<u32>().ok() == Some(uid)).then(|| name.to_string())
    })
}

fn span(m: &IdMap) -> String {
    match m.count {
        1 => m.outside.to_string(),
        n => format!("{}-{}", m.outside, u64::from(m.outside) + u64::from(n) - 1),
    }
}

/// A helper on the usual paths (nsbox does not trust $PATH for a setuid program).
fn find_helper(name: &str) -> Option<String> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|p| Path::new(p).exists())
}

/// The parent's part, between clone and the child's go-ahead: writes the maps of the child
/// `pid`.
pub fn write_maps(ns: &UserNs, pid: i32, writers: &(Writer, Writer)) -> Result<()> {
    let proc = format!("/proc/{pid}");
    if let Some(why) = &ns.chosen {
        trace::note(|| format!("the default maps (--userns without root): {why}"));
    }
    if ns.unprivileged && writers.1 == Writer::Direct {
        // An unprivileged gid_map is taken only once setgroups is denied: otherwise a
        // process could drop a group that denies it access.
        trace::step(|| format!("write \"deny\" to {proc}/setgroups"));
        write(&format!("{proc}/setgroups"), "deny")?;
    }
    // The default maps fall back to the own ids when a helper fails (one that is there but
    // not setuid, or on a nosuid mount): what --userns gave before the ranges were mapped.
    let fallback = |writer: &Writer, e: Error| match (&ns.chosen, writer) {
        (Some(_), Writer::Helper(helper)) => {
            crate::report_warning(&Error::new(
                format!("{helper} for the default maps"),
                format!("{e}; the container maps your own ids alone instead"),
            ));
            Ok(())
        }
        _ => Err(e),
    };
    let own_gid = || -> Result<()> {
        trace::step(|| format!("write \"deny\" to {proc}/setgroups"));
        write(&format!("{proc}/setgroups"), "deny")?;
        write_one(
            &proc,
            "gid_map",
            &own_line(&ns.gid_map),
            &Writer::Direct,
            pid,
        )
    };
    if let Err(e) = write_one(&proc, "uid_map", &ns.uid_map, &writers.0, pid) {
        fallback(&writers.0, e)?;
        write_one(
            &proc,
            "uid_map",
            &own_line(&ns.uid_map),
            &Writer::Direct,
            pid,
        )?;
        // The gid map as the uid map: the own id alone, not the ranges.
        return own_gid();
    }
    if let Err(e) = write_one(&proc, "gid_map", &ns.gid_map, &writers.1, pid) {
        fallback(&writers.1, e)?;
        return own_gid();
    }
    Ok(())
}

/// The first line of a default map: the caller's own id as root.
fn own_line(map: &[IdMap]) -> Vec<IdMap> {
    map.iter().take(1).copied().collect()
}

fn write_one(proc: &str, file: &str, map: &[IdMap], writer: &Writer, pid: i32) -> Result<()> {
    let text = map_text(map);
    match writer {
        Writer::Direct => {
            trace::step(|| format!("write {:?} to {proc}/{file}", text.trim_end()));
            write(&format!("{proc}/{file}"), &text).map_err(|e| {
                e.hint_on(
                    Errno::EPERM,
                    "a gid_map written without privilege needs \"deny\" in setgroups first, \
                     and each map may be written once",
                )
            })
        }
        Writer::Helper(helper) => {
            let mut args = vec![helper.clone(), pid.to_string()];
            for m in map {
                args.extend([m.inside, m.outside, m.count].map(|n| n.to_string()));
            }
            trace::step(|| format!("run {}", args.join(" ")));
            let code = sys::lifecycle::run_helper(&args).ctx(|| format!("run {helper}"))?;
            match code {
                0 => Ok(()),
                code => Err(Error::new(
                    format!("{} {pid} ...", helper),
                    format!("exited with {code} (its message is above)"),
                )
                .hint("check /etc/subuid and /etc/subgid, and that the helper is setuid root")),
            }
        }
    }
}

fn write(path: &str, text: &str) -> Result<()> {
    let p = sys::cstr(path).map_err(|e| Error::sys(path.to_string(), e))?;
    fs::write_file_at(libc::AT_FDCWD, &p, text.as_bytes())
        .map_err(|e| Error::sys(format!("write {:?} to {path}", text.trim_end()), e))
}

/// How this process, in a user namespace, sets its ids: without setgroups(2) where the
/// namespace denies it (its maps were written by an unprivileged caller itself).
pub fn identity() -> crate::sys::process::Identity {
    let denied = fs::read_file(c"/proc/self/setgroups").is_ok_and(|b| b.starts_with(b"deny"));
    match denied {
        true => crate::sys::process::Identity::GroupsDenied,
        false => crate::sys::process::Identity::UserNs,
    }
}

/// Why clone(CLONE_NEWUSER) failed, in the terms of the setting that made it fail.
pub fn explain_clone_error(e: Errno) -> Option<String> {
    let read = |p: &str| {
        fs::read_file(&c(Path::new(p)).ok()?)
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    let max = read("/proc/sys/user/max_user_namespaces");
    if max.as_deref() == Some("0") {
        return Some("user namespaces are disabled: user.max_user_namespaces is 0 (sysctl -w user.max_user_namespaces=15000)".into());
    }
    if e == Errno::ENOSPC {
        return Some(format!(
            "the user namespace limit is reached: user.max_user_namespaces is {}",
            max.unwrap_or_else(|| "?".into())
        ));
    }
    if e != Errno::EPERM {
        return None;
    }
    if read("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        return Some("unprivileged user namespaces are disabled: kernel.unprivileged_userns_clone is 0 (sysctl -w kernel.unprivileged_userns_clone=1)".into());
    }
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1") {
        return Some("AppArmor restricts unprivileged user namespaces: kernel.apparmor_restrict_unprivileged_userns is 1 (set it to 0, or give nsbox an AppArmor profile that allows userns)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(inside: u32, outside: u32, count: u32) -> IdMap {
        IdMap {
            inside,
            outside,
            count,
        }
    }

    #[test]
    fn maps_parse_and_refuse_what_is_malformed() {
        assert_eq!(
            parse_map("--uidmap", "0:100000:65536").unwrap(),
            m(0, 100000, 65536)
        );
        for bad in ["0:1", "0:1:2:3", "a:1:1", "0:-1:1", "0:+1:1", "", "0::1"] {
            let e = parse_map("--uidmap", bad).unwrap_err().to_string();
            assert!(e.contains("expected INSIDE:OUTSIDE:COUNT"), "{bad}: {e}");
        }
        assert!(
            parse_map("--uidmap", "0:1:0")
                .unwrap_err()
                .to_string()
                .contains("the count is 0")
        );
        assert!(
            parse_map("--uidmap", "0:4294967295:2")
                .unwrap_err()
                .to_string()
                .contains("largest id")
        );
    }

    #[test]
    fn overlapping_ranges_are_named() {
        assert!(check_map(Which::Uid, &[m(0, 1000, 1), m(1, 100000, 65536)]).is_ok());
        let e = check_map(Which::Uid, &[m(0, 100000, 10), m(5, 200000, 10)]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the uid map 0:100000:10 5:200000:10: the ranges overlap inside (each id is mapped once)"
        );
        let e = check_map(Which::Gid, &[m(0, 100000, 10), m(10, 100005, 10)]).unwrap_err();
        assert!(e.to_string().contains("overlap outside"), "{e}");
        let many: Vec<IdMap> = (0..341).map(|i| m(i, 1000 + i, 1)).collect();
        assert!(
            check_map(Which::Uid, &many)
                .unwrap_err()
                .to_string()
                .contains("at most 340")
        );
    }

    #[test]
    fn defaults_make_the_caller_root_or_root_nobody() {
        let ns = plan(vec![], vec![], 1000, 1000, Subordinate::default).unwrap();
        assert_eq!(ns.uid_map, vec![m(0, 1000, 1)]);
        assert!(ns.unprivileged);
        let e = plan(
            vec![m(0, 100000, 1)],
            vec![],
            1000,
            1000,
            Subordinate::default,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the uid map 0:100000:1: the map does not include you (uid 1000): the container's \
             first process is you — hint: add the range 0:1000:1 (you are root inside)"
        );
        let e = plan(
            vec![m(5, 1000, 1)],
            vec![],
            1000,
            1000,
            Subordinate::default,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no range maps id 0 inside"), "{e}");
        let root = plan(vec![], vec![], 0, 0, || {
            unreachable!("root's defaults are fixed")
        })
        .unwrap();
        assert_eq!(root.uid_map, vec![ROOT_DEFAULT]);
        assert_eq!(map_text(&root.gid_map), "0 100000 65536\n");
        assert!(!root.unprivileged);
    }

    #[test]
    fn an_ordinary_users_defaults_map_its_ranges_as_podman_does() {
        let subs = Subordinate {
            uids: vec![(100000, 65536)],
            gids: vec![(200000, 1000), (300000, 10)],
            helpers: true,
        };
        let ns = plan(vec![], vec![], 1000, 1001, || subs.clone()).unwrap();
        assert_eq!(ns.uid_map, vec![m(0, 1000, 1), m(1, 100000, 65536)]);
        assert_eq!(
            ns.gid_map,
            vec![m(0, 1001, 1), m(1, 200000, 1000), m(1001, 300000, 10)]
        );
        assert_eq!(
            ns.chosen.as_deref(),
            Some(
                "you are root inside; your /etc/subuid and /etc/subgid ranges are 1-65536 and \
                 1-1010 inside"
            )
        );
        // Given maps are kept; the other one is defaulted.
        let ns = plan(vec![m(0, 1000, 1)], vec![], 1000, 1001, || subs.clone()).unwrap();
        assert_eq!(ns.uid_map, vec![m(0, 1000, 1)]);
        assert_eq!(ns.gid_map.len(), 3);
        // Without both kinds of ranges, or without the helpers: the own ids alone, and why.
        for (subs, why) in [
            (
                Subordinate {
                    gids: vec![],
                    ..subs.clone()
                },
                "only your own ids: /etc/subgid gives you no range",
            ),
            (
                Subordinate {
                    helpers: false,
                    ..subs.clone()
                },
                "only your own ids: newuidmap and newgidmap are not both installed",
            ),
            (
                Subordinate::default(),
                "only your own ids: /etc/subuid and /etc/subgid give you no range",
            ),
        ] {
            let ns = plan(vec![], vec![], 1000, 1001, || subs).unwrap();
            assert_eq!(ns.uid_map, vec![m(0, 1000, 1)]);
            assert_eq!(ns.gid_map, vec![m(0, 1001, 1)]);
            assert!(
                ns.chosen.as_deref().unwrap().starts_with(why),
                "{:?}",
                ns.chosen
            );
        }
        // A range holding the own id, or overlapping an earlier one, is left out.
        assert_eq!(
            ranged(
                1000,
                &[(900, 200), (5000, 10), (5005, 10), (0, 0), (7000, 1)]
            ),
            vec![m(0, 1000, 1), m(1, 5000, 10), m(11, 7000, 1)]
        );
    }

    #[test]
    fn subordinate_ranges_decide_what_a_user_may_map() {
        let text = "alice:100000:65536\n1001:200000:1000\nbob:300000:10\n";
        assert_eq!(sub_ranges(text, Some("alice"), 1000), vec![(100000, 65536)]);
        assert_eq!(sub_ranges(text, Some("carol"), 1001), vec![(200000, 1000)]);
        let ranges = sub_ranges(text, Some("alice"), 1000);
        assert!(outside_ranges(&[m(0, 1000, 1), m(1, 100000, 65536)], 1000, &ranges).is_empty());
        assert_eq!(
            outside_ranges(&[m(0, 1000, 1), m(1, 100000, 65537)], 1000, &ranges),
            vec![m(1, 100000, 65537)]
        );
        assert!(own_only(&[m(0, 1000, 1)], 1000));
        let passwd = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name(passwd, 7), None);
        assert!(!own_only(&[m(0, 1000, 2)], 1000));
    }
}
