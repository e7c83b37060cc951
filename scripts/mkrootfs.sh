#!/usr/bin/env bash
# mkrootfs.sh DIR: a minimal busybox root filesystem (Debian's busybox-static) for nsbox.
# Every busybox applet is linked into /bin; /etc has passwd, group, hosts, hostname and resolv.conf.
set -euo pipefail
dir=${1:?usage: scripts/mkrootfs.sh DIR}
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  [ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' && busybox=/bin/busybox || {
    echo "mkrootfs: a static busybox is needed: apt-get install busybox-static" >&2; exit 1; }
fi
mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,run,home,var/tmp,usr/bin,usr/sbin}
chmod 1777 "$dir/tmp" "$dir/var/tmp"
chmod 700 "$dir/root"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$dir/bin/busybox" --list); do
  [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
tty:x:5:
nogroup:x:65534:
G
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$dir/etc/hosts"
echo nsbox > "$dir/etc/hostname"
# Empty: with --net host, nsbox binds the host's resolv.conf over it.
: > "$dir/etc/resolv.conf"
echo "mkrootfs: busybox rootfs ready in $dir ($(ls "$dir/bin" | wc -l) commands)"
