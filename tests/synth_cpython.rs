//! CPython checks of `picklescope::synth`: the demo loads with the standard library only, is
//! byte-identical to what CPython's C pickler writes for the loaded objects, passes
//! `pickletools.dis`, and is deterministic; numpy arrays match real numpy when one is available.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use picklescope::synth::{
    DType, DemoOptions, EncodeOptions, Fill, Layouts, NdArray, NumpyFlavor, OLDER_STAGES, Value,
    encode, encode_with, write_demo,
};

/// Loader shared by the scripts: stub classes for everything but a few stdlib modules; the
/// stubs record how they were made (NEWOBJ or REDUCE, args, BUILD state, items) and pickle
/// themselves back the same way, so `pickle.dumps(load(x))` is CPython's own encoding of the
/// same object graph.
const LOADER: &str = r#"
import sys, io, json, types, copyreg, pickle, pickletools

# Stdlib modules loaded for real. `logging` is stubbed for the byte comparison: the real
# LogRecord's BUILD interns its attribute names, which would change string identities.
REAL = {'datetime', 'uuid', 'collections', 'builtins', 'decimal', '_codecs', 'copyreg',
        '__builtin__', 'copy_reg'}
STUBS = {}

class Stub:
    def __new__(cls, *a, **k):
        return object.__new__(cls)
    def __init__(self, *a, **k):
        pass
    def __setstate__(self, st):
        self.__dict__['_ps_state'] = st
        if isinstance(st, dict):
            for k, v in st.items():
                self.__dict__.setdefault(k, v)
    def __setitem__(self, k, v):
        self.__dict__.setdefault('_ps_items', []).append((k, v))
    def append(self, v):
        self.__dict__.setdefault('_ps_list', []).append(v)
    def __reduce_ex__(self, proto):
        d = self.__dict__
        kind, args = d.get('_ps_new', ('newobj', ()))
        li = iter(d['_ps_list']) if '_ps_list' in d else None
        di = iter(d['_ps_items']) if '_ps_items' in d else None
        st = d.get('_ps_state')
        if kind == 'newobj':
            return (copyreg.__newobj__, (type(self),) + tuple(args), st, li, di)
        return (type(self), args, st, li, di)

def module(name):
    parts = name.split('.')
    for i in range(1, len(parts) + 1):
        n = '.'.join(parts[:i])
        if n not in sys.modules:
            sys.modules[n] = types.ModuleType(n)
    return sys.modules[name]

def stub(m, n):
    # one module-name object per module, as for the classes of a real module
    m, n = sys.intern(m), sys.intern(n)
    key = (m, n)
    if key not in STUBS:
        cls = type(n, (Stub,), {'__module__': m, '__qualname__': n})
        setattr(module(m), n, cls)
        STUBS[key] = cls
    return STUBS[key]

class Loader(pickle._Unpickler):
    dispatch = dict(pickle._Unpickler.dispatch)
    real = REAL
    def find_class(self, m, n):
        if m.split('.')[0] in self.real:
            return super().find_class(m, n)
        return stub(m, n)
    def load_newobj(self):
        args = self.stack.pop()
        cls = self.stack.pop()
        obj = cls.__new__(cls, *args)
        if isinstance(obj, Stub):
            obj.__dict__['_ps_new'] = ('newobj', args)
        self.append(obj)
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    def load_reduce(self):
        args = self.stack.pop()
        func = self.stack[-1]
        obj = func(*args)
        if isinstance(obj, Stub):
            obj.__dict__['_ps_new'] = ('reduce', args)
        self.stack[-1] = obj
    dispatch[pickle.REDUCE[0]] = load_reduce

    # Identifier-like strings are interned in a Python process (code constants, attribute
    # names): the same text is one object, as the pickler assumes.
    def _interned(self):
        s = self.stack[-1]
        if s.isidentifier():
            self.stack[-1] = sys.intern(s)
    def load_short_binunicode(self):
        pickle._Unpickler.load_short_binunicode(self)
        self._interned()
    dispatch[pickle.SHORT_BINUNICODE[0]] = load_short_binunicode
    def load_binunicode(self):
        pickle._Unpickler.load_binunicode(self)
        self._interned()
    dispatch[pickle.BINUNICODE[0]] = load_binunicode

