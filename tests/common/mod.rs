//! Shared helpers for the engine and slimming tests: running python3, parsing, rendering a
//! graph as text (with sharing), slimming in memory, and locating fixtures and tools.
#![allow(dead_code)]

pub mod explorer;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use picklescope::model::{Doc, Model};
use picklescope::pickle::value::{float_value, int_text, text};
use picklescope::pickle::{CallKind, Graph, Kind, NO_NODE, NodeId, STATE_KEY, parse};
use picklescope::slim::Rules;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(name)
}

/// The bytes of a committed fixture, or `None` when it is not there: a failure under CI, a
/// counted, visible skip elsewhere (see [`skip`]).
pub fn fixture_bytes(name: &str) -> Option<Vec<u8>> {
    match std::fs::read(fixture(name)) {
        Ok(b) => Some(b),
        Err(e) => {
            skip(
                name,
                &format!("fixture {name}: {e}; run tools/gen_fixtures.py small tests/fixtures"),
            );
            None
        }
    }
}

// --------------------------------------------------------------------------------------------
// Checks that cannot run here.

/// True when the environment variable `CI` is set to anything but "", "0" or "false".
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| {
        let v = v.trim();
        !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
    })
}

static SKIPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many checks [`skip`] has skipped in this test binary so far.
pub fn skipped() -> usize {
    SKIPPED.load(std::sync::atomic::Ordering::SeqCst)
}

extern "C" fn print_skip_summary() {
    let n = skipped();
    if n > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {n} check(s) of this test binary did not run (lines above); \
             with CI=true each one is a failure"
        );
    }
}

/// A check `test` cannot run because of `reason` (a tool, fixture or system feature that is
/// missing or broken). Under CI ([`in_ci`]) this panics: CI installs everything, so a missing
/// tool is a failure. Elsewhere it writes `SKIPPED: test: reason` straight to stderr (past
/// the harness's output capture, so it shows in every run) and counts it; the count is
/// printed when the test binary exits.
pub fn skip(test: &str, reason: &str) {
    assert!(
        !in_ci(),
        "{test}: {reason} (CI is set: a missing tool is a failure; .ci/run installs it)"
    );
    if SKIPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
        // SAFETY: registers a plain `extern "C" fn()` that only formats and writes to stderr.
        unsafe {
            libc::atexit(print_skip_summary);
        }
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {reason}");
}

/// A tree made readable by anyone and writable by no one but root (files 0644, directories
/// 0555) by [`read_only_tree`]; its directories are writable again (0755) when it is dropped.
pub struct ReadOnlyTree {
    pub files: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
}

fn set_mode(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()))
}

/// Locks the tree under `root` (see [`ReadOnlyTree`]).
pub fn read_only_tree(root: &Path) -> ReadOnlyTree {
    let mut tree = ReadOnlyTree {
        files: Vec::new(),
        dirs: Vec::new(),
    };
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for e in entries.flatten() {
            if e.path().is_dir() {
                todo.push(e.path());
            } else {
                set_mode(&e.path(), 0o644);
                tree.files.push(e.path());
            }
        }
        set_mode(&dir, 0o555);
        tree.dirs.push(dir);
    }
    tree
}

impl Drop for ReadOnlyTree {
    fn drop(&mut self) {
        for d in &self.dirs {
            set_mode(d, 0o755);
        }
    }
}

/// The shared real-world corpus (`../shared/corpus/realworld`, beside the clone), or `None`
/// (after [`skip`], a failure under CI) when it is absent.
pub fn realworld_corpus(test: &str) -> Option<PathBuf> {
    let corpus = root().join("../shared/corpus/realworld");
    if corpus.is_dir() {
        return Some(corpus);
    }
    skip(
        test,
        &format!("the shared corpus is absent at {}", corpus.display()),
    );
    None
}

/// Every file below `dir` (not directories), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every `*.pickle` fixture whose name passes `keep`, sorted by name.
pub fn fixtures(keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("tests").join("fixtures");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".pickle")
                && keep(&name)
                && let Ok(b) = std::fs::read(e.path())
            {
                out.push((name, b));
            }
        }
    }
    out.sort();
    out
}

/// The python3 interpreter, if there is one (checked once).
pub fn python() -> Option<&'static str> {
    static PY: OnceLock<Option<&'static str>> = OnceLock::new();
    *PY.get_or_init(|| {
        let ok = Command::new("python3")
            .arg("-c")
            .arg("import pickle, pickletools")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then_some("python3")
    })
}

