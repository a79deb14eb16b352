//! The tree screen: the breadcrumb, the rows of one level and the columns they share out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TRow, Table};

use crate::fmt::{elide_end, elide_middle, size_in, truncate_left, width};
use crate::model::{Label, label_text, type_text};

use super::{Theme, bar, window};
use crate::tui::app::{App, TreeRow};

pub(super) fn crumbs(app: &App) -> String {
    let Some(t) = &app.tree else {
        return String::new();
    };
    let path = t
        .levels
        .iter()
        .map(|l| l.crumb.clone())
        .collect::<Vec<_>>()
        .join(" › ");
    if app.files.get(t.entry).is_some_and(|f| f.changed) {
        // At the end: a long path is cut on the left.
        format!("{path} [changed on disk]")
    } else {
        path
    }
}

/// Draws the tree; returns the full name of the selected row when the table had to elide it.
pub(super) fn draw_tree(f: &mut Frame, app: &App, area: Rect, theme: Theme) -> Option<String> {
    let (Some(m), Some(level)) = (app.tree_model(), app.level()) else {
        let msg = if app.loaded_count() < app.files.len() {
            format!("scanning…{}", super::header::scan_text(app))
        } else if let Some(o) = &app.opening {
            // The top level of a file opened lean waits for a container's item count.
            format!(
                "reading {} ({})… {}%",
                o.name,
                crate::fmt::size(o.bytes),
                o.percent()
            )
        } else {
            "nothing to show".into()
        };
        f.render_widget(
            Paragraph::new(msg).block(Block::default().borders(Borders::ALL)),
            area,
        );
        return None;
    };
    let g = m.graph();
    let data = m.data();
    // The breadcrumb matters most: shorten the sort label first, then the crumb's start.
    let crumb = crumbs(app);
    let room = (area.width as usize).saturating_sub(4);
    let long = format!(" · sort: {} ", app.sort.name());
    let short = format!(" · {} ", app.sort.name().split(' ').next().unwrap_or(""));
    let sort = if crumb.chars().count() + long.chars().count() <= room {
        long
    } else {
        short
    };
    let title = format!(
        " {}{sort}",
        truncate_left(&crumb, room.saturating_sub(sort.chars().count()))
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner_h = area.height.saturating_sub(3) as usize;
    let start = window(level.sel, level.rows.len(), inner_h);
    let total = level.total.max(1);
    let visible: Vec<(usize, &TreeRow, String, String)> = level
        .rows
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(k, r)| {
            (
                k,
                r,
                label_text(g, data, r.row.label),
                type_text(m, r.row.value, app.full_names),
            )
        })
        .collect();
    let cols = TreeColumns::fit(
        area.width,
        visible.iter().map(|v| width(&v.2)).max().unwrap_or(4),
        visible.iter().map(|v| width(&v.3)).max().unwrap_or(4),
    );
    let mut elided = None;
    let rows: Vec<TRow> = visible
        .into_iter()
        .map(|(k, r, name, ty)| {
            let marked = match r.row.label {
                Label::Attr(_) if !app.in_nested() => m
                    .class_of(r.row.instance)
                    .is_some_and(|c| app.marks.rules.matches(&c, &name).is_some()),
                _ => false,
            };
            let marker = if marked { "T" } else { " " };
            let sel = k == level.sel;
            let mut style = if marked {
                theme.fg(Color::Magenta)
            } else {
                Style::default()
            };
            if sel && !app.marks_focus {
                style = theme.sel();
            }
            let shown = elide_middle(&name, cols.name);
            if sel && shown != name {
                elided = Some(name.clone());
            }
            let mut cells = vec![
                Cell::from(format!("{}{marker}", if sel { "▶" } else { " " })),
                Cell::from(shown),
                Cell::from(elide_end(&ty, cols.ty)),
            ];
            if cols.inline {
                cells.push(Cell::from(format!("{:>10}", size_in(r.inline, 10))));
            }
            cells.push(Cell::from(format!("{:>10}", size_in(r.retained, 10))));
            if cols.bar > 0 {
                cells.push(
                    Cell::from(bar(r.retained as f64 / total as f64, cols.bar))
                        .style(theme.fg(Color::Cyan)),
                );
            }
            TRow::new(cells).style(style)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Length(cols.name as u16),
        Constraint::Length(cols.ty as u16),
    ];
    let mut header = vec!["", "name", "type"];
    if cols.inline {
        widths.push(Constraint::Length(10));
        header.push("    inline");
    }
    widths.push(Constraint::Length(10));
    header.push("  retained");
    if cols.bar > 0 {
        widths.push(Constraint::Length(cols.bar as u16));
        header.push("share");
    }
    let t = Table::new(rows, widths)
        .header(TRow::new(header).style(theme.bold()))
        .block(block)
        .column_spacing(1);
    f.render_widget(t, area);
    elided
}

/// Column widths of the tree table for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeColumns {
    pub name: usize,
    pub ty: usize,
    pub inline: bool,
    /// Share bar cells (0: no bar).
    pub bar: usize,
}

/// Narrowest share bar worth drawing, and the widest.
pub(super) const BAR_MIN: usize = 8;

pub(super) const BAR_MAX: usize = 40;

/// The type column never shrinks below this while the name still has room to give.
pub(super) const TYPE_MIN: usize = 12;

impl TreeColumns {
    /// Lays out a tree `width` cells wide (borders included) whose widest visible name and
    /// type are `name_need` and `type_need` cells: sizes and a minimum bar keep their cells,
    /// the type keeps what it needs up to two fifths of the rest, the name takes what the row
    /// can spare, and what is left widens the bar.
    pub fn fit(width: u16, name_need: usize, type_need: usize) -> TreeColumns {
        // The name column is never narrower than its header; count that before sharing out.
        let name_need = name_need.max(4);
        let inline = width >= 90;
        let show_bar = width >= 70;
        // Borders 2; marker 2 + spacing; retained 10 + spacing; inline and bar with theirs.
        let fixed =
            2 + 3 + 11 + if inline { 11 } else { 0 } + if show_bar { BAR_MIN + 1 } else { 0 };
        // name and type, with the space between them
        let rest = (width as usize).saturating_sub(fixed + 1);
        let (name, ty) = if name_need + type_need <= rest {
            (name_need, type_need)
        } else {
            let ty = type_need.min(
                TYPE_MIN
                    .max(rest * 2 / 5)
                    .max(rest.saturating_sub(name_need)),
            );
            (rest.saturating_sub(ty), ty)
        };
        let spare = rest.saturating_sub(name + ty);
        let bar = if show_bar {
            (BAR_MIN + spare).min(BAR_MAX)
        } else {
            0
        };
        // Past the widest bar, the rest goes to the type (it may say more), then the name.
        let spare = spare.saturating_sub(bar.saturating_sub(BAR_MIN));
        TreeColumns {
            name: name.max(4),
            ty: ty + spare,
            inline,
            bar,
        }
    }
}
