#!/usr/bin/env bash
# build_static.sh -- build the release binary users run: a static PIE for x86_64 Linux, linked
# against glibc's static library, and print its path. release.sh packs it and CI smoke-tests
# it; tools/build_wheel.sh puts the same build in the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/static_build.env
RUSTFLAGS="${RUSTFLAGS:-} $STATIC_RUSTFLAGS" \
    cargo build --release --locked --target "$STATIC_TARGET" >&2
echo "target/$STATIC_TARGET/release/picklescope"
