//! Malicious pickles (os.system, builtins.eval/exec, subprocess.Popen, `__reduce__` chains,
//! getattr tricks) are reported, shown and slimmed without anything running. Positive control
//! first: CPython's real unpickler loads each file in a throwaway directory (its own working
//! directory and HOME) and every payload creates its marker there; then picklescope handles
//! the same bytes and no marker appears. `report` lists the globals as dangerous and the
//! explorer shows a warning banner.

mod common;

use std::path::{Path, PathBuf};

use common::explorer::{open_app, press, render};
use common::{bin, tempdir};
use crossterm::event::KeyCode;
use picklescope::model::Model;
use picklescope::model::globals::{Named, Trust, Verdict, alarming, judge};

/// `(module, name)` of the globals a model gets a banner for.
fn dangerous_globals(m: &Model) -> Vec<(String, String)> {
    alarming(m).into_iter().map(|(m, n, _)| (m, n)).collect()
}

/// The verdict on a global the pickle calls (what a gadget needs to be flagged).
fn called_verdict(m: &str, n: &str) -> Verdict {
    let called = Named {
        count: 1,
        called: true,
        built: false,
    };
    judge(m, n, called, &Trust::default()).verdict
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// BINUNICODE.
fn u(s: &str) -> Vec<u8> {
    let mut v = vec![b'X'];
    v.extend_from_slice(&(s.len() as u32).to_le_bytes());
    v.extend_from_slice(s.as_bytes());
    v
}

/// SHORT_BINUNICODE (protocol 4).
fn su(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// A protocol 0 quoted STRING line.
fn s0(s: &str) -> Vec<u8> {
    format!("S'{s}'\n").into_bytes()
}

/// One hand-assembled malicious pickle: what it does, its bytes, the dangerous globals it
/// names, and the marker it would create if CPython loaded it.
struct Evil {
    name: &'static str,
    bytes: Vec<u8>,
    globals: Vec<(&'static str, &'static str)>,
    marker: PathBuf,
}

fn evil_set(dir: &Path) -> Vec<Evil> {
    let m = |n: &str| dir.join(format!("pwned_{n}"));
    let touch = |p: &Path| format!("touch {}", p.display());
    let mut v = Vec::new();
    let mut add = |name: &'static str,
                   globals: Vec<(&'static str, &'static str)>,
                   make: &dyn Fn(&Path) -> Vec<u8>| {
        let marker = m(name);
        v.push(Evil {
            name,
            bytes: make(&marker),
            globals,
            marker,
        });
    };
    add("os_system_p0", vec![("os", "system")], &|p| {
        cat(&[b"cos\nsystem\n(", &s0(&touch(p)), b"tR."])
    });
    add("posix_system_p2", vec![("posix", "system")], &|p| {
        cat(&[b"\x80\x02cposix\nsystem\n", &u(&touch(p)), b"\x85R."])
    });
    add("inst_p0", vec![("os", "system")], &|p| {
        cat(&[b"(", &s0(&touch(p)), b"ios\nsystem\n."])
    });
    add("obj_p1", vec![("os", "system")], &|p| {
        cat(&[b"(cos\nsystem\n", &u(&touch(p)), b"o."])
    });
    add("eval_p4", vec![("builtins", "eval")], &|p| {
        let code = format!("open({:?}, 'w').close()", p.display().to_string());
        cat(&[
            b"\x80\x04",
            &su("builtins"),
            &su("eval"),
            b"\x93",
            &su(&code),
            b"\x85R.",
        ])
    });
    add("exec_p4", vec![("builtins", "exec")], &|p| {
        let code = format!("import os\nos.system({:?})", touch(p));
        cat(&[
            b"\x80\x04",
            &su("builtins"),
            &su("exec"),
            b"\x93",
            &u(&code),
            b"\x85R.",
        ])
    });
    add("subprocess_p5", vec![("subprocess", "Popen")], &|p| {
        cat(&[
            b"\x80\x05",
            &su("subprocess"),
            &su("Popen"),
            b"\x93]\x94(",
            &su("touch"),
            &u(&p.display().to_string()),
            b"e\x85R.",
        ])
    });
    // subprocess.run(['touch', path]) (REDUCE with a list argument).
    add("subprocess_run_p2", vec![("subprocess", "run")], &|p| {
        cat(&[
            b"\x80\x02csubprocess\nrun\n](",
            &u("touch"),
            &u(&p.display().to_string()),
            b"e\x85R.",
        ])
    });
    // getattr(__import__('os'), 'system')('touch ...'): a REDUCE chain.
    add(
        "getattr_p2",
        vec![("builtins", "getattr"), ("builtins", "__import__")],
        &|p| {
            cat(&[
                b"\x80\x02cbuiltins\ngetattr\ncbuiltins\n__import__\n",
                &u("os"),
                b"\x85R",
                &u("system"),
                b"\x86R",
                &u(&touch(p)),
                b"\x85R.",
            ])
        },
    );
    // functools.partial(os.system, cmd)(): the call happens on a second REDUCE.
    add(
        "partial_p2",
        vec![("functools", "partial"), ("os", "system")],
        &|p| {
            cat(&[
                b"\x80\x02cfunctools\npartial\ncos\nsystem\n",
                &u(&touch(p)),
                b"\x86R)R.",
            ])
        },
    );
    // operator.methodcaller('system', cmd)(__import__('os')).
    add(
        "methodcaller_p2",
        vec![("operator", "methodcaller"), ("builtins", "__import__")],
        &|p| {
            cat(&[
                b"\x80\x02coperator\nmethodcaller\n",
                &u("system"),
                &u(&touch(p)),
                b"\x86Rcbuiltins\n__import__\n",
                &u("os"),
                b"\x85R\x85R.",
            ])
        },
    );
    // A payload inside an instance's state, next to ordinary attributes, and a second one
    // built from `_operator.add` (a __reduce__ chain): what `slim` has to rewrite around.
    add(
        "state_chain_p2",
        vec![("posix", "system"), ("builtins", "exec")],
        &|p| {
            cat(&[
                b"\x80\x02c__main__\nBox\nq\x00)\x81}(",
                &u("payload"),
                b"cposix\nsystem\n",
                b"c_operator\nadd\n",
                &u("touch "),
                &u(&p.display().to_string()),
                b"\x86R\x85R",
                &u("view"),
                b"C\x10xxxxxxxxxxxxxxxx",
                &u("more"),
                b"cbuiltins\nexec\n",
                &u(&format!("open({:?}, 'w').close()", p.display().to_string())),
                b"\x85R",
                &u("keep"),
                b"K\x07ub.",
            ])
        },
    );
    v
}

/// CPython's real unpickler (`pickle.Unpickler`, which runs what a pickle says) on each file
/// named on the command line. A class that cannot be imported here (the pipeline's, a script's
/// `__main__.Box`) becomes an inert class, as if its module were installed, so the load goes on
/// to the payload. Waits for any child process a payload started.
const CPYTHON_LOAD: &str = r#"
import os, pickle, sys
class Inert:
    def __init__(self, *a, **k): pass
    def __setstate__(self, state): pass
class Loader(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):
            return type(name, (Inert,), {'__module__': module})
for path in sys.argv[1:]:
    try:
        with open(path, 'rb') as f:
            Loader(f).load()
    except Exception as e:
        print('%s: %s: %s' % (path, type(e).__name__, e), file=sys.stderr)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"#;

/// The positive control: loads `files` with CPython in `sandbox` (its working directory and
/// HOME, a fresh temp dir) and asserts that every marker (relative ones resolved in `sandbox`)
/// exists afterwards, then removes them. Returns how many markers were created.
fn cpython_creates_every_marker(sandbox: &Path, files: &[(&str, PathBuf, Vec<PathBuf>)]) -> usize {
    if common::no_python("positive control: CPython loads the malicious pickles") {
        return 0;
    }
    for (name, _, markers) in files {
        for m in markers {
            assert!(
                !sandbox.join(m).exists(),
                "{name}: {} exists before CPython loads anything",
                m.display()
            );
        }
    }
    let args: Vec<String> = files
        .iter()
        .map(|(_, f, _)| f.to_string_lossy().into_owned())
        .collect();
    let mut child = std::process::Command::new("python3")
        .arg("-")
        .args(&args)
        .current_dir(sandbox)
        .env("HOME", sandbox)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn python3");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(CPYTHON_LOAD.as_bytes())
            .expect("write script");
    }
    let o = child.wait_with_output().expect("python3");
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "CPython loader failed: {log}");
    let mut created = 0;
    let mut missing = Vec::new();
    for (name, _, markers) in files {
        for m in markers {
            let at = sandbox.join(m);
            if at.exists() {
                created += 1;
                std::fs::remove_file(&at).expect("remove marker");
            } else {
                missing.push(format!("{name}: {}", m.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "positive control: CPython loading these did not create their markers, so their \
         absence after picklescope would prove nothing:\n{}\nloader stderr:\n{log}",
        missing.join("\n")
    );
    created
}

/// Runs the binary in `cwd` (also its HOME); returns (exit code, stdout, stderr).
fn run(cwd: &Path, args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let o = bin()
        .args(args)
        .current_dir(cwd)
        .env("HOME", cwd)
        .output()
        .expect("run picklescope");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Everything a person can do with a file: open it in the library and walk every view, open
/// it in the explorer and move around, report it (text and JSON), dry-run and really slim it
/// (the binary runs in `cwd`, a fresh directory, as its working directory and HOME).
fn handle_everything(file: &Path, rules: &Path, cwd: &Path) -> (String, String) {
    // Library: every node's rows, labels, paths and previews.
    let m = Model::open(file).unwrap_or_else(|e| panic!("{e}"));
    let g = m.graph();
    for id in 0..g.nodes.len() as u32 {
        for r in m.rows(id) {
            let _ = picklescope::model::label_text(g, m.data(), r.label);
            let _ = m.attr_path(&r);
        }
        let _ = m.path(id);
        let _ = m.class_of(id);
        let _ = picklescope::pickle::value::scalar_preview(g, m.data(), id, 80);
    }
    let _ = m.groups();
    // The explorer, driven like a person would.
    let screen = show_in_explorer(file);
    // Binary: report, report --json, slim --dry-run, slim.
    let f = file.as_os_str();
    let (code, text, err) = run(cwd, &["report".as_ref(), f]);
    assert_eq!(code, Some(0), "{err}");
    let (code, json, err) = run(cwd, &["report".as_ref(), "--json".as_ref(), f]);
    assert_eq!(code, Some(0), "{err}");
    let r = rules.as_os_str();
    for extra in [&["--dry-run"][..], &[]] {
        let mut args: Vec<&std::ffi::OsStr> = vec!["slim".as_ref(), f, "--rules".as_ref(), r];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        let (code, _, err) = run(cwd, &args);
        assert_eq!(code, Some(0), "slim {extra:?}: {err}");
    }
    let _ = screen;
    (text, json)
}

/// Opens `file` in the explorer over a test terminal, moves around, returns the first screen.
fn show_in_explorer(file: &Path) -> String {
    let mut app = open_app(file, picklescope::slim::Rules::default(), true);
    let first = render(&app, 120, 30, false);
    for code in [
        KeyCode::Enter,
        KeyCode::Down,
        KeyCode::Enter,
        KeyCode::Right,
        KeyCode::Down,
        KeyCode::Down,
        KeyCode::Enter,
    ] {
        press(&mut app, code);
        let _ = render(&app, 120, 30, false);
    }
    first
}

fn assert_no_marker(marker: &Path, what: &str) {
    assert!(
        !marker.exists(),
        "{what}: {} exists: something ran pickle code",
        marker.display()
    );
}

#[test]
fn hand_made_malicious_pickles_never_run() {
    let dir = tempdir();
    let set = evil_set(dir.path());
    // Control: the marker paths are creatable, so their absence below means "not run".
    let probe = dir.path().join("pwned_probe");
    let ok = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("touch {}", probe.display()))
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok && probe.exists(),
        "cannot create markers in the temp dir"
    );
    std::fs::remove_file(&probe).expect("rm probe");
    // Positive control: CPython, loading each one in a throwaway directory, runs every payload.
    let sandbox = tempdir();
    let files: Vec<(&str, PathBuf, Vec<PathBuf>)> = set
        .iter()
        .map(|e| {
            let p = sandbox.path().join(format!("{}.pickle", e.name));
            std::fs::write(&p, &e.bytes).expect("write");
            (e.name, p, vec![e.marker.clone()])
        })
        .collect();
    let created = cpython_creates_every_marker(sandbox.path(), &files);
    if common::python().is_some() {
        assert_eq!(created, set.len(), "one marker per payload");
    }
    // CPython's disassembler (which never executes) accepts every stream as a whole pickle.
    if !common::no_python("pickletools check") {
        let files: Vec<String> = set
            .iter()
            .map(|e| {
                let p = dir.path().join(format!("{}.bin", e.name));
                std::fs::write(&p, &e.bytes).expect("write");
                p.display().to_string()
            })
            .collect();
        let script = format!(
            "import pickletools, io, sys\nfor f in {files:?}:\n    pickletools.dis(open(f, 'rb').read(), out=io.StringIO())\nprint('ok')\n"
        );
        let o = common::py_run(&script, &[], None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[transient]]\nclass = \"*\"\nattrs = [\"view\", \"payload\"]\n",
    )
    .expect("rules");
    let run_dir = tempdir();
    for e in &set {
        let f = dir.path().join(format!("{}.pickle", e.name));
        std::fs::write(&f, &e.bytes).expect("write");
        let (text, json) = handle_everything(&f, &rules, run_dir.path());
        assert_no_marker(&e.marker, e.name);
        // report: the dangerous globals are listed as such.
        assert!(text.contains("DANGEROUS"), "{}: {text}", e.name);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        let flagged: Vec<(String, String)> = v["globals"]
            .as_array()
            .expect("globals")
            .iter()
            .filter(|g| g["dangerous"] == true)
            .map(|g| {
                (
                    g["module"].as_str().unwrap_or("").to_string(),
                    g["name"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        // (of the original: slimming may have removed a payload)
        let m = Model::new(
            picklescope::model::Doc::from_bytes(e.name, e.bytes.clone())
                .unwrap_or_else(|err| panic!("{err}")),
        );
        let helper = dangerous_globals(&m);
        for (module, name) in &e.globals {
            let want = (module.to_string(), name.to_string());
            assert!(
                flagged.contains(&want),
                "{}: report misses {module}.{name}",
                e.name
            );
            assert!(helper.contains(&want), "{}: helper misses {want:?}", e.name);
            assert!(
                text.contains(&format!("{module}.{name}")),
                "{}: {text}",
                e.name
            );
        }
        // The explorer's banner names them.
        let screen = show_in_explorer(&f);
        assert!(screen.contains("DANGEROUS"), "{}:\n{screen}", e.name);
    }
    // The state-chain pickle was really slimmed: payload and view are gone, keep stays, and
    // the rest of the chain is still there (nothing was evaluated to get here).
    let f = dir.path().join("state_chain_p2.pickle");
    let after = std::fs::read(&f).expect("read");
    let before = &set
        .iter()
        .find(|e| e.name == "state_chain_p2")
        .expect("case")
        .bytes;
    assert!(after.len() < before.len());
    let m = Model::open(&f).unwrap_or_else(|e| panic!("{e}"));
    let attrs: Vec<String> = m
        .rows(m.graph().root())
        .iter()
        .map(|r| picklescope::model::label_text(m.graph(), m.data(), r.label))
        .collect();
    assert_eq!(attrs, ["more", "keep"]);
    for e in &set {
        assert_no_marker(&e.marker, e.name);
    }
    assert_eq!(
        std::fs::read_dir(run_dir.path()).expect("ls").count(),
        0,
        "the commands left files in their working directory"
    );
}

#[test]
fn committed_malicious_fixtures_never_run() {
    let index = common::fixture("malicious.json");
    let Ok(text) = std::fs::read_to_string(&index) else {
        common::skip(
            "committed_malicious_fixtures_never_run",
            "tests/fixtures/malicious.json not found",
        );
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("malicious.json");
    let files = v["files"].as_object().expect("files");
    assert!(files.len() >= 8);
    let dir = tempdir();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[transient]]\nclass = \"*\"\nattrs = [\"_metadata\", \"view\"]\n",
    )
    .expect("rules");
    // Each payload creates its marker relative to the working directory of whatever runs it.
    let cases: Vec<(&str, Vec<PathBuf>)> = files
        .iter()
        .map(|(name, info)| {
            let markers: Vec<PathBuf> = match &info["marker"] {
                serde_json::Value::String(s) => vec![PathBuf::from(s)],
                serde_json::Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(PathBuf::from))
                    .collect(),
                _ => Vec::new(),
            };
            assert!(!markers.is_empty(), "{name}: no marker in malicious.json");
            for m in &markers {
                assert!(
                    m.is_relative(),
                    "{name}: marker {} is not relative",
                    m.display()
                );
            }
            (name.as_str(), markers)
        })
        .collect();
    // Positive control: CPython in a throwaway directory runs every payload.
    let sandbox = tempdir();
    let controls: Vec<(&str, PathBuf, Vec<PathBuf>)> = cases
        .iter()
        .map(|(name, markers)| {
            let p = sandbox.path().join(name);
            std::fs::copy(common::fixture(name), &p).expect("copy fixture");
            (*name, p, markers.clone())
        })
        .collect();
    let created = cpython_creates_every_marker(sandbox.path(), &controls);
    eprintln!(
        "positive control: CPython created {created} markers for {} files",
        cases.len()
    );
    // picklescope: the binary in a fresh directory; the library in this process, whose
    // working directory must not hold a marker beforehand (that would be a failure too).
    let here = std::env::current_dir().expect("cwd");
    let run_dir = tempdir();
    for (name, markers) in &cases {
        for m in markers {
            assert_no_marker(&here.join(m), name);
        }
        // A copy, since slim rewrites it.
        let f = dir.path().join(name);
        std::fs::copy(common::fixture(name), &f).expect("copy fixture");
        let model = Model::open(&f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!dangerous_globals(&model).is_empty(), "{name}");
        drop(model);
        let (text, _) = handle_everything(&f, &rules, run_dir.path());
        assert!(text.contains("DANGEROUS"), "{name}: {text}");
        for m in markers {
            assert_no_marker(&run_dir.path().join(m), name);
            assert_no_marker(&here.join(m), name);
            assert_no_marker(&sandbox.path().join(m), name);
        }
    }
    assert_eq!(
        std::fs::read_dir(run_dir.path()).expect("ls").count(),
        0,
        "the commands left files in their working directory"
    );
}

#[test]
fn dangerous_names() {
    for (m, n) in [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("subprocess", "check_output"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("builtins", "__import__"),
        ("__builtin__", "eval"),
        ("_operator", "attrgetter"),
        ("operator", "methodcaller"),
        ("functools", "partial"),
        ("importlib", "import_module"),
        ("runpy", "_run_code"),
        ("pickle", "loads"),
        ("_pickle", "loads"),
        ("marshal", "loads"),
        ("types", "FunctionType"),
        ("ctypes", "CDLL"),
        ("shutil", "rmtree"),
        ("socket", "socket"),
        ("code", "InteractiveInterpreter"),
        ("pty", "spawn"),
    ] {
        assert!(
            called_verdict(m, n).alarming(),
            "{m}.{n} should be dangerous"
        );
    }
    for (m, n) in [
        ("builtins", "set"),
        ("builtins", "bytearray"),
        ("copyreg", "_reconstructor"),
        ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy", "dtype"),
        ("pipeline.infrastructure.basetask", "ResultsList"),
        ("datetime", "datetime"),
        ("_codecs", "encode"),
    ] {
        assert!(!called_verdict(m, n).alarming(), "{m}.{n} is harmless");
    }
}
