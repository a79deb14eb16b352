//! The `--json` contract: every document starts with `"schema_version": 1`, `picklescope schema`
//! prints a JSON Schema per document that real output validates against (checked with the
//! `jsonschema` crate), and docs/schema/ holds the current schemas.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use serde_json::Value;

fn json(args: &[&str]) -> Value {
    let o = common::bin().args(args).output().expect("run");
    assert!(
        o.status.code() == Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    // schema_version comes first, so a reader can check it before anything else.
    assert!(
        text.starts_with("{\n  \"schema_version\": 1,"),
        "{args:?}: {}",
        &text[..80.min(text.len())]
    );
    serde_json::from_str(&text).unwrap()
}

fn schema(doc: &str) -> String {
    let o = common::bin().args(["schema", doc]).output().expect("run");
    assert_eq!(o.status.code(), Some(0));
    String::from_utf8(o.stdout).unwrap()
}

fn check(doc: &str, value: &Value) {
    let s: Value = serde_json::from_str(&schema(doc)).unwrap();
    let v = jsonschema::validator_for(&s).unwrap_or_else(|e| panic!("{doc}: bad schema: {e}"));
    let errors: Vec<String> = v.iter_errors(value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{doc}: {errors:#?}");
    // Positive control: a document without its version or with a wrong type fails.
    let mut broken = value.clone();
    broken.as_object_mut().unwrap().remove("schema_version");
    assert!(!v.is_valid(&broken), "{doc}: schema_version is required");
    let mut broken = value.clone();
    broken["schema_version"] = Value::String("one".into());
    assert!(!v.is_valid(&broken), "{doc}: schema_version is an integer");
}

#[test]
fn report_slim_diff_and_suggest_documents_match_their_schemas() {
    let d = tempfile::tempdir().unwrap();
    picklescope::synth::write_demo(d.path(), &picklescope::synth::DemoOptions::default()).unwrap();
    let p = d.path().to_str().unwrap();
    let before = tempfile::tempdir().unwrap();
    picklescope::synth::write_demo(before.path(), &picklescope::synth::DemoOptions::default())
        .unwrap();

    let report = json(&["report", p, "--json"]);
    assert!(report["files"].as_array().is_some_and(|f| f.len() > 10));
    check("report", &report);
    check(
        "report",
        &json(&["report", p, "--json", "--preset", "strategy-a"]),
    );

    let dry = json(&["slim", p, "--preset", "strategy-a", "--dry-run", "--json"]);
    check("slim", &dry);
    let slim = json(&["slim", p, "--preset", "strategy-a", "--backup", "--json"]);
    assert!(slim["written"].as_u64().is_some_and(|n| n > 0), "{slim}");
    check("slim", &slim);

    let suggest = json(&["suggest", before.path().to_str().unwrap(), "--json"]);
    assert!(
        suggest["candidates"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    check("suggest", &suggest);

    let diff = json(&["diff", before.path().to_str().unwrap(), p, "--json"]);
    assert!(
        diff["disappeared"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    check("diff", &diff);
}

#[test]
fn docs_schema_holds_the_current_schemas() {
    for doc in ["report", "slim", "diff", "suggest"] {
        let file = common::root()
            .join("docs/schema")
            .join(format!("{doc}.schema.json"));
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == schema(doc),
            "{} is out of date: picklescope schema {doc} > {}",
            file.display(),
            file.display()
        );
    }
}
