//! One level of a container's span read again from the file: its items, keys and spans as
//! the full machine gives them, with no node for anything nested (a nested container is its
//! span, item count and item kinds). What the explorer uses to open a container a lean
//! graph kept without its items.

use std::fs::File;

use super::graph::{Kind, MemoSite, NodeId, Span};
use super::machine::scalar_kind;
use super::ops::Op;
use super::window::{LARGE_PAYLOAD, WINDOW, Window, decode};

/// Items whose kinds a container's summary looks at (as the type column does).
pub const KINDS_SEEN: usize = 50;

/// Items a level read for its summary keeps too, so opening it later costs nothing.
pub const ROWS_ANYWAY: usize = 1 << 16;

/// Why a span could not be read as one container.
#[derive(Debug, thiserror::Error)]
pub enum SpanError {
    #[error("cannot read the file again: {0}")]
    Io(#[from] std::io::Error),
    #[error("offset {pos}: {what} inside a container kept as a span (not expected there)")]
    Unexpected { pos: u64, what: &'static str },
    #[error("offset {0}: the bytes do not parse as one container")]
    Shape(u64),
}

/// What the walk knows from the lean graph: the node each GET in the span yields, and the
/// node of each memo store the graph kept (a store some GET fetches), with the kind name
/// each such node counts as among a container's items.
#[derive(Debug, Default, Clone)]
pub struct Known {
    /// GET offsets in the span, ascending, with their node.
    pub gets: Vec<(MemoSite, &'static str)>,
    /// Kept stores in the span, ascending, with their node.
    pub puts: Vec<MemoSite>,
}

/// An object of the level: a node the graph has, or one to make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Obj {
    Node(NodeId),
    /// A scalar (its kind's offsets are file offsets).
    Scalar {
        kind: Kind,
        op: Op,
    },
    /// A container, without its items.
    Container {
        kind: Kind,
        op: Op,
    },
}

/// An object with the span that made it (for [`Obj::Node`], the node's own span counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Made {
    pub obj: Obj,
    pub span: Span,
    /// The graph's node for an object made here that some GET fetches.
    pub kept: Option<NodeId>,
    /// For a container made here, its items' count and kind.
    pub summary: Option<Summary>,
}

/// A container's item count and the kind all of its first [`KINDS_SEEN`] items share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub count: u64,
    /// `None` when they differ (or there are none).
    pub common: Option<&'static str>,
}

/// One item of the level: a list/tuple/set item (`key` none) or a dict entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Child {
    pub key: Option<Made>,
    pub value: Made,
    /// The bytes of the key and value (plus a lone APPEND or SETITEM).
    pub span: Span,
}

/// The level of a container: its items, and the summary of every container among them.
#[derive(Debug, Default)]
pub struct Level {
    /// Its items (`None` when there were more than it was asked to keep).
    pub children: Option<Vec<Child>>,
    /// The container's own summary.
    pub own: Summary,
}

/// A stack item.
#[derive(Debug, Clone)]
struct It {
    obj: Obj,
    start: u64,
    /// True when this item made its object (not a GET copy).
    def: bool,
    /// The graph's node, for an object made here that some GET fetches.
    kept: Option<NodeId>,
    kinds: Kinds,
    /// The items of the container the level is about (`None` for any other).
    rows: Option<Vec<Child>>,
    /// The item the level may be about (made at the span's start, at the stack's bottom).
    root: bool,
}

/// Item count and the kinds of the first items, of a container being built.
#[derive(Debug, Clone, Default)]
struct Kinds {
    count: u64,
    first: Option<&'static str>,
    mixed: bool,
}

impl Kinds {
    fn add(&mut self, k: &'static str) {
        if self.count < KINDS_SEEN as u64 {
            match self.first {
                None => self.first = Some(k),
                Some(f) if f != k => self.mixed = true,
                _ => {}
            }
        }
        self.count += 1;
    }
    fn summary(&self) -> Summary {
        Summary {
            count: self.count,
            common: if self.mixed { None } else { self.first },
        }
    }
}

