//! Slimming: rules, per-file plans, the exact what-if (counting writer) and in-place saves.

mod memo;
pub mod plan;
pub mod prefilter;
pub mod rules;
pub mod save;
pub mod writable;
pub mod write;

pub use plan::{Hit, NotRemovable, Plan, cut_list};
pub use rules::{PROTECTED, Rule, Rules, RulesError, glob_match};
pub use save::{SaveError, SaveOptions, Saved, save_in_place, sync_dirs};
pub use writable::why_not_writable;
pub use write::{Counter, RewriteError, rewrite};

use crate::model::Model;
use crate::pickle::Span;

/// Exact size of the file after cutting `cuts` (the dry-run).
pub fn predicted_size(m: &Model, cuts: &[Span]) -> Result<u64, RewriteError> {
    let mut c = Counter::default();
    rewrite(m.data(), m.graph(), cuts, &mut c)
}

/// What slimming one file would do (or did).
#[derive(Debug, Clone)]
pub struct FileSlim {
    pub before: u64,
    pub after: u64,
    pub plan: Plan,
    /// Bytes each hit saves on its own (before − after with only its cuts; negative where the
    /// format forces the file to grow): exact, except for the hits flagged in `hit_estimated`.
    pub hit_saved: Vec<i64>,
    /// True where `hit_saved` is the group's retained size instead of an exact rewrite: each
    /// exact figure costs a full counting pass, so a file with thousands of hits (say a rule on
    /// `*` and a file of thousands of distinct classes) gets exact figures for its largest
    /// hits only, within [`EXACT_HIT_BUDGET`].
    pub hit_estimated: Vec<bool>,
}

/// Opcodes the per-hit exact sizing may process in total (at least 64 hits are always exact).
pub const EXACT_HIT_BUDGET: u64 = 50_000_000;

/// Plans and measures slimming `m` with `rules` (nothing is written).
pub fn what_if(m: &Model, rules: &Rules) -> Result<FileSlim, RewriteError> {
    let plan = Plan::build(m, rules);
    let before = m.doc.len();
    let after = predicted_size(m, &plan.cuts)?;
    let n = plan.hits.len();
    let mut hit_saved = vec![0; n];
    let mut hit_estimated = vec![false; n];
    if n == 1 {
        hit_saved[0] = before as i64 - after as i64;
    } else {
        // Largest first, so the exact figures go where they matter.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(plan.hits[i].bytes));
        let ops = m.graph().op_count.max(1);
        let mut exact_left = (EXACT_HIT_BUDGET / ops).max(64);
        let retained: std::collections::HashMap<(&str, &str), u64> = if n as u64 > exact_left {
            m.groups()
                .groups
                .iter()
                .map(|g| ((g.class.as_str(), g.attr.as_str()), g.retained))
                .collect()
        } else {
            Default::default()
        };
        for i in order {
            let h = &plan.hits[i];
            if exact_left > 0 {
                exact_left -= 1;
                let cuts = plan::cut_list(h.spans.clone());
                hit_saved[i] = before as i64 - predicted_size(m, &cuts)? as i64;
            } else {
                hit_estimated[i] = true;
                hit_saved[i] = retained
                    .get(&(h.class.as_str(), h.attr.as_str()))
                    .copied()
                    .unwrap_or(h.bytes) as i64;
            }
        }
    }
    Ok(FileSlim {
        before,
        after,
        plan,
        hit_saved,
        hit_estimated,
    })
}
