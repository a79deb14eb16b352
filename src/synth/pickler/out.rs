//! The encoder's output with CPython's framing (`_Pickler_Write`, `_Pickler_CommitFrame`,
//! `_Pickler_OpcodeBoundary`, `_Pickler_write_bytes`) and small writers it needs.

use std::io::{self, Write};

use crate::pickle::Op;
use crate::pickle::frame::{FRAME_TARGET, frame_header};

pub(super) struct Out<W: Write> {
    pub(super) w: W,
    pub(super) framing: bool,
    pub(super) in_frame: bool,
    pub(super) frame: Vec<u8>,
    pub(super) written: u64,
}

impl<W: Write> Out<W> {
    pub(super) fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    /// `_Pickler_Write`: into the current frame (opening one) when framing.
    pub(super) fn write(&mut self, b: &[u8]) -> io::Result<()> {
        if self.framing {
            self.in_frame = true;
            self.frame.extend_from_slice(b);
            Ok(())
        } else {
            self.raw(b)
        }
    }

    pub(super) fn op(&mut self, op: Op) -> io::Result<()> {
        self.write(&[op as u8])
    }

    /// `_Pickler_CommitFrame`.
    pub(super) fn commit_frame(&mut self) -> io::Result<()> {
        if !self.in_frame {
            return Ok(());
        }
        self.in_frame = false;
        let frame = std::mem::take(&mut self.frame);
        if let Some(hdr) = frame_header(frame.len()) {
            self.raw(&hdr)?;
        }
        self.raw(&frame)?;
        self.frame = frame;
        self.frame.clear();
        Ok(())
    }

    /// `_Pickler_OpcodeBoundary`: called at the start of every `save()`.
    pub(super) fn boundary(&mut self) -> io::Result<()> {
        if self.in_frame && self.frame.len() >= FRAME_TARGET {
            self.commit_frame()?;
        }
        Ok(())
    }

    /// `_Pickler_write_bytes`: header then payload; a payload of 64 KiB or more goes outside
    /// frames (the current frame is committed first).
    pub(super) fn write_bytes(
        &mut self,
        header: &[u8],
        len: usize,
        payload: &dyn Fn(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if len >= FRAME_TARGET {
            self.commit_frame()?;
            self.raw(header)?;
            return self.write_unframed(len, payload);
        }
        self.write(header)?;
        if !self.framing {
            return self.write_unframed(len, payload);
        }
        self.in_frame = true;
        let before = self.frame.len();
        payload(&mut self.frame)?;
        if self.frame.len() - before != len {
            return Err(io::Error::other("payload length mismatch"));
        }
        Ok(())
    }

    /// Writes `payload` straight to the output (no frame), checking it is `len` bytes.
    fn write_unframed(
        &mut self,
        len: usize,
        payload: &dyn Fn(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut cw = CountingWriter {
            inner: &mut self.w,
            n: 0,
        };
        payload(&mut cw)?;
        let n = cw.n;
        self.written += n;
        if n != len as u64 {
            return Err(io::Error::other("payload length mismatch"));
        }
        Ok(())
    }
}

pub(super) struct CountingWriter<'w, W: Write> {
    inner: &'w mut W,
    n: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Turns raw bytes into the UTF-8 of their latin-1 decoding (protocol 2's `bytes` form).
pub(super) struct Latin1Utf8<'w> {
    pub(super) inner: &'w mut dyn Write,
    pub(super) buf: Vec<u8>,
}

impl Write for Latin1Utf8<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        for &c in data {
            if c < 0x80 {
                self.buf.push(c);
            } else {
                self.buf.push(0xC0 | (c >> 6));
                self.buf.push(0x80 | (c & 0x3F));
            }
        }
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(super) struct HighByteCounter(pub(super) usize, pub(super) usize);

impl Write for HighByteCounter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0 += data.len();
        self.1 += data.iter().filter(|&&c| c >= 0x80).count();
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
