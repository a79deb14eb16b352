//! Files that change while picklescope reads them, as when a running pipeline rewrites a stage:
//! `slim` and `report` on a file that another thread truncates, extends, rewrites in place
//! (Python's `open(path, 'wb')`) or replaces by rename at seeded random moments, many times,
//! on a large file (read sparsely: its arrays are read from the file only when a save copies
//! them) and a small one (read whole). Never a death by signal; every exit is 0, 1 or 2 with a
//! message naming the file; any file `slim` puts in place is exactly the slimmed form of one
//! whole state of the file; any report is the report of one whole state.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Lcg, big_pickle, bin, tempdir};

const RULES: &str = "[[transient]]\nclass = \"*.Box\"\nattrs = [\"drop\"]\n";

/// Bytes written after the STOP of the "extended" state.
const JUNK: &[u8] = b"appended by another process\n";

/// What the other thread does to the file, once per run.
#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// `ftruncate` to this fraction (in 1/1000) of the length.
    Truncate(u64),
    /// Appends [`JUNK`].
    Extend,
    /// Truncates to 0 and writes the same bytes again, 1 MiB at a time.
    Rewrite,
    /// Renames another complete pickle over the path.
    Replace,
}

fn command(what: &str, file: &Path, rules: &Path) -> Command {
    let mut c = bin();
    c.arg(what).arg(file);
    if what == "slim" {
        c.arg("--rules").arg(rules);
    } else {
        c.arg("--json");
    }
    c
}

/// Puts `bytes` at `path` as a new file (a fresh inode) and returns its inode.
fn put_new(dir: &Path, path: &Path, bytes: &[u8]) -> u64 {
    let tmp = dir.join("put.tmp");
    fs::write(&tmp, bytes).expect("write");
    fs::rename(&tmp, path).expect("rename");
    fs::metadata(path).expect("stat").ino()
}