/// True (after [`skip`], which fails under CI) when python3 is missing or broken.
pub fn no_python(test: &str) -> bool {
    if python().is_none() {
        skip(
            test,
            "python3 is missing or broken (`python3 -c 'import pickle, pickletools'` failed)",
        );
        return true;
    }
    false
}

/// True (after [`skip`]) when python3 or tools/canon.py is not there.
pub fn no_oracle(test: &str) -> bool {
    if no_python(test) {
        return true;
    }
    if !have_canon() {
        skip(test, "tools/canon.py is missing");
        return true;
    }
    false
}

/// Runs python3 with `code` on stdin and `args`; panics with stderr on failure.
pub fn py_run(code: &str, args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(python().expect("python3"));
    cmd.arg("-").args(args);
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(code.as_bytes())
        .expect("write script");
    child.wait_with_output().expect("python3 output")
}

/// Runs python3 `code` and returns its stdout; panics (showing stderr) if it fails.
pub fn py(code: &str) -> Vec<u8> {
    let o = py_run(code, &[], None);
    assert!(
        o.status.success(),
        "python3 failed:\n{}\n--- script ---\n{code}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A scratch directory holding what python3 `code` wrote there (the script sees the
/// directory's path as `d`); `None` (after [`skip`]) when python3 is missing.
pub fn py_dir(test: &str, code: &str) -> Option<tempfile::TempDir> {
    if no_python(test) {
        return None;
    }
    let dir = tempdir();
    py(&format!(
        "d = {:?}\n{code}",
        dir.path().display().to_string()
    ));
    Some(dir)
}

/// Runs python3 `code`, which must define a list `out` of `bytes`; returns them.
pub fn py_pickles(code: &str) -> Vec<Vec<u8>> {
    let script = format!(
        "{code}\nimport sys, struct\nfor _b in out:\n    sys.stdout.buffer.write(struct.pack('<Q', len(_b)) + _b)\n"
    );
    let raw = py(&script);
    let mut v = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let n = u64::from_le_bytes(raw[i..i + 8].try_into().expect("len")) as usize;
        v.push(raw[i + 8..i + 8 + n].to_vec());
        i += 8 + n;
    }
    v
}

/// Parses, panicking with the error.
pub fn graph(data: &[u8]) -> Graph {
    match parse(data) {
        Ok((g, _)) => g,
        Err(e) => panic!("parse failed: {e}"),
    }
}

/// A model over bytes held in memory.
pub fn model(name: &str, data: Vec<u8>) -> Model {
    Model::new(Doc::from_bytes(name, data).unwrap_or_else(|e| panic!("{e}")))
}

/// Rules from `(class glob, attr)` pairs.
pub fn rules(pairs: &[(&str, &str)]) -> Rules {
    let mut r = Rules::default();
    for (c, a) in pairs {
        r.add(c, a);
    }
    r
}

/// Slims through the commands' own path on a real file: the dry-run size of `m` (what
/// `--dry-run` prints), then a real save (temp file, fsync, rename) of a copy of its bytes on
/// disk, opened and planned afresh. Returns (predicted size, the bytes of the file on disk),
/// and checks the prediction against the file's size as the file system reports it after the
/// write: an independent measure, not the writer counting its own output.
pub fn slim_bytes(m: &Model, r: &Rules) -> (u64, Vec<u8>) {
    let plan = picklescope::slim::Plan::build(m, r);
    let predicted = picklescope::slim::predicted_size(m, &plan.cuts).expect("dry-run");
    let dir = scratch_dir();
    let path = dir.path().join("slim.pickle");
    std::fs::write(&path, m.data()).expect("write a copy to disk");
    let on_disk = Model::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let cuts = picklescope::slim::Plan::build(&on_disk, r).cuts;
    picklescope::slim::save_in_place(
        &on_disk.doc,
        &cuts,
        predicted,
        &picklescope::slim::SaveOptions::default(),
    )
    .unwrap_or_else(|e| panic!("save: {e}"));
    drop(on_disk);
    let size = std::fs::metadata(&path)
        .expect("stat the written file")
        .len();
    assert_eq!(
        size, predicted,
        "the file on disk has {size} bytes; the dry-run predicted {predicted}"
    );
    let out = std::fs::read(&path).expect("read the written file");
    (predicted, out)
}

/// A scratch directory on a memory file system when there is one (saves fsync; many small
/// saves), else under the temp dir.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(d) = tempfile::Builder::new()
            .prefix("picklescope-test-")
            .tempdir_in(shm)
    {
        return d;
    }
    tempdir()
}

