//! Containers a lean graph kept as spans, read when the explorer shows them: small ones at
//! once, large ones on a thread of their own while the explorer keeps answering keys.

use std::sync::{Arc, mpsc};

use crate::model::lazy::{Job, LazyError, Read};
use crate::pickle::NodeId;
use crate::pickle::progress::{self, Progress};

use super::App;

/// Containers up to this many bytes are read before the key returns (a few milliseconds);
/// larger ones on a thread, with how far it got on the status line.
pub const AT_ONCE_BYTES: u64 = 8 << 20;

/// What to do once a read finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Show the file's top level.
    Top,
    /// Go down into the row at `order` of the level at `depth` (when still selected).
    Descend { depth: usize, order: usize },
}

/// A read going on in the background.
#[derive(Debug)]
pub struct Opening {
    pub entry: usize,
    pub then: Then,
    pub name: String,
    pub bytes: u64,
    pub progress: Arc<Progress>,
    rx: mpsc::Receiver<Result<Read, LazyError>>,
}

impl Opening {
    /// Whole percent read so far.
    pub fn percent(&self) -> u64 {
        let (d, t) = self.progress.get();
        d.saturating_mul(100) / t.max(1)
    }
}

impl App {
    /// Reads what file `entry`'s lean model lacks to show `node` as a level. True when the
    /// level cannot be shown yet: a read goes on in the background (or failed, said on the
    /// status line).
    pub(super) fn prepare(&mut self, entry: usize, node: NodeId, then: Then, name: &str) -> bool {
        let Some(model) = self.files.get_mut(entry).and_then(|f| f.model_mut()) else {
            return false;
        };
        if !model.is_lean() {
            return false;
        }
        if let Some(o) = &self.opening {
            // One read at a time: its new nodes take the ids after the graph's.
            if model.job_for(node).is_some() {
                self.status = format!("still reading {}… {}%", o.name, o.percent());
                return true;
            }
            return false;
        }
        // A few rounds at most: a container's items, then the summaries of kept ones among them.
        for _ in 0..4 {
            let Some(job) = model.job_for(node) else {
                return false;
            };
            let bytes = job.bytes();
            if bytes > AT_ONCE_BYTES {
                self.start(entry, then, name, job);
                return true;
            }
            let done = job.run().map_err(|e| e.to_string()).and_then(|r| {
                model
                    .add_read(r)
                    .map_err(|e| format!("{}: {e}", model.doc.path.display()))
            });
            if let Err(e) = done {
                self.status = e;
                return true;
            }
        }
        false
    }

    /// The detail view shows a row's first opcodes: a file opened lean holds only some of
    /// its bytes, so those are copied in first.
    pub(super) fn copy_in_detail_bytes(&mut self) {
        let Some(span) = self.selected_row().map(|r| r.row.span) else {
            return;
        };
        let entry = match &self.tree {
            Some(t) if !self.in_nested() => t.entry,
            _ => return,
        };
        if let Some(m) = self.files.get_mut(entry).and_then(|f| f.model_mut())
            && m.is_lean()
            && let Err(e) = m
                .doc
                .copy_in(std::iter::once(span.start..span.end.min(span.start + 4096)).collect())
        {
            self.status = format!("{}: {e}", m.doc.path.display());
        }
    }

    fn start(&mut self, entry: usize, then: Then, name: &str, job: Job) {
        let (tx, rx) = mpsc::channel();
        let p = Arc::new(Progress::default());
        let bytes = job.bytes();
        let sink = p.clone();
        std::thread::spawn(move || {
            let r = progress::reporting(&sink, || job.run());
            let _ = tx.send(r);
        });
        self.status = format!("reading {name} ({})…", crate::fmt::size(bytes));
        self.opening = Some(Opening {
            entry,
            then,
            name: name.to_string(),
            bytes,
            progress: p,
            rx,
        });
    }

    /// Takes a finished background read into its model and goes on where it was asked
    /// from; true when the screen changed (or its percent did).
    pub fn poll_opening(&mut self) -> bool {
        let Some(o) = &self.opening else {
            return false;
        };
        let r = match o.rx.try_recv() {
            Ok(r) => r,
            Err(mpsc::TryRecvError::Empty) => {
                let s = format!(
                    "reading {} ({})… {}%",
                    o.name,
                    crate::fmt::size(o.bytes),
                    o.percent()
                );
                let changed = s != self.status;
                self.status = s;
                return changed;
            }
            Err(mpsc::TryRecvError::Disconnected) => {
                self.opening = None;
                self.status = "the read stopped before it finished".into();
                return true;
            }
        };
        let Some(o) = self.opening.take() else {
            return false;
        };
        let added = match self.files.get_mut(o.entry).and_then(|f| f.model_mut()) {
            Some(m) => r.map_err(|e| e.to_string()).and_then(|read| {
                m.add_read(read)
                    .map_err(|e| format!("{}: {e}", m.doc.path.display()))
            }),
            None => Err("the file is no longer loaded".into()),
        };
        if let Err(e) = added {
            self.status = e;
            return true;
        }
        self.status.clear();
        match o.then {
            Then::Top => {
                if self.tree.is_none() {
                    self.open_entry(o.entry);
                }
            }
            Then::Descend { depth, order } => {
                let here = self.tree.as_ref().is_some_and(|t| {
                    t.entry == o.entry && t.levels.len() == depth && !self.in_nested()
                }) && self.selected_row().is_some_and(|r| r.order == order);
                if here {
                    self.descend();
                } else {
                    self.status = format!("{} is read: Enter opens it", o.name);
                }
            }
        }
        true
    }
}