def load(data, real=REAL):
    u = Loader(io.BytesIO(data))
    u.real = real
    return u.load()

def norm(o, seen=None):
    # A comparable form of an object graph in which sets are sorted (CPython writes a set in
    # hash order, which differs from run to run for str and object elements).
    if seen is None:
        seen = set()
    if isinstance(o, (str, bytes, bytearray, int, float, bool, type(None))):
        return o
    if id(o) in seen:
        return ('seen', type(o).__qualname__)
    seen.add(id(o))
    if isinstance(o, (set, frozenset)):
        return (type(o).__name__, tuple(sorted((norm(x, seen) for x in o), key=repr)))
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, tuple(norm(x, seen) for x in o))
    if isinstance(o, dict):
        return (type(o).__name__, tuple((norm(k, seen), norm(v, seen)) for k, v in o.items()))
    if isinstance(o, Stub):
        d = o.__dict__
        return (type(o).__module__, type(o).__qualname__,
                tuple(norm(d.get(k), seen) for k in ('_ps_new', '_ps_state', '_ps_list', '_ps_items')))
    if isinstance(o, type):
        return ('class', o.__module__, o.__qualname__)
    return ('other', type(o).__qualname__, repr(o))

def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))
"#;

const DEMO_SCRIPT: &str = r#"
root = sys.argv[1]
import os, glob, logging
out = {}
# First with the real logging.LogRecord (the byte comparison below stubs it).
r4real = load(open(os.path.join(root, 'pipeline-demo', 'saved_state', 'result-stage4.pickle'), 'rb').read(),
              REAL | {'logging'})
lr = getattr(r4real, '_ResultsList__results')[0].logrecords
out['logrecord'] = [type(lr[0]) is logging.LogRecord, lr[0].levelname, lr[0].getMessage()[:16]]
files = sorted(glob.glob(os.path.join(root, 'pipeline-demo', 'saved_state', '*.pickle')))
files.append(os.path.join(root, 'pipeline-demo.context'))
out.update({'files': 0, 'identical': [], 'different': [], 'dis_ok': 0})
loaded = {}
for f in files:
    data = open(f, 'rb').read()
    pickletools.dis(data, out=io.StringIO())
    out['dis_ok'] += 1
    obj = load(data)
    out['files'] += 1
    again = pickle.dumps(obj, protocol=5)
    name = os.path.basename(f)
    if again == data:
        out['identical'].append(name)
    else:
        out['different'].append({'file': name, 'at': first_diff(again, data),
                                 'len': [len(data), len(again)],
                                 'same_structure': norm(obj) == norm(load(again))})
    loaded[name] = obj

r4 = loaded['result-stage4.pickle']
items = getattr(r4, '_ResultsList__results')
out['stage4_class'] = type(r4).__module__ + '.' + type(r4).__qualname__
out['stage4_items'] = [type(i).__qualname__ for i in items]
out['stage4_task'] = items[0].pipeline_casa_task
views = 0
shared = True
for it in items:
    v = it.view
    assert type(v).__name__ == 'defaultdict', type(v)
    keys = list(v)
    for k in keys:
        for img in v[k]:
            assert type(img).__qualname__ == 'ImageResult'
            views += 1
    # the correlations of one spw share one axes list
    by_spw = {}
    for k in keys:
        by_spw.setdefault(k.split(' Pol:')[0], []).append(k)
    for spw, ks in by_spw.items():
        axes = [img.axes for k in ks for img in v[k]]
        shared = shared and all(a is axes[0] for a in axes) and len(axes) > 1
    # different spws do not
    firsts = [v[ks[0]][0].axes for ks in by_spw.values()]
    shared = shared and len({id(a) for a in firsts}) == len(firsts)
out['stage4_views'] = views
out['stage4_axes_shared'] = shared
out['stage4_first_key'] = list(items[0].view)[0]
data0 = items[0].view[list(items[0].view)[0]][0].data
out['data_form'] = [type(data0).__module__, type(data0).__qualname__, type(data0._ps_new[1][0]).__name__]

