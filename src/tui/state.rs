//! Explorer state that is not UI: loaded files, marks with undo, and the exact what-if.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::context::{FileRole, SourceFile, StageInfo, stage_info};
use crate::model::globals::{Judgement, Trust, Verdict, judged};
use crate::model::{LoadError, Model};
use crate::pickle::Span;
use crate::pickle::progress::Progress;
use crate::slim::{Rules, what_if};

use super::watch::{OnDisk, on_disk};

/// Retained sizes are computed for every row of listings up to this size, in the explorer and
/// in compare mode; larger listings show and sort by inline size (a million-item list stays
/// instant).
pub const RETAINED_ROWS: usize = 2000;

/// The size a row of a listing of `rows` rows shows: retained up to [`RETAINED_ROWS`] rows,
/// inline past them (both with the external bytes named inside the span).
pub fn listed_size(m: &Model, s: Span, rows: usize) -> u64 {
    if rows <= RETAINED_ROWS {
        m.retained_span(s)
    } else {
        m.inline_span(s)
    }
}

/// A file of the opened source, filled in as the background scan finishes it.
#[derive(Debug)]
pub struct FileState {
    pub file: SourceFile,
    pub bytes: u64,
    pub status: Status,
    /// How far the parse has read the file, while it is pending.
    pub progress: Arc<Progress>,
    /// Bytes after slimming with the current marks (exact, from the counting writer).
    pub after: Option<u64>,
    /// Per (rule index, attr): (instances, bytes removed; see [`crate::slim::FileSlim::removed`]).
    pub hits: BTreeMap<(usize, String), (u64, i64)>,
    pub error: Option<String>,
    /// Times one pipeline run reads this file back (see [`crate::context::reread`]).
    pub reread_times: u64,
    /// What the file was on disk when what is shown was read from it (`None` while pending).
    pub read_from: Option<OnDisk>,
    /// When [`FileState::read_from`] was set: looks at the disk taken before it say nothing.
    pub read_at: Instant,
    /// The file on disk is no longer what is shown: reload (`r`) before writing it.
    pub changed: bool,
}

/// Loading state of one file.
#[derive(Debug)]
pub enum Status {
    Pending,
    Loaded(Box<Loaded>),
    Failed,
}

/// A loaded file.
#[derive(Debug)]
pub struct Loaded {
    pub model: Model,
    pub info: StageInfo,
    /// `module.name` of globals that would run code when loaded (dangerous, or a gadget the
    /// pickle calls), with the verdict when it is a gadget.
    pub dangerous: Vec<String>,
    /// Every global the file names with its verdict (for the detail view).
    pub globals: Vec<((String, String), Judgement)>,
}

impl FileState {
    pub fn new(file: SourceFile) -> FileState {
        let bytes = std::fs::metadata(&file.path).map(|m| m.len()).unwrap_or(0);
        FileState {
            file,
            bytes,
            status: Status::Pending,
            progress: Arc::default(),
            after: None,
            hits: BTreeMap::new(),
            error: None,
            reread_times: 0,
            read_from: None,
            read_at: Instant::now(),
            changed: false,
        }
    }

    /// Takes a look at the disk into account; true when it shows, for the first time, that
    /// the file changed since it was read. A look taken before the file was read says
    /// nothing (it may show the file before our own write).
    pub fn saw(&mut self, now: OnDisk, taken: Instant) -> bool {
        let Some(was) = self.read_from else {
            return false;
        };
        if self.changed || taken < self.read_at || now == was {
            return false;
        }
        self.changed = true;
        true
    }

    /// Bytes one run reads back of this file as it is.
    pub fn reread_bytes(&self) -> u64 {
        crate::context::reread::reread_bytes(self.bytes, self.reread_times)
    }

    /// Bytes one run would read back after the current marks.
    pub fn reread_after(&self) -> u64 {
        crate::context::reread::reread_bytes(self.after_or_before(), self.reread_times)
    }

    pub fn set_result(&mut self, r: Result<Model, LoadError>) {
        self.changed = false;
        self.read_at = Instant::now();
        self.read_from = match &r {
            // The stamp taken before the read, checked unchanged after it (none: not a file
            // read from disk, nothing to watch).
            Ok(m) => m.doc.stamp.map(Some),
            Err(_) => Some(on_disk(&self.file.path)),
        };
        match r {
            Ok(model) => {
                let info = stage_info(&model);
                let globals: Vec<((String, String), Judgement)> = judged(&model, &Trust::default())
                    .into_iter()
                    .map(|(k, _, j)| (k, j))
                    .collect();
                let dangerous = globals
                    .iter()
                    .filter(|(_, j)| j.verdict.alarming())
                    .map(|((m, n), j)| match j.verdict {
                        Verdict::Gadget => format!("{m}.{n} (gadget)"),
                        _ => format!("{m}.{n}"),
                    })
                    .collect();
                self.bytes = model.total();
                self.status = Status::Loaded(Box::new(Loaded {
                    model,
                    info,
                    dangerous,
                    globals,
                }));
                self.error = None;
            }
            Err(e) => {
                self.status = Status::Failed;
                self.error = Some(e.to_string());
            }
        }
    }

