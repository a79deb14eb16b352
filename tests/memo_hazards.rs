//! The memo hazards of slimming, one targeted test each: a GET into a cut span (re-emit and
//! memoize at the first surviving use), memo renumbering across the 256 boundary (BINGET <->
//! LONG_BINGET), frames around large payloads, and nested re-emission. Each result is checked
//! with our reader (structure, sharing by NodeId, dense memo keys), against the dry-run size,
//! and against CPython (`tools/canon.py` with `--drop`, `pickle._Unpickler`'s frame checks and
//! `pickletools.dis`).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use picklescope::model::{Label, Model};
use picklescope::pickle::frame::FRAME_TARGET;
use picklescope::pickle::scan::Scanner;
use picklescope::pickle::{Graph, Kind, NodeId, Op};
use picklescope::slim::Rules;

use common::{canon_many, first_diff, model, rules, rules_args, slim_bytes};

/// Python prelude: a fake `pipeline.fake` module with a plain class whose instances pickle
/// their attributes in insertion order.
const PRELUDE: &str = r#"
import pickle, sys, types
mod = types.ModuleType('pipeline.fake')
sys.modules.setdefault('pipeline', types.ModuleType('pipeline'))
sys.modules['pipeline.fake'] = mod
class Holder:
    pass
Holder.__module__ = 'pipeline.fake'
mod.Holder = Holder
def holder(**kw):
    h = Holder()
    for k, v in kw.items():
        setattr(h, k, v)
    return h
"#;

/// Pickles made by `body` (which must define `objs`, a list) at each protocol in `protocols`.
fn pickles(body: &str, protocols: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let ps: Vec<String> = protocols.iter().map(|p| p.to_string()).collect();
    let code = format!(
        "{PRELUDE}\n{body}\nout = [pickle.dumps(o, protocol=p) for p in [{}] for o in objs]\n",
        ps.join(", ")
    );
    let v = common::py_pickles(&code);
    let per = v.len() / protocols.len();
    v.into_iter()
        .enumerate()
        .map(|(k, d)| (protocols[k / per], d))
        .collect()
}

/// The value node of attribute `name` of instance `inst`.
fn attr(m: &Model, inst: NodeId, name: &str) -> Option<NodeId> {
    let g = m.graph();
    m.rows(inst)
        .into_iter()
        .find(|r| {
            matches!(r.label, Label::Attr(_))
                && picklescope::model::label_text(g, m.data(), r.label) == name
        })
        .map(|r| r.value)
}

/// Memo keys as written, in stream order: `(op, key)` for every PUT/GET (MEMOIZE gets the
/// implicit key `len(memo)`, as in CPython's unpickler).
fn memo_ops(data: &[u8]) -> Vec<(Op, u64)> {
    let mut v = Vec::new();
    let mut stored = std::collections::HashSet::new();
    for i in Scanner::new(data, 0) {
        let i = i.expect("scan");
        let key = match i.op {
            Op::MEMOIZE => stored.len() as u64,
            Op::PUT | Op::GET => std::str::from_utf8(i.arg)
                .expect("ascii")
                .parse()
                .expect("key"),
            op if op.is_memo_put() || op.is_memo_get() => i.uint(),
            _ => continue,
        };
        if i.op.is_memo_put() {
            stored.insert(key);
        }
        v.push((i.op, key));
    }
    v
}

/// The writer's memo discipline: every GET names a key stored before it, the one-byte forms
/// are used below 256 and the four-byte forms from 256, and each fetch costs no more than the
/// input's fetches of the same objects would (checked by the size tests).
fn assert_memo_valid(name: &str, data: &[u8]) {
    let mut stored = std::collections::HashSet::new();
    for (op, key) in memo_ops(data) {
        if op.is_memo_put() {
            stored.insert(key);
        } else {
            assert!(
                stored.contains(&key),
                "{name}: GET {key} before it is stored"
            );
        }
        match op {
            Op::BINPUT | Op::BINGET => assert!(key < 256, "{name}: {op:?} {key}"),
            Op::LONG_BINPUT | Op::LONG_BINGET => {
                assert!(key >= 256, "{name}: {op:?} {key} should be the short form")
            }
            _ => {}
        }
    }
}

