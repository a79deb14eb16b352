//! Copying text out of the explorer with the OSC 52 escape sequence, which reaches the local
//! clipboard across SSH and through tmux (3.3 and later with `set -g set-clipboard on`).

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The OSC 52 sequence that puts `text` on the clipboard: `ESC ] 52 ; c ; base64 BEL`.
/// Written as is, never wrapped for tmux: tmux 3.3+ passes it on when set-clipboard is on.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", STANDARD.encode(text))
}

/// Writes the OSC 52 sequence for `text` to the terminal and flushes.
pub fn write_osc52(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_between_the_escape_and_bel() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
        let mut v = Vec::new();
        write_osc52(&mut v, "view[\"File:…\"]").unwrap_or_default();
        let s = String::from_utf8(v).unwrap_or_default();
        let b64 = s
            .strip_prefix("\x1b]52;c;")
            .and_then(|r| r.strip_suffix('\x07'))
            .unwrap_or_default();
        let back = STANDARD.decode(b64).unwrap_or_default();
        assert_eq!(back, "view[\"File:…\"]".as_bytes());
    }
}
