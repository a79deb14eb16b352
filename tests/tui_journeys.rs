//! User journeys through the explorer: keys fed into the app, screens rendered on a
//! TestBackend, assertions on state and on what a person would see (insta snapshots).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use picklescope::context::resolve;
use picklescope::model::Model;
use picklescope::slim::Rules;
use picklescope::synth::{DemoOptions, write_demo};
use picklescope::tui::App;
use picklescope::tui::app::{Modal, Screen};
use picklescope::tui::keys::BINDINGS;
use picklescope::tui::view::Theme;
use ratatui::layout::Rect;

use common::explorer::{drawn, keys, press, render};

/// A person opens the demo context; every stage has been scanned.
fn open_demo(read_only: bool) -> (tempfile::TempDir, App) {
    common::explorer::open_demo(Rules::default(), read_only)
}

fn screen(app: &App, w: u16, h: u16) -> String {
    render(app, w, h, true)
}

/// Selects the stage whose task matches, via search, and opens it.
fn open_stage(app: &mut App, task: &str) {
    press(app, KeyCode::Char('/'));
    keys(app, task);
    press(app, KeyCode::Enter);
    press(app, KeyCode::Enter);
    assert_eq!(app.screen, Screen::Tree);
}

fn selected_name(app: &App) -> String {
    let m = app.tree_model().unwrap();
    let r = app.selected_row().unwrap();
    picklescope::model::label_text(m.graph(), m.data(), r.row.label)
}

#[test]
fn drill_to_the_largest_attribute_mark_it_see_the_saving_undo_write_and_quit() {
    let (dir, mut app) = open_demo(false);
    let first = screen(&app, 100, 30);
    assert!(first.contains("hif_rawflagchans"), "{first}");
    assert!(first.contains("Stages"));
    insta::assert_snapshot!("stages_100x30", first);

    open_stage(&mut app, "rawflagchans");
    // The stage's root: a ResultsList whose results list is the largest row.
    assert_eq!(selected_name(&app), "_ResultsList__results");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    // Inside one RawflagchansResults: `view` is the largest attribute, first by default.
    assert_eq!(selected_name(&app), "view");
    let before_total = app.total_after();
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.marks.rules.transient.len(), 1);
    assert!(
        app.marks.rules.transient[0]
            .class
            .ends_with("RawflagchansResults")
    );
    let after_total = app.total_after();
    assert!(
        after_total < before_total / 2,
        "{after_total} vs {before_total}"
    );
    let marked = screen(&app, 100, 30);
    assert!(marked.contains("What-if"), "{marked}");
    assert!(marked.contains("RawflagchansResults.view"));
    assert!(marked.contains("after marks"));
    insta::assert_snapshot!("tree_marked_100x30", marked);

    press(&mut app, KeyCode::Char('u'));
    assert!(app.marks.rules.transient.is_empty());
    assert_eq!(app.total_after(), app.total_bytes());
    press(&mut app, KeyCode::Char(' '));

    // Write: a confirmation lists the files before -> after; y applies.
    let stage4 = dir
        .path()
        .join("pipeline-demo/saved_state/result-stage4.pickle");
    let on_disk_before = std::fs::metadata(&stage4).unwrap().len();
    press(&mut app, KeyCode::Char('w'));
    assert_eq!(app.modal, Modal::ConfirmWrite);
    let confirm = screen(&app, 100, 30);
    assert!(confirm.contains("result-stage4.pickle"), "{confirm}");
    assert!(confirm.contains("y write"));
    insta::assert_snapshot!("write_confirm_100x30", confirm);
    let predicted = app
        .files
        .iter()
        .find(|f| f.file.path == stage4)
        .unwrap()
        .after
        .unwrap();
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.modal, Modal::None);
    assert!(app.status.starts_with("wrote 1 file"), "{}", app.status);
    let on_disk_after = std::fs::metadata(&stage4).unwrap().len();
    assert_eq!(on_disk_after, predicted);
    assert!(on_disk_after < on_disk_before / 10);
    // Marks were written: quitting does not ask.
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn back_from_a_stage_root_returns_to_the_stage_table() {
    let (_dir, mut app) = open_demo(false);
    open_stage(&mut app, "tsysflag");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    assert_eq!(app.screen, Screen::Stages);
}

