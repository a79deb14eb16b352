//! Which memo stores the lean parse keeps for a GET ([`Fetched`]), and the walk that finds the
//! keys some GET reads when a guess missed: over both cores by splitting the opcode stream at
//! a FRAME boundary (the first thread walks what the second has not yet when it is done
//! first), or from the GET that missed on.

use foldhash::HashSet;

use super::frame::frame_len;
use super::helper::Helper;
use super::machine::memo_key;
use super::ops::{Op, SHAPE_LEN1};
use super::progress;
use super::scan::{Instr, read_fast, read_general};
use super::window::{MARGIN, Window, len_from_header};

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A set of memo keys: bits up to a bound, a hash set beyond.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeySet {
    bits: Vec<u64>,
    far: HashSet<u64>,
    limit: u64,
}

impl KeySet {
    pub(crate) fn new(limit: u64) -> KeySet {
        KeySet {
            limit,
            ..KeySet::default()
        }
    }

    /// Adds `k`; true when it was not there.
    #[inline]
    pub(crate) fn insert(&mut self, k: u64) -> bool {
        if k >= self.limit {
            return self.far.insert(k);
        }
        let w = (k / 64) as usize;
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        let had = self.bits[w] & (1 << (k % 64)) != 0;
        self.bits[w] |= 1 << (k % 64);
        !had
    }

    /// Adds every key below `n`.
    pub(crate) fn insert_below(&mut self, n: u64) {
        for k in 0..n {
            self.insert(k);
        }
    }

    #[inline(always)]
    pub(crate) fn contains(&self, k: u64) -> bool {
        if k >= self.limit {
            return self.far.contains(&k);
        }
        self.bits
            .get((k / 64) as usize)
            .is_some_and(|w| w & (1 << (k % 64)) != 0)
    }

    /// Adds every key of `other` (built with the same limit).
    pub(crate) fn merge(&mut self, other: KeySet) {
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (a, b) in self.bits.iter_mut().zip(other.bits) {
            *a |= b;
        }
        self.far.extend(other.far);
    }
}

/// How a walk over part of the stream ended.
enum Walk {
    /// Reached the STOP opcode, having seen these stores.
    Stop(KeySet, Stores),
    /// Reached the given offset exactly (the start of the next part), having seen these
    /// stores.
    At(KeySet, Stores),
    /// Stopped at a frame boundary, at this offset, when told to (the rest is walked by the
    /// thread that told it), having seen these stores.
    Handed(KeySet, Stores, usize),
}

/// The memo stores a walk stepped over.
#[derive(Debug, Default, Clone, Copy)]
struct Stores {
    memoize: u64,
    /// PUT, BINPUT or LONG_BINPUT (explicit keys).
    explicit: u64,
}

impl Stores {
    fn all(&self) -> u64 {
        self.memoize + self.explicit
    }
}

impl std::ops::AddAssign for Stores {
    fn add_assign(&mut self, o: Stores) {
        self.memoize += o.memoize;
        self.explicit += o.explicit;
    }
}

/// Where the lean parse may split its main pass over two cores: a FRAME boundary, and,
/// when a walk proved it one, how many memo entries the stream stored before it (all with
/// MEMOIZE, so the keys after it go on from that count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    pub(crate) pos: usize,
    /// `None` unwalked: the main pass finds it (the first part ends exactly there or the
    /// split is not taken).
    pub(crate) memo_count: Option<u64>,
    /// Memo stores in the whole stream (for the main pass to size its index once), 0 when
    /// not counted.
    pub(crate) stores: u64,
}

impl Split {
    /// A split at the frame at `pos` that no walk has seen.
    pub(crate) fn unwalked(pos: usize) -> Split {
        Split {
            pos,
            memo_count: None,
            stores: 0,
        }
    }
}

/// Which memo stores the lean main pass keeps an entry for, for a GET to read.
#[derive(Debug, Clone)]
pub(crate) enum Fetched {
    /// The keys a walk found GETs read: exact.
    Known(KeySet),
    /// No walk: every store the machine's own path takes keeps an entry, and none a batch
    /// of scalars takes; a GET of a key without an entry ends the pass for the walk to be
    /// done after all (what keeps an entry needlessly only takes the slower path).
    Guessed,
    /// The second part of a guessed pass: keeps no entry (a GET of one of its keys misses).
    Unkept,
}

impl Fetched {
    /// A store the machine's own path takes: keeps an entry.
    #[inline(always)]
    pub(crate) fn general_store(&self, key: u64) -> bool {
        match self {
            Fetched::Known(k) => k.contains(key),
            Fetched::Guessed => true,
            Fetched::Unkept => false,
        }
    }

    /// A store inside a batch of scalars: keeps an entry (the batch is then left to the
    /// machine's own path).
    #[inline(always)]
    pub(crate) fn batch_store(&self, key: u64) -> bool {
        match self {
            Fetched::Known(k) => k.contains(key),
            Fetched::Guessed | Fetched::Unkept => false,
        }
    }

