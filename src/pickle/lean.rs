//! The lean machine: CPython's stack, marks and memo like [`super::machine`], keeping nodes
//! only for what a report reads — instances, globals and the containers that hold them, BUILD
//! states, call arguments, the root and the memo entries fetched again. Other scalars and
//! plain containers stay bytes in the file: a container's fate is decided when it is put into
//! another one (a tuple keeps its items undecided: call arguments and array states are tuples).

use foldhash::{HashMap, HashSet};

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::fetched::{
    Fetched, KeySet, Split, fetched_keys, fetched_keys_after, fetched_keys_file,
    fetched_keys_file_after, split_point,
};
use super::helper::Helper;
use super::window::{LARGE_PAYLOAD, MARGIN, decode, len_from_header, read_head, read_instr_at};

use super::edges::{self, Pieces};
use super::frame::frame_len;
use super::graph::*;
use super::machine::{highest_protocol, memo_key, scalar_kind, two_lines};
use super::ops::Op;
use super::scan::Instr;

mod segment;

/// Why the lean machine stopped short.
#[derive(Debug)]
enum Halt {
    /// It met something it does not model (persistent ids, out-of-band buffers, extension
    /// codes, several pickles, a container changed through the memo after it was decided,
    /// an error): the caller parses the file with the full machine instead, which also
    /// words any error.
    Bail,
    /// Unwalked ([`Fetched::Guessed`]), a GET read a store that kept no entry: the pass is
    /// done again after the walk, which need only walk on from the GET.
    Miss(Box<Missed>),
}

/// What a guessed pass knew when a GET missed.
#[derive(Debug)]
struct Missed {
    /// The GET's offset.
    at: usize,
    /// The keys the GETs before it read.
    read: KeySet,
    /// The offsets of the memo stores before it.
    put_pos: PosIndex,
    /// A store before it named its key (PUT, BINPUT or LONG_BINPUT).
    explicit: bool,
}

use Halt::Bail;

type R<T> = Result<T, Halt>;

/// Stands for "no node yet" in an item.
const VIRTUAL: NodeId = u32::MAX - 3;
const NONE: u32 = u32::MAX;
/// Items an undecided container holding no instance keeps before it forgets them.
const SPILL: usize = 4096;
/// [`Lean::quick`]'s answer for an instruction the machine stops before (the view ends
/// inside the batch a MARK starts).
const STOP_BEFORE: usize = usize::MAX;

/// A stack item: a node, or an object still in the file (a scalar, or a container with its
/// undecided items in `pend`).
#[derive(Debug, Clone, Copy)]
struct Item {
    node: NodeId,
    /// Its memo entry, if stored.
    entry: u32,
    /// The undecided items of a container without a node.
    pend: u32,
    op: Op,
    /// True when this stack item made the object (not a GET or DUP copy).
    def: bool,
    /// Bytes past `end` its container entry spans (the APPEND or SETITEM that added it).
    tail: u8,
    start: u64,
    /// Where it ends once taken off the stack (the next item's start, or the op taking it).
    end: u64,
}

impl Item {
    /// A scalar never stored in the memo: nothing to decide or update for it.
    #[inline]
    fn is_bare(&self) -> bool {
        self.node == VIRTUAL && self.pend == NONE && self.entry == NONE
    }
    fn new(op: Op, start: usize) -> Item {
        Item {
            node: VIRTUAL,
            entry: NONE,
            pend: NONE,
            op,
            def: true,
            tail: 0,
            start: start as u64,
            end: start as u64,
        }
    }
    /// The span of the container entry it ends.
    fn span_from(&self, start: u64) -> Span {
        Span {
            start,
            end: self.end + u64::from(self.tail),
        }
    }
}

/// The undecided items of a container without a node, as they were taken off the stack
/// (key and value in turn for a dict).
#[derive(Debug, Default)]
struct Pend {
    items: Vec<Item>,
    /// Items come in pairs (a dict).
    pairs: bool,
    /// Holds an instance, global or call (directly or through kept containers).
    pinned: bool,
    /// Its items were forgotten (more than [`SPILL`] with nothing pinned).
    lossy: bool,
    /// Its items may hold undecided containers (a tuple's; the items of a list, dict or set
    /// are decided when put in).
    nested: bool,
}

/// One memoized object that some GET fetches.
#[derive(Debug, Clone, Copy)]
struct Entry {
    node: NodeId,
    pend: u32,
    /// Span length once the object is closed.
    len: u32,
    op: Op,
    fetched: bool,
    start: u64,
    /// Offset of the store that made it.
    put: u64,
}

/// How the lean parse learns which memo stores some GET reads (the graph is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// A walk over the stream first finds the keys GETs read; the main pass keeps an entry
    /// for those stores only.
    Walk,
    /// The main pass alone, keeping an entry for every store its own path takes and none for
    /// those inside a batch of scalars (a list or dict filled in place, the bulk of an
    /// object-heavy stream); when a GET reads a store that kept none, the pass is done again
    /// after the walk ([`Keys::Walk`]).
    Guess,
}

/// Parses a file holding one pickle into a lean graph; `None` when the full machine must do
/// it (see [`Halt::Bail`]).
pub fn parse_lean(data: &[u8]) -> Option<Graph> {
    parse_lean_with(data, Keys::Guess)
}

/// [`parse_lean`], learning the fetched keys as `keys` says.
pub fn parse_lean_with(data: &[u8], keys: Keys) -> Option<Graph> {
    if data.is_empty() || data.len() as u64 > MAX_OFFSET {
        return None;
    }
    let mut known = None;
    if keys == Keys::Guess {
        let mut m = Lean::new(data, data.len(), Fetched::Guessed, None);
        // Whatever else stopped it, the walked pass decides (and words it).
        match m.run() {
            Ok(true) => return Some(m.finish()),
            Err(Halt::Miss(missed)) => {
                known = Some(fetched_keys_after(data, missed.at, missed.read)?)
            }
            _ => {}
        }
    }
    let fetched = match known {
        Some(k) => k,
        None => fetched_keys(data)?,
    };
    let mut m = Lean::new(data, data.len(), Fetched::Known(fetched), None);
    m.run().ok()?.then_some(())?;
    Some(m.finish())
}

/// [`parse_lean`] of a file of `len` bytes read in windows of `window` bytes (`pread`; see
/// [`super::window::WINDOW`]): the file is never held whole, and large byte payloads are
/// stepped over unread.
///
/// A framed file (protocol 4 or 5) of 4 MiB or more is parsed on two cores: the main pass
/// (and the walk, when one is needed: [`Keys::Guess`]) is split at the FRAME nearest the
/// middle ([`segment`]). When the first part's thread is done before the second's, it waits
/// while the second keeps up, and once the second stalls or lags (its core busy) stops it
/// where it is and goes on from there itself ([`Handover::WhenFirstDone`]).
pub fn parse_lean_file(file: &File, len: u64, window: usize) -> Option<Graph> {
    parse_lean_file_with(
        file,
        len,
        window,
        None,
        Handover::WhenFirstDone,
        Keys::Guess,
    )
    .map(|(g, _)| g)
}

pub use segment::{Handover, SplitRun};

/// [`parse_lean_file`] with both passes split at `split` (a FRAME opcode's offset) instead
/// of the frame nearest the middle (the same graph wherever the split is), and how the
/// split went. The second part runs to its end ([`Handover::Never`]): the same split goes
/// the same way every time.
pub fn parse_lean_file_split(
    file: &File,
    len: u64,
    window: usize,
    split: Option<usize>,
    keys: Keys,
) -> Option<(Graph, SplitRun)> {
    parse_lean_file_with(file, len, window, split, Handover::Never, keys)
}

/// [`parse_lean_file_split`] with the second part of the main pass ending as `handover`
/// says (the same graph however it ends).
pub fn parse_lean_file_with(
    file: &File,
    len: u64,
    window: usize,
    split: Option<usize>,
    handover: Handover,
    keys: Keys,
) -> Option<(Graph, SplitRun)> {
    if len == 0 || len > MAX_OFFSET {
        return None;
    }
    let size = usize::try_from(len).ok()?;
    let split = split_point(file, len, split);
    std::thread::scope(|s| {
        // One helper thread for every pass of a file split over two cores.
        let helper = split.map(|_| Helper::start(s));
        let main = |fetched: Fetched, split: Option<Split>| -> R<(Graph, SplitRun)> {
            let copy = file.try_clone().map_err(|_| Bail)?;
            let m: Lean<'static> = Lean::new(&[], size, fetched, Some(copy));
            let (m, how) = match (split, &helper) {
                (Some(split), Some(helper)) => {
                    segment::run_split(m, (file, len, window), split, handover, helper)?
                }
                _ => (
                    segment::run_file(m, file, len, window)?,
                    SplitRun::default(),
                ),
            };
            Ok((m.finish(), how))
        };
        let mut missed = None;
        if keys == Keys::Guess {
            // Whatever else stopped it, the walked pass decides (and words it).
            match main(Fetched::Guessed, split.map(Split::unwalked)) {
                Ok(done) => return Some(done),
                Err(Halt::Miss(m)) => missed = Some(m),
                Err(Bail) => {}
            }
        }
        let (fetched, split, walked_from) = match missed {
            // Missed past the split (or unsplit): the keys GETs read before the miss are
            // known, so only the rest is walked, on this core, and the split's memo count
            // is the guessed pass's (the stores in all: before the miss and the walk's).
            Some(m) if split.is_none_or(|s| m.at >= s) => {
                let (keys, rest) = fetched_keys_file_after(file, len, window, m.at, m.read)?;
                let split = split.filter(|_| !m.explicit).map(|pos| Split {
                    pos,
                    memo_count: Some(m.put_pos.count_below(pos as u64) as u64),
                    stores: m.put_pos.len() + rest,
                });
                (keys, split, m.at)
            }
            _ => {
                let (keys, split) = fetched_keys_file(file, len, window, split, helper.as_ref())?;
                (keys, split, 0)
            }
        };
        let (g, how) = main(Fetched::Known(fetched), split).ok()?;
        Some((
            g,
            SplitRun {
                walked: true,
                walked_from,
                ..how
            },
        ))
    })
}

