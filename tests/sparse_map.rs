//! The sparse map of large files: its bytes are the file's bytes outside the large payloads it
//! leaves in the file, copying out gives the file's bytes everywhere, whatever the file holds,
//! and a parsed document over it is the same as one over the bytes in memory.

use std::io::Write;

use picklescope::model::Doc;
use picklescope::model::sparse::{Fill, LARGE_PAYLOAD, SparseMap, matches_file};
use proptest::prelude::*;

/// One piece of a generated protocol-4 stream (inside a list: MARK ... APPENDS).
#[derive(Debug, Clone)]
enum Piece {
    Int(u8),
    Str(usize),
    /// BINBYTES8 of this many bytes (large ones stay in the file).
    Bytes8(usize),
    /// BINBYTES of this many bytes.
    Bytes4(usize),
    /// A GLOBAL with text lines of these lengths.
    Global(usize, usize),
}

fn encode(pieces: &[Piece]) -> Vec<u8> {
    let mut b = vec![0x80, 4, b']', b'('];
    for (k, p) in pieces.iter().enumerate() {
        let fill = b'a' + (k % 26) as u8;
        match p {
            Piece::Int(v) => b.extend_from_slice(&[b'K', *v]),
            Piece::Str(n) => {
                let n = (*n).min(255);
                b.extend_from_slice(&[0x8c, n as u8]);
                b.extend(std::iter::repeat_n(fill, n));
            }
            Piece::Bytes8(n) => {
                b.push(0x8e);
                b.extend_from_slice(&(*n as u64).to_le_bytes());
                b.extend(std::iter::repeat_n(fill, *n));
            }
            Piece::Bytes4(n) => {
                b.push(b'B');
                b.extend_from_slice(&(*n as u32).to_le_bytes());
                b.extend(std::iter::repeat_n(fill, *n));
            }
            Piece::Global(m, n) => {
                b.push(b'c');
                b.extend(std::iter::repeat_n(b'm', (*m).max(1)));
                b.push(b'\n');
                b.extend(std::iter::repeat_n(b'n', (*n).max(1)));
                b.push(b'\n');
            }
        }
    }
    b.extend_from_slice(b"e.");
    b
}

fn temp_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(bytes).expect("write");
    f.flush().expect("flush");
    f
}

