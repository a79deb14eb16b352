//! The encoder against the bytes CPython writes for the same values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::pickle::Op;

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
