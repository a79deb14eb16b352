#!/usr/bin/env bash
# release.sh -- build the static Linux binary and pack it for cluster users:
#   dist/picklescope-<version>-x86_64-linux-static.tar.gz (+ .sha256) holding the binary,
#   README.md, CHANGELOG.md, both licences, the man page picklescope.1 and shell completions.
#
#   tools/release.sh            # writes into dist/
#   tools/release.sh OUTDIR
#
# The binary is a static PIE linked against glibc (libc.a, from libc6-dev on Debian): it loads
# no shared library, so the node's glibc (RHEL 8's 2.28 too) does not matter, and it runs from
# any directory on PATH. It is the dynamic build's code with glibc's allocator, without the
# dynamic loader's start-up (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-dist}
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
NAME="picklescope-$VERSION-x86_64-linux-static"

BIN=$(tools/build_static.sh)

# Refuse anything that would need a dynamic loader on the node.
if ldd "$BIN" 2>&1 | grep -q "=>"; then
    echo "release.sh: $BIN is dynamically linked" >&2
    exit 1
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
D="$STAGE/$NAME"
mkdir -p "$D/completions"
cp "$BIN" "$D/picklescope"
strip "$D/picklescope" 2>/dev/null || true
cp README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE "$D/"
"$D/picklescope" man > "$D/picklescope.1"
"$D/picklescope" completions bash > "$D/completions/picklescope.bash"
"$D/picklescope" completions zsh > "$D/completions/_picklescope"
"$D/picklescope" completions fish > "$D/completions/picklescope.fish"

mkdir -p "$OUT"
tar -C "$STAGE" --sort=name --owner=0 --group=0 --numeric-owner \
    -czf "$OUT/$NAME.tar.gz" "$NAME"
(cd "$OUT" && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")
echo "$OUT/$NAME.tar.gz"
