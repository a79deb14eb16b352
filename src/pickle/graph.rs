//! The object arena a pickle machine builds: one node per object, edges for contents, memo links.

use super::ops::Op;

pub use super::nodes::{EdgeRange, MAX_OFFSET, Nodes};
pub use super::positions::{PosCounter, PosIndex};

/// Index of a node in the arena.
pub type NodeId = u32;
/// Marks "no node".
pub const NO_NODE: NodeId = u32::MAX;

/// How a string's bytes are encoded in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrEnc {
    /// BINUNICODE and friends: UTF-8 (surrogates allowed).
    Utf8,
    /// UNICODE: raw-unicode-escape text.
    RawUnicodeEscape,
    /// STRING: a Python repr, quoted and backslash-escaped.
    Quoted,
    /// BINSTRING / SHORT_BINSTRING: raw bytes, decoded as latin-1 for display.
    Latin1,
    /// GLOBAL / INST lines: plain ASCII/UTF-8 text.
    Line,
}

/// A span of text in the file and how to decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRef {
    pub start: u64,
    pub len: u32,
    pub enc: StrEnc,
}

/// How an object was constructed by a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Reduce,
    NewObj,
    NewObjEx,
    Obj,
    Inst,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    None,
    Bool(bool),
    /// An integer; value decoded lazily from the creating op and payload.
    Int {
        payload: Span,
    },
    Float {
        payload: Span,
    },
    Str(TextRef),
    Bytes {
        payload: Span,
    },
    ByteArray {
        payload: Span,
    },
    /// A class or function named by GLOBAL, STACK_GLOBAL or INST.
    Global {
        module: TextRef,
        name: TextRef,
    },
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    /// An object made by calling `callable` with `args` (and `kwargs` for NEWOBJ_EX).
    Call {
        how: CallKind,
        callable: NodeId,
        args: NodeId,
        kwargs: NodeId,
    },
    /// A persistent id (PERSID line or BINPERSID object).
    PersId {
        pid: NodeId,
        line: Option<Span>,
    },
    /// An extension-registry code (EXT1/2/4).
    Ext(u32),
    /// An out-of-band buffer (NEXT_BUFFER), by index.
    Buffer {
        index: u32,
        readonly: bool,
    },
}

impl Kind {
    /// The Python type a node of this kind stands for (`dict`, `NoneType`); `object` for any
    /// instance (its class is in the graph, not in the kind).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::None => "NoneType",
            Kind::Bool(_) => "bool",
            Kind::Int { .. } => "int",
            Kind::Float { .. } => "float",
            Kind::Str(_) => "str",
            Kind::Bytes { .. } => "bytes",
            Kind::ByteArray { .. } => "bytearray",
            Kind::Global { .. } => "global",
            Kind::Tuple => "tuple",
            Kind::List => "list",
            Kind::Dict => "dict",
            Kind::Set => "set",
            Kind::FrozenSet => "frozenset",
            Kind::Call { .. } => "object",
            Kind::PersId { .. } => "persistent id",
            Kind::Ext(_) => "extension",
            Kind::Buffer { .. } => "buffer",
        }
    }
}

/// A byte range `[start, end)` in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u64,
            end: end as u64,
        }
    }
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    pub fn contains(&self, pos: u64) -> bool {
        self.start <= pos && pos < self.end
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One object, as [`Nodes`] hands it out (decoded from its packed form).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    pub kind: Kind,
    /// The opcode that created it.
    pub op: Op,
    /// The bytes that produce this object as one stack item: from its first opcode through the
    /// last opcode that changed it while it was on the stack (APPENDS, SETITEMS, BUILD...).
    pub span: Span,
    /// The BUILD state, if any (the last one when BUILD was applied more than once).
    pub state: NodeId,
}

impl Node {
    /// A `None` with an empty span: what a lookup out of range or a freed side entry reads.
    pub const PLACEHOLDER: Node = Node {
        kind: Kind::None,
        op: Op::NONE,
        span: Span { start: 0, end: 0 },
        state: NO_NODE,
    };
}

/// Key marker on edges that are BUILD state rather than container items.
pub const STATE_KEY: NodeId = u32::MAX - 1;

/// A child relation: a list/tuple/set item (`key == NO_NODE`), a dict entry, or BUILD state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub key: NodeId,
    pub value: NodeId,
    /// The bytes of the key and value in the stream (plus a lone SETITEM/APPEND opcode).
    pub span: Span,
}

/// One memo reference or definition site: the opcode at `pos` refers to `node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoSite {
    pub pos: u64,
    pub node: NodeId,
}

/// One pickle within a file (most files hold exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleInfo {
    pub span: Span,
    pub protocol: u8,
    pub root: NodeId,
    /// Every memo store names its key (PUT/BINPUT/LONG_BINPUT, no MEMOIZE) and no key is
    /// stored twice, so a rewrite can keep the keys as they are.
    pub explicit_memo: bool,
}