#[test]
fn searching_jumps_to_matches_and_n_finds_the_next() {
    let (_dir, mut app) = open_demo(false);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    keys(&mut app, "flagging");
    assert!(screen(&app, 100, 30).contains("/flagging"));
    press(&mut app, KeyCode::Enter);
    assert_eq!(selected_name(&app), "flagging");
    // From the stage table, `n` cycles through tasks containing the query.
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Left);
    press(&mut app, KeyCode::Char('/'));
    keys(&mut app, "makeim");
    press(&mut app, KeyCode::Enter);
    let a = app.stage_sel;
    press(&mut app, KeyCode::Char('n'));
    assert!(app.stage_sel > a, "n moved from {a} to {}", app.stage_sel);
}

#[test]
fn help_lists_every_key_from_the_key_table() {
    let (_dir, mut app) = open_demo(false);
    press(&mut app, KeyCode::Char('?'));
    let s = screen(&app, 100, 40);
    for b in BINDINGS {
        assert!(s.contains(b.help), "help lacks {:?}\n{s}", b.help);
    }
    insta::assert_snapshot!("help_100x40", s);
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.modal, Modal::None);
}

#[test]
fn works_at_80x24_names_and_sizes_stay_visible() {
    let (_dir, mut app) = open_demo(false);
    let s = screen(&app, 80, 24);
    assert!(s.contains("hifa_importdata"));
    assert!(s.contains("KiB"));
    insta::assert_snapshot!("stages_80x24", s);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    let t = screen(&app, 80, 24);
    assert!(t.contains("view"));
    assert!(t.contains("MiB"));
    assert!(t.contains("flagging"));
    insta::assert_snapshot!("tree_marked_80x24", t);
}

#[test]
fn quitting_with_unsaved_marks_asks_first() {
    let (_dir, mut app) = open_demo(false);
    press(&mut app, KeyCode::Char('c'));
    assert_eq!(app.screen, Screen::Classes);
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(app.marks.rules.transient.len(), 1);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(app.modal, Modal::ConfirmQuit);
    press(&mut app, KeyCode::Char('n'));
    assert!(!app.quit);
    press(&mut app, KeyCode::Char('q'));
    press(&mut app, KeyCode::Char('y'));
    assert!(app.quit);
}

#[test]
fn ctrl_c_always_quits() {
    let (_dir, mut app) = open_demo(false);
    press(&mut app, KeyCode::Char('w'));
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
}

#[test]
fn marking_a_protected_attribute_asks_first() {
    let (_dir, mut app) = open_demo(false);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('/'));
    keys(&mut app, "qa");
    press(&mut app, KeyCode::Enter);
    assert_eq!(selected_name(&app), "qa");
    press(&mut app, KeyCode::Char(' '));
    assert!(matches!(app.modal, Modal::ConfirmProtected { .. }));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.marks.rules.transient.is_empty());
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(app.marks.rules.transient.len(), 1);
}

#[test]
fn read_only_sessions_never_write_and_export_writes_both_rule_formats() {
    let (dir, mut app) = open_demo(true);
    press(&mut app, KeyCode::Char('c'));
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char('w'));
    assert_eq!(app.modal, Modal::None);
    assert!(app.status.contains("read-only"));
    press(&mut app, KeyCode::Char('e'));
    let toml = std::fs::read_to_string(dir.path().join("pipeline-demo.transient.toml")).unwrap();
    let rules = Rules::parse(&toml, "export").unwrap();
    assert_eq!(rules, app.marks.rules);
    let py = std::fs::read_to_string(dir.path().join("pipeline-demo.transient_fields.py")).unwrap();
    assert!(py.contains("_transient_fields = ("));
}

#[test]
fn the_whatif_pane_removes_rules_and_detail_shows_opcodes() {
    let (_dir, mut app) = open_demo(false);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char('i'));
    assert_eq!(app.modal, Modal::Detail);
    let d = screen(&app, 100, 30);
    assert!(d.contains("first opcodes"), "{d}");
    assert!(
        d.contains("SHORT_BINUNICODE") || d.contains("BINUNICODE"),
        "{d}"
    );
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Tab);
    assert!(app.marks_focus);
    press(&mut app, KeyCode::Char(' '));
    assert!(app.marks.rules.transient.is_empty());
    assert_eq!(app.total_after(), app.total_bytes());
}

