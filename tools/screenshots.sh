#!/usr/bin/env bash
# screenshots.sh -- drive the real picklescope binary in tmux (110x32) on a generated context and
# save screenshots of the explorer: screenshots/NAME.png, plus NAME.txt (the plain text of the
# screen, for review and diffs) and NAME.ansi (`tmux capture-pane -e -p`, the PNG's source).
#
#   tools/screenshots.sh [OUTDIR]         # default OUTDIR: screenshots/ in the repository
#   PICKLESCOPE=/path/to/picklescope tools/screenshots.sh
#   SHOTS_FIXTURE=gen tools/screenshots.sh   # context from tools/gen_fixtures.py instead of
#                                            # `picklescope demo` (the default when it exists)
#
# Needs tmux and python3 with Pillow (dev only: python3 -m pip install --user pillow), used by
# tools/ansi2png.py.  Takes ~5 s once the binary is built.
#
#   stages.png        Stages table with marks: after/saved columns filled, What-if pane
#   tree-marks.png    stage 4 › _ResultsList__results › [n] RawflagchansResults, view marked T
#   long-keys.png     inside that view: eight long dict keys, told apart (elided in the middle)
#   whatif.png        Classes view (c) with four rules in the What-if pane
#   write-confirm.png the w dialog: files before → after, backup toggle
#   help.png          the ? key table
#   compare-stages.png  compare mode (`picklescope DIR --backups`) after slim --backup: stages
#   compare-tree.png    ... › a RawflagchansResults: `view` gone, before/after/Δ per row

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=${1:-$REPO/screenshots}
COLS=110 ROWS=32
T0=$(date +%s%N)

say() { printf '[shots] %s\n' "$*"; }
die() { printf '[shots] FAIL: %s\n' "$*" >&2; exit 1; }

command -v tmux >/dev/null || die "tmux not found"
python3 -c 'import PIL' 2>/dev/null || die "Pillow missing: python3 -m pip install --user pillow"

BIN=${PICKLESCOPE:-}
if [[ -z "$BIN" ]]; then
    BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/picklescope"
    if [[ ! -x "$BIN" ]]; then
        say "building $BIN"
        (cd "$REPO" && cargo build --release --quiet) || die "cargo build failed"
        T0=$(date +%s%N)
    fi
fi
[[ -x "$BIN" ]] || die "no executable picklescope at $BIN"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-shots.XXXXXX")
SOCK="$TMP/tmux.sock"
trap 'tmux -S "$SOCK" kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
printf 'set -g status off\nset -g default-terminal "tmux-256color"\n' >"$TMP/tmux.conf"
infocmp tmux-256color >/dev/null 2>&1 || sed -i 's/tmux-256color/screen-256color/' "$TMP/tmux.conf"
tm() { tmux -u -S "$SOCK" -f "$TMP/tmux.conf" "$@"; }

SCREEN=""
capture() { SCREEN=$(tm capture-pane -t shots -p 2>/dev/null || true); }
show() { printf '%s\n' "$SCREEN" | sed 's/^/    |/' >&2; }
# the screen counts as drawn when two captures 50 ms apart are identical
settled() { local prev=$SCREEN; sleep 0.05; capture; [[ "$SCREEN" == "$prev" ]]; }
wait_for() {
    local re=$1 n=200
    capture
    while (( n-- > 0 )); do
        grep -qE -- "$re" <<<"$SCREEN" && settled && grep -qE -- "$re" <<<"$SCREEN" && return 0
        sleep 0.05
        capture
    done
    show
    die "timed out waiting for: $re"
}
wait_gone() {
    local re=$1 n=200
    capture
    while (( n-- > 0 )); do
        ! grep -qE -- "$re" <<<"$SCREEN" && settled && ! grep -qE -- "$re" <<<"$SCREEN" && return 0
        sleep 0.05
        capture
    done
    show
    die "timed out waiting for this to go: $re"
}
keys() { tm send-keys -t shots "$@"; }
# search TEXT -- / TEXT Enter, then wait for the selected row to start with TEXT
search() {
    keys /
    wait_for '^/'
    keys -l "$1"
    keys Enter
    wait_for "^│▶[T ] $(sed 's/[.[\*^$]/\\&/g' <<<"$1")"
}
shot() {
    local name=$1
    tm capture-pane -t shots -p -e >"$OUT/$name.ansi"
    tm capture-pane -t shots -p >"$OUT/$name.txt"
    python3 "$HERE/ansi2png.py" "$OUT/$name.ansi" -o "$OUT/$name.png" --cols $COLS --rows $ROWS
    say "    $OUT/$name.png ($(( $(stat -c %s "$OUT/$name.png") / 1024 )) KiB)"
}

