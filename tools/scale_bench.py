#!/usr/bin/env python3
"""Object-heavy pickles at growing sizes: picklescope `report --json` against CPython's
`pickle.load` (the classes importable), whole process, side by side (standard library only).

    python3 tools/scale_bench.py [--bin PATH] [--scratch DIR] [--sizes 10,50,200,1000]
                                 [--repeat N] [--big-repeat N] [--out DIR]

The binary is by default the static release build users run (`tools/build_static.sh` builds
it). Inputs are generated with `tools/gen_fixtures.py objheavy F --mb N` into the scratch
directory (default /tmp/picklescope-scale; files already there are reused) and read once,
untimed, so the page cache is warm. Each command then runs once untimed and N times timed
(files of 200 MB or more: --big-repeat times), one after the other, picklescope and CPython
in turn. For every run the child's own accounting is kept (os.wait4): wall seconds, CPU
seconds (user + system) and peak RSS (ru_maxrss). Linux carries a parent's peak RSS into its
child's ru_maxrss through fork and exec, and this Python process is larger than picklescope's
peak on a small file, so picklescope's peak RSS is read instead by GNU time (`/usr/bin/time`,
a small C parent) in --rss-runs extra untimed runs; without it, the table gives ru_maxrss and
the floor this process imposes on it. The table gives medians, and the ratios of
CPython's median to picklescope's: wall time is what a user waits for (picklescope parses on
both cores, so its wall time is below its CPU time); on a busy machine it also counts the
time the process waited for a core, so check the load the table names.

Writes DIR/scale.json (every run) and DIR/scale.md (the table with each command line); draw
the plot with `python3 tools/plot_scale.py DIR/scale.json docs/scale.png`.
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(REPO, 'tools')
MIB = 1024 * 1024

PY_LOAD = ('import sys; sys.path.insert(0, sys.argv[1]); import fakes, pickle; '
           'f = open(sys.argv[2], "rb"); pickle.load(f)')


def run_once(cmd):
    """Runs cmd with its output thrown away; returns (wall s, cpu s, peak RSS bytes)."""
    with open(os.devnull, 'wb') as null:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        err = p.stderr.read().decode(errors='replace') if p.stderr else ''
        if p.stderr:
            p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit('failed (%d): %s\n%s' % (code, shlex.join(cmd), err))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


GNU_TIME = '/usr/bin/time'


def peak_rss_gnu_time(cmd):
    """The peak RSS (bytes) of cmd as GNU time reads it: its parent is a small C program, so
    no floor from this process; None without GNU time."""
    if not os.access(GNU_TIME, os.X_OK):
        return None
    with tempfile.NamedTemporaryFile('r') as out:
        r = subprocess.run([GNU_TIME, '-f', '%M', '-o', out.name] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.exit('failed (%d): %s\n%s' % (r.returncode, shlex.join(cmd),
                                              r.stderr.decode(errors='replace')))
        return int(out.read().split()[-1]) * 1024


def binary_id(path):
    """The first 12 hex digits of the binary's SHA-256: which build a table timed."""
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()[:12]


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float('nan')


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    return '%s, %d cores, %.0f GiB, Linux %s' % (cpu, os.cpu_count() or 0, mem / 2**30,
                                                 platform.release())