/// The rows of `view` inside one RawflagchansResults: eight long keys that differ at their end.
fn open_long_keys(app: &mut App) {
    open_stage(app, "rawflagchans");
    press(app, KeyCode::Enter); // _ResultsList__results
    press(app, KeyCode::Down);
    press(app, KeyCode::Enter); // [1] RawflagchansResults
    assert_eq!(selected_name(app), "view");
    press(app, KeyCode::Enter); // view
}

/// The name column of the tree rows in a rendered screen (between the marker and the type).
fn visible_names(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| l.starts_with("│▶ ") || l.starts_with("│  "))
        .filter_map(|l| l.get(l.find('"')?..))
        .map(|l| l.split("  ").next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn long_keys_are_elided_in_the_middle_and_stay_apart_at_80_and_200_columns() {
    let (_dir, mut app) = open_demo(false);
    open_long_keys(&mut app);
    let full: Vec<String> = {
        let m = app.tree_model().unwrap();
        app.level()
            .unwrap()
            .rows
            .iter()
            .map(|r| picklescope::model::label_text(m.graph(), m.data(), r.row.label))
            .collect()
    };
    assert!(full.len() >= 4, "{full:?}");
    assert!(full.iter().all(|n| n.chars().count() > 40), "{full:?}");
    for (w, snap) in [(80u16, "long_keys_80x24"), (200, "long_keys_200x30")] {
        let h = if w == 80 { 24 } else { 30 };
        let s = screen(&app, w, h);
        let names = visible_names(&s);
        assert_eq!(names.len(), full.len(), "{s}");
        // Every row is told apart: both ends of every key are on screen.
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{s}");
        for n in &names {
            assert!(n.starts_with("\"File:uid___A002"), "{n}\n{s}");
            assert!(n.contains("Pol:") || n.ends_with("SpW:17\""), "{n}\n{s}");
        }
        if w == 200 {
            // Wide enough: every key whole.
            for f in &full {
                assert!(s.contains(f.as_str()), "{f} missing at 200\n{s}");
            }
        } else {
            assert!(names.iter().all(|n| n.contains('…')), "{s}");
            // The selected row's full name is in the status line.
            let last = s.lines().last().unwrap();
            assert!(last.contains(full_selected(&app).as_str()), "{last}");
        }
        // Types and sizes keep their columns.
        assert!(s.contains("KiB") || s.contains("MiB"), "{s}");
        assert!(s.contains("list["), "{s}");
        insta::assert_snapshot!(snap, s);
    }
    // The detail view shows the whole name.
    press(&mut app, KeyCode::Char('i'));
    let d = screen(&app, 80, 24);
    let want = full_selected(&app);
    let joined: String = d.lines().map(|l| l.trim_matches('│').trim()).collect();
    assert!(joined.contains(&want), "{want}\n{d}");
}

fn full_selected(app: &App) -> String {
    selected_name(app)
}

#[test]
fn y_copies_the_selected_path_as_osc52_and_capital_y_the_marks_as_toml() {
    use base64::Engine;
    let (_dir, mut app) = open_demo(false);
    open_long_keys(&mut app);
    press(&mut app, KeyCode::Enter); // into the list of one key
    press(&mut app, KeyCode::Enter); // [0] ImageResult
    press(&mut app, KeyCode::Char('/'));
    keys(&mut app, "data");
    press(&mut app, KeyCode::Enter);
    assert_eq!(selected_name(&app), "data");
    keys(&mut app, "y");
    assert_eq!(app.copied.len(), 1);
    let path = app.copied[0].clone();
    assert!(
        path.starts_with("_ResultsList__results[") && path.ends_with("][0].data"),
        "{path}"
    );
    assert!(path.contains(".view[\"File:uid___A002_"), "{path}");
    assert!(path.contains(" Pol:"), "{path}");
    assert!(
        app.status.starts_with("copied _ResultsList__results["),
        "{}",
        app.status
    );
    assert!(app.status.contains("OSC 52"), "{}", app.status);
    // The bytes the terminal receives: ESC ] 52 ; c ; base64(path) BEL.
    let mut written = Vec::new();
    for t in app.outbox.drain(..) {
        picklescope::tui::clipboard::write_osc52(&mut written, &t).unwrap();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(path.as_bytes());
    assert_eq!(written, format!("\x1b]52;c;{b64}\x07").into_bytes());
    // The path resolves to the same node the model names for it.
    let m = app.tree_model().unwrap();
    assert_eq!(m.path(app.selected_row().unwrap().row.value), path);

    // Y: the marks as TOML, parseable as rules.
    keys(&mut app, "Y");
    assert!(app.status.contains("no marks"), "{}", app.status);
    keys(&mut app, "/flag_reason_plane");
    press(&mut app, KeyCode::Enter);
    keys(&mut app, " Y");
    assert!(
        app.status.starts_with("copied 1 mark as TOML"),
        "{}",
        app.status
    );
    let toml = app.outbox.pop().unwrap();
    assert_eq!(Rules::parse(&toml, "clipboard").unwrap(), app.marks.rules);
    assert_eq!(app.copied.len(), 2);
    // y still answers the write dialog there.
    press(&mut app, KeyCode::Char('w'));
    assert_eq!(app.modal, Modal::ConfirmWrite);
    press(&mut app, KeyCode::Char('y'));
    assert!(app.status.starts_with("wrote "), "{}", app.status);
    assert_eq!(app.copied.len(), 2);
}

fn mouse(app: &mut App, kind: MouseEventKind, col: u16, row: u16, at: Instant) {
    let ev = MouseEvent {
        kind,
        column: col,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(ev, Rect::new(0, 0, 100, 30), at);
}

/// A left click at (`col`, `row`) at time `at`.
fn click(app: &mut App, col: u16, row: u16, at: Instant) {
    mouse(app, MouseEventKind::Down(MouseButton::Left), col, row, at);
}

#[test]
fn mouse_wheel_scrolls_click_selects_double_click_opens_breadcrumb_goes_up() {
    let (_dir, mut app) = open_demo(false);
    let t0 = Instant::now();
    let s = screen(&app, 100, 30);
    // The stage table: top border on line 1, header on 2, first row on 3.
    let line_of =
        |s: &str, needle: &str| s.lines().position(|l| l.contains(needle)).unwrap() as u16;
    let y = line_of(&s, " hif_rawflagchans ");
    click(&mut app, 10, y, t0);
    assert_eq!(app.screen, Screen::Stages);
    let order = app.stage_order();
    assert_eq!(app.files[order[app.stage_sel]].task(), "hif_rawflagchans");
    // A second click on the same row soon after opens it.
    click(&mut app, 10, y, t0 + Duration::from_millis(200));
    assert_eq!(app.screen, Screen::Tree);
    assert_eq!(selected_name(&app), "_ResultsList__results");
    // Two clicks far apart in time are two single clicks.
    click(&mut app, 10, 3, t0 + Duration::from_secs(2));
    click(&mut app, 10, 3, t0 + Duration::from_secs(3));
    assert_eq!(app.tree.as_ref().unwrap().levels.len(), 1);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.tree.as_ref().unwrap().levels.len(), 3);
    // The wheel moves three rows at a time and stops at the ends.
    mouse(&mut app, MouseEventKind::ScrollDown, 50, 10, t0);
    assert_eq!(app.level().unwrap().sel, 3);
    mouse(&mut app, MouseEventKind::ScrollUp, 50, 10, t0);
    mouse(&mut app, MouseEventKind::ScrollUp, 50, 10, t0);
    assert_eq!(app.level().unwrap().sel, 0);
    // Clicking a row selects it; the screen shows it selected.
    let s = screen(&app, 100, 30);
    let y = line_of(&s, " flagging ");
    click(&mut app, 30, y, t0 + Duration::from_secs(9));
    assert_eq!(selected_name(&app), "flagging");
    assert!(
        screen(&app, 100, 30)
            .lines()
            .nth(y as usize)
            .unwrap()
            .starts_with("│▶")
    );
    // A click on the breadcrumb (the table's top border) goes up one level.
    click(&mut app, 20, 1, t0 + Duration::from_secs(20));
    assert_eq!(app.tree.as_ref().unwrap().levels.len(), 2);
    click(&mut app, 20, 1, t0 + Duration::from_secs(30));
    click(&mut app, 20, 1, t0 + Duration::from_secs(40));
    assert_eq!(app.screen, Screen::Stages);
    // Dialogs ignore the mouse; help closes on a click.
    press(&mut app, KeyCode::Char('?'));
    click(&mut app, 20, 10, t0 + Duration::from_secs(50));
    assert_eq!(app.modal, Modal::None);
}

/// The demo context twice: as written (BEFORE) and slimmed with strategy-a and `--backup`
/// semantics (AFTER; the originals kept as `<file>.orig`).
fn slimmed_demo() -> (tempfile::TempDir, picklescope::tui::compare::Compare) {
    use picklescope::slim::presets::{expand_bases, preset};
    use picklescope::slim::{SaveOptions, save_in_place, what_if};
    use picklescope::workspace::Workspace;
    let dir = tempfile::tempdir().unwrap();
    write_demo(dir.path(), &DemoOptions::default()).unwrap();
    let rules = expand_bases(&preset("strategy-a").unwrap());
    let source = resolve(dir.path(), None).unwrap();
    for f in &source.files {
        let m = Model::open(&f.path).unwrap();
        let w = what_if(&m, &rules).unwrap();
        if w.after != w.before {
            let opts = SaveOptions {
                backup: true,
                ..SaveOptions::default()
            };
            save_in_place(&m.doc, &w.plan.cuts, w.after, &opts).unwrap();
        }
    }
    // BEFORE: each file's backup where slimming made one (`picklescope DIR --backups`).
    let src_a = picklescope::tui::compare::backups_of(&resolve(dir.path(), None).unwrap()).unwrap();
    let wa = Workspace::load(src_a, &|_, _| {});
    let wb = Workspace::load(resolve(dir.path(), None).unwrap(), &|_, _| {});
    (dir, picklescope::tui::compare::Compare::new(wa, wb))
}

fn compare_screen(c: &picklescope::tui::compare::Compare, w: u16, h: u16) -> String {
    drawn(w, h, true, |f| {
        picklescope::tui::compare::draw(f, c, Theme { color: false })
    })
}

#[test]
fn compare_a_context_with_its_slimmed_copy_before_after_and_signed_deltas() {
    let (_dir, mut c) = slimmed_demo();
    let cpress = |c: &mut picklescope::tui::compare::Compare, code: KeyCode| {
        c.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    };
    // Totals from the diff engine add up: per-stage sizes sum to both totals.
    let sum_a: u64 = c.stages.iter().filter_map(|s| s.a_bytes).sum();
    let sum_b: u64 = c.stages.iter().filter_map(|s| s.b_bytes).sum();
    assert_eq!(sum_a, c.diff.a_total);
    assert_eq!(sum_b, c.diff.b_total);
    assert!(c.diff.b_total < c.diff.a_total / 2);
    // Largest change first: stage 4 (the rawflagchans views) leads, every delta is a saving.
    assert_eq!(c.stages[0].stage, Some(4));
    let deltas: Vec<i128> = c
        .stages
        .iter()
        .map(|s| s.b_bytes.unwrap() as i128 - s.a_bytes.unwrap() as i128)
        .collect();
    assert!(deltas.windows(2).all(|w| w[0].abs() >= w[1].abs()));
    assert!(deltas.iter().all(|&d| d <= 0));
    let s = compare_screen(&c, 110, 32);
    assert!(s.contains("picklescope compare"), "{s}");
    assert!(s.contains("read-only"));
    let first = s.lines().find(|l| l.starts_with("│▶")).unwrap();
    assert!(
        first.contains("hif_rawflagchans") && first.contains("-3."),
        "{first}"
    );
    insta::assert_snapshot!("compare_stages_110x32", s);

    // Open stage 4, then the results list and one result: `view` exists only before.
    cpress(&mut c, KeyCode::Enter);
    cpress(&mut c, KeyCode::Enter);
    cpress(&mut c, KeyCode::Enter);
    let l = c.level().unwrap();
    let top = &l.rows[0];
    assert_eq!(top.name, "view");
    assert!(top.a.is_some() && top.b.is_none());
    assert_eq!(top.delta(), -(top.a.unwrap().1 as i128));
    let s = compare_screen(&c, 110, 32);
    let row = s.lines().find(|l| l.starts_with("│▶ view")).unwrap();
    assert!(row.contains("− gone") && row.contains('—'), "{row}");
    // Rows present on both sides show both sizes; unchanged ones a zero delta.
    assert!(
        s.lines()
            .any(|l| l.contains(" stage_number ") && l.contains(" 0 B")),
        "{s}"
    );
    insta::assert_snapshot!("compare_tree_110x32", s);

    // Writing and marking are refused; y copies the row's path; ← walks back to the stages.
    c.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE));
    assert!(c.status.contains("read-only"), "{}", c.status);
    c.on_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert!(
        c.copied
            .last()
            .unwrap()
            .starts_with("_ResultsList__results[")
            && c.copied.last().unwrap().ends_with("].view"),
        "{:?}",
        c.copied
    );
    c.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    let h = compare_screen(&c, 110, 32);
    assert!(h.contains("copy the selected row's path"), "{h}");
    cpress(&mut c, KeyCode::Esc);
    for _ in 0..3 {
        cpress(&mut c, KeyCode::Left);
    }
    assert!(c.level().is_none());
    cpress(&mut c, KeyCode::Char('q'));
    assert!(c.quit);
}

