#!/usr/bin/env python3
"""Canonical text form of a pickle's object graph -- a CPython oracle for tests.

    canon.py PICKLE [--drop CLASS_GLOB:ATTR ...] [--rules RULES.toml ...] [--numpy] [--buffers]
                    [--sidecar JSON] [--ext CODE=MODULE:NAME ...] [-o OUT]

Loads PICKLE with CPython's reference unpickler (pickle._Unpickler, iterative)
WITHOUT importing or calling anything from it: every global becomes an inert
stub class.  A stub records how it was used -- called (REDUCE, INST/OBJ with
arguments), constructed (NEWOBJ, NEWOBJ_EX, INST/OBJ without arguments),
BUILD states, APPEND(S)/SETITEM(S)/ADDITEMS -- and the whole graph is printed
depth-first in a deterministic text form.  Objects with identity (list, dict,
set, bytearray, stub instances, ...) get `#N` on first visit and are printed
as `@N` afterwards, so sharing and cycles are part of the output.

A few pure, side-effect-free reconstructors are evaluated so that the same data
prints the same at every protocol: _codecs.encode(str, 'latin1') (bytes below
protocol 3), builtins.bytes/bytearray/set/frozenset/list/complex with plain
arguments, and copyreg._reconstructor(C, object, None) == C.__new__(C) (objects
below protocol 2), copyreg._reconstructor(C, tuple, t) == C.__new__(C, *t).

--drop CLASS_GLOB:ATTR removes ATTR from the BUILD state (dict state, or either
dict of a (dict, slots) state) of every instance whose class "module.qualname"
matches the glob (a glob without a dot also matches the bare class name), before
printing: canon(slimmed) must equal canon(original, --drop ...).

--rules RULES.toml reads a picklescope rules file itself (every [[transient]] table's
`class` glob and `attrs`) and drops like --drop, with the rules file's own matching: the
glob is matched against the whole "module.qualname", `*` matches any run of characters
(dots included) and nothing else is special.  Tests give the oracle the rules, never the
slimmer's list of what it removed, so an instance the slimmer misses shows as a difference.

--numpy prints numpy arrays/dtypes/scalars as summaries (dtype, shape, order,
sha256 of the raw data) so the _reconstruct form (protocol <= 4) and the
_frombuffer form (protocol 5) of the same array print the same.

Out-of-band buffers (protocol 5 NEXT_BUFFER): without --buffers each one prints
as a placeholder `oob-buffer index=I`; with --buffers the buffers are taken
from the sidecar JSON (default: PICKLE with .json instead of .pickle; written by
gen_fixtures.py) and then print exactly like the in-band pickle would (bytearray,
or bytes after READONLY_BUFFER).  copyreg extension codes (EXT1/2/4) print as
`global <ext>.CODE` unless mapped with --ext or a sidecar "extensions" table.

Back-to-back pickles in one file are all printed (`=== pickle K`); bytes after
the last pickle that do not load are reported as `=== trailing bytes ...`.
Exit status: 0 ok, 1 the first pickle could not be loaded, 2 usage.
"""

import _compat_pickle
import argparse
import fnmatch
import hashlib
import io
import itertools
import json
import math
import os
import pickle
import struct
import sys

if hasattr(sys, 'set_int_max_str_digits'):
    sys.set_int_max_str_digits(0)

_seq = itertools.count()

# --------------------------------------------------------------------------
# stubs


class StubMeta(type):
    """Metaclass of stub globals.  Calling a stub class records a call."""

    def __call__(cls, *args, **kwargs):
        special = SPECIALS.get((cls._stub_module, cls._stub_name))
        if special is not None:
            value = special(args, kwargs)
            if value is not NotImplemented:
                return value
        obj = object.__new__(cls)
        obj._init('call', args, kwargs)
        return obj

    def __repr__(cls):
        return 'global %s' % cls._stub_dotted


