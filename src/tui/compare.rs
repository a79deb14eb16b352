//! Compare mode: one read-only explorer over two sources (BEFORE and AFTER). The stage table
//! (from the `diff` engine) and the tree show before, after and the signed delta of every row,
//! largest change first; rows found on one side only are marked.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TRow, Table};

use crate::analysis::{Diff, StageDiff, diff};
use crate::context::{Source, SourceFile};
use crate::fmt::{elide_end, elide_middle, signed, size, width};
use crate::model::{Model, join_path, label_text, path_segment, type_text};
use crate::pickle::NodeId;
use crate::workspace::Workspace;

use super::keys::{Action, BINDINGS, action_for};
use super::state::listed_size;
use super::view::{Theme, window};

/// One row on both sides: its value node and size in BEFORE and in AFTER.
#[derive(Debug, Clone)]
pub struct CmpRow {
    pub name: String,
    /// Path segment (`.attr`, `[3]`, `["key"]`): what rows are matched by.
    pub seg: String,
    pub a: Option<(NodeId, u64)>,
    pub b: Option<(NodeId, u64)>,
}

impl CmpRow {
    /// AFTER minus BEFORE, in bytes (a row missing on a side counts 0 there).
    pub fn delta(&self) -> i128 {
        self.b.map_or(0, |x| x.1) as i128 - self.a.map_or(0, |x| x.1) as i128
    }
}

/// One level of the compared tree.
#[derive(Debug, Clone)]
pub struct CmpLevel {
    pub a: Option<NodeId>,
    pub b: Option<NodeId>,
    pub crumb: String,
    pub path: String,
    pub rows: Vec<CmpRow>,
    pub sel: usize,
}

/// The compared tree of one stage (or file) pair.
#[derive(Debug, Clone)]
pub struct CmpTree {
    pub a_entry: Option<usize>,
    pub b_entry: Option<usize>,
    pub levels: Vec<CmpLevel>,
}

/// The compare explorer's state.
#[derive(Debug)]
pub struct Compare {
    pub before: Workspace,
    pub after: Workspace,
    pub diff: Diff,
    /// `diff.stages` ordered by the size of the change, largest first.
    pub stages: Vec<StageDiff>,
    pub stage_sel: usize,
    pub tree: Option<CmpTree>,
    pub help: bool,
    pub status: String,
    pub quit: bool,
    pub copied: Vec<String>,
    pub outbox: Vec<String>,
    pub page: usize,
}

fn stage_delta(s: &StageDiff) -> i128 {
    s.b_bytes.unwrap_or(0) as i128 - s.a_bytes.unwrap_or(0) as i128
}

/// The mark of a row found on one side only.
fn side_tag(a: bool, b: bool) -> &'static str {
    match (a, b) {
        (true, false) => "− gone",
        (false, true) => "+ new",
        _ => "",
    }
}

/// Rows of `node` in `m` with their sizes.
fn sized_rows(m: &Model, node: NodeId) -> Vec<(String, String, NodeId, u64)> {
    let rows = m.rows(node);
    let n = rows.len();
    let (g, data) = (m.graph(), m.data());
    rows.into_iter()
        .map(|r| {
            let sz = listed_size(m, r.span, n);
            (
                label_text(g, data, r.label),
                path_segment(g, data, r.label),
                r.value,
                sz,
            )
        })
        .collect()
}

