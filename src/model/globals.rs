//! What the globals a pickle names would do if CPython loaded it: a verdict (dangerous, gadget,
//! benign, safe, unknown) with its reason and source, from the data in `denylist.toml`
//! (compiled into static tables by `build.rs`).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Dangerous,
    Gadget,
    Safe,
}

/// One `[[entry]]` of the list.
#[derive(Debug)]
struct ListEntry {
    modules: &'static [&'static str],
    names: &'static [&'static str],
    verdict: Listed,
    reason: &'static str,
    source: &'static [&'static str],
    /// For a gadget whose pickled form carries BUILD state of its own (functools.partial).
    own_state: bool,
}

// ENTRIES (the file's order), EXACT (module, name, entry) and WHOLE (module, entry) sorted,
// REFLECTION sorted: see build.rs.
include!(concat!(env!("OUT_DIR"), "/denylist.rs"));

/// The entry listing `name` in `module` exactly.
fn exact(module: &str, name: &str) -> Option<&'static ListEntry> {
    let i = EXACT
        .binary_search_by(|&(m, n, _)| (m, n).cmp(&(module, name)))
        .ok()?;
    ENTRIES.get(usize::from(EXACT[i].2))
}

/// The entry listing the whole of `module`.
fn whole(module: &str) -> Option<&'static ListEntry> {
    let i = WHOLE.binary_search_by(|&(m, _)| m.cmp(module)).ok()?;
    ENTRIES.get(usize::from(WHOLE[i].1))
}

/// The list entry for `module.name`: the exact name; for dangerous and gadget entries also
/// a dotted extension of a listed name (`Bdb.run` under `Bdb`); else the whole module or
/// its nearest listed parent module.
fn lookup(module: &str, name: &str) -> Option<&'static ListEntry> {
    if let Some(e) = exact(module, name) {
        return Some(e);
    }
    let mut n = name;
    while let Some(dot) = n.rfind('.') {
        n = &n[..dot];
        if let Some(e) = exact(module, n)
            && e.verdict != Listed::Safe
        {
            return Some(e);
        }
    }
    let mut m = module;
    loop {
        if let Some(e) = whole(m) {
            return Some(e);
        }
        match m.rfind('.') {
            Some(dot) => m = &m[..dot],
            None => return None,
        }
    }
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The verdict on `module.name` as a file names it.
pub fn judge(module: &str, name: &str, named: Named, trust: &Trust) -> Judgement {
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
        if let Some(r) = parts.iter().find(|p| REFLECTION.binary_search(p).is_ok()) {
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
                        source: owned(e.source),
                    };
                }
            }
        }
    }
    match lookup(module, name) {
        Some(e) => match e.verdict {
            Listed::Dangerous => Judgement {
                verdict: Verdict::Dangerous,
                reason: e.reason.to_string(),
                source: owned(e.source),
            },
            Listed::Safe => Judgement {
                verdict: Verdict::Safe,
                reason: e.reason.to_string(),
                source: owned(e.source),
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
                    source: owned(e.source),
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
    for e in &ENTRIES {
        let verdict = match e.verdict {
            Listed::Dangerous => "dangerous",
            Listed::Gadget => "gadget",
            Listed::Safe => "safe",
        };
        for m in e.modules {
            for n in e.names {
                v.push((m.to_string(), n.to_string(), verdict));
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
    fn the_compiled_list_is_whole_and_sorted_for_search() {
        assert!(ENTRIES.len() > 50);
        for e in &ENTRIES {
            assert!(!e.reason.is_empty() && !e.source.is_empty());
            assert!(!e.modules.is_empty() && !e.names.is_empty());
        }
        // Binary search needs strictly ascending keys (ascending and no duplicates).
        assert!(
            EXACT
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1))
        );
        assert!(WHOLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(REFLECTION.windows(2).all(|w| w[0] < w[1]));
        // Every (module, name) of every entry is found again, to its own entry.
        let pairs: usize = ENTRIES
            .iter()
            .map(|e| e.modules.len() * e.names.len())
            .sum();
        assert_eq!(pairs, EXACT.len() + WHOLE.len());
        for e in &ENTRIES {
            for m in e.modules {
                for n in e.names {
                    let found = if *n == "*" { whole(m) } else { exact(m, n) };
                    assert!(found.is_some_and(|f| std::ptr::eq(f, e)), "{m}.{n}");
                }
            }
        }
        assert!(exact("builtins", "eval").is_some() && exact("builtins", "evil").is_none());
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
