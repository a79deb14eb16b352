//! The marks pane: the marked class.attr groups and what each saves.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Row as TRow, Table};

use crate::fmt::{pct, saved_col, saves_or_grows};
use crate::model::short_name;

use super::{Theme, window};
use crate::tui::app::App;

pub(super) fn draw_marks(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let flat = app.marks.flat();
    let total = app.total_bytes();
    let after_total = app.total_after();
    let stages_hit = app
        .files
        .iter()
        .filter(|f| f.after.is_some_and(|a| a != f.bytes))
        .count();
    let title = format!(
        " What-if · {} rule{} · {} in {} file{} ({}) {}",
        flat.len(),
        if flat.len() == 1 { "" } else { "s" },
        saves_or_grows(total, after_total),
        stages_hit,
        if stages_hit == 1 { "" } else { "s" },
        pct(total.abs_diff(after_total), total),
        if app.marks_focus {
            "· space removes · Tab leaves "
        } else {
            "· Tab focuses "
        }
    );
    let border = if app.marks_focus {
        theme.fg(Color::Yellow)
    } else {
        Style::default()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border);
    let inner_h = area.height.saturating_sub(2) as usize;
    let start = window(app.marks_sel, flat.len(), inner_h);
    let rows: Vec<TRow> =
        flat.iter()
            .enumerate()
            .skip(start)
            .take(inner_h)
            .map(|(k, (ri, class, attr))| {
                let (inst, saved, files) = app.files.iter().fold((0u64, 0i64, 0usize), |acc, f| {
                    match f.hits.get(&(*ri, attr.clone())) {
                        Some((i, s)) => (acc.0 + i, acc.1 + s, acc.2 + 1),
                        None => acc,
                    }
                });
                let name = if app.full_names {
                    class.clone()
                } else {
                    short_name(class).to_string()
                };
                let style = if app.marks_focus && k == app.marks_sel {
                    theme.sel()
                } else {
                    Style::default()
                };
                TRow::new(vec![
                    Cell::from("✔"),
                    Cell::from(format!("{name}.{attr}")),
                    Cell::from(format!("{inst:>6} inst.")),
                    Cell::from(format!("{:>10}", saved_col(saved))),
                    Cell::from(format!("{files} file{}", if files == 1 { "" } else { "s" })),
                ])
                .style(style)
            })
            .collect();
    let widths = [
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(12),
        Constraint::Length(10),
        Constraint::Length(9),
    ];
    f.render_widget(
        Table::new(rows, widths).block(block).column_spacing(1),
        area,
    );
}
