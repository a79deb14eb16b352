//! A small streaming pickler: a value tree and an encoder writing what CPython's C pickler writes.
//!
//! The encoder mirrors `Modules/_pickle.c` (CPython 3.8–3.13) for the types it knows: framing
//! (a frame is committed at the start of a `save()` once it holds 64 KiB, payloads of 64 KiB or
//! more are written outside frames, frames under 4 bytes get no `FRAME` header), memoization
//! (`MEMOIZE` at protocol 4+, `BINPUT`/`LONG_BINPUT` below), batching by 1000 (including the
//! C pickler's trailing empty batch for dicts and sets whose size is a multiple of 1000),
//! `STACK_GLOBAL` with memoized names, `NEWOBJ`/`REDUCE` + `BUILD`, and numpy's array forms.
//!
//! Identity: CPython memoizes by object identity. Here every string is memoized by value (the
//! pipeline's attribute names are interned; use [`Value::FreshStr`] for a distinct string
//! object), globals by `(module, name)`, numpy dtypes by kind, and compound values by the
//! identity given to them with [`Value::Shared`] (an `Rc`: every occurrence of the same `Rc`
//! is one object) or [`Value::Named`] (an explicit id that [`Value::Ref`] can point back to,
//! for cycles). A compound value without either is a fresh object at each occurrence.
//!
//! The encoder works with an explicit task stack, so deep trees do not recurse.

use std::collections::HashMap;
use std::io::{self, Write};
use std::rc::Rc;

use crate::pickle::Op;
use crate::pickle::frame::{FRAME_TARGET, frame_header};

const BATCHSIZE: usize = 1000;

/// An explicit object id for [`Value::Named`] / [`Value::Ref`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjId(pub u64);

/// A Python value to pickle.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    /// `int` in the i64 range (BININT1/BININT2/BININT, or LONG1 outside the i32 range).
    Int(i64),
    /// A big `int`: its LONG1/LONG4 payload (minimal little-endian two's complement, as
    /// `pickle.encode_long`). Build it with [`Value::long_u128`] / [`Value::long_i128`].
    Long(Vec<u8>),
    Float(f64),
    /// A `str`, memoized by value (an interned string: the same text is one object).
    Str(String),
    /// A `str` that is a distinct object: memoized, but never reused for an equal text.
    FreshStr(String),
    Bytes(Vec<u8>),
    ByteArray(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A plain `dict` (insertion order kept).
    Dict(Vec<(Value, Value)>),
    Set(Vec<Value>),
    FrozenSet(Vec<Value>),
    /// A class or function by reference (`module.name`).
    Global(Global),
    /// An instance built by `NEWOBJ` or `REDUCE`, optionally followed by items and `BUILD`.
    Object(Box<Object>),
    /// A numpy array.
    Array(Box<NdArray>),
    /// A numpy scalar: `numpy.core.multiarray.scalar(dtype, raw)`.
    Scalar(DType, Vec<u8>),
    /// A shared object: every occurrence of the same `Rc` pickles once, then `BINGET`.
    Shared(Rc<Value>),
    /// An object with an explicit id that [`Value::Ref`] may refer back to (cycles).
    Named(ObjId, Box<Value>),
    /// A reference to a [`Value::Named`] object already pickled (or being built: an object is
    /// memoized right after `NEWOBJ`/`REDUCE`, before its `BUILD` state).
    Ref(ObjId),
}

/// A `module.name` reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Global {
    pub module: String,
    pub name: String,
}

/// How an [`Object`] is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `cls.__new__(cls, *args)` (copyreg `__newobj__`; what plain classes get at protocol 2+).
    NewObj,
    /// `callable(*args)`.
    Reduce,
}

/// The reduce tuple of an object: `(callable, args, state, listitems, dictitems)`.
#[derive(Debug, Clone)]
pub struct Object {
    pub call: Call,
    /// A class for `NewObj`; any value (usually a [`Value::Global`]) for `Reduce`.
    pub callable: Value,
    pub args: Vec<Value>,
    /// Items appended after creation (APPEND/APPENDS, generic batching).
    pub list_items: Vec<Value>,
    /// Items set after creation (SETITEM/SETITEMS, generic batching).
    pub dict_items: Vec<(Value, Value)>,
    /// `BUILD` state (a dict for plain classes; a tuple for `__slots__` classes with a
    /// `__getstate__` returning one).
    pub state: Option<Value>,
}

