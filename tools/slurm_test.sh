#!/usr/bin/env bash
# Runs examples/survey.sbatch on a real one-node SLURM cluster on localhost and checks that the
# merged shard documents equal one unsharded survey, byte for byte.
#
# Installs Debian's slurm-wlm and munge when missing (needs root and apt), starts munged,
# slurmctld and slurmd with a minimal slurm.conf in a temp dir (their own ports and files, job
# completions in a text file so sacct -c can list them), writes a tree of demo contexts,
# submits the array job and the dependent merge job from the example, waits, compares, prints
# the sacct lines, and stops the daemons it started.
#
# Exit codes: 0 the comparison passed; 1 it failed or the cluster did not run the jobs;
# 77 SLURM/munge are missing and cannot be installed here (nothing was tested).
# Usage: tools/slurm_test.sh [PICKLESCOPE_BINARY]   (default target/release/picklescope)
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath "${1:-target/release/picklescope}")
if [ ! -x "$BIN" ]; then
  echo "slurm_test: $BIN is missing (cargo build --release first)" >&2
  exit 1
fi

have() { command -v "$1" >/dev/null 2>&1; }
if ! { have slurmctld && have slurmd && have sbatch && have munged; }; then
  if [ "$(id -u)" -ne 0 ] || ! have apt-get; then
    echo "slurm_test: SKIPPED: slurm-wlm/munge not installed and no root apt-get to install them" >&2
    exit 77
  fi
  echo "slurm_test: installing slurm-wlm and munge (apt-get)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq slurm-wlm munge >/dev/null; }; then
    echo "slurm_test: SKIPPED: apt-get could not install slurm-wlm and munge here" >&2
    exit 77
  fi
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slurm_test: SKIPPED: the test cluster runs its daemons as root" >&2
  exit 77
fi

T=$(mktemp -d /tmp/picklescope-slurm.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "slurm_test: FAILED: $*" >&2
  for f in "$T"/slurmctld.log "$T"/slurmd.log "$T"/munged.log; do
    [ -f "$f" ] && { echo "--- tail $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit 1
}

# --- a tree of contexts: several depths, a run without its .context, a broken stage file.
echo "slurm_test: writing 8 demo contexts under $T/tree"
i=0
for sub in a b/deep c/d/e f g/h i j/k/l/m n; do
  i=$((i + 1))
  "$BIN" demo "$T/tree/$sub" --no-open --scale "0.0$(( i % 5 + 2 ))" >/dev/null
done
rm "$T/tree/i/pipeline-demo.context"
head -c 5000 "$T/tree/f/pipeline-demo/saved_state/result-stage7.pickle" > "$T/broken"
mv "$T/broken" "$T/tree/f/pipeline-demo/saved_state/result-stage7.pickle"
ln -s .. "$T/tree/b/deep/up"

# --- munge with its own key and socket.
mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/logs"
mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null \
  || dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$T/munge/munge.key"
SOCK="$T/munge/munge.socket"
munged --foreground --force --key-file="$T/munge/munge.key" --socket="$SOCK" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munged.log" \
  --seed-file="$T/munge/seed" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || fail "munged did not start"

# --- slurm.conf: one node (this host), one partition.
HOST=$(hostname -s)
CPUS=$(nproc)
export SLURM_CONF="$T/slurm.conf"
cat > "$SLURM_CONF" <<EOF
ClusterName=picklescope-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$T/jobcomp.txt
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -D -i -f "$SLURM_CONF" >/dev/null 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 100); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
  [ "$state" = "idle" ] && break
  sleep 0.2
done
[ "$state" = "idle" ] || fail "the node did not come up (state: ${state:-none})"
echo "slurm_test: cluster up: $(sinfo -h -o '%P %D node(s) %T %c CPUs')"

# --- the example array job and its dependent merge job. Ids 0,2,4,6: --shard auto must map
# them to 1/4..4/4 through SLURM_ARRAY_TASK_MIN, _STEP and _COUNT.
N=4
ARRAY=0-6:2
jid=$(sbatch --parsable --array=$ARRAY --cpus-per-task=1 --mem=200M \
  --chdir="$T" --output="$T/logs/survey-%A_%a.log" \
  --export="ALL,PICKLESCOPE=$BIN" \
  examples/survey.sbatch "$T/tree" "$T/shards" --preset strategy-a) || fail "sbatch"
mid=$(sbatch --parsable --dependency="afterok:$jid" --mem=200M --chdir="$T" \
  --output="$T/logs/merge-%j.log" --job-name=picklescope-merge \
  --wrap="'$BIN' survey --merge '$T'/shards/shard-*.json --json > '$T/fleet.json'") \
  || fail "sbatch (merge)"
echo "slurm_test: submitted array job $jid (--array=$ARRAY, $N tasks) and merge job $mid"

for _ in $(seq 300); do
  [ -z "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ] && break
  sleep 0.2
done
if [ -n "$(squeue -h -j "$jid,$mid" 2>/dev/null)" ]; then
  fail "jobs still queued after 60 s"
fi

echo "slurm_test: sacct -c (job completions; array task ids from the same records below)"
# sacct's filetxt reader does not know the ArrayJobId/ArrayTaskId fields it meets: drop
# those two warnings, then show the fields from the completion records themselves.
sacct -c --format=JobID%-8,JobName%-20,Partition,NodeList,State,ExitCode,Elapsed \
  2> >(grep -v "Unknown type Array" >&2) || fail "sacct"
sleep 0.1
tr ' ' '\n' < "$T/jobcomp.txt" | awk -F= '
  $1 == "JobId" { id = $2 }
  $1 == "ArrayJobId" { aj = $2 }
  $1 == "ArrayTaskId" { printf "  job %s = array task %s_%s\n", id, aj, $2 }'

for id in 0 2 4 6; do
  [ -s "$T/shards/shard-$id.json" ] || { cat "$T"/logs/* >&2 || true; fail "task $id wrote nothing"; }
done
shards=$(for id in 0 2 4 6; do
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["shard"])' "$T/shards/shard-$id.json"
done | sort | tr '\n' ' ')
[ "$shards" = "1/4 2/4 3/4 4/4 " ] || fail "tasks 0,2,4,6 ran shards $shards, not 1/4..4/4"
echo "slurm_test: array tasks 0,2,4,6 ran shards $shards"
[ -s "$T/fleet.json" ] || { cat "$T"/logs/merge-* >&2 || true; fail "the merge job wrote nothing"; }

"$BIN" survey "$T/tree" --preset strategy-a --json > "$T/full.json"
if ! cmp -s "$T/fleet.json" "$T/full.json"; then
  diff <(head -c 4000 "$T/full.json") <(head -c 4000 "$T/fleet.json") >&2 || true
  fail "merged shards differ from the unsharded survey"
fi
python3 - "$T/fleet.json" "$T"/shards/shard-*.json <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
t = d["totals"]
print("slurm_test: merged totals: %d contexts, %d files, %d bytes, after %s: %d bytes, "
      "read back %d bytes per run, %d error(s); contexts per shard: %s" % (
      t["contexts"], t["files"], t["bytes"], d["rules"], t["after_bytes"],
      t["reread_bytes"], t["errors"],
      ", ".join(str(len(json.load(open(f))["contexts"])) for f in sys.argv[2:]) or "-"))
EOF
echo "slurm_test: OK: $N array tasks merged == unsharded survey ($(wc -c < "$T/full.json") bytes of JSON)"
