//! `suggest`: class.attr groups worth marking transient, each with its exact saving if marked
//! alone (a dry run through the writer slim uses), nested candidates folded under the one
//! holding them, and the exact saving of the shown candidates marked together.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::model::{ClassTotals, Model, merge_spans};
use crate::pickle::Span;
use crate::slim::{PROTECTED, Plan, Rules, predicted_size};
use crate::workspace::Workspace;

/// Groups smaller than this (over all files) are not worth a rule.
pub const MIN_BYTES: u64 = 4096;

/// A candidate with at least this share of its bytes inside a higher-ranked one is folded
/// under it.
pub const FOLD_SHARE: f64 = 0.9;

/// Attributes that identify a stage's result: a group holding them holds whole results
/// (`ResultsList._ResultsList__results`), which no rule should drop.
const RESULT_IDENTITY: &[&str] = &["stage_number", "pipeline_casa_task"];

/// A candidate folded under a higher-ranked one: 90% of its bytes or more lie inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Folded {
    pub class: String,
    pub attr: String,
    pub instances: u64,
    /// Exact bytes saved over all files if this group alone were marked.
    pub saving_bytes: u64,
    /// Its bytes that lie inside the candidate it is folded under.
    pub inside_bytes: u64,
    pub stages: Vec<u32>,
}

/// A class.attr group worth marking transient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Candidate {
    pub class: String,
    pub attr: String,
    pub instances: u64,
    /// Exact bytes saved over all files if this group alone were marked (before − after of a
    /// dry run, as `slim --dry-run` computes it).
    pub saving_bytes: u64,
    /// The union of its instances' spans, summed over files (as `report` lists it).
    pub bytes: u64,
    pub retained_bytes: u64,
    /// Its bytes that lie inside candidates ranked above it (their savings overlap by about
    /// this much).
    pub overlap_bytes: u64,
    pub stages: Vec<u32>,
    /// Candidates lying (at least 90%) inside this one: marking this one removes them too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub folded: Vec<Folded>,
}

/// What `suggest` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Suggestion {
    /// Bytes of every file read.
    pub total_bytes: u64,
    pub candidates: Vec<Candidate>,
    /// Exact bytes saved when every candidate is marked together (one dry run: overlaps
    /// counted once).
    pub combined_saving_bytes: u64,
}

impl Suggestion {
    /// Rules marking every candidate (the folded ones go with them).
    pub fn rules(&self) -> Rules {
        let mut r = Rules::default();
        for c in &self.candidates {
            r.add(&c.class, &c.attr);
        }
        r
    }
}

/// Merged spans per file: (entry index, spans sorted and disjoint).
type FileSpans = Vec<(usize, Vec<Span>)>;

/// One pool member: totals and its merged spans per file.
struct Pool {
    class: String,
    attr: String,
    instances: u64,
    bytes: u64,
    retained: u64,
    stages: Vec<u32>,
    spans: FileSpans,
    saving: u64,
}

/// Exact bytes saved in `m` by cutting what `rules` mark (0 when the rewrite fails).
fn saving(m: &Model, rules: &Rules) -> u64 {
    let plan = Plan::build(m, rules);
    if plan.is_noop() {
        return 0;
    }
    predicted_size(m, &plan.cuts)
        .map(|after| m.doc.len().saturating_sub(after))
        .unwrap_or(0)
}

/// Bytes of `a` (sorted, disjoint) lying inside `b` (sorted, disjoint).
fn inside(a: &[Span], b: &[Span]) -> u64 {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let lo = a[i].start.max(b[j].start);
        let hi = a[i].end.min(b[j].end);
        n += hi.saturating_sub(lo);
        if a[i].end <= b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    n
}

/// Bytes of `a` inside `b`, over files.
fn inside_files(a: &FileSpans, b: &FileSpans) -> u64 {
    a.iter()
        .filter_map(|(f, sa)| b.iter().find(|(g, _)| g == f).map(|(_, sb)| inside(sa, sb)))
        .sum()
}

