//! The detail view's "held at" paths: every place that holds a shared object.

mod common;

use picklescope::model::{Doc, Model};
use picklescope::pickle::{Kind, NodeId};

fn model(bytes: &[u8]) -> Model {
    Model::new(Doc::from_bytes("t.pickle", bytes.to_vec()).expect("parse"))
}

fn first_list(m: &Model) -> NodeId {
    let g = m.graph();
    (0..g.nodes.len() as NodeId)
        .find(|&id| g.node(id).kind == Kind::List)
        .expect("a list")
}

#[test]
fn shared_list_in_dicts() {
    // pickle.dumps({'x': a, 'y': {'z': a}}, 2) with a = [1, 2]
    let m = model(
        b"\x80\x02}q\x00(X\x01\x00\x00\x00xq\x01]q\x02(K\x01K\x02eX\x01\x00\x00\x00yq\x03}q\x04X\x01\x00\x00\x00zq\x05h\x02su.",
    );
    let paths = m.holder_paths(first_list(&m), 10);
    assert_eq!(paths, vec![r#"["x"]"#, r#"["y"]["z"]"#]);
}

#[test]
fn shared_list_in_two_attributes() {
    // c = C(); c.a = c.b = [1]; pickle.dumps(c, 2)
    let m = model(
        b"\x80\x02c__main__\nC\nq\x00)\x81q\x01}q\x02(X\x01\x00\x00\x00aq\x03]q\x04K\x01aX\x01\x00\x00\x00bq\x05h\x04ub.",
    );
    let paths = m.holder_paths(first_list(&m), 10);
    assert_eq!(paths, vec!["a", "b"]);
    assert_eq!(m.holder_paths(first_list(&m), 1), vec!["a"]);
}

/// The report's attribute paths (a search that stops once it has met the instances) are the
/// paths of the full parent index, for every attribute of every committed fixture and of a
/// generated pipeline stage.
#[test]
fn attribute_paths_from_a_stopped_search_match_the_full_index() {
    let mut files: Vec<Vec<u8>> = common::fixtures(|_| true)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    assert!(!files.is_empty(), "no fixtures under tests/fixtures");
    let opts = picklescope::synth::DemoOptions::default();
    for stage in [2, 4, 7] {
        let v = picklescope::synth::stage_result(stage, &opts).expect("a demo stage");
        files.push(picklescope::synth::encode(&v, 5).expect("encode"));
    }
    let mut compared = 0;
    for bytes in files {
        let Ok(doc) = Doc::from_bytes("t.pickle", bytes.clone()) else {
            continue;
        };
        let partial = Model::new(doc);
        let full = model(&bytes);
        let rows: Vec<_> = full.groups().attrs.iter().map(|a| a.row).collect();
        let want: Vec<String> = rows.iter().map(|r| full.attr_path(r)).collect();
        // One at a time (each search stops at its own instance) and all together.
        for (r, w) in rows.iter().zip(&want) {
            assert_eq!(
                partial.attr_paths(std::slice::from_ref(r)),
                std::slice::from_ref(w)
            );
        }
        assert_eq!(partial.attr_paths(&rows), want);
        compared += rows.len();
    }
    assert!(compared > 100, "only {compared} attributes compared");
}
