#!/usr/bin/env bash
# explore_scale.sh -- how fast the explorer shows a large pickle, measured as a person sees it:
# the real binary in tmux (send-keys / capture-pane, polled every 10 ms) under /usr/bin/time.
# Prints seconds to the first screen, seconds to the tree (the first level's rows), seconds
# from a key pressed while the file loads (`?`, again and again) to the help on screen (the
# first and the worst), and the peak RSS.
# Extra environment (e.g. PICKLESCOPE_EXPLORE_LEAN_FROM=...) is passed on.
#
#   tools/explore_scale.sh FILE.pickle [ROW-PATTERN]
#
# ROW-PATTERN: a regex the first tree row matches (default: any selected row). Exit 2 when
# tmux is missing.

set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
command -v tmux >/dev/null || { echo "tmux not found" >&2; exit 2; }
BIN=${PICKLESCOPE:-${CARGO_TARGET_DIR:-$REPO/target}/release/picklescope}
FILE=$(realpath "$1")
ROW=${2:-'^│▶  '}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-scale.XXXXXX")
SOCK="$TMP/tmux.sock"
trap 'tmux -S "$SOCK" kill-server >/dev/null 2>&1 || true; rm -rf "$TMP"' EXIT
tm() { tmux -u -S "$SOCK" "$@"; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ENVS=$(env | grep '^PICKLESCOPE_' | sed "s/^/export /;s/=/='/;s/$/';/" | tr '\n' ' ' || true)
t0=$(now)
tm new-session -d -s sc -x 120 -y 30 \
    "$ENVS /usr/bin/time -f '%e %U %S %M' -o '$TMP/time' '$BIN' '$FILE'; echo '<exited>'; sleep 30"
first="" tree="" key="" worst=0
while :; do
    s=$(tm capture-pane -t sc -p 2>/dev/null || true)
    if [[ -z $first ]] && grep -q 'picklescope' <<<"$s"; then
        first=$(since "$t0")
    fi
    if [[ -n $first ]]; then
        if grep -qE -- "$ROW" <<<"$s"; then
            tree=$(since "$t0")
            break
        fi
        # A key while it loads: `?` until the help shows, Escape until it goes.
        k0=$(now)
        tm send-keys -t sc '?'
        while ! tm capture-pane -t sc -p | grep -q 'any other key closes'; do sleep 0.002; done
        lat=$(since "$k0")
        [[ -z $key ]] && key=$lat
        (( $(echo "$lat > $worst" | bc) )) && worst=$lat
        tm send-keys -t sc Escape
        while tm capture-pane -t sc -p | grep -q 'any other key closes'; do sleep 0.002; done
    fi
    sleep 0.01
done
tm send-keys -t sc q
while [[ ! -s $TMP/time ]]; do sleep 0.05; done
read -r wall user sys peak <"$TMP/time"
printf 'first screen %.2f s · tree %.2f s · key to help %.3f s first, %.3f s worst · whole %s s (user %s, sys %s) · peak RSS %d MiB\n' \
    "$first" "$tree" "$key" "$worst" "$wall" "$user" "$sys" "$((peak / 1024))"
