#!/usr/bin/env python3
"""Keystroke -> frame of the explorer while it loads a file, measured on a pseudo-terminal
(no tmux in between; standard library only).

    python3 tools/key_latency.py [--bin PATH] [--keys 40] [--loading-until 1.8] FILE

Starts `picklescope FILE` on a 120x30 pty, then presses `?` and Escape in turn, one every
~50 ms, and times each press to the first bytes of the frame it draws. Presses made in the
first --loading-until seconds (set it below the time the tree takes to show, e.g. from
tools/explore_scale.sh) count as "while loading"; the rest as "after". Prints the median and
the largest of each group.
"""

import argparse
import os
import pty
import select
import statistics
import struct
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_for(fd, seconds):
    """Everything the program writes in the next `seconds`."""
    out = b''
    end = time.monotonic() + seconds
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            return out
        try:
            out += os.read(fd, 65536)
        except OSError:
            return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('file')
    ap.add_argument('--bin', default=os.path.join(REPO, 'target', 'release', 'picklescope'))
    ap.add_argument('--keys', type=int, default=40)
    ap.add_argument('--loading-until', type=float, default=1.8)
    args = ap.parse_args()
    pid, fd = pty.fork()
    if pid == 0:
        os.environ['TERM'] = 'xterm-256color'
        os.execv(args.bin, [args.bin, args.file])
    import fcntl
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 120, 0, 0))
    t0 = time.monotonic()
    read_for(fd, 0.3)
    presses = []
    for k in range(args.keys):
        read_for(fd, 0.05)
        sent = time.monotonic()
        os.write(fd, b'?' if k % 2 == 0 else b'\x1b')
        ready, _, _ = select.select([fd], [], [], 5.0)
        if not ready:
            sys.exit('no frame within 5 s of a key')
        first = time.monotonic()
        os.read(fd, 65536)
        presses.append(((first - sent) * 1e3, sent - t0 < args.loading_until))
    os.write(fd, b'q')
    time.sleep(0.3)
    try:
        os.kill(pid, 9)
    except OSError:
        pass
    for name, loading in (('while loading', True), ('after', False)):
        ms = sorted(p[0] for p in presses if p[1] == loading)
        if ms:
            print('%s: %d keys, first bytes of the new frame after median %.2f ms, max %.2f ms'
                  % (name, len(ms), statistics.median(ms), ms[-1]))


if __name__ == '__main__':
    main()
