//! `picklescope guards`: every read form, guard, write and look-alike in Python source written
//! here, classified as expected; the CLI's text and JSON on a small package tree.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use picklescope::guards::{Confidence, Form, scan};
use picklescope::slim::Rules;

use common::{bin, run_ok};

fn rules(text: &str) -> Rules {
    match Rules::parse(text, "test.toml") {
        Ok(r) => r,
        Err(e) => panic!("rules: {e}"),
    }
}

const VIEW_RULES: &str = r#"
[[transient]]
class = "*.FlaggableViewResults"
attrs = ["view"]

[[transient]]
class = "*.TsysflagResults"
attrs = ["components"]
"#;

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{}: {e}", parent.display()));
    }
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p
}

/// Source whose every line ending in `# READ` must be found and no other line.
const CASES: &str = r#"
import numpy as np

def reads(result, results, arr):
    a = result.view  # READ
    b = result.view['File:x.ms']  # READ
    for k, v in result.components.items():  # READ
        pass
    c = getattr(result, 'view')  # READ
    d = result.__dict__['view']  # READ
    e = vars(result)['components']  # READ
    f = result.flaggerresult.dataresult.qa_wvr.view  # READ
    g = [r.view for r in results]  # READ
    h = sorted(results, key=lambda r: len(r.view))  # READ
    i = {k: v for k, v in result.components.items()}  # READ
    result.view += 1  # READ
    if result.view:  # READ
        pass

def not_reads(result, results, arr):
    result.view = {}
    self_like = result
    self_like.components = None
    x, result.view = 1, {}
    del result.view
    a = arr.view(np.float32)
    b = getattr(result, 'view', {})
    c = getattr(result, 'view', None)
    d = result.__dict__.get('view')
    e = vars(result).get('components', {})
    f = result.viewer
    g = 'view'
    h = result.inputs['view']

def guarded(result, results, other):
    if hasattr(result, 'view'):
        a = result.view
    if hasattr(result, 'view') and len(result.view) > 0:
        b = result.view
    c = result.view if hasattr(result, 'view') else None
    d = hasattr(result, 'view') and result.view
    e = not hasattr(result, 'view') or result.view
    try:
        f = result.view
    except AttributeError:
        f = None
    try:
        g = result.components['tsys']
    except (KeyError, AttributeError):
        g = None
    if 'view' in vars(result):
        h = result.view
    if 'components' in result.__dict__:
        i = result.components
    if not hasattr(result, 'view'):
        j = None
    else:
        j = result.view
    k = [r.view for r in results if hasattr(r, 'view')]
    if getattr(result, 'view', None):
        m = result.view

def early_exit(result):
    if not hasattr(result, 'view'):
        return None
    return result.view

def wrong_object(result, other):
    if hasattr(other, 'view'):
        a = result.view  # READ
    try:
        b = result.view  # READ
    except KeyError:
        pass
    try:
        pass
    except AttributeError:
        c = result.view  # READ
    if hasattr(result, 'view'):
        pass
    else:
        d = result.view  # READ

def outer(result):
    if hasattr(result, 'view'):
        def inner():
            return result.view  # READ
        return inner
"#;

#[test]
fn every_form_guard_and_lookalike_is_classified() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = write(dir.path(), "cases.py", CASES);
    let found = scan(&[file], &[], &rules(VIEW_RULES), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let expected: Vec<usize> = CASES
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with("# READ"))
        .map(|(i, _)| i + 1)
        .collect();
    let got: Vec<usize> = found.findings.iter().map(|f| f.read.line).collect();
    let report: Vec<String> = found
        .findings
        .iter()
        .map(|f| format!("{}: {}", f.read.line, f.source_line.trim()))
        .collect();
    assert_eq!(got, expected, "findings:\n{}", report.join("\n"));
    assert_eq!(expected.len(), 17, "the fixture lost its cases");
    assert!(found.syntax_errors.is_empty());

    let forms: Vec<Form> = found.findings.iter().map(|f| f.read.form).collect();
    assert!(forms.contains(&Form::Getattr));
    assert_eq!(forms.iter().filter(|f| **f == Form::DictItem).count(), 2);
    let chain = found
        .findings
        .iter()
        .find(|f| f.read.object == "result.flaggerresult.dataresult.qa_wvr")
        .unwrap_or_else(|| panic!("nested chain not found"));
    assert_eq!(chain.read.attr, "view");
    let lambda = found
        .findings
        .iter()
        .find(|f| f.source_line.contains("lambda"))
        .unwrap_or_else(|| panic!("lambda read not found"));
    assert_eq!(lambda.read.scopes, vec!["<lambda>", "reads"]);
}

