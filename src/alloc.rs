//! The binary's allocator: glibc's (also in the static release build) for all but large
//! blocks, which are mappings of their own in whole transparent huge pages.
//!
//! An object-heavy stage builds arenas of hundreds of MiB; with 4 KiB pages the kernel takes
//! one fault per page to hand them out. A block of at least [`HUGE_FROM`] is a mapping that
//! starts on a 2 MiB boundary, advised `MADV_HUGEPAGE` whole (a hint the kernel is free to
//! ignore), and grows with `mremap`: in place when it can, else moved to another 2 MiB
//! boundary, so its huge pages move as they are instead of being copied or split. (glibc's own
//! large blocks start 16 bytes into their mapping: advice on the huge pages inside splits the
//! mapping and glibc's realloc can no longer `mremap` it, so it copies the block every time it
//! grows; advice on the whole mapping lets `mremap` move it to any alignment, which cost a
//! parse growing its arenas to 1.9 GiB 1.7x.)

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

/// Blocks this large or larger are mappings of their own.
pub const HUGE_FROM: usize = 4 << 20;

/// A huge page, the unit and alignment of those mappings.
const HUGE: usize = 2 << 20;

/// The allocator: [`Inner`] below [`HUGE_FROM`], huge-page mappings from there on.
pub struct HugeBlocks;

/// True when a block of this layout is a mapping of its own.
fn mapped(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= HUGE_FROM && layout.align() <= HUGE
}

/// The length of the mapping of a block of `size` bytes: whole huge pages.
fn map_len(size: usize) -> usize {
    size.next_multiple_of(HUGE)
}

