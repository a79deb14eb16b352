"""Fake `numpy` and fake `pipeline` modules for building pipeline-like pickles.

Nothing here imports numpy or the ALMA/NRAO pipeline.  Importing this module
registers stand-in modules in ``sys.modules`` so that CPython's ``pickle``
writes exactly the global names the real packages would produce:

* ``numpy.ndarray`` / ``numpy.dtype`` and the reconstructors
  ``numpy.core.multiarray._reconstruct`` / ``numpy.core.multiarray.scalar`` /
  ``numpy.core.numeric._frombuffer`` ("numpy1" flavour, numpy 1.x) or
  ``numpy._core.*`` ("numpy2" flavour, numpy >= 2).  ``ndarray.__reduce_ex__``
  returns the same tuples as numpy's C implementation (methods.c
  ``array_reduce_ex``), so the opcode stream matches real numpy (checked by
  ``compare_numpy.py``).
* the pipeline classes its contexts name, with the dotted names
  the real pipeline uses.

The classes are plain containers: builders in gen_fixtures.py create instances
with ``new(cls, **attrs)`` so the instance ``__dict__`` insertion order (and thus
the pickled BUILD state order) is exactly the order of the keyword arguments.
"""

import collections
import enum
import struct
import sys
import types

# --------------------------------------------------------------------------
# module registry helpers


def ensure_module(name):
    """Return the fake module `name`, creating it and its parents if needed."""
    mod = sys.modules.get(name)
    if mod is not None and getattr(mod, '__picklescope_fake__', False):
        return mod
    if mod is not None and not name.startswith(('numpy', 'pipeline')):
        return mod
    mod = types.ModuleType(name)
    mod.__picklescope_fake__ = True
    sys.modules[name] = mod
    parent, _, child = name.rpartition('.')
    if parent:
        setattr(ensure_module(parent), child, mod)
    return mod


def export(obj, dotted):
    """Give `obj` the dotted name `dotted` and make it findable by pickle."""
    module, _, name = dotted.rpartition('.')
    # classes of one module share the module's __name__ object, so pickle memoizes
    # the module string once and refers back to it (BINGET)
    module, name = sys.intern(module), sys.intern(name)
    obj.__module__ = module
    obj.__qualname__ = name
    obj.__name__ = name
    setattr(ensure_module(module), name, obj)
    return obj


# --------------------------------------------------------------------------
# fake numpy

FLAVOURS = {
    'numpy1': ('numpy.core.multiarray', 'numpy.core.numeric'),
    'numpy2': ('numpy._core.multiarray', 'numpy._core.numeric'),
}
_state = {'flavour': 'numpy1'}


def set_flavour(flavour):
    if flavour not in FLAVOURS:
        raise ValueError('unknown numpy flavour %r' % flavour)
    _state['flavour'] = flavour


def get_flavour():
    return _state['flavour']


def _make_funcs(multiarray, numeric):
    # never called: only their names matter to pickle
    def _reconstruct(subtype, shape, dtype):
        raise RuntimeError('fake numpy: not loadable here')

    def scalar(dtype, obj=None):
        raise RuntimeError('fake numpy: not loadable here')

    def _frombuffer(buf, dtype, shape, order, axis_order=None):
        raise RuntimeError('fake numpy: not loadable here')

    export(_reconstruct, multiarray + '._reconstruct')
    export(scalar, multiarray + '.scalar')
    export(_frombuffer, numeric + '._frombuffer')
    return {'_reconstruct': _reconstruct, 'scalar': scalar, '_frombuffer': _frombuffer}


_FUNCS = {fl: _make_funcs(*mods) for fl, mods in FLAVOURS.items()}


def _funcs():
    return _FUNCS[_state['flavour']]


