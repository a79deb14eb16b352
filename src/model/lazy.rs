//! A lean model's containers kept as spans, opened on demand: their item counts and rows read
//! again from the file ([`crate::pickle::span`]) and added to the graph as the full parse
//! would have made them.

use std::path::PathBuf;

use foldhash::{HashMap, HashSet};

use crate::pickle::span::{Known, Made, Obj, SpanError, Summary, elem_name, read_level};
use crate::pickle::{Edge, NO_NODE, Node, NodeId, Span, edges};

use super::{FileStamp, Model};

/// What the explorer learnt about a lean graph's containers kept without their items.
#[derive(Debug, Default)]
pub struct Lazy {
    /// Item count and common item kind, per container of the lean graph kept without items.
    summaries: HashMap<NodeId, Summary>,
    /// The same for containers made since (ascending ids: a hash table of millions of them
    /// costs a second to fill).
    made: Vec<(NodeId, Summary)>,
    /// Containers whose items were added to the graph.
    opened: HashSet<NodeId>,
}

/// Why a container could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LazyError {
    #[error("{path}: changed on disk since it was read (r reloads)")]
    Changed { path: PathBuf },
    #[error("{path}: a compressed file's containers cannot be read again (open it uncompressed)")]
    Compressed { path: PathBuf },
    #[error("{path}: {source}")]
    Span {
        path: PathBuf,
        #[source]
        source: SpanError,
    },
}

/// One container to read: its node, span, what the graph knows inside it, and whether its
/// items are wanted (else its summary only).
#[derive(Debug)]
struct Task {
    node: NodeId,
    span: Span,
    known: Known,
    rows: bool,
}

/// Work read from the file without the model (on a thread of its own when large).
#[derive(Debug)]
pub struct Job {
    /// The id the first node it makes gets (the graph's node count when it was made: no
    /// other job adds nodes while one is under way).
    base: usize,
    path: PathBuf,
    compressed: bool,
    stamp: Option<FileStamp>,
    len: u64,
    tasks: Vec<Task>,
}

/// What a [`Job`] read, as the graph takes it ([`Model::add_read`]).
#[derive(Debug, Default)]
pub struct Read {
    base: usize,
    /// Per container, its item count and kind.
    summaries: Vec<(NodeId, Summary)>,
    /// New nodes, ids from `base` on.
    nodes: Vec<Node>,
    /// Per container read whole, its items.
    edges: Vec<(NodeId, Vec<Edge>)>,
    /// The file's bytes the new nodes show.
    ranges: Vec<std::ops::Range<u64>>,
}

impl Read {
    /// The node of an item: the graph's when it has one, else a new one.
    fn node_of(&mut self, m: &Made) -> NodeId {
        let id = match (m.kept, m.obj) {
            (Some(n), _) | (None, Obj::Node(n)) => n,
            (None, Obj::Scalar { kind, op } | Obj::Container { kind, op }) => {
                self.nodes.push(Node {
                    kind,
                    op,
                    span: m.span,
                    state: NO_NODE,
                });
                (self.base + self.nodes.len() - 1) as NodeId
            }
        };
        if let (Some(s), Obj::Container { .. }) = (m.summary, m.obj) {
            self.summaries.push((id, s));
        }
        id
    }

    fn add_level(&mut self, node: NodeId, level: crate::pickle::span::Level) {
        self.summaries.push((node, level.own));
        let Some(children) = level.children else {
            return;
        };
        let mut made = Vec::with_capacity(children.len());
        for c in &children {
            let key = c.key.map(|k| self.node_of(&k));
            let value = self.node_of(&c.value);
            made.push(Edge {
                key: key.unwrap_or(NO_NODE),
                value,
                span: c.span,
            });
        }
        self.edges.push((node, made));
    }
}

impl Job {
    /// Bytes it reads.
    pub fn bytes(&self) -> u64 {
        self.tasks.iter().map(|t| t.span.len()).sum()
    }

    /// Reads every container of the job from the file, which must still be the one read.
    pub fn run(self) -> Result<Read, LazyError> {
        let changed = || LazyError::Changed {
            path: self.path.clone(),
        };
        if self.compressed {
            return Err(LazyError::Compressed { path: self.path });
        }
        let file = std::fs::File::open(&self.path).map_err(|_| changed())?;
        let same = |m: std::io::Result<std::fs::Metadata>| {
            m.is_ok_and(|m| Some(FileStamp::from_meta(&m)) == self.stamp)
        };
        if !same(file.metadata()) {
            return Err(changed());
        }
        let mut read = Read {
            base: self.base,
            ..Read::default()
        };
        for t in &self.tasks {
            let level =
                read_level(&file, self.len, t.span, &t.known, t.rows).map_err(|source| {
                    LazyError::Span {
                        path: self.path.clone(),
                        source,
                    }
                })?;
            read.add_level(t.node, level);
        }
        if !self.stamp.is_some_and(|s| s.holds(&file, &self.path)) {
            return Err(changed());
        }
        read.ranges = super::doc::node_ranges(read.nodes.iter().copied());
        Ok(read)
    }
}

