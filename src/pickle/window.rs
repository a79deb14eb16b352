//! A pickle file read in windows with `pread` (never mapped, never held whole): a sliding
//! buffer for the forward walks, instruction lengths from headers alone (large payloads are
//! stepped over unread), and single instructions read back from anywhere.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::ops::{ArgKind, Op};
use super::scan::{Instr, read_fast, read_general};

/// Bytes read at a time.
pub const WINDOW: usize = 1 << 20;

/// Raw byte payloads at least this long are stepped over unread (and left out of a sparse
/// copy of the file, [`crate::model::sparse`]).
pub const LARGE_PAYLOAD: u64 = 16 << 10;

/// The first read after a jump (reads then double up to the window while the walk goes on).
const FIRST_READ: usize = 64 << 10;

/// Bytes a common instruction needs at most (opcode, one-byte length, 255 bytes).
pub(crate) const MARGIN: usize = 1 + 1 + 255;

/// The part of a file a walk sees: `data` holds the file's bytes from `base` on.
pub(crate) struct Window {
    file: File,
    len: u64,
    /// Bytes read at a time, at most.
    size: usize,
    /// Bytes the next read asks for.
    run: usize,
    buf: Vec<u8>,
    base: u64,
    filled: usize,
}

impl Window {
    pub(crate) fn new(file: &File, len: u64, size: usize) -> std::io::Result<Window> {
        let size = size.max(2 * MARGIN);
        Ok(Window {
            file: file.try_clone()?,
            len,
            size,
            run: 0,
            buf: Vec::with_capacity(size.min(usize::try_from(len).unwrap_or(usize::MAX))),
            base: 0,
            filled: 0,
        })
    }

    /// The bytes held, from [`Window::base`] on.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    pub(crate) fn base(&self) -> u64 {
        self.base
    }

    /// True when the bytes held reach the end of the file.
    pub(crate) fn at_end(&self) -> bool {
        self.base + self.filled as u64 >= self.len
    }

    /// Moves the window to start at `pos`, keeping what it holds from there, and fills it.
    /// Reads grow while the walk goes on through them and start small again after a jump
    /// over a large payload; a walk that made no progress (one instruction larger than the
    /// window) doubles it.
    pub(crate) fn slide_to(&mut self, pos: u64) -> std::io::Result<()> {
        let held = self.base + self.filled as u64;
        let stuck = pos == self.base && self.filled > 0;
        let keep = if pos >= self.base && pos <= held {
            let from = (pos - self.base) as usize;
            self.buf.copy_within(from..self.filled, 0);
            self.filled - from
        } else {
            0
        };
        self.run = if stuck {
            self.filled.saturating_mul(2)
        } else if pos > held || self.filled == 0 {
            FIRST_READ.min(self.size)
        } else {
            self.run.saturating_mul(2).min(self.size)
        };
        let want = self
            .run
            .max(keep)
            .min(usize::try_from(self.len.saturating_sub(pos)).unwrap_or(usize::MAX));
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        self.base = pos;
        self.filled = keep;
        while self.filled < want {
            let n = self
                .file
                .read_at(&mut self.buf[self.filled..want], pos + self.filled as u64)?;
            if n == 0 {
                // The file is shorter than when it was opened.
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
            self.filled += n;
        }
        Ok(())
    }
}

/// The length of the instruction at `data[rel]` from its opcode and length prefix alone
/// (`None` for text-line arguments, unknown opcodes or a header cut short).
pub(crate) fn len_from_header(data: &[u8], rel: usize) -> Option<u64> {
    let op = Op::from_byte(*data.get(rel)?)?;
    let h = |w: usize| data.get(rel + 1..rel + 1 + w);
    let (w, n) = match op.arg_kind() {
        ArgKind::None => (0, 0),
        ArgKind::U1 => (1, 0),
        ArgKind::U2 => (2, 0),
        ArgKind::I4 | ArgKind::U4 => (4, 0),
        ArgKind::U8 | ArgKind::F8 => (8, 0),
        ArgKind::Len1 => (1, u64::from(h(1)?[0])),
        ArgKind::Len4 => (4, u64::from(u32::from_le_bytes(h(4)?.try_into().ok()?))),
        ArgKind::Len4Signed => {
            let v = i32::from_le_bytes(h(4)?.try_into().ok()?);
            (4, u64::try_from(v).ok()?)
        }
        ArgKind::Len8 => (8, u64::from_le_bytes(h(8)?.try_into().ok()?)),
        ArgKind::Line | ArgKind::TwoLines => return None,
    };
    (1 + w as u64).checked_add(n)
}