/// `len` bytes (a multiple of [`HUGE`]) of address space starting on a huge-page boundary,
/// readable and writable when `usable`, else a reservation; null when the kernel refuses.
#[cfg(target_os = "linux")]
fn map_aligned(len: usize, usable: bool) -> *mut u8 {
    let prot = if usable {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_NONE
    };
    let Some(over) = len.checked_add(HUGE) else {
        return std::ptr::null_mut();
    };
    let flags =
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | if usable { 0 } else { libc::MAP_NORESERVE };
    // SAFETY: a fresh anonymous private mapping; nothing else refers to it yet.
    #[allow(unsafe_code)]
    let raw = unsafe { libc::mmap(std::ptr::null_mut(), over, prot, flags, -1, 0) };
    if raw == libc::MAP_FAILED {
        return std::ptr::null_mut();
    }
    let raw = raw as usize;
    let start = raw.next_multiple_of(HUGE);
    let head = start - raw;
    // SAFETY: both ranges lie inside the mapping just made and outside `start..start + len`.
    #[allow(unsafe_code)]
    unsafe {
        if head > 0 {
            libc::munmap(raw as *mut libc::c_void, head);
        }
        // `head` is below a huge page: the tail is never empty.
        libc::munmap((start + len) as *mut libc::c_void, HUGE - head);
        if usable {
            libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    start as *mut u8
}

/// Unmaps a block's mapping.
#[cfg(target_os = "linux")]
fn unmap(p: *mut u8, size: usize) {
    // SAFETY: `p..p + map_len(size)` is exactly the mapping `map_aligned` made for this block.
    #[allow(unsafe_code)]
    unsafe {
        libc::munmap(p.cast(), map_len(size));
    }
}

/// Grows or shrinks a block's mapping from `old` to `new` bytes (both mapped sizes); null
/// when the kernel refuses (the block is then unchanged).
#[cfg(target_os = "linux")]
fn remap(p: *mut u8, old: usize, new: usize) -> *mut u8 {
    let (ol, nl) = (map_len(old), map_len(new));
    if nl == ol {
        return p;
    }
    if nl < ol {
        // SAFETY: the tail lies inside this block's mapping, past its new length.
        #[allow(unsafe_code)]
        unsafe {
            libc::munmap(p.add(nl).cast(), ol - nl);
        }
        return p;
    }
    // SAFETY: mremap without MAYMOVE grows the mapping in place or fails, leaving it as is.
    #[allow(unsafe_code)]
    let grown = unsafe { libc::mremap(p.cast(), ol, nl, 0) };
    if grown != libc::MAP_FAILED {
        return p;
    }
    let dest = map_aligned(nl, false);
    if dest.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: moves this block's whole mapping onto the reservation just made (MREMAP_FIXED
    // replaces it); on failure the block stays where it was and the reservation is dropped.
    #[allow(unsafe_code)]
    unsafe {
        let moved = libc::mremap(
            p.cast(),
            ol,
            nl,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            dest.cast::<libc::c_void>(),
        );
        if moved == libc::MAP_FAILED {
            libc::munmap(dest.cast(), nl);
            return std::ptr::null_mut();
        }
    }
    dest
}

// SAFETY: blocks below HUGE_FROM (or aligned beyond a huge page) are `Inner`'s, forwarded
// unchanged; larger ones are whole mappings of `map_len(size)` bytes this allocator made,
// told apart by the layout every call carries. Fresh mappings are zeroed by the kernel.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for HugeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if mapped(&layout) {
            return map_aligned(map_len(layout.size()), true);
        }
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { Inner.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        #[cfg(target_os = "linux")]
        if mapped(&layout) {
            return map_aligned(map_len(layout.size()), true);
        }
        // SAFETY: as `alloc`.
        unsafe { Inner.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        #[cfg(target_os = "linux")]
        if mapped(&layout) {
            return unmap(ptr, layout.size());
        }
        // SAFETY: forwarded unchanged; `ptr` came from `Inner` with `layout`.
        unsafe { Inner.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        #[cfg(target_os = "linux")]
        if mapped(&layout) && mapped(&new) {
            let p = remap(ptr, layout.size(), new_size);
            if !p.is_null() {
                return p;
            }
        }
        if !mapped(&layout) && !mapped(&new) {
            // SAFETY: forwarded unchanged; `ptr` came from `Inner` with `layout`.
            return unsafe { Inner.realloc(ptr, layout, new_size) };
        }
        // Across the threshold (or a mapping the kernel would not move): a new block, the
        // bytes copied, the old one freed.
        // SAFETY: `new` has a non-zero size (`layout`'s or a mapped one); the copy reads the
        // old block's live bytes into the new one, which does not overlap it.
        unsafe {
            let p = self.alloc(new);
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, unsafe_code)]
mod tests {
    use super::*;

    /// Fills `n` bytes from `p` with a pattern of `seed`.
    fn fill(p: *mut u8, n: usize, seed: u8) {
        for i in (0..n).step_by(4093) {
            // SAFETY: `i < n`, inside the live block.
            unsafe { *p.add(i) = seed.wrapping_add((i / 4093) as u8) };
        }
    }

    /// True when the first `n` bytes from `p` hold `fill`'s pattern of `seed`.
    fn holds(p: *const u8, n: usize, seed: u8) -> bool {
        (0..n)
            .step_by(4093)
            // SAFETY: `i < n`, inside the live block.
            .all(|i| unsafe { *p.add(i) } == seed.wrapping_add((i / 4093) as u8))
    }

    #[test]
    fn large_blocks_keep_their_bytes_through_every_kind_of_realloc() {
        let a = HugeBlocks;
        let mib = 1 << 20;
        let layout = |n: usize| Layout::from_size_align(n, 8).unwrap();
        // SAFETY: every block is used within its size and freed once with its layout.
        unsafe {
            let p = a.alloc(layout(5 * mib));
            assert!(!p.is_null());
            assert_eq!(p as usize % HUGE, 0, "a large block starts on a huge page");
            fill(p, 5 * mib, 1);
            // Grows (in place or moved), shrinks, then crosses the threshold both ways.
            let p = a.realloc(p, layout(5 * mib), 37 * mib);
            assert!(!p.is_null() && holds(p, 5 * mib, 1));
            fill(p, 37 * mib, 2);
            // A second block right after the first, so the next growth must move it.
            let q = a.alloc(layout(4 * mib));
            fill(q, 4 * mib, 3);
            let p = a.realloc(p, layout(37 * mib), 80 * mib);
            assert!(!p.is_null() && holds(p, 37 * mib, 2));
            assert_eq!(p as usize % HUGE, 0, "a moved block starts on a huge page");
            let p = a.realloc(p, layout(80 * mib), 9 * mib);
            assert!(!p.is_null() && holds(p, 9 * mib, 2));
            let p = a.realloc(p, layout(9 * mib), mib);
            assert!(!p.is_null() && holds(p, mib, 2));
            let p = a.realloc(p, layout(mib), 6 * mib);
            assert!(!p.is_null() && holds(p, mib, 2));
            assert!(holds(q, 4 * mib, 3), "the neighbour is untouched");
            a.dealloc(p, layout(6 * mib));
            a.dealloc(q, layout(4 * mib));
            let z = a.alloc_zeroed(layout(7 * mib));
            assert!(!z.is_null());
            assert!((0..7 * mib).step_by(4096).all(|i| *z.add(i) == 0));
            a.dealloc(z, layout(7 * mib));
        }
    }
}