def ensure(scratch, mb):
    path = os.path.join(scratch, 'objheavy-%dmb.pickle' % mb)
    if not os.path.exists(path):
        tmp = path + '.tmp'
        subprocess.run([sys.executable, os.path.join(TOOLS, 'gen_fixtures.py'), 'objheavy', tmp,
                        '--mb', str(mb)], check=True)
        os.replace(tmp, path)
    with open(path, 'rb') as f:
        while f.read(16 * MIB):
            pass
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--bin', default=os.path.join(REPO, 'target', 'x86_64-unknown-linux-gnu',
                                                  'release', 'picklescope'),
                    help='the binary (default: the static release build users run, which '
                         'tools/build_static.sh builds)')
    ap.add_argument('--scratch', default='/tmp/picklescope-scale')
    ap.add_argument('--sizes', default='10,50,200,1000', help='file sizes in MB')
    ap.add_argument('--repeat', type=int, default=5)
    ap.add_argument('--big-repeat', type=int, default=3,
                    help='timed runs for files of 200 MB or more (default 3)')
    ap.add_argument('--rss-runs', type=int, default=3,
                    help="untimed runs of picklescope under GNU time for its peak RSS (default 3)")
    ap.add_argument('--out', default=os.path.join(REPO, 'bench-out'))
    ap.add_argument('--series', type=int, default=0, metavar='N',
                    help='run the whole measurement N times and report the spread of the '
                         'ratios (DIR/series.json, DIR/series.md)')
    ap.add_argument('--gap', type=float, default=30.0,
                    help='seconds between the runs of a series (default 30)')
    ap.add_argument('--target', type=float, default=0.0, metavar='X',
                    help='with --series: also count the runs whose wall ratio is X or more')
    args = ap.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit('scale_bench: no binary at %s (tools/build_static.sh builds the release '
                 'binary; --bin names another)' % args.bin)
    # What this process carries into every child's ru_maxrss.
    args.floor = run_once(['true'])[2]
    # Which build every table of this call timed (hashed once: the binary is 10 MB).
    args.binary = binary_id(args.bin)
    os.makedirs(args.scratch, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    if args.series:
        series(args)
    else:
        print(measure(args)[1])


def measure(args):
    """One run over every size: writes scale.json and scale.md, returns the rows and the
    Markdown table."""
    rows = []
    load_before = loadavg()
    for mb in [int(s) for s in args.sizes.split(',') if s]:
        path = ensure(args.scratch, mb)
        size = os.path.getsize(path)
        ours = [args.bin, 'report', '--json', path]
        theirs = [sys.executable, '-c', PY_LOAD, TOOLS, path]
        n = args.big_repeat if mb >= 200 else args.repeat
        runs = {'picklescope': [], 'cpython': []}
        run_once(ours)
        run_once(theirs)
        for _ in range(n):
            runs['picklescope'].append(run_once(ours))
            runs['cpython'].append(run_once(theirs))
        row = {'mb': mb, 'bytes': size, 'runs': runs,
               'commands': {'picklescope': shlex.join(ours), 'cpython': shlex.join(theirs)}}
        for who, rs in runs.items():
            row[who] = {'wall': statistics.median(r[0] for r in rs),
                        'cpu': statistics.median(r[1] for r in rs),
                        'rss': statistics.median(r[2] for r in rs)}
        peaks = [peak_rss_gnu_time(ours) for _ in range(args.rss_runs)]
        if peaks and None not in peaks:
            row['picklescope']['rss_ru_maxrss'] = row['picklescope']['rss']
            row['picklescope']['rss'] = statistics.median(peaks)
            row['picklescope']['rss_by'] = 'GNU time'
        else:
            row['picklescope']['rss_by'] = 'ru_maxrss'
        rows.append(row)
        write(args, rows, load_before)
        print('%5d MB: picklescope wall %.3f s cpu %.3f s rss %.0f MiB | CPython wall %.3f s '
              'cpu %.3f s rss %.0f MiB'
              % (mb, row['picklescope']['wall'], row['picklescope']['cpu'],
                 row['picklescope']['rss'] / MIB, row['cpython']['wall'],
                 row['cpython']['cpu'], row['cpython']['rss'] / MIB), flush=True)
    return rows, write(args, rows, load_before)


def series(args):
    """--series N: the whole measurement N times, --gap seconds apart; each run's wall ratio
    per size into DIR/series.json, and their spread (how a shared machine's quiet and busy
    minutes move the ratio) printed and written to DIR/series.md."""
    runs = []
    for i in range(args.series):
        if i:
            time.sleep(args.gap)
        rows, _ = measure(args)
        at = time.strftime('%H:%M:%S', time.gmtime())
        ratios = {r['mb']: r['cpython']['wall'] / r['picklescope']['wall'] for r in rows}
        runs.append({'at': at, 'load': loadavg(), 'ratios': ratios,
                     'wall': {r['mb']: r['picklescope']['wall'] for r in rows}})
        print('run %d of %d, %s UTC: %s' % (i + 1, args.series, at, ', '.join(
            '%d MB %.1fx' % (mb, q) for mb, q in ratios.items())), flush=True)
        with open(os.path.join(args.out, 'series.json'), 'w') as f:
            json.dump({'machine': machine(), 'binary': args.binary,
                       'repeat': args.repeat, 'gap': args.gap,
                       'runs': runs}, f, indent=1)
    lines = ['| file | runs | wall ratio: min | median | max |' +
             (' runs at %gx or more |' % args.target if args.target else ''),
             '|---:|---:|---:|---:|---:|' + ('---:|' if args.target else '')]
    for mb in runs[0]['ratios']:
        qs = sorted(r['ratios'][mb] for r in runs)
        line = '| %d MB | %d | %.1fx | %.1fx | %.1fx |' % (
            mb, len(qs), qs[0], statistics.median(qs), qs[-1])
        if args.target:
            line += ' %d |' % sum(q >= args.target for q in qs)
        lines.append(line)
    lines.append('')
    lines.append('Machine: %s; %d runs from %s to %s UTC, %g s apart, each the medians of %d '
                 'timed run%s in turn with CPython; binary SHA-256 %s.'
                 % (machine(), len(runs), runs[0]['at'], runs[-1]['at'], args.gap, args.repeat,
                    '' if args.repeat == 1 else 's', args.binary))
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(args.out, 'series.md'), 'w') as f:
        f.write(md)
    print(md)