struct Lean<'a> {
    /// The file's bytes from `base` on (all of them, or a window).
    data: &'a [u8],
    base: usize,
    /// `data` reaches the end of the file.
    at_end: bool,
    /// The file's length.
    len: usize,
    /// The file, to read an instruction outside the window again.
    file: Option<File>,
    /// Where the walk goes on, and what it saw so far.
    pos: usize,
    memoize: bool,
    protocol: u8,
    saw_proto: bool,
    g: Graph,
    pieces: Pieces,
    stack: Vec<Item>,
    marks: Vec<(usize, usize)>,
    /// Memo keys stored so far (kept from the first explicit store on: before it, MEMOIZE
    /// keys are `0..memo_count`).
    used: KeySet,
    explicit: bool,
    /// The stores some GET may read.
    fetched: Fetched,
    /// Memo key -> entry, for the keys some GET reads (dense from 0, sparse beyond).
    emap: Vec<u32>,
    emap_far: HashMap<u64, u32>,
    memo_count: u64,
    entries: Vec<Entry>,
    /// Offsets of every memo store.
    put_pos: PosIndex,
    pends: Vec<Pend>,
    free: Vec<u32>,
    /// Container nodes that hold an instance, global or call.
    pins: HashSet<NodeId>,
    /// Container nodes made for a decided container whose items were not kept.
    hollow: HashSet<NodeId>,
    scratch: Vec<Item>,
    /// The memo stores of a batch being taken ([`Lean::kept_batch`]).
    batch_stores: Vec<usize>,
    /// A worklist [`Lean::free_pend`] reuses.
    work: Vec<u32>,
    /// Set in the machine of a main pass's second part ([`segment`]).
    seg: Option<Box<segment::Seg>>,
    /// Where the machine's run over the bytes in view began.
    view_from: usize,
    /// Objects the stream makes (what the full machine makes nodes of).
    objects: u64,
    /// Guessed ([`Fetched::Guessed`]): the keys GETs read so far.
    read: KeySet,
}

fn container_kind(op: Op) -> Option<Kind> {
    Some(match op {
        Op::EMPTY_DICT | Op::DICT => Kind::Dict,
        Op::EMPTY_LIST | Op::LIST => Kind::List,
        Op::EMPTY_TUPLE | Op::TUPLE | Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 => Kind::Tuple,
        Op::EMPTY_SET => Kind::Set,
        Op::FROZENSET => Kind::FrozenSet,
        _ => return None,
    })
}

/// The opcode bytes [`Lean::quick`] takes.
const BININT1: u8 = Op::BININT1 as u8;
const BININT2: u8 = Op::BININT2 as u8;
const BININT: u8 = Op::BININT as u8;
const BINFLOAT: u8 = Op::BINFLOAT as u8;
const NONE_OP: u8 = Op::NONE as u8;
const NEWTRUE: u8 = Op::NEWTRUE as u8;
const NEWFALSE: u8 = Op::NEWFALSE as u8;
const SHORT_BINUNICODE: u8 = Op::SHORT_BINUNICODE as u8;
const MARK: u8 = Op::MARK as u8;
const FRAME_OP: u8 = Op::FRAME as u8;
const EMPTY_DICT: u8 = Op::EMPTY_DICT as u8;
const EMPTY_LIST: u8 = Op::EMPTY_LIST as u8;
const APPENDS: u8 = Op::APPENDS as u8;
const SETITEMS: u8 = Op::SETITEMS as u8;
const MEMOIZE: u8 = Op::MEMOIZE as u8;
const BINGET: u8 = Op::BINGET as u8;

/// Per opcode byte: the length of a number, None or bool (an instruction of fixed length
/// with nothing to check), else 0.
static SCALAR_LEN: [u8; 256] = {
    let mut t = [0u8; 256];
    t[BININT1 as usize] = 2;
    t[BININT2 as usize] = 3;
    t[BININT as usize] = 5;
    t[BINFLOAT as usize] = 9;
    t[NONE_OP as usize] = 1;
    t[NEWTRUE as usize] = 1;
    t[NEWFALSE as usize] = 1;
    t
};

/// The length of the ASCII string (SHORT_BINUNICODE) at `data[r]`; `None` when it is not
/// ASCII (the machine then checks its UTF-8) or not whole in view.
#[inline(always)]
fn ascii_len(data: &[u8], r: usize) -> Option<usize> {
    let n = usize::from(*data.get(r + 1)?);
    let text = data.get(r + 2..r + 2 + n)?;
    // No byte with its high bit set: a short one (most keys) in one load of the eight bytes
    // from its start, the bytes past it masked off; else eight at a time.
    if n <= 8
        && let Some(w) = data
            .get(r + 2..r + 10)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let mask = match n {
            8 => u64::MAX,
            _ => (1u64 << (8 * n)) - 1,
        };
        return (u64::from_le_bytes(w) & mask & 0x8080_8080_8080_8080 == 0).then_some(2 + n);
    }
    let mut words = text.chunks_exact(8);
    let mut acc = 0u64;
    for w in &mut words {
        acc |= <[u8; 8]>::try_from(w).map_or(u64::MAX, u64::from_le_bytes);
    }
    for &b in words.remainder() {
        acc |= u64::from(b);
    }
    (acc & 0x8080_8080_8080_8080 == 0).then_some(2 + n)
}

/// Where [`Lean::kept_batch`] makes a batch's items: on the stack (for
/// [`Lean::add_from`] to add to a container with a node), straight into an undecided
/// container's items (pend), or nowhere (a container that forgot its items).
#[derive(Debug, Clone, Copy)]
enum Sink {
    Stack,
    Pend(usize),
    Nowhere,
}

/// How [`Lean::batch`] went.
enum Batch {
    /// Taken whole: the machine goes on from this offset.
    Past(usize),
    /// Left to the machine's own path.
    Declined,
    /// Left too, having run past the bytes in view: a view from its MARK may hold it whole.
    Cut,
}

/// The kind of a raw byte string from its instruction's header alone (its payload unread),
/// as [`scalar_kind`] gives it.
fn raw_bytes_kind(head: &[u8], pos: usize) -> Option<(Kind, usize)> {
    let op = Op::from_byte(*head.first()?)?;
    let w = match op {
        Op::SHORT_BINBYTES => 1,
        Op::BINBYTES => 4,
        Op::BINBYTES8 | Op::BYTEARRAY8 => 8,
        _ => return None,
    };
    let n = usize::try_from(len_from_header(head, 0)?).ok()?;
    let payload = Span::new(pos + 1 + w, pos.checked_add(n)?);
    let kind = match op {
        Op::BYTEARRAY8 => Kind::ByteArray { payload },
        _ => Kind::Bytes { payload },
    };
    Some((kind, pos + n))
}

impl Lean<'static> {
    fn new(data: &[u8], len: usize, fetched: Fetched, file: Option<File>) -> Lean<'_> {
        Lean {
            data,
            base: 0,
            at_end: true,
            len,
            file,
            pos: 0,
            memoize: false,
            protocol: 0,
            saw_proto: false,
            g: Graph::default(),
            pieces: Pieces::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            used: KeySet::new((len as u64).saturating_mul(8)),
            explicit: false,
            fetched,
            emap: Vec::new(),
            emap_far: HashMap::default(),
            memo_count: 0,
            entries: Vec::new(),
            put_pos: PosIndex::default(),
            pends: Vec::new(),
            free: Vec::new(),
            pins: HashSet::default(),
            hollow: HashSet::default(),
            scratch: Vec::new(),
            batch_stores: Vec::new(),
            work: Vec::new(),
            seg: None,
            objects: 0,
            read: KeySet::new((len as u64).saturating_mul(8)),
            view_from: 0,
        }
    }
}

