//! The symbolic pickle machine: CPython's stack, marks and memo, building a node arena — never
//! importing or calling anything.

use std::collections::HashMap;

use super::error::{ErrorKind, PickleError};
use super::graph::*;
use super::ops::Op;
use super::progress;
use super::scan::{Instr, read_fast, read_general};

/// What one pickle's run keeps between opcodes: its protocol, whether it memoizes implicitly,
/// and which one-time warnings it has given.
#[derive(Default)]
struct Run {
    protocol: u8,
    saw_proto: bool,
    memoize: bool,
    warned_persid: bool,
    warned_ext: bool,
    warned_buf: bool,
}

/// Something worth telling the user that does not stop the file from loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub offset: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy)]
struct Item {
    node: NodeId,
    start: usize,
    /// True when this stack item is the one that created `node` (not a GET or DUP copy).
    def: bool,
}

#[derive(Default)]
struct Memo {
    dense: Vec<NodeId>,
    sparse: HashMap<u64, NodeId>,
    count: u64,
}

impl Memo {
    fn clear(&mut self) {
        self.dense.clear();
        self.sparse.clear();
        self.count = 0;
    }
    fn get(&self, key: u64) -> Option<NodeId> {
        if let Some(&n) = self.dense.get(key as usize) {
            return (n != NO_NODE).then_some(n);
        }
        self.sparse.get(&key).copied()
    }
    fn put(&mut self, key: u64, node: NodeId) {
        let k = key as usize;
        if k < self.dense.len() {
            if self.dense[k] == NO_NODE {
                self.count += 1;
            }
            self.dense[k] = node;
        } else if k == self.dense.len()
            && (self.sparse.is_empty() || !self.sparse.contains_key(&key))
        {
            self.dense.push(node);
            self.count += 1;
        } else if self.sparse.insert(key, node).is_none() {
            self.count += 1;
        }
    }
}

/// Parses a whole file: one pickle, or several back to back, plus any trailing bytes.
pub fn parse(data: &[u8]) -> Result<(Graph, Vec<Warning>), PickleError> {
    if data.is_empty() {
        return Err(PickleError::new(0, ErrorKind::Empty));
    }
    if data.len() as u64 > MAX_OFFSET {
        return Err(PickleError::new(0, ErrorKind::TooLarge(data.len() as u64)));
    }
    let mut m = Machine::new(data);
    // Size the arena from a sample of the stream (counting all of it first costs a tenth of
    // a parse); if the rest turns out denser, `make_room` counts it and grows once.
    let (ops, puts) = estimate_ops(data);
    m.reserve(ops.min(ARENA_GUESS_CAP), puts.min(ARENA_GUESS_CAP));
    let mut warnings = Vec::new();
    let mut pos = 0;
    // The first pickle must parse; later ones are tried, and kept only if they parse whole.
    pos = m.run_one(pos, &mut warnings)?;
    while pos < data.len() {
        let mark = m.checkpoint();
        let mut w2 = Vec::new();
        match m.run_one(pos, &mut w2) {
            Ok(next) => {
                warnings.append(&mut w2);
                pos = next;
            }
            Err(_) => {
                m.rollback(mark);
                m.graph.trailing = Some(pos as u64);
                warnings.push(Warning {
                    offset: pos as u64,
                    message: format!(
                        "{} bytes after STOP are not a pickle; CPython ignores them and rewrites keep them as they are",
                        data.len() - pos
                    ),
                });
                break;
            }
        }
    }
    progress::report(data.len(), data.len());
    Ok((m.finish(), warnings))
}

struct Checkpoint {
    nodes: usize,
    edges: usize,
    pieces: usize,
    gets: usize,
    puts: usize,
    pickles: usize,
    ops: u64,
}

struct Machine<'a> {
    data: &'a [u8],
    graph: Graph,
    /// Earlier edge batches of nodes whose edges arrived with others' in between:
    /// `(node, start, len)`, gathered by `finish`.
    pieces: Vec<(NodeId, u32, u32)>,
    stack: Vec<Item>,
    marks: Vec<(usize, usize)>,
    memo: Memo,
    scratch: Vec<Item>,
    buffers: u32,
}

pub(crate) fn err(pos: usize, kind: ErrorKind) -> PickleError {
    PickleError::new(pos, kind)
}

