//! The explorer on plain terminals: ASCII frames, help that scrolls at any size, size columns
//! that keep their units when narrow, and the message shown when files cannot be written.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use crossterm::event::KeyCode;
use picklescope::fmt::size_in;
use picklescope::slim::Rules;
use picklescope::synth::{DemoOptions, write_demo};
use picklescope::tui::App;
use picklescope::tui::app::Modal;
use picklescope::tui::keys::BINDINGS;

use common::explorer::{open_demo, press, render};

fn screen(app: &mut App, w: u16, h: u16) -> String {
    app.size = (w, h);
    app.page = h.saturating_sub(8) as usize;
    render(app, w, h, false)
}

fn strategy_a() -> Rules {
    picklescope::slim::presets::expand_bases(
        &picklescope::slim::presets::preset("strategy-a").unwrap(),
    )
}

#[test]
fn ascii_frames_hold_no_byte_above_127_on_any_screen() {
    let (_d, mut app) = open_demo(strategy_a(), false);
    let unicode = screen(&mut app, 100, 30);
    assert!(
        unicode.bytes().any(|b| b > 127),
        "positive control: the UTF-8 look draws box and block glyphs"
    );
    app.ascii = true;
    let mut frames = vec![("stages", screen(&mut app, 100, 30))];
    press(&mut app, KeyCode::Enter);
    frames.push(("tree", screen(&mut app, 100, 30)));
    press(&mut app, KeyCode::Char('?'));
    frames.push(("help", screen(&mut app, 100, 30)));
    press(&mut app, KeyCode::Char('x'));
    press(&mut app, KeyCode::Char('w'));
    assert!(
        matches!(app.modal, Modal::ConfirmWrite | Modal::Message { .. }),
        "{:?}",
        app.modal
    );
    frames.push(("write", screen(&mut app, 100, 30)));
    frames.push(("narrow", screen(&mut app, 40, 10)));
    for (name, f) in &frames {
        let high: Vec<char> = f.chars().filter(|c| !c.is_ascii()).collect();
        assert!(high.is_empty(), "{name}: non-ASCII {high:?}\n{f}");
    }
    let stages = &frames[0].1;
    assert!(stages.contains("+--"), "ASCII borders:\n{stages}");
    assert!(stages.contains('#'), "ASCII share bars:\n{stages}");
    assert!(stages.contains('>'), "ASCII selection marker:\n{stages}");
    assert!(
        frames[2].1.contains("Enter/Right/l"),
        "key names in words:\n{}",
        frames[2].1
    );
}

#[test]
fn help_scrolls_to_every_key_at_40x10() {
    let (_d, mut app) = open_demo(Rules::default(), false);
    press(&mut app, KeyCode::Char('?'));
    let first = screen(&mut app, 40, 10);
    assert!(first.contains(BINDINGS[0].help), "{first}");
    let last = BINDINGS.last().unwrap();
    let last_start: String = last.help.chars().take(20).collect();
    assert!(
        !first.contains(&last_start),
        "40x10 cannot show all keys at once"
    );
    assert!(
        first.contains("scroll"),
        "the title says how to scroll:\n{first}"
    );
    // j moves one line at a time; every key's help shows up on the way down.
    let mut seen = vec![false; BINDINGS.len()];
    for _ in 0..BINDINGS.len() + 8 {
        let s = screen(&mut app, 40, 10);
        for (k, b) in BINDINGS.iter().enumerate() {
            let start: String = b.help.chars().take(20).collect();
            seen[k] |= s.contains(&start);
        }
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.modal, Modal::Help, "j scrolls, it does not close");
    }
    let missing: Vec<&str> = BINDINGS
        .iter()
        .zip(&seen)
        .filter(|(_, s)| !**s)
        .map(|(b, _)| b.help)
        .collect();
    assert!(missing.is_empty(), "never shown: {missing:?}");
    // Scrolled to the end, one k brings the line above back; g goes to the top.
    let end = screen(&mut app, 40, 10);
    assert!(end.contains(&last_start), "{end}");
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(screen(&mut app, 40, 10), first);
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.modal, Modal::None, "any other key closes");
}

#[test]
fn size_columns_keep_their_units_at_40_columns() {
    let (_d, mut app) = open_demo(Rules::default(), false);
    let s = screen(&mut app, 40, 12);
    let mut checked = 0;
    for f in &app.files {
        let text = size_in(f.bytes, 10);
        if s.contains(&text) {
            checked += 1;
        }
    }
    assert!(checked >= 5, "sizes with units on screen ({checked}):\n{s}");
    // No size is cut before its unit: every number in the size column is followed by one.
    for line in s.lines().skip(3) {
        let line = line.replace(['│', '|'], " ");
        let cells: Vec<&str> = line.split_whitespace().collect();
        for (k, c) in cells.iter().enumerate() {
            let number = c.chars().all(|ch| ch.is_ascii_digit() || ch == '.') && c.contains('.');
            if number {
                let unit = cells.get(k + 1).copied().unwrap_or("");
                assert!(
                    ["B", "KiB", "MiB", "GiB"].contains(&unit),
                    "{c} without its unit in {line:?}\n{s}"
                );
            }
        }
    }
}

