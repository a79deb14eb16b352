//! The explorer's state machine: screens, navigation, marks, dialogs — driven by key events,
//! independent of any terminal (tests feed it keys over a TestBackend).

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::context::{FileRole, Source};
use crate::model::{Label, Model, Row, join_path, label_text, path_segment};
use crate::pickle::NodeId;
use crate::slim::{PROTECTED, Rules, SaveOptions, save_in_place, what_if};

use super::keys::{Action, action_for};
use super::state::{FileState, Marks, Status};

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
    pub last_click: Option<super::mouse::LastClick>,
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
}

/// Retained sizes are computed for every row of listings up to this size; larger listings
/// sort by inline size (a million-item list stays instant).
const RETAINED_ROWS: usize = 2000;

impl App {
    pub fn new(source: Source, rules: Rules, read_only: bool) -> App {
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
        }
    }

    /// A file finished loading.
    pub fn file_loaded(&mut self, idx: usize, r: Result<Model, crate::model::LoadError>) {
        let selected = self.selected_name();
        let Some(f) = self.files.get_mut(idx) else {
            return;
        };
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

    // ---- tree -------------------------------------------------------------------------

    fn open_entry(&mut self, idx: usize) {
        let Some(f) = self.files.get(idx) else { return };
        let Some(m) = f.model() else {
            self.status = match &f.status {
                Status::Pending => format!("{} is still being scanned…", f.file_name()),
                _ => f.error.clone().unwrap_or_else(|| "cannot open".into()),
            };
            return;
        };
        let root = m.graph().root();
        let crumb = match f.stage() {
            Some(s) => format!("stage {s} {}", f.task()),
            None => f.file_name(),
        };
        let level = self.make_level(m, root, crumb, m.doc.len());
        self.tree = Some(TreeNav {
            entry: idx,
            levels: vec![level],
        });
        self.screen = Screen::Tree;
    }

    fn make_level(&self, m: &Model, node: NodeId, crumb: String, total: u64) -> Level {
        let rows = m.rows(node);
        let exact = rows.len() <= RETAINED_ROWS;
        let mut out: Vec<TreeRow> = rows
            .into_iter()
            .enumerate()
            .map(|(order, row)| TreeRow {
                inline: row.span.len(),
                retained: if exact {
                    m.retained_span(row.span)
                } else {
                    row.span.len()
                },
                row,
                order,
            })
            .collect();
        sort_rows(&mut out, self.sort, m);
        Level {
            node,
            name: String::new(),
            path: String::new(),
            crumb,
            rows: out,
            sel: 0,
            total,
        }
    }

    /// The model of the file the tree shows.
    pub fn tree_model(&self) -> Option<&Model> {
        self.tree
            .as_ref()
            .and_then(|t| self.files.get(t.entry))
            .and_then(|f| f.model())
    }

    pub fn level(&self) -> Option<&Level> {
        self.tree.as_ref().and_then(|t| t.levels.last())
    }

    fn level_mut(&mut self) -> Option<&mut Level> {
        self.tree.as_mut().and_then(|t| t.levels.last_mut())
    }

    /// The selected tree row.
    pub fn selected_row(&self) -> Option<&TreeRow> {
        self.level().and_then(|l| l.rows.get(l.sel))
    }

    /// The Python path of the selected tree row from its file's root, along the way the user
    /// came (`_ResultsList__results[0].view["File:…"][1].data`).
    pub fn selected_path(&self) -> Option<String> {
        let m = self.tree_model()?;
        let l = self.level()?;
        let r = l.rows.get(l.sel)?;
        Some(join_path(
            &l.path,
            &path_segment(m.graph(), m.data(), r.row.label),
        ))
    }

    fn descend(&mut self) {
        let Some(m) = self.tree_model() else { return };
        let Some(r) = self.selected_row().cloned() else {
            return;
        };
        let g = m.graph();
        if m.rows(r.row.value).is_empty() {
            self.status = "nothing inside".into();
            return;
        }
        let mut crumb = label_text(g, m.data(), r.row.label);
        if let Some(c) = m.class_of(r.row.value) {
            crumb = format!("{crumb} {}", crate::model::short_name(&c));
        }
        let mut level = self.make_level(m, r.row.value, crumb, r.inline.max(1));
        level.name = label_text(g, m.data(), r.row.label);
        level.path = self.selected_path().unwrap_or_default();
        if let Some(t) = self.tree.as_mut() {
            t.levels.push(level);
        }
    }

    fn ascend(&mut self) {
        let multi = self.files.len() > 1 || self.is_context;
        if let Some(t) = self.tree.as_mut() {
            if t.levels.len() > 1 {
                t.levels.pop();
                return;
            }
            if multi {
                self.screen = Screen::Stages;
                self.tree = None;
            }
        }
    }

    /// class and attribute of the selected thing, if it can be marked.
    fn selected_mark_target(&self) -> Result<(String, String), String> {
        match self.screen {
            Screen::Classes => self
                .classes
                .get(self.class_sel)
                .map(|c| (c.class.clone(), c.attr.clone()))
                .ok_or_else(|| "no class.attr selected".to_string()),
            Screen::Tree => {
                let m = self.tree_model().ok_or("no file open")?;
                let r = self.selected_row().ok_or("nothing selected")?;
                if !matches!(r.row.label, Label::Attr(_)) {
                    return Err("only attributes of instances can be marked transient".into());
                }
                let class = m
                    .class_of(r.row.instance)
                    .ok_or("the owner of this attribute has no class")?;
                Ok((class, label_text(m.graph(), m.data(), r.row.label)))
            }
            Screen::Stages => {
                Err("open a stage (⏎) or the classes view (c) to mark attributes".into())
            }
        }
    }

    fn toggle_mark(&mut self, force: bool) {
        if self.marks_focus {
            let flat = self.marks.flat();
            if let Some((ri, class, attr)) = flat.get(self.marks_sel).cloned() {
                let rule_attrs = self.marks.rules.transient.get(ri).map(|r| r.attrs.len());
                if rule_attrs == Some(1) {
                    self.marks.remove_rule(ri);
                } else {
                    self.marks.toggle(&class, &attr);
                }
                self.after_marks_changed(format!("unmarked {class}.{attr}"));
                self.marks_sel = self
                    .marks_sel
                    .min(self.marks.flat().len().saturating_sub(1));
            }
            return;
        }
        match self.selected_mark_target() {
            Ok((class, attr)) => {
                let marking = self.marks.rules.matches(&class, &attr).is_none();
                if marking && !force && PROTECTED.contains(&attr.as_str()) {
                    self.modal = Modal::ConfirmProtected { class, attr };
                    return;
                }
                let now = self.marks.toggle(&class, &attr);
                let short = crate::model::short_name(&class).to_string();
                let msg = if now {
                    format!("marked {short}.{attr} transient (every instance, every stage)")
                } else {
                    format!("unmarked {short}.{attr}")
                };
                self.after_marks_changed(msg);
            }
            Err(e) => self.status = e,
        }
    }

    fn after_marks_changed(&mut self, msg: String) {
        self.recompute_all();
        self.status = format!(
            "{msg} · {} in total",
            crate::fmt::saves_or_grows(self.total_bytes(), self.total_after())
        );
    }

    // ---- keys -------------------------------------------------------------------------

    /// Handles one key press.
    pub fn on_key(&mut self, ev: KeyEvent) {
        if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        // Like Ctrl-C, in any dialog.
        if action_for(&ev) == Some(Action::Suspend) {
            self.suspend = true;
            return;
        }
        match self.modal.clone() {
            Modal::None => {}
            Modal::Help => {
                let max = super::view::help_max_scroll(self);
                let s = self.help_scroll.min(max);
                self.help_scroll = match ev.code {
                    KeyCode::Up | KeyCode::Char('k') => s.saturating_sub(1),
                    KeyCode::Down | KeyCode::Char('j') => (s + 1).min(max),
                    KeyCode::PageUp => s.saturating_sub(self.page.max(1)),
                    KeyCode::PageDown | KeyCode::Char(' ') => (s + self.page.max(1)).min(max),
                    KeyCode::Home | KeyCode::Char('g') => 0,
                    KeyCode::End | KeyCode::Char('G') => max,
                    _ => {
                        self.modal = Modal::None;
                        0
                    }
                };
                return;
            }
            Modal::Detail | Modal::Message { .. } => {
                self.modal = Modal::None;
                return;
            }
            Modal::Search(mut q) => {
                match ev.code {
                    KeyCode::Esc => self.modal = Modal::None,
                    KeyCode::Enter => {
                        self.modal = Modal::None;
                        self.last_search = Some(q.clone());
                        self.search(&q, false);
                    }
                    KeyCode::Backspace => {
                        q.pop();
                        self.modal = Modal::Search(q);
                    }
                    KeyCode::Char(c) => {
                        q.push(c);
                        self.modal = Modal::Search(q);
                    }
                    _ => {}
                }
                return;
            }
            Modal::ConfirmWrite => {
                match ev.code {
                    KeyCode::Char('y') => {
                        self.modal = Modal::Writing;
                        self.write_all();
                    }
                    KeyCode::Char('b') => self.backup = !self.backup,
                    KeyCode::Char('n') | KeyCode::Esc => {
                        self.modal = Modal::None;
                        self.status = "write cancelled; nothing changed".into();
                    }
                    _ => {}
                }
                return;
            }
            Modal::ConfirmQuit => {
                match ev.code {
                    KeyCode::Char('y') => self.quit = true,
                    _ => {
                        self.modal = Modal::None;
                        self.status = "quit cancelled".into();
                    }
                }
                return;
            }
            Modal::ConfirmProtected { .. } => {
                let yes = ev.code == KeyCode::Char('y');
                self.modal = Modal::None;
                if yes {
                    self.toggle_mark(true);
                } else {
                    self.status = "left protected attribute unmarked".into();
                }
                return;
            }
            Modal::Writing => return,
            Modal::Guards { .. } => {
                self.scroll_guards(ev.code);
                return;
            }
        }
        let Some(action) = action_for(&ev) else {
            return;
        };
        self.status.clear();
        self.act(action);
    }

    pub(crate) fn act(&mut self, a: Action) {
        match a {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page.max(1) as i64)),
            Action::PageDown => self.move_by(self.page.max(1) as i64),
            Action::First if self.marks_focus && !self.guard_sources.is_empty() => {
                self.show_guards()
            }
            Action::First => self.move_by(i64::MIN / 2),
            Action::Last => self.move_by(i64::MAX / 2),
            Action::Open => {
                if self.marks_focus {
                    return;
                }
                match self.screen {
                    Screen::Stages => {
                        let order = self.stage_order();
                        if let Some(&i) = order.get(self.stage_sel) {
                            self.open_entry(i);
                        }
                    }
                    Screen::Tree => self.descend(),
                    Screen::Classes => {}
                }
            }
            Action::Back => {
                if self.marks_focus {
                    self.marks_focus = false;
                    return;
                }
                match self.screen {
                    Screen::Tree => self.ascend(),
                    Screen::Classes => {
                        self.screen = if self.tree.is_some() {
                            Screen::Tree
                        } else {
                            Screen::Stages
                        }
                    }
                    Screen::Stages => {}
                }
            }
            Action::ToggleMark => self.toggle_mark(false),
            Action::Undo => {
                if self.marks.undo() {
                    self.after_marks_changed("undone".into());
                } else {
                    self.status = "nothing to undo".into();
                }
            }
            Action::CycleSort => {
                self.sort = match self.sort {
                    Sort::Retained => Sort::Name,
                    Sort::Name => Sort::File,
                    Sort::File => Sort::Retained,
                };
                let sort = self.sort;
                if let Some(t) = self.tree.as_mut()
                    && let Some(m) = self.files.get(t.entry).and_then(|f| f.model())
                {
                    for l in &mut t.levels {
                        let keep = l.rows.get(l.sel).map(|r| r.order);
                        sort_rows(&mut l.rows, sort, m);
                        l.sel = keep
                            .and_then(|o| l.rows.iter().position(|r| r.order == o))
                            .unwrap_or(0);
                    }
                }
                self.status = format!("sorted by {}", self.sort.name());
            }
            Action::Search => self.modal = Modal::Search(String::new()),
            Action::SearchNext => match self.last_search.clone() {
                Some(q) => self.search(&q, true),
                None => self.status = "no search yet (/ to search)".into(),
            },
            Action::Classes => {
                self.marks_focus = false;
                self.screen = if self.screen == Screen::Classes {
                    if self.tree.is_some() {
                        Screen::Tree
                    } else {
                        Screen::Stages
                    }
                } else {
                    Screen::Classes
                };
            }
            Action::Detail => {
                if self.screen == Screen::Tree && self.selected_row().is_some() {
                    self.modal = Modal::Detail;
                } else {
                    self.status = "detail works on a tree row".into();
                }
            }
            Action::FocusMarks => {
                if self.marks.rules.transient.is_empty() {
                    self.status = "no marks yet (space marks an attribute)".into();
                } else {
                    self.marks_focus = !self.marks_focus;
                }
            }
            Action::Export => self.export(),
            Action::Write => {
                let changed = if self.read_only {
                    Vec::new()
                } else {
                    self.changed_in_plan()
                };
                if self.read_only {
                    self.status = "read-only session (--read-only): writing is disabled".into();
                } else if self.write_plan().is_empty() {
                    self.status = "nothing to write: no marks hit any file".into();
                } else if !changed.is_empty() {
                    let lines: Vec<String> = changed
                        .iter()
                        .map(|&i| {
                            format!(
                                "{} changed on disk; press r to reload",
                                self.files[i].file.path.display()
                            )
                        })
                        .collect();
                    self.status = lines.first().cloned().unwrap_or_default();
                    self.modal = Modal::Message {
                        title: "Not written".into(),
                        text: format!(
                            "{}\n\nNothing was written: what is shown is no longer what is on disk.",
                            lines.join("\n")
                        ),
                    };
                } else if let Some(text) = self.unwritable() {
                    self.modal = Modal::Message {
                        title: "Cannot write".into(),
                        text,
                    };
                } else {
                    self.modal = Modal::ConfirmWrite;
                }
            }
            Action::Reload => self.reload(),
            Action::FullNames => self.full_names = !self.full_names,
            Action::Help => {
                self.help_scroll = 0;
                self.modal = Modal::Help;
            }
            Action::Quit => {
                if self.marks_focus {
                    self.marks_focus = false;
                } else if self.marks.unsaved && !self.marks.rules.transient.is_empty() {
                    self.modal = Modal::ConfirmQuit;
                } else {
                    self.quit = true;
                }
            }
            Action::ForceQuit => self.quit = true,
            Action::Suspend => self.suspend = true,
            Action::Copy => self.copy_selection(),
            Action::CopyMarks => {
                if self.marks.rules.transient.is_empty() {
                    self.status = "no marks to copy (space marks an attribute)".into();
                } else {
                    let n = self.marks.flat().len();
                    self.copy(self.marks.rules.to_toml());
                    self.status = format!(
                        "copied {n} mark{} as TOML to the clipboard (OSC 52)",
                        if n == 1 { "" } else { "s" }
                    );
                }
            }
        }
    }

    /// Puts `text` on the clipboard (through the terminal) and keeps it for `--print-on-exit`.
    fn copy(&mut self, text: String) {
        self.outbox.push(text.clone());
        self.copied.push(text);
    }

    /// `y`: the selected row's path (tree), file path (stages) or `class.attr` (classes).
    fn copy_selection(&mut self) {
        let text = match self.screen {
            Screen::Tree => self.selected_path(),
            Screen::Stages => self
                .stage_order()
                .get(self.stage_sel)
                .and_then(|&i| self.files.get(i))
                .map(|f| f.file.path.display().to_string()),
            Screen::Classes => self
                .classes
                .get(self.class_sel)
                .map(|c| format!("{}.{}", c.class, c.attr)),
        };
        match text {
            Some(t) if !t.is_empty() => {
                self.status = format!(
                    "copied {} to the clipboard (OSC 52)",
                    crate::fmt::elide_middle(&t, 70)
                );
                self.copy(t);
            }
            _ => self.status = "nothing selected to copy".into(),
        }
    }

    /// The selected row and the number of rows of the main table on this screen.
    pub fn selection(&self) -> (usize, usize) {
        match self.screen {
            Screen::Stages => (self.stage_sel, self.files.len()),
            Screen::Classes => (self.class_sel, self.classes.len()),
            Screen::Tree => self
                .level()
                .map(|l| (l.sel, l.rows.len()))
                .unwrap_or((0, 0)),
        }
    }

    /// Selects row `i` of the main table.
    pub(crate) fn select(&mut self, i: usize) {
        let (sel, _) = self.selection();
        self.move_by(i as i64 - sel as i64);
    }

    /// Moves the selection by `d` rows.
    pub(crate) fn move_by(&mut self, d: i64) {
        let clamp = |sel: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            (sel as i64).saturating_add(d).clamp(0, len as i64 - 1) as usize
        };
        if self.marks_focus {
            let n = self.marks.flat().len();
            self.marks_sel = clamp(self.marks_sel, n);
            return;
        }
        match self.screen {
            Screen::Stages => self.stage_sel = clamp(self.stage_sel, self.files.len()),
            Screen::Classes => self.class_sel = clamp(self.class_sel, self.classes.len()),
            Screen::Tree => {
                if let Some(l) = self.level_mut() {
                    l.sel = clamp(l.sel, l.rows.len());
                }
            }
        }
    }

    /// Searches the current listing (case-insensitive, name and type), from the row after the
    /// selection when `next`.
    fn search(&mut self, q: &str, next: bool) {
        let q = q.to_lowercase();
        let names: Vec<String> = match self.screen {
            Screen::Stages => self
                .stage_order()
                .iter()
                .map(|&i| format!("{} {}", self.files[i].task(), self.files[i].file_name()))
                .collect(),
            Screen::Classes => self
                .classes
                .iter()
                .map(|c| format!("{}.{}", c.class, c.attr))
                .collect(),
            Screen::Tree => {
                let (Some(m), Some(l)) = (self.tree_model(), self.level()) else {
                    return;
                };
                l.rows
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}",
                            label_text(m.graph(), m.data(), r.row.label),
                            crate::model::type_text(m, r.row.value, true)
                        )
                    })
                    .collect()
            }
        };
        let cur = match self.screen {
            Screen::Stages => self.stage_sel,
            Screen::Classes => self.class_sel,
            Screen::Tree => self.level().map(|l| l.sel).unwrap_or(0),
        };
        let n = names.len();
        let start = if next { cur + 1 } else { 0 };
        let hit = (0..n)
            .map(|k| (start + k) % n.max(1))
            .find(|&i| names[i].to_lowercase().contains(&q));
        match hit {
            Some(i) => {
                match self.screen {
                    Screen::Stages => self.stage_sel = i,
                    Screen::Classes => self.class_sel = i,
                    Screen::Tree => {
                        if let Some(l) = self.level_mut() {
                            l.sel = i;
                        }
                    }
                }
                let total = names
                    .iter()
                    .filter(|x| x.to_lowercase().contains(&q))
                    .count();
                let nth = names[..=i]
                    .iter()
                    .filter(|x| x.to_lowercase().contains(&q))
                    .count();
                self.status = format!("/{q}: match {nth} of {total}");
            }
            None => self.status = format!("/{q}: no match"),
        }
    }

    fn export(&mut self) {
        if self.marks.rules.transient.is_empty() {
            self.status = "no marks to export".into();
            return;
        }
        let stem = sanitize(&self.title);
        let toml_path = self.export_dir.join(format!("{stem}.transient.toml"));
        let py_path = self.export_dir.join(format!("{stem}.transient_fields.py"));
        let r1 = std::fs::write(&toml_path, self.marks.rules.to_toml());
        let r2 = std::fs::write(&py_path, self.marks.rules.to_python());
        match (r1, r2) {
            (Ok(()), Ok(())) => {
                self.marks.unsaved = false;
                self.status = format!(
                    "exported {} and {} (reopen with --rules)",
                    toml_path.display(),
                    py_path.display()
                );
            }
            (Err(e), _) | (_, Err(e)) => self.status = format!("export failed: {e}"),
        }
    }

    /// Files that change: (index, before, after).
    pub fn write_plan(&self) -> Vec<(usize, u64, u64)> {
        self.files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                let a = f.after?;
                (f.model().is_some() && a != f.bytes).then_some((i, f.bytes, a))
            })
            .collect()
    }

    /// Why some files of the write plan cannot be saved in place (read-only directory or
    /// mount), one line each; `None` when every one can.
    pub fn unwritable(&self) -> Option<String> {
        let plan = self.write_plan();
        // Reason -> the files it stops (one reason per directory, usually).
        let mut why: Vec<(String, Vec<String>)> = Vec::new();
        for (i, _, _) in &plan {
            let Some(f) = self.files.get(*i) else {
                continue;
            };
            let Some(reason) = crate::slim::why_not_writable(&f.file.path) else {
                continue;
            };
            match why.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, names)) => names.push(f.file_name()),
                None => why.push((reason, vec![f.file_name()])),
            }
        }
        let stopped: usize = why.iter().map(|(_, n)| n.len()).sum();
        (stopped > 0).then(|| {
            let list: Vec<String> = why
                .iter()
                .map(|(r, names)| format!("{r}:\n  {}", names.join(", ")))
                .collect();
            format!(
                "{stopped} of {} file(s) cannot be saved in place, so nothing is written.\n{}\n\nCopy the files somewhere writable, or export the marks (e) and run `picklescope slim` where you may write.",
                plan.len(),
                list.join("\n")
            )
        })
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

    fn write_all(&mut self) {
        let plan = self.write_plan();
        let selected = self.selected_name();
        let mut ok = 0;
        let mut errors = Vec::new();
        for (i, _, _) in &plan {
            let Some(f) = self.files.get(*i) else {
                continue;
            };
            let Some(m) = f.model() else { continue };
            let res = what_if(m, &self.marks.rules)
                .map_err(|e| e.to_string())
                .and_then(|w| {
                    save_in_place(
                        &m.doc,
                        &w.plan.cuts,
                        w.after,
                        &SaveOptions {
                            backup: self.backup,
                            ..SaveOptions::default()
                        },
                    )
                    .map_err(|e| e.to_string())
                });
            match res {
                Ok(_) => {
                    ok += 1;
                    let path = f.file.path.clone();
                    let r = Model::open(&path);
                    if let Some(fm) = self.files.get_mut(*i) {
                        fm.set_result(r);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        self.recompute_all();
        self.rebuild_classes();
        self.reopen_tree(selected);
        self.modal = Modal::None;
        if errors.is_empty() {
            self.marks.unsaved = false;
            self.status = format!(
                "wrote {ok} file(s), each verified; total now {}",
                crate::fmt::size(self.total_bytes())
            );
        } else {
            self.status = format!(
                "wrote {ok} file(s); {} failed (originals kept)",
                errors.len()
            );
            self.modal = Modal::Message {
                title: "Write failed".into(),
                text: format!(
                    "wrote {ok} file(s); {} failed, their originals kept:\n{}",
                    errors.len(),
                    errors.join("\n")
                ),
            };
        }
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Orders rows by the chosen key.
pub fn sort_rows(rows: &mut [TreeRow], sort: Sort, m: &Model) {
    match sort {
        Sort::Retained => rows.sort_by(|a, b| {
            b.retained
                .cmp(&a.retained)
                .then(b.inline.cmp(&a.inline))
                .then(a.order.cmp(&b.order))
        }),
        Sort::File => rows.sort_by_key(|r| r.order),
        Sort::Name => {
            let g = m.graph();
            let data = m.data();
            let mut keyed: Vec<(String, TreeRow)> = rows
                .iter()
                .map(|r| (label_text(g, data, r.row.label).to_lowercase(), r.clone()))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.order.cmp(&b.1.order)));
            for (slot, (_, r)) in rows.iter_mut().zip(keyed) {
                *slot = r;
            }
        }
    }
}
