#!/usr/bin/env python3
"""Times two (or more) builds of picklescope on the same command, runs interleaved.

    N=30 python3 tools/abtime.py OLD_BINARY NEW_BINARY -- report --json FILE

Each round runs every binary once, in turn, so machine noise (other jobs, the page cache, a
VM's memory handling) falls on all of them alike. Prints the minimum and median wall time of
each (N rounds, default 25). Used for the A/B figures in commit messages and closing notes.
"""

import os
import statistics
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    if '--' not in args or args.index('--') == 0:
        sys.exit(__doc__)
    cut = args.index('--')
    bins, cmd = args[:cut], args[cut + 1:]
    rounds = int(os.environ.get('N', '25'))
    times = {b: [] for b in bins}
    for _ in range(rounds):
        for b in bins:
            t = time.perf_counter()
            subprocess.run([b] + cmd, stdout=subprocess.DEVNULL, check=False)
            times[b].append(time.perf_counter() - t)
    for b in bins:
        v = sorted(times[b])
        print('%-48s min %.2f ms  median %.2f ms' % (b, v[0] * 1e3, statistics.median(v) * 1e3))


if __name__ == '__main__':
    main()