/// numpy dtypes the generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F8,
    F4,
    I8,
    I4,
    Bool,
    U1,
    C16,
}

impl DType {
    /// The dtype string numpy's `dtype.__reduce__` gives (`'f8'`, `'b1'`, ...).
    pub fn code(self) -> &'static str {
        match self {
            DType::F8 => "f8",
            DType::F4 => "f4",
            DType::I8 => "i8",
            DType::I4 => "i4",
            DType::Bool => "b1",
            DType::U1 => "u1",
            DType::C16 => "c16",
        }
    }
    /// The byte-order character of the dtype state (`'<'` or `'|'`).
    pub fn byteorder(self) -> &'static str {
        match self {
            DType::Bool | DType::U1 => "|",
            _ => "<",
        }
    }
    pub fn itemsize(self) -> usize {
        match self {
            DType::F8 | DType::I8 => 8,
            DType::F4 | DType::I4 => 4,
            DType::Bool | DType::U1 => 1,
            DType::C16 => 16,
        }
    }
}

/// A C-contiguous numpy array.
#[derive(Debug, Clone)]
pub struct NdArray {
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub data: ArrayData,
}

/// The raw bytes of an array: given, or generated on the fly while writing (so a large array
/// never sits in memory).
#[derive(Debug, Clone)]
pub enum ArrayData {
    Bytes(Vec<u8>),
    Synth { seed: u64, fill: Fill },
}

/// How generated array elements look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    Zeros,
    /// Roughly normal noise (floats; complex: both parts; ints: rounded).
    Noise {
        mean: f64,
        sigma: f64,
    },
    /// `start + i * step`.
    Arange {
        start: f64,
        step: f64,
    },
    /// Mostly zero; each element is non-zero (1, or a small code for ints) with this
    /// probability.
    Sparse {
        density: f64,
    },
}

impl NdArray {
    /// An array whose data is generated while writing.
    pub fn synth(dtype: DType, shape: &[u64], seed: u64, fill: Fill) -> NdArray {
        NdArray {
            dtype,
            shape: shape.to_vec(),
            data: ArrayData::Synth { seed, fill },
        }
    }

    /// An array with the given raw (little-endian) bytes.
    pub fn from_bytes(dtype: DType, shape: &[u64], raw: Vec<u8>) -> NdArray {
        NdArray {
            dtype,
            shape: shape.to_vec(),
            data: ArrayData::Bytes(raw),
        }
    }

    /// Number of elements, or `None` on overflow.
    pub fn len(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Size of the raw data in bytes, or `None` on overflow.
    pub fn nbytes(&self) -> Option<u64> {
        self.len()?.checked_mul(self.dtype.itemsize() as u64)
    }

    fn checked_nbytes(&self) -> io::Result<usize> {
        let n = self
            .nbytes()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| invalid("array size overflows"))?;
        if let ArrayData::Bytes(b) = &self.data
            && b.len() != n
        {
            return Err(invalid(format!(
                "array data has {} bytes, shape and dtype need {n}",
                b.len()
            )));
        }
        Ok(n)
    }

    /// Writes the raw data, generating it in chunks if synthetic.
    pub fn write_data(&self, w: &mut dyn Write) -> io::Result<()> {
        let n = self.checked_nbytes()?;
        match &self.data {
            ArrayData::Bytes(b) => w.write_all(b),
            ArrayData::Synth { seed, fill } => {
                let mut g = ElemGen::new(self.dtype, *seed, *fill);
                let mut buf = Vec::with_capacity(64 * 1024);
                let mut left = n;
                while left > 0 {
                    buf.clear();
                    let want = left.min(64 * 1024);
                    while buf.len() < want {
                        g.push(&mut buf);
                    }
                    buf.truncate(want);
                    w.write_all(&buf)?;
                    left -= want;
                }
                Ok(())
            }
        }
    }
}