class StubObject(metaclass=StubMeta):
    _stub_module = None
    _stub_name = None
    _stub_dotted = None

    def __new__(cls, *args, **kwargs):       # NEWOBJ, NEWOBJ_EX, INST/OBJ without args
        obj = object.__new__(cls)
        obj._init('new', args, kwargs)
        return obj

    def _init(self, how, args, kwargs):
        d = self.__dict__
        d['_how'] = how
        d['_args'] = args
        d['_kwargs'] = kwargs
        d['_states'] = []
        d['_items'] = []
        d['_setitems'] = []
        d['_adds'] = []
        d['_seq'] = next(_seq)
        d['_dropped'] = False

    def __init__(self, *args, **kwargs):
        pass

    # what the unpickler does to instances
    def __setstate__(self, state):
        self._states.append(state)

    def append(self, item):
        self._items.append(item)

    def extend(self, items):
        self._items.extend(items)

    def __setitem__(self, key, value):
        self._setitems.append((key, value))

    def add(self, item):
        self._adds.append(item)

    def __call__(self, *args, **kwargs):
        return CallResult.make(self, args, kwargs)

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other

    def __repr__(self):
        return '<stub %s>' % type(self)._stub_dotted


class CallResult(StubObject):
    """The result of calling something that is not a stub class."""

    @staticmethod
    def make(func, args, kwargs):
        obj = object.__new__(CallResult)
        obj._init('call', args, kwargs)
        obj.__dict__['_func'] = func
        return obj


class PersRef:
    """A persistent id (PERSID/BINPERSID)."""

    def __init__(self, pid):
        self.pid = pid


class OOBBuffer:
    """A NEXT_BUFFER placeholder (no buffers supplied)."""

    def __init__(self, index):
        self.index = index
        self.readonly = False


_STUBS = {}


def stub_class(module, name):
    key = (module, name)
    cls = _STUBS.get(key)
    if cls is None:
        cls = StubMeta(name.rpartition('.')[2] or name, (StubObject,),
                       {'_stub_module': module, '_stub_name': name,
                        '_stub_dotted': '%s.%s' % (module, name), '__module__': 'canon.stub'})
        _STUBS[key] = cls
    return cls


# pure reconstructors, evaluated -------------------------------------------------

_LATIN1 = ('latin1', 'latin-1', 'iso-8859-1', 'iso8859-1', 'l1')


def _sp_encode(args, kw):
    if not kw and len(args) == 2 and isinstance(args[0], str) and args[1] in _LATIN1:
        try:
            return args[0].encode('latin-1')
        except UnicodeEncodeError:
            pass
    return NotImplemented


def _bytes_args(args, kw, make):
    if kw:
        return NotImplemented
    if not args:
        return make(b'')
    if len(args) == 1 and isinstance(args[0], (bytes, bytearray)):
        return make(bytes(args[0]))
    if len(args) == 1 and isinstance(args[0], list) and \
            all(type(i) is int and 0 <= i < 256 for i in args[0]):
        return make(bytes(args[0]))
    if len(args) == 2 and isinstance(args[0], str) and args[1] in _LATIN1:
        try:
            return make(args[0].encode('latin-1'))
        except UnicodeEncodeError:
            pass
    return NotImplemented


def _sp_container(make):
    def sp(args, kw):
        if kw or len(args) > 1:
            return NotImplemented
        if not args:
            return make()
        if isinstance(args[0], (list, tuple, set, frozenset)):
            try:
                return make(args[0])
            except TypeError:
                return NotImplemented
        return NotImplemented
    return sp


def _sp_complex(args, kw):
    if not kw and 1 <= len(args) <= 2 and all(type(a) in (int, float) for a in args):
        return complex(*args)
    return NotImplemented


def _sp_reconstructor(args, kw):
    if kw or len(args) != 3 or not isinstance(args[0], StubMeta):
        return NotImplemented
    cls, base, state = args
    if base is _STUBS.get(('builtins', 'object')) and state is None:
        return cls.__new__(cls)
    if base is _STUBS.get(('builtins', 'tuple')) and isinstance(state, tuple):
        return cls.__new__(cls, *state)
    return NotImplemented


