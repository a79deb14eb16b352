//! The detail pane of the selected row: type, spans, sharing, holders, first opcodes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::fmt::{size, truncate};
use crate::model::{label_text, type_text};
use crate::pickle::{Kind, NodeId};

use super::{Theme, centered};
use crate::tui::app::App;

/// The detail text of the selected tree row (class, span, sharing, first opcodes).
/// What the global behind node `id` (a class or function, or the callable of a call) would do
/// if CPython loaded the file: its verdict and reason.
pub(super) fn global_verdict(app: &App, id: NodeId) -> Option<String> {
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
    if let Some(t) = crate::model::fixed::cannot_slim(m, id) {
        out.push(format!("slimming  {t}"));
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
    // A lean graph lacks what is inside containers not opened: the way here is a path.
    let path = if m.is_lean() {
        app.selected_path().unwrap_or_default()
    } else {
        m.path(id)
    };
    out.push(format!("path      {}", truncate(&path, 200)));
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
        if m.is_lean() {
            out.push("  held at … (not listed: the file was opened without its full parse)".into());
            out.push(String::new());
            out.push("first opcodes:".into());
            out.extend(crate::pickle::dis::dis(data, r.row.span, 14));
            return out;
        }
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
pub(super) const HOLDERS_SHOWN: usize = 5;

pub(super) fn draw_detail(f: &mut Frame, app: &App, area: Rect, theme: Theme) {
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
