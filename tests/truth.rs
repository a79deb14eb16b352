//! Figures a user can trust on pipeline-like contexts: read-back costs, one class.attr
//! accounting shared by report, slim, suggest and diff, and their invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use picklescope::synth::{DemoOptions, write_demo};
use serde_json::Value;

fn demo(opts: DemoOptions) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let s = write_demo(dir.path(), &opts).unwrap();
    (dir, s.context)
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picklescope"))
}

fn json(args: &[&str], path: &std::path::Path) -> Value {
    let out = bin().args(args).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn text(args: &[&str], path: &std::path::Path) -> String {
    let out = bin().args(args).arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn reread_bytes_follow_s_minus_k_plus_one_per_file_and_in_total() {
    let (dir, _) = demo(DemoOptions::default());
    for args in [
        &["report", "--json", "--top", "1"][..],
        &["report", "--json", "--top", "1", "--preset", "strategy-a"][..],
    ] {
        let v = json(args, dir.path());
        let files = v["files"].as_array().unwrap();
        let last = u(&v["last_stage"]);
        assert_eq!(last, 48);
        let mut total = 0;
        let mut total_after = 0;
        for f in files {
            let times = u(&f["reread_times"]);
            match f["stage"].as_u64() {
                Some(k) if f["path"].as_str().unwrap().contains("result-stage") => {
                    assert_eq!(times, last - k + 1, "{f}")
                }
                _ => assert_eq!(times, 0, "the context is not read back: {f}"),
            }
            assert_eq!(u(&f["reread_bytes"]), u(&f["bytes"]) * times);
            total += u(&f["reread_bytes"]);
            if let Some(a) = f.get("after_bytes") {
                assert_eq!(u(&f["after_reread_bytes"]), u(a) * times);
                total_after += u(&f["after_reread_bytes"]);
            }
        }
        assert_eq!(u(&v["reread_bytes"]), total);
        if args.contains(&"--preset") {
            assert_eq!(u(&v["after_reread_bytes"]), total_after);
            assert!(total_after < total);
        } else {
            assert!(v.get("after_reread_bytes").is_none());
        }
    }
    let t = text(&["report"], dir.path());
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("stage 4:"))
        .unwrap_or_else(|| panic!("no stage 4 read-back line in\n{t}"));
    assert!(line.contains("read back 45 times = "), "{line}");
    assert!(t.contains("read back per run: "), "{t}");
}
