//! The survey document (schema version 1): per-context rows, totals and fleet-wide class.attr
//! groups, built so that shard documents merge into exactly the unsharded one.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::report::ClassReport;

use super::shard::Shard;

/// Version of the JSON document; a reader refuses others.
pub const SCHEMA_VERSION: u32 = 1;

/// A survey of every context under some roots (or one shard of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    pub schema_version: u32,
    /// The roots as given on the command line.
    pub roots: Vec<String>,
    /// The rules `after_bytes` is computed with (`preset NAME` or `rules FILE`), if any.
    pub rules: Option<String>,
    /// `K/N`; `1/1` for an unsharded run and for merged shards.
    pub shard: String,
    /// Sorted by path.
    pub contexts: Vec<ContextRow>,
    pub totals: Totals,
    /// Every class.attr group of the surveyed contexts (pass-through containers folded),
    /// largest retained size first. Complete, so that shards add up exactly.
    pub classes: Vec<FleetClass>,
    /// Directories the walk skipped (unreadable, symlink loops), sorted.
    pub notes: Vec<String>,
}

/// One context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRow {
    /// The `.context` file, or the `saved_state/` directory of a run without one.
    pub path: String,
    pub name: String,
    /// Distinct stage numbers among its stage files.
    pub stages: u64,
    /// Files read (the `.context` and every stage pickle).
    pub files: u64,
    pub bytes: u64,
    /// Bytes after slimming with the rules (only with rules).
    pub after_bytes: Option<u64>,
    /// Bytes one run of the pipeline reads back (the report's `reread_bytes`: stage k of S
    /// read S − k + 1 times).
    pub reread_bytes: u64,
    /// The same after slimming with the rules (only with rules).
    pub after_reread_bytes: Option<u64>,
    /// The largest stage file.
    pub largest_stage: Option<LargestStage>,
    /// One line per file that could not be read (file, problem).
    pub errors: Vec<String>,
    /// Missing or extra stage files and similar remarks.
    pub notes: Vec<String>,
}

/// The largest stage file of a context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargestStage {
    pub stage: u32,
    pub task: Option<String>,
    pub bytes: u64,
}

/// Sums over the contexts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub contexts: u64,
    pub files: u64,
    pub bytes: u64,
    pub after_bytes: Option<u64>,
    pub reread_bytes: u64,
    pub after_reread_bytes: Option<u64>,
    pub errors: u64,
}

impl Totals {
    /// The one place totals are computed.
    pub fn of(contexts: &[ContextRow]) -> Totals {
        let any_after = contexts.iter().any(|c| c.after_bytes.is_some());
        Totals {
            contexts: contexts.len() as u64,
            files: contexts.iter().map(|c| c.files).sum(),
            bytes: contexts.iter().map(|c| c.bytes).sum(),
            after_bytes: any_after.then(|| {
                contexts
                    .iter()
                    .map(|c| c.after_bytes.unwrap_or(c.bytes))
                    .sum()
            }),
            reread_bytes: contexts.iter().map(|c| c.reread_bytes).sum(),
            after_reread_bytes: any_after.then(|| {
                contexts
                    .iter()
                    .map(|c| c.after_reread_bytes.unwrap_or(c.reread_bytes))
                    .sum()
            }),
            errors: contexts.iter().map(|c| c.errors.len() as u64).sum(),
        }
    }
}

/// One class.attr group summed over contexts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetClass {
    pub class: String,
    pub attr: String,
    /// Contexts it appears in.
    pub contexts: u64,
    pub instances: u64,
    /// Inline bytes of every instance.
    pub bytes: u64,
    /// Sum of each file's retained bytes for the group.
    pub retained_bytes: u64,
}

/// Adds class.attr groups up by (class, attr).
#[derive(Debug, Default)]
pub struct ClassSums {
    by_key: BTreeMap<(String, String), FleetClass>,
}

impl ClassSums {
    pub fn add(&mut self, c: &FleetClass) {
        let e = self
            .by_key
            .entry((c.class.clone(), c.attr.clone()))
            .or_insert_with(|| FleetClass {
                contexts: 0,
                instances: 0,
                bytes: 0,
                retained_bytes: 0,
                ..c.clone()
            });
        e.contexts += c.contexts;
        e.instances += c.instances;
        e.bytes += c.bytes;
        e.retained_bytes += c.retained_bytes;
    }

