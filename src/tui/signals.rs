//! Signals while the explorer owns the terminal: SIGTERM, SIGHUP, SIGINT and SIGQUIT end it
//! (terminal restored, exit status 128 + the signal's number); SIGTSTP (and Ctrl-Z) restore the
//! terminal and stop the process; SIGCONT asks for a full redraw. The handlers only record the
//! signal (`signal-hook`); the event loop acts on it between two steps, so a write in progress
//! always finishes (or fails leaving the original) before the process ends or stops.

use signal_hook::consts::signal::{SIGCONT, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP};
use signal_hook::iterator::Signals;

/// What the event loop must do about the signals that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Restore the terminal and exit with this status.
    Exit(i32),
    /// Restore the terminal and stop until continued.
    Suspend,
    /// Redraw everything (continued after a stop by someone else).
    Redraw,
}

/// The signals the explorer handles, recorded as they arrive.
pub struct Watch {
    signals: Signals,
}

impl Watch {
    /// Installs the handlers (for the rest of the process).
    pub fn install() -> std::io::Result<Watch> {
        Ok(Watch {
            signals: Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGTSTP, SIGCONT])?,
        })
    }

    /// The most urgent of the signals that arrived since the last call: an exit before a stop
    /// before a redraw.
    pub fn pending(&mut self) -> Option<Wanted> {
        let mut wanted: Option<Wanted> = None;
        for s in self.signals.pending() {
            let w = match s {
                SIGTSTP => Wanted::Suspend,
                SIGCONT => Wanted::Redraw,
                _ => Wanted::Exit(128 + s),
            };
            wanted = Some(match (wanted, w) {
                (Some(e @ Wanted::Exit(_)), _) => e,
                (_, e @ Wanted::Exit(_)) => e,
                (Some(Wanted::Suspend), _) | (_, Wanted::Suspend) => Wanted::Suspend,
                _ => Wanted::Redraw,
            });
        }
        wanted
    }
}

/// Ends the process on SIGTERM, SIGHUP, SIGINT or SIGQUIT even while the event loop waits
/// for input (a terminal that went away, e.g. a closed SSH connection, can keep the input
/// reader from returning): a thread takes `busy` — which the loop holds for every step but
/// its wait for input, so a write in progress finishes first — then calls `restore` and exits
/// with 128 + the signal's number.
pub fn spawn_ender(
    busy: std::sync::Arc<std::sync::Mutex<()>>,
    restore: fn(),
) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT, SIGQUIT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                // Held for good: the loop never takes another step.
                let _step = busy.lock().unwrap_or_else(|e| e.into_inner());
                restore();
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

/// Stops this process (as the terminal's Ctrl-Z would) until a SIGCONT; returns once
/// continued. SIGSTOP cannot be caught, so the handler above does not see it.
pub fn stop_self() {
    // SAFETY: raise only sends a signal to the calling thread's process; SIGSTOP's action
    // cannot be changed, so no handler of ours runs.
    #[allow(unsafe_code)]
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
}
