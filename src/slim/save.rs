//! Saving in place: temp file in the same directory, fsync, verify, refuse if the original
//! changed, keep permissions, optional `.orig` backup, atomic rename, fsync the directory.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::codec::Encoder;
use crate::model::sniff::Format;
use crate::model::{Doc, FileStamp};

use super::write::{RewriteError, Sink, WriteSink, rewrite_file};

/// Options for an in-place save.
#[derive(Debug, Clone, Default)]
pub struct SaveOptions {
    /// Keep the original as `<file>.orig` (refused if that exists).
    pub backup: bool,
    /// Test hook: fail with an I/O error after this many bytes were written.
    pub fail_after: Option<u64>,
    /// Leave the directory's fsync (which makes the rename durable) to the caller, who saves
    /// several files and syncs each directory once with [`sync_dirs`]. Until then a crash can
    /// only bring back the original file, whole.
    pub defer_dir_sync: bool,
    /// Give the rewritten file the time of the rewrite. By default it keeps the original's
    /// modification (and access) time: the pipeline's `h_resume('last')` resumes the newest
    /// `.context` by mtime, so slimming an older context must not make it the newest.
    pub touch: bool,
}

/// Why a save did not happen. The original file is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Rewrite { path: PathBuf, source: RewriteError },
    #[error("{path}: changed on disk since it was read; not overwritten (reopen and try again)")]
    Changed { path: PathBuf },
    #[error("{path}: changed while being read; not overwritten")]
    ChangedWhileRead { path: PathBuf },
    #[error("{path}: backup {backup} already exists; not overwritten (move it away first)")]
    BackupExists { path: PathBuf, backup: PathBuf },
    #[error("{path}: verification failed: {why}; original kept")]
    Verify { path: PathBuf, why: String },
    #[error("{path}: not written: {why}")]
    NotWritable { path: PathBuf, why: String },
}

/// The result of a successful save.
#[derive(Debug, Clone)]
pub struct Saved {
    pub path: PathBuf,
    pub bytes: u64,
    pub backup: Option<PathBuf>,
    /// The directory that holds the new file.
    pub dir: PathBuf,
}

struct FailAfter<W: Write> {
    inner: W,
    left: Option<u64>,
}

impl<W: Write> Write for FailAfter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(left) = self.left.as_mut() {
            if *left < buf.len() as u64 {
                return Err(std::io::Error::other("injected write failure"));
            }
            *left -= buf.len() as u64;
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `doc` minus `cuts` over `doc.path`, atomically. `expected` is the dry-run size.
pub fn save_in_place(
    doc: &Doc,
    cuts: &[crate::pickle::Span],
    expected: u64,
    opts: &SaveOptions,
) -> Result<Saved, SaveError> {
    // A symlink stays a link: its target is what gets replaced.
    let target = fs::canonicalize(&doc.path).map_err(|source| SaveError::Io {
        path: doc.path.clone(),
        source,
    })?;
    let io = |source: std::io::Error| SaveError::Io {
        path: doc.path.clone(),
        source,
    };
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if let Some(why) = super::writable::dir_refuses(&dir) {
        return Err(SaveError::NotWritable {
            path: doc.path.clone(),
            why,
        });
    }
    let backup = opts.backup.then(|| {
        let mut b = target.clone().into_os_string();
        b.push(".orig");
        PathBuf::from(b)
    });
    if let Some(b) = &backup
        && b.exists()
    {
        return Err(SaveError::BackupExists {
            path: doc.path.clone(),
            backup: b.clone(),
        });
    }
    check_unchanged(doc, &target)?;
    let meta = fs::metadata(&target).map_err(io)?;
    let perms = meta.permissions();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pickle".into());
    let tmp = TempOut::create(&dir, &name).map_err(io)?;
    {
        let file = tmp.file().try_clone().map_err(io)?;
        let buf = BufWriter::with_capacity(1 << 20, file);
        // A compressed pickle is written back with its codec (sizes count the content).
        let enc = Encoder::new(
            doc.compressed.map(|c| c.format),
            FailAfter {
                inner: buf,
                left: opts.fail_after,
            },
        )
        .map_err(io)?;
        let mut sink = WriteSink {
            inner: enc,
            written: 0,
        };
        rewrite_file(doc.bytes(), &doc.graph, cuts, &mut sink as &mut dyn Sink).map_err(
            |source| match source {
                RewriteError::Io(e) if crate::model::sparse::is_changed(&e) => {
                    SaveError::ChangedWhileRead {
                        path: doc.path.clone(),
                    }
                }
                source => SaveError::Rewrite {
                    path: doc.path.clone(),
                    source,
                },
            },
        )?;
        let written = sink.written;
        sink.inner.finish().map_err(io)?.flush().map_err(io)?;
        if written != expected {
            return Err(SaveError::Verify {
                path: doc.path.clone(),
                why: format!("wrote {written} bytes, dry-run said {expected}"),
            });
        }
    }
    tmp.file().sync_all().map_err(io)?;
    verify(&tmp.read_path(), expected, doc.compressed.map(|c| c.format)).map_err(|why| {
        SaveError::Verify {
            path: doc.path.clone(),
            why,
        }
    })?;
    // Owner and group first (best effort: only root or the owner may change them; a chown can
    // clear set-id bits, so the mode is set after it).
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = std::os::unix::fs::fchown(tmp.file(), Some(meta.uid()), Some(meta.gid()));
    }
    tmp.file().set_permissions(perms).map_err(io)?;
    if !opts.touch {
        let mut times = fs::FileTimes::new().set_modified(meta.modified().map_err(io)?);
        if let Ok(a) = meta.accessed() {
            times = times.set_accessed(a);
        }
        tmp.file().set_times(times).map_err(io)?;
    }
    check_unchanged(doc, &target)?;
    if let Some(b) = &backup {
        // A hard link keeps the original bytes under the backup name without copying.
        if fs::hard_link(&target, b).is_err() {
            fs::copy(&target, b).map_err(io)?;
        }
    }
    tmp.persist(&dir, &name, &target).map_err(io)?;
    if !opts.defer_dir_sync {
        sync_dirs(std::slice::from_ref(&dir));
    }
    Ok(Saved {
        path: doc.path.clone(),
        bytes: expected,
        backup,
        dir,
    })
}

