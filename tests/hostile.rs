//! Hostile inputs: each one gives a clear error or a correct result, in bounded memory and
//! bounded work, without overflowing the stack. Memory and work are measured per test thread by
//! a counting allocator (peak heap bytes; bytes and calls allocated in all, which grow with any
//! per-object copying), and for the binary by its peak resident set; no test reads a clock
//! (the time these inputs take is measured by `cargo bench --bench hostile`).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use common::{bin, render, tempdir};
use picklescope::model::{Doc, Model, merge_spans, retained};
use picklescope::pickle::value::scalar_preview;
use picklescope::pickle::{ErrorKind, Kind, NodeId, PickleError, Span, parse};
use picklescope::slim::{Counter, Plan, Rules, rewrite};

// ---- a per-thread peak-memory meter -------------------------------------------------------

struct Meter;

thread_local! {
    static CUR: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn track(delta: isize) {
    if delta > 0 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + delta as usize));
        let _ = CALLS.try_with(|c| c.set(c.get() + 1));
    }
    let _ = CUR.try_with(|c| {
        let v = c.get() + delta;
        c.set(v);
        let _ = PEAK.try_with(|p| {
            if v > p.get() {
                p.set(v)
            }
        });
    });
}

// SAFETY: forwards every call to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            track(l.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            track(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) };
        track(-(l.size() as isize));
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            track(new as isize - l.size() as isize);
        }
        q
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// Runs `f` and returns its result with the peak heap bytes this thread allocated meanwhile.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (r, w) = work_of(f);
    (r, w.peak)
}

/// What `f` cost this thread on the heap.
#[derive(Debug, Clone, Copy)]
struct Work {
    /// Peak heap bytes above the start.
    peak: usize,
    /// Bytes allocated in all (growing a buffer counts the growth).
    allocated: usize,
    /// Allocation calls (alloc and growing realloc).
    calls: usize,
}

/// Runs `f` and returns its result with the heap work it did on this thread.
fn work_of<R>(f: impl FnOnce() -> R) -> (R, Work) {
    let base = CUR.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let (a0, c0) = (ALLOCATED.with(Cell::get), CALLS.with(Cell::get));
    let r = f();
    let peak = PEAK.with(Cell::get) - base;
    let w = Work {
        peak: peak.max(0) as usize,
        allocated: ALLOCATED.with(Cell::get) - a0,
        calls: CALLS.with(Cell::get) - c0,
    };
    (r, w)
}

/// Runs the binary with `args` and returns its output and peak resident set in KiB (from
/// `wait4`, for this child alone).
#[allow(clippy::zombie_processes)] // reaped by the wait4 below, which std cannot do
fn run_measured(args: &[&std::ffi::OsStr]) -> (std::process::Output, u64) {
    use std::io::Read;
    let mut child = bin()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn picklescope");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let mut stderr = Vec::new();
    let _ = err_pipe.read_to_end(&mut stderr);
    let stdout = reader.join().expect("stdout reader");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child's pid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for the child we spawned (not reaped yet: `child` is never waited on).
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let status = std::os::unix::process::ExitStatusExt::from_raw(status);
    (
        std::process::Output {
            status,
            stdout,
            stderr,
        },
        usage.ru_maxrss.max(0) as u64,
    )
}

const MIB: usize = 1 << 20;

// ---- stream builders (shared with benches/hostile.rs, which times these inputs) -------------

#[path = "support/hostile_streams.rs"]
mod streams;

use streams::{
    binbytes8, binunicode, cat, classes_with_view, megabyte_names, nested_distinct_classes, rep,
    shared_memo_chain, tuple_memo_chain,
};

fn err_of(data: &[u8]) -> PickleError {
    match parse(data) {
        Ok(_) => panic!("expected an error for {:?}", &data[..data.len().min(40)]),
        Err(e) => e,
    }
}

fn model(data: Vec<u8>) -> Model {
    Model::new(Doc::from_bytes("hostile.pickle", data).unwrap_or_else(|e| panic!("{e}")))
}

/// Everything the explorer, `report` and `slim` do with a file, on `data`: returns the model's
/// node count.
fn exercise(data: &[u8], rules: &Rules) -> usize {
    let m = model(data.to_vec());
    let g = m.graph();
    let n = g.nodes.len();
    let groups = m.groups();
    let _ = groups.by_size();
    let _ = m.parents();
    // The deepest node is the last one created before the outermost: walk paths of a few.
    for id in [0, n / 2, n.saturating_sub(1)] {
        let id = id as NodeId;
        let _ = m.path(id);
        let _ = m.rows(id);
        let _ = m.class_of(id);
        let _ = scalar_preview(g, m.data(), id, 40);
    }
    for id in 0..n as NodeId {
        let _ = m.rows(id);
    }
    let all = merge_spans(g.nodes.iter().map(|x| x.span).collect());
    let total: u64 = all.iter().map(Span::len).sum();
    assert!(retained(g, &m.refs, &all) <= total);
    let _ = picklescope::report::top_attrs(&m, 10);
    let _ = picklescope::model::globals::alarming(&m);
    let _ = picklescope::context::stage_info(&m);
    let mut same = Vec::new();
    rewrite(m.data(), g, &[], &mut same).expect("identity rewrite");
    assert!(
        same == data,
        "a rewrite without cuts must give the input back"
    );
    let plan = Plan::build(&m, rules);
    let mut c = Counter::default();
    let predicted = rewrite(m.data(), g, &plan.cuts, &mut c).expect("dry-run");
    let mut out = Vec::new();
    let written = rewrite(m.data(), g, &plan.cuts, &mut out).expect("write");
    assert_eq!(predicted, written);
    assert_eq!(out.len() as u64, written);
    parse(&out).expect("the slimmed output parses");
    n
}

fn no_rules() -> Rules {
    Rules::default()
}

