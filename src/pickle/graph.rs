//! The object arena a pickle machine builds: one node per object, edges for contents, memo links.

use super::ops::Op;

pub use super::nodes::{EdgeRange, MAX_OFFSET, Nodes};

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

/// Ascending file offsets in about a byte each: 8-bit gaps, with a sample every
/// [`PosIndex::BLOCK`] offsets to count from (a gap past 8 bits is kept whole aside).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PosIndex {
    /// Per block: its first offset and how many whole gaps come before it.
    samples: Vec<(u64, u32)>,
    gaps: Vec<u8>,
    wide: Vec<u64>,
    last: u64,
    len: u64,
}

impl PosIndex {
    pub const BLOCK: usize = 64;

    /// Appends `pos` (not below the last one appended).
    #[inline(always)]
    pub fn push(&mut self, pos: u64) {
        let gap = pos.saturating_sub(self.last);
        // The common case in one test: inside a block, a gap that fits a byte.
        if gap < u64::from(u8::MAX) && !self.len.is_multiple_of(Self::BLOCK as u64) {
            self.gaps.push(gap as u8);
        } else {
            self.push_rare(pos, gap);
        }
        self.last = pos;
        self.len += 1;
    }

    /// [`PosIndex::push`] of a block's first offset or of a gap too wide for a byte.
    #[inline(never)]
    fn push_rare(&mut self, pos: u64, gap: u64) {
        if self.len.is_multiple_of(Self::BLOCK as u64) {
            self.samples.push((pos, self.wide.len() as u32));
        } else {
            self.gaps.push(u8::MAX);
            self.wide.push(gap);
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Makes room for `n` more offsets (a byte each, the common case), so that a long run
    /// of pushes or an [`PosIndex::append_blocks`] does not move what is held.
    pub fn reserve(&mut self, n: u64) {
        let n = usize::try_from(n).unwrap_or(0);
        self.gaps.reserve(n);
        self.samples.reserve(n / Self::BLOCK + 1);
    }

    /// Appends every offset of `other` (none below this index's last) when this index ends
    /// on a block boundary, moving whole blocks; false (nothing appended) otherwise.
    pub fn append_blocks(&mut self, other: PosIndex) -> bool {
        if other.len == 0 {
            return true;
        }
        if !self.len.is_multiple_of(Self::BLOCK as u64) {
            return false;
        }
        let wide = self.wide.len() as u32;
        self.samples
            .extend(other.samples.iter().map(|&(p, w)| (p, w + wide)));
        self.gaps.extend_from_slice(&other.gaps);
        self.wide.extend_from_slice(&other.wide);
        self.last = other.last;
        self.len += other.len;
        true
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.samples.capacity() * 16 + self.gaps.capacity() + self.wide.capacity() * 8
    }

    /// How many offsets are below `x`.
    pub fn count_below(&self, x: u64) -> usize {
        self.counter().count_below(x)
    }

    /// A [`PosCounter`] over this index.
    pub fn counter(&self) -> PosCounter<'_> {
        PosCounter {
            idx: self,
            at: None,
            last: 0,
        }
    }

    /// Steps over block `at.b`'s gaps from its `at.k`-th offset while the next offset is
    /// below `x`.
    fn scan(&self, mut at: BlockAt, x: u64) -> BlockAt {
        let first = at.b * (Self::BLOCK - 1);
        let end = (first + Self::BLOCK - 1).min(self.gaps.len());
        let mut gaps = self.gaps.get(first + at.k - 1..end).unwrap_or(&[]);
        // Eight narrow gaps at a time while all eight offsets stay below `x`.
        while let Some(eight) = gaps.first_chunk::<8>() {
            let w = u64::from_le_bytes(*eight);
            const ONES: u64 = 0x0101_0101_0101_0101;
            // A byte of 0xFF (a wide gap) makes `!w` hold a zero byte.
            if (!w).wrapping_sub(ONES) & w & (ONES << 7) != 0 {
                break;
            }
            // The eight bytes summed in four 16-bit lanes (at most 4 x 508), then folded.
            const EVEN: u64 = 0x00FF_00FF_00FF_00FF;
            let pairs = (w & EVEN) + ((w >> 8) & EVEN);
            let sum = pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48;
            if at.pos + sum >= x {
                break;
            }
            at.pos += sum;
            at.k += 8;
            gaps = &gaps[8..];
        }
        for &g in gaps {
            let wide = g == u8::MAX;
            let gap = if wide {
                self.wide.get(at.wide as usize).copied().unwrap_or(0)
            } else {
                u64::from(g)
            };
            if at.pos + gap >= x {
                break;
            }
            at.pos += gap;
            at.k += 1;
            at.wide += u32::from(wide);
        }
        at
    }
}

/// Where a count stopped: in block `b`, its `k`-th offset (from 1) `pos`, the next wide gap.
#[derive(Debug, Clone, Copy)]
struct BlockAt {
    b: usize,
    k: usize,
    pos: u64,
    wide: u32,
}

/// [`PosIndex::count_below`] of bounds that mostly ascend (the ends of sorted spans): a
/// bound in the block where the last count stopped goes on from there rather than from the
/// block's start; any other bound is looked up afresh.
#[derive(Debug)]
pub struct PosCounter<'a> {
    idx: &'a PosIndex,
    at: Option<BlockAt>,
    last: u64,
}

