//! Finds every context under some roots: `.context` files and the `saved_state/` directories
//! no context claims, without following symlink loops or stopping at unreadable directories.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::context::discover::{FileRole, context_refs, role_of};
use crate::model::Model;

/// One context to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unit {
    /// The `.context` file, or the `saved_state/` directory of a run without one.
    pub path: PathBuf,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Found {
    /// Sorted by path, each context once (aliases through symlinks removed).
    pub units: Vec<Unit>,
    /// Directories skipped (unreadable, symlink loops, dangling links), one line each, sorted.
    pub notes: Vec<String>,
}

/// Why a walk could not start.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// Walks `roots` (following symlinks, never into a loop) and lists the contexts.
pub fn find(roots: &[PathBuf]) -> Result<Found, WalkError> {
    let mut contexts: Vec<PathBuf> = Vec::new();
    let mut saved: Vec<PathBuf> = Vec::new();
    let mut notes: BTreeSet<String> = BTreeSet::new();
    for root in roots {
        if let Err(e) = std::fs::metadata(root) {
            return Err(WalkError {
                path: root.clone(),
                message: e.to_string(),
            });
        }
        let mut it = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        while let Some(entry) = it.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    notes.insert(walk_note(&e));
                    continue;
                }
            };
            let ft = entry.file_type();
            let path = entry.path();
            if ft.is_file() && role_of(path) == FileRole::Context {
                contexts.push(path.to_path_buf());
            } else if ft.is_dir() && entry.file_name() == "saved_state" {
                saved.push(path.to_path_buf());
                // Only stage pickles live below; a fleet has thousands of them.
                it.skip_current_dir();
            }
        }
    }
    let contexts = dedup(contexts);
    let saved = dedup(saved);
    let mut units: Vec<Unit> = contexts.iter().map(|p| Unit { path: p.clone() }).collect();
    let mut names = NameCache::default();
    for s in saved {
        if !names.claimed(&s, &contexts) {
            units.push(Unit { path: s });
        }
    }
    units.sort();
    Ok(Found {
        units,
        notes: notes.into_iter().collect(),
    })
}

/// One line for a directory the walk could not enter.
fn walk_note(e: &walkdir::Error) -> String {
    let path = e
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "?".into());
    if let Some(anc) = e.loop_ancestor() {
        return format!(
            "{path}: symlink loop back to {}; not followed",
            anc.display()
        );
    }
    match e.io_error() {
        Some(io) if io.kind() == std::io::ErrorKind::NotFound => {
            format!("{path}: dangling symlink; skipped")
        }
        Some(io) => format!("{path}: cannot read ({}); skipped", io_text(io)),
        None => format!("{path}: {e}; skipped"),
    }
}

/// An I/O error without the per-run details that differ between machines.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Paths in sorted order with aliases of one file or directory (through symlinks or
/// overlapping roots) reduced to the first (smallest) path.
fn dedup(mut paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.sort();
    paths.dedup();
    let mut seen = BTreeSet::new();
    paths
        .into_iter()
        .filter(|p| {
            let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            seen.insert(key)
        })
        .collect()
}

/// Context names read from `.context` files, for the rare run whose saved_state/ is not
/// beside a `.context` of the same name.
#[derive(Default)]
struct NameCache {
    names: BTreeMap<PathBuf, Option<String>>,
}

impl NameCache {
    /// True when a `.context` in the run's directory uses `saved` (`D/X/saved_state`):
    /// `D/X.context` exists, or a `.context` in `D` names its run `X` (what
    /// [`crate::context::resolve`] follows).
    fn claimed(&mut self, saved: &Path, contexts: &[PathBuf]) -> bool {
        let Some(run) = saved.parent() else {
            return false;
        };
        let (Some(dir), Some(x)) = (run.parent(), run.file_name()) else {
            return false;
        };
        let mut stem = x.to_os_string();
        stem.push(".context");
        if dir.join(&stem).is_file() {
            return true;
        }
        let x = x.to_string_lossy();
        let canon_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        for c in contexts {
            let Some(cdir) = c.parent() else { continue };
            let same_dir = cdir == dir || std::fs::canonicalize(cdir).is_ok_and(|d| d == canon_dir);
            if !same_dir {
                continue;
            }
            let name = self
                .names
                .entry(c.clone())
                .or_insert_with(|| Model::open(c).ok().and_then(|m| context_refs(&m).0));
            if name.as_deref() == Some(&*x) {
                return true;
            }
        }
        false
    }
}