/// Bytes the memo fetches of a stream take.
fn fetch_bytes(data: &[u8]) -> usize {
    Scanner::new(data, 0)
        .map(|i| i.expect("scan"))
        .filter(|i| i.op.is_memo_get())
        .map(|i| i.len())
        .sum()
}

/// Every FRAME covers whole instructions and ends where the next FRAME or a large payload
/// begins; large payloads (>= 64 KiB) are never inside a frame; runs outside frames are only
/// large payloads or (like CPython) a tail of fewer than 4 bytes.
fn assert_frames_valid(name: &str, data: &[u8]) {
    let proto = if data.first() == Some(&0x80) {
        data[1]
    } else {
        0
    };
    let mut frame_end: Option<usize> = None;
    let mut unframed_run = 0usize;
    let mut frames = 0;
    for i in Scanner::new(data, 0) {
        let i = i.expect("scan");
        if let Some(e) = frame_end {
            assert!(
                i.end <= e,
                "{name}: {:?} at {} crosses the frame end {e}",
                i.op,
                i.pos
            );
            if i.end == e {
                frame_end = None;
            }
            assert_ne!(i.op, Op::FRAME, "{name}: FRAME inside a frame at {}", i.pos);
            assert!(
                !(i.op.is_large_payload() && i.arg.len() >= FRAME_TARGET),
                "{name}: large payload inside a frame at {}",
                i.pos
            );
            continue;
        }
        match i.op {
            Op::FRAME => {
                frames += 1;
                assert!(proto >= 4, "{name}: FRAME in a protocol {proto} pickle");
                let n = i.uint() as usize;
                assert!(n >= 4, "{name}: frame of {n} bytes");
                assert!(i.end + n <= data.len(), "{name}: frame past the end");
                frame_end = Some(i.end + n);
                unframed_run = 0;
            }
            Op::PROTO => {}
            op if op.is_large_payload() && i.arg.len() >= FRAME_TARGET => unframed_run = 0,
            _ if proto >= 4 => {
                unframed_run += i.len();
                assert!(
                    unframed_run < 4,
                    "{name}: {:?} at {} is outside any frame",
                    i.op,
                    i.pos
                );
            }
            _ => {}
        }
    }
    assert!(frame_end.is_none(), "{name}: file ends inside a frame");
    if proto >= 4 && data.len() > 100 {
        assert!(frames > 0, "{name}: protocol {proto} output without frames");
    }
}

/// CPython's checks of a written file: `pickle._Unpickler` (the reference unpickler, which
/// checks frame boundaries) loads it, and `pickletools.dis` (stack and memo discipline)
/// accepts it.
fn cpython_accepts(files: &[PathBuf]) {
    let list: Vec<String> = files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let script = format!(
        "{}\nimport pickletools, io\nclass PyStub(pickle._Unpickler):\n    find_class = StubUnpickler.find_class\nfor f in {list:?}:\n    data = open(f, 'rb').read()\n    StubUnpickler(io.BytesIO(data)).load()\n    PyStub(io.BytesIO(data)).load()\n    pickletools.dis(data, out=io.StringIO())\n",
        common::PY_RENDER
    );
    common::py(&script);
}