SPECIALS = {
    ('_codecs', 'encode'): _sp_encode,
    ('builtins', 'bytes'): lambda a, k: _bytes_args(a, k, bytes),
    ('builtins', 'bytearray'): lambda a, k: _bytes_args(a, k, bytearray),
    ('builtins', 'set'): _sp_container(set),
    ('builtins', 'frozenset'): _sp_container(frozenset),
    ('builtins', 'list'): _sp_container(list),
    ('builtins', 'complex'): _sp_complex,
    ('copyreg', '_reconstructor'): _sp_reconstructor,
}

# --------------------------------------------------------------------------
# the unpickler


class StubUnpickler(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, ext_map=None, buffers=None, encoding='ASCII'):
        super().__init__(file, encoding=encoding)
        self.ext_map = ext_map or {}
        self.side_buffers = buffers          # None: placeholders
        self.n_buffers = 0
        self.extra_states = {}               # id(obj) -> (obj, [states]) for BUILD on non-stubs

    def find_class(self, module, name):
        if self.proto < 3 and self.fix_imports:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        return stub_class(module, name)

    def persistent_load(self, pid):
        return PersRef(pid)

    def get_extension(self, code):
        key = self.ext_map.get(code)
        self.append(stub_class(*key) if key else stub_class('<ext>', str(code)))

    def load_build(self):
        stack = self.stack
        state = stack.pop()
        inst = stack[-1]
        if isinstance(inst, StubObject):
            inst._states.append(state)
        else:
            self.extra_states.setdefault(id(inst), (inst, []))[1].append(state)
    dispatch[pickle.BUILD[0]] = load_build

    def load_next_buffer(self):
        i = self.n_buffers
        self.n_buffers += 1
        if self.side_buffers is None:
            self.append(OOBBuffer(i))
            return
        if i >= len(self.side_buffers):
            raise pickle.UnpicklingError('pickle refers to out-of-band buffer %d, sidecar has %d'
                                         % (i, len(self.side_buffers)))
        self.append(bytearray(self.side_buffers[i]))
    dispatch[pickle.NEXT_BUFFER[0]] = load_next_buffer

    def load_readonly_buffer(self):
        top = self.stack[-1]
        if isinstance(top, OOBBuffer):
            top.readonly = True
        elif isinstance(top, bytearray):
            self.stack[-1] = bytes(top)
    dispatch[pickle.READONLY_BUFFER[0]] = load_readonly_buffer


# --------------------------------------------------------------------------
# printing

ATOMS = (type(None), bool, int, float, complex, str, bytes)
NP_RECONSTRUCT = {('numpy.core.multiarray', '_reconstruct'), ('numpy._core.multiarray', '_reconstruct')}
NP_FROMBUFFER = {('numpy.core.numeric', '_frombuffer'), ('numpy._core.numeric', '_frombuffer')}
NP_SCALAR = {('numpy.core.multiarray', 'scalar'), ('numpy._core.multiarray', 'scalar')}


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def r_float(x):
    if math.isnan(x):
        return 'nan(0x%016x)' % struct.unpack('>Q', struct.pack('>d', x))[0]
    return repr(x)


def r_atom(x):
    t = type(x)
    if t is str:
        if len(x) <= 256:
            return repr(x)
        return 'str len=%d sha256=%s' % (len(x), digest(x.encode('utf-8', 'surrogatepass')))
    if t is bytes:
        if len(x) <= 64:
            return repr(x)
        return 'bytes len=%d sha256=%s' % (len(x), digest(x))
    if t is float:
        return r_float(x)
    if t is complex:
        return 'complex(%s, %s)' % (r_float(x.real), r_float(x.imag))
    return repr(x)          # None, bool, int


def is_global(x):
    return isinstance(x, StubMeta)