/// The new file while it is being written. On Linux it has no name at all (`O_TMPFILE`), so a
/// process killed meanwhile (SIGKILL, the OOM killer, a node going down) leaves nothing behind;
/// it gets a hidden name only for the instant between `linkat` and the `rename` over the
/// target. Elsewhere, or where the filesystem lacks `O_TMPFILE`, it is a hidden named temp file
/// `.<name>.picklescope-*.tmp` in the same directory, removed on every error path.
enum TempOut {
    #[cfg(target_os = "linux")]
    Unnamed(File),
    Named(tempfile::NamedTempFile),
}

impl TempOut {
    fn create(dir: &Path, name: &str) -> std::io::Result<TempOut> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            if Path::new("/proc/self/fd").is_dir()
                && let Ok(f) = fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .mode(0o600)
                    .custom_flags(libc::O_TMPFILE)
                    .open(dir)
            {
                return Ok(TempOut::Unnamed(f));
            }
        }
        tempfile::Builder::new()
            .prefix(&format!(".{name}.picklescope-"))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map(TempOut::Named)
    }

    fn file(&self) -> &File {
        match self {
            #[cfg(target_os = "linux")]
            TempOut::Unnamed(f) => f,
            TempOut::Named(t) => t.as_file(),
        }
    }

    /// A path that opens the new file (for reading it back).
    fn read_path(&self) -> PathBuf {
        match self {
            #[cfg(target_os = "linux")]
            TempOut::Unnamed(f) => {
                use std::os::fd::AsRawFd;
                PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()))
            }
            TempOut::Named(t) => t.path().to_path_buf(),
        }
    }

    /// Puts the new file in place of `target` with one atomic rename.
    fn persist(self, dir: &Path, name: &str, target: &Path) -> std::io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            TempOut::Unnamed(f) => {
                use std::os::fd::AsRawFd;
                use std::os::unix::ffi::OsStrExt;
                let src = std::ffi::CString::new(format!("/proc/self/fd/{}", f.as_raw_fd()))
                    .map_err(std::io::Error::other)?;
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let mut last = std::io::Error::other("no free temp name");
                for attempt in 0..64u32 {
                    let tmp = dir.join(format!(
                        ".{name}.picklescope-{}-{:08x}.tmp",
                        std::process::id(),
                        stamp.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
                    ));
                    let dst = std::ffi::CString::new(tmp.as_os_str().as_bytes())
                        .map_err(std::io::Error::other)?;
                    // SAFETY: both paths are valid NUL-terminated strings that outlive the
                    // call; linkat only reads them.
                    #[allow(unsafe_code)]
                    let r = unsafe {
                        libc::linkat(
                            libc::AT_FDCWD,
                            src.as_ptr(),
                            libc::AT_FDCWD,
                            dst.as_ptr(),
                            libc::AT_SYMLINK_FOLLOW,
                        )
                    };
                    if r != 0 {
                        last = std::io::Error::last_os_error();
                        if last.kind() == std::io::ErrorKind::AlreadyExists {
                            continue;
                        }
                        return Err(last);
                    }
                    return fs::rename(&tmp, target).inspect_err(|_| {
                        let _ = fs::remove_file(&tmp);
                    });
                }
                Err(last)
            }
            TempOut::Named(t) => {
                let _ = (dir, name);
                t.persist(target).map(drop).map_err(|e| e.error)
            }
        }
    }
}

fn check_unchanged(doc: &Doc, target: &Path) -> Result<(), SaveError> {
    let now = FileStamp::of(target).map_err(|source| SaveError::Io {
        path: doc.path.clone(),
        source,
    })?;
    match doc.stamp {
        Some(s) if s == now => Ok(()),
        Some(_) => Err(SaveError::Changed {
            path: doc.path.clone(),
        }),
        None => Ok(()),
    }
}

/// Makes renames into these directories durable (fsync of each distinct directory).
pub fn sync_dirs(dirs: &[PathBuf]) {
    let mut seen: Vec<&PathBuf> = Vec::new();
    for d in dirs {
        if seen.contains(&d) {
            continue;
        }
        seen.push(d);
        if let Ok(f) = File::open(d) {
            let _ = f.sync_all();
        }
    }
}

/// Reads the new file back with our own reader.
fn verify(path: &Path, expected: u64, codec: Option<Format>) -> Result<(), String> {
    let doc = Doc::open(path).map_err(|e| e.to_string())?;
    let got = doc.compressed.map(|c| c.format);
    if got != codec {
        return Err(format!(
            "written as {}, expected {}",
            got.map_or("plain", |f| f.name()),
            codec.map_or("plain", |f| f.name())
        ));
    }
    if doc.len() != expected {
        return Err(format!("file has {} bytes, expected {expected}", doc.len()));
    }
    Ok(())
}
