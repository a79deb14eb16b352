//! `picklescope survey` over a generated tree (contexts at several depths, a run without its
//! `.context`, a broken stage file, an unreadable directory, a symlink loop): rows and totals
//! agree with per-context reports and the files on disk, and shards 1..N merged give exactly
//! the unsharded document.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use picklescope::synth::{DemoOptions, write_demo};
use serde_json::Value;

/// Where each demo run goes, its scale, and whether its `.context` is removed.
const RUNS: &[(&str, f64, bool)] = &[
    ("a", 0.05, false),
    ("b/deep/er", 0.08, false),
    ("c", 0.03, true),
    ("d", 0.04, false),
    ("e/f", 0.02, false),
    ("e/g/h/i", 0.02, false),
    ("j", 0.02, true),
    ("locked/k", 0.02, false),
];

/// The runs the survey finds: root reads the mode-000 directory anyway (the unreadable case
/// is its own test, run as another user).
fn readable_runs() -> impl Iterator<Item = &'static (&'static str, f64, bool)> {
    let root = real_uid() == 0;
    RUNS.iter()
        .filter(move |(sub, _, _)| root || !sub.starts_with("locked/"))
}

/// Writes the tree under `dir`: every file readable by anyone, `locked/` mode 000, a broken
/// stage file in `d`, a symlink loop `b/loop -> ..`.
fn tree(dir: &Path) {
    for (sub, scale, drop_context) in RUNS {
        let d = dir.join(sub);
        let opts = DemoOptions {
            scale: *scale,
            ..Default::default()
        };
        let s = write_demo(&d, &opts).expect("write demo");
        if *drop_context {
            std::fs::remove_file(&s.context).expect("remove .context");
        }
    }
    let broken = dir.join("d/pipeline-demo/saved_state/result-stage5.pickle");
    let bytes = std::fs::read(&broken).expect("read stage 5");
    std::fs::write(&broken, &bytes[..bytes.len() / 3]).expect("truncate stage 5");
    std::os::unix::fs::symlink("..", dir.join("b/loop")).expect("symlink loop");
    let st = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(dir)
        .status()
        .expect("chmod");
    assert!(st.success());
    set_mode(&dir.join("locked"), 0o000);
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A temp dir holding `tree/`, removable afterwards (the locked dir is reopened on drop).
struct Tree {
    tmp: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let tmp = tempfile::tempdir().expect("tempdir");
        set_mode(tmp.path(), 0o755);
        tree(&tmp.path().join("tree"));
        Tree { tmp }
    }
    fn root(&self) -> PathBuf {
        self.tmp.path().join("tree")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        set_mode(&self.root().join("locked"), 0o755);
    }
}

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().expect("run picklescope");
    assert!(
        o.status.success(),
        "{cmd:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("stdout is one JSON document")
}

use common::count as u;

