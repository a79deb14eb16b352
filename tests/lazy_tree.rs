//! The explorer on a lean graph against the explorer on the full one: on a generated
//! object-heavy pickle (read in windows, sparsely), the committed fixtures and the shared
//! real-world corpus, every level's rows — names, kinds, spans, inline and listed sizes —
//! are the same, at the top and after opening containers kept as spans several levels down.

mod common;

use std::collections::VecDeque;
use std::path::Path;

use picklescope::model::{Model, Row, label_text, type_text};
use picklescope::pickle::NodeId;
use picklescope::tui::state::listed_size;

/// Levels compared per file at most, and items of each level followed.
const LEVELS: usize = 400;
const FOLLOW: usize = 12;

fn show(m: &Model, rows: &[Row]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} | {} | {:?} | inline {} | listed {}",
                label_text(m.graph(), m.data(), r.label),
                type_text(m, r.value, true),
                r.span,
                m.inline_span(r.span),
                listed_size(m, r.span, rows.len())
            )
        })
        .collect()
}

/// Reads what the lean model needs to show `id` as a level.
fn ready(m: &mut Model, id: NodeId) {
    let mut rounds = 0;
    while let Some(job) = m.job_for(id) {
        let read = job.run().unwrap();
        m.add_read(read).unwrap();
        rounds += 1;
        assert!(rounds < 4, "no end to what node {id} needs");
    }
}

/// Compares the two explorers level by level; returns how many levels opened a container
/// the lean graph kept as a span.
fn compare(name: &str, full: &Model, lean: &mut Model) -> usize {
    let mut opened = 0;
    let mut queue = VecDeque::from([(full.graph().root(), lean.graph().root(), 0usize)]);
    let mut levels = 0;
    while let Some((f, l, depth)) = queue.pop_front() {
        if levels >= LEVELS {
            break;
        }
        levels += 1;
        let hollow = lean.is_hollow(l);
        ready(lean, l);
        opened += usize::from(hollow);
        let (fr, lr) = if depth == 0 {
            (full.top_rows(), lean.top_rows())
        } else {
            (full.rows(f), lean.rows(l))
        };
        let (a, b) = (show(full, &fr), show(lean, &lr));
        assert_eq!(
            a, b,
            "{name}: level at depth {depth} (full node {f}, lean node {l})"
        );
        for (x, y) in fr.iter().zip(&lr).take(FOLLOW) {
            if !full.rows(x.value).is_empty() {
                queue.push_back((x.value, y.value, depth + 1));
            }
        }
    }
    opened
}

/// Compares one file when the lean machine takes it; `Some(levels opened)` then.
fn file(path: &Path) -> Option<usize> {
    let full = Model::open(path).ok()?;
    let mut lean = Model::open_lean(path).ok()?;
    if !lean.is_lean() || lean.doc.compressed.is_some() {
        return None;
    }
    Some(compare(&path.display().to_string(), &full, &mut lean))
}

#[test]
fn lazy_levels_equal_full_levels_on_a_generated_object_heavy_pickle() {
    let test = "lazy_levels_equal_full_levels_on_a_generated_object_heavy_pickle";
    if common::no_python(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let oh = dir.path().join("objheavy.pickle");
    let o = std::process::Command::new("python3")
        .arg(common::root().join("tools").join("gen_fixtures.py"))
        .args(["objheavy", &oh.display().to_string(), "--mb", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lean = Model::open_lean(&oh).unwrap();
    // Read in windows: the bytes of what is opened are copied in on demand.
    assert!(lean.doc.copied_bytes().is_some(), "not read sparsely");
    let opened = file(&oh).expect("the lean machine took it");
    assert!(
        opened >= 10,
        "only {opened} containers kept as spans opened"
    );
    explorer_screens_match(&oh);
}

/// The explorer itself, on the full model and on the lean one read in windows: the same
/// screens five levels down the largest rows, and a mark refused in one line on the lean one.
fn explorer_screens_match(path: &Path) {
    use crossterm::event::KeyCode;
    use picklescope::model::Doc;
    use picklescope::tui::App;

    let open = |lean: bool| {
        let source = picklescope::context::resolve(path, None).unwrap();
        let mut app = App::new(source, picklescope::slim::Rules::default(), false);
        let model = if lean {
            let doc = Doc::open_windowed(path, 0, picklescope::pickle::window::WINDOW);
            Model::new(doc.unwrap().unwrap())
        } else {
            Model::open(path).unwrap()
        };
        app.file_loaded(0, Ok(model));
        app
    };
    let (mut full, mut lean) = (open(false), open(true));
    assert!(lean.tree_model().unwrap().is_lean());
    for depth in 0..5 {
        let (a, b) = (
            common::explorer::render(&full, 110, 30, true),
            common::explorer::render(&lean, 110, 30, true),
        );
        assert_eq!(a, b, "screens differ at depth {depth}");
        assert!(
            lean.opening.is_none(),
            "a read of a few MB went to the background"
        );
        common::explorer::press(&mut full, KeyCode::Enter);
        common::explorer::press(&mut lean, KeyCode::Enter);
    }
    assert_eq!(
        lean.level().map(|l| l.rows.len()),
        full.level().map(|l| l.rows.len())
    );
    for _ in 0..3 {
        common::explorer::press(&mut lean, KeyCode::Left);
    }
    common::explorer::press(&mut lean, KeyCode::Char(' '));
    assert!(lean.marks.rules.transient.is_empty());
    assert!(
        lean.status.contains("opened without its full parse"),
        "{}",
        lean.status
    );
}

#[test]
fn lazy_levels_equal_full_levels_on_the_fixtures() {
    let mut files = Vec::new();
    files.extend(common::files_under(
        &common::root().join("tests").join("fixtures"),
    ));
    let (mut took, mut opened) = (0, 0);
    for f in &files {
        if let Some(n) = file(f) {
            took += 1;
            opened += n;
        }
    }
    eprintln!("{took} fixtures lean, {opened} containers opened");
    assert!(took > 30 && opened > 100, "{took} files, {opened} opened");
}

#[test]
fn lazy_levels_equal_full_levels_on_the_real_world_corpus() {
    let test = "lazy_levels_equal_full_levels_on_the_real_world_corpus";
    let Some(corpus) = common::realworld_corpus(test) else {
        return;
    };
    let mut files = Vec::new();
    files.extend(common::files_under(&corpus));
    let (mut took, mut opened) = (0, 0);
    for f in &files {
        if let Some(n) = file(f) {
            took += 1;
            opened += n;
        }
    }
    eprintln!("{took} corpus files lean, {opened} containers opened");
    assert!(took > 10 && opened > 10, "{took} files, {opened} opened");
}
