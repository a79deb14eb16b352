//! Driving the explorer without a terminal: an `App` over a path with every file loaded, key
//! presses, and the screen a TestBackend draws, as text.

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use picklescope::context::resolve;
use picklescope::slim::Rules;
use picklescope::synth::{DemoOptions, write_demo};
use picklescope::tui::App;
use picklescope::tui::view::{Theme, draw};
use ratatui::backend::TestBackend;
use ratatui::{Frame, Terminal};

/// The explorer over `path` (a file or a context) with every file loaded, as the event loop
/// leaves it once the background loads are in.
pub fn open_app(path: &Path, rules: Rules, read_only: bool) -> App {
    let source = resolve(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut app = App::new(source, rules, read_only);
    let files: Vec<_> = app.files.iter().map(|f| f.file.clone()).collect();
    for (i, f) in files.iter().enumerate() {
        app.file_loaded(i, f.open());
    }
    app
}

/// A person opens the demo context (written to a fresh directory, which also receives what
/// the explorer exports); every stage has been scanned.
pub fn open_demo(rules: Rules, read_only: bool) -> (tempfile::TempDir, App) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    write_demo(dir.path(), &DemoOptions::default()).unwrap_or_else(|e| panic!("demo: {e}"));
    let mut app = open_app(dir.path(), rules, read_only);
    app.export_dir = dir.path().to_path_buf();
    (dir, app)
}

pub fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Types `s`, one key per character.
pub fn keys(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

/// What the explorer draws on a `w` x `h` terminal without colours, one line per row (with
/// `trim`, each row without its trailing blanks).
pub fn render(app: &App, w: u16, h: u16, trim: bool) -> String {
    drawn(w, h, trim, |f| draw(f, app, Theme { color: false }))
}

/// What `paint` draws on a `w` x `h` TestBackend, as text (see [`render`]).
pub fn drawn(w: u16, h: u16, trim: bool, paint: impl FnOnce(&mut Frame)) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    t.draw(paint).unwrap_or_else(|e| panic!("draw: {e}"));
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(if trim { line.trim_end() } else { &line });
        out.push('\n');
    }
    out
}
