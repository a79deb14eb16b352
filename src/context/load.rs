//! Loads the files of a source on every core, one file per worker at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::{LoadError, Model};

use super::discover::SourceFile;

/// Runs `f(index)` for every file on up to `workers` threads ([`EVERY_CORE`]: one per core),
/// largest files first (so one huge stage does not start last). A lone file runs on the
/// calling thread: no thread, no probe of the core count.
pub fn par_each<F>(files: &[SourceFile], workers: usize, f: F)
where
    F: Fn(usize) + Sync,
{
    if files.len() <= 1 {
        (0..files.len()).for_each(f);
        return;
    }
    let workers = if workers == EVERY_CORE {
        cores()
    } else {
        workers
    };
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_cached_key(|&i| {
        std::cmp::Reverse(
            std::fs::metadata(&files[i].path)
                .map(|m| m.len())
                .unwrap_or(0),
        )
    });
    let next = AtomicUsize::new(0);
    let workers = workers.clamp(1, files.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(k) else { break };
                    f(i);
                }
            });
        }
    });
}

/// Loads `files` with up to `workers` threads, handing each result to `done(index, result)`
/// as it finishes.
pub fn load_all_with<F>(files: &[SourceFile], workers: usize, done: F)
where
    F: Fn(usize, Result<Model, LoadError>) + Sync,
{
    par_each(files, workers, |i| done(i, Model::open(&files[i].path)));
}

/// Loads every file; `progress(index)` after each. Results are in `files` order.
pub fn load_all<F>(
    files: &[SourceFile],
    workers: usize,
    progress: F,
) -> Vec<Option<Result<Model, LoadError>>>
where
    F: Fn(usize) + Sync,
{
    let out: Mutex<Vec<Option<Result<Model, LoadError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    load_all_with(files, workers, |i, r| {
        if let Ok(mut v) = out.lock() {
            v[i] = Some(r);
        }
        progress(i);
    });
    out.into_inner().unwrap_or_default()
}

/// Worker count meaning "one per core", resolved only when there is more than one file.
pub const EVERY_CORE: usize = 0;

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
