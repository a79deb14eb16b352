//! Drawing: every screen and dialog renders from `&App`; drawing never mutates state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Gauge, Paragraph, Row as TRow, Table, Wrap};

use crate::fmt::{
    change_pct, elide_end, elide_middle, pct, saved_col, saves_or_grows, size, size_in, truncate,
    width,
};
use crate::model::{Label, label_text, short_name, type_text};
use crate::pickle::{Kind, NodeId};

use super::app::{App, Modal, Screen, TreeRow};
use super::keys::{Action, BINDINGS, label_of};

/// Colours, or none at all under NO_COLOR.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        let look = super::ascii::Env::current().look(false, super::ascii::ColorChoice::Auto);
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
        super::ascii::transliterate(f.buffer_mut());
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

/// A message in a box, wrapped to the terminal's width; any key closes it.
fn draw_message(f: &mut Frame, area: Rect, title: &str, text: &str, theme: Theme) {
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

fn draw_header(f: &mut Frame, app: &App, r: Rect, theme: Theme) {
    let total = app.total_bytes();
    let after = app.total_after();
    let narrow = r.width < 100;
    let files = if narrow {
        String::new()
    } else {
        format!(
            " · {} file{}",
            app.files.len(),
            if app.files.len() == 1 { "" } else { "s" }
        )
    };
    let title_room = if narrow { 24 } else { 48 };
    let mut spans = vec![
        Span::styled(" picklescope ", theme.bold()),
        Span::raw(format!(
            " {}{files} · {}",
            truncate(&app.title, title_room),
            size(total)
        )),
    ];
    if !app.marks.rules.transient.is_empty() && after != total {
        let text = if narrow {
            format!(" → {} ({})", size(after), change_pct(total, after))
        } else {
            format!(
                " → {} after marks ({})",
                size(after),
                change_pct(total, after)
            )
        };
        let color = if after < total {
            Color::Green
        } else {
            Color::Yellow
        };
        spans.push(Span::styled(text, theme.fg(color)));
    }
    let (reread, reread_after) = app.total_reread();
    if !narrow && reread > 0 {
        let text = if reread_after != reread {
            format!(" · read back {}/run → {}", size(reread), size(reread_after))
        } else {
            format!(" · read back {}/run", size(reread))
        };
        spans.push(Span::raw(text));
    }
    if app.read_only {
        spans.push(Span::styled("  read-only", theme.fg(Color::Yellow)));
    }
    let loaded = app.loaded_count();
    if loaded < app.files.len() {
        spans.push(Span::styled(
            format!("  scanning {loaded}/{}", app.files.len()),
            theme.fg(Color::Yellow),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

fn footer_keys(app: &App, width: u16) -> String {
    let k = |a: Action, what: &str| format!("{} {what}", label_of(a));
    if app.marks_focus {
        return [
            k(Action::Up, "move"),
            k(Action::ToggleMark, "remove rule"),
            k(Action::Undo, "undo"),
            k(Action::FocusMarks, "leave pane"),
            k(Action::Help, "help"),
        ]
        .join("  ");
    }
    if width < 100 {
        let mut parts = vec!["⏎ open", "← up", "␣ mark", "/ find", "c classes"];
        parts.push(if app.read_only {
            "read-only"
        } else {
            "w write"
        });
        parts.extend(["? help", "q quit"]);
        return parts.join("  ");
    }
    let mut parts = vec![k(Action::Up, "move")];
    match app.screen {
        Screen::Stages => parts.push(k(Action::Open, "open")),
        Screen::Tree => {
            parts.push(k(Action::Open, "open"));
            parts.push(k(Action::Back, "up"));
        }
        Screen::Classes => parts.push(k(Action::Back, "back")),
    }
    parts.extend([
        k(Action::ToggleMark, "mark"),
        k(Action::Search, "search"),
        k(Action::Classes, "classes"),
        if app.read_only {
            "read-only".to_string()
        } else {
            k(Action::Write, "write")
        },
        k(Action::Export, "export"),
        k(Action::Help, "help"),
        k(Action::Quit, "quit"),
    ]);
    parts.join("  ")
}

/// The status line: the last message, else the full name of a selected row the table elided,
/// else the keys.
fn draw_footer(f: &mut Frame, app: &App, r: Rect, elided: Option<String>, theme: Theme) {
    let hints = app.status.is_empty() && elided.is_none();
    let text = match elided {
        _ if !app.status.is_empty() => app.status.clone(),
        Some(name) => format!("▶ {name}"),
        None if app.ascii => super::ascii::key_words(&footer_keys(app, r.width)),
        None => footer_keys(app, r.width),
    };
    let style = if hints {
        theme.fg(Color::DarkGray)
    } else {
        theme.bold()
    };
    let loaded = app.loaded_count();
    if loaded < app.files.len() && r.width > 40 {
        let [l, g] = Layout::horizontal([Constraint::Min(10), Constraint::Length(22)]).areas(r);
        f.render_widget(Paragraph::new(format!(" {text}")).style(style), l);
        let ratio = loaded as f64 / app.files.len().max(1) as f64;
        f.render_widget(
            Gauge::default()
                .ratio(ratio.clamp(0.0, 1.0))
                .label(format!("scan {loaded}/{}", app.files.len()))
                .gauge_style(theme.fg(Color::Yellow)),
            g,
        );
    } else {
        f.render_widget(Paragraph::new(format!(" {text}")).style(style), r);
    }
}

/// First visible row so that `sel` stays on screen.
pub fn window(sel: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    sel.saturating_sub(height / 2).min(len - height)
}

fn draw_stages(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
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

fn crumbs(app: &App) -> String {
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
fn draw_tree(f: &mut Frame, app: &App, area: Rect, theme: Theme) -> Option<String> {
    let (Some(m), Some(level)) = (app.tree_model(), app.level()) else {
        let msg = if app.loaded_count() < app.files.len() {
            "scanning…"
        } else {
            "nothing to show"
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
                Label::Attr(_) => m
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
const BAR_MIN: usize = 8;
const BAR_MAX: usize = 40;
/// The type column never shrinks below this while the name still has room to give.
const TYPE_MIN: usize = 12;

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

fn draw_classes(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
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

fn draw_marks(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
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

/// The `g` pane: findings text from `scroll` on, in a box nearly the whole screen.
fn draw_guards(f: &mut Frame, area: Rect, title: &str, lines: &[String], scroll: usize) {
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

fn draw_question(f: &mut Frame, area: Rect, title: &str, lines: &[&str], theme: Theme) {
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

fn draw_confirm_write(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
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

/// The help's lines for a terminal of `width` x `height`: one key a line, or two columns when
/// that fits and one column does not.
fn help_lines(app: &App, width: u16, height: u16) -> Vec<Line<'static>> {
    let label = |b: &super::keys::Binding| {
        if app.ascii {
            super::ascii::key_words(b.label)
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
        let cell = |b: &super::keys::Binding| {
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

fn draw_help(f: &mut Frame, app: &App, area: Rect) {
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

/// The detail text of the selected tree row (class, span, sharing, first opcodes).
/// What the global behind node `id` (a class or function, or the callable of a call) would do
/// if CPython loaded the file: its verdict and reason.
fn global_verdict(app: &App, id: NodeId) -> Option<String> {
    let m = app.tree_model()?;
    let (g, data) = (m.graph(), m.data());
    let gid = match g.get(id)?.kind {
        Kind::Call { callable, .. } => callable,
        _ => id,
    };
    let Kind::Global { module, name } = g.get(gid)?.kind else {
        return None;
    };
    let (module, name) = (
        crate::pickle::value::name_text(data, module),
        crate::pickle::value::name_text(data, name),
    );
    let loaded = app
        .tree
        .as_ref()
        .and_then(|t| app.files.get(t.entry))?
        .loaded()?;
    let j = loaded.judgement(&module, &name)?;
    Some(format!(
        "{module}.{name}: {} — {}",
        j.verdict.as_str(),
        j.reason
    ))
}

pub fn detail_lines(app: &App) -> Vec<String> {
    let (Some(m), Some(r)) = (app.tree_model(), app.selected_row()) else {
        return Vec::new();
    };
    let g = m.graph();
    let data = m.data();
    let id = r.row.value;
    let Some(n) = g.get(id) else {
        return Vec::new();
    };
    let mut out = vec![
        format!("name      {}", label_text(g, data, r.row.label)),
        format!("type      {}", type_text(m, id, true)),
    ];
    if let Some(c) = m.class_of(id) {
        out.push(format!("class     {c}"));
    }
    if let Some(v) = global_verdict(app, id) {
        out.push(format!("global    {v}"));
    }
    if let Some(a) = m.array(id) {
        out.push(format!(
            "array     {} · {} of data",
            a.describe(),
            size(a.data_bytes)
        ));
    }
    out.push(format!(
        "entry     bytes {}..{} ({}, inline)",
        r.row.span.start,
        r.row.span.end,
        size(r.inline)
    ));
    out.push(format!(
        "object    bytes {}..{} ({}) · made by {}",
        n.span.start,
        n.span.end,
        size(n.span.len()),
        n.op.name()
    ));
    out.push(format!("retained  {}", size(r.retained)));
    out.push(format!("path      {}", truncate(&m.path(id), 200)));
    let refs = m.refs.refs(id);
    if refs.is_empty() {
        out.push("sharing   not shared (referenced once)".into());
    } else {
        let shown: Vec<String> = refs.iter().take(6).map(|p| p.to_string()).collect();
        out.push(format!(
            "sharing   referenced {} more time(s) through the memo, at bytes {}{}",
            refs.len(),
            shown.join(", "),
            if refs.len() > 6 { ", …" } else { "" }
        ));
        let held = m.holder_paths(id, HOLDERS_SHOWN + 1);
        for p in held.iter().take(HOLDERS_SHOWN) {
            out.push(format!("  held at {}", truncate(p, 200)));
        }
        if held.len() > HOLDERS_SHOWN {
            out.push("  held at …".into());
        }
    }
    out.push(String::new());
    out.push("first opcodes:".into());
    out.extend(crate::pickle::dis::dis(data, r.row.span, 14));
    out
}

/// Places holding a shared object listed in the detail view.
const HOLDERS_SHOWN: usize = 5;

fn draw_detail(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
    let lines = detail_lines(app);
    let r = centered(
        area,
        area.width.saturating_sub(4).min(100),
        (lines.len() as u16 + 2).min(area.height),
    );
    f.render_widget(Clear, r);
    let text: Vec<Line> = lines.into_iter().map(Line::from).collect();
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Detail (any key closes) ")
                .border_style(theme.fg(Color::Cyan)),
        ),
        r,
    );
}

/// Keeps the end of a long string (breadcrumbs: where you are matters most).
fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n + 1 - max.max(1)).collect();
    format!("…{tail}")
}