def write(args, rows, load_before):
    """Writes scale.json and scale.md for the rows so far; returns the Markdown."""
    meta = {'machine': machine(), 'binary': args.binary,
            'load_before': load_before, 'load_after': loadavg(),
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
            'repeat': args.repeat, 'big_repeat': args.big_repeat, 'rss_floor': args.floor}
    with open(os.path.join(args.out, 'scale.json'), 'w') as f:
        json.dump({'meta': meta, 'rows': rows}, f, indent=1)
    lines = [
        '| file | picklescope wall | CPython wall | wall ratio | picklescope CPU | CPython CPU '
        '| CPU ratio | picklescope peak RSS | RSS / file | CPython peak RSS |',
        '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for r in rows:
        a, b = r['picklescope'], r['cpython']
        lines.append('| %.0f MB | %.3f s | %.3f s | %.1fx | %.3f s | %.3f s | %.1fx | %.1f MiB '
                     '| %.2fx | %.1f MiB |' % (
                         r['bytes'] / 1e6, a['wall'], b['wall'], b['wall'] / a['wall'],
                         a['cpu'], b['cpu'], b['cpu'] / a['cpu'], a['rss'] / MIB,
                         a['rss'] / r['bytes'], b['rss'] / MIB))
    lines.append('')
    lines.append('Machine: %s; load average %.1f before, %.1f after; medians of %d runs '
                 '(%d from 200 MB).' % (meta['machine'], meta['load_before'], meta['load_after'],
                                       args.repeat, args.big_repeat))
    by = {r['picklescope'].get('rss_by') for r in rows}
    if by == {'GNU time'}:
        lines.append('picklescope\'s peak RSS: median of %d runs under GNU time (`/usr/bin/time '
                     '-f %%M`); CPython\'s: ru_maxrss of the timed runs (this harness adds a '
                     'floor of %.1f MiB to it, far below CPython\'s peak).'
                     % (args.rss_runs, args.floor / MIB))
    else:
        lines.append('Peak RSS: ru_maxrss of the timed runs; a figure at or below %.1f MiB is '
                     'this harness\'s floor (Linux carries a parent\'s peak into its child\'s), '
                     'the true peak at most that.' % (args.floor / MIB))
    lines.append('')
    lines.append('Binary: SHA-256 %s.' % meta['binary'])
    lines.append('')
    lines.append('Commands: `%s` and `%s` (F = the generated file).' % (
        shlex.join([os.path.relpath(args.bin, REPO), 'report', '--json', 'F']),
        shlex.join(['python3', '-c', PY_LOAD, 'tools', 'F'])))
    md = '\n'.join(lines) + '\n'
    with open(os.path.join(args.out, 'scale.md'), 'w') as f:
        f.write(md)
    return md


if __name__ == '__main__':
    main()
