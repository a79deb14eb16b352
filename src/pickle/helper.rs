//! One helper thread for both passes of a split parse: jobs handed to it in turn and results
//! handed back, each waited for by spinning a little before sleeping; and the [`Relay`] by
//! which a job working through the stream says how far it got and is told to stop.
//!
//! On a virtual machine a core that sleeps wakes slowly (a blocked thread's wake-up, a new
//! thread's first run: from a tenth of a millisecond to several). The parse's two threads
//! wait on each other for well under a millisecond between its passes, so the waiting one
//! spins for up to [`SPIN`] first, unless other parses run at the same time (the files of a
//! context, on every core: a spin would take a core from them); the helper is started once
//! for both passes.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{Scope, Thread};
use std::time::{Duration, Instant};

/// How long a wait spins before it sleeps (then it looks again every millisecond).
const SPIN: Duration = Duration::from_micros(200);

/// Helpers running in this process (one per split parse).
static HELPERS: AtomicUsize = AtomicUsize::new(0);

/// True when at most one helper runs in the process: a thread waiting on it may spin. With
/// other parses running (the files of a context, on every core) a spin would take a core
/// from them.
fn alone() -> bool {
    HELPERS.load(Ordering::Relaxed) <= 1
}

/// Values put by one thread and taken in turn by another.
struct Slot<T> {
    values: Mutex<VecDeque<T>>,
    /// `values` is not empty.
    ready: AtomicBool,
    /// The thread asleep waiting for the value, to wake.
    waiter: Mutex<Option<Thread>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T> Slot<T> {
    fn new() -> Slot<T> {
        Slot {
            values: Mutex::new(VecDeque::new()),
            ready: AtomicBool::new(false),
            waiter: Mutex::new(None),
        }
    }

    fn put(&self, v: T) {
        lock(&self.values).push_back(v);
        self.ready.store(true, Ordering::Release);
        if let Some(t) = lock(&self.waiter).take() {
            t.unpark();
        }
    }

    /// The first value not taken yet, from the queue under the lock.
    fn pop(&self) -> Option<T> {
        let mut values = lock(&self.values);
        let v = values.pop_front();
        self.ready.store(!values.is_empty(), Ordering::Release);
        v
    }

    /// Waits for the next value; `None` once `alive` (the putting side) is false with none
    /// left.
    fn take(&self, alive: &AtomicBool) -> Option<T> {
        let start = Instant::now();
        let spin = if alone() { SPIN } else { Duration::ZERO };
        let mut spins = 0u32;
        loop {
            if self.ready.load(Ordering::Acquire)
                && let Some(v) = self.pop()
            {
                return Some(v);
            }
            if !alive.load(Ordering::Acquire) {
                // A value put just before the other side ended.
                return self.pop();
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(128) || start.elapsed() < spin {
                std::hint::spin_loop();
                continue;
            }
            *lock(&self.waiter) = Some(std::thread::current());
            if !self.ready.load(Ordering::Acquire) {
                std::thread::park_timeout(Duration::from_millis(1));
            }
        }
    }
}

type Job<'scope> = Box<dyn FnOnce() + Send + 'scope>;

/// The helper thread: started in a scope, it runs the jobs it is given in turn until it is
/// dropped.
pub(crate) struct Helper<'scope> {
    jobs: Arc<Slot<Option<Job<'scope>>>>,
    /// False once the helper thread has ended: a wait then gives up rather than hang (a job's
    /// panic is caught and does not end it).
    alive: Arc<AtomicBool>,
}

/// A job's result, once the helper has run it (`None`: it panicked).
pub(crate) struct Pending<T> {
    slot: Arc<Slot<Option<T>>>,
    alive: Arc<AtomicBool>,
}

/// Sets `alive` false when the helper thread ends, however it ends.
struct Ended(Arc<AtomicBool>);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<'scope> Helper<'scope> {
    /// Starts the helper thread in `s`, off the caller's core
    /// ([`super::cores::spawn_elsewhere`]).
    pub(crate) fn start(s: &'scope Scope<'scope, '_>) -> Helper<'scope> {
        HELPERS.fetch_add(1, Ordering::Relaxed);
        let jobs: Arc<Slot<Option<Job<'scope>>>> = Arc::new(Slot::new());
        let alive = Arc::new(AtomicBool::new(true));
        let (j, a) = (jobs.clone(), alive.clone());
        super::cores::spawn_elsewhere(s, move || {
            let _ended = Ended(a);
            // The owner's side: dropping the helper puts `None`, so it is always alive here.
            let owner = AtomicBool::new(true);
            while let Some(Some(job)) = j.take(&owner) {
                job();
            }
        });
        Helper { jobs, alive }
    }

    /// True when this is the only helper in the process ([`alone`]).
    pub(crate) fn alone(&self) -> bool {
        alone()
    }

    /// Runs `f` on the helper thread once the jobs given before are done.
    /// A job that panics gives `None` and the helper goes on (the caller then does the
    /// work itself, as when the job fails).
    pub(crate) fn run<T: Send + 'scope>(
        &self,
        f: impl FnOnce() -> T + Send + 'scope,
    ) -> Pending<T> {
        let slot = Arc::new(Slot::new());
        let out = slot.clone();
        self.jobs.put(Some(Box::new(move || {
            out.put(std::panic::catch_unwind(AssertUnwindSafe(f)).ok());
        })));
        Pending {
            slot,
            alive: self.alive.clone(),
        }
    }
}

impl Drop for Helper<'_> {
    fn drop(&mut self) {
        self.jobs.put(None);
        HELPERS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> Pending<T> {
    /// The job's result; `None` when it panicked or the helper thread ended without one.
    pub(crate) fn wait(self) -> Option<T> {
        self.slot.take(&self.alive).flatten()
    }

    /// True once the result is there to take (or will never come).
    fn done(&self) -> bool {
        self.slot.ready.load(Ordering::Acquire) || !self.alive.load(Ordering::Acquire)
    }
}

/// What a job working through a stream and the thread that handed it over share: how far
/// the job has got (published as it goes) and the word to stop where it is.
#[derive(Debug, Default)]
pub(crate) struct Relay {
    at: AtomicUsize,
    quit: AtomicBool,
}

impl Relay {
    /// The job has got to `pos`.
    pub(crate) fn reached(&self, pos: usize) {
        self.at.store(pos, Ordering::Relaxed);
    }

    /// The job is to stop where it is.
    pub(crate) fn stopped(&self) -> bool {
        self.quit.load(Ordering::Acquire)
    }

    pub(crate) fn stop(&self) {
        self.quit.store(true, Ordering::Release);
    }

    /// Called by the owner once its own part is done: waits while the job behind `pending`
    /// keeps moving (its offset advanced within `patience`), and returns once it is done,
    /// has stalled (its core taken by another process), or has taken longer than the owner
    /// would for the rest (`rest`: the time the owner needs from the job's offset when the
    /// wait began: a job slowed down, not stopped). The owner then stops it and goes on from
    /// where it is: taking over costs a join and the rest of the job's part on the owner's
    /// core, so a job that keeps up is left to end.
    pub(crate) fn wait_while_moving<T>(
        &self,
        pending: &Pending<T>,
        patience: Duration,
        rest: impl FnOnce(usize) -> Duration,
    ) {
        let start = Instant::now();
        let mut last = (self.at.load(Ordering::Relaxed), start);
        let deadline = start + rest(last.0);
        while !pending.done() {
            let (at, now) = (self.at.load(Ordering::Relaxed), Instant::now());
            if at != last.0 {
                last = (at, now);
            } else if now - last.1 >= patience {
                return;
            }
            if now >= deadline {
                return;
            }
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_turn_and_their_results_come_back() {
        let text = String::from("borrowed");
        std::thread::scope(|s| {
            let h = Helper::start(s);
            let a = h.run(|| text.len());
            let b = h.run(|| {
                std::thread::sleep(Duration::from_millis(5));
                7
            });
            assert_eq!(a.wait(), Some(8));
            // Waited for past the spin, asleep.
            assert_eq!(b.wait(), Some(7));
            let c = h.run(|| std::thread::current().id());
            assert_ne!(c.wait(), Some(std::thread::current().id()));
        });
    }

    #[test]
    fn a_job_that_keeps_up_is_waited_for_and_one_that_stalls_or_lags_is_stopped() {
        std::thread::scope(|s| {
            let h = Helper::start(s);
            // Moving: it publishes a new offset every 20 us for 30 ms, far within the
            // patience; it ends on its own, never told to stop.
            let relay = Arc::new(Relay::default());
            let r = relay.clone();
            let moving = h.run(move || {
                let start = Instant::now();
                let mut pos = 0;
                while start.elapsed() < Duration::from_millis(30) {
                    if r.stopped() {
                        return Err(pos);
                    }
                    pos += 1;
                    r.reached(pos);
                    std::thread::sleep(Duration::from_micros(20));
                }
                Ok(pos)
            });
            relay.wait_while_moving(&moving, Duration::from_secs(5), |_| Duration::from_secs(5));
            relay.stop();
            assert!(matches!(moving.wait(), Some(Ok(n)) if n > 0));
            // Stalled: it publishes once, then waits to be told (10 s at most); the wait
            // returns after the patience and the job stops where it is.
            let relay = Arc::new(Relay::default());
            let r = relay.clone();
            let stalled = h.run(move || {
                r.reached(7);
                let start = Instant::now();
                while !r.stopped() && start.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_micros(50));
                }
                r.stopped()
            });
            let start = Instant::now();
            relay.wait_while_moving(&stalled, Duration::from_millis(2), |_| {
                Duration::from_secs(60)
            });
            relay.stop();
            assert_eq!(stalled.wait(), Some(true));
            assert!(start.elapsed() < Duration::from_secs(10));
            // Moving, but slower than the owner would go: the wait ends at the owner's
            // time for the rest from where the job was (10 ms from offset 0).
            let relay = Arc::new(Relay::default());
            let r = relay.clone();
            let slow = h.run(move || {
                let start = Instant::now();
                let mut pos = 0;
                while !r.stopped() && start.elapsed() < Duration::from_secs(10) {
                    pos += 1;
                    r.reached(pos);
                    std::thread::sleep(Duration::from_micros(50));
                }
                r.stopped()
            });
            let start = Instant::now();
            relay.wait_while_moving(&slow, Duration::from_secs(5), |at| {
                Duration::from_millis(10 * (1 + at as u64))
            });
            relay.stop();
            assert_eq!(slow.wait(), Some(true));
            assert!(start.elapsed() < Duration::from_secs(5));
        });
    }

    #[test]
    fn a_job_that_panics_gives_none_and_the_helper_goes_on() {
        std::thread::scope(|s| {
            let h = Helper::start(s);
            let p = h.run(|| -> u32 { panic!("on purpose") });
            assert_eq!(p.wait(), None);
            let q = h.run(|| 1u32);
            assert_eq!(q.wait(), Some(1));
        });
    }
}
