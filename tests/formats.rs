//! Files as they come in the wild: other formats named in one line (exit 2), protocols as
//! pickletools reports them, persistent ids validated as CPython does.

mod common;

use std::path::Path;

use common::{bin, tempdir};

fn report(path: &Path) -> (i32, String, String) {
    let o = bin()
        .arg("report")
        .arg("--json")
        .arg(path)
        .output()
        .expect("run");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn other_formats_are_named_in_one_line_with_exit_2() {
    let dir = tempdir();
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "a.zip",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest",
            "a zip archive, not a pickle",
        ),
        (
            "a.7z",
            b"7z\xbc\xaf\x27\x1c\x00\x04rest",
            "a 7z archive, not a pickle",
        ),
        (
            "a.npy",
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'}",
            "a NumPy .npy array file, not a pickle",
        ),
        (
            "a.h5",
            b"\x89HDF\r\n\x1a\n\x00\x00",
            "an HDF5 file, not a pickle",
        ),
        ("a.txt", b"hello, world\n", "a text file, not a pickle"),
        ("empty", b"", "empty file, not a pickle"),
    ];
    for (name, bytes, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        let (rc, _, err) = report(&p);
        assert_eq!(rc, 2, "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
}

#[test]
fn protocol_is_the_highest_opcode_protocol_without_proto() {
    if common::no_python("protocol_is_the_highest_opcode_protocol_without_proto") {
        return;
    }
    let dir = tempdir();
    for p in 0..=5u8 {
        let data = common::py(&format!(
            "import pickle, sys\nsys.stdout.buffer.write(pickle.dumps([1, 'a', (2, 3)], {p}))"
        ));
        let path = dir.path().join(format!("p{p}.pickle"));
        std::fs::write(&path, &data).expect("write");
        let (rc, out, err) = report(&path);
        assert_eq!(rc, 0, "p{p}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        // pickletools: protocol 0 and 1 pickles have no PROTO; 1 uses binary opcodes.
        assert_eq!(v["files"][0]["protocol"].as_u64(), Some(p as u64), "p{p}");
    }
}

#[test]
fn protocol_0_persistent_ids_must_be_ascii() {
    let dir = tempdir();
    let ok = dir.path().join("ok.pickle");
    std::fs::write(&ok, b"Pstorage-1\n.").expect("write");
    let (rc, _, err) = report(&ok);
    assert_eq!(rc, 0, "{err}");
    let bad = dir.path().join("bad.pickle");
    std::fs::write(&bad, b"P\xc3\xa9t\xc3\xa9\n.").expect("write");
    let (rc, _, err) = report(&bad);
    assert_eq!(rc, 2, "{err}");
    assert!(
        err.contains("persistent IDs in protocol 0 must be ASCII strings"),
        "{err}"
    );
}
