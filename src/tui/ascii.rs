//! The explorer's look on plain terminals: when to draw with ASCII only, when to use colours,
//! and the transliteration of a drawn frame to ASCII.

use ratatui::buffer::Buffer;

/// How the explorer draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// ASCII only: borders, bars, markers and arrows in 7-bit characters.
    pub ascii: bool,
    /// Colours (otherwise bold and reverse video only).
    pub color: bool,
}

impl Default for Look {
    /// Unicode and colours.
    fn default() -> Look {
        Look {
            ascii: false,
            color: true,
        }
    }
}

/// The environment variables the choice depends on.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub lc_all: Option<String>,
    pub lc_ctype: Option<String>,
    pub lang: Option<String>,
    pub term: Option<String>,
    pub no_color: Option<String>,
}

impl Env {
    /// This process's environment.
    pub fn current() -> Env {
        let var = |k: &str| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned());
        Env {
            lc_all: var("LC_ALL"),
            lc_ctype: var("LC_CTYPE"),
            lang: var("LANG"),
            term: var("TERM"),
            no_color: var("NO_COLOR"),
        }
    }

    /// The locale that decides the character set: the first non-empty of LC_ALL, LC_CTYPE,
    /// LANG (POSIX precedence); `None` when none is set (the "C" locale).
    fn ctype(&self) -> Option<&str> {
        [&self.lc_all, &self.lc_ctype, &self.lang]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .find(|v| !v.is_empty())
    }

    /// The locale's character set is UTF-8 (`en_US.UTF-8`, `C.utf8`, ...).
    pub fn utf8_locale(&self) -> bool {
        self.ctype().is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
    }

    /// TERM names a terminal with no more than ASCII (or no TERM at all).
    pub fn plain_term(&self) -> bool {
        match self.term.as_deref() {
            None | Some("") => true,
            Some(t) => {
                let t = t.to_ascii_lowercase();
                t == "dumb"
                    || t == "ansi"
                    || t.strip_prefix("vt")
                        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            }
        }
    }

    /// The look for `--ascii` and `--color WHEN` in this environment.
    pub fn look(&self, force_ascii: bool, color: ColorChoice) -> Look {
        let dumb = self.term.as_deref() == Some("dumb");
        Look {
            ascii: force_ascii || !self.utf8_locale() || self.plain_term(),
            color: match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => self.no_color.as_deref().is_none_or(str::is_empty) && !dumb,
            },
        }
    }
}

/// `--color`: auto (on unless NO_COLOR is set or TERM=dumb), always, never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// The ASCII stand-in for one drawn character (one cell wide).
fn glyph(c: char) -> char {
    match c {
        '─' | '━' | '═' | '╌' | '┄' => '-',
        '│' | '┃' | '║' | '╎' | '┆' => '|',
        '┌' | '┐' | '└' | '┘' | '├' | '┤' | '┬' | '┴' | '┼' | '╭' | '╮' | '╰' | '╯' | '╔' | '╗'
        | '╚' | '╝' | '┏' | '┓' | '┗' | '┛' => '+',
        '█' | '▉' | '▊' | '▋' | '▌' | '▇' | '▆' | '▅' => '#',
        '▏' | '▎' | '▍' | '▁' | '▂' | '▃' | '▄' => ' ',
        '▶' | '▸' | '›' | '→' | '»' => '>',
        '◀' | '◂' | '‹' | '←' | '«' | '⌫' => '<',
        '↑' | '▲' => '^',
        '↓' | '▼' => 'v',
        '…' => '~',
        '·' | '•' | '–' | '—' | '−' => '-',
        '✔' | '✓' => '*',
        '⚠' => '!',
        '␣' => '_',
        '×' => 'x',
        '⏎' | '↵' => '=',
        _ => '?',
    }
}

/// Rewrites every cell of a drawn frame to ASCII. A wide character becomes one `?`; the
/// cell after it is already blank.
pub fn transliterate(buf: &mut Buffer) {
    for cell in &mut buf.content {
        let sym = cell.symbol();
        if sym.is_ascii() {
            continue;
        }
        let c = sym.chars().next().map(glyph).unwrap_or('?');
        cell.set_symbol(c.encode_utf8(&mut [0; 4]));
    }
}

/// Key names in words for ASCII screens (`⏎/→/l` reads `Enter/Right/l`).
pub fn key_words(label: &str) -> String {
    let mut out = String::with_capacity(label.len() + 8);
    for c in label.chars() {
        match c {
            '↑' => out.push_str("Up"),
            '↓' => out.push_str("Down"),
            '→' => out.push_str("Right"),
            '←' => out.push_str("Left"),
            '⏎' => out.push_str("Enter"),
            '⌫' => out.push_str("Bksp"),
            '␣' => out.push_str("Space"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(lang: &str, term: &str) -> Env {
        Env {
            lang: Some(lang.into()),
            term: Some(term.into()),
            ..Env::default()
        }
    }

    #[test]
    fn locale_and_term_choose_ascii() {
        let auto = ColorChoice::Auto;
        assert!(!env("en_US.UTF-8", "xterm-256color").look(false, auto).ascii);
        assert!(!env("C.utf8", "screen").look(false, auto).ascii);
        assert!(env("C", "xterm").look(false, auto).ascii);
        assert!(env("en_US.ISO-8859-1", "xterm").look(false, auto).ascii);
        assert!(env("en_US.UTF-8", "vt100").look(false, auto).ascii);
        assert!(env("en_US.UTF-8", "dumb").look(false, auto).ascii);
        assert!(env("en_US.UTF-8", "xterm").look(true, auto).ascii);
        // LC_ALL wins over LANG; an empty LC_ALL does not count.
        let mut e = env("en_US.UTF-8", "xterm");
        e.lc_all = Some("C".into());
        assert!(e.look(false, auto).ascii);
        e.lc_all = Some(String::new());
        assert!(!e.look(false, auto).ascii);
        // No locale at all is the C locale.
        let bare = Env {
            term: Some("xterm".into()),
            ..Env::default()
        };
        assert!(bare.look(false, auto).ascii);
    }

    #[test]
    fn color_follows_flag_no_color_and_dumb() {
        let mut e = env("en_US.UTF-8", "xterm");
        assert!(e.look(false, ColorChoice::Auto).color);
        assert!(!e.look(false, ColorChoice::Never).color);
        e.no_color = Some("1".into());
        assert!(!e.look(false, ColorChoice::Auto).color);
        assert!(e.look(false, ColorChoice::Always).color);
        e.no_color = Some(String::new());
        assert!(e.look(false, ColorChoice::Auto).color);
        assert!(!env("C", "dumb").look(false, ColorChoice::Auto).color);
    }

    #[test]
    fn frames_become_ascii() {
        let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, "┌▶█▍→…中x", ratatui::style::Style::default());
        transliterate(&mut buf);
        let text: String = buf.content.iter().map(|c| c.symbol()).collect();
        assert_eq!(text, "+># >~? x   ");
        assert_eq!(key_words("⏎/→/l"), "Enter/Right/l");
    }
}