ctx = loaded['pipeline-demo.context']
out['ctx_class'] = type(ctx).__module__ + '.' + type(ctx).__qualname__
out['ctx_name'] = ctx.name
out['ctx_output_dir'] = ctx.output_dir
out['ctx_results'] = len(ctx.results)
out['ctx_cycle'] = all(p._context is ctx for p in ctx.results) and ctx.callibrary._context is ctx
out['ctx_basenames'] = [p._basename for p in ctx.results][:2]
spw = ctx.observing_run.measurement_sets[0].spectral_windows[0]
out['slots_state'] = type(spw._ps_state).__name__
uuids = [str(p.uuid) for p in ctx.results]
out['uuid_match'] = all(str(getattr(loaded['result-stage%d.pickle' % (i + 1)], '_uuid')) == u
                        for i, u in enumerate(uuids))
r7 = loaded['result-stage7.pickle']
comps = getattr(r7, '_ResultsList__results')[0].components
out['stage7_components'] = type(comps).__name__ + ':' + ','.join(comps)
ts = r4.timestamps
out['timestamps'] = [type(ts).__qualname__, str(ts._ps_new[1][0].tzinfo), ts._ps_new[1][1] > ts._ps_new[1][0]]
print(json.dumps(out))
"#;

/// python3, or `None` after [`common::skip`] (a failure under CI) when it is missing or broken.
fn python(test: &str) -> Option<String> {
    (!common::no_python(test)).then(|| "python3".to_string())
}

fn run_script(py: &str, script: &str, args: &[&Path]) -> String {
    let mut child = Command::new(py)
        .arg("-")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{LOADER}\n{script}").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("pipeline-demo/saved_state"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.push(dir.join("pipeline-demo.context"));
    v
}

#[test]
fn demo_loads_in_cpython_and_matches_its_pickler() {
    let Some(py) = python("demo_loads_in_cpython_and_matches_its_pickler") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = write_demo(dir.path(), &DemoOptions::default()).unwrap();
    assert_eq!(summary.files.len(), 49);
    let total: u64 = summary.files.iter().map(|f| f.bytes).sum();
    assert_eq!(total, summary.total_bytes);
    assert!(
        (3_000_000..=6_500_000).contains(&total),
        "default demo is {total} bytes"
    );
    for f in &summary.files {
        assert_eq!(std::fs::metadata(&f.path).unwrap().len(), f.bytes);
    }
    // no temp files left behind
    let names: Vec<String> = std::fs::read_dir(dir.path().join("pipeline-demo/saved_state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("result-stage")),
        "{names:?}"
    );

    let out = run_script(&py, DEMO_SCRIPT, &[dir.path()]);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["files"], 49);
    assert_eq!(j["dis_ok"], 49);
    // Byte-identical to CPython's C pickler for every file, except that CPython writes a set
    // of several str/object items in hash order (the context has such sets): there, the same
    // object graph up to set order.
    let different = j["different"].as_array().unwrap();
    for d in different {
        assert_eq!(d["file"], "pipeline-demo.context", "{d}");
        assert_eq!(d["same_structure"], true, "{d}");
    }
    assert_eq!(
        j["identical"].as_array().unwrap().len() + different.len(),
        49
    );
    assert!(j["identical"].as_array().unwrap().len() >= 48, "{j}");

    assert_eq!(
        j["stage4_class"],
        "pipeline.infrastructure.basetask.ResultsList"
    );
    assert_eq!(
        j["stage4_items"],
        serde_json::json!(["RawflagchansResults", "RawflagchansResults"])
    );
    // 2 MS x 4 spws x 2 correlations x 2 copies
    assert_eq!(j["stage4_views"], 32);
    assert_eq!(j["stage4_axes_shared"], true);
    assert!(
        j["stage4_first_key"]
            .as_str()
            .unwrap()
            .ends_with("Intent:BANDPASS SpW:17 Pol:XX")
    );
    assert!(
        j["stage4_task"]
            .as_str()
            .unwrap()
            .starts_with("hif_rawflagchans(vis=['uid___A002_X")
    );
    assert_eq!(
        j["data_form"],
        serde_json::json!(["numpy.core.numeric", "_frombuffer", "bytearray"])
    );
    assert_eq!(j["ctx_class"], "pipeline.infrastructure.launcher.Context");
    assert_eq!(j["ctx_name"], "pipeline-demo");
    assert_eq!(
        j["ctx_output_dir"],
        "/lustre/naasc/someone/pipeline-demo-run"
    );
    assert_eq!(j["ctx_results"], 48);
    assert_eq!(j["ctx_cycle"], true);
    assert_eq!(
        j["ctx_basenames"],
        serde_json::json!(["result-stage1.pickle", "result-stage2.pickle"])
    );
    assert_eq!(j["slots_state"], "tuple");
    assert_eq!(j["uuid_match"], true);
    assert_eq!(
        j["stage7_components"],
        "OrderedDict:nmedian,derivative,edgechans,fieldshape,birdies,toomany"
    );
    assert_eq!(
        j["timestamps"],
        serde_json::json!(["Timestamps", "UTC", true])
    );
    assert_eq!(
        j["logrecord"],
        serde_json::json!([true, "WARNING", "hif_rawflagchans"])
    );
}

