//! The node arena packed into 16 bytes a node: span, opcode and kind tag in two words, edge
//! slots for the nodes that have edges, and a side table for what does not fit.

use super::graph::{Kind, NO_NODE, Node, NodeId, Span, StrEnc, TextRef};
use super::ops::Op;

/// Where a node's edges are: `edges[start..start + len]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeRange {
    pub start: u32,
    pub len: u32,
}

/// File offsets are stored in 48 bits (256 TiB, beyond any mappable file).
pub const MAX_OFFSET: u64 = (1 << 48) - 1;

/// One node in 16 bytes. `head`: span start (48 bits), opcode, tag. `body`: span length (low
/// 32 bits) and `x` (high 32 bits): a payload's length (the payload starts
/// [`payload_offset`] bytes after the span start), a small value (extension code, buffer
/// index), a container's edge slot (which also holds its BUILD state), or for tag `FULL` the
/// index of the whole node in the side table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    head: u64,
    body: u64,
}

impl Packed {
    /// The head word: span start, opcode, tag.
    fn head(start: u64, op: Op, tag: u8) -> u64 {
        (start & LOW48) | (u64::from(op as u8) << 48) | (u64::from(tag) << 56)
    }
    fn op(&self) -> Op {
        Op::from_byte((self.head >> 48) as u8).unwrap_or(Op::STOP)
    }
    fn tag(&self) -> u8 {
        (self.head >> 56) as u8
    }
    fn start(&self) -> u64 {
        self.head & LOW48
    }
    fn len(&self) -> u64 {
        self.body & 0xffff_ffff
    }
    fn x(&self) -> u32 {
        (self.body >> 32) as u32
    }
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
    /// The whole node is `full[x]`.
    pub const FULL: u8 = 20;
}

/// Where the payload of a scalar made by `op` starts, from the opcode byte: past the opcode
/// and its length prefix (and the opening quote of STRING). A table built from the opcode
/// table at compile time (decoding a node is on every walk's path).
#[inline]
fn payload_offset(op: Op) -> u64 {
    use super::ops::ArgKind;
    const OFFSETS: [u8; 256] = {
        let mut t = [1u8; 256];
        let mut b = 0;
        while b < 256 {
            if let Some(op) = Op::from_byte(b as u8) {
                t[b] += match op.arg_kind() {
                    ArgKind::Len1 => 1,
                    ArgKind::Len4 | ArgKind::Len4Signed => 4,
                    ArgKind::Len8 => 8,
                    _ => matches!(op, Op::STRING) as u8,
                };
            }
            b += 1;
        }
        t
    };
    u64::from(OFFSETS[op as usize])
}

fn is_container_tag(t: u8) -> bool {
    matches!(
        t,
        tag::TUPLE | tag::LIST | tag::DICT | tag::SET | tag::FROZENSET
    )
}

fn is_container_kind(k: &Kind) -> bool {
    matches!(
        k,
        Kind::Tuple | Kind::List | Kind::Dict | Kind::Set | Kind::FrozenSet
    )
}

/// The node arena: [`Node`]s packed into 16 bytes each (an object-heavy pickle has millions,
/// most of them scalars whose payload sits right after their opcode). Nodes that do not fit —
/// globals, calls, persistent ids, a BUILD state on anything but a container, spans or
/// payloads of 4 GiB or more — are kept whole in a side table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nodes {
    packed: Vec<Packed>,
    full: Vec<Node>,
    /// Per side-table node, its edge slot or [`NO_SLOT`].
    full_slot: Vec<u32>,
    /// Edge ranges (and, for containers, the BUILD state) of the nodes that have edges:
    /// every container (its `x`), and side-table nodes given some (calls, by BUILD). A scalar
    /// given items by a hostile stream is moved to the side table first.
    slots: Vec<Slot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    range: EdgeRange,
    state: NodeId,
}

const NO_SLOT: u32 = u32::MAX;

const LOW48: u64 = MAX_OFFSET;