/// The `notes` of a survey document.
fn notes(doc: &Value) -> Vec<&str> {
    doc["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Size of every file of a context, read from the disk: the `.context` and its saved_state/
/// pickles, or the pickles of a bare saved_state/.
fn disk_bytes(path: &Path) -> (u64, u64) {
    let (mut files, mut bytes) = (0, 0);
    let saved = if path.is_dir() {
        path.to_path_buf()
    } else {
        files += 1;
        bytes += std::fs::metadata(path).expect("context").len();
        path.with_extension("").join("saved_state")
    };
    for e in std::fs::read_dir(&saved).expect("saved_state") {
        let e = e.expect("entry");
        files += 1;
        bytes += e.metadata().expect("meta").len();
    }
    (files, bytes)
}

/// What one run reads back, from the file names and sizes on disk: stage k of S read
/// S - k + 1 times.
fn disk_reread(path: &Path) -> u64 {
    let saved = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.with_extension("").join("saved_state")
    };
    let stages: Vec<(u64, u64)> = std::fs::read_dir(&saved)
        .expect("saved_state")
        .map(|e| {
            let e = e.expect("entry");
            let name = e.file_name().to_string_lossy().into_owned();
            let k = name
                .strip_prefix("result-stage")
                .and_then(|n| n.strip_suffix(".pickle"))
                .and_then(|n| n.parse().ok())
                .expect("result-stage<k>.pickle");
            (k, e.metadata().expect("meta").len())
        })
        .collect();
    let s = stages.iter().map(|(k, _)| *k).max().expect("stages");
    stages.iter().map(|(k, b)| b * (s - k + 1)).sum()
}

#[test]
fn totals_are_the_sum_of_per_context_reports() {
    let t = Tree::new();
    let root = t.root();
    let doc = json(&run(common::bin()
        .args(["survey", "--json", "--preset", "strategy-a"])
        .arg(&root)));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["shard"], "1/1");
    assert_eq!(doc["rules"], "preset strategy-a");
    let contexts = doc["contexts"].as_array().expect("contexts");
    let paths: Vec<String> = contexts
        .iter()
        .map(|c| c["path"].as_str().expect("path").to_string())
        .collect();
    let r = root.display().to_string();
    let mut want: Vec<String> = readable_runs()
        .map(|(sub, _, dropped)| {
            if *dropped {
                format!("{r}/{sub}/pipeline-demo/saved_state")
            } else {
                format!("{r}/{sub}/pipeline-demo.context")
            }
        })
        .collect();
    want.sort();
    assert_eq!(paths, want, "every context once, sorted by path");

    let (mut files, mut bytes, mut after, mut errors) = (0, 0, 0, 0);
    let (mut reread, mut after_reread) = (0, 0);
    let mut classes: BTreeMap<(String, String), [u64; 4]> = BTreeMap::new();
    for c in contexts {
        let path = PathBuf::from(c["path"].as_str().expect("path"));
        // The report of this one context, through the command a user would run.
        let rep = common::bin()
            .args(["report", "--json", "--top", "1", "--preset", "strategy-a"])
            .arg(&path)
            .output()
            .expect("report");
        let rep: Value = serde_json::from_slice(&rep.stdout).expect("report JSON");
        let rfiles = rep["files"].as_array().expect("files");
        assert_eq!(u(&c["files"]), rfiles.len() as u64, "{path:?}");
        assert_eq!(u(&c["bytes"]), u(&rep["total_bytes"]), "{path:?}");
        assert_eq!(u(&c["after_bytes"]), u(&rep["after_bytes"]), "{path:?}");
        assert_eq!(u(&c["reread_bytes"]), u(&rep["reread_bytes"]), "{path:?}");
        assert_eq!(
            u(&c["after_reread_bytes"]),
            u(&rep["after_reread_bytes"]),
            "{path:?}"
        );
        let rerrors = rfiles.iter().filter(|f| f.get("error").is_some()).count();
        assert_eq!(c["errors"].as_array().expect("errors").len(), rerrors);
        // And with the disk, independently of the reader.
        assert_eq!((u(&c["files"]), u(&c["bytes"])), disk_bytes(&path));
        assert_eq!(u(&c["reread_bytes"]), disk_reread(&path));
        assert!(u(&c["after_bytes"]) < u(&c["bytes"]), "strategy-a saves");
        assert_eq!(u(&c["stages"]), 48);
        let big = &c["largest_stage"];
        let max_stage = rfiles
            .iter()
            .filter(|f| f["stage"].is_u64())
            .map(|f| u(&f["bytes"]))
            .max();
        assert_eq!(Some(u(&big["bytes"])), max_stage);
        for g in rep["classes"].as_array().expect("classes") {
            let e = classes
                .entry((
                    g["class"].as_str().expect("class").into(),
                    g["attr"].as_str().expect("attr").into(),
                ))
                .or_default();
            e[0] += 1;
            e[1] += u(&g["instances"]);
            e[2] += u(&g["bytes"]);
            e[3] += u(&g["retained_bytes"]);
        }
        files += rfiles.len() as u64;
        bytes += u(&rep["total_bytes"]);
        after += u(&rep["after_bytes"]);
        reread += u(&rep["reread_bytes"]);
        after_reread += u(&rep["after_reread_bytes"]);
        errors += rerrors as u64;
    }
    let tot = &doc["totals"];
    assert_eq!(u(&tot["contexts"]), readable_runs().count() as u64);
    assert_eq!(u(&tot["files"]), files);
    assert_eq!(u(&tot["bytes"]), bytes);
    assert_eq!(u(&tot["after_bytes"]), after);
    assert_eq!(u(&tot["errors"]), errors);
    assert_eq!(u(&tot["reread_bytes"]), reread);
    assert_eq!(u(&tot["after_reread_bytes"]), after_reread);
    assert!(
        reread > bytes,
        "48-stage runs read their results back many times"
    );
    assert_eq!(errors, 1, "the truncated stage file, and only it");
    let d_errors = contexts
        .iter()
        .find(|c| c["path"].as_str().is_some_and(|p| p.contains("/d/")))
        .map(|c| c["errors"].clone())
        .expect("context d");
    assert!(
        d_errors[0]
            .as_str()
            .is_some_and(|e| e.contains("result-stage5.pickle")),
        "{d_errors}"
    );
    // Fleet class.attr groups are the per-context groups added up, largest first.
    let fleet = doc["classes"].as_array().expect("classes");
    assert_eq!(fleet.len(), classes.len());
    for g in fleet {
        let key = (
            g["class"].as_str().expect("class").to_string(),
            g["attr"].as_str().expect("attr").to_string(),
        );
        let want = classes[&key];
        let got = [
            u(&g["contexts"]),
            u(&g["instances"]),
            u(&g["bytes"]),
            u(&g["retained_bytes"]),
        ];
        assert_eq!(got, want, "{key:?}");
    }
    let retained: Vec<u64> = fleet.iter().map(|g| u(&g["retained_bytes"])).collect();
    assert!(retained.windows(2).all(|w| w[0] >= w[1]), "largest first");
    let notes = notes(&doc);
    assert!(
        notes.contains(&format!("{r}/b/loop: symlink loop back to {r}; not followed").as_str()),
        "{notes:?}"
    );

    // The text form shows the same totals.
    let text = run(common::bin()
        .args(["survey", "--preset", "strategy-a"])
        .arg(&root));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&format!(
            "{} context(s): {files} file(s), {}",
            readable_runs().count(),
            picklescope::fmt::size(bytes)
        )),
        "{text}"
    );
    assert!(text.contains("result-stage5.pickle"), "{text}");
}