/// A deterministic xorshift64* generator (no external crates), seeded through splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [0, n) (n > 0; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
    /// Approximately normal (Irwin–Hall of 4 uniforms, rescaled).
    pub fn normal(&mut self, mean: f64, sigma: f64) -> f64 {
        let s = self.f64() + self.f64() + self.f64() + self.f64() - 2.0;
        mean + sigma * s * 1.732_050_807_568_877_2
    }
}

struct ElemGen {
    dtype: DType,
    fill: Fill,
    rng: Rng,
    i: u64,
}

impl ElemGen {
    fn new(dtype: DType, seed: u64, fill: Fill) -> ElemGen {
        ElemGen {
            dtype,
            fill,
            rng: Rng::new(seed),
            i: 0,
        }
    }

    fn value(&mut self) -> f64 {
        let i = self.i as f64;
        match self.fill {
            Fill::Zeros => 0.0,
            Fill::Noise { mean, sigma } => self.rng.normal(mean, sigma),
            Fill::Arange { start, step } => start + i * step,
            Fill::Sparse { density } => {
                if self.rng.f64() < density {
                    1.0 + self.rng.below(3) as f64
                } else {
                    0.0
                }
            }
        }
    }

    fn push(&mut self, buf: &mut Vec<u8>) {
        let v = self.value();
        match self.dtype {
            DType::F8 => buf.extend_from_slice(&v.to_le_bytes()),
            DType::F4 => buf.extend_from_slice(&(v as f32).to_le_bytes()),
            DType::I8 => buf.extend_from_slice(&(v.round() as i64).to_le_bytes()),
            DType::I4 => buf.extend_from_slice(&(v.round() as i32).to_le_bytes()),
            DType::Bool => buf.push(u8::from(v != 0.0)),
            DType::U1 => buf.push(v.round().clamp(0.0, 255.0) as u8),
            DType::C16 => {
                let im = match self.fill {
                    Fill::Noise { sigma, .. } => self.rng.normal(0.0, sigma),
                    _ => 0.0,
                };
                buf.extend_from_slice(&v.to_le_bytes());
                buf.extend_from_slice(&im.to_le_bytes());
            }
        }
        self.i += 1;
    }
}

/// Which numpy wrote the pickle: module paths of `_frombuffer`, `_reconstruct`, `scalar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NumpyFlavor {
    /// numpy 1.x: `numpy.core.numeric`, `numpy.core.multiarray`.
    #[default]
    Numpy1,
    /// numpy 2.x: `numpy._core.numeric`, `numpy._core.multiarray`.
    Numpy2,
}

impl NumpyFlavor {
    fn numeric(self) -> &'static str {
        match self {
            NumpyFlavor::Numpy1 => "numpy.core.numeric",
            NumpyFlavor::Numpy2 => "numpy._core.numeric",
        }
    }
    fn multiarray(self) -> &'static str {
        match self {
            NumpyFlavor::Numpy1 => "numpy.core.multiarray",
            NumpyFlavor::Numpy2 => "numpy._core.multiarray",
        }
    }
}

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