/// Matches the rows of BEFORE's node with AFTER's by path segment, largest change first.
fn merge_rows(a: Option<(&Model, NodeId)>, b: Option<(&Model, NodeId)>) -> Vec<CmpRow> {
    let mut out: Vec<CmpRow> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = Default::default();
    if let Some((m, n)) = a {
        for (name, seg, v, sz) in sized_rows(m, n) {
            index.entry(seg.clone()).or_insert(out.len());
            out.push(CmpRow {
                name,
                seg,
                a: Some((v, sz)),
                b: None,
            });
        }
    }
    if let Some((m, n)) = b {
        for (name, seg, v, sz) in sized_rows(m, n) {
            match index.get(&seg).copied() {
                Some(i) if out.get(i).is_some_and(|r| r.b.is_none()) => out[i].b = Some((v, sz)),
                _ => out.push(CmpRow {
                    name,
                    seg,
                    a: None,
                    b: Some((v, sz)),
                }),
            }
        }
    }
    out.sort_by(|x, y| {
        y.delta()
            .unsigned_abs()
            .cmp(&x.delta().unsigned_abs())
            .then_with(|| {
                let big = |r: &CmpRow| r.a.map_or(0, |v| v.1).max(r.b.map_or(0, |v| v.1));
                big(y).cmp(&big(x))
            })
    });
    out
}

/// BEFORE for a source slimmed with `--backup`: each file's `<file>.orig` where one exists, the
/// file itself where none does (it was not changed). `None` when no file has a backup.
pub fn backups_of(source: &Source) -> Option<Source> {
    let mut found = false;
    let files = source
        .files
        .iter()
        .map(|f| {
            let mut p = f.path.clone().into_os_string();
            p.push(".orig");
            let orig = std::path::PathBuf::from(p);
            if orig.is_file() {
                found = true;
                SourceFile::plain(orig, f.role)
            } else {
                f.clone()
            }
        })
        .collect();
    found.then(|| Source {
        name: format!("{} (backups)", source.name),
        files,
        notes: Vec::new(),
        is_context: source.is_context,
    })
}

impl Compare {
    /// Compares two loaded sources with the `diff` engine.
    pub fn new(before: Workspace, after: Workspace) -> Compare {
        let d = diff(&before, &after);
        let mut stages = d.stages.clone();
        stages.sort_by(|x, y| {
            stage_delta(y)
                .unsigned_abs()
                .cmp(&stage_delta(x).unsigned_abs())
                .then(x.stage.cmp(&y.stage))
                .then(x.file.cmp(&y.file))
        });
        Compare {
            before,
            after,
            diff: d,
            stages,
            stage_sel: 0,
            tree: None,
            help: false,
            status: String::new(),
            quit: false,
            copied: Vec::new(),
            outbox: Vec::new(),
            page: 10,
        }
    }

    fn model_a(&self, entry: Option<usize>) -> Option<&Model> {
        entry
            .and_then(|i| self.before.entries.get(i))
            .and_then(|e| e.model.as_ref())
    }

    fn model_b(&self, entry: Option<usize>) -> Option<&Model> {
        entry
            .and_then(|i| self.after.entries.get(i))
            .and_then(|e| e.model.as_ref())
    }

    /// The models of the open tree (BEFORE, AFTER).
    pub fn models(&self) -> (Option<&Model>, Option<&Model>) {
        match &self.tree {
            Some(t) => (self.model_a(t.a_entry), self.model_b(t.b_entry)),
            None => (None, None),
        }
    }

    pub fn level(&self) -> Option<&CmpLevel> {
        self.tree.as_ref().and_then(|t| t.levels.last())
    }

    fn open_stage(&mut self) {
        let Some(s) = self.stages.get(self.stage_sel) else {
            return;
        };
        let (ai, bi) = (s.a_index, s.b_index);
        let ma = self.model_a(ai);
        let mb = self.model_b(bi);
        if ma.is_none() && mb.is_none() {
            self.status = format!("{}: not loaded on either side", s.file);
            return;
        }
        let crumb = match s.stage {
            Some(n) => format!("stage {n} {}", s.task.clone().unwrap_or_default()),
            None => s.file.clone(),
        };
        let rows = merge_rows(
            ma.map(|m| (m, m.graph().root())),
            mb.map(|m| (m, m.graph().root())),
        );
        let level = CmpLevel {
            a: ma.map(|m| m.graph().root()),
            b: mb.map(|m| m.graph().root()),
            crumb,
            path: String::new(),
            rows,
            sel: 0,
        };
        self.tree = Some(CmpTree {
            a_entry: ai,
            b_entry: bi,
            levels: vec![level],
        });
    }

