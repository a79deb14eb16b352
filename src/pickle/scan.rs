//! Zero-copy scanner: turns a byte slice into opcodes with their offsets and argument slices.

use super::error::{ErrorKind, PickleError};
use super::ops::{ArgKind, Op, SHAPE_LEN1, SHAPE_SLOW};

/// One decoded instruction: the opcode, where it starts and ends, and its raw argument bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instr<'a> {
    pub op: Op,
    /// Offset of the opcode byte.
    pub pos: usize,
    /// Offset just past the instruction.
    pub end: usize,
    /// The argument: fixed-width bytes, a length-prefixed payload (without its prefix), or a
    /// text line (without its newline; GLOBAL/INST keep the inner newline between the two lines).
    pub arg: &'a [u8],
}

impl<'a> Instr<'a> {
    /// Offset where the argument payload starts.
    pub fn arg_pos(&self) -> usize {
        match self.op.arg_kind() {
            ArgKind::Line | ArgKind::TwoLines => self.pos + 1,
            _ => self.end - self.arg.len(),
        }
    }
    /// The integer value of a fixed-width argument (U1/U2/U4/I4/U8).
    pub fn uint(&self) -> u64 {
        let a = self.arg;
        match self.op.arg_kind() {
            ArgKind::U1 => a[0] as u64,
            ArgKind::U2 => u16::from_le_bytes([a[0], a[1]]) as u64,
            ArgKind::U4 => u32::from_le_bytes([a[0], a[1], a[2], a[3]]) as u64,
            ArgKind::I4 => i32::from_le_bytes([a[0], a[1], a[2], a[3]]) as i64 as u64,
            ArgKind::U8 => u64::from_le_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]),
            _ => 0,
        }
    }
    /// Number of bytes the instruction occupies.
    pub fn len(&self) -> usize {
        self.end - self.pos
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.pos
    }
}

/// Decodes the instruction starting at `pos`.
#[inline(always)]
pub fn read_instr(data: &[u8], pos: usize) -> Result<Instr<'_>, PickleError> {
    match read_fast(data, pos) {
        Some(i) => Ok(i),
        None => read_general(data, pos),
    }
}

/// The common instructions — no argument, a fixed-width one, or a one-byte length prefix —
/// when they lie whole inside `data`; `None` sends everything else to [`read_general`].
#[inline(always)]
pub(crate) fn read_fast(data: &[u8], pos: usize) -> Option<Instr<'_>> {
    let code = *data.get(pos)?;
    let shape = Op::shape(code);
    let op = Op::from_byte(code)?;
    if shape == SHAPE_SLOW {
        return None;
    }
    // Branch-free between the two shapes: opcode streams mix them unpredictably.
    let at = pos + 1;
    let len1 = usize::from(shape == SHAPE_LEN1);
    let prefix = data.get(at).copied().unwrap_or(0) as usize;
    let n = if len1 == 1 { prefix } else { shape as usize };
    let s = at + len1;
    let end = s + n;
    let arg = data.get(s..end)?;
    Some(Instr { op, pos, end, arg })
}

