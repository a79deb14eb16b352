//! Byte counts and shares as people read them: binary units, signed changes, percentages.

/// Human size, binary units, one choice everywhere.
pub fn size(b: u64) -> String {
    humansize::format_size(b, humansize::BINARY)
}

/// The signed change from `before` to `after` bytes: `-2.54 KiB`, `+522 B`, `0 B`.
pub fn change(before: u64, after: u64) -> String {
    signed(after as i128 - before as i128)
}

/// A signed byte count: `-2.54 KiB`, `+522 B`, `0 B`.
pub fn signed(delta: i128) -> String {
    let sign = match delta.signum() {
        -1 => "-",
        1 => "+",
        _ => "",
    };
    format!("{sign}{}", size(delta.unsigned_abs() as u64))
}

/// What a what-if does to the size, in words: `saves 2.54 KiB`, or `grows +522 B` where the
/// format forces the file to grow.
pub fn saves_or_grows(before: u64, after: u64) -> String {
    if after <= before {
        format!("saves {}", size(before - after))
    } else {
        format!("grows {}", change(before, after))
    }
}

/// Bytes saved as a column: `2.54 KiB`, or `+522 B` where the file grows.
pub fn saved_col(saved: i64) -> String {
    if saved >= 0 {
        size(saved as u64)
    } else {
        signed(-(saved as i128))
    }
}

/// The signed change from `before` to `after` as a share of `before`: `-0.5%`, `+0.1%`.
pub fn change_pct(before: u64, after: u64) -> String {
    if before == 0 {
        return "-".into();
    }
    let p = (after as f64 - before as f64) * 100.0 / before as f64;
    format!("{p:+.1}%")
}

/// A byte size in at most `width` characters, unit always kept: fewer decimals when the usual
/// form (up to "1023.99 KiB") is too wide.
pub fn size_in(b: u64, width: usize) -> String {
    let s = size(b);
    if s.len() <= width {
        return s;
    }
    humansize::format_size(b, humansize::BINARY.decimal_places(1))
}

/// A share as a percentage string.
pub fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / total as f64)
}
