#!/usr/bin/env bash
# smoke_static.sh -- check a static picklescope binary the way a cluster user would use it:
# it links nothing (ldd, no NEEDED entry), asks for no kernel newer than RHEL 8's (its ELF ABI
# tag), runs alone from a directory on PATH, writes the demo context, reports
# on it (byte-identical JSON to a reference build when one is given), dry-runs a slim, and has
# no test hook (PICKLESCOPE_FAIL_AFTER_BYTES does nothing in a release build).
#
#   tools/smoke_static.sh STATIC_BINARY [REFERENCE_BINARY]
set -euo pipefail
BIN=$(realpath "$1")
REF=${2:+$(realpath "$2")}
fail() { echo "smoke_static: $*" >&2; exit 1; }

echo "ldd $BIN:"
LDD=$(ldd "$BIN" 2>&1 || true)
echo "  $LDD"
if grep -q "=>" <<<"$LDD"; then fail "dynamically linked"; fi
NEEDED=$(readelf -d "$BIN" | grep NEEDED || true)
[[ -z "$NEEDED" ]] || fail "needs shared libraries: $NEEDED"
# RHEL, Rocky and Alma 8 run Linux 4.18: the oldest kernel the binary may ask for.
ABI=$(readelf -n "$BIN" | sed -n 's/.*OS: Linux, ABI: //p')
if [[ -n "$ABI" ]]; then
    oldest=$(printf '%s\n4.18.0\n' "$ABI" | sort -V | head -n1)
    [[ "$oldest" == "$ABI" ]] || fail "needs Linux $ABI or newer"
    echo "  needs Linux $ABI or newer"
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
cp "$BIN" "$T/bin/picklescope"
export PATH="$T/bin:/usr/bin:/bin"
cd "$T"

picklescope --version
picklescope demo ctx --no-open >/dev/null
picklescope report ctx >report.txt
grep -q "hif_rawflagchans" report.txt || fail "report lacks stage 4"
picklescope slim ctx --preset strategy-a --dry-run >dry.txt
grep -q "dry run: " dry.txt || fail "slim --dry-run summary missing"
picklescope report ctx --json >static.json
if [[ -n "$REF" ]]; then
    "$REF" report ctx --json >ref.json
    cmp static.json ref.json || fail "report --json differs from $REF"
    echo "report --json byte-identical to $REF ($(wc -c <static.json) bytes)"
fi
before=$(du -sb ctx | cut -f1)
PICKLESCOPE_FAIL_AFTER_BYTES=0 picklescope slim ctx --preset strategy-a >slim.txt ||
    fail "slim failed: the test hook is live in this build? $(cat slim.txt)"
after=$(du -sb ctx | cut -f1)
[[ $after -lt $before ]] || fail "slim wrote nothing ($before -> $after bytes)"
echo "static binary ok: report, slim --dry-run, slim ($before -> $after bytes on disk)"
