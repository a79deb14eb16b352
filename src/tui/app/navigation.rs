//! Moving through the tree: opening a file, its levels and rows, the selection, going down and
//! up, search, and the order of rows.

use crate::model::{Model, join_path, label_text, path_segment};
use crate::pickle::NodeId;

use super::lazy::Then;
use super::{App, Level, Screen, Sort, TreeNav, TreeRow};
use crate::tui::state::{Status, listed_size};

impl App {
    pub(super) fn open_entry(&mut self, idx: usize) {
        let Some(f) = self.files.get(idx) else { return };
        let Some(m) = f.model() else {
            self.status = match &f.status {
                Status::Pending => format!("{} is still being scanned…", f.file_name()),
                _ => f.error.clone().unwrap_or_else(|| "cannot open".into()),
            };
            return;
        };
        let (root, name) = (m.graph().root(), f.file_name());
        if self.prepare(idx, root, Then::Top, &name) {
            return;
        }
        let Some(f) = self.files.get(idx) else { return };
        let Some(m) = f.model() else { return };
        let root = m.graph().root();
        let crumb = match f.stage() {
            Some(s) => format!("stage {s} {}", f.task()),
            None => f.file_name(),
        };
        let level = self.make_level(m, root, m.top_rows(), crumb, m.total());
        self.tree = Some(TreeNav {
            entry: idx,
            levels: vec![level],
        });
        self.screen = Screen::Tree;
    }

    pub(super) fn make_level(
        &self,
        m: &Model,
        node: NodeId,
        rows: Vec<crate::model::Row>,
        crumb: String,
        total: u64,
    ) -> Level {
        let n = rows.len();
        let mut out: Vec<TreeRow> = rows
            .into_iter()
            .enumerate()
            .map(|(order, row)| TreeRow {
                inline: m.inline_span(row.span),
                retained: listed_size(m, row.span, n),
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
            sub: None,
        }
    }

    /// The model of the file the tree shows.
    pub fn tree_model(&self) -> Option<&Model> {
        let t = self.tree.as_ref()?;
        if let Some(m) = t.levels.iter().rev().find_map(|l| l.sub.as_deref()) {
            return Some(m);
        }
        self.files.get(t.entry).and_then(|f| f.model())
    }

    /// True when the tree shows a pickle held in a `bytes` value (nothing there can be marked).
    pub fn in_nested(&self) -> bool {
        self.tree
            .as_ref()
            .is_some_and(|t| t.levels.iter().any(|l| l.sub.is_some()))
    }

    pub fn level(&self) -> Option<&Level> {
        self.tree.as_ref().and_then(|t| t.levels.last())
    }

    pub(super) fn level_mut(&mut self) -> Option<&mut Level> {
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

    pub(super) fn descend(&mut self) {
        let Some(m) = self.tree_model() else { return };
        let Some(r) = self.selected_row().cloned() else {
            return;
        };
        if !self.in_nested()
            && m.is_lean()
            && let Some(t) = &self.tree
        {
            let (entry, depth) = (t.entry, t.levels.len());
            let name = label_text(m.graph(), m.data(), r.row.label);
            let then = Then::Descend {
                depth,
                order: r.order,
            };
            if self.prepare(entry, r.row.value, then, &name) {
                return;
            }
        }
        let Some(m) = self.tree_model() else { return };
        let g = m.graph();
        if m.rows(r.row.value).is_empty() {
            self.open_nested(&r);
            return;
        }
        let mut crumb = label_text(g, m.data(), r.row.label);
        if let Some(c) = m.class_of(r.row.value) {
            crumb = format!("{crumb} {}", crate::model::short_name(&c));
        }
        let mut level =
            self.make_level(m, r.row.value, m.rows(r.row.value), crumb, r.inline.max(1));
        level.name = label_text(g, m.data(), r.row.label);
        level.path = self.selected_path().unwrap_or_default();
        if let Some(t) = self.tree.as_mut() {
            t.levels.push(level);
        }
    }

    /// Opens the pickle a `bytes` row holds as a level of its own.
    fn open_nested(&mut self, r: &TreeRow) {
        let Some(m) = self.tree_model() else { return };
        let name = label_text(m.graph(), m.data(), r.row.label);
        let path = self.selected_path().unwrap_or_default();
        let level = match crate::model::nested::open_nested(m, r.row.value, &name) {
            None => {
                self.status = "nothing inside".into();
                return;
            }
            Some(Err(e)) => {
                self.status = e.to_string();
                return;
            }
            Some(Ok(sub)) => {
                let sub = std::sync::Arc::new(sub);
                let (crumb, loads) = match sub.doc.compressed {
                    Some(c) => (
                        format!("{name} ‹{} pickle›", c.format.name()),
                        format!(
                            "pickle.loads({}.decompress({path}))",
                            crate::model::nested::python_module(c.format)
                        ),
                    ),
                    None => (format!("{name} ‹pickle›"), format!("pickle.loads({path})")),
                };
                let mut level =
                    self.make_level(&sub, sub.graph().root(), sub.top_rows(), crumb, sub.total());
                level.name = name;
                level.path = loads;
                level.sub = Some(sub);
                level
            }
        };
        self.status = "a pickle held in bytes: read-only (slim does not rewrite it)".into();
        if let Some(t) = self.tree.as_mut() {
            t.levels.push(level);
        }
    }

    pub(super) fn ascend(&mut self) {
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
    pub(super) fn search(&mut self, q: &str, next: bool) {
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