mkdir -p "$OUT"
CTX="$TMP/ctx"
if [[ "${SHOTS_FIXTURE:-}" != gen ]] && "$BIN" demo --help >/dev/null 2>&1; then
    "$BIN" demo "$CTX" --no-open >/dev/null || die "picklescope demo failed"
else
    python3 "$REPO/tools/gen_fixtures.py" context "$CTX" --scale 0.003 --quiet || die "gen_fixtures.py failed"
fi

say "picklescope on a generated context, ${COLS}x${ROWS}"
tm new-session -d -s shots -x $COLS -y $ROWS "cd '$CTX' && env -u NO_COLOR '$BIN' .; sleep 5"
wait_for '^│[▶ ] +4 hif_rawflagchans '
wait_gone 'scanning|scan [0-9]+/[0-9]+'

# stage 4 › _ResultsList__results › first result, mark view
keys j j j
wait_for '^│▶  +4 hif_rawflagchans '
keys Enter
wait_for '^│▶  _ResultsList__results '
keys Enter
wait_for '^│▶  \[[0-9]+\] +RawflagchansResults'
keys Enter
wait_for '^│▶  view '
# inside view: eight long keys that differ only at their end
keys Enter
wait_for '^│▶  "File:'
shot long-keys
keys h
wait_for '^│▶  view '
keys Space
wait_for '^│✔ RawflagchansResults\.view'
keys j
wait_for '^│ T view '
shot tree-marks

# stage 7 › _ResultsList__results › first result, mark components
keys h h h
wait_for '^┌ Stages'
keys j j j
wait_for '^│▶  +7 hifa_tsysflag '
keys Enter
wait_for '^│▶  _ResultsList__results '
keys Enter
wait_for '^│▶  \[[0-9]+\] +TsysflagResults'
keys Enter
wait_for '^│▶  components '
keys Space
wait_for '^│✔ TsysflagResults\.components'

# Classes view: mark two more groups there
keys c
wait_for '^┌ Classes'
search BandpassflagResults.view
keys Space
wait_for '^│✔ BandpassflagResults\.view'
search LowgainflagResults.view
keys Space
wait_for '^│✔ LowgainflagResults\.view'
keys g
wait_for '^│▶  ResultsList\._ResultsList__results'
wait_for '^┌ What-if · 4 rules'
shot whatif

# Stages with after/saved filled
keys h
wait_gone '^┌ Classes'
keys h h h
wait_for '^┌ Stages'
keys g j j j
wait_for '^│▶  +4 hif_rawflagchans '
wait_for '^│▶  +4 hif_rawflagchans .*[0-9]%?│$'
shot stages

keys w
wait_for 'Write slimmed pickles\?'
shot write-confirm
keys n
wait_gone 'Write slimmed pickles\?'

keys '?'
wait_for '┌ Keys '
shot help
keys '?'
wait_gone '┌ Keys '

keys q
wait_for 'Quit\?'
keys y
n=100
while tm has-session -t shots 2>/dev/null && (( n-- > 0 )); do
    capture
    grep -q 'Quit?' <<<"$SCREEN" || break
    sleep 0.05
done

# compare mode: the context against a copy slimmed with strategy-a and --backup
tm kill-session -t shots 2>/dev/null || true
cp -r "$CTX" "$TMP/cmp"
"$BIN" slim "$TMP/cmp" --preset strategy-a --backup >/dev/null || die "picklescope slim failed"
tm new-session -d -s shots -x $COLS -y $ROWS "cd '$TMP/cmp' && env -u NO_COLOR '$BIN' . --backups; sleep 5"
wait_for '^┌ Stages · [0-9]+ of [0-9]+ changed'
shot compare-stages
keys Enter
wait_for '^│▶ _ResultsList__results '
keys Enter
wait_for '^│▶ \[[0-9]+\] '
keys Enter
wait_for '^│▶ view .*gone'
shot compare-tree
keys q

T1=$(date +%s%N)
say "done in $(( (T1 - T0) / 1000000 )) ms: $OUT/{stages,tree-marks,long-keys,whatif,write-confirm,help,compare-stages,compare-tree}.png"
