//! Turns a PATH (pickle, `.context`, output dir, `saved_state/`) into the list of files to read.

use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::pickle::Kind;
use crate::pickle::value::str_value;

use super::stage::attr_value;

/// What a file is within a context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// `<name>.context`.
    Context,
    /// `result-stage<N>.pickle`.
    Result(u32),
    /// `context-stage<N>.pickle`, a debug dump of the context.
    ContextDump(u32),
    /// Any other pickle.
    Other,
}

/// One file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    pub role: FileRole,
    /// A member of the zip archive at `path` (read-only).
    pub member: Option<String>,
}

/// Files at least this large open in the explorer with the lean parse: from there on the
/// full parse needs several GB of memory (about ten times an object-heavy file) and seconds;
/// below it, it stays under a few seconds and keeps every view exact without reading again.
/// `PICKLESCOPE_EXPLORE_LEAN_FROM` (bytes) overrides it.
pub const EXPLORE_LEAN_FROM: u64 = 256 << 20;

/// [`EXPLORE_LEAN_FROM`], or the bytes `PICKLESCOPE_EXPLORE_LEAN_FROM` gives.
pub fn explore_lean_from() -> u64 {
    std::env::var("PICKLESCOPE_EXPLORE_LEAN_FROM")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(EXPLORE_LEAN_FROM)
}

impl SourceFile {
    /// A file on its own.
    pub fn plain(path: PathBuf, role: FileRole) -> SourceFile {
        SourceFile {
            path,
            role,
            member: None,
        }
    }

    /// The file's name without its directory (a member's name within its archive).
    pub fn file_name(&self) -> String {
        if let Some(m) = &self.member {
            return m.clone();
        }
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The path shown for it: a member as `archive.zip/member`.
    pub fn shown_path(&self) -> PathBuf {
        match &self.member {
            Some(m) => crate::model::archive::member_path(&self.path, m),
            None => self.path.clone(),
        }
    }

    /// Read-only: an archive member or a NumPy `.npy` file (the explorer never writes it).
    pub fn read_only(&self) -> bool {
        self.member.is_some() || crate::model::npy::is_npy_file(&self.path)
    }

    /// Reads and parses it.
    pub fn open(&self) -> Result<Model, crate::model::LoadError> {
        match &self.member {
            Some(m) => crate::model::archive::open_member(&self.path, m),
            None if crate::model::npy::is_npy_file(&self.path) => {
                crate::model::npy::open_file(&self.path)
            }
            None => Model::open(&self.path),
        }
    }

    /// Reads and parses it for a report: a plain file with the lean parse
    /// ([`Model::open_lean`]), an archive member as [`SourceFile::open`].
    pub fn open_lean(&self) -> Result<Model, crate::model::LoadError> {
        match &self.member {
            Some(m) => crate::model::archive::open_member(&self.path, m),
            None if crate::model::npy::is_npy_file(&self.path) => {
                crate::model::npy::open_file(&self.path)
            }
            None => Model::open_lean(&self.path),
        }
    }

    /// Reads and parses it for the explorer: a plain file of at least [`explore_lean_from`]
    /// bytes with the lean parse (its containers without instances are opened on demand,
    /// [`crate::model::lazy`]), anything else as [`SourceFile::open`].
    pub fn open_explore(&self) -> Result<Model, crate::model::LoadError> {
        let big = std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= explore_lean_from());
        if big && self.member.is_none() && !crate::model::npy::is_npy_file(&self.path) {
            // Only a plain file: its containers are read again from it.
            let doc =
                crate::model::Doc::open_windowed(&self.path, 0, crate::pickle::window::WINDOW)?;
            if let Some(doc) = doc {
                return Ok(Model::new(doc));
            }
        }
        self.open()
    }

    pub fn stage(&self) -> Option<u32> {
        match self.role {
            FileRole::Result(n) | FileRole::ContextDump(n) => Some(n),
            _ => None,
        }
    }
}

/// A resolved PATH.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// A display name: the context's name, or the file name.
    pub name: String,
    pub files: Vec<SourceFile>,
    /// Notes for the user: missing or extra stage files, other contexts in the directory.
    pub notes: Vec<String>,
    /// True when PATH named a context (file, output dir or saved_state).
    pub is_context: bool,
}

