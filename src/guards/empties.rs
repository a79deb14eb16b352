//! The empty value of the type a marked attribute holds in a pickle (`{}`, `[]`), for fixes.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::Model;
use crate::pickle::{Kind, NodeId};
use crate::slim::Rules;

/// Per marked attribute, the empty value of the type every instance in `models` holds
/// (`{}` for dicts and dict subclasses, `[]` for lists, ...); attributes whose instances
/// disagree are left out (fixes then suggest `None`).
pub fn empties<'m>(
    models: impl IntoIterator<Item = &'m Model>,
    rules: &Rules,
) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for m in models {
        let groups = m.groups();
        for a in &groups.attrs {
            let g = &groups.groups[a.group];
            if rules.matches(&g.class, &g.attr).is_some() {
                seen.entry(g.attr.clone())
                    .or_default()
                    .insert(empty_literal(m, a.row.value));
            }
        }
    }
    seen.into_iter()
        .filter(|(_, kinds)| kinds.len() == 1)
        .filter_map(|(attr, kinds)| Some((attr, (*kinds.first()?).to_string())))
        .collect()
}

/// The empty Python literal of the value's type, `None` when there is none.
pub fn empty_literal(m: &Model, id: NodeId) -> &'static str {
    let Some(n) = m.graph().get(id) else {
        return "None";
    };
    match n.kind {
        Kind::Dict => "{}",
        Kind::List => "[]",
        Kind::Tuple => "()",
        Kind::Set => "set()",
        Kind::Call { .. } => match m.class_of(id).as_deref() {
            Some("collections.defaultdict" | "collections.OrderedDict") => "{}",
            _ => "None",
        },
        _ => "None",
    }
}
