#!/usr/bin/env bash
# tui_lazy.sh -- the real picklescope binary in tmux on a generated object-heavy pickle opened
# with the lean parse (PICKLESCOPE_EXPLORE_LEAN_FROM=1, as a file of 256 MiB or more opens):
# drills _ResultsList__results › [0] › summaries › its largest dict, where `summaries` and the
# dicts are containers the lean graph kept as spans (read again from the file, the larger ones
# in the background with their percent). Each screen must equal the one the full parse shows
# on the same file; `space` must refuse to mark in one line. Exit 0 = passed, 1 = failed
# (screen printed), 2 = tmux or python3 missing.
#
#   PICKLESCOPE=/path/to/picklescope tools/tui_lazy.sh

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
command -v tmux >/dev/null || { echo "[lazy] tmux not found" >&2; exit 2; }
command -v python3 >/dev/null || { echo "[lazy] python3 not found" >&2; exit 2; }
BIN=${PICKLESCOPE:-${CARGO_TARGET_DIR:-$REPO/target}/release/picklescope}
[[ -x "$BIN" ]] || { echo "[lazy] no executable picklescope at $BIN" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-lazy.XXXXXX")
SOCK="$TMP/tmux.sock"
trap 'tmux -S "$SOCK" kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
printf 'set -g status off\nset -g default-terminal "tmux-256color"\n' >"$TMP/tmux.conf"
infocmp tmux-256color >/dev/null 2>&1 || sed -i 's/tmux-256color/screen-256color/' "$TMP/tmux.conf"
tm() { tmux -u -S "$SOCK" -f "$TMP/tmux.conf" "$@"; }
SCREEN=""
S=""
capture() { SCREEN=$(tm capture-pane -t "$S" -p 2>/dev/null || true); }
fail() { echo "[lazy] FAIL: $*" >&2; printf '%s\n' "$SCREEN" | sed 's/^/    |/' >&2; exit 1; }
wait_for() {
    local n=400
    while (( n-- > 0 )); do
        capture
        grep -qE -- "$1" <<<"$SCREEN" && return 0
        sleep 0.05
    done
    fail "timed out waiting for: $1"
}
# The table of the screen once it stops changing (header and status lines left out).
table() {
    local last="" n=40
    while (( n-- > 0 )); do
        last=$SCREEN; sleep 0.1; capture
        [[ $SCREEN == "$last" ]] && break
    done
    sed -n '2,$p' <<<"$SCREEN" | grep '^[│┌└]'
}

python3 "$REPO/tools/gen_fixtures.py" objheavy "$TMP/oh.pickle" --mb 12 >/dev/null

# One walk down; prints the table of every level, in order.
walk() {
    S=$1
    tm new-session -d -s "$S" -x 110 -y 30 "cd '$TMP' && $2 '$BIN' oh.pickle; echo '<exited>'; sleep 10"
    wait_for '^│▶  _ResultsList__results '
    table >"$TMP/$S.1"
    tm send-keys -t "$S" Enter
    wait_for '^│▶  \[0\] +FlagDeterBaseResults'
    tm send-keys -t "$S" Enter
    wait_for '^│▶  summaries +list\[[0-9]+ dict\]'
    table >"$TMP/$S.2"
    tm send-keys -t "$S" Enter
    wait_for '^│▶  \[[0-9]+\] +dict\[12 items\]'
    table >"$TMP/$S.3"
    tm send-keys -t "$S" Enter
    wait_for '^│▶  "spw:channel" +dict\[[0-9]+ dict\]'
    table >"$TMP/$S.4"
    tm send-keys -t "$S" Enter
    wait_for '^│▶  "?[A-Za-z0-9_:]+"? +dict\['
    table >"$TMP/$S.5"
}

walk full ""
tm send-keys -t full q
walk lean "PICKLESCOPE_EXPLORE_LEAN_FROM=1"
for k in 1 2 3 4 5; do
    cmp -s "$TMP/full.$k" "$TMP/lean.$k" || {
        diff "$TMP/full.$k" "$TMP/lean.$k" >&2 || true
        fail "level $k differs between the full parse and the lean one"
    }
done
tm send-keys -t lean Left Left Left
wait_for '^│▶  summaries '
tm send-keys -t lean Space
wait_for 'opened without its full parse'
tm send-keys -t lean q
wait_for '^<exited>'
echo "[lazy] ok: 5 levels through containers kept as spans equal the full parse's; marking refused"