impl<'a> Lean<'a> {
    /// The same machine looking at other bytes of the file (`data` from `base` on).
    fn view(self, data: &[u8], base: usize, at_end: bool) -> Lean<'_> {
        Lean {
            data,
            base,
            at_end,
            len: self.len,
            file: self.file,
            pos: self.pos,
            memoize: self.memoize,
            protocol: self.protocol,
            saw_proto: self.saw_proto,
            g: self.g,
            pieces: self.pieces,
            stack: self.stack,
            marks: self.marks,
            used: self.used,
            explicit: self.explicit,
            fetched: self.fetched,
            emap: self.emap,
            emap_far: self.emap_far,
            memo_count: self.memo_count,
            entries: self.entries,
            put_pos: self.put_pos,
            pends: self.pends,
            free: self.free,
            pins: self.pins,
            hollow: self.hollow,
            scratch: self.scratch,
            batch_stores: self.batch_stores,
            work: self.work,
            seg: self.seg,
            objects: self.objects,
            read: self.read,
            view_from: self.view_from,
        }
    }

    fn finish(mut self) -> Graph {
        let mut g = self.g;
        edges::gather(&mut g, &mut self.pieces);
        g.puts.sort_by_key(|p| p.pos);
        g.lean = Some(Box::new(LeanCounts {
            objects: self.objects,
            put_pos: self.put_pos,
        }));
        g
    }

    /// The kind of the scalar whose instruction starts at `pos`: decoded from the bytes in
    /// view, else read from the file again.
    fn kind_at(&self, pos: u64) -> R<Kind> {
        let pos = usize::try_from(pos).map_err(|_| Bail)?;
        if let Some(i) = pos
            .checked_sub(self.base)
            .and_then(|rel| decode(self.data, rel, self.base))
        {
            return scalar_kind(&i).map_err(|_| Bail);
        }
        let file = self.file.as_ref().ok_or(Bail)?;
        let head = read_head(file, self.len, pos).ok_or(Bail)?;
        // A raw byte string: its header says all (a large payload stays unread).
        if let Some((kind, _)) = raw_bytes_kind(&head, pos) {
            return Ok(kind);
        }
        let b = read_instr_at(file, self.len as u64, pos as u64, usize::MAX).ok_or(Bail)?;
        let i = decode(&b, 0, pos).ok_or(Bail)?;
        scalar_kind(&i).map_err(|_| Bail)
    }

    /// Steps over a raw byte string whose payload is not in view (large, never read): its
    /// item is pushed; the offset past it, or `None` when the bytes at `pos` are not one.
    fn big_bytes(&mut self, pos: usize) -> R<Option<usize>> {
        let rel = pos - self.base;
        let Some((kind, end)) = raw_bytes_kind(self.data.get(rel..).unwrap_or(&[]), pos) else {
            return Ok(None);
        };
        let (Kind::Bytes { payload } | Kind::ByteArray { payload }) = kind else {
            return Ok(None);
        };
        if payload.end - payload.start < LARGE_PAYLOAD || end > self.len {
            return Ok(None);
        }
        let op = Op::from_byte(self.data[rel]).ok_or(Bail)?;
        self.g.op_count += 1;
        self.objects += 1;
        self.stack.push(Item::new(op, pos));
        Ok(Some(end))
    }

    fn new_node(&mut self, kind: Kind, op: Op, start: u64, end: u64) -> R<NodeId> {
        let id = self.g.nodes.len();
        if id >= (VIRTUAL - 1) as usize || end < start {
            return Err(Bail);
        }
        self.g.nodes.push(Node {
            kind,
            op,
            span: Span { start, end },
            state: NO_NODE,
        });
        Ok(id as NodeId)
    }

    fn resolve(&self, it: &Item) -> Option<NodeId> {
        if it.node != VIRTUAL {
            return Some(it.node);
        }
        let e = self.entries.get(it.entry as usize)?;
        (e.node != NO_NODE).then_some(e.node)
    }

    fn is_pin(&self, n: NodeId) -> bool {
        // A node still packed as a scalar (a memo entry fetched again, often) is no global or
        // call, and not in `pins`: those are containers, or nodes given edges, which are
        // stored whole ([`super::nodes::Nodes::slot_for_edges`]).
        if self.g.nodes.is_scalar(n as usize) {
            return false;
        }
        match self.g.nodes.get(n as usize).map(|n| n.kind) {
            Some(Kind::Global { .. } | Kind::Call { .. } | Kind::PersId { .. }) => true,
            Some(Kind::Ext(_) | Kind::Buffer { .. }) => true,
            _ => self.pins.contains(&n),
        }
    }

    /// True when the item is or holds an instance, global or call.
    fn pins_item(&self, it: &Item) -> bool {
        match self.resolve(it) {
            Some(n) => self.is_pin(n),
            None => self
                .pends
                .get(it.pend as usize)
                .is_some_and(|p| it.pend != NONE && p.pinned),
        }
    }

    fn new_pend(&mut self) -> u32 {
        match self.free.pop() {
            Some(p) => p,
            None => {
                self.pends.push(Pend::default());
                (self.pends.len() - 1) as u32
            }
        }
    }

    /// The memo entry of `it` no longer has undecided items to give (a GET then makes a node
    /// without edges).
    fn forget(&mut self, it: &Item) {
        if let Some(e) = self.entries.get_mut(it.entry as usize) {
            e.pend = NONE;
        }
    }

    /// Forgets the items of pend `p` and of the undecided containers among them.
    #[inline(always)]
    fn free_pend(&mut self, p: u32) {
        // Nothing nested in it (a list, dict or set; a tuple of bare items): no worklist.
        if let Some(pend) = self.pends.get_mut(p as usize)
            && !pend.nested
        {
            pend.items.clear();
            pend.pinned = false;
            pend.lossy = false;
            self.free.push(p);
            return;
        }
        self.free_nested(p);
    }

    /// [`Lean::free_pend`] of a pend that may hold undecided containers.
    #[inline(never)]
    fn free_nested(&mut self, p: u32) {
        let mut work = std::mem::take(&mut self.work);
        work.clear();
        work.push(p);
        while let Some(p) = work.pop() {
            let Some(pend) = self.pends.get_mut(p as usize) else {
                continue;
            };
            let mut items = std::mem::take(&mut pend.items);
            pend.pinned = false;
            pend.lossy = false;
            if std::mem::take(&mut pend.nested) {
                for it in &items {
                    if it.pend != NONE && self.resolve(it).is_none() {
                        work.push(it.pend);
                        self.forget(it);
                    }
                }
            }
            items.clear();
            if let Some(pend) = self.pends.get_mut(p as usize) {
                pend.items = items;
            }
            self.free.push(p);
        }
        self.work = work;
    }

    /// An item put into a list, dict or set: a container without an instance inside is
    /// decided here and keeps no items; one with an instance inside gets its node.
    fn consume_plain(&mut self, mut it: Item) -> R<Item> {
        if let Some(n) = self.resolve(&it) {
            it.node = n;
            return Ok(it);
        }
        if it.pend == NONE {
            return Ok(it);
        }
        if self.pends.get(it.pend as usize).is_some_and(|p| p.pinned) {
            it.node = self.deep(it)?;
            it.pend = NONE;
            return Ok(it);
        }
        self.free_pend(it.pend);
        self.forget(&it);
        it.pend = NONE;
        Ok(it)
    }

    /// The node of an item kept as a child of a kept node: made now if it has none (a
    /// decided container without its items is a node without edges).
    fn leaf(&mut self, it: Item) -> R<NodeId> {
        if let Some(n) = self.resolve(&it) {
            return Ok(n);
        }
        if it.pend != NONE {
            return self.deep(it);
        }
        let n = match container_kind(it.op) {
            Some(k) => {
                let n = self.new_node(k, it.op, it.start, it.end)?;
                self.hollow.insert(n);
                n
            }
            None => {
                let kind = self.kind_at(it.start)?;
                self.new_node(kind, it.op, it.start, it.end)?
            }
        };
        if let Some(e) = self.entries.get_mut(it.entry as usize) {
            e.node = n;
        }
        Ok(n)
    }

    /// The node of an item whose contents are read (a state, call arguments, the root).
    fn need_real(&mut self, it: Item) -> R<NodeId> {
        if let Some(n) = self.resolve(&it) {
            if self.hollow.contains(&n) {
                return Err(Bail);
            }
            return Ok(n);
        }
        if it.pend == NONE && container_kind(it.op).is_some() {
            return Err(Bail);
        }
        self.leaf(it)
    }

    /// The root's node: [`Lean::need_real`], except for a container that forgot its items
    /// (more than [`SPILL`], nothing pinned: a list of a million records, say), which gets a
    /// node without edges, as a decided container does (its items are read from the file
    /// when the explorer opens it).
    fn root_node(&mut self, it: Item) -> R<NodeId> {
        let forgot = self.resolve(&it).is_none()
            && it.pend != NONE
            && self
                .pends
                .get(it.pend as usize)
                .is_some_and(|p| p.lossy && !p.pinned);
        if !forgot {
            return self.need_real(it);
        }
        // Decided as an item put into a container is, then a node without edges.
        let it = self.consume_plain(it)?;
        self.leaf(it)
    }

    /// Gives an undecided container (and the undecided containers in it) a node and edges.
    fn deep(&mut self, root: Item) -> R<NodeId> {
        enum Frame {
            Enter(Item, Option<(u32, usize)>),
            Exit(Item, Option<(u32, usize)>),
        }
        let mut work = vec![Frame::Enter(root, None)];
        let mut result = NO_NODE;
        while let Some(f) = work.pop() {
            let (n, at) = match f {
                Frame::Enter(it, at) => {
                    if self.resolve(&it).is_none() && it.pend != NONE {
                        let p = it.pend as usize;
                        if self.pends.get(p).is_none_or(|p| p.lossy) {
                            return Err(Bail);
                        }
                        work.push(Frame::Exit(it, at));
                        for (k, c) in self.pends[p].items.iter().enumerate() {
                            if c.pend != NONE && self.resolve(c).is_none() {
                                work.push(Frame::Enter(*c, Some((it.pend, k))));
                            }
                        }
                        continue;
                    }
                    (self.leaf(it)?, at)
                }
                Frame::Exit(it, at) => {
                    let p = it.pend as usize;
                    let kind = container_kind(it.op).ok_or(Bail)?;
                    let n = self.new_node(kind, it.op, it.start, it.end.max(it.start))?;
                    if let Some(e) = self.entries.get_mut(it.entry as usize) {
                        e.node = n;
                        e.pend = NONE;
                    }
                    let mut items = std::mem::take(&mut self.pends[p].items);
                    if self.pends[p].pinned {
                        self.pins.insert(n);
                    }
                    let kids = self.kids(&items, self.pends[p].pairs)?;
                    self.push_edges(n, &kids)?;
                    self.pends[p].pinned = false;
                    self.pends[p].lossy = false;
                    items.clear();
                    self.pends[p].items = items;
                    self.free.push(p as u32);
                    (n, at)
                }
            };
            match at {
                Some((p, k)) => {
                    if let Some(s) = self
                        .pends
                        .get_mut(p as usize)
                        .and_then(|p| p.items.get_mut(k))
                    {
                        s.node = n;
                        s.pend = NONE;
                    }
                }
                None => result = n,
            }
        }
        Ok(result)
    }

    /// The `(key, value, span)` children of a container's items, each made a node.
    fn kids(&mut self, items: &[Item], pairs: bool) -> R<Vec<(NodeId, NodeId, Span)>> {
        let step = if pairs { 2 } else { 1 };
        if !items.len().is_multiple_of(step) {
            return Err(Bail);
        }
        let mut kids = Vec::with_capacity(items.len() / step);
        for e in items.chunks_exact(step) {
            let (key, value) = match e {
                [k, v] => (self.leaf(*k)?, *v),
                [v] => (NO_NODE, *v),
                _ => return Err(Bail),
            };
            kids.push((key, self.leaf(value)?, value.span_from(e[0].start)));
        }
        Ok(kids)
    }

    fn push_edges(&mut self, parent: NodeId, kids: &[(NodeId, NodeId, Span)]) -> R<()> {
        if self.g.edges.len() + kids.len() >= u32::MAX as usize {
            return Err(Bail);
        }
        let slot = edges::open(&mut self.g, &mut self.pieces, parent);
        for &(key, value, span) in kids {
            edges::push(&mut self.g, slot, Edge { key, value, span });
        }
        Ok(())
    }

    #[inline]
    fn close(&mut self, it: &mut Item, end: usize) {
        let end = end as u64;
        it.end = end;
        if it.is_bare() || !it.def {
            return;
        }
        if let Some(n) = self.resolve(it) {
            self.g.nodes.set_end(n as usize, end);
        }
        if let Some(e) = self.entries.get_mut(it.entry as usize) {
            e.len = u32::try_from(end.saturating_sub(it.start)).unwrap_or(u32::MAX);
        }
    }

    /// Counts a store under `key`: a new key adds one to the memo.
    #[inline]
    fn store_key(&mut self, key: u64) {
        self.memo_count += if self.explicit {
            u64::from(self.used.insert(key))
        } else {
            1
        };
    }

    /// Records a memo store at `p`.
    #[inline(always)]
    fn store_pos(&mut self, p: u64) {
        self.put_pos.push(p);
    }

    fn fence(&self) -> usize {
        self.marks.last().map(|m| m.0).unwrap_or(0)
    }

    fn pop(&mut self, at: usize) -> R<Item> {
        if self.stack.len() <= self.fence() {
            return Err(Bail);
        }
        let mut it = self.stack.pop().ok_or(Bail)?;
        self.close(&mut it, at);
        Ok(it)
    }

    fn top(&self) -> R<Item> {
        if self.stack.len() <= self.fence() {
            return Err(Bail);
        }
        self.stack.last().copied().ok_or(Bail)
    }

    fn pop_n(&mut self, n: usize, end: usize) -> R<()> {
        let len = self.stack.len();
        if len < self.fence() + n {
            return Err(Bail);
        }
        self.take_from(len - n, end);
        Ok(())
    }

    fn pop_mark(&mut self, end: usize) -> R<usize> {
        let (base, mpos) = self.marks.pop().ok_or(Bail)?;
        self.take_from(base, end);
        Ok(mpos)
    }

    fn take_from(&mut self, from: usize, end: usize) {
        let mut items = std::mem::take(&mut self.scratch);
        items.clear();
        self.close_from(from, end);
        items.extend(self.stack.drain(from.min(self.stack.len())..));
        self.scratch = items;
    }

    /// Closes the stack's items from `from` up, in place: each ends where the next starts,
    /// the last at `end`.
    #[inline]
    fn close_from(&mut self, from: usize, end: usize) {
        let n = self.stack.len();
        for k in from..n {
            let e = match self.stack.get(k + 1) {
                Some(next) => next.start as usize,
                None => end,
            };
            let slot = &mut self.stack[k];
            if slot.is_bare() {
                slot.end = e as u64;
            } else {
                let mut it = *slot;
                self.close(&mut it, e);
                self.stack[k] = it;
            }
        }
    }

    /// [`Lean::close_from`] and [`Lean::consume_from`] in one pass.
    #[inline]
    fn settle_from(&mut self, from: usize, end: usize) -> R<bool> {
        let n = self.stack.len();
        let mut pin = false;
        for k in from..n {
            let e = match self.stack.get(k + 1) {
                Some(next) => next.start as usize,
                None => end,
            };
            let slot = &mut self.stack[k];
            if slot.is_bare() {
                slot.end = e as u64;
                continue;
            }
            // An undecided container without a node or memo entry and with nothing pinned
            // in it (a dict of scalars, say): closed and decided at once, as close,
            // consume_plain and pins_item would do it.
            if slot.node == VIRTUAL
                && slot.entry == NONE
                && slot.def
                && self
                    .pends
                    .get(slot.pend as usize)
                    .is_some_and(|p| !p.pinned)
            {
                slot.end = e as u64;
                let p = std::mem::replace(&mut slot.pend, NONE);
                self.free_pend(p);
                continue;
            }
            let mut it = *slot;
            self.close(&mut it, e);
            let it = self.consume_plain(it)?;
            pin |= self.pins_item(&it);
            self.stack[k] = it;
        }
        Ok(pin)
    }

    /// Decides the stack's items from `from` up as items put into a list, dict or set
    /// ([`Lean::consume_plain`]); true when one of them holds an instance, global or call.
    #[inline]
    fn consume_from(&mut self, from: usize) -> R<bool> {
        let mut pin = false;
        for k in from..self.stack.len() {
            let it = self.stack[k];
            if !it.is_bare() {
                let it = self.consume_plain(it)?;
                pin |= self.pins_item(&it);
                self.stack[k] = it;
            }
        }
        Ok(pin)
    }

    /// Makes the stack's items from `base` up (closed) the items of a new container starting
    /// at `start`, in their place.
    fn container_from(&mut self, op: Op, start: usize, base: usize) -> R<()> {
        let pairs = op == Op::DICT;
        if pairs && !(self.stack.len() - base).is_multiple_of(2) {
            return Err(Bail);
        }
        let tuple = matches!(op, Op::TUPLE | Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3);
        let pinned = if tuple {
            // A tuple's items stay undecided: call arguments and array states are tuples.
            let s = &self.stack[base..];
            s.iter().any(|it| !it.is_bare() && self.pins_item(it))
        } else {
            self.consume_from(base)?
        };
        self.objects += 1;
        let p = self.new_pend();
        let (pends, stack) = (&mut self.pends, &mut self.stack);
        let pend = &mut pends[p as usize];
        pend.items.extend_from_slice(&stack[base..]);
        pend.pairs = pairs;
        pend.pinned = pinned;
        pend.nested = tuple;
        stack.truncate(base);
        self.push_pend(op, start, p)
    }

    /// Pushes the container of pend `p` (filled), given a node now if it holds an instance.
    #[inline]
    fn push_pend(&mut self, op: Op, start: usize, p: u32) -> R<()> {
        let mut it = Item::new(op, start);
        it.pend = p;
        if self.pends[p as usize].pinned {
            it.node = self.deep(it)?;
            it.pend = NONE;
        }
        self.stack.push(it);
        Ok(())
    }

    /// An empty container.
    #[inline]
    fn push_empty(&mut self, op: Op, start: usize) -> R<()> {
        self.objects += 1;
        let p = self.new_pend();
        let pend = self.pends.get_mut(p as usize).ok_or(Bail)?;
        pend.pairs = op == Op::EMPTY_DICT;
        pend.nested = false;
        self.push_pend(op, start, p)
    }

    /// Adds the stack's items from `base` up to the container below them (APPEND(S),
    /// ADDITEMS, SETITEM(S)): the last item ends at `end`, its entry `tail` bytes further.
    fn add_from(&mut self, base: usize, end: usize, tail: u8, pairs: bool) -> R<()> {
        let len = self.stack.len();
        if base <= self.fence() || base > len {
            return Err(Bail);
        }
        if pairs && !(len - base).is_multiple_of(2) {
            return Err(Bail);
        }
        let t = self.stack[base - 1];
        if !t.def {
            return Err(Bail);
        }
        let pin = self.settle_from(base, end)?;
        if let Some(last) = self.stack.get_mut(base..).and_then(|s| s.last_mut()) {
            last.tail = tail;
        }
        if let Some(n) = self.resolve(&t) {
            if self.hollow.contains(&n) {
                return Err(Bail);
            }
            let items = std::mem::take(&mut self.scratch);
            let mut items = items;
            items.clear();
            items.extend(self.stack.drain(base..));
            let kids = self.kids(&items, pairs);
            self.scratch = items;
            self.push_edges(n, &kids?)?;
            if pin {
                self.pins.insert(n);
            }
            return Ok(());
        }
        if t.pend == NONE {
            return Err(Bail);
        }
        let p = t.pend as usize;
        let (pends, stack) = (&mut self.pends, &mut self.stack);
        let pend = &mut pends[p];
        if pend.pairs != pairs {
            return Err(Bail);
        }
        pend.pinned |= pin;
        if pend.lossy {
            stack.truncate(base);
            return if pend.pinned { Err(Bail) } else { Ok(()) };
        }
        pend.items.extend_from_slice(&stack[base..]);
        stack.truncate(base);
        let step = if pairs { 2 } else { 1 };
        if pend.pinned {
            let n = self.deep(t)?;
            if let Some(top) = self.stack.last_mut() {
                top.node = n;
                top.pend = NONE;
            }
        } else {
            self.spill(p, step);
        }
        Ok(())
    }

    /// Forgets the items of the undecided container of pend `p` (nothing pinned) once it
    /// holds more than [`SPILL`] (pairs for a dict, `step` 2): it is then `lossy`.
    fn spill(&mut self, p: usize, step: usize) {
        if self
            .pends
            .get(p)
            .is_none_or(|pend| pend.items.len() <= SPILL * step)
        {
            return;
        }
        let items = std::mem::take(&mut self.pends[p].items);
        for it in &items {
            if it.pend != NONE && self.resolve(it).is_none() {
                self.free_pend(it.pend);
                self.forget(it);
            }
        }
        self.pends[p].lossy = true;
    }

    fn entry_of(&self, key: u64) -> Option<u32> {
        match self.emap.get(key as usize) {
            Some(&e) if e != NONE => Some(e),
            _ => self.emap_far.get(&key).copied(),
        }
    }

    fn set_entry(&mut self, key: u64, e: u32) {
        let k = key as usize;
        if k < self.emap.len() {
            self.emap[k] = e;
            self.emap_far.remove(&key);
        } else if k < self.emap.len() + 4096 && !self.emap_far.contains_key(&key) {
            self.emap.resize(k, NONE);
            self.emap.push(e);
        } else {
            self.emap_far.insert(key, e);
        }
    }

    fn text_of(&self, it: &Item) -> R<TextRef> {
        let kind = match self.resolve(it) {
            Some(n) => self.g.nodes.get(n as usize).ok_or(Bail)?.kind,
            None if it.pend == NONE && container_kind(it.op).is_none() => self.kind_at(it.start)?,
            None => return Err(Bail),
        };
        match kind {
            Kind::Str(t) => Ok(t),
            _ => Err(Bail),
        }
    }

    fn push_real(&mut self, node: NodeId, start: u64) {
        self.stack.push(Item {
            tail: 0,
            node,
            entry: NONE,
            pend: NONE,
            op: Op::STOP,
            def: true,
            start,
            end: start,
        });
    }

    /// A call made from the items `f` (its callable, whose node starts the call's span at
    /// `start`), `args` and `kwargs`.
    fn call(
        &mut self,
        i: &Instr,
        how: CallKind,
        f: Item,
        start: u64,
        args: NodeId,
        kwargs: NodeId,
    ) -> R<()> {
        let callable = self.leaf(f)?;
        self.objects += 1;
        let id = self.new_node(
            Kind::Call {
                how,
                callable,
                args,
                kwargs,
            },
            i.op,
            start,
            start,
        )?;
        self.push_real(id, start);
        Ok(())
    }

    /// The most common instructions of object-heavy streams, taken before the machine
    /// decodes them in full: a number, None, a bool or an ASCII string (an item pushed,
    /// nothing else to check), MARK, an empty dict or list, APPENDS and SETITEMS, a MEMOIZE
    /// no GET reads, and BINGET. The offset past it, [`STOP_BEFORE`] (a MARK after where this
    /// run began whose batch the view cuts), or `None` for the machine's own path (anything
    /// else, or an instruction not whole in view).
    #[inline(always)]
    fn quick(&mut self, data: &[u8], base: usize, pos: usize) -> R<Option<usize>> {
        let Some(rel) = pos.checked_sub(base) else {
            return Ok(None);
        };
        let Some(&code) = data.get(rel) else {
            return Ok(None);
        };
        // Matched on the byte itself: each fixed length is a constant of its arm, so the
        // next offset waits on no load but this one (a table's length would chain every
        // step through two loads).
        let (len, op) = match code {
            BININT1 => (2, Op::BININT1),
            BININT2 => (3, Op::BININT2),
            BININT => (5, Op::BININT),
            BINFLOAT => (9, Op::BINFLOAT),
            NONE_OP => (1, Op::NONE),
            NEWTRUE => (1, Op::NEWTRUE),
            NEWFALSE => (1, Op::NEWFALSE),
            SHORT_BINUNICODE => {
                // Valid UTF-8 when ASCII (else the machine checks it).
                let Some(&n) = data.get(rel + 1) else {
                    return Ok(None);
                };
                let n = usize::from(n);
                if !data.get(rel + 2..rel + 2 + n).is_some_and(<[u8]>::is_ascii) {
                    return Ok(None);
                }
                (2 + n, Op::SHORT_BINUNICODE)
            }
            MARK => {
                self.g.op_count += 1;
                self.marks.push((self.stack.len(), pos));
                return Ok(Some(match self.batch(data, rel + 1, pos + 1)? {
                    Batch::Past(next) => next,
                    Batch::Cut if pos > self.view_from && !self.at_end => {
                        // The batch runs past the bytes in view: the machine stops before
                        // its MARK, for the next view to start there and hold it whole
                        // (else its items are taken one instruction at a time).
                        self.g.op_count -= 1;
                        self.marks.pop();
                        STOP_BEFORE
                    }
                    Batch::Cut | Batch::Declined => pos + 1,
                }));
            }
            EMPTY_DICT | EMPTY_LIST => {
                let op = if code == EMPTY_DICT {
                    Op::EMPTY_DICT
                } else {
                    Op::EMPTY_LIST
                };
                self.g.op_count += 1;
                self.push_empty(op, pos)?;
                return Ok(Some(self.memoize_next(data, rel + 1, pos + 1)));
            }
            APPENDS | SETITEMS => {
                // APPENDS or SETITEMS onto the container below the mark; in a second part
                // only where it is the part's own ([`segment`]: else an event or a stop).
                let Some(&(from, _)) = self.marks.last() else {
                    return Ok(None);
                };
                if self.seg.is_some() && !self.adds_own() {
                    return Ok(None);
                }
                self.g.op_count += 1;
                self.marks.pop();
                self.add_from(from, pos, 0, code == SETITEMS)?;
                return Ok(Some(pos + 1));
            }
            MEMOIZE => {
                return Ok(self.memoize_quick(pos).then_some(pos + 1));
            }
            // A second part stops before a GET ([`segment`]).
            BINGET if self.seg.is_none() => {
                let Some(&key) = data.get(rel + 1) else {
                    return Ok(None);
                };
                self.g.op_count += 1;
                self.fetch(u64::from(key), pos)?;
                return Ok(Some(pos + 2));
            }
            _ => return Ok(None),
        };
        if rel + len > data.len() {
            return Ok(None);
        }
        self.g.op_count += 1;
        self.objects += 1;
        self.stack.push(Item::new(op, pos));
        Ok(Some(if op == Op::SHORT_BINUNICODE {
            self.memoize_next(data, rel + len, pos + len)
        } else {
            pos + len
        }))
    }

    /// A GET at `p` of the memo entry stored under `key`: its object's node (made now if it
    /// has none), pushed as a copy.
    fn fetch(&mut self, key: u64, p: usize) -> R<()> {
        let Some(e) = self.entry_of(key) else {
            return Err(self.miss(p));
        };
        if self.fetched.guessed() {
            self.read.insert(key);
        }
        let ent = *self.entries.get(e as usize).ok_or(Bail)?;
        let it = Item {
            tail: 0,
            node: VIRTUAL,
            entry: e,
            pend: ent.pend,
            op: ent.op,
            def: true,
            start: ent.start,
            end: ent.start + u64::from(ent.len),
        };
        // Its node, or one made now (`leaf` resolves the entry first).
        let n = self.leaf(it)?;
        if let Some(en) = self.entries.get_mut(e as usize)
            && !en.fetched
        {
            en.fetched = true;
            let pos = en.put;
            self.g.puts.push(MemoSite { pos, node: n });
        }
        self.g.gets.push(MemoSite {
            pos: p as u64,
            node: n,
        });
        self.stack.push(Item {
            tail: 0,
            node: n,
            entry: e,
            pend: NONE,
            op: ent.op,
            def: false,
            start: p as u64,
            end: p as u64,
        });
        Ok(())
    }

    /// Why a GET at `p` finds no entry: a guessed pass missed (with what it knew), else the
    /// key was never stored.
    #[cold]
    fn miss(&mut self, p: usize) -> Halt {
        if !self.fetched.guessed() {
            return Bail;
        }
        Halt::Miss(Box::new(Missed {
            at: p,
            read: std::mem::take(&mut self.read),
            put_pos: std::mem::take(&mut self.put_pos),
            explicit: self.explicit,
        }))
    }

    /// After a MARK at `pos - 1` (`data[rel]` on), a batch of scalars added at once to the
    /// dict or list below the mark when nothing is pinned in it, undecided or given a node
    /// ([`Lean::dropped_batch`], [`Lean::kept_batch`]): taken whole (the machine goes on past
    /// its APPENDS or SETITEMS), or left to the machine's own path from `pos` ([`Batch`]).
    #[inline(always)]
    fn batch(&mut self, data: &[u8], rel: usize, pos: usize) -> R<Batch> {
        let base = self.stack.len();
        let Some(t) = base.checked_sub(1).and_then(|k| self.stack.get(k)) else {
            return Ok(Batch::Declined);
        };
        // The container below the mark, as add_from finds it: made here (not a copy), above
        // the mark below (`adds_own`), with nothing pinned in it.
        if !t.def || !self.adds_own() {
            return Ok(Batch::Declined);
        }
        let pairs = match t.op {
            Op::EMPTY_DICT | Op::DICT => true,
            Op::EMPTY_LIST | Op::LIST => false,
            _ => return Ok(Batch::Declined),
        };
        if let Some(n) = self.resolve(t) {
            if self.hollow.contains(&n) || self.pins.contains(&n) {
                return Ok(Batch::Declined);
            }
            return self.kept_batch(data, rel, pos, pairs, Sink::Stack);
        }
        let p = t.pend as usize;
        let Some(pend) = self.pends.get(p) else {
            return Ok(Batch::Declined);
        };
        if pend.pinned || pend.pairs != pairs {
            return Ok(Batch::Declined);
        }
        if !pend.lossy {
            return self.kept_batch(data, rel, pos, pairs, Sink::Pend(p));
        }
        if !pairs {
            let next = self.dropped_batch(data, rel, pos);
            if next != pos {
                return Ok(Batch::Past(next));
            }
        }
        self.kept_batch(data, rel, pos, pairs, Sink::Nowhere)
    }

    /// [`Lean::batch`] into a list which already forgot its items (more than [`SPILL`]):
    /// numbers, None and bools stepped over and counted, as [`Lean::add_from`] would drop
    /// them.
    #[inline(always)]
    fn dropped_batch(&mut self, data: &[u8], rel: usize, pos: usize) -> usize {
        let mut r = rel;
        let mut n = 0u64;
        // The opcode before and its length: a run of one kind steps by a length held, not
        // one looked up.
        let (mut last, mut step) = (0u8, 0usize);
        loop {
            let Some(&code) = data.get(r) else {
                return pos;
            };
            if code == last {
                r += step;
                n += 1;
                continue;
            }
            let len = SCALAR_LEN[usize::from(code)];
            if len == 0 {
                break;
            }
            (last, step) = (code, usize::from(len));
            r += step;
            n += 1;
        }
        if data[r] != APPENDS {
            return pos;
        }
        self.marks.pop();
        self.g.op_count += n + 1;
        self.objects += n;
        pos + (r - rel) + 1
    }

    /// [`Lean::batch`] into a container that keeps its items (`pairs` for a dict): numbers,
    /// None, bools, ASCII strings, and empty dicts and lists filled in place with those, each
    /// maybe memoized under a key no GET reads, up to the APPENDS or SETITEMS that adds
    /// them. An inner container is decided when added, its items forgotten
    /// ([`Lean::settle_from`]): it is made a bare item and its items are stepped over
    /// ([`Lean::skip_filled`]). The items are made as they come, where `sink` says, the
    /// stores kept aside, and at the end the items are added as [`Lean::add_from`] adds
    /// them; anything else undoes it for the machine's own path.
    #[inline(never)]
    fn kept_batch(
        &mut self,
        data: &[u8],
        rel: usize,
        pos: usize,
        pairs: bool,
        sink: Sink,
    ) -> R<Batch> {
        if self.explicit {
            return Ok(Batch::Declined);
        }
        let close = if pairs { SETITEMS } else { APPENDS };
        let mut out = match sink {
            Sink::Stack => std::mem::take(&mut self.stack),
            Sink::Pend(p) => std::mem::take(&mut self.pends[p].items),
            Sink::Nowhere => std::mem::take(&mut self.scratch),
        };
        let base = out.len();
        // File offset = relative offset + `shift`.
        let shift = pos - rel;
        let mut stores = std::mem::take(&mut self.batch_stores);
        stores.clear();
        let (mut r, mut ops, mut objects) = (rel, 0u64, 0u64);
        // The last item is an inner container (true: a dict) a MARK may fill.
        let mut last_inner = None;
        let end = loop {
            let Some(&code) = data.get(r) else {
                break None;
            };
            ops += 1;
            let len = usize::from(SCALAR_LEN[usize::from(code)]);
            if len != 0 {
                let op = Op::from_byte(code).unwrap_or(Op::NONE);
                out.push(Item::new(op, shift + r));
                objects += 1;
                last_inner = None;
                r += len;
                continue;
            }
            match code {
                SHORT_BINUNICODE => {
                    let Some(len) = ascii_len(data, r) else {
                        break None;
                    };
                    out.push(Item::new(Op::SHORT_BINUNICODE, shift + r));
                    objects += 1;
                    last_inner = None;
                    r += len;
                }
                MEMOIZE => {
                    if out.len() == base || self.fetched_store(stores.len()) {
                        break None;
                    }
                    stores.push(shift + r);
                    r += 1;
                }
                EMPTY_DICT | EMPTY_LIST => {
                    let dict = code == EMPTY_DICT;
                    let op = if dict { Op::EMPTY_DICT } else { Op::EMPTY_LIST };
                    out.push(Item::new(op, shift + r));
                    objects += 1;
                    last_inner = Some(dict);
                    r += 1;
                }
                MARK => {
                    let Some(dict) = last_inner else {
                        break None;
                    };
                    match self.skip_filled(data, r + 1, dict, shift, &mut stores) {
                        Ok((next, n, items)) => {
                            (r, ops, objects) = (next, ops + n, objects + items)
                        }
                        Err(at) => {
                            r = at;
                            break None;
                        }
                    }
                }
                FRAME_OP if self.frame_fits(data, r, shift) => r += 9,
                c if c == close => break Some(r),
                _ => break None,
            }
        };
        // Failed where the bytes in view end: the batch may lie whole in the next view.
        let short = end.is_none() && r.saturating_add(MARGIN) >= data.len();
        let top = out.len() - base;
        let end = end.filter(|_| top > 0 && (!pairs || top.is_multiple_of(2)));
        if end.is_none() {
            // Undone: the machine takes the batch from its first instruction.
            out.truncate(base);
        }
        match sink {
            Sink::Stack => self.stack = out,
            Sink::Pend(p) => self.pends[p].items = out,
            Sink::Nowhere => self.scratch = out,
        }
        let Some(end) = end.map(|e| shift + e) else {
            self.batch_stores = stores;
            return Ok(if short { Batch::Cut } else { Batch::Declined });
        };
        let from = self.marks.pop().map_or(0, |m| m.0);
        // The closing instruction is counted with the rest.
        self.g.op_count += ops;
        self.objects += objects;
        self.memoize |= !stores.is_empty();
        for &at in &stores {
            self.store_pos(at as u64);
            self.store_key(self.memo_count);
        }
        self.batch_stores = stores;
        match sink {
            Sink::Stack => self.add_from(from, end, 0, pairs)?,
            // As add_from adds bare items to an undecided container: each ends where the
            // next starts, the last at the APPENDS or SETITEMS; past the items a container
            // keeps, they are forgotten.
            Sink::Pend(p) => {
                let items = &mut self.pends[p].items[base..];
                for k in 1..items.len() {
                    items[k - 1].end = items[k].start;
                }
                if let Some(last) = items.last_mut() {
                    last.end = end as u64;
                }
                self.spill(p, if pairs { 2 } else { 1 });
            }
            Sink::Nowhere => self.scratch.truncate(base),
        }
        Ok(Batch::Past(end + 1))
    }

    /// [`Lean::kept_batch`]'s inner container (a dict when `dict`) filled from `data[r]` on,
    /// after its MARK: numbers, None, bools and ASCII strings, maybe memoized under a key no
    /// GET reads (their offsets added to `stores`), up to its SETITEMS or APPENDS. Where it
    /// goes on (past that), the instructions and the objects stepped over; else where it
    /// stopped (at or past the end of `data` when the bytes ran out).
    #[inline(always)]
    fn skip_filled(
        &self,
        data: &[u8],
        mut r: usize,
        dict: bool,
        shift: usize,
        stores: &mut Vec<usize>,
    ) -> Result<(usize, u64, u64), usize> {
        let close = if dict { SETITEMS } else { APPENDS };
        // The closing instruction (the MARK is counted by the caller).
        let (mut ops, mut items) = (1u64, 0u64);
        loop {
            let code = *data.get(r).ok_or(r)?;
            let len = usize::from(SCALAR_LEN[usize::from(code)]);
            if len != 0 {
                r += len;
                items += 1;
                ops += 1;
                continue;
            }
            match code {
                SHORT_BINUNICODE => {
                    r += ascii_len(data, r).ok_or(r)?;
                    items += 1;
                }
                MEMOIZE => {
                    if items == 0 || self.fetched_store(stores.len()) {
                        return Err(r);
                    }
                    stores.push(shift + r);
                    r += 1;
                }
                FRAME_OP if self.frame_fits(data, r, shift) => r += 9,
                c if c == close && (!dict || items.is_multiple_of(2)) => {
                    return Ok((r + 1, ops, items));
                }
                _ => return Err(r),
            }
            ops += 1;
        }
    }

    /// True when the MEMOIZE after `pending` stores not counted yet stores under a key some
    /// GET reads (the machine's own path then makes its entry).
    #[inline(always)]
    fn fetched_store(&self, pending: usize) -> bool {
        self.fetched.batch_store(self.memo_count + pending as u64)
    }

    /// True when the FRAME at `data[r]` (file offset `r + shift`) is whole in view and its
    /// length fits in the file after it ([`Lean::frame_room`]).
    #[inline]
    fn frame_fits(&self, data: &[u8], r: usize, shift: usize) -> bool {
        frame_len(data, r).is_some_and(|n| self.frame_room(n, shift + r + 9))
    }

    /// True when a frame of `n` bytes from file offset `from` on ends within the file.
    fn frame_room(&self, n: u64, from: usize) -> bool {
        n <= self.len.saturating_sub(from) as u64
    }

    /// [`Lean::quick`]'s MEMOIZE: a store no GET reads, of an item above the mark, keys
    /// counted; false (nothing done) for the machine to take it.
    #[inline(always)]
    fn memoize_quick(&mut self, pos: usize) -> bool {
        if self.explicit
            || self.stack.len() <= self.fence()
            || self.fetched.general_store(self.memo_count)
        {
            return false;
        }
        self.g.op_count += 1;
        self.memoize = true;
        self.store_pos(pos as u64);
        self.store_key(self.memo_count);
        true
    }

    /// After an item that protocol 4 always memoizes (a text, an empty dict or list): the
    /// MEMOIZE at `data[rel]` (file offset `pos`) taken at once where [`Lean::memoize_quick`]
    /// takes it, saving a round of the dispatch; the offset the machine goes on from.
    #[inline(always)]
    fn memoize_next(&mut self, data: &[u8], rel: usize, pos: usize) -> usize {
        if data.get(rel) == Some(&MEMOIZE) && self.memoize_quick(pos) {
            pos + 1
        } else {
            pos
        }
    }

    /// Runs the machine over the bytes in view: true at the end of the pickle, false when it
    /// needs the bytes from `self.pos` on.
    fn run(&mut self) -> R<bool> {
        let (data, base) = (self.data, self.base);
        let mut pos = self.pos;
        self.view_from = pos;
        loop {
            if let Some(next) = self.quick(data, base, pos)? {
                if next == STOP_BEFORE {
                    self.pos = pos;
                    return Ok(false);
                }
                pos = next;
                continue;
            }
            let Some(i) = pos
                .checked_sub(base)
                .and_then(|rel| decode(data, rel, base))
            else {
                if let Some(end) = self.big_bytes(pos)? {
                    pos = end;
                    continue;
                }
                if self.at_end {
                    return Err(Bail);
                }
                self.pos = pos;
                return Ok(false);
            };
            if self.seg.is_some() && !segment::pushes_only(i.op) {
                match self.floor(&i) {
                    segment::Floor::Local => {}
                    segment::Floor::Event => {
                        self.event(&i)?;
                        if i.op == Op::STOP {
                            self.pos = i.end;
                            return Ok(true);
                        }
                        pos = i.end;
                        continue;
                    }
                    segment::Floor::Stop => {
                        self.stop_part(i.pos);
                        return Ok(true);
                    }
                }
            }
            pos = i.end;
            self.g.op_count += 1;
            let p = i.pos;
            match i.op {
                Op::PROTO => {
                    let v = i.arg[0];
                    if v > 5 {
                        return Err(Bail);
                    }
                    self.protocol = v;
                    self.saw_proto = true;
                }
                Op::FRAME => {
                    if !self.frame_room(i.uint(), i.end) {
                        return Err(Bail);
                    }
                }
                Op::STOP => {
                    let root = self.pop(p)?;
                    let root = self.root_node(root)?;
                    let mut rest: Vec<Item> = self.stack.drain(..).collect();
                    for it in &mut rest {
                        self.close(it, p);
                    }
                    if !self.saw_proto {
                        // Without PROTO, the protocol is read from all of the opcodes (a
                        // file read in windows is read again: protocols 0 and 1 only).
                        self.protocol = if base == 0 {
                            highest_protocol(data.get(..i.end).ok_or(Bail)?)
                        } else {
                            let file = self.file.as_ref().ok_or(Bail)?;
                            let mut all = vec![0; i.end];
                            file.read_exact_at(&mut all, 0).map_err(|_| Bail)?;
                            highest_protocol(&all)
                        };
                    }
                    let puts = self.put_pos.len();
                    self.g.pickles.push(PickleInfo {
                        span: Span::new(0, i.end),
                        protocol: self.protocol,
                        root,
                        explicit_memo: !self.memoize && puts == self.memo_count,
                    });
                    // Pickles back to back, or bytes after this one: the full machine's case.
                    return if i.end == self.len {
                        Ok(true)
                    } else {
                        Err(Bail)
                    };
                }
                // Nothing to check in these (the full machine takes any bytes of them).
                Op::NONE
                | Op::NEWTRUE
                | Op::NEWFALSE
                | Op::BININT
                | Op::BININT1
                | Op::BININT2
                | Op::BINFLOAT => {
                    self.objects += 1;
                    self.stack.push(Item::new(i.op, p));
                }
                Op::INT
                | Op::LONG
                | Op::LONG1
                | Op::LONG4
                | Op::FLOAT
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
                    // Checked as the full machine checks it; kept as bytes.
                    scalar_kind(&i).map_err(|_| Bail)?;
                    self.objects += 1;
                    self.stack.push(Item::new(i.op, p));
                }
                Op::EMPTY_LIST | Op::EMPTY_TUPLE | Op::EMPTY_DICT | Op::EMPTY_SET => {
                    self.push_empty(i.op, p)?;
                }
                Op::LIST | Op::FROZENSET | Op::TUPLE | Op::DICT => {
                    let (base, mpos) = self.marks.pop().ok_or(Bail)?;
                    if base > self.stack.len() {
                        return Err(Bail);
                    }
                    self.close_from(base, p);
                    self.container_from(i.op, mpos, base)?;
                }
                Op::TUPLE1 | Op::TUPLE2 | Op::TUPLE3 => {
                    let n = match i.op {
                        Op::TUPLE1 => 1,
                        Op::TUPLE2 => 2,
                        _ => 3,
                    };
                    let len = self.stack.len();
                    if len < self.fence() + n {
                        return Err(Bail);
                    }
                    let base = len - n;
                    let start = self.stack[base].start as usize;
                    self.close_from(base, p);
                    self.container_from(i.op, start, base)?;
                }
                Op::APPEND | Op::SETITEM => {
                    let n = if i.op == Op::APPEND { 1 } else { 2 };
                    let base = self.stack.len().checked_sub(n).ok_or(Bail)?;
                    self.add_from(base, p, 1, i.op == Op::SETITEM)?;
                }
                Op::APPENDS | Op::ADDITEMS | Op::SETITEMS => {
                    let (base, _) = self.marks.pop().ok_or(Bail)?;
                    self.add_from(base, p, 0, i.op == Op::SETITEMS)?;
                }
                Op::POP => {
                    if self.marks.last().is_some_and(|m| m.0 == self.stack.len()) {
                        self.marks.pop();
                    } else {
                        let it = self.pop(p)?;
                        self.consume_plain(it)?;
                    }
                }
                Op::DUP => {
                    let t = self.top()?;
                    let n = self.resolve(&t).ok_or(Bail)?;
                    self.stack.push(Item {
                        node: n,
                        def: false,
                        start: p as u64,
                        end: p as u64,
                        ..t
                    });
                }
                Op::MARK => self.marks.push((self.stack.len(), p)),
                Op::POP_MARK => {
                    self.pop_mark(p)?;
                    for it in std::mem::take(&mut self.scratch) {
                        self.consume_plain(it)?;
                    }
                }
                Op::GET | Op::BINGET | Op::LONG_BINGET => {
                    self.fetch(memo_key(&i).map_err(|_| Bail)?, p)?;
                }
                Op::PUT | Op::BINPUT | Op::LONG_BINPUT | Op::MEMOIZE => {
                    let key = if i.op == Op::MEMOIZE {
                        self.memoize = true;
                        self.memo_count
                    } else {
                        memo_key(&i).map_err(|_| Bail)?
                    };
                    let t = self.top()?;
                    self.store_pos(p as u64);
                    if i.op != Op::MEMOIZE && !self.explicit {
                        self.explicit = true;
                        self.used.insert_below(self.memo_count);
                    }
                    self.store_key(key);
                    if !self.fetched.general_store(key) {
                        // No GET reads this key: the store keeps nothing.
                        continue;
                    }
                    let e = if t.entry != NONE {
                        t.entry
                    } else {
                        let node = self.resolve(&t).unwrap_or(NO_NODE);
                        let e = u32::try_from(self.entries.len()).map_err(|_| Bail)?;
                        if e == NONE {
                            return Err(Bail);
                        }
                        self.entries.push(Entry {
                            node,
                            pend: if node == NO_NODE { t.pend } else { NONE },
                            len: 0,
                            op: t.op,
                            fetched: false,
                            start: t.start,
                            put: p as u64,
                        });
                        if let Some(top) = self.stack.last_mut() {
                            top.entry = e;
                        }
                        e
                    };
                    self.set_entry(key, e);
                }
                Op::GLOBAL => {
                    let (module, name) = two_lines(&i).map_err(|_| Bail)?;
                    self.objects += 1;
                    let id =
                        self.new_node(Kind::Global { module, name }, i.op, p as u64, p as u64)?;
                    self.push_real(id, p as u64);
                }
                Op::STACK_GLOBAL => {
                    self.pop_n(2, p)?;
                    let (module, name) = (self.scratch[0], self.scratch[1]);
                    let (m, n) = (self.text_of(&module)?, self.text_of(&name)?);
                    self.objects += 1;
                    let id = self.new_node(
                        Kind::Global { module: m, name: n },
                        i.op,
                        module.start,
                        module.start,
                    )?;
                    self.push_real(id, module.start);
                }
                Op::REDUCE | Op::NEWOBJ => {
                    self.pop_n(2, p)?;
                    let (f, args) = (self.scratch[0], self.scratch[1]);
                    let how = if i.op == Op::REDUCE {
                        CallKind::Reduce
                    } else {
                        CallKind::NewObj
                    };
                    let args = self.need_real(args)?;
                    self.call(&i, how, f, f.start, args, NO_NODE)?;
                }
                Op::NEWOBJ_EX => {
                    self.pop_n(3, p)?;
                    let (cls, args, kwargs) = (self.scratch[0], self.scratch[1], self.scratch[2]);
                    let args = self.need_real(args)?;
                    let kwargs = self.need_real(kwargs)?;
                    self.call(&i, CallKind::NewObjEx, cls, cls.start, args, kwargs)?;
                }
                Op::BUILD => {
                    let st = self.pop(p)?;
                    let t = self.top()?;
                    let target = self.resolve(&t).ok_or(Bail)?;
                    if self.hollow.contains(&target) {
                        return Err(Bail);
                    }
                    let state = self.need_real(st)?;
                    self.g.nodes.set_state(target as usize, state);
                    let span = Span {
                        start: st.start,
                        end: i.end as u64,
                    };
                    self.push_edges(target, &[(STATE_KEY, state, span)])?;
                }
                Op::INST | Op::OBJ => {
                    let mpos = self.pop_mark(p)?;
                    let mut items = std::mem::take(&mut self.scratch);
                    let cls = if i.op == Op::INST {
                        let (module, name) = two_lines(&i).map_err(|_| Bail)?;
                        self.objects += 1;
                        let c = self.new_node(
                            Kind::Global { module, name },
                            i.op,
                            p as u64,
                            i.end as u64,
                        )?;
                        Item {
                            node: c,
                            ..Item::new(i.op, p)
                        }
                    } else {
                        if items.is_empty() {
                            return Err(Bail);
                        }
                        items.remove(0)
                    };
                    let astart = match i.op {
                        Op::INST => mpos,
                        _ => items.first().map_or(p, |s| s.start as usize),
                    };
                    let kids = self.kids(&items, false);
                    self.scratch = items;
                    let kids = kids?;
                    self.objects += 1;
                    let args = self.new_node(Kind::Tuple, i.op, astart as u64, astart as u64)?;
                    self.push_edges(args, &kids)?;
                    self.g.nodes.set_end(args as usize, p as u64);
                    let how = if i.op == Op::INST {
                        CallKind::Inst
                    } else {
                        CallKind::Obj
                    };
                    self.call(&i, how, cls, mpos as u64, args, NO_NODE)?;
                }
                // Persistent ids, extension codes and out-of-band buffers come with warnings
                // and rules of their own: the full machine's.
                Op::PERSID
                | Op::BINPERSID
                | Op::EXT1
                | Op::EXT2
                | Op::EXT4
                | Op::NEXT_BUFFER
                | Op::READONLY_BUFFER => return Err(Bail),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    /// PROTO 4, a list of `n` small ints added in one batch, STOP; and the MARK's offset.
    fn int_list(n: usize) -> (Vec<u8>, usize) {
        let mut d = vec![Op::PROTO as u8, 4, Op::EMPTY_LIST as u8];
        let mark = d.len();
        d.push(Op::MARK as u8);
        for k in 0..n {
            d.extend([Op::BININT1 as u8, (k % 256) as u8]);
        }
        d.extend([Op::APPENDS as u8, Op::STOP as u8]);
        (d, mark)
    }

    /// The machine over `data[..cut]` of a longer file, from `pos`.
    fn over(data: &[u8], cut: usize, pos: usize) -> Lean<'_> {
        let mut m = Lean::new(
            &data[..cut],
            data.len(),
            Fetched::Known(KeySet::new(64)),
            None,
        );
        m.at_end = cut == data.len();
        m.pos = pos;
        m
    }

    #[test]
    fn a_view_ending_inside_a_batch_stops_before_its_mark_and_the_next_takes_it_whole() {
        let (data, mark) = int_list(100);
        // The view ends after the 40th item.
        let mut m = over(&data, mark + 1 + 2 * 40, 0);
        assert!(matches!(m.run(), Ok(false)));
        assert_eq!(m.pos, mark, "stopped before the MARK");
        assert!(m.marks.is_empty());
        assert_eq!(m.stack.len(), 1, "the list alone");
        // The next view starts at the MARK and holds the batch: the pickle ends there, as
        // one view of the whole file ends.
        let mut next = m.view(&data, 0, true);
        assert!(matches!(next.run(), Ok(true)));
        let mut whole = over(&data, data.len(), 0);
        assert!(matches!(whole.run(), Ok(true)));
        assert_eq!(next.g.op_count, whole.g.op_count);
        assert_eq!(next.objects, whole.objects);
        let spans = |m: &Lean| m.g.pickles.iter().map(|p| p.span).collect::<Vec<_>>();
        assert_eq!(spans(&next), spans(&whole));
        assert_eq!(spans(&next), vec![Span::new(0, data.len())]);
    }

    #[test]
    fn a_batch_whose_mark_starts_the_view_is_taken_one_instruction_at_a_time() {
        let (data, mark) = int_list(100);
        let mut m = over(&data, mark, 0);
        assert!(matches!(m.run(), Ok(false)));
        assert_eq!(m.pos, mark);
        // From its MARK, the view still ends inside the batch: no view would hold more of
        // it from there, so the machine goes on through it.
        let cut = mark + 1 + 2 * 40;
        let mut m = m.view(&data[..cut], 0, false);
        assert!(matches!(m.run(), Ok(false)));
        assert_eq!(m.pos, cut, "went on to the end of the view");
        assert_eq!(m.marks.len(), 1);
        assert_eq!(m.stack.len(), 41, "the list and 40 items");
    }
}
