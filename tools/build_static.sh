#!/usr/bin/env bash
# build_static.sh -- build the release binary users run: a static PIE for x86_64 Linux, linked
# against glibc's static library, and print its path. release.sh packs it, CI smoke-tests it and
# puts it in the wheel.
#
# crt-static is given with an explicit --target so that it reaches the binary only: Cargo then
# builds proc-macros and build scripts for the host without it (they cannot be static).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --release --locked --target "$TARGET" >&2
echo "target/$TARGET/release/picklescope"