/// Slims every pickle with `r`, checks sizes, memo discipline, frames, CPython loading, and
/// `canon(slimmed) == canon(original --drop ...)`. Returns the models of the outputs.
fn slim_and_check(what: &str, inputs: &[(u8, Vec<u8>)], r: &Rules) -> Vec<(u8, Model)> {
    let dir = common::tempdir();
    let mut jobs = Vec::new();
    let mut files = Vec::new();
    let mut outs = Vec::new();
    for (k, (p, data)) in inputs.iter().enumerate() {
        let name = format!("{what} p{p} #{k}");
        let m = model(&name, data.clone());
        let plan = picklescope::slim::Plan::build(&m, r);
        assert!(!plan.is_noop(), "{name}: rules hit nothing");
        let (predicted, out) = slim_bytes(&m, r);
        assert_eq!(predicted, out.len() as u64, "{name}");
        assert_memo_valid(&name, &out);
        let text = |d: &[u8]| {
            memo_ops(d)
                .iter()
                .any(|(o, _)| matches!(o, Op::GET | Op::PUT))
        };
        assert_eq!(
            text(&out),
            text(data),
            "{name}: text memo ops iff the input has them"
        );
        assert_frames_valid(&name, &out);
        let orig = dir.path().join(format!("{k}.orig.pickle"));
        let slim = dir.path().join(format!("{k}.slim.pickle"));
        std::fs::write(&orig, data).expect("write");
        std::fs::write(&slim, &out).expect("write");
        jobs.push((orig, rules_args(dir.path(), r)));
        jobs.push((slim.clone(), Vec::new()));
        files.push(slim);
        outs.push((*p, model(&name, out)));
    }
    cpython_accepts(&files);
    let res = canon_many(&jobs);
    for k in 0..inputs.len() {
        match (&res[2 * k], &res[2 * k + 1]) {
            (Ok(a), Ok(b)) => assert!(
                a == b,
                "{what} p{}: canon differs: {}",
                inputs[k].0,
                first_diff(a, b)
            ),
            (a, b) => panic!("{what}: canon failed: {a:?} {b:?}"),
        }
    }
    outs
}

fn root_attr(m: &Model, name: &str) -> NodeId {
    attr(m, m.graph().root(), name).unwrap_or_else(|| panic!("no attribute {name}"))
}

fn skip(test: &str) -> bool {
    common::no_oracle(test)
}

/// A shared object defined inside a removed attribute and used later is re-emitted at its
/// first surviving use and memoized there, so later uses still share it.
#[test]
fn get_into_a_cut_span_is_re_emitted_and_memoized() {
    if skip("get_into_a_cut_span_is_re_emitted_and_memoized") {
        return;
    }
    let inputs = pickles(
        r#"
shared = [1, 2, 'shared text']
axes = holder(name='chan', data=b'\x00' * 16)
objs = [holder(transient={'a': shared, 'axes': axes}, keep=shared, again=shared,
               more=[axes, axes])]
"#,
        &[0, 1, 2, 3, 4, 5],
    );
    let r = rules(&[("pipeline.fake.Holder", "transient")]);
    for (p, m) in slim_and_check("get-into-cut", &inputs, &r) {
        let g = m.graph();
        assert!(attr(&m, g.root(), "transient").is_none(), "p{p}");
        let keep = root_attr(&m, "keep");
        let again = root_attr(&m, "again");
        assert_eq!(keep, again, "p{p}: still one shared list");
        assert_eq!(g.node(keep).kind, Kind::List);
        assert_eq!(g.children(keep).len(), 3);
        let more = root_attr(&m, "more");
        let items: Vec<_> = g.children(more).iter().map(|e| e.value).collect();
        assert_eq!(items[0], items[1], "p{p}: axes shared");
        // The re-emitted definitions are memoized: GETs yield them later.
        assert!(g.gets.iter().any(|s| s.node == keep), "p{p}");
        assert!(g.gets.iter().any(|s| s.node == items[0]), "p{p}");
    }
}

