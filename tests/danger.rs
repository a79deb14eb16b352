//! Danger verdicts on pickles built here: every denylist entry, named by GLOBAL and by
//! STACK_GLOBAL at every protocol 0-5, is flagged; data-only pickles naming the safe types are
//! not; a pipeline-like context (UUIDs, LogRecords, `attrgetter('id')` stored in a container)
//! gets no banner and no dangerous verdict; `report --fail-on` exits 3 exactly when it should.

mod common;

use common::{bin, tempdir};
use picklescope::model::globals::{Trust, Verdict, alarming, judged, listed};
use picklescope::model::{Doc, Model};

/// How a global is named in the stream.
#[derive(Debug, Clone, Copy)]
enum Form {
    Global,
    StackGlobal,
}

fn header(p: u8) -> Vec<u8> {
    if p >= 2 { vec![0x80, p] } else { Vec::new() }
}

/// A str: UNICODE at protocol 0, BINUNICODE above.
fn string(p: u8, s: &str) -> Vec<u8> {
    if p == 0 {
        format!("V{s}\n").into_bytes()
    } else {
        let mut v = vec![b'X'];
        v.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v
    }
}

fn global(p: u8, form: Form, module: &str, name: &str) -> Vec<u8> {
    match form {
        Form::Global => format!("c{module}\n{name}\n").into_bytes(),
        Form::StackGlobal => [string(p, module), string(p, name), vec![0x93]].concat(),
    }
}

/// `(arg,)` with MARK ... TUPLE (valid at every protocol).
fn tuple1(p: u8, arg: &str) -> Vec<u8> {
    [vec![b'('], string(p, arg), vec![b't']].concat()
}

/// `module.name('x')`: the global called, as a payload would.
fn called(p: u8, form: Form, module: &str, name: &str) -> Vec<u8> {
    [
        header(p),
        global(p, form, module, name),
        tuple1(p, "x"),
        b"R.".to_vec(),
    ]
    .concat()
}

/// `module.name('system')(data)`: what the global builds is called on data.
fn chained(p: u8, form: Form, module: &str, name: &str) -> Vec<u8> {
    [
        header(p),
        global(p, form, module, name),
        tuple1(p, "system"),
        b"R".to_vec(),
        tuple1(p, "data"),
        b"R.".to_vec(),
    ]
    .concat()
}

/// `{'k': module.name('id')}`: built and stored, never called.
fn stored(p: u8, form: Form, module: &str, name: &str) -> Vec<u8> {
    [
        header(p),
        b"(d".to_vec(),
        string(p, "k"),
        global(p, form, module, name),
        tuple1(p, "id"),
        b"Rs.".to_vec(),
    ]
    .concat()
}

fn model(bytes: Vec<u8>) -> Model {
    Model::new(Doc::from_bytes("t.pickle", bytes).unwrap_or_else(|e| panic!("{e}")))
}

/// The verdict the model gives `module.name`.
fn verdict_of(m: &Model, module: &str, name: &str) -> Verdict {
    judged(m, &Trust::default())
        .into_iter()
        .find(|((mm, n), _, _)| mm == module && n == name)
        .map(|(_, _, j)| j.verdict)
        .unwrap_or_else(|| panic!("{module}.{name} not named"))
}

/// The name a pickle uses for a list entry (`*` stands for any name in the module).
fn concrete(name: &str) -> &str {
    if name == "*" { "anything" } else { name }
}

#[test]
fn every_denylist_entry_is_flagged_in_every_form_and_protocol() {
    let entries = listed();
    let dangerous: Vec<_> = entries.iter().filter(|e| e.2 == "dangerous").collect();
    let gadgets: Vec<_> = entries.iter().filter(|e| e.2 == "gadget").collect();
    assert!(
        dangerous.len() > 250,
        "{} dangerous entries",
        dangerous.len()
    );
    assert!(gadgets.len() >= 10);
    let mut checked = 0;
    for p in 0..=5u8 {
        for form in [Form::Global, Form::StackGlobal] {
            for (module, name, _) in &dangerous {
                let n = concrete(name);
                let m = model(called(p, form, module, n));
                assert_eq!(
                    verdict_of(&m, module, n),
                    Verdict::Dangerous,
                    "{module}.{n} p{p} {form:?}"
                );
                let banner = alarming(&m);
                assert!(
                    banner.iter().any(|(a, b, _)| a == module && b == n),
                    "{module}.{n} p{p} {form:?}: no banner"
                );
                // A whole-module entry covers its submodules too.
                if *name == "*" {
                    let sub = format!("{module}.sub");
                    let m = model(called(p, form, &sub, "f"));
                    assert_eq!(verdict_of(&m, &sub, "f"), Verdict::Dangerous, "{sub}");
                }
                checked += 1;
            }
            for (module, name, _) in &gadgets {
                let m = model(chained(p, form, module, name));
                assert_eq!(
                    verdict_of(&m, module, name),
                    Verdict::Gadget,
                    "{module}.{name} p{p} {form:?}"
                );
                assert!(!alarming(&m).is_empty());
                let m = model(stored(p, form, module, name));
                assert_eq!(
                    verdict_of(&m, module, name),
                    Verdict::Benign,
                    "{module}.{name} p{p} {form:?} stored"
                );
                assert!(
                    alarming(&m).is_empty(),
                    "{module}.{name}: banner when stored"
                );
                checked += 2;
            }
        }
    }
    eprintln!("{checked} pickles judged");
}