/// The sparse map of `bytes`, made both ways regions can be copied in (which must agree).
fn sparse_of(bytes: &[u8]) -> Option<SparseMap> {
    let f = temp_with(bytes);
    let file = std::fs::File::open(f.path()).expect("open");
    let open = |fill| SparseMap::open_filled(&file, bytes.len() as u64, fill).expect("sparse map");
    let (populated, read) = (open(Fill::Populate), open(Fill::Pread));
    assert_eq!(
        populated
            .as_ref()
            .map(|m| (m.as_slice(), m.copied(), m.holes())),
        read.as_ref().map(|m| (m.as_slice(), m.copied(), m.holes()))
    );
    populated
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        any::<u8>().prop_map(Piece::Int),
        (0usize..300).prop_map(Piece::Str),
        (0usize..200).prop_map(Piece::Bytes4),
        (60_000usize..300_000).prop_map(Piece::Bytes8),
        (0usize..9000, 0usize..50).prop_map(|(m, n)| Piece::Global(m, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// The map's bytes are the file's bytes; it is used only when a payload can be left out.
    /// (Not always then: the walk gives up, and the file is read whole, as soon as the copies
    /// outweigh what was left out so far, e.g. long GLOBAL lines between two payloads.)
    #[test]
    fn bytes_are_the_files(pieces in prop::collection::vec(piece(), 0..40)) {
        let bytes = encode(&pieces);
        let large = pieces.iter().any(|p| matches!(p, Piece::Bytes8(n) if *n as u64 >= LARGE_PAYLOAD));
        let m = sparse_of(&bytes);
        prop_assert!(m.is_none() || large);
        if let Some(m) = m {
            prop_assert!(matches_file(&m, &bytes));
            prop_assert!(m.copied() <= bytes.len().next_multiple_of(4096) as u64);
        }
    }

}

/// Arbitrary bytes: either no sparse map or the file's bytes (outside its holes, and everywhere
/// when copied out); never a panic. The bytes are a generated stream (a large payload at the
/// end half of the time) with random bytes overwritten and, a quarter of the time, appended,
/// so that many cases do get a sparse map to compare (counted: a stream of purely random bytes
/// almost never reaches a large payload).
#[test]
fn arbitrary_bytes() {
    const CASES: u32 = 256;
    let (reached, none) = (
        std::sync::atomic::AtomicU32::new(0),
        std::sync::atomic::AtomicU32::new(0),
    );
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(piece(), 0..6),
        any::<bool>(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        prop::option::weighted(0.25, prop::collection::vec(any::<u8>(), 1..16)),
    );
    let result = runner.run(&strategy, |(mut pieces, big, flips, tail)| {
        if big {
            pieces.push(Piece::Bytes8(100_000));
        }
        let mut bytes = encode(&pieces);
        for (at, b) in flips {
            let k = at.index(bytes.len());
            bytes[k] = b;
        }
        bytes.extend(tail.unwrap_or_default());
        match sparse_of(&bytes) {
            Some(m) => {
                prop_assert!(matches_file(&m, &bytes));
                reached.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            None => {
                none.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (reached, none) = (reached.into_inner(), none.into_inner());
    eprintln!("arbitrary bytes: {reached} sparse maps compared, {none} without one");
    assert_eq!(reached + none, CASES);
    assert!(
        reached >= CASES / 4 && none >= CASES / 16,
        "{reached} sparse maps compared, {none} without one, of {CASES} cases"
    );
}

#[test]
fn large_payloads_are_not_copied() {
    // 40 arrays of 1 MiB with small headers between them: a few pages are copied.
    let pieces: Vec<Piece> = (0..40)
        .flat_map(|k| [Piece::Str(20), Piece::Int(k as u8), Piece::Bytes8(1 << 20)])
        .collect();
    let bytes = encode(&pieces);
    let m = sparse_of(&bytes).expect("large payloads: a sparse map");
    assert!(matches_file(&m, &bytes));
    assert!(
        m.copied() <= 41 * 2 * 4096,
        "copied {} of {} bytes",
        m.copied(),
        bytes.len()
    );
}

#[test]
fn no_large_payload_means_a_plain_map() {
    let pieces: Vec<Piece> = (0..5000).map(|k| Piece::Int(k as u8)).collect();
    assert!(sparse_of(&encode(&pieces)).is_none());
}

#[test]
fn damaged_files_fall_back() {
    let pieces = vec![Piece::Str(3), Piece::Bytes8(200_000), Piece::Int(1)];
    let good = encode(&pieces);
    // an unknown opcode after the payload
    let mut bad = good.clone();
    let at = bad.len() - 4;
    bad[at] = 0xff;
    assert!(sparse_of(&bad).is_none());
    // a length prefix running past the end of the file
    let mut cut = good[..good.len() - 100_010].to_vec();
    cut.truncate(cut.len().min(20));
    assert!(sparse_of(&cut).is_none());
    // a text line without its newline
    let mut line = encode(&[Piece::Bytes8(100_000)]);
    line.truncate(line.len() - 2);
    line.extend_from_slice(b"cmodule");
    assert!(sparse_of(&line).is_none());
}

#[test]
fn documents_over_a_sparse_map_parse_the_same() {
    // Big enough for `Doc::open` to map it sparsely.
    let pieces: Vec<Piece> = (0..24)
        .flat_map(|k| {
            [
                Piece::Global(30, 12),
                Piece::Str(40),
                Piece::Int(k as u8),
                Piece::Bytes8(1 << 20),
            ]
        })
        .collect();
    let bytes = encode(&pieces);
    assert!(bytes.len() > 20 << 20);
    let f = temp_with(&bytes);
    let mapped = Doc::open(f.path()).expect("open");
    let copied = mapped.copied_bytes().expect("a sparse map");
    assert!(copied < 1 << 20, "copied {copied} bytes");
    let memory = Doc::from_bytes("memory", bytes.clone()).expect("parse");
    let mut out = Vec::new();
    mapped
        .bytes()
        .copy_range(0..bytes.len(), &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .expect("copy out");
    assert!(out == bytes);
    assert_eq!(mapped.graph.nodes, memory.graph.nodes);
    assert_eq!(mapped.graph.edges, memory.graph.edges);
    assert_eq!(mapped.graph.puts, memory.graph.puts);
}

#[test]
fn mostly_small_objects_get_a_plain_map() {
    // 6 MiB of small strings before a 1 MiB payload: copying would not pay.
    let mut pieces: Vec<Piece> = (0..24_000).map(|_| Piece::Str(250)).collect();
    pieces.push(Piece::Bytes8(1 << 20));
    assert!(sparse_of(&encode(&pieces)).is_none());
    // The same strings between payloads ten times their size: a sparse map.
    let pieces: Vec<Piece> = (0..24_000)
        .flat_map(|k| {
            if k % 400 == 0 {
                vec![Piece::Str(250), Piece::Bytes8(1 << 20)]
            } else {
                vec![Piece::Str(250)]
            }
        })
        .collect();
    let bytes = encode(&pieces);
    let m = sparse_of(&bytes).expect("payloads dominate: a sparse map");
    assert!(matches_file(&m, &bytes));
}

#[test]
fn a_file_ending_inside_a_payload_is_still_the_files_bytes() {
    // No STOP after the last payload (the parser will say so): the page holding the payload's
    // end must still be the file's, whether the file ends on a page boundary or not.
    for n in [100_000usize, 4096 * 30 - 11, 4096 * 30 - 10, 4096 * 31 - 12] {
        let mut bytes = vec![0x80, 4, 0x8e];
        bytes.extend_from_slice(&(n as u64).to_le_bytes());
        bytes.extend((0..n).map(|k| (k % 251) as u8));
        let m = sparse_of(&bytes).expect("a large payload: a sparse map");
        assert!(matches_file(&m, &bytes), "payload of {n} bytes");
    }
}

/// A large file with large payloads, for [`Doc::open`] to read sparsely.
fn large_with_arrays() -> Vec<u8> {
    let pieces: Vec<Piece> = (0..24)
        .flat_map(|k| [Piece::Str(40), Piece::Int(k as u8), Piece::Bytes8(1 << 20)])
        .collect();
    encode(&pieces)
}

#[test]
fn previews_see_the_first_bytes_of_every_payload() {
    let bytes = large_with_arrays();
    let f = temp_with(&bytes);
    let doc = Doc::open(f.path()).expect("open");
    assert!(doc.copied_bytes().is_some(), "a sparse read");
    let g = &doc.graph;
    let mut seen = 0;
    for id in 0..g.nodes.len() as u32 {
        if let Some(picklescope::pickle::Kind::Bytes { payload }) = g.get(id).map(|n| n.kind) {
            let head = payload.start as usize
                ..payload.start as usize + picklescope::pickle::value::BYTES_PREVIEW;
            assert_eq!(doc.data()[head.clone()], bytes[head]);
            let a = picklescope::pickle::value::scalar_preview(g, doc.data(), id, 60);
            let b = picklescope::pickle::value::scalar_preview(g, &bytes, id, 60);
            assert_eq!(a, b);
            seen += 1;
        }
    }
    assert_eq!(seen, 24);
}

/// Truncating, shortening or growing a file after it was opened never takes a byte away from
/// us (nothing is mapped from it: no SIGBUS); copying out what was left in the file says the
/// file changed.
#[test]
fn a_file_truncated_after_opening_is_never_a_bus_error() {
    let bytes = large_with_arrays();
    // (the last payload ends 2 bytes before the end)
    for new_len in [0u64, 100, bytes.len() as u64 / 2, bytes.len() as u64 - 10] {
        let f = temp_with(&bytes);
        let doc = Doc::open(f.path()).expect("open");
        assert!(doc.copied_bytes().is_some());
        std::fs::OpenOptions::new()
            .write(true)
            .open(f.path())
            .and_then(|w| w.set_len(new_len))
            .expect("truncate");
        // Every byte of the parsed view is still readable.
        let sum: u64 = doc.data().iter().map(|&b| b as u64).sum();
        assert!(sum > 0);
        let mut out = Vec::new();
        let r = doc.bytes().copy_range(0..bytes.len(), &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        });
        let e = r.expect_err("the payloads are gone");
        assert!(picklescope::model::sparse::is_changed(&e), "{e}");
    }
}

/// A small file is read whole: truncating it afterwards changes nothing we hold.
#[test]
fn a_small_file_is_held_whole() {
    let bytes = encode(&[Piece::Str(10), Piece::Bytes8(100_000), Piece::Int(3)]);
    let f = temp_with(&bytes);
    let doc = Doc::open(f.path()).expect("open");
    assert!(doc.copied_bytes().is_none());
    std::fs::OpenOptions::new()
        .write(true)
        .open(f.path())
        .and_then(|w| w.set_len(0))
        .expect("truncate");
    assert!(doc.data() == bytes.as_slice());
    assert!(doc.bytes().is_whole());
}
