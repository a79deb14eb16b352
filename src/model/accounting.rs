//! The one class.attr accounting: bytes counted once when spans nest (the outermost instance
//! owns them), removals attributed to the outermost cut, and per-file groups summed over files
//! the same way for report, diff, suggest, slim and the explorer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::pickle::Span;

use super::Model;
use super::groups::{Groups, retained_budget};
use super::sizes::kept_within;

/// The outermost of `owned` spans: a span nested in (or overlapping) an earlier, wider one is
/// dropped or clipped to what lies past it. The result is disjoint and sorted by start.
pub fn outermost<T: Copy>(mut owned: Vec<(Span, T)>) -> Vec<(Span, T)> {
    owned.retain(|(s, _)| !s.is_empty());
    owned.sort_by_key(|(s, _)| (s.start, std::cmp::Reverse(s.end)));
    let mut out: Vec<(Span, T)> = Vec::with_capacity(owned.len());
    let mut end = 0u64;
    for (s, t) in owned {
        if s.end <= end {
            continue;
        }
        let start = s.start.max(end);
        end = s.end;
        out.push((Span { start, end: s.end }, t));
    }
    out
}

/// What cutting every span of `owned` together removes, attributed per owner (`0..n`): each
/// byte counts once, for the outermost span holding it, and definitions that code outside the
/// cut still references through the memo (which the writer keeps by re-emitting them) are
/// subtracted from the owner whose span holds them. The sum is the retained size of the whole
/// cut; a file's before − after differs from it only by memo and frame bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    pub by_owner: Vec<u64>,
    /// Inline bytes of each owner's outermost spans (before subtracting kept definitions).
    pub inline_by_owner: Vec<u64>,
    /// The kept definitions could not be sized within the budget: `by_owner` is inline.
    pub approximate: bool,
}

impl Removal {
    pub fn total(&self) -> u64 {
        self.by_owner.iter().sum()
    }
}

/// Attributes the removal of `owned` spans to owners `0..n` (see [`Removal`]).
pub fn removal(m: &Model, owned: Vec<(Span, usize)>, n: usize) -> Removal {
    let top = outermost(owned);
    let cuts: Vec<Span> = top.iter().map(|(s, _)| *s).collect();
    let g = m.graph();
    let mut budget = retained_budget(g);
    let (kept, approximate) = match kept_within(g, &m.refs, &cuts, &mut budget) {
        Some(k) => (k, false),
        None => (Vec::new(), true),
    };
    let mut r = Removal {
        by_owner: vec![0; n],
        inline_by_owner: vec![0; n],
        approximate,
    };
    let mut k = 0;
    for (s, owner) in top {
        let mut bytes = s.len();
        r.inline_by_owner[owner] += bytes;
        while k < kept.len() && kept[k].end <= s.start {
            k += 1;
        }
        let mut j = k;
        while j < kept.len() && kept[j].start < s.end {
            let lo = kept[j].start.max(s.start);
            let hi = kept[j].end.min(s.end);
            bytes = bytes.saturating_sub(hi.saturating_sub(lo));
            j += 1;
        }
        r.by_owner[owner] += bytes;
    }
    r
}

/// One class.attr over one or several files: instances, bytes (the union of the instances'
/// spans in each file, summed over files), retained bytes, and the stages it occurs in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct ClassTotal {
    pub class: String,
    pub attr: String,
    pub instances: u64,
    pub bytes: u64,
    #[serde(rename = "retained_bytes")]
    pub retained: u64,
    pub stages: Vec<u32>,
    /// Bytes of the files where this group is a pass-through container (see
    /// [`super::groups::PASS_THROUGH`]).
    #[serde(skip)]
    pub pass_through_bytes: u64,
}

impl ClassTotal {
    /// A pass-through container over the files together: most of its bytes are in files
    /// where it is one. Reports fold it away; its figures stay the same everywhere.
    pub fn is_pass_through(&self) -> bool {
        self.pass_through_bytes * 2 > self.bytes
    }
}

/// class.attr totals summed over files.
#[derive(Debug, Clone, Default)]
pub struct ClassTotals {
    map: BTreeMap<(String, String), ClassTotal>,
}

impl ClassTotals {
    /// Adds one file's groups.
    pub fn add(&mut self, groups: &Groups, stage: Option<u32>) {
        for g in &groups.groups {
            self.add_one(&ClassTotal {
                class: g.class.clone(),
                attr: g.attr.clone(),
                instances: g.instances,
                bytes: g.bytes,
                retained: g.retained,
                stages: stage.into_iter().collect(),
                pass_through_bytes: if g.pass_through { g.bytes } else { 0 },
            });
        }
    }

    fn add_one(&mut self, c: &ClassTotal) {
        let e = self
            .map
            .entry((c.class.clone(), c.attr.clone()))
            .or_insert_with(|| ClassTotal {
                instances: 0,
                bytes: 0,
                retained: 0,
                stages: Vec::new(),
                pass_through_bytes: 0,
                ..c.clone()
            });
        e.pass_through_bytes += c.pass_through_bytes;
        e.instances += c.instances;
        e.bytes += c.bytes;
        e.retained += c.retained;
        for s in &c.stages {
            if !e.stages.contains(s) {
                e.stages.push(*s);
            }
        }
    }

    /// Adds another set of totals (another file or files).
    pub fn merge(&mut self, other: &ClassTotals) {
        for c in other.map.values() {
            self.add_one(c);
        }
    }

    pub fn get(&self, class: &str, attr: &str) -> Option<&ClassTotal> {
        self.map.get(&(class.to_string(), attr.to_string()))
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every total, in (class, attr) order.
    pub fn iter(&self) -> impl Iterator<Item = &ClassTotal> {
        self.map.values()
    }

    /// Largest retained first (then inline, class, attr), stages sorted.
    pub fn sorted(self) -> Vec<ClassTotal> {
        let mut v: Vec<ClassTotal> = self.map.into_values().collect();
        v.sort_by(|a, b| {
            b.retained
                .cmp(&a.retained)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.class.cmp(&b.class))
                .then(a.attr.cmp(&b.attr))
        });
        for c in &mut v {
            c.stages.sort_unstable();
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(start: u64, end: u64) -> Span {
        Span { start, end }
    }

    #[test]
    fn nested_spans_count_once_at_the_outermost() {
        let top = outermost(vec![(sp(10, 20), 1), (sp(0, 100), 0), (sp(50, 60), 2)]);
        assert_eq!(top, vec![(sp(0, 100), 0)]);
        let top = outermost(vec![(sp(0, 10), 0), (sp(5, 15), 1), (sp(20, 30), 1)]);
        assert_eq!(top, vec![(sp(0, 10), 0), (sp(10, 15), 1), (sp(20, 30), 1)]);
    }
}
