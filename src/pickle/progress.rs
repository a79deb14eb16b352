//! How far the read and then the parse of a file on a thread have got, for a screen to show
//! while they work.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes done so far and bytes in all, and whether the file is still being read from disk
/// (else parsed); written by the reading thread, read from any thread.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    reading: AtomicBool,
}

impl Progress {
    /// `(bytes done, bytes in all)`; `(0, 0)` before the read starts.
    pub fn get(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// True while the bytes counted are read from disk, false once they are parsed.
    pub fn reading(&self) -> bool {
        self.reading.load(Ordering::Relaxed)
    }

    fn set(&self, done: u64, total: u64, reading: bool) {
        self.reading.store(reading, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }
}

/// How many bytes a parse reads between two reports.
pub(crate) const EVERY: usize = 1 << 20;

thread_local! {
    static SINK: RefCell<Option<Arc<Progress>>> = const { RefCell::new(None) };
}

/// Clears this thread's sink however `reporting`'s body ends.
struct Unset;

impl Drop for Unset {
    fn drop(&mut self) {
        SINK.with(|s| s.replace(None));
    }
}

/// Runs `f` with the parses it makes on this thread reporting into `p` (reset first).
pub fn reporting<R>(p: &Arc<Progress>, f: impl FnOnce() -> R) -> R {
    p.set(0, 0, false);
    SINK.with(|s| s.replace(Some(p.clone())));
    let _unset = Unset;
    f()
}

/// Records that a parse of `total` bytes has read `done` of them (nothing when no one asked).
pub(crate) fn report(done: usize, total: usize) {
    set(done, total, false);
}

/// Records that `done` of a file's `total` bytes have been read from disk.
pub(crate) fn report_read(done: usize, total: usize) {
    set(done, total, true);
}

/// How far a parse of `total` bytes has got when its part ending at `until` is at `pos` and
/// the rest is parsed at once on another core at the same pace (`until` past the end: one
/// part, `pos` itself).
pub(crate) fn paced(pos: usize, until: usize, total: usize) -> usize {
    if until >= total {
        return pos.min(total);
    }
    let whole = pos as u128 * total as u128 / until.max(1) as u128;
    usize::try_from(whole).unwrap_or(total).min(total)
}

fn set(done: usize, total: usize, reading: bool) {
    SINK.with(|s| {
        if let Some(p) = s.borrow().as_ref() {
            p.set(done as u64, total as u64, reading);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_reports_into_the_sink_of_its_thread_only() {
        let p = Arc::new(Progress::default());
        let data: Vec<u8> = {
            // A list of 300,000 small ints, protocol 2: about 1.5 MB, so at least one report.
            let mut v = vec![0x80, 2, b']', b'('];
            for i in 0..300_000u32 {
                v.push(b'J');
                v.extend_from_slice(&i.to_le_bytes());
            }
            v.extend_from_slice(b"e.");
            v
        };
        let seen = reporting(&p, || {
            let r = crate::pickle::machine::parse(&data);
            assert!(r.is_ok());
            p.get()
        });
        assert_eq!(seen, (data.len() as u64, data.len() as u64));
        // Outside `reporting` a parse reports to no one: `p` still shows the first parse.
        assert!(crate::pickle::machine::parse(b"\x80\x02K\x01.").is_ok());
        assert_eq!(p.get(), (data.len() as u64, data.len() as u64));
    }

    #[test]
    fn a_part_of_a_split_parse_reports_the_pace_of_the_whole() {
        assert_eq!(paced(50, 100, 200), 100);
        assert_eq!(paced(100, 100, 200), 200);
        assert_eq!(paced(70, usize::MAX, 200), 70);
        assert_eq!(paced(300, usize::MAX, 200), 200);
    }
}
