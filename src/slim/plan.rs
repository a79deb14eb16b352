//! The plan for one file: which byte spans to cut for a rule set, and what each rule hits.

use crate::model::{Label, Model, merge_spans, rows};
use crate::pickle::{Kind, NodeId, Span};

use super::rules::Rules;

/// What one class.attr removal hits in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub class: String,
    pub attr: String,
    pub rule: usize,
    pub instances: u64,
    /// Inline bytes of the removed entries: the union of their spans (an entry nested in
    /// another of the same hit counts once).
    pub bytes: u64,
    pub spans: Vec<Span>,
}

/// A class a rule names whose state is a slots tuple: nothing can be removed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRemovable {
    pub class: String,
    pub instances: u64,
}

/// Cuts for one file.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Spans to cut, sorted by start (outer first when nested); see [`cut_list`].
    pub cuts: Vec<Span>,
    pub hits: Vec<Hit>,
    pub not_removable: Vec<NotRemovable>,
}

impl Plan {
    pub fn build(m: &Model, rules: &Rules) -> Plan {
        let mut plan = Plan::default();
        if rules.is_empty() {
            return plan;
        }
        let groups = m.groups();
        let mut hit_of: Vec<Option<usize>> = vec![None; groups.groups.len()];
        for (gi, g) in groups.groups.iter().enumerate() {
            if let Some(r) = rules.matches(&g.class, &g.attr) {
                hit_of[gi] = Some(plan.hits.len());
                plan.hits.push(Hit {
                    class: g.class.clone(),
                    attr: g.attr.clone(),
                    rule: r,
                    instances: 0,
                    bytes: 0,
                    spans: Vec::new(),
                });
            }
        }
        let mut all = Vec::new();
        for a in &groups.attrs {
            if let Some(h) = hit_of[a.group] {
                let hit = &mut plan.hits[h];
                hit.instances += 1;
                hit.spans.push(a.row.span);
                all.push(a.row.span);
            }
        }
        for h in &mut plan.hits {
            h.bytes = merge_spans(h.spans.clone()).iter().map(Span::len).sum();
        }
        plan.cuts = cut_list(all);
        plan.not_removable = slots_only(m, rules);
        plan
    }

    pub fn is_noop(&self) -> bool {
        self.cuts.is_empty()
    }
}

/// Sorts cut spans by start (the outer one first when several start together), dropping empty
/// spans and duplicates but keeping nested spans: a definition the writer re-emits from
/// inside an outer cut must still lose the attributes cut inside it (`a.partner = b`,
/// `b.partner = a`: `b` is re-emitted where it is used next, without its own `partner`).
pub fn cut_list(mut spans: Vec<Span>) -> Vec<Span> {
    spans.retain(|s| !s.is_empty());
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    spans.dedup();
    spans
}

fn slots_only(m: &Model, rules: &Rules) -> Vec<NotRemovable> {
    let g = m.graph();
    let mut out: Vec<NotRemovable> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (id, n) in g.nodes.with_state() {
        if !matches!(g.node(n.state).kind, Kind::Tuple) {
            continue;
        }
        let id = id as NodeId;
        let rs = rows(g, m.data(), id);
        if !rs.iter().any(|r| matches!(r.label, Label::Slot(_))) {
            continue;
        }
        let Some(class) = m.class_of(id) else {
            continue;
        };
        if !rules.class_matches(&class) {
            continue;
        }
        match index.get(&class) {
            Some(&i) => out[i].instances += 1,
            None => {
                index.insert(class.clone(), out.len());
                out.push(NotRemovable {
                    class,
                    instances: 1,
                });
            }
        }
    }
    out
}