    /// What the main pass's second part knows: the same keys, or, guessed, none.
    pub(crate) fn for_second_part(&self) -> Fetched {
        match self {
            Fetched::Known(k) => Fetched::Known(k.clone()),
            Fetched::Guessed | Fetched::Unkept => Fetched::Unkept,
        }
    }

    pub(crate) fn guessed(&self) -> bool {
        matches!(self, Fetched::Guessed)
    }
}

/// How a walk over the bytes held ended.
enum Part {
    Stop,
    At,
    /// Needs the bytes from this offset on.
    More(usize),
    /// Told to stop, at this frame boundary.
    Handed(usize),
}

const MEMOIZE: u8 = Op::MEMOIZE as u8;
const BINPUT: u8 = Op::BINPUT as u8;
const LONG_BINPUT: u8 = Op::LONG_BINPUT as u8;
const PUT: u8 = Op::PUT as u8;
const GET: u8 = Op::GET as u8;
const BINGET: u8 = Op::BINGET as u8;
const LONG_BINGET: u8 = Op::LONG_BINGET as u8;
const STOP: u8 = Op::STOP as u8;
const FRAME: u8 = Op::FRAME as u8;

/// Frames walked one at a time after frames walked at once failed (an instruction across a
/// frame's end, STOP), before trying again.
const PAIR_BACKOFF: u32 = 16;

fn instr(data: &[u8], pos: usize) -> Option<Instr<'_>> {
    read_fast(data, pos).or_else(|| read_general(data, pos).ok())
}

/// Collects into `fetched` the keys GETs read in `data` (the file's bytes from `base` on)
/// from offset `pos` until STOP or until `until`; `None` on an opcode that does not decode
/// or a walk that steps over `until`. Without `at_end`, the walk stops for more bytes where
/// an instruction may not lie whole in `data`; large payloads are stepped over unread.
#[allow(clippy::too_many_arguments)]
fn walk_part(
    data: &[u8],
    base: usize,
    mut pos: usize,
    until: usize,
    at_end: bool,
    quit: &AtomicBool,
    fetched: &mut KeySet,
    stores: &mut Stores,
) -> Option<Part> {
    let safe = if at_end {
        usize::MAX
    } else {
        (base + data.len()).saturating_sub(MARGIN)
    };
    let stop = safe.min(until);
    let mut backoff = 0;
    loop {
        if pos >= stop {
            if pos >= until {
                return (pos == until).then_some(Part::At);
            }
            return Some(Part::More(pos));
        }
        let rel = pos - base;
        let code = *data.get(rel)?;
        if code == FRAME {
            if quit.load(Ordering::Relaxed) {
                return Some(Part::Handed(pos));
            }
            if backoff == 0 {
                let four = frames_at_once::<4>(data, base, pos, stop, quit, fetched, stores);
                // Fewer than four frames left whole in view: the window moves on to start at
                // this one rather than the walk going on one instruction at a time.
                if matches!(four, AtOnce::Short) && pos > base && stop == safe && stop < until {
                    return Some(Part::More(pos));
                }
                let went = match four {
                    AtOnce::Short => {
                        frames_at_once::<2>(data, base, pos, stop, quit, fetched, stores)
                    }
                    went => went,
                };
                match went {
                    AtOnce::Past(next) => {
                        pos = next;
                        continue;
                    }
                    AtOnce::Failed => backoff = PAIR_BACKOFF,
                    AtOnce::Short => backoff = 1,
                }
            }
            backoff -= 1;
        }
        match step(data, base, pos, fetched, stores) {
            Step::Next(next) => pos = next,
            Step::Put(next) => {
                stores.explicit += 1;
                pos = next;
            }
            Step::Stop => return Some(Part::Stop),
            Step::Short => return (!at_end).then_some(Part::More(pos)),
            Step::Bad => return None,
        }
    }
}

/// How a walk of several frames at once went.
enum AtOnce {
    /// Past the last of them.
    Past(usize),
    /// Fewer of them lie whole before the stop.
    Short,
    /// A walk did not end at its frame's end (an instruction across it, STOP).
    Failed,
}

/// The frames that follow one another from a header on, each handed out once it lies whole
/// before `stop`.
struct Frames<'d> {
    data: &'d [u8],
    base: usize,
    /// The next frame's header.
    h: usize,
    stop: usize,
    /// None are handed out once set.
    quit: &'d AtomicBool,
}

