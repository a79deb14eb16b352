//! The explorer's state machine: screens, navigation, marks, dialogs — driven by key events,
//! independent of any terminal (tests feed it keys over a TestBackend).

mod handlers;
pub mod lazy;
mod marks;
mod navigation;

use std::path::PathBuf;
use std::time::Instant;

use crate::context::{FileRole, Source};
use crate::model::{Model, Row, label_text};
use crate::pickle::NodeId;
use crate::slim::Rules;

use super::state::{FileState, Marks, Status};

pub(crate) use marks::lean_refusal;

/// What a click landed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// Row `n` of the main table (an index into the listing).
    Row(usize),
    /// Row `n` of the what-if pane.
    Mark(usize),
    /// The main table's top border, where the breadcrumb is.
    Crumb,
    Nothing,
}

/// The last click, to recognise a double click.
#[derive(Debug, Clone, Copy)]
pub struct LastClick {
    pub at: Instant,
    pub hit: Hit,
}

/// Which main screen is showing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Stages,
    Tree,
    Classes,
}

/// Row order in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Retained,
    Name,
    File,
}

impl Sort {
    pub fn name(self) -> &'static str {
        match self {
            Sort::Retained => "retained size",
            Sort::Name => "name",
            Sort::File => "file order",
        }
    }
}

/// A dialog or overlay on top of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    None,
    Help,
    Detail,
    Search(String),
    ConfirmWrite,
    ConfirmQuit,
    ConfirmProtected {
        class: String,
        attr: String,
    },
    Writing,
    /// `g` on a mark: the reads of that attribute in the `--source` trees, scrolled.
    Guards {
        title: String,
        lines: Vec<String>,
        scroll: usize,
    },
    /// A message too long for the status line; any key closes it.
    Message {
        title: String,
        text: String,
    },
}

/// One row shown in the tree, with sizes.
#[derive(Debug, Clone)]
pub struct TreeRow {
    pub row: Row,
    pub inline: u64,
    pub retained: u64,
    /// Position in the stream order.
    pub order: usize,
}

/// One level of the tree: a node and its children.
#[derive(Debug, Clone)]
pub struct Level {
    pub node: NodeId,
    pub crumb: String,
    /// The row label this level was opened from (empty for a file's root).
    pub name: String,
    /// The Python path of this level's object from the file's root (`_ResultsList__results[0]`).
    pub path: String,
    pub rows: Vec<TreeRow>,
    pub sel: usize,
    /// Size of the node itself (for shares).
    pub total: u64,
    /// The pickle this level and those below it show, when it is one held in a `bytes`
    /// value of the file (read-only).
    pub sub: Option<std::sync::Arc<Model>>,
}

/// Navigation inside one file.
#[derive(Debug, Clone)]
pub struct TreeNav {
    pub entry: usize,
    pub levels: Vec<Level>,
}

/// One class.attr group across all loaded files (the one accounting).
pub type ClassRow = crate::model::ClassTotal;

/// Everything the explorer shows and remembers.
#[derive(Debug)]
pub struct App {
    pub title: String,
    pub files: Vec<FileState>,
    pub notes: Vec<String>,
    pub is_context: bool,
    pub screen: Screen,
    pub stage_sel: usize,
    pub tree: Option<TreeNav>,
    pub classes: Vec<ClassRow>,
    pub class_sel: usize,
    pub marks: Marks,
    pub marks_focus: bool,
    pub marks_sel: usize,
    pub modal: Modal,
    pub status: String,
    pub sort: Sort,
    pub last_search: Option<String>,
    pub read_only: bool,
    /// `--source` trees that `g` searches for reads of a marked attribute.
    pub guard_sources: Vec<PathBuf>,
    pub backup: bool,
    pub full_names: bool,
    pub quit: bool,
    /// Ctrl-Z was pressed: the event loop gives the terminal back and stops the process.
    pub suspend: bool,
    /// Texts copied this session, in order (printed on exit with `--print-on-exit`).
    pub copied: Vec<String>,
    /// Copied texts not yet sent to the terminal as OSC 52 (the event loop sends them).
    pub outbox: Vec<String>,
    /// The last mouse click (for double clicks).
    pub last_click: Option<LastClick>,
    /// Rows visible in the main table at the last draw (for paging).
    pub page: usize,
    /// Where `e` writes rules.
    pub export_dir: PathBuf,
    /// Draw with ASCII only.
    pub ascii: bool,
    /// The terminal's width and height at the last draw.
    pub size: (u16, u16),
    /// First line shown in the help.
    pub help_scroll: usize,
    /// Files `r` asked to reload, not yet handed to the loader (the event loop takes them).
    pub reloads: Vec<usize>,
    /// Files being reloaded (what they showed stays until the new read arrives).
    pub reloading: Vec<usize>,
    /// A container of a file opened lean being read in the background.
    pub opening: Option<lazy::Opening>,
}