impl Nodes {
    /// Bytes held by the arena's parts (capacity): packed nodes, side table, edge slots.
    pub fn footprint(&self) -> [(&'static str, usize); 3] {
        use std::mem::size_of;
        [
            (
                "nodes (16-byte packed)",
                self.packed.capacity() * size_of::<Packed>(),
            ),
            (
                "side table (whole nodes)",
                self.full.capacity() * size_of::<Node>() + self.full_slot.capacity() * 4,
            ),
            ("edge slots", self.slots.capacity() * size_of::<Slot>()),
        ]
    }
    pub fn len(&self) -> usize {
        self.packed.len()
    }
    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }
    /// Room for `n` more nodes, if memory allows (else the arena grows as it fills).
    pub fn reserve(&mut self, n: usize) {
        let _ = self.packed.try_reserve(n);
    }
    /// Nodes that fit before the arena must grow.
    pub fn room(&self) -> usize {
        self.packed.capacity() - self.packed.len()
    }
    pub fn truncate(&mut self, n: usize) {
        self.packed.truncate(n);
        // The machine rolls back only nodes made after every node it keeps, so their side
        // entries come after those of the nodes kept.
        let (mut full, mut slots) = (0, 0);
        for p in &self.packed {
            match p.tag() {
                tag::FULL => full = full.max(p.x() as usize + 1),
                t if is_container_tag(t) => slots = slots.max(p.x() as usize + 1),
                _ => {}
            }
        }
        self.full.truncate(full);
        self.full_slot.truncate(full);
        let held = self.full_slot.iter().filter(|s| **s != NO_SLOT);
        slots = held.fold(slots, |m, s| m.max(*s as usize + 1));
        self.slots.truncate(slots);
    }

    /// Where `id`'s edges are (empty for a node without any).
    #[inline]
    pub fn range(&self, id: usize) -> EdgeRange {
        self.slot(id)
            .and_then(|s| self.slots.get(s as usize))
            .map_or(EdgeRange::default(), |s| s.range)
    }

    /// The edge slot of `id`, if it has one.
    fn slot(&self, id: usize) -> Option<u32> {
        let p = self.packed.get(id)?;
        match p.tag() {
            tag::FULL => self
                .full_slot
                .get(p.x() as usize)
                .copied()
                .filter(|s| *s != NO_SLOT),
            t if is_container_tag(t) => Some(p.x()),
            _ => None,
        }
    }

    /// The edge slot of `id`, made on first use (see `slots`).
    pub fn slot_for_edges(&mut self, id: usize) -> Option<u32> {
        if let Some(s) = self.slot(id) {
            return Some(s);
        }
        let n = self.get(id)?;
        let p = match self.packed.get(id) {
            Some(p) if p.tag() == tag::FULL => *p,
            _ => self.put_full(n),
        };
        let s = self.new_slot(NO_NODE);
        if let Some(fs) = self.full_slot.get_mut(p.x() as usize) {
            *fs = s;
        }
        self.packed[id] = p;
        Some(s)
    }

    /// The edge range in `slot`, to extend.
    #[inline]
    pub fn slot_range(&mut self, slot: u32) -> Option<&mut EdgeRange> {
        self.slots.get_mut(slot as usize).map(|s| &mut s.range)
    }

