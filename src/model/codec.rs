//! Compressed pickles: decompress gzip, bzip2, xz, lzma, zstd, zlib and lz4 streams into an
//! unnamed temp file (bounded, so a decompression bomb is an error, not an OOM), and compress
//! a rewritten pickle back with the same codec.

use std::fs::File;
use std::io::{self, Read, Write};

use super::sniff::Format;

/// The content may be at most `max_ratio` times the compressed size (but always `floor`
/// bytes) and never more than `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_ratio: u64,
    pub floor: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 << 30,
            max_ratio: 200,
            floor: 64 << 20,
        }
    }
}

impl Limits {
    /// The defaults, overridden by `PICKLESCOPE_MAX_INFLATE_BYTES` and
    /// `PICKLESCOPE_MAX_INFLATE_RATIO` (plain integers) where set.
    pub fn from_env() -> Limits {
        let get = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let mut l = Limits::default();
        if let Some(b) = get("PICKLESCOPE_MAX_INFLATE_BYTES") {
            l.max_bytes = b;
            l.floor = l.floor.min(b);
        }
        if let Some(r) = get("PICKLESCOPE_MAX_INFLATE_RATIO") {
            l.max_ratio = r;
        }
        l
    }

    /// The most bytes a stream of `compressed` bytes may decompress to.
    pub fn cap(&self, compressed: u64) -> u64 {
        compressed
            .saturating_mul(self.max_ratio)
            .max(self.floor)
            .min(self.max_bytes)
    }
}

/// Why a compressed file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    #[error("{} data does not decompress: {source}", format.name())]
    Corrupt {
        format: Format,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} data decompresses to more than {cap} bytes ({ratio}x its {compressed} bytes on disk): refused as a decompression bomb (PICKLESCOPE_MAX_INFLATE_BYTES / PICKLESCOPE_MAX_INFLATE_RATIO raise the limits)",
        format.name()
    )]
    TooLarge {
        format: Format,
        cap: u64,
        compressed: u64,
        ratio: u64,
    },
    #[error("temp file for the decompressed data: {0}")]
    Io(#[source] io::Error),
}

/// A reader that decompresses `format` from `r` (every member or frame, in sequence).
fn decoder<'a, R: Read + 'a>(format: Format, r: R) -> io::Result<Box<dyn Read + 'a>> {
    let r = io::BufReader::with_capacity(1 << 16, r);
    Ok(match format {
        Format::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Format::Zlib => Box::new(flate2::bufread::ZlibDecoder::new(r)),
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(r)),
        Format::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(r)),
        Format::Lzma => {
            let s =
                liblzma::stream::Stream::new_lzma_decoder(u64::MAX).map_err(io::Error::other)?;
            Box::new(liblzma::bufread::XzDecoder::new_stream(r, s))
        }
        Format::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Format::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(r)),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a compression codec", other.name()),
            ));
        }
    })
}

/// Decompresses `file` (`compressed` bytes of `format`) into an unnamed temp file, streaming,
/// within `limits`. Returns the temp file and its length.
pub fn inflate(
    format: Format,
    file: &File,
    compressed: u64,
    limits: &Limits,
) -> Result<(File, u64), InflateError> {
    let cap = limits.cap(compressed);
    let corrupt = |source| InflateError::Corrupt { format, source };
    let mut out = tempfile::tempfile().map_err(InflateError::Io)?;
    let mut dec = decoder(format, file).map_err(corrupt)?.take(cap + 1);
    let mut w = io::BufWriter::with_capacity(1 << 20, &mut out);
    let n = io::copy(&mut dec, &mut w).map_err(|e| {
        if e.kind() == io::ErrorKind::WriteZero || e.raw_os_error().is_some() {
            InflateError::Io(e)
        } else {
            corrupt(e)
        }
    })?;
    w.flush().map_err(InflateError::Io)?;
    drop(w);
    if n > cap {
        return Err(InflateError::TooLarge {
            format,
            cap,
            compressed,
            ratio: cap / compressed.max(1),
        });
    }
    Ok((out, n))
}

/// Decompresses bytes held in memory (a compressed pickle inside a `bytes` value) within
/// `limits`.
pub fn inflate_slice(
    format: Format,
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>, InflateError> {
    let compressed = data.len() as u64;
    let cap = limits.cap(compressed);
    let corrupt = |source| InflateError::Corrupt { format, source };
    let mut out = Vec::new();
    decoder(format, data)
        .map_err(corrupt)?
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() as u64 > cap {
        return Err(InflateError::TooLarge {
            format,
            cap,
            compressed,
            ratio: cap / compressed.max(1),
        });
    }
    Ok(out)
}

/// Writes through `format`'s compressor (or as is, for `None`); [`Encoder::finish`] ends the
/// stream and hands back the inner writer.
pub enum Encoder<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Zlib(flate2::write::ZlibEncoder<W>),
    Bzip2(bzip2::write::BzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Lz4(lz4_flex::frame::FrameEncoder<W>),
}

impl<W: Write> Encoder<W> {
    pub fn new(format: Option<Format>, w: W) -> io::Result<Encoder<W>> {
        Ok(match format {
            None => Encoder::Plain(w),
            Some(Format::Gzip) => Encoder::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Some(Format::Zlib) => Encoder::Zlib(flate2::write::ZlibEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Some(Format::Bzip2) => Encoder::Bzip2(bzip2::write::BzEncoder::new(
                w,
                bzip2::Compression::default(),
            )),
            Some(Format::Xz) => Encoder::Xz(liblzma::write::XzEncoder::new(w, 6)),
            Some(Format::Lzma) => {
                let opts = liblzma::stream::LzmaOptions::new_preset(6).map_err(io::Error::other)?;
                let s =
                    liblzma::stream::Stream::new_lzma_encoder(&opts).map_err(io::Error::other)?;
                Encoder::Xz(liblzma::write::XzEncoder::new_stream(w, s))
            }
            Some(Format::Zstd) => Encoder::Zstd(zstd::stream::write::Encoder::new(w, 0)?),
            Some(Format::Lz4) => Encoder::Lz4(lz4_flex::frame::FrameEncoder::new(w)),
            Some(other) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a compression codec", other.name()),
                ));
            }
        })
    }

    /// Ends the compressed stream; returns the inner writer (not flushed).
    pub fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zlib(e) => e.finish(),
            Encoder::Bzip2(e) => e.finish(),
            Encoder::Xz(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
            Encoder::Lz4(e) => e.finish().map_err(io::Error::other),
        }
    }

    fn inner(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(w) => w,
            Encoder::Gzip(e) => e,
            Encoder::Zlib(e) => e,
            Encoder::Bzip2(e) => e,
            Encoder::Xz(e) => e,
            Encoder::Zstd(e) => e,
            Encoder::Lz4(e) => e,
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner().flush()
    }
}
