#!/usr/bin/env bash
# bench-clients.sh: what a container costs through the clients, with nsbox, runc and crun as
# their runtime, side by side: `podman run --rm IMAGE /bin/true` and `ctr run --rm IMAGE ID
# /bin/true`, alternating, ROUNDS each (default 30). Prints the medians and the ratios to
# nsbox and writes docs/BENCHMARKS-clients.md. Run as root; scripts/bench.sh runs it last.
#
# podman and containerd get private directories (as tests/podman.rs and tests/containerd.rs
# give them); crun refuses hybrid cgroup hosts, so it is left out there and the table says so.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
[ "$(id -u)" = 0 ] || { echo "bench-clients.sh: run as root" >&2; exit 1; }
need=()
for pair in podman:podman containerd:containerd runc:runc crun:crun python3:python3; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
scripts/build-static.sh >&2
nsbox=$PWD/target/x86_64-unknown-linux-musl/release/nsbox
work=$PWD/target/bench-clients
rm -rf "$work" && mkdir -p "$work/p/tmp" "$work/nsbox-root"
[ -x target/bench/rootfs/bin/busybox ] || scripts/mkrootfs.sh target/bench/rootfs >&2
hybrid=no
[ -d /sys/fs/cgroup/unified ] && hybrid=yes

# podman: its own storage, cgroupfs, the host's file limits, no network.
nofile=$(ulimit -Hn)
cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
export CONTAINERS_CONF=$work/containers.conf
P="podman --root $work/p/root --runroot $work/p/run --tmpdir $work/p/tmp --storage-driver vfs"
tar -C target/bench/rootfs -cf "$work/rootfs.tar" .
$P import -q "$work/rootfs.tar" localhost/bb:latest >/dev/null
$P save -q --format oci-archive -o "$work/bb.oci.tar" localhost/bb:latest

# containerd: its own daemon, ended at exit (and the shims it left, by pid).
cat > "$work/containerd.toml" <<EOF
version = 2
root = "$work/cd/root"
state = "$work/cd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/cd/containerd.sock"
EOF
mkdir -p "$work/cd"
containerd --config "$work/containerd.toml" > "$work/cd/log" 2>&1 &
daemon=$!
cleanup() {
  kill "$daemon" 2>/dev/null || true
  for p in $(grep -l "$work/cd/containerd.sock" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    kill -9 "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT
C="ctr --address $work/cd/containerd.sock"
until $C version >/dev/null 2>&1; do sleep 0.1; done
$C images import --snapshotter native "$work/bb.oci.tar" >/dev/null

runtimes="nsbox:$nsbox runc:$(command -v runc)"
[ $hybrid = no ] && runtimes="$runtimes crun:$(command -v crun)"
python3 - "$rounds" "$work" "$hybrid" $runtimes <<'PY'
import os, statistics, subprocess, sys, time
rounds, work, hybrid = int(sys.argv[1]), sys.argv[2], sys.argv[3]
runtimes = [r.split(":", 1) for r in sys.argv[4:]]
podman = f"podman --root {work}/p/root --runroot {work}/p/run --tmpdir {work}/p/tmp --storage-driver vfs".split()
ctr = ["ctr", "--address", f"{work}/cd/containerd.sock"]
def cmd(client, name, path, n):
    if client == "podman":
        return podman + ["--runtime", path, "run", "--rm", "localhost/bb:latest", "/bin/true"]
    return ctr + ["run", "--rm", "--snapshotter", "native", "--runc-binary", path,
                  "--runc-root", f"{work}/{name}-root", "localhost/bb:latest", f"b{name}{n}", "/bin/true"]
times = {}
for client in ["podman", "ctr"]:
    for i in range(rounds + 3):
        for name, path in runtimes:
            t = time.monotonic()
            r = subprocess.run(cmd(client, name, path, i), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=work)
            dt = (time.monotonic() - t) * 1000
            if r.returncode != 0:
                sys.exit(f"{client} with {name}: {r.stderr.decode().strip()}")
            if i >= 3:
                times.setdefault((client, name), []).append(dt)
lines = ["# Through the clients", "",
         f"`scripts/bench-clients.sh {rounds}`: `podman run --rm IMAGE /bin/true` and `ctr run --rm IMAGE ID /bin/true`, "
         f"{rounds} alternating rounds each after 3 warm-up rounds, with each runtime; "
         f"{os.cpu_count()} cores, kernel {os.uname().release}, {time.strftime('%Y-%m-%d')}.", "",
         "| client | runtime | median ms | p90 ms | x nsbox |", "|---|---|---|---|---|"]
for client in ["podman", "ctr"]:
    ref = statistics.median(times[(client, "nsbox")])
    for name, _ in runtimes:
        t = sorted(times[(client, name)])
        med, p90 = statistics.median(t), t[int(len(t) * 0.9) - 1]
        lines.append(f"| {client} | {name} | {med:.1f} | {p90:.1f} | {med / ref:.2f} |")
if hybrid == "yes":
    lines += ["", "crun is left out: this host has hybrid cgroups, which crun 1.8 refuses."]
text = "\n".join(lines) + "\n"
open("docs/BENCHMARKS-clients.md", "w").write(text)
print(text)
PY