/// The name an item counts as in a container's summary (as `describe` names them).
pub fn elem_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Dict | Kind::List | Kind::Tuple | Kind::Str(_) | Kind::Int { .. } => kind.type_name(),
        Kind::Float { .. } => kind.type_name(),
        _ => "item",
    }
}

fn container_of(op: Op) -> Option<Kind> {
    Some(match op {
        Op::EMPTY_DICT => Kind::Dict,
        Op::EMPTY_LIST => Kind::List,
        Op::EMPTY_TUPLE => Kind::Tuple,
        Op::EMPTY_SET => Kind::Set,
        _ => return None,
    })
}

/// A large raw byte string from its header alone: its kind and where it ends.
fn big_bytes(data: &[u8], rel: usize, pos: u64) -> Option<(Kind, Op, u64)> {
    let op = Op::from_byte(*data.get(rel)?)?;
    let w = match op {
        Op::BINBYTES => 4,
        Op::BINBYTES8 | Op::BYTEARRAY8 => 8,
        _ => return None,
    };
    let n = super::window::len_from_header(data, rel)?;
    let payload = Span {
        start: pos + 1 + w,
        end: pos.checked_add(n)?,
    };
    if payload.len() < LARGE_PAYLOAD {
        return None;
    }
    let kind = match op {
        Op::BYTEARRAY8 => Kind::ByteArray { payload },
        _ => Kind::Bytes { payload },
    };
    Some((kind, op, payload.end))
}

/// The name an item counts as in its container's summary.
fn name_of(known: &Known, it: &It) -> &'static str {
    match it.obj {
        Obj::Node(_) => known
            .gets
            .binary_search_by_key(&it.start, |g| g.0.pos)
            .ok()
            .map_or("item", |i| known.gets[i].1),
        Obj::Scalar { kind, .. } | Obj::Container { kind, .. } => elem_name(&kind),
    }
}

/// An item as a row shows it, ending at `end`.
fn made(it: &It, end: u64) -> Made {
    Made {
        obj: it.obj,
        span: Span {
            start: it.start,
            end: if it.def { end } else { it.start },
        },
        kept: it.kept,
        summary: (it.def && matches!(it.obj, Obj::Container { .. })).then(|| it.kinds.summary()),
    }
}

struct Walk<'k> {
    known: &'k Known,
    span: Span,
    stack: Vec<It>,
    marks: Vec<(usize, u64)>,
    /// Items taken off the stack, with where each ends.
    scratch: Vec<(It, u64)>,
    /// Rows the level keeps at most (past them it keeps its summary only).
    cap: usize,
}