#[cold]
#[inline(never)]
pub fn read_general(data: &[u8], pos: usize) -> Result<Instr<'_>, PickleError> {
    let Some(&code) = data.get(pos) else {
        return Err(PickleError::new(pos, ErrorKind::NoStop));
    };
    let op = Op::from_byte(code).ok_or(PickleError::new(pos, ErrorKind::UnknownOpcode(code)))?;
    let at = pos + 1;
    let avail = data.len() - at;
    let fixed = |n: usize| -> Result<Instr<'_>, PickleError> {
        if avail < n {
            return Err(truncated(op, pos, n as u64, avail));
        }
        Ok(Instr {
            op,
            pos,
            end: at + n,
            arg: &data[at..at + n],
        })
    };
    let prefixed = |w: usize, signed: bool| -> Result<Instr<'_>, PickleError> {
        if avail < w {
            return Err(truncated(op, pos, w as u64, avail));
        }
        let p = &data[at..at + w];
        let n: u64 = match w {
            1 => p[0] as u64,
            4 if signed => {
                let v = i32::from_le_bytes([p[0], p[1], p[2], p[3]]);
                if v < 0 {
                    return Err(PickleError::new(
                        pos,
                        ErrorKind::BadArgument {
                            op: op.name(),
                            why: "negative byte count",
                        },
                    ));
                }
                v as u64
            }
            4 => u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as u64,
            _ => u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]),
        };
        let rest = (avail - w) as u64;
        if n > rest {
            return Err(truncated(op, pos, n, rest as usize));
        }
        let s = at + w;
        let e = s + n as usize;
        Ok(Instr {
            op,
            pos,
            end: e,
            arg: &data[s..e],
        })
    };
    match op.arg_kind() {
        ArgKind::None => Ok(Instr {
            op,
            pos,
            end: at,
            arg: &data[at..at],
        }),
        ArgKind::U1 => fixed(1),
        ArgKind::U2 => fixed(2),
        ArgKind::I4 | ArgKind::U4 => fixed(4),
        ArgKind::U8 | ArgKind::F8 => fixed(8),
        ArgKind::Len1 => prefixed(1, false),
        ArgKind::Len4 => prefixed(4, false),
        ArgKind::Len4Signed => prefixed(4, true),
        ArgKind::Len8 => prefixed(8, false),
        ArgKind::Line => {
            let nl = find_nl(&data[at..])
                .ok_or(PickleError::new(pos, ErrorKind::MissingNewline(op.name())))?;
            Ok(Instr {
                op,
                pos,
                end: at + nl + 1,
                arg: &data[at..at + nl],
            })
        }
        ArgKind::TwoLines => {
            let nl1 = find_nl(&data[at..])
                .ok_or(PickleError::new(pos, ErrorKind::MissingNewline(op.name())))?;
            let nl2 = find_nl(&data[at + nl1 + 1..])
                .ok_or(PickleError::new(pos, ErrorKind::MissingNewline(op.name())))?;
            let e = at + nl1 + 1 + nl2;
            Ok(Instr {
                op,
                pos,
                end: e + 1,
                arg: &data[at..e],
            })
        }
    }
}

fn truncated(op: Op, pos: usize, needed: u64, available: usize) -> PickleError {
    PickleError::new(
        pos,
        ErrorKind::Truncated {
            op: op.name(),
            needed,
            available: available as u64,
        },
    )
}

fn find_nl(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// Iterates the instructions of one pickle, from `pos` through its STOP.
pub struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Scanner<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Scanner {
            data,
            pos,
            done: false,
        }
    }
    /// Offset of the next instruction.
    pub fn pos(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Scanner<'a> {
    type Item = Result<Instr<'a>, PickleError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match read_instr(self.data, self.pos) {
            Ok(i) => {
                self.pos = i.end;
                if i.op == Op::STOP {
                    self.done = true;
                }
                Some(Ok(i))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_protocol_2_tuple() {
        // pickle.dumps((1, 'a'), 2)
        let d = b"\x80\x02K\x01X\x01\x00\x00\x00a\x86q\x00.";
        let ops: Vec<_> = Scanner::new(d, 0).map(|r| r.map(|i| i.op)).collect();
        let ops: Vec<Op> = ops
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        assert_eq!(
            ops,
            vec![
                Op::PROTO,
                Op::BININT1,
                Op::BINUNICODE,
                Op::TUPLE2,
                Op::BINPUT,
                Op::STOP
            ]
        );
    }

    #[test]
    fn huge_length_prefix_is_truncation_not_allocation() {
        let mut d = vec![0x8e];
        d.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let e = read_instr(&d, 0).err();
        assert!(matches!(
            e.map(|e| e.kind),
            Some(ErrorKind::Truncated { needed, .. }) if needed == 1 << 62
        ));
    }

    #[test]
    fn text_lines() {
        let d = b"cos\nsystem\n.";
        let i = read_instr(d, 0).ok();
        assert_eq!(i.map(|i| (i.arg, i.end)), Some((&b"os\nsystem"[..], 11)));
    }
}