impl App {
    pub fn new(source: Source, rules: Rules, read_only: bool) -> App {
        // Archive members are read, never rewritten.
        let read_only = read_only || source.files.iter().any(|f| f.read_only());
        let rereads = crate::context::reread::Rereads::of(&source.files);
        let files: Vec<FileState> = source
            .files
            .into_iter()
            .map(|file| {
                let mut f = FileState::new(file);
                f.reread_times = rereads.times(&f.file);
                f
            })
            .collect();
        let screen = if source.is_context || files.len() > 1 {
            Screen::Stages
        } else {
            Screen::Tree
        };
        App {
            title: source.name,
            files,
            notes: source.notes,
            is_context: source.is_context,
            screen,
            stage_sel: 0,
            tree: None,
            classes: Vec::new(),
            class_sel: 0,
            marks: Marks::new(rules),
            marks_focus: false,
            marks_sel: 0,
            modal: Modal::None,
            status: String::new(),
            sort: Sort::Retained,
            last_search: None,
            read_only,
            guard_sources: Vec::new(),
            backup: false,
            full_names: false,
            quit: false,
            suspend: false,
            copied: Vec::new(),
            outbox: Vec::new(),
            last_click: None,
            page: 10,
            export_dir: std::env::current_dir().unwrap_or_default(),
            ascii: false,
            size: (80, 24),
            help_scroll: 0,
            reloads: Vec::new(),
            reloading: Vec::new(),
            opening: None,
        }
    }

    /// A file finished loading.
    pub fn file_loaded(&mut self, idx: usize, r: Result<Model, crate::model::LoadError>) {
        let selected = self.selected_name();
        let Some(f) = self.files.get_mut(idx) else {
            return;
        };
        if self.opening.as_ref().is_some_and(|o| o.entry == idx) {
            // Its node ids belong to the model being replaced.
            self.opening = None;
        }
        f.set_result(r);
        f.recompute(&self.marks.rules);
        let reloaded = match self.reloading.iter().position(|&i| i == idx) {
            Some(k) => {
                self.reloading.remove(k);
                true
            }
            None => false,
        };
        if let Some(e) = &f.error {
            self.status = e.clone();
        } else if reloaded {
            self.status = format!("reloaded {} (the marks stay)", f.file_name());
        }
        self.rebuild_classes();
        if self.screen == Screen::Tree && self.tree.is_none() && self.files.len() == 1 {
            self.open_entry(0);
        }
        if reloaded && self.tree.as_ref().is_some_and(|t| t.entry == idx) {
            self.reopen_tree(selected);
        }
    }

    /// Files whose disk content is no longer what is shown, in file order.
    pub fn changed_files(&self) -> Vec<usize> {
        (0..self.files.len())
            .filter(|&i| self.files[i].changed)
            .collect()
    }

    /// Takes a look at the disk into account (see [`super::watch`]); true when a file is
    /// newly seen changed.
    pub fn on_disk(&mut self, look: &super::watch::Look) -> bool {
        let mut newly = Vec::new();
        for (i, (f, now)) in self.files.iter_mut().zip(&look.files).enumerate() {
            if f.saw(*now, look.taken) {
                newly.push(i);
            }
        }
        if newly.is_empty() {
            return false;
        }
        let names: Vec<String> = newly.iter().map(|&i| self.files[i].file_name()).collect();
        self.status = format!(
            "{} changed on disk; r reloads",
            crate::fmt::elide_middle(&names.join(", "), 60)
        );
        true
    }

    /// `r`: asks the loader for every changed file not already being reloaded.
    fn reload(&mut self) {
        let wanted: Vec<usize> = self
            .changed_files()
            .into_iter()
            .filter(|i| !self.reloading.contains(i))
            .collect();
        if wanted.is_empty() {
            self.status = if self.reloading.is_empty() {
                "no file changed on disk since it was read".into()
            } else {
                "still reloading…".into()
            };
            return;
        }
        self.status = format!("reloading {} file(s)…", wanted.len());
        self.reloading.extend(&wanted);
        self.reloads.extend(wanted);
    }

