//! Help for the commands that manage containers.

pub const PS: &str = "\
nsbox ps - list containers

Usage: nsbox ps [-a] [-q] [--json] [--root DIR]

Shows running containers (-a: also those that ended and are not removed yet, and dead ones
whose nsbox was killed, which 'nsbox gc' removes): ID, host PID of its PID 1, STATUS
(running, exited (CODE), dead), UPTIME (how long it ran), ADDRESS and COMMAND. The ID is the
--name given to 'nsbox run', else 12 random hex digits.

Options:
  -a, --all                 also ended and dead containers
  -q, --quiet               only the ids, one a line
      --json                a JSON array, one object per container (for scripts)
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox ps -a
  nsbox rm $(nsbox ps -aq)
";

pub const LOGS: &str = "\
nsbox logs - show what a detached container wrote

Usage: nsbox logs [-f] [-t] [--tail N] [--root DIR] ID

A container started with 'nsbox run -d' writes its stdout and stderr, in order, to DIR/ID/log
(with -t, what its terminal showed); DIR/ID/log.times notes when each piece came. Both stay
until 'nsbox rm'.

Options:
  -f, --follow              keep printing what it writes until it ends
  -t, --timestamps          put the time each line came (RFC 3339, UTC, in nanoseconds)
                            before it
  -n, --tail N              only the last N lines (then, with -f, what follows); all: every
                            line (the default)
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox run -d --name web -r ./rootfs -- httpd -f -p 8080 && nsbox logs -f web
  nsbox logs -t --tail 20 web
";

pub const EXEC: &str = "\
nsbox exec - run another command inside a running container

Usage: nsbox exec [OPTIONS] [--root DIR] ID COMMAND [ARG...]

