#!/usr/bin/env bash
# tui_journey.sh -- drive the real picklescope binary in a real terminal (tmux) through the main
# user journey and assert on what the screen shows.  Exit 0 = every step passed; on the first
# failure it prints what it expected plus the captured screen and exits 1 (2 = missing tools).
#
#   tools/tui_journey.sh                  # uses $PICKLESCOPE, else $CARGO_TARGET_DIR/release/…,
#                                         # else target/release/picklescope (built if missing)
#   PICKLESCOPE=/path/to/picklescope tools/tui_journey.sh
#   JOURNEY_FIXTURE=gen tools/tui_journey.sh   # context from tools/gen_fixtures.py instead of
#                                              # `picklescope demo` (the default when it exists)
#   JOURNEY_KEEP=1 tools/tui_journey.sh   # keep the temp dir (context, captures) for a look
#
# Needs: tmux (>= 3.0), python3 (stdlib only: tools/canon.py loads the written pickle).
# Runs in ~5 s once the binary is built; the whole run is bounded to 60 s.
#
# The journey (100x32 terminal, interactive bash inside tmux):
#   open a generated context -> Stages lists `4 hif_rawflagchans` with its on-disk size
#   -> move to stage 4, Enter -> tree shows `_ResultsList__results` -> Enter, Enter on the first
#   result -> `view` is the largest row -> space marks it -> header "after marks", What-if pane
#   lists RawflagchansResults.view -> u undoes -> space marks again -> ? shows help, ? closes it
#   -> /flagging Enter selects the flagging row -> w shows the confirmation with
#   result-stage4.pickle before -> after -> y writes -> file on disk is smaller, matches the
#   promised size, keeps its permissions, CPython (tools/canon.py) loads it and its graph equals
#   the original's minus RawflagchansResults.view -> q quits without asking -> alternate screen
#   left, cursor shown, stty settings identical, the shell echoes typed input -> exit ends tmux.
# Before that, at 80x24: the first screen shows every visible stage's name with its on-disk size,
# and q with unsaved marks asks "Quit?" (n stays, y quits) without touching any file.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
T0=$(date +%s%N)

if [[ -t 1 ]]; then B=$'\033[1m' R=$'\033[1;31m' G=$'\033[1;32m' N=$'\033[0m'; else B= R= G= N=; fi
say() { printf '%s[journey]%s %s\n' "$B" "$N" "$*"; }
die2() { printf '[journey] %s\n' "$*" >&2; exit 2; }

command -v tmux >/dev/null || die2 "tmux not found (apt-get install tmux)"
command -v python3 >/dev/null || die2 "python3 not found"
python3 -c "import pickle, pickletools" 2>/dev/null || die2 "python3 is broken (cannot import pickle)"

# ---------------------------------------------------------------- the binary
BIN=${PICKLESCOPE:-}
if [[ -z "$BIN" ]]; then
    BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/picklescope"
    if [[ ! -x "$BIN" ]]; then
        say "building $BIN (cargo build --release; not counted in the 60 s budget)"
        (cd "$REPO" && cargo build --release --quiet) || die2 "cargo build failed"
        T0=$(date +%s%N)
    fi
