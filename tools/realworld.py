#!/usr/bin/env python3
"""Checks picklescope against CPython over a folder of real-world pickles.

    realworld.py --bin target/release/picklescope [--corpus ../shared/corpus/realworld]
                 [--jobs N] [--json OUT] [--no-drops] [-v]

For every file (README.md and SOURCES.md excepted):
  * CPython's verdict on the payload: accepted when `pickletools.dis` or a stub-class load
    (tools/canon.py, encodings ASCII then latin1) reads its first pickle. A compressed file
    (gzip, bz2, xz/lzma, zlib, lz4 frame when the lz4 module is installed) is judged on its
    decompressed content; a zip archive on its members (a PyTorch checkpoint's data.pkl, an
    .npz's object arrays, any other member as a pickle); a .npy array like an .npz member (its
    header read with ast.literal_eval); any other format is not a pickle.
  * `picklescope report --json FILE`: an accepted file must exit 0 with `total_bytes` equal
    to its (decompressed) size -- for a zip, a checkpoint's data.pkl plus its storages, or
    the members' pickles and array data; for a .npy, its data (an object array's pickle); a
    rejected one must exit 2.
  * for every accepted file with class.attr groups: its largest group is dropped with
    `picklescope slim` on a copy; the copy must load in CPython with the same object graph as
    the original minus that attribute (canon.py given the same rules file), the dry-run must
    predict the written size, and the file must not grow. The summary also says how far the
    outputs are from `input - removed` (the dry-run's `bookkeeping_bytes`, signed).

Prints one line per disagreement and a summary; exit 1 when anything disagrees.
"""

import argparse
import ast
import bz2
import gzip
import io
import json
import lzma
import os
import pickletools
import shutil
import subprocess
import struct
import sys
import tempfile
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import canon  # noqa: E402

SKIP = {'README.md', 'SOURCES.md'}


def decompress(data):
    """(codec, payload) for a compressed file, (None, data) otherwise."""
    try:
        if data[:2] == b'\x1f\x8b':
            return 'gzip', gzip.decompress(data)
        if data[:3] == b'BZh':
            return 'bz2', bz2.decompress(data)
        if data[:6] == b'\xfd7zXZ\x00':
            return 'xz', lzma.decompress(data)
        if data[:1] == b'\x5d' and len(data) > 13:
            return 'lzma', lzma.decompress(data, format=lzma.FORMAT_ALONE)
        if data[:4] == b'\x04\x22\x4d\x18':
            try:
                import lz4.frame
            except ImportError:
                return 'lz4', None
            return 'lz4', lz4.frame.decompress(data)
        if data[:4] == b'\x28\xb5\x2f\xfd':
            return 'zstd', None
        if len(data) >= 2 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0:
            return 'zlib', zlib.decompress(data)
    except Exception:  # noqa: BLE001 -- not that codec after all
        pass
    return None, data


def unzip(data):
    """For a zip archive: (accepted, expected total_bytes) as picklescope should read it --
    a PyTorch checkpoint as its data.pkl plus its storages, an .npz member as its array data
    (an object array's data is a pickle), any other member as a pickle. None otherwise."""
    if data[:4] not in (b'PK\x03\x04', b'PK\x05\x06'):
        return None
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = [n for n in z.namelist() if not n.endswith('/')]
    except Exception:  # noqa: BLE001 -- not a readable zip: picklescope names it
        return False, 0
    pkl = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    if pkl:
        prefix = pkl[0][:-len('data.pkl')]
        storages = sum(z.getinfo(n).file_size for n in names if n.startswith(prefix + 'data/'))
        body = z.read(pkl[0])
        return cpython_accepts(body), len(body) + storages
    accepted, total = True, 0
    for n in names:
        a, t = npy(z.read(n))
        accepted = accepted and a
        total += t
    return accepted, total


