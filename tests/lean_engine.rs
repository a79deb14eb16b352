//! The lean machine against the full one: on every committed fixture, the demo context,
//! generated object-heavy and context pickles, random object graphs at protocols 0–5 and the
//! shared real-world corpus, a report read from the lean graph equals the one read from the
//! full graph — root class, class.attr groups (instances, bytes, retained, pass-through), the
//! largest attributes with their paths and retained sizes, classes that cannot be slimmed,
//! named globals, stage and task.

mod common;

use std::cell::Cell;
use std::path::Path;

use picklescope::context::stage_info;
use picklescope::model::fixed::not_removable;
use picklescope::model::globals::named_globals;
use picklescope::model::{Doc, Model};
use picklescope::report::top_attrs;

/// Everything a report reads from one model, as text to compare.
fn summary(m: &Model) -> String {
    let g = m.graph();
    let groups = m.groups();
    let mut out = format!(
        "protocol {:?} pickles {} root {:?} approximate {}\n",
        g.pickles.first().map(|p| p.protocol),
        g.pickles.len(),
        m.class_of(g.root()).or_else(|| g
            .get(g.root())
            .map(|n| format!("{:?}", n.kind).chars().take(5).collect())),
        groups.approximate
    );
    out += &format!(
        "objects {} stores {} instructions {}\n",
        g.object_count(),
        g.memo_store_count(),
        g.op_count
    );
    for i in groups.by_size() {
        let x = &groups.groups[i];
        out += &format!(
            "group {}.{} n={} bytes={} retained={} pass={}\n",
            x.class, x.attr, x.instances, x.bytes, x.retained, x.pass_through
        );
    }
    for t in top_attrs(m, 200) {
        out += &format!("top {t:?}\n");
    }
    for n in not_removable(m) {
        out += &format!("fixed {n:?}\n");
    }
    for (k, n) in named_globals(m) {
        out += &format!("global {k:?} {n:?}\n");
    }
    out += &format!("stage {:?}\n", stage_info(m));
    out += &format!(
        "nested {:?}\n",
        picklescope::model::nested::in_attributes(m, 200)
    );
    out
}

/// Every node the lean graph gives edges has the edges' spans the full graph gives the node
/// of the same span (what the explorer sizes a container's children by).
fn same_edges(name: &str, full: &Model, lean: &Model) {
    let (f, l) = (full.graph(), lean.graph());
    let mut by_span = std::collections::HashMap::new();
    for id in 0..f.nodes.len() as u32 {
        if !f.children(id).is_empty() {
            let s = f.node(id).span;
            by_span.insert((s.start, s.end), id);
        }
    }
    for id in 0..l.nodes.len() as u32 {
        let kids = l.children(id);
        if kids.is_empty() {
            continue;
        }
        let s = l.node(id).span;
        let full_id = by_span
            .get(&(s.start, s.end))
            .unwrap_or_else(|| panic!("{name}: no full node with children at {s:?}"));
        let want: Vec<_> = f.children(*full_id).iter().map(|e| e.span).collect();
        let got: Vec<_> = kids.iter().map(|e| e.span).collect();
        assert!(want == got, "{name}: the children of the node at {s:?}");
    }
}

/// Compares the two engines on one file's bytes; true when the lean machine took it (it
/// hands odd files to the full one).
fn same(name: &str, bytes: Vec<u8>) -> bool {
    same_and_splits(name, bytes).is_some()
}

