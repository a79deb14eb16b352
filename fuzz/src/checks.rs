//! The properties the fuzz targets check, as plain functions: used by the libFuzzer targets
//! (fuzz/fuzz_targets/) and by the smoke test in the normal suite (tests/fuzz_smoke.rs), which
//! runs them over the seeds, every saved crash input and seeded mutations without libFuzzer.
//! Each panics when a property fails.

use picklescope::model::{Doc, Model, merge_spans};
use picklescope::pickle::scan::{Scanner, read_instr};
use picklescope::pickle::value::scalar_preview;
use picklescope::pickle::{NodeId, Span};
use picklescope::slim::{Counter, Plan, Rules, rewrite};

/// The scanner alone: instructions decoded from any bytes stay in bounds and chain.
pub fn scan(data: &[u8]) {
    let mut pos = 0;
    while pos < data.len() {
        let mut s = Scanner::new(data, pos);
        let mut last = pos;
        for r in s.by_ref() {
            match r {
                Ok(i) => {
                    assert!(i.pos == last && i.end > i.pos && i.end <= data.len());
                    assert!(i.arg_pos() > i.pos && i.arg_pos() + i.arg.len() <= i.end);
                    let _ = i.uint();
                    last = i.end;
                }
                Err(e) => assert!(e.offset as usize <= data.len()),
            }
        }
        if s.pos() <= pos {
            break;
        }
        pos = s.pos();
    }
    for p in 0..data.len().min(256) {
        if let Ok(i) = read_instr(data, p) {
            assert!(i.end <= data.len());
        }
    }
}

/// The pickle machine, the object model and sizes: graph invariants, then every view the
/// explorer and `report` use.
pub fn model(data: &[u8]) {
    let Ok(doc) = Doc::from_bytes("fuzz.pickle", data.to_vec()) else {
        return;
    };
    let m = Model::new(doc);
    let g = m.graph();
    let n = g.nodes.len();
    for id in 0..n {
        let r = g.nodes.range(id);
        assert!(r.start as usize + r.len as usize <= g.edges.len());
    }
    for node in g.nodes.iter() {
        assert!(node.span.start <= node.span.end && node.span.end <= data.len() as u64);
    }
    for e in &g.edges {
        assert!((e.value as usize) < n);
        assert!(e.span.start <= e.span.end && e.span.end <= data.len() as u64);
    }
    for p in &g.pickles {
        assert!((p.root as usize) < n);
    }
    let groups = m.groups();
    let _ = groups.by_size();
    for id in 0..n.min(2000) as NodeId {
        for (k, r) in m.rows(id).iter().take(8).enumerate() {
            if k < 2 && id % 8 == 0 {
                let _ = m.attr_path(r);
            }
            let _ = picklescope::model::label_text(g, m.data(), r.label);
        }
        let _ = m.class_of(id);
        let _ = m.array(id).map(|a| a.describe());
        let _ = scalar_preview(g, m.data(), id, 40);
        if id % 61 == 0 {
            let _ = m.path(id);
        }
    }
    // The retained size of any set of spans never exceeds their total.
    let spans: Vec<Span> = g.nodes.iter().step_by(3).map(|x| x.span).collect();
    let merged = merge_spans(spans);
    let total: u64 = merged.iter().map(Span::len).sum();
    assert!(picklescope::model::retained(g, &m.refs, &merged) <= total);
    for gr in &groups.groups {
        assert!(gr.retained <= gr.bytes);
    }
    let _ = picklescope::report::top_attrs(&m, 5);
    let _ = picklescope::model::globals::named_globals(&m);
    let _ = picklescope::model::globals::alarming(&m);
    let _ = picklescope::context::stage_info(&m);
}

/// The rewriter with rules derived from the input: no cuts give the input back byte for
/// byte, the dry-run predicts the written size, and the output is a pickle again.
pub fn rewrite_with_derived_rules(data: &[u8]) {
    let Ok(doc) = Doc::from_bytes("fuzz.pickle", data.to_vec()) else {
        return;
    };
    let m = Model::new(doc);
    let g = m.graph();
    let mut same = Vec::new();
    if let Ok(n) = rewrite(data, g, &[], &mut same) {
        assert_eq!(n as usize, data.len());
        assert!(same == data);
    }
    // A selector from the input's last bytes picks class.attr groups to drop.
    let sel = data
        .iter()
        .rev()
        .take(8)
        .fold(0u64, |a, &b| a.rotate_left(8) ^ b as u64);
    let mut rules = Rules::default();
    for (i, gr) in m.groups().groups.iter().enumerate() {
        if sel == 0 || (sel >> (i % 64)) & 1 == 1 {
            rules.add(&gr.class, &gr.attr);
        }
    }
    if sel % 7 == 0 {
        rules.add("*", "*");
    }
    let plan = Plan::build(&m, &rules);
    // The quick pass `slim` runs first must never rule out a file the plan would change.
    if !plan.cuts.is_empty() {
        assert!(
            picklescope::slim::prefilter::quick_scan(data, &rules).may_match,
            "the quick pass skips a file the rules slim"
        );
    }
    let mut c = Counter::default();
    let predicted = rewrite(data, g, &plan.cuts, &mut c);
    let mut out = Vec::new();
    let written = rewrite(data, g, &plan.cuts, &mut out);
    match (predicted, written) {
        (Ok(p), Ok(w)) => {
            assert_eq!(p, w);
            assert_eq!(c.0, p);
            assert_eq!(out.len() as u64, w);
            if plan.cuts.is_empty() {
                assert!(out == data);
            }
            match Doc::from_bytes("out.pickle", out) {
                Ok(d2) => assert_eq!(d2.graph.pickles.len(), g.pickles.len()),
                Err(e) => panic!("rewrite produced an unreadable pickle: {e}"),
            }
        }
        (Err(_), Err(_)) => {}
        (p, w) => panic!("dry-run and write disagree: {p:?} vs {w:?}"),
    }
}

/// The sparse map of `data` written to a file: either none (the caller reads it whole) or
/// the file's bytes outside its holes and, copied out, the file's bytes everywhere; never a
/// crash. Exercises the page-copying walk over arbitrary streams.
pub fn sparse(data: &[u8]) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "picklescope-sparse-{}-{}.bin",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let file = std::fs::File::open(&path);
    let _ = std::fs::remove_file(&path);
    let Ok(file) = file else { return };
    if let Ok(Some(m)) = picklescope::model::sparse::SparseMap::open(&file, data.len() as u64) {
        assert!(
            picklescope::model::sparse::matches_file(&m, data),
            "sparse map bytes differ from the file's"
        );
    }
}