impl Model {
    /// True when the graph is a lean one (containers without instances are kept as spans).
    pub fn is_lean(&self) -> bool {
        self.graph().lean.is_some()
    }

    /// True for a container a lean graph holds without its items, not opened yet.
    pub fn is_hollow(&self, id: NodeId) -> bool {
        use crate::pickle::Kind;
        // By kind: a container spanning 4 GiB or more is not packed as one.
        self.is_lean()
            && self.graph().children(id).is_empty()
            && matches!(
                self.graph().get(id).map(|n| n.kind),
                Some(Kind::Dict | Kind::List | Kind::Tuple | Kind::Set | Kind::FrozenSet)
            )
            && !self.lazy.opened.contains(&id)
    }

    /// The item count and common item kind of a container kept without its items, once read.
    pub fn hollow_summary(&self, id: NodeId) -> Option<Summary> {
        let made = &self.lazy.made;
        match made.binary_search_by_key(&id, |m| m.0) {
            Ok(i) => Some(made[i].1),
            Err(_) => self.lazy.summaries.get(&id).copied(),
        }
    }

    /// What must be read before `id` can be shown as a level: its own items when it is
    /// hollow, and the summary of every hollow container among its rows; `None` when
    /// nothing is missing.
    pub fn job_for(&self, id: NodeId) -> Option<Job> {
        if !self.is_lean() {
            return None;
        }
        let mut tasks = Vec::new();
        if self.is_hollow(id) {
            tasks.push(self.task(id, true));
        } else {
            let mut seen = HashSet::default();
            for r in self.rows(id) {
                for v in [r.value, label_key(&r)] {
                    if v != NO_NODE
                        && self.is_hollow(v)
                        && self.hollow_summary(v).is_none()
                        && seen.insert(v)
                    {
                        tasks.push(self.task(v, false));
                    }
                }
            }
        }
        tasks.retain(|t| t.node != NO_NODE);
        if tasks.is_empty() {
            return None;
        }
        Some(Job {
            base: self.graph().nodes.len(),
            path: self.doc.path.clone(),
            compressed: self.doc.compressed.is_some(),
            stamp: self.doc.stamp,
            len: self.doc.len(),
            tasks,
        })
    }

    fn task(&self, node: NodeId, rows: bool) -> Task {
        let g = self.graph();
        let span = g.node(node).span;
        let range = |v: &[crate::pickle::MemoSite]| {
            let a = v.partition_point(|s| s.pos < span.start);
            let b = v.partition_point(|s| s.pos < span.end);
            a..b
        };
        let gets = g.gets[range(&g.gets)]
            .iter()
            .map(|s| (*s, elem_name(&g.node(s.node).kind)))
            .collect();
        let puts = g.puts[range(&g.puts)].to_vec();
        Task {
            node,
            span,
            known: Known { gets, puts },
            rows,
        }
    }

    /// Adds what a [`Job`] read: summaries, and the items of each container read whole as
    /// nodes and edges (nested containers as nodes without items, with their summaries).
    /// The file's bytes those nodes show are copied in.
    pub fn add_read(&mut self, read: Read) -> std::io::Result<()> {
        if read.base != self.graph().nodes.len() {
            return Err(std::io::Error::other(
                "the file was read again meanwhile; open the container again",
            ));
        }
        if read.base.saturating_add(read.nodes.len()) >= (NO_NODE - 2) as usize {
            return Err(std::io::Error::other(
                "too many objects to show (node ids would overflow)",
            ));
        }
        let g = &mut self.doc.graph;
        g.nodes.reserve(read.nodes.len());
        for n in read.nodes {
            g.nodes.push(n);
        }
        for (node, edges) in read.edges {
            if !self.lazy.opened.insert(node) {
                continue;
            }
            let g = &mut self.doc.graph;
            let mut pieces = Vec::new();
            let slot = edges::open(g, &mut pieces, node);
            g.edges.reserve(edges.len());
            for e in edges {
                edges::push(g, slot, e);
            }
            edges::gather(g, &mut pieces);
        }
        for (id, s) in read.summaries {
            if (id as usize) < read.base {
                self.lazy.summaries.insert(id, s);
            } else {
                self.lazy.made.push((id, s));
            }
        }
        if !read.ranges.is_empty() {
            self.doc.copy_in(read.ranges)?;
            // Paths now reach the new nodes.
            self.reset_parents();
        }
        Ok(())
    }
}

/// The key node of a dict-entry row.
fn label_key(r: &super::Row) -> NodeId {
    match r.label {
        super::Label::Key(k) => k,
        _ => NO_NODE,
    }
}

/// The item count text of a container kept without its items (`"3 float"`, `"12 items"`),
/// as [`super::describe`] words a container's items; `None` when it holds none.
pub fn summary_text(s: Summary) -> Option<String> {
    if s.count == 0 {
        return None;
    }
    Some(match s.common {
        Some(k) => format!("{} {k}", s.count),
        None => format!("{} items", s.count),
    })
}