#[test]
fn shards_merge_to_the_unsharded_document() {
    let t = Tree::new();
    let root = t.root();
    let full = run(common::bin().args(["survey", "--json"]).arg(&root)).stdout;
    let full_doc: Value = serde_json::from_slice(&full).expect("json");
    let all = full_doc["contexts"].as_array().expect("contexts").len();
    assert_eq!(all, readable_runs().count());
    for n in [1usize, 2, 3, 7] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut files = Vec::new();
        let mut seen = 0;
        for k in 1..=n {
            let o = run(common::bin()
                .args(["survey", "--json", "--jobs", "2", "--shard"])
                .arg(format!("{k}/{n}"))
                .arg(&root));
            let doc = json(&o);
            assert_eq!(doc["shard"], format!("{k}/{n}"));
            let here = doc["contexts"].as_array().expect("contexts");
            // Contexts k, k+n, ... of the sorted list.
            let want: Vec<&Value> = full_doc["contexts"]
                .as_array()
                .expect("contexts")
                .iter()
                .skip(k - 1)
                .step_by(n)
                .collect();
            assert_eq!(here.iter().collect::<Vec<_>>(), want, "shard {k}/{n}");
            seen += here.len();
            let f = dir.path().join(format!("shard-{k}.json"));
            std::fs::write(&f, &o.stdout).expect("write shard");
            files.push(f);
        }
        assert_eq!(seen, all, "N = {n} covers every context once");
        // Any order of the shard documents.
        files.reverse();
        let merged = run(common::bin()
            .args(["survey", "--json", "--merge"])
            .args(&files))
        .stdout;
        assert_eq!(
            String::from_utf8_lossy(&merged),
            String::from_utf8_lossy(&full),
            "N = {n}: merged shards differ from the unsharded run"
        );
        // And the text of the merge is the text of the unsharded run.
        let mt = run(common::bin().args(["survey", "--merge"]).args(&files)).stdout;
        let ft = run(common::bin().arg("survey").arg(&root)).stdout;
        assert_eq!(String::from_utf8_lossy(&mt), String::from_utf8_lossy(&ft));
        if n > 1 {
            // A missing shard is refused (exit 2), not merged into a smaller fleet.
            let o = common::bin()
                .args(["survey", "--merge"])
                .args(&files[1..])
                .output()
                .expect("run");
            assert_eq!(o.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&o.stderr).contains("is missing"));
        }
    }
}

