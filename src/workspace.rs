//! A loaded source: every file of a context (or one pickle) with its model and stage facts.

use std::path::Path;

use crate::context::load::{EVERY_CORE, load_all};
use crate::context::{FileRole, Source, SourceError, SourceFile, StageInfo, resolve, stage_info};
use crate::model::{LoadError, Model};

/// One file of the source.
#[derive(Debug)]
pub struct Entry {
    pub file: SourceFile,
    pub bytes: u64,
    pub info: StageInfo,
    pub model: Option<Model>,
    pub error: Option<LoadError>,
}

impl Entry {
    /// Stage number: from the file name, else from the result.
    pub fn stage(&self) -> Option<u32> {
        self.file.stage().or(self.info.stage)
    }
    pub fn is_context(&self) -> bool {
        self.file.role == FileRole::Context
    }
    pub fn file_name(&self) -> String {
        self.file.file_name()
    }
}

/// Every file of a source, loaded.
#[derive(Debug)]
pub struct Workspace {
    pub source: Source,
    pub entries: Vec<Entry>,
}

impl Workspace {
    /// Resolves and loads PATH on every core; `progress(done, total)` after each file.
    pub fn open(
        path: &Path,
        context: Option<&str>,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Workspace, SourceError> {
        let source = resolve(path, context)?;
        Ok(Workspace::load(source, progress))
    }

    pub fn load(source: Source, progress: &(dyn Fn(usize, usize) + Sync)) -> Workspace {
        let total = source.files.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let models = load_all(&source.files, EVERY_CORE, |_| {
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress(d, total);
        });
        let entries = source
            .files
            .iter()
            .cloned()
            .zip(models)
            .map(|(file, r)| Entry::from_result(file, r))
            .collect();
        Workspace { source, entries }
    }

    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }

    /// The first load error, if any file is not a valid pickle or could not be read.
    pub fn first_error(&self) -> Option<&LoadError> {
        self.entries.iter().find_map(|e| e.error.as_ref())
    }
}

impl Entry {
    pub fn from_result(file: SourceFile, r: Option<Result<Model, LoadError>>) -> Entry {
        // A loaded file's size is the size of what was read (the file may have changed since).
        let bytes = match &r {
            Some(Ok(m)) => m.total(),
            _ => std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0),
        };
        match r {
            Some(Ok(m)) => Entry {
                info: stage_info(&m),
                file,
                // A compressed pickle counts its content (sizes inside it add up to that).
                bytes: if m.doc.compressed.is_some() {
                    m.total()
                } else {
                    bytes
                },
                model: Some(m),
                error: None,
            },
            Some(Err(e)) => Entry {
                file,
                bytes,
                info: StageInfo::default(),
                model: None,
                error: Some(e),
            },
            None => Entry {
                file,
                bytes,
                info: StageInfo::default(),
                model: None,
                error: None,
            },
        }
    }
}

/// Maps every file of `source` to `f(file)` on every core (largest first); results in file
/// order.
pub fn map_files<T: Send>(
    source: &Source,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(&SourceFile) -> T + Sync,
) -> Vec<T> {
    map_files_on(source, EVERY_CORE, progress, f)
}

/// [`map_files`] on up to `workers` threads ([`EVERY_CORE`]: one per core).
pub fn map_files_on<T: Send>(
    source: &Source,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(&SourceFile) -> T + Sync,
) -> Vec<T> {
    let total = source.files.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let out: std::sync::Mutex<Vec<Option<T>>> =
        std::sync::Mutex::new((0..total).map(|_| None).collect());
    crate::context::load::par_each(&source.files, workers, |i| {
        let v = f(&source.files[i]);
        if let Ok(mut o) = out.lock() {
            o[i] = Some(v);
        }
        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        progress(d, total);
    });
    out.into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Loads the files of `source` on every core and maps each to `f` as it finishes, dropping
/// its model right after: memory holds about one model per worker, not the whole context.
/// Results are in file order.
pub fn map_entries<T: Send>(
    source: &Source,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(Entry) -> T + Sync,
) -> Vec<T> {
    map_entries_on(source, EVERY_CORE, progress, f)
}

/// [`map_entries`] on up to `workers` threads ([`EVERY_CORE`]: one per core).
pub fn map_entries_on<T: Send>(
    source: &Source,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(Entry) -> T + Sync,
) -> Vec<T> {
    map_entries_with(source, workers, progress, SourceFile::open, f)
}

/// [`map_entries_on`], each file opened by `open` (e.g. [`SourceFile::open_lean`] for a report).
pub fn map_entries_with<T: Send>(
    source: &Source,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
    open: fn(&SourceFile) -> Result<Model, LoadError>,
    f: impl Fn(Entry) -> T + Sync,
) -> Vec<T> {
    map_files_on(source, workers, progress, |file| {
        f(Entry::from_result(file.clone(), Some(open(file))))
    })
}