    fn new_slot(&mut self, state: NodeId) -> u32 {
        self.slots.push(Slot {
            range: EdgeRange::default(),
            state,
        });
        (self.slots.len() - 1) as u32
    }
    /// The node at `id`, decoded.
    pub fn get(&self, id: usize) -> Option<Node> {
        self.packed.get(id).map(|p| self.decode(p))
    }
    /// Every node in id order, decoded.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Node> + '_ {
        self.packed.iter().map(|p| self.decode(p))
    }
    /// Every node with a BUILD state, with its id, in id order: instances and the odd
    /// container, without decoding the scalars around them.
    pub fn with_state(&self) -> impl Iterator<Item = (usize, Node)> + '_ {
        self.packed.iter().enumerate().filter_map(|(id, p)| {
            let stated = match p.tag() {
                tag::FULL => self
                    .full
                    .get(p.x() as usize)
                    .is_some_and(|n| n.state != NO_NODE),
                t if is_container_tag(t) => self
                    .slots
                    .get(p.x() as usize)
                    .is_some_and(|s| s.state != NO_NODE),
                _ => false,
            };
            stated.then(|| (id, self.decode(p)))
        })
    }
    /// True when the node at `id` can have rows: a container, or a side-table node (calls;
    /// also globals and persistent ids, which have none). Reads the tag only.
    pub fn may_have_children(&self, id: usize) -> bool {
        self.packed
            .get(id)
            .is_some_and(|p| p.tag() == tag::FULL || is_container_tag(p.tag()))
    }
    /// True when the node at `id` is a scalar: None, a bool, number, string or bytes (a node
    /// given edges is stored whole, and is none). Reads the tag only.
    pub fn is_scalar(&self, id: usize) -> bool {
        self.packed
            .get(id)
            .is_some_and(|p| p.tag() <= tag::BYTEARRAY)
    }
    /// True when the node at `id` is a tuple, list, dict, set or frozenset.
    pub fn is_container(&self, id: usize) -> bool {
        self.packed
            .get(id)
            .is_some_and(|p| is_container_tag(p.tag()))
    }
    /// The module and name of every global node (GLOBAL, STACK_GLOBAL, INST), in id order,
    /// without visiting the other nodes.
    pub fn globals(&self) -> impl Iterator<Item = (TextRef, TextRef)> + '_ {
        self.full.iter().filter_map(|n| match n.kind {
            Kind::Global { module, name } => Some((module, name)),
            _ => None,
        })
    }

    /// Every call node (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) from the side table, in id
    /// order, without visiting the other nodes.
    pub fn calls(&self) -> impl Iterator<Item = Node> + '_ {
        self.full
            .iter()
            .filter(|n| matches!(n.kind, Kind::Call { .. }))
            .copied()
    }

    /// Appends a node; its span must lie within [`MAX_OFFSET`]. Inlined: where the machine
    /// calls it the kind is known, and the packing's match folds away.
    #[inline(always)]
    pub fn push(&mut self, n: Node) {
        let slot = if is_container_kind(&n.kind) {
            self.new_slot(n.state)
        } else {
            NO_SLOT
        };
        let p = match self.pack(&n, slot) {
            Some(p) => p,
            None => {
                // A container too long to pack keeps its slot in the side table.
                let p = self.put_full(n);
                if let Some(fs) = self.full_slot.get_mut(p.x() as usize) {
                    *fs = slot;
                }
                p
            }
        };
        self.packed.push(p);
    }
    /// Replaces the node at `id` (the machine's rare rewrites of a whole node). Its edges and
    /// side-table entry stay where they are.
    pub fn set(&mut self, id: usize, n: Node) {
        let Some(&old) = self.packed.get(id) else {
            return;
        };
        let had = self.slot(id);
        let slot = match had {
            Some(s) => s,
            None if is_container_kind(&n.kind) => self.new_slot(NO_NODE),
            None => NO_SLOT,
        };
        // A node with edges stays a container or goes whole (where its slot is kept).
        let packed = match self.pack(&n, slot) {
            Some(p) if had.is_none() || is_container_tag(p.tag()) => Some(p),
            _ => None,
        };
        let p = match packed {
            Some(p) => {
                if is_container_tag(p.tag())
                    && let Some(s) = self.slots.get_mut(slot as usize)
                {
                    s.state = n.state;
                }
                if old.tag() == tag::FULL
                    && let Some(f) = self.full.get_mut(old.x() as usize)
                {
                    // No longer a global (or anything else) in the side table.
                    *f = Node::PLACEHOLDER;
                }
                p
            }
            None if old.tag() == tag::FULL => match self.full.get_mut(old.x() as usize) {
                Some(f) => {
                    *f = n;
                    old
                }
                None => self.put_full(n),
            },
            None => {
                let p = self.put_full(n);
                if let Some(fs) = self.full_slot.get_mut(p.x() as usize) {
                    *fs = slot;
                }
                p
            }
        };
        self.packed[id] = p;
    }
    /// Sets the end of `id`'s span (the hot path: one per stack item closed).
    pub fn set_end(&mut self, id: usize, end: u64) {
        let Some(p) = self.packed.get_mut(id) else {
            return;
        };
        if p.tag() == tag::FULL {
            if let Some(f) = self.full.get_mut(p.x() as usize) {
                f.span.end = end;
            }
            return;
        }
        match end.checked_sub(p.start()) {
            Some(len) if len <= 0xffff_ffff => p.body = (p.body & !0xffff_ffff) | len,
            _ => {
                if let Some(mut n) = self.get(id) {
                    n.span.end = end;
                    self.set(id, n);
                }
            }
        }
    }
    pub fn set_state(&mut self, id: usize, state: NodeId) {
        if let Some(mut n) = self.get(id) {
            n.state = state;
            self.set(id, n);
        }
    }

    fn put_full(&mut self, n: Node) -> Packed {
        self.full.push(n);
        self.full_slot.push(NO_SLOT);
        let x = (self.full.len() - 1) as u64;
        Packed {
            head: Packed::head(n.span.start, n.op, tag::FULL),
            body: x << 32,
        }
    }

    /// The 16-byte form of `n` (a container's `x` is `slot`), or `None` when it must be kept
    /// whole.
    #[inline(always)]
    fn pack(&self, n: &Node, slot: u32) -> Option<Packed> {
        let start = n.span.start;
        let len = n
            .span
            .end
            .checked_sub(start)
            .filter(|l| *l <= 0xffff_ffff)?;
        if start > LOW48 {
            return None;
        }
        let stateless = n.state == NO_NODE;
        let plain = |t: u8, x: u32| stateless.then_some((t, x));
        let payload = |t: u8, p: u64, l: u64| {
            (stateless && p.checked_sub(start) == Some(payload_offset(n.op)))
                .then(|| u32::try_from(l).ok().map(|l| (t, l)))
                .flatten()
        };
        let (t, x) = match n.kind {
            Kind::None => plain(tag::NONE, 0)?,
            Kind::Bool(false) => plain(tag::FALSE, 0)?,
            Kind::Bool(true) => plain(tag::TRUE, 0)?,
            Kind::Tuple => (tag::TUPLE, slot),
            Kind::List => (tag::LIST, slot),
            Kind::Dict => (tag::DICT, slot),
            Kind::Set => (tag::SET, slot),
            Kind::FrozenSet => (tag::FROZENSET, slot),
            Kind::Ext(code) => plain(tag::EXT, code)?,
            Kind::Buffer { index, readonly } => plain(
                if readonly {
                    tag::BUFFER_RO
                } else {
                    tag::BUFFER
                },
                index,
            )?,
            Kind::Int { payload: p } => payload(tag::INT, p.start, p.len())?,
            Kind::Float { payload: p } => payload(tag::FLOAT, p.start, p.len())?,
            Kind::Bytes { payload: p } => payload(tag::BYTES, p.start, p.len())?,
            Kind::ByteArray { payload: p } => payload(tag::BYTEARRAY, p.start, p.len())?,
            Kind::Str(s) => {
                let t = match s.enc {
                    StrEnc::Utf8 => tag::STR_UTF8,
                    StrEnc::RawUnicodeEscape => tag::STR_RAW,
                    StrEnc::Quoted => tag::STR_QUOTED,
                    StrEnc::Latin1 => tag::STR_LATIN1,
                    StrEnc::Line => tag::STR_LINE,
                };
                payload(t, s.start, u64::from(s.len))?
            }
            Kind::Global { .. } | Kind::Call { .. } | Kind::PersId { .. } => return None,
        };
        Some(Packed {
            head: Packed::head(start, n.op, t),
            body: len | (u64::from(x) << 32),
        })
    }

    fn decode(&self, p: &Packed) -> Node {
        let t = p.tag();
        if t == tag::FULL {
            return self
                .full
                .get(p.x() as usize)
                .copied()
                .unwrap_or(Node::PLACEHOLDER);
        }
        let start = p.start();
        let op = p.op();
        let x = p.x();
        let at = start + payload_offset(op);
        let payload = Span {
            start: at,
            end: at + u64::from(x),
        };
        let text = |enc| {
            Kind::Str(TextRef {
                start: at,
                len: x,
                enc,
            })
        };
        let mut state = NO_NODE;
        let kind = match t {
            tag::NONE => Kind::None,
            tag::FALSE => Kind::Bool(false),
            tag::TRUE => Kind::Bool(true),
            tag::INT => Kind::Int { payload },
            tag::FLOAT => Kind::Float { payload },
            tag::STR_UTF8 => text(StrEnc::Utf8),
            tag::STR_RAW => text(StrEnc::RawUnicodeEscape),
            tag::STR_QUOTED => text(StrEnc::Quoted),
            tag::STR_LATIN1 => text(StrEnc::Latin1),
            tag::STR_LINE => text(StrEnc::Line),
            tag::BYTES => Kind::Bytes { payload },
            tag::BYTEARRAY => Kind::ByteArray { payload },
            tag::EXT => Kind::Ext(x),
            tag::BUFFER => Kind::Buffer {
                index: x,
                readonly: false,
            },
            tag::BUFFER_RO => Kind::Buffer {
                index: x,
                readonly: true,
            },
            container => {
                state = self.slots.get(x as usize).map_or(NO_NODE, |s| s.state);
                match container {
                    tag::TUPLE => Kind::Tuple,
                    tag::LIST => Kind::List,
                    tag::DICT => Kind::Dict,
                    tag::SET => Kind::Set,
                    _ => Kind::FrozenSet,
                }
            }
        };
        Node {
            kind,
            op,
            span: Span {
                start,
                end: start + p.len(),
            },
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::graph::*;

    fn node(kind: Kind, op: Op, start: u64, end: u64, state: NodeId) -> Node {
        Node {
            kind,
            op,
            span: Span { start, end },
            state,
        }
    }

    /// Every kind, as the machine makes it (payloads right after their opcode) and not.
    fn every_kind(at: u64) -> Vec<(Kind, Op)> {
        let t = |start, len, enc| TextRef {
            start: at + start,
            len,
            enc,
        };
        let p = |start, end| Span {
            start: at + start,
            end: at + end,
        };
        let int = |a, b| Kind::Int { payload: p(a, b) };
        let bytes = |a, b| Kind::Bytes { payload: p(a, b) };
        vec![
            (Kind::None, Op::NONE),
            (Kind::Bool(false), Op::NEWFALSE),
            (Kind::Bool(true), Op::NEWTRUE),
            (int(1, 2), Op::BININT1),
            (int(5, 6), Op::LONG4),
            (int(2, 3), Op::BININT1),
            (Kind::Float { payload: p(1, 9) }, Op::BINFLOAT),
            (Kind::Str(t(2, 5, StrEnc::Utf8)), Op::SHORT_BINUNICODE),
            (Kind::Str(t(9, 5, StrEnc::Utf8)), Op::BINUNICODE8),
            (Kind::Str(t(1, 3, StrEnc::RawUnicodeEscape)), Op::UNICODE),
            (Kind::Str(t(2, 0, StrEnc::Quoted)), Op::STRING),
            (Kind::Str(t(5, 9, StrEnc::Latin1)), Op::BINSTRING),
            (Kind::Str(t(1, 4, StrEnc::Line)), Op::GLOBAL),
            (bytes(9, 9 + (5 << 32)), Op::BINBYTES8),
            (bytes(100_000, 100_001), Op::BINBYTES),
            (Kind::ByteArray { payload: p(9, 20) }, Op::BYTEARRAY8),
            (Kind::Tuple, Op::TUPLE),
            (Kind::List, Op::EMPTY_LIST),
            (Kind::Dict, Op::EMPTY_DICT),
            (Kind::Set, Op::EMPTY_SET),
            (Kind::FrozenSet, Op::FROZENSET),
            (
                Kind::Global {
                    module: t(1, 3, StrEnc::Line),
                    name: t(5, 2, StrEnc::Line),
                },
                Op::GLOBAL,
            ),
            (
                Kind::Call {
                    how: CallKind::NewObjEx,
                    callable: 1,
                    args: 2,
                    kwargs: 3,
                },
                Op::NEWOBJ_EX,
            ),
            (
                Kind::PersId {
                    pid: NO_NODE,
                    line: Some(p(1, 4)),
                },
                Op::PERSID,
            ),
            (Kind::Ext(65535), Op::EXT2),
            (
                Kind::Buffer {
                    index: 4,
                    readonly: true,
                },
                Op::NEXT_BUFFER,
            ),
            (
                Kind::Buffer {
                    index: 5,
                    readonly: false,
                },
                Op::NEXT_BUFFER,
            ),
        ]
    }

    #[test]
    fn every_kind_round_trips_through_the_packed_form() {
        let mut nodes = Nodes::default();
        let mut want = Vec::new();
        for at in [0, 1000, MAX_OFFSET - (1 << 40)] {
            for (len, state) in [(30, NO_NODE), (7, 3), (6 << 30, NO_NODE)] {
                for (k, op) in every_kind(at) {
                    let n = node(k, op, at, at + len, state);
                    nodes.push(n);
                    want.push(n);
                }
            }
        }
        assert_eq!(nodes.iter().collect::<Vec<_>>(), want);
        assert_eq!(nodes.globals().count(), 9);
        let stated: Vec<(usize, Node)> = want
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, n)| n.state != NO_NODE)
            .collect();
        assert_eq!(stated.len(), 3 * 27);
        assert_eq!(nodes.with_state().collect::<Vec<_>>(), stated);
        // Every container has an edge slot from the start, packed or kept whole.
        for (id, n) in want.iter().enumerate() {
            assert_eq!(
                nodes.slot(id).is_some(),
                is_container_kind(&n.kind),
                "node {id}"
            );
        }
        let slots = nodes.slots.len();
        assert_eq!(slots, 3 * 3 * 5);
        // Only what cannot be packed takes a side entry.
        let fits = |n: &Node| {
            let payload = match n.kind {
                Kind::Int { payload }
                | Kind::Float { payload }
                | Kind::Bytes { payload }
                | Kind::ByteArray { payload } => Some((payload.start, payload.len())),
                Kind::Str(t) => Some((t.start, u64::from(t.len))),
                _ => None,
            };
            let container = matches!(
                n.kind,
                Kind::Tuple | Kind::List | Kind::Dict | Kind::Set | Kind::FrozenSet
            );
            let whole = matches!(
                n.kind,
                Kind::Global { .. } | Kind::Call { .. } | Kind::PersId { .. }
            );
            n.span.len() <= u64::from(u32::MAX)
                && (container
                    || (!whole
                        && n.state == NO_NODE
                        && payload.is_none_or(|(at, len)| {
                            at == n.span.start + payload_offset(n.op) && len <= u64::from(u32::MAX)
                        })))
        };
        let packed = want.iter().filter(|n| fits(n)).count();
        assert_eq!(nodes.full.len(), want.len() - packed);
        // Per offset: 21 plain kinds of the first group, 5 containers of the second.
        assert_eq!(packed, 3 * (21 + 5));
    }

    #[test]
    fn end_state_and_whole_node_updates_keep_the_rest() {
        let mut nodes = Nodes::default();
        for (k, op) in every_kind(50) {
            nodes.push(node(k, op, 50, 60, NO_NODE));
        }
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
            // Past 4 GiB the span still holds.
            nodes.set_end(id, 50 + (5 << 32));
            assert_eq!(nodes.get(id).map(|n| n.span.end), Some(50 + (5 << 32)));
            // A whole-node rewrite (moved span, same kind).
            if let Some(mut n) = nodes.get(id) {
                n.span = Span { start: 40, end: 61 };
                n.state = NO_NODE;
                nodes.set(id, n);
                assert_eq!(nodes.get(id), Some(n));
            }
        }
        assert_eq!(nodes.globals().count(), 1);
        // Rolling back drops the side entries of the nodes dropped, keeps the others.
        let kept: Vec<Node> = nodes.iter().take(19).collect();
        nodes.truncate(19);
        assert_eq!(nodes.iter().collect::<Vec<_>>(), kept);
    }

    #[test]
    fn edge_ranges_survive_rewrites_and_scalars_can_get_some() {
        let mut nodes = Nodes::default();
        for (k, op) in every_kind(10) {
            nodes.push(node(k, op, 10, 40, NO_NODE));
        }
        let before: Vec<Node> = nodes.iter().collect();
        for id in 0..nodes.len() {
            let slot = nodes.slot_for_edges(id);
            if let Some(r) = slot.and_then(|s| nodes.slot_range(s)) {
                *r = EdgeRange {
                    start: id as u32 * 10,
                    len: 3,
                };
            }
        }
        // Giving a node edges changes nothing else about it.
        assert_eq!(nodes.iter().collect::<Vec<_>>(), before);
        for id in 0..nodes.len() {
            nodes.set_state(id, 5);
            nodes.set_end(id, 1 << 40);
            if let Some(mut n) = nodes.get(id) {
                n.span.start = 9;
                nodes.set(id, n);
            }
            let want = EdgeRange {
                start: id as u32 * 10,
                len: 3,
            };
            assert_eq!(nodes.range(id), want, "node {id}");
            assert_eq!(
                nodes.get(id).map(|n| (n.state, n.span)),
                Some((
                    5,
                    Span {
                        start: 9,
                        end: 1 << 40
                    }
                ))
            );
        }
        nodes.truncate(4);
        assert_eq!(nodes.range(3).len, 3);
        assert_eq!(nodes.range(4), EdgeRange::default());
    }
}
