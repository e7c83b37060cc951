#!/usr/bin/env bash
# bench.sh: start-up of /bin/true in nsbox and its peers, side by side, as ratios.
#
# Installs the peers from Debian if missing, builds the static nsbox and the floor
# (../shared/bench/floor.c), one busybox rootfs and one OCI bundle, then runs
# scripts/benchrun.py, which alternates the commands and writes docs/BENCHMARKS.md and
# docs/bench.svg. Run as root: `scripts/bench.sh [ROUNDS]` (default 300).
#
# crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported"), so the whole
# benchmark runs in a private mount namespace where /sys/fs/cgroup is a plain cgroup2 mount,
# and crun runs with --cgroup-manager=disabled. It runs in a network namespace of its own too,
# where nsbox's veth pairs and bridge come and go. Every command is measured under the same conditions.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-300}
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root (containers need it)" >&2; exit 1; }

need=()
for pair in crun:crun runc:runc bwrap:bubblewrap strace:strace python3:python3 gcc:gcc unshare:util-linux ip:iproute2; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench.sh: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$PWD/target/bench
mkdir -p "$work" docs
scripts/build-static.sh >&2
nsbox=$PWD/target/x86_64-unknown-linux-musl/release/nsbox
floor_src=../shared/bench/floor.c
[ -f "$floor_src" ] || floor_src=shared/bench/floor.c
gcc -O2 -static -o "$work/floor" "$floor_src"
# maxrss: fork, exec, wait4, print ru_maxrss. A tiny static launcher, so the peak RSS it reports
# is the command's own, not the (copied) memory of whoever started it.
cat > "$work/maxrss.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc < 2) return 2;
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0); dup2(null, 1); dup2(null, 2);
    execv(argv[1], argv + 1);
    _exit(127);
  }
  int status; struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 2;
  printf("%ld\n", ru.ru_maxrss);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
C
gcc -O2 -static -o "$work/maxrss" "$work/maxrss.c"
[ -x "$work/rootfs/bin/busybox" ] || scripts/mkrootfs.sh "$work/rootfs" >&2

# One OCI bundle for crun and runc: their default spec (capabilities, masked paths, rlimits,
# /dev/mqueue and /sys/fs/cgroup mounts), with a cgroup namespace added so the namespaces match.
bundle=$work/bundle
rm -rf "$bundle" && mkdir -p "$bundle"
(cd "$bundle" && crun spec)
python3 - "$bundle/config.json" "$work/rootfs" <<'PY'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": sys.argv[2], "readonly": False}
c["linux"]["namespaces"].append({"type": "cgroup"})
json.dump(c, open(p, "w"), indent=1)
PY

rootfs=$work/rootfs
state=$work/state
# The cost of nsbox's read-only image of itself (CVE-2019-5736): the same run, started from a
# sealed memfd that a holder made once, so that nsbox finds itself unwritable already and does
# not re-execute.
rm -f "$work/sealed"
python3 - "$nsbox" > "$work/sealed" <<'PY' &
import fcntl, os, sys, time
fd = os.memfd_create("nsbox", os.MFD_ALLOW_SEALING)
data = open(sys.argv[1], "rb").read()
while data:
    data = data[os.write(fd, data):]
fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
print(os.getpid(), fd, flush=True)
time.sleep(86400)
PY
holder=$!
trap 'kill $holder 2>/dev/null || true' EXIT
until [ -s "$work/sealed" ]; do sleep 0.05; done
read -r _ sealed_fd < "$work/sealed"
sealed=/proc/$holder/fd/$sealed_fd
cfg=$work/bench.json
cat > "$cfg" <<EOF
{
  "rounds": $rounds, "warmup": 20, "sequential": 1000, "sequential_also": {"nsbox run --net veth": 500},
  "added": [["nsbox run", "nsbox run, from a sealed copy"], ["nsbox exec", "nsbox exec, from a sealed copy"], ["nsbox run --net veth", "nsbox run"], ["nsbox run --net bridge", "nsbox run"]], "concurrency": [1, 2, 8, 32], "batches": 15,
  "reference": "nsbox run", "floor": "floor", "maxrss": "$work/maxrss",
  "markdown": "docs/BENCHMARKS.md", "svg": "docs/bench.svg",
  "date": "$(date -u +%Y-%m-%d)", "kernel": "$(uname -r)",
  "machine": "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)",
  "cgroups": "host: $(if [ -d /sys/fs/cgroup/unified ]; then echo hybrid; elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo v2; else echo v1; fi); measured in a private mount namespace with a cgroup2 /sys/fs/cgroup",
  "commands": [
    {"name": "floor", "argv": ["$work/floor", "$rootfs", "/bin/true"], "binary": "$work/floor",
     "note": "shared/bench/floor.c: the least work for the same namespaces"},
    {"name": "nsbox run", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--", "/bin/true"], "binary": "$nsbox",
     "note": "--net none; 6 namespaces, /proc, /dev (6 nodes, devpts, shm), ro /sys, pivot_root; default hardening: caps, no_new_privs, seccomp, 15 masked/ro paths, nodev rootfs"},
    {"name": "nsbox run, from a sealed copy", "argv": ["$sealed", "run", "--root", "$state", "--rootfs", "$rootfs", "--", "/bin/true"], "binary": "$nsbox",
     "note": "as nsbox run, started from a sealed memfd made once: nsbox does not re-execute (the difference is what its read-only image, a detached read-only bind mount and one execveat, costs each run and exec)"},
    {"name": "nsbox exec", "argv": ["$nsbox", "exec", "--root", "$state", "bench-exec", "/bin/true"], "binary": "$nsbox",
     "note": "/bin/true in a running container (run -d ... sleep): setns into its 5 namespaces and its root, clone, the same hardening"},
    {"name": "nsbox exec, from a sealed copy", "argv": ["$sealed", "exec", "--root", "$state", "bench-exec", "/bin/true"], "binary": "$nsbox",
     "note": "as nsbox exec, started from the sealed memfd made once"},
    {"name": "nsbox run, filter and caps off", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--seccomp", "unconfined", "--cap-add", "ALL", "--no-new-privs=false", "--", "/bin/true"], "binary": "$nsbox",
     "note": "as nsbox run without the seccomp filter, the capability drop and no_new_privs (masks and nodev stay)"},
    {"name": "nsbox run, state on tmpfs", "argv": ["$nsbox", "run", "--root", "/dev/shm/nsbox-bench", "--rootfs", "$rootfs", "--", "/bin/true"], "binary": "$nsbox",
     "note": "as above, with --root on a tmpfs (as /run is on most distributions; here /run is ext4)"},
    {"name": "nsbox run --pids-limit 100", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--pids-limit", "100", "--", "/bin/true"], "binary": "$nsbox",
     "note": "one limit: state dir, cgroup dirs (pids, + v2 for clone3 CLONE_INTO_CGROUP), cgroup view, rmdir"},
    {"name": "nsbox run --net veth", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--net", "veth", "--", "/bin/true"], "binary": "$nsbox",
     "note": "a veth pair (peer made in the container's netns), 10.0.0.1/24 and 10.0.0.2/24, eth0 up, default route, the subnet leased: 10 rtnetlink requests (5 on the critical path); /etc/hosts and /etc/hostname bound"},
    {"name": "nsbox run --net bridge", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--net", "bridge", "--", "/bin/true"], "binary": "$nsbox",
     "note": "as veth, the host end a port of nsbox0 (then off it at teardown), an address leased on its subnet"},
    {"name": "nsbox run, 3 limits", "argv": ["$nsbox", "run", "--root", "$state", "--rootfs", "$rootfs", "--pids-limit", "100", "-m", "64m", "--cpus", "1", "--", "/bin/true"], "binary": "$nsbox",
     "note": "--pids-limit 100 -m 64m --cpus 1"},
    {"name": "unshare+chroot", "argv": ["$(command -v unshare)", "-pfmuin", "chroot", "$rootfs", "/bin/true"], "binary": "$(command -v unshare)",
     "note": "no /proc, /dev or /sys mounts, no pivot_root, no cgroup ns"},
    {"name": "bwrap", "argv": ["$(command -v bwrap)", "--unshare-all", "--bind", "$rootfs", "/", "--proc", "/proc", "--dev", "/dev", "/bin/true"], "binary": "$(command -v bwrap)",
     "note": "--unshare-all (adds a user ns); no /sys"},
    {"name": "nsbox OCI run", "argv": ["$nsbox", "--root", "$state/oci", "run", "-b", "$bundle", "nsbox{n}"], "binary": "$nsbox",
     "note": "the OCI front end on crun's and runc's bundle: create (up to the FIFO), start, wait, delete; the same default spec, no cgroupsPath"},
    {"name": "crun run", "argv": ["$(command -v crun)", "--cgroup-manager=disabled", "--root", "$state/crun", "run", "-b", "$bundle", "crun{n}"], "binary": "$(command -v crun)",
     "note": "default OCI spec: + caps, masked paths, rlimits, mqueue; cgroup manager disabled (hybrid host)"},
    {"name": "runc run", "argv": ["$(command -v runc)", "--root", "$state/runc", "run", "-b", "$bundle", "runc{n}"], "binary": "$(command -v runc)",
     "note": "default OCI spec, as crun; creates a cgroup"},
    {"name": "/bin/true", "argv": ["/bin/true"], "binary": "/bin/true", "note": "no container: the cost of starting a process"}
  ],
  "notes": [
    "networking: the whole benchmark runs in a network namespace of its own (unshare -n), so the veth pairs and the bridge never touch the machine's network; the kernel deletes each pair with its container's namespace, in a worker, after the run.",
    "limits: on a hybrid host the v1 pids, memory and cpu hierarchies are mounted again under target/bench/cg in the benchmark's mount namespace (its /sys/fs/cgroup is a cgroup2 for crun and runc).",
    "peak RSS: ru_maxrss from wait4 in a tiny static launcher (target/bench/maxrss), the largest of 5 runs; it covers the largest process of the run's tree.",
    "syscalls: strace -f -c total over all processes of one run."
  ]
}
EOF
mkdir -p "$state"
# v1 hierarchies (hybrid hosts) stay reachable for nsbox's limits under target/bench/cg.
v1=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup") print $5; break } }' \
  /proc/self/mountinfo | grep -E '/(pids|memory|cpu|cpu,cpuacct)$' || true)
nsbox=$nsbox state=$state rootfs=$rootfs unshare -m -n --propagation private sh -c '
  cfg=$1 cg=$2; shift 2
  ip link set lo up
  umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup || exit 1
  for m in "$@"; do
    name=${m##*/}; mkdir -p "$cg/$name"
    mount -t cgroup -o "$name" cgroup "$cg/$name" || exit 1
  done
  "$nsbox" run -d --root "$state" --rootfs "$rootfs" --name bench-exec -- sleep 86400 >/dev/null || exit 1
  python3 scripts/benchrun.py "$cfg"; rc=$?
  "$nsbox" rm -f --root "$state" bench-exec >/dev/null
  exit $rc' sh "$cfg" "$work/cg" $v1
rm -rf "$state" /dev/shm/nsbox-bench
# Then through the clients: podman and ctr with nsbox, runc and crun as their runtime.
scripts/bench-clients.sh
