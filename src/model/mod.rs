//! Python meaning over the arena: instances, attributes, arrays, paths, sizes and groups.

pub mod accounting;
pub mod archive;
pub mod classes;
pub mod codec;
pub mod describe;
pub mod doc;
pub mod fixed;
pub mod globals;
pub mod groups;
pub mod lazy;
pub mod nested;
pub mod npy;
pub mod rows;
pub mod sizes;
pub mod sniff;
pub mod sparse;

use std::path::Path;
use std::sync::OnceLock;

use crate::pickle::{Graph, NodeId, Span};

pub use accounting::{ClassTotal, ClassTotals, Removal, outermost, removal};
pub use classes::{ArraySummary, array_summary, class_of, short_name};
pub use describe::type_text;
pub use doc::{Compressed, Doc, FileBytes, FileStamp, LoadError, RawFile};
pub use groups::{AttrInst, Group, Groups};
pub use rows::{Label, Parents, Row, file_rows, join_path, label_text, path_segment, rows};
pub use sizes::{MemoRefs, kept_within, merge_spans, retained, retained_within};

/// Bytes a pickle stands for outside its own stream: a checkpoint's storages, each counted
/// at the position of the persistent id that first names it.
#[derive(Debug, Default, Clone)]
pub struct External {
    /// By position.
    pub items: Vec<ExternalItem>,
}

/// One storage (or other external block) and the persistent ids that name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalItem {
    /// Where it counts: the end of the first persistent id naming it.
    pub pos: u64,
    /// That persistent id's node.
    pub node: NodeId,
    pub key: String,
    pub bytes: u64,
    /// The positions of every persistent id naming it, ascending.
    pub refs: Vec<u64>,
}

impl External {
    pub fn new(mut items: Vec<ExternalItem>) -> External {
        items.sort_by_key(|i| i.pos);
        External { items }
    }

    pub fn total(&self) -> u64 {
        self.items.iter().map(|i| i.bytes).sum()
    }

    fn in_spans(&self, spans: &[Span]) -> impl Iterator<Item = &ExternalItem> {
        spans.iter().flat_map(|s| {
            let a = self.items.partition_point(|i| i.pos < s.start);
            let b = self.items.partition_point(|i| i.pos < s.end);
            &self.items[a..b]
        })
    }

    /// Bytes of the items counted inside `spans` (disjoint, sorted).
    pub fn within(&self, spans: &[Span]) -> u64 {
        self.in_spans(spans).map(|i| i.bytes).sum()
    }

    /// Bytes that go when `cut` goes and `kept` stays: items every reference of which is in
    /// the cut and none in what is kept.
    pub fn retained(&self, cut: &[Span], kept: &[Span]) -> u64 {
        let inside = |spans: &[Span], p: u64| spans.iter().any(|s| s.start <= p && p < s.end);
        self.in_spans(cut)
            .filter(|i| i.refs.iter().all(|&p| inside(cut, p) && !inside(kept, p)))
            .map(|i| i.bytes)
            .sum()
    }
}

/// A parsed file with the indexes the views need.
#[derive(Debug)]
pub struct Model {
    pub doc: Doc,
    pub refs: MemoRefs,
    /// Bytes outside the stream that its objects stand for (a checkpoint's storages).
    pub external: External,
    parents: OnceLock<Parents>,
    groups: OnceLock<Groups>,
    /// A lean graph's containers opened since (see [`lazy`]).
    lazy: lazy::Lazy,
}

impl Model {
    pub fn open(path: &Path) -> Result<Model, LoadError> {
        Ok(Model::new(Doc::open(path)?))
    }

    /// Opens a file for a report: nodes only for what a report reads when the lean machine
    /// can parse it ([`crate::pickle::lean`]); the explorer, slimming and rules need
    /// [`Model::open`].
    pub fn open_lean(path: &Path) -> Result<Model, LoadError> {
        Ok(Model::new(Doc::open_lean(path)?))
    }

    pub fn new(doc: Doc) -> Model {
        Model::with_external(doc, External::default())
    }

    /// A model whose objects also stand for `external` bytes (see [`archive`]).
    pub fn with_external(doc: Doc, external: External) -> Model {
        let refs = MemoRefs::build(&doc.graph);
        Model {
            doc,
            refs,
            external,
            parents: OnceLock::new(),
            groups: OnceLock::new(),
            lazy: lazy::Lazy::default(),
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

    /// The rows a view of the whole file starts from: one per pickle (and one for trailing
    /// bytes) when the file holds several, else the root's rows.
    pub fn top_rows(&self) -> Vec<Row> {
        file_rows(self.graph(), self.doc.len()).unwrap_or_else(|| self.rows(self.graph().root()))
    }

    /// Bytes that would disappear if this one span were cut (with the external bytes of the
    /// persistent ids that go with it).
    pub fn retained_span(&self, s: Span) -> u64 {
        let own = retained(self.graph(), &self.refs, &[s]);
        if self.external.items.is_empty() {
            return own;
        }
        let mut budget = u64::MAX;
        let kept = kept_within(self.graph(), &self.refs, &[s], &mut budget).unwrap_or_default();
        own + self.external.retained(&[s], &kept)
    }

    /// The bytes of a span itself, with the external bytes named inside it.
    pub fn inline_span(&self, s: Span) -> u64 {
        s.len() + self.external.within(&[s])
    }

    /// The whole: the stream's bytes plus the external bytes it names.
    pub fn total(&self) -> u64 {
        self.doc.len() + self.external.total()
    }

    pub fn parents(&self) -> &Parents {
        self.parents
            .get_or_init(|| Parents::build(self.graph(), self.data()))
    }

    /// Forgets the parent index (nodes were added; it is built again when asked for).
    fn reset_parents(&mut self) {
        self.parents = OnceLock::new();
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
