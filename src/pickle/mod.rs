//! The pickle format alone: opcodes, scanner, symbolic machine, arena, values and writer.

mod cores;
pub mod dis;
pub mod edges;
pub mod error;
mod fetched;
pub mod frame;
pub mod graph;
mod helper;
pub mod lean;
pub mod machine;
pub mod nodes;
pub mod ops;
pub mod positions;
pub mod progress;
pub mod scan;
pub mod span;
pub mod value;
pub mod window;

pub use error::{ErrorKind, PickleError};
pub use graph::*;
pub use machine::{Warning, parse};
pub use ops::Op;
