#!/usr/bin/env bash
# gen-walkthrough.sh [--check] [NSBOX]: writes docs/WALKTHROUGH.md from docs/WALKTHROUGH.md.in,
# replacing each line `@trace RUN STEP` (`@trace:N RUN STEP`: N steps from STEP on) with what
# `nsbox --trace` printed for it in a real run made here, as root, so every excerpt stays true.
# With --check it writes nothing and fails when the committed file differs from what it would
# write (scripts/test.sh runs it).
#
# The runs (RUN): a = --net veth --pids-limit 20 --hostname box, in a throwaway network
# namespace (unshare --net); u = --userns; x = `nsbox exec` into a detached container; o, s and
# d = OCI create, start and delete (--debug) of a bundle with a createRuntime and a
# startContainer hook. Times,
# pids, addresses and the sizes of reads vary from run to run: they are written as PID, ADDR,
# START, MS and N, or left out. Other containers with limits on the host make the shared
# parent cgroup's mkdir say EEXIST and its rmdir EBUSY: written as the lone run's 0. NSBOX defaults to target/release/nsbox (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
bin=$(realpath "${1:-target/release/nsbox}" 2>/dev/null || true)
if [ ! -x "$bin" ]; then cargo build --release --locked >&2; bin=$PWD/target/release/nsbox; fi
[ "$(id -u)" = 0 ] || { echo "gen-walkthrough.sh: needs root (it runs containers)" >&2; exit 1; }

