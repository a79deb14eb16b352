//! TUI responsiveness on a stage with more than a million nodes: keystroke → new frame, and
//! opening the million-item list, rendered into a 100x40 TestBackend.
//!
//! `cargo bench --bench tui`. The target: a keystroke to its new frame under 16 ms.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use picklescope::context::resolve;
use picklescope::model::{Model, label_text};
use picklescope::slim::Rules;
use picklescope::synth::{EncodeOptions, Rng, Value, write_pickle};
use picklescope::tui::App;
use picklescope::tui::app::Screen;
use picklescope::tui::view::{Theme, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

// The binary's allocator (huge pages for large blocks), so frames are timed as users get them.
#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

/// Items in the big list: each a small dict `{'ant': int, 'amp': float}` (3 nodes each).
const ITEMS: usize = 1_000_000;

/// A rawflagchans-like result whose `samples` attribute is a list of `ITEMS` small dicts.
fn write_big_stage(path: &Path) {
    let mut rng = Rng::new(11);
    let items: Vec<Value> = (0..ITEMS)
        .map(|i| {
            Value::dict([
                ("ant", Value::Int((i % 43) as i64)),
                ("amp", Value::Float(rng.normal(1.0, 0.1))),
            ])
        })
        .collect();
    let root = Value::instance(
        "pipeline.hif.tasks.rawflagchans.resultobjects",
        "RawflagchansResults",
        [
            ("samples", Value::List(items)),
            ("vis", Value::str("uid___A002_X1_X2.ms")),
            ("stage_number", Value::Int(4)),
        ],
    );
    let f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    write_pickle(f, &root, &EncodeOptions::default()).expect("write");
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn selected_name(app: &App) -> String {
    let m = app.tree_model().expect("model");
    let r = app.selected_row().expect("row");
    label_text(m.graph(), m.data(), r.row.label)
}

fn rows_shown(app: &App) -> usize {
    app.level().map(|l| l.rows.len()).unwrap_or(0)
}

fn tui(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("result-stage4.pickle");
    write_big_stage(&path);
    let source = resolve(&path, None).expect("resolve");

    let t = Instant::now();
    let model = Model::open(&path);
    let parsed = t.elapsed();
    let nodes = model.as_ref().expect("parse").graph().nodes.len();
    assert!(nodes >= 1_000_000, "only {nodes} nodes");
    let mut app = App::new(source, Rules::default(), false);
    let t = Instant::now();
    app.file_loaded(0, model);
    let loaded = t.elapsed();
    assert_eq!(app.screen, Screen::Tree);
    eprintln!(
        "stage: {} bytes, {nodes} nodes; Model::open {parsed:?}, file_loaded {loaded:?}",
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
    );
    assert_eq!(selected_name(&app), "samples");

    let mut term = Terminal::new(TestBackend::new(100, 40)).expect("terminal");
    let theme = Theme { color: false };
    term.draw(|f| draw(f, &app, theme)).expect("draw");

    // Opening the million-item list: Enter, then its frame (the level is closed untimed).
    {
        let mut g2 = c.benchmark_group("tui_1M_nodes_open");
        g2.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5));
        g2.bench_function("enter_big_list_to_frame", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    press(&mut app, KeyCode::Enter);
                    term.draw(|f| draw(f, &app, theme)).expect("draw");
                    total += t.elapsed();
                    assert_eq!(rows_shown(&app), ITEMS);
                    press(&mut app, KeyCode::Left);
                }
                total
            })
        });
        g2.finish();
    }

    press(&mut app, KeyCode::Enter);
    assert_eq!(rows_shown(&app), ITEMS);
    term.draw(|f| draw(f, &app, theme)).expect("draw");

    let mut grp = c.benchmark_group("tui_1M_nodes");
    grp.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // Keystroke → frame inside the million-item list.
    for (name, key) in [
        ("down_to_frame", KeyCode::Down),
        ("page_down_to_frame", KeyCode::PageDown),
    ] {
        grp.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if app.level().is_some_and(|l| l.sel + 1000 >= l.rows.len()) {
                        press(&mut app, KeyCode::Home);
                    }
                    let t = Instant::now();
                    press(&mut app, key);
                    term.draw(|f| draw(f, &app, theme)).expect("draw");
                    total += t.elapsed();
                }
                total
            })
        });
    }
    grp.bench_function("redraw_only", |b| {
        b.iter(|| {
            term.draw(|f| draw(f, black_box(&app), theme))
                .expect("draw");
        })
    });
    grp.finish();

    // Keystroke → frame at the stage's root (three rows, the big list among them).
    press(&mut app, KeyCode::Left);
    let mut grp = c.benchmark_group("tui_1M_nodes_root");
    grp.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    grp.bench_function("down_or_up_to_frame", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let key = if i % 2 == 0 {
                    KeyCode::Down
                } else {
                    KeyCode::Up
                };
                let t = Instant::now();
                press(&mut app, key);
                term.draw(|f| draw(f, &app, theme)).expect("draw");
                total += t.elapsed();
            }
            total
        })
    });
    grp.finish();
}

criterion_group!(benches, tui);
criterion_main!(benches);
