//! The object arena a pickle machine builds: one node per object, edges for contents, memo links.

use super::ops::Op;

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

/// File offsets are stored in 48 bits (256 TiB, beyond any mappable file).
pub const MAX_OFFSET: u64 = (1 << 48) - 1;

/// One node in 24 bytes. `head`: span start (48 bits), opcode, tag. `tail`: span end
/// (48 bits) and the distance from the span start to the payload (16 bits). `x`: the payload
/// length, a small value, or an index into the side table of kinds that do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    head: u64,
    tail: u64,
    state: u32,
    x: u32,
}

mod tag {
    pub const NONE: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const INT: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const STR_UTF8: u8 = 5;
    pub const STR_RAW: u8 = 6;
    pub const STR_QUOTED: u8 = 7;
    pub const STR_LATIN1: u8 = 8;
    pub const STR_LINE: u8 = 9;
    pub const BYTES: u8 = 10;
    pub const BYTEARRAY: u8 = 11;
    pub const TUPLE: u8 = 12;
    pub const LIST: u8 = 13;
    pub const DICT: u8 = 14;
    pub const SET: u8 = 15;
    pub const FROZENSET: u8 = 16;
    pub const EXT: u8 = 17;
    pub const BUFFER: u8 = 18;
    pub const BUFFER_RO: u8 = 19;
    /// The kind is `other[x]`.
    pub const OTHER: u8 = 20;
}

/// The node arena: [`Node`]s packed into 24 bytes each (an object-heavy pickle has millions,
/// most of them scalars whose payload is a byte range next to their opcode). Kinds that do not
/// fit (globals, calls, persistent ids, payloads of 4 GiB or more) live in a side table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nodes {
    packed: Vec<Packed>,
    other: Vec<Kind>,
}

const LOW48: u64 = MAX_OFFSET;

