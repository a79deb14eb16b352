//! The scanner alone: every instruction decoded from arbitrary bytes, from every start offset.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picklescope::pickle::scan::{Scanner, read_instr};

fuzz_target!(|data: &[u8]| {
    // Walk the stream the way the machine does (through STOP, then the next pickle).
    let mut pos = 0;
    while pos < data.len() {
        let mut s = Scanner::new(data, pos);
        let mut last = pos;
        for r in s.by_ref() {
            match r {
                Ok(i) => {
                    assert!(i.pos == last && i.end > i.pos && i.end <= data.len());
                    assert!(i.arg_pos() >= i.pos + 1 && i.arg_pos() + i.arg.len() <= i.end);
                    let _ = i.uint();
                    last = i.end;
                }
                Err(e) => assert!(e.offset as usize <= data.len()),
            }
        }
        if s.pos() <= pos {
            break;
        }
        pos = s.pos();
    }
    // Decoding at any offset must be total (no panic, no out-of-range slices).
    for p in 0..data.len().min(256) {
        if let Ok(i) = read_instr(data, p) {
            assert!(i.end <= data.len());
        }
    }
});