impl Frames<'_> {
    /// The next frame's body, `(start, end)`, moving past it; `None` (and nothing moved) when
    /// no frame header is there or the frame does not end before the stop.
    fn next(&mut self) -> Option<(usize, usize)> {
        if self.quit.load(Ordering::Relaxed) {
            return None;
        }
        let rel = self.h.checked_sub(self.base)?;
        if *self.data.get(rel)? != FRAME {
            return None;
        }
        let end = frame_len(self.data, rel)
            .and_then(|n| self.h.checked_add(9)?.checked_add(usize::try_from(n).ok()?))?;
        if end > self.stop {
            return None;
        }
        let body = (self.h + 9, end);
        self.h = end;
        Some(body)
    }
}

/// Walks the frames that follow one another from the header at `pos` at once, as long as
/// they end before `stop` (and `quit` is not set): `N` independent chains of loads where a
/// walk waits on one, a lane that ends its frame taking the next. Their keys and stores are
/// added only when every walk ends exactly at its frame's end.
fn frames_at_once<const N: usize>(
    data: &[u8],
    base: usize,
    pos: usize,
    stop: usize,
    quit: &AtomicBool,
    fetched: &mut KeySet,
    stores: &mut Stores,
) -> AtOnce {
    let mut frames = Frames {
        data,
        base,
        h: pos,
        stop,
        quit,
    };
    let mut spans = [(0usize, 0usize); N];
    for s in &mut spans {
        let Some(body) = frames.next() else {
            return AtOnce::Short;
        };
        *s = body;
    }
    let mut keys = Vec::new();
    let mut st = Stores::default();
    if walk_at_once(data, base, &mut spans, &mut frames, &mut keys, &mut st).is_none() {
        return AtOnce::Failed;
    }
    *stores += st;
    for k in keys {
        fetched.insert(k);
    }
    AtOnce::Past(frames.h)
}

/// The walks of [`frames_at_once`], interleaved; `None` when one does not end at its end.
fn walk_at_once<const N: usize>(
    data: &[u8],
    base: usize,
    spans: &mut [(usize, usize); N],
    frames: &mut Frames,
    keys: &mut Vec<u64>,
    stores: &mut Stores,
) -> Option<()> {
    let next =
        |at, keys: &mut Vec<u64>, stores: &mut Stores| match step(data, base, at, keys, stores) {
            Step::Next(next) => Some(next),
            Step::Put(next) => {
                stores.explicit += 1;
                Some(next)
            }
            // Inside a frame held whole: STOP or what does not decode ends the walk at once.
            _ => None,
        };
    if N < 4 {
        while spans.iter().all(|&(at, end)| at < end) {
            for s in spans.iter_mut() {
                s.0 = next(s.0, keys, stores)?;
            }
        }
        for s in spans.iter_mut() {
            while s.0 < s.1 {
                s.0 = next(s.0, keys, stores)?;
            }
        }
        return spans.iter().all(|&(at, end)| at == end).then_some(());
    }
    let mut slow = |at, st: &mut Stores| next(at, keys, st);
    lanes(data, base, spans, stores, &mut slow, || frames.next())?;
    // No frame left for a lane that ends: the others go on in fewer lanes, the last alone.
    let mut rest = [(0usize, 0usize); 3];
    let mut n = 0;
    for &(at, end) in spans.iter() {
        if at > end {
            return None;
        }
        if at < end {
            *rest.get_mut(n)? = (at, end);
            n += 1;
        }
    }
    if n == 3 {
        lanes(data, base, &mut rest, stores, &mut slow, || None)?;
        rest.sort_by_key(|&(at, end)| at >= end);
        n = rest.iter().filter(|&&(at, end)| at < end).count();
    }
    if n == 2 {
        let mut two = [rest[0], rest[1]];
        lanes(data, base, &mut two, stores, &mut slow, || None)?;
        rest[..2].copy_from_slice(&two);
    }
    for s in &mut rest {
        while s.0 < s.1 {
            s.0 = slow(s.0, stores)?;
        }
        if s.0 != s.1 {
            return None;
        }
    }
    Some(())
}

