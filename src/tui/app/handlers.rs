//! Key events: what each key does on each screen and in each dialog, and copying.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::navigation::sort_rows;
use super::{App, Modal, Screen, Sort};
use crate::tui::keys::{Action, action_for};

impl App {
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
                let max = crate::tui::view::help_max_scroll(self);
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
                    self.copy_in_detail_bytes();
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
    pub(super) fn copy(&mut self, text: String) {
        self.outbox.push(text.clone());
        self.copied.push(text);
    }

    /// `y`: the selected row's path (tree), file path (stages) or `class.attr` (classes).
    pub(super) fn copy_selection(&mut self) {
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
}