    /// Files of the write plan changed on disk since they were read (each looked at now).
    fn changed_in_plan(&mut self) -> Vec<usize> {
        let now = std::time::Instant::now();
        let mut out = Vec::new();
        for (i, _, _) in self.write_plan() {
            if let Some(f) = self.files.get_mut(i) {
                let disk = super::watch::on_disk(&f.file.path);
                f.saw(disk, now);
                if f.changed {
                    out.push(i);
                }
            }
        }
        out
    }

    /// Bytes read and bytes in all over the files still pending, once a parse has begun.
    /// With whether any of them is still read from disk (else parsed).
    pub fn scan_progress(&self) -> Option<(u64, u64, bool)> {
        let (done, total, reading) = self
            .files
            .iter()
            .filter(|f| matches!(f.status, Status::Pending))
            .map(|f| (f.progress.get(), f.progress.reading()))
            .fold((0, 0, false), |(d, t, r), ((a, b), c)| {
                (d + a, t + b, r || c)
            });
        (total > 0).then_some((done, total, reading))
    }

    /// Whole percent of [`App::scan_progress`], and whether a file is still read from disk
    /// (what a redraw would change).
    pub fn scan_percent(&self) -> Option<(u64, bool)> {
        self.scan_progress()
            .map(|(d, t, r)| (d.saturating_mul(100) / t.max(1), r))
    }

    pub fn loaded_count(&self) -> usize {
        self.files
            .iter()
            .filter(|f| !matches!(f.status, Status::Pending))
            .count()
    }

    /// Stage rows in display order: by stage number, the context file last.
    pub fn stage_order(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.files.len()).collect();
        v.sort_by_key(|&i| {
            let f = &self.files[i];
            (
                f.file.role == FileRole::Context,
                f.stage().unwrap_or(u32::MAX),
                f.file_name(),
            )
        });
        v
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    pub fn total_after(&self) -> u64 {
        self.files.iter().map(FileState::after_or_before).sum()
    }

    /// Bytes one pipeline run reads back, all files (before, after the marks).
    pub fn total_reread(&self) -> (u64, u64) {
        (
            self.files.iter().map(FileState::reread_bytes).sum(),
            self.files.iter().map(FileState::reread_after).sum(),
        )
    }

    /// `module.name` of dangerous globals in any loaded file.
    pub fn dangerous(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| f.loaded())
            .flat_map(|l| l.dangerous.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn recompute_all(&mut self) {
        for f in &mut self.files {
            f.recompute(&self.marks.rules);
        }
    }

    /// Aggregates class.attr groups over every loaded file.
    pub fn rebuild_classes(&mut self) {
        let mut totals = crate::model::ClassTotals::default();
        for f in &self.files {
            let Some(m) = f.model() else { continue };
            totals.add(m.groups(), f.stage());
        }
        let v = totals.sorted();
        self.classes = v;
        self.class_sel = self.class_sel.min(self.classes.len().saturating_sub(1));
    }

    /// The label of the selected tree row.
    fn selected_name(&self) -> Option<String> {
        let m = self.tree_model()?;
        let r = self.selected_row()?;
        Some(label_text(m.graph(), m.data(), r.row.label))
    }

    /// The file under the tree was read again: opens it anew and walks back down by row
    /// names as far as they still exist; back to Stages when it no longer opens.
    /// `selected` is [`App::selected_name`] taken before the file was read again.
    fn reopen_tree(&mut self, selected: Option<String>) {
        let Some(t) = self.tree.take() else { return };
        let path: Vec<String> = t.levels.iter().skip(1).map(|l| l.name.clone()).collect();
        self.open_entry(t.entry);
        if self.tree.is_none() {
            self.screen = if self.files.len() > 1 || self.is_context {
                Screen::Stages
            } else {
                Screen::Tree
            };
            if self.modal == Modal::Detail {
                self.modal = Modal::None;
            }
            return;
        }
        for name in path {
            let Some(m) = self.tree_model() else { break };
            let found = self.level().and_then(|l| {
                l.rows
                    .iter()
                    .position(|r| label_text(m.graph(), m.data(), r.row.label) == name)
            });
            match found {
                Some(i) => {
                    if let Some(l) = self.level_mut() {
                        l.sel = i;
                    }
                    self.descend();
                }
                None => return,
            }
        }
        // And the row that was selected, when it is still there.
        let found = self.tree_model().zip(self.level()).and_then(|(m, l)| {
            l.rows
                .iter()
                .position(|r| Some(label_text(m.graph(), m.data(), r.row.label)) == selected)
        });
        if let (Some(i), Some(l)) = (found, self.level_mut()) {
            l.sel = i;
        }
    }
}
