//! The bytes of a large pickle without its large byte payloads: the regions holding opcodes
//! (and every string, and the first bytes of each payload) are copied with `pread` into an
//! anonymous map as long as the file, while the raw payloads of `bytes`/`bytearray` objects of
//! 16 KiB or more (numpy arrays) are left out — never read while scanning, never resident,
//! read from the file with `pread` only when a save copies them ([`SparseMap::copy_range`]).
//! No page of the file is ever mapped: a file truncated under us cannot take a page away
//! (a copy-on-write map of the file would not do: truncation drops even its private copies,
//! and the next read of one is a SIGBUS).

use std::fs::File;
use std::ops::Range;

use crate::pickle::Op;
use crate::pickle::ops::ArgKind;
use crate::pickle::scan::read_instr;
use crate::pickle::value::BYTES_PREVIEW;

/// Raw byte payloads at least this long are left in the file and never read while scanning.
pub use crate::pickle::window::LARGE_PAYLOAD;

/// Give up (the caller reads the whole file) once this much would be copied.
const MAX_COPIED: u64 = 64 << 20;

/// Largest single copy: no more than this is read ahead of the walk, so a large payload
/// right after dense opcodes is mostly left in the file.
const MAX_RUN: usize = LARGE_PAYLOAD as usize;

/// Copies past which the payloads left in the file must outweigh them: a
/// sixteenth of the file, within these bounds (a file without large payloads is given up
/// early, and read whole).
const WORTH_CHECKING_FROM: std::ops::RangeInclusive<usize> = (64 << 10)..=(4 << 20);

/// Size of the reads that copy a payload out of the file.
const CHUNK: usize = 1 << 20;

/// How copied regions are brought in (both give the same bytes; tests run both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// `MADV_POPULATE_WRITE` over each region first (its pages made in one call), then
    /// `pread`; plain `pread` where the kernel lacks it.
    Populate,
    /// `pread` alone (its copy faults the pages in one at a time).
    Pread,
}

/// The error a read returns when the file no longer holds the bytes it held when opened
/// (shorter now): "changed while being read".
#[derive(Debug, thiserror::Error)]
#[error("changed while being read")]
pub struct Changed;

/// True when `e` says the file changed under a read ([`Changed`]).
pub fn is_changed(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|x| x.is::<Changed>())
}

fn changed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, Changed)
}

/// `pread` of exactly `buf.len()` bytes at `at`; a short read is [`Changed`].
pub fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, at).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            changed()
        } else {
            e
        }
    })
}

/// The file's bytes, one contiguous slice, except inside [`SparseMap::holes`] (large raw
/// payloads past their first [`BYTES_PREVIEW`] bytes), which read as zeros or the file's
/// bytes; [`SparseMap::copy_range`] gives the file's bytes everywhere.
pub struct SparseMap {
    ptr: *mut u8,
    len: usize,
    copied: u64,
    holes: Vec<Range<u64>>,
    file: Option<File>,
}

// SAFETY: the mapping is anonymous and private to this value, written only by the builder
// inside `open` and by `fill` through `&mut self` (views of it are `&[u8]` borrows of
// `self`, none alive then) and unmapped only by `Drop`;
// sharing views of it between threads is as safe as sharing a `Vec<u8>`.
#[allow(unsafe_code)]
unsafe impl Send for SparseMap {}
#[allow(unsafe_code)]
unsafe impl Sync for SparseMap {}

impl std::fmt::Debug for SparseMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseMap")
            .field("len", &self.len)
            .field("copied", &self.copied)
            .field("holes", &self.holes.len())
            .finish()
    }
}