    fn descend(&mut self) {
        let (ma, mb) = self.models();
        let Some(l) = self.level() else { return };
        let Some(r) = l.rows.get(l.sel) else { return };
        let a = r.a.and_then(|(v, _)| ma.map(|m| (m, v)));
        let b = r.b.and_then(|(v, _)| mb.map(|m| (m, v)));
        let rows = merge_rows(a, b);
        if rows.is_empty() {
            self.status = "nothing inside".into();
            return;
        }
        let class = match (r.b, mb, r.a, ma) {
            (Some((v, _)), Some(m), _, _) | (None, _, Some((v, _)), Some(m)) => m.class_of(v),
            _ => None,
        };
        let crumb = match class {
            Some(c) => format!("{} {}", r.name, crate::model::short_name(&c)),
            None => r.name.clone(),
        };
        let level = CmpLevel {
            a: r.a.map(|x| x.0),
            b: r.b.map(|x| x.0),
            crumb,
            path: join_path(&l.path, &r.seg),
            rows,
            sel: 0,
        };
        if let Some(t) = self.tree.as_mut() {
            t.levels.push(level);
        }
    }

    fn ascend(&mut self) {
        if let Some(t) = self.tree.as_mut()
            && t.levels.len() > 1
        {
            t.levels.pop();
            return;
        }
        self.tree = None;
    }

    /// The selected row and the number of rows.
    pub fn selection(&self) -> (usize, usize) {
        match self.level() {
            Some(l) => (l.sel, l.rows.len()),
            None => (self.stage_sel, self.stages.len()),
        }
    }

    fn move_by(&mut self, d: i64) {
        let (sel, len) = self.selection();
        if len == 0 {
            return;
        }
        let to = (sel as i64).saturating_add(d).clamp(0, len as i64 - 1) as usize;
        match self.tree.as_mut().and_then(|t| t.levels.last_mut()) {
            Some(l) => l.sel = to,
            None => self.stage_sel = to,
        }
    }

    /// Handles one key press.
    pub fn on_key(&mut self, ev: KeyEvent) {
        if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if self.help {
            self.help = false;
            return;
        }
        let Some(a) = action_for(&ev) else { return };
        self.status.clear();
        match a {
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page.max(1) as i64)),
            Action::PageDown => self.move_by(self.page.max(1) as i64),
            Action::First => self.move_by(i64::MIN / 2),
            Action::Last => self.move_by(i64::MAX / 2),
            Action::Open => {
                if self.tree.is_some() {
                    self.descend();
                } else {
                    self.open_stage();
                }
            }
            Action::Back => self.ascend(),
            Action::Help => self.help = true,
            Action::Quit | Action::ForceQuit => self.quit = true,
            Action::Copy => self.copy_selection(),
            other if COMPARE_KEYS.contains(&other) => {}
            other => {
                let label = BINDINGS
                    .iter()
                    .find(|b| b.action == other)
                    .map(|b| b.label)
                    .unwrap_or("this key");
                self.status =
                    format!("compare mode is read-only: {label} works when one source is open");
            }
        }
    }

    /// The wheel scrolls (clicks are the single explorer's; here the keys do the rest).
    pub fn on_mouse(&mut self, ev: crossterm::event::MouseEvent) {
        use crossterm::event::MouseEventKind;
        match ev.kind {
            MouseEventKind::ScrollDown => self.move_by(3),
            MouseEventKind::ScrollUp => self.move_by(-3),
            MouseEventKind::Down(_) if self.help => self.help = false,
            _ => {}
        }
    }

    fn copy_selection(&mut self) {
        let text = match self.level() {
            Some(l) => l.rows.get(l.sel).map(|r| join_path(&l.path, &r.seg)),
            None => self.stages.get(self.stage_sel).map(|s| s.file.clone()),
        };
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.status = format!("copied {} to the clipboard (OSC 52)", elide_middle(&t, 70));
            self.outbox.push(t.clone());
            self.copied.push(t);
        }
    }
}

// ---- drawing ---------------------------------------------------------------------------

