//! The scripting contract of the binary: exit codes (0 ok, 1 failure, 2 invalid input), the
//! same exit-status text in --help, the man page and the README, the man page itself, the
//! explorer refusing a pipe, and `slim` on files it may not write.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    common::bin().args(args).output().expect("run picklescope")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn demo() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    picklescope::synth::write_demo(d.path(), &picklescope::synth::DemoOptions::default()).unwrap();
    d
}

/// Whitespace collapsed, roff escapes and markdown ticks removed.
fn flat(s: &str) -> String {
    s.replace("\\-", "-")
        .replace("\\&", "")
        .replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn command_line_errors_exit_2_with_one_line() {
    let d = demo();
    let p = d.path().to_str().unwrap();
    for args in [
        vec!["report", p, "--preset", "nope"],
        vec!["slim", p],
        vec!["slim", p, "--preset", "nope", "--dry-run"],
        vec!["report", p, "--no-such-option"],
        vec!["rules"],
        vec!["report"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
    let o = run(&["report", p, "--preset", "nope"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("unknown preset") && err.contains("strategy-a"),
        "{err}"
    );
}

#[test]
fn invalid_pickles_exit_2_and_missing_files_exit_1() {
    let d = tempfile::tempdir().unwrap();
    let bad = d.path().join("bad.pickle");
    std::fs::write(&bad, b"\x80\x04not a pickle").unwrap();
    let o = run(&["report", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let missing = d.path().join("missing.pickle");
    let o = run(&["report", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.pickle"));
    let dm = demo();
    let o = run(&["report", dm.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn exit_status_reads_the_same_in_help_man_page_and_readme() {
    let help = flat(&text(&run(&["--help"])));
    let man = flat(&text(&run(&["man"])));
    let readme = flat(&std::fs::read_to_string(common::root().join("README.md")).unwrap());
    let start = help
        .find("Exit status:")
        .expect("--help states the exit status");
    let end = start
        + help[start..]
            .find("at fault.")
            .expect("ends with 'at fault.'")
        + 9;
    let contract = &help[start..end];
    assert!(contract.contains("2 invalid input"), "{contract}");
    assert!(man.contains(contract), "man page lacks:\n{contract}");
    assert!(readme.contains(contract), "README lacks:\n{contract}");
    for sub in ["report", "slim"] {
        let h = flat(&text(&run(&[sub, "--help"])));
        assert!(h.contains(contract), "{sub} --help lacks the contract");
    }
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let o = run(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(
        page.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with(".TH picklescope 1")),
        "{page}"
    );
    assert_eq!(page.matches(".ds Aq").count(), 2, "one preamble");
    for s in [
        "report",
        "slim",
        "suggest",
        "rules",
        "diff",
        "demo",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!(".SH \"PICKLESCOPE {}\"", s.to_uppercase())),
            "no section for {s}"
        );
    }
    assert!(page.contains(".SH \"EXIT STATUS\""));
    assert!(
        page.contains("\\-\\-dry\\-run"),
        "slim's options are listed"
    );
    // man(1) renders it without warnings when it is installed.
    if let Ok(m) = Command::new("man").arg("--version").output()
        && m.status.success()
    {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("picklescope.1");
        std::fs::write(&f, &page).unwrap();
        let r = Command::new("man")
            .env("MANWIDTH", "80")
            .args(["-l", "--warnings"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(r.status.success(), "{}", text(&r));
        assert!(r.stderr.is_empty(), "{}", text(&r));
        // Drop overstrike (bold is "X\bX").
        let mut shown = String::new();
        for c in String::from_utf8_lossy(&r.stdout).chars() {
            if c == '\u{8}' {
                shown.pop();
            } else {
                shown.push(c);
            }
        }
        assert!(shown.contains("EXIT STATUS"), "{shown}");
        assert!(shown.contains("PICKLESCOPE SLIM"), "{shown}");
    }
}

#[test]
fn the_explorer_refuses_a_pipe_and_points_at_report() {
    let d = demo();
    let o = run(&[d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(o.stdout.is_empty(), "no escape codes into the pipe");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("terminal") && err.contains("picklescope report"),
        "{err}"
    );
    assert!(!err.contains('\x1b'), "{err:?}");
}

/// Runs picklescope as an unprivileged user when this test runs as root (root may write any
/// directory), else as this user.
fn unprivileged(args: &[&str]) -> Output {
    // SAFETY: geteuid has no preconditions.
    #[allow(unsafe_code)]
    let root = unsafe { libc::geteuid() } == 0;
    let bin = env!("CARGO_BIN_EXE_picklescope");
    if root {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin])
            .args(args)
            .output()
            .expect("setpriv (util-linux) runs picklescope as nobody")
    } else {
        Command::new(bin).args(args).output().expect("run")
    }
}

#[test]
fn slim_reports_files_it_may_not_write_and_exits_1() {
    let d = demo();
    let locked = common::read_only_tree(d.path());
    let files: Vec<_> = locked
        .files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).unwrap();
            (f.clone(), bytes)
        })
        .collect();
    let p = d.path().to_str().unwrap();
    let o = unprivileged(&["slim", p, "--preset", "strategy-a", "--json"]);
    let out: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let failed = out["failed"].as_u64().unwrap();
    // Every file the rules change fails, no other: as many as the dry-run says would change.
    let dry = unprivileged(&["slim", p, "--preset", "strategy-a", "--dry-run", "--json"]);
    let dry: serde_json::Value =
        serde_json::from_slice(&dry.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&dry)));
    let changing = dry["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["after_bytes"] != f["before_bytes"])
        .count() as u64;
    assert!(
        changing >= 4,
        "strategy-a changes stages 4, 7, 10 and 11 of the demo: {dry}"
    );
    assert_eq!(failed, changing, "{out}");
    for f in out["files"].as_array().unwrap() {
        if f["error"].is_string() {
            assert_eq!(f["written"], false);
            assert_eq!(f["after_bytes"], f["before_bytes"], "nothing saved: {f}");
            assert!(
                f["error"]
                    .as_str()
                    .unwrap()
                    .contains("cannot create files in"),
                "{f}"
            );
        }
    }
    // Text output: each such file says it was not written, and the summary counts.
    let o = unprivileged(&["slim", p, "--preset", "strategy-a"]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("(not written)"), "{t}");
    assert!(t.contains(&format!("written, {failed} failed")), "{t}");
    assert!(
        !t.contains("(written)") || out["written"].as_u64().unwrap() > 0,
        "{t}"
    );
    for (path, bytes) in files {
        assert!(
            std::fs::read(&path).unwrap() == bytes,
            "{} unchanged",
            path.display()
        );
    }
}

#[test]
fn a_closed_pipe_ends_report_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let d = demo();
    // The reader goes away before picklescope has written anything.
    let mut child = common::bin()
        .args(["report", "--json", "--top", "1000"])
        .arg(d.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGPIPE), "{status:?} {err}");
    assert!(err.is_empty(), "no panic, no message: {err}");
}