def inline(x):
    """Text for values printed on one line (atoms, globals, flat tuples), else None."""
    if type(x) in ATOMS:
        return r_atom(x)
    if is_global(x):
        return 'global ' + x._stub_dotted
    if type(x) is tuple and len(x) <= 8:
        parts = []
        for e in x:
            if type(e) in ATOMS:
                parts.append(r_atom(e))
            elif is_global(e):
                parts.append('global ' + e._stub_dotted)
            else:
                return None
        text = '(' + ', '.join(parts) + (',)' if len(parts) == 1 else ')')
        return text if len(text) <= 200 else None
    return None


def call_args(args):
    """'(a, b)' for a call whose arguments are all inline values, else None."""
    parts = []
    for a in args:
        t = inline(a)
        if t is None:
            return None
        parts.append(t)
    text = '(' + ', '.join(parts) + ')'
    return text if len(text) <= 200 else None


class Printer:
    def __init__(self, out, drops=(), numpy=False, extra_states=None):
        self.out = out
        self.drops = drops
        self.numpy = numpy
        self.extra = extra_states or {}
        self.ids = {}
        self.next_id = 1
        self.lines = []

    def emit(self, depth, text):
        pad = '  ' * min(depth, 100) + ('<%d> ' % depth if depth > 100 else '')
        self.lines.append(pad + text + '\n')
        if len(self.lines) >= 20000:
            self.flush()

    def flush(self):
        self.out.write(''.join(self.lines))
        self.lines = []

    def print_root(self, obj):
        stack = [(0, '', obj)]
        while stack:
            depth, label, x = stack.pop()
            head, children = self.describe(x)
            self.emit(depth, label + head)
            for lab, child in reversed(children):
                stack.append((depth + 1, lab, child))
        self.flush()

    # -- identity
    def seen(self, x):
        n = self.ids.get(id(x))
        if n is not None:
            return '@%d' % n
        return None

    def new_id(self, x):
        n = self.next_id
        self.next_id += 1
        self.ids[id(x)] = n
        return '#%d' % n

    # -- describe one value: (head text, [(label, child), ...])
    def describe(self, x):
        text = inline(x)
        if text is not None:
            if is_global(x) and id(x) in self.extra:
                return text, [('state: ', s) for s in self.extra[id(x)][1]]
            return text, []
        t = type(x)
        if t is tuple:
            return 'tuple len=%d' % len(x), [('[%d] ' % i, e) for i, e in enumerate(x)]
        if t is frozenset:
            items = sorted(x, key=self.sort_key)
            flat = [inline(e) for e in items]
            if all(f is not None for f in flat) and len(flat) <= 16:
                return 'frozenset({%s})' % ', '.join(flat), []
            return 'frozenset len=%d' % len(x), [('', e) for e in items]
        if self.numpy and isinstance(x, StubObject) and not isinstance(x, CallResult):
            d = self.np_dtype(x)
            if d is not None:
                return 'dtype ' + d, []
        ref = self.seen(x)
        if ref is not None:
            return ref, []
        nid = self.new_id(x)
        extra = [('state: ', s) for s in self.extra.get(id(x), (None, []))[1]]
        if t is list:
            return '%s list len=%d' % (nid, len(x)), [('[%d] ' % i, e) for i, e in enumerate(x)] + extra
        if t is dict:
            return '%s dict len=%d' % (nid, len(x)), self.dict_children(x.items()) + extra
        if t is set:
            return '%s set len=%d' % (nid, len(x)), [('', e) for e in sorted(x, key=self.sort_key)] + extra
        if t is bytearray:
            body = repr(bytes(x)) if len(x) <= 64 else 'len=%d sha256=%s' % (len(x), digest(x))
            return '%s bytearray %s' % (nid, body), extra
        if isinstance(x, StubObject):
            return self.describe_stub(nid, x)
        if t is PersRef:
            return '%s persid' % nid, [('pid: ', x.pid)]
        if t is OOBBuffer:
            return '%s oob-buffer index=%d readonly=%s' % (nid, x.index, x.readonly), []
        return '%s %s %r' % (nid, t.__name__, x), extra

    def dict_children(self, items):
        out = []
        for i, (k, v) in enumerate(items):
            kt = inline(k)
            if kt is not None:
                out.append((kt + ': ', v))
            else:
                out.append(('key %d: ' % i, k))
                out.append(('value %d: ' % i, v))
        return out

    def sort_key(self, e):
        t = inline(e)
        if t is not None:
            return (0, type(e).__name__, t, 0)
        if isinstance(e, StubObject):
            return (1, type(e)._stub_dotted or '', '', e._seq)
        return (2, type(e).__name__, '', 0)

    def apply_drops(self, x):
        if x._dropped or not self.drops:
            return
        x.__dict__['_dropped'] = True
        dotted = type(x)._stub_dotted or ''
        attrs = [a for match, a in self.drops if match(dotted)]
        if not attrs:
            return
        for st in x._states:
            dicts = [st] if type(st) is dict else \
                [d for d in st if type(d) is dict] if type(st) is tuple and len(st) == 2 else []
            for d in dicts:
                for a in attrs:
                    d.pop(a, None)

    def describe_stub(self, nid, x):
        self.apply_drops(x)
        cls = type(x)
        if self.numpy:
            summary = self.np_summary(nid, x)
            if summary is not None:
                return summary
        if isinstance(x, CallResult):
            head = '%s call' % nid
            children = [('func: ', x._func)]
            args_text = None
        else:
            args_text = call_args(x._args) if not x._kwargs else None
            head = '%s %s %s%s' % (nid, x._how, cls._stub_dotted, args_text if args_text is not None else
                                   ('()' if not x._args and not x._kwargs else '(...)'))
            children = []
        if args_text is None and (x._args or isinstance(x, CallResult)):
            children.append(('args: ', tuple(x._args)))
        if x._kwargs:
            children.append(('kwargs: ', dict(x._kwargs)))
        for i, st in enumerate(x._states):
            children.append(('state: ' if i == 0 else 'state[%d]: ' % i, st))
        for i, item in enumerate(x._items):
            children.append(('append[%d]: ' % i, item))
        for i, (k, v) in enumerate(x._setitems):
            kt = inline(k)
            if kt is not None:
                children.append(('setitem %s: ' % kt, v))
            else:
                children.append(('setitem key %d: ' % i, k))
                children.append(('setitem value %d: ' % i, v))
        for item in sorted(x._adds, key=self.sort_key):
            children.append(('add: ', item))
        return head, children

    # -- numpy summaries
    def np_dtype(self, x):
        cls = type(x)
        if (cls._stub_module, cls._stub_name) != ('numpy', 'dtype') or x._how != 'call':
            return None
        if len(x._args) < 1 or not isinstance(x._args[0], str) or len(x._states) != 1:
            return None
        st = x._states[0]
        if type(st) is not tuple or len(st) < 8 or not isinstance(st[1], str):
            return None
        code = x._args[0]
        if code == 'O8':
            code = 'O'
        extra = '' if st[2:5] == (None, None, None) else ' fields=%r' % (st[2:5],)
        return st[1] + code + extra

    def data_text(self, buf):
        if isinstance(buf, (bytes, bytearray)):
            return 'data=len=%d sha256=%s' % (len(buf), digest(buf))
        if isinstance(buf, OOBBuffer):
            return 'data=oob-buffer index=%d' % buf.index
        return None

    def np_summary(self, nid, x):
        cls = type(x)
        key = (cls._stub_module, cls._stub_name)
        if x._how != 'call':
            return None
        if key in NP_RECONSTRUCT and len(x._args) == 3 and len(x._states) == 1:
            st = x._states[0]
            if type(st) is tuple and len(st) == 5 and isinstance(st[2], StubObject):
                dt = self.np_dtype(st[2])
                if dt is None:
                    return None
                head = '%s ndarray %s shape=%s order=%s' % (nid, dt, inline(st[1]) or st[1],
                                                             'F' if st[3] else 'C')
                if isinstance(st[4], list):
                    return head + ' objects', [('[%d] ' % i, e) for i, e in enumerate(st[4])]
                data = self.data_text(st[4])
                if data is not None:
                    return head + ' ' + data, []
            return None
        if key in NP_FROMBUFFER and len(x._args) in (4, 5) and isinstance(x._args[1], StubObject):
            buf, dtype_obj, shape, order = x._args[:4]
            dt = self.np_dtype(dtype_obj)
            data = self.data_text(buf)
            if dt is None or data is None:
                return None
            if order == 'K' and len(x._args) == 5 and isinstance(buf, (bytes, bytearray)):
                c = k_to_c(buf, itemsize(dt), shape, x._args[4])
                if c is not None:     # print as the C-order array it is (same as protocol <= 4)
                    shape = tuple(shape[i] for i in x._args[4])
                    return '%s ndarray %s shape=%s order=C %s' % (nid, dt, inline(shape), self.data_text(c)), []
            extra = ' axis_order=%s' % (inline(x._args[4]),) if len(x._args) == 5 else ''
            return '%s ndarray %s shape=%s order=%s%s %s' % (nid, dt, inline(shape) or shape, order,
                                                             extra, data), []
        if key in NP_SCALAR and len(x._args) == 2 and isinstance(x._args[0], StubObject):
            dt = self.np_dtype(x._args[0])
            if dt is not None and isinstance(x._args[1], bytes):
                return '%s scalar %s %s' % (nid, dt, x._args[1].hex()), []
        return None