/// The real layouts: both runs load in CPython and pickle back byte for byte (up to set order);
/// views nest in `ImageResult.children`, the 9 view-result classes are there, `CalFrom` has
/// constructor arguments and a tuple state, `SpectralWindow` a 25-field tuple, and a
/// `MeasurementSet` stores `attrgetter('id')` (built, never called).
#[test]
fn real_layouts_load_in_cpython_and_match_its_pickler() {
    let Some(py) = python("real_layouts_load_in_cpython_and_match_its_pickler") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = DemoOptions {
        scale: 0.25,
        layouts: Layouts::Real,
        ..Default::default()
    };
    let s = write_demo(dir.path(), &opts).unwrap();
    assert_eq!(s.files.len(), 49);
    assert_eq!(s.older.len(), OLDER_STAGES as usize + 1);
    let newer = std::fs::metadata(&s.context).unwrap().modified().unwrap();
    for f in &s.older {
        assert!(std::fs::metadata(&f.path).unwrap().modified().unwrap() < newer);
    }
    let out = run_script(&py, REAL_SCRIPT, &[dir.path()]);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(j["files"], 49 + 13, "{j}");
    for d in j["different"].as_array().unwrap() {
        assert!(d["file"].as_str().unwrap().ends_with(".context"), "{d}");
        assert_eq!(d["same_structure"], true, "{d}");
    }
    assert_eq!(j["nested_images"], true, "{j}");
    assert_eq!(
        j["view_classes"],
        serde_json::json!([
            "LowgainflagResults",
            "LowgainflagViewResults",
            "MatrixFlaggerResults",
            "RawflagchansResults",
            "RawflagchansViewResults",
            "TsysflagViewResults",
            "TsysflagspectraResults",
            "VectorFlaggerResults",
            "WvrgcalflagViewResults"
        ])
    );
    assert_eq!(j["calfrom"], serde_json::json!([6, 6]), "{j}");
    assert_eq!(j["spw_fields"], 25);
    assert_eq!(j["attrgetter"], serde_json::json!(["attrgetter", ["id"]]));
    assert_eq!(j["bandpassflag_view"], false);
    assert_eq!(j["older_results"], OLDER_STAGES);
}

const REAL_SCRIPT: &str = r#"
import os, glob
root = sys.argv[1]
out = {'files': 0, 'identical': 0, 'different': []}
loaded = {}
for run in ('pipeline-demo', 'pipeline-older'):
    files = sorted(glob.glob(os.path.join(root, run, 'saved_state', '*.pickle')))
    files.append(os.path.join(root, run + '.context'))
    for f in files:
        data = open(f, 'rb').read()
        obj = load(data)
        out['files'] += 1
        name = run + '/' + os.path.basename(f)
        if pickle.dumps(obj, protocol=5) == data:
            out['identical'] += 1
        else:
            out['different'].append({'file': name,
                                     'same_structure': norm(obj) == norm(load(pickle.dumps(obj, protocol=5)))})
        loaded[name] = obj
