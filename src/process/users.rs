//! `-u NAME[:GROUP]`: user and group names looked up in the container's own /etc/passwd and
//! /etc/group (never the host's, unless the host's / is the rootfs), read from the host side
//! with the image's root as `/` before anything is created. The user's supplementary groups
//! are the groups of /etc/group that list it, as login(1) would give them.

use crate::error::{Error, Result, Topic};
use crate::spec::{Rootfs, Spec, User};
use crate::sys::fs;
use crate::trace;
use std::ffi::CStr;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

/// A user given by name, or with a group given by name (numbers stay numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The user part, a name or a number.
    pub user: String,
    /// The group part, a name or a number; None: the user's primary group.
    pub group: Option<String>,
    /// HOME from /etc/passwd (the caller gave no HOME of its own).
    pub set_home: bool,
}

/// What the names are on this image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub user: User,
    pub groups: Vec<u32>,
    pub home: Option<String>,
}

/// The largest /etc/passwd or /etc/group nsbox reads.
const MAX_FILE: usize = 4 << 20;

/// Looks `names` up in the tree whose root is the directory `root`.
pub fn resolve(root: RawFd, names: &Names) -> Result<Resolved> {
    let what = || match &names.group {
        Some(g) => format!("--user \"{}:{g}\"", names.user),
        None => format!("--user {:?}", names.user),
    };
    let passwd = || read(root, c"/etc/passwd").map_err(|why| Error::new(what(), why));
    let groups = || read(root, c"/etc/group").map_err(|why| Error::new(what(), why));
    let mut out = Resolved {
        user: User { uid: 0, gid: 0 },
        groups: Vec::new(),
        home: None,
    };
    let by_name = names.user.parse::<u32>().is_err();
    match by_name {
        true => {
            let text = passwd()?;
            let entry = find_user(&text, &names.user).ok_or_else(|| {
                Error::new(
                    what(),
                    format!("no user {:?} in the container's /etc/passwd", names.user),
                )
                .hint("give a user of the image, or numeric ids: --user UID[:GID]")
            })?;
            out.user = User {
                uid: entry.uid,
                gid: entry.gid,
            };
            out.home = names.set_home.then_some(entry.home);
        }
        false => {
            let uid = names.user.parse().unwrap_or(0);
            out.user = User { uid, gid: uid };
        }
    }
    let group_text = match (&names.group, by_name) {
        (None, false) => None,
        (Some(g), false) if g.parse::<u32>().is_ok() => None,
        _ => Some(groups()?),
    };
    if let Some(g) = &names.group {
        out.user.gid = match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => {
                let text = group_text.as_deref().unwrap_or("");
                find_group(text, g).ok_or_else(|| {
                    Error::new(
                        what(),
                        format!("no group {g:?} in the container's /etc/group"),
                    )
                    .hint("give a group of the image, or a numeric GID")
                })?
            }
        };
    }
    if by_name {
        out.groups = member_of(group_text.as_deref().unwrap_or(""), &names.user)
            .filter(|g| *g != out.user.gid)
            .collect();
        crate::sort::sort(&mut out.groups);
        out.groups.dedup();
    }
    if [out.user.uid, out.user.gid].contains(&u32::MAX) {
        return Err(Error::new(
            what(),
            "its /etc/passwd or /etc/group gives the id 4294967295 (-1), which is no id",
        ));
    }
    Ok(out)
}

/// Looks `names` up in the tree at `root` (a rootfs, or /proc/PID/root of a running
/// container), traced.
pub fn resolve_under(root: &Path, names: &Names) -> Result<Resolved> {
    let dir = fs::openat(
        libc::AT_FDCWD,
        &crate::sys::cpath(root)?,
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| {
        Error::sys(
            format!("open {root:?} to look up --user {:?}", names.user),
            e,
        )
        .about(Topic::Rootfs)
    })?;
    let found = resolve(dir.as_raw_fd(), names);
    crate::sys::close(dir);
    let found = found?;
    trace::step(|| {
        format!(
            "--user {}: uid {}, gid {}, groups {:?} (the container's /etc/passwd and /etc/group)",
            names.user, found.user.uid, found.user.gid, found.groups
        )
    });
    Ok(found)
}

/// `spec` with its user's names looked up in its rootfs (the host's / where that is the
/// rootfs): ids, supplementary groups, and HOME where the caller set none.
pub fn resolve_in(spec: &Spec, names: &Names) -> Result<Spec> {
    let root = match &spec.rootfs {
        Rootfs::Dir(dir) => dir.as_path(),
        Rootfs::Host => Path::new("/"),
    };
    let found = resolve_under(root, names)?;
    let mut spec = spec.clone();
    let p = &mut spec.process;
    p.user = found.user;
    p.groups = found.groups;
    p.security.caps = crate::spec::CapSets::native(p.security.caps.bounding, p.user.uid);
    if let Some(home) = found.home {
        crate::spec::override_env(&mut p.env, &[("HOME".into(), home)]);
    }
    Ok(spec)
}

fn read(root: RawFd, path: &CStr) -> std::result::Result<String, String> {
    let name = path.to_string_lossy();
    let bytes = fs::read_regular_in_root(root, path, MAX_FILE).map_err(|e| match e {
        syscalls::Errno::ENOENT => format!("the container has no {name} to look names up in"),
        syscalls::Errno::EINVAL => format!("the container's {name} is not a regular file"),
        e => format!(
            "cannot read the container's {name}: {}",
            crate::error::errno_text(e)
        ),
    })?;
    String::from_utf8(bytes).map_err(|_| format!("the container's {name} is not UTF-8 text"))
}

/// An /etc/passwd entry, the fields nsbox uses.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    uid: u32,
    gid: u32,
    home: String,
}

/// `name:password:uid:gid:gecos:home:shell`.
fn find_user(text: &str, name: &str) -> Option<Entry> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        match f.as_slice() {
            [n, _, uid, gid, _, home, ..] if *n == name => Some(Entry {
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                home: home.to_string(),
            }),
            _ => None,
        }
    })
}

/// `name:password:gid:member,member`.
fn find_group(text: &str, name: &str) -> Option<u32> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        match f.as_slice() {
            [n, _, gid, ..] if *n == name => gid.parse().ok(),
            _ => None,
        }
    })
}

/// The groups whose member lists name `user`.
fn member_of<'a>(text: &'a str, user: &'a str) -> impl Iterator<Item = u32> + 'a {
    text.lines().filter_map(move |line| {
        let f: Vec<&str> = line.split(':').collect();
        match f.as_slice() {
            [_, _, gid, members] if members.split(',').any(|m| m.trim() == user) => {
                gid.parse().ok()
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\nbad:x:a:b::/:\nwww:x:33:33:www:/var/www:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwww:x:33:\nwheel:x:10:root,www\naudio:x:29:www\nnoone:x:99:\n";

    #[test]
    fn entries() {
        assert_eq!(
            find_user(PASSWD, "www"),
            Some(Entry {
                uid: 33,
                gid: 33,
                home: "/var/www".into()
            })
        );
        assert_eq!(find_user(PASSWD, "bad"), None);
        assert_eq!(find_user(PASSWD, "ww"), None);
        assert_eq!(find_group(GROUP, "wheel"), Some(10));
        assert_eq!(find_group(GROUP, "nope"), None);
        assert_eq!(member_of(GROUP, "www").collect::<Vec<_>>(), [10, 29]);
        assert_eq!(member_of(GROUP, "root").collect::<Vec<_>>(), [10]);
    }
}
