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
            "NumPy .npy file: truncated .npy header",
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

/// A pickle compressed by Python (gzip, bz2, xz, lzma, zlib) reads as its content: the same
/// classes and sizes as the plain file, `bytes` the content and `disk_bytes` the file; `slim`
/// writes it back with the same codec, and CPython reads the result as the plain slim.
#[test]
fn compressed_pickles_read_and_slim_as_their_content() {
    let Some(dir) = common::py_dir(
        "compressed_pickles_read_and_slim_as_their_content",
        r#"
import pickle, gzip, bz2, lzma, zlib, os, types, sys
sys.modules.setdefault('pipeline', types.ModuleType('pipeline'))
mod = types.ModuleType('pipeline.fake'); sys.modules['pipeline.fake'] = mod
class Holder: pass
Holder.__module__ = 'pipeline.fake'; mod.Holder = Holder
h = Holder(); h.big = [bytes(3000), 'x' * 500]; h.keep = list(range(100))
data = pickle.dumps([h, h], protocol=2)
open(os.path.join(d, 'plain.pkl'), 'wb').write(data)
open(os.path.join(d, 'c.pkl.gz'), 'wb').write(gzip.compress(data))
open(os.path.join(d, 'c.pkl.bz2'), 'wb').write(bz2.compress(data))
open(os.path.join(d, 'c.pkl.xz'), 'wb').write(lzma.compress(data))
open(os.path.join(d, 'c.pkl.lzma'), 'wb').write(lzma.compress(data, format=lzma.FORMAT_ALONE))
open(os.path.join(d, 'c.pkl.z'), 'wb').write(zlib.compress(data))
import zipfile
for name, how in (('stored.zip', zipfile.ZIP_STORED), ('deflated.zip', zipfile.ZIP_DEFLATED)):
    with zipfile.ZipFile(os.path.join(d, name), 'w', how) as z:
        z.writestr('c.pkl', data)
"#,
    ) else {
        return;
    };
    let plain = dir.path().join("plain.pkl");
    let (rc, out, err) = report(&plain);
    assert_eq!(rc, 0, "{err}");
    let want: serde_json::Value = serde_json::from_str(&out).expect("json");
    let rules = dir.path().join("r.toml");
    std::fs::write(
        &rules,
        "[[transient]]\nclass = \"pipeline.fake.Holder\"\nattrs = [\"big\"]\n",
    )
    .expect("write");
    let slim = |p: &Path| {
        let o = bin()
            .arg("slim")
            .arg(p)
            .arg("--rules")
            .arg(&rules)
            .output()
            .expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    // A zip holding the pickle (stored or deflated): its member reads as the plain file;
    // slim refuses the archive (exit 2, one line) and leaves it as it was.
    for name in ["stored.zip", "deflated.zip"] {
        let p = dir.path().join(name);
        let (rc, out, err) = report(&p);
        assert_eq!(rc, 0, "{name}: {err}");
        let got: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(got["total_bytes"], want["total_bytes"], "{name}");
        assert_eq!(got["classes"], want["classes"], "{name}");
        let f = &got["files"][0];
        assert!(
            f["path"]
                .as_str()
                .is_some_and(|x| x.ends_with(&format!("{name}/c.pkl"))),
            "{name}: {f}"
        );
        assert_eq!(f["top"], want["files"][0]["top"], "{name}");
        let before = std::fs::read(&p).expect("read");
        let o = bin()
            .arg("slim")
            .arg(&p)
            .arg("--rules")
            .arg(&rules)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains("does not rewrite archives"), "{name}: {err}");
        assert_eq!(std::fs::read(&p).expect("read"), before, "{name}");
    }
    slim(&plain);
    let plain_slim = std::fs::read(&plain).expect("read");
    for (name, codec) in [
        ("c.pkl.gz", "gzip"),
        ("c.pkl.bz2", "bzip2"),
        ("c.pkl.xz", "xz"),
        ("c.pkl.lzma", "lzma"),
        ("c.pkl.z", "zlib"),
    ] {
        let p = dir.path().join(name);
        let disk = std::fs::metadata(&p).expect("stat").len();
        let (rc, out, err) = report(&p);
        assert_eq!(rc, 0, "{name}: {err}");
        let got: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(got["total_bytes"], want["total_bytes"], "{name}");
        assert_eq!(got["classes"], want["classes"], "{name}");
        let f = &got["files"][0];
        assert_eq!(f["codec"].as_str(), Some(codec), "{name}");
        assert_eq!(f["disk_bytes"].as_u64(), Some(disk), "{name}");
        assert_eq!(f["top"], want["files"][0]["top"], "{name}");
        slim(&p);
        let back = common::py(&format!(
            "import sys, gzip, bz2, lzma, zlib\nd = open({:?}, 'rb').read()\nc = {codec:?}\nd = {{'gzip': gzip.decompress, 'bzip2': bz2.decompress, 'xz': lzma.decompress, 'lzma': lzma.decompress, 'zlib': zlib.decompress}}[c](d)\nsys.stdout.buffer.write(d)",
            p.display().to_string()
        ));
        assert_eq!(
            back, plain_slim,
            "{name}: slimmed content differs from the plain slim"
        );
    }
}

/// A gzip bomb and a zip bomb are clean one-line errors (exit 2), not an OOM.
#[test]
fn decompression_bombs_are_clean_errors() {
    let Some(dir) = common::py_dir(
        "decompression_bombs_are_clean_errors",
        r#"
import gzip, zipfile, os, zlib
z = zlib.compressobj(9, zlib.DEFLATED, 31)
with open(os.path.join(d, 'bomb.pkl.gz'), 'wb') as f:
    block = bytes(1 << 20)
    for _ in range(512):
        f.write(z.compress(block))
    f.write(z.flush())
with zipfile.ZipFile(os.path.join(d, 'bomb.zip'), 'w', zipfile.ZIP_DEFLATED) as zf:
    with zf.open('archive/data.pkl', 'w', force_zip64=True) as w:
        for _ in range(512):
            w.write(bytes(1 << 20))
"#,
    ) else {
        return;
    };
    for (name, want) in [
        ("bomb.pkl.gz", "decompression bomb"),
        ("bomb.zip", "decompression bomb"),
    ] {
        let p = dir.path().join(name);
        let (rc, _, err) = report(&p);
        assert_eq!(rc, 2, "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
}