# every object reachable, iteratively
classes = set()
nested = False
stack = [(o, False) for o in loaded.values()]
seen = set()
while stack:
    o, in_image = stack.pop()
    if id(o) in seen or isinstance(o, (str, bytes, int, float, type(None))):
        continue
    seen.add(id(o))
    if isinstance(o, Stub):
        name = type(o).__qualname__
        if name == 'ImageResult' and in_image:
            nested = True
        if isinstance(o.__dict__.get('_ps_state'), dict) and 'view' in o.__dict__['_ps_state']:
            classes.add(name)
        child_in = in_image or name == 'ImageResult'
        for k in ('_ps_new', '_ps_state', '_ps_list', '_ps_items'):
            if k in o.__dict__:
                stack.append((o.__dict__[k], child_in))
    elif isinstance(o, dict):
        stack.extend((v, in_image) for v in o.values())
    elif isinstance(o, (list, tuple, set, frozenset)):
        stack.extend((v, in_image) for v in o)
out['nested_images'] = nested
out['view_classes'] = sorted(c for c in classes if c not in ('QaResult', 'WvrgcalResult'))
ctx = loaded['pipeline-demo/pipeline-demo.context']
ms = ctx.observing_run.measurement_sets[0]
cf = ctx.callibrary._active[0].calfrom[0]
out['calfrom'] = [len(cf._ps_new[1]), len(cf._ps_state)]
out['spw_fields'] = len(ms.spectral_windows[0]._ps_state)
ag = ms.data_descriptions._RetrieveByIndexContainer__index_fn
out['attrgetter'] = [type(ag).__qualname__, list(ag._ps_new[1])]
bp = getattr(loaded['pipeline-demo/result-stage13.pickle'], '_ResultsList__results')[0]
out['bandpassflag_view'] = hasattr(bp, 'view') or hasattr(bp.cafresult, 'view')
out['older_results'] = len(loaded['pipeline-older/pipeline-older.context'].results)
print(json.dumps(out))
"#;

#[test]
fn demo_is_deterministic() {
    let opts = DemoOptions {
        scale: 0.3,
        ms: 1,
        seed: 77,
        layouts: Default::default(),
    };
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_demo(a.path(), &opts).unwrap();
    write_demo(b.path(), &opts).unwrap();
    let (fa, fb) = (all_files(a.path()), all_files(b.path()));
    assert_eq!(fa.len(), 49);
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.file_name(), y.file_name());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
    // Writing again over an existing demo replaces the files (same bytes).
    write_demo(a.path(), &opts).unwrap();
    assert_eq!(
        std::fs::read(&fa[0]).unwrap(),
        std::fs::read(&fb[0]).unwrap()
    );
    let c = tempfile::tempdir().unwrap();
    write_demo(c.path(), &DemoOptions { seed: 78, ..opts }).unwrap();
    let ctx = |d: &Path| std::fs::read(d.join("pipeline-demo/saved_state/result-stage4.pickle"));
    assert_ne!(ctx(a.path()).unwrap(), ctx(c.path()).unwrap());
}

const CRAFTED_SCRIPT: &str = r#"
res = []
for f in sys.argv[1:]:
    data = open(f, 'rb').read()
    proto = data[1]
    pickletools.dis(data, out=io.StringIO())
    again = pickle.dumps(load(data), protocol=proto)
    res.append([f.rsplit('/', 1)[-1], again == data, first_diff(again, data), len(data), len(again)])
print(json.dumps(res))
"#;

