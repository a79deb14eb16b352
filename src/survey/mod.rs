//! `survey`: every context under some roots read with the report code, in parallel, one shard
//! of the sorted list at a time if asked, into one mergeable document.

pub mod doc;
pub mod shard;
pub mod text;
pub mod walk;

use std::collections::BTreeSet;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::context::{FileRole, resolve};
use crate::report::{ClassReport, Report};
use crate::slim::Rules;

pub use doc::{ClassSums, ContextRow, FleetClass, LargestStage, MergeError, Survey, Totals};
pub use shard::{Shard, ShardError};
pub use walk::{Found, Unit, WalkError, find};

/// How to survey.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Rules for `after_bytes`, and how the document names them.
    pub rules: Option<(&'a Rules, &'a str)>,
    pub shard: Shard,
    /// Contexts read at once (0: one per core).
    pub jobs: usize,
}

/// Why a survey could not run.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("could not start {jobs} worker thread(s): {message}")]
    Pool { jobs: usize, message: String },
}

/// Walks `roots`, takes this shard's contexts and reads them on `jobs` threads;
/// `started(total)` once the list is known, then `done(path)` after each context.
pub fn survey(
    roots: &[PathBuf],
    opts: &Options,
    started: &dyn Fn(usize),
    done: &(dyn Fn(&str) + Sync),
) -> Result<Survey, SurveyError> {
    let found = find(roots)?;
    let mine: Vec<&Unit> = found
        .units
        .iter()
        .enumerate()
        .filter(|(i, _)| opts.shard.takes(*i))
        .map(|(_, u)| u)
        .collect();
    started(mine.len());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .map_err(|e| SurveyError::Pool {
            jobs: opts.jobs,
            message: e.to_string(),
        })?;
    let threads = pool.current_num_threads();
    // Fewer contexts than threads: the spare threads read files of one context side by side.
    let per_context = threads.div_ceil(mine.len().max(1)).max(1);
    let rules = opts.rules.map(|(r, _)| r);
    let scanned: Vec<(ContextRow, Vec<ClassReport>)> = pool.install(|| {
        mine.par_iter()
            .map(|u| {
                let r = scan(u, rules, per_context);
                done(&r.0.path);
                r
            })
            .collect()
    });
    let mut classes = ClassSums::default();
    let mut rows = Vec::with_capacity(scanned.len());
    for (row, cls) in scanned {
        classes.add_context(&cls);
        rows.push(row);
    }
    Ok(Survey::assemble(
        roots.iter().map(|r| r.display().to_string()).collect(),
        opts.rules.map(|(_, label)| label.to_string()),
        opts.shard,
        rows,
        classes,
        found.notes,
    ))
}

/// Reads one context with the report code (`workers` files at a time): its row and its
/// class.attr groups.
pub fn scan(unit: &Unit, rules: Option<&Rules>, workers: usize) -> (ContextRow, Vec<ClassReport>) {
    let path = unit.path.display().to_string();
    let source = match resolve(&unit.path, None) {
        Ok(s) => s,
        Err(e) => {
            let name = unit
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let row = ContextRow {
                path,
                name,
                stages: 0,
                files: 0,
                bytes: 0,
                after_bytes: rules.map(|_| 0),
                reread_bytes: 0,
                after_reread_bytes: rules.map(|_| 0),
                largest_stage: None,
                errors: vec![e.to_string()],
                notes: Vec::new(),
            };
            return (row, Vec::new());
        }
    };
    let (report, _) = Report::stream_on(&source, 0, rules, workers, &|_, _| {});
    // The report keeps the source's file order.
    let stage_files = || {
        source
            .files
            .iter()
            .zip(&report.files)
            .filter(|(s, _)| s.role != FileRole::Context)
            .map(|(_, f)| f)
    };
    let stages: BTreeSet<u32> = stage_files().filter_map(|f| f.stage).collect();
    let largest_stage = stage_files()
        .filter_map(|f| f.stage.map(|s| (f, s)))
        .max_by(|(a, sa), (b, sb)| a.bytes.cmp(&b.bytes).then(sb.cmp(sa)))
        .map(|(f, stage)| LargestStage {
            stage,
            task: f.task.clone(),
            bytes: f.bytes,
        });
    let row = ContextRow {
        path,
        name: source.name.clone(),
        stages: stages.len() as u64,
        files: report.files.len() as u64,
        bytes: report.total_bytes,
        after_bytes: report.after_bytes,
        reread_bytes: report.reread_bytes,
        after_reread_bytes: report.after_reread_bytes,
        largest_stage,
        errors: report
            .files
            .iter()
            .filter_map(|f| f.error.clone())
            .collect(),
        notes: source.notes.clone(),
    };
    (row, report.classes)
}