    pub fn loaded(&self) -> Option<&Loaded> {
        match &self.status {
            Status::Loaded(l) => Some(l),
            _ => None,
        }
    }

    pub fn model_mut(&mut self) -> Option<&mut Model> {
        match &mut self.status {
            Status::Loaded(l) => Some(&mut l.model),
            _ => None,
        }
    }

    pub fn model(&self) -> Option<&Model> {
        self.loaded().map(|l| &l.model)
    }

    pub fn stage(&self) -> Option<u32> {
        self.file
            .stage()
            .or_else(|| self.loaded().and_then(|l| l.info.stage))
    }

    pub fn task(&self) -> String {
        if self.file.role == FileRole::Context {
            return self.file_name();
        }
        if let Some(sum) = self.model().and_then(|m| m.doc.summary.as_deref()) {
            return format!("{} · {sum}", self.file_name());
        }
        self.loaded()
            .and_then(|l| l.info.task.clone())
            .unwrap_or_else(|| match self.status {
                Status::Pending => "…".into(),
                _ => self.file_name(),
            })
    }

    pub fn file_name(&self) -> String {
        self.file.file_name()
    }

    pub fn after_or_before(&self) -> u64 {
        self.after.unwrap_or(self.bytes)
    }

    /// Recomputes the exact after-size and hits for `rules`.
    pub fn recompute(&mut self, rules: &Rules) {
        self.hits.clear();
        self.after = None;
        let Some(m) = self.model() else { return };
        if rules.is_empty()
            || !m
                .groups()
                .groups
                .iter()
                .any(|g| rules.matches(&g.class, &g.attr).is_some())
        {
            self.after = Some(self.bytes);
            return;
        }
        if m.is_lean() {
            // The what-if needs the full graph; no figure rather than a wrong one.
            self.error = Some(crate::tui::app::lean_refusal(&self.file_name()));
            return;
        }
        match what_if(m, rules) {
            Ok(w) => {
                let mut hits = BTreeMap::new();
                for (i, h) in w.plan.hits.iter().enumerate() {
                    let e = hits.entry((h.rule, h.attr.clone())).or_insert((0u64, 0i64));
                    e.0 += h.instances;
                    e.1 += w.hit_removed(i) as i64;
                }
                self.hits = hits;
                self.after = Some(w.after);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }
}

/// The marks (rules) with an undo history.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    pub rules: Rules,
    history: Vec<Rules>,
    /// Marks changed since the last write or export.
    pub unsaved: bool,
}

impl Marks {
    pub fn new(rules: Rules) -> Marks {
        Marks {
            rules,
            history: Vec::new(),
            unsaved: false,
        }
    }

    /// Toggles `class.attr`; true when it is now marked.
    pub fn toggle(&mut self, class: &str, attr: &str) -> bool {
        self.history.push(self.rules.clone());
        self.unsaved = true;
        if self.rules.matches(class, attr).is_some() {
            // Remove the exact rule if there is one; otherwise add nothing (a glob marks it).
            if !self.rules.remove(class, attr) {
                let idx = self.rules.matches(class, attr);
                if let Some(i) = idx
                    && let Some(r) = self.rules.transient.get_mut(i)
                {
                    r.attrs.retain(|a| a != attr);
                }
                self.rules.transient.retain(|r| !r.attrs.is_empty());
            }
            false
        } else {
            self.rules.add(class, attr);
            true
        }
    }

    /// Removes one rule (by index) entirely.
    pub fn remove_rule(&mut self, idx: usize) {
        if idx < self.rules.transient.len() {
            self.history.push(self.rules.clone());
            self.rules.transient.remove(idx);
            self.unsaved = true;
        }
    }

    pub fn undo(&mut self) -> bool {
        match self.history.pop() {
            Some(r) => {
                self.rules = r;
                self.unsaved = true;
                true
            }
            None => false,
        }
    }

    /// Flat list of (rule index, class pattern, attr).
    pub fn flat(&self) -> Vec<(usize, String, String)> {
        let mut v = Vec::new();
        for (i, r) in self.rules.transient.iter().enumerate() {
            for a in &r.attrs {
                v.push((i, r.class.clone(), a.clone()));
            }
        }
        v
    }
}

impl Loaded {
    /// The verdict on `module.name`, if this file names it.
    pub fn judgement(&self, module: &str, name: &str) -> Option<&Judgement> {
        self.globals
            .iter()
            .find(|((m, n), _)| m == module && n == name)
            .map(|(_, j)| j)
    }
}