class dtype:
    """Stand-in for numpy.dtype: pickles as numpy.dtype(code, False, True) + BUILD."""

    def __init__(self, code, byteorder, itemsize, elsize=-1, alignment=-1, flags=0):
        self.code = code            # 'f8', 'b1', 'U5', 'O8', ...
        self.byteorder = byteorder  # '<', '>', '|'
        self.itemsize = itemsize
        self.elsize = elsize
        self.alignment = alignment
        self.flags = flags

    def __reduce__(self):
        # numpy builds a fresh code string every time; memo sharing only
        # happens through the (singleton) dtype object itself.
        code = self.code[:1] + self.code[1:]
        return (dtype, (code, False, True),
                (3, self.byteorder, None, None, None, self.elsize, self.alignment, self.flags))

    def __repr__(self):
        return 'dtype(%r)' % (self.byteorder + self.code)


export(dtype, 'numpy.dtype')

_BUILTIN_DTYPES = {}
_FIXED = {
    # code: (byteorder, itemsize)
    'f8': ('<', 8), 'f4': ('<', 4), 'f2': ('<', 2),
    'i8': ('<', 8), 'i4': ('<', 4), 'i2': ('<', 2), 'i1': ('|', 1),
    'u8': ('<', 8), 'u4': ('<', 4), 'u2': ('<', 2), 'u1': ('|', 1),
    'b1': ('|', 1), 'c16': ('<', 16), 'c8': ('<', 8),
}


def get_dtype(spec):
    """Return the dtype for a numpy-like spec ('f8', '>f4', 'U5', 'S3', 'O').

    Native fixed-size dtypes are singletons (as in numpy), so a second array
    of the same dtype refers to the memoized dtype with BINGET."""
    if spec in _BUILTIN_DTYPES:
        return _BUILTIN_DTYPES[spec]
    order = None
    body = spec
    if spec[:1] in '<>|=':
        order, body = spec[0], spec[1:]
    if body in ('O', 'O8'):
        dt = dtype('O8', '|', 8, -1, -1, 63)
        _BUILTIN_DTYPES[spec] = dt
        return dt
    if body in _FIXED:
        native, size = _FIXED[body]
        if order in (None, '=', native) or native == '|':
            dt = _BUILTIN_DTYPES.get(body)
            if dt is None:
                dt = _BUILTIN_DTYPES[body] = dtype(body, native, size)
            return dt
        return dtype(body, order, size)          # non-native: a new object
    kind, n = body[0], int(body[1:])
    if kind == 'U':
        return dtype(body, '<' if order in (None, '=') else order, 4 * n, 4 * n, 4, 8)
    if kind == 'S':
        return dtype(body, '|', n, n, 1, 0)
    if kind == 'V':
        return dtype(body, '|', n, n, 1, 0)
    raise ValueError('unsupported dtype spec %r' % spec)


