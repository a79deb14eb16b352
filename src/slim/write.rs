//! The rewriter: splices the original stream minus cut spans, re-emits definitions that
//! surviving code still needs (with memo keys chosen by [`super::memo`]), and re-frames like
//! CPython. One code path
//! serves counting (dry-run) and writing, so the predicted size is the written size.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Write;

use super::memo::{Hoist, PickleMemo, hoistable, key_cost, sites, top_cuts};
use crate::model::FileBytes;
use crate::pickle::frame::{FRAME_TARGET, frame_header};
use crate::pickle::machine::memo_key;
use crate::pickle::scan::read_instr;
use crate::pickle::{Graph, NO_NODE, NodeId, Op, PickleError, PickleInfo, Span};

/// Where output bytes go.
pub trait Sink {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()>;
    /// Puts the file's bytes over `range` (read from the file where they are not in memory).
    fn put_range(
        &mut self,
        src: FileBytes<'_>,
        range: std::ops::Range<usize>,
    ) -> std::io::Result<()> {
        src.copy_range(range, &mut |b| self.put(b))
    }
}

/// Counts bytes without storing them (dry-run).
#[derive(Debug, Default)]
pub struct Counter(pub u64);

impl Sink for Counter {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.0 += b.len() as u64;
        Ok(())
    }
    /// Counts without reading anything.
    fn put_range(
        &mut self,
        src: FileBytes<'_>,
        range: std::ops::Range<usize>,
    ) -> std::io::Result<()> {
        let end = range.end.min(src.data().len());
        self.0 += end.saturating_sub(range.start) as u64;
        Ok(())
    }
}

/// Writes to any `io::Write`, counting as it goes.
pub struct WriteSink<W: Write> {
    pub inner: W,
    pub written: u64,
}

impl<W: Write> Sink for WriteSink<W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(b);
        Ok(())
    }
}

/// Why a rewrite failed.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Pickle(#[from] PickleError),
    #[error("cannot rewrite: {what} at byte {offset}")]
    Unsupported { offset: u64, what: &'static str },
}

struct Framer<'s> {
    sink: &'s mut dyn Sink,
    frame: Vec<u8>,
    framing: bool,
}

impl Framer<'_> {
    fn small(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.framing {
            self.frame.extend_from_slice(b);
            Ok(())
        } else {
            self.sink.put(b)
        }
    }
    fn large(
        &mut self,
        header: &[u8],
        src: FileBytes<'_>,
        payload: std::ops::Range<usize>,
    ) -> std::io::Result<()> {
        self.commit(true)?;
        self.sink.put(header)?;
        self.sink.put_range(src, payload)
    }
    /// An instruction that may hold a payload left in the file ([`FileBytes`]).
    fn small_range(
        &mut self,
        src: FileBytes<'_>,
        range: std::ops::Range<usize>,
    ) -> std::io::Result<()> {
        if src.is_whole() {
            return self.small(&src.data()[range]);
        }
        if self.framing {
            let frame = &mut self.frame;
            src.copy_range(range, &mut |b| {
                frame.extend_from_slice(b);
                Ok(())
            })
        } else {
            self.sink.put_range(src, range)
        }
    }
    fn boundary(&mut self) -> std::io::Result<()> {
        self.commit(false)
    }
    fn commit(&mut self, force: bool) -> std::io::Result<()> {
        if !self.framing || self.frame.is_empty() {
            return Ok(());
        }
        if self.frame.len() >= FRAME_TARGET || force {
            if let Some(h) = frame_header(self.frame.len()) {
                self.sink.put(&h)?;
            }
            self.sink.put(&self.frame)?;
            self.frame.clear();
        }
        Ok(())
    }
}

/// Writes `data` minus `cuts` (non-empty spans that each cover whole instructions, sorted by
/// start with the outer one first where they nest, as [`super::plan::cut_list`] makes them) to
/// `sink`. With no cuts the output is the input, byte for byte. Returns the bytes written.
/// `data` is held whole in memory; a document read from a file is rewritten with
/// [`rewrite_file`].
pub fn rewrite(
    data: &[u8],
    g: &Graph,
    cuts: &[Span],
    sink: &mut dyn Sink,
) -> Result<u64, RewriteError> {
    rewrite_file(FileBytes::memory(data), g, cuts, sink)
}

