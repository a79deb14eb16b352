//! Signals to the explorer in a real terminal (tmux): SIGTERM, SIGHUP, SIGINT and SIGQUIT give
//! the terminal back (main screen, cursor shown) and end it with 128 + the signal's number;
//! SIGTSTP and Ctrl-Z give it back and stop the process, SIGCONT takes it again and redraws.

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
        let cmd = format!(
            "'{}' '{}'; echo picklescope-exit=$?; sleep 60",
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
            "80",
            "-y",
            "24",
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
