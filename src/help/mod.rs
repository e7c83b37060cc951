//! `nsbox help [COMMAND]` and `--help`: the full text, with examples.

mod manage;
mod oci;

use manage::{DOCTOR, EXEC, INSPECT, KILL, LOGS, PS, RM, STOP, WAIT};

pub const GENERAL: &str = "\
nsbox - run a command in a Linux container, one visible syscall at a time

Usage:
  nsbox run [OPTIONS] [--] [COMMAND [ARG...]]   run a command in a new container
  nsbox ps [-a] [-q] [--json]                   list containers
  nsbox logs [-f] [-t] [--tail N] ID            what a detached container wrote
  nsbox exec [OPTIONS] ID COMMAND [ARG...]      run a command in a running container
  nsbox stop [-t SECONDS] ID...                 TERM, then KILL after a grace period
  nsbox kill [-s SIGNAL] ID                     send a signal to a container
  nsbox wait ID...                              wait for containers to end; print exit codes
  nsbox inspect ID...                           a container's record, as JSON
  nsbox rm [-f] ID...                           remove ended containers
  nsbox gc [--root DIR]                         remove what crashed containers left behind
  nsbox doctor [--json]                         check that this host can run containers
  nsbox version                                 show version, git revision and build target
  nsbox help [COMMAND]                          show help (also: -h, --help)
  nsbox create|start|state|kill|delete|run|list|spec|features ...
                                                the OCI runtime, runc's command line over a
                                                bundle (podman, containerd): nsbox help oci

Examples:
  nsbox run -- ps aux                           the host's / read-only, own pid/mount/net/... namespaces
  nsbox run --rootfs ./rootfs --hostname box -- sh
  nsbox run --rootfs ./rootfs --trace -- /bin/true
  nsbox run -d --name web --rootfs ./rootfs -- sleep 1000; nsbox exec web ps; nsbox rm -f web
  nsbox doctor                                  what this host lacks, with the fixes

Exit codes: the command's own; 128+N when it was killed by signal N; 125 when nsbox itself
failed; 126 when the command cannot be executed; 127 when it was not found.
";

pub const RUN: &str = "\
nsbox run - run COMMAND in a new container and return its exit code

Usage: nsbox run [OPTIONS] [--] [COMMAND [ARG...]]

The container gets its own pid, mount, uts, ipc, cgroup and network namespaces. COMMAND is
looked up in the container's PATH; without one, /bin/sh runs. Options end at COMMAND.

