//! Signals and live files to the explorer in a real terminal (tmux): SIGTERM, SIGHUP, SIGINT
//! and SIGQUIT give the terminal back (main screen, cursor shown) and end it with 128 + the
//! signal's number; SIGTSTP and Ctrl-Z give it back and stop the process, SIGCONT takes it
//! again and redraws; a stage file truncated under it is noticed, never written, and reloaded.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{bin, tempdir};

/// Waits (bounded, not timed) until `check` holds for what tmux shows.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never happened: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The explorer in its own tmux server (a private socket: no other test or user's sessions
/// share it, and ending it cannot race with theirs), killed on drop.
struct Session {
    dir: tempfile::TempDir,
    name: String,
    pid: i32,
}

impl Session {
    /// The explorer on `ctx` in a new 80x24 tmux session, once its stages are shown.
    fn start(name: &str, ctx: &Path) -> Session {
        Session::start_sized(name, ctx, 80, 24)
    }

    /// The explorer on `ctx` in a new `w`x`h` tmux session, once its stages are shown.
    fn start_sized(name: &str, ctx: &Path, w: u16, h: u16) -> Session {
        Session::start_env(name, ctx, w, h, "")
    }

    /// Like [`Session::start_sized`], with `env` (`NAME=value `) before the command.
    fn start_env(name: &str, ctx: &Path, w: u16, h: u16, env: &str) -> Session {
        let cmd = format!(
            "{env}'{}' '{}'; echo picklescope-exit=$?; sleep 60",
            env!("CARGO_BIN_EXE_picklescope"),
            ctx.display()
        );
        let mut s = Session {
            dir: tempdir(),
            name: name.to_string(),
            pid: 0,
        };
        s.tmux(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            &cmd,
        ]);
        // Drawn whole: the cursor is hidden after the frame is written.
        wait_for("the stages screen", || {
            s.screen().contains("Stages") && s.modes() == "1 0"
        });
        let shell: i32 = s
            .tmux(&["display", "-p", "-t", name, "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid");
        let pid = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("children of the pane's shell")
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the explorer's pid");
        s.pid = pid;
        s
    }
    /// Runs tmux on this session's server; its standard output.
    fn tmux(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("sock"))
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", &self.name])
    }
    /// `#{alternate_on} #{cursor_flag}`: "0 1" is the main screen with the cursor shown.
    fn modes(&self) -> String {
        self.tmux(&[
            "display",
            "-p",
            "-t",
            &self.name,
            "#{alternate_on} #{cursor_flag}",
        ])
        .trim()
        .to_string()
    }
    fn signal(&self, sig: i32) {
        // SAFETY: kill only sends a signal to the process this test started.
        #[allow(unsafe_code)]
        let r = unsafe { libc::kill(self.pid, sig) };
        assert_eq!(r, 0, "kill {sig}");
    }
    /// Types `keys` (tmux key names, one per argument).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.name];
        args.extend(keys);
        self.tmux(&args);
    }
    /// Waits until the screen contains `text`.
    fn wait_text(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never saw {text:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn state(&self) -> String {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("State:"))
            .unwrap_or_default()
            .to_string()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux").arg("-V").output().is_ok()
}

fn demo() -> tempfile::TempDir {
    let dir = tempdir();
    let o = bin()
        .arg("demo")
        .arg(dir.path().join("ctx"))
        .arg("--no-open")
        .output()
        .expect("demo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn ending_signals_give_the_terminal_back() {
    if !have_tmux() {
        common::skip("ending_signals_give_the_terminal_back", "tmux is missing");
        return;
    }
    let dir = demo();
    let ctx = dir.path().join("ctx");
    for (sig, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGHUP, "HUP"),
        (libc::SIGINT, "INT"),
        (libc::SIGQUIT, "QUIT"),
    ] {
        let s = Session::start(&format!("ps-signal-{name}-{}", std::process::id()), &ctx);
        wait_for(&format!("SIG{name}: the explorer owns the screen"), || {
            s.modes() == "1 0"
        });
        s.signal(sig);
        let want = format!("picklescope-exit={}", 128 + sig);
        wait_for(&format!("SIG{name}: {want}"), || s.screen().contains(&want));
        assert_eq!(s.modes(), "0 1", "SIG{name}: main screen, cursor shown");
    }
}

#[test]
fn stop_and_continue_give_the_terminal_back_and_redraw() {
    if !have_tmux() {
        common::skip(
            "stop_and_continue_give_the_terminal_back_and_redraw",
            "tmux is missing",
        );
        return;
    }
    let dir = demo();
    let s = Session::start(
        &format!("ps-signal-stop-{}", std::process::id()),
        &dir.path().join("ctx"),
    );
    for how in ["SIGTSTP", "Ctrl-Z"] {
        if how == "SIGTSTP" {
            s.signal(libc::SIGTSTP);
        } else {
            s.tmux(&["send-keys", "-t", &s.name, "C-z"]);
        }
        wait_for(&format!("{how}: stopped"), || {
            s.state().contains("(stopped)")
        });
        assert_eq!(s.modes(), "0 1", "{how}: main screen, cursor shown");
        s.signal(libc::SIGCONT);
        wait_for(&format!("{how}: running again"), || {
            !s.state().contains("(stopped)")
        });
        wait_for(&format!("{how}: the explorer again"), || {
            s.modes() == "1 0" && s.screen().contains("Stages")
        });
    }
    s.tmux(&["send-keys", "-t", &s.name, "q"]);
    wait_for("quit", || s.screen().contains("picklescope-exit=0"));
    assert_eq!(s.modes(), "0 1");
}

#[test]
fn a_stage_truncated_under_the_explorer_is_noticed_never_written_and_reloaded() {
    if !have_tmux() {
        common::skip(
            "a_stage_truncated_under_the_explorer_is_noticed_never_written_and_reloaded",
            "tmux is missing",
        );
        return;
    }
    let dir = demo();
    let ctx = dir.path().join("ctx");
    let stage4 = ctx.join("pipeline-demo/saved_state/result-stage4.pickle");
    let original = std::fs::read(&stage4).expect("stage 4");
    let s = Session::start_sized(&format!("ps-live-{}", std::process::id()), &ctx, 100, 30);
    // Mark the largest attribute of stage 4 (so `w` has something to write), back to Stages.
    s.keys(&["/"]);
    s.keys(&["-l", "rawflagchans"]);
    s.keys(&["Enter", "Enter"]);
    s.wait_text("stage 4 hif_rawflagchans");
    s.keys(&["Enter", "Enter"]);
    s.wait_text("RawflagchansResults ·");
    s.keys(&["Space"]);
    s.wait_text("marked RawflagchansResults.view");
    s.keys(&["Left", "Left", "Left"]);
    s.wait_text("┌ Stages");

    // The pipeline rewrites stage 4: open('wb') truncates it, half of it is written so far.
    std::fs::write(&stage4, &original[..original.len() / 2]).expect("truncate stage 4");
    // No key pressed: the periodic look notices it.
    let banner = s.wait_text("CHANGED ON DISK: result-stage4.pickle");
    assert!(banner.contains("[changed] hif_rawflagchans"), "{banner}");

    // Into the stage, its detail: what was read is still there.
    s.keys(&["Enter"]);
    s.wait_text("[changed on disk]");
    s.keys(&["Enter", "Enter", "i"]);
    s.wait_text("Detail (any key closes)");
    // (Each Escape is let alone before the next key: ESC and a key soon after read as Alt-key.)
    s.keys(&["Escape"]);
    wait_for("the detail closed", || {
        !s.screen().contains("Detail (any key")
    });

    // w: refused, says why; alive; the half-written file is not touched.
    s.keys(&["w"]);
    let refused = s.wait_text("changed on disk; press r to reload");
    assert!(refused.contains("Not written"), "{refused}");
    assert!(s.state().contains("S (sleeping)") || s.state().contains("R (running)"));
    assert_eq!(
        std::fs::read(&stage4).expect("stage 4"),
        &original[..original.len() / 2]
    );
    s.keys(&["Escape"]);
    wait_for("the message closed", || !s.screen().contains("Not written"));

    // r: the half-written file does not read; the explorer says so and stays up.
    s.keys(&["r"]);
    let failed = s.wait_text("result-stage4.pickle: ");
    assert!(failed.contains("┌ Stages"), "{failed}");
    assert!(!failed.contains("CHANGED ON DISK"), "{failed}");

    // The pipeline finishes writing: noticed again; r reads it, the mark still applies.
    std::fs::write(&stage4, &original).expect("rewrite stage 4");
    s.wait_text("CHANGED ON DISK: result-stage4.pickle");
    s.keys(&["r"]);
    s.wait_text("reloaded result-stage4.pickle (the marks stay)");
    s.keys(&["w"]);
    s.wait_text("y write");
    s.keys(&["y"]);
    s.wait_text("wrote 1 file(s), each verified");
    let written = std::fs::metadata(&stage4).expect("stage 4").len();
    assert!(
        written < original.len() as u64 / 2,
        "{written} vs {}",
        original.len()
    );
    s.keys(&["q"]);
    wait_for("quit", || s.screen().contains("picklescope-exit=0"));
    assert_eq!(s.modes(), "0 1");
}

#[test]
fn sigterm_during_a_write_lets_it_finish_then_gives_the_terminal_back() {
    if !have_tmux() {
        common::skip(
            "sigterm_during_a_write_lets_it_finish_then_gives_the_terminal_back",
            "tmux is missing",
        );
        return;
    }
    // About 190 MB: stage 4 alone is 127 MiB, so its save takes a while.
    let dir = tempdir();
    let ctx = dir.path().join("ctx");
    let o = bin()
        .arg("demo")
        .arg(&ctx)
        .args(["--no-open", "--scale", "40"])
        .output()
        .expect("demo");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let saved = ctx.join("pipeline-demo/saved_state");
    let sizes = |d: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(d)
            .expect("saved_state")
            .map(|e| e.expect("entry"))
            .map(|e| {
                let len = e.metadata().expect("metadata").len();
                (e.file_name().to_string_lossy().into_owned(), len)
            })
            .collect();
        v.sort();
        v
    };
    let before = sizes(&saved);
    let s = Session::start_sized(
        &format!("ps-signal-write-{}", std::process::id()),
        &ctx,
        100,
        30,
    );
    // Mark ImageResult.flag_reason_plane in the classes view: 44% of stage 4 goes, the rest
    // (70 MiB) is copied, synced and read back.
    s.keys(&["c", "/"]);
    s.keys(&["-l", "flag_reason_plane"]);
    s.keys(&["Enter", "Space"]);
    s.wait_text("marked ImageResult.flag_reason_plane");
    s.keys(&["w"]);
    s.wait_text("y write");
    s.keys(&["y"]);
    s.wait_text("writing and verifying");
    // Whether the save was under way (its unnamed temp file open) when the signal was sent.
    let canon = std::fs::canonicalize(&saved).expect("canonical");
    let saving = std::fs::read_dir(format!("/proc/{}/fd", s.pid))
        .map(|fds| {
            fds.flatten().any(|e| {
                std::fs::read_link(e.path()).is_ok_and(|to| {
                    to.parent() == Some(canon.as_path())
                        && to.to_string_lossy().ends_with(" (deleted)")
                })
            })
        })
        .unwrap_or(false);
    s.signal(libc::SIGTERM);
    eprintln!("SIGTERM sent while a save was under way: {saving}");
    wait_for("SIGTERM: picklescope-exit=143", || {
        s.screen().contains("picklescope-exit=143")
    });
    assert_eq!(s.modes(), "0 1", "main screen, cursor shown");
    // The write the signal came in was finished: every file it changed is smaller and reads
    // (verified by the save itself; read again here), nothing else is in the directory.
    let after = sizes(&saved);
    assert_eq!(
        after.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        before.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "no file added or removed (no temp file left)"
    );
    let stage4 = after
        .iter()
        .find(|(n, _)| n == "result-stage4.pickle")
        .expect("stage 4");
    let stage4_before = before
        .iter()
        .find(|(n, _)| n == "result-stage4.pickle")
        .expect("stage 4");
    assert!(
        stage4.1 < stage4_before.1,
        "{stage4:?} vs {stage4_before:?}"
    );
    let report = bin()
        .arg("report")
        .arg(saved.join("result-stage4.pickle"))
        .output()
        .expect("report");
    assert!(report.status.success(), "{report:?}");
}