#[test]
fn fixes_keep_the_line_and_use_the_default_given() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let file = write(
        dir.path(),
        "r.py",
        "def f(result):\n    for c, r in result.components.items():\n        x = result.__dict__['view']\n        y = getattr(result, 'view')\n",
    );
    let empties = BTreeMap::from([("components".to_string(), "{}".to_string())]);
    let found =
        scan(&[file], &[], &rules(VIEW_RULES), &empties).unwrap_or_else(|e| panic!("scan: {e}"));
    let fixes: Vec<&str> = found.findings.iter().map(|f| f.fix.trim()).collect();
    assert_eq!(
        fixes,
        vec![
            "for c, r in getattr(result, 'components', {}).items():",
            "x = result.__dict__.get('view', None)",
            "y = getattr(result, 'view', None)",
        ]
    );
}

/// A package tree like the pipeline's: the class that loses `view` is defined in one task
/// package, its renderer sits beside it, an unrelated module reads a `view` of its own.
fn package_tree(dir: &Path) -> PathBuf {
    let root = dir.join("src");
    write(&root, "pipeline/__init__.py", "");
    write(&root, "pipeline/h/__init__.py", "");
    write(&root, "pipeline/h/common/__init__.py", "");
    write(
        &root,
        "pipeline/h/common/flaggableviewresults.py",
        "class FlaggableViewResults(object):\n    def __init__(self):\n        self.view = {}\n",
    );
    write(&root, "pipeline/hif/__init__.py", "");
    write(&root, "pipeline/hif/rawflagchans/__init__.py", "");
    write(
        &root,
        "pipeline/hif/rawflagchans/resultobjects.py",
        "from pipeline.h.common import flaggableviewresults\n\n\
         class RawflagchansResults(basetask.Results,\n                          flaggableviewresults.FlaggableViewResults):\n\
         \x20   def describe(self):\n        return len(self.view)\n",
    );
    write(
        &root,
        "pipeline/hif/rawflagchans/renderer.py",
        "def update(ctx, result):\n    for k, v in result.view.items():\n        pass\n",
    );
    write(&root, "pipeline/infra/__init__.py", "");
    write(
        &root,
        "pipeline/infra/displays.py",
        "def plot(window):\n    return window.view\n",
    );
    root
}

#[test]
fn confidence_follows_the_defining_package_and_subclasses() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = package_tree(dir.path());
    let found = scan(&[root], &[], &rules(VIEW_RULES), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let by_file: Vec<(String, Confidence)> = found
        .findings
        .iter()
        .map(|f| (f.module.clone(), f.confidence))
        .collect();
    assert_eq!(
        by_file,
        vec![
            (
                "pipeline.hif.rawflagchans.renderer".to_string(),
                Confidence::Likely
            ),
            (
                "pipeline.hif.rawflagchans.resultobjects".to_string(),
                Confidence::Likely
            ),
            ("pipeline.infra.displays".to_string(), Confidence::Possible),
        ],
        "{:#?}",
        found.findings
    );
    // The subclass was found through its base, written as a dotted name across two lines.
    assert!(
        found
            .marked
            .iter()
            .any(|m| m.name == "RawflagchansResults" && m.attr == "view"),
        "{:?}",
        found.marked
    );
    // The method of the marked class itself is likely for that reason.
    let own = &found.findings[1];
    assert!(
        own.reason.contains("method of RawflagchansResults"),
        "{}",
        own.reason
    );
}

#[test]
fn classes_from_teaches_bases_without_searching_there() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = package_tree(dir.path());
    let renderer = root.join("pipeline/hif/rawflagchans/renderer.py");
    // Searched alone, the renderer's package defines nothing marked: possible.
    let alone = scan(
        std::slice::from_ref(&renderer),
        &[],
        &rules(VIEW_RULES),
        &BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("scan: {e}"));
    assert_eq!(alone.findings.len(), 1);
    assert_eq!(alone.findings[0].confidence, Confidence::Possible);
    // With the classes learned from the tree (not searched there): likely.
    let taught = scan(
        std::slice::from_ref(&renderer),
        std::slice::from_ref(&root),
        &rules(VIEW_RULES),
        &BTreeMap::new(),
    )
    .unwrap_or_else(|e| panic!("scan: {e}"));
    assert_eq!(taught.findings.len(), 1);
    assert_eq!(taught.findings[0].confidence, Confidence::Likely);
}

#[test]
fn missing_source_and_syntax_errors() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let missing = dir.path().join("nope");
    assert!(scan(&[missing], &[], &rules(VIEW_RULES), &BTreeMap::new()).is_err());
    let broken = write(
        dir.path(),
        "broken.py",
        "def f(result):\n    return result.view\n\ndef g(:\n",
    );
    let found = scan(&[broken], &[], &rules(VIEW_RULES), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("scan: {e}"));
    assert_eq!(found.syntax_errors.len(), 1);
    assert_eq!(
        found.findings.len(),
        1,
        "well-formed parts are still searched"
    );
}