/// Draws the compare explorer.
pub fn draw(f: &mut Frame, c: &Compare, theme: Theme) {
    let area = f.area();
    let [header, main, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let d = &c.diff;
    let head = format!(
        " {} → {} · {} → {} ({})",
        elide_middle(&c.before.source.name, 32),
        elide_middle(&c.after.source.name, 32),
        size(d.a_total),
        size(d.b_total),
        signed(d.b_total as i128 - d.a_total as i128)
    );
    f.render_widget(
        Paragraph::new(ratatui::text::Line::from(vec![
            Span::styled(" picklescope compare ", theme.bold()),
            Span::raw(head),
            Span::styled("  read-only", theme.fg(Color::Yellow)),
        ])),
        header,
    );
    match c.level() {
        Some(l) => draw_tree(f, c, l, main, theme),
        None => draw_stages(f, c, main, theme),
    }
    let text = if c.status.is_empty() {
        " ↑↓ move  ⏎ open  ← up  y copy path  ? help  q quit   sizes: before → after, Δ = after − before"
            .to_string()
    } else {
        format!(" {}", c.status)
    };
    f.render_widget(
        Paragraph::new(text).style(if c.status.is_empty() {
            theme.fg(Color::DarkGray)
        } else {
            theme.bold()
        }),
        footer,
    );
    if c.help {
        draw_help(f, area, theme);
    }
}

fn delta_style(theme: Theme, d: i128) -> Style {
    match d.signum() {
        -1 => theme.fg(Color::Green),
        1 => theme.fg(Color::Red),
        _ => Style::default(),
    }
}

fn opt_size(b: Option<u64>) -> String {
    b.map(size).unwrap_or_else(|| "—".into())
}

/// A row of a compare table: the `lead` cells, then before, after, Δ (coloured by its sign)
/// and which side has the item.
fn delta_row<'a, const N: usize>(
    lead: [Cell<'a>; N],
    a: Option<u64>,
    b: Option<u64>,
    d: i128,
    theme: Theme,
) -> TRow<'a> {
    let mut cells = Vec::from(lead);
    cells.extend([
        Cell::from(format!("{:>10}", opt_size(a))),
        Cell::from(format!("{:>10}", opt_size(b))),
        Cell::from(format!("{:>11}", signed(d))).style(delta_style(theme, d)),
        Cell::from(side_tag(a.is_some(), b.is_some())),
    ]);
    TRow::new(cells)
}

/// Draws a compare table of [`delta_row`]s: the `lead` columns (width and heading), then
/// before, after, Δ and the side.
fn draw_delta_table(
    f: &mut Frame,
    area: Rect,
    block: Block,
    rows: Vec<TRow>,
    lead: &[(Constraint, &'static str)],
    theme: Theme,
) {
    let mut widths: Vec<Constraint> = lead.iter().map(|c| c.0).collect();
    widths.extend([
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(11),
        Constraint::Length(6),
    ]);
    let mut header: Vec<&str> = lead.iter().map(|c| c.1).collect();
    header.extend(["    before", "     after", "          Δ", ""]);
    f.render_widget(
        Table::new(rows, widths)
            .header(TRow::new(header).style(theme.bold()))
            .block(block)
            .column_spacing(1),
        area,
    );
}

fn draw_stages(f: &mut Frame, c: &Compare, area: Rect, theme: Theme) {
    let changed = c.stages.iter().filter(|s| s.a_bytes != s.b_bytes).count();
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Stages · {changed} of {} changed · sorted by |Δ| ",
        c.stages.len()
    ));
    let inner_h = area.height.saturating_sub(3) as usize;
    let start = window(c.stage_sel, c.stages.len(), inner_h);
    let rows: Vec<TRow> = c
        .stages
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(k, s)| {
            let sel = k == c.stage_sel;
            let d = stage_delta(s);
            let name = s.task.clone().unwrap_or_else(|| s.file.clone());
            let lead = [
                Cell::from(format!(
                    "{}{:>3}",
                    if sel { "▶" } else { " " },
                    s.stage.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
                )),
                Cell::from(elide_middle(&name, 40)),
            ];
            let row = delta_row(lead, s.a_bytes, s.b_bytes, d, theme);
            if sel { row.style(theme.sel()) } else { row }
        })
        .collect();
    let lead = [
        (Constraint::Length(4), "   #"),
        (Constraint::Fill(1), "task"),
    ];
    draw_delta_table(f, area, block, rows, &lead, theme);
}

