//! Retained sizes: the bytes that would really disappear if some spans were cut, keeping every
//! definition that surviving code still reaches through the memo (shared objects counted once).

use std::collections::{BTreeMap, HashMap};

use crate::pickle::{Graph, MemoSite, NodeId, Span};

/// Memo references grouped by the node they yield.
#[derive(Debug, Default)]
pub struct MemoRefs {
    /// GET offsets of each memoized node, ascending.
    by_node: HashMap<NodeId, Vec<u64>>,
    /// One bit per node: handed out by at least one GET.
    shared: Vec<u64>,
    /// The memo stores of shared nodes, in stream order (most stores are never fetched).
    shared_puts: Vec<MemoSite>,
}

impl MemoRefs {
    pub fn build(g: &Graph) -> MemoRefs {
        let mut by_node: HashMap<NodeId, Vec<u64>> = HashMap::new();
        let mut shared = vec![0u64; g.nodes.len().div_ceil(64)];
        for s in &g.gets {
            by_node.entry(s.node).or_default().push(s.pos);
            if let Some(w) = shared.get_mut(s.node as usize / 64) {
                *w |= 1 << (s.node % 64);
            }
        }
        let mut refs = MemoRefs {
            by_node,
            shared,
            shared_puts: Vec::new(),
        };
        refs.shared_puts = g
            .puts
            .iter()
            .filter(|p| refs.is_shared(p.node))
            .copied()
            .collect();
        refs
    }

    /// True when some GET hands out `id` (cheap; no hashing).
    pub fn is_shared(&self, id: NodeId) -> bool {
        self.shared
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// How many times the memo hands out `id` (0 when never shared).
    pub fn ref_count(&self, id: NodeId) -> usize {
        self.by_node.get(&id).map(Vec::len).unwrap_or(0)
    }

    /// Offsets of the GETs that yield `id`.
    pub fn refs(&self, id: NodeId) -> &[u64] {
        if !self.is_shared(id) {
            return &[];
        }
        self.by_node.get(&id).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// Sorts and merges spans into disjoint ones (nested spans fold into their outer span).
pub fn merge_spans(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        if s.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(l) if s.start < l.end => l.end = l.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

fn inside(spans: &[Span], pos: u64) -> bool {
    let i = spans.partition_point(|s| s.start <= pos);
    i > 0 && spans[i - 1].contains(pos)
}

fn within(spans: &[Span], s: Span) -> bool {
    let i = spans.partition_point(|x| x.start <= s.start);
    i > 0 && spans[i - 1].start <= s.start && s.end <= spans[i - 1].end
}

/// Bytes that disappear when every span in `cut` (disjoint, sorted) is removed, keeping the
/// definitions that code outside the cut still references (and what they reference in turn).
pub fn retained(g: &Graph, refs: &MemoRefs, cut: &[Span]) -> u64 {
    let mut unlimited = u64::MAX;
    retained_within(g, refs, cut, &mut unlimited).unwrap_or_else(|| cut.iter().map(Span::len).sum())
}

/// Takes `n` steps from `budget`, or `None` when it is spent.
fn spend(budget: &mut u64, n: usize) -> Option<()> {
    *budget = budget.checked_sub(n as u64)?;
    Some(())
}

/// [`retained`] with a step budget shared by many calls: `None` (and a spent budget) when the
/// work would exceed it. Sizing every group of a hostile file (thousands of distinct classes
/// nested thousands deep, each group's span holding all the deeper ones) is quadratic; a
/// budget keeps it bounded, and callers fall back to the inline size.
pub fn retained_within(g: &Graph, refs: &MemoRefs, cut: &[Span], budget: &mut u64) -> Option<u64> {
    let total: u64 = cut.iter().map(Span::len).sum();
    let kept: u64 = kept_within(g, refs, cut, budget)?
        .iter()
        .map(Span::len)
        .sum();
    Some(total.saturating_sub(kept))
}

/// The definitions inside `cut` (disjoint, sorted) that code outside it still references
/// through the memo, closed over what they reference in turn: disjoint maximal spans, sorted.
/// `None` (and a spent budget) when the work would exceed `budget` (see [`retained_within`]).
pub fn kept_within(
    g: &Graph,
    refs: &MemoRefs,
    cut: &[Span],
    budget: &mut u64,
) -> Option<Vec<Span>> {
    if g.gets.is_empty() {
        return Some(Vec::new());
    }
    let defined_inside = |n: NodeId| -> Option<Span> {
        let d = g.get(n)?.span;
        within(cut, d).then_some(d)
    };
    // Definitions referenced from outside the cut.
    let mut kept: BTreeMap<u64, u64> = BTreeMap::new();
    let mut work: Vec<Span> = Vec::new();
    for s in cut {
        // The budget counts every store in the span; only the shared ones need a look.
        spend(budget, g.puts_within(*s))?;
        let sp = &refs.shared_puts;
        let (a, b) = (
            sp.partition_point(|p| p.pos < s.start),
            sp.partition_point(|p| p.pos < s.end),
        );
        for p in &sp[a..b] {
            let Some(d) = defined_inside(p.node) else {
                continue;
            };
            spend(budget, refs.refs(p.node).len())?;
            if refs.refs(p.node).iter().any(|&r| !inside(cut, r)) {
                work.push(d);
            }
        }
    }
    // Close over what kept definitions reference in turn.
    while let Some(d) = work.pop() {
        spend(budget, 1)?;
        if !keep(&mut kept, d) {
            continue;
        }
        let a = g.gets.partition_point(|x| x.pos < d.start);
        let b = g.gets.partition_point(|x| x.pos < d.end);
        spend(budget, b - a)?;
        for x in &g.gets[a..b] {
            if let Some(d2) = defined_inside(x.node)
                && !(d.start <= d2.start && d2.end <= d.end)
            {
                work.push(d2);
            }
        }
    }
    Some(
        kept.into_iter()
            .map(|(start, end)| Span { start, end })
            .collect(),
    )
}

/// Adds `d` to the set of maximal kept spans; false if already covered.
fn keep(kept: &mut BTreeMap<u64, u64>, d: Span) -> bool {
    if let Some((_, &e)) = kept.range(..=d.start).next_back()
        && e >= d.end
    {
        return false;
    }
    let inner: Vec<u64> = kept
        .range(d.start..d.end)
        .filter(|(_, e)| **e <= d.end)
        .map(|(s, _)| *s)
        .collect();
    for s in inner {
        kept.remove(&s);
    }
    kept.insert(d.start, d.end);
    true
}
