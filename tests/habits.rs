//! The native CLI as docker and podman users type it: `--tmpfs DST:OPTIONS`, `--env-file`,
//! `-u NAME[:GROUP]`, and the container's own /etc/hosts and /etc/hostname. What the
//! container sees is asserted across the option matrix, and what the host and the image keep.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// A copy of the rootfs with mount points for the tmpfs tests and a user `www` in two groups.
fn image(f: &Fixture) -> std::path::PathBuf {
    let r = f.rootfs_copy("image");
    for dir in ["mnt", "srv", "opt", "var/www"] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    let add = |file: &str, text: &str| {
        let path = r.join(file);
        let mut all = std::fs::read_to_string(&path).unwrap();
        all.push_str(text);
        std::fs::write(&path, all).unwrap();
    };
    add("etc/passwd", "www:x:33:33:www:/var/www:/bin/sh\n");
    add(
        "etc/group",
        "www:x:33:\nwheel:x:10:root,www\naudio:x:29:www\n",
    );
    r
}

#[test]
fn tmpfs_options_take_effect_in_every_mode() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = image(&f);
    let script = "grep ' /mnt ' /proc/mounts | cut -d' ' -f4 | tr , '\\n' | grep -x 'noexec\\|nosuid\\|nodev\\|size=1024k\\|mode=700\\|ro' | sort | tr '\\n' ' '; echo; \
        stat -c '%a %u' /mnt; \
        dd if=/dev/zero of=/mnt/f bs=1k count=2048 2>/dev/null && echo over-size; \
        cp /bin/busybox /opt/true && /opt/true 2>/dev/null; echo default=$?; \
        cp /bin/busybox /srv/true && /srv/true && echo exec-ok; \
        touch /srv/ro 2>/dev/null || echo srv-read-only";
    for (mode, _) in MODES {
        let out = run_in(
            &f,
            mode,
            &r,
            &[
                "--tmpfs",
                "/mnt:size=1m,mode=700,uid=65534",
                "--tmpfs",
                "/opt",
                "--tmpfs",
                "/srv:exec,ro,nosuid,nodev",
                "--",
                "sh",
                "-c",
                script,
            ],
        );
        // ro after exec: /srv cannot take busybox, so exec is tried from where cp failed.
        assert_eq!(out.code(), 0, "{mode}: {} {}", out.stdout(), out.stderr());
        assert_eq!(
            out.stdout(),
            "mode=700 nodev noexec nosuid size=1024k \n700 65534\ndefault=126\nsrv-read-only\n",
            "{mode}"
        );
    }
    for (mode, _) in MODES {
        let out = run_in(
            &f,
            mode,
            &r,
            &[
                "--tmpfs",
                "/srv:exec",
                "--",
                "sh",
                "-c",
                "cp /bin/busybox /srv/true && /srv/true && echo exec-ok",
            ],
        );
        assert_eq!(out.stdout(), "exec-ok\n", "{mode}: {}", out.stderr());
    }
    for (bad, says) in [
        ("/mnt:suid", "suid is refused"),
        ("/mnt:dev", "dev is refused"),
        ("/mnt:size=big", "size=big: expected a size"),
        ("/mnt:mode=9", "mode=9: expected octal"),
        ("/mnt:bogus", "unknown option \"bogus\""),
    ] {
        let out = f.run(&["-r", r.to_str().unwrap(), "--tmpfs", bad, "--", "true"]);
        assert_eq!(out.code(), 125, "{bad}");
        let err = out.stderr();
        assert!(
            err.contains(says) && err.lines().count() == 1,
            "{bad}: {err}"
        );
    }
    f.assert_clean();
}

#[test]
fn env_file_in_docker_format_with_e_winning() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let file = f.scratch.join("vars.env");
    std::fs::write(
        &file,
        "# settings\n\nA=from-file\nB=\"quoted\" value\nFROM_NSBOX\nNOT_SET_ANYWHERE\n",
    )
    .unwrap();
    let out = Out(f
        .command(&[
            "-r",
            rootfs().to_str().unwrap(),
            "--env-file",
            file.to_str().unwrap(),
            "-e",
            "A=from-e",
            "--",
            "sh",
            "-c",
            "echo \"$A|$B|$FROM_NSBOX|${NOT_SET_ANYWHERE-unset}\"",
        ])
        .env("FROM_NSBOX", "inherited")
        .env_remove("NOT_SET_ANYWHERE")
        .output()
        .unwrap());
    assert_eq!(out.ok(), "from-e|\"quoted\" value|inherited|unset\n");
    std::fs::write(&file, "A=1\nB C=2\n").unwrap();
    let out = f.run(&["--env-file", file.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("line 2") && out.stderr().contains("whitespace"),
        "{}",
        out.stderr()
    );
    let out = f.run(&["--env-file", "/nonexistent/env", "--", "true"]);
    assert!(
        out.code() == 125 && out.stderr().contains("cannot read it"),
        "{}",
        out.stderr()
    );
    f.assert_clean();
}