/// `what` run on each whole state of the file, undisturbed: the slimmed files (slim) or the
/// reports (report), and the longest run time.
fn references(
    what: &str,
    dir: &Path,
    target: &Path,
    rules: &Path,
    states: &[&[u8]],
) -> (Vec<Vec<u8>>, Duration) {
    let mut out = Vec::new();
    let mut longest = Duration::ZERO;
    for s in states {
        put_new(dir, target, s);
        let t = Instant::now();
        let o = command(what, target, rules).output().expect("run");
        longest = longest.max(t.elapsed());
        assert!(
            o.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out.push(if what == "slim" {
            fs::read(target).expect("read slimmed")
        } else {
            o.stdout
        });
    }
    (out, longest)
}

/// How the runs ended: exit 0, 1 and 2, and slimmed files put in place.
#[derive(Default)]
struct Tally {
    ok: usize,
    changed: usize,
    invalid: usize,
    written: usize,
}

/// `runs` runs of `what` on a file of `instances` Box objects while another thread changes it.
fn stress(what: &str, instances: usize, keep: usize, drop: usize, runs: usize, seed: u64) {
    let dir = tempdir();
    let rules = dir.path().join("r.toml");
    fs::write(&rules, RULES).expect("rules");
    let target = dir.path().join("result-stage7.pickle");
    let original = big_pickle(instances, keep, drop, seed);
    // One more object: another size, another report.
    let other = big_pickle(instances + 1, keep, drop, seed + 1);
    let mut extended = original.clone();
    extended.extend_from_slice(JUNK);
    let states: [&[u8]; 3] = [&original, &extended, &other];
    let (expected, longest) = references(what, dir.path(), &target, &rules, &states);
    assert!(expected[0] != expected[2]);
    let window = (longest.as_micros() as u64 * 3 / 2).max(1);
    let mut rng = Lcg(seed ^ 0x11fe);
    let mut t = Tally::default();
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned());
    for k in 0..runs {
        let ino = put_new(dir.path(), &target, &original);
        // The replacement is ready before the run; only its rename is timed.
        let repl = dir.path().join("replacement.tmp");
        fs::write(&repl, &other).expect("write replacement");
        let repl_ino = fs::metadata(&repl).expect("stat").ino();
        // Changes in place go through a descriptor of the original inode: never the file a
        // `slim` may already have put in its place.
        let mut fd = fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .expect("open for writing");
        let m = match rng.next() % 4 {
            0 => Mutation::Truncate(rng.next() % 1000),
            1 => Mutation::Extend,
            2 => Mutation::Rewrite,
            _ => Mutation::Replace,
        };
        // Skewed towards the start, where a fast command does its reading.
        let u = (rng.next() % 1000) as f64 / 1000.0;
        let delay = Duration::from_micros((window as f64 * u * u * u) as u64);
        let child = command(what, &target, &rules)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let out = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(delay);
                match m {
                    Mutation::Truncate(per_mille) => {
                        fd.set_len(original.len() as u64 * per_mille / 1000)
                            .expect("truncate");
                    }
                    Mutation::Extend => {
                        use std::io::Seek;
                        fd.seek(std::io::SeekFrom::End(0)).expect("seek");
                        fd.write_all(JUNK).expect("append");
                    }
                    Mutation::Rewrite => {
                        fd.set_len(0).expect("truncate");
                        for c in original.chunks(1 << 20) {
                            fd.write_all(c).expect("write");
                        }
                    }
                    Mutation::Replace => fs::rename(&repl, &target).expect("replace"),
                }
            });
            child.wait_with_output().expect("wait")
        });
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ctx = format!("run {k} ({what}, {m:?} after {delay:?})");
        assert_eq!(
            out.status.signal(),
            None,
            "{ctx}: killed by a signal: {stderr}"
        );
        let code = out.status.code().unwrap_or(-1);
        match code {
            0 => t.ok += 1,
            1 => {
                t.changed += 1;
                assert!(stderr.contains("changed"), "{ctx}: exit 1: {stderr}");
            }
            2 => t.invalid += 1,
            _ => panic!("{ctx}: exit {code}: {stderr}"),
        }
        if code != 0 {
            let named = name.as_deref().is_some_and(|n| stderr.contains(n));
            assert!(named, "{ctx}: the message must name the file: {stderr}");
        }
        if what == "slim" {
            // Whatever is at the path now is ours only if it is neither the original inode
            // (changed in place or not) nor the replacement: then it must be a slimmed file.
            let now = fs::metadata(&target)
                .expect("the file is still there")
                .ino();
            if now != ino && now != repl_ino {
                let bytes = fs::read(&target).expect("read");
                assert!(
                    expected.contains(&bytes),
                    "{ctx}: slim put a file of {} bytes in place that is not the slimmed form \
                     of any whole state of the file",
                    bytes.len()
                );
                t.written += 1;
            }
        } else if code == 0 {
            assert!(
                expected.contains(&out.stdout),
                "{ctx}: a report that is not the report of any whole state of the file"
            );
        }
    }
    eprintln!(
        "{what} on {} bytes, {runs} runs: {} exit 0, {} changed (exit 1), {} invalid (exit 2), \
         {} slimmed files put in place",
        original.len(),
        t.ok,
        t.changed,
        t.invalid,
        t.written
    );
}

/// About 17 MiB of which the arrays are nearly all: read sparsely.
const LARGE: (usize, usize, usize) = (32, 64 << 10, 480 << 10);
/// About 0.5 MiB: read whole.
const SMALL: (usize, usize, usize) = (16, 8 << 10, 24 << 10);

#[test]
fn slim_on_a_large_file_changing_under_it() {
    let (n, keep, drop) = LARGE;
    stress("slim", n, keep, drop, 60, 101);
}

#[test]
fn slim_on_a_small_file_changing_under_it() {
    let (n, keep, drop) = SMALL;
    stress("slim", n, keep, drop, 40, 202);
}

#[test]
fn report_on_a_large_file_changing_under_it() {
    let (n, keep, drop) = LARGE;
    stress("report", n, keep, drop, 60, 303);
}

#[test]
fn report_on_a_small_file_changing_under_it() {
    let (n, keep, drop) = SMALL;
    stress("report", n, keep, drop, 40, 404);
}