/// Values that exercise framing, big memo indices, batching edges and every container.
fn crafted() -> Vec<(&'static str, Value)> {
    let shared = Value::shared(Value::List(vec![Value::str("x"), Value::Int(1)]));
    let obj = |i: i64| {
        Value::instance(
            "pkg.mod",
            "Thing",
            [
                ("n", Value::Int(i)),
                ("name", Value::Str(format!("thing{}", i % 7))),
                ("f", Value::Float(i as f64 / 3.0)),
            ],
        )
    };
    let mut v = vec![
        (
            "containers",
            Value::List(vec![
                Value::Tuple(vec![]),
                Value::Tuple(vec![Value::Int(1)]),
                Value::Tuple(vec![Value::Int(1), Value::None, Value::Bool(true)]),
                Value::Tuple((0..5).map(Value::Int).collect()),
                Value::Set(vec![]),
                Value::Set(vec![Value::Int(3)]),
                Value::Set((0..1000).map(Value::Int).collect()),
                Value::Set((0..1001).map(Value::Int).collect()),
                Value::FrozenSet(vec![]),
                Value::FrozenSet(vec![Value::Int(1), Value::Int(2)]),
                Value::Dict(vec![]),
                Value::Dict((0..1000).map(|i| (Value::Int(i), Value::Int(-i))).collect()),
                Value::Dict((0..1001).map(|i| (Value::Int(i), Value::Int(-i))).collect()),
                Value::List((0..2001).map(Value::Int).collect()),
                Value::List(vec![Value::Int(5)]),
                shared.clone(),
                shared,
                Value::Bytes(vec![]),
                Value::Bytes(b"abc\xff".to_vec()),
                Value::ByteArray(b"xyz".to_vec()),
                Value::Int(-1),
                Value::Int(255),
                Value::Int(256),
                Value::Int(65_536),
                Value::Int(i64::MAX),
                Value::Int(i64::MIN),
                Value::long_u128(u128::MAX),
                Value::long_i128(-(1i128 << 100)),
                Value::Float(-0.5),
                Value::str(""),
                Value::str("é ünïcödé ✓"),
                Value::FreshStr("same text".into()),
                Value::FreshStr("same text".into()),
            ]),
        ),
        (
            "objects",
            Value::List((0..700).map(obj).collect()), // > 256 memo entries: LONG_BINGET
        ),
        (
            "framing",
            Value::List(vec![
                Value::List((0..30_000).map(|i| Value::Float(i as f64)).collect()),
                Value::Bytes(vec![7; 70_000]),
                Value::str("y".repeat(65_536)),
                Value::ByteArray(vec![1; 65_535]),
                Value::Int(1),
            ]),
        ),
    ];
    let od = Value::Object(Box::new(picklescope::synth::Object {
        call: picklescope::synth::Call::Reduce,
        callable: Value::global("collections", "OrderedDict"),
        args: vec![],
        list_items: vec![],
        dict_items: (0..1001).map(|i| (Value::Int(i), Value::None)).collect(),
        state: None,
    }));
    let lst = Value::Object(Box::new(picklescope::synth::Object {
        call: picklescope::synth::Call::NewObj,
        callable: Value::global("pkg.mod", "MyList"),
        args: vec![],
        list_items: (0..1001).map(Value::Int).collect(),
        dict_items: vec![],
        state: Some(Value::Tuple(vec![
            Value::None,
            Value::dict([("a", Value::Int(1))]),
        ])),
    }));
    v.push(("reduce", Value::List(vec![od, lst])));
    v
}

#[test]
fn crafted_values_match_cpython_at_every_protocol() {
    let Some(py) = python("crafted_values_match_cpython_at_every_protocol") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (name, v) in crafted() {
        for proto in 2..=5u8 {
            let p = dir.path().join(format!("{name}-p{proto}.pickle"));
            std::fs::write(&p, encode(&v, proto).unwrap()).unwrap();
            paths.push(p);
        }
    }
    let args: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let out = run_script(&py, CRAFTED_SCRIPT, &args);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let rows = j.as_array().unwrap();
    assert_eq!(rows.len(), paths.len());
    for r in rows {
        assert_eq!(r[1], true, "differs from CPython: {r}");
    }
}

const NUMPY_SCRIPT: &str = r#"
import os, numpy as np, warnings
warnings.simplefilter('ignore')
DEMO = sys.argv[1]
res = []
for f in sys.argv[2:]:
    data = open(f, 'rb').read()
    proto = data[1]
    loaded = pickle.loads(data)
    # Arrays as numpy makes them (a loaded array has a private copy of its dtype; a native
    # one has the builtin dtype object, shared with scalars), same identities.
    native = {}
    def nat(a):
        if isinstance(a, np.ndarray):
            if id(a) not in native:
                native[id(a)] = np.frombuffer(a.tobytes(), dtype=a.dtype.str).reshape(a.shape).copy()
            return native[id(a)]
        return a
    obj = [nat(a) for a in loaded]
    again = pickle.dumps(obj, protocol=proto)
    res.append([f.rsplit('/', 1)[-1], again == data, first_diff(again, data), len(data), len(again)])