class ndarray:
    """Stand-in for numpy.ndarray.

    layout:
      'C'       C-contiguous; buf holds C-order bytes.
      'F'       Fortran-contiguous (and not C-contiguous); buf holds F-order bytes.
      'strided' a non-contiguous view (e.g. a[::2]); buf holds the C-order copy
                numpy would write; always pickled with _reconstruct.
      'K'       dense but permuted (e.g. a transpose of a 3-D array): buf holds
                memory order for base shape `mem_shape`; the logical array is
                base.transpose(axis_order).  numpy >= 2 pickles it at protocol 5
                as _frombuffer(buf, dtype, mem_shape, 'K', axis_order).
    buf: bytearray (writable -> BYTEARRAY8 at protocol 5) or bytes (a read-only
    array -> BINBYTES at protocol 5).
    items: for object arrays, the list of Python objects instead of buf.
    """

    def __init__(self, dt, shape, buf=None, layout='C', axis_order=None, items=None):
        self.dtype = dt
        self.shape = tuple(shape)
        self.buf = buf
        self.layout = layout
        self.axis_order = tuple(axis_order) if axis_order is not None else None
        self.items = items
        if layout == 'K':
            self.mem_shape = self.shape
            self.shape = tuple(self.mem_shape[i] for i in self.axis_order)
        if layout == 'F' and sum(1 for d in self.shape if d > 1) <= 1:
            self.layout = 'C'   # also C-contiguous: numpy reports order 'C'

    @property
    def nbytes(self):
        if self.items is not None:
            return 8 * len(self.items)
        return len(self.buf)

    def _c_order_bytes(self):
        """Bytes of the logical array in C order (what tobytes() returns)."""
        if self.layout != 'K':
            return bytes(self.buf)
        size = self.dtype.itemsize
        mem = self.mem_shape
        mem_strides = [size] * len(mem)
        for i in range(len(mem) - 2, -1, -1):
            mem_strides[i] = mem_strides[i + 1] * mem[i + 1]
        strides = [mem_strides[i] for i in self.axis_order]
        out = bytearray()
        total = 1
        for d in self.shape:
            total *= d
        for flat in range(total):
            off, rem = 0, flat
            for d, st in zip(reversed(self.shape), reversed(strides)):
                off += (rem % d) * st
                rem //= d
            out += self.buf[off:off + size]
        return bytes(out)

    def __reduce_ex__(self, protocol):
        f = _funcs()
        flavour = _state['flavour']
        picklebuffer_ok = (protocol >= 5 and self.items is None and self.dtype.itemsize > 0
                           and (self.layout in ('C', 'F')
                                or (self.layout == 'K' and flavour == 'numpy2')))
        if picklebuffer_ok:
            pb = pickle_buffer(self.buf)
            if self.layout == 'K':
                return (f['_frombuffer'],
                        (pb, self.dtype, _fresh_tuple(self.mem_shape), 'K',
                         _fresh_tuple(self.axis_order)))
            return (f['_frombuffer'], (pb, self.dtype, _fresh_tuple(self.shape), self.layout))
        if self.items is not None:
            raw = list(self.items)
        elif self.layout == 'F':
            raw = bytes(self.buf)           # PyArray_ToString(NPY_ANYORDER): F order
        else:
            raw = self._c_order_bytes()
        is_fortran = self.layout == 'F'
        return (f['_reconstruct'], (ndarray, _fresh_tuple((0,)), b'b'),
                (1, _fresh_tuple(self.shape), self.dtype, is_fortran, raw))

    def __repr__(self):
        return 'ndarray(%r, shape=%r, layout=%s)' % (self.dtype, self.shape, self.layout)


export(ndarray, 'numpy.ndarray')


def _fresh_tuple(t):
    """A new tuple object equal to `t` (numpy builds fresh shape tuples)."""
    return tuple(list(t))


def pickle_buffer(buf):
    import pickle
    return pickle.PickleBuffer(buf)


class NumpyScalar:
    """A numpy scalar such as numpy.float64(1.5): pickles as scalar(dtype, bytes)."""

    def __init__(self, dt, raw):
        self.dtype = dt
        self.raw = raw

    def __reduce__(self):
        return (_funcs()['scalar'], (self.dtype, bytes(self.raw)))


def float64(x):
    return NumpyScalar(get_dtype('f8'), struct.pack('<d', x))


def int64(x):
    return NumpyScalar(get_dtype('i8'), struct.pack('<q', x))


def bool_(x):
    return NumpyScalar(get_dtype('b1'), b'\x01' if x else b'\x00')


def array_from_values(spec, values, shape=None):
    """Small helper: an ndarray from Python values (struct-packed)."""
    dt = get_dtype(spec)
    fmt = {'f8': 'd', 'f4': 'f', 'i8': 'q', 'i4': 'i', 'i2': 'h', 'u1': 'B', 'b1': '?',
           'u4': 'I', 'u2': 'H', 'i1': 'b', 'u8': 'Q'}[dt.code]
    bo = '>' if dt.byteorder == '>' else '<'
    buf = bytearray(struct.pack(bo + '%d%s' % (len(values), fmt), *values))
    return ndarray(dt, shape if shape is not None else (len(values),), buf)


for _mod in ('numpy.core', 'numpy._core'):
    ensure_module(_mod)

# --------------------------------------------------------------------------
# fake pipeline classes

_P = 'pipeline.'


