//! Dialogs over the screens: messages, questions, the write confirmation, the guards list.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::fmt::{size, truncate};

use super::{Theme, centered};
use crate::tui::app::{App, Modal};

/// A message in a box, wrapped to the terminal's width; any key closes it.
pub(super) fn draw_message(f: &mut Frame, area: Rect, title: &str, text: &str, theme: Theme) {
    let w = area.width.min(78);
    let inner = w.saturating_sub(2).max(1) as usize;
    let body = format!("{text}\n\n(any key closes this)");
    let rows = Paragraph::new(body.as_str())
        .wrap(Wrap { trim: false })
        .line_count(inner as u16);
    let r = centered(area, w, rows as u16 + 2);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(body).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {title} "))
                .border_style(theme.fg(Color::Yellow)),
        ),
        r,
    );
}

/// The `g` pane: findings text from `scroll` on, in a box nearly the whole screen.
pub(super) fn draw_guards(f: &mut Frame, area: Rect, title: &str, lines: &[String], scroll: usize) {
    let r = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    let shown: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .map(|l| Line::from(l.as_str()))
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(shown).block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}

pub(super) fn draw_question(f: &mut Frame, area: Rect, title: &str, lines: &[&str], theme: Theme) {
    let w = lines.iter().map(|l| l.chars().count()).max().unwrap_or(20) as u16 + 4;
    let r = centered(area, w.max(30), lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let text: Vec<Line> = lines.iter().map(|l| Line::from(*l)).collect();
    f.render_widget(
        Paragraph::new(text).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {title} "))
                .border_style(theme.fg(Color::Yellow)),
        ),
        r,
    );
}

pub(super) fn draw_confirm_write(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let plan = app.write_plan();
    let mut lines = vec![format!(
        " {} {} change, atomically; the rest stay byte-for-byte",
        plan.len(),
        if plan.len() == 1 { "file" } else { "files" }
    )];
    for (i, b, a) in plan.iter().take(12) {
        lines.push(format!(
            "   {:<28} {:>10} → {:>10}",
            truncate(&app.files[*i].file_name(), 28),
            size(*b),
            size(*a)
        ));
    }
    if plan.len() > 12 {
        lines.push(format!("   … and {} more", plan.len() - 12));
    }
    lines.push(format!(
        " total {} → {}     backup: {} (b to toggle)",
        size(app.total_bytes()),
        size(app.total_after()),
        if app.backup { "on, <file>.orig" } else { "off" }
    ));
    if app.modal == Modal::Writing {
        lines.push(" writing and verifying…".into());
    } else {
        lines.push("                 y write · n cancel".into());
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    draw_question(f, area, "Write slimmed pickles?", &refs, theme);
}
