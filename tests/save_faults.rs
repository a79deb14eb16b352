//! Saving in place under failure: an injected write error at several points leaves the
//! original byte for byte and no temp file behind; `--backup` keeps `<file>.orig` and refuses
//! to overwrite one; permissions survive; a file changed since it was read is not replaced.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use picklescope::model::{Doc, Model};
use picklescope::slim::{SaveError, SaveOptions, save_in_place, what_if};

use common::{fixture_bytes, rules};

const FIXTURE: &str = "stage4_p5.pickle";

/// A temp dir holding a copy of the fixture as `result-stage4.pickle`.
fn setup() -> Option<(tempfile::TempDir, PathBuf, Vec<u8>)> {
    let data = fixture_bytes(FIXTURE)?;
    let dir = common::tempdir();
    let path = dir.path().join("result-stage4.pickle");
    fs::write(&path, &data).expect("copy");
    Some((dir, path, data))
}

fn strategy() -> picklescope::slim::Rules {
    rules(&[("*.RawflagchansResults", "view")])
}

/// Names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn injected_write_failures_keep_the_original() {
    let Some((dir, path, data)) = setup() else {
        return;
    };
    let m = Model::open(&path).expect("open");
    let ws = what_if(&m, &strategy()).expect("what-if");
    let total = ws.after;
    assert!(total < data.len() as u64);
    for n in [0, 1, 9, 4096, total / 2, total - 1] {
        for backup in [false, true] {
            let r = save_in_place(
                &m.doc,
                &ws.plan.cuts,
                ws.after,
                &SaveOptions {
                    backup,
                    fail_after: Some(n),
                    ..SaveOptions::default()
                },
            );
            match r {
                Err(SaveError::Rewrite { .. } | SaveError::Io { .. }) => {}
                other => panic!("fail_after {n}: expected an I/O failure, got {other:?}"),
            }
            assert!(
                fs::read(&path).expect("read") == data,
                "fail_after {n}: original changed"
            );
            assert_eq!(
                listing(dir.path()),
                vec!["result-stage4.pickle"],
                "fail_after {n}: temp or backup file left behind"
            );
        }
    }
    // Exactly enough bytes: the save goes through.
    let saved = save_in_place(
        &m.doc,
        &ws.plan.cuts,
        ws.after,
        &SaveOptions {
            backup: false,
            fail_after: Some(total),
            ..SaveOptions::default()
        },
    )
    .expect("save with a budget of exactly the output size");
    assert_eq!(saved.bytes, total);
    assert_eq!(fs::metadata(&path).expect("stat").len(), total);
    assert_eq!(listing(dir.path()), vec!["result-stage4.pickle"]);
    // What was written is the slimmed pickle.
    let after = Model::open(&path).expect("reopen");
    assert!(
        !common::group_set(&after).keys().any(|(_, a)| a == "view"),
        "view removed"
    );
}

#[test]
fn binary_with_injected_failure_exits_1_and_keeps_the_original() {
    let Some((dir, path, data)) = setup() else {
        return;
    };
    let dry = common::bin()
        .args(["slim", "--preset", "strategy-a", "--dry-run", "--json"])
        .arg(&path)
        .output()
        .expect("run");
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("json");
    let predicted = dry["after_bytes"].as_u64().expect("after_bytes");
    for n in [0, 100, predicted - 1] {
        let o = common::bin()
            .env("PICKLESCOPE_FAIL_AFTER_BYTES", n.to_string())
            .args(["slim", "--preset", "strategy-a", "--backup"])
            .arg(&path)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "fail after {n}: {err}");
        assert!(err.contains("injected write failure"), "{err}");
        assert!(fs::read(&path).expect("read") == data);
        assert_eq!(listing(dir.path()), vec!["result-stage4.pickle"]);
    }
}