fn rules(pairs: &[(&str, &str)]) -> Rules {
    common::rules(pairs)
}

/// Checks memory and work of `exercise` on a deep stream: at most `per_byte` heap bytes per
/// input byte at the peak and in all, counting reserved capacity (the arena is sized from an opcode count up front,
/// one record per object; nothing is kept per level of a call stack). These streams are all
/// one- and two-byte opcodes, the worst case; real pickles are dominated by payloads, which
/// cost nothing (they stay in the memory map).
fn deep_ok(data: &[u8], nodes: usize, per_byte: usize) {
    let (n, w) = work_of(|| exercise(data, &no_rules()));
    assert_eq!(n, nodes);
    eprintln!(
        "{} bytes, {n} nodes: peak heap {:.1} MiB ({:.0} bytes per input byte), {:.1} MiB in \
         {} allocations in all",
        data.len(),
        w.peak as f64 / MIB as f64,
        w.peak as f64 / data.len() as f64,
        w.allocated as f64 / MIB as f64,
        w.calls
    );
    assert!(
        w.peak <= per_byte * data.len() + 64 * MIB,
        "peak heap {} for {} input bytes",
        w.peak,
        data.len()
    );
    assert!(
        w.allocated <= WORK_PER_BYTE * data.len() + 64 * MIB,
        "{} heap bytes allocated in all for {} input bytes",
        w.allocated,
        data.len()
    );
    // About 4 per node here (rows, paths and previews of every node).
    assert!(
        w.calls <= 8 * n + 100_000,
        "{} allocations for {n} nodes",
        w.calls
    );
}

const DEEP: usize = 1_000_000;

// ---- nesting a million levels deep ----------------------------------------------------------

#[test]
fn a_million_nested_lists_by_append() {
    // [[[[...]]]]: push a million empty lists, then APPEND each into the one below.
    let d = cat(&[b"\x80\x02", &rep(b"]", DEEP), &rep(b"a", DEEP - 1), b"."]);
    deep_ok(&d, DEEP, 400);
    let g = parse(&d).expect("parse").0;
    // The root holds the chain: every list but the innermost has exactly one child.
    let mut cur = g.root();
    let mut depth = 1;
    while let Some(e) = g.children(cur).first() {
        cur = e.value;
        depth += 1;
    }
    assert_eq!(depth, DEEP);
}

#[test]
fn a_million_nested_lists_by_marks() {
    // ((((...(l l l ... l: each LIST pops a mark and wraps the list above it.
    let d = cat(&[b"(", &rep(b"(", DEEP - 1), &rep(b"l", DEEP), b"."]);
    deep_ok(&d, DEEP, 400);
}

#[test]
fn a_million_nested_tuples() {
    // ((((None,),),),) with TUPLE1, and the same with MARK ... TUPLE.
    let d = cat(&[b"\x80\x02N", &rep(b"\x85", DEEP), b"."]);
    deep_ok(&d, DEEP + 1, 400);
    let d = cat(&[&rep(b"(", DEEP), b"N", &rep(b"t", DEEP), b"."]);
    deep_ok(&d, DEEP + 1, 400);
    // Rendering the whole chain (our own iterative renderer) terminates too.
    let g = parse(&d).expect("parse").0;
    let r = render(&g, &d, g.root(), false);
    assert!(r.starts_with("((((") && r.ends_with(",),)"));
}

#[test]
fn a_million_nested_dicts() {
    // {0: {0: {0: ...}}} with SETITEM, and with MARK ... DICT.
    let d = cat(&[
        b"\x80\x02}",
        &rep(b"K\x00}", DEEP - 1),
        &rep(b"s", DEEP - 1),
        b".",
    ]);
    deep_ok(&d, 2 * DEEP - 1, 400);
    let d = cat(&[&rep(b"(K\x00", DEEP - 1), b"(d", &rep(b"d", DEEP - 1), b"."]);
    deep_ok(&d, 2 * DEEP - 1, 400);
}

#[test]
fn a_million_open_marks() {
    // A million MARKs left open (STOP takes the item above the innermost one, as CPython does),
    // and a million MARKs closed again by POP_MARK.
    let d = cat(&[&rep(b"(", DEEP), b"N."]);
    deep_ok(&d, 1, 256);
    let d = cat(&[b"N", &rep(b"(", DEEP), &rep(b"1", DEEP), b"."]);
    deep_ok(&d, 1, 256);
    // A mark with nothing above it cannot be the result.
    let e = err_of(&cat(&[b"N", &rep(b"(", DEEP), b"."]));
    assert_eq!(e.kind, ErrorKind::StackUnderflow("STOP"));
}

/// `__main__.C` instances nested `depth` deep through attribute `a`, each with a small `v`:
/// returns the stream and the spans of every `v` entry.
fn nested_instances(depth: usize) -> (Vec<u8>, Vec<Span>) {
    let mut d = b"\x80\x02c__main__\nC\nq\x00".to_vec();
    let mut v_spans = Vec::with_capacity(depth);
    for _ in 0..depth {
        // h0 ) NEWOBJ } MARK 'v' b'xx' 'a' <inner> SETITEMS BUILD
        d.extend_from_slice(b"h\x00)\x81}(");
        let s = d.len();
        d.extend_from_slice(&binunicode("v"));
        d.extend_from_slice(b"C\x02xx");
        v_spans.push(Span::new(s, d.len()));
        d.extend_from_slice(&binunicode("a"));
    }
    d.push(b'N');
    d.extend(rep(b"ub", depth));
    d.push(b'.');
    (d, v_spans)
}