/// More than 300 memoized strings before and after a cut. Explicit keys (protocols 0-3) are
/// kept as they are, so a definition moved later by re-emission keeps its key and no fetch
/// grows. MEMOIZE keys (4, 5) follow the output: those after the cut shift down across 256
/// (LONG_BINGET becomes BINGET), and definitions that would be re-emitted past the 256th
/// stored object and fetched again are hoisted to the cut instead (stored where they were, then
/// popped), so no fetch grows either. The dry-run predicts every size exactly.
#[test]
fn memo_keys_across_the_256_boundary() {
    if skip("memo_keys_across_the_256_boundary") {
        return;
    }
    let inputs = pickles(
        r#"
early = ['early-%d' % i for i in range(5)]
before = ['before-%d' % i for i in range(200)]
cut = ['cut-%d' % i for i in range(150)]
after = ['after-%d' % i for i in range(320)]
shared = [['shared', i] for i in range(200)]
mid = [['mid', i] for i in range(300)]
objs = [
    # keys of `after` are 350+; without `transient` they are 200+ in MEMOIZE order
    holder(before=before, transient=cut, after=after, refs=before + after),
    # `early[0]` is defined inside the cut at key < 256 and first used after 300 other
    # entries, then fetched three more times
    holder(transient=early, filler=after, first=early[0], second=[early[0]] * 3),
    # 200 lists defined inside the cut (keys < 256), 300 kept lists after them that nobody
    # fetches again, then every list of the cut used twice: 200 definitions re-emitted past
    # the 500th memo entry
    holder(transient=shared, mid=mid, keep=shared + shared),
]
"#,
        &[0, 1, 2, 3, 4, 5],
    );
    let r = rules(&[("pipeline.fake.Holder", "transient")]);
    let outs = slim_and_check("memo-keys", &inputs, &r);
    let count = |v: &[(Op, u64)], ops: &[Op]| v.iter().filter(|(o, _)| ops.contains(o)).count();
    for (k, ((p, m), (_, orig))) in outs.iter().zip(&inputs).enumerate() {
        let ops = memo_ops(m.data());
        let before = memo_ops(orig);
        let g = m.graph();
        let name = format!("p{p} #{k}");
        // Hoisting costs a POP (or MARK ... POP_MARK for a group) at MEMOIZE; the exact
        // figures are checked in `re_emission_past_256_exact_sizes`.
        let forced = if *p >= 4 { 2 } else { 0 };
        assert!(
            m.data().len() <= orig.len() + forced,
            "{name}: {} -> {} bytes",
            orig.len(),
            m.data().len()
        );
        assert!(
            fetch_bytes(m.data()) <= fetch_bytes(orig),
            "{name}: fetches grew {} -> {} bytes",
            fetch_bytes(orig),
            fetch_bytes(m.data())
        );
        if *p >= 1 {
            assert!(
                count(&ops, &[Op::LONG_BINGET]) <= count(&before, &[Op::LONG_BINGET]),
                "{name}: more long GETs"
            );
        }
        match k % 3 {
            0 => {
                if *p >= 4 {
                    // MEMOIZE keys of `after` moved from 350+ to 200+.
                    assert!(count(&ops, &[Op::BINGET]) > 0, "{name}");
                    assert!(
                        count(&ops, &[Op::LONG_BINGET]) < count(&before, &[Op::LONG_BINGET]),
                        "{name}: fewer long GETs after the cut"
                    );
                } else if *p >= 1 {
                    // Explicit keys are kept: the same fetches, byte for byte.
                    assert_eq!(
                        count(&ops, &[Op::LONG_BINGET]),
                        count(&before, &[Op::LONG_BINGET]),
                        "{name}"
                    );
                }
                let refs = root_attr(m, "refs");
                let after = root_attr(m, "after");
                let a: Vec<_> = g.children(after).iter().map(|e| e.value).collect();
                let r: Vec<_> = g.children(refs).iter().map(|e| e.value).collect();
                assert_eq!(&r[200..], &a[..], "{name}: refs share the strings of after");
            }
            1 => {
                if *p >= 1 {
                    assert_eq!(count(&before, &[Op::LONG_BINGET]), 0, "{name}");
                    let long = count(&ops, &[Op::LONG_BINGET]);
                    assert_eq!(long, 0, "{name}: early[0] keeps a short key");
                }
                let first = root_attr(m, "first");
                let second = root_attr(m, "second");
                for e in g.children(second) {
                    assert_eq!(e.value, first, "{name}: early[0] is shared");
                }
            }
            _ => {
                if *p >= 1 {
                    assert_eq!(count(&before, &[Op::LONG_BINGET]), 0, "{name}");
                    let long = count(&ops, &[Op::LONG_BINGET]);
                    assert_eq!(long, 0, "{name}: the 200 lists keep short keys");
                }
                let keep = root_attr(m, "keep");
                let items: Vec<_> = g.children(keep).iter().map(|e| e.value).collect();
                assert_eq!(items.len(), 400, "{name}");
                assert_eq!(&items[..200], &items[200..], "{name}: each list shared");
                let stores = g.puts.len();
                assert!(stores > 500, "{name}: {stores} stores");
                if *p >= 4 {
                    // Hoisted: stored before `mid`, each list still shared.
                    let mid = root_attr(m, "mid");
                    assert!(g.node(items[0]).span.end < g.node(mid).span.start, "{name}");
                }
            }
        }
    }
}

