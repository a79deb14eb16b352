//! The least work a one-node-per-object pickle reader can do: a lower bound for `report`.
//!
//!     cargo build --release --example parse_floor
//!     target/release/examples/parse_floor FILE [walk|stack|arena] [split]
//!
//! * `walk`:  decode every opcode with picklescope's opcode table and do nothing else;
//! * `stack`: also run the pickle machine's stack, marks and memo (ids only, nothing kept);
//! * `arena`: also keep one 16-byte node per object (first offset and opcode, last offset)
//!   and one 8-byte edge per container item or BUILD state, in huge-page-advised blocks —
//!   what the engine's arena holds at the very least, without spans for edges, memo sites,
//!   validation of text, sizes, groups or any output;
//! * `split`: the same on two cores — a second machine starts at the FRAME nearest the middle
//!   (protocol 4 and 5 frames begin at opcode boundaries) with an unknown stack below it; what
//!   it takes from below (stack items, marks, memo entries) is counted, not resolved, and
//!   joining the halves is not timed. The best a two-core parser could do.
//!
//! `tools/bench.py` times this next to `picklescope report --json` and CPython on the
//! object-heavy file: whatever `arena` (or `arena split`) costs, no reader that keeps a node
//! per object (as the engine's issue asks) can beat on the same machine. It reads every opcode
//! correctly but answers nothing; it exits 2 on the first inconsistency (an empty stack, a
//! missing mark). With `PARSE_FLOOR_CHECK=1` it then parses the file with the engine and
//! compares: on the benchmark's object-heavy file both see 2 974 554 opcodes and 2 110 676
//! objects, split or not. (Elsewhere the floor may count fewer objects — the class INST names,
//! say — which only makes it cheaper; it reads the first pickle of a file only.)

use std::fs::File;
use std::process::ExitCode;
use std::time::Instant;

use picklescope::pickle::Op;
use picklescope::pickle::ops::{SHAPE_LEN1, SHAPE_SLOW};
use picklescope::pickle::scan::read_general;

#[global_allocator]
static ALLOC: picklescope::alloc::HugeBlocks = picklescope::alloc::HugeBlocks;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Walk,
    Stack,
    Arena,
}

/// What one run found: enough to check that the modes walked the same stream.
#[derive(Default)]
struct Counts {
    ops: u64,
    objects: u64,
    edges: u64,
    memo: u64,
    /// Stack items, marks and memo entries the second half of a split took from below it.
    outer: u64,
}

/// The stack machine of `stack` and `arena`: ids only.
struct Floor {
    keep: bool,
    /// Started mid-stream (the second half of a split): what lies below its first opcode —
    /// stack items, marks, memo entries — is unknown, stands in as [`OUTER`] and is counted
    /// in `outer` (what a join with the first half would resolve).
    tolerant: bool,
    outer: u64,
    nodes: Vec<[u64; 2]>,
    edges: Vec<[u32; 2]>,
    stack: Vec<u32>,
    marks: Vec<usize>,
    memo: Vec<u32>,
    objects: u32,
}

const NO_KEY: u32 = u32::MAX;
const STATE: u32 = u32::MAX - 1;
const OUTER: u32 = u32::MAX - 2;

impl Floor {
    fn new(keep: bool, tolerant: bool, len: usize) -> Self {
        // Each object and each item takes at least one byte of the stream.
        let cap = if keep { len.min(1 << 26) } else { 0 };
        Floor {
            keep,
            tolerant,
            outer: 0,
            nodes: Vec::with_capacity(cap),
            edges: Vec::with_capacity(cap),
            stack: Vec::with_capacity(1 << 12),
            marks: Vec::new(),
            memo: Vec::new(),
            objects: 0,
        }
    }

    #[inline(always)]
    fn object(&mut self, op: Op, pos: usize, end: usize) -> u32 {
        let id = self.objects;
        self.objects += 1;
        if self.keep {
            self.nodes
                .push([pos as u64 | (u64::from(op as u8) << 56), end as u64]);
        }
        id
    }

    /// Something from below a split's first opcode: `None` (an inconsistent stream) unless
    /// this machine started mid-stream.
    fn outside<T>(&mut self, stand_in: T) -> Option<T> {
        self.outer += 1;
        self.tolerant.then_some(stand_in)
    }