impl SparseMap {
    /// Copies the opcode regions of `file` (of `len` bytes) in. `Ok(None)` when the file is
    /// not worth it or not readable this way (no large payloads, too much to copy, bytes that
    /// are not opcodes): the caller then reads it whole and the parser judges it. A file
    /// shorter than `len` by now is a [`Changed`] error.
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
        let map = Self::map_anonymous(size)?;
        // Our own reads jump: no read-ahead on this descriptor.
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
            holes: Vec::new(),
            populate: fill == Fill::Populate,
            check_from: (size / 16).clamp(*WORTH_CHECKING_FROM.start(), *WORTH_CHECKING_FROM.end()),
        };
        match b.scan() {
            // Not `mprotect`ed read-only afterwards: nothing writes to it once `open` returns
            // (only shared views are handed out), and re-protecting the whole address range
            // walks its page tables on every open.
            Ok(true) => {
                let mut map = std::mem::replace(&mut b.map, SparseMap::empty());
                map.copied = b.copied as u64;
                map.holes = std::mem::take(&mut b.holes);
                map.file = Some(file.try_clone()?);
                Ok(Some(map))
            }
            // Dropping the builder unmaps everything.
            Ok(false) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A map of `file` (of `len` bytes) holding only the bytes over `ranges` (in any order,
    /// widened to whole pages): everything else is a hole. `Ok(None)` where maps are not
    /// made (not Linux).
    #[cfg(target_os = "linux")]
    pub fn from_ranges(
        file: &File,
        len: u64,
        mut ranges: Vec<Range<u64>>,
    ) -> std::io::Result<Option<SparseMap>> {
        let Ok(size) = usize::try_from(len) else {
            return Ok(None);
        };
        if size == 0 {
            return Ok(None);
        }
        let page = page_size() as u64;
        for r in &mut ranges {
            r.start = (r.start / page) * page;
            r.end = r.end.min(len).next_multiple_of(page).min(len);
        }
        ranges.retain(|r| r.start < r.end);
        ranges.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
        for r in ranges {
            match merged.last_mut() {
                Some(m) if r.start <= m.end => m.end = m.end.max(r.end),
                _ => merged.push(r),
            }
        }
        let mut b = Builder {
            map: Self::map_anonymous(size)?,
            file,
            page: page as usize,
            covered: 0,
            run: 0,
            copied: 0,
            skipped: 0,
            holes: Vec::new(),
            populate: true,
            check_from: 0,
        };
        let mut at = 0;
        for r in &merged {
            b.overlay(r.start as usize, r.end as usize)?;
            b.copied += (r.end - r.start) as usize;
            if at < r.start {
                b.holes.push(at..r.start);
            }
            at = r.end;
        }
        if at < len {
            b.holes.push(at..len);
        }
        let mut map = std::mem::replace(&mut b.map, SparseMap::empty());
        map.copied = b.copied as u64;
        map.holes = std::mem::take(&mut b.holes);
        map.file = Some(file.try_clone()?);
        Ok(Some(map))
    }

    /// Elsewhere the file is always read whole.
    #[cfg(not(target_os = "linux"))]
    pub fn open(_file: &File, _len: u64) -> std::io::Result<Option<SparseMap>> {
        Ok(None)
    }

    /// Elsewhere the file is always read whole.
    #[cfg(not(target_os = "linux"))]
    pub fn open_filled(_file: &File, _len: u64, _fill: Fill) -> std::io::Result<Option<SparseMap>> {
        Ok(None)
    }

    /// Elsewhere the file is always read whole.
    #[cfg(not(target_os = "linux"))]
    pub fn from_ranges(
        _file: &File,
        _len: u64,
        _ranges: Vec<Range<u64>>,
    ) -> std::io::Result<Option<SparseMap>> {
        Ok(None)
    }

    /// The file's bytes, except inside [`SparseMap::holes`].
    pub fn as_slice(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: `ptr` is a live anonymous mapping of `len` readable bytes owned by `self`,
        // written after `open` only through `&mut self` (`fill`) and unmapped only in `Drop`,
        // neither of which can run while this borrow lives.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr, self.len)
        }
    }

    /// Copies the file's bytes over `ranges` (widened to whole pages) into the map where it
    /// holds none yet. The holes stay listed: [`SparseMap::copy_range`] reads them from the
    /// file, the same bytes.
    #[cfg(target_os = "linux")]
    pub fn fill(&mut self, mut ranges: Vec<Range<u64>>) -> std::io::Result<()> {
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        let page = page_size() as u64;
        let len = self.len as u64;
        for r in &mut ranges {
            r.start = (r.start / page) * page;
            r.end = r.end.min(len).next_multiple_of(page).min(len);
        }
        ranges.sort_by_key(|r| r.start);
        let mut done = 0u64;
        for r in ranges {
            let from = r.start.max(done);
            if from >= r.end {
                continue;
            }
            done = r.end;
            // Only what lies in a hole is missing.
            let k = self.holes.partition_point(|h| h.end <= from);
            for h in self.holes.get(k..).unwrap_or(&[]) {
                if h.start >= r.end {
                    break;
                }
                let (a, b) = (from.max(h.start) as usize, r.end.min(h.end) as usize);
                if a >= b {
                    continue;
                }
                // SAFETY: `[a, b)` lies inside the live, writable anonymous mapping of
                // `len` bytes that `self` owns; `&mut self` means no view of it is alive.
                #[allow(unsafe_code)]
                let dst = unsafe { std::slice::from_raw_parts_mut(self.ptr.add(a), b - a) };
                read_exact_at(file, dst, a as u64)?;
                self.copied += (b - a) as u64;
            }
        }
        Ok(())
    }

    /// Elsewhere maps are not made.
    #[cfg(not(target_os = "linux"))]
    pub fn fill(&mut self, _ranges: Vec<Range<u64>>) -> std::io::Result<()> {
        Ok(())
    }

    /// Bytes held as copies.
    pub fn copied(&self) -> u64 {
        self.copied
    }

    /// The ranges left in the file (sorted, disjoint): each large raw payload past its first
    /// [`BYTES_PREVIEW`] bytes (for a map made by [`SparseMap::from_ranges`]: everything
    /// outside its ranges).
    pub fn holes(&self) -> &[Range<u64>] {
        &self.holes
    }

    /// Hands the file's bytes over `range` to `out` in order, piece by piece: from the map,
    /// and read from the file where the range crosses a hole. A file that is shorter now is a
    /// [`Changed`] error.
    pub fn copy_range(
        &self,
        range: Range<usize>,
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let data = self.as_slice();
        let end = range.end.min(data.len());
        let mut pos = range.start.min(end);
        let mut k = self.holes.partition_point(|h| h.end <= pos as u64);
        let mut buf: Vec<u8> = Vec::new();
        while pos < end {
            let hole = self.holes.get(k).map(|h| h.start as usize..h.end as usize);
            match hole {
                Some(h) if h.start <= pos => {
                    let stop = h.end.min(end);
                    let Some(file) = &self.file else {
                        return Err(changed());
                    };
                    while pos < stop {
                        let n = (stop - pos).min(CHUNK);
                        buf.resize(n, 0);
                        read_exact_at(file, &mut buf, pos as u64)?;
                        out(&buf)?;
                        pos += n;
                    }
                    k += 1;
                }
                _ => {
                    let stop = hole.map_or(end, |h| h.start.min(end));
                    out(&data[pos..stop])?;
                    pos = stop;
                }
            }
        }
        Ok(())
    }

    fn empty() -> SparseMap {
        SparseMap {
            ptr: std::ptr::null_mut(),
            len: 0,
            copied: 0,
            holes: Vec::new(),
            file: None,
        }
    }

    #[cfg(target_os = "linux")]
    fn map_anonymous(size: usize) -> std::io::Result<SparseMap> {
        // SAFETY: a fresh anonymous private mapping chosen by the kernel; nothing else refers
        // to that address range. It is written only while `open` copies regions into it and
        // never written once it is shared. MAP_NORESERVE: only the pages actually copied cost
        // memory, so no commit charge for the whole file. The result is checked before use.
        #[allow(unsafe_code)]
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // Copies are a few pages here and there: a huge page per touched 2 MiB would make
        // them cost hundreds of MiB.
        // SAFETY: advice over the mapping just made; it never changes its contents.
        #[allow(unsafe_code)]
        unsafe {
            libc::madvise(p, size, libc::MADV_NOHUGEPAGE);
        }
        Ok(SparseMap {
            ptr: p.cast(),
            len: size,
            copied: 0,
            holes: Vec::new(),
            file: None,
        })
    }
}

