//! `spec` (a default config.json, like `runc spec`) and `features` (what this nsbox honours,
//! in the runtime-spec's features document). Both are text written once here: a tree built at
//! run time cost 9 KiB of code for the same bytes.

use crate::error::{Error, Result};
use std::path::Path;

/// The default config: busybox's `sh` in a read-only `rootfs`, with nsbox's default
/// capabilities (caps::DEFAULT) and masks (masks.rs). `@USERNS@` is where `--rootless` puts its
/// user namespace and maps.
const CONFIG: &str = r#"{
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["sh"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": @CAPS@,
      "effective": @CAPS@,
      "permitted": @CAPS@
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "nsbox",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}@USERNS@],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/proc/interrupts"]@MAPS@
  }
}
"#;

const CAPS: &str = r#"["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL"]"#;

/// The features document (runtime-spec features.md): what this nsbox reads and applies.
pub const FEATURES: &str = concat!(
    r#"{"ociVersionMin":"1.0.0","ociVersionMax":"1.2.0","hooks":["prestart","createRuntime","createContainer","startContainer","poststart","poststop"],"#,
    r#""mountOptions":["async","atime","bind","defaults","dev","diratime","exec","noatime","nodev","nodiratime","noexec","norelatime","nosuid","private","rbind","relatime","ro","rprivate","rshared","rslave","runbindable","rw","shared","slave","strictatime","suid","sync","unbindable"],"#,
    r#""linux":{"namespaces":["cgroup","ipc","mount","network","pid","time","user","uts"],"#,
    r#""capabilities":["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_DAC_READ_SEARCH","CAP_FOWNER","CAP_FSETID","CAP_KILL","CAP_SETGID","CAP_SETUID","CAP_SETPCAP","CAP_LINUX_IMMUTABLE","CAP_NET_BIND_SERVICE","CAP_NET_BROADCAST","CAP_NET_ADMIN","CAP_NET_RAW","CAP_IPC_LOCK","CAP_IPC_OWNER","CAP_SYS_MODULE","CAP_SYS_RAWIO","CAP_SYS_CHROOT","CAP_SYS_PTRACE","CAP_SYS_PACCT","CAP_SYS_ADMIN","CAP_SYS_BOOT","CAP_SYS_NICE","CAP_SYS_RESOURCE","CAP_SYS_TIME","CAP_SYS_TTY_CONFIG","CAP_MKNOD","CAP_LEASE","CAP_AUDIT_WRITE","CAP_AUDIT_CONTROL","CAP_SETFCAP","CAP_MAC_OVERRIDE","CAP_MAC_ADMIN","CAP_SYSLOG","CAP_WAKE_ALARM","CAP_BLOCK_SUSPEND","CAP_AUDIT_READ","CAP_PERFMON","CAP_BPF","CAP_CHECKPOINT_RESTORE"],"#,
    r#""cgroup":{"v1":true,"v2":true,"systemd":false,"systemdUser":false,"rdma":false},"#,
    r#""seccomp":{"enabled":true,"actions":["SCMP_ACT_ALLOW","SCMP_ACT_ERRNO","SCMP_ACT_KILL","SCMP_ACT_KILL_PROCESS","SCMP_ACT_KILL_THREAD","SCMP_ACT_LOG","SCMP_ACT_TRACE","SCMP_ACT_TRAP"],"#,
    r#""operators":["SCMP_CMP_EQ","SCMP_CMP_GE","SCMP_CMP_GT","SCMP_CMP_LE","SCMP_CMP_LT","SCMP_CMP_MASKED_EQ","SCMP_CMP_NE"],"archs":["SCMP_ARCH_X86_64"]},"#,
    r#""apparmor":{"enabled":false},"selinux":{"enabled":false}}}"#
);

/// The default config; `rootless`: a user namespace mapping the caller's ids to root.
pub fn config(rootless: bool) -> String {
    let (userns, maps) = match rootless {
        false => (String::new(), String::new()),
        true => (
            r#", {"type": "user"}"#.to_string(),
            format!(
                r#",
    "uidMappings": [{{"containerID": 0, "hostID": {}, "size": 1}}],
    "gidMappings": [{{"containerID": 0, "hostID": {}, "size": 1}}]"#,
                crate::sys::geteuid(),
                crate::sys::getegid()
            ),
        ),
    };
    CONFIG
        .replace("@CAPS@", CAPS)
        .replace("@USERNS@", &userns)
        .replace("@MAPS@", &maps)
}

/// Writes `bundle/config.json`, never over an existing one.
pub fn write_spec(bundle: &Path, rootless: bool) -> Result<()> {
    let path = bundle.join("config.json");
    let text = config(rootless);
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC;
    let fd = crate::sys::fs::openat(libc::AT_FDCWD, &crate::sys::cpath(&path)?, flags, 0o644)
        .map_err(|e| {
            Error::sys(format!("create {path:?}"), e).hint_on(
                syscalls::Errno::EEXIST,
                "nsbox does not replace a config.json: remove it first",
            )
        })?;
    let written = crate::sys::write(&fd, text.as_bytes());
    crate::sys::close(fd);
    match written {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(Error::sys(format!("write {path:?}"), syscalls::Errno::EIO)),
        Err(e) => Err(Error::sys(format!("write {path:?}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::json::{Value, parse};

    #[test]
    fn the_texts_are_json_and_true_to_the_code() {
        for rootless in [false, true] {
            let text = config(rootless);
            assert!(parse(text.as_bytes()).is_ok(), "{text}");
        }
        let caps: Vec<String> = crate::process::caps::DEFAULT
            .iter()
            .map(|c| format!("\"CAP_{c}\""))
            .collect();
        assert_eq!(CAPS, format!("[{}]", caps.join(", ")));
        let f = parse(FEATURES.as_bytes()).unwrap();
        let all = f.get("linux").and_then(|l| l.get("capabilities")).cloned();
        let names: Vec<Value> = crate::process::caps::NAMES
            .iter()
            .map(|c| Value::Str(format!("CAP_{c}")))
            .collect();
        assert_eq!(all, Some(Value::Arr(names)));
    }
}