/// The arena of a whole file.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Nodes,
    /// The edges in the order the machine made them, each node's contiguous and in stream
    /// order. A node whose edges arrived in separate batches with others' in between has them
    /// gathered at the end; the slots they left are referenced by no range.
    pub edges: Vec<Edge>,
    /// Every memo GET, in stream order, with the node it yields.
    pub gets: Vec<MemoSite>,
    /// Every memo PUT/MEMOIZE, in stream order, with the node it stores.
    pub puts: Vec<MemoSite>,
    pub pickles: Vec<PickleInfo>,
    /// Offset of bytes after the last pickle that are not a pickle, if any.
    pub trailing: Option<u64>,
    /// Total opcodes scanned.
    pub op_count: u64,
    /// Set when the lean machine built this graph ([`super::lean`]): it then holds only what
    /// a report reads, and this says what the whole file holds.
    pub lean: Option<Box<LeanCounts>>,
}

/// What a file holds beyond a lean graph's nodes and memo sites, for work budgets that must
/// not depend on how much of the file was kept.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LeanCounts {
    /// Objects the stream makes (the nodes a full parse has).
    pub objects: u64,
    /// Offsets of every memo store (a lean graph's `puts` has only the fetched).
    pub put_pos: PosIndex,
}

/// [`Graph::puts_within`] of spans in ascending order, each count going on from the last.
#[derive(Debug)]
pub struct PutsWithin<'a> {
    lean: Option<PosCounter<'a>>,
    puts: &'a [MemoSite],
    /// Full graphs: the stores before this index lie before the last span.
    from: usize,
}

impl PutsWithin<'_> {
    /// The memo stores within `s`.
    pub fn count(&mut self, s: Span) -> usize {
        if let Some(c) = &mut self.lean {
            let below = c.count_below(s.start);
            return c.count_below(s.end) - below;
        }
        let p = self.puts;
        // A span before the last one: from the start again.
        if self
            .from
            .checked_sub(1)
            .and_then(|i| p.get(i))
            .is_some_and(|x| x.pos >= s.start)
        {
            self.from = 0;
        }
        let a = self.from + p[self.from..].partition_point(|x| x.pos < s.start);
        let b = a + p[a..].partition_point(|x| x.pos < s.end);
        self.from = a;
        b - a
    }
}

impl Graph {
    /// The node `id`; [`Node::PLACEHOLDER`] for an id out of range.
    pub fn node(&self, id: NodeId) -> Node {
        self.nodes.get(id as usize).unwrap_or(Node::PLACEHOLDER)
    }
    pub fn get(&self, id: NodeId) -> Option<Node> {
        self.nodes.get(id as usize)
    }
    /// The edges (children) of a node, in stream order.
    pub fn children(&self, id: NodeId) -> &[Edge] {
        let r = self.nodes.range(id as usize);
        let a = r.start as usize;
        self.edges.get(a..a + r.len as usize).unwrap_or(&[])
    }
    /// Bytes held by each part of the graph (capacity, heap only).
    pub fn footprint(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        let mut v: Vec<(&'static str, usize)> = self.nodes.footprint().to_vec();
        v.push(("edges", self.edges.capacity() * size_of::<Edge>()));
        v.push((
            "memo sites (gets + puts)",
            (self.gets.capacity() + self.puts.capacity()) * size_of::<MemoSite>(),
        ));
        if let Some(l) = &self.lean {
            v.push(("memo store offsets (lean)", l.put_pos.heap_bytes()));
        }
        v
    }
    /// Objects in the stream: the nodes of a full parse.
    pub fn object_count(&self) -> u64 {
        self.lean
            .as_ref()
            .map_or(self.nodes.len() as u64, |l| l.objects)
    }
    /// Memo stores in the stream.
    pub fn memo_store_count(&self) -> u64 {
        self.lean
            .as_ref()
            .map_or(self.puts.len() as u64, |l| l.put_pos.len())
    }
    /// [`Graph::puts_within`] of many spans, cheaper when they come in ascending order.
    pub fn puts_within_each(&self) -> PutsWithin<'_> {
        PutsWithin {
            lean: self.lean.as_ref().map(|l| l.put_pos.counter()),
            puts: &self.puts,
            from: 0,
        }
    }
    /// Memo stores at offsets within `s`.
    pub fn puts_within(&self, s: Span) -> usize {
        self.puts_within_each().count(s)
    }
    /// The root object of the first pickle.
    pub fn root(&self) -> NodeId {
        self.pickles.first().map(|p| p.root).unwrap_or(NO_NODE)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn puts_within_each_counts_the_stores_of_each_span() {
        use super::{Graph, LeanCounts, MemoSite, Span};
        let pos: Vec<u64> = (0..500u64).map(|k| k * 7 + (k % 3) * 2).collect();
        let full = Graph {
            puts: pos.iter().map(|&pos| MemoSite { pos, node: 0 }).collect(),
            ..Graph::default()
        };
        let lean = Graph {
            lean: Some(Box::new(LeanCounts {
                put_pos: pos.iter().copied().collect(),
                ..LeanCounts::default()
            })),
            ..Graph::default()
        };
        let mut spans: Vec<Span> = (0..200u64)
            .map(|k| Span {
                start: k * 17,
                end: k * 17 + 1 + k % 16,
            })
            .collect();
        // One span out of order: counted from the start again.
        spans.push(Span { start: 3, end: 40 });
        for g in [&full, &lean] {
            let mut each = g.puts_within_each();
            for s in &spans {
                let want = pos.iter().filter(|&&p| s.contains(p)).count();
                assert_eq!(each.count(*s), want, "{s:?}");
                assert_eq!(g.puts_within(*s), want, "{s:?}");
            }
        }
    }
}
