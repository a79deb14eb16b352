//! Python meaning over the arena: instances, attributes, arrays, paths, sizes and groups.

pub mod classes;
pub mod doc;
pub mod groups;
pub mod rows;
pub mod sizes;
pub mod sparse;

use std::path::Path;
use std::sync::OnceLock;

pub use classes::{ArraySummary, array_summary, class_of, short_name};
pub use doc::{Doc, FileStamp, LoadError, RawFile};
pub use groups::{AttrInst, Group, Groups};
pub use rows::{Label, Parents, Row, label_text, path_segment, rows};
pub use sizes::{MemoRefs, merge_spans, retained, retained_within};

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
}
