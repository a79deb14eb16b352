//! Names what a file is by its first bytes: the compressed streams a pickle may be wrapped in,
//! archives and data formats that are not pickles, plain text.

/// A file format recognised by its magic bytes (or, for text, its content).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gzip,
    Bzip2,
    Xz,
    /// The legacy `.lzma` ("LZMA alone") container.
    Lzma,
    Zstd,
    Zlib,
    /// An LZ4 frame.
    Lz4,
    Zip,
    SevenZip,
    Npy,
    Hdf5,
    Text,
}

impl Format {
    /// The name used in messages ("a gzip file").
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::Lzma => "lzma",
            Format::Zstd => "zstd",
            Format::Zlib => "zlib",
            Format::Lz4 => "lz4",
            Format::Zip => "zip",
            Format::SevenZip => "7z",
            Format::Npy => "npy",
            Format::Hdf5 => "HDF5",
            Format::Text => "text",
        }
    }

    /// A compressed stream (its content may be a pickle).
    pub fn is_codec(self) -> bool {
        matches!(
            self,
            Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::Lzma
                | Format::Zstd
                | Format::Zlib
                | Format::Lz4
        )
    }

    /// What a file of this format is, for "X: <describe>, not a pickle".
    pub fn describe(self) -> String {
        match self {
            Format::Zip => "a zip archive".into(),
            Format::SevenZip => "a 7z archive".into(),
            Format::Npy => "a NumPy .npy array file".into(),
            Format::Hdf5 => "an HDF5 file".into(),
            Format::Text => "a text file".into(),
            f => format!("{}-compressed data", f.name()),
        }
    }
}

/// The format `data` starts with, from magic bytes alone (never [`Format::Text`]).
pub fn magic(data: &[u8]) -> Option<Format> {
    let starts = |m: &[u8]| data.starts_with(m);
    if starts(b"\x1f\x8b") {
        Some(Format::Gzip)
    } else if starts(b"BZh") && data.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        Some(Format::Bzip2)
    } else if starts(b"\xfd7zXZ\x00") {
        Some(Format::Xz)
    } else if starts(b"\x28\xb5\x2f\xfd") {
        Some(Format::Zstd)
    } else if starts(b"\x04\x22\x4d\x18") {
        Some(Format::Lz4)
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        Some(Format::SevenZip)
    } else if starts(b"\x93NUMPY") {
        Some(Format::Npy)
    } else if starts(b"\x89HDF\r\n\x1a\n") {
        Some(Format::Hdf5)
    } else if is_zlib(data) {
        Some(Format::Zlib)
    } else if is_lzma_alone(data) {
        Some(Format::Lzma)
    } else {
        None
    }
}

/// What a file that failed to parse as a pickle is, if anything recognisable: a magic number,
/// or text (at least 8 bytes of valid UTF-8 without control bytes other than whitespace, in
/// its first 4 KiB).
pub fn what(data: &[u8]) -> Option<Format> {
    magic(data).or_else(|| {
        let head = &data[..data.len().min(4096)];
        let text = match std::str::from_utf8(head) {
            Ok(s) => s,
            // A multi-byte character cut at 4 KiB.
            Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
                std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => return None,
        };
        (text.len() >= 8
            && text
                .chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t' | '\x0c')))
        .then_some(Format::Text)
    })
}

/// RFC 1950: CMF 0x78 (deflate, 32 KiB window; what zlib writes), FCHECK makes the first
/// two bytes a multiple of 31, no preset dictionary. 0x78 is no pickle opcode.
fn is_zlib(data: &[u8]) -> bool {
    match data {
        [0x78, flg, ..] => (0x7800u16 | *flg as u16).is_multiple_of(31) && flg & 0x20 == 0,
        _ => false,
    }
}

/// The "LZMA alone" header: properties byte (lc/lp/pb below 225; 0x5d is the default), a
/// dictionary size of 2^n or 2^n + 2^(n-1), and an uncompressed size that is unknown (all
/// ones) or below 2^48. 0x5d is also EMPTY_LIST, which may start a protocol-1 pickle; the
/// dictionary-size check tells them apart, and a stream that does not decompress is parsed
/// as a pickle after all.
fn is_lzma_alone(data: &[u8]) -> bool {
    if data.len() < 13 || data[0] >= 225 {
        return false;
    }
    let dict = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
    let size = u64::from_le_bytes([
        data[5], data[6], data[7], data[8], data[9], data[10], data[11], data[12],
    ]);
    let pow2 = dict.is_power_of_two() || (dict / 3).is_power_of_two() && dict.is_multiple_of(3);
    dict >= 4096 && pow2 && (size == u64::MAX || size < 1 << 48)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(magic(b"\x1f\x8b\x08\x00"), Some(Format::Gzip));
        assert_eq!(magic(b"BZh91AY&SY"), Some(Format::Bzip2));
        assert_eq!(magic(b"\xfd7zXZ\x00\x00"), Some(Format::Xz));
        assert_eq!(magic(b"\x28\xb5\x2f\xfd\x00"), Some(Format::Zstd));
        assert_eq!(magic(b"\x04\x22\x4d\x18\x64"), Some(Format::Lz4));
        assert_eq!(magic(b"PK\x03\x04\x14\x00"), Some(Format::Zip));
        assert_eq!(magic(b"7z\xbc\xaf\x27\x1c\x00"), Some(Format::SevenZip));
        assert_eq!(magic(b"\x93NUMPY\x01\x00"), Some(Format::Npy));
        assert_eq!(magic(b"\x89HDF\r\n\x1a\n"), Some(Format::Hdf5));
        assert_eq!(magic(b"\x78\x9c\x6b\x60"), Some(Format::Zlib));
        assert_eq!(magic(b"\x78\xda\x6b\x60"), Some(Format::Zlib));
        let lzma = b"\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00";
        assert_eq!(magic(lzma), Some(Format::Lzma));
    }

    #[test]
    fn pickles_are_not_mistaken() {
        // Protocol 1 list (starts with EMPTY_LIST like an lzma header), protocol 0 and 2.
        assert_eq!(magic(b"]q\x00(K\x01K\x02e."), None);
        assert_eq!(magic(b"(lp0\nI1\na."), None);
        assert_eq!(magic(b"\x80\x02]q\x00."), None);
        // BINBYTES with a length starting "Zh": only "BZh" + a level digit is bzip2.
        assert_eq!(magic(b"BZhx\x00"), None);
    }

    #[test]
    fn text_and_binary() {
        assert_eq!(what(b"hello, world\n"), Some(Format::Text));
        assert_eq!(what(b"\x01\x02\x03"), None);
        assert_eq!(what(b""), None);
        assert_eq!(what(b"."), None);
    }
}
