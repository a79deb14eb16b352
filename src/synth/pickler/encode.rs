//! The encoder: an explicit task stack over the value tree (deep trees do not recurse), the
//! memo, batching by 1000, strings, globals, bytes and numpy arrays as CPython's C pickler
//! writes them.

use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;

use super::invalid;
use super::numpy::{DType, NdArray, NumpyFlavor};
use super::out::{HighByteCounter, Latin1Utf8, Out};
use super::value::{Call, ObjId, Object, Value, encode_long_i128, encode_long_u128};
use crate::pickle::Op;

const BATCHSIZE: usize = 1000;

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// 2 to 5.
    pub protocol: u8,
    pub numpy: NumpyFlavor,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            protocol: 5,
            numpy: NumpyFlavor::Numpy1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Ptr(usize),
    Id(ObjId),
    Dtype(DType),
    /// numpy's cached one-byte `b'b'` (the dummy dtype of `_reconstruct`).
    BytesB,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Ident {
    None,
    Key(Key),
}

enum Batch<'a> {
    ExactList(&'a [Value]),
    ExactDict(&'a [(Value, Value)]),
    ExactSet(&'a [Value]),
    GenList(&'a [Value]),
    GenDict(&'a [(Value, Value)]),
}

enum Task<'a> {
    Save(&'a Value, Ident),
    Tuple(&'a [Value], Ident),
    TupleEnd(usize, Ident),
    List(&'a [Value], Ident),
    Op(Op),
    Boundary,
    Memo(Ident),
    Str(&'a str),
    FreshStr(&'a str),
    Global(&'a str, &'a str, Ident),
    GlobalEnd(&'a str, &'a str, Ident),
    BytesData(&'a [u8]),
    Batch(Batch<'a>, usize),
    ObjEnd(&'a Object, Ident),
}

pub(super) struct Encoder<'a, W: Write> {
    pub(super) out: Out<W>,
    pub(super) proto: u8,
    pub(super) numpy: NumpyFlavor,
    pub(super) memo_len: u32,
    pub(super) strs: HashMap<&'a str, u32>,
    pub(super) globals: HashMap<(&'a str, &'a str), u32>,
    pub(super) keys: HashMap<Key, u32>,
}

/// Encodes `value` at `protocol` (2–5) with numpy 1.x paths.
pub fn encode(value: &Value, protocol: u8) -> io::Result<Vec<u8>> {
    encode_with(
        value,
        &EncodeOptions {
            protocol,
            ..EncodeOptions::default()
        },
    )
}

/// Encodes `value` into memory.
pub fn encode_with(value: &Value, opts: &EncodeOptions) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    write_pickle(&mut v, value, opts)?;
    Ok(v)
}

/// Streams the pickle of `value` into `w` (wrap files in a `BufWriter`); returns the number of
/// bytes written. Only the current frame (about 64 KiB) is buffered; large payloads go straight
/// to `w`.
pub fn write_pickle<W: Write>(w: W, value: &Value, opts: &EncodeOptions) -> io::Result<u64> {
    if !(2..=5).contains(&opts.protocol) {
        return Err(invalid(format!(
            "protocol {} not supported (2 to 5)",
            opts.protocol
        )));
    }
    let mut e = Encoder {
        out: Out {
            w,
            framing: false,
            in_frame: false,
            frame: Vec::new(),
            written: 0,
        },
        proto: opts.protocol,
        numpy: opts.numpy,
        memo_len: 0,
        strs: HashMap::new(),
        globals: HashMap::new(),
        keys: HashMap::new(),
    };
    e.out.raw(&[Op::PROTO as u8, opts.protocol])?;
    e.out.framing = opts.protocol >= 4;
    e.run(value)?;
    e.out.op(Op::STOP)?;
    e.out.commit_frame()?;
    e.out.w.flush()?;
    Ok(e.out.written)
}

impl<'a, W: Write> Encoder<'a, W> {
    fn run(&mut self, root: &'a Value) -> io::Result<()> {
        let mut stack: Vec<Task<'a>> = vec![Task::Save(root, Ident::None)];
        while let Some(t) = stack.pop() {
            match t {
                Task::Save(v, ident) => self.save(v, ident, &mut stack)?,
                Task::Tuple(items, ident) => {
                    self.out.boundary()?;
                    if let Ident::Key(k) = ident
                        && let Some(&i) = self.keys.get(&k)
                    {
                        self.get(i)?;
                        continue;
                    }
                    if items.is_empty() {
                        self.out.op(Op::EMPTY_TUPLE)?;
                        continue;
                    }
                    if items.len() > 3 {
                        self.out.op(Op::MARK)?;
                    }
                    stack.push(Task::TupleEnd(items.len(), ident));
                    for v in items.iter().rev() {
                        stack.push(Task::Save(v, Ident::None));
                    }
                }
                Task::TupleEnd(n, ident) => {
                    let o = match n {
                        1 => Op::TUPLE1,
                        2 => Op::TUPLE2,
                        3 => Op::TUPLE3,
                        _ => Op::TUPLE,
                    };
                    self.out.op(o)?;
                    self.memo_put(ident)?;
                }
                Task::List(items, ident) => {
                    self.out.boundary()?;
                    self.out.op(Op::EMPTY_LIST)?;
                    self.memo_put(ident)?;
                    if !items.is_empty() {
                        stack.push(Task::Batch(Batch::ExactList(items), 0));
                    }
                }
                Task::Op(o) => self.out.op(o)?,
                Task::Boundary => self.out.boundary()?,
                Task::Memo(ident) => {
                    self.memo_put(ident)?;
                }
                Task::Str(s) => self.save_str(s, Ident::None)?,
                Task::FreshStr(s) => {
                    self.out.boundary()?;
                    self.str_op(s)?;
                    self.memo_put(Ident::None)?;
                }
                Task::Global(m, n, ident) => {
                    self.out.boundary()?;
                    if let Some(&i) = self.globals.get(&(m, n)) {
                        self.get(i)?;
                        self.register(ident, i);
                    } else if self.proto >= 4 {
                        stack.push(Task::GlobalEnd(m, n, ident));
                        if m == n {
                            // A C type's qualname (`datetime.datetime`) is a new str, not the
                            // interned module name.
                            stack.push(Task::FreshStr(n));
                        } else {
                            stack.push(Task::Str(n));
                        }
                        stack.push(Task::Str(m));
                    } else {
                        self.global_line(m, n)?;
                        let i = self.memo_put(ident)?;
                        self.globals.insert((m, n), i);
                    }
                }
                Task::GlobalEnd(m, n, ident) => {
                    self.out.op(Op::STACK_GLOBAL)?;
                    let i = self.memo_put(ident)?;
                    self.globals.insert((m, n), i);
                }
                Task::BytesData(b) => self.save_bytes_data(b, Ident::None, &mut stack)?,
                Task::Batch(batch, pos) => self.batch(batch, pos, &mut stack)?,
                Task::ObjEnd(o, ident) => {
                    self.memo_put(ident)?;
                    if let Some(state) = &o.state {
                        stack.push(Task::Op(Op::BUILD));
                        stack.push(Task::Save(state, Ident::None));
                    }
                    if !o.dict_items.is_empty() {
                        stack.push(Task::Batch(Batch::GenDict(&o.dict_items), 0));
                    }
                    if !o.list_items.is_empty() {
                        stack.push(Task::Batch(Batch::GenList(&o.list_items), 0));
                    }
                }
            }
        }
        Ok(())
    }

    fn save(&mut self, v: &'a Value, ident: Ident, stack: &mut Vec<Task<'a>>) -> io::Result<()> {
        self.out.boundary()?;
        match v {
            Value::None => self.out.op(Op::NONE),
            Value::Bool(b) => self.out.op(if *b { Op::NEWTRUE } else { Op::NEWFALSE }),
            Value::Int(i) => self.int(*i),
            Value::Long(b) => self.long(b),
            Value::Float(f) => {
                let mut b = [0u8; 9];
                b[0] = Op::BINFLOAT as u8;
                b[1..].copy_from_slice(&f.to_be_bytes());
                self.out.write(&b)
            }
            Value::Shared(rc) => {
                let key = Key::Ptr(Rc::as_ptr(rc) as usize);
                if let Some(&i) = self.keys.get(&key) {
                    return self.get(i);
                }
                stack.push(Task::Save(rc, Ident::Key(key)));
                Ok(())
            }
            Value::Named(id, inner) => {
                let key = Key::Id(*id);
                if let Some(&i) = self.keys.get(&key) {
                    return self.get(i);
                }
                stack.push(Task::Save(inner, Ident::Key(key)));
                Ok(())
            }
            Value::Ref(id) => match self.keys.get(&Key::Id(*id)) {
                Some(&i) => self.get(i),
                None => Err(invalid(format!(
                    "reference to object {} before it was pickled",
                    id.0
                ))),
            },
            Value::Str(s) => self.save_str(s, ident),
            Value::FreshStr(s) => {
                self.str_op(s)?;
                self.memo_put(ident)?;
                Ok(())
            }
            Value::Bytes(b) => self.save_bytes_data(b, ident, stack),
            Value::ByteArray(b) => {
                if self.proto >= 5 {
                    let mut h = vec![Op::BYTEARRAY8 as u8];
                    h.extend_from_slice(&(b.len() as u64).to_le_bytes());
                    self.out.write_bytes(&h, b.len(), &|w| w.write_all(b))?;
                    self.memo_put(ident)?;
                } else {
                    // (bytearray, (bytes,)) REDUCE
                    stack.push(Task::Memo(ident));
                    stack.push(Task::Op(Op::REDUCE));
                    stack.push(Task::Memo(Ident::None));
                    stack.push(Task::Op(Op::TUPLE1));
                    stack.push(Task::BytesData(b));
                    stack.push(Task::Boundary);
                    stack.push(Task::Global("builtins", "bytearray", Ident::None));
                }
                Ok(())
            }
            Value::Tuple(items) => {
                stack.push(Task::Tuple(items, ident));
                Ok(())
            }
            Value::List(items) => {
                stack.push(Task::List(items, ident));
                Ok(())
            }
            Value::Dict(items) => {
                self.out.op(Op::EMPTY_DICT)?;
                self.memo_put(ident)?;
                if !items.is_empty() {
                    stack.push(Task::Batch(Batch::ExactDict(items), 0));
                }
                Ok(())
            }
            Value::Set(items) | Value::FrozenSet(items) if self.proto < 4 => {
                let name = if matches!(v, Value::Set(_)) {
                    "set"
                } else {
                    "frozenset"
                };
                stack.push(Task::Memo(ident));
                stack.push(Task::Op(Op::REDUCE));
                stack.push(Task::Memo(Ident::None));
                stack.push(Task::Op(Op::TUPLE1));
                stack.push(Task::List(items, Ident::None));
                stack.push(Task::Boundary);
                stack.push(Task::Global("builtins", name, Ident::None));
                Ok(())
            }
            Value::Set(items) => {
                self.out.op(Op::EMPTY_SET)?;
                self.memo_put(ident)?;
                if !items.is_empty() {
                    stack.push(Task::Batch(Batch::ExactSet(items), 0));
                }
                Ok(())
            }
            Value::FrozenSet(items) => {
                self.out.op(Op::MARK)?;
                stack.push(Task::Memo(ident));
                stack.push(Task::Op(Op::FROZENSET));
                for v in items.iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                }
                Ok(())
            }
            Value::Global(g) => {
                stack.push(Task::Global(&g.module, &g.name, ident));
                Ok(())
            }
            Value::Object(o) => {
                stack.push(Task::ObjEnd(o, ident));
                stack.push(Task::Op(match o.call {
                    Call::NewObj => Op::NEWOBJ,
                    Call::Reduce => Op::REDUCE,
                }));
                stack.push(Task::Tuple(&o.args, Ident::None));
                stack.push(Task::Save(&o.callable, Ident::None));
                Ok(())
            }
            Value::Array(a) => self.save_array(a, ident),
            Value::Scalar(dt, raw) => self.save_scalar(*dt, raw, ident),
        }
    }

    fn register(&mut self, ident: Ident, i: u32) {
        if let Ident::Key(k) = ident {
            self.keys.insert(k, i);
        }
    }

    pub(super) fn memo_put(&mut self, ident: Ident) -> io::Result<u32> {
        let i = self.memo_len;
        if self.proto >= 4 {
            self.out.op(Op::MEMOIZE)?;
        } else if i < 256 {
            self.out.write(&[Op::BINPUT as u8, i as u8])?;
        } else {
            let mut b = [Op::LONG_BINPUT as u8, 0, 0, 0, 0];
            b[1..].copy_from_slice(&i.to_le_bytes());
            self.out.write(&b)?;
        }
        self.memo_len += 1;
        self.register(ident, i);
        Ok(i)
    }

    pub(super) fn get(&mut self, i: u32) -> io::Result<()> {
        if i < 256 {
            self.out.write(&[Op::BINGET as u8, i as u8])
        } else {
            let mut b = [Op::LONG_BINGET as u8, 0, 0, 0, 0];
            b[1..].copy_from_slice(&i.to_le_bytes());
            self.out.write(&b)
        }
    }

    pub(super) fn int(&mut self, i: i64) -> io::Result<()> {
        if (0..=0xff).contains(&i) {
            self.out.write(&[Op::BININT1 as u8, i as u8])
        } else if (0..=0xffff).contains(&i) {
            let b = (i as u16).to_le_bytes();
            self.out.write(&[Op::BININT2 as u8, b[0], b[1]])
        } else if let Ok(x) = i32::try_from(i) {
            let b = x.to_le_bytes();
            self.out.write(&[Op::BININT as u8, b[0], b[1], b[2], b[3]])
        } else {
            self.long(&encode_long_i128(i128::from(i)))
        }
    }

    pub(super) fn long(&mut self, payload: &[u8]) -> io::Result<()> {
        if payload.len() < 256 {
            self.out.write(&[Op::LONG1 as u8, payload.len() as u8])?;
        } else {
            let mut h = vec![Op::LONG4 as u8];
            h.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            self.out.write(&h)?;
        }
        self.out.write(payload)
    }

    /// Writes the string opcode and payload (no memo).
    fn str_op(&mut self, s: &str) -> io::Result<()> {
        let b = s.as_bytes();
        let mut h = Vec::with_capacity(9);
        if b.len() <= 0xff && self.proto >= 4 {
            h.push(Op::SHORT_BINUNICODE as u8);
            h.push(b.len() as u8);
        } else if b.len() > 0xffff_ffff && self.proto >= 4 {
            h.push(Op::BINUNICODE8 as u8);
            h.extend_from_slice(&(b.len() as u64).to_le_bytes());
        } else {
            h.push(Op::BINUNICODE as u8);
            h.extend_from_slice(&(b.len() as u32).to_le_bytes());
        }
        self.out.write_bytes(&h, b.len(), &|w| w.write_all(b))
    }

    /// Saves an interned string: `BINGET` if the same text was memoized before.
    pub(super) fn save_str(&mut self, s: &'a str, ident: Ident) -> io::Result<()> {
        self.out.boundary()?;
        if let Some(&i) = self.strs.get(s) {
            self.register(ident, i);
            return self.get(i);
        }
        self.str_op(s)?;
        let i = self.memo_put(ident)?;
        self.strs.insert(s, i);
        Ok(())
    }

    fn global_line(&mut self, m: &str, n: &str) -> io::Result<()> {
        let (m, n) = if self.proto < 3 {
            fix_import(m, n)
        } else {
            (m, n)
        };
        let mut b = Vec::with_capacity(m.len() + n.len() + 3);
        b.push(Op::GLOBAL as u8);
        b.extend_from_slice(m.as_bytes());
        b.push(b'\n');
        b.extend_from_slice(n.as_bytes());
        b.push(b'\n');
        self.out.write(&b)
    }

    /// A global written directly (for the numpy forms): boundary, memo reuse.
    pub(super) fn global_direct(&mut self, m: &'a str, n: &'a str) -> io::Result<()> {
        self.out.boundary()?;
        if let Some(&i) = self.globals.get(&(m, n)) {
            return self.get(i);
        }
        if self.proto >= 4 {
            self.save_str(m, Ident::None)?;
            if m == n {
                self.out.boundary()?;
                self.str_op(n)?;
                self.memo_put(Ident::None)?;
            } else {
                self.save_str(n, Ident::None)?;
            }
            self.out.op(Op::STACK_GLOBAL)?;
        } else {
            self.global_line(m, n)?;
        }
        let i = self.memo_put(Ident::None)?;
        self.globals.insert((m, n), i);
        Ok(())
    }

    pub(super) fn atom_int(&mut self, i: i64) -> io::Result<()> {
        self.out.boundary()?;
        self.int(i)
    }

    pub(super) fn atom(&mut self, o: Op) -> io::Result<()> {
        self.out.boundary()?;
        self.out.op(o)
    }

    /// A `bytes` object (a fresh one, or the identity given).
    fn save_bytes_data(
        &mut self,
        b: &'a [u8],
        ident: Ident,
        stack: &mut Vec<Task<'a>>,
    ) -> io::Result<()> {
        self.out.boundary()?;
        if self.proto >= 3 {
            let h = bytes_header(b.len(), self.proto);
            self.out.write_bytes(&h, b.len(), &|w| w.write_all(b))?;
            self.memo_put(ident)?;
            return Ok(());
        }
        if b.is_empty() {
            // (bytes, ()) REDUCE
            stack.push(Task::Memo(ident));
            stack.push(Task::Op(Op::REDUCE));
            stack.push(Task::Op(Op::EMPTY_TUPLE));
            stack.push(Task::Boundary);
            stack.push(Task::Global("builtins", "bytes", Ident::None));
            return Ok(());
        }
        self.codecs_encode(b.len(), &|w| w.write_all(b), ident)
    }

    /// Protocol 2's `bytes`: `_codecs.encode(latin1_text, 'latin1')` REDUCE, memoized.
    pub(super) fn codecs_encode(
        &mut self,
        len: usize,
        payload: &dyn Fn(&mut dyn Write) -> io::Result<()>,
        ident: Ident,
    ) -> io::Result<()> {
        self.global_direct("_codecs", "encode")?;
        self.out.boundary()?; // the args tuple
        self.out.boundary()?; // the text
        let mut count = HighByteCounter(0, 0);
        payload(&mut count)?;
        if count.0 != len {
            return Err(io::Error::other("payload length mismatch"));
        }
        let ulen = len + count.1;
        let mut h = vec![Op::BINUNICODE as u8];
        h.extend_from_slice(
            &u32::try_from(ulen)
                .map_err(|_| invalid("bytes too large for protocol 2"))?
                .to_le_bytes(),
        );
        self.out.write_bytes(&h, ulen, &|w| {
            let mut l = Latin1Utf8 {
                inner: w,
                buf: Vec::new(),
            };
            payload(&mut l)
        })?;
        self.memo_put(Ident::None)?;
        self.save_str("latin1", Ident::None)?;
        self.out.op(Op::TUPLE2)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::REDUCE)?;
        self.memo_put(ident)?;
        Ok(())
    }

    fn batch(&mut self, batch: Batch<'a>, pos: usize, stack: &mut Vec<Task<'a>>) -> io::Result<()> {
        match batch {
            Batch::ExactList(items) => {
                // batch_list_exact: a single item is APPEND; otherwise MARK...APPENDS per 1000.
                if items.len() == 1 {
                    stack.push(Task::Op(Op::APPEND));
                    stack.push(Task::Save(&items[0], Ident::None));
                    return Ok(());
                }
                if pos >= items.len() {
                    return Ok(());
                }
                let end = (pos + BATCHSIZE).min(items.len());
                self.out.op(Op::MARK)?;
                stack.push(Task::Batch(Batch::ExactList(items), end));
                stack.push(Task::Op(Op::APPENDS));
                for v in items[pos..end].iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                }
            }
            Batch::ExactDict(items) => {
                // batch_dict_exact: single item SETITEM; else batches, with a trailing empty
                // batch when the size is a multiple of 1000.
                if items.len() == 1 {
                    stack.push(Task::Op(Op::SETITEM));
                    stack.push(Task::Save(&items[0].1, Ident::None));
                    stack.push(Task::Save(&items[0].0, Ident::None));
                    return Ok(());
                }
                let end = (pos + BATCHSIZE).min(items.len());
                self.out.op(Op::MARK)?;
                if end - pos == BATCHSIZE {
                    stack.push(Task::Batch(Batch::ExactDict(items), end));
                }
                stack.push(Task::Op(Op::SETITEMS));
                for (k, v) in items[pos..end].iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                    stack.push(Task::Save(k, Ident::None));
                }
            }
            Batch::ExactSet(items) => {
                let end = (pos + BATCHSIZE).min(items.len());
                self.out.op(Op::MARK)?;
                if end - pos == BATCHSIZE {
                    stack.push(Task::Batch(Batch::ExactSet(items), end));
                }
                stack.push(Task::Op(Op::ADDITEMS));
                for v in items[pos..end].iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                }
            }
            Batch::GenList(items) => {
                // batch_list (iterator): a lone trailing item is APPEND without MARK.
                if pos >= items.len() {
                    return Ok(());
                }
                let end = (pos + BATCHSIZE).min(items.len());
                if end - pos == 1 {
                    stack.push(Task::Op(Op::APPEND));
                    stack.push(Task::Save(&items[pos], Ident::None));
                    return Ok(());
                }
                self.out.op(Op::MARK)?;
                stack.push(Task::Batch(Batch::GenList(items), end));
                stack.push(Task::Op(Op::APPENDS));
                for v in items[pos..end].iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                }
            }
            Batch::GenDict(items) => {
                if pos >= items.len() {
                    return Ok(());
                }
                let end = (pos + BATCHSIZE).min(items.len());
                if end - pos == 1 {
                    stack.push(Task::Op(Op::SETITEM));
                    stack.push(Task::Save(&items[pos].1, Ident::None));
                    stack.push(Task::Save(&items[pos].0, Ident::None));
                    return Ok(());
                }
                self.out.op(Op::MARK)?;
                stack.push(Task::Batch(Batch::GenDict(items), end));
                stack.push(Task::Op(Op::SETITEMS));
                for (k, v) in items[pos..end].iter().rev() {
                    stack.push(Task::Save(v, Ident::None));
                    stack.push(Task::Save(k, Ident::None));
                }
            }
        }
        Ok(())
    }
}

pub(super) fn bytes_header(len: usize, proto: u8) -> Vec<u8> {
    let mut h = Vec::with_capacity(9);
    if len <= 0xff {
        h.push(Op::SHORT_BINBYTES as u8);
        h.push(len as u8);
    } else if len > 0xffff_ffff && proto >= 4 {
        h.push(Op::BINBYTES8 as u8);
        h.extend_from_slice(&(len as u64).to_le_bytes());
    } else {
        h.push(Op::BINBYTES as u8);
        h.extend_from_slice(&(len as u32).to_le_bytes());
    }
    h
}

/// The subset of `_compat_pickle`'s reverse mappings that protocol 2 applies to our globals.
fn fix_import<'s>(m: &'s str, n: &'s str) -> (&'s str, &'s str) {
    match (m, n) {
        ("builtins", "str") => ("__builtin__", "unicode"),
        ("builtins", "range") => ("__builtin__", "xrange"),
        ("builtins", "reduce") => ("functools", "reduce"),
        ("builtins", _) => ("__builtin__", n),
        ("copyreg", _) => ("copy_reg", n),
        ("queue", _) => ("Queue", n),
        ("pickle", _) => ("cPickle", n),
        _ => (m, n),
    }
}

// numpy: dtypes, shapes, arrays and scalars as numpy reduces them.
impl<'a, W: Write> Encoder<'a, W> {
    fn save_dtype(&mut self, dt: DType) -> io::Result<()> {
        self.out.boundary()?;
        if let Some(&i) = self.keys.get(&Key::Dtype(dt)) {
            return self.get(i);
        }
        self.global_direct("numpy", "dtype")?;
        self.out.boundary()?;
        self.save_str(dt.code(), Ident::None)?;
        self.atom(Op::NEWFALSE)?;
        self.atom(Op::NEWTRUE)?;
        self.out.op(Op::TUPLE3)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::REDUCE)?;
        self.memo_put(Ident::Key(Key::Dtype(dt)))?;
        // state (3, '<', None, None, None, -1, -1, 0)
        self.out.boundary()?;
        self.out.op(Op::MARK)?;
        self.atom_int(3)?;
        self.save_str(dt.byteorder(), Ident::None)?;
        self.atom(Op::NONE)?;
        self.atom(Op::NONE)?;
        self.atom(Op::NONE)?;
        self.atom_int(-1)?;
        self.atom_int(-1)?;
        self.atom_int(0)?;
        self.out.op(Op::TUPLE)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::BUILD)
    }

    fn save_shape(&mut self, shape: &[u64]) -> io::Result<()> {
        self.out.boundary()?;
        if shape.is_empty() {
            return self.out.op(Op::EMPTY_TUPLE);
        }
        if shape.len() > 3 {
            self.out.op(Op::MARK)?;
        }
        for &d in shape {
            self.out.boundary()?;
            match i64::try_from(d) {
                Ok(i) => self.int(i)?,
                Err(_) => self.long(&encode_long_u128(u128::from(d)))?,
            }
        }
        self.out.op(match shape.len() {
            1 => Op::TUPLE1,
            2 => Op::TUPLE2,
            3 => Op::TUPLE3,
            _ => Op::TUPLE,
        })?;
        self.memo_put(Ident::None)?;
        Ok(())
    }

    fn save_array(&mut self, a: &'a NdArray, ident: Ident) -> io::Result<()> {
        let n = a.checked_nbytes()?;
        let payload = |w: &mut dyn Write| a.write_data(w);
        if self.proto >= 5 {
            // _frombuffer(bytearray, dtype, shape, 'C') REDUCE
            self.global_direct(self.numpy.numeric(), "_frombuffer")?;
            self.out.boundary()?;
            self.out.op(Op::MARK)?;
            self.out.boundary()?;
            let mut h = vec![Op::BYTEARRAY8 as u8];
            h.extend_from_slice(&(n as u64).to_le_bytes());
            self.out.write_bytes(&h, n, &payload)?;
            self.memo_put(Ident::None)?;
            self.save_dtype(a.dtype)?;
            self.save_shape(&a.shape)?;
            self.save_str("C", Ident::None)?;
            self.out.op(Op::TUPLE)?;
            self.memo_put(Ident::None)?;
            self.out.op(Op::REDUCE)?;
            self.memo_put(ident)?;
            return Ok(());
        }
        // _reconstruct(ndarray, (0,), b'b') REDUCE, then BUILD (1, shape, dtype, False, raw)
        self.global_direct(self.numpy.multiarray(), "_reconstruct")?;
        self.out.boundary()?;
        self.global_direct("numpy", "ndarray")?;
        self.out.boundary()?;
        self.atom_int(0)?;
        self.out.op(Op::TUPLE1)?;
        self.memo_put(Ident::None)?;
        self.out.boundary()?;
        if let Some(&i) = self.keys.get(&Key::BytesB) {
            self.get(i)?;
        } else if self.proto >= 3 {
            self.out.write(&[Op::SHORT_BINBYTES as u8, 1, b'b'])?;
            self.memo_put(Ident::Key(Key::BytesB))?;
        } else {
            self.codecs_encode(1, &|w| w.write_all(b"b"), Ident::Key(Key::BytesB))?;
        }
        self.out.op(Op::TUPLE3)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::REDUCE)?;
        self.memo_put(ident)?;
        self.out.boundary()?;
        self.out.op(Op::MARK)?;
        self.atom_int(1)?;
        self.save_shape(&a.shape)?;
        self.save_dtype(a.dtype)?;
        self.atom(Op::NEWFALSE)?;
        self.out.boundary()?;
        if self.proto >= 3 {
            let h = bytes_header(n, self.proto);
            self.out.write_bytes(&h, n, &payload)?;
            self.memo_put(Ident::None)?;
        } else if n == 0 {
            // b'' at protocol 2 is `bytes()`: (builtins.bytes, ()) REDUCE
            self.global_direct("builtins", "bytes")?;
            self.out.boundary()?;
            self.out.op(Op::EMPTY_TUPLE)?;
            self.out.op(Op::REDUCE)?;
            self.memo_put(Ident::None)?;
        } else {
            self.codecs_encode(n, &payload, Ident::None)?;
        }
        self.out.op(Op::TUPLE)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::BUILD)
    }

    fn save_scalar(&mut self, dt: DType, raw: &'a [u8], ident: Ident) -> io::Result<()> {
        if raw.len() != dt.itemsize() {
            return Err(invalid("numpy scalar has the wrong number of bytes"));
        }
        self.global_direct(self.numpy.multiarray(), "scalar")?;
        self.out.boundary()?;
        self.save_dtype(dt)?;
        self.out.boundary()?;
        if self.proto >= 3 {
            let h = bytes_header(raw.len(), self.proto);
            self.out.write_bytes(&h, raw.len(), &|w| w.write_all(raw))?;
            self.memo_put(Ident::None)?;
        } else {
            self.codecs_encode(raw.len(), &|w| w.write_all(raw), Ident::None)?;
        }
        self.out.op(Op::TUPLE2)?;
        self.memo_put(Ident::None)?;
        self.out.op(Op::REDUCE)?;
        self.memo_put(ident)?;
        Ok(())
    }
}
