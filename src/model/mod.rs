//! Python meaning over the arena: instances, attributes, arrays, paths, sizes and groups.

pub mod accounting;
pub mod classes;
pub mod codec;
pub mod describe;
pub mod doc;
pub mod fixed;
pub mod globals;
pub mod groups;
pub mod rows;
pub mod sizes;
pub mod sniff;
pub mod sparse;

use std::path::Path;
use std::sync::OnceLock;

pub use accounting::{ClassTotal, ClassTotals, Removal, outermost, removal};
pub use classes::{ArraySummary, array_summary, class_of, short_name};
pub use describe::type_text;
pub use doc::{Compressed, Doc, FileBytes, FileStamp, LoadError, RawFile};
pub use groups::{AttrInst, Group, Groups};
pub use rows::{Label, Parents, Row, join_path, label_text, path_segment, rows};
pub use sizes::{MemoRefs, kept_within, merge_spans, retained, retained_within};

use crate::pickle::{Graph, NodeId, Span};

/// A parsed file with the indexes the views need.
#[derive(Debug)]
pub struct Model {
    pub doc: Doc,
    pub refs: MemoRefs,
    parents: OnceLock<Parents>,
    groups: OnceLock<Groups>,
}

impl Model {
    pub fn open(path: &Path) -> Result<Model, LoadError> {
        Ok(Model::new(Doc::open(path)?))
    }

    pub fn new(doc: Doc) -> Model {
        let refs = MemoRefs::build(&doc.graph);
        Model {
            doc,
            refs,
            parents: OnceLock::new(),
            groups: OnceLock::new(),
        }
    }

    pub fn graph(&self) -> &Graph {
        &self.doc.graph
    }

    pub fn data(&self) -> &[u8] {
        self.doc.data()
    }

    pub fn rows(&self, id: NodeId) -> Vec<Row> {
        rows(self.graph(), self.data(), id)
    }

    /// Bytes that would disappear if this one span were cut.
    pub fn retained_span(&self, s: Span) -> u64 {
        retained(self.graph(), &self.refs, &[s])
    }

    pub fn parents(&self) -> &Parents {
        self.parents
            .get_or_init(|| Parents::build(self.graph(), self.data()))
    }

    pub fn groups(&self) -> &Groups {
        self.groups.get_or_init(|| Groups::build(self))
    }

    /// `module.qualname` of an instance node.
    pub fn class_of(&self, id: NodeId) -> Option<String> {
        class_of(self.graph(), self.data(), id)
    }

    pub fn array(&self, id: NodeId) -> Option<ArraySummary> {
        array_summary(self.graph(), self.data(), id)
    }

    pub fn path(&self, id: NodeId) -> String {
        self.parents().path(self.graph(), self.data(), id)
    }

    pub fn attr_path(&self, row: &Row) -> String {
        self.parents().attr_path(self.graph(), self.data(), row)
    }

    /// The paths of several attribute rows. Without the full parent index built yet (a
    /// report, not the explorer), a search that stops once it has met their instances.
    pub fn attr_paths(&self, rows: &[Row]) -> Vec<String> {
        let (g, data) = (self.graph(), self.data());
        let partial;
        let parents = match self.parents.get() {
            Some(p) => p,
            None => {
                let owners: Vec<NodeId> = rows.iter().map(|r| r.instance).collect();
                partial = Parents::build_for(g, data, &owners);
                &partial
            }
        };
        rows.iter().map(|r| parents.attr_path(g, data, r)).collect()
    }

    /// The paths of up to `limit` places that hold `id` (its definition and the memo
    /// references to it), in stream order. One pass over the edges: for the detail view, not
    /// for loops.
    pub fn holder_paths(&self, id: NodeId, limit: usize) -> Vec<String> {
        let g = self.graph();
        let data = self.data();
        let parents = self.parents();
        let mut holders: Vec<(u64, NodeId)> = Vec::new();
        for p in 0..g.nodes.len() as NodeId {
            for e in g.children(p) {
                if e.value == id || e.key == id {
                    holders.push((e.span.start, p));
                }
            }
        }
        // An instance shows its state's items as its own rows (attributes): one pass over the
        // nodes finds the instances whose state holds it.
        let states: std::collections::HashSet<NodeId> = holders.iter().map(|h| h.1).collect();
        let owner: std::collections::HashMap<NodeId, NodeId> = g
            .nodes
            .with_state()
            .filter(|(_, n)| states.contains(&n.state))
            .map(|(i, n)| (n.state, i as NodeId))
            .collect();
        for h in &mut holders {
            if let Some(&o) = owner.get(&h.1) {
                h.1 = o;
            }
        }
        holders.sort_unstable();
        let mut out: Vec<String> = Vec::new();
        let mut done = std::collections::HashSet::new();
        for (_, h) in holders {
            if out.len() >= limit {
                break;
            }
            if !done.insert(h) {
                continue;
            }
            for r in rows(g, data, h).iter().filter(|r| r.value == id) {
                let p = parents.row_path(g, data, h, r);
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        out.truncate(limit);
        out
    }
}
