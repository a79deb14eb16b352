//! What the globals a pickle names would do if CPython loaded it: a verdict (dangerous, gadget,
//! benign, safe, unknown) with its reason and source, from the data in `denylist.toml`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::pickle::value::{NAME_MAX, text};
use crate::pickle::{Graph, Kind, NO_NODE, NodeId};

/// How a global would behave when the pickle is loaded, most serious first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Runs code or touches the system when loaded.
    Dangerous,
    /// A harmless-looking callable that the pickle calls on data (a code-execution chain).
    Gadget,
    /// Such a callable, only built and stored.
    Benign,
    /// Neither on the denylist nor a known data type.
    Unknown,
    /// A known data type or reconstructor.
    Safe,
}

impl Verdict {
    /// True for the verdicts that get a warning banner.
    pub fn alarming(self) -> bool {
        matches!(self, Verdict::Dangerous | Verdict::Gadget)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Dangerous => "dangerous",
            Verdict::Gadget => "gadget",
            Verdict::Benign => "benign",
            Verdict::Unknown => "unknown",
            Verdict::Safe => "safe",
        }
    }
}

/// A verdict with why and who says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
    /// The public lists that name it (picklescan, modelscan, fickling, torch weights_only,
    /// picklescope); empty for unknown.
    pub source: Vec<String>,
}

/// Module prefixes the user vouches for (`--trust-module`): their unlisted globals are safe.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    prefixes: Vec<String>,
}

impl Trust {
    pub fn new(prefixes: impl IntoIterator<Item = String>) -> Trust {
        Trust {
            prefixes: prefixes
                .into_iter()
                .map(|p| p.trim_end_matches('.').to_string())
                .filter(|p| !p.is_empty())
                .collect(),
        }
    }
    /// True when `module` is one of the prefixes or inside one (`pipeline` covers
    /// `pipeline.domain.measurementset`, not `pipelines`).
    pub fn covers(&self, module: &str) -> bool {
        self.prefixes.iter().any(|p| {
            module == p || (module.starts_with(p.as_str()) && module[p.len()..].starts_with('.'))
        })
    }
}

/// A global as one file names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Named {
    /// GLOBAL/STACK_GLOBAL/INST occurrences.
    pub count: u64,
    /// What it returns (or it itself, passed as an argument) is called by the pickle: the
    /// callable of another call, or handed as an argument to a call.
    pub called: bool,
    /// What it returns is given BUILD state (a `__setstate__` call on it).
    pub built: bool,
}

