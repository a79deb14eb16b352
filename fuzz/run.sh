#!/bin/sh
# Runs fuzz targets one after another, niced, each for SECONDS (default 900).
#   fuzz/run.sh [SECONDS] [TARGET...]     (default targets: scan model rewrite sparse)
# Seeds come from fuzz/seeds/; the corpus and crash artifacts stay in fuzz/corpus and
# fuzz/artifacts (git-ignored). Needs cargo-fuzz; RUSTC_BOOTSTRAP lets a stable toolchain
# pass libFuzzer's nightly flags.
set -u
cd "$(dirname "$0")"
secs=${1:-900}
[ $# -gt 0 ] && shift
targets=${*:-scan model rewrite sparse}
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/target-fuzz}
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    cp -n seeds/* "corpus/$t/" 2>/dev/null
    echo "== $t for ${secs}s"
    nice -n 10 cargo fuzz run -O -a "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
        >"artifacts/$t.log" 2>&1
    echo "== $t exit $?"
    tail -n 30 "artifacts/$t.log" | grep -E '^(stat::|#[0-9]+|==|SUMMARY|Done)' | tail -n 12
done
