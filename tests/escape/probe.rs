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