impl Nodes {
    pub fn len(&self) -> usize {
        self.packed.len()
    }
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }
    pub fn reserve(&mut self, n: usize) {
        self.packed.reserve(n);
    }
    pub fn truncate(&mut self, n: usize) {
        self.packed.truncate(n);
        // Side entries are made in node order, so those of the nodes kept come first.
        let keep = self
            .packed
            .iter()
            .rev()
            .find(|p| (p.head >> 56) as u8 == tag::OTHER)
            .map_or(0, |p| p.x as usize + 1);
        self.other.truncate(keep);
    }
    /// The node at `id`, decoded.
    pub fn get(&self, id: usize) -> Option<Node> {
        self.packed.get(id).map(|p| self.decode(p))
    }
    /// Every node in id order, decoded.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Node> + '_ {
        self.packed.iter().map(|p| self.decode(p))
    }
    /// The opcode that created `id`, without decoding the rest.
    pub fn op(&self, id: usize) -> Option<Op> {
        self.packed
            .get(id)
            .and_then(|p| Op::from_byte((p.head >> 48) as u8))
    }
    /// True when the node at `id` can have rows: a container, or a side-table kind (calls;
    /// also globals and persistent ids, which have none). Reads the tag only.
    pub fn may_have_children(&self, id: usize) -> bool {
        self.packed.get(id).is_some_and(|p| {
            matches!(
                (p.head >> 56) as u8,
                tag::TUPLE | tag::LIST | tag::DICT | tag::SET | tag::FROZENSET | tag::OTHER
            )
        })
    }
    /// True when the node at `id` is a tuple, list, dict, set or frozenset.
    pub fn is_container(&self, id: usize) -> bool {
        self.packed.get(id).is_some_and(|p| {
            matches!(
                (p.head >> 56) as u8,
                tag::TUPLE | tag::LIST | tag::DICT | tag::SET | tag::FROZENSET
            )
        })
    }
    /// The module and name of every global node (GLOBAL, STACK_GLOBAL, INST), in id order,
    /// without visiting the other nodes.
    pub fn globals(&self) -> impl Iterator<Item = (TextRef, TextRef)> + '_ {
        self.other.iter().filter_map(|k| match *k {
            Kind::Global { module, name } => Some((module, name)),
            _ => None,
        })
    }

    /// Appends a node; its span start and end must be at most [`MAX_OFFSET`].
    pub fn push(&mut self, n: Node) {
        let p = self.encode(&n);
        self.packed.push(p);
    }
    /// Replaces the node at `id` (the machine's rare rewrites of a whole node); a side-table
    /// kind keeps its slot.
    pub fn set(&mut self, id: usize, n: Node) {
        let Some(&old) = self.packed.get(id) else {
            return;
        };
        let side = (old.head >> 56) as u8 == tag::OTHER;
        let mut p = self.encode(&n);
        if side && (p.head >> 56) as u8 == tag::OTHER && (p.x as usize) + 1 == self.other.len() {
            // Put the new side entry in the old slot.
            if let Some(k) = self.other.pop() {
                self.other[old.x as usize] = k;
                p.x = old.x;
            }
        }
        self.packed[id] = p;
    }
    pub fn set_end(&mut self, id: usize, end: u64) {
        if let Some(p) = self.packed.get_mut(id) {
            p.tail = (p.tail & !LOW48) | (end & LOW48);
        }
    }
    pub fn set_state(&mut self, id: usize, state: NodeId) {
        if let Some(p) = self.packed.get_mut(id) {
            p.state = state;
        }
    }

    fn encode(&mut self, n: &Node) -> Packed {
        let start = n.span.start & LOW48;
        let (t, delta, x) = match n.kind {
            Kind::None => (tag::NONE, 0, 0),
            Kind::Bool(false) => (tag::FALSE, 0, 0),
            Kind::Bool(true) => (tag::TRUE, 0, 0),
            Kind::Tuple => (tag::TUPLE, 0, 0),
            Kind::List => (tag::LIST, 0, 0),
            Kind::Dict => (tag::DICT, 0, 0),
            Kind::Set => (tag::SET, 0, 0),
            Kind::FrozenSet => (tag::FROZENSET, 0, 0),
            Kind::Ext(code) => (tag::EXT, 0, code),
            Kind::Buffer { index, readonly } => (
                if readonly {
                    tag::BUFFER_RO
                } else {
                    tag::BUFFER
                },
                0,
                index,
            ),
            Kind::Int { payload } => near(tag::INT, start, payload.start, payload.len()),
            Kind::Float { payload } => near(tag::FLOAT, start, payload.start, payload.len()),
            Kind::Bytes { payload } => near(tag::BYTES, start, payload.start, payload.len()),
            Kind::ByteArray { payload } => {
                near(tag::BYTEARRAY, start, payload.start, payload.len())
            }
            Kind::Str(t) => {
                let tg = match t.enc {
                    StrEnc::Utf8 => tag::STR_UTF8,
                    StrEnc::RawUnicodeEscape => tag::STR_RAW,
                    StrEnc::Quoted => tag::STR_QUOTED,
                    StrEnc::Latin1 => tag::STR_LATIN1,
                    StrEnc::Line => tag::STR_LINE,
                };
                near(tg, start, t.start, t.len as u64)
            }
            Kind::Global { .. } | Kind::Call { .. } | Kind::PersId { .. } => {
                (tag::OTHER, 0, u32::MAX)
            }
        };
        let (t, delta, x) = if t == tag::OTHER {
            self.other.push(n.kind);
            (tag::OTHER, 0, (self.other.len() - 1) as u32)
        } else {
            (t, delta, x)
        };
        Packed {
            head: start | (u64::from(n.op as u8) << 48) | (u64::from(t) << 56),
            tail: (n.span.end & LOW48) | (delta << 48),
            state: n.state,
            x,
        }
    }

    fn decode(&self, p: &Packed) -> Node {
        let start = p.head & LOW48;
        let op = Op::from_byte((p.head >> 48) as u8).unwrap_or(Op::STOP);
        let t = (p.head >> 56) as u8;
        let payload = || {
            let s = start + (p.tail >> 48);
            Span {
                start: s,
                end: s + u64::from(p.x),
            }
        };
        let text = |enc| TextRef {
            start: start + (p.tail >> 48),
            len: p.x,
            enc,
        };
        let kind = match t {
            tag::NONE => Kind::None,
            tag::FALSE => Kind::Bool(false),
            tag::TRUE => Kind::Bool(true),
            tag::INT => Kind::Int { payload: payload() },
            tag::FLOAT => Kind::Float { payload: payload() },
            tag::STR_UTF8 => Kind::Str(text(StrEnc::Utf8)),
            tag::STR_RAW => Kind::Str(text(StrEnc::RawUnicodeEscape)),
            tag::STR_QUOTED => Kind::Str(text(StrEnc::Quoted)),
            tag::STR_LATIN1 => Kind::Str(text(StrEnc::Latin1)),
            tag::STR_LINE => Kind::Str(text(StrEnc::Line)),
            tag::BYTES => Kind::Bytes { payload: payload() },
            tag::BYTEARRAY => Kind::ByteArray { payload: payload() },
            tag::TUPLE => Kind::Tuple,
            tag::LIST => Kind::List,
            tag::DICT => Kind::Dict,
            tag::SET => Kind::Set,
            tag::FROZENSET => Kind::FrozenSet,
            tag::EXT => Kind::Ext(p.x),
            tag::BUFFER => Kind::Buffer {
                index: p.x,
                readonly: false,
            },
            tag::BUFFER_RO => Kind::Buffer {
                index: p.x,
                readonly: true,
            },
            _ => self.other.get(p.x as usize).copied().unwrap_or(Kind::None),
        };
        Node {
            kind,
            op,
            span: Span {
                start,
                end: p.tail & LOW48,
            },
            state: p.state,
        }
    }
}

/// Tag, payload distance and length for a payload stored next to the span start, or the side
/// table when it is not (a payload of 4 GiB or more, or one far from its opcode).
fn near(t: u8, start: u64, payload: u64, len: u64) -> (u8, u64, u32) {
    match (payload.checked_sub(start), u32::try_from(len)) {
        (Some(d), Ok(l)) if d < (1 << 16) => (t, d, l),
        _ => (tag::OTHER, 0, 0),
    }
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
}