#[test]
fn a_panic_gives_the_terminal_back() {
    if !have_tmux() {
        common::skip("a_panic_gives_the_terminal_back", "tmux is missing");
        return;
    }
    let dir = demo();
    // The test build's hook (feature fault-injection): the key Z panics in the event loop.
    let s = Session::start_env(
        &format!("ps-panic-{}", std::process::id()),
        &dir.path().join("ctx"),
        80,
        24,
        "PICKLESCOPE_PANIC_ON_KEY=Z ",
    );
    s.keys(&["Z"]);
    let screen = s.wait_text("picklescope-exit=101");
    assert!(screen.contains("injected panic on key Z"), "{screen}");
    assert_eq!(s.modes(), "0 1", "main screen, cursor shown");
}

#[test]
fn closing_the_terminal_ends_the_explorer() {
    if !have_tmux() {
        common::skip("closing_the_terminal_ends_the_explorer", "tmux is missing");
        return;
    }
    let dir = demo();
    let s = Session::start(
        &format!("ps-hangup-{}", std::process::id()),
        &dir.path().join("ctx"),
    );
    // The terminal goes away (as with a closed SSH connection): SIGHUP, and input at EOF.
    s.tmux(&["kill-server"]);
    wait_for("the explorer gone after its terminal closed", || {
        let st = s.state();
        st.is_empty() || st.contains("zombie")
    });
}
