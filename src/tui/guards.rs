//! `g` on a mark: the reads of that attribute in the `--source` trees, in a scrolling pane.

use crossterm::event::KeyCode;

use super::app::{App, Modal};
use crate::guards::text::to_text;
use crate::guards::{empties, scan};
use crate::slim::Rules;

impl App {
    /// Searches the `--source` trees for unguarded reads of the selected mark's attribute
    /// (on the mark's classes and their subclasses) and shows them.
    pub(crate) fn show_guards(&mut self) {
        let flat = self.marks.flat();
        let Some((_, class, attr)) = flat.get(self.marks_sel) else {
            self.status = "no mark selected".into();
            return;
        };
        let mut rules = Rules::default();
        rules.add(class, attr);
        let empties = empties(self.files.iter().filter_map(|f| f.model()), &rules);
        match scan(&self.guard_sources, &[], &rules, &empties) {
            Ok(found) => {
                let text = to_text(&found);
                self.modal = Modal::Guards {
                    title: format!(" Reads of {class}.{attr} (↑↓ scroll · any other key closes) "),
                    lines: text.lines().map(str::to_string).collect(),
                    scroll: 0,
                };
            }
            Err(e) => self.status = format!("guards: {e}"),
        }
    }

    /// Keys inside the guards pane: arrows and pages scroll, anything else closes it.
    pub(crate) fn scroll_guards(&mut self, code: KeyCode) {
        let page = self.page.max(1);
        let Modal::Guards { lines, scroll, .. } = &mut self.modal else {
            return;
        };
        let last = lines.len().saturating_sub(1);
        match code {
            KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => *scroll = (*scroll + 1).min(last),
            KeyCode::PageUp => *scroll = scroll.saturating_sub(page),
            KeyCode::PageDown | KeyCode::Char(' ') => *scroll = (*scroll + page).min(last),
            _ => self.modal = Modal::None,
        }
    }
}
