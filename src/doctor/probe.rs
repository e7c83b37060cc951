//! The checks that try things for real: pivot_root into a tmpfs, a veth pair and a bridge, and
//! clone3. The first two run in a forked process, in namespaces of its own: what they make
//! goes with them when it exits, and the host's mounts and links are never touched.

use super::Check;
use crate::error::{Error, Result};
use crate::net::link;
use crate::net::netlink::Netlink;
use crate::sys::{self, fd, fs, lifecycle, mount, process};
use std::os::fd::AsRawFd;

pub fn checks(root: bool, userns_usable: bool) -> Vec<Check> {
    vec![pivot(root, userns_usable), network(root), clone3()]
}

fn pivot(root: bool, userns_usable: bool) -> Check {
    const ITEM: &str = "pivot-root";
    if !root && !userns_usable {
        return Check::warning(
            ITEM,
            "not tried: an ordinary user needs a user namespace for it (see userns)",
            "make user namespaces usable first",
        );
    }
    let tried = in_fork(|| {
        let own_user = if root { 0 } else { libc::CLONE_NEWUSER };
        process::unshare(libc::CLONE_NEWNS | own_user)
            .map_err(|e| Error::sys("unshare(CLONE_NEWNS)", e))?;
        mount::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)
            .map_err(|e| Error::sys("make / private", e))?;
        let tmpfs = mount::new_tmpfs(&[], 0).map_err(|e| Error::sys("make a tmpfs", e))?;
        let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
        let proc = fs::openat(libc::AT_FDCWD, c"/proc", flags, 0)
            .map_err(|e| Error::sys("open /proc", e))?;
        mount::move_mount(&tmpfs, &proc).map_err(|e| Error::sys("mount it on /proc", e))?;
        fs::fchdir(&tmpfs).map_err(|e| Error::sys("enter it", e))?;
        mount::pivot_root(c".", c".").map_err(|e| Error::sys("pivot_root(\".\", \".\")", e))?;
        mount::umount_detach(c".").map_err(|e| Error::sys("detach the old root", e))?;
        Ok(())
    });
    match tried {
        Ok(()) => Check::ok(ITEM, "tried: into a tmpfs, in a mount namespace of its own"),
        Err(e) => Check::problem(
            ITEM,
            format!("tried, failed: {e}"),
            "use --chroot (weaker: see 'nsbox help run')",
        ),
    }
}

fn network(root: bool) -> Check {
    const ITEM: &str = "network";
    if !root {
        return Check::warning(
            ITEM,
            "--net veth and bridge need root (the host's end is made on the host)",
            "run nsbox as root for them; --net none and host work without",
        );
    }
    let tried = in_fork(|| {
        process::unshare(libc::CLONE_NEWNET).map_err(|e| Error::sys("unshare(CLONE_NEWNET)", e))?;
        let mut nl = Netlink::open("host")?;
        let flags = libc::O_RDONLY | libc::O_CLOEXEC;
        let ns = fs::openat(libc::AT_FDCWD, c"/proc/self/ns/net", flags, 0)
            .map_err(|e| Error::sys("open /proc/self/ns/net", e))?;
        link::create_veth(&mut nl, "doctor0", None, "doctor1", ns.as_raw_fd())?;
        link::create_bridge(&mut nl, "doctor-br", [0x02, 0, 0, 0, 0, 1])?;
        Ok(())
    });
    match tried {
        Ok(()) => Check::ok(
            ITEM,
            "tried: rtnetlink made a veth pair and a bridge, in a network namespace of its own",
        ),
        Err(e) => Check::warning(
            ITEM,
            format!("tried, failed: {e}: --net veth and bridge cannot work"),
            "--net none and host work without them",
        ),
    }
}

fn clone3() -> Check {
    const ITEM: &str = "clone3";
    match sys::clone::clone3_available() {
        Ok(()) => Check::ok(
            ITEM,
            "available: a container with limits is born in its cgroup",
        ),
        Err(e) => Check::warning(
            ITEM,
            format!(
                "clone3: {}: nsbox uses clone, and the child moves itself into its cgroups",
                crate::error::errno_text(e)
            ),
            "nothing to do (it works, one write more per container); a seccomp filter around nsbox may be refusing clone3",
        ),
    }
}

/// Runs `body` in a forked process and returns its verdict: the error's line comes back
/// through a pipe.
fn in_fork(body: impl FnOnce() -> Result<()>) -> Result<(), String> {
    let (reader, writer) =
        fd::pipe().map_err(|e| format!("pipe2: {}", crate::error::errno_text(e)))?;
    let pid = lifecycle::fork().map_err(|e| format!("fork: {}", crate::error::errno_text(e)))?;
    if pid == 0 {
        let code = match body() {
            Ok(()) => 0,
            Err(e) => {
                let _ = sys::write(&writer, e.to_string().as_bytes());
                1
            }
        };
        process::exit_now(code);
    }
    sys::close(writer);
    let mut said = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = sys::read(&reader, &mut buf) {
        said.extend_from_slice(&buf[..n]);
    }
    let exit = process::wait(pid).map_err(|e| format!("wait4: {}", crate::error::errno_text(e)))?;
    match (exit.code(), said.is_empty()) {
        (0, _) => Ok(()),
        (_, false) => Err(String::from_utf8_lossy(&said).into_owned()),
        (code, true) => Err(format!("the probe ended with {code}")),
    }
}