#[test]
fn help_scrolls_on_a_short_terminal_and_every_key_is_reachable() {
    let (_dir, mut app) = open_demo(false);
    app.page = 4;
    app.size = (90, 12);
    press(&mut app, KeyCode::Char('?'));
    let first = screen(&app, 90, 12);
    assert!(first.contains("j/k scroll"), "{first}");
    insta::assert_snapshot!("help_scrolled_top_90x12", first);
    // Scroll to the end, collecting every line shown on the way.
    let mut seen = first.clone();
    for _ in 0..BINDINGS.len() {
        press(&mut app, KeyCode::Down);
        seen.push_str(&screen(&app, 90, 12));
    }
    assert_eq!(app.modal, Modal::Help, "arrows scroll, they do not close");
    for b in BINDINGS {
        assert!(
            seen.contains(&format!(" {:<7}", b.label)),
            "{} never shown",
            b.label
        );
    }
    let last = screen(&app, 90, 12);
    assert_ne!(first, last);
    assert!(last.contains("key closes this help"), "{last}");
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(screen(&app, 90, 12), first);
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.modal, Modal::None);
}

/// Every file of `app` as it is on disk now, as the watcher reports it.
fn look_now(app: &App) -> picklescope::tui::watch::Look {
    picklescope::tui::watch::Look {
        taken: Instant::now(),
        files: app
            .files
            .iter()
            .map(|f| picklescope::tui::watch::on_disk(&f.file.path))
            .collect(),
    }
}