/// `N` walks of [`walk_at_once`] while all of them go on: each lane's position and the
/// MEMOIZE count are locals (registers, where counts behind a pointer chained every step of
/// every lane through one place in memory), the common instructions take one table look-up
/// and adds (runs of steps that cannot reach any lane's end compare no end), and a lane at
/// anything else (a GET, an explicit store, STOP, a long argument) takes one full step
/// (`slow`) before they go on together. A lane that ends its frame exactly takes the next
/// one `more` gives; when it gives none, the lanes stop there for the caller to finish.
/// `None` where `slow` failed or a lane stepped past its end.
#[inline(never)]
fn lanes<const N: usize>(
    data: &[u8],
    base: usize,
    spans: &mut [(usize, usize); N],
    stores: &mut Stores,
    slow: &mut impl FnMut(usize, &mut Stores) -> Option<usize>,
    mut more: impl FnMut() -> Option<(usize, usize)>,
) -> Option<()> {
    // Positions relative to `data`.
    let rel = |s: (usize, usize)| {
        (
            s.0.wrapping_sub(base),
            s.1.wrapping_sub(base).min(data.len()),
        )
    };
    let mut a = spans.map(|s| rel(s).0);
    let mut e = spans.map(|s| rel(s).1);
    let mut memo = 0u64;
    let mut st = Stores::default();
    // One step of every lane by the table, each lane's opcode and the byte after it read by
    // `bytes`: true when one is at an instruction for the full step (which does not move it).
    fn round<const N: usize>(
        a: &mut [usize; N],
        memo: &mut u64,
        bytes: impl Fn(usize) -> (u8, u8),
    ) -> bool {
        let mut seen = 0;
        for p in a.iter_mut() {
            let (code, n) = bytes(*p);
            let t = LANE[usize::from(code)];
            *memo += u64::from(t & LANE_MEMOIZE);
            *p += ((t & 0xFF) + (u32::from(n) & (t >> 8))) as usize;
            seen |= t;
        }
        seen & LANE_STUCK != 0
    }
    // Near an end the byte after the opcode may lie past the data; inside a run of rounds no
    // lane can reach its end in, both are in view, read with one bounds check.
    let near_end = |p: usize| (data[p], data.get(p + 1).copied().unwrap_or(0));
    let inside = |p: usize| {
        let w = &data[p..p + 2];
        (w[0], w[1])
    };
    let all_short = |a: &[usize; N], e: &[usize; N]| a.iter().zip(e).all(|(a, e)| a < e);
    'walk: loop {
        let mut stuck = false;
        loop {
            // Rounds no lane can reach its end in (an instruction the table steps over is at
            // most 257 bytes): no end is compared inside.
            let room = a
                .iter()
                .zip(&e)
                .map(|(a, e)| e.saturating_sub(*a))
                .min()
                .unwrap_or(0)
                / LANE_MAX;
            if room == 0 {
                break;
            }
            for _ in 0..room {
                stuck = round(&mut a, &mut memo, inside);
                if stuck {
                    break;
                }
            }
            if stuck {
                break;
            }
        }
        while !stuck && all_short(&a, &e) {
            stuck = round(&mut a, &mut memo, near_end);
        }
        for k in 0..N {
            if a[k] < e[k] {
                if LANE[usize::from(data[a[k]])] & LANE_STUCK != 0 {
                    a[k] = slow(a[k] + base, &mut st)?.wrapping_sub(base);
                }
            } else if a[k] > e[k] {
                return None;
            } else {
                match more() {
                    Some(next) => (a[k], e[k]) = rel(next),
                    None => break 'walk,
                }
            }
        }
    }
    for ((s, a), e) in spans.iter_mut().zip(a).zip(e) {
        *s = (a.wrapping_add(base), e.wrapping_add(base));
    }
    *stores += st;
    stores.memoize += memo >> LANE_MEMOIZE.trailing_zeros();
    Some(())
}

/// The longest instruction [`LANE`] steps over: an opcode, a length byte and 255 bytes.
const LANE_MAX: usize = 257;

/// [`lanes`]' step, one look-up per opcode byte. Bits 0-7: the length of an instruction
/// of fixed length, 2 for one with a one-byte length prefix, 0 for one that takes the full
/// step (explicit stores included: counted there), which also has [`LANE_STUCK`]; bits
/// 8-15: a mask for the length byte (0xFF where there is one, else 0); [`LANE_MEMOIZE`].
static LANE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let s = STEP[b];
        if s == STEP_LEN1 {
            t[b] = 2 | 0xFF << 8;
        } else if s != STEP_OTHER {
            t[b] = s as u32;
        }
        b += 1;
    }
    t[BINPUT as usize] = 0;
    t[LONG_BINPUT as usize] = 0;
    t[MEMOIZE as usize] |= LANE_MEMOIZE;
    b = 0;
    while b < 256 {
        if t[b] & 0xFF == 0 {
            t[b] = LANE_STUCK;
        }
        b += 1;
    }
    t
};

/// [`LANE`]: a MEMOIZE (counted where it is, in units of this bit).
const LANE_MEMOIZE: u32 = 1 << 16;
/// [`LANE`]: an instruction for the full step (its length bits 0).
const LANE_STUCK: u32 = 1 << 31;

/// Where a walk puts the memo keys GETs read: the set itself, or a list to add once the
/// walks of several frames at once all end where they should.
trait Keys {
    fn put(&mut self, k: u64);
}

impl Keys for KeySet {
    #[inline]
    fn put(&mut self, k: u64) {
        self.insert(k);
    }
}

impl Keys for Vec<u64> {
    #[inline]
    fn put(&mut self, k: u64) {
        self.push(k);
    }
}

/// What a walk found at one instruction.
enum Step {
    /// The offset past it.
    Next(usize),
    /// The offset past it, a text PUT (an explicit store).
    Put(usize),
    Stop,
    /// It does not lie whole in the bytes held.
    Short,
    /// Not an instruction (an offset past any file, a memo key that is not one).
    Bad,
}