impl PosCounter<'_> {
    pub fn count_below(&mut self, x: u64) -> usize {
        let idx = self.idx;
        let resume = self
            .at
            .filter(|a| x >= self.last && idx.samples.get(a.b + 1).is_none_or(|s| s.0 >= x));
        let from = match resume {
            Some(a) => a,
            None => {
                let b = idx.samples.partition_point(|s| s.0 < x);
                let Some(&(pos, wide)) = b.checked_sub(1).and_then(|b| idx.samples.get(b)) else {
                    self.at = None;
                    return 0;
                };
                BlockAt {
                    b: b - 1,
                    k: 1,
                    pos,
                    wide,
                }
            }
        };
        let at = idx.scan(from, x);
        self.at = Some(at);
        self.last = x;
        at.b * PosIndex::BLOCK + at.k
    }
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
    use super::PosIndex;

    fn idx_of(pos: &[u64]) -> PosIndex {
        let mut idx = PosIndex::default();
        pos.iter().for_each(|&p| idx.push(p));
        idx
    }

    /// `n` ascending offsets from `start`, the `k`-th `gap(k)` past the one before.
    fn positions(n: u64, start: u64, mut gap: impl FnMut(u64) -> u64) -> Vec<u64> {
        let mut x = start;
        (0..n)
            .map(|k| {
                x += gap(k);
                x
            })
            .collect()
    }

    #[test]
    fn a_position_index_counts_like_the_positions() {
        let pos = positions(1000, 3, |k| match k % 7 {
            0 => 0,
            1 => 70_000,
            2 => 1 << 40,
            3 => 65_535,
            _ => k % 13,
        });
        let idx = idx_of(&pos);
        assert_eq!(idx.len(), 1000);
        // The same offsets in two indexes, the first ending on a block boundary, appended.
        let cut = 3 * PosIndex::BLOCK;
        let (mut a, mut b) = (PosIndex::default(), PosIndex::default());
        pos[..cut].iter().for_each(|&p| a.push(p));
        pos[cut..].iter().for_each(|&p| b.push(p));
        let mut odd = PosIndex::default();
        odd.push(1);
        assert!(odd.append_blocks(PosIndex::default()));
        assert!(!odd.append_blocks(idx_of(&[2])));
        assert!(a.append_blocks(b));
        assert_eq!(a, idx);
        let probes = pos.iter().flat_map(|&p| [p.saturating_sub(1), p, p + 1]);
        for q in probes.chain([0, u64::MAX]) {
            assert_eq!(idx.count_below(q), pos.partition_point(|&p| p < q), "{q}");
        }
    }

    #[test]
    fn room_made_for_every_store_takes_two_parts_without_moving_them() {
        let pos = positions(5000, 10, |k| 1 + k % 9);
        let cut = 40 * PosIndex::BLOCK;
        let (mut a, mut b) = (PosIndex::default(), PosIndex::default());
        a.reserve(pos.len() as u64);
        b.reserve((pos.len() - cut) as u64);
        let room = a.heap_bytes();
        pos[..cut].iter().for_each(|&p| a.push(p));
        pos[cut..].iter().for_each(|&p| b.push(p));
        assert!(a.append_blocks(b));
        // The first part's room held both; what it holds is the one index's.
        assert_eq!(a.heap_bytes(), room);
        assert_eq!(a, idx_of(&pos));
    }

    #[test]
    fn a_counter_counts_like_the_index_whatever_order_its_bounds_come_in() {
        // Gaps of every width (wide ones too), duplicates, and long runs inside one block.
        let pos = positions(900, 5, |k| match k % 11 {
            0 => 0,
            1 => 300,
            2 => 255,
            3 => 1 << 33,
            _ => k % 5,
        });
        let idx = idx_of(&pos);
        let want = |q: u64| pos.partition_point(|&p| p < q);
        let mut bounds: Vec<u64> = pos
            .iter()
            .flat_map(|&p| [p.saturating_sub(1), p, p + 1])
            .collect();
        bounds.extend([0, 1, u64::MAX]);
        bounds.sort_unstable();
        // Ascending (as span ends come), then with steps back and jumps ahead.
        let mut c = idx.counter();
        for &q in &bounds {
            assert_eq!(c.count_below(q), want(q), "ascending {q}");
        }
        let mut c = idx.counter();
        let mut k = 1u64;
        for _ in 0..3000 {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let q = bounds[(k >> 33) as usize % bounds.len()];
            assert_eq!(c.count_below(q), want(q), "shuffled {q}");
        }
    }

    #[test]
    fn long_runs_of_narrow_gaps_count_like_the_positions() {
        // Runs of narrow gaps (0 to 254: eight of 254 make the largest sum a step takes)
        // longer than eight, a wide gap now and then; every offset probed, and one off.
        let mut k = 7u64;
        let pos = positions(5000, 0, |i| {
            k = k
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match i % 97 {
                96 => 1000,
                n if n % 3 == 0 => 254,
                _ => (k >> 56) % 255,
            }
        });
        let idx = idx_of(&pos);
        let want = |q: u64| pos.partition_point(|&p| p < q);
        let mut c = idx.counter();
        for &p in &pos {
            for q in [p.saturating_sub(1), p, p + 1] {
                assert_eq!(idx.count_below(q), want(q), "{q}");
                assert_eq!(c.count_below(q), want(q), "ascending {q}");
            }
        }
    }

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
                put_pos: idx_of(&pos),
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