/// The set of `class.attr` groups (with instance counts) our reader sees.
pub fn group_set(m: &Model) -> std::collections::BTreeMap<(String, String), u64> {
    m.groups()
        .groups
        .iter()
        .map(|g| ((g.class.clone(), g.attr.clone()), g.instances))
        .collect()
}

/// The `class.attr` groups our reader sees, in its order (largest first).
pub fn group_pairs(m: &Model) -> Vec<(String, String)> {
    m.groups()
        .groups
        .iter()
        .map(|g| (g.class.clone(), g.attr.clone()))
        .collect()
}

// ---- a large pickle, built without Python ---------------------------------------------------

pub fn su(s: &str) -> Vec<u8> {
    let mut v = vec![0x8c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// A small seeded generator (Knuth's LCG), for reproducible random tests.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

pub fn payload(out: &mut Vec<u8>, n: usize, rng: &mut Lcg) {
    out.push(0x8e); // BINBYTES8
    out.extend_from_slice(&(n as u64).to_le_bytes());
    let start = out.len();
    out.resize(start + n, 0);
    for chunk in out[start..].chunks_mut(8) {
        let v = rng.next().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// A protocol 4 list of `__main__.Box` instances, each with `keep` and `drop` bytes attributes
/// (`drop_bytes` each) and a small `meta` dict: about `instances * (keep + drop)` bytes.
pub fn big_pickle(instances: usize, keep: usize, drop: usize, seed: u64) -> Vec<u8> {
    let mut rng = Lcg(seed);
    let mut d = b"\x80\x04c__main__\nBox\n\x94]\x94(".to_vec();
    for i in 0..instances {
        d.extend_from_slice(b"h\x00)\x81}(");
        d.extend(su("keep"));
        payload(&mut d, keep, &mut rng);
        d.extend(su("drop"));
        payload(&mut d, drop, &mut rng);
        d.extend(su("meta"));
        d.extend_from_slice(b"}");
        d.extend(su("i"));
        d.extend_from_slice(b"J");
        d.extend_from_slice(&(i as i32).to_le_bytes());
        d.extend_from_slice(b"sub");
    }
    d.extend_from_slice(b"e.");
    d
}

/// A scratch directory under the target directory (removed on drop).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("picklescope-test-")
        .tempdir()
        .expect("tempdir")
}

/// The binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picklescope"))
}

/// A copy of the picklescope binary another user (`nobody`, through setpriv) can run, in a
/// directory of its own (the build's target directory may sit in a private one, such as a
/// clone in `mktemp -d`); gone with the returned directory.
pub fn public_binary() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    set_mode(dir.path(), 0o755);
    let exe = dir.path().join("picklescope");
    std::fs::copy(env!("CARGO_BIN_EXE_picklescope"), &exe).expect("copy binary");
    set_mode(&exe, 0o755);
    (dir, exe)
}

/// Runs `cmd` and returns its stdout; the test fails with its stderr unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let o = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed ({:?}): {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// [`run_ok`]'s stdout as one JSON document.
pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run_ok(cmd);
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{cmd:?}: stdout is not JSON: {e}"))
}

