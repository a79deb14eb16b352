//! An opened pickle file: the memory map, its parsed graph, warnings and file identity.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use memmap2::Mmap;

use super::codec::{self, InflateError};
use super::sniff::{self, Format};
use super::sparse::SparseMap;

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
}

impl LoadError {
    /// True when the file was read but is not a valid pickle.
    pub fn is_invalid_pickle(&self) -> bool {
        matches!(
            self,
            LoadError::Pickle { .. }
                | LoadError::NotAPickle { .. }
                | LoadError::Inflate {
                    source: InflateError::Corrupt { .. } | InflateError::TooLarge { .. },
                    ..
                }
        )
    }
}

enum Backing {
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

/// Files at least this large are mapped for random access (no read-ahead over payloads).
const RANDOM_ACCESS_FROM: u64 = 64 << 20;
/// Files at least this large get a sparse map when they hold large payloads.
const SPARSE_FROM: u64 = 16 << 20;

/// A mapped file not parsed yet (a quick opcode pass can look at it first).
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
    /// Maps a regular file read-only. Nothing ever writes through the map.
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
            // A FIFO would block `open` forever, a device has no size to map.
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
        let backing = if meta.len() == 0 {
            Backing::Owned(Vec::new())
        } else if let Some(s) = (meta.len() >= SPARSE_FROM)
            .then(|| SparseMap::open(&file, meta.len()))
            .transpose()
            .map_err(io)?
            .flatten()
        {
            // A large file with large payloads: its opcode regions are copied in, its blobs
            // stay in the file, untouched and outside our resident set (see model::sparse).
            Backing::Sparse(s)
        } else {
            // SAFETY: the map is read-only and private to this process; picklescope never
            // writes to a file it has mapped (saves go to a new file renamed over the old
            // one), so the bytes only change if another process truncates the file, which
            // the save path detects through the file stamp.
            #[allow(unsafe_code)]
            let m = unsafe { Mmap::map(&file) }.map_err(io)?;
            // In a large file, reads jump from opcode to opcode over large payloads: no
            // read-ahead, so blobs on disk stay unread. A small file is read whole anyway, and
            // read-ahead makes that 4x faster from a cold cache.
            #[cfg(unix)]
            let _ = m.advise(if meta.len() >= RANDOM_ACCESS_FROM {
                memmap2::Advice::Random
            } else {
                memmap2::Advice::Sequential
            });
            Backing::Map(m)
        };
        Ok(RawFile {
            path: path.to_path_buf(),
            backing,
            stamp,
            compressed: None,
        })
    }

    /// The file's bytes.
    pub fn data(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// Parses the file into a [`Doc`].
    pub fn parse(self) -> Result<Doc, LoadError> {
        let mut doc = Doc::from_backing(self.path, self.backing)?;
        doc.stamp = Some(self.stamp);
        doc.compressed = self.compressed;
        Ok(doc)
    }
}

impl Doc {
    /// Maps and parses a file. The map is read-only; nothing ever writes through it.
    pub fn open(path: &Path) -> Result<Doc, LoadError> {
        RawFile::open(path)?.parse()
    }

    /// Parses bytes held in memory (tests, generated files).
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Result<Doc, LoadError> {
        Doc::from_backing(path.into(), Backing::Owned(bytes))
    }

    fn from_backing(path: PathBuf, backing: Backing) -> Result<Doc, LoadError> {
        let data: &[u8] = backing.bytes();
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
        })
    }

    /// The file's bytes.
    pub fn data(&self) -> &[u8] {
        self.backing.bytes()
    }

    /// For a large file mapped sparsely (see [`super::sparse`]), the bytes held as private
    /// copies; `None` for a plain map or bytes in memory.
    pub fn copied_bytes(&self) -> Option<u64> {
        match &self.backing {
            Backing::Sparse(s) => Some(s.copied()),
            _ => None,
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