/// [`rewrite`] of a document's bytes ([`crate::model::Doc::bytes`]): payloads the parser
/// left in the file are read from it as they are copied out.
pub fn rewrite_file(
    src: FileBytes<'_>,
    g: &Graph,
    cuts: &[Span],
    sink: &mut dyn Sink,
) -> Result<u64, RewriteError> {
    let data = src.data();
    let mut count = Counting { inner: sink, n: 0 };
    if cuts.is_empty() {
        count.put_range(src, 0..data.len())?;
        return Ok(count.n);
    }
    let mut end_of_pickles = 0u64;
    for p in &g.pickles {
        let memo = PickleMemo::new(data, g, p, cuts)?;
        let hoist = choose_hoist(data, g, cuts, p, &memo)?;
        write_pickle(src, g, cuts, p, memo, &hoist, &mut count)?;
        end_of_pickles = p.span.end;
    }
    // Trailing bytes after the last pickle stay as they are.
    count.put_range(src, end_of_pickles as usize..data.len())?;
    Ok(count.n)
}

/// Writes pickle `p` minus `cuts`, hoisting the definitions in `hoist` (see
/// [`super::memo::hoistable`]) to their cuts.
fn write_pickle(
    src: FileBytes<'_>,
    g: &Graph,
    cuts: &[Span],
    p: &PickleInfo,
    memo: PickleMemo,
    hoist: &[Hoist],
    sink: &mut dyn Sink,
) -> Result<(), RewriteError> {
    let mut w = Writer {
        data: src.data(),
        src,
        g,
        cuts,
        memo,
        hoist,
        out_key: HashMap::new(),
        emitted: BTreeSet::new(),
        next_key: 0,
        protocol: p.protocol,
        text_memo: false,
        f: Framer {
            sink,
            frame: Vec::with_capacity(FRAME_TARGET + 1024),
            framing: false,
        },
    };
    w.pickle(p.span)
}

/// Which definitions to hoist when pickle `p` is rewritten: where keys follow the output
/// (MEMOIZE), a definition re-emitted at its first surviving fetch takes the next key, past
/// 256 a long one that makes every later fetch 3 bytes longer; hoisted to its cut it keeps
/// the low key it was stored under for a POP, and its first fetch stays (re-emission replaces
/// it). So only a definition fetched more than once may gain, when its key there would be
/// longer than where it was stored, by enough later fetches. When some may, the exact sizes
/// of re-emitting everything, of hoisting those, and of hoisting every definition a cut holds
/// that is fetched after it are counted, and the smallest wins (re-emitting on a tie).
/// Explicit keys are kept as they are: nothing to hoist.
fn choose_hoist(
    data: &[u8],
    g: &Graph,
    cuts: &[Span],
    p: &PickleInfo,
    memo: &PickleMemo,
) -> Result<Vec<Hoist>, RewriteError> {
    if memo.keep {
        return Ok(Vec::new());
    }
    let text = text_memo(data, g, p.span);
    let stores = sites(&g.puts, p.span);
    if key_cost(stores.len() as u64, text) == key_cost(0, text) {
        return Ok(Vec::new());
    }
    let all = hoistable(g, p, cuts);
    if !all.iter().any(|h| h.fetches > 1) {
        return Ok(Vec::new());
    }
    // Keys as stored: a store's place among the pickle's stores (MEMOIZE numbers them in
    // order). Re-emitted at `pos`, about the stores before it less those cut before it.
    let top = top_cuts(p, cuts);
    let mut cut_before = Vec::with_capacity(top.len() + 1);
    cut_before.push(0usize);
    for c in &top {
        let n = cut_before.last().copied().unwrap_or(0) + sites(stores, *c).len();
        cut_before.push(n);
    }
    let reemitted_at = |pos: u64| -> u64 {
        let before = stores.partition_point(|s| s.pos < pos);
        let k = top.partition_point(|c| c.end <= pos);
        before.saturating_sub(cut_before[k]) as u64
    };
    let stored_as = |n: NodeId| -> Option<u64> {
        let d = g.get(n)?.span;
        let a = stores.partition_point(|s| s.pos < d.start);
        let b = stores.partition_point(|s| s.pos < d.end);
        stores[a..b]
            .iter()
            .position(|s| s.node == n)
            .map(|i| (a + i) as u64)
    };
    // A hoisted definition pays a POP (less in a group: MARK ... POP_MARK) and keeps its
    // first fetch, for shorter later fetches; a tie is counted too.
    let some: Vec<Hoist> = all
        .iter()
        .copied()
        .filter(|h| {
            h.fetches > 1
                && stored_as(h.node).is_some_and(|b| {
                    let (a, b) = (
                        key_cost(reemitted_at(h.first_fetch), text),
                        key_cost(b, text),
                    );
                    (h.fetches - 1) * a.saturating_sub(b) > b
                })
        })
        .collect();
    if some.is_empty() {
        return Ok(some);
    }
    let src = FileBytes::memory(data);
    let count = |hoist: &[Hoist]| -> Result<u64, RewriteError> {
        let mut c = Counter::default();
        write_pickle(src, g, cuts, p, memo.clone(), hoist, &mut c)?;
        Ok(c.0)
    };
    // Hoisting everything as well: definitions fetched once may hold others fetched often.
    let mut best = (count(&[])?, Vec::new());
    for choice in [some, all] {
        let n = count(&choice)?;
        if n < best.0 {
            best = (n, choice);
        }
    }
    Ok(best.1)
}