# Fixed paths: they appear in the traces.
w=/tmp/nsbox-walkthrough
state=$w/state
cleanup() {
  "$bin" rm -f --root "$state" walk-x >/dev/null 2>&1 || true
  "$bin" --root "$state" delete --force walk-o >/dev/null 2>&1 || true
  "$bin" gc --root "$state" >/dev/null 2>&1 || true
  rm -rf "$w"
}
# Modes and what the user namespace's root may enter depend on it.
umask 022
trap cleanup EXIT
[ -z "${KEEP_TRACES:-}" ] || trap - EXIT
cleanup
mkdir -p "$state"
scripts/mkrootfs.sh "$w/rootfs" >/dev/null
# nsbox with descriptors 0-2 only: the numbers of those it opens appear in the traces, and a
# caller (a CI runner) may leak others to us.
only_stdio() {
  bash -c 'for f in /proc/$$/fd/*; do
      f=${f##*/}; [ "$f" -le 2 ] || [ ! -e "/proc/$$/fd/$f" ] || eval "exec $f>&-"
    done; exec "$@" </dev/null' only_stdio "$@"
}
run() { only_stdio "$bin" run --root "$state" -r "$w/rootfs" "$@"; }

only_stdio unshare --net -- "$bin" run --root "$state" -r "$w/rootfs" --name walk --hostname box \
  --net veth --pids-limit 20 --trace -- /bin/true 2>"$w/a.raw" || { cat "$w/a.raw" >&2; exit 1; }
run --name walk-u --userns --trace -- /bin/true 2>"$w/u.raw" || { cat "$w/u.raw" >&2; exit 1; }
run -d --name walk-x -- sleep 30 >/dev/null
only_stdio "$bin" exec --root "$state" --trace walk-x /bin/true 2>"$w/x.raw" \
  || { cat "$w/x.raw" >&2; exit 1; }
"$bin" rm -f --root "$state" walk-x >/dev/null
mkdir "$w/bundle"
ln -s ../rootfs "$w/bundle/rootfs"
(cd "$w/bundle" && "$bin" spec)
sed -i -e 's|"args": \["sh"\]|"args": ["/bin/true"]|' \
  -e 's|^\( *"ociVersion": "[^"]*",\)$|\1\n  "hooks": {"createRuntime": [{"path": "/bin/true"}], "startContainer": [{"path": "/bin/true"}]},|' \
  "$w/bundle/config.json"
oci() { only_stdio "$bin" --root "$state" --debug "$@"; }
oci create --bundle "$w/bundle" walk-o 2>"$w/o.raw" || { cat "$w/o.raw" >&2; exit 1; }
oci start walk-o 2>"$w/s.raw" || { cat "$w/s.raw" >&2; exit 1; }
# The container's trace (the startContainer hook) goes on in o.raw; it is done once it stops.
for _ in $(seq 100); do
  "$bin" --root "$state" state walk-o | grep -q '"status":"stopped"' && break
  sleep 0.05
done
oci delete walk-o 2>"$w/d.raw" || { cat "$w/d.raw" >&2; exit 1; }

# Trace lines without what varies: the time column, durations, pids, addresses, timestamps, and
# where nsbox's own cgroup is (cgroup paths read <hierarchy>/nsbox/ID).
normalize() {
  local pids
  pids=$(grep -oE 'clone resumed = [0-9]+|fork\(\) = [0-9]+|host pid [0-9]+|/proc/[0-9]+/' "$1" \
    | grep -oE '[0-9]+' | sort -u | tr '\n' ' ')
  awk -v pids="$pids" '
    BEGIN { n = split(pids, p, " ") }
    /^nsbox\[/ && !/\] timeline: / {
      line = $0
      role = line; sub(/\].*/, "", role); sub(/^nsbox\[/, "", role); sub(/ .*/, "", role)
      sub(/^nsbox\[[a-z]+ +[0-9]+\.[0-9]+ms\] /, "", line)
      sub(/ <[0-9]+us>$/, "", line)
      # Pids only where they stand for a process: a mode or a size may have the same digits.
      for (i = 1; i <= n; i++) {
        gsub("/proc/" p[i] "/", "/proc/PID/", line)
        gsub("host pid " p[i] "\\)", "host pid PID)", line)
        gsub("wait4\\(" p[i] ",", "wait4(PID,", line)
        sub("= " p[i] "$", "= PID", line)
      }
      gsub(/= [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]+/, "= ADDR", line)
      gsub(/0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]+/, "ADDR", line)
      gsub(/created [0-9]+/, "created MS", line)
      # The shared parent cgroup (<hierarchy>/nsbox) exists already, and stays, while another
      # container of this host has limits: its mkdir and rmdir then say so, as they should.
      if (line ~ /^(mkdirat|unlinkat)\(AT_FDCWD, "[^"]*\/nsbox", /)
        sub(/= -1 (EEXIST \(File exists\)|EBUSY \(Device or resource busy\))$/, "= 0", line)
      # The size of nsbox (its sealed copy) changes with every build.
      if (line ~ /^sendfile\(/) sub(/= [1-9][0-9]*$/, "= N", line)
      gsub(/, 4096\) = [1-9][0-9]*$/, ", 4096) = N", line)
      # The state JSON a hook is given names the container by its pid.
      while (match(line, /pid\\":[0-9]+/)) {
        line = substr(line, 1, RSTART - 1) "pid\\\":PID" substr(line, RSTART + RLENGTH)
      }
      while (match(line, /(supervisor|pid) [0-9]+ [0-9]+/)) {
        s = substr(line, RSTART, RLENGTH); sub(/ [0-9]+ [0-9]+$/, " PID START", s)
        line = substr(line, 1, RSTART - 1) s substr(line, RSTART + RLENGTH)
      }
      if (length(line) > 150) line = substr(line, 1, 147) "..."
      print "nsbox[" role "] " line
    }' "$1" | sed -E 's#(/sys/fs/cgroup/[a-z0-9_,=]+)(/[^/"\\]+)*/nsbox/#\1/nsbox/#g'
}
for r in a u x o s d; do normalize "$w/$r.raw" > "$w/$r.trace"; done

# The step of run $1 whose label starts with $3, and the lines of the same process up to the
# step $2 steps later.
excerpt() {
  awk -v want="] step: $3" -v steps="$2" '
    !found && index($0, want) { found = 1; role = substr($0, 1, index($0, "]")); print; next }
    found && index($0, role) == 1 { if (index($0, role " step: ") == 1 && --steps == 0) exit; print }
  ' "$w/$1.trace"
}

generate() {
  echo "<!-- Generated by scripts/gen-walkthrough.sh from docs/WALKTHROUGH.md.in: edit that. -->"
  while IFS= read -r line; do
    case "$line" in
      "@trace"*)
        # @trace RUN STEP, or @trace:N RUN STEP for N steps from STEP on.
        set -f; set -- $line; set +f
        local steps=${1#@trace}; steps=${steps#:}
        local run=$2; shift 2
        local text
        text=$(excerpt "$run" "${steps:-1}" "$*")
        if [ -z "$text" ]; then
          echo "gen-walkthrough.sh: no step \"$*\" in run $run" >&2; return 1
        fi
        printf '```\n%s\n```\n' "$text" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done < docs/WALKTHROUGH.md.in
}

generate > "$w/WALKTHROUGH.md"
if [ $check = 1 ]; then
  if ! diff -u docs/WALKTHROUGH.md "$w/WALKTHROUGH.md" >&2; then
    echo "gen-walkthrough.sh: docs/WALKTHROUGH.md is not what the traces say now: run scripts/gen-walkthrough.sh and commit it" >&2
    exit 1
  fi
  echo "gen-walkthrough.sh: docs/WALKTHROUGH.md matches the traces"
else
  cp "$w/WALKTHROUGH.md" docs/WALKTHROUGH.md
  echo "gen-walkthrough.sh: wrote docs/WALKTHROUGH.md"
fi
