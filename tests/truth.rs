//! Figures a user can trust on pipeline-like contexts: read-back costs, one class.attr
//! accounting shared by report, slim, suggest and diff, and their invariants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use picklescope::synth::{DemoOptions, Layouts, write_demo};
use serde_json::Value;

use common::{bin, count as u, demo};

/// The demo with each layout (the real ones: nested views, the 9 view-result classes,
/// slots-tuple domain classes, two contexts in one directory).
fn demos() -> Vec<(Layouts, tempfile::TempDir)> {
    [Layouts::Classic, Layouts::Real]
        .into_iter()
        .map(|layouts| {
            let (dir, _) = demo(DemoOptions {
                layouts,
                ..DemoOptions::default()
            });
            (layouts, dir)
        })
        .collect()
}

fn json(args: &[&str], path: &std::path::Path) -> Value {
    common::run_json(bin().args(args).arg(path))
}

fn text(args: &[&str], path: &std::path::Path) -> String {
    String::from_utf8_lossy(&common::run_ok(bin().args(args).arg(path))).into_owned()
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

/// Every class.attr group of every file: bytes (the union of its instances) within the file,
/// retained within inline; summed over files the same way by report, diff and the explorer.
#[test]
fn group_bytes_stay_within_their_files_and_retained_within_inline() {
    for (layouts, dir) in demos() {
        group_bytes_within_files(&dir, layouts);
    }
}

fn group_bytes_within_files(dir: &tempfile::TempDir, layouts: Layouts) {
    let ws = picklescope::workspace::Workspace::open(dir.path(), None, &|_, _| {}).unwrap();
    let mut totals = picklescope::model::ClassTotals::default();
    let mut file_bytes: std::collections::BTreeMap<(String, String), u64> = Default::default();
    for e in &ws.entries {
        let m = e.model.as_ref().unwrap();
        for g in &m.groups().groups {
            assert!(
                g.bytes <= e.bytes,
                "{layouts:?}: {}.{} in {}",
                g.class,
                g.attr,
                e.file_name()
            );
            assert!(g.retained <= g.bytes, "{}.{}", g.class, g.attr);
            *file_bytes
                .entry((g.class.clone(), g.attr.clone()))
                .or_default() += e.bytes;
        }
        totals.add(m.groups(), e.stage());
    }
    for c in totals.iter() {
        assert!(c.bytes <= file_bytes[&(c.class.clone(), c.attr.clone())]);
        assert!(c.retained <= c.bytes);
    }
    // report --json lists the same figures (pass-through groups folded away).
    let v = json(&["report", "--json", "--top", "1"], dir.path());
    for c in v["classes"].as_array().unwrap() {
        let t = totals
            .get(c["class"].as_str().unwrap(), c["attr"].as_str().unwrap())
            .unwrap();
        assert_eq!(u(&c["bytes"]), t.bytes, "{c}");
        assert_eq!(u(&c["retained_bytes"]), t.retained, "{c}");
        assert_eq!(u(&c["instances"]), t.instances, "{c}");
    }
}

/// `slim --json`: the removed entries of each file add up to before − after, within the
/// memo bookkeeping shown beside them; a view inside removed components counts for
/// components only.
#[test]
fn slim_removed_entries_add_up_to_the_saving() {
    for (_, dir) in demos() {
        removed_entries_add_up(&dir);
    }
}

fn removed_entries_add_up(dir: &tempfile::TempDir) {
    let v = json(
        &["slim", "--json", "--dry-run", "--preset", "strategy-a"],
        dir.path(),
    );
    let mut removed_total = 0;
    let mut bk_total = 0i64;
    for f in v["files"].as_array().unwrap() {
        let removed: u64 = f["removed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| u(&r["bytes"]))
            .sum();
        let bk = f
            .get("bookkeeping_bytes")
            .map_or(0, |b| b.as_i64().unwrap());
        let saved = u(&f["before_bytes"]) as i64 - u(&f["after_bytes"]) as i64;
        assert_eq!(removed as i64 + bk, saved, "{f}");
        // Bookkeeping is memo and frame detail, never a real share of the saving.
        assert!(bk.unsigned_abs() <= 4096 + removed / 100, "{f}");
        removed_total += removed;
        bk_total += bk;
        let before = u(&f["before_bytes"]);
        for r in f["removed"].as_array().unwrap() {
            assert!(u(&r["bytes"]) <= before, "{r}");
        }
        if f["stage"] == 7 {
            let by = |attr: &str| {
                f["removed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["attr"] == attr)
                    .map(|r| u(&r["bytes"]))
            };
            assert!(by("components").unwrap() > 0);
            assert_eq!(by("view"), Some(0), "nested views count inside components");
            // Every removed view of stage 7 lies inside components.
            for r in f["removed"].as_array().unwrap() {
                if r["attr"] == "view" {
                    assert_eq!(u(&r["bytes"]), 0, "{r}");
                }
            }
        }
    }
    assert_eq!(u(&v["removed_bytes"]), removed_total);
    assert_eq!(v["bookkeeping_bytes"].as_i64(), Some(bk_total));
    assert_eq!(
        removed_total as i64 + bk_total,
        u(&v["before_bytes"]) as i64 - u(&v["after_bytes"]) as i64
    );
}

/// report, slim and diff agree on the same files: a rule on one group removes its retained
/// bytes (as report lists them), and diff of before and after shows that group's bytes gone.
#[test]
fn report_slim_and_diff_agree_on_one_group() {
    for (_, dir) in demos() {
        agree_on_one_group(&dir);
    }
}

fn agree_on_one_group(dir: &tempfile::TempDir) {
    let report = json(&["report", "--json", "--top", "1"], dir.path());
    let class = "pipeline.hif.tasks.rawflagchans.resultobjects.RawflagchansResults";
    let c = report["classes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["class"] == class && c["attr"] == "view")
        .unwrap()
        .clone();
    let rules = dir.path().join("one.toml");
    std::fs::write(
        &rules,
        format!("[[transient]]\nclass = \"{class}\"\nattrs = [\"view\"]\n"),
    )
    .unwrap();
    let before = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), before.path());
    let out = bin()
        .args(["slim", "--json", "--rules"])
        .arg(&rules)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let removed: u64 = s["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["removed"].as_array().unwrap().iter())
        .map(|r| u(&r["bytes"]))
        .sum();
    assert_eq!(removed, u(&c["retained_bytes"]));
    // The copy's mtimes are new: name the context rather than rely on which is newest.
    let out = bin()
        .args(["diff", "--json"])
        .arg(before.path().join("pipeline-demo.context"))
        .arg(dir.path().join("pipeline-demo.context"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let gone = d["disappeared"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["class"] == class && g["attr"] == "view")
        .unwrap();
    assert_eq!(u(&gone["a_bytes"]), u(&c["bytes"]));
    assert_eq!(u(&gone["a_instances"]), u(&c["instances"]));
    // suggest (on the untouched copy): the same group, the same instances and bytes, and its
    // saving is what slim saves with that one rule.
    let sug = json(
        &["suggest", "--json"],
        before.path().join("pipeline-demo.context").as_path(),
    );
    let cand = sug["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["class"] == class && x["attr"] == "view")
        .unwrap_or_else(|| panic!("{class}.view not suggested: {sug}"));
    assert_eq!(u(&cand["bytes"]), u(&c["bytes"]));
    assert_eq!(u(&cand["instances"]), u(&c["instances"]));
    assert_eq!(
        u(&cand["saving_bytes"]),
        u(&s["before_bytes"]) - u(&s["after_bytes"])
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in walk(from) {
        let rel = e.strip_prefix(from).unwrap();
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&e, &dst).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `--classes-from DIR` learns base classes from `class X(Base, ...)` statements (multi-line
/// headers, dotted bases, comments), so a rule on a base class reaches a subclass no shipped
/// hierarchy knows; the source is read as text, never run.
#[test]
fn classes_from_a_source_tree_reach_subclasses() {
    use picklescope::synth::{Value as Py, encode};
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("src/mypipe");
    std::fs::create_dir_all(pkg.join("tasks")).unwrap();
    std::fs::write(pkg.join("__init__.py"), "raise SystemExit('never run')\n").unwrap();
    std::fs::write(pkg.join("tasks/__init__.py"), "").unwrap();
    std::fs::write(
        pkg.join("base.py"),
        "import os\nos.system('touch RAN')\n\nclass ViewHolder(object):\n    pass\n",
    )
    .unwrap();
    std::fs::write(
        pkg.join("tasks/flagging.py"),
        "from mypipe import base\n\n\
         class Middle(base.ViewHolder):  # one level\n    pass\n\n\
         class DeepResults(\n    object,  # a comment, (parens) and all\n    Middle,\n):\n    \"\"\"class Fake(base.ViewHolder): in a docstring\"\"\"\n",
    )
    .unwrap();
    let value = Py::List(vec![
        Py::instance(
            "mypipe.tasks.flagging",
            "DeepResults",
            [("view", Py::Bytes(vec![7u8; 50_000])), ("keep", Py::Int(1))],
        ),
        Py::instance(
            "mypipe.tasks.flagging",
            "Fake",
            [("view", Py::Bytes(vec![7u8; 1000]))],
        ),
    ]);
    let pickle = dir.path().join("result-stage3.pickle");
    std::fs::write(&pickle, encode(&value, 5).unwrap()).unwrap();
    let rules = dir.path().join("base.toml");
    std::fs::write(
        &rules,
        "[[transient]]\nclass = \"mypipe.base.ViewHolder\"\nattrs = [\"view\"]\n",
    )
    .unwrap();
    let run = |extra: &[&std::ffi::OsStr]| -> Value {
        common::run_json(
            bin()
                .args(["slim", "--dry-run", "--json", "--rules"])
                .arg(&rules)
                .args(extra)
                .arg(&pickle),
        )
    };
    // Without the source, nothing in the pickle is a ViewHolder.
    let v = run(&[]);
    assert_eq!(v["before_bytes"], v["after_bytes"]);
    let src = dir.path().join("src");
    let v = run(&["--classes-from".as_ref(), src.as_os_str()]);
    let removed = &v["files"][0]["removed"];
    assert_eq!(removed.as_array().unwrap().len(), 1, "{removed}");
    assert_eq!(removed[0]["class"], "mypipe.tasks.flagging.DeepResults");
    assert!(u(&removed[0]["bytes"]) > 50_000);
    assert!(!dir.path().join("RAN").exists() && !src.join("RAN").exists());
    // A missing directory is invalid input, named.
    let out = bin()
        .args(["slim", "--dry-run", "--rules"])
        .arg(&rules)
        .args(["--classes-from", "/nonexistent/tree"])
        .arg(&pickle)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/tree"));
}

/// A slimmed file keeps its modification time (h_resume('last') picks the newest .context by
/// mtime: slimming an older context must not make it the one resumed); --touch updates it.
#[test]
fn slimming_keeps_modification_times_unless_touch() {
    let (dir, ctx) = demo(DemoOptions::default());
    let stage4 = dir
        .path()
        .join("pipeline-demo/saved_state/result-stage4.pickle");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for p in [&ctx, &stage4] {
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    // A newer context beside it: the one h_resume('last') should keep resuming.
    let newer = dir.path().join("pipeline-newer.context");
    std::fs::copy(&ctx, &newer).unwrap();
    let newer_time = std::fs::metadata(&newer).unwrap().modified().unwrap();
    let before = std::fs::metadata(&stage4).unwrap().len();
    common::run_ok(bin().args(["slim", "--preset", "strategy-a"]).arg(&stage4));
    let meta = std::fs::metadata(&stage4).unwrap();
    assert!(meta.len() < before / 10, "really rewritten");
    assert_eq!(meta.modified().unwrap(), old);
    assert!(newer_time > old);
    // --touch: the rewrite's own time.
    let stage7 = dir
        .path()
        .join("pipeline-demo/saved_state/result-stage7.pickle");
    std::fs::File::options()
        .write(true)
        .open(&stage7)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = bin()
        .args(["slim", "--touch", "--preset", "strategy-a"])
        .arg(&stage7)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(std::fs::metadata(&stage7).unwrap().modified().unwrap() > old);
}

/// `report` names the classes it cannot slim (slots-tuple state, namedtuples), with instances
/// and bytes, per file and in total; classes with a dict state are not among them.
#[test]
fn report_says_what_cannot_be_slimmed() {
    let (dir, _) = demo(DemoOptions::default());
    let v = json(&["report", "--json", "--top", "1"], dir.path());
    let nr = v["not_removable"].as_array().unwrap();
    let find = |short: &str| {
        nr.iter()
            .find(|n| n["class"].as_str().unwrap().ends_with(&format!(".{short}")))
            .unwrap_or_else(|| panic!("{short} missing from {nr:?}"))
    };
    for (short, why) in [
        ("SpectralWindow", "slots_tuple"),
        ("CalFrom", "slots_tuple"),
        ("CalTo", "slots_tuple"),
        ("Timestamps", "call_arguments"),
    ] {
        let n = find(short);
        assert_eq!(n["why"], why, "{n}");
        assert!(u(&n["instances"]) >= 1 && u(&n["bytes"]) > 0, "{n}");
    }
    assert!(
        !nr.iter().any(|n| {
            let c = n["class"].as_str().unwrap();
            c.ends_with("RawflagchansResults") || c.starts_with("numpy")
        }),
        "{nr:?}"
    );
    // Totals are the sum of the files'.
    let per_file: u64 = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f.get("not_removable")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|n| u(&n["bytes"]))
        .sum();
    assert_eq!(per_file, nr.iter().map(|n| u(&n["bytes"])).sum::<u64>());
    let t = text(&["report"], dir.path());
    assert!(t.contains("cannot be slimmed"), "{t}");
    assert!(t.contains("SpectralWindow"), "{t}");
}

fn dry_saving(rules_toml: &str, dir: &std::path::Path) -> u64 {
    let rules = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(rules.path(), rules_toml).unwrap();
    let v: Value = common::run_json(
        bin()
            .args(["slim", "--dry-run", "--json", "--rules"])
            .arg(rules.path())
            .arg(dir),
    );
    u(&v["before_bytes"]) - u(&v["after_bytes"])
}

/// `suggest` on the real layouts: each saving is what `slim --dry-run` saves with that rule
/// alone, the combined saving what it saves with all of them (fewer than the sum when rows
/// overlap), nested candidates are folded under the one holding them, the container
/// `TsysflagResults.components` is a candidate, and nothing protected or holding whole
/// results is.
#[test]
fn suggest_savings_are_dry_runs_and_nested_candidates_fold() {
    let (dir, _) = demo(DemoOptions {
        layouts: Layouts::Real,
        ..DemoOptions::default()
    });
    let v = json(&["suggest", "--json", "--top", "6"], dir.path());
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 6, "{v}");
    let rule = |c: &Value| {
        format!(
            "[[transient]]\nclass = \"{}\"\nattrs = [\"{}\"]\n",
            c["class"].as_str().unwrap(),
            c["attr"].as_str().unwrap()
        )
    };
    let mut sum = 0;
    let mut last = u64::MAX;
    for c in cands {
        let saving = u(&c["saving_bytes"]);
        assert!(saving <= last, "ranked by saving: {v}");
        last = saving;
        assert_eq!(saving, dry_saving(&rule(c), dir.path()), "{c}");
        sum += saving;
        assert!(
            !["qa", "flagging", "stage_number", "_ResultsList__results"]
                .contains(&c["attr"].as_str().unwrap())
        );
        for f in c["folded"].as_array().into_iter().flatten() {
            assert!(
                u(&f["inside_bytes"]) * 10 >= u(&f["saving_bytes"]) * 8,
                "{f}"
            );
        }
    }
    let all: String = cands.iter().map(rule).collect();
    let combined = u(&v["combined_saving_bytes"]);
    assert_eq!(combined, dry_saving(&all, dir.path()));
    assert!(
        combined < sum,
        "overlapping rows are counted once: {combined} vs {sum}"
    );
    assert!(combined <= u(&v["total_bytes"]));
    let names: Vec<String> = cands
        .iter()
        .map(|c| {
            let class = c["class"].as_str().unwrap();
            format!(
                "{}.{}",
                class.rsplit('.').next().unwrap(),
                c["attr"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(names[0], "RawflagchansResults.view", "{names:?}");
    assert!(
        names.contains(&"TsysflagResults.components".to_string()),
        "{names:?}"
    );
    // The views of the spectra results lie inside components: folded under it.
    let comps = cands.iter().find(|c| c["attr"] == "components").unwrap();
    let folded: Vec<&str> = comps["folded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["class"].as_str().unwrap())
        .collect();
    assert!(
        folded
            .iter()
            .any(|c| c.ends_with(".TsysflagspectraResults")),
        "{comps}"
    );
    // The text says what the figures are.
    let t = text(&["suggest", "--top", "6"], dir.path());
    assert!(t.contains("saves alone"), "{t}");
    assert!(t.contains("marked together"), "{t}");
    // --emit toml gives rules for exactly the shown candidates.
    let toml = text(&["suggest", "--top", "6", "--emit", "toml"], dir.path());
    assert_eq!(dry_saving(&toml, dir.path()), combined);
}

/// Two contexts of different ages in one directory: slimming either (the default picks the
/// newest; `--context` the older) keeps every modification time, so the newest stays newest.
#[test]
fn two_contexts_keep_their_order_after_slimming() {
    let dir = tempfile::tempdir().unwrap();
    let s = write_demo(
        dir.path(),
        &DemoOptions {
            layouts: Layouts::Real,
            ..DemoOptions::default()
        },
    )
    .unwrap();
    let mtimes = |files: &[picklescope::synth::DemoFile]| -> Vec<std::time::SystemTime> {
        files
            .iter()
            .map(|f| std::fs::metadata(&f.path).unwrap().modified().unwrap())
            .collect()
    };
    let (newer, older) = (mtimes(&s.files), mtimes(&s.older));
    let report = text(&["report"], dir.path());
    assert!(
        report.contains("showing the newest, pipeline-demo"),
        "{report}"
    );
    for extra in [&[][..], &["--context", "pipeline-older"][..]] {
        common::run_ok(
            bin()
                .args(["slim", "--preset", "strategy-a"])
                .args(extra)
                .arg(dir.path()),
        );
    }
    let slimmed =
        |f: &picklescope::synth::DemoFile| std::fs::metadata(&f.path).unwrap().len() < f.bytes;
    assert!(s.files.iter().any(slimmed) && s.older.iter().any(slimmed));
    assert_eq!(mtimes(&s.files), newer);
    assert_eq!(mtimes(&s.older), older);
    let report = text(&["report"], dir.path());
    assert!(
        report.contains("showing the newest, pipeline-demo"),
        "{report}"
    );
}

/// `report --markdown`: the stage table has the read-back column, and the total per run.
#[test]
fn markdown_report_shows_what_is_read_back() {
    let (dir, _) = demo(DemoOptions::default());
    let md = text(&["report", "--markdown"], dir.path());
    assert!(
        md.contains("| stage | task | file | size | share | read back |"),
        "{md}"
    );
    let row = md
        .lines()
        .find(|l| l.starts_with("| 4 | hif_rawflagchans"))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(row.ends_with("×45 |"), "{row}");
    assert!(md.contains("**Read back per run:**"), "{md}");
}