def pclass(dotted, bases=(object,), **ns):
    """Create and export a plain class with the dotted name `dotted`."""
    name = dotted.rpartition('.')[2]
    cls = type(name, bases, dict(ns))
    return export(cls, dotted)


def new(cls, **attrs):
    """Instance of `cls` with __dict__ in exactly the given order."""
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


# basetask / pipelineqa --------------------------------------------------------

Results = pclass(_P + 'infrastructure.basetask.Results')
ResultsList = pclass(_P + 'infrastructure.basetask.ResultsList', (Results,))
FailedTaskResults = pclass(_P + 'infrastructure.basetask.FailedTaskResults', (Results,))
ResultsProxy = pclass(_P + 'infrastructure.basetask.ResultsProxy')
Timestamps = collections.namedtuple('Timestamps', ['start', 'end'],
                                    module=_P + 'infrastructure.basetask')
setattr(ensure_module(_P + 'infrastructure.basetask'), 'Timestamps', Timestamps)

QAScore = pclass(_P + 'infrastructure.pipelineqa.QAScore')
QAScorePool = pclass(_P + 'infrastructure.pipelineqa.QAScorePool')
TargetDataSelection = pclass(_P + 'infrastructure.pipelineqa.TargetDataSelection')
QAOrigin = collections.namedtuple('QAOrigin', 'metric_name metric_score metric_units',
                                  module=_P + 'infrastructure.pipelineqa')
setattr(ensure_module(_P + 'infrastructure.pipelineqa'), 'QAOrigin', QAOrigin)
NULL_ORIGIN = QAOrigin(metric_name='Unknown metric', metric_score='N/A', metric_units='')


class WebLogLocation(enum.Enum):
    BANNER = 1
    ACCORDION = 2
    HIDDEN = 3
    UNSET = 4


export(WebLogLocation, _P + 'infrastructure.pipelineqa.WebLogLocation')

# view machinery ------------------------------------------------------------------

FlaggableViewResults = pclass(_P + 'h.tasks.common.flaggableviewresults.FlaggableViewResults')
FlagCmd = pclass(_P + 'h.tasks.common.arrayflaggerbase.FlagCmd')
ImageResult = pclass(_P + 'h.tasks.common.commonresultobjects.ImageResult')
SpectrumResult = pclass(_P + 'h.tasks.common.commonresultobjects.SpectrumResult')
ResultAxis = pclass(_P + 'h.tasks.common.commonresultobjects.ResultAxis')
QaResult = pclass(_P + 'h.tasks.common.commonresultobjects.QaResult')
MatrixFlaggerResults = pclass(_P + 'h.tasks.common.viewflaggers.MatrixFlaggerResults',
                              (Results, FlaggableViewResults))

# per-task result classes -----------------------------------------------------------

RawflagchansResults = pclass(_P + 'hif.tasks.rawflagchans.resultobjects.RawflagchansResults',
                             (Results, FlaggableViewResults))
TsysflagResults = pclass(_P + 'h.tasks.tsysflag.resultobjects.TsysflagResults', (Results,))
TsysflagspectraResults = pclass(_P + 'h.tasks.tsysflag.resultobjects.TsysflagspectraResults',
                                (Results, FlaggableViewResults))
WvrgcalflagResults = pclass(_P + 'hifa.tasks.wvrgcalflag.resultobjects.WvrgcalflagResults',
                            (Results,))
WvrgcalResult = pclass(_P + 'hifa.tasks.wvrgcal.resultobjects.WvrgcalResult', (Results,))
LowgainflagResults = pclass(_P + 'hif.tasks.lowgainflag.resultobjects.LowgainflagResults',
                            (Results, FlaggableViewResults))
BandpassflagResults = pclass(_P + 'hifa.tasks.bandpassflag.resultobjects.BandpassflagResults',
                             (Results, FlaggableViewResults))
GfluxscaleflagResults = pclass(
    _P + 'hifa.tasks.gfluxscaleflag.resultobjects.GfluxscaleflagResults',
    (Results, FlaggableViewResults))
