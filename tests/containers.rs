//! Containers: zip archives opened as their members (PyTorch checkpoints with their storages
//! sized, `.npz` arrays), pickles back to back as top-level rows, pickles held in `bytes`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use picklescope::context::resolve;
use picklescope::slim::Rules;
use picklescope::tui::App;
use picklescope::tui::app::Screen;

use common::{bin, tempdir};

/// Writes `tools/fake_torch.py WHAT OUT ARGS` into `dir`; the path of OUT.
fn fake(dir: &Path, what: &str, out: &str, args: &[&str]) -> PathBuf {
    let p = dir.join(out);
    let tool = common::root().join("tools/fake_torch.py");
    let o = std::process::Command::new(common::python().expect("python3"))
        .arg(tool)
        .arg(what)
        .arg(&p)
        .args(args)
        .output()
        .expect("run fake_torch.py");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    p
}

fn report_json(p: &Path) -> serde_json::Value {
    let o = bin()
        .arg("report")
        .arg("--json")
        .arg(p)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

/// The size of member `name` of zip `p`, as Python's zipfile reads it.
fn member_len(p: &Path, name: &str) -> u64 {
    let out = common::py(&format!(
        "import zipfile\nprint(len(zipfile.ZipFile({:?}).read({name:?})))",
        p.display().to_string()
    ));
    String::from_utf8_lossy(&out).trim().parse().expect("len")
}

/// An explorer on PATH with every file loaded.
fn open(p: &Path) -> App {
    let source = resolve(p, None).unwrap();
    let mut app = App::new(source, Rules::default(), false);
    let files: Vec<_> = app.files.iter().map(|f| f.file.clone()).collect();
    for (i, f) in files.iter().enumerate() {
        app.file_loaded(i, f.open());
    }
    app
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// The names of the rows of the level shown, in order, with their inline sizes.
fn rows(app: &App) -> Vec<(String, u64)> {
    let m = app.tree_model().unwrap();
    app.level()
        .unwrap()
        .rows
        .iter()
        .map(|r| {
            (
                picklescope::model::label_text(m.graph(), m.data(), r.row.label),
                r.inline,
            )
        })
        .collect()
}

/// A checkpoint opens as its `data.pkl`: the tensors sized by their storages (a storage two
/// tensors share counted once, and retained by neither), the total the pickle plus the
/// storages, the largest tensors in `report`; `slim` refuses the archive.
#[test]
fn a_checkpoint_opens_as_its_pickle_with_tensors_sized_by_their_storages() {
    if common::no_python("a_checkpoint_opens_as_its_pickle_with_tensors_sized_by_their_storages") {
        return;
    }
    let dir = tempdir();
    for proto in ["2", "4"] {
        let p = fake(dir.path(), "checkpoint", "ck.pt", &["--protocol", proto]);
        let pkl = member_len(&p, "ck/data.pkl");
        let storages = 16384 + 256 + 2000;
        let r = report_json(&p);
        let f = &r["files"][0];
        assert_eq!(r["files"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            f["path"].as_str(),
            Some(&*format!("{}/ck/data.pkl", p.display()))
        );
        assert_eq!(
            f["bytes"].as_u64(),
            Some(pkl + storages),
            "protocol {proto}"
        );
        assert_eq!(r["total_bytes"].as_u64(), Some(pkl + storages));
        let tensors: Vec<(String, u64)> = f["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["path"].as_str().unwrap().to_string(),
                    t["bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            tensors,
            vec![
                ("[\"encoder.weight\"]".to_string(), 16384),
                ("[\"decoder.weight\"]".to_string(), 2000),
                ("[\"encoder.bias\"]".to_string(), 256),
            ],
            "protocol {proto}"
        );

        let app = open(&p);
        assert!(app.read_only);
        assert_eq!(app.screen, Screen::Tree);
        let level = app.level().unwrap();
        assert_eq!(level.total, pkl + storages);
        let inline: u64 = level.rows.iter().map(|r| r.inline).sum();
        // The rows are the dict's entries: everything but the pickle's few framing bytes.
        assert!(
            inline <= pkl + storages && inline + 120 >= pkl + storages,
            "{inline}"
        );
        let by_name = |n: &str| {
            let m = app.tree_model().unwrap();
            level
                .rows
                .iter()
                .find(|r| picklescope::model::label_text(m.graph(), m.data(), r.row.label) == n)
                .unwrap()
                .clone()
        };
        let w = by_name("\"encoder.weight\"");
        assert!(w.inline > 16384 && w.retained < 1000, "{w:?}");
        let d = by_name("\"decoder.weight\"");
        assert!(d.retained > 2000 && d.retained == d.inline, "{d:?}");

        let before = std::fs::read(&p).unwrap();
        let o = bin()
            .args(["slim", "--preset", "strategy-a"])
            .arg(&p)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("does not rewrite archives"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), before);
    }
}

/// A legacy `torch.save` file (pickles back to back, then raw storages): each pickle is a
/// top-level row with its root type, the raw bytes a row of their own, and the rows add up
/// to the file.
#[test]
fn pickles_back_to_back_are_top_level_rows_and_trailing_bytes_one_more() {
    if common::no_python("pickles_back_to_back_are_top_level_rows_and_trailing_bytes_one_more") {
        return;
    }
    let dir = tempdir();
    let p = fake(dir.path(), "checkpoint", "legacy.pt", &["--legacy"]);
    let len = std::fs::metadata(&p).unwrap().len();
    let mut app = open(&p);
    assert_eq!(app.screen, Screen::Tree);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('s'));
    let got = rows(&app);
    let names: Vec<&str> = got.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "pickle 0",
            "pickle 1",
            "pickle 2",
            "pickle 3",
            "pickle 4",
            "trailing bytes"
        ]
    );
    assert_eq!(got.iter().map(|r| r.1).sum::<u64>(), len);
    assert_eq!(got[5].1, 16384 + 256 + 2000 + 3 * 8);
    let m = app.tree_model().unwrap();
    let ty: Vec<String> = app
        .level()
        .unwrap()
        .rows
        .iter()
        .map(|r| picklescope::model::type_text(m, r.row.value, false))
        .collect();
    assert!(ty[0].starts_with("int "), "{ty:?}");
    assert!(ty[3].starts_with("OrderedDict[4"), "{ty:?}");
    assert_eq!(ty[5], "bytes, not a pickle");
    // The model inside the fourth pickle opens like any object.
    press(&mut app, KeyCode::Char('g'));
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Enter);
    let inner: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    assert!(
        inner.contains(&"\"encoder.weight\"".to_string()),
        "{inner:?}"
    );
    assert_eq!(
        app.selected_path().as_deref(),
        Some("<pickle 3>[\"encoder.weight\"]")
    );
}