// ---------------------------------------------------------------------------------------------
// Builders

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }
    pub fn global(module: &str, name: &str) -> Value {
        Value::Global(Global {
            module: module.to_string(),
            name: name.to_string(),
        })
    }
    /// A dict with string keys.
    pub fn dict<K: Into<String>>(items: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Dict(
            items
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        )
    }
    /// An instance of a plain class: `NEWOBJ` with no arguments, then `BUILD` with its
    /// `__dict__` (attributes in insertion order; no `BUILD` when there are none).
    pub fn instance<K: Into<String>>(
        module: &str,
        class: &str,
        attrs: impl IntoIterator<Item = (K, Value)>,
    ) -> Value {
        let state = Value::dict(attrs);
        // CPython gives no state (no BUILD) for an instance whose `__dict__` is empty.
        let state = match &state {
            Value::Dict(d) if d.is_empty() => None,
            _ => Some(state),
        };
        Value::newobj(module, class, Vec::new(), state)
    }
    /// `NEWOBJ` of `module.class` with `args`, then `BUILD state` if given.
    pub fn newobj(module: &str, class: &str, args: Vec<Value>, state: Option<Value>) -> Value {
        Value::Object(Box::new(Object {
            call: Call::NewObj,
            callable: Value::global(module, class),
            args,
            list_items: Vec::new(),
            dict_items: Vec::new(),
            state,
        }))
    }
    /// `callable(*args)` via `REDUCE`.
    pub fn reduce(callable: Value, args: Vec<Value>) -> Value {
        Value::Object(Box::new(Object {
            call: Call::Reduce,
            callable,
            args,
            list_items: Vec::new(),
            dict_items: Vec::new(),
            state: None,
        }))
    }
    /// Wraps the value so every clone of the result is the same Python object.
    pub fn shared(v: Value) -> Value {
        Value::Shared(Rc::new(v))
    }
    /// A big int from an unsigned 128-bit value.
    pub fn long_u128(x: u128) -> Value {
        if let Ok(i) = i64::try_from(x) {
            return Value::Int(i);
        }
        Value::Long(encode_long_u128(x))
    }
    /// A big int from a signed 128-bit value.
    pub fn long_i128(x: i128) -> Value {
        if let Ok(i) = i64::try_from(x) {
            return Value::Int(i);
        }
        Value::Long(encode_long_i128(x))
    }
    pub fn array(a: NdArray) -> Value {
        Value::Array(Box::new(a))
    }
}

/// `pickle.encode_long` for a non-negative 128-bit value.
pub fn encode_long_u128(x: u128) -> Vec<u8> {
    if x == 0 {
        return Vec::new();
    }
    let bits = 128 - x.leading_zeros() as usize;
    let nbytes = (bits >> 3) + 1;
    let mut b = x.to_le_bytes().to_vec();
    b.push(0);
    b.truncate(nbytes);
    b
}

/// `pickle.encode_long` for a signed 128-bit value.
pub fn encode_long_i128(x: i128) -> Vec<u8> {
    if x >= 0 {
        return encode_long_u128(x as u128);
    }
    let bits = 128 - x.unsigned_abs().leading_zeros() as usize;
    let nbytes = (bits >> 3) + 1;
    let mut b = x.to_le_bytes().to_vec();
    b.push(0xff);
    b.truncate(nbytes);
    if nbytes > 1 && b[nbytes - 1] == 0xff && b[nbytes - 2] & 0x80 != 0 {
        b.truncate(nbytes - 1);
    }
    b
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

// ---------------------------------------------------------------------------------------------
// Output with CPython's framing

struct Out<W: Write> {
    w: W,
    framing: bool,
    in_frame: bool,
    frame: Vec<u8>,
    written: u64,
}

impl<W: Write> Out<W> {
    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.written += b.len() as u64;
        Ok(())
    }

    /// `_Pickler_Write`: into the current frame (opening one) when framing.
    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        if self.framing {
            self.in_frame = true;
            self.frame.extend_from_slice(b);
            Ok(())
        } else {
            self.raw(b)
        }
    }

    fn op(&mut self, op: Op) -> io::Result<()> {
        self.write(&[op as u8])
    }

    /// `_Pickler_CommitFrame`.
    fn commit_frame(&mut self) -> io::Result<()> {
        if !self.in_frame {
            return Ok(());
        }
        self.in_frame = false;
        let frame = std::mem::take(&mut self.frame);
        if let Some(hdr) = frame_header(frame.len()) {
            self.raw(&hdr)?;
        }
        self.raw(&frame)?;
        self.frame = frame;
        self.frame.clear();
        Ok(())
    }

    /// `_Pickler_OpcodeBoundary`: called at the start of every `save()`.
    fn boundary(&mut self) -> io::Result<()> {
        if self.in_frame && self.frame.len() >= FRAME_TARGET {
            self.commit_frame()?;
        }
        Ok(())
    }

    /// `_Pickler_write_bytes`: header then payload; a payload of 64 KiB or more goes outside
    /// frames (the current frame is committed first).
    fn write_bytes(
        &mut self,
        header: &[u8],
        len: usize,
        payload: &dyn Fn(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        if len >= FRAME_TARGET {
            self.commit_frame()?;
            self.raw(header)?;
            let mut cw = CountingWriter {
                inner: &mut self.w,
                n: 0,
            };
            payload(&mut cw)?;
            let n = cw.n;
            self.written += n;
            if n != len as u64 {
                return Err(io::Error::other("payload length mismatch"));
            }
            Ok(())
        } else {
            self.write(header)?;
            if self.framing {
                self.in_frame = true;
                let before = self.frame.len();
                payload(&mut self.frame)?;
                if self.frame.len() - before != len {
                    return Err(io::Error::other("payload length mismatch"));
                }
                Ok(())
            } else {
                let mut cw = CountingWriter {
                    inner: &mut self.w,
                    n: 0,
                };
                payload(&mut cw)?;
                let n = cw.n;
                self.written += n;
                if n != len as u64 {
                    return Err(io::Error::other("payload length mismatch"));
                }
                Ok(())
            }
        }
    }
}