/// Where a node's edges are: `edges[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeRange {
    pub start: u32,
    pub len: u32,
}

/// The arena of a whole file.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Nodes,
    /// Per node, where its edges are in `edges`.
    pub ranges: Vec<EdgeRange>,
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
}

impl Graph {
    /// The node `id`; a placeholder `None` node for an id out of range.
    pub fn node(&self, id: NodeId) -> Node {
        self.nodes.get(id as usize).unwrap_or(Node {
            kind: Kind::None,
            op: Op::NONE,
            span: Span::default(),
            state: NO_NODE,
        })
    }
    pub fn get(&self, id: NodeId) -> Option<Node> {
        self.nodes.get(id as usize)
    }
    /// The edges (children) of a node, in stream order.
    pub fn children(&self, id: NodeId) -> &[Edge] {
        self.ranges
            .get(id as usize)
            .and_then(|r| {
                let a = r.start as usize;
                self.edges.get(a..a + r.len as usize)
            })
            .unwrap_or(&[])
    }
    /// The root object of the first pickle.
    pub fn root(&self) -> NodeId {
        self.pickles.first().map(|p| p.root).unwrap_or(NO_NODE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: Kind, start: u64, end: u64) -> Node {
        Node {
            kind,
            op: Op::BININT1,
            span: Span { start, end },
            state: 7,
        }
    }

    fn every_kind(at: u64) -> Vec<Kind> {
        let t = |start, len, enc| TextRef { start, len, enc };
        let p = |start, end| Span { start, end };
        vec![
            Kind::None,
            Kind::Bool(false),
            Kind::Bool(true),
            Kind::Int {
                payload: p(at + 1, at + 2),
            },
            Kind::Float {
                payload: p(at + 1, at + 9),
            },
            Kind::Str(t(at + 2, 5, StrEnc::Utf8)),
            Kind::Str(t(at + 1, 3, StrEnc::RawUnicodeEscape)),
            Kind::Str(t(at + 2, 0, StrEnc::Quoted)),
            Kind::Str(t(at + 5, 9, StrEnc::Latin1)),
            Kind::Str(t(at + 1, 4, StrEnc::Line)),
            Kind::Bytes {
                payload: p(at + 9, at + 9 + (5 << 32)),
            },
            Kind::Bytes {
                payload: p(at + 100_000, at + 100_001),
            },
            Kind::ByteArray {
                payload: p(at + 9, at + 20),
            },
            Kind::Tuple,
            Kind::List,
            Kind::Dict,
            Kind::Set,
            Kind::FrozenSet,
            Kind::Global {
                module: t(at + 1, 3, StrEnc::Line),
                name: t(at + 5, 2, StrEnc::Line),
            },
            Kind::Call {
                how: CallKind::NewObjEx,
                callable: 1,
                args: 2,
                kwargs: 3,
            },
            Kind::PersId {
                pid: NO_NODE,
                line: Some(p(at + 1, at + 4)),
            },
            Kind::Ext(65535),
            Kind::Buffer {
                index: 4,
                readonly: true,
            },
            Kind::Buffer {
                index: 5,
                readonly: false,
            },
        ]
    }

    #[test]
    fn every_kind_round_trips_through_the_packed_form() {
        let mut nodes = Nodes::default();
        let mut want = Vec::new();
        for at in [0, 1000, MAX_OFFSET - (1 << 40)] {
            for k in every_kind(at) {
                let n = node(k, at, at + 30);
                nodes.push(n);
                want.push(n);
            }
        }
        assert_eq!(nodes.iter().collect::<Vec<_>>(), want);
        let globals: Vec<_> = nodes.globals().collect();
        assert_eq!(globals.len(), 3);
    }

    #[test]
    fn set_end_state_and_whole_node_keep_the_rest() {
        let mut nodes = Nodes::default();
        for k in every_kind(50) {
            nodes.push(node(k, 50, 60));
        }
        let side = nodes.other.len();
        for id in 0..nodes.len() {
            let before = nodes.get(id);
            nodes.set_end(id, 99);
            nodes.set_state(id, 3);
            let after = nodes.get(id);
            assert_eq!(
                after.map(|n| (n.kind, n.op, n.span.start)),
                before.map(|n| (n.kind, n.op, n.span.start))
            );
            assert_eq!(after.map(|n| (n.span.end, n.state)), Some((99, 3)));
            // A whole-node rewrite (moved span, same kind) reuses a side-table slot.
            if let Some(mut n) = after {
                n.span = Span { start: 40, end: 61 };
                nodes.set(id, n);
                assert_eq!(nodes.get(id), Some(n));
            }
        }
        assert_eq!(nodes.other.len(), side);
        // Rolling back drops the side entries of the nodes dropped.
        nodes.truncate(19);
        assert_eq!(nodes.len(), 19);
        assert_eq!(nodes.globals().count(), 1);
        assert!(nodes.other.len() < side);
    }
}
