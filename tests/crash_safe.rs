//! Crash-safe saves: `slim` killed with SIGKILL, SIGTERM, SIGINT or SIGHUP at random moments
//! while it rewrites a large file, a disk that fills up (a real 1 MiB tmpfs), a read-only directory, symlinks in other
//! directories, files changed behind our back with size and mtime restored, and owners and
//! set-id bits kept. After every one of them the file is either the original or the complete
//! slimmed file. (Injected write failures, backups and plain modes: tests/save_faults.rs.)

mod common;

use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Lcg, big_pickle, bin, tempdir};
use picklescope::model::Model;
use picklescope::slim::{SaveError, SaveOptions, save_in_place, what_if};

const RULES: &str = "[[transient]]\nclass = \"*.Box\"\nattrs = [\"drop\"]\n";

fn hash_file(p: &Path) -> (u64, u64) {
    let mut f = fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.write(&buf[..n]);
        len += n as u64;
    }
    (len, h.finish())
}

fn hash_bytes(b: &[u8]) -> (u64, u64) {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for c in b.chunks(1 << 20) {
        h.write(c);
    }
    (b.len() as u64, h.finish())
}

/// Names in `dir` other than `keep`, sorted.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

fn slim_cmd(file: &Path, rules: &Path) -> Command {
    let mut c = bin();
    c.arg("slim").arg(file).arg("--rules").arg(rules);
    // The signals these tests send take their default action in slim even when the tests
    // themselves run with one ignored (`nohup` ignores SIGHUP, and children inherit that).
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the child between fork and exec and only calls
        // signal(), which is async-signal-safe; it touches no memory of the parent.
        #[allow(unsafe_code)]
        unsafe {
            c.pre_exec(|| {
                for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
    }
    c
}

// ---- SIGKILL and other ending signals at random moments --------------------------------------

/// The size of the temp file a running `slim` (process `pid`) writes in `dir`, if it has one
/// open: on Linux an unnamed `O_TMPFILE` file (`dir/#inode (deleted)` in /proc/PID/fd), else a
/// hidden `.NAME.picklescope-*.tmp`.
fn temp_file_of(pid: u32, dir: &Path) -> Option<u64> {
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    fds.flatten().find_map(|e| {
        let to = fs::read_link(e.path()).ok()?;
        let text = to.to_string_lossy();
        let ours = to.parent() == Some(dir)
            && (text.ends_with(" (deleted)") || text.ends_with(".tmp"))
            && to
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(['#', '.']));
        ours.then(|| fs::metadata(e.path()).map(|m| m.len()).ok())
            .flatten()
    })
}

/// Sends `sig` to `slim` `kills` times while it rewrites a file of about `mb` MiB, each time once its
/// temp file holds a seeded random share of the slimmed size (a share of 100% or more waits
/// until the temp file is gone: the rename or later). No clock decides when: the file's
/// progress does. After each kill the file must be the original or the complete slimmed file.
/// A kill that came after the temp file was seen and left the original in place landed while
/// the temp file existed (before the rename); those are counted and must be most of them. A
/// hidden temp name left behind (a signal between the link and the rename) must hold the
/// complete slimmed file.
fn kill_harness(mb: usize, kills: usize, seed: u64, sig: i32) {
    let dir = tempdir();
    let rules = dir.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    // 64 instances; half of every instance is the dropped attribute.
    let per = mb * (1 << 20) / 64 / 2;
    let data = big_pickle(64, per, per, seed);
    let pristine = dir.path().join("pristine.bin");
    fs::write(&pristine, &data).expect("write");
    let orig = hash_bytes(&data);
    drop(data);
    // The reference: an uninterrupted run on a copy.
    let reference = dir.path().join("reference.pickle");
    fs::copy(&pristine, &reference).expect("copy");
    let o = slim_cmd(&reference, &rules).output().expect("run slim");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let slimmed = hash_file(&reference);
    assert!(slimmed.0 < orig.0 * 6 / 10, "{slimmed:?} vs {orig:?}");
    fs::remove_file(&reference).expect("rm");
    let target = dir.path().join("result.pickle");
    let canon_dir = fs::canonicalize(dir.path()).expect("canonical dir");
    let mut rng = Lcg(seed ^ 0x5eed);
    let (mut saw_orig, mut saw_slim, mut during_temp) = (0, 0, 0);
    let (mut finished_first, mut leftovers) = (0, 0);
    for k in 0..kills {
        fs::copy(&pristine, &target).expect("restore");
        // 0..=109 % of the slimmed size.
        let share = rng.next() % 110;
        let want = slimmed.0 * share / 100;
        let mut child = slim_cmd(&target, &rules)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn slim");
        let mut seen_temp = false;
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                finished_first += 1;
                break;
            }
            match temp_file_of(child.id(), &canon_dir) {
                Some(len) => {
                    seen_temp = true;
                    if share < 100 && len >= want {
                        break;
                    }
                }
                None if seen_temp && share >= 100 => break,
                None => {}
            }
            // Polling pace only; no outcome depends on it.
            std::thread::sleep(Duration::from_micros(200));
        }
        // SAFETY: kill only sends a signal to the child this test started (not reaped yet).
        #[allow(unsafe_code)]
        let r = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        assert_eq!(r, 0, "kill {sig}");
        let status = child.wait().expect("wait");
        {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                status.signal() == Some(sig) || status.success(),
                "signal {sig}: slim ended with {status:?}"
            );
        }
        let meta = fs::symlink_metadata(&target).expect("the file must still exist");
        assert!(meta.file_type().is_file());
        let now = hash_file(&target);
        if now == orig {
            saw_orig += 1;
            if seen_temp {
                during_temp += 1;
            }
        } else if now == slimmed {
            saw_slim += 1;
        } else {
            panic!(
                "kill {k} at {share}% of the temp file: file is neither the original nor the \
                 slimmed file ({} bytes; original {}, slimmed {})",
                now.0, orig.0, slimmed.0
            );
        }
        // A process killed between naming its temp file and the rename leaves it behind
        // (never the target, never anything else), and it is the complete slimmed file.
        for n in others(dir.path(), &["pristine.bin", "result.pickle", "r.toml"]) {
            assert!(
                n.starts_with(".result.pickle.picklescope-") && n.ends_with(".tmp"),
                "unexpected file {n}"
            );
            assert_eq!(hash_file(&dir.path().join(&n)), slimmed, "left behind: {n}");
            leftovers += 1;
            fs::remove_file(dir.path().join(&n)).expect("rm temp");
        }
    }
    eprintln!(
        "kill harness (signal {sig}): {} MiB file, {kills} kills: {during_temp} while the temp file existed, \
         {finished_first} after slim had finished; the file was the original {saw_orig} \
         times, the slimmed file {saw_slim} times; {leftovers} named temp files left",
        orig.0 >> 20
    );
    // Shares below 100% (about 9 in 10) wait for the temp file, so most kills land in it.
    assert!(
        during_temp * 2 >= kills,
        "only {during_temp} of {kills} kills landed while the temp file existed"
    );
}