BandpassResults = pclass(_P + 'hif.tasks.bandpass.common.BandpassResults', (Results,))
FlagDeterBaseResults = pclass(_P + 'h.tasks.flagging.flagdeterbase.FlagDeterBaseResults',
                              (Results,))
ALMAImportDataResults = pclass(_P + 'hifa.tasks.importdata.almaimportdata.ALMAImportDataResults',
                               (Results,))
MakeImListResult = pclass(_P + 'hif.tasks.makeimlist.resultobjects.MakeImListResult', (Results,))
MakeImagesResult = pclass(_P + 'hif.tasks.makeimages.resultobjects.MakeImagesResult', (Results,))
TcleanResult = pclass(_P + 'hif.tasks.tclean.resultobjects.TcleanResult', (Results,))
ApplycalResults = pclass(_P + 'h.tasks.applycal.applycal.ApplycalResults', (Results,))
GenericResults = {}   # task name -> class, filled below

ImageParamsHeuristicsALMA = pclass(_P + 'hif.heuristics.imageparams_alma.ImageParamsHeuristicsALMA')

# callibrary: __slots__ classes whose __getstate__ returns a tuple --------------------


class CalFrom:
    __slots__ = ('__caltype', '__calwt', '__gainfield', '__gaintable', '__interp', '__spwmap',
                 '__weakref__')

    def __new__(cls, gaintable=None, gainfield='', interp='linear,linear', spwmap=(),
                caltype='unknown', calwt=True):
        obj = object.__new__(cls)
        obj.__gaintable = gaintable
        obj.__gainfield = gainfield
        obj.__interp = interp
        obj.__spwmap = tuple(spwmap)
        obj.__caltype = caltype
        obj.__calwt = calwt
        return obj

    def __getnewargs__(self):
        return (self.__gaintable, self.__gainfield, self.__interp, self.__spwmap,
                self.__caltype, self.__calwt)

    def __getstate__(self):
        return (self.__caltype, self.__calwt, self.__gainfield, self.__gaintable,
                self.__interp, self.__spwmap)

    def __setstate__(self, state):
        (self.__caltype, self.__calwt, self.__gainfield, self.__gaintable,
         self.__interp, self.__spwmap) = state


class CalTo:
    __slots__ = ('_antenna', '_intent', '_field', '_spw', '_vis')

    def __init__(self, vis, field='', spw='', antenna='', intent=''):
        self._vis = vis
        self._field = field
        self._spw = spw
        self._antenna = antenna
        self._intent = intent

    def __getstate__(self):
        return (self._antenna, self._intent, self._field, self._spw, self._vis)

    def __setstate__(self, state):
        (self._antenna, self._intent, self._field, self._spw, self._vis) = state


export(CalFrom, _P + 'infrastructure.callibrary.CalFrom')
export(CalTo, _P + 'infrastructure.callibrary.CalTo')
CalApplication = pclass(_P + 'infrastructure.callibrary.CalApplication')
CalAppOrigin = collections.namedtuple('CalAppOrigin', 'task inputs',
                                      module=_P + 'infrastructure.callibrary')
setattr(ensure_module(_P + 'infrastructure.callibrary'), 'CalAppOrigin', CalAppOrigin)


def _antenna_dim():
    return []


def _intent_dim():
    return collections.defaultdict(_antenna_dim)


def _field_dim():
    return collections.defaultdict(_intent_dim)


def _spw_dim():
    return collections.defaultdict(_field_dim)


def _ms_dim():
    return collections.defaultdict(_spw_dim)


for _f in (_antenna_dim, _intent_dim, _field_dim, _spw_dim, _ms_dim):
    export(_f, _P + 'infrastructure.callibrary.' + _f.__name__)


class CalState(collections.defaultdict):
    def __init__(self, default_factory=_ms_dim):
        super().__init__(default_factory)


export(CalState, _P + 'infrastructure.callibrary.CalState')
CalLibrary = pclass(_P + 'infrastructure.callibrary.CalLibrary')

# namedtuples: same module-name string object as the other classes of their module
for _nt in (Timestamps, QAOrigin, CalAppOrigin):
    _nt.__module__ = sys.intern(_nt.__module__)

