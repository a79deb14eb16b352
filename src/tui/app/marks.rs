//! Marks and what they do: marking a class.attr transient, the what-if totals, exporting the
//! rules, and writing the marked files.

use crate::model::{Label, label_text};
use crate::slim::{PROTECTED, SaveOptions, save_in_place, what_if};

use super::{App, Modal, Screen};

impl App {
    /// class and attribute of the selected thing, if it can be marked.
    pub(super) fn selected_mark_target(&self) -> Result<(String, String), String> {
        if let Some(f) = self
            .files
            .iter()
            .find(|f| f.model().is_some_and(|m| m.is_lean()))
        {
            return Err(lean_refusal(&f.file_name()));
        }
        match self.screen {
            Screen::Classes => self
                .classes
                .get(self.class_sel)
                .map(|c| (c.class.clone(), c.attr.clone()))
                .ok_or_else(|| "no class.attr selected".to_string()),
            Screen::Tree => {
                if self.in_nested() {
                    return Err(
                        "a pickle held in bytes is read-only: slim does not rewrite it".into(),
                    );
                }
                let m = self.tree_model().ok_or("no file open")?;
                let r = self.selected_row().ok_or("nothing selected")?;
                if !matches!(r.row.label, Label::Attr(_)) {
                    // A slot or call argument of a slots-tuple class or namedtuple, or such
                    // an instance itself: say why it cannot be marked.
                    let parent = self.level().map_or(r.row.instance, |l| l.node);
                    let fixed = crate::model::fixed::cannot_slim(m, parent)
                        .or_else(|| crate::model::fixed::cannot_slim(m, r.row.value));
                    return Err(fixed.unwrap_or_else(|| {
                        "only attributes of instances can be marked transient".into()
                    }));
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

    pub(super) fn toggle_mark(&mut self, force: bool) {
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

    pub(super) fn after_marks_changed(&mut self, msg: String) {
        self.recompute_all();
        self.status = format!(
            "{msg} · {} in total",
            crate::fmt::saves_or_grows(self.total_bytes(), self.total_after())
        );
    }

    pub(super) fn export(&mut self) {
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

    pub(super) fn write_all(&mut self) {
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
                    let r = f.file.open();
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

/// Why a file opened with the lean parse takes no marks, in one line.
pub(crate) fn lean_refusal(file: &str) -> String {
    format!(
        "{file} was opened without its full parse (too large): marks and their what-if need it; \
         use `picklescope slim {file} --rules R.toml --dry-run`"
    )
}