struct CountingWriter<'w, W: Write> {
    inner: &'w mut W,
    n: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Turns raw bytes into the UTF-8 of their latin-1 decoding (protocol 2's `bytes` form).
struct Latin1Utf8<'w> {
    inner: &'w mut dyn Write,
    buf: Vec<u8>,
}

impl Write for Latin1Utf8<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.clear();
        for &c in data {
            if c < 0x80 {
                self.buf.push(c);
            } else {
                self.buf.push(0xC0 | (c >> 6));
                self.buf.push(0x80 | (c & 0x3F));
            }
        }
        self.inner.write_all(&self.buf)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct HighByteCounter(usize, usize);

impl Write for HighByteCounter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0 += data.len();
        self.1 += data.iter().filter(|&&c| c >= 0x80).count();
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Ptr(usize),
    Id(ObjId),
    Dtype(DType),
    /// numpy's cached one-byte `b'b'` (the dummy dtype of `_reconstruct`).
    BytesB,
}

#[derive(Debug, Clone, Copy)]
enum Ident {
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

struct Encoder<'a, W: Write> {
    out: Out<W>,
    proto: u8,
    numpy: NumpyFlavor,
    memo_len: u32,
    strs: HashMap<&'a str, u32>,
    globals: HashMap<(&'a str, &'a str), u32>,
    keys: HashMap<Key, u32>,
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