#[test]
fn size_in_keeps_the_unit_within_the_width() {
    for b in [
        0u64,
        999,
        1023 * 1024 + 1000,
        1000 * 1024 * 1024,
        1023 << 30,
        u64::MAX / 2,
    ] {
        let s = size_in(b, 10);
        assert!(s.len() <= 10, "{b}: {s}");
        assert!(s.ends_with('B'), "{b}: {s}");
    }
}

/// A private tmux server running one command in a 100x30 window, killed on drop.
struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    fn start(cmd: &str) -> Tmux {
        let dir = tempfile::tempdir().unwrap();
        let t = Tmux { dir };
        // The command waits for `go`, made once the pane's output is piped to the log: a
        // busy machine would otherwise draw the first frames before the pipe exists.
        let go = t.dir.path().join("go");
        let gated = format!(
            "while [ ! -e {go} ]; do sleep 0.02; done; {cmd}",
            go = sh_quote(&go)
        );
        let ok = t
            .cmd(&[
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "100",
                "-y",
                "30",
                &gated,
            ])
            .status
            .success();
        assert!(ok, "tmux new-session (CI installs tmux)");
        let raw = t.dir.path().join("raw.log");
        t.cmd(&[
            "pipe-pane",
            "-o",
            "-t",
            "t",
            &format!("cat >> {}", raw.display()),
        ]);
        std::fs::write(&go, b"").unwrap();
        t
    }
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("sock"))
            .args(args)
            .output()
            .expect("tmux (CI installs it)")
    }
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }
    /// Waits up to 20 s for `text` on screen.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |s| s.contains(text))
    }
    /// Waits up to 20 s for a screen that passes `ok`.
    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        for _ in 0..200 {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("never saw {what}:\n{}", self.screen());
    }
    /// Waits until every file is scanned (the footer's "scanning n/m" is gone).
    fn wait_scanned(&self) -> String {
        self.wait_until("the scan finish", |s| {
            s.contains("What-if") && !s.contains("scanning")
        })
    }
    fn keys(&self, k: &str) {
        self.cmd(&["send-keys", "-t", "t", k]);
    }
    /// Every byte the program wrote to the terminal so far.
    /// Waits until the log has stopped growing for 300 ms (at most 5 s): what the program
    /// wrote last may still be on its way through tmux and `cat`.
    fn raw(&self) -> Vec<u8> {
        let read = || std::fs::read(self.dir.path().join("raw.log")).unwrap_or_default();
        let mut last = read();
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = read();
            if now.len() == last.len() && !now.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let again = read();
                if again.len() == now.len() {
                    return again;
                }
                last = again;
            } else {
                last = now;
            }
        }
        last
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn sh_quote(p: &std::path::Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn under_lc_all_c_the_real_terminal_gets_no_byte_above_127() {
    let d = tempfile::tempdir().unwrap();
    write_demo(d.path(), &DemoOptions::default()).unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_picklescope"));
    for term in ["xterm", "vt100", "screen"] {
        let t = Tmux::start(&format!(
            "env LC_ALL=C TERM={term} {} {} --preset strategy-a; sleep 5",
            sh_quote(bin),
            sh_quote(d.path())
        ));
        let s = t.wait_scanned();
        assert!(s.contains("+ Stages --"), "{term}: ASCII borders\n{s}");
        t.keys("?");
        let help = t.wait_for("Keys");
        assert!(help.contains("Enter/Right/l"), "{term}:\n{help}");
        t.keys("x");
        t.keys("Enter");
        t.wait_for("retained");
        t.keys("q");
        let raw = t.raw();
        assert!(
            raw.len() > 2000,
            "{term}: frames were recorded ({} bytes)",
            raw.len()
        );
        let high = raw.iter().filter(|b| **b > 127).count();
        assert_eq!(high, 0, "{term}: {high} bytes above 127 written");
    }
    // Positive control: a UTF-8 locale gets the box-drawing look.
    let t = Tmux::start(&format!(
        "env LC_ALL=C.UTF-8 TERM=xterm-256color {} {}; sleep 5",
        sh_quote(bin),
        sh_quote(d.path())
    ));
    t.wait_for("Stages");
    t.keys("q");
    assert!(t.raw().iter().any(|b| *b > 127), "UTF-8 look uses glyphs");
}

#[test]
fn w_on_files_in_a_locked_directory_says_why_before_asking() {
    let d = tempfile::tempdir().unwrap();
    write_demo(d.path(), &DemoOptions::default()).unwrap();
    let _locked = common::read_only_tree(d.path());
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let root = unsafe { libc::geteuid() } == 0;
    // nobody must reach the binary too.
    let (_exe_dir, exe) = common::public_binary();
    let bin = if root {
        exe.as_path()
    } else {
        std::path::Path::new(env!("CARGO_BIN_EXE_picklescope"))
    };
    // root may write anywhere: run as nobody then.
    let who = if root {
        "setpriv --reuid=65534 --regid=65534 --clear-groups "
    } else {
        ""
    };
    let t = Tmux::start(&format!(
        "{who}env LC_ALL=C.UTF-8 TERM=xterm {} {} --preset strategy-a; sleep 5",
        sh_quote(bin),
        sh_quote(d.path())
    ));
    t.wait_scanned();
    t.keys("w");
    let s = t.wait_for("Cannot write");
    assert!(s.contains("cannot create files in"), "{s}");
    assert!(s.contains("result-stage4.pickle"), "{s}");
    assert!(!s.contains("n cancel"), "no confirmation is offered:\n{s}");
    t.keys("x");
    t.keys("q");
    drop(t);
}
