//! The help overlay: every key, in one or two columns, scrollable.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::fmt::truncate;

use super::centered;
use crate::tui::app::App;
use crate::tui::keys::BINDINGS;

/// The help's lines for a terminal of `width` x `height`: one key a line, or two columns when
/// that fits and one column does not.
pub(super) fn help_lines(app: &App, width: u16, height: u16) -> Vec<Line<'static>> {
    let label = |b: &crate::tui::keys::Binding| {
        if app.ascii {
            crate::tui::ascii::key_words(b.label)
        } else {
            b.label.to_string()
        }
    };
    let lw = if app.ascii { 14 } else { 8 };
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(
                    format!(" {:<lw$}", label(b)),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(
        " T marks a transient attribute. Sizes: inline = bytes in the stream;",
    ));
    lines.push(Line::from(
        " retained = what disappears if removed (shared objects counted once).",
    ));
    lines.push(Line::from(" any other key closes this help"));
    let half = BINDINGS.len().div_ceil(2);
    if lines.len() as u16 + 2 > height && width >= 80 && half as u16 + 3 <= height {
        // Short but wide terminal: the keys in two columns, the notes shortened.
        let cell = |b: &crate::tui::keys::Binding| {
            format!(" {:<w$}{}", label(b), truncate(b.help, 30), w = lw - 1)
        };
        lines = (0..half)
            .map(|i| {
                let left = cell(&BINDINGS[i]);
                let right = BINDINGS.get(i + half).map(cell).unwrap_or_default();
                Line::from(format!("{left:<39}{right}"))
            })
            .collect();
        lines.push(Line::from(
            " T = transient · any other key closes this help",
        ));
    }
    lines
}

/// How far the help can scroll on the last drawn terminal size.
pub fn help_max_scroll(app: &App) -> usize {
    let (w, h) = app.size;
    let lines = help_lines(app, w, h).len();
    lines.saturating_sub(h.saturating_sub(2) as usize)
}

pub(super) fn draw_help(f: &mut Frame, app: &App, area: Rect) {
    let lines = help_lines(app, area.width, area.height);
    let r = centered(area, 80, lines.len() as u16 + 2);
    let visible = r.height.saturating_sub(2) as usize;
    let max = lines.len().saturating_sub(visible);
    let top = app.help_scroll.min(max);
    let title = if max > 0 {
        format!(
            " Keys {}-{} of {} · j/k scroll ",
            top + 1,
            (top + visible).min(lines.len()),
            lines.len()
        )
    } else {
        " Keys ".to_string()
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((top as u16, 0))
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
