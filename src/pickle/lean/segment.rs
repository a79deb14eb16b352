//! The lean main pass on two cores: the second half of a framed stream parsed on its own
//! from a FRAME boundary, with what it cannot do alone (instructions that reach below its
//! start) logged for the first half's machine to replay when it gets there.
//!
//! The second part keeps its own stack and marks and takes every instruction whose operands
//! it holds. An instruction that pops below its start and leaves nothing new of its own (the
//! APPEND and SETITEM family, POP, POP_MARK, BUILD, STOP) is an *event*: the items it took
//! are logged with it and the first part's machine runs it after its own half, as the
//! serial pass would have. The part stops (the first part's machine goes on from there
//! alone) before anything that would make a node, a memo entry, or read a memo entry
//! (instances, globals, GETs, fetched stores), or that pops below its start and pushes a
//! new object; and where it is when the first part's thread is done first ([`Handover`]).
//! So its state holds only undecided containers, and joining it renumbers them.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::fetched::Split;
use super::super::helper::{Helper, Relay};
use super::super::ops::Op;
use super::super::progress::paced;
use super::super::scan::Instr;
use super::super::window::Window;
use super::{Bail, Fetched, Item, Lean, NONE, R, VIRTUAL};

/// What the second part does with one instruction.
pub(super) enum Floor {
    /// Runs it as the serial pass would.
    Local,
    /// Logs it for the first part's machine (it pops below the part's start).
    Event,
    /// Stops before it.
    Stop,
}

/// One instruction the first part's machine runs for the second part.
#[derive(Debug)]
struct Event {
    pos: usize,
    op: Op,
    /// The part's marks when it met the instruction (stack indexes from the part's start).
    marks: Vec<(usize, usize)>,
    /// The part's stack items the instruction takes, as they were (a BUILD's state)...
    items: Vec<Item>,
    /// ... or, once decided as the items of a list, dict or set, bare in [`Seg::bare`].
    bare: Option<BareRun>,
}

/// Bare items an event took, in [`Seg::bare`] from byte `at`: each start as a LEB128 delta
/// from the one before (the first from `first`), then its opcode unless all have `op`.
#[derive(Debug, Clone, Copy)]
struct BareRun {
    first: u64,
    at: usize,
    count: usize,
    op: Option<Op>,
}

/// The second part's own bookkeeping.
#[derive(Debug, Default)]
pub(super) struct Seg {
    events: Vec<Event>,
    /// The bare items of every event ([`BareRun`]): about two bytes an item.
    bare: Vec<u8>,
    /// Where the part stopped before an instruction it could not take alone.
    stopped: Option<usize>,
    /// The memo count the part started from (the walk's count at the split, else 0: the
    /// join adds what the part stored to the first part's count).
    memo_from: u64,
}

impl Lean<'static> {
    /// The machine for the part of the stream from `split` on.
    fn second_part(len: usize, fetched: Fetched, file: File, split: Split) -> Lean<'static> {
        let mut m = Lean::new(&[], len, fetched, Some(file));
        m.pos = split.pos;
        let memo_from = split.memo_count.unwrap_or(0);
        m.memo_count = memo_from;
        m.put_pos.reserve(split.stores.saturating_sub(memo_from));
        m.memoize = true;
        m.seg = Some(Box::new(Seg {
            memo_from,
            ..Seg::default()
        }));
        m
    }
}

/// Per opcode byte: true for an instruction that only pushes (or does nothing to the
/// stack), which the second part always runs itself.
static PUSHES_ONLY: [bool; 256] = {
    let mut t = [false; 256];
    let ops = [
        Op::FRAME,
        Op::MARK,
        Op::EMPTY_LIST,
        Op::EMPTY_TUPLE,
        Op::EMPTY_DICT,
        Op::EMPTY_SET,
        Op::NONE,
        Op::NEWTRUE,
        Op::NEWFALSE,
        Op::BININT,
        Op::BININT1,
        Op::BININT2,
        Op::BINFLOAT,
        Op::INT,
        Op::LONG,
        Op::LONG1,
        Op::LONG4,
        Op::FLOAT,
        Op::STRING,
        Op::BINSTRING,
        Op::SHORT_BINSTRING,
        Op::UNICODE,
        Op::SHORT_BINUNICODE,
        Op::BINUNICODE,
        Op::BINUNICODE8,
        Op::BINBYTES,
        Op::SHORT_BINBYTES,
        Op::BINBYTES8,
        Op::BYTEARRAY8,
    ];
    let mut k = 0;
    while k < ops.len() {
        t[ops[k] as usize] = true;
        k += 1;
    }
    t
};

