#!/usr/bin/env python3
"""Side-by-side benchmarks of picklescope against CPython (standard library only).

    python3 tools/bench.py [--bin PATH] [--scratch DIR] [--repeat N] [--slow-repeat N]
                           [--quick] [--only a,b,c,d] [--out FILE]

Generates its inputs with tools/gen_fixtures.py into a scratch directory (default
/tmp/picklescope-bench; inputs already there are reused), builds nothing (pass --bin;
default target/release/picklescope) and times each command N times with a warm page
cache (every input is read once, untimed, and every command runs once untimed before
the timed runs). Reported figures are the median and the minimum of the timed runs;
peak RSS is the child's ru_maxrss from os.wait4.

  (a) report --json on an object-heavy pickle (~10 MB, ~3 M opcodes)
      vs python3 -c 'import fakes, pickle; pickle.load(...)' (classes importable)
      and the bare startup of python3 -c pass
  (b) report --json on a numpy-heavy pickle (~1 GB of arrays) vs cat FILE >/dev/null,
      and picklescope's peak RSS
  (c) slim --preset strategy-a on a fresh copy of the numpy-heavy pickle (time, peak RSS)
  (d) a whole ~1.2 GB pipeline context: report --json, and slim --preset strategy-a on a
      fresh copy vs the Python way (load with the classes importable, delete the
      strategy-a attributes, dump with the same protocol) on another fresh copy; and what
      deleting the largest (replaced) stage file costs the kernel when it is cached, a cost
      both ways pay and so a bound on the warm-cache ratio
  (e) (d)'s slim comparison with a cold cache: each fresh copy is dropped from the page
      cache (POSIX_FADV_DONTNEED after a sync) instead of read, as for files written long ago

Copies made for (c), (d) and (e) are created, synced and read once (or dropped, for (e))
before each timed run; none of that is timed. The Markdown table is printed and written to bench-out/results.md
(--out). --quick uses small inputs for a smoke check; its figures do not test the targets.
"""

import argparse
import datetime
import glob
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(REPO, 'tools')
MIB = 1024 * 1024

