//! Fitting names into terminal cells: elision in the middle by display width (both ends of a
//! name stay readable), padding, and cutting to a number of characters.

use unicode_width::UnicodeWidthChar;

/// Display width of one character as a terminal shows it (control characters are drawn as
/// `·`, one cell).
fn char_width(c: char) -> usize {
    if c.is_control() {
        1
    } else {
        c.width().unwrap_or(0)
    }
}

/// Control characters become `·`, so a name never moves the cursor.
fn clean(c: char) -> char {
    if c.is_control() { '·' } else { c }
}

/// Display width of `s` in terminal cells.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// `s` in at most `max` cells: unchanged when it fits, else its start and its end with `…`
/// between them (`"File:uid___A002…BANDPASS SpW:17 Pol:XX"`). Cuts on character boundaries
/// and counts wide characters (CJK, emoji) as two cells.
pub fn elide_middle(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.chars().map(clean).collect();
    }
    if max == 0 {
        return String::new();
    }
    let room = max - 1;
    let head_room = room.div_ceil(2);
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(clean(c));
    }
    let tail_room = room - used;
    let mut tail: Vec<char> = Vec::new();
    let mut tail_used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if tail_used + w > tail_room {
            break;
        }
        tail_used += w;
        tail.push(clean(c));
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// `s` in at most `max` cells, cut at the end with `…` (for descriptions, where the start says
/// most).
pub fn elide_end(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.chars().map(clean).collect();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w + 1 > max {
            break;
        }
        used += w;
        out.push(clean(c));
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `s` elided to `w` cells and padded with spaces to exactly `w` cells (a text-table column).
pub fn fit(s: &str, w: usize) -> String {
    let mut out = elide_middle(s, w);
    let n = width(&out);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(n)));
    out
}

/// Cuts a string to at most `max` characters, adding an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
    let clean: String = s.chars().map(clean).collect();
    if clean.chars().count() <= max {
        return clean;
    }
    let mut out: String = clean.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Keeps the end of a long string (breadcrumbs: where you are matters most): `…` and the last
/// `max - 1` characters.
pub fn truncate_left(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n + 1 - max.max(1)).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_left_alone() {
        assert_eq!(elide_middle("view", 10), "view");
        assert_eq!(elide_middle("", 0), "");
        assert_eq!(fit("qa", 4), "qa  ");
    }

    #[test]
    fn long_names_keep_both_ends() {
        let k = "\"File:uid___A002_Xa275e7_X536.ms Intent:BANDPASS SpW:17 Pol:XX\"";
        let e = elide_middle(k, 40);
        assert_eq!(width(&e), 40);
        assert!(e.starts_with("\"File:uid___A002_X"), "{e}");
        assert!(e.ends_with("PASS SpW:17 Pol:XX\""), "{e}");
        assert_eq!(e.matches('…').count(), 1);
        // Two keys that differ only at the end stay different when elided.
        let k2 = k.replace("Pol:XX", "Pol:YY");
        assert_ne!(elide_middle(k, 30), elide_middle(&k2, 30));
    }

    #[test]
    fn wide_characters_count_two_cells_and_are_never_split() {
        let s = "観測データ_spw17_観測データ";
        for max in 0..width(s) + 2 {
            let e = elide_middle(s, max);
            assert!(width(&e) <= max, "{max}: {e:?} is {} wide", width(&e));
            // A wide character that would not fit is left out, so the result may be one short.
            assert!(width(&e) + 1 >= max.min(width(s)), "{max}: {e:?}");
        }
        assert_eq!(width("観"), 2);
        assert_eq!(fit("観x", 5), "観x  ");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(elide_middle("a\nb\x1b[2Jc", 20), "a·b·[2Jc");
        assert!(!elide_middle("\x1b[31m long name with an escape \x07", 10).contains('\x1b'));
    }

    #[test]
    fn end_elision_keeps_the_start() {
        assert_eq!(elide_end("defaultdict[8 lists]", 12), "defaultdict…");
        assert_eq!(elide_end("観測データ", 5), "観測…");
        assert_eq!(elide_end("short", 9), "short");
    }

    #[test]
    fn tiny_widths() {
        assert_eq!(elide_middle("abcdef", 1), "…");
        assert_eq!(elide_middle("abcdef", 2), "a…");
        assert_eq!(elide_middle("abcdef", 3), "a…f");
    }
}