/// Every memo store and fetch of a stream with its place: `(pos, len, op, key, len of the
/// instruction before it)`; MEMOIZE gets the implicit key `len(memo)`.
fn memo_sites(data: &[u8]) -> Vec<(usize, usize, Op, u64, usize)> {
    let keys = memo_ops(data);
    let mut out = Vec::with_capacity(keys.len());
    let mut prev = 0;
    let mut k = 0;
    for i in Scanner::new(data, 0) {
        let i = i.expect("scan");
        if i.op.is_memo_put() || i.op.is_memo_get() {
            out.push((i.pos, i.len(), i.op, keys[k].1, prev));
            k += 1;
        }
        prev = i.len();
    }
    out
}

/// Definitions re-emitted past memo index 256, at protocols 0-5, with the output size checked
/// against the figure worked out from the input's own opcodes. The cut (`transient`) holds
/// strings that code after 320 other stores fetches; each is a string opcode plus its store,
/// so what the drop removes is the cut minus those definitions (and `slim` must say exactly
/// that). Then:
/// - explicit keys (0-3) are kept: each definition is written at its first surviving fetch,
///   in place of that fetch, so the file is `input - removed - those fetches`;
/// - MEMOIZE (4, 5): a definition fetched again later is hoisted to the cut (POP after one,
///   MARK ... POP_MARK around three or more) and keeps its low key; one fetched once is
///   written at that fetch (a long key no one uses costs nothing). So 140 strings fetched
///   twice: `+2`; one fetched once: minus its fetch; one once and one three times: `+1` minus
///   the first's fetch. Keys after a cut that shift below 256 make those fetches 3 bytes
///   shorter (the last pickle, where nothing is re-emitted).
///
/// Every output loads under CPython to the graph of the input minus the attribute.
#[test]
fn re_emission_past_256_exact_sizes() {
    if skip("re_emission_past_256_exact_sizes") {
        return;
    }
    let inputs = pickles(
        r#"
pre = ['pre-%d' % i for i in range(100)]
strs = ['s-%03d' % i for i in range(140)]
filler = ['filler-%d' % i for i in range(320)]
cut = ['cut-%d' % i for i in range(150)]
s, t = 'once-only', 'three-times'
objs = [
    holder(pre=pre, transient=strs, filler=filler, keep=[x for x in strs for _ in (0, 1)]),
    holder(pre=pre, transient=[s], filler=filler, one=s),
    holder(pre=pre, transient=[s, t], filler=filler, one=s, three=[t, t, t]),
    holder(before=pre, transient=cut, after=filler, refs=pre + filler),
]
"#,
        &[0, 1, 2, 3, 4, 5],
    );
    let r = rules(&[("pipeline.fake.Holder", "transient")]);
    let mut expected = Vec::new();
    for (k, (p, data)) in inputs.iter().enumerate() {
        let name = format!("p{p} #{k}");
        let m = model(&name, data.clone());
        let cut = m
            .rows(m.graph().root())
            .into_iter()
            .find(|r| {
                r.is_attr()
                    && picklescope::model::label_text(m.graph(), data, r.label) == "transient"
            })
            .expect("transient")
            .span;
        let inside = |pos: usize| cut.contains(pos as u64);
        let sites = memo_sites(data);
        // Stores inside the cut: key -> bytes of the string and its store.
        let stored: HashMap<u64, usize> = sites
            .iter()
            .filter(|s| s.2.is_memo_put() && inside(s.0))
            .map(|s| (s.3, s.1 + s.4))
            .collect();
        // Keys defined in the cut and fetched after it: fetches (first one's bytes, count).
        let mut needed: Vec<(u64, usize, usize)> = Vec::new();
        for f in sites.iter().filter(|s| s.2.is_memo_get() && !inside(s.0)) {
            if !stored.contains_key(&f.3) {
                continue;
            }
            match needed.iter_mut().find(|n| n.0 == f.3) {
                Some(n) => n.2 += 1,
                None => needed.push((f.3, f.1, 1)),
            }
        }
        let removed = cut.len() as usize - needed.iter().map(|n| stored[&n.0]).sum::<usize>();
        let first: usize = needed.iter().map(|n| n.1).sum();
        let after = if *p < 4 {
            data.len() - removed - first
        } else {
            // Keys past the cut move down by the stores it loses.
            let lost: Vec<u64> = stored
                .keys()
                .copied()
                .filter(|key| !needed.iter().any(|n| n.0 == *key))
                .collect();
            let shorter = sites
                .iter()
                .filter(|s| s.2.is_memo_get() && !inside(s.0) && s.3 >= 256)
                .filter(|s| s.3 - (lost.iter().filter(|&&l| l < s.3).count() as u64) < 256)
                .count();
            let once: usize = needed.iter().filter(|n| n.2 == 1).map(|n| n.1).sum();
            let hoisted = needed.iter().filter(|n| n.2 > 1).count();
            let overhead = match hoisted {
                0..=2 => hoisted,
                _ => 2,
            };
            data.len() - removed - once + overhead - 3 * shorter
        };
        let ws = picklescope::slim::what_if(&m, &r).expect("what-if");
        assert_eq!(
            ws.removed.total() as usize,
            removed,
            "{name}: removed as slim reports it"
        );
        assert_eq!(
            ws.after as usize,
            after,
            "{name}: {} -> {}",
            data.len(),
            ws.after
        );
        assert_eq!(
            ws.bookkeeping,
            data.len() as i64 - after as i64 - removed as i64,
            "{name}"
        );
        expected.push((name, needed.len(), after));
    }
    let outs = slim_and_check("past-256", &inputs, &r);
    for ((p, m), (name, needed, after)) in outs.iter().zip(&expected) {
        assert_eq!(m.data().len(), *after, "{name}: written");
        let k = name
            .rsplit('#')
            .next()
            .and_then(|x| x.parse::<usize>().ok())
            .unwrap_or(0)
            % 4;
        assert_eq!(
            *needed,
            [140, 1, 2, 0][k],
            "{name}: definitions fetched after the cut"
        );
        if *p >= 1 && k < 3 {
            let long = memo_ops(m.data())
                .iter()
                .filter(|(o, _)| *o == Op::LONG_BINGET)
                .count();
            assert_eq!(long, 0, "{name}: no long fetch");
        }
    }
}

