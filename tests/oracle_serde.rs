//! serde_pickle as an independent oracle: plain-data pickles (dict, list, tuple, str, bytes,
//! int including big ints, float, bool, None, set, frozenset, bytearray) at protocols 0–5
//! decode to the same values through our graph and through serde_pickle.
//!
//! What serde_pickle cannot check, and where it is checked instead:
//! - memo identity: it resolves every GET by cloning, so sharing and cycles are invisible
//!   (recursive structures are an error unless replaced); `opcodes.rs` and
//!   `roundtrip_cpython.rs` compare sharing with CPython.
//! - class instances: GLOBAL is only understood for a handful of builtins (set, frozenset,
//!   bytearray, list, int, `_codecs.encode`); anything else is an error or is replaced, and
//!   BUILD states lose their class, so pipeline pickles are compared with CPython instead.
//! - PERSID, EXT1/2/4 and out-of-band buffers.
//! - serde_pickle 1.2 also reports `Recursive` for a shared list whose items are memoized
//!   themselves (`[s, s]` with `s = [1, 'str']`), which is not recursive; such values are left
//!   out here (shared lists of unmemoized items and shared strings are in).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use picklescope::pickle::value::{float_value, global_name, int_text, int_value, text};
use picklescope::pickle::{CallKind, Graph, Kind, NO_NODE, NodeId, Op, STATE_KEY};
use serde_pickle::{DeOptions, HashableValue, Value};

