//! The slimmer against CPython: for pipeline-like fixtures at protocols 0–5 (numpy 1.x and 2.x
//! layouts, shared references, cycles, slots, several pickles in one file), the slimmed file
//! loaded by CPython (`tools/canon.py`, stub classes, nothing executed) prints exactly like
//! the original with the removed attributes dropped — sharing and cycles included.

mod common;

use std::path::PathBuf;

use picklescope::slim::presets::{expand_bases, preset};
use picklescope::slim::{Rules, what_if};

use common::{canon_many, first_diff, fixture_bytes, group_set, model, rules, rules_args};

/// A fixture and a rule set to slim it with.
struct Trip {
    fixture: &'static str,
    label: &'static str,
    rules: Rules,
}

fn strategy_a() -> Rules {
    expand_bases(&preset("strategy-a").expect("preset"))
}

/// Rules that cut through the memo hazards the fixtures carry on purpose: `flagging` defines
/// the ResultAxis that `view` refers back to, `axes` lists are shared between correlations,
/// numpy dtypes and module-name strings are first memoized inside `view`.
fn hazards() -> Rules {
    rules(&[
        ("*.RawflagchansResults", "flagging"),
        ("*.ImageResult", "axes"),
        ("*.QAScore", "origin"),
        ("*.RawflagchansResults", "summaries"),
        ("*.ResultAxis", "data"),
    ])
}

fn trips() -> Vec<Trip> {
    let mut v = Vec::new();
    for f in [
        "stage4_p0.pickle",
        "stage4_p1.pickle",
        "stage4_p2.pickle",
        "stage4_p3.pickle",
        "stage4_p4.pickle",
        "stage4_p5.pickle",
        "stage4_np2_p2.pickle",
        "stage4_np2_p5.pickle",
    ] {
        v.push(Trip {
            fixture: f,
            label: "strategy-a",
            rules: strategy_a(),
        });
        v.push(Trip {
            fixture: f,
            label: "hazards",
            rules: hazards(),
        });
    }
    for f in ["tsysflag_p5.pickle", "wvrgcalflag_p5.pickle"] {
        v.push(Trip {
            fixture: f,
            label: "strategy-a",
            rules: strategy_a(),
        });
    }
    v.push(Trip {
        fixture: "wvrgcalflag_p5.pickle",
        label: "nested",
        // The whole flagger result, and inside what survives elsewhere (viewresult).
        rules: rules(&[
            ("*.WvrgcalflagResults", "flaggerresult"),
            ("*.ImageResult", "data"),
        ]),
    });
    for f in [
        "shared_cycles_p0.pickle",
        "shared_cycles_p2.pickle",
        "shared_cycles_p5.pickle",
    ] {
        v.push(Trip {
            fixture: f,
            label: "cycles",
            // `partner` is an object cycle: b is defined inside a.partner and used later.
            rules: rules(&[
                ("*.QaResult", "partner"),
                ("*.ResultAxis", "data"),
                ("*.ResultAxis", "channel_width"),
            ]),
        });
    }
    v.push(Trip {
        fixture: "slots_p2.pickle",
        label: "slots",
        // (dict, slots) and (None, slots) states.
        rules: rules(&[
            ("*.Antenna", "position"),
            ("*.Field", "time"),
            ("*.Antenna", "name"),
        ]),
    });
    v.push(Trip {
        fixture: "multi_dump.pickle",
        label: "second-pickle",
        rules: rules(&[("*.QAScore", "applies_to"), ("*", "logrecords")]),
    });
    v.push(Trip {
        fixture: "text_ops_p0.pickle",
        label: "inst",
        rules: rules(&[("*.Results", "stage_number")]),
    });
    v.push(Trip {
        fixture: "mixed_ops_p4.pickle",
        label: "slots-pair",
        rules: rules(&[("*.Antenna", "position")]),
    });
    v
}

