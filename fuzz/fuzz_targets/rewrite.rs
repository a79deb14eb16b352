//! The rewriter with rules derived from the input: parse, pick class.attr groups to drop from
//! the input's own bytes, then check that the dry-run predicts the written size, that no cuts
//! give the input back byte for byte, and that the output parses again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picklescope::model::{Doc, Model};
use picklescope::slim::{Counter, Plan, Rules, rewrite};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Doc::from_bytes("fuzz.pickle", data.to_vec()) else {
        return;
    };
    let m = Model::new(doc);
    let g = m.graph();
    // No cuts: the identity.
    let mut same = Vec::new();
    if let Ok(n) = rewrite(data, g, &[], &mut same) {
        assert_eq!(n as usize, data.len());
        assert_eq!(same, data);
    }
    // Rules from the input: a selector derived from the last bytes picks groups.
    let sel = data
        .iter()
        .rev()
        .take(8)
        .fold(0u64, |a, &b| a.rotate_left(8) ^ b as u64);
    let groups = &m.groups().groups;
    let mut rules = Rules::default();
    for (i, gr) in groups.iter().enumerate() {
        if sel == 0 || (sel >> (i % 64)) & 1 == 1 {
            rules.add(&gr.class, &gr.attr);
        }
    }
    if sel % 7 == 0 {
        rules.add("*", "*");
    }
    let plan = Plan::build(&m, &rules);
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
                assert_eq!(out, data);
            }
            // The output must be a pickle again, with as many pickles as the input.
            match Doc::from_bytes("out.pickle", out.clone()) {
                Ok(d2) => assert_eq!(d2.graph.pickles.len(), g.pickles.len()),
                Err(e) => panic!("rewrite produced an unreadable pickle: {e}"),
            }
        }
        (Err(_), Err(_)) => {}
        (p, w) => panic!("dry-run and write disagree: {p:?} vs {w:?}"),
    }
});