struct Counting<'s> {
    inner: &'s mut dyn Sink,
    n: u64,
}

impl Sink for Counting<'_> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.n += b.len() as u64;
        self.inner.put(b)
    }
    fn put_range(
        &mut self,
        src: FileBytes<'_>,
        range: std::ops::Range<usize>,
    ) -> std::io::Result<()> {
        let end = range.end.min(src.data().len());
        self.n += end.saturating_sub(range.start) as u64;
        self.inner.put_range(src, range)
    }
}

struct Writer<'a, 's> {
    data: &'a [u8],
    src: FileBytes<'a>,
    g: &'a Graph,
    cuts: &'a [Span],
    memo: PickleMemo,
    /// Definitions written at their cut (then popped), by cut start: see [`choose_hoist`].
    hoist: &'a [Hoist],
    out_key: HashMap<NodeId, u64>,
    /// The definition spans `(start, end, node)` of every node in `out_key`, so the outermost
    /// one starting at an offset is found in O(log n) (a linear scan made chains of nodes
    /// sharing a start quadratic).
    emitted: BTreeSet<(u64, u64, Reverse<NodeId>)>,
    next_key: u64,
    protocol: u8,
    /// The pickle stores with text PUT (protocol 0), so GETs are written as text too.
    text_memo: bool,
    f: Framer<'s>,
}

/// True when the pickle over `span` stores with text PUT (protocol 0). Protocol 1 has no PROTO
/// opcode, so the protocol number alone cannot tell text memo opcodes from binary ones: this
/// follows the pickle's first memo store.
fn text_memo(data: &[u8], g: &Graph, span: Span) -> bool {
    let first_put = g.puts.partition_point(|s| s.pos < span.start);
    g.puts
        .get(first_put)
        .filter(|s| s.pos < span.end)
        .is_some_and(|s| data.get(s.pos as usize) == Some(&(Op::PUT as u8)))
}

/// A region of the input being emitted: `[pos, end)`, re-emitting `node` (or the main stream).
struct Region {
    pos: u64,
    end: u64,
    node: NodeId,
    /// A hoisted definition: the opcode written after it (POP, or POP_MARK after the last of
    /// a group opened with MARK).
    then: Option<Op>,
}