/// Decimal text of a little-endian two's-complement integer of any length.
fn le_decimal(b: &[u8]) -> String {
    if b.is_empty() {
        return "0".into();
    }
    let neg = b[b.len() - 1] & 0x80 != 0;
    let mut mag: Vec<u8> = b.to_vec();
    if neg {
        // Two's complement magnitude: invert and add one.
        let mut carry = 1u16;
        for x in mag.iter_mut() {
            let v = (!*x) as u16 + carry;
            *x = v as u8;
            carry = v >> 8;
        }
    }
    // Base 10^9 limbs, most significant byte first.
    let mut limbs: Vec<u64> = vec![0];
    for &byte in mag.iter().rev() {
        let mut carry = byte as u64;
        for l in limbs.iter_mut() {
            let v = *l * 256 + carry;
            *l = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut s = String::new();
    for (k, l) in limbs.iter().rev().enumerate() {
        if k == 0 {
            s.push_str(&l.to_string());
        } else {
            s.push_str(&format!("{l:09}"));
        }
    }
    if neg && s != "0" {
        s.insert(0, '-');
    }
    s
}

/// A `serde_pickle::Value::Int` from decimal text (serde_pickle's own text LONG decoder builds
/// the BigInt; we cannot name the BigInt type without depending on num-bigint).
fn big(dec: &str) -> Value {
    serde_pickle::value_from_slice(format!("L{dec}L\n.").as_bytes(), DeOptions::new())
        .unwrap_or_else(|e| panic!("bigint {dec}: {e}"))
}

fn hashable(v: Value) -> Result<HashableValue, String> {
    v.into_hashable()
        .map_err(|e| format!("unhashable key: {e}"))
}

/// Converts the object `root` of our graph to a serde_pickle value, iteratively (explicit stack,
/// post-order), cloning shared nodes the way serde_pickle does. Integers follow serde_pickle's
/// convention: INT/BININT* give `I64`, LONG/LONG1/LONG4 give `Int`.
fn to_value(g: &Graph, data: &[u8], root: NodeId) -> Result<Value, String> {
    let mut done: HashMap<NodeId, Value> = HashMap::new();
    let mut on_path: BTreeSet<NodeId> = BTreeSet::new();
    let mut stack: Vec<(NodeId, bool)> = vec![(root, false)];
    while let Some((id, expanded)) = stack.pop() {
        if !expanded {
            if done.contains_key(&id) {
                continue;
            }
            if !on_path.insert(id) {
                return Err(format!("node {id} contains itself"));
            }
            stack.push((id, true));
            for c in kids(g, id).into_iter().rev() {
                if on_path.contains(&c) {
                    return Err(format!("node {id} contains itself through {c}"));
                }
                stack.push((c, false));
            }
            continue;
        }
        on_path.remove(&id);
        let v = build(g, data, id, &done)?;
        done.insert(id, v);
    }
    done.remove(&root)
        .ok_or_else(|| "root not built".to_string())
}

/// The nodes a node's value is made of.
fn kids(g: &Graph, id: NodeId) -> Vec<NodeId> {
    let n = g.node(id);
    let mut v = Vec::new();
    match n.kind {
        Kind::Call { args, .. } if args != NO_NODE => v.push(args),
        Kind::Tuple | Kind::List | Kind::Dict | Kind::Set | Kind::FrozenSet => {
            for e in g.children(id) {
                if e.key == STATE_KEY {
                    continue;
                }
                if e.key != NO_NODE {
                    v.push(e.key);
                }
                v.push(e.value);
            }
        }
        _ => {}
    }
    v
}

fn get(done: &HashMap<NodeId, Value>, id: NodeId) -> Result<Value, String> {
    done.get(&id)
        .cloned()
        .ok_or_else(|| format!("node {id} not built"))
}

fn items(g: &Graph, id: NodeId, done: &HashMap<NodeId, Value>) -> Result<Vec<Value>, String> {
    g.children(id)
        .iter()
        .filter(|e| e.key == NO_NODE)
        .map(|e| get(done, e.value))
        .collect()
}

fn build(
    g: &Graph,
    data: &[u8],
    id: NodeId,
    done: &HashMap<NodeId, Value>,
) -> Result<Value, String> {
    let n = g.node(id);
    Ok(match n.kind {
        Kind::None => Value::None,
        Kind::Bool(b) => Value::Bool(b),
        Kind::Int { payload } => match n.op {
            Op::INT | Op::BININT | Op::BININT1 | Op::BININT2 => {
                Value::I64(int_value(data, n.op, payload).ok_or("INT does not fit in i64")?)
            }
            Op::LONG => big(&int_text(data, n.op, payload)),
            _ => {
                let b = &data[payload.range()];
                let dec = le_decimal(b);
                if b.len() <= 16 {
                    // Our value decoder must agree with the independent conversion.
                    assert_eq!(int_text(data, n.op, payload), dec);
                }
                big(&dec)
            }
        },
        Kind::Float { payload } => Value::F64(float_value(data, n.op, payload).ok_or("bad float")?),
        Kind::Str(t) => Value::String(text(data, t).into_owned()),
        Kind::Bytes { payload } | Kind::ByteArray { payload } => {
            Value::Bytes(data[payload.range()].to_vec())
        }
        Kind::Tuple => Value::Tuple(items(g, id, done)?),
        Kind::List => Value::List(items(g, id, done)?),
        Kind::Dict => {
            let mut m = BTreeMap::new();
            for e in g.children(id).iter().filter(|e| e.key != STATE_KEY) {
                m.insert(hashable(get(done, e.key)?)?, get(done, e.value)?);
            }
            Value::Dict(m)
        }
        Kind::Set | Kind::FrozenSet => {
            let mut s = BTreeSet::new();
            for v in items(g, id, done)? {
                s.insert(hashable(v)?);
            }
            if matches!(n.kind, Kind::Set) {
                Value::Set(s)
            } else {
                Value::FrozenSet(s)
            }
        }
        Kind::Call {
            how: CallKind::Reduce,
            callable,
            args,
            ..
        } => {
            // The builtins plain data is spelled with below protocol 4/5.
            let f = global_name(g, data, callable).ok_or("call of a non-global")?;
            let a = match get(done, args)? {
                Value::Tuple(a) => a,
                _ => return Err("REDUCE args are not a tuple".into()),
            };
            let f = f
                .strip_prefix("__builtin__.")
                .map(|s| format!("builtins.{s}"))
                .unwrap_or(f);
            match (f.as_str(), a.as_slice()) {
                ("builtins.set", [Value::List(l)]) => {
                    Value::Set(l.iter().cloned().map(hashable).collect::<Result<_, _>>()?)
                }
                ("builtins.frozenset", [Value::List(l)]) => {
                    Value::FrozenSet(l.iter().cloned().map(hashable).collect::<Result<_, _>>()?)
                }
                ("_codecs.encode", [Value::String(s), Value::String(enc)]) if enc == "latin1" => {
                    Value::Bytes(s.chars().map(|c| c as u32 as u8).collect())
                }
                ("builtins.bytearray", [Value::Bytes(b)]) => Value::Bytes(b.clone()),
                ("builtins.bytearray", [Value::String(s), _]) => {
                    Value::Bytes(s.chars().map(|c| c as u32 as u8).collect())
                }
                _ => return Err(format!("not plain data: call of {f}")),
            }
        }
        other => return Err(format!("not plain data: {other:?}")),
    })
}

fn compare(name: &str, data: &[u8]) {
    let g = common::graph(data);
    let ours = to_value(&g, data, g.root()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let theirs = serde_pickle::value_from_slice(data, DeOptions::new().decode_strings())
        .unwrap_or_else(|e| panic!("{name}: serde_pickle: {e}"));
    assert_eq!(ours, theirs, "{name}");
}

#[test]
fn le_decimal_is_right() {
    assert_eq!(le_decimal(&[]), "0");
    assert_eq!(le_decimal(&[0xff]), "-1");
    assert_eq!(le_decimal(&[0x00, 0x80]), "-32768");
    assert_eq!(
        le_decimal(&[0, 0, 0, 0, 0, 0, 0, 0, 1]),
        "18446744073709551616"
    );
    let mut b = vec![0u8; 32];
    b[31] = 0x80;
    assert_eq!(
        le_decimal(&b),
        "-57896044618658097711785492504343953926634992332820282019728792003956564819968"
    );
}

#[test]
fn plain_fixtures_match_serde_pickle() {
    let fx = common::fixtures(|n| n.starts_with("plain_p"));
    if fx.is_empty() {
        common::skip(
            "plain_fixtures_match_serde_pickle",
            "plain_p*.pickle fixtures missing",
        );
        return;
    }
    assert_eq!(fx.len(), 6, "plain_p0..plain_p5");
    for (name, data) in &fx {
        compare(name, data);
    }
}

#[test]
fn generated_plain_data_matches_serde_pickle_at_every_protocol() {
    if common::no_python("generated_plain_data_matches_serde_pickle_at_every_protocol") {
        return;
    }
    let pickles = common::py_pickles(
        r#"
import pickle
shared = [1, 2]
objs = [
    None, True, False, 0, -1, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63, 2**64,
    -(2**64) - 1, 2**127, -(2**127), 2**128, 2**4000 + 1, -(2**4000),
    0.0, -2.5, 1e308, 5e-324, float('inf'), float('-inf'),
    '', 'ascii', 'caf\u00e9', '\u65e5\u672c\u8a9e', '\U0001f680', 'a\\b\nc\r\x00\x1a', 'x' * 70000,
    b'\x00', b'\\\n\r\x1a\xff', bytes(range(256)) * 300, bytearray(b'xyz'), bytearray(b'\x00\xff'),
    (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), tuple(range(1000)),
    [], [[]], list(range(3000)), [shared, shared], {'a': shared, 'b': [shared]}, ['s', 's', ('s',)],
    {}, {'k': {'k': {'k': {}}}}, {i: str(i) for i in range(1500)},
    {(1, 2): 'tuple key', 3: 'int', 2.5: 'float', None: 'none', True: 'bool', b'b': 'bytes'},
    {1, 2, 3}, set(), frozenset(), frozenset({'a', (1, 2)}), {frozenset({1})},
    [[[[[[[[[[['deep']]]]]]]]]]],
]
out = [pickle.dumps(o, protocol=p) for p in range(6) for o in objs]
"#,
    );
    assert!(pickles.len() > 300);
    for (k, data) in pickles.iter().enumerate() {
        compare(
            &format!("pickle {k} (protocol {})", k / (pickles.len() / 6)),
            data,
        );
    }
}

/// serde_pickle really cannot stand in for the engine: a pipeline result is not plain data.
#[test]
fn serde_pickle_cannot_read_class_instances() {
    let Some(data) = common::fixture_bytes("stage4_p2.pickle") else {
        return;
    };
    assert!(serde_pickle::value_from_slice(&data, DeOptions::new()).is_err());
    let g = common::graph(&data);
    assert!(to_value(&g, &data, g.root()).is_err());
}
