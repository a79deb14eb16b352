//! Lazy decoding of scalar nodes (ints, floats, strings, names) for display and matching.

use std::borrow::Cow;
use std::fmt::Write;

use super::graph::{Graph, Kind, NodeId, Span, StrEnc, TextRef};
use super::ops::Op;
use crate::fmt::truncate;

/// Decodes a text span to a string (lossy for display; exact for valid input).
pub fn text<'a>(data: &'a [u8], t: TextRef) -> Cow<'a, str> {
    let Some(b) = data.get(t.start as usize..(t.start + t.len as u64) as usize) else {
        return Cow::Borrowed("");
    };
    match t.enc {
        StrEnc::Utf8 | StrEnc::Line => String::from_utf8_lossy(b),
        StrEnc::Latin1 => Cow::Owned(b.iter().map(|&c| c as char).collect()),
        StrEnc::RawUnicodeEscape => Cow::Owned(raw_unicode_escape(b)),
        StrEnc::Quoted => Cow::Owned(unescape_quoted(b)),
    }
}

/// Longest class, module or attribute name (in stream bytes) decoded for grouping and display.
/// Real names are far shorter; a hostile file that hands one megabyte-long name to every object
/// through the memo would otherwise cost a megabyte of decoding per object.
pub const NAME_MAX: u32 = 1024;

/// [`text`] of at most [`NAME_MAX`] stream bytes, ending in `…` when cut.
pub fn name_text(data: &[u8], t: TextRef) -> Cow<'_, str> {
    if t.len <= NAME_MAX {
        return text(data, t);
    }
    let mut s = text(data, TextRef { len: NAME_MAX, ..t }).into_owned();
    s.push('…');
    Cow::Owned(s)
}

/// The string value of a node used as a name (an attribute), cut like [`name_text`].
pub fn name_value<'a>(g: &Graph, data: &'a [u8], id: NodeId) -> Option<Cow<'a, str>> {
    match g.get(id)?.kind {
        Kind::Str(t) => Some(name_text(data, t)),
        _ => None,
    }
}

fn raw_unicode_escape(b: &[u8]) -> String {
    // CPython's codec: bytes stand for themselves (latin-1); `\u`/`\U` + hex digits is an
    // escape only after an odd run of backslashes (the last backslash of the run starts it).
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    let mut run = 0usize;
    while i < b.len() {
        let c = b[i];
        if run % 2 == 1 && (c == b'u' || c == b'U') {
            let n = if c == b'u' { 4 } else { 8 };
            if let Some(hex) = b.get(i + 1..i + 1 + n)
                && let Ok(h) = std::str::from_utf8(hex)
                && let Ok(v) = u32::from_str_radix(h, 16)
            {
                out.pop();
                out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
                i += 1 + n;
                run = 0;
                continue;
            }
        }
        run = if c == b'\\' { run + 1 } else { 0 };
        out.push(c as char);
        i += 1;
    }
    out
}

