//! A read-only map of a large pickle in which only the pages holding opcodes are private
//! copies and every large payload stays mapped from the file, untouched — so neither the page
//! cache's 2 MiB folios around an array header nor the arrays themselves count in our
//! resident set. The copies are made by `pread` into a private (copy-on-write) map of the
//! file, which the kernel turns into anonymous pages: the file itself is never written, and
//! no payload folio is ever mapped; `MADV_POPULATE_WRITE` makes those copies a region at a
//! time. (Laying anonymous pages over a read-only map instead
//! costs a memory-area split per payload: 25% slower on a 1 GB file, measured.)

use std::fs::File;

use crate::pickle::Op;
use crate::pickle::ops::ArgKind;
use crate::pickle::scan::read_instr;

/// Payloads at least this long stay in the file's map and are never read while scanning.
pub const LARGE_PAYLOAD: u64 = 16 << 10;

/// Give up (the caller maps the file plainly) once this much would be copied.
const MAX_COPIED: u64 = 64 << 20;

/// Largest single copy: no more than this is read ahead of the walk, so a large payload
/// right after dense opcodes is mostly left in the file.
const MAX_RUN: usize = LARGE_PAYLOAD as usize;

/// Copies past which the payloads left in the file must be at least four times larger.
const WORTH_CHECKING_FROM: usize = 4 << 20;

/// How copied regions are brought in (both give the same bytes; tests run both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// `MADV_POPULATE_WRITE` over each region (one copy, one call), falling back to `Pread`
    /// where the kernel lacks it.
    Populate,
    /// `pread` into the map (a copy-on-write fault per page, then the read's copy).
    Pread,
}

/// The bytes of a file, one contiguous slice: copied pages where opcodes are, the file's
/// map where large payloads are.
pub struct SparseMap {
    ptr: *mut u8,
    len: usize,
    copied: u64,
}

// SAFETY: the mapping is private to this value, written only by the builder inside `open`
// (after which only `&[u8]` views of it exist) and unmapped only by `Drop`; sharing views of
// it between threads is as safe as sharing a `memmap2::Mmap`.
#[allow(unsafe_code)]
unsafe impl Send for SparseMap {}
#[allow(unsafe_code)]
unsafe impl Sync for SparseMap {}

impl std::fmt::Debug for SparseMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseMap")
            .field("len", &self.len)
            .field("copied", &self.copied)
            .finish()
    }
}

impl SparseMap {
    /// Maps `file` (of `len` bytes) and copies the opcode regions in. `Ok(None)` when the file
    /// is not worth it or not readable this way (no large payloads, too much to copy, bytes
    /// that are not opcodes): the caller then maps it plainly and the parser judges it.
    #[cfg(target_os = "linux")]
    pub fn open(file: &File, len: u64) -> std::io::Result<Option<SparseMap>> {
        Self::open_filled(file, len, Fill::Populate)
    }