    fn pop(&mut self) -> Option<u32> {
        match self.stack.pop() {
            Some(id) => Some(id),
            None => self.outside(OUTER),
        }
    }

    fn top(&mut self) -> Option<u32> {
        match self.stack.last() {
            Some(&id) => Some(id),
            None => self.outside(OUTER),
        }
    }

    /// Where the last `k` items start (those present, mid-stream).
    fn base(&mut self, k: usize) -> Option<usize> {
        match self.stack.len().checked_sub(k) {
            Some(b) => Some(b),
            None => self.outside(0),
        }
    }

    /// The item just below `from`.
    fn below(&mut self, from: usize) -> Option<u32> {
        match from.checked_sub(1).and_then(|b| self.stack.get(b)) {
            Some(&id) => Some(id),
            None => self.outside(OUTER),
        }
    }

    /// Pops back to the last mark; the popped ids stay readable in `stack[mark..]` until the
    /// next push.
    fn pop_mark(&mut self) -> Option<usize> {
        let m = match self.marks.pop() {
            Some(m) => m,
            // A mark set before the split: everything here is above it.
            None => self.outside(0)?,
        };
        if m > self.stack.len() {
            return None;
        }
        Some(m)
    }

    fn items(&mut self, owner: u32, from: usize, pairs: bool, end: usize) {
        if self.keep {
            if pairs {
                for p in self.stack[from..].chunks_exact(2) {
                    self.edges.push([p[0], p[1]]);
                }
            } else {
                for &v in &self.stack[from..] {
                    self.edges.push([NO_KEY, v]);
                }
            }
            if let Some(n) = self.nodes.get_mut(owner as usize) {
                n[1] = end as u64;
            }
        }
        self.stack.truncate(from);
    }

    fn remember(&mut self, index: usize) -> Option<()> {
        let top = self.top()?;
        if index >= self.memo.len() {
            self.memo.resize(index + 1, u32::MAX);
        }
        self.memo[index] = top;
        Some(())
    }

    fn recall(&mut self, index: usize) -> Option<()> {
        let id = match self.memo.get(index) {
            Some(&id) if id != u32::MAX => id,
            _ => self.outside(OUTER)?,
        };
        self.stack.push(id);
        Some(())
    }

    /// One instruction; `None` when the stream is not a consistent pickle.
    #[inline(always)]
    fn step(&mut self, op: Op, pos: usize, end: usize, arg: &[u8]) -> Option<()> {
        let uint = |a: &[u8]| {
            a.iter()
                .rev()
                .fold(0usize, |v, b| (v << 8) | usize::from(*b))
        };
        match op {
            Op::PROTO | Op::FRAME | Op::READONLY_BUFFER | Op::STOP => {}
            Op::MARK => self.marks.push(self.stack.len()),
            // As CPython's: with nothing above the last mark, POP removes the mark.
            Op::POP if self.marks.last() == Some(&self.stack.len()) => {
                self.marks.pop();
            }
            Op::POP => {
                self.pop()?;
            }
            Op::POP_MARK => {
                let m = self.pop_mark()?;
                self.stack.truncate(m);
            }
            Op::DUP => {
                let top = self.top()?;
                self.stack.push(top);
            }
            Op::MEMOIZE => {
                let n = self.memo.len();
                self.remember(n)?;
            }
            Op::BINPUT | Op::LONG_BINPUT => self.remember(uint(arg))?,
            Op::PUT => self.remember(std::str::from_utf8(arg).ok()?.trim().parse().ok()?)?,
            Op::BINGET | Op::LONG_BINGET => self.recall(uint(arg))?,
            Op::GET => self.recall(std::str::from_utf8(arg).ok()?.trim().parse().ok()?)?,
            Op::APPEND | Op::SETITEM | Op::BUILD => {
                let pairs = op == Op::SETITEM;
                let from = self.base(if pairs { 2 } else { 1 })?;
                let owner = self.below(from)?;
                if op == Op::BUILD && self.keep {
                    let state = self.stack.get(from).copied().unwrap_or(OUTER);
                    self.edges.push([STATE, state]);
                    self.stack.truncate(from);
                } else {
                    self.items(owner, from, pairs, end);
                }
            }
            Op::APPENDS | Op::SETITEMS | Op::ADDITEMS => {
                let m = self.pop_mark()?;
                let owner = self.below(m)?;
                self.items(owner, m, op == Op::SETITEMS, end);
            }
            Op::TUPLE | Op::LIST | Op::DICT | Op::FROZENSET | Op::OBJ | Op::INST => {
                let m = self.pop_mark()?;
                let id = self.object(op, pos, end);
                self.items(id, m, op == Op::DICT, end);
                self.stack.push(id);
            }
            Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 | Op::STACK_GLOBAL | Op::REDUCE | Op::NEWOBJ => {
                let k = match op {
                    Op::TUPLE1 => 1,
                    Op::TUPLE3 => 3,
                    _ => 2,
                };
                let from = self.base(k)?;
                let id = self.object(op, pos, end);
                self.items(id, from, false, end);
                self.stack.push(id);
            }
            Op::NEWOBJ_EX => {
                let from = self.base(3)?;
                let id = self.object(op, pos, end);
                self.items(id, from, false, end);
                self.stack.push(id);
            }
            Op::BINPERSID => {
                self.pop()?;
                let id = self.object(op, pos, end);
                self.stack.push(id);
            }
            // Everything else pushes one new object (scalars, empty containers, GLOBAL, EXT,
            // PERSID, NEXT_BUFFER).
            _ => {
                let id = self.object(op, pos, end);
                self.stack.push(id);
            }
        }
        Some(())
    }
}

