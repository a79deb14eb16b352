//! Retained sizes: the bytes that would really disappear if some spans were cut, keeping every
//! definition that surviving code still reaches through the memo (shared objects counted once).

use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::pickle::{Graph, MemoSite, NodeId, Span};

/// Memo references grouped by the node they yield.
#[derive(Debug, Default)]
pub struct MemoRefs {
    /// Each memoized node's index in `lists`.
    by_node: HashMap<NodeId, u32>,
    /// GET offsets of each memoized node, ascending.
    lists: Vec<Vec<u64>>,
    /// One bit per node: handed out by at least one GET.
    shared: Vec<u64>,
    /// The memo stores of shared nodes, in stream order (most stores are never fetched).
    shared_puts: Vec<MemoSite>,
}

impl MemoRefs {
    pub fn build(g: &Graph) -> MemoRefs {
        let mut by_node: HashMap<NodeId, u32> = HashMap::default();
        let mut lists: Vec<Vec<u64>> = Vec::new();
        let mut shared = vec![0u64; g.nodes.len().div_ceil(64)];
        // The list of the last nodes seen by a few bits of their id: a file fetching a few
        // objects again and again (a dict key, a class) looks each up once.
        let mut recent = [(NodeId::MAX, 0u32); RECENT];
        for s in &g.gets {
            let slot = &mut recent[s.node as usize % RECENT];
            if slot.0 != s.node {
                let next = lists.len() as u32;
                let k = *by_node.entry(s.node).or_insert(next);
                if k == next {
                    lists.push(Vec::new());
                }
                *slot = (s.node, k);
            }
            if let Some(list) = lists.get_mut(slot.1 as usize) {
                list.push(s.pos);
            }
            if let Some(w) = shared.get_mut(s.node as usize / 64) {
                *w |= 1 << (s.node % 64);
            }
        }
        let mut refs = MemoRefs {
            by_node,
            lists,
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
        self.refs(id).len()
    }

    /// Offsets of the GETs that yield `id`.
    pub fn refs(&self, id: NodeId) -> &[u64] {
        if !self.is_shared(id) {
            return &[];
        }
        self.by_node
            .get(&id)
            .and_then(|&k| self.lists.get(k as usize))
            .map_or(&[], Vec::as_slice)
    }
}

/// Slots of [`MemoRefs::build`]'s look-up of recent nodes.
const RECENT: usize = 16;

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

/// True when one of `refs` (ascending) lies outside every span of `spans` (disjoint,
/// sorted): one pass over both, looking a span up only when a reference leaves the last one
/// (the references of one object often fall in a few spans, or in spans one after another).
fn any_outside(spans: &[Span], refs: &[u64]) -> bool {
    let mut i = 0;
    for &r in refs {
        match spans.get(i) {
            Some(s) if s.contains(r) => continue,
            Some(s) if r < s.start => return true,
            _ => {}
        }
        // Past span `i`: the next span holding `r`, if any (most often the next one: the
        // references of an object fetched once per instance, one instance per span).
        i += match spans.get(i + 1) {
            Some(s) if s.end > r => 1,
            _ => spans[i.min(spans.len())..].partition_point(|s| s.end <= r),
        };
        match spans.get(i) {
            Some(s) if s.contains(r) => {}
            _ => return true,
        }
    }
    false
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
    // The spans ascend: each count and search goes on from where the last one ended.
    let mut puts = g.puts_within_each();
    let sp = &refs.shared_puts;
    let mut from = 0;
    for s in cut {
        // The budget counts every store in the span; only the shared ones need a look.
        spend(budget, puts.count(*s))?;
        let a = from + sp[from..].partition_point(|p| p.pos < s.start);
        let b = a + sp[a..].partition_point(|p| p.pos < s.end);
        from = b;
        for p in &sp[a..b] {
            let Some(d) = defined_inside(p.node) else {
                continue;
            };
            let fetched_at = refs.refs(p.node);
            spend(budget, fetched_at.len())?;
            if any_outside(cut, fetched_at) {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::pickle::Op;

    /// A small deterministic generator (no seed to keep).
    fn lcg(x: &mut u64) -> u64 {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *x >> 33
    }

    #[test]
    fn any_outside_is_the_reference_check_span_by_span() {
        let mut x = 7;
        for case in 0..2000 {
            let mut spans = Vec::new();
            let mut at = lcg(&mut x) % 5;
            for _ in 0..lcg(&mut x) % 8 {
                let len = 1 + lcg(&mut x) % 6;
                spans.push(Span {
                    start: at,
                    end: at + len,
                });
                at += len + lcg(&mut x) % 4;
            }
            let mut refs: Vec<u64> = (0..lcg(&mut x) % 10)
                .map(|_| lcg(&mut x) % (at + 3))
                .collect();
            refs.sort_unstable();
            let reference = refs.iter().any(|&r| !spans.iter().any(|s| s.contains(r)));
            assert_eq!(
                any_outside(&spans, &refs),
                reference,
                "case {case}: {spans:?} {refs:?}"
            );
        }
    }

    #[test]
    fn memo_refs_list_every_get_of_each_node_in_order() {
        // A list of 40 memoized strings, then GETs of them in a pattern that puts several
        // nodes in the same slot of the recent look-up, appended to a second list.
        let mut data = vec![Op::PROTO as u8, 4, Op::EMPTY_LIST as u8, Op::MEMOIZE as u8];
        data.push(Op::MARK as u8);
        for k in 0..40u8 {
            data.extend([Op::SHORT_BINUNICODE as u8, 2, b'k', b'0' + k]);
            data.push(Op::MEMOIZE as u8);
        }
        data.push(Op::APPENDS as u8);
        data.extend([Op::EMPTY_LIST as u8, Op::MARK as u8]);
        let mut x = 3;
        for _ in 0..500 {
            let k = 1 + (lcg(&mut x) % 40) as u8;
            data.extend([Op::BINGET as u8, k]);
        }
        data.extend([Op::APPENDS as u8, Op::TUPLE2 as u8, Op::STOP as u8]);
        let (g, _) = crate::pickle::parse(&data).unwrap();
        assert_eq!(g.gets.len(), 500);
        let refs = MemoRefs::build(&g);
        let mut nodes: Vec<NodeId> = g.gets.iter().map(|s| s.node).collect();
        nodes.sort_unstable();
        nodes.dedup();
        assert!(nodes.len() > RECENT, "slots are shared");
        for n in nodes {
            let want: Vec<u64> = g
                .gets
                .iter()
                .filter(|s| s.node == n)
                .map(|s| s.pos)
                .collect();
            assert_eq!(refs.refs(n), want.as_slice());
            assert_eq!(refs.ref_count(n), want.len());
            assert!(refs.is_shared(n));
        }
        let never = g.puts.first().unwrap().node;
        assert!(!refs.is_shared(never) && refs.refs(never).is_empty());
    }
}