/// [`same`], with the splits [`same_split`] joined and the instructions they replayed when
/// the lean machine took the file.
fn same_and_splits(name: &str, bytes: Vec<u8>) -> Option<(usize, usize)> {
    let full = match Doc::from_bytes(name, bytes.clone()) {
        Ok(d) => Model::new(d),
        Err(_) => {
            assert!(
                Doc::from_bytes_lean(name, bytes).is_err(),
                "{name}: lean accepts what the full parse refuses"
            );
            return None;
        }
    };
    let lean = Model::new(Doc::from_bytes_lean(name, bytes.clone()).expect("lean parse"));
    let took = lean.graph().lean.is_some();
    // The main pass alone (the keys guessed, walked only on a miss) and after the walk: the
    // same graph.
    {
        use picklescope::pickle::lean::{Keys, parse_lean_with};
        let walked = parse_lean_with(&bytes, Keys::Walk).map(|g| format!("{g:?}"));
        let guessed = parse_lean_with(&bytes, Keys::Guess).map(|g| format!("{g:?}"));
        assert!(
            walked == guessed,
            "{name}: the guessed pass gives another graph"
        );
    }
    let want = summary(&full);
    assert_eq!(want, summary(&lean), "{name}");
    same_edges(name, &full, &lean);
    // The same file read in windows (small ones: sliding, reading back, large payloads
    // stepped over), its bytes afterwards only those the graph's nodes read.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.pickle");
    std::fs::write(&path, &bytes).unwrap();
    for window in [600, 1 << 20] {
        if let Some(doc) = Doc::open_windowed(&path, 0, window).expect("windowed read") {
            assert_eq!(
                want,
                summary(&Model::new(doc)),
                "{name}: windows of {window}"
            );
        } else {
            assert!(!took, "{name}: windows of {window}: lean bails");
        }
    }
    if !took {
        return None;
    }
    assert!(
        lean.graph().nodes.len() <= full.graph().nodes.len(),
        "{name}: the lean graph is larger"
    );
    Some(same_split(name, &path))
}

thread_local! {
    /// Splits made and joined by [`same_split`] across a test (each test runs on its own
    /// thread), and the instructions replayed.
    static SPLITS: Cell<usize> = const { Cell::new(0) };
    static EVENTS: Cell<usize> = const { Cell::new(0) };
    /// Bytes the second parts of those splits parsed.
    static SECOND: Cell<usize> = const { Cell::new(0) };
    /// Of those splits, the ones whose second part handed over halfway stopped there.
    static HANDED: Cell<usize> = const { Cell::new(0) };
    /// Of the parses [`same_split`] made with the keys guessed, those the guess held for
    /// (no walk), and those it did not.
    static HELD: Cell<usize> = const { Cell::new(0) };
    static MISSED: Cell<usize> = const { Cell::new(0) };
}

/// Adds `n` to a counter of this thread's test.
fn add(counter: &'static std::thread::LocalKey<Cell<usize>>, n: usize) {
    counter.with(|c| c.set(c.get() + n));
}

/// The offsets of the FRAME opcodes of a framed file, following the chain of frame headers.
fn frames(bytes: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = 2;
    if bytes.first() != Some(&0x80) {
        return out;
    }
    while bytes.get(pos) == Some(&0x95) {
        out.push(pos);
        let Some(h) = bytes.get(pos + 1..pos + 9) else {
            break;
        };
        let n = u64::from_le_bytes(h.try_into().unwrap()) as usize;
        pos += 9 + n;
    }
    out
}

