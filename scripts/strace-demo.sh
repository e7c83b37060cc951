#!/usr/bin/env bash
# strace-demo.sh [RUN OPTIONS...]: runs a container under `strace -f` (as root) and prints the
# calls that make it a container: namespaces, mounts, the root switch, identity, privileges,
# execve and the end, each line headed by the process's name as nsbox sets it with
# prctl(PR_SET_NAME): nsbox:parent, nsbox:child, nsbox:init (--init), or the command's.
# Default options: --rootfs .rootfs --hostname demo -- /bin/true (the rootfs is made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; }
[ -x target/release/nsbox ] || cargo build --release --locked -q
[ -x .rootfs/bin/busybox ] || scripts/mkrootfs.sh .rootfs >/dev/null
[ $# -gt 0 ] || set -- --rootfs .rootfs --hostname demo -- /bin/true
out=$(mktemp)
trap 'rm -f "$out"' EXIT
calls=clone,clone3,unshare,setns,sethostname,mount,umount2,pivot_root,chroot,open_tree,move_mount
calls=$calls,mount_setattr,fsopen,fsmount,prctl,seccomp,capset,setgroups,setresuid,setresgid
calls=$calls,execve,wait4,exit_group
echo "\$ strace -f -e trace=$calls nsbox run $*" >&2
code=0
strace -f -qq -e signal=none -e trace="$calls" -o "$out" target/release/nsbox run "$@" || code=$?
# strace -f writes "PID call(...)". Each line gets the name the process had then: a clone
# starts with its parent's, PR_SET_NAME changes it, a successful execve makes it the command's.
# Of the dozens of PR_CAPBSET_DROP lines, the first stays.
awk '
  { pid = $1; line = $0; sub(/^[0-9]+ +/, "", line) }
  !(pid in name) { name[pid] = (NR == 1) ? "nsbox" : "?" }
  match(line, /PR_SET_NAME, "[^"]*"/) { name[pid] = substr(line, RSTART + 14, RLENGTH - 15) }
  /PR_CAPBSET_DROP/ { if (dropped++) next; line = line "   (one line per capability dropped)" }
  { printf "%-13s %6s %s\n", name[pid], pid, line }
  line ~ /^(clone|clone3|<\.\.\. clone3? resumed>).* = [0-9]+$/ { name[$NF] = name[pid] }
  line ~ /^execve\(".*\) = 0$/ { split(line, q, "\""); n = split(q[2], parts, "/"); name[pid] = parts[n] }
' "$out"
exit $code
