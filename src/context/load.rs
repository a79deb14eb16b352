//! Loads the files of a source on every core (rayon), one file per thread at a time.

use std::sync::Mutex;

use rayon::iter::{ParallelBridge, ParallelIterator};

use crate::model::{LoadError, Model};

use super::discover::SourceFile;

/// Runs `f(index)` for every file on rayon threads, largest files first (so one huge stage
/// does not start last): each thread takes the next file as it finishes one. `workers` threads
/// at most; [`EVERY_CORE`] runs on the current rayon pool (the global one: one thread per
/// core). A lone file runs on the calling thread: no thread, no probe of the core count.
pub fn par_each<F>(files: &[SourceFile], workers: usize, f: F)
where
    F: Fn(usize) + Sync,
{
    if files.len() <= 1 {
        (0..files.len()).for_each(f);
        return;
    }
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_cached_key(|&i| {
        std::cmp::Reverse(
            std::fs::metadata(&files[i].path)
                .map(|m| m.len())
                .unwrap_or(0),
        )
    });
    // `par_bridge` hands the files out one at a time, in this order, to whichever thread is free.
    let run = || order.iter().par_bridge().for_each(|&i| f(i));
    if workers == EVERY_CORE {
        return run();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(workers.min(files.len()))
        .build()
    {
        Ok(pool) => pool.install(run),
        // No thread could be started: the files one after another on this one.
        Err(_) => order.iter().for_each(|&i| f(i)),
    }
}

/// Loads `files` with up to `workers` threads, handing each result to `done(index, result)`
/// as it finishes.
pub fn load_all_with<F>(files: &[SourceFile], workers: usize, done: F)
where
    F: Fn(usize, Result<Model, LoadError>) + Sync,
{
    par_each(files, workers, |i| done(i, files[i].open()));
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

/// Worker count meaning "one per core" (the current rayon pool).
pub const EVERY_CORE: usize = 0;
