//! The header line: the title, the totals before and after the marks, the status.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::fmt::{change_pct, size, truncate};

use super::Theme;
use crate::tui::app::App;

pub(super) fn draw_header(f: &mut Frame, app: &App, r: Rect, theme: Theme) {
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
    // A lone file that is not a pickle tree (a `.npy` array) says what it is.
    if let [one] = app.files.as_slice()
        && let Some(sum) = one.model().and_then(|m| m.doc.summary.as_deref())
    {
        spans.push(Span::raw(format!(" · {sum}")));
    }
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
            format!("  scanning {loaded}/{}{}", app.files.len(), scan_text(app)),
            theme.fg(Color::Yellow),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), r);
}

/// ` · reading 12% of 1.85 GiB`, then ` · parsing 41% of 1.85 GiB` while the pending files
/// are read and parsed (` · sizing…` after the last byte, while the sizes are worked out);
/// empty before a read begins.
pub(super) fn scan_text(app: &App) -> String {
    let (Some((done, total, reading)), Some((pct, _))) = (app.scan_progress(), app.scan_percent())
    else {
        return String::new();
    };
    if done >= total && !reading {
        return " · sizing…".into();
    }
    let what = if reading { "reading" } else { "parsing" };
    format!(" · {what} {pct}% of {}", size(total))
}