Options:
  -r, --rootfs DIR          root filesystem (a directory). Default: the host's / bind-mounted
                            read-only, with private /proc, /dev, /sys, /tmp, /var/tmp and /run.
                            Everything else of the host's stays readable (root in it reads
                            /etc/shadow, /root, /home), and a unix socket elsewhere on it can
                            still be connected to: use --rootfs for anything untrusted
      --name ID             container id, unique on this host (default: 12 random hex digits)
      --hostname NAME       hostname inside (default: the id)
  -e, --env KEY=VALUE       set a variable (repeatable); defaults: PATH, HOME, HOSTNAME.
                            -e KEY alone: KEY's value in nsbox's environment (unset if none)
      --env-file FILE       variables from FILE, docker's format: KEY=VALUE lines (the value
                            as written, quotes included), # comment lines, a bare KEY as -e KEY;
                            repeatable; -e wins over a file
  -w, --workdir DIR         working directory inside (default: /); it must exist
  -u, --user USER[:GROUP]   user and group to run as (default 0:0): numbers (GID defaults to
                            UID), or names looked up in the container's /etc/passwd and
                            /etc/group (a named user gets its primary group, the groups that
                            list it, and its HOME unless -e sets one)
  -v, --volume SRC:DST[:ro] bind-mount host path SRC at DST (repeatable; :rw is the default).
                            DST is resolved inside the rootfs: '..' and symlinks that lead out
                            of it are refused; a missing DST is created (with --read-only
                            only inside a --tmpfs or /dev, never in the image).
                            Mounts nest parents first: with -v SRC:/d --tmpfs /d/x, the
                            mount point x is created in SRC
      --tmpfs DST[:OPTS]    mount an empty tmpfs at DST (repeatable). OPTS, comma-separated
                            as docker's: size=SIZE (k, m, g), mode=OCTAL (default 1777),
                            uid=N, gid=N, nr_inodes=N, exec (default noexec), ro, rw; it is
                            always nosuid and nodev
      --read-only           mount the rootfs read-only (volumes and tmpfs keep their modes)
      --net MODE            none: own network namespace with only lo, up (default)
                            host: share the host's network namespace
                            veth[:HOST_CIDR,CONTAINER_CIDR]: a veth pair, point to point:
                            HOST_CIDR on the host's end (nsb + 8 hex digits of a hash of the
                            id), CONTAINER_CIDR on eth0 inside, its default route via the host
                            (default 10.0.0.1/24,10.0.0.2/24: one such container per subnet)
                            bridge[:CIDR]: the host's end is a port of the bridge nsbox0 (made
                            on first use with CIDR, default 10.88.0.1/16); eth0 gets the lowest
                            free address of that subnet (a lease in DIR/.leases), so containers
                            reach each other and the host. 'nsbox gc' removes the bridge once
                            no container is on it
                            veth and bridge: IPv4; built with netlink messages (see --trace);
                            /etc/hosts and /etc/hostname show the name and address (bound
                            read-only over the image's files, if it has them); the pair goes
                            with the container's network namespace when it ends
                            ns:PATH: join the network namespace of the file PATH (as 'ip netns
                            add NAME' makes /run/netns/NAME); nsbox changes nothing in it
      --chroot              enter the rootfs with chroot(2) instead of pivot_root(2).
                            pivot_root moves the whole mount tree and detaches the old root, so
                            no host path is left to reach; chroot only changes what '/' means
                            for the process: the host's mounts stay in the namespace and a
                            process with CAP_SYS_CHROOT can climb back out, so with --chroot
                            the container does not get CAP_SYS_CHROOT (unless --cap-add
                            SYS_CHROOT, which lets root out). For learning only
      --userns              a user namespace of its own, with the uid and gid maps below
                            (default for root: 0-65535 inside is 100000-165535 on the host, so
                            an escaped process is nobody there). Works without root, with
                            --rootfs a directory you own and --net none or host: you are root
                            inside and, as podman maps them, your /etc/subuid and /etc/subgid
                            ranges are ids 1 and up (through newuidmap and newgidmap); without
                            ranges or helpers, your own ids alone (--trace and 'nsbox doctor'
                            say which). Device nodes are the host's, bound (mknod is refused in
                            a user namespace)
      --uidmap C:H:N        map N uids from C inside to H on the host (repeatable; implies
      --gidmap C:H:N        --userns). Without root: your own id, plus ranges of /etc/subuid
                            and /etc/subgid through newuidmap and newgidmap (package uidmap)
                            Not with --userns yet: limits; without root: veth, bridge, and the
                            host's / as rootfs (each refused with its reason)
  -m, --memory SIZE         memory limit, swap included: bytes or k, m, g (powers of 1024);
                            at least 6m. A container the kernel kills for lack of memory ends
                            with 'container killed: out of memory' and exit code 137
      --pids-limit N        at most N processes and threads (fork fails beyond)
      --cpus FLOAT          CPU time, in CPUs (0.5 = half of one), at most the CPUs online
      --cpuset CPUS         the CPUs it may run on, e.g. 0-2,5
                            Limits put the container in cgroups of its own, <nsbox's cgroup>/
                            nsbox/ID in each hierarchy that is needed (cgroup v1, v2 or both:
                            hybrid); it sees them read-only at /sys/fs/cgroup, itself at '/'.
                            Without limits it gets a cgroup namespace and an empty
                            /sys/fs/cgroup
      --cap-add CAPS        capabilities to add (comma-separated names from capabilities(7),
                            with or without CAP_, or ALL; repeatable)
      --cap-drop CAPS       capabilities to drop (same form; --cap-drop ALL --cap-add X keeps
                            X alone). Default set, as in podman: CHOWN DAC_OVERRIDE FOWNER
                            FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT
                            SETFCAP, in the bounding, permitted and effective sets of uid 0;
                            another --user starts with none. Inheritable and ambient sets are
                            always empty. ICMP datagram sockets (iputils' ping) work without
                            NET_RAW in the container's own network namespace
                            (net.ipv4.ping_group_range); raw and packet sockets, busybox's
                            ping among them, need --cap-add NET_RAW
      --seccomp MODE        default: a built-in filter makes kexec, modules, bpf, perf, keyctl,
                            mount, unshare, setns, namespace-making clones, device mknod,
                            io_uring, userfaultfd, TIOCSTI (typing into the caller's
                            terminal), ... fail with EPERM (clone3: ENOSYS, so C
                            libraries fall back to clone). Only this machine's native ABI runs
                            (x32 calls fail; 32-bit binaries are killed).
                            unconfined: no filter (root in the container can then create
                            device nodes in /dev and open them: also --cap-drop MKNOD)
      --no-new-privs[=BOOL] PR_SET_NO_NEW_PRIVS (default true): setuid binaries and file
                            capabilities grant nothing; false lets su and sudo work
                            Always: /proc/kcore, keys, interrupts, timer_list, ... read as
                            empty; /proc/sys, sysrq-trigger, bus, fs, irq are read-only;
                            /sys/firmware and powercap are hidden; the rootfs and volumes are
                            nodev (a volume that is itself a device node keeps it: bind each
                            device, not a directory of them); descriptors past 2 are closed
                            at execve
  -d, --detach              run in the background: print the id and return once the command
                            runs. A supervisor (a fork of nsbox) waits for it, keeps its output
                            in DIR/ID/log ('nsbox logs'), tears it down when it ends and
                            records its exit code ('nsbox ps -a'); stdin is /dev/null
      --rm                  with -d, remove the record too when the container ends (a
                            foreground run leaves nothing anyway)
      --init                nsbox stays PID 1 (a tiny init, no binary added): the command runs
                            as PID 2, orphans are reaped, signals are forwarded to the command,
                            and its exit code is kept. The init is undumpable and shows no
                            command line; --cap-add SYS_PTRACE would let root in the container
                            read (not write) the nsbox binary through /proc/1/exe
  -t, --tty                 give the command a pseudo-terminal from the container's own devpts
                            (also /dev/console), and TERM=xterm unless -e TERM=...; the caller's
                            terminal is raw until the end and its window size follows. With -d,
                            the terminal's output is logged
  -i, --interactive         accepted, as docker's -it: stdin always reaches the command
      --trace               print every step and syscall (arguments, result, microseconds) on
                            stderr, in the order the kernel saw them
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to nsbox go to the
container's PID 1. A namespace's init ignores signals it has no handler for; for those nsbox
carries out the default action (it kills the container) and exits with 128+N.

Examples:
  nsbox run --rootfs ./rootfs -- sh -c 'echo hello from $(hostname)'
  nsbox run --rootfs ./rootfs --read-only -v $PWD:/home:ro -- ls /home
  nsbox run --rootfs ./rootfs --net host -u 1000 -w /tmp -- id
  nsbox run --rootfs ./rootfs --net veth --cap-add NET_RAW -- ping -c1 10.0.0.1
  nsbox run -d --name db --rootfs ./rootfs --net bridge -- nc -l -p 5000; nsbox ps
  nsbox run --rootfs ./rootfs --pids-limit 20 -m 64m --cpus 0.5 -- sh
  nsbox run --userns --rootfs ~/rootfs -- id          as an ordinary user: root inside
";

pub const GC: &str = "\
nsbox gc - remove what crashed containers left behind

Usage: nsbox gc [--root DIR]

A running nsbox (or a detached container's supervisor) holds a lock on its state directory
(DIR/ID). gc takes every state directory that nobody holds (its nsbox was killed, e.g. with
SIGKILL, or the machine crashed while DIR survived), removes the cgroups and the network
interface recorded in it, returns its address lease, then removes its files and the directory,
and prints each id. Running containers are never touched, nor detached containers that ended
(their record and log stay until 'nsbox rm'). Then it returns the leases whose container is
gone and removes the bridge nsbox0 when no container is on it ('lease ...', 'bridge nsbox0').

Options:
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Example:
  nsbox gc && nsbox ps -a
";

pub const VERSION: &str = "\
nsbox version - show the version, git revision, target triple and build profile

Usage: nsbox version   (also: nsbox --version, nsbox -V)
";

/// The help text for `command`, or None if there is no such command.
pub fn text(command: Option<&str>) -> Option<&'static str> {
    match command {
        None => Some(GENERAL),
        Some("run") => Some(RUN),
        Some("version") => Some(VERSION),
        Some("gc") => Some(GC),
        Some("ps") => Some(PS),
        Some("logs") => Some(LOGS),
        Some("exec") => Some(EXEC),
        Some("kill") => Some(KILL),
        Some("stop") => Some(STOP),
        Some("wait") => Some(WAIT),
        Some("inspect") => Some(INSPECT),
        Some("rm") => Some(RM),
        Some("doctor") => Some(DOCTOR),
        Some("oci") => Some(oci::OCI),
        Some("help") => Some(GENERAL),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `fn parse_NAME` of the parser's source with its body, for every command.
    fn parsers() -> Vec<(String, String)> {
        let source = [
            include_str!("../cli/mod.rs"),
            include_str!("../cli/manage.rs"),
            include_str!("../cli/control.rs"),
        ]
        .concat();
        let mut found = Vec::new();
        for chunk in source.split("fn parse_").skip(1) {
            let (name, body) = chunk.split_once('(').unwrap();
            let end = body.find("\n}\n").unwrap_or(body.len());
            found.push((name.to_string(), body[..end].to_string()));
        }
        found
    }

    /// The `Long("x")` and `Short('x')` patterns of a parser body, as `--x` and `-x,`.
    fn flags(body: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (open, close, prefix, suffix) in
            [("Long(\"", '"', "--", ""), ("Short('", '\'', "-", ",")]
        {
            for part in body.split(open).skip(1) {
                let name = &part[..part.find(close).unwrap()];
                out.push(format!("{prefix}{name}{suffix}"));
            }
        }
        if body.contains("common(") {
            out.extend(["--root".to_string(), "--help".to_string()]);
        }
        out
    }

    #[test]
    fn help_mentions_every_flag_the_parser_accepts() {
        let mut commands = 0;
        for (name, body) in parsers() {
            let Some(command) = text(Some(name.as_str())) else {
                // Helpers (parse_env, parse_user, ...) parse values, not flags.
                assert!(
                    !body.contains("Long(\""),
                    "parse_{name} reads flags but has no help"
                );
                continue;
            };
            commands += 1;
            for flag in flags(&body) {
                assert!(
                    command.contains(&flag),
                    "nsbox help {name} does not mention {flag}"
                );
            }
            assert!(
                GENERAL.contains(&format!("nsbox {name} ")),
                "nsbox help lists {name}"
            );
        }
        // run, gc, ps, logs, exec, kill, rm, doctor, stop.
        assert_eq!(commands, 9);
        assert!(RUN.contains("--no-new-privs[=BOOL]") && RUN.contains("-r, --rootfs"));
    }
}