impl Writer<'_, '_> {
    fn site(sites: &[crate::pickle::MemoSite], pos: u64) -> Option<NodeId> {
        let i = sites.partition_point(|s| s.pos < pos);
        sites.get(i).filter(|s| s.pos == pos).map(|s| s.node)
    }

    /// The end of the outermost cut that starts at `pos` and fits in the region. Cuts may nest:
    /// the main stream skips the outer one, a re-emitted definition from inside it meets the
    /// inner ones.
    fn cut_at(&self, pos: u64, region_end: u64) -> Option<u64> {
        let i = self.cuts.partition_point(|c| c.start < pos);
        self.cuts[i..]
            .iter()
            .take_while(|c| c.start == pos)
            .find(|c| c.end <= region_end)
            .map(|c| c.end)
    }

    /// The outermost already-emitted memoized node whose definition starts at `pos` and fits in
    /// the region (and is not the node being re-emitted).
    fn emitted_def_at(&self, pos: u64, region: &Region) -> Option<(NodeId, u64, u64)> {
        // Largest end first; among equal spans the smallest node id.
        let lo = (pos, 0, Reverse(NodeId::MAX));
        let hi = (pos, region.end, Reverse(0));
        self.emitted
            .range(lo..=hi)
            .rev()
            .find(|(_, _, Reverse(n))| *n != region.node)
            .and_then(|&(_, e, Reverse(n))| self.out_key.get(&n).map(|&k| (n, k, e)))
    }

    /// Records that `n` is stored under output memo key `k`.
    fn stored(&mut self, n: NodeId, k: u64) {
        if self.out_key.insert(n, k).is_none()
            && let Some(node) = self.g.get(n)
        {
            self.emitted
                .insert((node.span.start, node.span.end, Reverse(n)));
        }
    }

