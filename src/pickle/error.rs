//! Typed errors for invalid pickle input, each carrying the byte offset where it was found.

/// What is wrong with a pickle stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("empty file, not a pickle")]
    Empty,
    #[error("unknown opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    #[error("truncated: {op} needs {needed} more bytes, only {available} left")]
    Truncated {
        op: &'static str,
        needed: u64,
        available: u64,
    },
    #[error("truncated: {0} argument has no terminating newline")]
    MissingNewline(&'static str),
    #[error("pickle ended without STOP")]
    NoStop,
    #[error("unsupported pickle protocol {0}")]
    UnsupportedProtocol(u8),
    #[error("{0}: stack underflow")]
    StackUnderflow(&'static str),
    #[error("{0}: no MARK on the stack")]
    MarkUnderflow(&'static str),
    #[error("{op}: memo entry {key} is not defined")]
    BadMemo { op: &'static str, key: u64 },
    #[error("{op}: bad argument: {why}")]
    BadArgument { op: &'static str, why: &'static str },
    #[error("{op}: invalid UTF-8 in string")]
    InvalidUtf8 { op: &'static str },
    #[error("{op}: odd number of items for a dict")]
    OddItems { op: &'static str },
    #[error("{op}: {why}")]
    Type { op: &'static str, why: &'static str },
    #[error("too many objects ({0}); the arena is limited to 4 billion nodes")]
    TooManyNodes(u64),
    #[error("file of {0} bytes is beyond the 256 TiB the arena can address")]
    TooLarge(u64),
}

/// An invalid pickle: what is wrong and the byte offset (from the start of the file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct PickleError {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl PickleError {
    pub fn new(offset: usize, kind: ErrorKind) -> Self {
        PickleError {
            offset: offset as u64,
            kind,
        }
    }
}