#[test]
fn unreadable_directory_is_noted_and_skipped() {
    let t = Tree::new();
    let root = t.root();
    // Root reads a mode-000 directory anyway: run the survey as nobody instead.
    let is_root = real_uid() == 0;
    let o = if is_root {
        let (_exe_dir, bin) = common::public_binary();
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(&bin)
            .args(["survey", "--json"])
            .arg(&root)
            .output()
            .expect("setpriv (util-linux) runs the survey as nobody")
    } else {
        common::bin()
            .args(["survey", "--json"])
            .arg(&root)
            .output()
            .expect("run")
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc = json(&o);
    let r = root.display().to_string();
    let notes = notes(&doc);
    assert!(
        notes.contains(&format!("{r}/locked: cannot read (permission denied); skipped").as_str()),
        "{notes:?}"
    );
    let paths: Vec<&str> = doc["contexts"]
        .as_array()
        .expect("contexts")
        .iter()
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert_eq!(paths.len(), RUNS.len() - 1, "{paths:?}");
    assert!(paths.iter().all(|p| !p.contains("/locked/")));
}

/// The real user id, from /proc (no unsafe libc call in a test).
fn real_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("Uid line")
}

#[test]
fn bad_shards_and_documents_are_refused() {
    let t = Tree::new();
    let root = t.root();
    for bad in ["0/3", "4/3", "x", "auto"] {
        let o = common::bin()
            .env_remove("SLURM_ARRAY_TASK_ID")
            .args(["survey", "--shard", bad])
            .arg(&root)
            .output()
            .expect("run");
        assert_eq!(o.status.code(), Some(2), "--shard {bad}");
        assert_eq!(String::from_utf8_lossy(&o.stderr).lines().count(), 1);
    }
    // --shard auto inside a SLURM array task: task 3 of --array=0-3 is shard 4/4.
    let o = run(common::bin()
        .env("SLURM_ARRAY_TASK_ID", "3")
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env("SLURM_ARRAY_TASK_COUNT", "4")
        .args(["survey", "--json", "--shard", "auto"])
        .arg(&root));
    assert_eq!(json(&o)["shard"], "4/4");
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"files\": []}").expect("write");
    let o = common::bin()
        .args(["survey", "--merge"])
        .arg(&junk)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("junk.json"));
    let o = common::bin()
        .args(["survey"])
        .arg(dir.path().join("absent"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_context_named_apart_from_its_file_still_claims_its_saved_state() {
    // `renamed.context` holds the run name `pipeline-demo`: resolve reads that name and uses
    // `pipeline-demo/saved_state/`, so the walk must not list that directory again on its own.
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = write_demo(
        tmp.path(),
        &DemoOptions {
            scale: 0.02,
            ..Default::default()
        },
    )
    .expect("demo");
    let renamed = tmp.path().join("renamed.context");
    std::fs::rename(&s.context, &renamed).expect("rename");
    let doc = json(&run(common::bin()
        .args(["survey", "--json"])
        .arg(tmp.path())));
    let contexts = doc["contexts"].as_array().expect("contexts");
    assert_eq!(contexts.len(), 1, "{contexts:?}");
    assert_eq!(contexts[0]["path"], renamed.display().to_string());
    assert_eq!(u(&contexts[0]["files"]), 49);
    assert_eq!(u(&contexts[0]["bytes"]), s.total_bytes);
}
