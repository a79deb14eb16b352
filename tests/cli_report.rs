//! `picklescope report --json`: exactly one JSON document with the documented keys, numbers
//! that agree with the file and the library, and stage/task read from the file name and the
//! result itself.

mod common;

use std::path::Path;

use serde_json::Value;

/// Runs `report --json PATH`, checks exit 0 and that stdout is exactly one JSON document.
fn report_json(path: &Path) -> Value {
    let o = common::bin()
        .args(["report", "--json"])
        .arg(path)
        .output()
        .expect("run picklescope");
    assert!(
        o.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let docs: Vec<Value> = serde_json::Deserializer::from_slice(&o.stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("stdout is JSON");
    assert_eq!(docs.len(), 1, "exactly one JSON document on stdout");
    docs.into_iter().next().expect("one")
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// `required` are all present; anything else is one of `optional`.
fn assert_keys(what: &str, v: &Value, required: &[&str], optional: &[&str]) {
    let k = keys(v);
    for r in required {
        assert!(k.contains(r), "{what}: missing key {r} in {k:?}");
    }
    for x in &k {
        assert!(
            required.contains(x) || optional.contains(x),
            "{what}: undocumented key {x}"
        );
    }
}

fn copy_fixture(name: &str, as_name: &str) -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    let data = common::fixture_bytes(name)?;
    let dir = common::tempdir();
    let path = dir.path().join(as_name);
    std::fs::write(&path, data).expect("copy");
    Some((dir, path))
}

#[test]
fn report_json_has_the_documented_shape() {
    let Some((_dir, path)) = copy_fixture("stage4_p5.pickle", "result-stage4.pickle") else {
        return;
    };
    let size = std::fs::metadata(&path).expect("stat").len();
    let r = report_json(&path);
    assert_eq!(r["schema_version"], 1);
    assert_keys(
        "report",
        &r,
        &[
            "schema_version",
            "total_bytes",
            "files",
            "classes",
            "globals",
            "last_stage",
            "reread_bytes",
            "not_removable",
        ],
        &["notes"],
    );
    assert_eq!(r["total_bytes"].as_u64(), Some(size));

    let files = r["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_keys(
        "file",
        f,
        &[
            "path",
            "bytes",
            "protocol",
            "stage",
            "task",
            "root_class",
            "top",
            "reread_times",
            "reread_bytes",
        ],
        &["warnings", "error", "flagged", "not_removable"],
    );
    assert!(f.get("flagged").is_none(), "nothing dangerous in a result");
    assert!(
        f["path"]
            .as_str()
            .expect("path")
            .ends_with("result-stage4.pickle")
    );
    assert_eq!(f["bytes"].as_u64(), Some(size));
    assert_eq!(f["protocol"].as_u64(), Some(5));
    assert_eq!(f["stage"].as_u64(), Some(4));
    assert_eq!(f["task"].as_str(), Some("hif_rawflagchans"));
    assert_eq!(
        f["root_class"].as_str(),
        Some("pipeline.infrastructure.basetask.ResultsList")
    );

    let top = f["top"].as_array().expect("top");
    assert!(!top.is_empty());
    let mut last = u64::MAX;
    for t in top {
        assert_keys(
            "top",
            t,
            &["path", "class", "attr", "bytes", "retained_bytes"],
            &[],
        );
        let b = t["bytes"].as_u64().expect("bytes");
        assert!(b <= last, "top is sorted by size");
        last = b;
        assert!(t["retained_bytes"].as_u64().expect("retained") <= b);
        assert!(
            t["path"]
                .as_str()
                .expect("path")
                .contains(t["attr"].as_str().expect("attr"))
        );
    }
    // The largest attributes are the two `view`s, by the path a user would type.
    assert_eq!(top[0]["attr"], "view");
    assert_eq!(
        top[0]["class"],
        "pipeline.hif.tasks.rawflagchans.resultobjects.RawflagchansResults"
    );
    assert_eq!(top[0]["path"], "_ResultsList__results[0].view");
    assert!(
        top[0]["bytes"].as_u64().expect("bytes") * 3 > size,
        "view is a third of the file"
    );

    let classes = r["classes"].as_array().expect("classes");
    let mut last = u64::MAX;
    for c in classes {
        assert_keys(
            "class",
            c,
            &["class", "attr", "instances", "bytes", "retained_bytes"],
            &["stages"],
        );
        let rb = c["retained_bytes"].as_u64().expect("retained");
        assert!(rb <= last, "classes sorted by retained bytes");
        last = rb;
        assert!(rb <= c["bytes"].as_u64().expect("bytes"));
        assert!(c["instances"].as_u64().expect("instances") >= 1);
    }
    let view = classes
        .iter()
        .find(|c| c["attr"] == "view")
        .expect("view group");
    assert_eq!(view["instances"].as_u64(), Some(2));
    assert_eq!(classes[0]["attr"], "view");

    let globals = r["globals"].as_array().expect("globals");
    assert!(!globals.is_empty());
    for g in globals {
        assert_keys(
            "global",
            g,
            &[
                "module",
                "name",
                "count",
                "dangerous",
                "verdict",
                "severity",
                "reason",
                "source",
            ],
            &[],
        );
        assert_eq!(g["dangerous"], false, "{g}");
        let verdict = g["verdict"].as_str().expect("verdict");
        assert_eq!(g["severity"], g["verdict"], "{g}");
        assert!(["safe", "unknown"].contains(&verdict), "{g}");
        assert!(!g["reason"].as_str().expect("reason").is_empty(), "{g}");
        // Listed globals say who lists them; unknown ones have no source.
        assert_eq!(
            g["source"].as_array().expect("source").is_empty(),
            verdict == "unknown",
            "{g}"
        );
        assert!(g["count"].as_u64().expect("count") >= 1);
    }
    assert!(
        globals
            .iter()
            .any(|g| g["module"] == "numpy.core.numeric" && g["name"] == "_frombuffer"),
        "numpy 1.x protocol-5 arrays"
    );
}

/// The group sizes in the report are the library's.
#[test]
fn report_numbers_match_the_library() {
    let Some((_dir, path)) = copy_fixture("tsysflag_p5.pickle", "result-stage7.pickle") else {
        return;
    };
    let r = report_json(&path);
    let m = picklescope::model::Model::open(&path).expect("open");
    let groups = m.groups();
    for c in r["classes"].as_array().expect("classes") {
        let g = groups
            .groups
            .iter()
            .find(|g| g.class == c["class"] && g.attr == c["attr"])
            .expect("group in the library");
        assert_eq!(c["instances"].as_u64(), Some(g.instances));
        assert_eq!(c["bytes"].as_u64(), Some(g.bytes));
        assert_eq!(c["retained_bytes"].as_u64(), Some(g.retained));
    }
    assert_eq!(r["files"][0]["stage"].as_u64(), Some(7));
    assert_eq!(r["files"][0]["task"].as_str(), Some("hifa_tsysflag"));
}

/// Stage and task come from the file name when it has one, else from the result itself.
#[test]
fn stage_and_task_from_name_and_content() {
    let Some((_dir, path)) = copy_fixture("stage4_p2.pickle", "some-copy.pickle") else {
        return;
    };
    let r = report_json(&path);
    let f = &r["files"][0];
    assert_eq!(
        f["stage"].as_u64(),
        Some(4),
        "stage_number inside the result"
    );
    assert_eq!(f["task"].as_str(), Some("hif_rawflagchans"));
    assert_eq!(f["protocol"].as_u64(), Some(2));

    // A protocol-0 copy says the same (text opcodes, copyreg._reconstructor instances).
    let Some((_d0, p0)) = copy_fixture("stage4_p0.pickle", "result-stage4.pickle") else {
        return;
    };
    let r0 = report_json(&p0);
    assert_eq!(r0["files"][0]["stage"].as_u64(), Some(4));
    assert_eq!(r0["files"][0]["task"].as_str(), Some("hif_rawflagchans"));
    assert_eq!(r0["files"][0]["protocol"].as_u64(), Some(0));
    assert_eq!(r0["classes"][0]["attr"], "view");
}

/// Dangerous globals are flagged, and reading them never runs them.
#[test]
fn malicious_globals_are_flagged_not_run() {
    let Some((_dir, path)) = copy_fixture("malicious_reduce_chain_p5.pickle", "evil.pickle") else {
        return;
    };
    let r = report_json(&path);
    let dangerous: Vec<String> = r["globals"]
        .as_array()
        .expect("globals")
        .iter()
        .filter(|g| g["dangerous"] == true)
        .map(|g| {
            format!(
                "{}.{}",
                g["module"].as_str().unwrap_or(""),
                g["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(
        dangerous.contains(&"posix.system".to_string()),
        "{dangerous:?}"
    );
    assert!(
        dangerous.contains(&"builtins.exec".to_string()),
        "{dangerous:?}"
    );
    for marker in ["picklescope_pwned_reduce_chain", "picklescope_pwned_exec"] {
        assert!(!Path::new(marker).exists(), "{marker} exists");
    }
}
