//! Slimming: rules, per-file plans, the exact what-if (counting writer) and in-place saves.

mod memo;
pub mod plan;
pub mod prefilter;
pub mod presets;
pub mod rules;
pub mod save;
pub mod writable;
pub mod write;

pub use plan::{Hit, NotRemovable, Plan, cut_list};
pub use rules::{PROTECTED, Rule, Rules, RulesError, glob_match};
pub use save::{SaveError, SaveOptions, Saved, save_in_place, sync_dirs};
pub use writable::why_not_writable;
pub use write::{Counter, RewriteError, rewrite, rewrite_file};

use crate::model::{Model, Removal, removal};
use crate::pickle::Span;

/// Exact size of the file after cutting `cuts` (the dry-run).
pub fn predicted_size(m: &Model, cuts: &[Span]) -> Result<u64, RewriteError> {
    let mut c = Counter::default();
    // Counting needs no payload bytes: the parsed bytes give the same count without reading
    // what a large file left on disk.
    rewrite(m.data(), m.graph(), cuts, &mut c)
}

/// What slimming one file would do (or did).
#[derive(Debug, Clone)]
pub struct FileSlim {
    pub before: u64,
    pub after: u64,
    pub plan: Plan,
    /// What each hit removes (indexed like `plan.hits`): every byte counted once, for the
    /// outermost removed attribute holding it (a `view` inside a removed `components` counts
    /// for `components`), minus the definitions the writer keeps because surviving code still
    /// references them. These add up to `before − after − bookkeeping`.
    pub removed: Removal,
    /// `before − after − Σ removed` (signed): memo renumbering, re-emitted memo fetches and
    /// re-framing. Zero or a few bytes per kept definition.
    pub bookkeeping: i64,
}

impl FileSlim {
    /// Bytes removed by hit `i` (see [`FileSlim::removed`]).
    pub fn hit_removed(&self, i: usize) -> u64 {
        self.removed.by_owner.get(i).copied().unwrap_or(0)
    }
}

/// Plans and measures slimming `m` with `rules` (nothing is written).
pub fn what_if(m: &Model, rules: &Rules) -> Result<FileSlim, RewriteError> {
    let plan = Plan::build(m, rules);
    let before = m.doc.len();
    let after = predicted_size(m, &plan.cuts)?;
    let owned: Vec<(Span, usize)> = plan
        .hits
        .iter()
        .enumerate()
        .flat_map(|(i, h)| h.spans.iter().map(move |s| (*s, i)))
        .collect();
    let removed = removal(m, owned, plan.hits.len());
    let bookkeeping = before as i64 - after as i64 - removed.total() as i64;
    Ok(FileSlim {
        before,
        after,
        plan,
        removed,
        bookkeeping,
    })
}
