//! Keeping a parse's helper thread off the core of the thread that started it.
//!
//! A thread just made is often put on its maker's core and runs there first, so the maker
//! waits until an idle core takes one of them over (milliseconds on a virtual machine whose
//! idle cores sleep). A helper that first leaves its maker's core lets the maker go on.

/// Spawns `f` on a scoped thread that first leaves the caller's core ([`leave`]), then
/// yields once so that happens before the caller goes on.
pub(crate) fn spawn_elsewhere<'scope, T: Send + 'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    let cpu = current();
    let handle = s.spawn(move || {
        leave(cpu);
        f()
    });
    std::thread::yield_now();
    handle
}

/// The core the calling thread runs on.
fn current() -> Option<usize> {
    // SAFETY: no arguments; returns a core number or -1.
    #[allow(unsafe_code)]
    let cpu = unsafe { libc::sched_getcpu() };
    usize::try_from(cpu).ok()
}

/// Called first in a helper thread: lets it run on any allowed core but `cpu` (when there is
/// another one), so it leaves the core its maker runs on.
fn leave(cpu: Option<usize>) {
    let Some(cpu) = cpu.filter(|&c| c < libc::CPU_SETSIZE as usize) else {
        return;
    };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: a zeroed cpu_set_t is an empty set; both calls read or write only `set`, of
    // the size given, for the calling thread (pid 0).
    #[allow(unsafe_code)]
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut set) != 0 || !libc::CPU_ISSET(cpu, &set) {
            return;
        }
        libc::CPU_CLR(cpu, &mut set);
        if libc::CPU_COUNT(&set) > 0 {
            libc::sched_setaffinity(0, size, &set);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// The calling thread's allowed cores.
    fn allowed() -> Vec<usize> {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: as in `leave`: reads the calling thread's set into a zeroed one.
        #[allow(unsafe_code)]
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, size, &mut set), 0);
            (0..libc::CPU_SETSIZE as usize)
                .filter(|&c| libc::CPU_ISSET(c, &set))
                .collect()
        }
    }

    #[test]
    fn a_helper_leaves_the_given_core_when_another_is_allowed() {
        let before = allowed();
        let cpu = before[0];
        let after = std::thread::spawn(move || {
            leave(Some(cpu));
            allowed()
        })
        .join()
        .unwrap();
        if before.len() > 1 {
            assert!(!after.contains(&cpu), "{after:?} still holds {cpu}");
            assert_eq!(after.len(), before.len() - 1);
        } else {
            // The only core allowed: nothing changes.
            assert_eq!(after, before);
        }
        // A core not allowed, or none named: nothing changes either.
        let same = std::thread::spawn(|| {
            leave(None);
            leave(Some(libc::CPU_SETSIZE as usize + 1));
            allowed()
        })
        .join()
        .unwrap();
        assert_eq!(same, before);
        assert!(current().is_some());
    }
}
