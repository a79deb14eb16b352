//! The footer: the keys that fit the terminal's width, or the full name of an elided row.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::widgets::{Gauge, Paragraph};

use super::Theme;
use crate::tui::app::{App, Screen};
use crate::tui::keys::{Action, label_of};

pub(super) fn footer_keys(app: &App, width: u16) -> String {
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
pub(super) fn draw_footer(f: &mut Frame, app: &App, r: Rect, elided: Option<String>, theme: Theme) {
    let hints = app.status.is_empty() && elided.is_none();
    let text = match elided {
        _ if !app.status.is_empty() => app.status.clone(),
        Some(name) => format!("▶ {name}"),
        None if app.ascii => crate::tui::ascii::key_words(&footer_keys(app, r.width)),
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
