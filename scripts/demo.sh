#!/usr/bin/env bash
# demo.sh: builds nsbox and a busybox rootfs, then shows a container from the inside.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! { [ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; }; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static file >/dev/null
fi
cargo build --release --locked -q
[ -x .rootfs/bin/busybox ] || scripts/mkrootfs.sh .rootfs
nsbox=target/release/nsbox
echo "\$ nsbox run --rootfs .rootfs --hostname demo -- sh -c '...'"
"$nsbox" run --rootfs .rootfs --hostname demo -- sh -c '
  echo "I am PID $$ on host \"$(hostname)\", as $(id -un)"
  echo "processes I can see:"; ps -o pid,comm
  echo "network interfaces: $(ls /sys/class/net)"
  echo "my mounts:"; cut -d" " -f5,9 /proc/self/mountinfo | sed "s/^/  /"
  echo "/dev: $(ls /dev | tr "\n" " ")"'
echo
echo "\$ nsbox run --rootfs .rootfs --trace -- /bin/true   (first and last lines)"
"$nsbox" run --rootfs .rootfs --trace -- /bin/true 2>&1 | grep -E 'step:|clone|pivot_root|execve' | head -30