/// True for an instruction the second part runs itself whatever its stack holds.
#[inline(always)]
pub(super) fn pushes_only(op: Op) -> bool {
    PUSHES_ONLY[op as usize]
}

impl Lean<'_> {
    /// True when an APPENDS, SETITEMS or ADDITEMS now adds to one of the part's own
    /// containers: the item just below the innermost mark lies at or above the mark below
    /// (without one: on the part's own stack).
    #[inline]
    pub(super) fn adds_own(&self) -> bool {
        let n = self.marks.len();
        let Some(&(base, _)) = self.marks.last() else {
            return false;
        };
        let below = n.checked_sub(2).and_then(|k| self.marks.get(k));
        base > below.map_or(0, |m| m.0)
    }

    /// What the second part does with `i` (see [`Floor`]).
    pub(super) fn floor(&self, i: &Instr) -> Floor {
        let n = self.stack.len();
        let marks = self.marks.len();
        let mark = self.marks.last().map(|m| m.0);
        let fence = mark.unwrap_or(0);
        match i.op {
            Op::STOP => Floor::Event,
            op if pushes_only(op) => Floor::Local,
            Op::LIST | Op::FROZENSET | Op::TUPLE | Op::DICT if mark.is_some() => Floor::Local,
            Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 => {
                let k = match i.op {
                    Op::TUPLE1 => 1,
                    Op::TUPLE2 => 2,
                    _ => 3,
                };
                if n >= fence + k {
                    Floor::Local
                } else {
                    Floor::Stop
                }
            }
            Op::APPEND | Op::SETITEM => {
                let k = if i.op == Op::APPEND { 1 } else { 2 };
                match n.checked_sub(k) {
                    Some(base) if base > fence => Floor::Local,
                    _ if mark.is_none() => Floor::Event,
                    _ => Floor::Stop,
                }
            }
            Op::APPENDS | Op::SETITEMS | Op::ADDITEMS => match mark {
                None => Floor::Event,
                Some(base) => {
                    if self.adds_own() {
                        Floor::Local
                    } else if marks == 1 && base == 0 {
                        Floor::Event
                    } else {
                        Floor::Stop
                    }
                }
            },
            Op::POP if mark == Some(n) || n > fence => Floor::Local,
            Op::POP if mark.is_none() => Floor::Event,
            Op::POP_MARK if mark.is_some() => Floor::Local,
            Op::POP_MARK => Floor::Event,
            Op::MEMOIZE if self.fetched.general_store(self.memo_count) => Floor::Stop,
            Op::MEMOIZE if n > fence => Floor::Local,
            Op::BUILD if mark.is_none() && n <= 1 => Floor::Event,
            // A store of what lies below the part's start (the first part's machine checks
            // there is something), GETs, explicit stores, DUP, globals, calls, BUILD on the
            // part's own items,
            // persistent ids, extensions, buffers, PROTO, and what pops below the part's
            // start to make something new.
            _ => Floor::Stop,
        }
    }

    /// Logs `i` (an [`Floor::Event`]) with the part's stack and marks, which it empties.
    pub(super) fn event(&mut self, i: &Instr) -> R<()> {
        let marks = std::mem::take(&mut self.marks);
        // The APPEND and SETITEM family, POP and POP_MARK decide what they take as the items
        // of a list, dict or set: no item of the part holds an instance, so each is bare after.
        let decided = !matches!(i.op, Op::BUILD | Op::STOP);
        let mut items = std::mem::take(&mut self.stack);
        let mut bare = None;
        if decided {
            for it in &mut items {
                if !it.is_bare() {
                    *it = self.consume_plain(*it)?;
                }
            }
            let seg = self.seg.as_mut().ok_or(Bail)?;
            let first = items.first().map_or(0, |it| it.start);
            let mut prev = first;
            let fits = items.iter().all(|it| {
                let ok = it.is_bare() && it.start >= prev;
                prev = it.start;
                ok
            });
            if fits {
                let op = items.first().map(|it| it.op);
                let op = op.filter(|&op| items.iter().all(|it| it.op == op));
                let at = seg.bare.len();
                let mut prev = first;
                for it in &items {
                    let mut d = it.start - prev;
                    while d >= 0x80 {
                        seg.bare.push((d as u8 & 0x7f) | 0x80);
                        d >>= 7;
                    }
                    seg.bare.push(d as u8);
                    if op.is_none() {
                        seg.bare.push(it.op as u8);
                    }
                    prev = it.start;
                }
                bare = Some(BareRun {
                    first,
                    at,
                    count: items.len(),
                    op,
                });
                // The stack starts afresh in the same memory.
                items.clear();
                self.stack = std::mem::take(&mut items);
            }
        }
        let seg = self.seg.as_mut().ok_or(Bail)?;
        seg.events.push(Event {
            pos: i.pos,
            op: i.op,
            marks,
            items,
            bare,
        });
        // What the instruction takes is gone from the part's stack (it leaves nothing of its
        // own there).
        self.stack.clear();
        Ok(())
    }

    /// Stops the part before the instruction at `pos`.
    pub(super) fn stop_part(&mut self, pos: usize) {
        self.pos = pos;
        if let Some(s) = self.seg.as_mut() {
            s.stopped = Some(pos);
        }
    }

    /// True when the second part made nothing a join would have to renumber but its
    /// undecided containers.
    fn joinable(&self) -> bool {
        let plain = |it: &Item| it.node == VIRTUAL && it.entry == NONE;
        self.g.nodes.is_empty()
            && self.g.edges.is_empty()
            && self.g.gets.is_empty()
            && self.g.puts.is_empty()
            && self.entries.is_empty()
            && self.pins.is_empty()
            && self.hollow.is_empty()
            && self.stack.iter().all(plain)
            && self.pends.iter().all(|p| p.items.iter().all(plain))
            && self
                .seg
                .as_ref()
                .is_some_and(|s| s.events.iter().all(|e| e.items.iter().all(plain)))
    }
}

