//! Loads the files of a source on every core, one file per worker at a time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model::{LoadError, Model};

use super::discover::SourceFile;

/// Loads `files` with up to `workers` threads, calling `done(index, result)` as each finishes.
pub fn load_all<F>(
    files: &[SourceFile],
    workers: usize,
    done: F,
) -> Vec<Option<Result<Model, LoadError>>>
where
    F: Fn(usize, &Result<Model, LoadError>) + Sync,
{
    let out: Mutex<Vec<Option<Result<Model, LoadError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    // Largest files first, so one huge stage does not start last.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| {
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
                    let r = Model::open(&files[i].path);
                    done(i, &r);
                    if let Ok(mut v) = out.lock() {
                        v[i] = Some(r);
                    }
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
}

/// Worker count: every core.
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}
