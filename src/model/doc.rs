//! An opened pickle file: its bytes (copied in, never mapped), its parsed graph, warnings and
//! file identity.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use memmap2::Mmap;

use super::codec::{self, InflateError};
use super::sniff::{self, Format};
use super::sparse::{LARGE_PAYLOAD, SparseMap, is_changed};
use crate::pickle::value::BYTES_PREVIEW;

use crate::pickle::{self, Graph, PickleError, Warning};

/// Why a file could not be opened as a pickle.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Pickle {
        path: PathBuf,
        #[source]
        source: PickleError,
    },
    /// A compressed file that does not decompress, or would decompress beyond the limits.
    #[error("{path}: {source}")]
    Inflate {
        path: PathBuf,
        #[source]
        source: InflateError,
    },
    /// Another format, recognised when the bytes do not parse as a pickle.
    #[error("{path}: {}, not a pickle", format.describe())]
    NotAPickle { path: PathBuf, format: Format },
    /// A NumPy `.npy` file whose header cannot be read.
    #[error("{path}: NumPy .npy file: {message}")]
    Npy { path: PathBuf, message: String },
    /// A zip archive that cannot be read as one.
    #[error("{path}: zip archive: {message}")]
    Archive { path: PathBuf, message: String },
    /// The file shrank, grew or was replaced while it was being read.
    #[error("{path}: changed while being read")]
    Changed { path: PathBuf },
}

impl LoadError {
    /// True when the file was read but is not a valid pickle.
    pub fn is_invalid_pickle(&self) -> bool {
        matches!(
            self,
            LoadError::Pickle { .. }
                | LoadError::NotAPickle { .. }
                | LoadError::Archive { .. }
                | LoadError::Npy { .. }
                | LoadError::Inflate {
                    source: InflateError::Corrupt { .. } | InflateError::TooLarge { .. },
                    ..
                }
        )
    }
}

enum Backing {
    /// The content of a compressed file, in an unnamed temp file only we hold (nobody else
    /// can truncate it).
    Map(Mmap),
    Sparse(SparseMap),
    Owned(Vec<u8>),
}

impl Backing {
    fn bytes(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Sparse(s) => s.as_slice(),
            Backing::Owned(v) => v,
        }
    }
}

/// A document's bytes for copying out whole: [`FileBytes::data`] is what the parser read
/// (in a large file, raw payloads of 16 KiB or more are left out of it), and
/// [`FileBytes::copy_range`] hands over the file's bytes everywhere, reading what was left
/// out from the file.
#[derive(Clone, Copy)]
pub struct FileBytes<'a> {
    data: &'a [u8],
    sparse: Option<&'a SparseMap>,
}

impl<'a> FileBytes<'a> {
    /// Bytes held whole in memory.
    pub fn memory(data: &'a [u8]) -> FileBytes<'a> {
        FileBytes { data, sparse: None }
    }

    /// The bytes the parser read.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Hands the file's bytes over `range` to `out`, in order; a file that no longer holds
    /// them is a "changed while being read" error ([`super::sparse::is_changed`]).
    pub fn copy_range(
        &self,
        range: Range<usize>,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        match self.sparse {
            Some(s) => s.copy_range(range, out),
            None => {
                let end = range.end.min(self.data.len());
                out(&self.data[range.start.min(end)..end])
            }
        }
    }

    /// True when every byte is in [`FileBytes::data`] (nothing to read from the file).
    pub fn is_whole(&self) -> bool {
        self.sparse.is_none_or(|s| s.holes().is_empty())
    }
}

/// Size, modification time and file identity, to notice a file changed since it was read.
///
/// On Unix the inode (a file replaced by rename, e.g. `rsync -t` or `cp -p` to a temp name)
/// and the change time (any write, even one that restores size and mtime) are included too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    pub len: u64,
    pub mtime: Option<SystemTime>,
    /// `(device, inode, ctime seconds, ctime nanoseconds)`; zeros where not available.
    pub id: (u64, u64, i64, i64),
}

