//! The opcode table of pickle protocols 0–5: codes, names and argument encodings.

/// How an opcode's argument is laid out in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// No argument.
    None,
    /// One unsigned byte.
    U1,
    /// Two bytes, little-endian unsigned.
    U2,
    /// Four bytes, little-endian signed.
    I4,
    /// Four bytes, little-endian unsigned.
    U4,
    /// Eight bytes, little-endian unsigned.
    U8,
    /// Eight bytes, big-endian IEEE double.
    F8,
    /// A one-byte length, then that many bytes.
    Len1,
    /// A four-byte unsigned length, then that many bytes.
    Len4,
    /// A four-byte *signed* length (BINSTRING, LONG4), then that many bytes.
    Len4Signed,
    /// An eight-byte length, then that many bytes.
    Len8,
    /// Text up to and excluding a newline.
    Line,
    /// Two newline-terminated lines (GLOBAL, INST).
    TwoLines,
}

/// [`Op::shape`]: a one-byte length, then that many bytes.
pub const SHAPE_LEN1: u8 = 0x80;
/// [`Op::shape`]: decoded by the general path (long lengths, text lines, unknown bytes).
pub const SHAPE_SLOW: u8 = 0xFF;

impl ArgKind {
    const fn shape(self) -> u8 {
        match self {
            ArgKind::None => 0,
            ArgKind::U1 => 1,
            ArgKind::U2 => 2,
            ArgKind::I4 | ArgKind::U4 => 4,
            ArgKind::U8 | ArgKind::F8 => 8,
            ArgKind::Len1 => SHAPE_LEN1,
            _ => SHAPE_SLOW,
        }
    }
}

macro_rules! opcodes {
    ($( $name:ident = $code:expr, $arg:ident, $proto:expr; )*) => {
        /// A pickle opcode.
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op { $( $name = $code, )* }

        impl Op {
            /// The opcode for a code byte, if it is one (a table lookup: this is the hot path).
            #[inline]
            pub const fn from_byte(b: u8) -> Option<Op> {
                const TABLE: [Option<Op>; 256] = {
                    let mut t = [None; 256];
                    $( t[$code as usize] = Some(Op::$name); )*
                    t
                };
                TABLE[b as usize]
            }
            /// The instruction's shape, for the scanner's fast path: the argument width in
            /// bytes for fixed-width and argument-less opcodes, [`SHAPE_LEN1`] for a one-byte
            /// length prefix, [`SHAPE_SLOW`] for everything else and for unknown bytes.
            #[inline(always)]
            pub const fn shape(b: u8) -> u8 {
                const SHAPES: [u8; 256] = {
                    let mut t = [SHAPE_SLOW; 256];
                    $( t[$code as usize] = ArgKind::$arg.shape(); )*
                    t
                };
                SHAPES[b as usize]
            }
            /// The name pickletools uses.
            pub fn name(self) -> &'static str {
                match self { $( Op::$name => stringify!($name), )* }
            }
            /// How the argument is encoded.
            #[inline]
            pub const fn arg_kind(self) -> ArgKind {
                const KINDS: [ArgKind; 256] = {
                    let mut t = [ArgKind::None; 256];
                    $( t[$code as usize] = ArgKind::$arg; )*
                    t
                };
                KINDS[self as u8 as usize]
            }
            /// The protocol that introduced the opcode.
            pub fn protocol(self) -> u8 {
                match self { $( Op::$name => $proto, )* }
            }
            /// Every opcode, in table order.
            pub const ALL: &'static [Op] = &[ $( Op::$name, )* ];
        }
    };
}