def itemsize(dt):
    """Item size of a dtype summary such as '<f8', '|b1', '<U5', 'O'."""
    code = dt.split(' ')[0].lstrip('<>|=')
    digits = ''.join(ch for ch in code if ch.isdigit())
    if not digits:
        return 8 if code.startswith('O') else None
    n = int(digits)
    return 4 * n if code.startswith('U') else n


def k_to_c(buf, size, mem_shape, axis_order, limit=1 << 22):
    """C-order bytes of base.transpose(axis_order), base = buf as a C array of mem_shape."""
    if not size or not isinstance(mem_shape, tuple) or not isinstance(axis_order, tuple) \
            or sorted(axis_order) != list(range(len(mem_shape))):
        return None
    total = 1
    for d in mem_shape:
        total *= d
    if total > limit or total * size != len(buf):
        return None
    mem_strides = [size] * len(mem_shape)
    for i in range(len(mem_shape) - 2, -1, -1):
        mem_strides[i] = mem_strides[i + 1] * mem_shape[i + 1]
    shape = [mem_shape[i] for i in axis_order]
    strides = [mem_strides[i] for i in axis_order]
    out = bytearray()
    for idx in itertools.product(*[range(d) for d in shape]):
        off = sum(i * st for i, st in zip(idx, strides))
        out += buf[off:off + size]
    return bytes(out)


