//! Truncated and malformed input: always a typed error with a byte offset, never a panic;
//! through the library for every truncation point, and through the binary (exit 2, one
//! stderr line naming the file and the byte).

mod common;

use picklescope::pickle::scan::Scanner;
use picklescope::pickle::{ErrorKind, parse};

/// Parses every prefix in `offsets` of `data` and checks the outcome: an error at or before
/// the cut while the first pickle is incomplete, success once it is complete.
fn check_prefixes(name: &str, data: &[u8], offsets: impl Iterator<Item = usize>) -> usize {
    let first_end = parse(data)
        .unwrap_or_else(|e| panic!("{name}: the whole fixture must parse: {e}"))
        .0
        .pickles[0]
        .span
        .end as usize;
    let mut n = 0;
    for off in offsets {
        n += 1;
        let prefix = &data[..off];
        match parse(prefix) {
            Ok(_) => assert!(
                off >= first_end,
                "{name}: prefix of {off} bytes parsed, but the first pickle ends at {first_end}"
            ),
            Err(e) => {
                assert!(
                    off < first_end,
                    "{name}: prefix of {off} bytes (first pickle complete at {first_end}) failed: {e}"
                );
                assert!(
                    e.offset <= off as u64,
                    "{name}: error offset {} is past the truncation point {off}: {e}",
                    e.offset
                );
                if off == 0 {
                    assert_eq!(e.kind, ErrorKind::Empty);
                }
                // The message names the byte.
                assert!(e.to_string().ends_with(&format!("at byte {}", e.offset)));
            }
        }
    }
    n
}

/// Small fixtures: every byte offset.
#[test]
fn every_truncation_point_of_small_fixtures() {
    let fx = common::fixtures(|n| !n.starts_with("deep_"));
    if fx.is_empty() {
        common::skip("every_truncation_point_of_small_fixtures", "no fixtures");
        return;
    }
    let mut total = 0;
    for (name, data) in fx.iter().filter(|(_, d)| d.len() <= 5000) {
        total += check_prefixes(name, data, 0..data.len());
    }
    assert!(total > 20_000, "only {total} prefixes checked");
}

/// Larger fixtures: every instruction boundary (each instruction's first byte and the end of
/// the file), all checked and counted, plus a sample of the bytes around them (inside opcodes,
/// length prefixes and payloads) and a stride through the payloads, counted too.
#[test]
fn every_instruction_boundary_of_large_fixtures() {
    let fx = common::fixtures(|n| {
        [
            "stage4_p0",
            "stage4_p2",
            "stage4_p4",
            "stage4_p5",
            "tsysflag_p5",
        ]
        .iter()
        .any(|p| n.starts_with(p))
    });
    let large: Vec<_> = fx.iter().filter(|(_, d)| d.len() > 5000).collect();
    assert_eq!(large.len(), 5, "the five large fixtures");
    let (mut boundaries, mut inside) = (0, 0);
    for (name, data) in large {
        let mut starts = std::collections::BTreeSet::new();
        let mut around = std::collections::BTreeSet::new();
        for i in Scanner::new(data, 0) {
            let i = i.expect("scan");
            starts.insert(i.pos);
            for o in [i.pos + 1, i.pos + 2, i.end.saturating_sub(1)] {
                around.insert(o.min(data.len()));
            }
        }
        starts.insert(data.len());
        around.extend((0..data.len()).step_by(97));
        let around: Vec<usize> = around.difference(&starts).copied().collect();
        let n = check_prefixes(name, data, starts.iter().copied());
        assert_eq!(n, starts.len(), "{name}: every boundary checked");
        boundaries += n;
        // The bytes around them: at most ~2000 per fixture, evenly spread.
        let step = (around.len() / 2000).max(1);
        inside += check_prefixes(name, data, around.into_iter().step_by(step));
    }
    eprintln!("truncation: {boundaries} instruction boundaries and {inside} inner offsets checked");
    assert!(boundaries > 10_000, "only {boundaries} boundaries");
    assert!(inside > 5_000, "only {inside} inner offsets");
}

/// A stream CPython would refuse, the error we expect and where.
struct Bad {
    what: &'static str,
    data: &'static [u8],
    kind: ErrorKind,
    offset: u64,
}