#[test]
fn backup_is_created_and_an_existing_one_is_refused() {
    let Some((dir, path, data)) = setup() else {
        return;
    };
    let orig = dir.path().join("result-stage4.pickle.orig");
    let o = common::bin()
        .args(["slim", "--preset", "strategy-a", "--backup", "--json"])
        .arg(&path)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        out["files"][0]["backup"].as_str().map(PathBuf::from),
        Some(fs::canonicalize(&orig).expect("backup exists"))
    );
    assert!(
        fs::read(&orig).expect("backup") == data,
        "backup holds the original"
    );
    let slimmed = fs::read(&path).expect("read");
    assert!(slimmed.len() < data.len());

    // A second slim with --backup must refuse: the backup would be overwritten. Put the
    // original back so there is something to slim.
    fs::write(&path, &data).expect("restore");
    fs::write(&orig, b"an older backup").expect("write");
    let o = common::bin()
        .args(["slim", "--preset", "strategy-a", "--backup"])
        .arg(&path)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(fs::read(&path).expect("read") == data, "file untouched");
    assert_eq!(fs::read(&orig).expect("read"), b"an older backup");

    // The library says the same, with a typed error.
    let doc = Doc::open(&path).expect("open");
    let m = Model::new(doc);
    let ws = what_if(&m, &strategy()).expect("what-if");
    let r = save_in_place(
        &m.doc,
        &ws.plan.cuts,
        ws.after,
        &SaveOptions {
            backup: true,
            ..SaveOptions::default()
        },
    );
    assert!(matches!(r, Err(SaveError::BackupExists { .. })), "{r:?}");
    let mut names = listing(dir.path());
    names.sort();
    assert_eq!(
        names,
        vec!["result-stage4.pickle", "result-stage4.pickle.orig"]
    );
}

#[test]
fn permissions_survive_the_save() {
    let Some((_dir, path, _)) = setup() else {
        return;
    };
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    let m = Model::open(&path).expect("open");
    let ws = what_if(&m, &strategy()).expect("what-if");
    save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default()).expect("save");
    assert_eq!(mode(&path), 0o640);

    // Through the binary too, with another mode.
    let (_dir2, path2, _) = setup().expect("fixture");
    fs::set_permissions(&path2, fs::Permissions::from_mode(0o604)).expect("chmod");
    let o = common::bin()
        .args(["slim", "--preset", "strategy-a"])
        .arg(&path2)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(mode(&path2), 0o604);
}

/// Opens the file, then something else changes it: the save refuses and keeps the change.
#[test]
fn a_file_changed_after_reading_is_not_replaced() {
    let Some((dir, path, data)) = setup() else {
        return;
    };
    // 1. Appended to (size changes). Appending keeps the mapped bytes valid.
    {
        let m = Model::open(&path).expect("open");
        let ws = what_if(&m, &strategy()).expect("what-if");
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("open for append");
        std::io::Write::write_all(&mut f, b"more").expect("append");
        drop(f);
        let r = save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default());
        assert!(matches!(r, Err(SaveError::Changed { .. })), "{r:?}");
        let now = fs::read(&path).expect("read");
        assert_eq!(now.len(), data.len() + 4);
        assert_eq!(listing(dir.path()), vec!["result-stage4.pickle"]);
    }
    // 2. Replaced by another file of the same size with a different mtime.
    fs::write(&path, &data).expect("restore");
    {
        let m = Model::open(&path).expect("open");
        let ws = what_if(&m, &strategy()).expect("what-if");
        let other = dir.path().join("other");
        let mut changed = data.clone();
        let last = changed.len() - 2;
        changed[last] ^= 0x01;
        fs::write(&other, &changed).expect("write");
        let f = fs::File::options().write(true).open(&other).expect("open");
        f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1))
            .expect("set mtime");
        drop(f);
        fs::rename(&other, &path).expect("rename");
        let r = save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default());
        assert!(matches!(r, Err(SaveError::Changed { .. })), "{r:?}");
        assert!(fs::read(&path).expect("read") == changed);
        assert_eq!(listing(dir.path()), vec!["result-stage4.pickle"]);
    }
}

/// A symlink stays a link; the file it points to is what gets slimmed.
#[test]
fn symlinked_file_is_replaced_at_its_target() {
    let Some((dir, path, data)) = setup() else {
        return;
    };
    let link = dir.path().join("link.pickle");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    let m = Model::open(&link).expect("open");
    let ws = what_if(&m, &strategy()).expect("what-if");
    save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default()).expect("save");
    assert!(
        fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    let now = fs::read(&path).expect("read");
    assert_eq!(now.len() as u64, ws.after);
    assert!(now.len() < data.len());
}
