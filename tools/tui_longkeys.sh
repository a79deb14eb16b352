#!/usr/bin/env bash
# tui_longkeys.sh -- the real picklescope binary in tmux at 80x24 on the demo context: stage 4 ›
# _ResultsList__results › a RawflagchansResults › view lists eight long dict keys that differ only
# at their end. Checks that every row shows both ends of its key (elided in the middle), that no
# two rows read the same, that the status line holds the selected row's full key, and that `y`
# writes an OSC 52 sequence holding its path (seen by tmux as the pane's clipboard buffer when
# set-clipboard is on). Exit 0 = passed, 1 = failed (screen printed), 2 = tmux missing.
#
#   PICKLESCOPE=/path/to/picklescope tools/tui_longkeys.sh

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
command -v tmux >/dev/null || { echo "[longkeys] tmux not found" >&2; exit 2; }
BIN=${PICKLESCOPE:-${CARGO_TARGET_DIR:-$REPO/target}/release/picklescope}
[[ -x "$BIN" ]] || { echo "[longkeys] no executable picklescope at $BIN" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-longkeys.XXXXXX")
SOCK="$TMP/tmux.sock"
trap 'tmux -S "$SOCK" kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
printf 'set -g status off\nset -g set-clipboard on\nset -g default-terminal "tmux-256color"\n' >"$TMP/tmux.conf"
infocmp tmux-256color >/dev/null 2>&1 || sed -i 's/tmux-256color/screen-256color/' "$TMP/tmux.conf"
tm() { tmux -u -S "$SOCK" -f "$TMP/tmux.conf" "$@"; }
SCREEN=""
capture() { SCREEN=$(tm capture-pane -t lk -p 2>/dev/null || true); }
fail() { echo "[longkeys] FAIL: $*" >&2; printf '%s\n' "$SCREEN" | sed 's/^/    |/' >&2; exit 1; }
wait_for() {
    local n=200
    while (( n-- > 0 )); do
        capture
        grep -qE -- "$1" <<<"$SCREEN" && return 0
        sleep 0.05
    done
    fail "timed out waiting for: $1"
}

"$BIN" demo "$TMP/ctx" --no-open >/dev/null
tm new-session -d -s lk -x 80 -y 24 "cd '$TMP/ctx' && '$BIN' . --print-on-exit; echo '<exited>'; sleep 10"
wait_for '^│[▶ ] +4 hif_rawflagchans'
n=100; while (( n-- > 0 )); do capture; grep -qE 'scan(ning)? [0-9]+/' <<<"$SCREEN" || break; sleep 0.05; done
tm send-keys -t lk j j j Enter
wait_for '^│▶  _ResultsList__results '
tm send-keys -t lk Enter
wait_for '^│▶  \[[0-9]+\] +RawflagchansResults'
tm send-keys -t lk Enter
wait_for '^│▶  view '
tm send-keys -t lk Enter
wait_for '^│▶  "File:'
rows=$(grep -E '^│[▶ ]  "File:' <<<"$SCREEN" || true)
count=$(grep -c . <<<"$rows")
[[ $count -eq 8 ]] || fail "expected 8 key rows, saw $count"
# both ends of every key: its start and its Pol:XX / Pol:YY end, with … between
grep -vqE '"File:uid___A002_.*….*Pol:(XX|YY)"' <<<"$rows" && fail "a row lost an end of its key"
distinct=$(sed -E 's/ (list|dict)\[.*//' <<<"$rows" | sed 's/^│[▶ ] *//' | sort -u | grep -c .)
[[ $distinct -eq 8 ]] || fail "rows read the same: only $distinct distinct names"
status=$(tail -n 1 <<<"$SCREEN")
grep -qE '▶ "File:uid___A002_X[0-9a-f]+_X[0-9a-f]+\.ms Intent:[A-Z]+ .*Pol:(XX|YY)"' <<<"$status" \
    || fail "the status line lacks the full key: $status"
printf '%s\n' "$SCREEN" >"${LONGKEYS_SCREEN:-/dev/null}"
tm send-keys -t lk y
wait_for '^ copied _ResultsList__results\['
tm send-keys -t lk q
wait_for '^<exited>'
# -J joins the lines the 80-column pane wrapped
printed=$(tm capture-pane -t lk -p -J | grep -B1 '^<exited>' | head -n 1)
[[ $printed == _ResultsList__results\[*\].view\[\"File:*\"\] ]] || fail "--print-on-exit printed: $printed"
buf=$(tm show-buffer 2>/dev/null || true)
if [[ -n "$buf" ]]; then
    [[ $buf == "$printed" ]] || fail "tmux clipboard buffer ($buf) differs from the printed path ($printed)"
    echo "[longkeys] tmux received the OSC 52 copy: $buf"
fi
echo "[longkeys] ok: 8 long keys apart at 80 columns, full key in the status line, y -> $printed"