    fn pickle(&mut self, span: Span) -> Result<(), RewriteError> {
        self.text_memo = text_memo(self.data, self.g, span);
        let mut stack = vec![Region {
            pos: span.start,
            end: span.end,
            node: NO_NODE,
            then: None,
        }];
        // Nodes whose definitions are being re-emitted (a set: chains of them can be deep).
        let mut emitting: HashSet<NodeId> = HashSet::new();
        'regions: while let Some(mut r) = stack.pop() {
            while r.pos < r.end {
                let pos = r.pos;
                if let Some(e) = self.cut_at(pos, r.end) {
                    r.pos = e;
                    if r.node == NO_NODE {
                        // Definitions hoisted to this cut, then the rest of the stream.
                        let a = self.hoist.partition_point(|h| h.cut < pos);
                        let b = self.hoist.partition_point(|h| h.cut <= pos);
                        let defs: Vec<(NodeId, Span)> = self.hoist[a..b]
                            .iter()
                            .filter(|h| !self.out_key.contains_key(&h.node))
                            .filter_map(|h| self.g.get(h.node).map(|d| (h.node, d.span)))
                            .collect();
                        if !defs.is_empty() {
                            // One POP each, or MARK ... POP_MARK around three or more.
                            let group = defs.len() >= 3;
                            if group {
                                self.f.small(&[Op::MARK as u8])?;
                            }
                            stack.push(r);
                            for (k, &(n, d)) in defs.iter().enumerate().rev() {
                                emitting.insert(n);
                                let then = match (group, k + 1 == defs.len()) {
                                    (false, _) => Some(Op::POP),
                                    (true, true) => Some(Op::POP_MARK),
                                    (true, false) => None,
                                };
                                stack.push(Region {
                                    pos: d.start,
                                    end: d.end,
                                    node: n,
                                    then,
                                });
                            }
                            continue 'regions;
                        }
                    }
                    continue;
                }
                if r.node != NO_NODE
                    && let Some((_, k, e)) = self.emitted_def_at(pos, &r)
                {
                    self.emit_get(k)?;
                    r.pos = e;
                    continue;
                }
                let i = read_instr(self.data, pos as usize)?;
                r.pos = i.end as u64;
                match i.op {
                    Op::FRAME => continue,
                    Op::PROTO => {
                        self.f.commit(true)?;
                        self.f.sink.put(&self.data[i.pos..i.end])?;
                        self.f.framing = self.protocol >= 4;
                        continue;
                    }
                    op if op.is_memo_put() => {
                        let n = Self::site(&self.g.puts, pos).ok_or(RewriteError::Unsupported {
                            offset: pos,
                            what: "memo store the reader did not record",
                        })?;
                        if r.node != NO_NODE && !self.memo.is_fetched(n) {
                            // A re-emitted store nothing fetches: left out.
                        } else if self.memo.keep {
                            let k0 = memo_key(&i)?;
                            if r.node == NO_NODE {
                                self.stored(n, k0);
                                self.f.small(&self.data[i.pos..i.end])?;
                            } else {
                                let k = self.memo.reemit_key(k0, self.text_memo);
                                self.stored(n, k);
                                self.emit_put(op, k)?;
                            }
                        } else {
                            let k = self.next_key;
                            self.next_key += 1;
                            self.stored(n, k);
                            self.emit_put(op, k)?;
                        }
                    }
                    op if op.is_memo_get() => {
                        let n = Self::site(&self.g.gets, pos).ok_or(RewriteError::Unsupported {
                            offset: pos,
                            what: "memo fetch the reader did not record",
                        })?;
                        if let Some(&k) = self.out_key.get(&n) {
                            if self.memo.keep && memo_key(&i)? == k {
                                self.f.small(&self.data[i.pos..i.end])?;
                            } else {
                                self.emit_get(k)?;
                            }
                        } else {
                            // Defined inside a cut: re-emit its definition here, then go on.
                            if emitting.contains(&n) {
                                return Err(RewriteError::Unsupported {
                                    offset: pos,
                                    what: "object references itself before it is stored",
                                });
                            }
                            let Some(node) = self.g.get(n) else {
                                return Err(RewriteError::Unsupported {
                                    offset: pos,
                                    what: "memo fetch of an unknown object",
                                });
                            };
                            let def = node.span;
                            emitting.insert(n);
                            stack.push(r);
                            stack.push(Region {
                                pos: def.start,
                                end: def.end,
                                node: n,
                                then: None,
                            });
                            continue 'regions;
                        }
                    }
                    op if op.is_large_payload()
                        && self.f.framing
                        && i.arg.len() >= FRAME_TARGET =>
                    {
                        let head = &self.data[i.pos..i.arg_pos()];
                        self.f.large(head, self.src, i.arg_pos()..i.end)?;
                    }
                    _ => self.f.small_range(self.src, i.pos..i.end)?,
                }
                self.f.boundary()?;
            }
            if r.node != NO_NODE {
                emitting.remove(&r.node);
            }
            if let Some(op) = r.then {
                self.f.small(&[op as u8])?;
                self.f.boundary()?;
            }
        }
        self.f.commit(true)?;
        Ok(())
    }

    fn emit_put(&mut self, op: Op, k: u64) -> std::io::Result<()> {
        match op {
            Op::MEMOIZE => self.f.small(&[Op::MEMOIZE as u8]),
            Op::PUT => self.f.small(format!("p{k}\n").as_bytes()),
            _ => {
                if k < 256 {
                    self.f.small(&[Op::BINPUT as u8, k as u8])
                } else {
                    let mut b = [Op::LONG_BINPUT as u8, 0, 0, 0, 0];
                    b[1..].copy_from_slice(&(k as u32).to_le_bytes());
                    self.f.small(&b)
                }
            }
        }
    }

    fn emit_get(&mut self, k: u64) -> std::io::Result<()> {
        if self.text_memo {
            return self.f.small(format!("g{k}\n").as_bytes());
        }
        if k < 256 {
            self.f.small(&[Op::BINGET as u8, k as u8])
        } else {
            let mut b = [Op::LONG_BINGET as u8, 0, 0, 0, 0];
            b[1..].copy_from_slice(&(k as u32).to_le_bytes());
            self.f.small(&b)
        }
    }
}