def npy(body):
    """(accepted, expected total_bytes) of a .npy array as picklescope should read it: a
    numeric array counts its data, an object array's data is a pickle; bytes without the .npy
    magic are judged as a pickle."""
    if body[:6] == b'\x93NUMPY':
        try:
            at, hlen = (10, struct.unpack('<H', body[8:10])[0]) if body[6] == 1 \
                else (12, struct.unpack('<I', body[8:12])[0])
            header = ast.literal_eval(body[at:at + hlen].decode('latin1'))
            descr = header['descr']
        except Exception:  # noqa: BLE001 -- a broken header: not an array
            return False, 0
        body = body[at + hlen:]
        if descr != '|O':
            return True, len(body)
    return cpython_accepts(body), len(body)


def cpython_accepts(payload):
    try:
        pickletools.dis(io.BytesIO(payload), out=io.StringIO())
        return True
    except Exception:  # noqa: BLE001
        pass
    for enc in ('ASCII', 'latin1'):
        try:
            canon.StubUnpickler(io.BytesIO(payload), encoding=enc).load()
            return True
        except Exception:  # noqa: BLE001
            pass
    return False


def canon_text(path, drops=()):
    """canon.py's text of a file, trying ASCII then latin1 (Python 2 pickles)."""
    for enc in ('ASCII', 'latin1'):
        out = io.StringIO()
        try:
            canon.canon_file(path, out, drops, numpy=True, encoding=enc)
            return out.getvalue()
        except (SystemExit, Exception):  # noqa: BLE001
            continue
    return None