/// A JSON count.
pub fn count(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// A demo context in a fresh temporary directory: the directory and the `.context` path.
pub fn demo(opts: picklescope::synth::DemoOptions) -> (tempfile::TempDir, PathBuf) {
    let dir = tempdir();
    let s =
        picklescope::synth::write_demo(dir.path(), &opts).unwrap_or_else(|e| panic!("demo: {e}"));
    (dir, s.context)
}

/// Runs a `tools/` shell script against the binary under test (`PICKLESCOPE`): its exit code
/// and what it printed on both streams.
pub fn run_tool(script: &str) -> (Option<i32>, String) {
    let out = Command::new("bash")
        .arg(script)
        .env("PICKLESCOPE", env!("CARGO_BIN_EXE_picklescope"))
        .output()
        .unwrap_or_else(|e| panic!("could not run bash: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

// --------------------------------------------------------------------------------------------
// Rendering a graph as text.
//
// The same syntax is produced in Python by `PY_RENDER` below for objects CPython loads with a
// stub `find_class`, so a stream can be checked against CPython's own reading:
//   None True False 12 1.5 "str" b"\x00" bytearray(b"..") <mod.name>
//   (a, b) (a,) [a, b] {k: v} set(a, b) frozenset(a, b)   (set items sorted by their text)
//   mod.name(arg, ..., **{k: v}) + [appended] + {set: items} % state
//                                  a call (REDUCE/NEWOBJ/OBJ/INST) and what was done to it
//   call <callable>(args)          a call of something that is not a global
//   <persid>("pid")                a persistent id
// Lists, dicts, sets, bytearrays, call results and persistent ids that appear more than once
// get `#n=` at their first appearance and `@n` afterwards (n counts from 1 in order of first
// appearance), so sharing and cycles are part of the text. `full` adds the call kind (`R:`,
// `N:`, `X:`, `O:`, `I:`); EXT codes and out-of-band buffers render as `ext(code)` and
// `buffer(i[, ro])`, which CPython resolves to other objects (compare those by loading only).

fn quote_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            ' '..='~' => out.push(c),
            _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out.push('"');
}

fn quote_bytes(b: &[u8], out: &mut String) {
    out.push_str("b\"");
    for &c in b {
        match c {
            b'\\' | b'"' => out.push_str(&format!("\\x{c:02x}")),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

/// A float as Python's `repr` writes it (for the values tests use).
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        // Python: shortest digits, exponent with sign and at least two digits.
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

fn labeled(k: &Kind) -> bool {
    matches!(
        k,
        Kind::List
            | Kind::Dict
            | Kind::Set
            | Kind::ByteArray { .. }
            | Kind::Call { .. }
            | Kind::PersId { .. }
    )
}

enum Task {
    Node(NodeId),
    Lit(&'static str),
    Own(String),
    /// Renders a set: its items are rendered separately, sorted, then joined.
    SetOf(Vec<NodeId>, &'static str),
}

fn children_for_render(g: &Graph, id: NodeId, skip: &HashSet<(NodeId, usize)>) -> Vec<NodeId> {
    let n = g.node(id);
    let mut v = Vec::new();
    match n.kind {
        Kind::Call {
            callable,
            args,
            kwargs,
            ..
        } => {
            v.push(callable);
            if args != NO_NODE {
                v.push(args);
            }
            if kwargs != NO_NODE {
                v.push(kwargs);
            }
            for e in g.children(id) {
                if e.key != STATE_KEY {
                    if e.key != NO_NODE {
                        v.push(e.key);
                    }
                    v.push(e.value);
                }
            }
            if n.state != NO_NODE {
                v.push(n.state);
            }
        }
        Kind::PersId { pid, .. } if pid != NO_NODE => v.push(pid),
        _ => {
            for (k, e) in g.children(id).iter().enumerate() {
                if e.key == STATE_KEY || skip.contains(&(id, k)) {
                    continue;
                }
                if e.key != NO_NODE {
                    v.push(e.key);
                }
                v.push(e.value);
            }
        }
    }
    v
}

/// Schedules `open item, item, ... close` (each item a run of tasks) on a LIFO task stack.
fn push_seq(tasks: &mut Vec<Task>, open: &'static str, items: Vec<Vec<Task>>, close: &'static str) {
    let mut fwd: Vec<Task> = vec![Task::Lit(open)];
    for (k, it) in items.into_iter().enumerate() {
        if k > 0 {
            fwd.push(Task::Lit(", "));
        }
        fwd.extend(it);
    }
    fwd.push(Task::Lit(close));
    tasks.extend(fwd.into_iter().rev());
}

/// Renders the object `root` (see above); iterative, so deep nesting is fine.
pub fn render(g: &Graph, data: &[u8], root: NodeId, full: bool) -> String {
    render_skipping(g, data, root, full, &HashSet::new())
}

/// Dict entries `(dict node, index among its edges)` that are attributes `drops` removes
/// from instances of their class (dict states and both dicts of `(dict, slots)` states),
/// like `canon.py --drop`.
pub fn dropped_edges(m: &Model, drops: &BTreeSet<(String, String)>) -> HashSet<(NodeId, usize)> {
    let g = m.graph();
    let data = m.data();
    let mut out = HashSet::new();
    for (id, n) in g.nodes.iter().enumerate() {
        if n.state == NO_NODE || !matches!(n.kind, Kind::Call { .. }) {
            continue;
        }
        let Some(class) = m.class_of(id as NodeId) else {
            continue;
        };
        if !drops.iter().any(|(c, _)| *c == class) {
            continue;
        }
        let dicts: Vec<NodeId> = match g.node(n.state).kind {
            Kind::Dict => vec![n.state],
            // A `(dict, slots)` pair, as the model reads it: both items dicts or None.
            Kind::Tuple
                if g.children(n.state).len() == 2
                    && g.children(n.state)
                        .iter()
                        .all(|e| matches!(g.node(e.value).kind, Kind::Dict | Kind::None)) =>
            {
                g.children(n.state)
                    .iter()
                    .map(|e| e.value)
                    .filter(|&d| g.node(d).kind == Kind::Dict)
                    .collect()
            }
            _ => Vec::new(),
        };
        for d in dicts {
            for (k, e) in g.children(d).iter().enumerate() {
                if let Some(name) = picklescope::pickle::value::str_value(g, data, e.key)
                    && drops.contains(&(class.clone(), name.into_owned()))
                {
                    out.insert((d, k));
                }
            }
        }
    }
    out
}

/// [`render`], leaving out the dict entries in `skip` (see [`dropped_edges`]).
pub fn render_skipping(
    g: &Graph,
    data: &[u8],
    root: NodeId,
    full: bool,
    skip: &HashSet<(NodeId, usize)>,
) -> String {
    // First pass: how often each labelled node is reached (not expanded again after its first
    // visit). Unlabelled nodes (tuples) are expanded every time, as the Python renderer does,
    // so a cycle through a tuple (`t = (l, 1); l.append(t)`) counts its list twice.
    let mut seen: HashMap<NodeId, u32> = HashMap::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        let c = seen.entry(id).or_insert(0);
        *c += 1;
        if *c > 1 && g.get(id).is_none_or(|n| labeled(&n.kind)) {
            continue;
        }
        stack.extend(children_for_render(g, id, skip));
    }
    let mut labels: HashMap<NodeId, u32> = HashMap::new();
    let mut next_label = 0u32;
    let mut out = String::new();
    let ctx = Ctx {
        g,
        data,
        full,
        seen: &seen,
        skip,
    };
    render_into(&ctx, root, &mut labels, &mut next_label, &mut out);
    out
}

struct Ctx<'a> {
    g: &'a Graph,
    data: &'a [u8],
    full: bool,
    seen: &'a HashMap<NodeId, u32>,
    skip: &'a HashSet<(NodeId, usize)>,
}

fn render_into(
    ctx: &Ctx,
    root: NodeId,
    labels: &mut HashMap<NodeId, u32>,
    next_label: &mut u32,
    out: &mut String,
) {
    let (g, data, full, seen) = (ctx.g, ctx.data, ctx.full, ctx.seen);
    let mut tasks = vec![Task::Node(root)];
    while let Some(t) = tasks.pop() {
        let id = match t {
            Task::Lit(s) => {
                out.push_str(s);
                continue;
            }
            Task::Own(s) => {
                out.push_str(&s);
                continue;
            }
            Task::SetOf(items, close) => {
                let mut parts: Vec<String> = items
                    .iter()
                    .map(|&i| {
                        let mut s = String::new();
                        render_into(ctx, i, labels, next_label, &mut s);
                        s
                    })
                    .collect();
                parts.sort();
                out.push_str(&parts.join(", "));
                out.push_str(close);
                continue;
            }
            Task::Node(id) => id,
        };
        let Some(n) = g.get(id) else {
            out.push_str("<?>");
            continue;
        };
        if labeled(&n.kind) && seen.get(&id).copied().unwrap_or(0) > 1 {
            if let Some(l) = labels.get(&id) {
                out.push_str(&format!("@{l}"));
                continue;
            }
            *next_label += 1;
            labels.insert(id, *next_label);
            out.push_str(&format!("#{}=", *next_label));
        }
        match n.kind {
            Kind::None => out.push_str("None"),
            Kind::Bool(b) => out.push_str(if b { "True" } else { "False" }),
            Kind::Int { payload } => out.push_str(&int_text(data, n.op, payload)),
            Kind::Float { payload } => {
                out.push_str(&float_value(data, n.op, payload).map_or("?".into(), py_float))
            }
            Kind::Str(t) => quote_str(&text(data, t), out),
            Kind::Bytes { payload } => quote_bytes(&data[payload.range()], out),
            Kind::ByteArray { payload } => {
                out.push_str("bytearray(");
                quote_bytes(&data[payload.range()], out);
                out.push(')');
            }
            Kind::Global { module, name } => {
                out.push_str(&format!("<{}.{}>", text(data, module), text(data, name)))
            }
            Kind::Tuple => {
                let items: Vec<Task> = g
                    .children(id)
                    .iter()
                    .filter(|e| e.key != STATE_KEY)
                    .map(|e| Task::Node(e.value))
                    .collect();
                let close = if items.len() == 1 { ",)" } else { ")" };
                push_seq(
                    &mut tasks,
                    "(",
                    items.into_iter().map(|t| vec![t]).collect(),
                    close,
                );
            }
            Kind::List => {
                let items: Vec<Task> = g
                    .children(id)
                    .iter()
                    .filter(|e| e.key != STATE_KEY)
                    .map(|e| Task::Node(e.value))
                    .collect();
                push_seq(
                    &mut tasks,
                    "[",
                    items.into_iter().map(|t| vec![t]).collect(),
                    "]",
                );
            }
            Kind::Dict => {
                let items: Vec<Vec<Task>> = g
                    .children(id)
                    .iter()
                    .enumerate()
                    .filter(|(k, e)| e.key != STATE_KEY && !ctx.skip.contains(&(id, *k)))
                    .map(|(_, e)| vec![Task::Node(e.key), Task::Lit(": "), Task::Node(e.value)])
                    .collect();
                push_seq(&mut tasks, "{", items, "}");
            }
            Kind::Set | Kind::FrozenSet => {
                let items: Vec<NodeId> = g
                    .children(id)
                    .iter()
                    .filter(|e| e.key != STATE_KEY)
                    .map(|e| e.value)
                    .collect();
                let open = if matches!(n.kind, Kind::Set) {
                    "set("
                } else {
                    "frozenset("
                };
                out.push_str(open);
                tasks.push(Task::SetOf(items, ")"));
            }
            Kind::Call {
                how,
                callable,
                args,
                kwargs,
            } => {
                let mut rev: Vec<Task> = Vec::new();
                if full {
                    rev.push(Task::Lit(match how {
                        CallKind::Reduce => "R:",
                        CallKind::NewObj => "N:",
                        CallKind::NewObjEx => "X:",
                        CallKind::Obj => "O:",
                        CallKind::Inst => "I:",
                    }));
                }
                // The callable: its dotted name when it is a global, else rendered.
                match g.get(callable).map(|c| c.kind) {
                    Some(Kind::Global { module, name }) => rev.push(Task::Own(format!(
                        "{}.{}",
                        text(data, module),
                        text(data, name)
                    ))),
                    _ => {
                        rev.push(Task::Lit("call "));
                        rev.push(Task::Node(callable));
                    }
                }
                rev.push(Task::Lit("("));
                let mut first = true;
                match g.get(args).map(|a| a.kind) {
                    Some(Kind::Tuple) => {
                        for e in g.children(args) {
                            if !first {
                                rev.push(Task::Lit(", "));
                            }
                            first = false;
                            rev.push(Task::Node(e.value));
                        }
                    }
                    Some(_) => {
                        rev.push(Task::Lit("*"));
                        rev.push(Task::Node(args));
                        first = false;
                    }
                    None => {}
                }
                let empty_kwargs = matches!(g.get(kwargs).map(|k| k.kind), Some(Kind::Dict))
                    && g.children(kwargs).is_empty();
                if kwargs != NO_NODE && (full || !empty_kwargs) {
                    if !first {
                        rev.push(Task::Lit(", "));
                    }
                    rev.push(Task::Lit("**"));
                    rev.push(Task::Node(kwargs));
                }
                rev.push(Task::Lit(")"));
                let own: Vec<_> = g
                    .children(id)
                    .iter()
                    .filter(|e| e.key != STATE_KEY)
                    .copied()
                    .collect();
                let (litems, ditems): (Vec<_>, Vec<_>) =
                    own.into_iter().partition(|e| e.key == NO_NODE);
                for (k, e) in litems.iter().enumerate() {
                    rev.push(Task::Lit(if k == 0 { " + [" } else { ", " }));
                    rev.push(Task::Node(e.value));
                }
                if !litems.is_empty() {
                    rev.push(Task::Lit("]"));
                }
                for (k, e) in ditems.iter().enumerate() {
                    rev.push(Task::Lit(if k == 0 { " + {" } else { ", " }));
                    rev.push(Task::Node(e.key));
                    rev.push(Task::Lit(": "));
                    rev.push(Task::Node(e.value));
                }
                if !ditems.is_empty() {
                    rev.push(Task::Lit("}"));
                }
                if n.state != NO_NODE {
                    rev.push(Task::Lit(" % "));
                    rev.push(Task::Node(n.state));
                }
                tasks.extend(rev.into_iter().rev());
            }
            Kind::PersId { pid, line } => {
                if let Some(l) = line {
                    out.push_str("<persid>(");
                    quote_str(&String::from_utf8_lossy(&data[l.range()]), out);
                    out.push(')');
                } else {
                    tasks.push(Task::Lit(")"));
                    tasks.push(Task::Node(pid));
                    out.push_str("<persid>(");
                }
            }
            Kind::Ext(code) => out.push_str(&format!("ext({code})")),
            Kind::Buffer { index, readonly } => out.push_str(&format!(
                "buffer({index}{})",
                if readonly { ", ro" } else { "" }
            )),
        }
    }
}

/// Python that renders `obj` in the same syntax as [`render`] (with `full == false`), for
/// objects loaded by `StubUnpickler` (stub classes for every global, `__setstate__` records
/// the state). Defines `render(obj) -> str` and `load(data) -> obj`.
pub const PY_RENDER: &str = r#"
import io, pickle, sys
sys.setrecursionlimit(100000)

class Call:
    __slots__ = ('name', 'args', 'kwargs', 'state', 'has_state', 'litems', 'ditems', 'fn')
    def __init__(self, name, args, kwargs, fn=None):
        self.name, self.args, self.kwargs, self.fn = name, args, kwargs, fn
        self.has_state = False
        self.litems, self.ditems = [], []
    def __call__(self, *a, **k):
        return Call(None, a, k, self)
    def append(self, x):
        self.litems.append(x)
    def __setitem__(self, k, v):
        self.ditems.append((k, v))
    def __setstate__(self, st):
        self.state = st
        self.has_state = True

class GlobalName:
    def __init__(self, name):
        self.name = name

def _stub_class(module, name):
    full = module + '.' + name
    def __new__(cls, *a, **k):
        return Call(full, a, k)
    return type(name, (), {'__new__': __new__, '__module__': module, '_full': full})

class StubUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return _stub_class(module, name)
    def persistent_load(self, pid):
        return Call('<persid>', (pid,), {})

def load(data):
    return StubUnpickler(io.BytesIO(data)).load()

def _q(s):
    out = ['"']
    for c in s:
        if c == '\\': out.append('\\\\')
        elif c == '"': out.append('\\"')
        elif ' ' <= c <= '~': out.append(c)
        else: out.append('\\u{%x}' % ord(c))
    out.append('"')
    return ''.join(out)

def _qb(b):
    out = ['b"']
    for c in b:
        if c in (0x5c, 0x22) or not (0x20 <= c <= 0x7e): out.append('\\x%02x' % c)
        else: out.append(chr(c))
    out.append('"')
    return ''.join(out)

def _float(f):
    r = repr(f)
    return r

def render(root):
    counts = {}
    keep = []
    stack = [root]
    while stack:
        o = stack.pop()
        keep.append(o)
        if isinstance(o, (list, dict, set, bytearray, Call)):
            counts[id(o)] = counts.get(id(o), 0) + 1
            if counts[id(o)] > 1:
                continue
        stack.extend(reversed(_kids(o)))
    labels = {}
    return _render(root, counts, labels)

def _kids(o):
    if isinstance(o, (list, tuple, set, frozenset)): return list(o)
    if isinstance(o, dict):
        v = []
        for k, x in o.items(): v += [k, x]
        return v
    if isinstance(o, Call):
        v = [] if o.fn is None else [o.fn]
        v += list(o.args)
        if o.kwargs: v.append(o.kwargs)
        v += o.litems
        for k, x in o.ditems: v += [k, x]
        if o.has_state: v.append(o.state)
        return v
    return []

def _render(o, counts, labels):
    pre = ''
    if isinstance(o, (list, dict, set, bytearray, Call)) and counts.get(id(o), 0) > 1:
        if id(o) in labels: return '@%d' % labels[id(o)]
        labels[id(o)] = len(labels) + 1
        pre = '#%d=' % labels[id(o)]
    r = lambda x: _render(x, counts, labels)
    if o is None: s = 'None'
    elif o is True: s = 'True'
    elif o is False: s = 'False'
    elif isinstance(o, int): s = str(o)
    elif isinstance(o, float): s = _float(o)
    elif isinstance(o, str): s = _q(o)
    elif isinstance(o, bytes): s = _qb(o)
    elif isinstance(o, bytearray): s = 'bytearray(' + _qb(bytes(o)) + ')'
    elif isinstance(o, tuple):
        s = '(' + ', '.join(r(x) for x in o) + (',)' if len(o) == 1 else ')')
    elif isinstance(o, list): s = '[' + ', '.join(r(x) for x in o) + ']'
    elif isinstance(o, dict): s = '{' + ', '.join(r(k) + ': ' + r(v) for k, v in o.items()) + '}'
    elif isinstance(o, frozenset): s = 'frozenset(' + ', '.join(sorted(r(x) for x in o)) + ')'
    elif isinstance(o, set): s = 'set(' + ', '.join(sorted(r(x) for x in o)) + ')'
    elif isinstance(o, type) and hasattr(o, '_full'): s = '<' + o._full + '>'
    elif isinstance(o, Call):
        parts = [r(x) for x in o.args]
        if o.kwargs: parts.append('**' + r(o.kwargs))
        s = (o.name if o.fn is None else 'call ' + r(o.fn)) + '(' + ', '.join(parts) + ')'
        if o.litems: s += ' + [' + ', '.join(r(x) for x in o.litems) + ']'
        if o.ditems: s += ' + {' + ', '.join(r(k) + ': ' + r(v) for k, v in o.ditems) + '}'
        if o.has_state: s += ' % ' + r(o.state)
    else: s = '<?' + type(o).__name__ + '>'
    return pre + s
"#;

// --------------------------------------------------------------------------------------------
// tools/canon.py, the CPython oracle, run for many files in one python3 process.

/// Runs `tools/canon.py PICKLE ARGS...` for every job in one python3 process (same code path as
/// the command line: `canon.main(argv)`); returns each output, or the error it exited with.
pub fn canon_many(jobs: &[(PathBuf, Vec<String>)]) -> Vec<Result<String, String>> {
    let dir = tempdir();
    let mut spec = Vec::new();
    for (k, (p, args)) in jobs.iter().enumerate() {
        let out = dir.path().join(format!("{k}.canon"));
        spec.push(serde_json::json!([p, args, out]));
    }
    let spec_path = dir.path().join("jobs.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec).expect("json")).expect("write jobs");
    let tools = root().join("tools");
    let script = format!(
        r#"
import json, sys
sys.path.insert(0, {tools:?})
import canon
for path, args, out in json.load(open(sys.argv[1])):
    try:
        canon.main([path] + args + ['-o', out])
    except SystemExit as e:
        if e.code not in (None, 0):
            open(out + '.err', 'w').write(str(e.code))
"#,
        tools = tools.to_string_lossy()
    );
    let o = py_run(&script, &[&spec_path.to_string_lossy()], None);
    assert!(
        o.status.success(),
        "canon driver failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    (0..jobs.len())
        .map(|k| {
            let out = dir.path().join(format!("{k}.canon"));
            let err = dir.path().join(format!("{k}.canon.err"));
            match std::fs::read_to_string(&err) {
                Ok(e) => Err(e),
                Err(_) => std::fs::read_to_string(&out).map_err(|e| e.to_string()),
            }
        })
        .collect()
}

/// True when tools/canon.py is there (it is committed with the fixtures).
pub fn have_canon() -> bool {
    root().join("tools").join("canon.py").exists()
}

/// `--rules FILE` arguments for `tools/canon.py`: the rule set written as a rules file in
/// `dir` (by hand here, not by the code under test), so the oracle matches the class globs and
/// attribute names itself. Never the plan's hits: an instance the plan misses must show.
pub fn rules_args(dir: &Path, r: &Rules) -> Vec<String> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut text = String::new();
    for rule in &r.transient {
        // JSON strings are TOML basic strings for everything a class or attribute name holds.
        let attrs: Vec<String> = rule
            .attrs
            .iter()
            .map(|a| serde_json::to_string(a).expect("json"))
            .collect();
        text.push_str(&format!(
            "[[transient]]\nclass = {}\nattrs = [{}]\n\n",
            serde_json::to_string(&rule.class).expect("json"),
            attrs.join(", ")
        ));
    }
    let path = dir.join(format!("oracle-rules-{k}.toml"));
    std::fs::write(&path, text).expect("write rules for canon.py");
    vec!["--rules".to_string(), path.to_string_lossy().into_owned()]
}

/// First differing line of two texts, for readable failures.
pub fn first_diff(a: &str, b: &str) -> String {
    for (k, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  left:  {x}\n  right: {y}", k + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        a.lines().count(),
        b.lines().count()
    )
}