# The Python way of slimming a context: for every stage pickle, load it with the fake
# pipeline/numpy classes importable, delete the strategy-a attributes (view of every
# FlaggableViewResults subclass, TsysflagResults.components, WvrgcalResult.view) from
# every object reachable from the root (iterative walk), and dump it back with the
# protocol it was written with. Files where nothing was deleted are not rewritten (this
# only helps the Python side). fakes.py cannot load numpy pickles by itself, so the script
# first makes its fake numpy loadable (see _loadable). Prints one JSON line of counts.
PY_SLIM = r'''
import json, os, pickle, sys
sys.path.insert(0, sys.argv[1])
import fakes
def _loadable():
    # fakes.py only writes numpy pickles (its reconstructors raise): make the fake numpy
    # loadable, building fake arrays, dtypes and scalars that pickle back as written
    # (a protocol-5 array keeps the loaded bytearray, no copy, as numpy's _frombuffer).
    def dtype_setstate(self, state):
        self.byteorder, self.elsize, self.alignment, self.flags = (
            state[1], state[5], state[6], state[7])
        fixed = fakes._FIXED.get(self.code)
        self.itemsize = fixed[1] if fixed else self.elsize
    fakes.dtype.__setstate__ = dtype_setstate
    def ndarray_setstate(self, state):
        _, shape, dt, is_fortran, raw = state
        self.dtype, self.shape, self.axis_order = dt, tuple(shape), None
        self.layout = 'F' if is_fortran else 'C'
        if isinstance(raw, list):
            self.buf, self.items = None, raw
        else:
            self.buf, self.items = bytearray(raw), None
    fakes.ndarray.__setstate__ = ndarray_setstate
    for flavour, (multiarray, numeric) in fakes.FLAVOURS.items():
        def _reconstruct(subtype, shape, dtype):
            return subtype.__new__(subtype)
        def scalar(dtype, obj=None):
            return fakes.NumpyScalar(dtype, obj)
        def _frombuffer(buf, dtype, shape, order, axis_order=None):
            if order == 'K':
                return fakes.ndarray(dtype, shape, buf, 'K', axis_order)
            return fakes.ndarray(dtype, shape, buf, order)
        fakes._FUNCS[flavour].update(
            _reconstruct=fakes.export(_reconstruct, multiarray + '._reconstruct'),
            scalar=fakes.export(scalar, multiarray + '.scalar'),
            _frombuffer=fakes.export(_frombuffer, numeric + '._frombuffer'))
_loadable()
RULES = ((fakes.FlaggableViewResults, 'view'), (fakes.TsysflagResults, 'components'),
         (fakes.WvrgcalResult, 'view'))
LEAF = (str, bytes, bytearray, int, float, complex, bool, type(None), type)
def strip(root):
    seen = set()
    stack = [root]
    deleted = 0
    while stack:
        o = stack.pop()
        if isinstance(o, LEAF) or id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        d = getattr(o, '__dict__', None)
        if isinstance(d, dict):
            for cls, attr in RULES:
                if isinstance(o, cls) and attr in d:
                    del d[attr]
                    deleted += 1
            stack.extend(d.values())
        for c in type(o).__mro__:
            slots = c.__dict__.get('__slots__', ())
            for s in ((slots,) if isinstance(slots, str) else slots):
                if s == '__weakref__' or s == '__dict__':
                    continue
                if s.startswith('__') and not s.endswith('__'):
                    s = '_%s%s' % (c.__name__.lstrip('_'), s)
                v = getattr(o, s, None)
                if v is not None:
                    stack.append(v)
    return deleted
total_deleted = files = rewritten = 0
for path in sys.argv[2:]:
    with open(path, 'rb') as f:
        head = f.read(2)
        f.seek(0)
        protocol = head[1] if head[:1] == b'\x80' else 0
        obj = pickle.load(f)
    n = strip(obj)
    files += 1
    total_deleted += n
    if n:
        with open(path, 'wb') as f:
            pickle.dump(obj, f, protocol=protocol)
            f.flush()
            os.fsync(f.fileno())
        rewritten += 1
    del obj
print(json.dumps({'files': files, 'rewritten': rewritten, 'deleted': total_deleted}))
'''


class Run:
    def __init__(self, seconds, maxrss_kib, code, stdout):
        self.seconds = seconds
        self.maxrss = maxrss_kib * 1024
        self.code = code
        self.stdout = stdout


def run(cmd, cwd=REPO, capture=False, check=True):
    """Runs cmd as a child; wall time from just before the spawn to its reaping."""
    out = tempfile.TemporaryFile() if capture else subprocess.DEVNULL
    err = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = code = os.waitstatus_to_exitcode(status)
    text = ''
    if capture:
        out.seek(0)
        text = out.read().decode('utf-8', 'replace')
        out.close()
    err.seek(0)
    etext = err.read().decode('utf-8', 'replace')
    err.close()
    if check and code != 0:
        shown = ' '.join(c if len(c) < 200 else c[:60] + '...' for c in cmd)
        sys.exit('command failed (exit %d): %s\n%s' % (code, shown[:1000], etext[-2000:]))
    return Run(dt, ru.ru_maxrss, code, text)


def warm(paths):
    """Drops each file's clean cached pages, then reads it once (untimed), so every input is
    cached the same way (as sequential reads leave it) whatever wrote it before."""
    buf = bytearray(1 << 20)        # small: a child's ru_maxrss starts at this process's peak
    for p in paths:
        with open(p, 'rb', buffering=0) as f:
            if hasattr(os, 'posix_fadvise'):
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            while f.readinto(buf):
                pass


def tree_files(d):
    out = []
    for root, _, names in os.walk(d):
        out.extend(os.path.join(root, n) for n in names if n != '.complete')
    return sorted(out)