#[test]
fn data_only_pickles_naming_safe_types_are_not_flagged() {
    let safe: Vec<_> = listed().into_iter().filter(|e| e.2 == "safe").collect();
    assert!(safe.len() > 100);
    for p in 0..=5u8 {
        for form in [Form::Global, Form::StackGlobal] {
            for (module, name, _) in &safe {
                let n = concrete(name);
                let m = model(called(p, form, module, n));
                assert_eq!(
                    verdict_of(&m, module, n),
                    Verdict::Safe,
                    "{module}.{n} p{p} {form:?}"
                );
                assert!(alarming(&m).is_empty(), "{module}.{n}");
            }
        }
    }
}

/// Gadgets passed to a call (the callee may call them on data) and through the memo.
#[test]
fn gadget_use_is_followed_through_arguments_and_the_memo() {
    // sorted([...], key=attrgetter('id')) spelled as a REDUCE of builtins.sorted with the
    // getter as an argument.
    let passed = [
        header(2),
        global(2, Form::Global, "builtins", "sorted"),
        b"(]".to_vec(),
        global(2, Form::Global, "operator", "attrgetter"),
        tuple1(2, "id"),
        b"RtR.".to_vec(),
    ]
    .concat();
    let m = model(passed);
    assert_eq!(verdict_of(&m, "operator", "attrgetter"), Verdict::Gadget);
    // The getter memoized, stored, then fetched back and called.
    let memo = [
        header(2),
        b"(".to_vec(),
        global(2, Form::Global, "operator", "itemgetter"),
        tuple1(2, "k"),
        b"Rq\x01".to_vec(),
        b"h\x01".to_vec(),
        tuple1(2, "data"),
        b"Rl.".to_vec(),
    ]
    .concat();
    let m = model(memo);
    assert_eq!(verdict_of(&m, "operator", "itemgetter"), Verdict::Gadget);
    // getattr(obj, 'x') only stored: benign; its result called: gadget.
    let stored = [
        header(2),
        b"(".to_vec(),
        global(2, Form::Global, "builtins", "getattr"),
        b"(".to_vec(),
        global(2, Form::Global, "enum", "Color"),
        string(2, "RED"),
        b"tRl.".to_vec(),
    ]
    .concat();
    let m = model(stored);
    assert_eq!(verdict_of(&m, "builtins", "getattr"), Verdict::Benign);
    assert!(alarming(&m).is_empty());
}

/// `module` + a dotted name that walks into os or through `__globals__` is dangerous.
#[test]
fn dotted_names_reaching_dangerous_code_are_flagged() {
    for p in [0u8, 4] {
        for (module, name) in [
            ("logging", "os.system"),
            ("collections", "OrderedDict.__init__.__globals__"),
            ("datetime", "sys.modules.get"),
        ] {
            let m = model(called(p, Form::StackGlobal, module, name));
            assert_eq!(verdict_of(&m, module, name), Verdict::Dangerous, "{name}");
        }
    }
}