#[test]
fn sigkill_during_slim_leaves_original_or_slimmed() {
    kill_harness(96, 16, 7, libc::SIGKILL);
}

/// `slim` keeps the default action of the ending signals: it dies at once, and the file is the
/// original or the complete slimmed file, as after SIGKILL.
#[test]
fn sigterm_sigint_and_sighup_during_slim_leave_original_or_slimmed() {
    for (sig, seed) in [(libc::SIGTERM, 21), (libc::SIGINT, 22), (libc::SIGHUP, 23)] {
        kill_harness(48, 12, seed, sig);
    }
}

/// The long variant: ~320 MiB, 60 kills (`cargo test --release -- --ignored sigkill`).
#[test]
#[ignore]
fn sigkill_during_slim_of_a_320_mib_file() {
    kill_harness(320, 60, 11, libc::SIGKILL);
}

// ---- a disk that fills up -------------------------------------------------------------------

/// A tmpfs mounted over a directory, unmounted on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(at.to_path_buf()))
}

#[test]
fn disk_full_keeps_the_original() {
    let outer = tempdir();
    let at = outer.path().join("small");
    fs::create_dir(&at).expect("mkdir");
    let Some(mount) = mount_tmpfs(&at, "1m") else {
        common::skip(
            "disk_full_keeps_the_original",
            "cannot mount a tmpfs here (needs root and mount)",
        );
        return;
    };
    // ~600 KiB, of which ~100 KiB are dropped: original + temp file > 1 MiB.
    let data = big_pickle(8, 62 * 1024, 12 * 1024, 3);
    let f = at.join("result.pickle");
    fs::write(&f, &data).expect("write into tmpfs");
    let rules = outer.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    // Library: an I/O error that says so, the original untouched, nothing left behind.
    let m = Model::open(&f).expect("open");
    let ws = what_if(&m, &common::rules(&[("*.Box", "drop")])).expect("what-if");
    assert!(ws.after + data.len() as u64 > 1 << 20);
    let r = save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default());
    let kind = match &r {
        Err(SaveError::Io { source, .. }) => Some(source.kind()),
        Err(SaveError::Rewrite {
            source: picklescope::slim::RewriteError::Io(source),
            ..
        }) => Some(source.kind()),
        _ => None,
    };
    assert_eq!(
        kind,
        Some(std::io::ErrorKind::StorageFull),
        "expected ENOSPC, got {r:?}"
    );
    drop(m);
    assert!(fs::read(&f).expect("read") == data);
    assert!(others(&at, &["result.pickle"]).is_empty());
    // Binary: exit 1, one clear message, original untouched, nothing left behind.
    let o = slim_cmd(&f, &rules).output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(
        (out.to_string() + &err).contains("No space left on device"),
        "{out}{err}"
    );
    assert!(fs::read(&f).expect("read") == data);
    assert!(others(&at, &["result.pickle"]).is_empty());
    // With room again, the same command succeeds.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=4m"])
        .arg(&at)
        .status()
        .is_ok_and(|s| s.success());
    assert!(grown, "remounting the tmpfs larger failed");
    let o = slim_cmd(&f, &rules).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::metadata(&f).expect("meta").len(), ws.after);
    drop(mount);
}