# --------------------------------------------------------------------------


def drop_matcher(glob):
    """--drop: an fnmatch glob on "module.qualname"; one without a dot also matches the bare
    class name."""
    def match(dotted):
        return fnmatch.fnmatchcase(dotted, glob) or \
            ('.' not in glob and fnmatch.fnmatchcase(dotted.rpartition('.')[2], glob))
    return match


def rule_matcher(glob):
    """A rules file's class glob: only `*` is special (any run, dots included)."""
    pattern = glob.replace('[', '[[]').replace('?', '[?]')
    return lambda dotted: fnmatch.fnmatchcase(dotted, pattern)


def parse_drop(text):
    glob, sep, attr = text.rpartition(':')
    if not sep or not glob or not attr:
        raise argparse.ArgumentTypeError('expected CLASS_GLOB:ATTR, got %r' % text)
    return drop_matcher(glob), attr


def load_rules(path):
    """(matcher, attr) for every attribute of every [[transient]] table of a rules file."""
    try:
        import tomllib
    except ImportError:
        raise SystemExit('canon: --rules needs Python 3.11 or later (tomllib)') from None
    try:
        with open(path, 'rb') as f:
            doc = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise SystemExit('canon: %s: %s' % (path, e)) from None
    out = []
    for table in doc.get('transient', []):
        cls, attrs = table.get('class'), table.get('attrs', [])
        if not isinstance(cls, str) or not cls.strip() or not isinstance(attrs, list) \
                or not all(isinstance(a, str) for a in attrs):
            raise SystemExit('canon: %s: each [[transient]] needs class = "GLOB" and attrs = [...]'
                             % path)
        out.extend((rule_matcher(cls), a) for a in attrs)
    return out


