//! Drawing: every screen and dialog renders from `&App`; drawing never mutates state.

mod classes;
mod detail;
mod dialogs;
mod footer;
mod header;
mod help;
mod marks;
mod stages;
mod tree;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Clear, Paragraph};

use crate::model::short_name;

use super::app::{App, Modal, Screen};
use classes::draw_classes;
use detail::draw_detail;
use dialogs::{draw_confirm_write, draw_guards, draw_message, draw_question};
use footer::draw_footer;
use header::draw_header;
use help::draw_help;
pub use help::help_max_scroll;
use marks::draw_marks;
use stages::draw_stages;
use tree::draw_tree;

/// Colours, or none at all under NO_COLOR.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        let look =
            crate::tui::ascii::Env::current().look(false, crate::tui::ascii::ColorChoice::Auto);
        Theme { color: look.color }
    }
    pub(crate) fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    pub(crate) fn sel(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    pub(crate) fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub(crate) fn warn(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Red)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
}

/// A horizontal bar of `width` cells for `frac` in [0, 1], with eighth-cell precision.
pub fn bar(frac: f64, width: usize) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let f = if frac.is_finite() {
        frac.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (f * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let mut s = "█".repeat(full.min(width));
    if full < width {
        s.push_str(PARTS[eighths % 8]);
    }
    s
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App, theme: Theme) {
    let area = f.area();
    let danger = app.dangerous();
    let Regions {
        header,
        banner,
        main,
        marks,
        footer,
    } = regions(app, area);
    let marks_h = marks.height;
    draw_header(f, app, header, theme);
    let [danger_line, changed_line] = Layout::vertical([
        Constraint::Length(u16::from(!danger.is_empty())),
        Constraint::Fill(1),
    ])
    .areas(banner);
    if !danger.is_empty() {
        let msg = format!(
            " ⚠ DANGEROUS: this pickle names {} — loading it in Python would run code. picklescope never does.",
            danger.join(", ")
        );
        f.render_widget(Paragraph::new(msg).style(theme.warn()), danger_line);
    }
    if let Some(msg) = changed_banner(app, changed_line.width) {
        f.render_widget(Paragraph::new(msg).style(theme.warn()), changed_line);
    }
    let elided = match app.screen {
        Screen::Stages => {
            draw_stages(f, app, main, theme);
            None
        }
        Screen::Tree => draw_tree(f, app, main, theme),
        Screen::Classes => {
            draw_classes(f, app, main, theme);
            None
        }
    };
    if marks_h > 0 {
        draw_marks(f, app, marks, theme);
    }
    draw_footer(f, app, footer, elided, theme);
    match &app.modal {
        Modal::None => {}
        Modal::Help => draw_help(f, app, area),
        Modal::Guards {
            title,
            lines,
            scroll,
        } => draw_guards(f, area, title, lines, *scroll),
        Modal::Detail => draw_detail(f, app, area, theme),
        Modal::Search(q) => {
            let r = Rect {
                x: footer.x,
                y: footer.y,
                width: footer.width,
                height: 1,
            };
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(format!("/{q}█  (⏎ jump · Esc cancel)")).style(theme.bold()),
                r,
            );
        }
        Modal::ConfirmWrite | Modal::Writing => draw_confirm_write(f, app, area, theme),
        Modal::Message { title, text } => draw_message(f, area, title, text, theme),
        Modal::ConfirmQuit => draw_question(
            f,
            area,
            "Quit?",
            &[
                "Your marks are not exported or written.",
                "",
                "y quit · any other key stays",
            ],
            theme,
        ),
        Modal::ConfirmProtected { class, attr } => draw_question(
            f,
            area,
            "Protected attribute",
            &[
                &format!("{}.{attr} is protected:", short_name(class)),
                "the pipeline needs it after loading (QA scores, flag commands...).",
                "",
                "y mark it anyway · any other key leaves it",
            ],
            theme,
        ),
    }
    if app.ascii {
        crate::tui::ascii::transliterate(f.buffer_mut());
    }
}

/// The line naming the files changed on disk since they were read, fitted to `width`.
fn changed_banner(app: &App, width: u16) -> Option<String> {
    let changed = app.changed_files();
    if changed.is_empty() {
        return None;
    }
    let names: Vec<String> = changed.iter().map(|&i| app.files[i].file_name()).collect();
    let tail = if changed.iter().all(|i| app.reloading.contains(i)) {
        " · reloading…"
    } else {
        " · r reloads (the marks stay); w refuses them until then"
    };
    let head = " CHANGED ON DISK: ";
    let room = (width as usize).saturating_sub(head.chars().count() + tail.chars().count());
    Some(format!(
        "{head}{}{tail}",
        crate::fmt::elide_middle(&names.join(", "), room.max(12))
    ))
}

/// Where each part of the screen goes (drawing and mouse hit-testing share it).
#[derive(Debug, Clone, Copy)]
pub struct Regions {
    pub header: Rect,
    pub banner: Rect,
    /// The main table: top border (with the breadcrumb), header row, rows, bottom border.
    pub main: Rect,
    /// The what-if pane (height 0 without marks).
    pub marks: Rect,
    pub footer: Rect,
}

/// Lays the screen out for `app` in `area`.
pub fn regions(app: &App, area: Rect) -> Regions {
    let marks_h = if app.marks.rules.transient.is_empty() {
        0
    } else {
        (app.marks.flat().len() as u16 + 2)
            .min(7)
            .min(area.height / 3)
    };
    let banner_h =
        u16::from(!app.dangerous().is_empty()) + u16::from(app.files.iter().any(|f| f.changed));
    let [header, banner, main, marks, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(banner_h),
        Constraint::Min(3),
        Constraint::Length(marks_h),
        Constraint::Length(1),
    ])
    .areas(area);
    Regions {
        header,
        banner,
        main,
        marks,
        footer,
    }
}

/// First visible row so that `sel` stays on screen.
pub fn window(sel: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    sel.saturating_sub(height / 2).min(len - height)
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
