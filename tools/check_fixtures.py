#!/usr/bin/env python3
"""Sanity checks for a fixtures directory (default: tests/fixtures).

    python3 tools/check_fixtures.py [DIR]

* every pickle disassembles with pickletools (which never executes anything);
* every non-malicious pickle loads with canon.py (stub loader, nothing imported);
* groups that hold the same object graph at different protocols / numpy flavours
  canonicalize identically (canon --numpy);
* all 68 opcodes occur somewhere;
* no malicious marker file exists afterwards.
Exit status 1 if any check fails.
"""

import collections
import glob
import io
import json
import os
import pickletools
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import canon  # noqa: E402

GROUPS = {
    'stage4': ['stage4_p%d.pickle' % p for p in range(6)] + ['stage4_np2_p2.pickle', 'stage4_np2_p5.pickle'],
    'plain': ['plain_p%d.pickle' % p for p in range(6)],
    'shared_cycles': ['shared_cycles_p%d.pickle' % p for p in (0, 2, 5)],
    'numpy_variants': ['numpy_variants_%s_p%d.pickle' % (f, p) for f in ('np1', 'np2') for p in (2, 5)],
}


def canon_text(path, **kw):
    out = io.StringIO()
    canon.canon_file(path, out, **kw)
    return out.getvalue()


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, '..', 'tests', 'fixtures')
    failures = 0
    pickles = sorted(glob.glob(os.path.join(d, '*.pickle')))
    seen_ops = collections.defaultdict(set)
    for path in pickles:
        name = os.path.basename(path)
        data = open(path, 'rb').read()
        pos = 0
        try:
            while pos < len(data):          # back-to-back pickles
                end = None
                for op, _arg, p in pickletools.genops(data[pos:]):
                    seen_ops[op.name].add(name)
                    end = p
                pickletools.dis(data[pos:], out=io.StringIO())
                pos += end + 1
                if pos < len(data) and data[pos] == 0xff:
                    break                   # trailing junk
        except Exception as e:              # noqa: BLE001
            if pos == 0:
                print('FAIL pickletools %s: %s' % (name, e))
                failures += 1
        if name.startswith('malicious_'):
            continue
        try:
            kw = {}
            side = os.path.splitext(path)[0] + '.json'
            if os.path.exists(side):
                js = json.load(open(side))
                kw['ext_map'] = {int(c): tuple(v) for c, v in js.get('extensions', {}).items()}
            text = canon_text(path, **kw)
            print('ok   %-34s %6d bytes %6d canon lines' % (name, len(data), text.count('\n')))
        except SystemExit as e:
            print('FAIL canon %s: %s' % (name, e))
            failures += 1
    for group, names in GROUPS.items():
        texts = {n: canon_text(os.path.join(d, n), numpy=True) for n in names
                 if os.path.exists(os.path.join(d, n))}
        if len(set(texts.values())) == 1:
            print('ok   group %-20s %d files canonicalize identically (--numpy)' % (group, len(texts)))
        else:
            print('FAIL group %s differs: %s' % (group, sorted(texts)))
            failures += 1
    missing = [op.name for op in pickletools.opcodes if op.name not in seen_ops]
    print('%s  opcode coverage: %d/%d%s' % ('ok  ' if not missing else 'FAIL', len(pickletools.opcodes)
                                            - len(missing), len(pickletools.opcodes),
                                            ' missing %s' % missing if missing else ''))
    failures += bool(missing)
    mal = os.path.join(d, 'malicious.json')
    if os.path.exists(mal):
        for _f, info in json.load(open(mal))['files'].items():
            markers = info['marker'] if isinstance(info['marker'], list) else [info['marker']]
            for m in markers:
                if os.path.exists(m):
                    print('FAIL marker exists: %s' % m)
                    failures += 1
    print('%d failure(s)' % failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
