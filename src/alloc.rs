//! The binary's allocator: the system one, asking for transparent huge pages on large blocks.
//!
//! An object-heavy stage builds arenas of hundreds of MiB; with 4 KiB pages the kernel takes
//! one fault per page to hand them out. Blocks of at least [`HUGE_FROM`] are advised
//! `MADV_HUGEPAGE`, a hint the kernel is free to ignore (THP off, no free huge pages).

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks this large or larger are advised.
pub const HUGE_FROM: usize = 4 << 20;

/// `System`, plus huge-page advice on large blocks.
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

// SAFETY: every call is forwarded to `System` with the same arguments; `advise` only adds a
// paging hint on the returned block.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for HugeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise(p, new_size);
        p
    }
}