def run(cmd):
    p = subprocess.run(cmd, capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode('utf-8', 'replace')


def check(path, args):
    r = {'path': path, 'problems': []}
    with open(path, 'rb') as f:
        data = f.read()
    codec, payload = decompress(data)
    r['codec'] = codec
    r['size'] = len(data)
    zipped = unzip(data)
    if data[:6] == b'\x93NUMPY':
        zipped = npy(data)
        r['codec'] = 'npy'
    elif zipped is not None:
        r['codec'] = 'zip'
    if zipped is not None:
        codec = r['codec']
        r['accepted'], expected = zipped
        rc, out, err = run([args.bin, 'report', '--json', path])
        r['rc'] = rc
        if not r['accepted']:
            if rc != 2:
                r['problems'].append('CPython rejects it, report exits %d (expected 2)' % rc)
        elif rc != 0:
            r['problems'].append('CPython accepts its members, report exits %d: %s' % (rc, err.strip()))
        elif json.loads(out)['total_bytes'] != expected:
            r['problems'].append('total_bytes %d, expected %d' % (json.loads(out)['total_bytes'], expected))
        return r
    if payload is None:
        # No Python module for this codec here: not judged (counted in the summary).
        r['accepted'] = None
        return r
    r['accepted'] = accepted = cpython_accepts(payload)
    rc, out, err = run([args.bin, 'report', '--json', path])
    r['rc'] = rc
    if not accepted:
        if rc != 2:
            r['problems'].append('CPython rejects it, report exits %d (expected 2)' % rc)
        return r
    if rc != 0:
        r['problems'].append('CPython accepts it, report exits %d: %s' % (rc, err.strip()))
        return r
    rep = json.loads(out)
    if rep['total_bytes'] != len(payload):
        r['problems'].append('total_bytes %d, payload is %d bytes' % (rep['total_bytes'], len(payload)))
    groups = [c for c in rep.get('classes', []) if c.get('bytes', 0) > 0]
    if args.no_drops or not groups or codec is not None:
        return r
    g = max(groups, key=lambda c: (c['bytes'], c['class'], c['attr']))
    r['drop'] = '%s.%s' % (g['class'], g['attr'])
    with tempfile.TemporaryDirectory(prefix='realworld-') as tmp:
        copy = os.path.join(tmp, 'copy')
        shutil.copyfile(path, copy)
        rules = os.path.join(tmp, 'r.toml')
        with open(rules, 'w') as f:
            f.write('[[transient]]\nclass = %s\nattrs = [%s]\n'
                    % (json.dumps(g['class']), json.dumps(g['attr'])))
        rc, out, err = run([args.bin, 'slim', copy, '--rules', rules, '--dry-run', '--json'])
        if rc != 0:
            r['problems'].append('slim --dry-run of %s exits %d: %s' % (r['drop'], rc, err.strip()))
            return r
        dry = json.loads(out)
        f0 = dry['files'][0]
        r['removed'] = sum(x['bytes'] for x in f0.get('removed', []))
        # before - after - removed: memo keys, re-emitted definitions, frames (signed).
        r['bookkeeping'] = f0.get('bookkeeping_bytes', 0)
        rc, out, err = run([args.bin, 'slim', copy, '--rules', rules, '--json'])
        if rc != 0:
            r['problems'].append('slim of %s exits %d: %s' % (r['drop'], rc, err.strip()))
            return r
        after = os.path.getsize(copy)
        r['after'] = after
        if after != dry['after_bytes']:
            r['problems'].append('dry-run said %d bytes, slim wrote %d' % (dry['after_bytes'], after))
        if after > len(data):
            r['problems'].append('dropping %s grew the file %d -> %d' % (r['drop'], len(data), after))
        want = canon_text(path, canon.load_rules(rules))
        got = canon_text(copy)
        if want is None or got is None or want != got:
            r['problems'].append('dropping %s: CPython does not see the original minus it' % r['drop'])
        else:
            r['roundtrip'] = True
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--bin', required=True)
    ap.add_argument('--corpus', default='../shared/corpus/realworld')
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--json', help='write every file\'s result here')
    ap.add_argument('--no-drops', action='store_true')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    if not os.path.isdir(args.corpus):
        print('realworld: corpus folder %s is absent' % args.corpus, file=sys.stderr)
        return 3
    files = sorted(os.path.join(d, n) for d, _, ns in os.walk(args.corpus) for n in ns
                   if n not in SKIP or d != args.corpus)
    with ThreadPoolExecutor(args.jobs) as ex:
        results = list(ex.map(lambda p: check(p, args), files))
    bad = [r for r in results if r['problems']]
    for r in bad:
        for p in r['problems']:
            print('%s: %s' % (os.path.relpath(r['path'], args.corpus), p))
    acc = [r for r in results if r.get('accepted')]
    dropped = [r for r in results if 'after' in r]
    saved = sum(r['size'] - r['after'] for r in dropped if r['after'] <= r['size'])
    grown = [r for r in dropped if r['after'] > r['size']]
    print('files %d: CPython accepts %d (%d compressed, %d zip archives, %d .npy arrays), rejects %d, '
          'not judged %d; picklescope agrees on %d'
          % (len(results), len(acc), sum(1 for r in acc if r['codec'] not in (None, 'zip', 'npy')),
             sum(1 for r in acc if r['codec'] == 'zip'),
             sum(1 for r in acc if r['codec'] == 'npy'),
             sum(1 for r in results if r.get('accepted') is False),
             sum(1 for r in results if r.get('accepted') is None),
             len(results) - len(bad)))
    print('drops: %d files slimmed, %d round-trip under CPython, %d bytes saved, %d files grown (%d bytes)'
          % (len(dropped), sum(1 for r in dropped if r.get('roundtrip')), saved, len(grown),
             sum(r['after'] - r['size'] for r in grown)))
    less = [r for r in dropped if r.get('bookkeeping', 0) > 0]
    more = [r for r in dropped if r.get('bookkeeping', 0) < 0]
    print('beyond what each drop removes: %d files smaller by %d bytes in all, %d larger by %d '
          'bytes in all (at most %d in one)'
          % (len(less), sum(r['bookkeeping'] for r in less), len(more),
             -sum(r['bookkeeping'] for r in more), max([-r['bookkeeping'] for r in more] or [0])))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