/// The main pass split over two cores at FRAME boundaries (up to a dozen of them, spread
/// over the file) builds the very graph the pass on one core builds; the splits joined and
/// the instructions they replayed.
fn same_split(name: &str, path: &Path) -> (usize, usize) {
    use picklescope::pickle::lean::{Handover, Keys, parse_lean_file_split, parse_lean_file_with};
    let bytes = std::fs::read(path).unwrap();
    let at = frames(&bytes);
    let (mut joined, mut events) = (0, 0);
    if at.len() < 2 {
        return (joined, events);
    }
    let file = std::fs::File::open(path).unwrap();
    let len = bytes.len() as u64;
    let step = at.len().div_ceil(12);
    for window in [600, 1 << 20] {
        let one = parse_lean_file_split(&file, len, window, Some(usize::MAX), Keys::Walk);
        let Some((one, _)) = one else {
            return (joined, events);
        };
        let want = format!("{one:?}");
        for (&split, keys) in at
            .iter()
            .step_by(step)
            .chain(at.last())
            .flat_map(|s| [(s, Keys::Walk), (s, Keys::Guess)])
        {
            let (two, how) = parse_lean_file_split(&file, len, window, Some(split), keys)
                .unwrap_or_else(|| panic!("{name}: split at {split}, {keys:?}: bails"));
            assert!(
                want == format!("{two:?}"),
                "{name}: windows of {window}, split at {split}, {keys:?}: another graph ({how:?})"
            );
            assert!(how.walked || keys == Keys::Guess, "{name}: not walked");
            if keys == Keys::Guess {
                add(if how.walked { &MISSED } else { &HELD }, 1);
            }
            // The second part handed over halfway through what it ran alone.
            if how.joined {
                let at = Handover::At(split + (how.second_to - split) / 2);
                let (three, half) = parse_lean_file_with(&file, len, window, Some(split), at, keys)
                    .unwrap_or_else(|| panic!("{name}: split at {split}, {at:?} bails"));
                assert!(
                    want == format!("{three:?}"),
                    "{name}: windows of {window}, split at {split}, {at:?}, {keys:?}: another graph ({half:?})"
                );
                add(&HANDED, usize::from(half.second_to < how.second_to));
            }
            if how.joined {
                joined += 1;
                events += how.events;
                add(&SPLITS, 1);
                add(&EVENTS, how.events);
                add(&SECOND, how.second_to - how.second_from);
            }
        }
    }
    (joined, events)
}

#[test]
fn lean_equals_full_on_the_committed_fixtures_and_the_demo() {
    let mut files = Vec::new();
    files.extend(common::files_under(
        &common::root().join("tests").join("fixtures"),
    ));
    let demo = tempfile::tempdir().unwrap();
    picklescope::synth::write_demo(demo.path(), &picklescope::synth::DemoOptions::default())
        .unwrap();
    files.extend(common::files_under(demo.path()));
    let (mut n, mut took) = (0, 0);
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        n += 1;
        took += usize::from(same(&f.display().to_string(), bytes));
    }
    eprintln!("{took} of {n} files parsed lean");
    assert!(n > 50 && took > 40, "{took} of {n}");
}