/// Runs `m` over `data[..cut]`, a window's bytes from file offset `base` on (`file_end`: the
/// window reaches the end of the file): the machine, and true at the end of the pickle.
fn run_cut(
    m: Lean<'static>,
    data: &[u8],
    base: usize,
    cut: usize,
    file_end: bool,
) -> R<(Lean<'static>, bool)> {
    let mut v = m.view(&data[..cut], base, file_end && cut == data.len());
    let done = v.run()?;
    Ok((v.view(&[], 0, false), done))
}

/// Runs `m` over the file in windows until the end of the pickle (true), or until its
/// position reaches `until` (false; `None` from a position past it or an instruction across
/// it). `Err` when the machine bails.
fn run_windowed(
    mut m: Lean<'static>,
    w: &mut Window,
    until: usize,
) -> R<(Lean<'static>, Option<bool>)> {
    loop {
        if m.pos >= until {
            let at = m.pos == until;
            return Ok((m, at.then_some(false)));
        }
        w.slide_to(m.pos as u64).map_err(|_| Bail)?;
        super::super::progress::report(paced(m.pos, until, m.len), m.len);
        let base = usize::try_from(w.base()).map_err(|_| Bail)?;
        let data = w.data();
        let cut = until.saturating_sub(base).min(data.len());
        let before = m.pos;
        let done;
        (m, done) = run_cut(m, data, base, cut, w.at_end())?;
        if done {
            return Ok((m, Some(true)));
        }
        if m.pos == before && cut < data.len() {
            // An instruction across `until`: it was not a boundary.
            return Ok((m, None));
        }
    }
}

/// Runs `m` over the file in windows of `window` bytes to the end of the pickle.
pub(super) fn run_file(m: Lean<'static>, file: &File, len: u64, window: usize) -> R<Lean<'static>> {
    let mut w = Window::new(file, len, window).map_err(|_| Bail)?;
    match run_windowed(m, &mut w, usize::MAX)? {
        (m, Some(true)) => Ok(m),
        _ => Err(Bail),
    }
}

/// When the second part of a split main pass stops before its end (the first part's
/// machine then goes on from there, as when the part stops before an instruction it cannot
/// take alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// It runs to its end.
    Never,
    /// Once the first part's thread is done and the second part stalls (no progress for a
    /// few of its steps, timed at the first part's rate) or lags (still going when the
    /// first part's thread would have done the rest): that thread goes on with what is left
    /// rather than wait for a second core that is busy or slow. Alone in the process it
    /// waits while the second part keeps up (a takeover costs a join and the rest on one
    /// core); beside other parses, it takes over at once rather than spin.
    WhenFirstDone,
    /// At the first instruction boundary it reaches at or past this offset (for tests).
    At(usize),
}