/// Per byte: the opcode and its shape ([`Op::shape`]: the argument width, [`SHAPE_LEN1`] for a
/// one-byte length prefix, [`SHAPE_SLOW`] for everything else), side by side in one table.
type Table = [(Op, u8); 256];

fn table() -> Table {
    let mut t = [(Op::STOP, SHAPE_SLOW); 256];
    for (b, slot) in (0..=255u8).zip(t.iter_mut()) {
        if let Some(op) = Op::from_byte(b) {
            *slot = (op, Op::shape(b));
        }
    }
    t
}

/// The instruction at `pos`: opcode, end and argument. The cheapest decoding there is — one
/// table lookup for the common shapes (no argument, fixed width, one-byte length) — and
/// picklescope's scanner for the rest.
#[inline(always)]
fn next_instr<'a>(t: &Table, data: &'a [u8], pos: usize) -> Result<(Op, usize, &'a [u8]), String> {
    let fast = || {
        let (op, width) = t[usize::from(*data.get(pos)?)];
        let (from, end) = match width {
            SHAPE_SLOW => return None,
            SHAPE_LEN1 => (pos + 2, pos + 2 + usize::from(*data.get(pos + 1)?)),
            w => (pos + 1, pos + 1 + usize::from(w)),
        };
        Some((op, end, data.get(from..end)?))
    };
    match fast() {
        Some(x) => Ok(x),
        None => read_general(data, pos)
            .map(|i| (i.op, i.end, i.arg))
            .map_err(|e| e.to_string()),
    }
}

/// Runs `mode` over the opcodes in `[from, to)` (through the first STOP), as a machine that
/// starts mid-stream when `tolerant`.
fn run_range(
    data: &[u8],
    from: usize,
    to: usize,
    mode: Mode,
    tolerant: bool,
) -> Result<Counts, String> {
    let table = table();
    let mut c = Counts::default();
    let mut floor = Floor::new(mode == Mode::Arena, tolerant, to - from);
    let data = data.get(..to).unwrap_or(data);
    let mut pos = from;
    while pos < data.len() {
        let (op, end, arg) = next_instr(&table, data, pos)?;
        c.ops += 1;
        if mode != Mode::Walk && floor.step(op, pos, end, arg).is_none() {
            return Err(format!("{op:?} at byte {pos} does not fit the stack"));
        }
        // FRAME's payload is opcodes: step into it.
        pos = if op == Op::FRAME { pos + 9 } else { end };
        if op == Op::STOP {
            break;
        }
    }
    c.objects = u64::from(floor.objects);
    c.edges = floor.edges.len() as u64;
    c.memo = floor.memo.len() as u64;
    c.outer = floor.outer;
    Ok(c)
}