/// A `.npz` opens as its members: numeric arrays give dtype, shape and order from their
/// headers and count their data; an object array's pickle opens as a tree.
#[test]
fn npz_members_show_dtype_and_shape_and_object_arrays_open_as_pickles() {
    if common::no_python("npz_members_show_dtype_and_shape_and_object_arrays_open_as_pickles") {
        return;
    }
    let dir = tempdir();
    let p = fake(dir.path(), "npz", "a.npz", &[]);
    let r = report_json(&p);
    let files = r["files"].as_array().unwrap();
    let get = |name: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(name))
            .unwrap()
    };
    assert_eq!(
        get("a.npy")["summary"].as_str(),
        Some("ndarray float64 (3, 4) C")
    );
    assert_eq!(get("a.npy")["bytes"].as_u64(), Some(96));
    assert_eq!(
        get("b.npy")["summary"].as_str(),
        Some("ndarray int32 (10,) F")
    );
    assert_eq!(get("b.npy")["bytes"].as_u64(), Some(40));
    let o = get("objs.npy");
    assert_eq!(
        o["summary"].as_str(),
        Some("ndarray object (3,) C, pickled")
    );
    assert_eq!(o["root_class"].as_str(), Some("list"));
    assert_eq!(o["protocol"].as_u64(), Some(3));

    let mut app = open(&p);
    assert_eq!(app.screen, Screen::Stages);
    assert_eq!(app.files.len(), 3);
    press(&mut app, KeyCode::Char('G'));
    press(&mut app, KeyCode::Enter);
    let names: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