/// A pipeline-like context: UUIDs, LogRecords, datetimes, numpy arrays and a
/// `RetrieveByIndexContainer` whose index function is a stored `attrgetter('id')`.
fn pipeline_like(protocol: u8) -> Vec<u8> {
    use picklescope::synth::pickler::{Value, encode};
    let getter = Value::shared(Value::reduce(
        Value::global("operator", "attrgetter"),
        vec![Value::str("id")],
    ));
    let container = |items: Vec<Value>| {
        Value::instance(
            "pipeline.infrastructure.tablereader",
            "RetrieveByIndexContainer",
            [
                ("_RetrieveByIndexContainer__items", Value::List(items)),
                ("_RetrieveByIndexContainer__index_fn", getter.clone()),
            ],
        )
    };
    let spw = |i: i64| {
        Value::instance(
            "pipeline.domain.spectralwindow",
            "SpectralWindow",
            [("id", Value::Int(i))],
        )
    };
    let uuid = Value::instance("uuid", "UUID", [("int", Value::Int(123_456_789))]);
    let record = Value::newobj(
        "logging",
        "LogRecord",
        Vec::new(),
        Some(Value::dict([
            ("msg", Value::str("Populating ms.fields...")),
            ("levelno", Value::Int(20)),
        ])),
    );
    let when = Value::reduce(
        Value::global("datetime", "datetime"),
        vec![Value::Bytes(vec![7, 233, 1, 2, 3, 4, 5, 0, 0, 0])],
    );
    let ms = Value::instance(
        "pipeline.domain.measurementset",
        "MeasurementSet",
        [
            ("spectral_windows", container((0..4).map(spw).collect())),
            ("fields", container((0..3).map(spw).collect())),
            ("start_time", when),
        ],
    );
    let ctx = Value::instance(
        "pipeline.infrastructure.launcher",
        "Context",
        [
            ("_uuid", uuid),
            ("logrecords", Value::List(vec![record])),
            ("observing_run", Value::List(vec![ms])),
            (
                "order",
                Value::reduce(
                    Value::global("collections", "OrderedDict"),
                    vec![Value::List(Vec::new())],
                ),
            ),
        ],
    );
    encode(&ctx, protocol).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_pipeline_like_context_gets_no_banner() {
    let dir = tempdir();
    // (the synth pickler writes protocols 2-5, as the pipeline does)
    for p in 2..=5u8 {
        let bytes = pipeline_like(p);
        let m = model(bytes.clone());
        assert!(alarming(&m).is_empty(), "p{p}: {:?}", alarming(&m));
        assert_eq!(verdict_of(&m, "operator", "attrgetter"), Verdict::Benign);
        assert_eq!(verdict_of(&m, "uuid", "UUID"), Verdict::Safe);
        assert_eq!(verdict_of(&m, "logging", "LogRecord"), Verdict::Safe);
        for (_, _, j) in judged(&m, &Trust::default()) {
            assert_ne!(j.verdict, Verdict::Dangerous);
        }
        // Trusting the project's modules leaves nothing unknown.
        let trust = Trust::new(["pipeline".to_string()]);
        assert!(
            judged(&m, &trust)
                .iter()
                .all(|(_, _, j)| matches!(j.verdict, Verdict::Safe | Verdict::Benign)),
            "{:?}",
            judged(&m, &trust)
        );
        let f = dir.path().join(format!("ctx_p{p}.context"));
        std::fs::write(&f, &bytes).expect("write");
    }
    // The command line agrees: no DANGEROUS section, attrgetter benign, exit codes for gates.
    let f = dir.path().join("ctx_p4.context");
    let o = bin().arg("report").arg(&f).output().expect("run");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    assert!(!text.contains("DANGEROUS"), "{text}");
    assert!(text.contains("benign    operator.attrgetter"), "{text}");
    let code = |args: &[&str]| {
        bin()
            .arg("report")
            .arg(&f)
            .args(args)
            .output()
            .expect("run")
            .status
            .code()
    };
    assert_eq!(code(&["--fail-on", "dangerous"]), Some(0));
    assert_eq!(code(&["--fail-on", "unknown"]), Some(3));
    assert_eq!(
        code(&["--fail-on", "unknown", "--trust-module", "pipeline"]),
        Some(0)
    );
    let o = bin()
        .args(["report", "--json"])
        .arg(&f)
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let getter = v["globals"]
        .as_array()
        .expect("globals")
        .iter()
        .find(|g| g["name"] == "attrgetter")
        .expect("attrgetter listed");
    assert_eq!(getter["verdict"], "benign");
    assert_eq!(getter["dangerous"], false);
    assert!(
        getter["source"]
            .as_array()
            .expect("source")
            .iter()
            .any(|s| s == "picklescan")
    );
}

#[test]
fn fail_on_dangerous_exits_3_and_names_the_file() {
    let dir = tempdir();
    let f = dir.path().join("evil.pkl");
    std::fs::write(&f, chained(4, Form::StackGlobal, "operator", "attrgetter")).expect("write");
    let o = bin()
        .args(["report", "--fail-on", "dangerous"])
        .arg(&f)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("evil.pkl") && err.contains("operator.attrgetter (gadget)"),
        "{err}"
    );
    let g = dir.path().join("eval.pkl");
    std::fs::write(&g, called(0, Form::Global, "__builtin__", "eval")).expect("write");
    let o = bin()
        .args(["report", "--json", "--fail-on", "unknown"])
        .arg(&g)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["files"][0]["flagged"][0], "__builtin__.eval");
}