/// Decodes the instruction at `data[rel]`, its offsets made absolute (`data` starts at
/// `base` in the file); `None` when it does not lie whole inside `data`.
#[inline(always)]
pub(crate) fn decode(data: &[u8], rel: usize, base: usize) -> Option<Instr<'_>> {
    let i = match read_fast(data, rel) {
        Some(i) => i,
        None => read_general(data, rel).ok()?,
    };
    Some(Instr {
        pos: i.pos + base,
        end: i.end + base,
        ..i
    })
}

/// The bytes of the instruction at `pos` read from the file (at most `max` bytes of it;
/// `None` when it does not end within them or the file).
pub(crate) fn read_instr_at(file: &File, len: u64, pos: u64, max: usize) -> Option<Vec<u8>> {
    let avail = usize::try_from(len.checked_sub(pos)?).ok()?;
    let mut want = avail.min(4096);
    loop {
        let mut buf = vec![0; want];
        file.read_exact_at(&mut buf, pos).ok()?;
        let need = match len_from_header(&buf, 0) {
            Some(n) => usize::try_from(n).ok()?,
            None if read_general(&buf, 0).is_ok() => return Some(buf),
            None if want >= avail.min(max) => return None,
            None => want.saturating_mul(4),
        };
        if need <= want {
            buf.truncate(need);
            return Some(buf);
        }
        if need > avail.min(max) {
            return None;
        }
        want = need.min(avail);
    }
}

/// The first bytes (up to 9: an opcode and its longest length prefix) at `pos`.
pub(crate) fn read_head(file: &File, len: usize, pos: usize) -> Option<Vec<u8>> {
    let n = 9.min(len.checked_sub(pos)?);
    let mut h = vec![0; n];
    file.read_exact_at(&mut h, pos as u64).ok()?;
    Some(h)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut t = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut t, bytes).unwrap();
        let f = t.reopen().unwrap();
        (t, f)
    }

    #[test]
    fn lengths_from_headers_alone() {
        let mut big = vec![Op::BINBYTES8 as u8];
        big.extend(1_000_000u64.to_le_bytes());
        assert_eq!(len_from_header(&big, 0), Some(9 + 1_000_000));
        assert_eq!(
            len_from_header(&[Op::SHORT_BINUNICODE as u8, 3], 0),
            Some(5)
        );
        assert_eq!(len_from_header(&[Op::BINFLOAT as u8], 0), Some(9));
        // A header cut short, a text line, a negative signed length: not from the header.
        assert_eq!(len_from_header(&[Op::BINUNICODE as u8, 1, 0], 0), None);
        assert_eq!(len_from_header(b"I12\n", 0), None);
        let neg = [Op::BINSTRING as u8, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(len_from_header(&neg, 0), None);
    }

    #[test]
    fn an_instruction_read_back_from_the_file() {
        let mut bytes = vec![Op::NONE as u8; 10];
        let at = bytes.len();
        bytes.extend([Op::BINUNICODE as u8]);
        bytes.extend(6000u32.to_le_bytes());
        bytes.extend(vec![b'x'; 6000]);
        bytes.extend(b"I42\n.");
        let (_t, f) = file_of(&bytes);
        let len = bytes.len() as u64;
        let b = read_instr_at(&f, len, at as u64, usize::MAX).unwrap();
        assert_eq!(b.len(), 5 + 6000);
        let i = decode(&b, 0, at).unwrap();
        assert_eq!((i.op, i.pos, i.end), (Op::BINUNICODE, at, at + 5 + 6000));
        // Text lines are read until their newline; past `max`, nothing.
        let line = read_instr_at(&f, len, (at + 6005) as u64, usize::MAX).unwrap();
        assert_eq!(line, b"I42\n.");
        assert!(read_instr_at(&f, len, at as u64, 100).is_none());
    }

    #[test]
    fn a_window_slides_and_doubles_when_stuck() {
        let bytes: Vec<u8> = (0..10_000u32).map(|x| (x % 251) as u8).collect();
        let (_t, f) = file_of(&bytes);
        let mut w = Window::new(&f, bytes.len() as u64, 1024).unwrap();
        w.slide_to(0).unwrap();
        assert!(w.data() == &bytes[..1024]);
        // Going on: what was held from there is kept, the rest read, up to the window.
        w.slide_to(1000).unwrap();
        assert!(w.base() == 1000 && w.data() == &bytes[1000..2024]);
        // No progress: the same start again doubles what is held.
        w.slide_to(1000).unwrap();
        assert!(w.data() == &bytes[1000..3048]);
        // A jump past what is held; the end of the file is the end.
        w.slide_to(9_500).unwrap();
        assert!(w.at_end() && w.data() == &bytes[9_500..]);
    }
}
