//! Memo keys in a rewritten pickle: which key each store gets, so a drop never pays for its
//! own bookkeeping. Explicit keys (PUT/BINPUT/LONG_BINPUT) are kept and re-emitted definitions
//! take freed lower keys; MEMOIZE keys follow the output (MEMOIZE is the smallest store, and
//! `pickletools` refuses a key stored twice, so a low key cannot be taken over), and the
//! definitions a cut holds that surviving code fetches may be hoisted to the cut (definition +
//! POP) so they keep low keys: see [`hoistable`] and [`super::write`]'s choice.

use std::collections::{BTreeSet, HashMap};

use crate::pickle::machine::memo_key;
use crate::pickle::scan::read_instr;
use crate::pickle::{Graph, NodeId, PickleError, PickleInfo, Span};

/// Bytes a memo fetch (or store) of key `k` takes: `BINGET k` / `LONG_BINGET k`, or `g<k>\n`.
pub(super) fn key_cost(k: u64, text: bool) -> u64 {
    if text {
        2 + decimal_digits(k)
    } else if k < 256 {
        2
    } else {
        5
    }
}

fn decimal_digits(mut k: u64) -> u64 {
    let mut n = 1;
    while k >= 10 {
        k /= 10;
        n += 1;
    }
    n
}

/// How the keys of one pickle are chosen.
#[derive(Clone)]
pub(super) struct PickleMemo {
    /// Every store is an explicit PUT/BINPUT/LONG_BINPUT and no key is stored twice: surviving
    /// stores keep their keys and fetches keep their bytes. Otherwise keys are renumbered in
    /// output order (the only way with MEMOIZE).
    pub keep: bool,
    /// Bit per node: fetched at least once in the pickle. A re-emitted store of anything
    /// else is left out, its key freed.
    fetched: Vec<u64>,
    /// (keep) Keys nothing in the output uses: stores inside cuts of objects never fetched,
    /// and original keys of re-emitted definitions that moved to a lower one.
    free: BTreeSet<u64>,
}

impl PickleMemo {
    pub(super) fn new(
        data: &[u8],
        g: &Graph,
        p: &PickleInfo,
        cuts: &[Span],
    ) -> Result<PickleMemo, PickleError> {
        let mut fetched = vec![0u64; g.nodes.len().div_ceil(64)];
        for s in sites(&g.gets, p.span) {
            if let Some(w) = fetched.get_mut(s.node as usize / 64) {
                *w |= 1 << (s.node % 64);
            }
        }
        let mut m = PickleMemo {
            keep: p.explicit_memo,
            fetched,
            free: BTreeSet::new(),
        };
        if m.keep {
            // Stores inside cuts (nested cuts lie inside outer ones: skip past each).
            let mut done = p.span.start;
            for c in cuts {
                if c.end <= done || c.start >= p.span.end {
                    continue;
                }
                let from = c.start.max(done);
                done = c.end;
                for s in sites(
                    &g.puts,
                    Span {
                        start: from,
                        end: c.end,
                    },
                ) {
                    if !m.is_fetched(s.node) {
                        m.free.insert(memo_key(&read_instr(data, s.pos as usize)?)?);
                    }
                }
            }
        }
        Ok(m)
    }

    /// True when some fetch in the pickle yields `n`.
    pub(super) fn is_fetched(&self, n: NodeId) -> bool {
        self.fetched
            .get(n as usize / 64)
            .is_some_and(|w| w & (1 << (n % 64)) != 0)
    }

    /// (keep) The key for a re-emitted definition first stored under `k0`: the lowest freed
    /// key if its fetches are shorter, else `k0`.
    pub(super) fn reemit_key(&mut self, k0: u64, text: bool) -> u64 {
        match self.free.first().copied() {
            Some(f) if key_cost(f, text) < key_cost(k0, text) => {
                self.free.remove(&f);
                self.free.insert(k0);
                f
            }
            _ => k0,
        }
    }
}

/// The memo sites of `all` (sorted by position) that lie in `span`.
pub(super) fn sites(all: &[crate::pickle::MemoSite], span: Span) -> &[crate::pickle::MemoSite] {
    let a = all.partition_point(|s| s.pos < span.start);
    let b = all.partition_point(|s| s.pos < span.end);
    &all[a..b]
}

/// The cuts of pickle `p` the main stream skips (the outermost ones): disjoint, sorted.
pub(super) fn top_cuts(p: &PickleInfo, cuts: &[Span]) -> Vec<Span> {
    let mut top: Vec<Span> = Vec::new();
    for c in cuts {
        if c.start < p.span.start || c.end > p.span.end {
            continue;
        }
        if top.last().is_some_and(|t| c.start < t.end) {
            continue;
        }
        top.push(*c);
    }
    top
}

/// A definition a rewrite may hoist to the cut that holds it (see [`hoistable`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Hoist {
    /// Start of the top-level cut holding the definition.
    pub cut: u64,
    pub node: NodeId,
    /// Fetches of the node outside every cut.
    pub fetches: u64,
    /// Where the first of them is.
    pub first_fetch: u64,
}

/// Definitions a rewrite of pickle `p` may hoist: memoized objects defined inside a top-level
/// cut (one the main stream skips) that code outside every cut fetches, in stream order, the
/// outermost definition only where they nest. Hoisted, each is written at its cut and then
/// popped, so it is stored where it was (a low MEMOIZE key) instead of at its first surviving
/// fetch.
pub(super) fn hoistable(g: &Graph, p: &PickleInfo, cuts: &[Span]) -> Vec<Hoist> {
    let top = top_cuts(p, cuts);
    let cut_of = |pos: u64| -> Option<usize> {
        let i = top.partition_point(|c| c.start <= pos).checked_sub(1)?;
        top[i].contains(pos).then_some(i)
    };
    let mut defs: Vec<(usize, Span, NodeId, u64)> = Vec::new();
    let mut fetches: HashMap<NodeId, u64> = HashMap::new();
    for s in sites(&g.gets, p.span) {
        if cut_of(s.pos).is_some() {
            continue;
        }
        let Some(node) = g.get(s.node) else {
            continue;
        };
        let d = node.span;
        if let Some(i) = cut_of(d.start)
            && d.end <= top[i].end
        {
            let f = fetches.entry(s.node).or_insert(0);
            if *f == 0 {
                defs.push((i, d, s.node, s.pos));
            }
            *f += 1;
        }
    }
    defs.sort_by_key(|&(i, d, n, _)| (i, d.start, std::cmp::Reverse(d.end), n));
    let mut out = Vec::with_capacity(defs.len());
    let mut end = 0u64;
    for (i, d, n, first_fetch) in defs {
        if d.start < end {
            continue;
        }
        end = d.end;
        out.push(Hoist {
            cut: top[i].start,
            node: n,
            fetches: fetches.get(&n).copied().unwrap_or(0),
            first_fetch,
        });
    }
    out
}