fn bad_streams() -> Vec<Bad> {
    vec![
        Bad {
            what: "unknown opcode",
            data: b"\x80\x02\xff.",
            kind: ErrorKind::UnknownOpcode(0xff),
            offset: 2,
        },
        Bad {
            what: "stack underflow (APPEND on an empty stack)",
            data: b"\x80\x02a.",
            kind: ErrorKind::StackUnderflow("APPEND"),
            offset: 2,
        },
        Bad {
            what: "stack underflow across a mark (TUPLE2 with one item above the mark)",
            data: b"\x80\x02K\x01(K\x02\x86.",
            kind: ErrorKind::StackUnderflow("TUPLE2"),
            offset: 7,
        },
        Bad {
            what: "STOP with an empty stack",
            data: b".",
            kind: ErrorKind::StackUnderflow("STOP"),
            offset: 0,
        },
        Bad {
            what: "mark underflow (TUPLE without MARK)",
            data: b"\x80\x02K\x01t.",
            kind: ErrorKind::MarkUnderflow("TUPLE"),
            offset: 4,
        },
        Bad {
            what: "mark underflow (POP_MARK without MARK)",
            data: b"K\x011.",
            kind: ErrorKind::MarkUnderflow("POP_MARK"),
            offset: 2,
        },
        Bad {
            what: "bad memo BINGET",
            data: b"\x80\x02K\x01q\x00h\x05.",
            kind: ErrorKind::BadMemo {
                op: "BINGET",
                key: 5,
            },
            offset: 6,
        },
        Bad {
            what: "bad memo LONG_BINGET",
            data: b"\x80\x02j\x00\x01\x00\x00.",
            kind: ErrorKind::BadMemo {
                op: "LONG_BINGET",
                key: 256,
            },
            offset: 2,
        },
        Bad {
            what: "bad memo text GET",
            data: b"I1\np0\ng1\n.",
            kind: ErrorKind::BadMemo { op: "GET", key: 1 },
            offset: 6,
        },
        Bad {
            what: "odd SETITEMS",
            data: b"\x80\x02}(K\x01u.",
            kind: ErrorKind::OddItems { op: "SETITEMS" },
            offset: 6,
        },
        Bad {
            what: "odd DICT",
            data: b"(K\x01K\x02K\x03d.",
            kind: ErrorKind::OddItems { op: "DICT" },
            offset: 7,
        },
        Bad {
            what: "negative BINSTRING length",
            data: b"T\xff\xff\xff\xffabc.",
            kind: ErrorKind::BadArgument {
                op: "BINSTRING",
                why: "negative byte count",
            },
            offset: 0,
        },
        Bad {
            what: "invalid UTF-8 in BINUNICODE",
            data: b"\x80\x02X\x02\x00\x00\x00\xc3\x28.",
            kind: ErrorKind::InvalidUtf8 { op: "BINUNICODE" },
            offset: 2,
        },
        Bad {
            what: "invalid UTF-8 in SHORT_BINUNICODE",
            data: b"\x80\x04\x8c\x01\xff.",
            kind: ErrorKind::InvalidUtf8 {
                op: "SHORT_BINUNICODE",
            },
            offset: 2,
        },
        Bad {
            what: "unsupported protocol",
            data: b"\x80\x06K\x01.",
            kind: ErrorKind::UnsupportedProtocol(6),
            offset: 0,
        },
        Bad {
            what: "no STOP",
            data: b"\x80\x02K\x01",
            kind: ErrorKind::NoStop,
            offset: 4,
        },
        Bad {
            what: "BINUNICODE longer than the file",
            data: b"\x80\x02X\x10\x00\x00\x00abc",
            kind: ErrorKind::Truncated {
                op: "BINUNICODE",
                needed: 16,
                available: 3,
            },
            offset: 2,
        },
        Bad {
            what: "FRAME longer than the file",
            data: b"\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00K\x01.",
            kind: ErrorKind::Truncated {
                op: "FRAME",
                needed: 255,
                available: 3,
            },
            offset: 2,
        },
        Bad {
            what: "INT that is not a number",
            data: b"Iabc\n.",
            kind: ErrorKind::BadArgument {
                op: "INT",
                why: "not an integer",
            },
            offset: 0,
        },
        Bad {
            what: "text line without newline",
            data: b"I12",
            kind: ErrorKind::MissingNewline("INT"),
            offset: 0,
        },
        Bad {
            what: "STACK_GLOBAL of non-strings",
            data: b"\x80\x04K\x01K\x02\x93.",
            kind: ErrorKind::Type {
                op: "STACK_GLOBAL",
                why: "module and name must be str",
            },
            offset: 6,
        },
        Bad {
            what: "EXT1 code 0",
            data: b"\x80\x02\x82\x00.",
            kind: ErrorKind::BadArgument {
                op: "EXT1",
                why: "extension code out of range",
            },
            offset: 2,
        },
    ]
}