# domain ------------------------------------------------------------------------------


class SpectralWindow:
    """__slots__ + __getstate__ returning a tuple (BUILD state is a tuple)."""
    __slots__ = ('id', 'name', 'type', 'bandwidth', 'ref_frequency', 'mean_frequency',
                 'channels', 'intents', 'baseband', 'sideband', 'receiver', 'freq_lo',
                 'band', 'transitions', 'sdm_num_bin', 'correlation_bits')

    def __getstate__(self):
        return tuple(getattr(self, s) for s in self.__slots__)

    def __setstate__(self, state):
        for s, v in zip(self.__slots__, state):
            setattr(self, s, v)


class Antenna:
    """__slots__ including __dict__: default state is the (dict, slots) pair."""
    __slots__ = ('id', 'name', 'station', 'diameter', '__dict__')


class Field:
    """__slots__ only, no __getstate__: default state is (None, slots dict)."""
    __slots__ = ('id', 'name', 'source_id', 'time', 'intents', 'mdirection')


class Frequency:
    """A class whose __getnewargs_ex__ has keyword arguments (NEWOBJ_EX at
    protocol >= 4; functools.partial + builtins.getattr at protocol 2/3)."""

    def __new__(cls, value=0.0, *, units='Hz'):
        obj = object.__new__(cls)
        obj.value = value
        obj.units = units
        return obj

    def __getnewargs_ex__(self):
        return ((self.value,), {'units': self.units})


export(SpectralWindow, _P + 'domain.spectralwindow.SpectralWindow')
export(Antenna, _P + 'domain.antenna.Antenna')
export(Field, _P + 'domain.field.Field')
export(Frequency, _P + 'domain.measures.Frequency')
MeasurementSet = pclass(_P + 'domain.measurementset.MeasurementSet')
ObservingRun = pclass(_P + 'domain.observingrun.ObservingRun')
PerformanceParameters = pclass(_P + 'infrastructure.project.PerformanceParameters')
ProjectStructure = pclass(_P + 'infrastructure.project.ProjectStructure')
ProjectSummary = pclass(_P + 'infrastructure.project.ProjectSummary')
ImageLibrary = pclass(_P + 'infrastructure.imagelibrary.ImageLibrary')
Context = pclass(_P + 'infrastructure.launcher.Context')

# tasks (pickled as bare globals in Results.task) ---------------------------------------