/// Protocol 4/5 output around payloads of 64 KiB and more: frames are recomputed (lengths
/// right, large payloads outside frames), also when the cut removes a large payload, and the
/// file loads in `pickle._Unpickler`, which checks frame boundaries.
#[test]
fn frames_around_large_payloads() {
    if skip("frames_around_large_payloads") {
        return;
    }
    let inputs = pickles(
        r#"
big = bytes(range(256)) * 400            # 100 KiB
objs = [
    holder(small=list(range(5000)), transient=[big, bytearray(big[:70000])], keep=big[:65536],
           tail={'k%d' % i: float(i) for i in range(6000)}),
    holder(transient=big, keep=[b'x' * 65535, b'y' * 65536, 'z' * 70000], after=list(range(20000))),
    # a large payload defined inside the cut and used later: re-emitted outside any frame
    holder(small=list(range(3000)), transient={'big': big}, keep=[big, big], tail=list(range(9000))),
]
"#,
        &[4, 5],
    );
    let r = rules(&[("pipeline.fake.Holder", "transient")]);
    let outs = slim_and_check("frames", &inputs, &r);
    for (p, m) in outs {
        // Several frames, and the big payloads kept are written outside them.
        let frames = Scanner::new(m.data(), 0)
            .filter(|i| i.as_ref().is_ok_and(|i| i.op == Op::FRAME))
            .count();
        assert!(frames >= 2, "p{p}: {frames} frames");
    }
    // A cut that does not touch any large payload still re-frames the rest correctly.
    let r = rules(&[("pipeline.fake.Holder", "small")]);
    let one = vec![inputs[0].clone()];
    slim_and_check("frames-small-cut", &one, &r);
}

