//! OCI bundles and calls for the tests of the OCI front end: a config.json made from a few
//! parts, and nsbox called the way conmon and containerd's shim call runc.

use super::{Fixture, Out, nsbox_bin, rootfs, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One bundle: a directory with config.json; the rootfs is the shared one unless `own_rootfs`.
pub struct Bundle {
    pub dir: PathBuf,
    pub root: PathBuf,
}

/// The parts of a config a test changes; the rest is nsbox's `spec` default.
#[derive(Default)]
pub struct Config<'a> {
    pub args: &'a [&'a str],
    /// Members added at the end of `process` (`,"user":{...}`: a later member replaces an
    /// earlier one of the same name), as JSON text with a leading comma.
    pub process: &'a str,
    /// Members added at the end of `linux`.
    pub linux: &'a str,
    /// Members added at the top, each with a trailing comma.
    pub top: &'a str,
    /// Mounts after the standard ones (JSON objects with a leading comma).
    pub mounts: &'a str,
    /// Replaces the namespace list.
    pub namespaces: Option<&'a str>,
    pub readonly: bool,
}

pub const STD_MOUNTS: &str = r#"{"destination":"/proc","type":"proc","source":"proc"},
 {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
 {"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620"]},
 {"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
 {"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
 {"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
 {"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","ro"]}"#;

pub const CAPS: &str = r#"["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT","CAP_KILL"]"#;

pub fn json_strs(items: &[&str]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            let s = s.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{}\"", s.replace('\n', "\\n").replace('\t', "\\t"))
        })
        .collect();
    format!("[{}]", quoted.join(","))
}

impl Config<'_> {
    pub fn text(&self, root: &Path) -> String {
        let namespaces = self.namespaces.unwrap_or(
            r#"[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}]"#,
        );
        format!(
            r#"{{"ociVersion":"1.0.2-dev",{top}
"process":{{"terminal":false,"user":{{"uid":0,"gid":0}},"args":{args},
  "env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],"cwd":"/",
  "capabilities":{{"bounding":{CAPS},"effective":{CAPS},"permitted":{CAPS}}},
  "rlimits":[{{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}}],"noNewPrivileges":true{process}}},
"root":{{"path":"{root}","readonly":{readonly}}},
"hostname":"ocibox",
"mounts":[{STD_MOUNTS}{mounts}],
"linux":{{"namespaces":{namespaces},
  "maskedPaths":["/proc/kcore","/proc/keys","/proc/timer_list","/sys/firmware"],
  "readonlyPaths":["/proc/sys","/proc/sysrq-trigger"]{linux}}}}}"#,
            top = self.top,
            process = self.process,
            args = json_strs(self.args),
            root = root.display(),
            readonly = self.readonly,
            mounts = self.mounts,
            linux = self.linux,
        )
    }
}

impl Bundle {
    /// A bundle in the fixture's scratch directory; `own_rootfs` copies the rootfs (for configs
    /// whose mount points are not in the shared one).
    pub fn new(f: &Fixture, name: &str, own_rootfs: bool) -> Bundle {
        let dir = f.scratch.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let root = match own_rootfs {
            true => f.rootfs_copy(&format!("{name}-rootfs")),
            false => rootfs().to_path_buf(),
        };
        Bundle { dir, root }
    }

    pub fn write(&self, c: &Config<'_>) -> &Self {
        std::fs::write(self.dir.join("config.json"), c.text(&self.root)).unwrap();
        self
    }
}

/// `nsbox --root STATE --log LOG --log-format json ARGS...` as conmon calls it, from `cwd`.
pub fn oci(f: &Fixture, args: &[&str]) -> Out {
    let log = f.scratch.join("log.json");
    // stdout and stderr are files: a created container keeps them open after create exits,
    // and a pipe would keep output() waiting.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (out, err) = (
        f.scratch.join(format!("out.{n}")),
        f.scratch.join(format!("err.{n}")),
    );
    let status = Command::new(nsbox_bin())
        .arg("--root")
        .arg(&f.state_root)
        .arg(format!("--log={}", log.display()))
        .arg("--log-format=json")
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    Out(std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    })
}