# task name -> (task class dotted name, result class or dotted name of a generic class)
TASKS = {
    'hifa_importdata': ('hifa.tasks.importdata.almaimportdata.ALMAImportData',
                        ALMAImportDataResults),
    'hifa_flagdata': ('hifa.tasks.flagging.flagdeteralma.FlagDeterALMA', FlagDeterBaseResults),
    'hifa_fluxcalflag': ('hifa.tasks.fluxcalflag.fluxcalflag.FluxcalFlag',
                         'hifa.tasks.fluxcalflag.fluxcalflag.FluxcalFlagResults'),
    'hif_rawflagchans': ('hif.tasks.rawflagchans.rawflagchans.Rawflagchans', RawflagchansResults),
    'hif_refant': ('hif.tasks.refant.referenceantenna.RefAnt',
                   'hif.tasks.refant.referenceantenna.RefAntResults'),
    'h_tsyscal': ('h.tasks.tsyscal.tsyscal.Tsyscal', 'h.tasks.tsyscal.resultobjects.TsyscalResults'),
    'hifa_tsysflag': ('h.tasks.tsysflag.tsysflag.Tsysflag', TsysflagResults),
    'hifa_tsysflagcontamination': (
        'hifa.tasks.tsysflagcontamination.tsysflagcontamination.TsysFlagContamination',
        'hifa.tasks.tsysflagcontamination.tsysflagcontamination.TsysflagContaminationResults'),
    'hifa_antpos': ('hifa.tasks.antpos.almaantpos.ALMAAntpos', 'hif.tasks.antpos.antpos.AntposResults'),
    'hifa_wvrgcalflag': ('hifa.tasks.wvrgcalflag.wvrgcalflag.Wvrgcalflag', WvrgcalflagResults),
    'hif_lowgainflag': ('hif.tasks.lowgainflag.lowgainflag.Lowgainflag', LowgainflagResults),
    'hif_setmodels': ('hif.tasks.setmodel.setmodel.SetModels',
                      'hif.tasks.setmodel.setmodel.SetModelsResults'),
    'hifa_bandpassflag': ('hifa.tasks.bandpassflag.bandpassflag.Bandpassflag', BandpassflagResults),
    'hifa_bandpass': ('hifa.tasks.bandpass.almaphcorbandpass.ALMAPhcorBandpass', BandpassResults),
    'hifa_spwphaseup': ('hifa.tasks.spwphaseup.spwphaseup.SpwPhaseup',
                        'hifa.tasks.spwphaseup.spwphaseup.SpwPhaseupResults'),
    'hifa_gfluxscaleflag': ('hifa.tasks.gfluxscaleflag.gfluxscaleflag.Gfluxscaleflag',
                            GfluxscaleflagResults),
    'hifa_gfluxscale': ('hifa.tasks.fluxscale.gcorfluxscale.GcorFluxscale',
                        'hifa.tasks.fluxscale.gcorfluxscale.GcorFluxscaleResults'),
    'hifa_timegaincal': ('hifa.tasks.gaincal.timegaincal.TimeGaincal',
                         'hif.tasks.gaincal.common.GaincalResults'),
    'hifa_renorm': ('hifa.tasks.renorm.renorm.Renorm', 'hifa.tasks.renorm.renorm.RenormResults'),
    'hifa_targetflag': ('hifa.tasks.targetflag.targetflag.Targetflag',
                        'hifa.tasks.targetflag.targetflag.TargetflagResults'),
    'hif_applycal': ('hifa.tasks.applycal.almaapplycal.ALMAApplycal', ApplycalResults),
    'hif_makeimlist': ('hif.tasks.makeimlist.makeimlist.MakeImList', MakeImListResult),
    'hif_makeimages': ('hif.tasks.makeimages.makeimages.MakeImages', MakeImagesResult),
    'hifa_imageprecheck': ('hifa.tasks.imageprecheck.imageprecheck.ImagePreCheck',
                           'hifa.tasks.imageprecheck.imageprecheck.ImagePreCheckResults'),
    'hif_checkproductsize': ('hif.tasks.checkproductsize.checkproductsize.CheckProductSize',
                             'hif.tasks.checkproductsize.resultobjects.CheckProductSizeResult'),
    'hifa_exportdata': ('hifa.tasks.exportdata.almaexportdata.ALMAExportData',
                        'h.tasks.exportdata.exportdata.ExportDataResults'),
    'hif_mstransform': ('hif.tasks.mstransform.mstransform.Mstransform',
                        'hif.tasks.mstransform.mstransform.MstransformResults'),
    'hifa_flagtargets': ('hifa.tasks.flagging.flagtargetsalma.FlagTargetsALMA',
                         'hifa.tasks.flagging.flagtargetsalma.FlagTargetsALMAResults'),
    'hif_findcont': ('hif.tasks.findcont.findcont.FindCont',
                     'hif.tasks.findcont.resultobjects.FindContResult'),
    'hif_uvcontsub': ('hif.tasks.uvcontsub.uvcontsub.UVcontSub',
                      'hif.tasks.uvcontsub.uvcontsub.UVcontSubResults'),
    'hif_selfcal': ('hif.tasks.selfcal.selfcal.Selfcal', 'hif.tasks.selfcal.selfcal.SelfcalResults'),
}

TASK_CLASSES = {}
RESULT_CLASSES = {}
for _name, (_task, _res) in TASKS.items():
    TASK_CLASSES[_name] = pclass(_P + _task)
    if isinstance(_res, str):
        _res = pclass(_P + _res, (Results,))
    RESULT_CLASSES[_name] = _res
