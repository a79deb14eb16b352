//! CPython's framing (protocol 4+): the frame sizes and the `FRAME` header, written by the
//! rewriter (`slim::write`) and the synthetic pickler (`synth`), read by the lean parse.

use super::Op;

/// CPython's `_FRAME_SIZE_TARGET`: a frame is committed once it holds this many bytes, and a
/// payload this large is written outside frames.
pub const FRAME_TARGET: usize = 64 * 1024;

/// CPython's `_FRAME_SIZE_MIN`: a smaller frame gets no `FRAME` header.
pub const FRAME_MIN: usize = 4;

/// The `FRAME` header (opcode and 8-byte little-endian length) of a frame of `len` bytes, or
/// `None` for a frame too small to get one.
pub fn frame_header(len: usize) -> Option<[u8; 9]> {
    if len < FRAME_MIN {
        return None;
    }
    let mut h = [0u8; 9];
    h[0] = Op::FRAME as u8;
    h[1..].copy_from_slice(&(len as u64).to_le_bytes());
    Some(h)
}

/// The length a `FRAME` header at `data[at]` gives (the 8 bytes after its opcode), when they
/// lie in `data`.
pub fn frame_len(data: &[u8], at: usize) -> Option<u64> {
    let h = data.get(at + 1..at + 9)?;
    Some(u64::from_le_bytes(h.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_get_no_header_and_others_their_length() {
        assert_eq!(frame_header(3), None);
        assert_eq!(
            frame_header(FRAME_TARGET),
            Some([0x95, 0, 0, 1, 0, 0, 0, 0, 0])
        );
        // Read back, from an offset; a header cut short gives none.
        let h = frame_header(FRAME_TARGET).unwrap_or_default();
        assert_eq!(
            frame_len(&[&[0u8][..], &h].concat(), 1),
            Some(FRAME_TARGET as u64)
        );
        assert_eq!(frame_len(&h[..8], 0), None);
    }
}