impl<'a> Machine<'a> {
    fn new(data: &'a [u8]) -> Self {
        Machine {
            data,
            graph: Graph::default(),
            pieces: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            scratch: Vec::new(),
            buffers: 0,
        }
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            nodes: self.graph.nodes.len(),
            edges: self.graph.edges.len(),
            pieces: self.pieces.len(),
            gets: self.graph.gets.len(),
            puts: self.graph.puts.len(),
            pickles: self.graph.pickles.len(),
            ops: self.graph.op_count,
        }
    }

    fn rollback(&mut self, c: Checkpoint) {
        self.graph.nodes.truncate(c.nodes);
        self.graph.edges.truncate(c.edges);
        self.pieces.truncate(c.pieces);
        self.graph.gets.truncate(c.gets);
        self.graph.puts.truncate(c.puts);
        self.graph.pickles.truncate(c.pickles);
        self.graph.op_count = c.ops;
    }

    /// Gathers the edges of every node whose batches were interleaved with others' at the end,
    /// in stream order.
    fn finish(mut self) -> Graph {
        super::edges::gather(&mut self.graph, &mut self.pieces);
        self.graph
    }

    /// Makes `parent`'s edge range end where the next edge goes, so edges can be appended
    /// to it; returns its slot (`None` for a parent out of range). Fails when the edge
    /// count would overflow the 32-bit ranges.
    fn open_range(
        &mut self,
        parent: NodeId,
        adding: usize,
        at: usize,
    ) -> Result<Option<u32>, PickleError> {
        let end = self.graph.edges.len();
        if end + adding >= u32::MAX as usize {
            return Err(err(at, ErrorKind::TooManyNodes(end as u64)));
        }
        if self.graph.edges.capacity() - end < adding {
            self.make_room(at);
            // Items already on the stack count too.
            let _ = self.graph.edges.try_reserve(adding);
        }
        Ok(super::edges::open(
            &mut self.graph,
            &mut self.pieces,
            parent,
        ))
    }

    /// Appends one edge to the range in `slot` (after `open_range`).
    fn push_edge(&mut self, slot: Option<u32>, e: Edge) {
        super::edges::push(&mut self.graph, slot, e);
    }

    /// One edge to `parent`.
    fn edge(&mut self, parent: NodeId, e: Edge, at: usize) -> Result<(), PickleError> {
        let slot = self.open_range(parent, 1, at)?;
        self.push_edge(slot, e);
        Ok(())
    }

    /// The arena was sized from a sample of the stream and the rest is denser: count what is
    /// left of this pickle from `pos` and grow every arena vector once, to fit all of it.
    #[cold]
    fn make_room(&mut self, pos: usize) {
        let (ops, puts) = count_ops(self.data, pos);
        self.reserve(ops + 1, puts + 1);
    }

    /// Room for `ops` more nodes and edges and `puts` more memo stores, as far as memory
    /// allows (past that, the vectors grow as they fill).
    fn reserve(&mut self, ops: usize, puts: usize) {
        let g = &mut self.graph;
        g.nodes.reserve(ops);
        let _ = g.edges.try_reserve(ops);
        let _ = g.puts.try_reserve(puts);
    }

    fn fence(&self) -> usize {
        self.marks.last().map(|m| m.0).unwrap_or(0)
    }

    #[inline(always)]
    fn new_node(&mut self, kind: Kind, op: Op, start: usize) -> Result<NodeId, PickleError> {
        if self.graph.nodes.room() == 0 {
            self.make_room(start);
        }
        let id = self.graph.nodes.len();
        if id >= (NO_NODE - 2) as usize {
            return Err(err(start, ErrorKind::TooManyNodes(id as u64)));
        }
        self.graph.nodes.push(Node {
            kind,
            op,
            span: Span::new(start, start),
            state: NO_NODE,
        });
        Ok(id as NodeId)
    }

    #[inline(always)]
    fn push_new(&mut self, kind: Kind, i: &Instr, start: usize) -> Result<NodeId, PickleError> {
        let id = self.new_node(kind, i.op, start)?;
        self.push_defined(id, start);
        Ok(id)
    }

    /// Pushes the item that creates `node` (its span starts at `start`).
    #[inline(always)]
    fn push_defined(&mut self, node: NodeId, start: usize) {
        self.stack.push(Item {
            node,
            start,
            def: true,
        });
    }

    /// Ends the span of the node `item` created (a GET or DUP copy leaves it alone).
    fn close(nodes: &mut Nodes, item: Item, end: usize) {
        if item.def {
            nodes.set_end(item.node as usize, end as u64);
        }
    }

    /// Pops one item above the mark fence.
    fn pop(&mut self, i: &Instr) -> Result<Item, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(err(i.pos, ErrorKind::StackUnderflow(i.op.name())));
        }
        let it = self
            .stack
            .pop()
            .ok_or(err(i.pos, ErrorKind::StackUnderflow(i.op.name())))?;
        Self::close(&mut self.graph.nodes, it, i.pos);
        Ok(it)
    }

    /// Pops `n` items above the fence into `scratch`, oldest first, closing their spans.
    fn pop_n(&mut self, i: &Instr, n: usize) -> Result<(), PickleError> {
        let len = self.stack.len();
        if len < self.fence() + n {
            return Err(err(i.pos, ErrorKind::StackUnderflow(i.op.name())));
        }
        self.take_from(len - n, i.pos);
        Ok(())
    }

    /// Pops everything down to the last mark into `scratch`, and the mark; returns the mark's offset.
    fn pop_mark(&mut self, i: &Instr) -> Result<usize, PickleError> {
        let (base, mpos) = self
            .marks
            .pop()
            .ok_or(err(i.pos, ErrorKind::MarkUnderflow(i.op.name())))?;
        self.take_from(base, i.pos);
        Ok(mpos)
    }

    fn take_from(&mut self, from: usize, end: usize) {
        self.scratch.clear();
        let Some(items) = self.stack.get(from..) else {
            return;
        };
        // Each item's span ends where the next one starts (the last at `end`).
        let ends = items.iter().skip(1).map(|it| it.start).chain([end]);
        for (&it, e) in items.iter().zip(ends) {
            Self::close(&mut self.graph.nodes, it, e);
        }
        self.scratch.extend_from_slice(items);
        self.stack.truncate(from);
    }

    /// Edges from scratch items to `parent`, one per item, spans as in the stream.
    fn item_edges(&mut self, i: &Instr, parent: NodeId, end: usize) -> Result<(), PickleError> {
        let n = self.scratch.len();
        let slot = self.open_range(parent, n, i.pos)?;
        for k in 0..n {
            let it = self.scratch[k];
            let e = if k + 1 < n {
                self.scratch[k + 1].start
            } else {
                end
            };
            self.push_edge(
                slot,
                Edge {
                    key: NO_NODE,
                    value: it.node,
                    span: Span::new(it.start, e),
                },
            );
        }
        Ok(())
    }

    /// Edges for key/value pairs in scratch.
    fn pair_edges(&mut self, i: &Instr, parent: NodeId, end: usize) -> Result<(), PickleError> {
        let n = self.scratch.len();
        if !n.is_multiple_of(2) {
            return Err(err(i.pos, ErrorKind::OddItems { op: i.op.name() }));
        }
        let slot = self.open_range(parent, n / 2, i.pos)?;
        let mut k = 0;
        while k < n {
            let key = self.scratch[k];
            let val = self.scratch[k + 1];
            let e = if k + 2 < n {
                self.scratch[k + 2].start
            } else {
                end
            };
            self.push_edge(
                slot,
                Edge {
                    key: key.node,
                    value: val.node,
                    span: Span::new(key.start, e),
                },
            );
            k += 2;
        }
        Ok(())
    }

    fn top(&self, i: &Instr) -> Result<Item, PickleError> {
        if self.stack.len() <= self.fence() {
            return Err(err(i.pos, ErrorKind::StackUnderflow(i.op.name())));
        }
        self.stack
            .last()
            .copied()
            .ok_or(err(i.pos, ErrorKind::StackUnderflow(i.op.name())))
    }

    fn str_of(&self, id: NodeId) -> Option<TextRef> {
        match self.graph.nodes.get(id as usize)?.kind {
            Kind::Str(t) => Some(t),
            _ => None,
        }
    }

    /// Runs one pickle from `pos` through STOP; returns the offset after STOP.
    fn run_one(
        &mut self,
        mut pos: usize,
        warnings: &mut Vec<Warning>,
    ) -> Result<usize, PickleError> {
        self.stack.clear();
        self.marks.clear();
        self.memo.clear();
        self.buffers = 0;
        let start = pos;
        let puts_before = self.graph.puts.len();
        let mut run = Run::default();
        let mut next_report = pos + progress::EVERY;
        loop {
            // Not `read_instr(..)?`: matching the Option keeps the common path free of a large
            // Result moved through the stack (a store-forwarding stall on every opcode).
            let i = match read_fast(self.data, pos) {
                Some(i) => i,
                None => read_general(self.data, pos)?,
            };
            pos = i.end;
            self.graph.op_count += 1;
            if pos >= next_report {
                progress::report(pos, self.data.len());
                next_report = pos + progress::EVERY;
            }
            let p = i.pos;
            match i.op {
                Op::PROTO => {
                    let v = i.arg[0];
                    if v > 5 {
                        return Err(err(p, ErrorKind::UnsupportedProtocol(v)));
                    }
                    run.protocol = v;
                    run.saw_proto = true;
                }
                Op::FRAME => {
                    let n = i.uint();
                    let left = (self.data.len() - i.end) as u64;
                    if n > left {
                        return Err(err(
                            p,
                            ErrorKind::Truncated {
                                op: "FRAME",
                                needed: n,
                                available: left,
                            },
                        ));
                    }
                }
                Op::STOP => {
                    let root = self.pop(&i)?;
                    // Anything left on the stack is ignored by CPython; close its spans.
                    let rest: Vec<Item> = self.stack.drain(..).collect();
                    for it in rest {
                        Self::close(&mut self.graph.nodes, it, p);
                    }
                    if !run.saw_proto {
                        // As pickletools says: the highest protocol among the opcodes.
                        run.protocol = highest_protocol(&self.data[start..i.end]);
                    }
                    self.graph.pickles.push(PickleInfo {
                        span: Span::new(start, i.end),
                        protocol: run.protocol,
                        root: root.node,
                        explicit_memo: !run.memoize
                            && (self.graph.puts.len() - puts_before) as u64 == self.memo.count,
                    });
                    return Ok(i.end);
                }
                Op::NONE
                | Op::NEWTRUE
                | Op::NEWFALSE
                | Op::INT
                | Op::LONG
                | Op::BININT
                | Op::BININT1
                | Op::BININT2
                | Op::LONG1
                | Op::LONG4
                | Op::FLOAT
                | Op::BINFLOAT
                | Op::STRING
                | Op::BINSTRING
                | Op::SHORT_BINSTRING
                | Op::UNICODE
                | Op::SHORT_BINUNICODE
                | Op::BINUNICODE
                | Op::BINUNICODE8
                | Op::BINBYTES
                | Op::SHORT_BINBYTES
                | Op::BINBYTES8
                | Op::BYTEARRAY8 => {
                    let kind = scalar_kind(&i)?;
                    self.push_new(kind, &i, p)?;
                }
                Op::NEXT_BUFFER => self.op_next_buffer(&i, &mut run, warnings)?,
                Op::READONLY_BUFFER => self.op_readonly_buffer(&i)?,
                Op::EMPTY_LIST => {
                    self.push_new(Kind::List, &i, p)?;
                }
                Op::EMPTY_TUPLE => {
                    self.push_new(Kind::Tuple, &i, p)?;
                }
                Op::EMPTY_DICT => {
                    self.push_new(Kind::Dict, &i, p)?;
                }
                Op::EMPTY_SET => {
                    self.push_new(Kind::Set, &i, p)?;
                }
                Op::LIST | Op::TUPLE | Op::FROZENSET => self.op_sequence(&i)?,
                Op::DICT => self.op_dict(&i)?,
                Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 => self.op_small_tuple(&i)?,
                Op::APPEND => self.op_append(&i)?,
                Op::APPENDS | Op::ADDITEMS => {
                    self.pop_mark(&i)?;
                    let t = self.top(&i)?;
                    self.item_edges(&i, t.node, p)?;
                }
                Op::SETITEM => self.op_setitem(&i)?,
                Op::SETITEMS => {
                    self.pop_mark(&i)?;
                    let t = self.top(&i)?;
                    self.pair_edges(&i, t.node, p)?;
                }
                Op::POP => self.op_pop(&i)?,
                Op::DUP => self.op_dup(&i)?,
                Op::MARK => self.marks.push((self.stack.len(), p)),
                Op::POP_MARK => {
                    self.pop_mark(&i)?;
                }
                Op::GET | Op::BINGET | Op::LONG_BINGET => self.op_get(&i)?,
                Op::PUT | Op::BINPUT | Op::LONG_BINPUT | Op::MEMOIZE => {
                    self.op_put(&i, &mut run)?
                }
                Op::EXT1 | Op::EXT2 | Op::EXT4 => self.op_ext(&i, &mut run, warnings)?,
                Op::GLOBAL => {
                    let (module, name) = two_lines(&i)?;
                    self.push_new(Kind::Global { module, name }, &i, p)?;
                }
                Op::STACK_GLOBAL => self.op_stack_global(&i)?,
                Op::REDUCE | Op::NEWOBJ => self.op_reduce_or_newobj(&i)?,
                Op::NEWOBJ_EX => {
                    self.pop_n(&i, 3)?;
                    let (cls, args, kwargs) = (self.scratch[0], self.scratch[1], self.scratch[2]);
                    self.call(&i, CallKind::NewObjEx, cls, args.node, kwargs.node)?;
                }
                Op::BUILD => self.op_build(&i)?,
                Op::INST => self.op_inst(&i)?,
                Op::OBJ => self.op_obj(&i)?,
                Op::PERSID => self.op_persid(&i, &mut run, warnings)?,
                Op::BINPERSID => self.op_binpersid(&i, &mut run, warnings)?,
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Scalars and out-of-band buffers

    /// NEXT_BUFFER: the next out-of-band buffer (warned once: CPython needs `buffers=`).
    #[inline(always)]
    fn op_next_buffer(
        &mut self,
        i: &Instr,
        run: &mut Run,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), PickleError> {
        let p = i.pos;
        let index = self.buffers;
        self.buffers += 1;
        self.push_new(
            Kind::Buffer {
                index,
                readonly: false,
            },
            i,
            p,
        )?;
        if !run.warned_buf {
            run.warned_buf = true;
            warnings.push(Warning {
                offset: p as u64,
                message:
                    "uses out-of-band buffers (NEXT_BUFFER): CPython needs `buffers=` to load it"
                        .into(),
            });
        }
        Ok(())
    }

    /// READONLY_BUFFER: marks the buffer on top read-only.
    #[inline(always)]
    fn op_readonly_buffer(&mut self, i: &Instr) -> Result<(), PickleError> {
        let t = self.top(i)?;
        if let Some(mut n) = self.graph.nodes.get(t.node as usize)
            && let Kind::Buffer { readonly, .. } = &mut n.kind
        {
            *readonly = true;
            self.graph.nodes.set(t.node as usize, n);
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Containers: built from a mark, filled by APPEND(S) and SETITEM(S)

    /// LIST, TUPLE, FROZENSET: one container of the items above the mark.
    #[inline(always)]
    fn op_sequence(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let mpos = self.pop_mark(i)?;
        let kind = match i.op {
            Op::LIST => Kind::List,
            Op::TUPLE => Kind::Tuple,
            _ => Kind::FrozenSet,
        };
        let id = self.new_node(kind, i.op, mpos)?;
        self.item_edges(i, id, p)?;
        self.push_defined(id, mpos);
        Ok(())
    }

    /// DICT: a dict of the key/value pairs above the mark.
    #[inline(always)]
    fn op_dict(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let mpos = self.pop_mark(i)?;
        let id = self.new_node(Kind::Dict, i.op, mpos)?;
        self.pair_edges(i, id, p)?;
        self.push_defined(id, mpos);
        Ok(())
    }

    /// TUPLE1, TUPLE2, TUPLE3: a tuple of the top one to three items.
    #[inline(always)]
    fn op_small_tuple(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let n = match i.op {
            Op::TUPLE1 => 1,
            Op::TUPLE2 => 2,
            _ => 3,
        };
        self.pop_n(i, n)?;
        let start = self.scratch[0].start;
        let id = self.new_node(Kind::Tuple, i.op, start)?;
        self.item_edges(i, id, p)?;
        self.push_defined(id, start);
        Ok(())
    }

    /// APPEND: the top item into the list below it.
    #[inline(always)]
    fn op_append(&mut self, i: &Instr) -> Result<(), PickleError> {
        let v = self.pop(i)?;
        let t = self.top(i)?;
        self.edge(
            t.node,
            Edge {
                key: NO_NODE,
                value: v.node,
                span: Span::new(v.start, i.end),
            },
            i.pos,
        )?;
        Ok(())
    }

    /// SETITEM: the top key and value into the dict below them.
    #[inline(always)]
    fn op_setitem(&mut self, i: &Instr) -> Result<(), PickleError> {
        self.pop_n(i, 2)?;
        let (k, v) = (self.scratch[0], self.scratch[1]);
        let t = self.top(i)?;
        self.edge(
            t.node,
            Edge {
                key: k.node,
                value: v.node,
                span: Span::new(k.start, i.end),
            },
            i.pos,
        )?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // The stack and its marks

    /// POP: the top item, or the mark when the mark is on top.
    #[inline(always)]
    fn op_pop(&mut self, i: &Instr) -> Result<(), PickleError> {
        let at_mark = self.marks.last().is_some_and(|m| m.0 == self.stack.len());
        if at_mark {
            self.marks.pop();
        } else {
            self.pop(i)?;
        }
        Ok(())
    }

    /// DUP: the top item again (a second reference, not a new node).
    #[inline(always)]
    fn op_dup(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let t = self.top(i)?;
        self.stack.push(Item {
            node: t.node,
            start: p,
            def: false,
        });
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // The memo

    /// GET, BINGET, LONG_BINGET: a memo entry onto the stack (recorded as a memo read).
    #[inline(always)]
    fn op_get(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let key = memo_key(i)?;
        let node = self.memo.get(key).ok_or(err(
            p,
            ErrorKind::BadMemo {
                op: i.op.name(),
                key,
            },
        ))?;
        self.graph.gets.push(MemoSite {
            pos: p as u64,
            node,
        });
        self.stack.push(Item {
            node,
            start: p,
            def: false,
        });
        Ok(())
    }

    /// PUT, BINPUT, LONG_BINPUT, MEMOIZE: the top item into the memo (recorded as a memo write).
    #[inline(always)]
    fn op_put(&mut self, i: &Instr, run: &mut Run) -> Result<(), PickleError> {
        let p = i.pos;
        let key = if i.op == Op::MEMOIZE {
            run.memoize = true;
            self.memo.count
        } else {
            memo_key(i)?
        };
        let t = self.top(i)?;
        self.memo.put(key, t.node);
        if self.graph.puts.capacity() == self.graph.puts.len() {
            self.make_room(p);
        }
        self.graph.puts.push(MemoSite {
            pos: p as u64,
            node: t.node,
        });
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Globals, calls and BUILD

    /// EXT1, EXT2, EXT4: a global by extension code (warned once: needs copyreg).
    #[inline(always)]
    fn op_ext(
        &mut self,
        i: &Instr,
        run: &mut Run,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), PickleError> {
        let p = i.pos;
        // EXT4 is signed (CPython refuses codes <= 0).
        let v = i.uint() as i64;
        if v <= 0 || v > i32::MAX as i64 {
            return Err(bad(i, "extension code out of range"));
        }
        let code = v as u32;
        self.push_new(Kind::Ext(code), i, p)?;
        if !run.warned_ext {
            run.warned_ext = true;
            warnings.push(Warning {
                    offset: p as u64,
                    message: "uses extension codes (EXT1/2/4): CPython needs them registered with copyreg to load it".into(),
                });
        }
        Ok(())
    }

    /// STACK_GLOBAL: a global named by the two strings on top.
    #[inline(always)]
    fn op_stack_global(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        self.pop_n(i, 2)?;
        let (module, name) = (self.scratch[0], self.scratch[1]);
        let (Some(m), Some(n)) = (self.str_of(module.node), self.str_of(name.node)) else {
            return Err(err(
                p,
                ErrorKind::Type {
                    op: "STACK_GLOBAL",
                    why: "module and name must be str",
                },
            ));
        };
        let id = self.new_node(Kind::Global { module: m, name: n }, i.op, module.start)?;
        self.push_defined(id, module.start);
        Ok(())
    }

    /// REDUCE, NEWOBJ: a call of the callable below with the argument tuple on top.
    #[inline(always)]
    fn op_reduce_or_newobj(&mut self, i: &Instr) -> Result<(), PickleError> {
        self.pop_n(i, 2)?;
        let (f, args) = (self.scratch[0], self.scratch[1]);
        let how = if i.op == Op::REDUCE {
            CallKind::Reduce
        } else {
            CallKind::NewObj
        };
        self.call(i, how, f, args.node, NO_NODE)?;
        Ok(())
    }

    /// BUILD: the state on top, set on the object below it.
    #[inline(always)]
    fn op_build(&mut self, i: &Instr) -> Result<(), PickleError> {
        let st = self.pop(i)?;
        let t = self.top(i)?;
        self.graph.nodes.set_state(t.node as usize, st.node);
        self.edge(
            t.node,
            Edge {
                key: STATE_KEY,
                value: st.node,
                span: Span::new(st.start, i.end),
            },
            i.pos,
        )?;
        Ok(())
    }

    /// INST: protocol 0 instance of a named class with the arguments above the mark.
    #[inline(always)]
    fn op_inst(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let (module, name) = two_lines(i)?;
        let mpos = self.pop_mark(i)?;
        let cls = self.new_node(Kind::Global { module, name }, i.op, p)?;
        if let Some(mut n) = self.graph.nodes.get(cls as usize) {
            n.span = Span::new(p, i.end);
            self.graph.nodes.set(cls as usize, n);
        }
        let args = self.new_node(Kind::Tuple, i.op, mpos)?;
        self.item_edges(i, args, p)?;
        self.graph.nodes.set_end(args as usize, p as u64);
        let f = Item {
            node: cls,
            start: mpos,
            def: false,
        };
        self.call(i, CallKind::Inst, f, args, NO_NODE)?;
        Ok(())
    }

    /// OBJ: protocol 1 instance of the class right above the mark with the arguments after it.
    #[inline(always)]
    fn op_obj(&mut self, i: &Instr) -> Result<(), PickleError> {
        let p = i.pos;
        let mpos = self.pop_mark(i)?;
        if self.scratch.is_empty() {
            return Err(err(p, ErrorKind::StackUnderflow("OBJ")));
        }
        let cls = self.scratch.remove(0);
        let astart = self.scratch.first().map(|s| s.start).unwrap_or(p);
        let args = self.new_node(Kind::Tuple, i.op, astart)?;
        self.item_edges(i, args, p)?;
        self.graph.nodes.set_end(args as usize, p as u64);
        let f = Item {
            node: cls.node,
            start: mpos,
            def: false,
        };
        self.call(i, CallKind::Obj, f, args, NO_NODE)?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Persistent ids

    /// PERSID: a protocol 0 persistent id (an ASCII line; warned once).
    #[inline(always)]
    fn op_persid(
        &mut self,
        i: &Instr,
        run: &mut Run,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), PickleError> {
        let p = i.pos;
        if !i.arg.is_ascii() {
            return Err(bad(i, "persistent IDs in protocol 0 must be ASCII strings"));
        }
        self.push_new(
            Kind::PersId {
                pid: NO_NODE,
                line: Some(arg_span(i)),
            },
            i,
            p,
        )?;
        if !run.warned_persid {
            run.warned_persid = true;
            warnings.push(persid_warning(p));
        }
        Ok(())
    }

    /// BINPERSID: a persistent id taken from the stack (warned once).
    #[inline(always)]
    fn op_binpersid(
        &mut self,
        i: &Instr,
        run: &mut Run,
        warnings: &mut Vec<Warning>,
    ) -> Result<(), PickleError> {
        let p = i.pos;
        let pid = self.pop(i)?;
        let id = self.new_node(
            Kind::PersId {
                pid: pid.node,
                line: None,
            },
            i.op,
            pid.start,
        )?;
        self.push_defined(id, pid.start);
        if !run.warned_persid {
            run.warned_persid = true;
            warnings.push(persid_warning(p));
        }
        Ok(())
    }

    fn call(
        &mut self,
        i: &Instr,
        how: CallKind,
        f: Item,
        args: NodeId,
        kwargs: NodeId,
    ) -> Result<(), PickleError> {
        let id = self.new_node(
            Kind::Call {
                how,
                callable: f.node,
                args,
                kwargs,
            },
            i.op,
            f.start,
        )?;
        self.push_defined(id, f.start);
        Ok(())
    }
}

/// The object a scalar opcode pushes (None, bools, ints, floats, strings, bytes), checked as
/// CPython checks it; any other opcode is `None` as a [`Kind`] (callers pass scalars only).
#[inline(always)]
pub(crate) fn scalar_kind(i: &Instr) -> Result<Kind, PickleError> {
    Ok(match i.op {
        Op::NEWTRUE => Kind::Bool(true),
        Op::NEWFALSE => Kind::Bool(false),
        Op::INT => match i.arg {
            b"00" => Kind::Bool(false),
            b"01" => Kind::Bool(true),
            t if valid_int_text(t, false) => Kind::Int {
                payload: arg_span(i),
            },
            _ => return Err(bad(i, "not an integer")),
        },
        Op::LONG => {
            if !valid_int_text(i.arg, true) {
                return Err(bad(i, "not an integer"));
            }
            Kind::Int {
                payload: arg_span(i),
            }
        }
        Op::BININT | Op::BININT1 | Op::BININT2 | Op::LONG1 | Op::LONG4 => Kind::Int {
            payload: arg_span(i),
        },
        Op::FLOAT => {
            if !valid_float_text(i.arg) {
                return Err(bad(i, "not a float"));
            }
            Kind::Float {
                payload: arg_span(i),
            }
        }
        Op::BINFLOAT => Kind::Float {
            payload: arg_span(i),
        },
        Op::STRING => {
            let a = i.arg;
            let quoted = a.len() >= 2 && (a[0] == b'\'' || a[0] == b'"') && a[a.len() - 1] == a[0];
            if !quoted {
                return Err(bad(i, "the STRING opcode argument must be quoted"));
            }
            Kind::Str(TextRef {
                start: i.arg_pos() as u64 + 1,
                len: (a.len() - 2) as u32,
                enc: StrEnc::Quoted,
            })
        }
        Op::BINSTRING | Op::SHORT_BINSTRING => Kind::Str(text(i, StrEnc::Latin1)?),
        Op::UNICODE => {
            if !valid_raw_unicode_escape(i.arg) {
                return Err(bad(i, "invalid \\uXXXX escape (raw-unicode-escape)"));
            }
            Kind::Str(text(i, StrEnc::RawUnicodeEscape)?)
        }
        Op::SHORT_BINUNICODE | Op::BINUNICODE | Op::BINUNICODE8 => {
            if !valid_utf8_surrogatepass(i.arg) {
                return Err(err(i.pos, ErrorKind::InvalidUtf8 { op: i.op.name() }));
            }
            Kind::Str(text(i, StrEnc::Utf8)?)
        }
        Op::BINBYTES | Op::SHORT_BINBYTES | Op::BINBYTES8 => Kind::Bytes {
            payload: arg_span(i),
        },
        Op::BYTEARRAY8 => Kind::ByteArray {
            payload: arg_span(i),
        },
        _ => Kind::None,
    })
}

/// The highest protocol that introduced an opcode of `pickle` (a whole pickle, already parsed).
pub(crate) fn highest_protocol(pickle: &[u8]) -> u8 {
    super::scan::Scanner::new(pickle, 0)
        .map_while(Result::ok)
        .map(|i| i.op.protocol())
        .max()
        .unwrap_or(0)
}

fn persid_warning(p: usize) -> Warning {
    Warning {
        offset: p as u64,
        message:
            "uses persistent ids (PERSID/BINPERSID): CPython needs a persistent_load to load it"
                .into(),
    }
}

pub(crate) fn bad(i: &Instr, why: &'static str) -> PickleError {
    err(
        i.pos,
        ErrorKind::BadArgument {
            op: i.op.name(),
            why,
        },
    )
}

fn arg_span(i: &Instr) -> Span {
    let s = i.arg_pos();
    Span::new(s, s + i.arg.len())
}

fn text(i: &Instr, enc: StrEnc) -> Result<TextRef, PickleError> {
    let len = u32::try_from(i.arg.len()).map_err(|_| bad(i, "string longer than 4 GiB"))?;
    Ok(TextRef {
        start: i.arg_pos() as u64,
        len,
        enc,
    })
}

pub(crate) fn two_lines(i: &Instr) -> Result<(TextRef, TextRef), PickleError> {
    // CPython decodes module and name as strict UTF-8 before looking anything up.
    if std::str::from_utf8(i.arg).is_err() {
        return Err(err(i.pos, ErrorKind::InvalidUtf8 { op: i.op.name() }));
    }
    let nl = i
        .arg
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| bad(i, "missing name line"))?;
    let s = i.arg_pos() as u64;
    Ok((
        TextRef {
            start: s,
            len: nl as u32,
            enc: StrEnc::Line,
        },
        TextRef {
            start: s + nl as u64 + 1,
            len: (i.arg.len() - nl - 1) as u32,
            enc: StrEnc::Line,
        },
    ))
}

/// The memo key a PUT/BINPUT/LONG_BINPUT/GET/BINGET/LONG_BINGET names.
pub(crate) fn memo_key(i: &Instr) -> Result<u64, PickleError> {
    match i.op {
        Op::GET | Op::PUT => {
            let t = std::str::from_utf8(i.arg).map_err(|_| bad(i, "memo key is not a number"))?;
            let v: i64 = t
                .trim()
                .parse()
                .map_err(|_| bad(i, "memo key is not a number"))?;
            if v < 0 {
                return Err(bad(i, "negative memo key"));
            }
            Ok(v as u64)
        }
        _ => Ok(i.uint()),
    }
}

fn valid_int_text(t: &[u8], long: bool) -> bool {
    let mut t = t.trim_ascii();
    if long && t.last() == Some(&b'L') {
        t = &t[..t.len() - 1];
    }
    if let Some((b'+' | b'-', rest)) = t.split_first() {
        t = rest;
    }
    !t.is_empty()
        && t[0].is_ascii_digit()
        && t.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

fn valid_float_text(t: &[u8]) -> bool {
    let t = t.trim_ascii();
    !t.is_empty()
        && t.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.' | b'_'))
}

/// True when CPython's `raw-unicode-escape` codec accepts `b` (the UNICODE opcode): a `\u` or
/// `\U` after an odd run of backslashes must be followed by 4 or 8 hex digits naming a code
/// point up to U+10FFFF. Every other byte stands for itself (latin-1).
pub fn valid_raw_unicode_escape(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let run = b[i..].iter().take_while(|&&c| c == b'\\').count();
        i += run;
        if run.is_multiple_of(2) {
            continue;
        }
        let n = match b.get(i) {
            Some(b'u') => 4,
            Some(b'U') => 8,
            _ => continue,
        };
        let Some(hex) = b.get(i + 1..i + 1 + n) else {
            return false;
        };
        let v = std::str::from_utf8(hex)
            .ok()
            .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match v {
            Some(v) if v <= 0x10FFFF => i += 1 + n,
            _ => return false,
        }
    }
    true
}

/// UTF-8 as CPython decodes it with `surrogatepass`: lone surrogates (ED A0..BF xx) are allowed.
#[inline]
pub fn valid_utf8_surrogatepass(b: &[u8]) -> bool {
    // Most strings in a pickle are short ASCII names and keys: no decoder needed.
    b.is_ascii() || valid_utf8_beyond_ascii(b)
}

/// [`valid_utf8_surrogatepass`] of text that is not all ASCII.
#[inline(never)]
fn valid_utf8_beyond_ascii(mut b: &[u8]) -> bool {
    loop {
        match std::str::from_utf8(b) {
            Ok(_) => return true,
            Err(e) => {
                let at = e.valid_up_to();
                let r = &b[at..];
                let is_surrogate = r.len() >= 3
                    && r[0] == 0xED
                    && (0xA0..=0xBF).contains(&r[1])
                    && (0x80..=0xBF).contains(&r[2]);
                if !is_surrogate {
                    return false;
                }
                b = &r[3..];
            }
        }
    }
}

/// Opcodes and memo stores walked from an offset, and where the walk stopped.
struct Walk {
    ops: usize,
    puts: usize,
    /// Offset after the last opcode walked.
    end: usize,
    /// The walk reached the pickle's STOP, an undecodable byte or the end of the data (not
    /// its opcode limit).
    whole: bool,
}

/// Walks at most `limit` opcodes from `pos`, through the pickle's STOP at the latest.
fn walk_ops(data: &[u8], mut pos: usize, limit: usize) -> Walk {
    let (mut ops, mut puts) = (0usize, 0usize);
    while let Some(i) = read_fast(data, pos).or_else(|| read_general(data, pos).ok()) {
        ops += 1;
        puts += usize::from(i.op.is_memo_put());
        pos = i.end;
        if i.op == Op::STOP {
            break;
        }
        if ops == limit {
            return Walk {
                ops,
                puts,
                end: pos,
                whole: false,
            };
        }
    }
    Walk {
        ops,
        puts,
        end: pos,
        whole: true,
    }
}

/// Counts the opcodes and memo stores from `pos` through the pickle's STOP (or the first
/// error).
fn count_ops(data: &[u8], pos: usize) -> (usize, usize) {
    let w = walk_ops(data, pos, usize::MAX);
    (w.ops, w.puts)
}

/// The most nodes reserved from an estimate (the rest is counted exactly if it comes).
const ARENA_GUESS_CAP: usize = 1 << 24;

/// Opcodes walked to estimate a file's density (a pickle this short is counted exactly).
const SAMPLE_OPS: usize = 1 << 16;

/// The opcodes and memo stores of the first pickle: counted when it ends within the sample,
/// else extrapolated from the sample's density to the rest of the file, with a margin.
fn estimate_ops(data: &[u8]) -> (usize, usize) {
    let w = walk_ops(data, 0, SAMPLE_OPS);
    if w.whole {
        return (w.ops, w.puts);
    }
    let scale = |n: usize| (n as f64 * data.len() as f64 / w.end as f64 * 1.125) as usize;
    (scale(w.ops), scale(w.puts))
}