/// A re-emitted definition that itself references another cut definition (re-emitted
/// inside it, recursively), and one that contains a removed attribute of its own.
#[test]
fn nested_re_emission() {
    if skip("nested_re_emission") {
        return;
    }
    let inputs = pickles(
        r#"
x = holder(name='x', payload=[1, 2, 3])
y = [x, 'y-text', {'x': x}]
z = holder(name='z', partner=None, ys=[y])
a = holder(name='a')
b = holder(name='b', partner=a)
a.partner = b                            # object cycle through a removed attribute
objs = [
    holder(t1={'inner': x}, t2={'y': y}, t3=z, keep=y, keep_x=x, keep_z=[z, z]),
    holder(pair=[a], keep=b),            # b is defined inside a.partner
]
"#,
        &[0, 2, 4, 5],
    );
    let r = rules(&[
        ("pipeline.fake.Holder", "t1"),
        ("pipeline.fake.Holder", "t2"),
        ("pipeline.fake.Holder", "t3"),
        ("pipeline.fake.Holder", "partner"),
    ]);
    for (p, m) in slim_and_check("nested", &inputs, &r) {
        let g = m.graph();
        let groups = common::group_set(&m);
        assert!(
            !groups.contains_key(&("pipeline.fake.Holder".into(), "partner".into())),
            "p{p}: a re-emitted holder kept its removed attribute"
        );
        if attr(&m, g.root(), "keep_x").is_some() {
            let y = root_attr(&m, "keep");
            let x = root_attr(&m, "keep_x");
            let items: Vec<_> = g.children(y).iter().map(|e| e.value).collect();
            assert_eq!(items[0], x, "p{p}: x re-emitted inside y and shared");
            let zs = root_attr(&m, "keep_z");
            let z: Vec<_> = g.children(zs).iter().map(|e| e.value).collect();
            assert_eq!(z[0], z[1]);
            let ys = attr(&m, z[0], "ys").expect("z.ys");
            assert_eq!(g.children(ys)[0].value, y, "p{p}: z.ys[0] is y");
        } else {
            let pair = root_attr(&m, "pair");
            let b = root_attr(&m, "keep");
            let a = g.children(pair)[0].value;
            assert_ne!(a, b);
            assert!(attr(&m, a, "partner").is_none());
            assert!(attr(&m, b, "partner").is_none());
            assert_eq!(
                attr(&m, b, "name")
                    .and_then(|n| picklescope::pickle::value::str_value(g, m.data(), n))
                    .as_deref(),
                Some("b")
            );
        }
    }
}