// ---- a read-only directory ------------------------------------------------------------------

/// Undoes `chattr +i` on drop.
struct Immutable(PathBuf);

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

#[test]
fn read_only_directory_refuses_cleanly() {
    let outer = tempdir();
    let rules = outer.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    let data = big_pickle(4, 4096, 4096, 5);
    // Each way of making the directory read-only that this machine allows.
    let mut tried = 0;
    for how in ["mode", "chattr", "bind-ro"] {
        let d = outer.path().join(how);
        fs::create_dir(&d).expect("mkdir");
        let f = d.join("result.pickle");
        fs::write(&f, &data).expect("write");
        let guard: Box<dyn std::any::Any> = match how {
            // Root ignores permission bits: only meaningful for other users.
            "mode" if !is_root() => {
                fs::set_permissions(&d, fs::Permissions::from_mode(0o555)).expect("chmod");
                Box::new(())
            }
            "chattr" if is_root() => {
                let ok = Command::new("chattr")
                    .arg("+i")
                    .arg(&d)
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    // tmpfs has no immutable flag: one of the other ways must work.
                    eprintln!("note: chattr +i not supported here");
                    continue;
                }
                Box::new(Immutable(d.clone()))
            }
            "bind-ro" if is_root() => {
                let ok = Command::new("mount")
                    .args(["--bind"])
                    .arg(&d)
                    .arg(&d)
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    eprintln!("note: bind mounts not permitted here");
                    continue;
                }
                let m = Mount(d.clone());
                let ro = Command::new("mount")
                    .args(["-o", "remount,ro,bind"])
                    .arg(&d)
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ro {
                    eprintln!("note: read-only remount not permitted here");
                    continue;
                }
                Box::new(m)
            }
            _ => continue,
        };
        tried += 1;
        let o = slim_cmd(&f, &rules).output().expect("run");
        let text =
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{how}: {text}");
        assert!(
            text.contains("Permission denied")
                || text.contains("Operation not permitted")
                || text.contains("Read-only file system"),
            "{how}: {text}"
        );
        assert!(!text.contains("panicked"));
        assert!(fs::read(&f).expect("read") == data, "{how}: file changed");
        assert!(others(&d, &["result.pickle"]).is_empty(), "{how}");
        drop(guard);
        if how == "mode" {
            fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).expect("chmod back");
        }
    }
    if tried == 0 {
        common::skip(
            "read_only_directory_refuses_cleanly",
            "no way to make a read-only directory here (chmod as non-root, chattr +i or a read-only bind mount as root)",
        );
    }
}

// ---- symlinks -------------------------------------------------------------------------------