impl Walk<'_> {
    fn fence(&self) -> usize {
        self.marks.last().map_or(0, |m| m.0)
    }

    fn underflow(&self, pos: u64) -> SpanError {
        SpanError::Shape(pos)
    }

    /// Takes the items from `from` on off the stack into `scratch`, each ending where the
    /// next starts (the last at `end`).
    fn take_from(&mut self, from: usize, end: u64) {
        self.scratch.clear();
        self.scratch
            .extend(self.stack.drain(from..).map(|it| (it, end)));
        // Each ends where the next starts (the last at `end`).
        for k in 1..self.scratch.len() {
            self.scratch[k - 1].1 = self.scratch[k].0.start;
        }
    }

    /// Adds `scratch` to the container on top of the stack: pairs when `pairs`; the last
    /// item's span ends at `last_end`.
    fn add_to_top(&mut self, pos: u64, pairs: bool, last_end: u64) -> Result<(), SpanError> {
        let step = if pairs { 2 } else { 1 };
        let n = self.scratch.len();
        if !n.is_multiple_of(step) {
            return Err(SpanError::Shape(pos));
        }
        let above = self.stack.len() > self.fence();
        let top = match self.stack.last_mut() {
            Some(t) if above && t.def => t,
            _ => {
                return Err(SpanError::Unexpected {
                    pos,
                    what: "an item added to a memo copy",
                });
            }
        };
        if !matches!(top.obj, Obj::Container { .. }) {
            return Err(SpanError::Shape(pos));
        }
        let mut k = step - 1;
        while k < n {
            if top.kinds.count >= KINDS_SEEN as u64 {
                // Only the count matters past the first items.
                top.kinds.count += (n - k).div_ceil(step) as u64;
                break;
            }
            top.kinds.add(name_of(self.known, &self.scratch[k].0));
            k += step;
        }
        if let Some(rows) = top.rows.as_mut() {
            if rows.len() + n / step > self.cap {
                top.rows = None;
                return Ok(());
            }
            for k in (0..n).step_by(step) {
                let end = match self.scratch.get(k + step) {
                    Some(next) => next.0.start,
                    None => last_end,
                };
                let (first, fe) = &self.scratch[k];
                let (key, value) = match self.scratch.get(k + 1) {
                    Some((v, ve)) if pairs => (Some(made(first, *fe)), made(v, *ve)),
                    _ => (None, made(first, *fe)),
                };
                rows.push(Child {
                    key,
                    value,
                    span: Span {
                        start: first.start,
                        end,
                    },
                });
            }
        }
        Ok(())
    }

    fn pop_n(&mut self, pos: u64, n: usize, end: u64) -> Result<(), SpanError> {
        let len = self.stack.len();
        if len < self.fence() + n {
            return Err(self.underflow(pos));
        }
        self.take_from(len - n, end);
        Ok(())
    }

    fn push(&mut self, obj: Obj, start: u64) {
        let root = start == self.span.start && self.stack.is_empty();
        let rows = root.then(Vec::new);
        self.stack.push(It {
            obj,
            start,
            def: true,
            kept: None,
            kinds: Kinds::default(),
            rows,
            root,
        });
    }

    /// A container made from the items in `scratch`, starting at `start`.
    fn build(
        &mut self,
        kind: Kind,
        op: Op,
        start: u64,
        pairs: bool,
        end: u64,
    ) -> Result<(), SpanError> {
        let items = std::mem::take(&mut self.scratch);
        self.push(Obj::Container { kind, op }, start);
        self.scratch = items;
        if self.scratch.is_empty() {
            return Ok(());
        }
        self.add_to_top(start, pairs, end)
    }

    fn step(
        &mut self,
        op: Op,
        i: Option<&super::scan::Instr>,
        pos: u64,
        end: u64,
    ) -> Result<(), SpanError> {
        let unexpected = |what| Err(SpanError::Unexpected { pos, what });
        match op {
            Op::FRAME | Op::PROTO => {}
            Op::EMPTY_DICT | Op::EMPTY_LIST | Op::EMPTY_TUPLE | Op::EMPTY_SET => {
                let kind = container_of(op).ok_or(SpanError::Shape(pos))?;
                self.push(Obj::Container { kind, op }, pos);
            }
            Op::MARK => self.marks.push((self.stack.len(), pos)),
            Op::LIST | Op::TUPLE | Op::FROZENSET | Op::DICT => {
                let (base, mpos) = self.marks.pop().ok_or(SpanError::Shape(pos))?;
                if base > self.stack.len() {
                    return Err(SpanError::Shape(pos));
                }
                self.take_from(base, pos);
                let kind = match op {
                    Op::LIST => Kind::List,
                    Op::TUPLE => Kind::Tuple,
                    Op::DICT => Kind::Dict,
                    _ => Kind::FrozenSet,
                };
                // A container made at the mark starts at the mark.
                self.build(kind, op, mpos, op == Op::DICT, pos)?;
            }
            Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 => {
                let n = match op {
                    Op::TUPLE1 => 1,
                    Op::TUPLE2 => 2,
                    _ => 3,
                };
                self.pop_n(pos, n, pos)?;
                let start = self.scratch.first().map_or(pos, |s| s.0.start);
                self.build(Kind::Tuple, op, start, false, pos)?;
            }
            Op::APPEND => {
                self.pop_n(pos, 1, pos)?;
                self.add_to_top(pos, false, end)?;
            }
            Op::SETITEM => {
                self.pop_n(pos, 2, pos)?;
                self.add_to_top(pos, true, end)?;
            }
            Op::APPENDS | Op::ADDITEMS | Op::SETITEMS => {
                let (base, _) = self.marks.pop().ok_or(SpanError::Shape(pos))?;
                if base > self.stack.len() {
                    return Err(SpanError::Shape(pos));
                }
                self.take_from(base, pos);
                self.add_to_top(pos, op == Op::SETITEMS, pos)?;
            }
            Op::POP => {
                if self.marks.last().is_some_and(|m| m.0 == self.stack.len()) {
                    self.marks.pop();
                } else {
                    self.pop_n(pos, 1, pos)?;
                }
            }
            Op::POP_MARK => {
                let (base, _) = self.marks.pop().ok_or(SpanError::Shape(pos))?;
                if base > self.stack.len() {
                    return Err(SpanError::Shape(pos));
                }
                self.take_from(base, pos);
            }
            Op::GET | Op::BINGET | Op::LONG_BINGET => {
                let k = self
                    .known
                    .gets
                    .binary_search_by_key(&pos, |g| g.0.pos)
                    .map_err(|_| SpanError::Shape(pos))?;
                self.stack.push(It {
                    obj: Obj::Node(self.known.gets[k].0.node),
                    start: pos,
                    def: false,
                    kept: None,
                    kinds: Kinds::default(),
                    rows: None,
                    root: false,
                });
            }
            Op::PUT | Op::BINPUT | Op::LONG_BINPUT | Op::MEMOIZE => {
                if self.stack.len() <= self.fence() {
                    return Err(self.underflow(pos));
                }
                if let Ok(k) = self.known.puts.binary_search_by_key(&pos, |p| p.pos)
                    && let Some(t) = self.stack.last_mut()
                    && t.def
                {
                    t.kept = Some(self.known.puts[k].node);
                }
            }
            Op::DUP => return unexpected("DUP"),
            _ => {
                let Some(i) = i else {
                    return Err(SpanError::Shape(pos));
                };
                match scalar_kind(i) {
                    Ok(kind) => self.push(Obj::Scalar { kind, op }, pos),
                    Err(_) => return unexpected(op.name()),
                }
            }
        }
        Ok(())
    }
}