impl FileStamp {
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        Ok(FileStamp::from_meta(&m))
    }

    pub fn from_meta(m: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
        };
        #[cfg(not(unix))]
        let id = (0, 0, 0, 0);
        FileStamp {
            len: m.len(),
            mtime: m.modified().ok(),
            id,
        }
    }

    /// True while both the open `file` and the file now at `path` still have this stamp
    /// (what was read of it is one state of one file).
    pub fn holds(&self, file: &File, path: &Path) -> bool {
        let same = |s: std::io::Result<FileStamp>| s.is_ok_and(|s| s == *self);
        same(file.metadata().map(|m| FileStamp::from_meta(&m))) && same(FileStamp::of(path))
    }
}

/// A parsed pickle file.
pub struct Doc {
    pub path: PathBuf,
    backing: Backing,
    pub graph: Graph,
    pub warnings: Vec<Warning>,
    pub stamp: Option<FileStamp>,
    /// The codec, when the file on disk is compressed (`data` is then the content).
    pub compressed: Option<Compressed>,
    /// What the bytes are when they are not (only) a pickle: an archive member's array.
    pub summary: Option<String>,
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc")
            .field("path", &self.path)
            .field("bytes", &self.data().len())
            .field("nodes", &self.graph.nodes.len())
            .finish()
    }
}

/// Files at least this large are read sparsely when large payloads dominate them (smaller
/// ones cost less to read whole than to read in pieces).
const SPARSE_FROM: u64 = 1 << 20;

/// An opened file not parsed yet (a quick opcode pass can look at it first).
pub struct RawFile {
    pub path: PathBuf,
    backing: Backing,
    pub stamp: FileStamp,
    /// The codec, when the file is a compressed pickle (its bytes are then the content).
    pub compressed: Option<Compressed>,
}

/// A compressed file's codec and size on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressed {
    pub format: Format,
    pub disk_bytes: u64,
}

/// The codec the file starts with, from its first bytes.
fn codec_of(file: &File, len: u64) -> Option<Format> {
    let mut head = [0u8; 16];
    let n = head.len().min(len as usize);
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut head[..n], 0).ok()?;
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        return None;
    }
    sniff::magic(&head[..n]).filter(|f| f.is_codec())
}

