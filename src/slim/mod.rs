//! Slimming: rules, per-file plans, the exact what-if (counting writer) and in-place saves.

pub mod plan;
pub mod rules;
pub mod save;
pub mod write;

pub use plan::{Hit, NotRemovable, Plan, cut_list};
pub use rules::{PROTECTED, Rule, Rules, RulesError, glob_match};
pub use save::{SaveError, SaveOptions, Saved, save_in_place};
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
    /// Exact bytes each hit saves on its own (before − after with only its cuts).
    pub hit_saved: Vec<u64>,
}

/// Plans and measures slimming `m` with `rules` (nothing is written).
pub fn what_if(m: &Model, rules: &Rules) -> Result<FileSlim, RewriteError> {
    let plan = Plan::build(m, rules);
    let before = m.doc.len();
    let after = predicted_size(m, &plan.cuts)?;
    let mut hit_saved = Vec::with_capacity(plan.hits.len());
    for h in &plan.hits {
        let saved = if plan.hits.len() == 1 {
            before - after.min(before)
        } else {
            let cuts = plan::cut_list(h.spans.clone());
            before.saturating_sub(predicted_size(m, &cuts)?)
        };
        hit_saved.push(saved);
    }
    Ok(FileSlim {
        before,
        after,
        plan,
        hit_saved,
    })
}