fi
[[ -x "$BIN" ]] || die2 "no executable picklescope at $BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# ---------------------------------------------------------------- temp dir, private tmux server
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ps-journey.XXXXXX")
SOCK="$TMP/tmux.sock"
cleanup() {
    tmux -S "$SOCK" kill-server >/dev/null 2>&1 || true
    if [[ -n "${JOURNEY_KEEP:-}" ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
# Hard deadline: the journey must never hang a CI job.
(
    trap 'kill $sp 2>/dev/null; exit 0' TERM
    sleep 60 & sp=$!; wait $sp
    printf '\n[journey] FAIL: still running after 60 s\n' >&2; kill -TERM $$
) 2>/dev/null &
WATCHDOG=$!
trap 'kill $WATCHDOG 2>/dev/null || true; cleanup' EXIT
trap 'exit 1' TERM INT

cat >"$TMP/tmux.conf" <<'EOF'
set -g status off
set -g default-terminal "tmux-256color"
set -g history-limit 0
set -g remain-on-exit off
EOF
infocmp tmux-256color >/dev/null 2>&1 || sed -i 's/tmux-256color/screen-256color/' "$TMP/tmux.conf"

tm() { tmux -u -S "$SOCK" -f "$TMP/tmux.conf" "$@"; }

SESSION=""
SCREEN=""
STEP=""
capture() { SCREEN=$(tm capture-pane -t "$SESSION" -p 2>/dev/null || true); }

fail() {
    printf '\n%s[journey] FAIL%s at step: %s\n[journey] %s\n' "$R" "$N" "$STEP" "$*" >&2
    if [[ -n "$SESSION" ]]; then
        local checked=$SCREEN
        printf '[journey] screen of tmux session %s as checked:\n' "$SESSION" >&2
        printf '%s\n' "$checked" | sed 's/^/    |/' >&2
        sleep 0.2
        capture
        if [[ "$SCREEN" != "$checked" ]]; then
            printf '[journey] and 0.2 s later:\n' >&2
            printf '%s\n' "$SCREEN" | sed 's/^/    |/' >&2
        fi
    fi
    exit 1
}

step() { STEP="$*"; say "$*"; }

# The screen counts as drawn once two captures 50 ms apart are identical: tmux may show a frame
# half-way through, so a match alone does not mean the rest of the frame is there yet.
settled() {
    local prev=$SCREEN
    sleep 0.05
    capture
    [[ "$SCREEN" == "$prev" ]]
}
# wait_for REGEX [TIMEOUT_S] -- poll until a line matches (grep -E) on a settled screen
wait_for() {
    local re=$1 n=$(( ${2:-10} * 20 ))
    capture
    while (( n-- > 0 )); do
        if grep -qE -- "$re" <<<"$SCREEN" && settled && grep -qE -- "$re" <<<"$SCREEN"; then
            return 0
        fi
        sleep 0.05
        capture
    done
    fail "timed out waiting for the screen to match: $re"
}
# wait_gone REGEX [TIMEOUT_S] -- poll until no line matches, on a settled screen
wait_gone() {
    local re=$1 n=$(( ${2:-10} * 20 ))
    capture
    while (( n-- > 0 )); do
        if ! grep -qE -- "$re" <<<"$SCREEN" && settled && ! grep -qE -- "$re" <<<"$SCREEN"; then
            return 0
        fi
        sleep 0.05
        capture
    done
    fail "timed out waiting for this to disappear from the screen: $re"
}
# expect REGEX MESSAGE -- the current screen must match
expect() { grep -qE -- "$1" <<<"$SCREEN" || fail "$2 (no line matches: $1)"; }
expect_not() { ! grep -qE -- "$1" <<<"$SCREEN" || fail "$2 (a line matches: $1)"; }
keys() { tm send-keys -t "$SESSION" "$@"; }
session_alive() { tm has-session -t "$SESSION" 2>/dev/null; }
fsize() { stat -c %s "$1"; }
fmode() { stat -c %a "$1"; }

# py SNIPPET ARGS... -- small stdlib-only Python helpers (screen parsing, size arithmetic)
py() { python3 - "$@"; }

# check_stage_sizes SAVED_STATE -- every visible Stages row shows its task and its file's size
check_stage_sizes() {
    printf '%s\n' "$SCREEN" >"$TMP/screen.txt"
    py "$TMP/screen.txt" "$1" <<'EOF' || fail "Stages rows do not show names with their on-disk sizes"
import os, re, sys
screen, saved = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
UNIT = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
rows = re.findall(r"^│[▶ ][T ]? *(\d+) ([a-z_]+) +([0-9.]+) (B|KiB|MiB|GiB)\b", screen, re.M)
if len(rows) < 10:
    sys.exit(f"only {len(rows)} stage rows with a number, a task name and a size")
bad = []
for num, task, val, unit in rows:
    disk = os.path.getsize(os.path.join(saved, f"result-stage{num}.pickle"))
    tol = 0 if unit == "B" else 0.005 * UNIT[unit] + 1   # shown with 2 decimals
    if abs(float(val) * UNIT[unit] - disk) > tol:
        bad.append(f"stage {num} {task}: shows {val} {unit}, file has {disk} bytes")
if bad:
    sys.exit("\n".join(bad))
print(f"    {len(rows)} stage rows, names and sizes match the files")
EOF
}

# ---------------------------------------------------------------- the context
step "generate a context"
CTX="$TMP/ctx"
if [[ "${JOURNEY_FIXTURE:-}" != gen ]] && "$BIN" demo --help >/dev/null 2>&1; then
    "$BIN" demo "$CTX" --no-open >"$TMP/gen.log" 2>&1 || { cat "$TMP/gen.log"; fail "picklescope demo failed"; }
    say "    picklescope demo $CTX --no-open"
else
    python3 "$REPO/tools/gen_fixtures.py" context "$CTX" --scale 0.003 --quiet >"$TMP/gen.log" 2>&1 \
        || { cat "$TMP/gen.log"; fail "gen_fixtures.py failed"; }
    say "    tools/gen_fixtures.py context $CTX --scale 0.003"
fi
SAVED=$(dirname "$(find "$CTX" -name result-stage4.pickle | head -n1)")
[[ -f "$SAVED/result-stage4.pickle" ]] || fail "no result-stage4.pickle in the generated context"
STAGE4="$SAVED/result-stage4.pickle"
mkdir -p "$TMP/orig"
cp -p "$SAVED"/*.pickle "$TMP/orig/"
(cd "$TMP/orig" && sha256sum -- *.pickle) >"$TMP/orig.sha256"

# ================================================================= 80x24: first screen, quit dialog
step "80x24: open the context"
SESSION=small
tm new-session -d -s small -x 80 -y 24 "cd '$TMP' && '$BIN' '$CTX'; echo picklescope-exit=\$?; sleep 30"
wait_for '^│[▶ ] +4 hif_rawflagchans +[0-9.]+ (B|KiB|MiB)'
wait_gone 'scanning|scan [0-9]+/[0-9]+' 20
expect '^ picklescope ' "header line missing"
expect '^┌ Stages ─' "Stages table title missing"
expect '^│ +# task +size' "Stages column header missing"
check_stage_sizes "$SAVED"

step "80x24: mark something, q asks first (n stays, y quits)"
keys j j j Enter
wait_for '_ResultsList__results'
keys Enter
wait_for '^│▶  \[[0-9]+\] +RawflagchansResults'
keys Enter
wait_for '^│▶  view '
keys Space
wait_for '^│✔ RawflagchansResults\.view '
expect '^│▶T view ' "view row does not show the T mark"
keys q
wait_for 'Quit\?'
expect 'not exported or written' "the quit question does not say why it asks"
keys n
wait_gone 'Quit\?'
expect '^│▶T view ' "after n the tree should still be there with view marked"
keys q
wait_for 'Quit\?'
keys y
wait_for '^picklescope-exit=0$'
(cd "$SAVED" && sha256sum --quiet -c "$TMP/orig.sha256" >/dev/null 2>&1) \
    || fail "quitting without writing changed a file"
tm kill-session -t small 2>/dev/null || true

# ================================================================= 100x32: the main journey
step "100x32: start an interactive shell in tmux"
SESSION=journey
cat >"$TMP/run.sh" <<EOF
stty -g >'$TMP/stty.before'
'$BIN' '$CTX'
echo "picklescope-exit=\$?"
stty -g >'$TMP/stty.after'
EOF
tm new-session -d -s journey -x 100 -y 32 \
    "cd '$TMP' && env -u NO_COLOR PS1='journey\$ ' HISTFILE=/dev/null bash --norc --noprofile -i"
wait_for '^journey\$'
keys -l "bash '$TMP/run.sh'"
keys Enter

step "open the context: Stages lists stage 4 hif_rawflagchans"
wait_for '^│[▶ ] +4 hif_rawflagchans +[0-9.]+ (B|KiB|MiB)'
wait_gone 'scanning|scan [0-9]+/[0-9]+' 20
[[ "$(tm display -p -t journey '#{alternate_on}')" == 1 ]] || fail "picklescope did not enter the alternate screen"
expect '^│▶  +1 [a-z_]+ ' "stage 1 should be selected at start"
check_stage_sizes "$SAVED"
BEFORE=$(fsize "$STAGE4")
MODE_BEFORE=$(fmode "$STAGE4")

step "move to stage 4 and Enter: tree shows _ResultsList__results"
keys j j j
wait_for '^│▶  +4 hif_rawflagchans '
keys Enter
wait_for '^┌ stage 4 hif_rawflagchans'
wait_for '^│▶  _ResultsList__results +list\[[0-9]+ RawflagchansResults\]'

step "drill into the first result: view is the largest row"
keys Enter
wait_for '^│▶  \[[0-9]+\] +RawflagchansResults'
keys Enter
wait_for '^┌ stage 4 hif_rawflagchans › _ResultsList__results › \[[0-9]+\] RawflagchansResults'
wait_for '^│▶  view '
printf '%s\n' "$SCREEN" >"$TMP/screen.txt"
py "$TMP/screen.txt" <<'EOF' || fail "view is not the largest row of the result"
import re, sys
UNIT = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
head = next(i for i, l in enumerate(lines) if re.match(r"^│ +name +type .*retained", l))
rows = []
for l in lines[head + 1:]:
    m = re.match(r"^│[▶ ][T ] (\S+)", l)
    if not m:
        break
    sizes = re.findall(r"([0-9.]+) (B|KiB|MiB|GiB)\b", l)
    if len(sizes) < 2:
        sys.exit(f"row without inline and retained sizes: {l!r}")
    v, u = sizes[-1]                      # the retained column
    rows.append((float(v) * UNIT[u], m.group(1)))
if len(rows) < 5:
    sys.exit(f"only {len(rows)} rows in the result")
big = max(rows)
others = [r for r in rows if r[1] != "view"]
if big[1] != "view" or rows[0][1] != "view":
    sys.exit(f"largest row is {big[1]}, first row is {rows[0][1]}")
print(f"    {len(rows)} rows; view retains {big[0]:.0f} B, next {max(others)[0]:.0f} B")
EOF

step "space marks view: header says after marks, What-if lists RawflagchansResults.view"
keys Space
wait_for 'after marks'
expect '^│▶T view ' "view row does not show the T mark"
expect '^ picklescope .*→ .*after marks' "header should read '<total> → <after> after marks'"
expect '^┌ What-if · 1 rule' "What-if pane title missing"
expect '^│✔ RawflagchansResults\.view +[0-9]+ inst\.' "What-if pane does not list RawflagchansResults.view"

step "u undoes the mark"
keys u
wait_gone 'after marks'
expect '^│▶  view ' "view still marked after u"
expect_not 'RawflagchansResults\.view' "What-if still lists the undone rule"

step "space marks view again"
keys Space
wait_for '^│✔ RawflagchansResults\.view '
expect 'after marks' "header lost 'after marks'"
expect '^│▶T view ' "view row does not show the T mark"

step "? shows help, ? closes it"
keys '?'
wait_for '┌ Keys '
expect 'undo the last mark change' "help does not list u"
expect 'write slimmed files' "help does not list w"
keys '?'
wait_gone '┌ Keys '
expect '^│▶T view ' "closing help should leave the tree as it was"

step "search /flagging Enter selects the flagging row"
keys /
wait_for '^/.*(Esc cancel|⏎)'
keys -l flagging
wait_for '^/flagging'
keys Enter
wait_for '^│▶  flagging '
expect '^│ T view ' "the mark on view was lost by searching"

step "w shows the write confirmation: result-stage4.pickle before → after"
keys w
wait_for 'Write slimmed pickles\?'
LINE=$(grep -E 'result-stage4\.pickle +[0-9.]+ (B|KiB|MiB|GiB) +→ +[0-9.]+ (B|KiB|MiB|GiB)' <<<"$SCREEN") \
    || fail "the confirmation does not list result-stage4.pickle with before → after"
expect 'y write' "the confirmation does not say y writes"
expect 'backup: off' "the confirmation does not show the backup setting"
[[ $(grep -cE 'result-stage[0-9]+\.pickle' <<<"$SCREEN") == 1 ]] \
    || fail "only result-stage4.pickle should change"
PROMISED=$(sed -E 's/.*→ +([0-9.]+ (B|KiB|MiB|GiB)).*/\1/' <<<"$LINE")
SHOWN_BEFORE=$(sed -E 's/.*result-stage4\.pickle +([0-9.]+ (B|KiB|MiB|GiB)) +→.*/\1/' <<<"$LINE")
say "    dialog: result-stage4.pickle $SHOWN_BEFORE → $PROMISED"

step "y writes"
keys y
wait_for 'wrote 1 file' 20
wait_gone 'Write slimmed pickles\?'
AFTER=$(fsize "$STAGE4")
say "    on disk: $BEFORE → $AFTER bytes"
(( AFTER < BEFORE )) || fail "result-stage4.pickle did not get smaller ($BEFORE → $AFTER bytes)"
py "$PROMISED" "$AFTER" "$SHOWN_BEFORE" "$BEFORE" <<'EOF' || fail "sizes in the dialog do not match the files"
import sys
UNIT = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
for shown, real in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    v, u = shown.split()
    tol = 0 if u == "B" else 0.005 * UNIT[u] + 1
    if abs(float(v) * UNIT[u] - int(real)) > tol:
        sys.exit(f"dialog said {shown}, the file has {real} bytes")
EOF
[[ "$(fmode "$STAGE4")" == "$MODE_BEFORE" ]] \
    || fail "write changed the file mode ($MODE_BEFORE → $(fmode "$STAGE4"))"
EXTRA=$(find "$SAVED" -type f ! -name 'result-stage*.pickle')
[[ -z "$EXTRA" ]] || fail "backup is off, yet the write left: $EXTRA"
(cd "$SAVED" && grep -v ' result-stage4.pickle$' "$TMP/orig.sha256" | sha256sum --quiet -c >/dev/null 2>&1) \
    || fail "a file other than result-stage4.pickle changed"

step "CPython loads the written pickle (tools/canon.py) and it equals the original minus view"
python3 "$REPO/tools/canon.py" "$STAGE4" -o "$TMP/slim.canon" 2>"$TMP/canon.err" \
    || { cat "$TMP/canon.err" >&2; fail "tools/canon.py cannot load the written result-stage4.pickle"; }
python3 "$REPO/tools/canon.py" "$TMP/orig/result-stage4.pickle" --drop RawflagchansResults:view \
    -o "$TMP/orig-drop.canon" 2>>"$TMP/canon.err" || fail "tools/canon.py cannot load the original"
cmp -s "$TMP/slim.canon" "$TMP/orig-drop.canon" || {
    diff "$TMP/orig-drop.canon" "$TMP/slim.canon" | head -20 >&2
    fail "canon(written) != canon(original --drop RawflagchansResults:view)"
}
say "    canon: $(wc -l <"$TMP/slim.canon") lines, identical"

step "q quits (marks are written, so no question) and restores the terminal"
expect_not 'Quit\?' "unexpected question"
keys q
wait_for '^picklescope-exit=0$'
wait_for '^journey\$ ?$'
[[ "$(tm display -p -t journey '#{alternate_on}')" == 0 ]] || fail "still in the alternate screen after quitting"
[[ "$(tm display -p -t journey '#{cursor_flag}')" == 1 ]] || fail "cursor still hidden after quitting"
expect_not '^┌ (Stages|stage 4)|^┌ What-if' "the TUI is still on the screen after quitting"
cmp -s "$TMP/stty.before" "$TMP/stty.after" \
    || fail "terminal modes differ after quitting: $(cat "$TMP/stty.before") vs $(cat "$TMP/stty.after")"
keys -l 'echo "typed-$((6*7))"'
keys Enter
wait_for '^typed-42$'
keys -l exit
keys Enter
n=100
while session_alive && (( n-- > 0 )); do sleep 0.05; done
session_alive && fail "the tmux session did not end after exit"
SESSION=""

T1=$(date +%s%N)
printf '%s[journey] PASS%s in %d.%02d s (%s)\n' "$G" "$N" $(( (T1 - T0) / 1000000000 )) \
    $(( (T1 - T0) / 10000000 % 100 )) "$BIN"