/// Runs the second part's machine `m` over the file in windows of `window` bytes to the end
/// of the pickle, or until it stops before an instruction it cannot take alone, or until
/// the handover stops it (`quit` set, or the offset of [`Handover::At`] reached; looked at
/// every eighth of a window, at instruction boundaries).
fn run_second(
    mut m: Lean<'static>,
    file: &File,
    len: u64,
    window: usize,
    relay: &Relay,
    at: usize,
) -> R<Lean<'static>> {
    let mut w = Window::new(file, len, window).map_err(|_| Bail)?;
    loop {
        w.slide_to(m.pos as u64).map_err(|_| Bail)?;
        super::super::progress::report(paced(m.pos, usize::MAX, m.len), m.len);
        let base = usize::try_from(w.base()).map_err(|_| Bail)?;
        let data = w.data();
        let eighth = (window / 8).max(1);
        let mut step = eighth;
        loop {
            if m.pos >= at || relay.stopped() {
                m.stop_part(m.pos);
                return Ok(m);
            }
            relay.reached(m.pos);
            let cut = (m.pos - base).saturating_add(step).min(data.len());
            let before = m.pos;
            let done;
            (m, done) = run_cut(m, data, base, cut, w.at_end())?;
            if done {
                return Ok(m);
            }
            if cut == data.len() {
                break;
            }
            // An instruction longer than the step: the next run sees the whole window.
            step = if m.pos == before { data.len() } else { eighth };
        }
    }
}

/// The lean main pass of a framed file (`file` of `len` bytes read in windows of `window`)
/// split at `split`: the first part on this thread, the second on `helper`, joined; the
/// serial pass wherever the split does not hold. The second part ends as `handover` says.
pub(super) fn run_split<'scope>(
    mut m: Lean<'static>,
    (file, len, window): (&'scope File, u64, usize),
    split: Split,
    handover: Handover,
    helper: &Helper<'scope>,
) -> R<(Lean<'static>, SplitRun)> {
    // The first part's index takes the second's at the join.
    m.put_pos.reserve(split.stores);
    let second = Lean::second_part(
        m.len,
        m.fetched.for_second_part(),
        file.try_clone().map_err(|_| Bail)?,
        split,
    );
    let mut w = Window::new(file, len, window).map_err(|_| Bail)?;
    let relay = Arc::new(Relay::default());
    let told = relay.clone();
    let stop_at = match handover {
        Handover::At(at) => at,
        _ => usize::MAX,
    };
    let began = Instant::now();
    let second = helper.run(move || run_second(second, file, len, window, &told, stop_at).ok());
    let first = run_windowed(m, &mut w, split.pos);
    if first.is_err() {
        // The first part stopped short (a miss, a bail): the second's work is not needed.
        relay.stop();
    } else if handover == Handover::WhenFirstDone {
        if helper.alone() {
            let pace = Pace {
                took: began.elapsed(),
                bytes: split.pos,
            };
            // Four of the second part's steps between looks at the relay (an eighth of a
            // window), at least a tenth of a millisecond.
            let patience = pace
                .time_for(4 * (window / 8).max(1))
                .max(Duration::from_micros(100));
            relay.wait_while_moving(&second, patience, |at| {
                pace.time_for((len as usize).saturating_sub(at))
            });
        }
        relay.stop();
    }
    let second = second.wait().flatten();
    let (mut m, at) = first?;
    let mut how = SplitRun::default();
    match (at, second) {
        (Some(true), _) => return Ok((m, how)),
        // Memo keys go on from the first part's count at the split: only MEMOIZE before it.
        (Some(false), Some(second))
            if !m.explicit
                && split.memo_count.is_none_or(|c| m.put_pos.len() == c)
                && second.joinable() =>
        {
            how.joined = true;
            how.events = second.seg.as_ref().map_or(0, |s| s.events.len());
            how.second_from = split.pos;
            let (joined, done) = join(m, second)?;
            how.second_to = joined.pos;
            if done {
                how.second_to = len as usize;
                return Ok((joined, how));
            }
            m = joined;
        }
        _ => {}
    }
    match run_windowed(m, &mut w, usize::MAX)? {
        (m, Some(true)) => Ok((m, how)),
        _ => Err(Bail),
    }
}

