//! The value tree the pickler writes: Python values, objects by their reduce tuple, shared and
//! named objects for identity and cycles, and the builders tests and the generator use.

use std::rc::Rc;

use super::numpy::{DType, NdArray};

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