def parse_ext(text):
    code, sep, target = text.partition('=')
    module, sep2, name = target.partition(':')
    if not sep or not sep2:
        raise argparse.ArgumentTypeError('expected CODE=MODULE:NAME, got %r' % text)
    return int(code), (module, name)


def canon_file(path, out, drops=(), numpy=False, ext_map=None, buffers=None, encoding='ASCII'):
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        k = 0
        while True:
            pos = f.tell()
            if pos >= size:
                break
            u = StubUnpickler(f, ext_map=ext_map, buffers=buffers, encoding=encoding)
            try:
                obj = u.load()
            except Exception as e:   # noqa: BLE001 -- any failure ends the pickle sequence
                if k == 0:
                    raise SystemExit('canon: %s: cannot load pickle at offset %d: %s: %s'
                                     % (path, pos, type(e).__name__, e)) from None
                f.seek(pos)
                rest = f.read()
                out.write('=== trailing bytes len=%d sha256=%s\n' % (len(rest), digest(rest)))
                break
            out.write('=== pickle %d\n' % k)
            Printer(out, drops, numpy, u.extra_states).print_root(obj)
            k += 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('pickle')
    ap.add_argument('--drop', action='append', type=parse_drop, default=[], metavar='CLASS_GLOB:ATTR')
    ap.add_argument('--rules', action='append', default=[], metavar='RULES.toml',
                    help='drop what a picklescope rules file names (matched here, not by picklescope)')
    ap.add_argument('--numpy', action='store_true', help='summarize numpy arrays, dtypes and scalars')
    ap.add_argument('--buffers', action='store_true', help='supply out-of-band buffers from the sidecar')
    ap.add_argument('--sidecar', help='sidecar JSON (default: PICKLE with .json suffix)')
    ap.add_argument('--ext', action='append', type=parse_ext, default=[], metavar='CODE=MODULE:NAME')
    ap.add_argument('--encoding', default='ASCII',
                    help="how protocol-0/1/2 STRINGs decode (CPython's default ASCII; latin1 for Python 2 pickles)")
    ap.add_argument('-o', '--output', help='write here instead of stdout')
    args = ap.parse_args(argv)

    ext_map = dict(args.ext)
    buffers = None
    sidecar = args.sidecar
    if sidecar is None and args.buffers:
        sidecar = os.path.splitext(args.pickle)[0] + '.json'
    if sidecar is not None:
        with open(sidecar) as f:
            side = json.load(f)
        for code, target in side.get('extensions', {}).items():
            ext_map.setdefault(int(code), tuple(target))
        if args.buffers:
            buffers = [bytes.fromhex(b['hex']) for b in side.get('buffers', [])]
    out = open(args.output, 'w', encoding='utf-8') if args.output else \
        io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8', errors='backslashreplace')
    try:
        drops = list(args.drop)
        for path in args.rules:
            drops.extend(load_rules(path))
        canon_file(args.pickle, out, drops, args.numpy, ext_map, buffers, args.encoding)
    finally:
        out.flush()
        if args.output:
            out.close()


if __name__ == '__main__':
    main()