#[test]
fn deeply_nested_source_costs_no_stack() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let depth = 50_000;
    // An even number of `not`s says the attribute is there, but a condition is followed only
    // so deep: the read is reported (the conservative answer), and nothing overflows.
    let text = format!(
        "x = {}result.view{}\ny = result.view if {}hasattr(result, 'view') else 0\n",
        "(".repeat(depth),
        ")".repeat(depth),
        "not ".repeat(depth),
    );
    let file = write(dir.path(), "deep.py", &text);
    let found = scan(&[file], &[], &rules(VIEW_RULES), &BTreeMap::new())
        .unwrap_or_else(|e| panic!("scan: {e}"));
    let lines: Vec<usize> = found.findings.iter().map(|f| f.read.line).collect();
    assert_eq!(lines, vec![1, 2]);
}

#[test]
fn cli_text_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = package_tree(dir.path());
    let rules_file = write(dir.path(), "t.toml", VIEW_RULES);
    let out = run_ok(
        bin()
            .arg("guards")
            .arg(&root)
            .arg("--rules")
            .arg(&rules_file),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("3 findings in 3 files (2 likely, 1 possible)"),
        "{text}"
    );
    assert!(
        text.contains("fix: for k, v in getattr(result, 'view', None).items():"),
        "{text}"
    );
    let likely_at = text.find("renderer.py").unwrap_or(usize::MAX);
    let possible_at = text.find("displays.py").unwrap_or(0);
    assert!(likely_at < possible_at, "likely files come first:\n{text}");

    let doc =
        common::run_json(
            bin()
                .arg("guards")
                .arg(&root)
                .args(["--preset", "strategy-a", "--json"]),
        );
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["likely"], 2);
    assert_eq!(doc["findings"].as_array().map(Vec::len), Some(3));
    assert_eq!(doc["findings"][0]["attr"], "view");
    assert_eq!(doc["findings"][0]["line"], 2);
    assert_eq!(doc["findings"][0]["confidence"], "likely");

    // No rules: a command-line error, exit 2. A missing source: invalid input, exit 2.
    let out = bin().arg("guards").arg(&root).output();
    assert_eq!(out.map(|o| o.status.code()).ok().flatten(), Some(2));
    let out = bin()
        .arg("guards")
        .arg(dir.path().join("missing"))
        .args(["--preset", "strategy-a"])
        .output()
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing: no such file or directory"), "{err}");
}

#[test]
fn pickle_tells_the_empty_value_of_the_fix() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let demo = dir.path().join("demo");
    run_ok(bin().arg("demo").arg(&demo).arg("--no-open"));
    let src = write(
        dir.path(),
        "renderer.py",
        "def f(results):\n    return [r for r in results if r.view]\n",
    );
    // The demo's views are collections.defaultdict(list): a dict, so `{}`.
    let out = run_ok(
        bin()
            .arg("guards")
            .arg(&src)
            .args(["--preset", "strategy-a", "--pickle"])
            .arg(&demo),
    );
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains("fix: return [r for r in results if getattr(r, 'view', {})]"),
        "{text}"
    );
}

/// In the explorer: Tab to the marks pane, `g` on a mark lists the reads of that attribute in
/// the `--source` tree, arrows scroll, another key closes; without `--source`, `g` is "first".
#[test]
fn explorer_g_on_a_mark_lists_its_reads() {
    use common::explorer::{open_app, press};
    use crossterm::event::KeyCode;
    use picklescope::tui::app::Modal;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let demo = dir.path().join("demo");
    picklescope::synth::write_demo(&demo, &picklescope::synth::DemoOptions::default())
        .unwrap_or_else(|e| panic!("demo: {e}"));
    let root = package_tree(dir.path());
    let marks = rules("[[transient]]\nclass = \"*.RawflagchansResults\"\nattrs = [\"view\"]\n");
    let mut app = open_app(&demo, marks, true);

    press(&mut app, KeyCode::Tab);
    assert!(app.marks_focus);
    press(&mut app, KeyCode::Char('g'));
    assert!(
        matches!(app.modal, Modal::None),
        "no --source: g stays 'first'"
    );

    app.guard_sources = vec![root];
    press(&mut app, KeyCode::Char('g'));
    let Modal::Guards { title, lines, .. } = &app.modal else {
        panic!("g opened no guards pane: {:?} {}", app.modal, app.status);
    };
    assert!(title.contains("RawflagchansResults.view"), "{title}");
    let text = lines.join("\n");
    // The renderer beside the class is likely; the demo's views are dicts, so the fix says {}.
    assert!(text.contains("rawflagchans/renderer.py"), "{text}");
    assert!(
        text.contains("fix: for k, v in getattr(result, 'view', {}).items():"),
        "{text}"
    );
    assert!(text.contains("likely"), "{text}");
    press(&mut app, KeyCode::Down);
    assert!(matches!(app.modal, Modal::Guards { scroll: 1, .. }));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.modal, Modal::None));
}