#[test]
fn slimmed_fixtures_equal_cpython_canon_with_drops() {
    if common::no_oracle("slimmed_fixtures_equal_cpython_canon_with_drops") {
        return;
    }
    let dir = common::tempdir();
    let mut jobs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    let mut names = Vec::new();
    for t in trips() {
        let Some(data) = fixture_bytes(t.fixture) else {
            continue;
        };
        let m = model(t.fixture, data);
        let ws = what_if(&m, &t.rules).expect("what-if");
        assert!(
            !ws.plan.is_noop(),
            "{} {}: the rules hit nothing",
            t.fixture,
            t.label
        );
        let (predicted, out) = common::slim_bytes(&m, &t.rules);
        assert_eq!(predicted, out.len() as u64, "{} {}", t.fixture, t.label);
        assert_eq!(ws.after, out.len() as u64, "{} {}", t.fixture, t.label);
        assert!(out.len() < m.data().len());

        // Our reader: the output parses and the removed groups are gone.
        let after = model("slimmed", out.clone());
        let left = group_set(&after);
        for h in &ws.plan.hits {
            assert!(
                !left.contains_key(&(h.class.clone(), h.attr.clone())),
                "{} {}: {}.{} still there",
                t.fixture,
                t.label,
                h.class,
                h.attr
            );
        }
        let slim_path = dir.path().join(format!("{}.{}.pickle", t.fixture, t.label));
        std::fs::write(&slim_path, &out).expect("write slimmed");
        jobs.push((common::fixture(t.fixture), rules_args(dir.path(), &t.rules)));
        jobs.push((slim_path, Vec::new()));
        names.push(format!("{} [{}]", t.fixture, t.label));
    }
    assert!(names.len() >= 20, "fixtures missing: only {}", names.len());
    let outs = canon_many(&jobs);
    let mut failures = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let (want, got) = (&outs[2 * k], &outs[2 * k + 1]);
        match (want, got) {
            (Ok(w), Ok(g)) if w == g => {}
            (Ok(w), Ok(g)) => failures.push(format!("{name}: {}", first_diff(w, g))),
            (w, g) => failures.push(format!("{name}: canon failed: {w:?} / {g:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rules that hit nothing leave every fixture byte for byte as it was, and the dry-run says so.
#[test]
fn noop_rules_are_byte_identical() {
    let fx = common::fixtures(|_| true);
    for (name, data) in fx {
        let m = model(&name, data.clone());
        for r in [
            Rules::default(),
            rules(&[("*.NoSuchClass", "view"), ("*", "no_such_attribute")]),
        ] {
            let ws = what_if(&m, &r).expect("what-if");
            assert!(ws.plan.is_noop());
            assert_eq!(ws.after, data.len() as u64);
            let (predicted, out) = common::slim_bytes(&m, &r);
            assert_eq!(predicted, data.len() as u64);
            assert!(out == data, "{name}: no-op rewrite changed bytes");
        }
    }
}

/// The command line on a temp copy: `slim --preset strategy-a` writes the file the dry-run
/// predicted, and `python3 tools/canon.py` agrees with the original minus the removed
/// attributes (the command-line form of the oracle, exactly as documented).
#[test]
fn binary_slim_then_canon_cli() {
    if common::no_oracle("binary_slim_then_canon_cli") {
        return;
    }
    let Some(data) = fixture_bytes("stage4_np2_p5.pickle") else {
        return;
    };
    let dir = common::tempdir();
    let path = dir.path().join("result-stage4.pickle");
    std::fs::write(&path, &data).expect("copy");

    let dry = common::bin()
        .args(["slim", "--preset", "strategy-a", "--dry-run", "--json"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("json");
    let predicted = dry["after_bytes"].as_u64().expect("after_bytes");
    assert_eq!(std::fs::read(&path).expect("read"), data, "dry-run wrote");

    let run = common::bin()
        .args(["slim", "--preset", "strategy-a", "--json"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    let file = &out["files"][0];
    assert_eq!(file["written"], true);
    let written = std::fs::metadata(&path).expect("stat").len();
    assert_eq!(written, predicted, "dry-run size == written size");
    assert_eq!(file["after_bytes"].as_u64(), Some(written));

    let orig = dir.path().join("original.pickle");
    std::fs::write(&orig, &data).expect("copy");
    assert!(!file["removed"].as_array().expect("removed").is_empty());
    // The oracle gets the preset's rules as a rules file (what `picklescope rules` prints),
    // not the list of what slim says it removed.
    let canon = common::root().join("tools").join("canon.py");
    let printed = common::bin()
        .args(["rules", "--preset", "strategy-a"])
        .output()
        .expect("run");
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let rules_file = dir.path().join("strategy-a.toml");
    std::fs::write(&rules_file, &printed.stdout).expect("write rules");
    let drops = vec![
        "--rules".to_string(),
        rules_file.to_string_lossy().into_owned(),
    ];
    let py = |args: &[String]| {
        let o = std::process::Command::new("python3")
            .arg(&canon)
            .args(args)
            .output()
            .expect("python3");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).expect("utf-8")
    };
    let mut a = vec![orig.to_string_lossy().into_owned()];
    a.extend(drops);
    let want = py(&a);
    let got = py(&[path.to_string_lossy().into_owned()]);
    assert!(want == got, "{}", first_diff(&want, &got));
    assert!(got.contains("RawflagchansResults"));
    assert!(!got.contains("'view'"));
}

/// The oracle is told the rules, so it catches a slimmer that misses instances: a slim that
/// leaves out every class but one of a rule's matches differs from the original minus what
/// the rule names, while it agrees with the original minus what it was really given.
#[test]
fn the_oracle_catches_instances_the_slimmer_missed() {
    if common::no_oracle("the_oracle_catches_instances_the_slimmer_missed") {
        return;
    }
    let Some(data) = fixture_bytes("stage4_p5.pickle") else {
        return;
    };
    let m = model("stage4_p5.pickle", data);
    // An attribute that instances of several classes have.
    let groups = group_set(&m);
    let mut by_attr: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (class, attr) in groups.keys() {
        by_attr.entry(attr).or_default().push(class);
    }
    let (attr, classes) = by_attr.iter().max_by_key(|(_, c)| c.len()).expect("groups");
    assert!(classes.len() >= 2, "no attribute shared by two classes");
    let told = rules(&[("*", attr)]);
    let narrow = rules(&[(classes[0], attr)]);
    let (_, out) = common::slim_bytes(&m, &narrow);
    let dir = common::tempdir();
    let slim = dir.path().join("narrow.pickle");
    std::fs::write(&slim, &out).expect("write");
    let orig = common::fixture("stage4_p5.pickle");
    let res = canon_many(&[
        (orig.clone(), rules_args(dir.path(), &told)),
        (slim.clone(), Vec::new()),
        (orig, rules_args(dir.path(), &narrow)),
    ]);
    let texts: Vec<&String> = res
        .iter()
        .map(|r| r.as_ref().unwrap_or_else(|e| panic!("canon failed: {e}")))
        .collect();
    assert!(
        texts[0] != texts[1],
        "the oracle did not notice {} classes whose `{attr}` was left in",
        classes.len() - 1
    );
    assert!(texts[2] == texts[1], "{}", first_diff(texts[2], texts[1]));
}