def tree_bytes(d):
    return sum(os.path.getsize(p) for p in tree_files(d))


class Stats:
    def __init__(self, runs):
        self.runs = runs
        self.times = [r.seconds for r in runs]
        self.med = statistics.median(self.times)
        self.min = min(self.times)
        self.rss = max(r.maxrss for r in runs)


def gen(args, kind, out, *extra):
    cmd = [sys.executable, os.path.join(TOOLS, 'gen_fixtures.py'), kind, out] + list(extra)
    print('  generating: %s' % ' '.join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    print('  ... %.1f s' % (time.time() - t0), flush=True)


def ensure_file(args, name, kind, *extra):
    path = os.path.join(args.scratch, name)
    if not os.path.exists(path):
        tmp = path + '.partial'
        gen(args, kind, tmp, *extra)
        os.replace(tmp, path)
    return path


def ensure_context(args, name, scale, ms):
    d = os.path.join(args.scratch, name)
    if not os.path.exists(os.path.join(d, '.complete')):
        tmp = d + '.partial'
        shutil.rmtree(tmp, ignore_errors=True)
        gen(args, 'context', tmp, '--scale', str(scale), '--ms', str(ms), '--quiet')
        shutil.rmtree(d, ignore_errors=True)
        os.replace(tmp, d)
        open(os.path.join(d, '.complete'), 'w').close()
    return d


def copy_fresh(src, dst, cold=False):
    """A fresh copy (file or tree), synced to disk and read once (or, with cold, dropped from
    the page cache after the sync, as a file written long ago is); not timed."""
    if os.path.isdir(dst):
        shutil.rmtree(dst)
    elif os.path.exists(dst):
        os.remove(dst)
    if os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns('.complete'))
        files = tree_files(dst)
    else:
        shutil.copyfile(src, dst)
        files = [dst]
    os.sync()
    if cold:
        drop_cache(files)
    else:
        warm(files)
    return files


def drop_cache(paths):
    """Forgets the files' clean cached pages (any user may: POSIX_FADV_DONTNEED)."""
    for p in paths:
        with open(p, 'rb', buffering=0) as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def unlink_cost(src, scratch, repeat):
    """Seconds the kernel takes to delete a fully cached copy of src (median of repeat): the
    work both ways of slimming pay when the replaced file's last reference goes."""
    times = []
    for _ in range(repeat):
        dst = os.path.join(scratch, 'unlink-probe.pickle')
        copy_fresh(src, dst)
        t0 = time.perf_counter()
        os.remove(dst)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def fmt_s(st):
    return '%s (min %s)' % (fmt_t(st.med), fmt_t(st.min))


def fmt_t(s):
    if s < 1:
        return '%.1f ms' % (s * 1e3)
    return '%.2f s' % s


def fmt_mib(b):
    return '%.1f MiB' % (b / MIB)


def fmt_size(b):
    if b < 1e6:
        return '%.1f kB' % (b / 1e3)
    return '%.1f MB' % (b / 1e6)


def loadavg():
    try:
        return '%.2f %.2f %.2f' % os.getloadavg()
    except OSError:
        return '?'


def cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or '?'


def git_desc():
    try:
        rev = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO,
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
        return rev + (' (+ uncommitted changes)' if dirty else '')
    except OSError:
        return '?'


def timed(label, cmds, repeat):
    """Runs each command once untimed, then `repeat` rounds alternating the commands."""
    for c in cmds:
        run(c)
    runs = [[] for _ in cmds]
    for _ in range(repeat):
        for i, c in enumerate(cmds):
            runs[i].append(run(c))
    out = [Stats(r) for r in runs]
    print('  %s: %s' % (label, ' | '.join(fmt_s(s) for s in out)), flush=True)
    return out