/// Reads the files `r` asked for, as the event loop's loader does.
fn run_reloads(app: &mut App) {
    for i in std::mem::take(&mut app.reloads) {
        let r = Model::open(&app.files[i].file.path);
        app.file_loaded(i, r);
    }
}

#[test]
fn a_stage_rewritten_on_disk_is_marked_refused_for_writing_and_reloaded_with_the_marks() {
    let (dir, mut app) = open_demo(false);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    assert_eq!(selected_name(&app), "view");
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Down);
    let selected = selected_name(&app);
    let stage4 = dir
        .path()
        .join("pipeline-demo/saved_state/result-stage4.pickle");
    let original = std::fs::read(&stage4).unwrap();
    let idx = app
        .files
        .iter()
        .position(|f| f.file.path == stage4)
        .unwrap();
    let predicted = app.files[idx].after.unwrap();

    // Nothing changed: a look says nothing, r has nothing to do.
    assert!(!app.on_disk(&look_now(&app)));
    press(&mut app, KeyCode::Char('r'));
    assert!(app.reloads.is_empty());
    assert!(app.status.contains("no file changed"), "{}", app.status);

    // The pipeline starts rewriting the stage: open('wb') truncates it first.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&stage4)
        .unwrap();
    assert!(app.on_disk(&look_now(&app)));
    assert!(!app.on_disk(&look_now(&app)), "told once");
    let s = screen(&app, 100, 30);
    assert!(s.contains("CHANGED ON DISK: result-stage4.pickle"), "{s}");
    assert!(s.contains("RawflagchansResults [changed on disk]"), "{s}");
    // What was read stays shown (it is held in memory, nothing is mapped).
    assert_eq!(selected_name(&app), selected);
    press(&mut app, KeyCode::Char('i'));
    assert_eq!(app.modal, Modal::Detail);
    press(&mut app, KeyCode::Esc);

    // w is refused and says why; the file is not touched.
    press(&mut app, KeyCode::Char('w'));
    let Modal::Message { title, text } = app.modal.clone() else {
        panic!("w on a changed file: {:?}", app.modal)
    };
    assert_eq!(title, "Not written");
    assert!(
        text.contains(&format!(
            "{} changed on disk; press r to reload",
            stage4.display()
        )),
        "{text}"
    );
    assert_eq!(std::fs::metadata(&stage4).unwrap().len(), 0);
    press(&mut app, KeyCode::Esc);

    // r while the file is empty: the read fails, the row says so, the tree goes back to Stages.
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.reloads, vec![idx]);
    assert!(screen(&app, 100, 30).contains("reloading…"));
    run_reloads(&mut app);
    assert!(app.files[idx].error.is_some());
    assert!(!app.files[idx].changed);
    assert_eq!(app.screen, Screen::Stages);
    assert!(!screen(&app, 100, 30).contains("CHANGED ON DISK"));

    // The pipeline finishes writing: changed again; r reads it, the marks stay and apply.
    std::fs::write(&stage4, &original).unwrap();
    assert!(app.on_disk(&look_now(&app)));
    press(&mut app, KeyCode::Char('r'));
    run_reloads(&mut app);
    assert!(app.files[idx].error.is_none(), "{:?}", app.files[idx].error);
    assert_eq!(app.marks.rules.transient.len(), 1);
    assert_eq!(app.files[idx].after, Some(predicted));
    assert!(
        app.status.contains("reloaded result-stage4.pickle"),
        "{}",
        app.status
    );
    press(&mut app, KeyCode::Char('w'));
    assert_eq!(app.modal, Modal::ConfirmWrite);
    press(&mut app, KeyCode::Char('y'));
    assert_eq!(std::fs::metadata(&stage4).unwrap().len(), predicted);
    // Our own write is not a change on disk.
    assert!(!app.on_disk(&look_now(&app)));
}