/// Steps over the instruction at `pos` (in `data`, the file's bytes from `base` on),
/// putting the key a GET reads in `keys` and counting memo stores in `stores`.
#[inline(always)]
fn step(data: &[u8], base: usize, pos: usize, keys: &mut impl Keys, stores: &mut Stores) -> Step {
    let rel = pos - base;
    let Some(&code) = data.get(rel) else {
        return Step::Short;
    };
    // One table look-up for the most common case: an instruction of fixed length.
    let step = STEP[usize::from(code)];
    if step < STEP_LEN1 {
        // Off the chain of loads the walk waits on: counted for nothing.
        stores.memoize += u64::from(code == MEMOIZE);
        stores.explicit += u64::from(code == BINPUT || code == LONG_BINPUT);
        return Step::Next(pos + usize::from(step));
    }
    if step == STEP_LEN1 {
        return match data.get(rel + 1) {
            Some(&n) => Step::Next(pos + 2 + usize::from(n)),
            None => Step::Short,
        };
    }
    step_other(data, pos, rel, keys)
}

/// [`step`] of an instruction of neither fixed nor one-byte length.
#[cold]
fn step_other(data: &[u8], pos: usize, rel: usize, keys: &mut impl Keys) -> Step {
    let Some(&code) = data.get(rel) else {
        return Step::Short;
    };
    let len = |i: Option<Instr>| i.map_or(Step::Short, |i| Step::Next(pos + i.len()));
    match code {
        BINGET => match data.get(rel + 1) {
            Some(&k) => {
                keys.put(u64::from(k));
                Step::Next(pos + 2)
            }
            None => Step::Short,
        },
        GET | LONG_BINGET => {
            let Some(i) = instr(data, rel) else {
                return Step::Short;
            };
            let Ok(k) = memo_key(&i) else {
                return Step::Bad;
            };
            keys.put(k);
            Step::Next(pos + i.len())
        }
        PUT => match instr(data, rel) {
            Some(i) => Step::Put(pos + i.len()),
            None => Step::Short,
        },
        STOP => Step::Stop,
        _ => match len_from_header(data, rel) {
            Some(n) => usize::try_from(n)
                .ok()
                .and_then(|n| pos.checked_add(n))
                .map_or(Step::Bad, Step::Next),
            None => len(instr(data, rel)),
        },
    }
}

/// [`STEP`]: a one-byte length prefix, then that many bytes.
const STEP_LEN1: u8 = 0x80;
/// [`STEP`]: looked at one by one (GETs, STOP, long and text arguments, unknown bytes).
const STEP_OTHER: u8 = 0xFF;

/// Per opcode byte: the length of an instruction of fixed length, else [`STEP_LEN1`] or
/// [`STEP_OTHER`].
static STEP: [u8; 256] = {
    let mut t = [STEP_OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let shape = Op::shape(b as u8);
        if shape < SHAPE_LEN1 {
            t[b] = 1 + shape;
        } else if shape == SHAPE_LEN1 {
            t[b] = STEP_LEN1;
        }
        b += 1;
    }
    t[Op::BINGET as usize] = STEP_OTHER;
    t[Op::LONG_BINGET as usize] = STEP_OTHER;
    t[Op::GET as usize] = STEP_OTHER;
    t[Op::STOP as usize] = STEP_OTHER;
    t
};

/// The keys GETs read from `pos` until STOP or `until`, in bytes held in memory.
fn walk(data: &[u8], pos: usize, until: usize, limit: u64, quit: &AtomicBool) -> Option<Walk> {
    let mut keys = KeySet::new(limit);
    let mut stores = Stores::default();
    Some(
        match walk_part(data, 0, pos, until, true, quit, &mut keys, &mut stores)? {
            Part::Stop => Walk::Stop(keys, stores),
            Part::At => Walk::At(keys, stores),
            Part::Handed(p) => Walk::Handed(keys, stores, p),
            Part::More(_) => return None,
        },
    )
}

/// [`walk`] over a file read in windows.
fn walk_file(
    (file, len, window): (&File, u64, usize),
    mut pos: usize,
    until: usize,
    limit: u64,
    quit: &AtomicBool,
) -> Option<Walk> {
    let mut keys = KeySet::new(limit);
    let mut stores = Stores::default();
    let mut w = Window::new(file, len, window).ok()?;
    let total = usize::try_from(len).ok()?;
    loop {
        w.slide_to(pos as u64).ok()?;
        // The walk is the parse's first read of the file (the thread that asked sees it).
        progress::report_read(progress::paced(pos, until, total), total);
        let base = usize::try_from(w.base()).ok()?;
        match walk_part(
            w.data(),
            base,
            pos,
            until,
            w.at_end(),
            quit,
            &mut keys,
            &mut stores,
        )? {
            Part::Stop => return Some(Walk::Stop(keys, stores)),
            Part::At => return Some(Walk::At(keys, stores)),
            Part::Handed(p) => return Some(Walk::Handed(keys, stores, p)),
            Part::More(p) => pos = p,
        }
    }
}