def slim_context(args, ctx, cfile, work, ps, py, slow_repeat, cold, rows, notes, commands):
    """(d)/(e): slim fresh copies of the context with picklescope and with the Python way."""
    total = tree_bytes(ctx)
    c_ours = os.path.join(work, 'ctx-picklescope')
    c_py = os.path.join(work, 'ctx-python')
    rel = os.path.relpath(cfile, ctx)
    slim = [ps, 'slim', os.path.join(c_ours, rel), '--preset', 'strategy-a']
    stage_rel = sorted(os.path.relpath(p, ctx) for p in
                       glob.glob(os.path.join(ctx, '*', 'saved_state', '*.pickle')))
    pyslim = [py, '-c', PY_SLIM, TOOLS] + [os.path.join(c_py, p) for p in stage_rel]
    r_ours, r_py = [], []
    after_ours = after_py = None
    py_counts = None
    for i in range(max(args.repeat, slow_repeat) + 1):   # round 0 untimed
        if i <= args.repeat:
            copy_fresh(ctx, c_ours, cold)
            r = run(slim)
            after_ours = tree_bytes(c_ours)
            if i:
                r_ours.append(r)
            print('  picklescope slim run %d: %s' % (i, fmt_t(r.seconds)), flush=True)
        if i <= slow_repeat:
            copy_fresh(ctx, c_py, cold)
            r = run(pyslim, capture=True)
            after_py = tree_bytes(c_py)
            py_counts = json.loads(r.stdout.strip().splitlines()[-1])
            if i:
                r_py.append(r)
            print('  python slim run %d: %s' % (i, fmt_t(r.seconds)), flush=True)
    shutil.rmtree(c_ours, ignore_errors=True)
    shutil.rmtree(c_py, ignore_errors=True)
    s_ours, s_py = Stats(r_ours), Stats(r_py)
    ratio = s_py.med / s_ours.med
    cache = 'cold cache' if cold else 'warm cache'
    part = '(e)' if cold else '(d)'
    rows.append(('context %s: slim strategy-a, %s' % (fmt_size(total), cache),
                 '`picklescope slim COPY/X.context --preset strategy-a` vs the Python way',
                 fmt_s(s_ours), fmt_s(s_py), '%.1fx faster' % ratio, '>= 20x',
                 ratio >= 20))
    notes.append(part + ' slim (' + cache + '): picklescope %s -> %s, peak RSS %s; the Python way %s -> %s '
                 '(%d attributes deleted, %d of %d stage files rewritten), peak RSS %s; '
                 '%d picklescope runs, %d Python runs.'
                 % (fmt_size(total), fmt_size(after_ours), fmt_mib(s_ours.rss),
                    fmt_size(total), fmt_size(after_py), py_counts['deleted'],
                    py_counts['rewritten'], py_counts['files'], fmt_mib(s_py.rss),
                    len(r_ours), len(r_py)))
    commands += [shlex.join(slim),
                 '%s -c "$PY_SLIM" tools %s/*/saved_state/*.pickle  # PY_SLIM: see '
                 'tools/bench.py' % (shlex.quote(py), shlex.quote(c_py))]
    return s_py.med


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--bin', default=os.path.join(REPO, 'target', 'release', 'picklescope'))
    ap.add_argument('--floor', default=os.path.join(REPO, 'target', 'release', 'examples',
                                                    'parse_floor'),
                    help='the parse_floor example (cargo build --release --example '
                         'parse_floor); (a) times it too when it exists')
    ap.add_argument('--scratch', default='/tmp/picklescope-bench')
    ap.add_argument('--repeat', type=int, default=5, help='timed runs per command (default 5)')
    ap.add_argument('--slow-repeat', type=int, default=None,
                    help='timed runs of the Python-way context slim (default min(repeat, 3))')
    ap.add_argument('--quick', action='store_true',
                    help='small inputs (numpyheavy 100 MB, context scale 0.05): a smoke check')
    ap.add_argument('--only', default='a,b,c,d,e',
                    help='which parts to run (default a,b,c,d,e; e needs d)')
    ap.add_argument('--out', default=os.path.join(REPO, 'bench-out', 'results.md'))
    ap.add_argument('--max-load', type=float, default=None,
                    help='before timing, wait (up to --wait seconds) for the 1-minute load '
                         'average to drop below this')
    ap.add_argument('--wait', type=float, default=600)
    ap.add_argument('--generate-only', action='store_true',
                    help='only make sure the inputs exist, then stop')
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if not args.generate_only and not os.access(args.bin, os.X_OK):
        sys.exit('%s: not an executable; build it first (cargo build --release) or pass --bin'
                 % args.bin)
    parts = set(p.strip() for p in args.only.split(',') if p.strip())
    slow_repeat = args.slow_repeat if args.slow_repeat else min(args.repeat, 3)
    np_mb = 100 if args.quick else 1024
    obj_mb = 10
    ctx_scale = 0.05 if args.quick else 1.0
    ctx_ms = 4
    os.makedirs(args.scratch, exist_ok=True)
    work = os.path.join(args.scratch, 'work')
    os.makedirs(work, exist_ok=True)

    # Linux carries a parent's peak RSS into its child's ru_maxrss (through fork and exec), so
    # this process stays small and reports the floor it imposes on every RSS figure.
    floor = run(['true']).maxrss
    start_load = loadavg()
    print('picklescope %s; scratch %s; load average %s' % (args.bin, args.scratch, start_load))
    if os.getloadavg()[0] > 2:
        print('  warning: load average above 2; figures will be noisy', flush=True)

    print('inputs:', flush=True)
    obj = np_ = ctx = None
    if 'a' in parts:
        obj = ensure_file(args, 'objheavy-%gmb.pickle' % obj_mb, 'objheavy', '--mb', str(obj_mb))
    if parts & {'b', 'c'}:
        np_ = ensure_file(args, 'numpyheavy-%gmb.pickle' % np_mb, 'numpyheavy',
                          '--mb', str(np_mb))
    if 'e' in parts:
        parts.add('d')
    if 'd' in parts:
        ctx = ensure_context(args, 'context-s%g-ms%d' % (ctx_scale, ctx_ms), ctx_scale, ctx_ms)
    for p in (obj, np_):
        if p:
            print('  %s: %s' % (p, fmt_size(os.path.getsize(p))))
    if ctx:
        print('  %s: %s in %d files' % (ctx, fmt_size(tree_bytes(ctx)), len(tree_files(ctx))))
    if args.generate_only:
        return

    if args.max_load is not None:
        deadline = time.time() + args.wait
        while os.getloadavg()[0] >= args.max_load and time.time() < deadline:
            time.sleep(5)
        print('load average %s (wanted < %g)' % (loadavg(), args.max_load), flush=True)
    start_load = loadavg()
    # the tree as it is when timing starts (the binary may be older: its mtime is shown too)
    tree = git_desc()
    built = datetime.datetime.fromtimestamp(os.path.getmtime(args.bin)).strftime('%H:%M')
    ps = args.bin
    py = sys.executable
    rows = []        # (what, command, picklescope, baseline, ratio, target, met)
    notes = []
    commands = []

    if 'a' in parts:
        print('(a) object-heavy report vs pickle.load', flush=True)
        warm([obj])
        py_load = [py, '-c', 'import sys; sys.path.insert(0,"tools"); import fakes, pickle; '
                   'pickle.load(open(%r,"rb"))' % obj]
        py_pass = [py, '-c', 'pass']
        ours = [ps, 'report', '--json', obj]
        s_ours, s_py, s_pass = timed('report | pickle.load | python -c pass',
                                     [ours, py_load, py_pass], args.repeat)
        ratio = s_py.med / s_ours.med
        rows.append(('object-heavy %s: whole process' % fmt_size(os.path.getsize(obj)),
                     '`picklescope report --json F` vs `python3 -c "...pickle.load(F)"`',
                     fmt_s(s_ours), fmt_s(s_py), '%.1fx faster' % ratio, '>= 10x',
                     ratio >= 10))
        rows.append(('CPython startup alone', '`python3 -c pass`', '', fmt_s(s_pass), '',
                     'info', None))
        notes.append('(a) peak RSS: picklescope %s, CPython %s. Ratio of medians; without '
                     'the CPython startup (%s) the ratio is %.1fx.'
                     % (fmt_mib(s_ours.rss), fmt_mib(s_py.rss), fmt_t(s_pass.med),
                        (s_py.med - s_pass.med) / s_ours.med))
        commands += [shlex.join(ours), shlex.join(py_load), shlex.join(py_pass)]
        if os.access(args.floor, os.X_OK):
            # What any reader keeping a node per object costs at the least (examples/
            # parse_floor.rs): decoding alone, the pickle machine's stack with nothing kept,
            # and a bare 16-byte-node arena. CPython's time over each is the most that such
            # a reader could be faster by on this machine.
            # `arena split`: the same on both cores, the second half starting at the FRAME
            # nearest the middle as a machine with an unknown stack below it (the join is
            # not timed) - what a two-core parser could reach at best.
            modes = [['walk'], ['stack'], ['arena'], ['arena', 'split']]
            floors = timed('parse_floor ' + ' | '.join(' '.join(m) for m in modes),
                           [[args.floor, obj] + m for m in modes], args.repeat)
            what = {'walk': 'decode every opcode, nothing else',
                    'stack': '+ stack, marks and memo, nothing kept',
                    'arena': '+ one 16-byte node per object, 8-byte edges',
                    'arena split': 'the same, two halves on two cores (join not timed)'}
            for m, st in zip(modes, floors):
                name = ' '.join(m)
                rows.append(('floor: %s' % what[name], '`parse_floor F %s`' % name, fmt_s(st),
                             fmt_s(s_py), 'at most %.1fx' % (s_py.med / st.med), 'bound',
                             None))
                commands.append(shlex.join([args.floor, obj] + m))
        else:
            notes.append('(a) floor rows skipped: build them with `cargo build --release '
                         '--example parse_floor`.')

    if 'b' in parts:
        print('(b) numpy-heavy report vs cat', flush=True)
        warm([np_])
        ours = [ps, 'report', '--json', np_]
        cat = ['cat', np_]
        s_ours, s_cat = timed('report | cat', [ours, cat], args.repeat)
        pct = 100.0 * s_ours.med / s_cat.med
        rows.append(('numpy-heavy %s: report time' % fmt_size(os.path.getsize(np_)),
                     '`picklescope report --json F` vs `cat F >/dev/null`',
                     fmt_s(s_ours), fmt_s(s_cat), '%.1f %% of cat' % pct, '<= 5 %',
                     pct <= 5))
        rows.append(('numpy-heavy: report peak RSS', 'ru_maxrss of `picklescope report`',
                     fmt_mib(s_ours.rss), '', '', '<= 64 MiB', s_ours.rss <= 64 * MIB))
        commands += [shlex.join(ours), shlex.join(cat) + ' >/dev/null']

    if 'c' in parts:
        print('(c) numpy-heavy slim', flush=True)
        dst = os.path.join(work, 'numpyheavy-slim.pickle')
        cmd = [ps, 'slim', dst, '--preset', 'strategy-a']
        runs = []
        before = os.path.getsize(np_)
        after = None
        for i in range(args.repeat + 1):        # first run untimed (warm-up)
            copy_fresh(np_, dst)
            r = run(cmd)
            after = os.path.getsize(dst)
            if after >= before:
                sys.exit('slim did not shrink %s (%d -> %d bytes)' % (dst, before, after))
            if i:
                runs.append(r)
        os.remove(dst)
        st = Stats(runs)
        print('  slim: %s, peak RSS %s' % (fmt_s(st), fmt_mib(st.rss)), flush=True)
        rows.append(('numpy-heavy %s: slim views' % fmt_size(before),
                     '`picklescope slim COPY --preset strategy-a`', fmt_s(st), '', '',
                     '< 1 s, well under (< 0.5 s)', st.med < 0.5))
        rows.append(('numpy-heavy: slim peak RSS', 'ru_maxrss of `picklescope slim`',
                     fmt_mib(st.rss), '', '', 'small (<= 64 MiB)', st.rss <= 64 * MIB))
        notes.append('(c) slim wrote %s -> %s (fsync, read-back verification and rename '
                     'included in the time).' % (fmt_size(before), fmt_size(after)))
        commands.append(shlex.join(cmd))

    if 'd' in parts:
        print('(d) whole context', flush=True)
        cfile = glob.glob(os.path.join(ctx, '*.context'))[0]
        warm(tree_files(ctx))
        ours = [ps, 'report', '--json', cfile]
        (s_rep,) = timed('report', [ours], args.repeat)
        total = tree_bytes(ctx)
        rows.append(('context %s (%d files): report' % (fmt_size(total), len(tree_files(ctx))),
                     '`picklescope report --json X.context`', fmt_s(s_rep), '', '',
                     '< 1 s, well under (< 0.5 s)', s_rep.med < 0.5))
        notes.append('(d) context report peak RSS %s.' % fmt_mib(s_rep.rss))
        commands.append(shlex.join(ours))

        s_py_warm = []
        for cold in ([False, True] if 'e' in parts else [False]):
            med = slim_context(args, ctx, cfile, work, ps, py, slow_repeat, cold, rows, notes,
                               commands)
            if not cold:
                s_py_warm.append(med)
        big = max(glob.glob(os.path.join(ctx, '*', 'saved_state', '*.pickle')),
                  key=os.path.getsize)
        floor = unlink_cost(big, work, 3)
        notes.append('(d) bound: deleting a fully cached copy of the largest stage file '
                     '(%s, %s) takes %s in the kernel (`os.remove`, median of 3) - page-cache '
                     'eviction and block freeing that both ways pay once the file is replaced, '
                     'so with a warm cache no slimmer can beat the Python way by more than about '
                     '%.0fx here.' % (os.path.basename(big), fmt_size(os.path.getsize(big)),
                                      fmt_t(floor), s_py_warm[0] / floor if s_py_warm else 0))

    end_load = loadavg()
    lines = []
    lines.append('| figure | command | picklescope | CPython / cat | ratio | target | met? |')
    lines.append('|---|---|---|---|---|---|---|')
    for what, cmd, a, b, ratio, target, met in rows:
        m = '' if met is None else ('yes' if met else '**no**')
        lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (what, cmd, a, b, ratio, target, m))
    table = '\n'.join(lines)
    env = ('%s · %d CPUs · Linux %s · Python %s · tree %s, binary built %s · %s timed runs '
           'each (median, min), warm cache · load average %s at start, %s at end%s'
           % (cpu_model(), os.cpu_count() or 0, platform.release(), platform.python_version(),
              tree, built, args.repeat, start_load, end_load,
              ' · --quick (small inputs: not a test of the targets)' if args.quick else ''))
    doc = ['# picklescope benchmarks', '',
           'Generated by `python3 tools/bench.py%s` on %s.' % (
               ' --quick' if args.quick else '',
               datetime.datetime.now().strftime('%Y-%m-%d %H:%M')),
           '', env, '', table, '']
    notes.append('Peak RSS is the child\'s ru_maxrss. It counts the pages of a mapped input '
                 'that are touched (on recent kernels the page cache maps whole folios of up to '
                 '2 MiB per fault), which is why files of 16 MiB or more that hold payloads of '
                 '16 KiB or more are mapped sparsely: only the pages holding opcodes are copied '
                 'in, the payloads are never touched. It cannot be lower than the peak of the '
                 'spawning process: `true` reports %s here.' % fmt_mib(floor))
    doc += ['- ' + n for n in notes]
    doc += ['', 'Commands:', '', '```'] + commands + ['```', '']
    text = '\n'.join(doc)
    print()
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(text)
    print('written to %s' % args.out)


if __name__ == '__main__':
    main()