/// create, then start; the container's stdout and stderr go to `out` (a file of the scratch
/// directory). Returns the pid from the pid file.
pub fn create_and_start(f: &Fixture, b: &Bundle, id: &str) -> (u32, PathBuf) {
    let out = f.scratch.join(format!("{id}.out"));
    let pid_file = f.scratch.join(format!("{id}.pid"));
    let file = std::fs::File::create(&out).unwrap();
    let status = Command::new(nsbox_bin())
        .arg("--root")
        .arg(&f.state_root)
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "create failed: {}",
        std::fs::read_to_string(&out).unwrap()
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(!pid.ends_with('\n'), "the pid file holds the number alone");
    oci(f, &["start", id]).ok();
    (pid.parse().unwrap(), out)
}

pub fn status_of(f: &Fixture, id: &str) -> String {
    let state = oci(f, &["state", id]).ok();
    state
        .split("\"status\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// Runs `args` in a container of config `c` (create, start, wait for stopped, delete) and
/// returns what it printed.
pub fn output_of(f: &Fixture, b: &Bundle, id: &str, c: Config<'_>) -> String {
    b.write(&c);
    let (_, out) = create_and_start(f, b, id);
    wait_until(&format!("{id} stopped"), 10, || {
        status_of(f, id) == "stopped"
    });
    oci(f, &["delete", id]).ok();
    std::fs::read_to_string(out).unwrap()
}

/// The last JSON line of the log, as clients read it.
pub fn last_log_msg(f: &Fixture) -> String {
    let text = std::fs::read_to_string(f.scratch.join("log.json")).unwrap_or_default();
    let line = text.lines().last().unwrap_or_default().to_string();
    assert!(
        line.starts_with("{\"level\":\"error\",\"msg\":\"") && !line.contains("\"msg\":\"nsbox: "),
        "log line: {line:?}"
    );
    assert!(line.contains("\"time\":\"20"), "log line: {line:?}");
    line
}

pub fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    after.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The descriptor that came with the next message on `stream` (SCM_RIGHTS), as a console
/// socket's client receives the pty master.
pub fn receive_fd(stream: &std::os::unix::net::UnixStream) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut buf = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    #[repr(C, align(8))]
    struct Control([u8; 64]);
    let mut control = Control([0; 64]);
    // SAFETY: a zeroed msghdr is valid; it points at `iov` and `control`, which outlive the
    // call; the kernel writes at most their lengths.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = control.0.len();
        let n = libc::recvmsg(stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
        assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        assert!(!cmsg.is_null(), "no descriptor came with the message");
        assert_eq!((*cmsg).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg) as *const libc::c_int);
        std::os::fd::OwnedFd::from_raw_fd(fd)
    }
}

/// Removes the (empty) cgroup parent `name` a test's cgroupsPath made, in every hierarchy:
/// nsbox leaves a cgroupsPath's ancestors to their owner, the test here.
pub fn remove_cgroup_parent(name: &str) {
    let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(name));
    if let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") {
        for h in hierarchies.flatten() {
            let _ = std::fs::remove_dir(h.path().join(name));
        }
    }
}

/// Everything written to a pty until its last slave descriptor closes (EIO), `\r` removed.
pub fn read_pty(master: std::os::fd::OwnedFd) -> String {
    use std::io::Read;
    let mut master = std::fs::File::from(master);
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = master.read(&mut chunk) {
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8_lossy(&seen).replace('\r', "")
}

/// `nsbox --root STATE ARGS...` under a subreaper, as conmon and the shim run it: the probe
/// prints `create ok` (or `create failed`) when nsbox returns, then `reaped PID SIG` for what
/// it inherited. Returns the subreaper and its lines.
pub fn under_subreaper(
    f: &Fixture,
    args: &[&std::ffi::OsStr],
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
) {
    let mut reaper = Command::new(super::probe_bin())
        .arg("subreaper")
        .arg(nsbox_bin())
        .arg("--root")
        .arg(&f.state_root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(reaper.stdout.take().unwrap()));
    (reaper, lines)
}
