//! Every opcode of protocols 0–5, read by the symbolic machine: node kinds, decoded values and
//! sharing, asserted through a textual rendering of the graph (see `common::render`), and
//! checked against CPython's own reading of the same bytes where CPython can load them.

mod common;

use std::collections::BTreeSet;

use picklescope::pickle::scan::Scanner;
use picklescope::pickle::value::{int_text, int_value, str_value};
use picklescope::pickle::{CallKind, ErrorKind, Kind, NO_NODE, Op, parse};

use common::{PY_RENDER, graph, py_run, render};

/// How CPython is involved for a case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cpy {
    /// CPython (stub classes) must load it and render the same text as our reader.
    Same,
    /// CPython must load it (with extension codes registered and buffers supplied), but it
    /// resolves EXT/NEXT_BUFFER to other objects, so only loading is compared.
    Loads,
}

struct Case {
    name: &'static str,
    data: Vec<u8>,
    /// Our rendering with call kinds (`full`).
    expect: &'static str,
    cpy: Cpy,
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn u64le(n: u64) -> [u8; 8] {
    n.to_le_bytes()
}

fn cases() -> Vec<Case> {
    let f8 = |x: f64| x.to_be_bytes();
    vec![
        Case {
            // INT with "00"/"01" is how protocol 0 spells False/True; LONG keeps its L suffix.
            name: "p0_ints_bools_longs",
            data: b"(lI42\naI-7\naI00\naI01\naL123L\naL-99999999999999999999999L\na.".to_vec(),
            expect: "[42, -7, False, True, 123, -99999999999999999999999]",
            cpy: Cpy::Same,
        },
        Case {
            name: "binary_ints",
            // K 0, K 255, M 65535, J -1, J -2**31, LONG1 with 0 bytes, LONG1 -1, LONG1 -32768,
            // LONG4 127, LONG1 2**64 (9 bytes).
            data: cat(&[
                b"\x80\x02]q\x00(K\x00K\xffM\xff\xffJ\xff\xff\xff\xffJ\x00\x00\x00\x80",
                b"\x8a\x00\x8a\x01\xff\x8a\x02\x00\x80\x8b\x01\x00\x00\x00\x7f",
                b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01e.",
            ]),
            expect: "[0, 255, 65535, -1, -2147483648, 0, -1, -32768, 127, 18446744073709551616]",
            cpy: Cpy::Same,
        },
        Case {
            name: "floats",
            data: cat(&[
                b"(lF1.5\naF-0.25\naF1e+300\naG",
                &f8(230.5),
                b"aG",
                &f8(-0.0),
                b"a.",
            ]),
            expect: "[1.5, -0.25, 1e+300, 230.5, -0.0]",
            cpy: Cpy::Same,
        },
        Case {
            name: "p0_strings",
            // STRING (quoted, escaped; CPython decodes it as ASCII), UNICODE (raw-unicode-escape).
            data: b"(lS'py2'\naS'a\\nb'\naS\"it's\"\naVcaf\xe9\naV\\u65e5\\u672c\naV\na.".to_vec(),
            expect: "[\"py2\", \"a\\u{a}b\", \"it's\", \"caf\\u{e9}\", \"\\u{65e5}\\u{672c}\", \"\"]",
            cpy: Cpy::Same,
        },
        Case {
            name: "binary_strings",
            data: cat(&[
                b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00",
                b"(T\x03\x00\x00\x00abcU\x02hi\x8c\x05caf\xc3\xa9X\x03\x00\x00\x00\xe2\x82\xac",
                b"\x8d",
                &u64le(4),
                b"\xf0\x9f\x9a\x80\x8c\x00l.",
            ]),
            expect: "[\"abc\", \"hi\", \"caf\\u{e9}\", \"\\u{20ac}\", \"\\u{1f680}\", \"\"]",
            cpy: Cpy::Same,
        },
        Case {
            name: "bytes_and_bytearray",
            data: cat(&[
                b"\x80\x05(C\x02\x00\xffB\x03\x00\x00\x00abc\x8e",
                &u64le(2),
                b"xy\x96",
                &u64le(2),
                b"ok\x96",
                &u64le(0),
                b"t.",
            ]),
            expect: "(b\"\\x00\\xff\", b\"abc\", b\"xy\", bytearray(b\"ok\"), bytearray(b\"\"))",
            cpy: Cpy::Same,
        },
        Case {
            name: "singletons",
            data: b"\x80\x02N\x88\x89\x87.".to_vec(),
            expect: "(None, True, False)",
            cpy: Cpy::Same,
        },
        Case {
            name: "lists",
            // EMPTY_LIST APPEND, EMPTY_LIST APPENDS, MARK LIST, APPENDS with an empty mark.
            data: b"\x80\x02(]K\x01a](K\x02K\x03e(K\x04l](et.".to_vec(),
            expect: "([1], [2, 3], [4], [])",
            cpy: Cpy::Same,
        },
        Case {
            name: "tuples",
            data: b"\x80\x02()K\x01\x85K\x01K\x02\x86K\x01K\x02K\x03\x87(K\x04K\x05K\x06K\x07t(tt."
                .to_vec(),
            expect: "((), (1,), (1, 2), (1, 2, 3), (4, 5, 6, 7), ())",
            cpy: Cpy::Same,
        },
        Case {
            name: "dicts",
            // EMPTY_DICT SETITEM, EMPTY_DICT SETITEMS, MARK DICT, SETITEMS with an empty mark.
            data: b"\x80\x02(}U\x01aK\x01s}(U\x01bK\x02U\x01cK\x03u(K\x01U\x03intd}(ut.".to_vec(),
            expect: "({\"a\": 1}, {\"b\": 2, \"c\": 3}, {1: \"int\"}, {})",
            cpy: Cpy::Same,
        },
        Case {
            name: "sets",
            data: b"\x80\x04\x8f(K\x01K\x02\x90(K\x03\x91\x8f\x87.".to_vec(),
            expect: "(set(1, 2), frozenset(3), set())",
            cpy: Cpy::Same,
        },
        Case {
            name: "nested_marks",
            data: b"((K\x01(K\x02K\x03tlt.".to_vec(),
            expect: "([1, (2, 3)],)",
            cpy: Cpy::Same,
        },
        Case {
            // POP right after MARK pops the mark (C _pickle and pickle.py agree).
            name: "pop_at_mark",
            data: b"(K\x01(0K\x02t.".to_vec(),
            expect: "(1, 2)",
            cpy: Cpy::Same,
        },
        Case {
            name: "pop_dup_pop_mark",
            data: b"K\x09(K\x01K\x021K\x050U\x01x2\x86.".to_vec(),
            expect: "(\"x\", \"x\")",
            cpy: Cpy::Same,
        },
        Case {
            name: "pop_mark_keeps_below",
            data: b"K\x09(K\x01K\x021.".to_vec(),
            expect: "9",
            cpy: Cpy::Same,
        },
        Case {
            name: "text_put_get",
            data: b"(lp0\nI1\nag0\nap7\ng7\n\x86.".to_vec(),
            expect: "(#1=[1, @1], @1)",
            cpy: Cpy::Same,
        },
        Case {
            name: "binput_binget",
            data: b"\x80\x02(]q\x00}q\x01h\x00h\x01t.".to_vec(),
            expect: "(#1=[], #2={}, @1, @2)",
            cpy: Cpy::Same,
        },
        Case {
            name: "long_binput_binget",
            data: b"\x80\x02]r\x00\x01\x00\x00K\x01aj\x00\x01\x00\x00\x86.".to_vec(),
            expect: "(#1=[1], @1)",
            cpy: Cpy::Same,
        },
        Case {
            // MEMOIZE stores at len(memo): after BINPUT 5 the memo has one entry, so the next
            // MEMOIZE is key 1.
            name: "memoize_after_sparse_put",
            data: b"\x80\x04]q\x05]\x94h\x01h\x05\x86.".to_vec(),
            expect: "([], [])",
            cpy: Cpy::Same,
        },
        Case {
            name: "put_overwrites",
            data: b"\x80\x02]q\x00K\x01a]q\x00h\x00\x86.".to_vec(),
            expect: "(#1=[], @1)",
            cpy: Cpy::Same,
        },
        Case {
            name: "global_reduce",
            data: b"cbuiltins\nset\n](K\x01K\x02e\x85R.".to_vec(),
            expect: "R:builtins.set([1, 2])",
            cpy: Cpy::Same,
        },
        Case {
            name: "stack_global_memoized_names",
            data: b"\x80\x04\x8c\x03mod\x94\x8c\x03Cls\x94\x93\x94h\x00h\x01\x93\x86.".to_vec(),
            expect: "(<mod.Cls>, <mod.Cls>)",
            cpy: Cpy::Same,
        },
        Case {
            name: "inst",
            data: b"(K\x01S'x'\nimod\nCls\n(imod\nEmpty\n\x86.".to_vec(),
            expect: "(I:mod.Cls(1, \"x\"), I:mod.Empty())",
            cpy: Cpy::Same,
        },
        Case {
            name: "obj",
            data: b"(cmod\nCls\nK\x01o(cmod\nEmpty\no\x86.".to_vec(),
            expect: "(O:mod.Cls(1), O:mod.Empty())",
            cpy: Cpy::Same,
        },
        Case {
            name: "newobj_build_dict",
            data: b"\x80\x02cmod\nCls\n)\x81}(U\x01aK\x01ub.".to_vec(),
            expect: "N:mod.Cls() % {\"a\": 1}",
            cpy: Cpy::Same,
        },
        Case {
            name: "newobj_build_slots",
            data: b"\x80\x02cmod\nCls\nK\x05\x85\x81N}U\x01sK\x01s\x86b.".to_vec(),
            expect: "N:mod.Cls(5) % (None, {\"s\": 1})",
            cpy: Cpy::Same,
        },
        Case {
            name: "newobj_ex",
            data: b"\x80\x04\x8c\x03mod\x8c\x03Cls\x93K\x01\x85}\x8c\x01kK\x02s\x92.".to_vec(),
            expect: "X:mod.Cls(1, **{\"k\": 2})",
            cpy: Cpy::Same,
        },
        Case {
            name: "shared_instance_cycle",
            // obj = Cls(); obj.me = obj; [obj, obj]
            data: b"\x80\x02](cmod\nCls\n)\x81q\x01}U\x02meh\x01sbh\x01e.".to_vec(),
            expect: "[#1=N:mod.Cls() % {\"me\": @1}, @1]",
            cpy: Cpy::Same,
        },
        Case {
            name: "persid_binpersid",
            data: b"(lPms:x\naU\x02idQa.".to_vec(),
            expect: "[<persid>(\"ms:x\"), <persid>(\"id\")]",
            cpy: Cpy::Same,
        },
        Case {
            name: "ext_codes",
            data: b"\x80\x02(\x82\x01\x83\x00\x01\x84\x00\x00\x01\x00t.".to_vec(),
            expect: "(ext(1), ext(256), ext(65536))",
            cpy: Cpy::Loads,
        },
        Case {
            name: "frame",
            data: cat(&[b"\x80\x04\x95", &u64le(6), b"K\x01K\x02\x86."]),
            expect: "(1, 2)",
            cpy: Cpy::Same,
        },
        Case {
            name: "next_buffer_readonly_buffer",
            data: b"\x80\x05(\x97\x97\x98l.".to_vec(),
            expect: "[buffer(0), buffer(1, ro)]",
            cpy: Cpy::Loads,
        },
        Case {
            // Protocol 5 pickles may omit the PROTO header entirely; CPython does not care.
            name: "no_proto_header_binary_ops",
            data: b"\x8c\x01a\x8c\x01b\x86\x94h\x00\x86.".to_vec(),
            expect: "((\"a\", \"b\"), (\"a\", \"b\"))",
            cpy: Cpy::Same,
        },
    ]
}

#[test]
fn every_case_renders_as_expected() {
    let mut failures = Vec::new();
    for c in cases() {
        let g = graph(&c.data);
        let got = render(&g, &c.data, g.root(), true);
        if got != c.expect {
            failures.push(format!(
                "{}:\n  expected {}\n  got      {}",
                c.name, c.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cases_cover_all_68_opcodes() {
    let mut seen = BTreeSet::new();
    for c in cases() {
        for i in Scanner::new(&c.data, 0) {
            let i = i.unwrap_or_else(|e| panic!("{}: {e}", c.name));
            seen.insert(i.op.name());
        }
    }
    let missing: Vec<&str> = Op::ALL
        .iter()
        .map(|o| o.name())
        .filter(|n| !seen.contains(n))
        .collect();
    assert_eq!(Op::ALL.len(), 68);
    assert!(missing.is_empty(), "opcodes never exercised: {missing:?}");
}

/// Cases CPython loads but `pickletools.dis` rejects: its checker is stricter than the
/// unpicklers (items left on the stack at STOP, a memo key stored twice).
const DIS_STRICTER: &[&str] = &[
    "pop_dup_pop_mark",
    "memoize_after_sparse_put",
    "put_overwrites",
];

/// CPython reads every case: with stub classes it renders the same text (without call kinds,
/// which CPython does not keep), and `pickletools.dis` accepts the stream.
#[test]
fn cpython_agrees_on_every_case() {
    if common::no_python("cpython_agrees_on_every_case") {
        return;
    }
    let dir = common::tempdir();
    let mut names = Vec::new();
    for (k, c) in cases().into_iter().enumerate() {
        std::fs::write(dir.path().join(format!("{k}.bin")), &c.data).expect("write case");
        let ours = {
            let g = graph(&c.data);
            render(&g, &c.data, g.root(), false)
        };
        names.push((k, c.name, c.cpy, ours));
    }
    let script = format!(
        r#"{PY_RENDER}
import copyreg, json, pickletools, os
for code, (m, n) in {{1: ('mod', 'One'), 256: ('mod', 'Two'), 65536: ('mod', 'Three')}}.items():
    copyreg._inverted_registry[code] = (m, n)
res = {{}}
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    data = open(os.path.join(d, f), 'rb').read()
    try:
        o = StubUnpickler(io.BytesIO(data), buffers=iter([b'b0', b'b1', b'b2'])).load()
        r = render(o)
    except Exception as e:
        r = 'ERROR ' + type(e).__name__ + ': ' + str(e)
    try:
        pickletools.dis(data, out=io.StringIO())
        dis = 'ok'
    except Exception as e:
        dis = type(e).__name__ + ': ' + str(e)
    res[f[:-4]] = [r, dis]
print(json.dumps(res))
"#
    );
    let o = py_run(&script, &[&dir.path().to_string_lossy()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let res: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let mut failures = Vec::new();
    for (k, name, cpy, ours) in names {
        let theirs = res[k.to_string()][0]
            .as_str()
            .unwrap_or("<missing>")
            .to_string();
        let dis = res[k.to_string()][1]
            .as_str()
            .unwrap_or("<missing>")
            .to_string();
        if (dis == "ok") == DIS_STRICTER.contains(&name) {
            failures.push(format!("{name}: pickletools.dis says {dis}"));
        }
        if theirs.starts_with("ERROR") {
            failures.push(format!("{name}: CPython refuses it: {theirs}"));
        } else if cpy == Cpy::Same && theirs != ours {
            failures.push(format!("{name}:\n  cpython {theirs}\n  ours    {ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Pickles CPython itself writes, at every protocol, read the same by both.
#[test]
fn cpython_dumps_read_the_same_at_every_protocol() {
    if common::no_python("cpython_dumps_read_the_same_at_every_protocol") {
        return;
    }
    let script = format!(
        r#"{PY_RENDER}
import sys, types, struct, json, collections, datetime, enum
mod = types.ModuleType('pipeline.fake')
sys.modules['pipeline'] = types.ModuleType('pipeline')
sys.modules['pipeline.fake'] = mod
class Obj:
    pass
class Slots:
    __slots__ = ('a', 'b')
    def __init__(self): self.a, self.b = 1, [2]
    def __getstate__(self): return (self.a, self.b)
    def __setstate__(self, st): self.a, self.b = st
class Ex:
    def __new__(cls, *a, **k): return object.__new__(cls)
    def __getnewargs_ex__(self): return ((1,), {{'k': 2}})
for c in (Obj, Slots, Ex):
    c.__module__ = 'pipeline.fake'; setattr(mod, c.__name__, c)
shared = [1, 2]
rec = []
rec_t = (rec, 1)
rec.append(rec_t)
o = Obj(); o.x = shared; o.me = o; o.text = 'caf\u00e9'
objs = [
    [None, True, False, 0, -1, 255, 65536, -2**31, 2**63, -(2**100), 1.5, 1e-300],
    ['', 'a', 'x' * 300, 'caf\u00e9', '\U0001f680', b'', b'\x00\xff', bytes(range(256)) * 2, bytearray(b'ab')],
    (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [[], {{}}, set(), frozenset([1])],
    {{'a': shared, 'b': shared, 1: (shared, shared), (1, 2): {{3, 4}}}},
    o, [o, o, Slots(), Ex()],
    collections.OrderedDict([('x', 1), ('y', [o])]),
    datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
    [list(range(2000)), {{i: str(i) for i in range(1100)}}],
    {{'t': rec_t, 'l': rec}},
]
out = []
for p in range(6):
    for obj in objs:
        data = pickle.dumps(obj, protocol=p)
        out.append((data, render(load(data))))
sys.stdout.write(json.dumps([[d.hex(), r] for d, r in out]))
"#
    );
    let o = py_run(&script, &[], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Vec<(String, String)> = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v.len(), 6 * 15, "6 protocols x 15 objects");
    for (hex, theirs) in v {
        let data: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let g = graph(&data);
        let ours = render(&g, &data, g.root(), false);
        assert_eq!(ours, theirs, "protocol {} pickle {hex:.80}", data[1]);
    }
}

// ---- targeted assertions on node identities and kinds ---------------------------------------

#[test]
fn empty_file_is_an_error_at_byte_0() {
    let e = parse(b"").expect_err("empty file");
    assert_eq!(e.kind, ErrorKind::Empty);
    assert_eq!(e.offset, 0);
}

#[test]
fn int_00_01_are_bools_and_long1_with_no_bytes_is_zero() {
    let d = b"\x80\x02(I00\nI01\nI10\n\x8a\x00t.";
    let g = graph(d);
    let items: Vec<_> = g.children(g.root()).iter().map(|e| e.value).collect();
    assert_eq!(g.node(items[0]).kind, Kind::Bool(false));
    assert_eq!(g.node(items[1]).kind, Kind::Bool(true));
    let Kind::Int { payload } = g.node(items[2]).kind else {
        panic!("INT 10 is an int")
    };
    assert_eq!(int_value(d, Op::INT, payload), Some(10));
    let n = g.node(items[3]);
    assert_eq!(n.op, Op::LONG1);
    let Kind::Int { payload } = n.kind else {
        panic!("LONG1 is an int")
    };
    assert!(payload.is_empty());
    assert_eq!(int_text(d, Op::LONG1, payload), "0");
}

#[test]
fn dup_and_get_yield_the_same_node() {
    // [x, x] where the second x is a DUP copy, then a GET of the memoized list.
    let d = b"\x80\x02]q\x00K\x01a2\x86h\x00\x86.";
    let g = graph(d);
    let root = g.root();
    let outer: Vec<_> = g.children(root).iter().map(|e| e.value).collect();
    let pair: Vec<_> = g.children(outer[0]).iter().map(|e| e.value).collect();
    assert_eq!(pair[0], pair[1], "DUP copies the reference");
    assert_eq!(pair[0], outer[1], "GET yields the memoized node");
    assert_eq!(g.node(pair[0]).kind, Kind::List);
    assert_eq!(g.gets.len(), 1);
    assert_eq!(g.puts.len(), 1);
    assert_eq!(g.puts[0].node, pair[0]);
    assert_eq!(g.gets[0].node, pair[0]);
    // One list node, no node for the DUP or the GET.
    let lists = g.nodes.iter().filter(|n| n.kind == Kind::List).count();
    assert_eq!(lists, 1);
}

#[test]
fn put_overwrite_and_memoize_index_follow_cpython() {
    let d = b"\x80\x02]q\x00K\x01a]q\x00h\x00\x86.";
    let g = graph(d);
    let kids: Vec<_> = g.children(g.root()).iter().map(|e| e.value).collect();
    // The GET yields the second list (empty), not the first ([1]).
    assert!(g.children(kids[1]).is_empty());
    assert_eq!(kids[0], kids[1]);

    let d = b"\x80\x04]q\x05]\x94h\x01h\x05\x86.";
    let g = graph(d);
    let kids: Vec<_> = g.children(g.root()).iter().map(|e| e.value).collect();
    assert_eq!(
        g.puts[1].node, kids[0],
        "MEMOIZE after one entry stores key 1"
    );
    assert_eq!(g.puts[0].node, kids[1]);
    assert_ne!(kids[0], kids[1]);
}

#[test]
fn pop_at_mark_pops_the_mark() {
    // MARK 1 MARK POP 2 TUPLE: the POP removes the inner mark, so TUPLE takes (1, 2).
    let d = b"(K\x01(0K\x02t.";
    let g = graph(d);
    assert_eq!(g.node(g.root()).kind, Kind::Tuple);
    assert_eq!(g.children(g.root()).len(), 2);
    // A lone MARK then POP, then POP on an empty stack: underflow at the second POP.
    let e = parse(b"(00.").expect_err("underflow");
    assert_eq!(e.kind, ErrorKind::StackUnderflow("POP"));
    assert_eq!(e.offset, 2);
}

#[test]
fn calls_record_kind_callable_args_kwargs_and_state() {
    let d = b"\x80\x04\x8c\x03mod\x8c\x03Cls\x93K\x01\x85}\x8c\x01kK\x02s\x92}U\x01aK\x03sb.";
    let g = graph(d);
    let root = g.node(g.root());
    let Kind::Call {
        how,
        callable,
        args,
        kwargs,
    } = root.kind
    else {
        panic!("root is a call")
    };
    assert_eq!(how, CallKind::NewObjEx);
    assert_eq!(
        picklescope::pickle::value::global_name(&g, d, callable).as_deref(),
        Some("mod.Cls")
    );
    assert_eq!(g.node(args).kind, Kind::Tuple);
    assert_eq!(g.node(kwargs).kind, Kind::Dict);
    assert_ne!(root.state, NO_NODE);
    assert_eq!(g.node(root.state).kind, Kind::Dict);
    let st = g.children(root.state);
    assert_eq!(str_value(&g, d, st[0].key).as_deref(), Some("a"));
}

#[test]
fn inst_and_obj_make_calls_with_argument_tuples() {
    let d = b"(K\x01imod\nCls\n(cmod\nK\nK\x02o\x86.";
    let g = graph(d);
    let kids: Vec<_> = g.children(g.root()).iter().map(|e| e.value).collect();
    for (k, want) in [(0, CallKind::Inst), (1, CallKind::Obj)] {
        let Kind::Call { how, args, .. } = g.node(kids[k]).kind else {
            panic!("call")
        };
        assert_eq!(how, want);
        assert_eq!(g.node(args).kind, Kind::Tuple);
        assert_eq!(g.children(args).len(), 1);
    }
}

#[test]
fn persid_ext_and_buffers_are_nodes_with_warnings() {
    let d = b"\x80\x05(Pms:x\nU\x02idQ\x82\x07\x97\x98t.";
    let (g, w) = parse(d).expect("parse");
    let kids: Vec<_> = g
        .children(g.root())
        .iter()
        .map(|e| g.node(e.value).kind)
        .collect();
    assert!(matches!(
        kids[0],
        Kind::PersId {
            pid: NO_NODE,
            line: Some(_)
        }
    ));
    let Kind::PersId { pid, line: None } = kids[1] else {
        panic!("BINPERSID")
    };
    assert_eq!(str_value(&g, d, pid).as_deref(), Some("id"));
    assert_eq!(kids[2], Kind::Ext(7));
    assert_eq!(
        kids[3],
        Kind::Buffer {
            index: 0,
            readonly: true
        }
    );
    let msgs: Vec<&str> = w.iter().map(|w| w.message.as_str()).collect();
    assert!(msgs.iter().any(|m| m.contains("PERSID")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("EXT")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("NEXT_BUFFER")), "{msgs:?}");
}

#[test]
fn frames_make_no_nodes_and_spans_cover_the_object() {
    let d = cat(&[b"\x80\x04\x95", &u64le(9), b"]\x94(K\x01K\x02e."]);
    let g = graph(&d);
    assert_eq!(g.nodes.len(), 3);
    let root = g.node(g.root());
    assert_eq!(root.kind, Kind::List);
    // From EMPTY_LIST (offset 11) through APPENDS (offset 18); STOP is not part of it.
    assert_eq!((root.span.start, root.span.end), (11, 19));
    assert_eq!(g.pickles[0].protocol, 4);
    assert_eq!(g.pickles[0].span.len(), d.len() as u64);
}

#[test]
fn back_to_back_pickles_and_trailing_bytes() {
    let d = b"\x80\x02K\x01.\x80\x04K\x02.garbage";
    let (g, w) = parse(d).expect("parse");
    assert_eq!(g.pickles.len(), 2);
    assert_eq!(g.pickles[1].protocol, 4);
    assert_eq!(g.trailing, Some(10));
    assert_eq!(w.len(), 1);
    // The memo is per pickle: a GET of the first pickle's memo in the second one fails, so the
    // second pickle counts as trailing bytes.
    let d = b"\x80\x02K\x01q\x00.\x80\x02h\x00.";
    let (g, _) = parse(d).expect("parse");
    assert_eq!(g.pickles.len(), 1);
    assert_eq!(g.trailing, Some(7));
}

#[test]
fn surrogates_in_binunicode_are_accepted() {
    // CPython writes lone surrogates with 'surrogatepass'.
    let d = b"\x80\x04\x8c\x03\xed\xa0\x80.";
    let g = graph(d);
    assert!(matches!(g.node(g.root()).kind, Kind::Str(_)));
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 200_000;
    let mut d = b"\x80\x02".to_vec();
    d.extend(std::iter::repeat_n(b']', depth));
    d.extend(std::iter::repeat_n(b'a', depth - 1));
    d.push(b'.');
    let g = graph(&d);
    assert_eq!(g.nodes.len(), depth);
    // Our own renderer is iterative too.
    let r = render(&g, &d, g.root(), true);
    assert_eq!(r.len(), 2 * depth);
}