#[test]
fn relative_symlink_chains_across_directories_stay_links() {
    let outer = tempdir();
    let data_dir = outer.path().join("data");
    let link_dir = outer.path().join("links");
    fs::create_dir(&data_dir).expect("mkdir");
    fs::create_dir(&link_dir).expect("mkdir");
    let data = big_pickle(4, 4096, 4096, 9);
    let target = data_dir.join("result.pickle");
    fs::write(&target, &data).expect("write");
    // links/a.pickle -> b.pickle -> ../data/result.pickle
    std::os::unix::fs::symlink("../data/result.pickle", link_dir.join("b.pickle")).expect("ln");
    std::os::unix::fs::symlink("b.pickle", link_dir.join("a.pickle")).expect("ln");
    let rules = outer.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    let o = slim_cmd(&link_dir.join("a.pickle"), &rules)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (l, to) in [
        ("a.pickle", "b.pickle"),
        ("b.pickle", "../data/result.pickle"),
    ] {
        let p = link_dir.join(l);
        assert!(
            fs::symlink_metadata(&p)
                .expect("lstat")
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_link(&p).expect("readlink"), PathBuf::from(to));
    }
    let now = fs::read(&target).expect("read");
    assert!(now.len() < data.len() - 4 * 4096);
    assert!(others(&data_dir, &["result.pickle"]).is_empty());
    assert!(others(&link_dir, &["a.pickle", "b.pickle"]).is_empty());
}

// ---- changed between reading and writing ----------------------------------------------------

#[test]
fn changes_that_restore_size_and_mtime_are_still_noticed() {
    let dir = tempdir();
    let data = big_pickle(4, 4096, 4096, 13);
    let f = dir.path().join("result.pickle");
    let r = common::rules(&[("*.Box", "drop")]);
    // 1. Rewritten in place, same size, mtime set back: the change time gives it away.
    fs::write(&f, &data).expect("write");
    let m = Model::open(&f).expect("open");
    let ws = what_if(&m, &r).expect("what-if");
    let mtime = fs::metadata(&f).expect("meta").modified().expect("mtime");
    std::thread::sleep(Duration::from_millis(20));
    let mut changed = data.clone();
    let last = changed.len() - 2;
    changed[last] ^= 0x01;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut h = fs::OpenOptions::new().write(true).open(&f).expect("open");
        h.seek(SeekFrom::Start(last as u64)).expect("seek");
        h.write_all(&changed[last..last + 1]).expect("write");
        h.set_modified(mtime).expect("restore mtime");
    }
    let r1 = save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default());
    assert!(matches!(r1, Err(SaveError::Changed { .. })), "{r1:?}");
    drop(m);
    assert!(fs::read(&f).expect("read") == changed);
    // 2. Replaced by rename with a copy of the same size and the same mtime (rsync -t, cp -p):
    //    the inode gives it away.
    fs::write(&f, &data).expect("write");
    let m = Model::open(&f).expect("open");
    let mtime = fs::metadata(&f).expect("meta").modified().expect("mtime");
    let other = dir.path().join("incoming");
    fs::write(&other, &changed).expect("write");
    fs::File::options()
        .write(true)
        .open(&other)
        .expect("open")
        .set_modified(mtime)
        .expect("mtime");
    fs::rename(&other, &f).expect("rename");
    let r2 = save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default());
    assert!(matches!(r2, Err(SaveError::Changed { .. })), "{r2:?}");
    drop(m);
    assert!(fs::read(&f).expect("read") == changed);
    assert!(others(dir.path(), &["result.pickle"]).is_empty());
    // 3. Unchanged: saves.
    fs::write(&f, &data).expect("write");
    let m = Model::open(&f).expect("open");
    save_in_place(&m.doc, &ws.plan.cuts, ws.after, &SaveOptions::default()).expect("save");
    assert_eq!(fs::metadata(&f).expect("meta").len(), ws.after);
}

// ---- owner, group and set-id bits -----------------------------------------------------------

#[test]
fn owner_group_and_setgid_survive_a_save() {
    if !is_root() {
        common::skip(
            "owner_group_and_setgid_survive_a_save",
            "needs root to chown",
        );
        return;
    }
    let dir = tempdir();
    let f = dir.path().join("result.pickle");
    fs::write(&f, big_pickle(2, 1024, 1024, 17)).expect("write");
    std::os::unix::fs::chown(&f, Some(65534), Some(65534)).expect("chown");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o2640)).expect("chmod");
    let rules = dir.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    let before = fs::metadata(&f).expect("meta").len();
    let o = slim_cmd(&f, &rules).output().expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = fs::metadata(&f).expect("meta");
    assert!(m.len() < before);
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
    assert_eq!(m.permissions().mode() & 0o7777, 0o2640);
}
