#!/usr/bin/env bash
# build_wheel.sh -- build the pip wheel that holds the static release binary (the build of
# tools/build_static.sh; no Python code) into OUTDIR, default dist/. pip fetches maturin into an
# isolated build environment. PIP names the pip to use (default: python3 -m pip).
#
#   tools/build_wheel.sh [OUTDIR]
#   pip install --user dist/picklescope-*.whl      # on the node: picklescope in ~/.local/bin
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/static_build.env
OUT=${1:-dist}
RUSTFLAGS="${RUSTFLAGS:-} $STATIC_RUSTFLAGS" \
    MATURIN_PEP517_ARGS="--target $STATIC_TARGET --compatibility manylinux2014" \
    ${PIP:-python3 -m pip} wheel . --no-deps -q -w "$OUT"