/// Streams smaller than this are walked on one core (a thread costs more than it saves).
const SPLIT_FROM: usize = 4 << 20;

/// The offset of the FRAME opcode nearest the middle of a stream of `len` bytes, following
/// the chain of frame headers (read by `header`: 9 bytes at an offset) from the first one
/// (CPython writes frames back to back, large payloads between them unframed; the chain
/// stops at the first such payload).
fn middle_frame_by(len: usize, header: impl Fn(usize) -> Option<[u8; 9]>) -> Option<usize> {
    let mid = len / 2;
    let mut pos = 2;
    if header(0)?[0] != Op::PROTO as u8 {
        return None;
    }
    let mut best = None;
    while let Some(h) = header(pos).filter(|h| h[0] == Op::FRAME as u8) {
        if pos > 2 {
            best = Some(pos);
        }
        if pos >= mid {
            break;
        }
        let n = frame_len(&h, 0)?;
        pos = pos.checked_add(9)?.checked_add(usize::try_from(n).ok()?)?;
    }
    best
}

fn middle_frame(data: &[u8]) -> Option<usize> {
    middle_frame_by(data.len(), |p| data.get(p..p + 9)?.try_into().ok())
}

fn middle_frame_file(file: &File, len: u64) -> Option<usize> {
    middle_frame_by(usize::try_from(len).ok()?, |p| {
        let mut h = [0u8; 9];
        file.read_exact_at(&mut h, p as u64).ok()?;
        Some(h)
    })
}

/// The memo keys some GET reads, or `None` when the stream does not decode to a STOP.
pub(crate) fn fetched_keys(data: &[u8]) -> Option<KeySet> {
    let split = (data.len() >= SPLIT_FROM)
        .then(|| middle_frame(data))
        .flatten();
    let limit = (data.len() as u64).saturating_mul(8);
    let walk = move |from, until, quit: &AtomicBool| walk(data, from, until, limit, quit);
    match split {
        Some(_) => std::thread::scope(|s| split_walk(split, walk, Some(&Helper::start(s)))),
        None => split_walk(None, walk, None),
    }
    .map(|(k, _)| k)
}

/// The memo keys some GET reads, knowing `read`, those the GETs before `from` (an
/// instruction's offset) read: the stream is walked from there on only.
pub(crate) fn fetched_keys_after(data: &[u8], from: usize, read: KeySet) -> Option<KeySet> {
    let limit = (data.len() as u64).saturating_mul(8);
    match walk(data, from, usize::MAX, limit, &AtomicBool::new(false))? {
        Walk::Stop(keys, _) => Some(merged(read, keys)),
        _ => None,
    }
}

/// [`fetched_keys_after`] of a file of `len` bytes read in windows of `window` bytes, and
/// the memo stores from `from` on.
pub(crate) fn fetched_keys_file_after(
    file: &File,
    len: u64,
    window: usize,
    from: usize,
    read: KeySet,
) -> Option<(KeySet, u64)> {
    let limit = len.saturating_mul(8);
    let never = AtomicBool::new(false);
    match walk_file((file, len, window), from, usize::MAX, limit, &never)? {
        Walk::Stop(keys, stores) => Some((merged(read, keys), stores.all())),
        _ => None,
    }
}

fn merged(mut a: KeySet, b: KeySet) -> KeySet {
    a.merge(b);
    a
}

/// Where a file of `len` bytes is split over two cores: at `split` (a FRAME opcode's offset;
/// one past the end for one core), by default at the frame nearest the middle of a file of
/// [`SPLIT_FROM`] bytes or more; `None` for one core.
pub(crate) fn split_point(file: &File, len: u64, split: Option<usize>) -> Option<usize> {
    match split {
        Some(p) => ((p as u64) < len).then_some(p),
        None => (len >= SPLIT_FROM as u64)
            .then(|| middle_frame_file(file, len))
            .flatten(),
    }
}

/// [`fetched_keys`] of a file of `len` bytes read in windows of `window` bytes, its second
/// part from `split` on ([`split_point`]) walked by `helper`; with the split when the walk
/// proved it an instruction boundary with only MEMOIZE stores before it.
pub(crate) fn fetched_keys_file<'scope>(
    file: &'scope File,
    len: u64,
    window: usize,
    split: Option<usize>,
    helper: Option<&Helper<'scope>>,
) -> Option<(KeySet, Option<Split>)> {
    let limit = len.saturating_mul(8);
    let walk = move |from, until, quit: &AtomicBool| {
        walk_file((file, len, window), from, until, limit, quit)
    };
    split_walk(split, walk, helper)
}