/// Ranks the groups of `ws`: the `top` largest exact savings, a candidate lying (90% or more)
/// inside a higher-ranked one folded under it.
pub fn suggest(ws: &Workspace, top: usize) -> Suggestion {
    let models: Vec<(usize, &Model, Option<u32>)> = ws
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| e.model.as_ref().map(|m| (i, m, e.stage())))
        .collect();
    let mut totals = ClassTotals::default();
    let mut spans: BTreeMap<(String, String), FileSpans> = BTreeMap::new();
    let mut holds_results: BTreeMap<(String, String), bool> = BTreeMap::new();
    for &(i, m, stage) in &models {
        let groups = m.groups();
        totals.add(groups, stage);
        let mut per: Vec<Vec<Span>> = vec![Vec::new(); groups.groups.len()];
        let mut identity: Vec<u64> = Vec::new();
        for a in &groups.attrs {
            per[a.group].push(a.row.span);
            if RESULT_IDENTITY.contains(&groups.groups[a.group].attr.as_str()) {
                identity.push(a.row.span.start);
            }
        }
        identity.sort_unstable();
        for (g, s) in groups.groups.iter().zip(per) {
            let merged = merge_spans(s);
            let key = (g.class.clone(), g.attr.clone());
            let holds = merged.iter().any(|s| {
                let k = identity.partition_point(|&x| x < s.start);
                identity.get(k).is_some_and(|&x| x < s.end)
            });
            *holds_results.entry(key.clone()).or_default() |= holds;
            spans.entry(key).or_default().push((i, merged));
        }
    }
    let mut pool: Vec<Pool> = totals
        .iter()
        .filter(|t| {
            t.bytes >= MIN_BYTES
                && !PROTECTED.contains(&t.attr.as_str())
                && !holds_results
                    .get(&(t.class.clone(), t.attr.clone()))
                    .copied()
                    .unwrap_or(false)
        })
        .map(|t| Pool {
            class: t.class.clone(),
            attr: t.attr.clone(),
            instances: t.instances,
            bytes: t.bytes,
            retained: t.retained,
            stages: t.stages.clone(),
            spans: spans
                .remove(&(t.class.clone(), t.attr.clone()))
                .unwrap_or_default(),
            saving: 0,
        })
        .collect();
    // Exact dry runs for the largest by retained size (a group's saving alone is its
    // retained size up to memo bookkeeping, so the order past them cannot change much).
    pool.sort_by(|a, b| b.retained.cmp(&a.retained).then(a.class.cmp(&b.class)));
    pool.truncate(top.saturating_mul(4).saturating_add(8));
    let by_entry: BTreeMap<usize, &Model> = models.iter().map(|&(i, m, _)| (i, m)).collect();
    let jobs: Vec<(usize, usize)> = pool
        .iter()
        .enumerate()
        .flat_map(|(p, c)| c.spans.iter().map(move |(f, _)| (p, *f)))
        .collect();
    let savings: Vec<(usize, u64)> = jobs
        .par_iter()
        .map(|&(p, f)| {
            let mut r = Rules::default();
            r.add(&pool[p].class, &pool[p].attr);
            (p, by_entry.get(&f).map_or(0, |m| saving(m, &r)))
        })
        .collect();
    for (p, s) in savings {
        pool[p].saving += s;
    }
    pool.retain(|c| c.saving > 0);
    pool.sort_by(|a, b| {
        b.saving
            .cmp(&a.saving)
            .then(a.class.cmp(&b.class))
            .then(a.attr.cmp(&b.attr))
    });
    let mut shown: Vec<(Candidate, FileSpans)> = Vec::new();
    let mut above: FileSpans = Vec::new();
    for c in pool {
        // Folded under the first row above holding 90% of it.
        let holder = shown.iter_mut().find_map(|(h, hs)| {
            let n = inside_files(&c.spans, hs);
            (n as f64 >= FOLD_SHARE * c.bytes.max(1) as f64).then_some((n, h))
        });
        if let Some((inside_bytes, h)) = holder {
            h.folded.push(Folded {
                class: c.class,
                attr: c.attr,
                instances: c.instances,
                saving_bytes: c.saving,
                inside_bytes,
                stages: c.stages,
            });
            continue;
        }
        if shown.len() >= top {
            // Past the top: only folded ones are still listed.
            continue;
        }
        let overlap_bytes = inside_files(&c.spans, &above);
        above = union_by_file([&above, &c.spans].into_iter());
        shown.push((
            Candidate {
                class: c.class,
                attr: c.attr,
                instances: c.instances,
                saving_bytes: c.saving,
                bytes: c.bytes,
                retained_bytes: c.retained,
                overlap_bytes,
                stages: c.stages,
                folded: Vec::new(),
            },
            c.spans,
        ));
    }
    let candidates: Vec<Candidate> = shown.into_iter().map(|(c, _)| c).collect();
    let mut s = Suggestion {
        total_bytes: ws.total_bytes(),
        candidates,
        combined_saving_bytes: 0,
    };
    let rules = s.rules();
    s.combined_saving_bytes = if rules.is_empty() {
        0
    } else {
        models.par_iter().map(|&(_, m, _)| saving(m, &rules)).sum()
    };
    s
}

/// The union of several candidates' spans, per file.
fn union_by_file<'a>(sets: impl Iterator<Item = &'a FileSpans>) -> FileSpans {
    let mut by: BTreeMap<usize, Vec<Span>> = BTreeMap::new();
    for set in sets {
        for (f, s) in set {
            by.entry(*f).or_default().extend(s.iter().copied());
        }
    }
    by.into_iter().map(|(f, s)| (f, merge_spans(s))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(v: &[(u64, u64)]) -> Vec<Span> {
        v.iter().map(|&(start, end)| Span { start, end }).collect()
    }

    #[test]
    fn inside_counts_each_shared_byte_once() {
        let a = sp(&[(0, 10), (20, 30), (40, 50)]);
        let b = sp(&[(5, 25), (45, 100)]);
        assert_eq!(inside(&a, &b), 5 + 5 + 5);
        assert_eq!(inside(&b, &a), 15);
        assert_eq!(inside(&a, &[]), 0);
        assert_eq!(inside(&a, &a), 30);
    }
}