opcodes! {
    INT = b'I', Line, 0;
    BININT = b'J', I4, 1;
    BININT1 = b'K', U1, 1;
    BININT2 = b'M', U2, 1;
    LONG = b'L', Line, 0;
    LONG1 = 0x8a, Len1, 2;
    LONG4 = 0x8b, Len4Signed, 2;
    STRING = b'S', Line, 0;
    BINSTRING = b'T', Len4Signed, 1;
    SHORT_BINSTRING = b'U', Len1, 1;
    BINBYTES = b'B', Len4, 3;
    SHORT_BINBYTES = b'C', Len1, 3;
    BINBYTES8 = 0x8e, Len8, 4;
    BYTEARRAY8 = 0x96, Len8, 5;
    NEXT_BUFFER = 0x97, None, 5;
    READONLY_BUFFER = 0x98, None, 5;
    NONE = b'N', None, 0;
    NEWTRUE = 0x88, None, 2;
    NEWFALSE = 0x89, None, 2;
    UNICODE = b'V', Line, 0;
    SHORT_BINUNICODE = 0x8c, Len1, 4;
    BINUNICODE = b'X', Len4, 1;
    BINUNICODE8 = 0x8d, Len8, 4;
    FLOAT = b'F', Line, 0;
    BINFLOAT = b'G', F8, 1;
    EMPTY_LIST = b']', None, 1;
    APPEND = b'a', None, 0;
    APPENDS = b'e', None, 1;
    LIST = b'l', None, 0;
    EMPTY_TUPLE = b')', None, 1;
    TUPLE = b't', None, 0;
    TUPLE1 = 0x85, None, 2;
    TUPLE2 = 0x86, None, 2;
    TUPLE3 = 0x87, None, 2;
    EMPTY_DICT = b'}', None, 1;
    DICT = b'd', None, 0;
    SETITEM = b's', None, 0;
    SETITEMS = b'u', None, 1;
    EMPTY_SET = 0x8f, None, 4;
    ADDITEMS = 0x90, None, 4;
    FROZENSET = 0x91, None, 4;
    POP = b'0', None, 0;
    DUP = b'2', None, 0;
    MARK = b'(', None, 0;
    POP_MARK = b'1', None, 1;
    GET = b'g', Line, 0;
    BINGET = b'h', U1, 1;
    LONG_BINGET = b'j', U4, 1;
    PUT = b'p', Line, 0;
    BINPUT = b'q', U1, 1;
    LONG_BINPUT = b'r', U4, 1;
    MEMOIZE = 0x94, None, 4;
    EXT1 = 0x82, U1, 2;
    EXT2 = 0x83, U2, 2;
    EXT4 = 0x84, I4, 2;
    GLOBAL = b'c', TwoLines, 0;
    STACK_GLOBAL = 0x93, None, 4;
    REDUCE = b'R', None, 0;
    BUILD = b'b', None, 0;
    INST = b'i', TwoLines, 0;
    OBJ = b'o', None, 1;
    NEWOBJ = 0x81, None, 2;
    NEWOBJ_EX = 0x92, None, 4;
    PROTO = 0x80, U1, 2;
    STOP = b'.', None, 0;
    FRAME = 0x95, U8, 4;
    PERSID = b'P', Line, 0;
    BINPERSID = b'Q', None, 1;
}

impl Op {
    /// True for the opcodes that store into the memo.
    pub fn is_memo_put(self) -> bool {
        matches!(self, Op::PUT | Op::BINPUT | Op::LONG_BINPUT | Op::MEMOIZE)
    }
    /// True for the opcodes that read from the memo.
    pub fn is_memo_get(self) -> bool {
        matches!(self, Op::GET | Op::BINGET | Op::LONG_BINGET)
    }
    /// True for opcodes whose payload the pickler writes outside frames when large.
    pub fn is_large_payload(self) -> bool {
        matches!(
            self,
            Op::BINBYTES | Op::BINBYTES8 | Op::BINUNICODE | Op::BINUNICODE8 | Op::BYTEARRAY8
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_complete_and_unique() {
        assert_eq!(Op::ALL.len(), 68);
        for &op in Op::ALL {
            assert_eq!(Op::from_byte(op as u8), Some(op));
        }
        let known: usize = (0..=255u8).filter(|b| Op::from_byte(*b).is_some()).count();
        assert_eq!(known, 68);
    }
}