/// Walks the stream on two threads when `split` is a frame boundary and there is a
/// `helper`, else on one. When the first part's walk is done before the second's, the
/// second stops at its next frame boundary and this thread walks the rest, rather than wait
/// on a second core that is slow or busy.
fn split_walk<'scope>(
    split: Option<usize>,
    walk: impl Fn(usize, usize, &AtomicBool) -> Option<Walk> + Send + Copy + 'scope,
    helper: Option<&Helper<'scope>>,
) -> Option<(KeySet, Option<Split>)> {
    let never = AtomicBool::new(false);
    if let (Some(split), Some(helper)) = (split, helper) {
        let quit = Arc::new(AtomicBool::new(false));
        let told = quit.clone();
        let second = helper.run(move || walk(split, usize::MAX, &told));
        let first = walk(0, split, &never);
        quit.store(true, Ordering::Relaxed);
        let second = match second.wait().flatten() {
            Some(Walk::Handed(mut b, mut s, at)) => match walk(at, usize::MAX, &never) {
                Some(Walk::Stop(c, t)) => {
                    b.merge(c);
                    s += t;
                    Some(Walk::Stop(b, s))
                }
                _ => None,
            },
            other => other,
        };
        match (first, second) {
            // The first part ended exactly where the second began: the split was an
            // instruction boundary, so the second part's walk is the stream's.
            (Some(Walk::At(mut a, stores)), Some(Walk::Stop(b, rest))) => {
                a.merge(b);
                let split = (stores.explicit == 0).then_some(Split {
                    pos: split,
                    memo_count: Some(stores.memoize),
                    stores: stores.all() + rest.all(),
                });
                return Some((a, split));
            }
            // The first part met STOP before the split: what follows is not this pickle's.
            (Some(Walk::Stop(a, _)), _) => return Some((a, None)),
            _ => {}
        }
    }
    match walk(0, usize::MAX, &never)? {
        Walk::Stop(k, _) => Some((k, None)),
        Walk::At(..) | Walk::Handed(..) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// A framed stream: PROTO 4, then each body in a frame of its own.
    fn framed(bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut data = vec![Op::PROTO as u8, 4];
        for body in bodies {
            data.push(Op::FRAME as u8);
            data.extend((body.len() as u64).to_le_bytes());
            data.extend(body);
        }
        data
    }

    /// The GET keys and MEMOIZE count of a stream, one instruction after another.
    fn reference(data: &[u8], until: usize) -> (Vec<u64>, u64) {
        let (keys, stores) = reference_stores(data, until);
        (keys, stores.memoize)
    }

    fn reference_stores(data: &[u8], until: usize) -> (Vec<u64>, Stores) {
        let (mut pos, mut keys, mut stores) = (0, Vec::new(), Stores::default());
        while pos < until {
            let i = instr(data, pos).unwrap();
            match i.op {
                Op::BINGET | Op::LONG_BINGET | Op::GET => keys.push(memo_key(&i).unwrap()),
                Op::MEMOIZE => stores.memoize += 1,
                Op::PUT | Op::BINPUT | Op::LONG_BINPUT => stores.explicit += 1,
                Op::STOP => break,
                _ => {}
            }
            pos = i.end;
        }
        (keys, stores)
    }

    #[test]
    fn frames_walked_two_at_once_give_what_one_at_a_time_gives() {
        let mut bodies = Vec::new();
        for f in 0..40u64 {
            let mut body = Vec::new();
            for k in 0..300u64 {
                body.extend([Op::SHORT_BINUNICODE as u8, 3, b'a', b'b', b'c']);
                body.push(Op::MEMOIZE as u8);
                match (f * 7 + k) % 11 {
                    0 => body.extend([Op::BINGET as u8, (k % 200) as u8]),
                    1 => {
                        body.push(Op::LONG_BINGET as u8);
                        body.extend(((f << 10) + k).to_le_bytes()[..4].iter());
                    }
                    2 => body.extend(b"g77\n"),
                    // Explicit stores in a few frames walked four at a time.
                    4 if f == 5 => body.extend([Op::BINPUT as u8, 9]),
                    4 if f == 6 => {
                        body.push(Op::LONG_BINPUT as u8);
                        body.extend(9u32.to_le_bytes());
                    }
                    4 if f == 9 => body.extend(b"p9\n"),
                    3 => {
                        body.push(Op::BINUNICODE as u8);
                        body.extend(300u32.to_le_bytes());
                        body.extend([b'x'; 300]);
                    }
                    _ => body.extend([Op::BININT1 as u8, 5, Op::POP as u8]),
                }
                body.push(Op::POP as u8);
            }
            bodies.push(body);
        }
        bodies.last_mut().unwrap().push(Op::STOP as u8);
        let mut data = framed(&bodies);
        // Frame 25 says it ends 3 bytes before its last instruction does (CPython's own
        // unpickler does not check): the frames around it are walked one at a time.
        let h25 = 2 + 9 * 25 + bodies[..25].iter().map(Vec::len).sum::<usize>();
        let short = (bodies[25].len() as u64 - 3).to_le_bytes();
        data[h25 + 1..h25 + 9].copy_from_slice(&short);
        let limit = data.len() as u64 * 8;
        let (want, _) = reference(&data, data.len());
        let Some(Walk::Stop(keys, _)) = walk(&data, 0, usize::MAX, limit, &AtomicBool::new(false))
        else {
            panic!("no STOP");
        };
        assert!(want.len() > 2000);
        assert!(want.iter().all(|&k| keys.contains(k)));
        assert!(!keys.contains(5 << 10) && keys.contains(77));
        // Up to any frame boundary: the MEMOIZE count exactly.
        let mut at = 2;
        let mut explicit = 0;
        for body in &bodies {
            let (_, want) = reference_stores(&data, at);
            let Some(Walk::At(_, stores)) = walk(&data, 0, at, limit, &AtomicBool::new(false))
            else {
                panic!("at {at}");
            };
            assert_eq!(stores.memoize, want.memoize, "at {at}");
            assert_eq!(stores.explicit, want.explicit, "at {at}");
            explicit = explicit.max(stores.explicit);
            at += 9 + body.len();
        }
        assert!(explicit >= 3, "the explicit stores were walked");
    }

    #[test]
    fn split_walk_finds_the_gets_of_both_halves() {
        // Frames of 9 + 1 MiB each: GETs in the first and the last frame.
        let mut data = vec![Op::PROTO as u8, 4];
        let frames = 10;
        for f in 0..frames {
            let mut body = Vec::new();
            if f == 0 {
                body.extend([Op::EMPTY_LIST as u8, Op::BINPUT as u8, 7]);
                body.extend([Op::BINGET as u8, 7, Op::POP as u8]);
            }
            while body.len() < (1 << 20) - 8 {
                body.extend([Op::NONE as u8, Op::POP as u8]);
            }
            if f == frames - 1 {
                body.extend([Op::LONG_BINGET as u8, 9, 0, 0, 0, Op::POP as u8]);
                body.push(Op::STOP as u8);
            }
            data.push(Op::FRAME as u8);
            data.extend((body.len() as u64).to_le_bytes());
            data.extend(body);
        }
        assert!(middle_frame(&data).is_some_and(|m| m > 2 && m < data.len()));
        let k = fetched_keys(&data);
        assert!(k.is_some_and(|k| k.contains(7) && k.contains(9) && !k.contains(8)));
    }

    #[test]
    fn a_second_walk_told_to_stop_hands_the_rest_to_the_first_thread() {
        // 40 frames with a GET in every one: keys 0..40, each stored in an earlier frame.
        let mut bodies = Vec::new();
        for f in 0..40u8 {
            let mut body = vec![Op::NONE as u8, Op::MEMOIZE as u8, Op::POP as u8];
            if f > 0 {
                body.extend([Op::BINGET as u8, f - 1, Op::POP as u8]);
            }
            bodies.push(body);
        }
        bodies.last_mut().unwrap().push(Op::STOP as u8);
        let data = framed(&bodies);
        let limit = data.len() as u64 * 8;
        let (want, _) = reference(&data, data.len());
        let heads: Vec<usize> = bodies
            .iter()
            .scan(2, |h, b| {
                let at = *h;
                *h += 9 + b.len();
                Some(at)
            })
            .collect();
        // Told to stop before it starts: it hands over at its first frame, with nothing.
        let told = AtomicBool::new(true);
        assert!(matches!(
            walk(&data, heads[7], usize::MAX, limit, &told),
            Some(Walk::Handed(k, _, at)) if at == heads[7] && !k.contains(5)
        ));
        for &split in &heads[1..] {
            for stop_at in heads.iter().copied().filter(|&h| h >= split) {
                // The second walk stopped at the frame `stop_at` (what a walk told to stop
                // there gives): this thread walks the rest.
                let once = AtomicBool::new(true);
                let walk_to = |from: usize, until: usize, quit: &AtomicBool| {
                    if from != split || !once.swap(false, Ordering::Relaxed) {
                        return walk(&data, from, until, limit, quit);
                    }
                    match walk(&data, from, stop_at, limit, quit)? {
                        Walk::At(keys, st) => Some(Walk::Handed(keys, st, stop_at)),
                        other => Some(other),
                    }
                };
                let (keys, s) = std::thread::scope(|sc| {
                    split_walk(Some(split), walk_to, Some(&Helper::start(sc)))
                })
                .unwrap();
                assert!(want.iter().all(|&k| keys.contains(k)), "{split} {stop_at}");
                assert!(!keys.contains(39), "{split} {stop_at}");
                // Every store counted once, whichever thread walked it.
                assert_eq!(s.map(|s| (s.pos, s.stores)), Some((split, 40)));
            }
        }
    }
}
