//! Noticing that the explorer's files changed on disk: a thread stats every file every few
//! seconds and whenever the event loop asks (each key press), and reports what it saw. A stat,
//! not inotify: Lustre and NFS deliver no inotify event for a write made on another node.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use crate::model::doc::FileStamp;

/// How often the files are looked at when no key is pressed.
pub const EVERY: Duration = Duration::from_secs(2);

/// The shortest time between two looks (key presses in a burst share one).
const GAP: Duration = Duration::from_millis(250);

/// What a file is on disk: its stamp, or `None` when it cannot be looked at (gone, no
/// permission).
pub type OnDisk = Option<FileStamp>;

/// One look at every file, in the order the watcher was given them.
#[derive(Debug, Clone)]
pub struct Look {
    /// When the look started: every stat in it was taken after this.
    pub taken: Instant,
    pub files: Vec<OnDisk>,
}

/// The file itself as it is now.
pub fn on_disk(path: &std::path::Path) -> OnDisk {
    FileStamp::of(path).ok()
}

/// The watching thread's two ends, held by the event loop; the thread ends when this is
/// dropped.
pub struct Watcher {
    poke: SyncSender<()>,
    looks: Receiver<Look>,
}

impl Watcher {
    /// Starts looking at `paths` every `every`.
    pub fn spawn(paths: Vec<PathBuf>, every: Duration) -> Watcher {
        let (poke, pokes) = mpsc::sync_channel::<()>(1);
        let (tx, looks) = mpsc::channel();
        // Named, so its cost shows on its own in /proc/PID/task/*/comm.
        let spawned = std::thread::Builder::new()
            .name("watch".into())
            .spawn(move || {
                loop {
                    match pokes.recv_timeout(every) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                    let taken = Instant::now();
                    let files = paths.iter().map(|p| on_disk(p)).collect();
                    if tx.send(Look { taken, files }).is_err() {
                        return;
                    }
                    // Pokes that come during the look and the gap are one: the channel holds one.
                    std::thread::sleep(GAP);
                }
            });
        // No thread (resources exhausted): nothing is watched; `w` still looks before writing.
        drop(spawned);
        Watcher { poke, looks }
    }

    /// Asks for a look soon (a key was pressed); never blocks.
    pub fn poke(&self) {
        let _ = self.poke.try_send(());
    }

    /// The newest look not handed out yet.
    pub fn latest(&self) -> Option<Look> {
        self.looks.try_iter().last()
    }
}
