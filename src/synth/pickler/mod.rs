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
//!
//! - [`value`]: the value tree ([`Value`], [`Object`], [`Global`]) and its builders.
//! - [`numpy`]: arrays, dtypes and scalars, and their generated data.
//! - [`out`]: the output with CPython's framing.
//! - [`encode`]: the encoder (memo, batching, strings, globals, bytes, numpy's reduce forms)
//!   and its entry points.

mod encode;
mod numpy;
mod out;
#[cfg(test)]
mod tests;
mod value;

pub use encode::{EncodeOptions, encode, encode_with, write_pickle};
pub use numpy::{ArrayData, DType, Fill, NdArray, NumpyFlavor, Rng};
pub use value::{Call, Global, ObjId, Object, Value, encode_long_i128, encode_long_u128};

/// An `InvalidInput` error: a value the encoder cannot write.
fn invalid(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, msg.into())
}
