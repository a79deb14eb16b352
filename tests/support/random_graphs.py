"""Seeded random object graphs for picklescope's differential test.

Imported by tests/differential.rs after the PY_RENDER prelude (tests/common/mod.rs), which
defines `load(data)` (CPython's unpickler with inert stubs for every global: nothing is
imported or run) and `render(obj)` (the canonical text tests/common renders our graph as).

    graphs(seed, count) -> list of (index, protocol, pickle bytes, CPython's rendering)

Each graph mixes atoms (ints at every width, floats, str with escapes and astral characters,
bytes, bytearray), containers (list, tuple, dict, set, frozenset, OrderedDict, defaultdict),
instances with dict, slots, (dict, slots) and tuple states, __reduce__ with a module-level
callable, list/dict subclasses with attributes, __getnewargs__ and __getnewargs_ex__; objects
are shared at random, lists, dicts and instances point back at their ancestors (cycles), and
tuples recurse through lists (pickled with POP_MARK/POP + GET). Every graph is pickled at
protocols 0 to 5 (where CPython can: __slots__ without __getstate__ needs protocol 2).
"""

import collections
import pickle
import random
import sys
import types

rg = types.ModuleType('rg')
sys.modules['rg'] = rg


def _register(cls):
    cls.__module__ = 'rg'
    setattr(rg, cls.__name__, cls)
    return cls


@_register
class Plain:
    pass


@_register
class Node:
    pass


@_register
class Slotted:
    __slots__ = ('a', 'b', 'c')


@_register
class Mixed:
    __slots__ = ('s', '__dict__')


@_register
class Tup:
    def __init__(self, a=None, b=None):
        self.a, self.b = a, b

    def __getstate__(self):
        return (self.a, self.b)

    def __setstate__(self, st):
        self.a, self.b = st


def make_red(*args):
    return Red(*args)


make_red.__module__ = 'rg'
rg.make_red = make_red


@_register
class Red:
    def __init__(self, *args):
        self.args = args

    def __reduce__(self):
        return (make_red, self.args)


@_register
class LSub(list):
    pass


@_register
class DSub(dict):
    pass


@_register
class NewArgs:
    def __new__(cls, *a):
        return object.__new__(cls)

    def __init__(self, *a):
        self.a = a

    def __getnewargs__(self):
        return self.a


@_register
class Kw:
    def __new__(cls, *a, **k):
        return object.__new__(cls)

    def __getnewargs_ex__(self):
        return ((1, 'x'), {'k': 2})


ATOMS = [
    lambda r: None, lambda r: True, lambda r: False,
    lambda r: r.randint(-5, 300), lambda r: r.choice([255, 256, 65535, 65536, -1, -256]),
    lambda r: r.choice([2**31 - 1, -2**31, 2**31, 2**63, -2**63 - 1, 2**100, -(2**70)]),
    lambda r: r.choice([0.0, -0.0, 1.5, -2.25, 1e-300, 1e300, float('inf'), float('-inf'),
                        3.141592653589793, 1e16, 1e-5]),
    lambda r: r.choice(['', 'a', 'caf\u00e9', '\U0001f680', 'line\nbreak', 'back\\slash',
                        'quote"\'', 'x' * 300, 'tab\t', '\u20ac' * 3, 'ascii text']),
    lambda r: r.choice([b'', b'\x00\xff', b'abc', bytes(range(70)), b'"\\']),
]

KEYS = [
    lambda r: r.choice(['a', 'b', 'view', 'data', 'x', 'caf\u00e9', '']),
    lambda r: r.randint(-3, 1000),
    lambda r: (r.randint(0, 3), 'k'),
    lambda r: r.choice([None, True, 2**40, 1.5]),
]