impl Named {
    /// Folds another file's (or occurrence's) view of the same global in.
    pub fn merge(&mut self, o: Named) {
        self.count += o.count;
        self.called |= o.called;
        self.built |= o.built;
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    reflection: Vec<String>,
    entry: Vec<ListEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Listed {
    Dangerous,
    Gadget,
    Safe,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListEntry {
    modules: Vec<String>,
    names: Vec<String>,
    verdict: Listed,
    reason: String,
    source: Vec<String>,
    /// For a gadget whose pickled form carries BUILD state of its own (functools.partial).
    #[serde(default)]
    own_state: bool,
}

/// The parsed list with its lookup indexes.
#[derive(Debug)]
struct Table {
    entries: Vec<ListEntry>,
    exact: HashMap<(String, String), usize>,
    whole: HashMap<String, usize>,
    reflection: HashSet<String>,
}

const LIST: &str = include_str!("denylist.toml");

/// The built-in list, parsed once. A unit test keeps it parsing; were it ever unreadable,
/// every global is judged dangerous (with the parse error as the reason) rather than safe.
fn table() -> Result<&'static Table, &'static str> {
    static T: OnceLock<Result<Table, String>> = OnceLock::new();
    match T.get_or_init(|| build_table(LIST)) {
        Ok(t) => Ok(t),
        Err(e) => Err(e.as_str()),
    }
}

fn build_table(src: &str) -> Result<Table, String> {
    let f: ListFile = toml::from_str(src).map_err(|e| e.to_string())?;
    let mut exact = HashMap::new();
    let mut whole = HashMap::new();
    for (i, e) in f.entry.iter().enumerate() {
        for m in &e.modules {
            for n in &e.names {
                let dup = if n == "*" {
                    whole.insert(m.clone(), i)
                } else {
                    exact.insert((m.clone(), n.clone()), i)
                };
                if dup.is_some() {
                    return Err(format!("{m}.{n} is listed twice"));
                }
            }
        }
    }
    Ok(Table {
        entries: f.entry,
        exact,
        whole,
        reflection: f.reflection.into_iter().collect(),
    })
}

/// The list entry for `module.name`: the exact name; for dangerous and gadget entries also
/// a dotted extension of a listed name (`Bdb.run` under `Bdb`); else the whole module or
/// its nearest listed parent module.
fn lookup(module: &str, name: &str) -> Option<&'static ListEntry> {
    let t = table().ok()?;
    let get = |m: &str, n: &str| t.exact.get(&(m.to_string(), n.to_string())).copied();
    if let Some(i) = get(module, name) {
        return t.entries.get(i);
    }
    let mut n = name;
    while let Some(dot) = n.rfind('.') {
        n = &n[..dot];
        if let Some(i) = get(module, n)
            && let Some(e) = t.entries.get(i)
            && e.verdict != Listed::Safe
        {
            return Some(e);
        }
    }
    let mut m = module;
    loop {
        if let Some(&i) = t.whole.get(m) {
            return t.entries.get(i);
        }
        match m.rfind('.') {
            Some(dot) => m = &m[..dot],
            None => return None,
        }
    }
}

fn owned(v: &[String]) -> Vec<String> {
    v.to_vec()
}

/// The verdict on `module.name` as a file names it.
pub fn judge(module: &str, name: &str, named: Named, trust: &Trust) -> Judgement {
    let t = match table() {
        Ok(t) => t,
        Err(e) => {
            return Judgement {
                verdict: Verdict::Dangerous,
                reason: format!(
                    "the built-in denylist is unreadable ({e}): nothing can be cleared"
                ),
                source: vec!["picklescope".into()],
            };
        }
    };
    // Pickle resolves dotted names attribute by attribute, so `logging` + `os.system` is
    // os.system: every dotted path the name walks is judged too.
    if name.len() >= NAME_MAX as usize {
        return Judgement {
            verdict: Verdict::Dangerous,
            reason: format!("a name of over {NAME_MAX} bytes, cut: it cannot be checked"),
            source: vec!["picklescope".into()],
        };
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 1 {
        if let Some(r) = parts.iter().find(|p| t.reflection.contains(**p)) {
            return Judgement {
                verdict: Verdict::Dangerous,
                reason: format!("walks `{r}` through a dotted name (reflection reaches any code)"),
                source: vec!["fickling".into(), "picklescope".into()],
            };
        }
        for k in 0..parts.len() - 1 {
            for j in k..parts.len() - 1 {
                let (m, n) = (parts[k..=j].join("."), parts[j + 1..].join("."));
                if let Some(e) = lookup(&m, &n)
                    && e.verdict == Listed::Dangerous
                {
                    return Judgement {
                        verdict: Verdict::Dangerous,
                        reason: format!("reaches {m}.{n} through a dotted name: {}", e.reason),
                        source: owned(&e.source),
                    };
                }
            }
        }
    }
    match lookup(module, name) {
        Some(e) => match e.verdict {
            Listed::Dangerous => Judgement {
                verdict: Verdict::Dangerous,
                reason: e.reason.clone(),
                source: owned(&e.source),
            },
            Listed::Safe => Judgement {
                verdict: Verdict::Safe,
                reason: e.reason.clone(),
                source: owned(&e.source),
            },
            Listed::Gadget => {
                let used = named.called || (named.built && !e.own_state);
                let (verdict, how) = if used {
                    (Verdict::Gadget, "this pickle calls what it returns")
                } else {
                    (Verdict::Benign, "here only built and stored, never called")
                };
                Judgement {
                    verdict,
                    reason: format!("{}; {how}", e.reason),
                    source: owned(&e.source),
                }
            }
        },
        None if trust.covers(module) => Judgement {
            verdict: Verdict::Safe,
            reason: "a module trusted with --trust-module".into(),
            source: vec!["--trust-module".into()],
        },
        None => Judgement {
            verdict: Verdict::Unknown,
            reason: "neither on the denylist nor a known data type".into(),
            source: Vec::new(),
        },
    }
}

/// The `(module, name)` of a global node, if `id` is one.
fn global_key(g: &Graph, data: &[u8], id: NodeId) -> Option<(String, String)> {
    match g.get(id)?.kind {
        Kind::Global { module, name } => Some((
            text(data, clip(module)).into_owned(),
            text(data, clip(name)).into_owned(),
        )),
        _ => None,
    }
}

/// A text span cut to [`NAME_MAX`] bytes (a longer name is judged dangerous by its length).
fn clip(t: crate::pickle::TextRef) -> crate::pickle::TextRef {
    crate::pickle::TextRef {
        len: t.len.min(NAME_MAX),
        ..t
    }
}

/// Every global a model names, with its count and whether the pickle calls what it builds.
///
/// A global `G` "is called" when a call's callable is the result of calling `G` (the
/// `attrgetter('system')(os)` step), or when `G` or its result is passed as an argument to a
/// call (`map(G, ...)`, `sorted(key=G(...))`: the callee may call it on data). A call result
/// given BUILD state is "built" (its `__setstate__` runs on data).
pub fn named_globals(m: &Model) -> BTreeMap<(String, String), Named> {
    let g = m.graph();
    let data = m.data();
    let mut out: BTreeMap<(String, String), Named> = BTreeMap::new();
    for (module, name) in g.nodes.globals() {
        let key = (
            text(data, clip(module)).into_owned(),
            text(data, clip(name)).into_owned(),
        );
        out.entry(key).or_default().count += 1;
    }
    // Globals whose result (or themselves, as arguments) the pickle calls; and whose result
    // gets BUILD state.
    let mut called: HashSet<NodeId> = HashSet::new();
    let mut built: HashSet<NodeId> = HashSet::new();
    let producer = |id: NodeId| match g.get(id).map(|n| n.kind) {
        Some(Kind::Call { callable, .. }) => Some(callable),
        _ => None,
    };
    for c in g.nodes.calls() {
        let Kind::Call {
            callable,
            args,
            kwargs,
            ..
        } = c.kind
        else {
            continue;
        };
        if let Some(p) = producer(callable) {
            called.insert(p);
        }
        if c.state != NO_NODE {
            built.insert(callable);
        }
        for holder in [args, kwargs] {
            if holder == NO_NODE {
                continue;
            }
            for e in g.children(holder) {
                let v = e.value;
                match g.get(v).map(|n| n.kind) {
                    Some(Kind::Global { .. }) => {
                        called.insert(v);
                    }
                    Some(Kind::Call { callable, .. }) => {
                        called.insert(callable);
                    }
                    _ => {}
                }
            }
        }
    }
    for (ids, called) in [(called, true), (built, false)] {
        for id in ids {
            let Some(key) = global_key(g, data, id) else {
                continue;
            };
            if let Some(n) = out.get_mut(&key) {
                if called {
                    n.called = true;
                } else {
                    n.built = true;
                }
            }
        }
    }
    out
}

/// Every global of a model with its verdict, most serious first.
pub fn judged(m: &Model, trust: &Trust) -> Vec<((String, String), Named, Judgement)> {
    let mut v: Vec<_> = named_globals(m)
        .into_iter()
        .map(|(k, n)| {
            let j = judge(&k.0, &k.1, n, trust);
            (k, n, j)
        })
        .collect();
    v.sort_by(|a, b| a.2.verdict.cmp(&b.2.verdict).then(a.0.cmp(&b.0)));
    v
}

/// `(module, name, verdict)` of the globals that deserve a warning banner (dangerous and
/// gadget), sorted, without duplicates.
pub fn alarming(m: &Model) -> Vec<(String, String, Verdict)> {
    judged(m, &Trust::default())
        .into_iter()
        .filter(|(_, _, j)| j.verdict.alarming())
        .map(|((module, name), _, j)| (module, name, j.verdict))
        .collect()
}

/// Every `(module, name)` the built-in list names, with its listed verdict (`*` for a whole
/// module): for tests that build a pickle for each entry.
pub fn listed() -> Vec<(String, String, &'static str)> {
    let mut v = Vec::new();
    let Ok(t) = table() else {
        return v;
    };
    for e in &t.entries {
        let verdict = match e.verdict {
            Listed::Dangerous => "dangerous",
            Listed::Gadget => "gadget",
            Listed::Safe => "safe",
        };
        for m in &e.modules {
            for n in &e.names {
                v.push((m.clone(), n.clone(), verdict));
            }
        }
    }
    v
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn v(m: &str, n: &str) -> Verdict {
        judge(m, n, Named::default(), &Trust::default()).verdict
    }

    #[test]
    fn the_list_parses_without_duplicates() {
        let t = build_table(LIST).expect("denylist.toml");
        assert!(t.entries.len() > 50);
        for e in &t.entries {
            assert!(!e.reason.is_empty() && !e.source.is_empty());
        }
    }

    #[test]
    fn precise_names_in_modules_with_data_types() {
        assert_eq!(v("uuid", "_get_command_stdout"), Verdict::Dangerous);
        assert_eq!(v("uuid", "UUID"), Verdict::Safe);
        assert_eq!(v("uuid", "uuid4"), Verdict::Unknown);
        assert_eq!(v("logging", "FileHandler"), Verdict::Dangerous);
        assert_eq!(v("logging", "LogRecord"), Verdict::Safe);
        assert_eq!(v("logging.handlers", "SocketHandler"), Verdict::Dangerous);
        assert_eq!(v("logging", "StreamHandler"), Verdict::Unknown);
        assert_eq!(v("bdb", "Bdb.run"), Verdict::Dangerous);
        assert_eq!(
            v("code", "InteractiveInterpreter.runcode"),
            Verdict::Dangerous
        );
        assert_eq!(v("os.path", "join"), Verdict::Dangerous);
        assert_eq!(v("aiohttp.client", "ClientSession"), Verdict::Dangerous);
        assert_eq!(v("datetime", "datetime"), Verdict::Safe);
        assert_eq!(v("collections", "OrderedDict"), Verdict::Safe);
        assert_eq!(v("collections", "namedtuple"), Verdict::Unknown);
    }

    #[test]
    fn dotted_names_are_walked() {
        assert_eq!(v("logging", "os.system"), Verdict::Dangerous);
        assert_eq!(v("datetime", "sys.modules"), Verdict::Dangerous);
        assert_eq!(
            v("collections", "OrderedDict.__init__.__globals__"),
            Verdict::Dangerous
        );
        // A safe name does not cover its extensions.
        assert_eq!(v("uuid", "UUID.x"), Verdict::Unknown);
        assert_eq!(v("pipeline.h.tasks", "Outer.Inner"), Verdict::Unknown);
    }

    #[test]
    fn gadgets_depend_on_use() {
        let stored = Named {
            count: 1,
            ..Named::default()
        };
        let called = Named {
            called: true,
            ..stored
        };
        let built = Named {
            built: true,
            ..stored
        };
        let t = Trust::default();
        assert_eq!(
            judge("operator", "attrgetter", stored, &t).verdict,
            Verdict::Benign
        );
        assert_eq!(
            judge("operator", "attrgetter", called, &t).verdict,
            Verdict::Gadget
        );
        assert_eq!(
            judge("builtins", "getattr", built, &t).verdict,
            Verdict::Gadget
        );
        // A partial's BUILD state is its own (func, args, keywords).
        assert_eq!(
            judge("functools", "partial", built, &t).verdict,
            Verdict::Benign
        );
    }

    #[test]
    fn trust_covers_prefixes_only() {
        let t = Trust::new(["pipeline".to_string()]);
        let n = Named::default();
        assert_eq!(
            judge("pipeline.domain.measurementset", "MeasurementSet", n, &t).verdict,
            Verdict::Safe
        );
        assert_eq!(judge("pipelines", "X", n, &t).verdict, Verdict::Unknown);
        // Trust never overrides the denylist.
        let t = Trust::new(["os".to_string()]);
        assert_eq!(judge("os", "system", n, &t).verdict, Verdict::Dangerous);
    }
}
