//! Classes whose pickled state has no attribute names to drop: a `__slots__` tuple from
//! `__getstate__`, or everything in the call arguments (namedtuples, `__getnewargs__`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::pickle::{Kind, NO_NODE, NodeId, Span};

use super::rows::{Label, rows};
use super::sizes::merge_spans;
use super::{Model, short_name};

/// Why a class's instances cannot lose an attribute by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fixed {
    /// BUILD state is a tuple of slot values (`__getstate__` returning a tuple).
    SlotsTuple,
    /// No BUILD state: the object is made from its call arguments alone (a namedtuple, a
    /// class with `__getnewargs__`/`__reduce__`).
    CallArguments,
}

impl Fixed {
    pub fn text(self) -> &'static str {
        match self {
            Fixed::SlotsTuple => "state is a slots tuple",
            Fixed::CallArguments => "state is the call arguments (namedtuple or __reduce__)",
        }
    }
}

/// One class that cannot be slimmed, with its instances and bytes (the union of their spans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NotRemovable {
    pub class: String,
    pub why: Fixed,
    pub instances: u64,
    pub bytes: u64,
}

/// Modules whose argument-only objects are values, not domain classes (dates, numbers, numpy
/// arrays, enums, containers, stdlib callables such as `operator.attrgetter('id')`): never
/// listed.
const VALUE_MODULES: &[&str] = &[
    "builtins",
    "__builtin__",
    "copyreg",
    "copy_reg",
    "numpy",
    "datetime",
    "collections",
    "uuid",
    "decimal",
    "_codecs",
    "codecs",
    "enum",
    "re",
    "fractions",
    "pathlib",
    "zoneinfo",
    "pytz",
    "dateutil",
    "operator",
    "functools",
];

/// How the state of instance `id` is held, when it has no attribute names.
pub fn fixed_state(m: &Model, id: NodeId) -> Option<Fixed> {
    let g = m.graph();
    let n = g.get(id)?;
    if !matches!(n.kind, Kind::Call { .. }) {
        return None;
    }
    if n.state == NO_NODE {
        return Some(Fixed::CallArguments);
    }
    if matches!(g.node(n.state).kind, Kind::Tuple)
        && rows(g, m.data(), id)
            .iter()
            .any(|r| matches!(r.label, Label::Slot(_)))
        && !rows(g, m.data(), id)
            .iter()
            .any(|r| matches!(r.label, Label::Attr(_)))
    {
        return Some(Fixed::SlotsTuple);
    }
    None
}

/// Whether `class` is a domain class (not a value such as a date, number or array).
fn is_domain_class(class: &str) -> bool {
    let top = class.split('.').next().unwrap_or(class);
    class.contains('.') && !VALUE_MODULES.contains(&top)
}

/// One line saying that instance `id` cannot be slimmed and why, when it is an instance of a
/// domain class whose state has no attribute names.
pub fn cannot_slim(m: &Model, id: NodeId) -> Option<String> {
    let why = fixed_state(m, id)?;
    let class = m.class_of(id)?;
    if !is_domain_class(&class) {
        return None;
    }
    Some(format!(
        "{} cannot be slimmed: {}, no attribute names to drop; rules leave it whole",
        short_name(&class),
        why.text()
    ))
}

/// Every class of `m` whose instances cannot lose an attribute by name, largest first.
pub fn not_removable(m: &Model) -> Vec<NotRemovable> {
    let g = m.graph();
    let mut by: BTreeMap<(String, Fixed), (u64, Vec<Span>)> = BTreeMap::new();
    for (id, n) in g.nodes.iter().enumerate() {
        if !matches!(n.kind, Kind::Call { .. }) {
            continue;
        }
        let id = id as NodeId;
        let Some(why) = fixed_state(m, id) else {
            continue;
        };
        let Some(class) = m.class_of(id) else {
            continue;
        };
        if !is_domain_class(&class) {
            continue;
        }
        let e = by.entry((class, why)).or_default();
        e.0 += 1;
        e.1.push(n.span);
    }
    let mut out: Vec<NotRemovable> = by
        .into_iter()
        .map(|((class, why), (instances, spans))| NotRemovable {
            class,
            why,
            instances,
            bytes: merge_spans(spans).iter().map(Span::len).sum(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| short_name(&a.class).cmp(short_name(&b.class)))
    });
    out
}