nsbox joins the container's user namespace (if it has one: then its owner needs no root),
its ipc, uts, net and mount namespaces and the root of its PID 1 (setns(2) on
/proc/PID/ns/*, then chroot), then its pid namespace, and creates the process
there, which joins the container's cgroups (those of its limits; without limits it stays in
the caller's cgroup) and cgroup namespace. The process gets the
same environment, user, working directory, capabilities, no_new_privs and seccomp filter as
the container's command, unless overridden. nsbox runs from a read-only image of its binary
and makes itself undumpable before it joins, so root in the container can neither open nor
overwrite /proc/PID/exe of nsbox (CVE-2019-5736). Exit code and signals
as for 'nsbox run'.

Options:
  -e, --env KEY=VALUE       set a variable (repeatable), over the container's own
  -w, --workdir DIR         working directory inside (default: the container's)
  -u, --user USER[:GROUP]   user and group (default: the container's): numbers, or names from
                            the container's /etc/passwd and /etc/group, as with run
  -t, --tty                 a pseudo-terminal from the container's devpts (stdin must be one),
                            TERM=xterm unless the container's environment or -e sets one
  -i, --interactive         accepted, as docker's -it: stdin always reaches the command
      --trace               print every step and syscall on stderr
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox exec web ps
  nsbox exec -t -u 1000 -w /tmp web sh
";

pub const KILL: &str = "\
nsbox kill - send a signal to a running container

Usage: nsbox kill [-s SIGNAL] [--root DIR] ID

TERM, INT, HUP, QUIT, USR1 and USR2 go to the container's nsbox, which forwards them to PID 1,
or, when PID 1 has no handler for one (the kernel would drop it), ends the container as the
signal's default action would. Other signals (KILL, STOP, CONT, WINCH, ...) go to PID 1.

Options:
  -s, --signal SIGNAL       a name (TERM, SIGTERM, term) or a number (default: TERM)
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox kill web
  nsbox kill -s HUP web                     e.g. to make a server reread its configuration
";

pub const STOP: &str = "\
nsbox stop - stop running containers: a signal, then SIGKILL after a grace period

Usage: nsbox stop [-t SECONDS] [-s SIGNAL] [--root DIR] ID...

Sends SIGNAL (TERM) as 'nsbox kill' does, waits up to SECONDS (10) for the container to end,
then sends SIGKILL to its PID 1. It returns once the container's nsbox has torn it down (its
cgroups and network gone), and prints each id; a container that already ended is just
printed. A detached container's record stays for 'nsbox ps -a', 'wait' and 'rm' (not with
--rm).

Options:
  -t, --time SECONDS        the grace period (default 10; 0: SIGKILL at once); also
                            --timeout, as newer docker spells it
  -s, --signal SIGNAL       the first signal (default TERM)
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox stop web
  nsbox stop -t 2 $(nsbox ps -q)
";

pub const WAIT: &str = "\
nsbox wait - wait for detached containers to end, and print their exit codes

Usage: nsbox wait [--root DIR] ID...

Prints each container's exit code (the command's, or 128+N when signal N killed it) once it
ended, one line each, in the order given; one that already ended is printed at once. A
foreground container's code goes to the nsbox that runs it, and one started with --rm keeps
none: both are refused.

Options:
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Example:
  nsbox run -d --name job -r ./rootfs -- sh -c 'sleep 2; exit 3' && nsbox wait job
";

pub const INSPECT: &str = "\
nsbox inspect - what nsbox knows of containers, as JSON

Usage: nsbox inspect [--root DIR] ID...

A JSON array with one object per container: id, hostname, status (running, exited, dead),
pid (of PID 1, on the host), exit_code, created (its state made), started (its command's
execve), finished, detached, rootfs (a directory, or host), command, env, workdir, user (uid,
gid, groups), limits (pids, memory_bytes, cpus, cpuset), network (mode, address), namespaces,
capabilities, seccomp, no_new_privileges and log (a detached container's output). Times are
RFC 3339 in UTC; what was not set is null.

Options:
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox inspect web
  nsbox inspect web | jq -r '.[0].network.address'
";

pub const RM: &str = "\
nsbox rm - remove containers that ended

Usage: nsbox rm [-f] [--root DIR] ID...

Removes each container's directory (its record and log) and anything it left on the host,
and prints its id. A running container is refused, unless -f: then its PID 1 gets SIGKILL,
its nsbox tears it down, and it is removed. A directory that holds files nsbox did not write
is left alone (the error names it).

Options:
  -f, --force               kill a running container first
      --root DIR            state directory (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox rm web
  nsbox rm -f $(nsbox ps -q)                every container, running ones too
";

pub const DOCTOR: &str = "\
nsbox doctor - check that this host can run containers, and say how to fix what cannot

Usage: nsbox doctor [--json] [--proc DIR] [--sysfs DIR] [--root DIR]

One line per item, ok, warning or problem; each warning and problem comes with its fix. What
counts depends on who asks: root needs no user namespace, an ordinary user (rootless, --userns)
does. Items: kernel (5.12 or later), namespaces (/proc/self/ns), userns (user.max_user_namespaces,
kernel.unprivileged_userns_clone, kernel.apparmor_restrict_unprivileged_userns), id-maps
(newuidmap, newgidmap, /etc/subuid and /etc/subgid), cgroups (v1, v2 or hybrid, and which of
pids, memory, cpu, cpuset nsbox can use), cgroup-delegation, state-root (the state directory),
root-mount (pivot_root cannot leave an initramfs), seccomp; two tried for real in a forked
process with namespaces of its own, which take what it made with them: pivot-root (into a
tmpfs) and network (a veth pair and a bridge, root only); and clone3 (an empty call: EINVAL
means the kernel has it).

Exit code: 0 when nsbox can run containers here (warnings only), 1 when a problem stops it,
125 for bad usage.

Options:
      --json                one JSON object: uid, can_run, problems, warnings, checks (each
                            with item, status, detail, fix)
      --proc DIR            read DIR instead of /proc (e.g. a copy of another host's)
      --sysfs DIR           read DIR instead of /sys (the cgroup files)
      --root DIR            the state directory to check (default /run/nsbox; env NSBOX_ROOT)
  -h, --help                show this help

Examples:
  nsbox doctor
  nsbox doctor --json | grep -v '\"status\":\"ok\"'
";
