//! The classes screen: class.attr groups with their instances, sizes and stages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Row as TRow, Table};

use crate::fmt::{size_in, truncate};
use crate::model::short_name;

use super::{Theme, window};
use crate::tui::app::App;

pub(super) fn draw_classes(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Classes · class.attr across the whole context ");
    let inner_h = area.height.saturating_sub(3) as usize;
    let start = window(app.class_sel, app.classes.len(), inner_h);
    let wide = area.width >= 90;
    let rows: Vec<TRow> = app
        .classes
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(k, c)| {
            let marked = app.marks.rules.matches(&c.class, &c.attr).is_some();
            let name = if app.full_names {
                c.class.clone()
            } else {
                short_name(&c.class).to_string()
            };
            let stages: Vec<String> = c.stages.iter().map(|s| s.to_string()).collect();
            let mut style = if marked {
                theme.fg(Color::Magenta)
            } else {
                Style::default()
            };
            if k == app.class_sel && !app.marks_focus {
                style = theme.sel();
            }
            let mut cells = vec![
                Cell::from(format!(
                    "{}{}",
                    if k == app.class_sel { "▶" } else { " " },
                    if marked { "T" } else { " " }
                )),
                Cell::from(format!("{name}.{}", c.attr)),
                Cell::from(format!("{:>7}", c.instances)),
            ];
            if wide {
                cells.push(Cell::from(format!("{:>10}", size_in(c.bytes, 10))));
            }
            cells.push(Cell::from(format!("{:>10}", size_in(c.retained, 10))));
            cells.push(Cell::from(truncate(&stages.join(","), 20)));
            TRow::new(cells).style(style)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(7),
    ];
    let mut header = vec!["", "class.attr", "  inst."];
    if wide {
        widths.push(Constraint::Length(10));
        header.push("    inline");
    }
    widths.extend([Constraint::Length(10), Constraint::Length(20)]);
    header.extend(["  retained", "stages"]);
    f.render_widget(
        Table::new(rows, widths)
            .header(TRow::new(header).style(theme.bold()))
            .block(block)
            .column_spacing(1),
        area,
    );
}
