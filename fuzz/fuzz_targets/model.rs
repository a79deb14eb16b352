//! The pickle machine, object model and sizes over arbitrary bytes: parse, then walk every
//! view the explorer and reports use.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picklescope::model::{Doc, Model, merge_spans};
use picklescope::pickle::value::scalar_preview;
use picklescope::pickle::{NodeId, Span};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Doc::from_bytes("fuzz.pickle", data.to_vec()) else {
        return;
    };
    let m = Model::new(doc);
    let g = m.graph();
    let n = g.nodes.len();
    // Graph invariants.
    assert_eq!(g.offsets.len(), n + 1);
    for node in &g.nodes {
        assert!(node.span.start <= node.span.end && node.span.end <= data.len() as u64);
    }
    for e in &g.edges {
        assert!((e.value as usize) < n);
        assert!(e.span.start <= e.span.end && e.span.end <= data.len() as u64);
    }
    for p in &g.pickles {
        assert!((p.root as usize) < n);
    }
    // Views.
    let groups = m.groups();
    let _ = groups.by_size();
    for id in 0..n.min(2000) as NodeId {
        let rows = m.rows(id);
        for r in rows.iter().take(8) {
            let _ = m.attr_path(r);
            let _ = picklescope::model::label_text(g, m.data(), r.label);
        }
        let _ = m.class_of(id);
        let _ = m.array(id).map(|a| a.describe());
        let _ = scalar_preview(g, m.data(), id, 40);
        if id % 17 == 0 {
            let _ = m.path(id);
        }
    }
    // Sizes: the retained size of any set of spans never exceeds their total.
    let spans: Vec<Span> = g.nodes.iter().step_by(3).map(|x| x.span).collect();
    let merged = merge_spans(spans);
    let total: u64 = merged.iter().map(Span::len).sum();
    let r = picklescope::model::retained(g, &m.refs, &merged);
    assert!(r <= total);
    for gr in &groups.groups {
        assert!(gr.retained <= gr.bytes);
    }
    let _ = picklescope::report::top_attrs(&m, 5);
    let _ = picklescope::report::globals_of(&m);
    let _ = picklescope::report::dangerous_globals(&m);
    let _ = picklescope::context::stage_info(&m);
});
