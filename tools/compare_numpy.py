#!/usr/bin/env python3
"""Check that fakes.ndarray pickles like real numpy.

    pip install --target /tmp/np1 'numpy==1.26.4'; pip install --target /tmp/np2 'numpy>=2'
    python3 tools/compare_numpy.py --numpy-path /tmp/np1 --flavour numpy1
    python3 tools/compare_numpy.py --numpy-path /tmp/np2 --flavour numpy2

The same arrays (same raw bytes) are built once with real numpy (in a child
process whose PYTHONPATH is --numpy-path) and once with the fake, pickled at
protocols 0-5, and compared.  A case passes when the pickles are byte-identical;
otherwise the opcode listings (pickletools.genops, payloads shown by length) are
diffed so the difference in shape is visible.
"""

import argparse
import difflib
import json
import os
import pickle
import pickletools
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def raw(seed, n):
    return random.Random(seed).randbytes(n)


# case name -> description of the array(s): (dtype, shape, layout, raw bytes, extra)
def specs():
    r = raw
    return {
        'f8_c': ('f8', (2, 3), 'C', r(1, 48)),
        'f8_f': ('f8', (2, 3), 'F', r(2, 48)),
        'f8_strided': ('f8', (5,), 'strided', r(3, 80)),      # a[::2] of 10 elements
        'f8_k': ('f8', (2, 3, 4), 'K', r(4, 192)),             # base.transpose(1, 0, 2)
        'f8_0d': ('f8', (), 'C', r(5, 8)),
        'f8_empty': ('f8', (0,), 'C', b''),
        'f8_readonly': ('f8', (2,), 'RO', r(6, 16)),
        'bool': ('b1', (4,), 'C', bytes([1, 0, 0, 1])),
        'i8': ('i8', (3,), 'C', r(7, 24)),
        'f4_be': ('>f4', (2,), 'C', struct.pack('>2f', 1.0, 2.0)),
        'u5': ('U5', (2,), 'C', 'ab\0\0\0cde\0\0'.encode('utf-32-le')),
        'object': ('O', (3,), 'C', None),
        'big': ('f8', (20000,), 'C', r(8, 160000)),
        'scalar_f8': ('scalar', 'f8', None, struct.pack('<d', 1.5)),
        'scalar_i8': ('scalar', 'i8', None, struct.pack('<q', -3)),
        'scalar_b1': ('scalar', 'b1', None, b'\x01'),
    }


GROUPS = {'list_same_dtype': ['f8_c', 'f8_0d', 'bool', 'f8_c2', 'scalar_f8', 'i8', 'f8_f']}


def build_real(np, spec):
    if spec[0] == 'scalar':
        _, code, _, data = spec
        return np.frombuffer(data, dtype=code)[0]
    code, shape, layout, data = spec
    if code == 'O':
        return np.array(['a', 1, None], dtype=object)
    if layout == 'F':
        # F-order bytes of a (2,3) array
        return np.frombuffer(data, dtype=code).reshape(shape, order='F').copy(order='F')
    if layout == 'strided':
        return np.frombuffer(data, dtype=code).copy()[::2]
    if layout == 'K':
        return np.frombuffer(data, dtype=code).reshape(shape).copy().transpose(1, 0, 2)
    if layout == 'RO':
        return np.frombuffer(data, dtype=code).reshape(shape)
    return np.frombuffer(data, dtype=code).reshape(shape).copy()


def build_fake(fakes, spec):
    if spec[0] == 'scalar':
        _, code, _, data = spec
        return fakes.NumpyScalar(fakes.get_dtype(code), data)
    code, shape, layout, data = spec
    dt = fakes.get_dtype(code)
    if code == 'O':
        return fakes.ndarray(dt, shape, items=['a', 1, None])
    if layout == 'strided':
        size = dt.itemsize
        picked = b''.join(data[i:i + size] for i in range(0, len(data), 2 * size))
        return fakes.ndarray(dt, shape, bytearray(picked), layout='strided')
    if layout == 'K':
        return fakes.ndarray(dt, shape, bytearray(data), layout='K', axis_order=(1, 0, 2))
    if layout == 'RO':
        return fakes.ndarray(dt, shape, bytes(data))
    return fakes.ndarray(dt, shape, bytearray(data), layout=layout)


def objects(build, lib):
    sp = specs()
    out = {name: (lambda s=s: build(lib, s)) for name, s in sp.items()}
    sp['f8_c2'] = ('f8', (2,), 'C', raw(9, 16))
    out['list_same_dtype'] = lambda: [build(lib, sp[n]) for n in GROUPS['list_same_dtype']]
    out['dict_mixed'] = lambda: {'data': build(lib, sp['f8_c']), 'flag': build(lib, sp['bool']),
                                 'again': build(lib, sp['f8_c2']), 'obj': build(lib, sp['object']),
                                 'k': build(lib, sp['f8_k']), 's': build(lib, sp['scalar_i8'])}
    return out


def pickles(build, lib, protocols):
    res = {}
    for name, make in objects(build, lib).items():
        for p in protocols:
            res['%s/p%d' % (name, p)] = pickle.dumps(make(), protocol=p).hex()
    return res


def child_main():
    import numpy as np
    protocols = [int(x) for x in sys.argv[2].split(',')]
    json.dump({'version': np.__version__, 'pickles': pickles(build_real, np, protocols)}, sys.stdout)


def listing(data):
    out = []
    for op, arg, _pos in pickletools.genops(data):
        if isinstance(arg, (bytes, bytearray)) and len(arg) > 16:
            arg = '<%s %d bytes>' % (type(arg).__name__, len(arg))
        elif isinstance(arg, str) and len(arg) > 40:
            arg = '<str %d chars>' % len(arg)
        out.append('%s %s' % (op.name, '' if arg is None else repr(arg)))
    return out


def main():
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        return child_main()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--numpy-path', required=True, help='directory holding a real numpy package')
    ap.add_argument('--flavour', choices=('numpy1', 'numpy2'), required=True)
    ap.add_argument('--protocols', default='0,1,2,3,4,5')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=args.numpy_path)
    out = subprocess.run([sys.executable, os.path.abspath(__file__), '--child', args.protocols],
                         env=env, check=True, capture_output=True, text=True).stdout
    real = json.loads(out)
    sys.path.insert(0, HERE)
    import fakes
    fakes.set_flavour(args.flavour)
    fake = pickles(build_fake, fakes, [int(x) for x in args.protocols.split(',')])
    same = differ = 0
    for key in sorted(real['pickles']):
        a = bytes.fromhex(real['pickles'][key])
        b = bytes.fromhex(fake[key])
        if a == b:
            same += 1
            if args.verbose:
                print('identical  %s (%d bytes)' % (key, len(a)))
            continue
        la, lb = listing(a), listing(b)
        if la == lb:
            print('same opcodes, different bytes: %s' % key)
        else:
            print('DIFFERENT: %s' % key)
            for line in difflib.unified_diff(la, lb, 'numpy %s' % real['version'], 'fake', lineterm='', n=2):
                print('   ', line)
        differ += 1
    print('numpy %s vs fake (%s): %d identical, %d different' % (real['version'], args.flavour, same, differ))
    return 1 if differ else 0


if __name__ == '__main__':
    sys.exit(main())
