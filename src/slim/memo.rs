//! Memo keys in a rewritten pickle: which key each store gets, so a drop never pays for its
//! own bookkeeping. Explicit keys (PUT/BINPUT/LONG_BINPUT) are kept and re-emitted definitions
//! take freed lower keys; MEMOIZE keys follow the output (MEMOIZE is the smallest store, and
//! `pickletools` refuses a key stored twice, so a low key cannot be taken over).

use std::collections::BTreeSet;

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

fn sites(all: &[crate::pickle::MemoSite], span: Span) -> &[crate::pickle::MemoSite] {
    let a = all.partition_point(|s| s.pos < span.start);
    let b = all.partition_point(|s| s.pos < span.end);
    &all[a..b]
}