/// A `bytes` value holding a pickle (plain, bz2, zlib) opens as a subtree: its rows are the
/// inner pickle's, its path `pickle.loads(...)`, and nothing in it can be marked.
#[test]
fn a_pickle_held_in_bytes_opens_as_a_read_only_subtree() {
    if common::no_python("a_pickle_held_in_bytes_opens_as_a_read_only_subtree") {
        return;
    }
    let dir = tempdir();
    let p = fake(dir.path(), "nested", "nest.pkl", &[]);
    let mut app = open(&p);
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Char('g'));
    let top: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    assert_eq!(top, ["plain_blob", "bz2_blob", "zlib_blob", "not_a_pickle"]);
    for (k, codec) in [(0, None), (1, Some("bz2")), (2, Some("zlib"))] {
        for _ in 0..k {
            press(&mut app, KeyCode::Char('j'));
        }
        press(&mut app, KeyCode::Enter);
        let mut inner: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
        inner.sort();
        assert_eq!(inner, ["\"name\"", "\"tag\"", "\"values\""], "{codec:?}");
        let level = app.level().unwrap();
        assert_eq!(
            level.path,
            match codec {
                None => "pickle.loads(plain_blob)".to_string(),
                Some(c) => format!(
                    "pickle.loads({c}.decompress({}))",
                    ["", "bz2_blob", "zlib_blob"][k]
                ),
            }
        );
        press(&mut app, KeyCode::Char(' '));
        assert!(app.status.contains("read-only"), "{}", app.status);
        assert!(app.marks.rules.is_empty());
        press(&mut app, KeyCode::Char('h'));
        press(&mut app, KeyCode::Char('g'));
    }
    // Bytes that are not a pickle have nothing inside.
    for _ in 0..3 {
        press(&mut app, KeyCode::Char('j'));
    }
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.status, "nothing inside");
    assert_eq!(app.tree.as_ref().unwrap().levels.len(), 1);

    // `report` lists them, largest first, each as the bytes its value takes in the file
    // (SHORT_BINBYTES and its length byte, the payload Python made, then MEMOIZE).
    let lens = common::py(
        "import bz2, pickle, sys, zlib\n\
         inner = {'name': 'inner', 'values': list(range(50)), 'tag': 'x' * 40}\n\
         plain = pickle.dumps(inner, protocol=4)\n\
         sys.stdout.write(' '.join(str(2 + len(b) + 1) for b in\n\
             (plain, bz2.compress(plain), zlib.compress(plain))))\n",
    );
    let lens: Vec<u64> = String::from_utf8_lossy(&lens)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let r = report_json(&p);
    let f = &r["files"][0];
    assert_eq!(f["nested_pickle_count"].as_u64(), Some(3));
    let got: Vec<(String, u64, Option<String>)> = f["nested_pickles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["path"].as_str().unwrap().to_string(),
                x["bytes"].as_u64().unwrap(),
                x["codec"].as_str().map(str::to_string),
            )
        })
        .collect();
    let mut want = vec![
        ("plain_blob".to_string(), lens[0], None),
        ("bz2_blob".to_string(), lens[1], Some("bzip2".to_string())),
        ("zlib_blob".to_string(), lens[2], Some("zlib".to_string())),
    ];
    want.sort_by_key(|w| std::cmp::Reverse(w.1));
    assert_eq!(got, want);
    let o = bin().arg("report").arg(&p).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("pickles in bytes values: 3"), "{text}");
}

/// The real checkpoints of the shared corpus: the zip ones open as their `data.pkl` with the
/// storage member's bytes counted; the legacy one as five pickles and trailing bytes.
#[test]
fn corpus_checkpoints_open_as_members_and_rows() {
    let Some(corpus) = common::realworld_corpus("corpus_checkpoints_open_as_members_and_rows")
    else {
        return;
    };
    let dir = corpus.join("nlpodyssey+gopickle/pytorch/testdata");
    let zipped = dir.join("tensor_float16_proto5_zip.pt");
    let r = report_json(&zipped);
    // data.pkl is 149 bytes, its one storage (6 float16) 8... as zipfile reads them.
    assert_eq!(r["total_bytes"].as_u64(), Some(149 + 8));
    assert_eq!(r["files"][0]["tensors"][0]["bytes"].as_u64(), Some(8));
    let legacy = dir.join("tensor_float32_proto2.pt");
    let app = open(&legacy);
    let got = rows(&app);
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(
        got.iter().map(|r| r.1).sum::<u64>(),
        std::fs::metadata(&legacy).unwrap().len()
    );
}

