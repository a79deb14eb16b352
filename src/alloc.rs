//! The binary's allocator: the system one (glibc's, also in the static release build),
//! asking for transparent huge pages on large blocks.
//!
//! An object-heavy stage builds arenas of hundreds of MiB; with 4 KiB pages the kernel takes
//! one fault per page to hand them out. Blocks of at least [`HUGE_FROM`] are advised
//! `MADV_HUGEPAGE`, a hint the kernel is free to ignore (THP off, no free huge pages).

use std::alloc::{GlobalAlloc, Layout};

use std::alloc::System as Inner;

/// Blocks below this size come from glibc's heaps, not a mapping of their own: a read
/// window (1 MiB) is below it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_FROM: libc::c_int = 2 << 20;

/// Free memory glibc keeps at the top of a heap before giving it back. Kept small: with 32
/// and 64 MiB, a context report on both cores peaked at 107 MiB instead of 79 MiB.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_FROM: libc::c_int = 4 << 20;

/// Called first in `main`.
///
/// glibc: by default a block of 128 KiB or more (a parse's read window, a growing list of
/// items) is a mapping of its own, unmapped when freed, so the next one is fresh pages again,
/// one page fault each (about 2 us on a VM); a 10 MB object-heavy report took 2,000 faults.
/// Kept in the heap instead, freed blocks are reused by the next parse pass (1,500 faults;
/// the peak RSS of a context report or a 200 MB parse is within 4 MiB of the default's).
pub fn init() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets two of glibc's malloc parameters; it is called before
        // any thread exists, and any value is valid for both.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_FROM);
        }
    }
}

/// Blocks this large or larger are advised.
pub const HUGE_FROM: usize = 4 << 20;

/// The inner allocator, plus huge-page advice on large blocks.
pub struct HugeBlocks;

fn advise(p: *mut u8, size: usize) {
    if p.is_null() || size < HUGE_FROM {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = (p as usize).next_multiple_of(HUGE);
        let end = (p as usize + size) & !(HUGE - 1);
        if end > start {
            // SAFETY: madvise only changes paging advice for whole huge pages inside a block
            // this allocator just handed out; it never reads, writes or frees it, and
            // MADV_HUGEPAGE does not change contents.
            #[allow(unsafe_code)]
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}

// SAFETY: every call is forwarded to `Inner` with the same arguments; `advise` only adds a
// paging hint on the returned block.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for HugeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { Inner.alloc(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { Inner.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `Inner`.
        unsafe { Inner.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `Inner` with `layout`.
        let p = unsafe { Inner.realloc(ptr, layout, new_size) };
        advise(p, new_size);
        p
    }
}