#[test]
fn deeply_nested_instances_are_slimmed_exactly() {
    let depth = 300_000;
    let (d, v_spans) = nested_instances(depth);
    let r = rules(&[("__main__.C", "v")]);
    let (_, peak) = peak_of(|| exercise(&d, &r));
    eprintln!(
        "nested instances: {} bytes, peak heap {:.1} MiB",
        d.len(),
        peak as f64 / MIB as f64
    );
    assert!(peak <= 400 * d.len() + 64 * MIB);
    // Without memo effects in the cut spans, the output is the input minus exactly those spans.
    let m = model(d.clone());
    let plan = Plan::build(&m, &r);
    assert_eq!(plan.cuts, v_spans);
    let mut out = Vec::new();
    rewrite(m.data(), m.graph(), &plan.cuts, &mut out).expect("write");
    let mut expect = Vec::with_capacity(d.len());
    let mut at = 0;
    for s in &v_spans {
        expect.extend_from_slice(&d[at..s.start as usize]);
        at = s.end as usize;
    }
    expect.extend_from_slice(&d[at..]);
    assert!(out == expect, "output is not the input minus the cut spans");
    let groups = m.groups();
    let v = groups
        .groups
        .iter()
        .find(|g| g.attr == "v")
        .expect("C.v group");
    assert_eq!(v.instances, depth as u64);
    assert_eq!(v.bytes, v.retained);
}