/// Reads the container whose span is `span` in `file` (of `len` bytes) one level deep.
/// `rows`: list its items however many (else only up to [`ROWS_ANYWAY`] of them, with its
/// summary).
pub fn read_level(
    file: &File,
    len: u64,
    span: Span,
    known: &Known,
    rows: bool,
) -> Result<Level, SpanError> {
    if span.end > len || span.is_empty() {
        return Err(SpanError::Shape(span.start));
    }
    let mut w = Window::new(file, span.end, WINDOW)?;
    let mut walk = Walk {
        known,
        span,
        stack: Vec::new(),
        marks: Vec::new(),
        scratch: Vec::new(),
        cap: if rows { usize::MAX } else { ROWS_ANYWAY },
    };
    let mut pos = span.start;
    let mut next_report = pos + super::progress::EVERY as u64;
    while pos < span.end {
        w.slide_to(pos)?;
        let base = w.base();
        let data = w.data();
        loop {
            if pos >= span.end {
                break;
            }
            let rel = (pos - base) as usize;
            if let Some((kind, op, end)) = big_bytes(data, rel, pos) {
                walk.push(Obj::Scalar { kind, op }, pos);
                pos = end;
                break;
            }
            let Some(i) = decode(data, rel, base as usize) else {
                if rel == 0 && w.at_end() {
                    return Err(SpanError::Shape(pos));
                }
                break;
            };
            let end = i.end as u64;
            walk.step(i.op, Some(&i), pos, end)?;
            pos = end;
            if pos >= next_report {
                super::progress::report((pos - span.start) as usize, span.len() as usize);
                next_report = pos + super::progress::EVERY as u64;
            }
        }
    }
    let mut root = match walk.stack.pop() {
        Some(r) if walk.stack.is_empty() && walk.marks.is_empty() && r.def && r.root => r,
        _ => return Err(SpanError::Shape(span.start)),
    };
    let children = root.rows.take();
    Ok(Level {
        children,
        own: root.kinds.summary(),
    })
}