/// Why a PATH could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no pickle, .context or saved_state/ found here")]
    Nothing { path: PathBuf },
    #[error("{path}: several contexts here ({names}); choose one with --context NAME")]
    Ambiguous { path: PathBuf, names: String },
    #[error("{path}: no context named {name} here (found: {names})")]
    NoSuchContext {
        path: PathBuf,
        name: String,
        names: String,
    },
}

/// Stage number and role from a file name.
pub fn role_of(path: &Path) -> FileRole {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name.ends_with(".context") {
        return FileRole::Context;
    }
    let num = |prefix: &str| -> Option<u32> {
        name.strip_prefix(prefix)?
            .strip_suffix(".pickle")?
            .parse()
            .ok()
    };
    if let Some(n) = num("result-stage") {
        return FileRole::Result(n);
    }
    if let Some(n) = num("context-stage") {
        return FileRole::ContextDump(n);
    }
    FileRole::Other
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SourceError + '_ {
    move |source| SourceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Resolves PATH. `context` picks one `.context` among several in a directory; by default the
/// newest is taken and the others are listed in the notes.
pub fn resolve(path: &Path, context: Option<&str>) -> Result<Source, SourceError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_file() {
        if role_of(path) == FileRole::Context {
            return from_context_file(path, Vec::new());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A zip archive is opened as its members (one that cannot be listed is read as a
        // file, and named as a zip in its error).
        if crate::model::archive::is_zip(path)
            && let Ok(listing) = crate::model::archive::list(path)
        {
            return Ok(Source {
                name,
                files: listing
                    .to_open()
                    .into_iter()
                    .map(|m| SourceFile {
                        path: path.to_path_buf(),
                        role: FileRole::Other,
                        member: Some(m),
                    })
                    .collect(),
                notes: Vec::new(),
                is_context: false,
            });
        }
        return Ok(Source {
            name,
            files: vec![SourceFile::plain(path.to_path_buf(), role_of(path))],
            notes: Vec::new(),
            is_context: false,
        });
    }
    if !meta.is_dir() {
        // A FIFO, socket or device: never opened (a FIFO would block).
        return Err(SourceError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file or directory (a FIFO, socket or device)",
            ),
        });
    }
    // A directory: an output dir with .context files, a saved_state/, or a dir of pickles.
    let mut contexts = Vec::new();
    let mut pickles = Vec::new();
    for e in std::fs::read_dir(path).map_err(io(path))? {
        let e = e.map_err(io(path))?;
        let p = e.path();
        if !p.is_file() {
            continue;
        }
        match role_of(&p) {
            FileRole::Context => contexts.push(p),
            _ if p.extension().is_some_and(|x| x == "pickle") => pickles.push(p),
            _ => {}
        }
    }
    if !contexts.is_empty() {
        let mut by_time: Vec<(std::time::SystemTime, PathBuf)> = contexts
            .iter()
            .map(|p| {
                let t = std::fs::metadata(p)
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                (t, p.clone())
            })
            .collect();
        by_time.sort();
        let names: Vec<String> = by_time.iter().map(|(_, p)| stem(p)).collect();
        let chosen = match context {
            Some(want) => by_time
                .iter()
                .find(|(_, p)| stem(p) == want.trim_end_matches(".context"))
                .map(|(_, p)| p.clone())
                .ok_or_else(|| SourceError::NoSuchContext {
                    path: path.to_path_buf(),
                    name: want.to_string(),
                    names: names.join(", "),
                })?,
            None => by_time
                .last()
                .map(|(_, p)| p.clone())
                .ok_or_else(|| SourceError::Nothing {
                    path: path.to_path_buf(),
                })?,
        };
        let mut notes = Vec::new();
        if by_time.len() > 1 && context.is_none() {
            notes.push(format!(
                "{} contexts here ({}); showing the newest, {} (choose with --context NAME)",
                by_time.len(),
                names.join(", "),
                stem(&chosen)
            ));
        }
        return from_context_file(&chosen, notes);
    }
    if pickles.is_empty() {
        return Err(SourceError::Nothing {
            path: path.to_path_buf(),
        });
    }
    pickles.sort_by_key(|p| (stage_sort_key(p), p.clone()));
    let is_saved_state = path.file_name().is_some_and(|n| n == "saved_state")
        || pickles
            .iter()
            .any(|p| matches!(role_of(p), FileRole::Result(_)));
    let name = if path.file_name().is_some_and(|n| n == "saved_state") {
        path.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "saved_state".into())
    } else {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string())
    };
    Ok(Source {
        name,
        files: pickles
            .into_iter()
            .map(|p| SourceFile::plain(p.clone(), role_of(&p)))
            .collect(),
        notes: Vec::new(),
        is_context: is_saved_state,
    })
}