/// The FRAME opcode nearest the middle of a protocol-4/5 stream (frames start at opcode
/// boundaries, so a second machine can start there); `None` without frames.
fn middle_frame(data: &[u8]) -> Option<usize> {
    let table = table();
    let mut pos = 0usize;
    let mut best: Option<usize> = None;
    let mut between = 0;
    while pos < data.len() && between < 64 {
        let (op, end, _) = next_instr(&table, data, pos).ok()?;
        if op == Op::FRAME {
            between = 0;
            if pos > 0
                && best.is_none_or(|b| pos.abs_diff(data.len() / 2) < b.abs_diff(data.len() / 2))
            {
                best = Some(pos);
            }
            // Hop over the frame's payload to the next frame (or a large payload between).
            let n = u64::from_le_bytes(data.get(pos + 1..pos + 9)?.try_into().ok()?);
            pos = end.checked_add(usize::try_from(n).ok()?)?;
        } else {
            between += 1;
            pos = end;
            if op == Op::STOP {
                break;
            }
        }
    }
    best
}

fn run(data: &[u8], mode: Mode, split: bool) -> Result<Counts, String> {
    let at = if split { middle_frame(data) } else { None };
    let Some(at) = at else {
        return run_range(data, 0, data.len(), mode, false);
    };
    // Both halves at once, the second as a machine that starts mid-stream; joining them
    // (resolving what the second half took from below its start) is not timed: its cost is
    // about `outer` steps.
    let (a, b) = std::thread::scope(|s| {
        let second = s.spawn(|| run_range(data, at, data.len(), mode, true));
        let first = run_range(data, 0, at, mode, false);
        (
            first,
            second
                .join()
                .unwrap_or_else(|_| Err("second half panicked".into())),
        )
    });
    let (a, b) = (a?, b?);
    Ok(Counts {
        ops: a.ops + b.ops,
        objects: a.objects + b.objects,
        edges: a.edges + b.edges,
        memo: a.memo + b.memo,
        outer: a.outer + b.outer,
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), mode, split) = (args.next(), args.next(), args.next()) else {
        eprintln!("usage: parse_floor FILE [walk|stack|arena] [split]");
        return ExitCode::from(1);
    };
    let mode = match mode.as_deref() {
        None | Some("arena") => Mode::Arena,
        Some("stack") => Mode::Stack,
        Some("walk") => Mode::Walk,
        Some(m) => {
            eprintln!("parse_floor: unknown mode {m} (walk, stack or arena)");
            return ExitCode::from(1);
        }
    };
    let t = Instant::now();
    let map = match File::open(&path).and_then(|f| {
        // SAFETY: read-only map of a file this process only reads; as in the engine, the file
        // changing underneath is the caller's concern.
        #[allow(unsafe_code)]
        unsafe {
            memmap2::Mmap::map(&f)
        }
    }) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("parse_floor: {path}: {e}");
            return ExitCode::from(1);
        }
    };
    let split = match split.as_deref() {
        None => false,
        Some("split") => true,
        Some(x) => {
            eprintln!("parse_floor: unknown option {x} (split)");
            return ExitCode::from(1);
        }
    };
    match run(&map, mode, split) {
        Ok(c) if std::env::var_os("PARSE_FLOOR_CHECK").is_some() => {
            // The same stream through the engine: the floor must have done the same
            // structural work (every opcode, one object per engine node).
            match picklescope::pickle::parse(&map) {
                Ok((g, _)) => {
                    let same = g.op_count == c.ops
                        && (mode != Mode::Arena || g.nodes.len() as u64 == c.objects);
                    println!(
                        "engine: {} ops, {} nodes, {} edges: {}",
                        g.op_count,
                        g.nodes.len(),
                        g.edges.len(),
                        if same { "same" } else { "DIFFERENT" }
                    );
                    if same {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    eprintln!("parse_floor: {path}: engine: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Ok(c) => {
            println!(
                "{} ops, {} objects, {} edges, {} memo entries, {} from before a split, in {:.2} ms",
                c.ops,
                c.objects,
                c.edges,
                c.memo,
                c.outer,
                t.elapsed().as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parse_floor: {path}: {e}");
            ExitCode::from(2)
        }
    }
}
