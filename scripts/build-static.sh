#!/usr/bin/env bash
# build-static.sh: the release binary for x86_64-unknown-linux-musl, checked to be static (no
# interpreter, no dynamic section) and within the size budget. Prints the path and the size.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-musl
# 1 MiB with the OCI front end (DESIGN.md: 800 KiB native, 1 MiB with OCI). The native part
# alone grew past 800 with user namespaces (850) and the escape fixes of issue 21 (860); see
# docs/ARCHITECTURE.md, "Size".
budget=$((1024 * 1024))
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  rustup target add "$target"
fi
# Linked by rust-lld, the linker the Rust toolchain ships (through its gcc-ld wrapper: cc
# still drives the link, with musl's start files): 5 KiB smaller than GNU ld's output for the
# same objects, with code kept on pages of its own (-z separate-code, GNU ld's default). Where
# the toolchain has no rust-lld, GNU ld links it.
gcc_ld="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld"
if [ -x "$gcc_ld/ld.lld" ]; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C link-arg=-B$gcc_ld -C link-arg=-fuse-ld=lld -C link-arg=-Wl,-z,separate-code"
fi
cargo build --release --locked --target "$target" >&2
bin="target/$target/release/nsbox"
if readelf -l "$bin" | grep -q 'INTERP'; then
  echo "build-static: $bin has a program interpreter: not static" >&2; exit 1
fi
if readelf -d "$bin" 2>/dev/null | grep -q 'NEEDED'; then
  echo "build-static: $bin needs shared libraries: not static" >&2; exit 1
fi
size=$(stat -c %s "$bin")
echo "build-static: $bin: $size bytes ($((size / 1024)) KiB, budget $((budget / 1024)) KiB), $(file -b "$bin" | cut -d, -f1-2)"
if [ "$size" -gt "$budget" ]; then
  echo "build-static: over the size budget by $((size - budget)) bytes" >&2; exit 1
fi