#[test]
fn a_reload_keeps_the_place_in_the_tree() {
    let (dir, mut app) = open_demo(false);
    open_stage(&mut app, "rawflagchans");
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    let crumbs_before: Vec<String> = app
        .tree
        .as_ref()
        .unwrap()
        .levels
        .iter()
        .map(|l| l.crumb.clone())
        .collect();
    let selected = selected_name(&app);
    let stage4 = dir
        .path()
        .join("pipeline-demo/saved_state/result-stage4.pickle");
    // Rewritten with the same content, as a resumed pipeline would.
    let bytes = std::fs::read(&stage4).unwrap();
    std::fs::write(&stage4, &bytes).unwrap();
    assert!(app.on_disk(&look_now(&app)));
    press(&mut app, KeyCode::Char('r'));
    run_reloads(&mut app);
    let crumbs_after: Vec<String> = app
        .tree
        .as_ref()
        .unwrap()
        .levels
        .iter()
        .map(|l| l.crumb.clone())
        .collect();
    assert_eq!(crumbs_after, crumbs_before);
    assert_eq!(selected_name(&app), selected);
}

/// While a large file is read and parsed, the header and the empty tree say how far: the
/// read from disk first, then the parse, then "sizing…" once every byte is parsed. Driven
/// through the same progress record the background load writes.
#[test]
fn a_pending_file_shows_how_far_its_read_and_parse_have_got() {
    use picklescope::pickle::progress::reporting;
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("big.pickle");
    // A list of 400,000 small ints at protocol 2: about 2 MB, so the parse reports on the way.
    let mut data = vec![0x80, 2, b']', b'('];
    for i in 0..400_000u32 {
        data.push(b'J');
        data.extend_from_slice(&i.to_le_bytes());
    }
    data.extend_from_slice(b"e.");
    std::fs::write(&path, &data).unwrap();
    let source = resolve(&path, None).unwrap();
    let app = App::new(source, Rules::default(), true);
    assert!(screen(&app, 100, 12).contains("scanning…"));
    assert!(
        !screen(&app, 100, 12).contains('%'),
        "no figure before the read starts"
    );
    let progress = app.files[0].progress.clone();
    let file = app.files[0].file.clone();
    // Read only (no parse): the record says reading, all of it.
    let raw = reporting(&progress, || {
        picklescope::model::doc::RawFile::open(&file.path)
    });
    assert!(raw.is_ok());
    let s = screen(&app, 100, 12);
    assert!(s.contains("scanning 0/1 · reading 100% of 1.91 MiB"), "{s}");
    assert!(s.contains("scanning… · reading 100% of 1.91 MiB"), "{s}");
    // Read and parsed: nothing left but the sizes.
    let model = reporting(&progress, || file.open());
    assert!(model.is_ok());
    let s = screen(&app, 100, 12);
    assert!(s.contains("scanning… · sizing…"), "{s}");
    assert_eq!(progress.get(), (data.len() as u64, data.len() as u64));
}
