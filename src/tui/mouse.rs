//! The mouse: the wheel scrolls, a click selects a row, a double click opens it, a click on the
//! breadcrumb goes up a level. Hit-testing uses the same layout as drawing (`view::regions`).

use std::time::{Duration, Instant};

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::app::{App, Hit, LastClick, Modal, Screen};
use super::keys::Action;
use super::view::{regions, window};

/// Two clicks on the same row within this time open it.
pub const DOUBLE_CLICK: Duration = Duration::from_millis(400);
/// Rows one wheel step moves.
const WHEEL_ROWS: i64 = 3;

/// What is under cell (`col`, `row`) of a screen of size `area`.
pub fn hit(app: &App, area: Rect, col: u16, row: u16) -> Hit {
    let r = regions(app, area);
    let p = Position { x: col, y: row };
    if r.main.contains(p) {
        if row == r.main.y {
            return Hit::Crumb;
        }
        // Border, header row, then the rows.
        let first = r.main.y + 2;
        let inner_h = r.main.height.saturating_sub(3) as usize;
        if row < first || (row - first) as usize >= inner_h {
            return Hit::Nothing;
        }
        let (sel, len) = app.selection();
        let i = window(sel, len, inner_h) + (row - first) as usize;
        return if i < len { Hit::Row(i) } else { Hit::Nothing };
    }
    if r.marks.contains(p) && row > r.marks.y {
        let n = app.marks.flat().len();
        let inner_h = r.marks.height.saturating_sub(2) as usize;
        let i = window(app.marks_sel, n, inner_h) + (row - r.marks.y - 1) as usize;
        return if i < n { Hit::Mark(i) } else { Hit::Nothing };
    }
    Hit::Nothing
}

impl App {
    /// Handles one mouse event on a screen of size `area`, at time `now`.
    pub fn on_mouse(&mut self, ev: MouseEvent, area: Rect, now: Instant) {
        match self.modal {
            Modal::None => {}
            Modal::Help if ev.kind == MouseEventKind::ScrollDown => {
                self.help_scroll = (self.help_scroll + WHEEL_ROWS as usize)
                    .min(super::view::help_max_scroll(self));
                return;
            }
            Modal::Help if ev.kind == MouseEventKind::ScrollUp => {
                self.help_scroll = self.help_scroll.saturating_sub(WHEEL_ROWS as usize);
                return;
            }
            Modal::Help | Modal::Detail => {
                if let MouseEventKind::Down(_) = ev.kind {
                    self.modal = Modal::None;
                }
                return;
            }
            // Dialogs answer to keys only.
            _ => return,
        }
        match ev.kind {
            MouseEventKind::ScrollDown => self.move_by(WHEEL_ROWS),
            MouseEventKind::ScrollUp => self.move_by(-WHEEL_ROWS),
            MouseEventKind::Down(MouseButton::Left) => {
                let h = hit(self, area, ev.column, ev.row);
                let double = self.last_click.is_some_and(|c| {
                    c.hit == h && now.saturating_duration_since(c.at) <= DOUBLE_CLICK
                });
                self.last_click = Some(LastClick { at: now, hit: h });
                match h {
                    Hit::Row(i) => {
                        self.marks_focus = false;
                        self.select(i);
                        if double {
                            self.last_click = None;
                            self.status.clear();
                            self.act(Action::Open);
                        }
                    }
                    Hit::Mark(i) => {
                        self.marks_focus = true;
                        self.marks_sel = i;
                    }
                    Hit::Crumb if self.screen == Screen::Tree => {
                        self.marks_focus = false;
                        self.status.clear();
                        self.act(Action::Back);
                    }
                    Hit::Crumb | Hit::Nothing => {}
                }
            }
            _ => {}
        }
    }
}