out = {'arrays': res}
if len(sys.argv) > 1 and os.path.isdir(DEMO):
    # the demo's stage 4 with real numpy (pipeline classes stubbed)
    r4 = load(open(os.path.join(DEMO, 'pipeline-demo', 'saved_state', 'result-stage4.pickle'), 'rb').read(),
              REAL | {'numpy'})
    img = list(getattr(r4, '_ResultsList__results')[0].view.values())[0][0]
    out['stage4'] = [list(img.data.shape), str(img.data.dtype), str(img.flag.dtype),
                     str(img.flag_reason_plane.dtype), float(abs(img.data.mean() - 1.0)) < 0.05,
                     list(img.axes[0].data[:3])]
print(json.dumps(out))
"#;

fn numpy_python() -> Option<(String, u32)> {
    let mut candidates = vec!["python3".to_string()];
    if let Ok(p) = std::env::var("PICKLESCOPE_NUMPY_PYTHON") {
        candidates.insert(0, p);
    }
    for py in candidates {
        let out = Command::new(&py)
            .arg("-c")
            .arg("import numpy; print(numpy.__version__.split('.')[0])")
            .output();
        if let Ok(o) = out
            && o.status.success()
            && let Ok(major) = String::from_utf8_lossy(&o.stdout).trim().parse()
        {
            return Some((py, major));
        }
    }
    None
}

#[test]
fn arrays_match_real_numpy() {
    let Some((py, major)) = numpy_python() else {
        common::skip(
            "arrays_match_real_numpy",
            "no python3 with numpy (pip install numpy, or set PICKLESCOPE_NUMPY_PYTHON)",
        );
        return;
    };
    let flavor = if major >= 2 {
        NumpyFlavor::Numpy2
    } else {
        NumpyFlavor::Numpy1
    };
    let a = |dt, shape: &[u64], seed| {
        Value::array(NdArray::synth(
            dt,
            shape,
            seed,
            Fill::Noise {
                mean: 1.0,
                sigma: 0.5,
            },
        ))
    };
    let shared = Value::shared(a(DType::F8, &[3], 9));
    let v = Value::List(vec![
        a(DType::F8, &[2, 3], 1),
        a(DType::F8, &[4], 2),
        a(DType::I8, &[3], 3),
        Value::array(NdArray::synth(
            DType::Bool,
            &[5, 2],
            4,
            Fill::Sparse { density: 0.3 },
        )),
        a(DType::C16, &[2, 2, 2], 5),
        a(DType::F4, &[1, 2, 3, 4], 6),
        a(DType::I4, &[0], 7),
        a(DType::U1, &[3], 8),
        shared.clone(),
        shared,
        a(DType::F8, &[100, 100], 10), // 80 KB: outside frames
        Value::Scalar(DType::F8, 2.5f64.to_le_bytes().to_vec()),
        a(DType::F8, &[], 11),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for proto in 2..=5u8 {
        let p = dir.path().join(format!("arrays-p{proto}.pickle"));
        let b = encode_with(
            &v,
            &EncodeOptions {
                protocol: proto,
                numpy: flavor,
            },
        )
        .unwrap();
        std::fs::write(&p, b).unwrap();
        paths.push(p);
    }
    let demo = tempfile::tempdir().unwrap();
    let opts = DemoOptions {
        scale: 0.25,
        ms: 1,
        seed: 5,
        layouts: Default::default(),
    };
    write_demo(demo.path(), &opts).unwrap();
    let mut args: Vec<&Path> = vec![demo.path()];
    args.extend(paths.iter().map(|p| p.as_path()));
    let out = run_script(&py, NUMPY_SCRIPT, &args);
    let j: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let arrays = j["arrays"].as_array().unwrap();
    assert_eq!(arrays.len(), 4);
    for r in arrays {
        assert_eq!(r[1], true, "differs from numpy {major}: {r}");
    }
    // nchan = round(90 * 0.25) = 23 channels x 8 * 8 baselines
    assert_eq!(
        j["stage4"],
        serde_json::json!([[23, 64], "float64", "bool", "int64", true, [0.0, 1.0, 2.0]])
    );
}
