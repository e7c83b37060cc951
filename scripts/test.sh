#!/usr/bin/env bash
# test.sh: installs what the tests need on a fresh Debian machine, then runs every check and test:
# formatting, clippy, unit and integration tests (as root, against a real busybox rootfs), the
# man page and the walkthrough against what nsbox says and does, and the static release build
# with its size budget.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || need+=(busybox-static)
command -v file >/dev/null || need+=(file)
command -v readelf >/dev/null || need+=(binutils)
command -v setpriv >/dev/null || need+=(util-linux)
command -v strace >/dev/null || need+=(strace)
command -v script >/dev/null || need+=(bsdutils)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
command -v losetup >/dev/null || need+=(mount)
# tests/podman.rs and tests/containerd.rs drive podman (with conmon) and containerd (with
# ctr and the runc v2 shim) against nsbox.
command -v podman >/dev/null || need+=(podman)
command -v containerd >/dev/null || need+=(containerd)
command -v newuidmap >/dev/null || need+=(uidmap)
command -v useradd >/dev/null || need+=(passwd)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' || {
  echo "test.sh: /bin/busybox is not the static busybox (apt-get install busybox-static)" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
# The escape suite builds its probe as a static musl binary (tests/escape/probe.rs).
rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl

if [ "$(id -u)" != 0 ]; then
  echo "test.sh: not root: the integration tests will say they are skipped (they need namespaces and mounts)" >&2
  # A run without root is not a pass: it says so at the end, and fails.
  trap 'echo "test.sh: FAILED: not root, so the integration tests were skipped (each printed SKIPPED); run as root" >&2; exit 1' EXIT
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked
echo "== docs made from nsbox itself: the man page and the walkthrough"
scripts/gen-man.sh --check target/debug/nsbox
if [ "$(id -u)" = 0 ]; then
  scripts/gen-walkthrough.sh --check target/debug/nsbox
else
  echo "gen-walkthrough.sh --check: skipped: it runs containers, which needs root"
fi
echo "== static release build"
scripts/build-static.sh
echo "== the escape suites and the chroot host again, against the static release build"
NSBOX_TEST_BIN="$PWD/target/x86_64-unknown-linux-musl/release/nsbox" \
  cargo test --locked --test escape --test escape_fds --test escape_exe --test chroot_host