#[test]
fn malformed_streams_fail_with_the_right_error_and_offset() {
    for b in bad_streams() {
        match parse(b.data) {
            Ok(_) => panic!("{}: parsed", b.what),
            Err(e) => {
                assert_eq!(e.kind, b.kind, "{}", b.what);
                assert_eq!(e.offset, b.offset, "{}: {e}", b.what);
            }
        }
    }
}

/// CPython refuses every malformed stream too (its C unpickler, stub classes).
#[test]
fn cpython_refuses_the_malformed_streams() {
    if common::no_python("cpython_refuses_the_malformed_streams") {
        return;
    }
    let hexes: Vec<String> = bad_streams()
        .iter()
        .map(|b| b.data.iter().map(|c| format!("{c:02x}")).collect())
        .collect();
    let script = format!(
        "{}\nimport json\nres = []\nfor h in {hexes:?}:\n    try:\n        load(bytes.fromhex(h))\n        res.append('loaded')\n    except Exception as e:\n        res.append(type(e).__name__)\nprint(json.dumps(res))\n",
        common::PY_RENDER
    );
    let out: Vec<String> = serde_json::from_slice(&common::py(&script)).expect("json");
    for (b, r) in bad_streams().iter().zip(out) {
        assert_ne!(r, "loaded", "{}: CPython loads it", b.what);
    }
}

/// Random byte flips in a real fixture: any outcome but a panic (run under the test harness,
/// a panic fails the test), and errors stay within the file.
#[test]
fn corrupted_bytes_never_panic() {
    let Some(data) = common::fixture_bytes("stage4_p5.pickle") else {
        return;
    };
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..400 {
        let mut d = data.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % d.len() as u64) as usize;
            d[at] = next() as u8;
        }
        if let Err(e) = parse(&d) {
            assert!(e.offset <= d.len() as u64);
        }
    }
}

fn run_report(path: &std::path::Path) -> std::process::Output {
    common::bin()
        .arg("report")
        .arg(path)
        .output()
        .expect("run picklescope")
}

fn assert_one_line_error(o: &std::process::Output, file: &str, offset: u64) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {err}");
    assert!(lines[0].contains(file), "{err}");
    assert!(lines[0].contains(&format!("byte {offset}")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn binary_reports_truncated_fixture_with_exit_2() {
    let Some(data) = common::fixture_bytes("stage4_p5.pickle") else {
        return;
    };
    let dir = common::tempdir();
    for cut in [0usize, 1, 2, 11, 100, data.len() / 2, data.len() - 1] {
        let path = dir.path().join(format!("cut{cut}.pickle"));
        std::fs::write(&path, &data[..cut]).expect("write");
        let expect = match parse(&data[..cut]) {
            Err(e) => e.offset,
            Ok(_) => panic!("prefix {cut} parsed"),
        };
        assert!(expect <= cut as u64);
        let o = run_report(&path);
        assert_one_line_error(&o, &format!("cut{cut}.pickle"), expect);
        assert!(o.stdout.is_empty(), "no report for an invalid file");
    }
}

#[test]
fn binary_reports_malformed_streams_with_exit_2() {
    let dir = common::tempdir();
    for (k, b) in bad_streams().iter().enumerate() {
        let name = format!("bad{k}.pickle");
        let path = dir.path().join(&name);
        std::fs::write(&path, b.data).expect("write");
        let o = run_report(&path);
        assert_one_line_error(&o, &name, b.offset);
    }
    // An empty file too.
    let path = dir.path().join("empty.pickle");
    std::fs::write(&path, b"").expect("write");
    let o = run_report(&path);
    assert_one_line_error(&o, "empty.pickle", 0);
}