ATTRS = ['view', 'data', 'qa', 'meta', 'items', 'parent', 'cache', 'name', 'x']


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.pool = []      # objects with identity that may be referenced again
        self.budget = 60

    def atom(self):
        return self.r.choice(ATOMS)(self.r)

    def key(self):
        return self.r.choice(KEYS)(self.r)

    def value(self, depth):
        r = self.r
        self.budget -= 1
        if self.pool and r.random() < 0.15:
            return r.choice(self.pool)
        if depth <= 0 or self.budget <= 0 or r.random() < 0.35:
            return self.atom()
        kind = r.choice(['list', 'tuple', 'dict', 'set', 'frozenset', 'plain', 'node',
                         'slotted', 'mixed', 'tup', 'red', 'lsub', 'dsub', 'newargs', 'kw',
                         'odict', 'ddict', 'bytearray', 'rectuple', 'plain', 'node'])
        n = r.randint(0, 4)
        if kind == 'list':
            o = []
            self.pool.append(o)
            o.extend(self.value(depth - 1) for _ in range(n))
            return o
        if kind == 'tuple':
            return tuple(self.value(depth - 1) for _ in range(n))
        if kind == 'rectuple':
            lst = [self.atom()]
            self.pool.append(lst)
            t = (lst, self.value(depth - 1))
            lst.append(t)
            return t
        if kind == 'dict':
            o = {}
            self.pool.append(o)
            for _ in range(n):
                o[self.key()] = self.value(depth - 1)
            return o
        if kind == 'set':
            o = {self.r.choice([self.r.randint(0, 50), 'a', 'b', 'c']) for _ in range(n)}
            self.pool.append(o)
            return o
        if kind == 'frozenset':
            return frozenset(self.r.randint(0, 50) for _ in range(n))
        if kind == 'bytearray':
            o = bytearray(self.r.choice([b'', b'ab', bytes(range(20))]))
            self.pool.append(o)
            return o
        if kind in ('plain', 'node'):
            o = (Plain if kind == 'plain' else Node)()
            self.pool.append(o)
            for a in r.sample(ATTRS, n + 1):
                setattr(o, a, self.value(depth - 1))
            return o
        if kind == 'slotted':
            o = Slotted()
            self.pool.append(o)
            for a in r.sample(['a', 'b', 'c'], r.randint(0, 3)):
                setattr(o, a, self.value(depth - 1))
            return o
        if kind == 'mixed':
            o = Mixed()
            self.pool.append(o)
            if r.random() < 0.8:
                o.s = self.value(depth - 1)
            for a in r.sample(ATTRS, n):
                setattr(o, a, self.value(depth - 1))
            return o
        if kind == 'tup':
            o = Tup()
            self.pool.append(o)
            o.a, o.b = self.value(depth - 1), self.value(depth - 1)
            return o
        if kind == 'red':
            return Red(*(self.atom() for _ in range(n)))
        if kind == 'lsub':
            o = LSub()
            self.pool.append(o)
            o.extend(self.value(depth - 1) for _ in range(n))
            o.view = self.value(depth - 1)
            return o
        if kind == 'dsub':
            o = DSub()
            self.pool.append(o)
            for _ in range(n):
                o[self.key()] = self.value(depth - 1)
            o.data = self.value(depth - 1)
            return o
        if kind == 'newargs':
            o = NewArgs(*(self.atom() for _ in range(n)))
            self.pool.append(o)
            o.view = self.value(depth - 1)
            return o
        if kind == 'kw':
            o = Kw()
            self.pool.append(o)
            o.data = self.value(depth - 1)
            return o
        if kind == 'odict':
            o = collections.OrderedDict()
            self.pool.append(o)
            for _ in range(n):
                o[self.key()] = self.value(depth - 1)
            return o
        o = collections.defaultdict(list)
        self.pool.append(o)
        for _ in range(n):
            o[self.key()].append(self.value(depth - 1))
        return o


def graphs(seed, count):
    out = []
    for i in range(count):
        g = Gen(seed * 100003 + i)
        root = g.value(6)
        if not isinstance(root, (list, dict, Plain, Node)):
            root = [root, g.value(3)]
        for p in range(6):
            # A list subclass that contains itself recurses forever below protocol 2
            # (copyreg copies it into the reduce arguments): keep the C stack safe.
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(2000)
            try:
                data = pickle.dumps(root, protocol=p)
            except (TypeError, RecursionError, pickle.PicklingError):
                continue   # __slots__ without __getstate__ below protocol 2, or the above
            finally:
                sys.setrecursionlimit(limit)
            out.append((i, p, data, render(load(data))))
    return out