fn unescape_quoted(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() {
            let e = b[i + 1];
            i += 2;
            match e {
                b'n' => out.push('\n'),
                b't' => out.push('\t'),
                b'r' => out.push('\r'),
                b'\\' => out.push('\\'),
                b'\'' => out.push('\''),
                b'"' => out.push('"'),
                b'x' => {
                    if let Some(h) = b.get(i..i + 2)
                        && let Ok(v) = u8::from_str_radix(&String::from_utf8_lossy(h), 16)
                    {
                        out.push(v as char);
                        i += 2;
                    }
                }
                _ => {
                    out.push('\\');
                    out.push(e as char);
                }
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

/// Most bytes of a `bytes`/`bytearray` payload a preview shows (large files keep at least
/// these in memory; see `model::sparse`).
pub const BYTES_PREVIEW: usize = 64;

fn bytes_at(data: &[u8], s: Span) -> &[u8] {
    data.get(s.range()).unwrap_or(&[])
}

/// The decimal value of an integer node.
pub fn int_text(data: &[u8], op: Op, payload: Span) -> String {
    let b = bytes_at(data, payload);
    match op {
        Op::BININT1 => b.first().map(|v| v.to_string()).unwrap_or_default(),
        Op::BININT2 if b.len() == 2 => u16::from_le_bytes([b[0], b[1]]).to_string(),
        Op::BININT if b.len() == 4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_string(),
        Op::LONG1 | Op::LONG4 => le_twos_complement(b),
        Op::INT | Op::LONG => {
            let t = String::from_utf8_lossy(b);
            t.trim().trim_end_matches('L').to_string()
        }
        _ => String::new(),
    }
}

/// Little-endian two's-complement bytes as a decimal string (arbitrary length).
pub fn le_twos_complement(b: &[u8]) -> String {
    if b.is_empty() {
        return "0".into();
    }
    if b.len() <= 16 {
        let neg = b[b.len() - 1] & 0x80 != 0;
        let mut buf = [if neg { 0xff } else { 0 }; 16];
        buf[..b.len()].copy_from_slice(b);
        return i128::from_le_bytes(buf).to_string();
    }
    if b.len() > MAX_DECIMAL_INT_BYTES {
        // Like CPython (sys.int_info.str_digits_check_threshold), no decimal conversion of
        // huge ints: it is quadratic. The size says enough.
        let digits = (b.len() as f64 * 8.0 * std::f64::consts::LOG10_2).ceil() as u64;
        return format!("<{}-byte int, about {digits} digits>", b.len());
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    // The magnitude as little-endian u32 limbs (two's complement negated when negative).
    let mut limbs: Vec<u32> = b
        .chunks(4)
        .map(|c| {
            let mut w = [if neg { 0xff } else { 0 }; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect();
    if neg {
        let mut carry = 1u64;
        for l in &mut limbs {
            let v = u64::from(!*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
    }
    // Repeated division by 10^9, most significant limb first.
    let mut chunks: Vec<u32> = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for l in limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*l);
            *l = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut out = String::with_capacity(chunks.len() * 9 + 1);
    if neg {
        out.push('-');
    }
    let mut rest = chunks.iter().rev();
    if let Some(first) = rest.next() {
        out.push_str(&first.to_string());
    } else {
        out.push('0');
    }
    for c in rest {
        let _ = write!(out, "{c:09}");
    }
    out
}

/// Longest integer payload shown in decimal (CPython's default limit is 4300 digits).
const MAX_DECIMAL_INT_BYTES: usize = 1786;

/// The value of an integer node if it fits in i64.
pub fn int_value(data: &[u8], op: Op, payload: Span) -> Option<i64> {
    int_text(data, op, payload).parse().ok()
}

/// The value of a float node.
pub fn float_value(data: &[u8], op: Op, payload: Span) -> Option<f64> {
    let b = bytes_at(data, payload);
    match op {
        Op::BINFLOAT if b.len() == 8 => Some(f64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ])),
        Op::FLOAT => String::from_utf8_lossy(b).trim().parse().ok(),
        _ => None,
    }
}

/// The string value of a node, if it is a string.
pub fn str_value<'a>(g: &Graph, data: &'a [u8], id: NodeId) -> Option<Cow<'a, str>> {
    match g.get(id)?.kind {
        Kind::Str(t) => Some(text(data, t)),
        _ => None,
    }
}

/// `module.name` of a GLOBAL-like node.
pub fn global_name(g: &Graph, data: &[u8], id: NodeId) -> Option<String> {
    match g.get(id)?.kind {
        Kind::Global { module, name } => Some(format!(
            "{}.{}",
            name_text(data, module),
            name_text(data, name)
        )),
        _ => None,
    }
}

/// A short, single-line preview of a scalar node.
pub fn scalar_preview(g: &Graph, data: &[u8], id: NodeId, max: usize) -> Option<String> {
    let n = g.get(id)?;
    let s = match n.kind {
        Kind::None => "None".into(),
        Kind::Bool(b) => if b { "True" } else { "False" }.into(),
        Kind::Int { payload } => int_text(data, n.op, payload),
        Kind::Float { payload } => float_value(data, n.op, payload)
            .map(|f| format!("{f:?}"))
            .unwrap_or_default(),
        Kind::Str(t) => {
            // Decode a prefix only (no character takes more than 10 stream bytes), so a
            // preview costs the same for a megabyte-long string.
            let limit = (max as u64 * 10 + 16).min(u32::MAX as u64) as u32;
            let cut = t.len > limit;
            let s = text(
                data,
                TextRef {
                    len: t.len.min(limit),
                    ..t
                },
            );
            let mut q = String::from("\"");
            q.push_str(&truncate(&s, max.saturating_sub(2)));
            if !cut && s.chars().count() <= max.saturating_sub(2) {
                q.push('"');
            }
            q
        }
        Kind::Bytes { payload } | Kind::ByteArray { payload } => {
            let b = bytes_at(data, payload);
            let n = (max / 4).min(BYTES_PREVIEW);
            let shown: String = b
                .iter()
                .take(n)
                .flat_map(|c| std::ascii::escape_default(*c).map(|x| x as char))
                .collect();
            let more = if b.len() > n { "…" } else { "" };
            format!("b'{shown}{more}'")
        }
        _ => return None,
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_ints_of_any_length_in_decimal() {
        // Expected values from CPython: v.to_bytes(n, 'little', signed=True).hex() and str(v).
        let cases = [
            (
                "0000000000000000000000000000000000000000000000000001",
                "1606938044258990275541962092341162602522202993782792835301376",
            ),
            (
                "00000000000000000000000000000000000000000000000000ff",
                "-1606938044258990275541962092341162602522202993782792835301376",
            ),
            (
                "0000000000000000000000000000000001",
                "340282366920938463463374607431768211456",
            ),
            (
                "ffffffffffffffffffffffffffffff7fff",
                "-170141183460469231731687303715884105729",
            ),
            (
                "ffffffffff60f5b9abbfa45cc3f129631d",
                "9999999999999999999999999999999999999999",
            ),
            (
                "00000000009f0a4654405ba33c0ed69ce2",
                "-10000000000000000000000000000000000000000",
            ),
            ("", "0"),
            ("ff", "-1"),
        ];
        for (hex, want) in cases {
            let b: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0))
                .collect();
            assert_eq!(le_twos_complement(&b), want, "{hex}");
        }
        let huge = vec![0x11u8; 4000];
        assert_eq!(
            le_twos_complement(&huge),
            "<4000-byte int, about 9633 digits>"
        );
    }
}