impl RawFile {
    /// Reads a regular file: whole into memory, or (a large file whose large raw payloads
    /// dominate) everything but those payloads (see [`super::sparse`]). Nothing is mapped
    /// from the file, so a file truncated by another process cannot take bytes away from
    /// under us; a file that shrank, grew or was replaced while it was being read is
    /// [`LoadError::Changed`].
    pub fn open(path: &Path) -> Result<RawFile, LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "is a directory, not a pickle file",
            )));
        }
        if !meta.is_file() {
            // A FIFO would block `open` forever, a device has no size to read.
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a FIFO, socket or device), not a pickle file",
            )));
        }
        let file = File::open(path).map_err(io)?;
        // The stamp of the file actually opened (a rename between the two calls is noticed).
        let opened = file.metadata().map_err(io)?;
        if !opened.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file, not a pickle file",
            )));
        }
        let stamp = FileStamp::from_meta(&opened);
        let meta = opened;
        if let Some(format) = codec_of(&file, meta.len()) {
            // The content goes to an unnamed temp file of our own (nobody else can truncate
            // it under the map), streamed within the decompression limits.
            match codec::inflate(format, &file, meta.len(), &codec::Limits::from_env()) {
                Ok((tmp, n)) => {
                    let backing = if n == 0 {
                        Backing::Owned(Vec::new())
                    } else {
                        // SAFETY: a private read-only map of an unnamed file only we hold.
                        #[allow(unsafe_code)]
                        let m = unsafe { Mmap::map(&tmp) }.map_err(io)?;
                        Backing::Map(m)
                    };
                    return Ok(RawFile {
                        path: path.to_path_buf(),
                        backing,
                        stamp,
                        compressed: Some(Compressed {
                            format,
                            disk_bytes: meta.len(),
                        }),
                    });
                }
                // An lzma header is only a guess (0x5d is also EMPTY_LIST): read it as is.
                Err(InflateError::Corrupt { .. }) if format == Format::Lzma => {}
                Err(source) => {
                    return Err(LoadError::Inflate {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        let changed = || LoadError::Changed {
            path: path.to_path_buf(),
        };
        let read_err = |e: std::io::Error| if is_changed(&e) { changed() } else { io(e) };
        let len = meta.len();
        let backing = if let Some(s) = (len >= SPARSE_FROM)
            .then(|| SparseMap::open(&file, len))
            .transpose()
            .map_err(read_err)?
            .flatten()
        {
            // A large file with large payloads: its opcode regions are copied in, its blobs
            // stay in the file, unread (see model::sparse).
            Backing::Sparse(s)
        } else {
            Backing::Owned(read_whole(&file, len).map_err(read_err)?)
        };
        // What was read is one state of one file: the same size, times and inode after the
        // read as before it, and still the file at `path`.
        if !stamp.holds(&file, path) {
            return Err(changed());
        }
        Ok(RawFile {
            path: path.to_path_buf(),
            backing,
            stamp,
            compressed: None,
        })
    }

    /// The file's bytes as parsed: in a large file read sparsely, raw payloads of 16 KiB or
    /// more read as zeros past their first bytes; a save copies with [`Doc::bytes`].
    pub fn data(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// Parses the file into a [`Doc`].
    pub fn parse(self) -> Result<Doc, LoadError> {
        self.parse_with(false)
    }

    /// Parses the file for a report: with the lean machine when it can
    /// ([`crate::pickle::lean`]: nodes only for what a report reads), else as [`RawFile::parse`].
    pub fn parse_lean(self) -> Result<Doc, LoadError> {
        self.parse_with(true)
    }

    fn parse_with(self, lean: bool) -> Result<Doc, LoadError> {
        let mut doc = Doc::from_backing(self.path, self.backing, lean)?;
        doc.stamp = Some(self.stamp);
        doc.compressed = self.compressed;
        Ok(doc)
    }
}

impl Doc {
    /// Reads and parses a file ([`RawFile::open`]).
    pub fn open(path: &Path) -> Result<Doc, LoadError> {
        RawFile::open(path)?.parse()
    }

    /// Reads and parses a file for a report: a regular, uncompressed file of 1 MiB or more
    /// in windows ([`Doc::open_windowed`]), else as [`RawFile::parse_lean`].
    pub fn open_lean(path: &Path) -> Result<Doc, LoadError> {
        if let Some(doc) = Doc::open_windowed(path, SPARSE_FROM, pickle::window::WINDOW)? {
            return Ok(doc);
        }
        RawFile::open(path)?.parse_lean()
    }

    /// The lean parse of a file read in windows of `window` bytes
    /// ([`pickle::lean::parse_lean_file`]): the file is never held whole; afterwards only
    /// the pages holding the bytes of the graph's nodes are copied in ([`kept_ranges`]), the
    /// rest reads as zeros. `Ok(None)` when the file is shorter than `min_len`, compressed,
    /// not a regular file, or not one the lean machine takes: the caller then reads it
    /// whole, and words any error.
    pub fn open_windowed(
        path: &Path,
        min_len: u64,
        window: usize,
    ) -> Result<Option<Doc>, LoadError> {
        // Opened only once known to be a regular file (opening a FIFO would block).
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() >= min_len.max(1)) {
            return Ok(None);
        }
        let Ok(file) = File::open(path) else {
            return Ok(None);
        };
        let Ok(meta) = file.metadata() else {
            return Ok(None);
        };
        let len = meta.len();
        if !meta.is_file() || len < min_len.max(1) || codec_of(&file, len).is_some() {
            return Ok(None);
        }
        let stamp = FileStamp::from_meta(&meta);
        let changed = || LoadError::Changed {
            path: path.to_path_buf(),
        };
        let Some(graph) = pickle::lean::parse_lean_file(&file, len, window) else {
            // A file changed under the parse is said so, not read again whole (a truncated
            // 2 GB file would be parsed by the full machine, at ten times its size).
            return if stamp.holds(&file, path) {
                Ok(None)
            } else {
                Err(changed())
            };
        };
        let map = SparseMap::from_ranges(&file, len, kept_ranges(&graph)).map_err(|e| {
            if is_changed(&e) {
                changed()
            } else {
                LoadError::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        let Some(map) = map else {
            return Ok(None);
        };
        if !stamp.holds(&file, path) {
            return Err(changed());
        }
        Ok(Some(Doc {
            path: path.to_path_buf(),
            backing: Backing::Sparse(map),
            graph,
            warnings: Vec::new(),
            stamp: Some(stamp),
            compressed: None,
            summary: None,
        }))
    }

    /// Parses bytes held in memory (tests, generated files).
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Doc, LoadError> {
        Doc::from_backing(path.into(), Backing::Owned(bytes), false)
    }

    /// [`Doc::from_bytes`] for a report ([`RawFile::parse_lean`]).
    pub fn from_bytes_lean(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Doc, LoadError> {
        Doc::from_backing(path.into(), Backing::Owned(bytes), true)
    }

    fn from_backing(path: PathBuf, backing: Backing, lean: bool) -> Result<Doc, LoadError> {
        let data: &[u8] = backing.bytes();
        if lean && let Some(graph) = pickle::lean::parse_lean(data) {
            return Ok(Doc {
                path,
                backing,
                graph,
                warnings: Vec::new(),
                stamp: None,
                compressed: None,
                summary: None,
            });
        }
        let (graph, warnings) = pickle::parse(data).map_err(|source| {
            // Text is named only when it fails at its first byte: a protocol-0 pickle broken
            // further on (or with a bad argument) is text too, and its error says more.
            let format = sniff::what(data)
                .filter(|f| {
                    *f != Format::Text
                        || source.offset == 0
                            && !matches!(source.kind, pickle::ErrorKind::BadArgument { .. })
                })
                .filter(|_| source.kind != pickle::ErrorKind::Empty);
            match format {
                Some(format) => LoadError::NotAPickle {
                    path: path.clone(),
                    format,
                },
                None => LoadError::Pickle {
                    path: path.clone(),
                    source,
                },
            }
        })?;
        Ok(Doc {
            path,
            backing,
            graph,
            warnings,
            stamp: None,
            compressed: None,
            summary: None,
        })
    }

    /// Bytes that hold no pickle (a numeric array in an archive), described by `summary`:
    /// no objects, their size only.
    pub fn opaque(path: impl Into<PathBuf>, bytes: Vec<u8>, summary: String) -> Doc {
        Doc {
            path: path.into(),
            backing: Backing::Owned(bytes),
            graph: Graph::default(),
            warnings: Vec::new(),
            stamp: None,
            compressed: None,
            summary: Some(summary),
        }
    }

    /// The file's bytes as parsed: in a large file read sparsely, raw payloads of 16 KiB or
    /// more read as zeros past their first bytes; a save copies with [`Doc::bytes`].
    pub fn data(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// The bytes for copying the file out whole (a save): see [`FileBytes`].
    pub fn bytes(&self) -> FileBytes<'_> {
        match &self.backing {
            Backing::Sparse(s) => FileBytes {
                data: s.as_slice(),
                sparse: Some(s),
            },
            Backing::Owned(v) => FileBytes::memory(v),
            Backing::Map(m) => FileBytes::memory(m),
        }
    }

    /// For a large file read sparsely (see [`super::sparse`]), the bytes held as private
    /// copies; `None` for a file read whole.
    pub fn copied_bytes(&self) -> Option<u64> {
        match &self.backing {
            Backing::Sparse(s) => Some(s.copied()),
            _ => None,
        }
    }

    /// Copies the file's bytes over `ranges` in where they were left out (a file read
    /// sparsely); nothing to do for a file held whole.
    pub fn copy_in(&mut self, ranges: Vec<Range<u64>>) -> std::io::Result<()> {
        match &mut self.backing {
            Backing::Sparse(s) => s.fill(ranges),
            _ => Ok(()),
        }
    }

    /// Total bytes of the file.
    pub fn len(&self) -> u64 {
        self.data().len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.data().is_empty()
    }
}

/// Reads `len` bytes, the whole file: a file that is shorter or longer now is [`Changed`].
///
/// [`Changed`]: super::sparse::Changed
/// How much [`read_whole`] reads between two progress reports.
const READ_STEP: u64 = 16 << 20;

fn read_whole(file: &File, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let want = usize::try_from(len).map_err(|_| std::io::Error::other("file too large"))?;
    let mut v: Vec<u8> = Vec::new();
    v.try_reserve_exact(want.saturating_add(1))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::OutOfMemory, e.to_string()))?;
    // One byte more than expected tells a file that grew. Read in steps, to show how far.
    let mut rest = file.take(len.saturating_add(1));
    loop {
        let n = (&mut rest).take(READ_STEP).read_to_end(&mut v)?;
        crate::pickle::progress::report_read(v.len(), want);
        if n == 0 {
            break;
        }
    }
    if v.len() != want {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            super::sparse::Changed,
        ));
    }
    Ok(v)
}

/// The file ranges a lean graph's nodes read their values from: each scalar's instruction
/// (a large raw payload only its first [`BYTES_PREVIEW`] bytes), the names of globals, the
/// first bytes of every other node and of the file.
fn kept_ranges(g: &Graph) -> Vec<Range<u64>> {
    let mut out = node_ranges(g.nodes.iter());
    out.push(0..64);
    out
}

/// The file ranges `nodes` read their values from (see [`kept_ranges`]).
pub(crate) fn node_ranges(
    nodes: impl ExactSizeIterator<Item = crate::pickle::Node>,
) -> Vec<Range<u64>> {
    use crate::pickle::Kind;
    let mut out = Vec::with_capacity(nodes.len() * 2 + 1);
    for n in nodes {
        let s = n.span.start;
        let head = s..(s + 16).min(n.span.end.max(s + 1));
        match n.kind {
            Kind::Str(t) => out.push(s..t.start + u64::from(t.len)),
            Kind::Global { module, name } => {
                out.push(head);
                out.push(module.start..module.start + u64::from(module.len));
                out.push(name.start..name.start + u64::from(name.len));
            }
            Kind::Int { payload } | Kind::Float { payload } => out.push(s..payload.end),
            Kind::Bytes { payload } | Kind::ByteArray { payload } => {
                let cut = if payload.end - payload.start >= LARGE_PAYLOAD {
                    payload.start + BYTES_PREVIEW as u64
                } else {
                    payload.end
                };
                out.push(s..cut);
            }
            _ => out.push(head),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::FileStamp;

    #[test]
    fn a_stamp_holds_until_the_file_is_written_or_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.pickle");
        std::fs::write(&path, b"\x80\x04N.").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let stamp = FileStamp::of(&path).unwrap();
        assert!(stamp.holds(&file, &path));
        // Another file renamed over it: the open file is the same, the path is not.
        let other = dir.path().join("g.pickle");
        std::fs::write(&other, b"\x80\x04N.").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert!(!stamp.holds(&file, &path));
        // The open file written (truncated): it no longer holds either.
        let file = std::fs::File::open(&path).unwrap();
        let stamp = FileStamp::of(&path).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1)
            .unwrap();
        assert!(!stamp.holds(&file, &path));
    }
}
