//! A short disassembly of a byte range, one instruction a line (`      1234: BINUNICODE  name`),
//! as `pickletools.dis` prints it but bounded: for the explorer's detail view.

use super::Span;
use super::ops::ArgKind;
use super::scan::read_instr;
use crate::fmt::truncate;

/// Arguments longer than this are shown by their length only.
const ARG_SHOWN: usize = 40;

/// At most `max` instructions of `data` from `span.start` (stopping at `span.end`), one line
/// each: offset, opcode name and argument. An instruction that does not decode ends the
/// listing with its error.
pub fn dis(data: &[u8], span: Span, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = span.start as usize;
    for _ in 0..max {
        if pos >= span.end as usize {
            break;
        }
        match read_instr(data, pos) {
            Ok(i) => {
                let arg = match i.op.arg_kind() {
                    ArgKind::None => String::new(),
                    ArgKind::U1 | ArgKind::U2 | ArgKind::U4 | ArgKind::I4 | ArgKind::U8 => {
                        i.uint().to_string()
                    }
                    _ if i.arg.len() > ARG_SHOWN => format!("<{} bytes>", i.arg.len()),
                    _ => truncate(
                        &String::from_utf8_lossy(i.arg).replace('\n', " "),
                        ARG_SHOWN,
                    ),
                };
                out.push(format!("{:>10}: {:<17} {arg}", i.pos, i.op.name()));
                pos = i.end;
            }
            Err(e) => {
                out.push(format!("  {e}"));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_offsets_names_and_arguments_within_the_span() {
        // pickle.dumps({'a': 1}, protocol=2)
        let data = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";
        let lines = dis(data, Span { start: 2, end: 17 }, 3);
        assert_eq!(
            lines,
            vec![
                "         2: EMPTY_DICT        ",
                "         3: BINPUT            0",
                "         5: BINUNICODE        a",
            ]
        );
        assert_eq!(
            dis(data, Span { start: 17, end: 17 }, 5),
            Vec::<String>::new()
        );
    }
}