/// Hoisting with nesting and cycles: the definitions of `nested_re_emission`, fetched again
/// after 300 other memo entries, are written at their cuts at protocols 4 and 5 (MARK ...
/// POP_MARK or POP; no fetch takes the long form), each without the attributes cut inside it
/// (`z.partner`, `b.partner`), and CPython reads every output as the input minus the
/// attributes, sharing and the `a <-> b` cycle included.
#[test]
fn hoisting_nested_definitions_and_cycles() {
    if skip("hoisting_nested_definitions_and_cycles") {
        return;
    }
    let inputs = pickles(
        r#"
x = holder(name='x', payload=[1, 2, 3])
y = [x, 'y-text', {'x': x}]
z = holder(name='z', partner=None, ys=[y])
a = holder(name='a')
b = holder(name='b', partner=a)
a.partner = b
filler = ['filler-%d' % i for i in range(300)]
objs = [
    holder(t1={'inner': x}, t2={'y': y}, t3=z, filler=filler, keep=[y, y], keep_x=[x, x, x],
           keep_z=[z, z]),
    holder(pair=[a], filler=filler, keep=[b, b, b]),
]
"#,
        &[0, 2, 4, 5],
    );
    let r = rules(&[
        ("pipeline.fake.Holder", "t1"),
        ("pipeline.fake.Holder", "t2"),
        ("pipeline.fake.Holder", "t3"),
        ("pipeline.fake.Holder", "partner"),
    ]);
    let outs = slim_and_check("hoist-nested", &inputs, &r);
    for (k, ((p, m), (_, orig))) in outs.iter().zip(&inputs).enumerate() {
        let name = format!("p{p} #{k}");
        let g = m.graph();
        let ops = |d: &[u8], which: &[Op]| {
            Scanner::new(d, 0)
                .filter(|i| i.as_ref().is_ok_and(|i| which.contains(&i.op)))
                .count()
        };
        let groups = common::group_set(m);
        assert!(
            !groups.contains_key(&("pipeline.fake.Holder".into(), "partner".into())),
            "{name}: a hoisted holder kept its removed attribute"
        );
        if *p >= 4 {
            assert_eq!(ops(m.data(), &[Op::LONG_BINGET]), 0, "{name}: a long fetch");
            assert!(
                ops(m.data(), &[Op::POP, Op::POP_MARK]) > ops(orig, &[Op::POP, Op::POP_MARK]),
                "{name}: nothing hoisted"
            );
        }
        if k % 2 == 0 {
            let ys = root_attr(m, "keep");
            let y: Vec<_> = g.children(ys).iter().map(|e| e.value).collect();
            assert_eq!(y[0], y[1], "{name}: y shared");
            let xs = root_attr(m, "keep_x");
            let x: Vec<_> = g.children(xs).iter().map(|e| e.value).collect();
            assert_eq!(g.children(y[0])[0].value, x[0], "{name}: y[0] is x");
            let zs = root_attr(m, "keep_z");
            let z: Vec<_> = g.children(zs).iter().map(|e| e.value).collect();
            assert_eq!(z[0], z[1], "{name}");
            let zy = attr(m, z[0], "ys").expect("z.ys");
            assert_eq!(g.children(zy)[0].value, y[0], "{name}: z.ys[0] is y");
        } else {
            let pair = root_attr(m, "pair");
            let a = g.children(pair)[0].value;
            let bs = root_attr(m, "keep");
            let b: Vec<_> = g.children(bs).iter().map(|e| e.value).collect();
            assert!(b[0] == b[1] && b[1] == b[2], "{name}: b shared");
            assert_ne!(a, b[0]);
            assert!(attr(m, b[0], "name").is_some(), "{name}");
        }
    }
}

/// The dry-run (counting writer) and the retained sizes agree on what a cut frees when
/// nothing inside it is referenced from outside.
#[test]
fn retained_equals_exact_saving_without_sharing() {
    if common::no_python("retained_equals_exact_saving_without_sharing") {
        return;
    }
    let inputs = pickles(
        "objs = [holder(keep=[1, 2], transient=[bytes(1000), 'text', {'k': 1.5}])]",
        &[2, 5],
    );
    for (p, data) in inputs {
        let m = model("retained", data);
        let r = rules(&[("pipeline.fake.Holder", "transient")]);
        let ws = picklescope::slim::what_if(&m, &r).expect("what-if");
        let g: &Graph = m.graph();
        let grp = m
            .groups()
            .groups
            .iter()
            .find(|x| x.attr == "transient")
            .expect("group");
        let saved = ws.before - ws.after;
        // Explicit memo keys (protocol 2) are kept; at 5 MEMOIZE has no key, and frames may
        // shift by a header.
        let slack = if p >= 4 { 9 } else { 0 };
        assert!(
            grp.retained.abs_diff(saved) <= slack,
            "p{p}: retained {} vs saved {saved} ({} nodes)",
            grp.retained,
            g.nodes.len()
        );
    }
}

#[test]
fn memo_ops_helper_counts_memoize_like_cpython() {
    let d = b"\x80\x04]\x94]q\x05]\x94h\x06.";
    let ops = memo_ops(d);
    let keys: HashMap<usize, u64> = ops.iter().map(|x| x.1).enumerate().collect();
    assert_eq!(keys[&0], 0);
    assert_eq!(keys[&1], 5);
    assert_eq!(keys[&2], 2);
}
