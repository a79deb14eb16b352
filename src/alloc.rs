//! The binary's allocator: the system one (mimalloc in the static musl build, whose own
//! allocator maps and unmaps memory at every turn and locks both parse threads out of each
//! other), asking for transparent huge pages on large blocks.
//!
//! An object-heavy stage builds arenas of hundreds of MiB; with 4 KiB pages the kernel takes
//! one fault per page to hand them out. Blocks of at least [`HUGE_FROM`] are advised
//! `MADV_HUGEPAGE`, a hint the kernel is free to ignore (THP off, no free huge pages).

use std::alloc::{GlobalAlloc, Layout};

#[cfg(not(target_env = "musl"))]
use std::alloc::System as Inner;

#[cfg(target_env = "musl")]
use mimalloc::MiMalloc as Inner;

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
///
/// musl: mimalloc is told to give freed memory back after `PURGE_MS` and to commit its
/// arenas as they are used: by default it keeps freed memory a second and commits up front,
/// twice the peak RSS of the glibc build on a 200 MB parse. Given back at once, every block
/// a parse pass frees and the next takes again was unmapped and faulted in anew (with a
/// cross-core TLB flush each time): a 991 MB object-heavy report took 1.55 s against the
/// glibc build's 0.82 s. After a millisecond: 0.82 s, and the peak RSS of that report
/// (about 125 MiB) and of a context report on both cores stays within 3% of the glibc
/// build's.
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
    #[cfg(target_env = "musl")]
    {
        // Positions in mimalloc v3's `mi_option_e` (include/mimalloc.h of the version
        // Cargo.lock pins).
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
        // SAFETY: mi_option_set only stores an option value; both options are read when
        // memory is reserved or freed, and any value is valid for them.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
            libmimalloc_sys::mi_option_set(PURGE_DELAY, PURGE_MS);
        }
    }
}

/// musl: milliseconds mimalloc keeps freed memory before it gives it back to the system.
#[cfg(target_env = "musl")]
const PURGE_MS: std::ffi::c_long = 1;

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