#[test]
fn deep_files_through_the_command_line() {
    let dir = tempdir();
    let f = dir.path().join("deep.pickle");
    let (d, _) = nested_instances(200_000);
    std::fs::write(&f, &d).expect("write");
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "[[transient]]\nclass = \"*.C\"\nattrs = [\"v\"]\n").expect("rules");
    let (o, report_kib) = run_measured(&["report".as_ref(), "--json".as_ref(), f.as_os_str()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (o, slim_kib) = run_measured(&[
        "slim".as_ref(),
        f.as_os_str(),
        "--rules".as_ref(),
        rules.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::metadata(&f).expect("meta").len(),
        (d.len() - 200_000 * 10) as u64
    );
    // Memory, not time: the peak resident set stays within the in-process heap bound
    // (`deeply_nested_instances_are_slimmed_exactly`: 400 bytes per input byte + 64 MiB).
    eprintln!(
        "{} byte file: peak RSS report {report_kib} KiB, slim {slim_kib} KiB",
        d.len()
    );
    let bound = (400 * d.len() as u64 + 64 * MIB as u64) / 1024;
    assert!(
        report_kib > 0 && report_kib <= bound,
        "report: {report_kib} KiB"
    );
    assert!(slim_kib > 0 && slim_kib <= bound, "slim: {slim_kib} KiB");
}

// ---- length prefixes of 2^62 bytes ------------------------------------------------------------

#[test]
fn huge_length_prefixes_fail_without_allocating() {
    let huge = [1u64 << 62, u64::MAX, (1u64 << 63) + 5];
    for &n in &huge {
        for op in [0x8e_u8, 0x8d, 0x96, 0x95] {
            // BINBYTES8, BINUNICODE8, BYTEARRAY8, FRAME
            let mut d = vec![0x80, 5, op];
            d.extend_from_slice(&n.to_le_bytes());
            d.extend_from_slice(b"abc.");
            let (e, peak) = peak_of(|| err_of(&d));
            assert!(
                matches!(e.kind, ErrorKind::Truncated { needed, .. } if needed == n),
                "{op:#x} {n}: {e}"
            );
            assert_eq!(e.offset, 2);
            assert!(peak < MIB, "{op:#x}: allocated {peak} bytes");
        }
    }
    // Four-byte prefixes: unsigned at 4 GiB - 1, signed negative, signed huge.
    let cases: &[(&[u8], &str)] = &[
        (b"B\xff\xff\xff\xffab.", "truncated"),           // BINBYTES
        (b"X\xff\xff\xff\xffab.", "truncated"),           // BINUNICODE
        (b"T\xff\xff\xff\xffab.", "negative byte count"), // BINSTRING
        (b"\x8b\x00\x00\x00\x80ab.", "negative byte count"), // LONG4
        (b"\x8b\xff\xff\xff\x7fab.", "truncated"),        // LONG4
    ];
    for (body, what) in cases {
        let d = cat(&[b"\x80\x03", body]);
        let (e, peak) = peak_of(|| err_of(&d));
        assert!(e.to_string().contains(what), "{e}");
        assert!(peak < MIB);
    }
}

#[test]
fn huge_length_prefix_through_the_command_line() {
    let dir = tempdir();
    let f = dir.path().join("huge.pickle");
    let mut d = vec![0x80, 4, 0x8e];
    d.extend_from_slice(&(1u64 << 62).to_le_bytes());
    d.extend_from_slice(b".");
    std::fs::write(&f, &d).expect("write");
    let o = bin().arg("report").arg(&f).output().expect("run");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("truncated") && err.contains("at byte 2"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

// ---- one large bytes object referenced a million times through the memo -------------------

#[test]
fn large_bytes_shared_a_million_times_counts_once() {
    const BIG: usize = 16 * MIB;
    const REFS: usize = DEEP;
    // __main__.Holder with state {'a': BIG (memoized), 'refs': [BIG] * REFS}.
    let d = cat(&[
        b"\x80\x04c__main__\nHolder\n)\x81}(",
        &binunicode("a"),
        &binbytes8(BIG, 0xab),
        b"\x94",
        &binunicode("refs"),
        b"(",
        &rep(b"h\x00", REFS),
        b"lub.",
    ]);
    let (m, peak) = peak_of(|| model(d.clone()));
    // The file itself is held once (here in memory; from disk it is mapped); the model adds
    // records, never copies of the payload.
    assert!(
        peak < d.len() + 200 * MIB,
        "model of a {} byte file took {peak} bytes",
        d.len()
    );
    let g = m.graph();
    assert_eq!(m.refs.ref_count(g.gets[0].node), REFS);
    let groups = m.groups();
    let get = |attr: &str| {
        groups
            .groups
            .iter()
            .find(|x| x.attr == attr)
            .unwrap_or_else(|| panic!("no group {attr}"))
    };
    let (a, refs) = (get("a"), get("refs"));
    // Cutting `a` alone frees nothing much: the bytes are still used by `refs`.
    assert!(a.bytes > BIG as u64);
    assert!(a.retained < 64, "a retains {}", a.retained);
    // `refs` is a million 2-byte GETs plus its key and opcodes.
    assert!(refs.bytes < 3 * REFS as u64 && refs.retained == refs.bytes);
    // Both together: everything, the big payload counted once.
    let both = merge_spans(groups.attrs.iter().map(|x| x.row.span).collect::<Vec<_>>());
    let r = retained(g, &m.refs, &both);
    assert_eq!(r, both.iter().map(Span::len).sum::<u64>());
    assert!(r < (BIG + 3 * REFS) as u64);
    // Dropping `a`: the payload is written once, at its first use inside `refs`.
    let plan = Plan::build(&m, &rules(&[("__main__.Holder", "a")]));
    let mut c = Counter::default();
    let predicted = rewrite(m.data(), g, &plan.cuts, &mut c).expect("count");
    let mut out = Vec::new();
    let written = rewrite(m.data(), g, &plan.cuts, &mut out).expect("write");
    assert_eq!(predicted, written);
    // (protocol 4: the output is framed like CPython's, a few hundred bytes of FRAME headers)
    assert!(written < d.len() as u64 + 1024 && written > BIG as u64);
    let m2 = model(out);
    let g2 = m2.graph();
    let big: Vec<_> = g2
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, Kind::Bytes { payload } if payload.len() == BIG as u64))
        .collect();
    assert_eq!(big.len(), 1, "the payload is written exactly once");
    assert_eq!(m2.refs.ref_count(g2.gets[0].node), REFS - 1);
}

// ---- memo abuse -----------------------------------------------------------------------------

#[test]
fn gets_of_undefined_memo_entries_are_errors() {
    let cases: &[(&[u8], u64)] = &[
        (b"\x80\x02h\x05.", 5),
        (b"\x80\x02j\xff\xff\xff\xff.", u32::MAX as u64),
        (b"g7\n.", 7),
        (b"g99999999999999\n.", 99_999_999_999_999),
        // Defined at key 0, fetched at key 1.
        (b"\x80\x02K\x01q\x00h\x01.", 1),
        // MEMOIZE counts entries, so after PUT 5 it stores key 1, never key 0.
        (b"\x80\x04K\x01q\x05\x94h\x00.", 0),
    ];
    for (d, key) in cases {
        let e = err_of(d);
        assert!(
            matches!(e.kind, ErrorKind::BadMemo { key: k, .. } if k == *key),
            "{d:?}: {e}"
        );
    }
    // The memo does not survive into the next pickle of the file: the second one is junk.
    let d = b"\x80\x02K\x01q\x00.\x80\x02h\x00.";
    let (g, w) = parse(d).expect("first pickle");
    assert_eq!((g.pickles.len(), g.trailing), (1, Some(7)));
    assert!(w.iter().any(|w| w.message.contains("not a pickle")));
    // Negative and non-numeric text keys.
    for d in [&b"g-1\n."[..], b"gx\n.", b"p-1\n."] {
        let e = err_of(&cat(&[b"N", d]));
        assert!(matches!(e.kind, ErrorKind::BadArgument { .. }), "{e}");
    }
}

#[test]
fn put_overwrites_follow_cpython() {
    // PUT 0 := 1, POP, PUT 0 := 2, GET 0  ->  2
    let d = b"\x80\x02K\x01q\x000K\x02q\x000h\x00.";
    let (g, _) = parse(d).expect("parse");
    assert_eq!(render(&g, d, g.root(), false), "2");
    // MEMOIZE after sparse PUTs: key = number of entries (CPython's len(memo)).
    // PUT 5 := 1; MEMOIZE (key 1) := 2; PUT 1 := 3 (overwrite, len stays 2); MEMOIZE (key 2) := 4
    let d = b"\x80\x04K\x01q\x050K\x02\x940K\x03q\x010K\x04\x940(h\x05h\x01h\x02t.";
    let (g, _) = parse(d).expect("parse");
    assert_eq!(render(&g, d, g.root(), false), "(1, 3, 4)");
}

#[test]
fn put_overwrites_survive_slimming() {
    // types.SimpleNamespace with state {x: [1] (PUT 0), y: [2] (PUT 0 again), z: GET 0 (= y)}.
    let state = |x: &[u8], y: &[u8], z: &[u8]| {
        cat(&[
            b"\x80\x02ctypes\nSimpleNamespace\n)R}(",
            &binunicode("x"),
            x,
            &binunicode("y"),
            y,
            &binunicode("z"),
            z,
            b"ub.",
        ])
    };
    let d = state(b"]K\x01aq\x00", b"]K\x02aq\x00", b"h\x00");
    let m = model(d.clone());
    let g = m.graph();
    assert_eq!(
        render(g, &d, g.root(), false),
        "types.SimpleNamespace() % {\"x\": [1], \"y\": #1=[2], \"z\": @1}"
    );
    for (attr, want) in [
        ("x", "types.SimpleNamespace() % {\"y\": #1=[2], \"z\": @1}"),
        // y's definition is cut, z still needs it: re-emitted at z.
        ("y", "types.SimpleNamespace() % {\"x\": [1], \"z\": [2]}"),
        ("z", "types.SimpleNamespace() % {\"x\": [1], \"y\": [2]}"),
    ] {
        let (_, out) = common::slim_bytes(&m, &rules(&[("types.SimpleNamespace", attr)]));
        let (g2, _) = parse(&out).expect("slimmed output parses");
        assert_eq!(render(&g2, &out, g2.root(), false), want, "dropping {attr}");
    }
}

/// Slims `d` dropping `C.x`; returns the output. The work is bounded instead of timed: the
/// heap bytes allocated in all (model, plan, both rewrites, the output) stay within a fixed
/// multiple of the input and output sizes, so re-emission never copies what it already wrote.
fn slim_x_bounded(d: &[u8]) -> Vec<u8> {
    let (out, w) = work_of(|| {
        let m = model(d.to_vec());
        let plan = Plan::build(&m, &rules(&[("__main__.C", "x")]));
        let mut c = Counter::default();
        let predicted = rewrite(m.data(), m.graph(), &plan.cuts, &mut c).expect("count");
        let mut out = Vec::new();
        let written = rewrite(m.data(), m.graph(), &plan.cuts, &mut out).expect("write");
        assert_eq!(predicted, written);
        out
    });
    eprintln!(
        "memo chain: {} bytes in, {} out: {:.1} MiB allocated in {} calls, peak {:.1} MiB",
        d.len(),
        out.len(),
        w.allocated as f64 / MIB as f64,
        w.calls,
        w.peak as f64 / MIB as f64
    );
    let size = d.len() + out.len();
    assert!(
        w.allocated <= WORK_PER_BYTE * size + 64 * MIB,
        "{} bytes allocated for {size} bytes in and out",
        w.allocated
    );
    out
}

/// Heap bytes allocated in all, per input (and output) byte, that a hostile case may cost:
/// linear work. Measured at most ~620 (a million nested tuples; nested lists ~370, 60 000
/// nested distinct classes ~370, megabyte names ~290, memo chains ~35); a copy per object or
/// per use (a decoded megabyte name per instance, a re-emitted chain copied again at each use)
/// is quadratic and thousands of times over.
const WORK_PER_BYTE: usize = 2000;

#[test]
fn memo_chains_are_rewritten_in_linear_time() {
    const N: usize = 300_000;
    // 1. A chain of nested 1-tuples, every level memoized: all definitions start at the same
    //    byte. Each use re-emits one level around the levels already written (this was
    //    quadratic: ~50 s here).
    let out = slim_x_bounded(&tuple_memo_chain(N));
    let (g, _) = parse(&out).expect("output parses");
    let root_state = g.node(g.root()).state;
    let y = g.children(root_state)[0].value;
    assert_eq!(g.children(y).len(), N + 1);
    // 2. Each definition uses the previous one: re-emitting the last one re-emits the whole
    //    chain, N definitions deep (a deep stack of regions, kept on the heap).
    let out = slim_x_bounded(&shared_memo_chain(N));
    parse(&out).expect("output parses");
}

#[test]
fn nested_groups_of_distinct_classes_are_sized_with_bounded_work() {
    // Exact retained sizes for every group would be quadratic here (each group's span holds
    // all deeper levels and their memo entries); the budget keeps it linear and says so.
    let d = nested_distinct_classes(60_000);
    let len = d.len();
    let (approximate, w) = work_of(|| {
        let m = model(d);
        let groups = m.groups();
        assert_eq!(groups.groups.len(), 60_000);
        for g in &groups.groups {
            assert!(g.retained <= g.bytes);
        }
        let _ = picklescope::report::top_attrs(&m, 10);
        groups.approximate
    });
    assert!(approximate);
    eprintln!(
        "60 000 nested classes, {len} bytes: {:.1} MiB allocated in {} calls, peak {:.1} MiB",
        w.allocated as f64 / MIB as f64,
        w.calls,
        w.peak as f64 / MIB as f64
    );
    assert!(
        w.allocated <= WORK_PER_BYTE * len + 64 * MIB,
        "{} bytes allocated for {len} input bytes",
        w.allocated
    );
    // `report` says so.
    let dir = tempdir();
    let f = dir.path().join("nested.pickle");
    std::fs::write(&f, nested_distinct_classes(20_000)).expect("write");
    let o = bin().arg("report").arg(&f).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("some retained sizes are inline sizes"));
    // An ordinary file stays exact.
    let (d, _) = nested_instances(1000);
    assert!(!model(d).groups().approximate);
    if let Some(b) = common::fixture_bytes("stage4_p5.pickle") {
        assert!(!model(b).groups().approximate);
    }
}

#[test]
fn thousands_of_hits_are_measured_with_bounded_work() {
    // A rule on `*` and a file of 20 000 distinct classes that all have `view`: sizing each
    // hit alone cost a full counting pass each (this took minutes); what each hit removes is
    // attributed from one pass over the cut, and the total is one rewrite.
    const N: usize = 20_000;
    let m = model(classes_with_view(N));
    let w = picklescope::slim::what_if(&m, &rules(&[("*", "view")])).expect("what-if");
    assert_eq!(w.plan.hits.len(), N);
    // Nothing is shared through the memo: each hit removes exactly its inline bytes, and the
    // removals add up to the file's before - after (no memo here, so no bookkeeping).
    for (i, h) in w.plan.hits.iter().enumerate() {
        assert_eq!(w.hit_removed(i), h.bytes, "{}", h.class);
    }
    assert_eq!(w.removed.total(), w.before - w.after);
    assert_eq!(w.bookkeeping, 0);
    assert!(!w.removed.approximate);
    let (predicted, out) = common::slim_bytes(&m, &rules(&[("*", "view")]));
    assert_eq!((w.after, predicted), (out.len() as u64, out.len() as u64));
}

#[test]
fn megabyte_names_shared_through_the_memo_cost_nothing_per_object() {
    // 200 000 instances whose class (STACK_GLOBAL of a memoized 1 MiB module string) and
    // attribute name (a memoized 1 MiB key) are the same huge strings: decoding them for every
    // object meant 400 GB of copying; names are cut at NAME_MAX bytes for grouping and display.
    const N: usize = 200_000;
    let d = megabyte_names(N);
    let len = d.len();
    let (m, work) = work_of(|| {
        let m = model(d);
        let _ = m.groups();
        m
    });
    let groups = m.groups();
    assert_eq!(groups.groups.len(), 1);
    let g = &groups.groups[0];
    assert_eq!(g.instances, N as u64);
    let max = picklescope::pickle::value::NAME_MAX as usize;
    assert!(
        g.class.ends_with("….C") && g.class.len() <= max + 8,
        "{}",
        g.class.len()
    );
    assert!(g.attr.ends_with('…') && g.attr.len() <= max + 3);
    let _ = picklescope::report::top_attrs(&m, 10);
    let _ = picklescope::model::globals::named_globals(&m);
    let w = picklescope::slim::what_if(&m, &rules(&[("*", &g.attr)])).expect("what-if");
    assert_eq!(w.plan.hits.len(), 1);
    // Work, not time: decoding the names per object would allocate 2 MiB per instance
    // (400 GB); reading and grouping the file allocates a small multiple of its size.
    eprintln!(
        "megabyte names: {len} bytes, {:.1} MiB allocated in {} calls, peak {:.1} MiB",
        work.allocated as f64 / MIB as f64,
        work.calls,
        work.peak as f64 / MIB as f64
    );
    assert!(
        work.allocated <= WORK_PER_BYTE * len + 64 * MIB,
        "{} bytes allocated for {len} input bytes",
        work.allocated
    );
}

// ---- stack and mark underflow ---------------------------------------------------------------

#[test]
fn stack_and_mark_underflow_are_errors_at_the_right_byte() {
    use ErrorKind::{MarkUnderflow as M, StackUnderflow as S};
    let cases: Vec<(&[u8], ErrorKind, u64)> = vec![
        (b".", S("STOP"), 0),
        (b"\x80\x02.", S("STOP"), 2),
        (b"\x80\x02a.", S("APPEND"), 2),
        (b"\x80\x02]a.", S("APPEND"), 3),
        (b"\x80\x02](a.", S("APPEND"), 4),
        (b"\x80\x02e.", M("APPENDS"), 2),
        (b"\x80\x02s.", S("SETITEM"), 2),
        (b"\x80\x02}K\x01s.", S("SETITEM"), 5),
        (b"\x80\x02u.", M("SETITEMS"), 2),
        (b"\x80\x02t.", M("TUPLE"), 2),
        (b"\x80\x02l.", M("LIST"), 2),
        (b"\x80\x02d.", M("DICT"), 2),
        (b"\x80\x021.", M("POP_MARK"), 2),
        (b"\x80\x020.", S("POP"), 2),
        (b"\x80\x022.", S("DUP"), 2),
        (b"\x80\x02(2.", S("DUP"), 3),
        (b"\x80\x02N(R.", S("REDUCE"), 4),
        (b"\x80\x02NR.", S("REDUCE"), 3),
        (b"\x80\x02b.", S("BUILD"), 2),
        (b"\x80\x02Nb.", S("BUILD"), 3),
        (b"\x80\x02\x85.", S("TUPLE1"), 2),
        (b"\x80\x02N\x86.", S("TUPLE2"), 3),
        (b"\x80\x02NN\x87.", S("TUPLE3"), 4),
        (b"\x80\x02N\x81.", S("NEWOBJ"), 3),
        (b"\x80\x04NN\x92.", S("NEWOBJ_EX"), 4),
        (b"\x80\x04\x93.", S("STACK_GLOBAL"), 2),
        (b"\x80\x02q\x00.", S("BINPUT"), 2),
        (b"\x80\x04\x94.", S("MEMOIZE"), 2),
        (b"\x80\x02Q.", S("BINPERSID"), 2),
        (b"\x80\x05\x98.", S("READONLY_BUFFER"), 2),
        (b"\x80\x04\x90.", M("ADDITEMS"), 2),
        (b"\x80\x04\x91.", M("FROZENSET"), 2),
        (b"o.", M("OBJ"), 0),
        (b"(o.", S("OBJ"), 1),
        (b"ios\nsystem\n.", M("INST"), 0),
    ];
    for (d, kind, at) in cases {
        let e = err_of(d);
        assert_eq!((e.kind.clone(), e.offset), (kind, at), "{d:?}: {e}");
    }
}

// ---- data after STOP ------------------------------------------------------------------------

#[test]
fn data_after_stop_is_kept_as_is() {
    // Junk, an incomplete second pickle, and a megabyte of zeros: a warning, the first pickle.
    for tail in [&b"\xff\xfegarbage"[..], b"\x80\x02]", &vec![0u8; MIB]] {
        let d = cat(&[b"\x80\x02K\x07.", tail]);
        let (g, w) = parse(&d).expect("parse");
        assert_eq!(g.pickles.len(), 1);
        assert_eq!(g.trailing, Some(5));
        assert!(w.iter().any(|w| w.offset == 5), "{w:?}");
    }
    // Two whole pickles are two pickles.
    let (g, _) = parse(b"N.\x80\x02K\x01.").expect("parse");
    assert_eq!(g.pickles.len(), 2);
    // Slimming keeps the trailing bytes byte for byte.
    let body = cat(&[
        b"\x80\x02ctypes\nSimpleNamespace\n)R}(",
        &binunicode("drop"),
        b"K\x01",
        &binunicode("keep"),
        b"K\x02ub.",
    ]);
    let tail = b"\x00TRAILING\xff";
    let m = model(cat(&[&body, tail]));
    let (_, out) = common::slim_bytes(&m, &rules(&[("*", "drop")]));
    assert!(out.ends_with(tail) && out.len() < body.len());
}

// ---- FRAME lengths that lie -----------------------------------------------------------------

fn frame(n: u64) -> Vec<u8> {
    let mut v = vec![0x95];
    v.extend_from_slice(&n.to_le_bytes());
    v
}

#[test]
fn frames_that_lie() {
    // Longer than the rest of the file: an error, like CPython's "pickle data was truncated".
    let d = cat(&[b"\x80\x04", &frame(1000), b"K\x01."]);
    let e = err_of(&d);
    assert!(matches!(
        e.kind,
        ErrorKind::Truncated {
            op: "FRAME",
            needed: 1000,
            ..
        }
    ));
    // Shorter than its content, or ending in the middle of an opcode: CPython's C unpickler
    // (what `pickle.load` uses) only reads ahead by the frame length, so it loads these, and
    // so do we; a rewrite frames the output correctly.
    let lying = [
        cat(&[b"\x80\x04", &frame(1), b"]K\x01aK\x02a."]),
        cat(&[b"\x80\x04", &frame(3), b"]K\x01aK\x02a."]),
        cat(&[
            b"\x80\x04",
            &frame(2),
            b"]",
            &frame(1),
            b"K\x01a",
            &frame(0),
            b"K\x02a.",
        ]),
    ];
    for d in &lying {
        let (g, _) = parse(d).expect("parse");
        assert_eq!(render(&g, d, g.root(), false), "[1, 2]");
    }
    // A frame inside a frame, and a huge length inside a small file.
    let d = cat(&[b"\x80\x04", &frame(11), &frame(2), b"N."]);
    assert!(parse(&d).is_ok());
    let d = cat(&[b"\x80\x04", &frame(u64::MAX), b"N."]);
    assert!(matches!(err_of(&d).kind, ErrorKind::Truncated { .. }));
}

#[test]
fn slimming_a_file_with_lying_frames_writes_honest_frames() {
    if common::no_python("slimming_a_file_with_lying_frames_writes_honest_frames") {
        return;
    }
    // An instance whose state is framed with wrong lengths; after slimming, CPython's strict
    // pure-Python unpickler (which checks frame boundaries) loads the output.
    let body = cat(&[
        b"ctypes\nSimpleNamespace\n)R}(",
        &binunicode("drop"),
        &binbytes8(100_000, b'd'),
        &binunicode("keep"),
        b"]",
        &rep(b"K\x05a", 30_000),
        b"ub.",
    ]);
    let d = cat(&[b"\x80\x04", &frame(7), &body]);
    let m = model(d);
    let (_, out) = common::slim_bytes(&m, &rules(&[("types.SimpleNamespace", "drop")]));
    let script = r#"
import io, pickle, sys
data = sys.stdin.buffer.read()
o = pickle._Unpickler(io.BytesIO(data)).load()
assert sorted(vars(o)) == ['keep'], vars(o).keys()
assert o.keep == [5] * 30000
print('ok')
"#;
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&out)
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert!(
        o.status.success() && o.stdout.starts_with(b"ok"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// ---- PERSID / EXT / NEXT_BUFFER without their context --------------------------------------

#[test]
fn persid_and_ext_without_context_load_with_warnings() {
    for (d, what) in [
        (&b"Pfile:42\n."[..], "persistent ids"),
        (b"\x80\x02X\x03\x00\x00\x00pidQ.", "persistent ids"),
        (b"\x80\x02\x82\x2a.", "extension codes"),
        (b"\x80\x02\x83\xe8\x03.", "extension codes"),
        (b"\x80\x02\x84\xa0\x86\x01\x00.", "extension codes"),
    ] {
        let (g, w) = parse(d).expect("parse");
        assert_eq!(g.pickles.len(), 1);
        assert!(w.iter().any(|w| w.message.contains(what)), "{w:?}");
        assert_eq!(exercise(d, &no_rules()), g.nodes.len());
    }
    // Code 0 and codes above 2^31 - 1 do not exist.
    for d in [
        &b"\x80\x02\x82\x00."[..],
        b"\x80\x02\x84\x00\x00\x00\x80.",
        b"\x80\x02\x84\xff\xff\xff\xff.",
    ] {
        assert!(matches!(err_of(d).kind, ErrorKind::BadArgument { .. }));
    }
}

#[test]
fn next_buffer_without_buffers_is_a_placeholder_with_a_warning() {
    let d = b"\x80\x05(\x97\x97\x98t.";
    let (g, w) = parse(d).expect("parse");
    assert!(w.iter().any(|w| w.message.contains("out-of-band")));
    assert_eq!(
        common::render(&g, d, g.root(), true),
        "(buffer(0), buffer(1, ro))"
    );
    // READONLY_BUFFER on something that is not a buffer changes nothing.
    let (g, _) = parse(b"\x80\x05K\x01\x98.").expect("parse");
    assert!(matches!(g.node(g.root()).kind, Kind::Int { .. }));
}

// ---- invalid UTF-8 --------------------------------------------------------------------------

#[test]
fn invalid_utf8_in_unicode_opcodes_is_an_error() {
    let bad: &[&[u8]] = &[
        b"\x80\x04\x8c\x02\xff\xfe.",      // SHORT_BINUNICODE
        b"\x80\x02X\x01\x00\x00\x00\xc3.", // BINUNICODE, cut short
        b"\x80\x04\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc0\x80.", // BINUNICODE8, overlong
        b"\x80\x04\x8c\x04\xf4\x90\x80\x80.", // above U+10FFFF
        b"\x80\x04\x8c\x03\xed\xa0\x41.",  // surrogate lead, bad tail
    ];
    for d in bad {
        let e = err_of(d);
        assert!(
            matches!(e.kind, ErrorKind::InvalidUtf8 { .. }),
            "{d:?}: {e}"
        );
        assert_eq!(e.offset, 2);
    }
    // Module and class names are strict UTF-8 too (CPython decodes them before any lookup).
    for d in [
        &b"c\xff\nx\n."[..],
        b"cos\nsy\xffs\n.",
        b"(cos\nsy\xffs\ni.",
    ] {
        assert!(matches!(err_of(d).kind, ErrorKind::InvalidUtf8 { .. }));
    }
    // UNICODE (protocol 0) is raw-unicode-escape: bad \u escapes are errors, bytes are latin-1.
    for d in [
        &b"V\\u12\n."[..],
        b"V\\U00110000\n.",
        b"V\\u+041\n.",
        b"V\\\\\\uzzzz\n.",
    ] {
        assert!(
            matches!(err_of(d).kind, ErrorKind::BadArgument { op: "UNICODE", .. }),
            "{d:?}"
        );
    }
    for (d, want) in [
        (&b"V\\u0041\n."[..], "\"A\""),
        (b"V\\\\u0041\n.", "\"\\\\\\\\u0041\""),
        (b"V\\\\\\u0041\n.", "\"\\\\\\\\A\""),
        (b"V\\x41\n.", "\"\\\\x41\""),
        (b"V\xff\n.", "\"\\u{ff}\""),
        (b"V\\\n.", "\"\\\\\""),
    ] {
        let (g, _) = parse(d).expect("parse");
        assert_eq!(render(&g, d, g.root(), false), want, "{d:?}");
    }
    // Lone surrogates are what CPython writes with surrogatepass: accepted.
    assert!(parse(b"\x80\x04\x8c\x03\xed\xb0\x80.").is_ok());
}

// ---- files that are not pickles -------------------------------------------------------------

fn one_line_error(o: &std::process::Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn empty_and_truncated_files() {
    let dir = tempdir();
    let f = dir.path().join("empty.pickle");
    std::fs::write(&f, b"").expect("write");
    let e = Doc::open(&f).expect_err("empty");
    assert!(
        e.is_invalid_pickle() && e.to_string().contains("empty file"),
        "{e}"
    );
    for cmd in [&["report"][..], &["slim", "--preset", "strategy-a"]] {
        let o = bin().args(cmd).arg(&f).output().expect("run");
        one_line_error(&o, 2, "empty file");
    }
    assert_eq!(std::fs::metadata(&f).expect("meta").len(), 0);
    for (d, needle) in [
        (&b"\x80"[..], "truncated"),
        (b"\x80\x02", "without STOP"),
        (b"\x80\x02]", "without STOP"),
    ] {
        std::fs::write(&f, d).expect("write");
        let o = bin().arg("report").arg(&f).output().expect("run");
        one_line_error(&o, 2, needle);
    }
}

#[test]
fn directories_fifos_and_unreadable_files_as_path() {
    let dir = tempdir();
    // A directory with nothing to read.
    let empty = dir.path().join("nothing");
    std::fs::create_dir(&empty).expect("mkdir");
    let o = bin().arg("report").arg(&empty).output().expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    // A directory opened as a document.
    let e = Doc::open(&empty).expect_err("dir");
    assert!(e.to_string().contains("directory"), "{e}");
    // A missing path.
    let o = bin()
        .arg("report")
        .arg(dir.path().join("missing.pickle"))
        .output()
        .expect("run");
    one_line_error(&o, 1, "No such file");
    // A FIFO must not block (open() on a FIFO waits for a writer).
    let fifo = dir.path().join("fifo.pickle");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let t = Instant::now();
        let e = Doc::open(&fifo).expect_err("fifo");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let mut child = bin()
            .arg("report")
            .arg(&fifo)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run");
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if t.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(
            status.is_some_and(|s| !s.success()),
            "report on a FIFO hung or succeeded"
        );
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert!(err.contains("not a regular file"), "{err}");
    } else {
        common::skip(
            "directories_fifos_and_unreadable_files_as_path",
            "mkfifo failed",
        );
    }
    // An unreadable file: permission bits when not root; as root (which ignores them), run
    // the binary as `nobody` through setpriv.
    let f = dir.path().join("secret.pickle");
    std::fs::write(&f, b"\x80\x02N.").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let is_root = std::fs::read(&f).is_ok();
    let o = if !is_root {
        Some(bin().arg("report").arg(&f).output().expect("run"))
    } else {
        // nobody must be able to reach the file and the binary, but not read the file.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod dir");
        let (_exe_dir, exe) = common::public_binary();
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&exe)
            .arg("report")
            .arg(&f)
            .output()
            .ok()
            .filter(|o| !String::from_utf8_lossy(&o.stderr).contains("setpriv:"))
    };
    match o {
        Some(o) if o.status.code() == Some(1) || o.status.code() == Some(2) => {
            one_line_error(&o, o.status.code().unwrap_or(1), "Permission denied")
        }
        Some(o) => panic!(
            "unreadable file: exit {:?}, {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        ),
        None => common::skip(
            "directories_fifos_and_unreadable_files_as_path",
            "root without a working setpriv: the unreadable-file case needs another user",
        ),
    }
}

// ---- a stream whose first opcodes are sparse and the rest dense -----------------------------

#[test]
fn a_stream_denser_after_its_sample_still_parses_whole_in_bounded_memory() {
    // The arena is sized from the first 65 536 opcodes (200-byte bytes objects here) and the
    // rest is 2-byte ints: the machine must count the rest and grow, not fail or balloon.
    const SPARSE: usize = 1 << 16;
    const DENSE: usize = 1_000_000;
    let d = cat(&[
        b"\x80\x04(",
        &rep(&cat(&[b"C\xc8", &[b'x'; 200]]), SPARSE),
        &rep(b"K\x01", DENSE),
        b"l.",
    ]);
    let (m, peak) = peak_of(|| model(d.clone()));
    let g = m.graph();
    assert_eq!(g.nodes.len(), SPARSE + DENSE + 1);
    assert_eq!(g.children(g.root()).len(), SPARSE + DENSE);
    assert!(
        peak < d.len() + 200 * MIB,
        "model of a {} byte file took {peak} bytes",
        d.len()
    );
}