fn draw_tree(f: &mut Frame, c: &Compare, l: &CmpLevel, area: Rect, theme: Theme) {
    let (ma, mb) = c.models();
    let crumbs: Vec<&str> = c
        .tree
        .iter()
        .flat_map(|t| t.levels.iter().map(|l| l.crumb.as_str()))
        .collect();
    let crumb = crumbs.join(" › ");
    let room = (area.width as usize).saturating_sub(24);
    let title = format!(" {} · sorted by |Δ| ", elide_middle(&crumb, room));
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner_h = area.height.saturating_sub(3) as usize;
    let start = window(l.sel, l.rows.len(), inner_h);
    let visible: Vec<(usize, &CmpRow, String)> = l
        .rows
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h)
        .map(|(k, r)| {
            let ty = match (r.b, mb, r.a, ma) {
                (Some((v, _)), Some(m), _, _) | (None, _, Some((v, _)), Some(m)) => {
                    type_text(m, v, false)
                }
                _ => String::new(),
            };
            (k, r, ty)
        })
        .collect();
    // before, after, Δ, tag and the marker keep their cells; name and type share the rest.
    let fixed = 2 + 2 + 11 + 11 + 12 + 7;
    let rest = (area.width as usize).saturating_sub(fixed + 1);
    let name_need = visible.iter().map(|v| width(&v.1.name)).max().unwrap_or(4);
    let type_need = visible.iter().map(|v| width(&v.2)).max().unwrap_or(4);
    let ty_w = type_need.min((rest * 2 / 5).max(rest.saturating_sub(name_need)));
    let name_w = rest.saturating_sub(ty_w).max(4);
    let rows: Vec<TRow> = visible
        .into_iter()
        .map(|(k, r, ty)| {
            let sel = k == l.sel;
            let d = r.delta();
            let lead = [
                Cell::from(if sel { "▶" } else { " " }),
                Cell::from(elide_middle(&r.name, name_w)),
                Cell::from(elide_end(&ty, ty_w)),
            ];
            let row = delta_row(lead, r.a.map(|x| x.1), r.b.map(|x| x.1), d, theme);
            if sel { row.style(theme.sel()) } else { row }
        })
        .collect();
    let lead = [
        (Constraint::Length(1), ""),
        (Constraint::Length(name_w as u16), "name"),
        (Constraint::Length(ty_w as u16), "type"),
    ];
    draw_delta_table(f, area, block, rows, &lead, theme);
}

/// Keys compare mode answers to (the help lists these bindings from the key table).
const COMPARE_KEYS: &[Action] = &[
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::First,
    Action::Last,
    Action::Open,
    Action::Back,
    Action::Copy,
    Action::Help,
    Action::Quit,
    Action::ForceQuit,
];

fn draw_help(f: &mut Frame, area: Rect, theme: Theme) {
    let mut lines: Vec<ratatui::text::Line> = vec![
        " Compare mode: BEFORE and AFTER side by side; read-only.".into(),
        "".into(),
    ];
    for b in BINDINGS.iter().filter(|b| COMPARE_KEYS.contains(&b.action)) {
        lines.push(ratatui::text::Line::from(vec![
            Span::styled(format!(" {:<8}", b.label), theme.bold()),
            Span::raw(b.help),
        ]));
    }
    lines.extend([
        "".into(),
        " before/after: retained bytes of the row on each side; Δ = after − before.".into(),
        " − gone: only in BEFORE · + new: only in AFTER · any key closes this help".into(),
    ]);
    let w = 80.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Keys ")),
        r,
    );
}
