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
echo
# Networking, in a network namespace of the demo's own (unshare --net): nothing is added to this
# machine's network. Two containers on the bridge nsbox0 reach each other by their leased address.
echo "\$ nsbox run -d --name web --net bridge ... httpd; nsbox run --net bridge ... wget web's address"
unshare --net sh -c '
  nsbox=$1 root=$(mktemp -d)
  ip link set lo up
  "$nsbox" run -d --root "$root" --name web --net bridge --rootfs .rootfs -- \
    sh -c "mkdir -p /tmp/www && echo hello from web > /tmp/www/index.html && httpd -f -p 80 -h /tmp/www" >/dev/null
  "$nsbox" ps --root "$root"
  "$nsbox" run --root "$root" --net bridge --rootfs .rootfs -- sh -c "
    echo \"I am \$(hostname) at \$(ip -4 -o addr show eth0 | cut -d\" \" -f7), my route: \$(ip route | head -1)\"
    for try in 1 2 3 4 5; do wget -qO- http://10.88.0.2/ && break; sleep 0.2; done"
  "$nsbox" rm -f --root "$root" web >/dev/null
  "$nsbox" gc --root "$root" >/dev/null
  rmdir "$root"' sh "$PWD/$nsbox"
