//! class.attr groups: every attribute of every instance, grouped by class and name, with
//! inline and retained bytes and the pass-through folding used by reports.

use crate::pickle::{Graph, Kind, NodeId, Span};

use super::rows::{Label, Row, attr_name, rows_into};
use super::sizes::{merge_spans, retained_within};
use super::{Model, classes::class_of};

/// One attribute of one instance.
#[derive(Debug, Clone)]
pub struct AttrInst {
    pub group: usize,
    pub row: Row,
}

/// All instances of one class.attr.
#[derive(Debug, Clone)]
pub struct Group {
    pub class: String,
    pub attr: String,
    pub instances: u64,
    /// Inline bytes: the union of the instances' spans (an instance nested inside another
    /// instance of the same group counts once, at the outermost).
    pub bytes: u64,
    /// Bytes that disappear when every instance is removed together.
    pub retained: u64,
    /// Mostly made of another group nested inside it (see [`PASS_THROUGH`]).
    pub pass_through: bool,
}

/// A group whose bytes lie at least this share inside one other nested group is a pass-through.
pub const PASS_THROUGH: f64 = 0.9;

/// Attribute instances and their groups.
#[derive(Debug, Default)]
pub struct Groups {
    pub groups: Vec<Group>,
    pub attrs: Vec<AttrInst>,
    /// Some retained sizes are the inline size instead (the exact computation went over its
    /// budget: see [`retained_within`]).
    pub approximate: bool,
}

/// Steps every file may spend on exact retained sizes, beyond 16 per node and memo site.
pub const RETAINED_BUDGET: u64 = 10_000_000;

/// The steps a file may spend on exact retained sizes: [`RETAINED_BUDGET`] plus 16 per object
/// and memo site of the whole stream (the same for a lean graph as for a full one).
pub fn retained_budget(g: &Graph) -> u64 {
    RETAINED_BUDGET
        .saturating_add(16 * (g.object_count() + g.memo_store_count() + g.gets.len() as u64))
}

impl Groups {
    pub fn build(m: &Model) -> Groups {
        let g = m.graph();
        let data = m.data();
        // class -> attribute -> group; looked up with borrowed names (most attribute names
        // are borrowed straight from the file), allocated only for a new group.
        let mut index: foldhash::HashMap<String, ClassGroups> = foldhash::HashMap::default();
        let mut groups: Vec<Group> = Vec::new();
        let mut attrs = Vec::new();
        let mut spans: Vec<Vec<Span>> = Vec::new();
        let mut buf = Vec::new();
        for (id, n) in g.nodes.with_state() {
            if !matches!(n.kind, Kind::Call { .. }) {
                continue;
            }
            let id = id as NodeId;
            let Some(class) = class_of(g, data, id) else {
                continue;
            };
            rows_into(g, data, id, &mut buf);
            let by_attr = match index.get_mut(class.as_str()) {
                Some(m) => m,
                None => index.entry(class.clone()).or_default(),
            };
            for &row in &buf {
                let Label::Attr(k) = row.label else {
                    continue;
                };
                // A name string fetched again from the memo is the same node each time.
                let gi = match by_attr.by_node.get(&k) {
                    Some(&gi) => gi,
                    None => {
                        let attr = attr_name(g, data, k);
                        let gi = match by_attr.by_name.get(attr.as_ref()) {
                            Some(&gi) => gi,
                            None => {
                                groups.push(Group {
                                    class: class.clone(),
                                    attr: attr.clone().into_owned(),
                                    instances: 0,
                                    bytes: 0,
                                    retained: 0,
                                    pass_through: false,
                                });
                                spans.push(Vec::new());
                                by_attr.by_name.insert(attr.into_owned(), groups.len() - 1);
                                groups.len() - 1
                            }
                        };
                        if m.refs.is_shared(k) {
                            by_attr.by_node.insert(k, gi);
                        }
                        gi
                    }
                };
                groups[gi].instances += 1;
                spans[gi].push(row.span);
                attrs.push(AttrInst { group: gi, row });
            }
        }
        // Exact retained sizes within a budget linear in the file's memo traffic; past it (only
        // pathological nesting gets there) a group's retained size is its merged inline size.
        let mut budget = retained_budget(g);
        let mut approximate = false;
        for (gi, s) in spans.into_iter().enumerate() {
            let merged = merge_spans(s);
            groups[gi].bytes = merged.iter().map(Span::len).sum();
            groups[gi].retained = match retained_within(g, &m.refs, &merged, &mut budget) {
                Some(r) => r,
                None => {
                    approximate = true;
                    merged.iter().map(Span::len).sum()
                }
            };
        }
        mark_pass_through(&mut groups, &attrs);
        Groups {
            groups,
            attrs,
            approximate,
        }
    }

    /// Indices of groups, largest retained first.
    pub fn by_size(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.groups.len()).collect();
        v.sort_by(|&a, &b| {
            let (x, y) = (&self.groups[a], &self.groups[b]);
            y.retained
                .cmp(&x.retained)
                .then(y.bytes.cmp(&x.bytes))
                .then(x.class.cmp(&y.class))
                .then(x.attr.cmp(&y.attr))
        });
        v
    }
}

/// One class's groups, by attribute name and by the node of a name string that GETs fetch
/// again.
#[derive(Default)]
struct ClassGroups {
    by_name: foldhash::HashMap<String, usize>,
    by_node: foldhash::HashMap<NodeId, usize>,
}

/// Marks groups whose bytes lie ≥ 90% inside the values of one other group nested in them.
fn mark_pass_through(groups: &mut [Group], attrs: &[AttrInst]) {
    // Outer spans first; the keys sorted in place (ties in attribute order, as a stable sort
    // of the indices would leave them).
    let mut order: Vec<(u64, std::cmp::Reverse<u64>, usize)> = attrs
        .iter()
        .enumerate()
        .map(|(i, a)| (a.row.span.start, std::cmp::Reverse(a.row.span.end), i))
        .collect();
    order.sort_unstable();
    let mut nested: foldhash::HashMap<(usize, usize), u64> = foldhash::HashMap::default();
    let mut stack: Vec<usize> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    for &(_, _, i) in &order {
        let s = attrs[i].row.span;
        while let Some(&top) = stack.last() {
            if attrs[top].row.span.end <= s.start {
                stack.pop();
            } else {
                break;
            }
        }
        let h = attrs[i].group;
        let mut seen_h = false;
        seen.clear();
        for &anc in stack.iter().rev().take(64) {
            let a = attrs[anc].group;
            if a == h {
                seen_h = true;
                continue;
            }
            if !seen_h && !seen.contains(&a) {
                *nested.entry((a, h)).or_default() += s.len();
                seen.push(a);
            }
        }
        stack.push(i);
    }
    for ((a, _), bytes) in nested {
        let total = groups[a].bytes;
        if total > 0 && bytes as f64 >= PASS_THROUGH * total as f64 {
            groups[a].pass_through = true;
        }
    }
}
