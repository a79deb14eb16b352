#!/usr/bin/env python3
"""Two builds of picklescope on the same commands, in turn (A B A B ...), whole process:
by default the static release build users run (tools/build_static.sh) against the dynamic
build `cargo build --release` makes (standard library only).

    python3 tools/bench_builds.py [--a PATH] [--b PATH] [--repeat N] [--rss-runs N]
                                  [--bench DIR] [--scale DIR]

Inputs come from tools/bench.py (--bench, default /tmp/picklescope-bench) and
tools/scale_bench.py (--scale, default /tmp/picklescope-scale); a command whose input is
missing is left out and said so. Each command runs once per build untimed, then --repeat
times per build in turn. Wall and CPU seconds (user + system) are the child's own accounting
(os.wait4); the ratios A/B are taken pair by pair (a drift of the machine's speed moves both
runs of a pair) and their median printed. Peak RSS is read by GNU time (`/usr/bin/time -f %M`)
in --rss-runs more runs of each build: through this script's wait4 it could not read below the
script's own size. Prints a Markdown table.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scale_bench import REPO, MIB, loadavg, machine, peak_rss_gnu_time, run_once  # noqa: E402

COMMANDS = [
    ('report --json', 'scale', 'objheavy-10mb.pickle', 'object-heavy pickle (9.6 MB)'),
    ('report --json', 'scale', 'objheavy-200mb.pickle', 'object-heavy pickle (196 MB)'),
    ('report --json', 'scale', 'objheavy-1000mb.pickle', 'object-heavy pickle (991 MB)'),
    ('report --json', 'bench', 'numpyheavy-1024mb.pickle', 'numpy-heavy pickle (1.0 GB)'),
    ('report --json', 'bench', 'context-s1-ms4', '1.2 GB context (49 files)'),
    ('slim --preset strategy-a --dry-run', 'bench', 'context-s1-ms4', 'same context'),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--a', default=os.path.join(REPO, 'target', 'x86_64-unknown-linux-gnu',
                                                'release', 'picklescope'),
                    help='build A (default: the static release build)')
    ap.add_argument('--b', default=os.path.join(REPO, 'target', 'release', 'picklescope'),
                    help='build B (default: the dynamic build)')
    ap.add_argument('--repeat', type=int, default=15)
    ap.add_argument('--rss-runs', type=int, default=3)
    ap.add_argument('--bench', default='/tmp/picklescope-bench')
    ap.add_argument('--scale', default='/tmp/picklescope-scale')
    args = ap.parse_args()
    for b in (args.a, args.b):
        if not os.access(b, os.X_OK):
            sys.exit('bench_builds: no build at %s (tools/build_static.sh builds the static one, '
                     '`cargo build --release` the dynamic one)' % b)
    dirs = {'bench': args.bench, 'scale': args.scale}
    load_before = loadavg()
    lines = ['| command | A wall s | B wall s | A/B wall | A/B CPU | A peak RSS | B peak RSS |',
             '|---|---:|---:|---:|---:|---:|---:|']
    for sub, where, name, what in COMMANDS:
        path = os.path.join(dirs[where], name)
        if not os.path.exists(path):
            print('left out (no %s): %s %s' % (path, sub, name), file=sys.stderr)
            continue
        cmd = lambda b: [b] + sub.split() + [path]  # noqa: E731
        run_once(cmd(args.a))
        run_once(cmd(args.b))
        pairs = [(run_once(cmd(args.a)), run_once(cmd(args.b))) for _ in range(args.repeat)]
        rss = {b: statistics.median(peak_rss_gnu_time(cmd(b)) or 0
                                    for _ in range(args.rss_runs)) for b in (args.a, args.b)}
        line = '| `%s` %s | %.4f | %.4f | %.3f | %.3f | %.1f MiB | %.1f MiB |' % (
            sub, what, statistics.median(a[0] for a, _ in pairs),
            statistics.median(b[0] for _, b in pairs),
            statistics.median(a[0] / b[0] for a, b in pairs),
            statistics.median(a[1] / b[1] for a, b in pairs if b[1] > 0),
            rss[args.a] / MIB, rss[args.b] / MIB)
        print(line, file=sys.stderr, flush=True)
        lines.append(line)
    lines += ['', 'A: `%s`; B: `%s`.' % (os.path.relpath(args.a, REPO),
                                          os.path.relpath(args.b, REPO)),
              'Machine: %s; load average %.1f before, %.1f after; medians of %d runs in turn.'
              % (machine(), load_before, loadavg(), args.repeat)]
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
