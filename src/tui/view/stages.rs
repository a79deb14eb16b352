//! The stages screen: one row per file with its stage, task, size, share and bar.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Row as TRow, Table};

use crate::fmt::{change_pct, size_in, truncate};

use super::{Theme, bar, window};
use crate::tui::app::App;

pub(super) fn draw_stages(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let block = Block::default().borders(Borders::ALL).title(" Stages ");
    let inner_h = area.height.saturating_sub(3) as usize;
    let order = app.stage_order();
    let total = app.total_bytes().max(1);
    let max = app.files.iter().map(|f| f.bytes).max().unwrap_or(1).max(1);
    let wide = area.width >= 70;
    // Narrow terminals drop whole columns (read back first, then after/saved without marks)
    // rather than cutting the units off the sizes.
    let marked = !app.marks.rules.transient.is_empty();
    let show_reread = area.width >= 60;
    let show_after = marked || area.width >= 50;
    let bar_w = (area.width as usize)
        .saturating_sub(4 + 26 + 11 + 11 + 6 + 10 + 11)
        .clamp(4, 30);
    let start = window(app.stage_sel, order.len(), inner_h);
    let rows: Vec<TRow> = order
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(k, &i)| {
            let fs = &app.files[i];
            let num = fs
                .stage()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "-".into());
            let after = fs.after_or_before();
            let big = fs.bytes * 10 >= total;
            let mut style = if big { theme.bold() } else { Style::default() };
            if fs.error.is_some() {
                style = theme.fg(Color::Red);
            }
            if fs.changed {
                style = theme.fg(Color::Yellow);
            }
            if k == app.stage_sel && !app.marks_focus {
                style = theme.sel();
            }
            let marker = if k == app.stage_sel { "▶" } else { " " };
            let mut cells = vec![
                Cell::from(format!("{marker}{num:>3}")),
                Cell::from(if fs.changed {
                    format!("[changed] {}", truncate(&fs.task(), 20))
                } else {
                    truncate(&fs.task(), 30)
                }),
                Cell::from(format!(
                    "{:>10}",
                    if fs.error.is_some() {
                        "error".into()
                    } else {
                        size_in(fs.bytes, 10)
                    }
                )),
            ];
            if wide {
                cells.push(
                    Cell::from(bar(fs.bytes as f64 / max as f64, bar_w))
                        .style(theme.fg(Color::Cyan)),
                );
            }
            if show_reread {
                cells.push(Cell::from(format!(
                    "{:>10}",
                    if fs.reread_times == 0 || fs.error.is_some() {
                        String::new()
                    } else {
                        size_in(fs.reread_bytes(), 10)
                    }
                )));
            }
            if !show_after {
                return TRow::new(cells).style(style);
            }
            cells.push(Cell::from(format!(
                "{:>10}",
                if marked {
                    size_in(after, 10)
                } else {
                    String::new()
                }
            )));
            cells.push(
                Cell::from(if after != fs.bytes {
                    format!(
                        "{:>5}",
                        change_pct(fs.bytes, after)
                            .trim_end_matches(".0%")
                            .to_string()
                            + "%"
                    )
                } else {
                    String::new()
                })
                .style(theme.fg(Color::Green)),
            );
            TRow::new(cells).style(style)
        })
        .collect();
    // The task column gives way first: sizes keep their units at any width.
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Fill(1),
        Constraint::Length(10),
    ];
    let mut header = vec!["   #", "task", "      size"];
    if wide {
        widths.push(Constraint::Length(bar_w as u16));
        header.push("share");
    }
    if show_reread {
        widths.push(Constraint::Length(10));
        header.push(" read back");
    }
    if show_after {
        widths.extend([Constraint::Length(10), Constraint::Length(5)]);
        header.extend(["     after", "saved"]);
    }
    let t = Table::new(rows, widths)
        .header(TRow::new(header).style(theme.bold()))
        .block(block)
        .column_spacing(1);
    f.render_widget(t, area);
    let _ = total;
}