/// How fast the first part's thread went (`bytes` in `took`): the wait on the second part
/// is timed by it.
struct Pace {
    took: Duration,
    bytes: usize,
}

impl Pace {
    /// The time the first part's thread would take for `bytes` more.
    fn time_for(&self, bytes: usize) -> Duration {
        self.took.mul_f64(bytes as f64 / self.bytes.max(1) as f64)
    }
}

/// How a main pass split over two cores went (for tests and benchmarks).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SplitRun {
    /// The second part's work was taken over (else the first part's machine did it all).
    pub joined: bool,
    /// Instructions the first part's machine ran for the second part.
    pub events: usize,
    /// The bytes the second part parsed: `[second_from, second_to)`.
    pub second_from: usize,
    pub second_to: usize,
    /// The stream was walked for its fetched keys first ([`super::Keys`])...
    pub walked: bool,
    /// ... from this offset on (past 0: a guessed pass missed there, and the keys read
    /// before it were known).
    pub walked_from: usize,
}

/// The first part's machine, at the split, taking over the second part's state: its
/// containers renumbered, its memo stores and counts added, its events run in order; then
/// positioned where the second part stopped (or at the end).
/// True with the machine when an event ended the pickle.
fn join(mut m: Lean<'static>, mut second: Lean<'static>) -> R<(Lean<'static>, bool)> {
    let Some(seg) = second.seg.take() else {
        return Ok((m, false));
    };
    let off = u32::try_from(m.pends.len()).map_err(|_| Bail)?;
    let renumber = |it: &mut Item| {
        if it.pend != NONE {
            it.pend += off;
        }
    };
    for p in &mut second.pends {
        p.items.iter_mut().for_each(renumber);
    }
    m.pends.append(&mut second.pends);
    m.free.extend(second.free.iter().map(|p| p + off));
    m.put_pos.append(std::mem::take(&mut second.put_pos));
    m.used.merge(std::mem::take(&mut second.used));
    m.memo_count += second.memo_count - seg.memo_from;
    m.memoize |= second.memoize;
    m.g.op_count += second.g.op_count;
    m.objects += second.objects;
    for e in seg.events {
        let base = m.stack.len();
        m.marks.extend(e.marks.iter().map(|&(k, p)| (k + base, p)));
        match e.bare {
            Some(run) => {
                let mut bytes = seg.bare.get(run.at..).ok_or(Bail)?.iter();
                let mut start = run.first;
                for _ in 0..run.count {
                    let mut d = 0u64;
                    for shift in (0..64).step_by(7) {
                        let b = *bytes.next().ok_or(Bail)?;
                        d |= u64::from(b & 0x7f) << shift;
                        if b < 0x80 {
                            break;
                        }
                    }
                    start += d;
                    let op = match run.op {
                        Some(op) => op,
                        None => Op::from_byte(*bytes.next().ok_or(Bail)?).ok_or(Bail)?,
                    };
                    m.stack.push(Item::new(op, start as usize));
                }
            }
            None => m.stack.extend(e.items.into_iter().map(|mut it| {
                renumber(&mut it);
                it
            })),
        }
        let code = [e.op as u8];
        let mut v = m.view(&code, e.pos, false);
        v.pos = e.pos;
        let done = v.run()?;
        m = v.view(&[], 0, false);
        if done {
            return Ok((m, true));
        }
        if m.pos != e.pos + 1 {
            return Err(Bail);
        }
    }
    let base = m.stack.len();
    m.marks
        .extend(second.marks.iter().map(|&(k, p)| (k + base, p)));
    m.stack.extend(second.stack.into_iter().map(|mut it| {
        renumber(&mut it);
        it
    }));
    m.pos = seg.stopped.ok_or(Bail)?;
    Ok((m, false))
}
