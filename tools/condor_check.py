#!/usr/bin/env python3
"""Expands examples/survey.condor.sub with HTCondor's own submit-description parser (the
`htcondor` Python package from PyPI, no pool needed) for every $(Process) of its `queue`
count, and checks that job P gets `--shard P+1/N` and its own output file.

Usage: condor_check.py [SUBMIT_FILE]   (exit 0 ok, 1 mismatch)
"""

import re
import sys

import htcondor2 as htcondor


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "examples/survey.condor.sub"
    text = open(path, encoding="utf-8").read()
    root = "/data/pipeline-runs"
    # condor_submit reads NAME=VALUE from its command line before the file; it sets Process
    # for each job.
    probe = htcondor.Submit(f"Process = 0\nROOT = {root}\n" + text)
    n = int(probe.getQArgs().strip())
    bad = 0
    outputs = set()
    for proc in range(n):
        sub = htcondor.Submit(f"Process = {proc}\nROOT = {root}\n" + text)
        args = sub.expand("arguments")
        out = sub.expand("output")
        shard = re.search(r"--shard (\S+)", args)
        want = f"{proc + 1}/{n}"
        ok = shard is not None and shard.group(1) == want and root in args
        ok = ok and out not in outputs
        outputs.add(out)
        print(f"condor_check: Process {proc}: {args} > {out}  {'ok' if ok else 'WRONG, want --shard ' + want}")
        bad += not ok
    if bad:
        print(f"condor_check: FAILED: {bad} of {n} jobs", file=sys.stderr)
        return 1
    print(f"condor_check: OK: queue {n} gives shards 1/{n}..{n}/{n}, one output file each "
          f"(htcondor {htcondor.version().split()[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