/// True when `m` holds `file`'s bytes: the same outside its holes, and the same everywhere
/// when copied out (a test and fuzzing oracle).
pub fn matches_file(m: &SparseMap, file: &[u8]) -> bool {
    let data = m.as_slice();
    if data.len() != file.len() {
        return false;
    }
    let mut from = 0usize;
    for h in m.holes() {
        let (s, e) = (h.start as usize, h.end as usize);
        if s < from || e > data.len() || data[from..s] != file[from..s] {
            return false;
        }
        from = e;
    }
    if data[from..] != file[from..] {
        return false;
    }
    let mut out = Vec::with_capacity(file.len());
    let copied = m.copy_range(0..data.len(), &mut |b| {
        out.extend_from_slice(b);
        Ok(())
    });
    copied.is_ok() && out == file
}

impl Drop for SparseMap {
    fn drop(&mut self) {
        if self.ptr.is_null() {
            return;
        }
        #[cfg(target_os = "linux")]
        // SAFETY: `ptr..ptr+len` is the whole mapping this value owns; no borrow of it can
        // outlive `self`.
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
    /// The ranges left in the file so far.
    holes: Vec<Range<u64>>,
    /// Whether `MADV_POPULATE_WRITE` works here (until it fails once).
    populate: bool,
    /// See [`WORTH_CHECKING_FROM`].
    check_from: usize,
}

#[cfg(target_os = "linux")]
impl Builder<'_> {
    /// True when the whole file was walked; false to give up (not an error).
    fn scan(&mut self) -> std::io::Result<bool> {
        let len = self.map.len;
        let mut pos = 0usize;
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
            let (end, at) = (i.end, i.arg_pos());
            // Only raw bytes are left out: strings are validated by the parser, and every
            // other argument is read to be shown.
            let raw = matches!(op, Op::BINBYTES | Op::BINBYTES8 | Op::BYTEARRAY8);
            if raw && n >= LARGE_PAYLOAD {
                // Previews show the first bytes: those are always copied.
                if !self.cover(pos, at + BYTES_PREVIEW)? {
                    return Ok(false);
                }
                self.skipped += n;
                self.holes.push((at + BYTES_PREVIEW) as u64..end as u64);
            } else if !self.cover(pos, end)? {
                return Ok(false);
            }
            // Worth it only where payloads make up most of the file: past a share of copies,
            // the bytes left in the file must outweigh the copied ones (else reading it whole
            // is cheaper).
            if self.copied > self.check_from && !self.worth_it() {
                return Ok(false);
            }
            pos = end;
        }
        // Without a large payload there is nothing to leave out: reading it whole is cheaper.
        Ok(!self.holes.is_empty() && self.worth_it())
    }

    /// The bytes left in the file outweigh the copied ones (the alternative, reading the file
    /// whole, copies them all).
    fn worth_it(&self) -> bool {
        self.skipped >= self.copied as u64
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

    /// Copies the file's bytes over `[start, end)` (clipped to the file) into the map.
    fn overlay(&mut self, start: usize, end: usize) -> std::io::Result<()> {
        let file_end = end.min(self.map.len);
        if self.populate {
            // SAFETY: `[start, end)` lies inside the mapping this builder owns (`end` is at
            // most the map's length rounded up to a page, which the mapping covers), writable
            // and anonymous: populating only makes its (zero) pages present.
            #[allow(unsafe_code)]
            let r = unsafe {
                libc::madvise(
                    self.map.ptr.add(start).cast(),
                    end - start,
                    libc::MADV_POPULATE_WRITE,
                )
            };
            if r != 0 {
                self.populate = false;
            }
        }
        // SAFETY: `[start, file_end)` lies inside the mapping this builder owns, which is
        // writable; no reference into these bytes is alive (the walk re-borrows
        // the slice after every call).
        #[allow(unsafe_code)]
        let dst =
            unsafe { std::slice::from_raw_parts_mut(self.map.ptr.add(start), file_end - start) };
        read_exact_at(self.file, dst, start as u64)
    }
}