/// A standalone `.npy` file (written by numpy) reads like an `.npz` member: a numeric array
/// gives dtype, shape and order and counts its data, an object array's pickle opens as a tree
/// of its elements; the explorer is read-only on it and `slim` says it does not rewrite it.
#[test]
fn a_standalone_npy_reads_like_an_npz_member() {
    if common::no_python("a_standalone_npy_reads_like_an_npz_member") {
        return;
    }
    let dir = tempdir();
    let o = common::py_run(
        "import sys, numpy as np\n\
         np.save('num.npy', np.arange(12, dtype='<f8').reshape(3, 4))\n\
         np.save('fort.npy', np.asfortranarray(np.zeros((2, 5), dtype='<i4')))\n\
         np.save('obj.npy', np.array([{'a': 1}, [1, 2], 'x'], dtype=object), allow_pickle=True)\n",
        &[],
        Some(dir.path()),
    );
    if !o.status.success() {
        common::skip(
            "a_standalone_npy_reads_like_an_npz_member",
            &format!("numpy: {}", String::from_utf8_lossy(&o.stderr)),
        );
        return;
    }
    // Where the data starts, from the header length the file states (version 1: 2 bytes).
    let data_at = |p: &Path| {
        let b = std::fs::read(p).unwrap();
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        (10 + u16::from_le_bytes([b[8], b[9]]) as usize, b.len())
    };
    for (name, summary, bytes) in [
        ("num.npy", "ndarray float64 (3, 4) C", 96),
        ("fort.npy", "ndarray int32 (2, 5) F", 40),
    ] {
        let p = dir.path().join(name);
        let (at, len) = data_at(&p);
        assert_eq!(len - at, bytes, "{name}");
        let r = report_json(&p);
        assert_eq!(r["files"][0]["summary"].as_str(), Some(summary), "{name}");
        assert_eq!(r["total_bytes"].as_u64(), Some(bytes as u64), "{name}");
    }
    let obj = dir.path().join("obj.npy");
    let (at, len) = data_at(&obj);
    let r = report_json(&obj);
    let f = &r["files"][0];
    assert_eq!(
        f["summary"].as_str(),
        Some("ndarray object (3,) C, pickled")
    );
    assert_eq!(f["root_class"].as_str(), Some("numpy.ndarray"));
    assert_eq!(f["bytes"].as_u64(), Some((len - at) as u64));

    let app = open(&obj);
    assert!(app.read_only, "the explorer must not write a .npy");
    let names: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["[0]", "[1]", "[2]"]);

    let before = std::fs::read(&obj).unwrap();
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "[[transient]]\nclass = \"x.Y\"\nattrs = [\"z\"]\n").unwrap();
    let o = bin()
        .arg("slim")
        .arg(&obj)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("obj.npy") && err.contains("slim does not rewrite it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&obj).unwrap(), before);
}

/// Protocol 0 and 1 pickles in `bytes` (no magic: recognised by parsing, at most 16 KiB) are
/// offered like the others; text ending in a dot and a pickled scalar are not.
#[test]
fn protocol_0_and_1_pickles_in_bytes_are_offered_without_false_alarms() {
    if common::no_python("protocol_0_and_1_pickles_in_bytes_are_offered_without_false_alarms") {
        return;
    }
    let dir = tempdir();
    let p = dir.path().join("p01.pkl");
    common::py_run(
        "import pickle, sys, types\n\
         mod = types.ModuleType('fakepkg')\n\
         sys.modules['fakepkg'] = mod\n\
         class Holder: pass\n\
         Holder.__module__ = 'fakepkg'\n\
         mod.Holder = Holder\n\
         h = Holder()\n\
         h.p0_blob = pickle.dumps({'a': [1, 2], 'b': 'text'}, 0)\n\
         h.p1_blob = pickle.dumps([1, 'x', (2.5, None)], 1)\n\
         h.text_blob = b'hello world.'\n\
         h.none_blob = b'N.'\n\
         h.scalar_blob = pickle.dumps(12345, 0)\n\
         pickle.dump(h, open(sys.argv[1], 'wb'), protocol=4)\n",
        &[p.to_str().unwrap()],
        None,
    );
    let r = report_json(&p);
    let f = &r["files"][0];
    assert_eq!(f["nested_pickle_count"].as_u64(), Some(2), "{f}");
    let paths: Vec<&str> = f["nested_pickles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["p0_blob", "p1_blob"]);

    let mut app = open(&p);
    press(&mut app, KeyCode::Char('g'));
    let names: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            press(&mut app, KeyCode::Char('j'));
        }
        press(&mut app, KeyCode::Enter);
        let opened = app.tree.as_ref().unwrap().levels.len() == 2;
        assert_eq!(opened, name == "p0_blob" || name == "p1_blob", "{name}");
        if opened {
            let mut inner: Vec<String> = rows(&app).into_iter().map(|r| r.0).collect();
            inner.sort();
            let want: &[&str] = if name == "p0_blob" {
                &["\"a\"", "\"b\""]
            } else {
                &["[0]", "[1]", "[2]"]
            };
            assert_eq!(inner, want, "{name}");
            press(&mut app, KeyCode::Char('h'));
        } else {
            assert_eq!(app.status, "nothing inside", "{name}");
        }
    }
}