fn stem(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".context").to_string())
        .unwrap_or_default()
}

fn stage_sort_key(p: &Path) -> (u32, u32) {
    match role_of(p) {
        FileRole::Result(n) => (n, 0),
        FileRole::ContextDump(n) => (n, 1),
        _ => (u32::MAX, 0),
    }
}

/// Reads a `.context` for its name and `ResultsProxy._basename`s and finds the stage files in
/// `<dir of the .context>/<name>/saved_state/`.
fn from_context_file(ctx: &Path, mut notes: Vec<String>) -> Result<Source, SourceError> {
    let dir = ctx.parent().map(Path::to_path_buf).unwrap_or_default();
    let file_stem = stem(ctx);
    let (name, basenames) = match Model::open(ctx) {
        Ok(m) => context_refs(&m),
        Err(e) => {
            notes.push(format!("could not read the context itself: {e}"));
            (None, Vec::new())
        }
    };
    let name = name.unwrap_or_else(|| file_stem.clone());
    let mut saved = dir.join(&name).join("saved_state");
    if !saved.is_dir() {
        let alt = dir.join(&file_stem).join("saved_state");
        if alt.is_dir() {
            saved = alt;
        }
    }
    let mut files = vec![SourceFile::plain(ctx.to_path_buf(), FileRole::Context)];
    let mut on_disk: Vec<PathBuf> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&saved) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() && p.extension().is_some_and(|x| x == "pickle") {
                on_disk.push(p);
            }
        }
    }
    let mut listed = Vec::new();
    let mut missing = Vec::new();
    for b in &basenames {
        let p = saved.join(b);
        if p.is_file() {
            listed.push(p);
        } else {
            missing.push(b.clone());
        }
    }
    if !missing.is_empty() {
        notes.push(format!(
            "{} stage file(s) the context lists are missing from {}: {}",
            missing.len(),
            saved.display(),
            missing.join(", ")
        ));
    }
    let extra: Vec<PathBuf> = on_disk
        .iter()
        .filter(|p| !listed.contains(p))
        .cloned()
        .collect();
    let extra_results: Vec<String> = extra
        .iter()
        .filter(|p| matches!(role_of(p), FileRole::Result(_)))
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    if !basenames.is_empty() && !extra_results.is_empty() {
        notes.push(format!(
            "{} stage file(s) in saved_state/ are not in the context: {}",
            extra_results.len(),
            extra_results.join(", ")
        ));
    }
    let mut all: Vec<PathBuf> = listed.into_iter().chain(extra).collect();
    all.sort_by_key(|p| (stage_sort_key(p), p.clone()));
    all.dedup();
    files.extend(
        all.into_iter()
            .map(|p| SourceFile::plain(p.clone(), role_of(&p))),
    );
    Ok(Source {
        name,
        files,
        notes,
        is_context: true,
    })
}

/// The context's `name` and the `_basename` of every `ResultsProxy` it holds.
pub fn context_refs(m: &Model) -> (Option<String>, Vec<String>) {
    let g = m.graph();
    let data = m.data();
    let root = g.root();
    let name =
        attr_value(m, root, "name").and_then(|v| str_value(g, data, v).map(|s| s.into_owned()));
    let mut out = Vec::new();
    for (id, n) in g.nodes.with_state() {
        if !matches!(n.kind, Kind::Call { .. }) {
            continue;
        }
        let id = id as u32;
        let is_proxy = m.class_of(id).is_some_and(|c| c.ends_with("ResultsProxy"));
        if !is_proxy {
            continue;
        }
        if let Some(v) = attr_value(m, id, "_basename")
            && let Some(s) = str_value(g, data, v)
            && !out.contains(&s.to_string())
        {
            out.push(s.into_owned());
        }
    }
    (name, out)
}