#[test]
fn user_names_come_from_the_containers_passwd_in_every_mode() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = image(&f);
    let script = "id; echo $HOME; cat /proc/self/status | grep ^Groups";
    for (mode, _) in MODES {
        if mode == "host" {
            // The host's / is the rootfs: its own passwd is the container's.
            let out = run_in(&f, mode, &r, &["-u", "nobody", "--", "id", "-u"]);
            assert_eq!(out.ok(), "65534\n", "{mode}");
            continue;
        }
        let out = run_in(&f, mode, &r, &["-u", "www", "--", "sh", "-c", script]);
        assert_eq!(
            out.ok(),
            "uid=33(www) gid=33(www) groups=10(wheel),29(audio)\n/var/www\nGroups:\t10 29 \n",
            "{mode}"
        );
        let out = run_in(
            &f,
            mode,
            &r,
            &[
                "-u",
                "www:audio",
                "-e",
                "HOME=/h",
                "--",
                "sh",
                "-c",
                "id -u; id -g; echo $HOME",
            ],
        );
        assert_eq!(out.ok(), "33\n29\n/h\n", "{mode}");
        let out = run_in(
            &f,
            mode,
            &r,
            &["-u", "7:wheel", "--", "sh", "-c", "id -u; id -g"],
        );
        assert_eq!(out.ok(), "7\n10\n", "{mode}");
    }
    // Unknown names: one line, 125, nothing made.
    let rs = r.to_str().unwrap();
    for (user, says) in [
        ("bob", "no user \"bob\" in the container's /etc/passwd"),
        (
            "www:staff",
            "no group \"staff\" in the container's /etc/group",
        ),
    ] {
        let out = f.run(&["-r", rs, "-u", user, "--", "true"]);
        assert_eq!(out.code(), 125, "{user}");
        assert!(
            out.stderr().contains(says) && out.stderr().lines().count() == 1,
            "{}",
            out.stderr()
        );
    }
    // The image's /etc/passwd is read with the image as `/`: a symlink to a host path finds
    // nothing there (the host's file would name the user), and a FIFO is not waited on.
    let evil = f.rootfs_copy("evil");
    let host_passwd = f.scratch.join("host-passwd");
    std::fs::write(&host_passwd, "evil:x:0:0::/:/bin/sh\n").unwrap();
    std::fs::remove_file(evil.join("etc/passwd")).unwrap();
    std::os::unix::fs::symlink(&host_passwd, evil.join("etc/passwd")).unwrap();
    let out = f.run(&["-r", evil.to_str().unwrap(), "-u", "evil", "--", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("has no /etc/passwd"),
        "{}",
        out.stderr()
    );
    std::fs::remove_file(evil.join("etc/passwd")).unwrap();
    let ok = Command::new("mkfifo")
        .arg(evil.join("etc/passwd"))
        .status()
        .unwrap();
    assert!(ok.success());
    let out = f.run(&["-r", evil.to_str().unwrap(), "-u", "evil", "--", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("is not a regular file"),
        "{}",
        out.stderr()
    );
    f.assert_clean();
}

#[test]
fn exec_takes_user_names_from_the_running_container() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let r = image(&f);
    f.detach("named", &["-r", r.to_str().unwrap(), "--", "sleep", "30"]);
    let out = f.manage(&[
        "exec",
        "-u",
        "www:audio",
        "named",
        "sh",
        "-c",
        "id -u; id -g; id -G; echo $HOME",
    ]);
    assert_eq!(out.ok(), "33\n29\n29 10\n/var/www\n");
    let out = f.manage(&["exec", "-u", "nobody-here", "named", "true"]);
    assert_eq!(out.code(), 125);
    assert!(
        out.stderr().contains("no user \"nobody-here\""),
        "{}",
        out.stderr()
    );
    f.manage(&["rm", "-f", "named"]).ok();
    f.assert_clean();
}

#[test]
fn each_container_has_its_own_hostname_and_hosts_files_in_every_mode() {
    if !can_run() {
        return;
    }
    let f = Fixture::new();
    let host_hostname = std::fs::read("/etc/hostname").ok();
    let host_hosts = std::fs::read("/etc/hosts").unwrap();
    let image_files = |r: &Path| {
        (
            std::fs::read(r.join("etc/hostname")).unwrap(),
            std::fs::read(r.join("etc/hosts")).unwrap(),
        )
    };
    let before = image_files(rootfs());
    for (mode, _) in MODES {
        let out = run_in(
            &f,
            mode,
            rootfs(),
            &[
                "--hostname",
                "box",
                "--",
                "sh",
                "-c",
                "cat /etc/hostname; grep -w box /etc/hosts; hostname; echo x > /etc/hostname 2>/dev/null || echo read-only",
            ],
        );
        let want_address = match mode {
            "veth" | "init-veth" => "10.0.0.2",
            "bridge" => "10.88.0.2",
            _ => "127.0.1.1",
        };
        assert_eq!(
            out.ok(),
            format!("box\n{want_address}\tbox\nbox\nread-only\n"),
            "{mode}"
        );
    }
    // --net host: the host's names and resolver too (the image's empty resolv.conf is
    // covered); --net none keeps the image's.
    let out = f.run(&[
        "--net",
        "host",
        "--hostname",
        "hb",
        "--",
        "sh",
        "-c",
        "cat /etc/resolv.conf; grep -c . /etc/hosts",
    ]);
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let lines = String::from_utf8_lossy(&host_hosts)
        .lines()
        .filter(|l| !l.is_empty())
        .count()
        + 1;
    assert_eq!(out.ok(), format!("{resolv}{lines}\n"));
    assert_eq!(f.run(&["--", "cat", "/etc/resolv.conf"]).ok(), "");
    // A detached container's exec sees the same files.
    f.detach("etcd", &["--hostname", "dbox", "--", "sleep", "30"]);
    assert_eq!(
        f.manage(&["exec", "etcd", "cat", "/etc/hostname"]).ok(),
        "dbox\n"
    );
    f.manage(&["rm", "-f", "etcd"]).ok();
    // Nothing was written in the image or on the host.
    assert_eq!(image_files(rootfs()), before);
    assert_eq!(std::fs::read("/etc/hostname").ok(), host_hostname);
    assert_eq!(std::fs::read("/etc/hosts").unwrap(), host_hosts);
    f.assert_clean();
}