#[test]
fn lean_equals_full_on_generated_object_heavy_and_context_pickles() {
    let test = "lean_equals_full_on_generated_object_heavy_and_context_pickles";
    if common::no_python(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gen_ = common::root().join("tools").join("gen_fixtures.py");
    let oh = dir.path().join("objheavy.pickle");
    let inst = dir.path().join("instances.pickle");
    let ctx = dir.path().join("ctx");
    for args in [
        vec![
            "objheavy".into(),
            oh.display().to_string(),
            "--mb".into(),
            "2".into(),
        ],
        vec![
            "instances".into(),
            inst.display().to_string(),
            "--mb".into(),
            "1".into(),
        ],
        vec![
            "context".into(),
            ctx.display().to_string(),
            "--scale".into(),
            "0.01".into(),
            "--ms".into(),
            "2".into(),
        ],
    ] {
        let o = std::process::Command::new("python3")
            .arg(&gen_)
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(
        same("objheavy", std::fs::read(&oh).unwrap()),
        "objheavy went full"
    );
    // Its splits were taken over by the first part's machine, with instructions replayed.
    let (splits, events, second, handed) = (SPLITS.get(), EVENTS.get(), SECOND.get(), HANDED.get());
    let (held, missed) = (HELD.get(), MISSED.get());
    eprintln!(
        "objheavy: {splits} splits joined, {events} instructions replayed, {second} B parsed apart, {handed} handed over halfway; the keys guessed: {held} held, {missed} walked after a miss"
    );
    // Its GETs read what the machine's own path stored (globals, class and module names,
    // the first instances' attribute names): split at the middle frame, as a report splits
    // it, the main pass needs no walk. (Split at its last frame, the tail's attribute names
    // are stored by the second part, which keeps no entries: that guess misses.)
    assert!(held > 0, "{held} held, {missed} missed");
    {
        use picklescope::pickle::lean::{Keys, parse_lean_file_split};
        let bytes = std::fs::read(&oh).unwrap();
        let len = bytes.len() as u64;
        let mid = frames(&bytes)
            .into_iter()
            .min_by_key(|&f| f.abs_diff(bytes.len() / 2));
        let file = std::fs::File::open(&oh).unwrap();
        let (_, how) = parse_lean_file_split(&file, len, 1 << 20, mid, Keys::Guess).unwrap();
        assert!(how.joined && !how.walked, "objheavy at the middle: {how:?}");
    }
    assert!(
        splits >= 12 && events >= splits && second >= 8 << 20 && handed * 2 >= splits,
        "{splits} splits, {events} events, {second} B, {handed} handed over"
    );
    // Instances whose dicts fetch their keys from the memo (BINGET taken by the quick path,
    // fetched scalars put into containers).
    assert!(
        same("instances", std::fs::read(&inst).unwrap()),
        "instances went full"
    );
    // Its dicts' keys are stored inside batches and read again: every guess misses.
    assert_eq!(HELD.get(), held, "instances: a guess held");
    assert!(MISSED.get() > 0, "instances: no guess missed");
    let mut files = Vec::new();
    files.extend(common::files_under(&ctx));
    let (mut n, mut took) = (0, 0);
    for f in &files {
        n += 1;
        took += usize::from(same(&f.display().to_string(), std::fs::read(f).unwrap()));
    }
    eprintln!("{took} of {n} context files parsed lean");
    assert!(n >= 49 && took >= 45, "{took} of {n}");
}

/// A split inside containers that span it: the second part's APPENDS/SETITEMS onto them are
/// run by the first part's machine, onto a state dict, onto a list that an instance at its
/// end pins later (it then needs every item it holds) and onto a list and a dict that forgot
/// their items: at every frame, the graph is the one-core pass's.
#[test]
fn a_split_inside_containers_that_span_it_is_the_one_core_parse() {
    // Added in batches of 1,000, across frames: a state dict of 3,000 attributes and a list
    // of 3,500 strings ending in an instance (below the 4,096 items a container keeps), then
    // a list of 30,000 ints and a dict of 20,000 pairs (both past it).
    let Some(dir) = common::py_dir(
        "a_split_inside_containers_that_span_it_is_the_one_core_parse",
        "import os, pickle\n\
         class Holder:\n    pass\n\
         h = Holder()\n\
         h.__dict__.update({'attribute_number_%05d' % i: i for i in range(3000)})\n\
         pinned = ['string_number_%016d' % i for i in range(3500)] + [Holder()]\n\
         data = [h, pinned, list(range(30000)), {'key_%06d' % i: i for i in range(20000)}]\n\
         pickle.dump(data, open(os.path.join(d, 'spans.pickle'), 'wb'), protocol=4)\n",
    ) else {
        return;
    };
    let bytes = std::fs::read(dir.path().join("spans.pickle")).unwrap();
    let frames = frames(&bytes).len();
    assert!(frames >= 6, "{frames} frames");
    // `same` splits at every frame here (up to a dozen), in both window sizes.
    let (joined, events) = same_and_splits("spans", bytes).expect("spans went full");
    eprintln!("{frames} frames: {joined} splits joined, {events} instructions replayed");
    assert!(
        joined >= frames && events > joined,
        "{joined} joined, {events} events"
    );
}

/// A guessed pass that misses late (a string stored inside a batch of a large list of
/// dicts, read again only at the very end): the walk goes on from the GET alone, the keys
/// before it those the pass read, and the graph is the walked one at every frame, in
/// memory and read in windows.
#[test]
fn a_guess_that_misses_at_the_end_walks_only_the_rest() {
    use picklescope::pickle::lean::{Keys, parse_lean_file_split, parse_lean_with};
    let Some(dir) = common::py_dir(
        "a_guess_that_misses_at_the_end_walks_only_the_rest",
        "import os, pickle\n\
         class Holder:\n    pass\n\
         h = Holder()\n\
         h.rows = [{'name%d' % i: i * 0.5, 'flag%d' % i: i} for i in range(20000)]\n\
         h.again = next(iter(h.rows[15000]))\n\
         pickle.dump(h, open(os.path.join(d, 'late.pickle'), 'wb'), protocol=4)\n",
    ) else {
        return;
    };
    let path = dir.path().join("late.pickle");
    let bytes = std::fs::read(&path).unwrap();
    let walked = parse_lean_with(&bytes, Keys::Walk).expect("walked");
    let guessed = parse_lean_with(&bytes, Keys::Guess).expect("guessed");
    assert!(format!("{walked:?}") == format!("{guessed:?}"), "in memory");
    // The last GET: the one that misses.
    let get = bytes.len() - 1 - bytes.iter().rev().position(|&b| b == b'j').unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let len = bytes.len() as u64;
    let want = format!("{walked:?}");
    let at = frames(&bytes);
    assert!(at.len() >= 6, "{} frames", at.len());
    let mut joined = 0;
    for split in at.iter().copied().chain([usize::MAX]) {
        for window in [600, 1 << 20] {
            let (g, how) = parse_lean_file_split(&file, len, window, Some(split), Keys::Guess)
                .unwrap_or_else(|| panic!("split at {split}: bails"));
            assert!(want == format!("{g:?}"), "split at {split}: another graph");
            assert!(
                how.walked && how.walked_from == get,
                "split at {split}: {how:?}"
            );
            joined += usize::from(how.joined);
        }
    }
    // The walked pass split where the guessed one did, with its memo count.
    assert!(joined >= at.len(), "{joined} joined");
}

/// The pickles of [`batches_of_scalars_and_filled_containers_are_the_full_parse`] (`s` makes
/// a new string object each time, so that CPython memoizes each one rather than fetching it;
/// strings of one character are shared by CPython whatever makes them).
const BATCHES_PY: &str = r#"
import os, pickle
class C:
    pass
def s(x):
    return ''.join(list(x))
shared = s('shared')
shared2 = s('shared2')
inner = {s('aa'): 1, s('bb'): 2.5}
c = C()
c.summary = {s('%d:%d' % (i, j)): {s('flagged'): i * 0.5, s('total'): j}
             for i in range(20) for j in range(300)}
c.rows = [[i, i * 2.5, None, True, s('ab')] for i in range(3000)]
cases = {
    'nested': {s('k%d' % i): {s('aa'): i, s('bb'): 2.5, s('cc'): s('x' * (2 + i % 9))}
               for i in range(12000)},
    'listed': [{s('aa'): i, s('bb'): [1, 2, s('zz')]} for i in range(8000)],
    'empty': [[{}, [], {s('kk'): []}] for i in range(2000)],
    # Stored in a batch, fetched two batches later: inside a filled dict, then as an item.
    'shared_string': [{s('kk'): shared if i in (0, 2500) else s('uu'), s('vv'): i}
                      for i in range(3000)],
    'shared_item': {s('k%d' % i): shared2 if i in (0, 2500) else i for i in range(3000)},
    'shared_inner': [[s('pp'), inner], {s('xx'): inner}] * 400,
    'instance_among': [{s('aa'): 1, s('bb'): C() if i % 97 == 0 else 2} for i in range(4000)],
    'non_ascii': [{s('n\u00e9v'): i, s('bb'): s('\u00fc\u00fc')} for i in range(3000)],
    'state': c,
    'past_the_kept': {i: {s('vv'): i, s('ww'): -i} for i in range(9000)},
    # Batches kept undecided, then an instance in a later batch needs every item made.
    'pinned_late': [{s('aa'): i, s('bb'): 2.5} for i in range(2500)] + [s('tail'), C()],
    'pinned_late_dict': dict([(s('k%d' % i), {s('vv'): i}) for i in range(2500)]
                             + [(s('last'), C())]),
}
for name, obj in cases.items():
    for proto in (2, 4, 5):
        with open(os.path.join(d, '%s-%d.pickle' % (name, proto)), 'wb') as f:
            pickle.dump([obj], f, protocol=proto)
# At the root: a list or dict of more than 4,096 containers forgets its items.
for name in ('nested', 'listed', 'past_the_kept'):
    with open(os.path.join(d, 'root_%s-4.pickle' % name), 'wb') as f:
        pickle.dump(cases[name], f, protocol=4)
"#;

/// Batches the lean machine takes whole (scalars, and dicts and lists filled in place with
/// scalars, each maybe memoized) and the ones it gives back halfway to its own path: a string
/// or an inner dict fetched again, an instance or a non-ASCII string among the items, a
/// frame inside the batch, a state dict (a container with a node), a dict past the items a
/// container keeps, containers whose kept items an instance in a later batch needs, roots
/// that forgot their items. At protocols 2, 4 and 5, whole, in windows and split at every frame,
/// each equals the full machine's graph.
#[test]
fn batches_of_scalars_and_filled_containers_are_the_full_parse() {
    let test = "batches_of_scalars_and_filled_containers_are_the_full_parse";
    let Some(dir) = common::py_dir(test, BATCHES_PY) else {
        return;
    };
    let mut files = common::files_under(dir.path());
    files.sort();
    assert_eq!(files.len(), 39, "{files:?}");
    for f in &files {
        let name = f.display().to_string();
        let lean = same(&name, std::fs::read(f).unwrap());
        assert!(lean, "{name} went full");
    }
}

/// `n` random object graphs per protocol (tests/support/random_graphs.py, seeded), each
/// pickled at protocols 0-5: `(graph, protocol, bytes)`.
fn random_graphs(seed: u64, n: usize) -> Vec<(usize, u8, Vec<u8>)> {
    let script = format!(
        "{}\nexec(open({:?}).read())\nimport json\nsys.stdout.write(json.dumps([[i, p, d.hex()] for i, p, d, r in graphs({seed}, {n})]))\n",
        common::PY_RENDER,
        common::root()
            .join("tests/support/random_graphs.py")
            .to_string_lossy()
    );
    let o = common::py_run(&script, &[], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows: Vec<(usize, u8, String)> = serde_json::from_slice(&o.stdout).unwrap();
    rows.into_iter()
        .map(|(i, p, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|k| u8::from_str_radix(&hex[k..k + 2], 16).unwrap())
                .collect();
            (i, p, bytes)
        })
        .collect()
}

#[test]
fn lean_equals_full_on_random_graphs() {
    let test = "lean_equals_full_on_random_graphs";
    if common::no_python(test) {
        return;
    }
    let rows = random_graphs(20261204, 120);
    let (mut n, mut took) = (0, 0);
    for (i, p, bytes) in rows {
        n += 1;
        took += usize::from(same(&format!("graph {i} protocol {p}"), bytes));
    }
    eprintln!("{took} of {n} random graphs parsed lean");
    assert!(n > 500 && took * 2 > n, "{took} of {n}");
}

/// The pickle in `bytes` (protocol 4 or 5) with its frames taken out and put back every
/// `every` bytes or so, at instruction boundaries.
fn reframed(bytes: &[u8], every: usize) -> Vec<u8> {
    use picklescope::pickle::ops::Op;
    use picklescope::pickle::scan::read_instr;
    let mut out = bytes[..2].to_vec();
    let mut body = Vec::new();
    let flush = |out: &mut Vec<u8>, body: &mut Vec<u8>| {
        out.push(Op::FRAME as u8);
        out.extend((body.len() as u64).to_le_bytes());
        out.append(body);
    };
    let mut pos = 2;
    while pos < bytes.len() {
        let i = read_instr(bytes, pos).unwrap();
        if i.op != Op::FRAME {
            body.extend_from_slice(&bytes[pos..i.end]);
        }
        pos = i.end;
        if body.len() >= every || i.op == Op::STOP {
            flush(&mut out, &mut body);
        }
        if i.op == Op::STOP {
            break;
        }
    }
    out
}

/// The random graphs of protocol 4 or 5 from `seed`, each reframed every 48 bytes or so and
/// written under `dir`: index, protocol, bytes and the file opened.
fn framed_random_graphs(
    seed: u64,
    n: usize,
    dir: &Path,
) -> Vec<(usize, u8, Vec<u8>, std::fs::File)> {
    let mut out = Vec::new();
    for (i, p, bytes) in random_graphs(seed, n).into_iter().filter(|r| r.1 >= 4) {
        let framed = reframed(&bytes, 48);
        let path = dir.join(format!("g{i}-{p}.pickle"));
        std::fs::write(&path, &framed).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        out.push((i, p, framed, file));
    }
    out
}

#[test]
fn a_split_parse_equals_the_one_core_parse_at_every_frame_of_random_graphs() {
    use picklescope::pickle::lean::{Keys, parse_lean_file_split};
    let test = "a_split_parse_equals_the_one_core_parse_at_every_frame_of_random_graphs";
    if common::no_python(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut graphs, mut splits, mut joined, mut events, mut apart) = (0, 0, 0, 0, 0);
    let (mut held, mut missed, mut rest) = (0, 0, 0);
    for (i, p, framed, file) in framed_random_graphs(20261205, 200, dir.path()) {
        let len = framed.len() as u64;
        let one = parse_lean_file_split(&file, len, 600, Some(usize::MAX), Keys::Walk);
        let Some((one, _)) = one else {
            continue;
        };
        graphs += 1;
        let want = format!("{one:?}");
        let splits_at = frames(&framed);
        for (split, keys) in splits_at
            .iter()
            .flat_map(|&s| [(s, Keys::Walk), (s, Keys::Guess)])
        {
            let (two, how) = parse_lean_file_split(&file, len, 600, Some(split), keys)
                .unwrap_or_else(|| panic!("graph {i} protocol {p}: split at {split} bails"));
            assert!(
                want == format!("{two:?}"),
                "graph {i} protocol {p}: split at {split}, {keys:?}: another graph ({how:?})"
            );
            if keys == Keys::Guess {
                if how.walked {
                    missed += 1;
                    rest += usize::from(how.walked_from > 0);
                } else {
                    held += 1;
                }
                continue;
            }
            splits += 1;
            if how.joined {
                joined += 1;
                events += how.events;
                apart += how.second_to - how.second_from;
            }
        }
    }
    eprintln!(
        "{graphs} graphs, {splits} splits: {joined} joined, {events} instructions replayed, {apart} B parsed apart; the keys guessed: {held} held, {missed} walked after a miss ({rest} from the miss on)"
    );
    assert!(
        graphs > 300 && joined * 2 > splits && events > 300 && apart > 10_000,
        "{graphs} graphs, {joined} of {splits} joined, {events} events, {apart} B"
    );
    // Both ways a guessed pass ends, many times.
    assert!(
        held > 100 && missed > 100 && rest > 10 && rest < missed,
        "the guess held {held} times, missed {missed} ({rest} walked from the miss on)"
    );
}

#[test]
fn a_split_whose_second_part_is_handed_over_anywhere_is_the_one_core_parse() {
    use picklescope::pickle::lean::{Handover, Keys, parse_lean_file_split, parse_lean_file_with};
    let test = "a_split_whose_second_part_is_handed_over_anywhere_is_the_one_core_parse";
    if common::no_python(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut splits, mut handed, mut apart) = (0, 0, 0);
    for (i, p, framed, file) in framed_random_graphs(20261206, 60, dir.path()) {
        let len = framed.len() as u64;
        let one = parse_lean_file_split(&file, len, 600, Some(usize::MAX), Keys::Walk);
        let Some((one, _)) = one else {
            continue;
        };
        let want = format!("{one:?}");
        for split in frames(&framed) {
            let whole = parse_lean_file_split(&file, len, 600, Some(split), Keys::Guess);
            let Some((_, whole)) = whole else {
                panic!("graph {i} protocol {p}: split at {split} bails");
            };
            for d in [0, 1, 90, 250, 700] {
                let at = Handover::At(split + d);
                let (two, how) =
                    parse_lean_file_with(&file, len, 600, Some(split), at, Keys::Guess)
                        .unwrap_or_else(|| panic!("graph {i} protocol {p}: {at:?} bails"));
                assert!(
                    want == format!("{two:?}"),
                    "graph {i} protocol {p}: split at {split}, {at:?}: another graph ({how:?})"
                );
                splits += 1;
                // Stopped before where the second part stops when left to run.
                if how.joined && whole.joined && how.second_to < whole.second_to {
                    handed += 1;
                    apart += how.second_to - how.second_from;
                }
            }
        }
    }
    eprintln!("{splits} splits: {handed} handed over early, {apart} B parsed apart before");
    assert!(
        splits > 1000 && handed * 8 > splits && apart > 100,
        "{splits} splits, {handed} handed over early, {apart} B"
    );
}

#[test]
fn lean_equals_full_on_the_real_world_corpus() {
    let test = "lean_equals_full_on_the_real_world_corpus";
    let Some(corpus) = common::realworld_corpus(test) else {
        return;
    };
    let mut files = Vec::new();
    files.extend(common::files_under(&corpus));
    let (mut n, mut took) = (0, 0);
    for f in files {
        // Compressed and zip files are read through the product's own opening.
        let Ok(raw) = picklescope::model::RawFile::open(&f) else {
            continue;
        };
        let bytes = raw.data().to_vec();
        n += 1;
        took += usize::from(same(&f.display().to_string(), bytes));
    }
    eprintln!("{took} of {n} corpus files parsed lean");
    assert!(n > 50, "{n}");
}

/// A batch of numbers whose APPENDS would reach the list below two marks (a broken pickle:
/// CPython's unpickler stops there) is not stepped over by the lean machine's batch loop: the
/// lean parse gives the file to the full machine, which words the error, whether the list
/// forgot its items (more than 4,096) or not.
#[test]
fn a_batch_onto_a_list_below_two_marks_goes_to_the_full_machine() {
    use picklescope::pickle::Op;
    use picklescope::pickle::lean::parse_lean;
    for before in [10, 5000] {
        // [outer, MARK, inner: `before` numbers, MARK, MARK, 1, 2, APPENDS, POP_MARK], the
        // inner list put into the outer one (so it is decided, and the root is whole).
        let mut data = vec![Op::PROTO as u8, 4, Op::EMPTY_LIST as u8, Op::MARK as u8];
        data.extend([Op::EMPTY_LIST as u8, Op::MARK as u8]);
        for _ in 0..before {
            data.extend([Op::BININT1 as u8, 7]);
        }
        data.extend([Op::APPENDS as u8, Op::MARK as u8, Op::MARK as u8]);
        data.extend([
            Op::BININT1 as u8,
            1,
            Op::BININT1 as u8,
            2,
            Op::APPENDS as u8,
        ]);
        data.extend([Op::POP_MARK as u8, Op::APPENDS as u8, Op::STOP as u8]);
        let py = std::process::Command::new("python3")
            .args([
                "-c",
                "import pickle, sys; pickle.loads(sys.stdin.buffer.read())",
            ])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut py) = py {
            use std::io::Write;
            py.stdin.take().unwrap().write_all(&data).unwrap();
            assert!(!py.wait().unwrap().success(), "{before}: CPython takes it");
        }
        assert!(
            picklescope::pickle::parse(&data).is_err(),
            "{before}: the full machine takes it"
        );
        assert!(
            parse_lean(&data).is_none(),
            "{before}: the lean parse takes it"
        );
    }
}