    /// [`SparseMap::open`], choosing how regions are copied in.
    #[cfg(target_os = "linux")]
    pub fn open_filled(file: &File, len: u64, fill: Fill) -> std::io::Result<Option<SparseMap>> {
        let Ok(size) = usize::try_from(len) else {
            return Ok(None);
        };
        if size == 0 {
            return Ok(None);
        }
        let map = Self::map_file(file, size)?;
        // Our own reads jump too: no read-ahead on this descriptor.
        {
            use std::os::fd::AsRawFd;
            // SAFETY: advice on an open descriptor; it never changes the file.
            #[allow(unsafe_code)]
            unsafe {
                libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM);
            }
        }
        let mut b = Builder {
            map,
            file,
            page: page_size(),
            covered: 0,
            run: 0,
            copied: 0,
            skipped: 0,
            populate: fill == Fill::Populate,
        };
        match b.scan() {
            // Not `mprotect`ed read-only afterwards: nothing writes to it once `open` returns
            // (only shared views are handed out), the mapping is private (a stray write could
            // never reach the file), and re-protecting 1 GB of address space walks its page
            // tables (`change_pte_range`: 3.9% of a numpy-heavy report's samples).
            Ok(true) => {
                let mut map = std::mem::replace(&mut b.map, SparseMap::empty());
                map.copied = b.copied as u64;
                Ok(Some(map))
            }
            // Dropping the builder unmaps everything.
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Elsewhere the file is always mapped plainly.
    #[cfg(not(target_os = "linux"))]
    pub fn open(_file: &File, _len: u64) -> std::io::Result<Option<SparseMap>> {
        Ok(None)
    }

    /// Elsewhere the file is always mapped plainly.
    #[cfg(not(target_os = "linux"))]
    pub fn open_filled(_file: &File, _len: u64, _fill: Fill) -> std::io::Result<Option<SparseMap>> {
        Ok(None)
    }

    /// The file's bytes.
    pub fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr` is a live mapping of `len` readable bytes owned by `self` (every page
        // is either the file's or a copy of it), never written after `open` and unmapped only
        // in `Drop`, which cannot run while this borrow lives.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }

    /// Bytes held as private copies (the rest is the file's map).
    pub fn copied(&self) -> u64 {
        self.copied
    }

    fn empty() -> SparseMap {
        SparseMap {
            ptr: std::ptr::null_mut(),
            len: 0,
            copied: 0,
        }
    }

    #[cfg(target_os = "linux")]
    fn map_file(file: &File, size: usize) -> std::io::Result<SparseMap> {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh private mapping chosen by the kernel; nothing else refers to that
        // address range. It is written only while `open` copies opcode regions into it (a
        // private mapping: the file never changes) and never written once it is shared.
        // MAP_NORESERVE: only the pages actually copied cost memory, so no commit charge for
        // the whole file. The result is checked before use.
        #[allow(unsafe_code)]
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_NORESERVE,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let map = SparseMap {
            ptr: p.cast(),
            len: size,
            copied: 0,
        };
        // Payload pages, if something reads them later, are read where touched, without
        // read-ahead over neighbouring blobs.
        // SAFETY: advice over the mapping just made; it never changes its contents.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(p, size, libc::MADV_RANDOM);
        }
        Ok(map)
    }
}

impl Drop for SparseMap {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return;
        }
        #[cfg(target_os = "linux")]
        // SAFETY: `ptr..ptr+len` is the whole mapping this value owns (the overlays lie inside
        // it); no borrow of it can outlive `self`.
        #[allow(unsafe_code)]
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf only reads a system setting.
    #[allow(unsafe_code)]
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p)
        .ok()
        .filter(|p| *p >= 4096)
        .unwrap_or(4096)
}

/// Walks the opcodes from the start of the file, copying pages in as the walk needs them.
#[cfg(target_os = "linux")]
struct Builder<'f> {
    map: SparseMap,
    file: &'f File,
    page: usize,
    /// Everything below this offset that the walk needed is copied (page-aligned).
    covered: usize,
    /// Size of the next copy while a region keeps growing (doubles up to [`MAX_RUN`]).
    run: usize,
    /// Bytes copied so far.
    copied: usize,
    /// Bytes of large payloads left in the file so far.
    skipped: u64,
    /// Whether `MADV_POPULATE_WRITE` works here (until it fails once).
    populate: bool,
}

#[cfg(target_os = "linux")]
impl Builder<'_> {
    /// True when the whole file was walked; false to give up (not an error).
    fn scan(&mut self) -> std::io::Result<bool> {
        let len = self.map.len;
        let mut pos = 0usize;
        let mut large = 0u32;
        while pos < len {
            if !self.cover(pos, pos + 9)? {
                return Ok(false);
            }
            let bytes = self.map.as_slice();
            let Some(op) = Op::from_byte(bytes[pos]) else {
                return Ok(false);
            };
            let lines = match op.arg_kind() {
                ArgKind::Line => 1,
                ArgKind::TwoLines => 2,
                _ => 0,
            };
            if lines > 0 {
                // The scanner would look for the newline in pages not copied in yet.
                match self.find_lines(pos + 1, lines)? {
                    Some(end) => {
                        pos = end;
                        continue;
                    }
                    None => return Ok(false),
                }
            }
            // Any other instruction is decoded from its first 9 bytes (copied in above): the
            // scanner reads the opcode and length prefix and only slices the payload.
            let Ok(i) = read_instr(bytes, pos) else {
                return Ok(false);
            };
            let n = i.arg.len() as u64;
            let end = i.end;
            if n >= LARGE_PAYLOAD {
                large += 1;
                self.skipped += n;
            } else if !self.cover(pos, end)? {
                return Ok(false);
            }
            // Worth it only where payloads dominate: past a few MiB of copies, the bytes left
            // in the file must outweigh the copied ones (else a plain map is cheaper).
            if self.copied > WORTH_CHECKING_FROM && self.skipped < 4 * self.copied as u64 {
                return Ok(false);
            }
            pos = end;
        }
        // Without a large payload there is nothing to leave out: a plain map is cheaper.
        Ok(large > 0)
    }

    /// Offset just past the `lines`-th newline from `at`, copying pages in as it looks.
    fn find_lines(&mut self, at: usize, lines: usize) -> std::io::Result<Option<usize>> {
        let len = self.map.len;
        let mut from = at;
        let mut left = lines;
        while from < len {
            let to = (from + 256).min(len);
            if !self.cover(from, to)? {
                return Ok(None);
            }
            let bytes = &self.map.as_slice()[from..to];
            for (k, b) in bytes.iter().enumerate() {
                if *b == b'\n' {
                    left -= 1;
                    if left == 0 {
                        return Ok(Some(from + k + 1));
                    }
                }
            }
            from = to;
        }
        Ok(None)
    }

    /// Makes sure `[from, to)` (clipped to the file) is copied in. False when the copy budget
    /// is spent.
    fn cover(&mut self, from: usize, to: usize) -> std::io::Result<bool> {
        let len = self.map.len;
        let to = to.min(len);
        if to <= self.covered {
            return Ok(true);
        }
        let page = self.page;
        let first = (from / page) * page;
        let start = if first < self.covered {
            // Continues the last region: copies grow while the walk stays dense.
            self.run = (self.run * 2).clamp(page, MAX_RUN);
            self.covered
        } else {
            self.run = page;
            first
        };
        let want = to.next_multiple_of(page).max(start + self.run);
        let map_end = len.next_multiple_of(page);
        let end = want.min(map_end);
        if (self.copied + end - start) as u64 > MAX_COPIED {
            return Ok(false);
        }
        self.overlay(start, end)?;
        self.copied += end - start;
        self.covered = end;
        Ok(true)
    }

    /// Brings the file's bytes over `[start, end)` of the map in as private pages. The map is
    /// private and writable: populating it for writing makes the kernel give
    /// each page a private copy of the file's (copying from the page cache, never mapping its
    /// folio) in one call. Where that call is unavailable (before Linux 5.14), `pread` into
    /// the map does the same with a fault per page and a second copy.
    fn overlay(&mut self, start: usize, end: usize) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        let file_end = end.min(self.map.len);
        if self.populate {
            // SAFETY: `[start, end)` lies inside the mapping this builder owns (`end` is at
            // most the map's length rounded up to a page, which the mapping covers), writable;
            // populating changes no byte: each page keeps the file's contents.
            #[allow(unsafe_code)]
            let r = unsafe {
                libc::madvise(
                    self.map.ptr.add(start).cast(),
                    end - start,
                    libc::MADV_POPULATE_WRITE,
                )
            };
            if r == 0 {
                return Ok(());
            }
            self.populate = false;
        }
        // SAFETY: `[start, file_end)` lies inside the mapping this builder owns, which is
        // writable; no reference into these bytes is alive (the walk re-borrows
        // the slice after every call).
        #[allow(unsafe_code)]
        let dst =
            unsafe { std::slice::from_raw_parts_mut(self.map.ptr.add(start), file_end - start) };
        self.file.read_exact_at(dst, start as u64)
    }
}