    fn memo_put(&mut self, ident: Ident) -> io::Result<u32> {
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

    fn get(&mut self, i: u32) -> io::Result<()> {
        if i < 256 {
            self.out.write(&[Op::BINGET as u8, i as u8])
        } else {
            let mut b = [Op::LONG_BINGET as u8, 0, 0, 0, 0];
            b[1..].copy_from_slice(&i.to_le_bytes());
            self.out.write(&b)
        }
    }

    fn int(&mut self, i: i64) -> io::Result<()> {
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

    fn long(&mut self, payload: &[u8]) -> io::Result<()> {
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
    fn save_str(&mut self, s: &'a str, ident: Ident) -> io::Result<()> {
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
    fn global_direct(&mut self, m: &'a str, n: &'a str) -> io::Result<()> {
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

    fn atom_int(&mut self, i: i64) -> io::Result<()> {
        self.out.boundary()?;
        self.int(i)
    }

    fn atom(&mut self, o: Op) -> io::Result<()> {
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
    fn codecs_encode(
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

fn bytes_header(len: usize, proto: u8) -> Vec<u8> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn small_dict_matches_cpython() {
        // pickle.dumps({'a': 1}, protocol=5)
        let v = Value::dict([("a", Value::Int(1))]);
        let b = encode(&v, 5).unwrap();
        assert_eq!(
            b,
            b"\x80\x05\x95\x0a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."
        );
        // pickle.dumps({}, protocol=5): a 2-byte frame has no FRAME header
        assert_eq!(encode(&Value::Dict(vec![]), 5).unwrap(), b"\x80\x05}\x94.");
        assert_eq!(encode(&Value::Tuple(vec![]), 5).unwrap(), b"\x80\x05).");
    }

    #[test]
    fn longs_match_python() {
        // pickle.encode_long
        assert_eq!(encode_long_i128(255), vec![0xff, 0x00]);
        assert_eq!(encode_long_i128(-128), vec![0x80]);
        assert_eq!(encode_long_i128(-129), vec![0x7f, 0xff]);
        assert_eq!(encode_long_i128(-256), vec![0x00, 0xff]);
        assert_eq!(encode_long_i128(127), vec![0x7f]);
        assert_eq!(encode_long_u128(u128::MAX).len(), 17);
        // pickle.dumps(2**31, protocol=2)
        assert_eq!(
            encode(&Value::Int(1 << 31), 2).unwrap(),
            b"\x80\x02\x8a\x05\x00\x00\x00\x80\x00."
        );
        assert_eq!(
            encode(&Value::Int(-1), 2).unwrap(),
            b"\x80\x02J\xff\xff\xff\xff."
        );
    }

    #[test]
    fn shared_and_strings_reuse_memo() {
        let shared = Value::shared(Value::List(vec![Value::Int(1)]));
        let v = Value::List(vec![
            shared.clone(),
            shared,
            Value::str("x"),
            Value::str("x"),
        ]);
        let b = encode(&v, 5).unwrap();
        // pickle.dumps([l, l, 'x', 'x'], protocol=5) with l = [1]
        assert_eq!(
            b,
            b"\x80\x05\x95\x12\x00\x00\x00\x00\x00\x00\x00]\x94(]\x94K\x01ah\x01\x8c\x01x\x94h\x02e."
        );
    }

    #[test]
    fn cycle_through_named_object() {
        let ctx = ObjId(1);
        let v = Value::Named(
            ctx,
            Box::new(Value::instance(
                "m",
                "C",
                [("me", Value::Ref(ctx)), ("n", Value::Int(2))],
            )),
        );
        let b = encode(&v, 5).unwrap();
        // class C: pass; c = C(); c.me = c; c.n = 2 (module m)
        assert_eq!(
            b,
            b"\x80\x05\x95\x20\x00\x00\x00\x00\x00\x00\x00\x8c\x01m\x94\x8c\x01C\x94\x93\x94)\x81\x94}\x94(\x8c\x02me\x94h\x03\x8c\x01n\x94K\x02ub."
        );
        let bad = Value::Ref(ObjId(9));
        assert!(encode(&bad, 5).is_err());
    }

    #[test]
    fn large_payload_sits_outside_frames() {
        let a = NdArray::synth(
            DType::F8,
            &[10_000],
            7,
            Fill::Noise {
                mean: 1.0,
                sigma: 0.1,
            },
        );
        let b = encode(&Value::array(a), 5).unwrap();
        // PROTO, FRAME, ... then the BYTEARRAY8 header right after a committed frame.
        let pos = b.iter().position(|&c| c == Op::BYTEARRAY8 as u8).unwrap();
        let frame_len = u64::from_le_bytes(b[3..11].try_into().unwrap()) as usize;
        assert_eq!(b[2], Op::FRAME as u8);
        assert_eq!(pos, 11 + frame_len);
    }

    #[test]
    fn dict_of_1000_has_trailing_empty_batch() {
        let d = Value::Dict((0..1000).map(|i| (Value::Int(i), Value::Int(i))).collect());
        let b = encode(&d, 5).unwrap();
        assert!(b.ends_with(b"u(u."));
        let l = Value::List((0..1000).map(Value::Int).collect());
        assert!(encode(&l, 5).unwrap().ends_with(b"\xe7\x03e."));
    }

    #[test]
    fn synth_is_deterministic() {
        let a = NdArray::synth(
            DType::C16,
            &[3, 5],
            42,
            Fill::Noise {
                mean: 0.0,
                sigma: 1.0,
            },
        );
        let mut x = Vec::new();
        let mut y = Vec::new();
        a.write_data(&mut x).unwrap();
        a.write_data(&mut y).unwrap();
        assert_eq!(x.len(), 3 * 5 * 16);
        assert_eq!(x, y);
    }

    #[test]
    fn rejects_bad_protocol_and_sizes() {
        assert!(encode(&Value::None, 1).is_err());
        assert!(encode(&Value::None, 6).is_err());
        let a = NdArray::from_bytes(DType::F8, &[2], vec![0; 3]);
        assert!(encode(&Value::array(a), 5).is_err());
    }
}