    /// Adds the groups of one context's report (which appear in it once each).
    pub fn add_context(&mut self, classes: &[ClassReport]) {
        for c in classes {
            self.add(&FleetClass {
                class: c.class.clone(),
                attr: c.attr.clone(),
                contexts: 1,
                instances: c.instances,
                bytes: c.bytes,
                retained_bytes: c.retained,
            });
        }
    }

    /// Largest retained first; ties by inline bytes, then name (a total order).
    pub fn into_sorted(self) -> Vec<FleetClass> {
        let mut v: Vec<FleetClass> = self.by_key.into_values().collect();
        v.sort_by(|a, b| {
            b.retained_bytes
                .cmp(&a.retained_bytes)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.class.cmp(&b.class))
                .then(a.attr.cmp(&b.attr))
        });
        v
    }
}

impl Survey {
    /// Assembles a document from per-context rows (any order) and their class sums.
    pub fn assemble(
        roots: Vec<String>,
        rules: Option<String>,
        shard: Shard,
        mut contexts: Vec<ContextRow>,
        classes: ClassSums,
        notes: Vec<String>,
    ) -> Survey {
        contexts.sort_by(|a, b| a.path.cmp(&b.path));
        let notes: BTreeSet<String> = notes.into_iter().collect();
        Survey {
            schema_version: SCHEMA_VERSION,
            roots,
            rules,
            shard: shard.to_string(),
            totals: Totals::of(&contexts),
            contexts,
            classes: classes.into_sorted(),
            notes: notes.into_iter().collect(),
        }
    }

    /// Combines the documents of shards 1..N of one survey into the document an unsharded
    /// run gives.
    pub fn merge(docs: Vec<Survey>) -> Result<Survey, MergeError> {
        let Some(first) = docs.first() else {
            return Err(MergeError::Empty);
        };
        let roots = first.roots.clone();
        let rules = first.rules.clone();
        let mut n_expected: Option<u32> = None;
        let mut ks = BTreeSet::new();
        for (i, d) in docs.iter().enumerate() {
            if d.schema_version != SCHEMA_VERSION {
                return Err(MergeError::Version {
                    index: i + 1,
                    found: d.schema_version,
                });
            }
            if d.roots != roots || d.rules != rules {
                return Err(MergeError::Different { index: i + 1 });
            }
            let s = Shard::parse(&d.shard).map_err(|_| MergeError::BadShard {
                index: i + 1,
                shard: d.shard.clone(),
            })?;
            if *n_expected.get_or_insert(s.n) != s.n {
                return Err(MergeError::MixedN { index: i + 1 });
            }
            if !ks.insert(s.k) {
                return Err(MergeError::Twice { shard: s });
            }
        }
        let n = n_expected.unwrap_or(1);
        if let Some(k) = (1..=n).find(|k| !ks.contains(k)) {
            return Err(MergeError::Missing {
                shard: Shard { k, n },
            });
        }
        let mut contexts = Vec::new();
        let mut classes = ClassSums::default();
        let mut notes = Vec::new();
        let mut paths = BTreeSet::new();
        for d in docs {
            for c in &d.classes {
                classes.add(c);
            }
            for c in d.contexts {
                if !paths.insert(c.path.clone()) {
                    return Err(MergeError::Overlap { path: c.path });
                }
                contexts.push(c);
            }
            notes.extend(d.notes);
        }
        Ok(Survey::assemble(
            roots,
            rules,
            Shard::ALL,
            contexts,
            classes,
            notes,
        ))
    }
}

/// Why shard documents could not be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    #[error("nothing to merge")]
    Empty,
    #[error("document {index}: schema_version {found}, this picklescope reads {SCHEMA_VERSION}")]
    Version { index: usize, found: u32 },
    #[error("document {index}: other roots or rules than the first; not shards of one survey")]
    Different { index: usize },
    #[error("document {index}: shard {shard:?} is not K/N")]
    BadShard { index: usize, shard: String },
    #[error("document {index}: another shard count N than the first")]
    MixedN { index: usize },
    #[error("shard {shard} given twice")]
    Twice { shard: Shard },
    #[error("shard {shard} is missing; merge needs all N shards")]
    Missing { shard: Shard },
    #[error("{path} is in two shards")]
    Overlap { path: String },
}
