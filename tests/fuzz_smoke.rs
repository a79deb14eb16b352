//! A short fuzz smoke run inside the normal suite (no libFuzzer, no nightly flags): the three
//! fuzz properties (fuzz/src/checks.rs) over the fuzz seeds, every saved crash input
//! (tests/fuzz_regressions/) and a fixed number of seeded mutations of the seeds. The long
//! runs use cargo-fuzz: see fuzz/run.sh and SECURITY.md.

#[path = "../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_in(dir: &Path, max_len: usize) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if let Ok(b) = std::fs::read(e.path())
                && b.len() <= max_len
            {
                v.push((e.file_name().to_string_lossy().into_owned(), b));
            }
        }
    }
    v.sort();
    v
}

fn all_checks(name: &str, data: &[u8]) {
    let r = std::panic::catch_unwind(|| {
        checks::scan(data);
        checks::model(data);
        checks::rewrite_with_derived_rules(data);
        checks::sparse(data);
    });
    if r.is_err() {
        let keep = std::env::temp_dir().join(format!("picklescope-fuzz-smoke-{name}.bin"));
        let _ = std::fs::write(&keep, data);
        panic!(
            "{name}: a fuzz property failed; input saved to {} (add it to tests/fuzz_regressions/)",
            keep.display()
        );
    }
}

#[test]
fn saved_crash_inputs_stay_fixed() {
    let inputs = files_in(&root().join("tests").join("fuzz_regressions"), usize::MAX);
    assert!(!inputs.is_empty(), "tests/fuzz_regressions/ is empty");
    for (name, data) in &inputs {
        all_checks(name, data);
    }
}

#[test]
fn seeds_and_seeded_mutations() {
    let mut seeds = files_in(&root().join("fuzz").join("seeds"), 1 << 20);
    seeds.extend(files_in(&root().join("tests").join("fixtures"), 20_000));
    seeds.retain(|(n, _)| !n.ends_with(".json"));
    assert!(seeds.len() > 20, "fuzz/seeds is missing");
    for (name, data) in &seeds {
        all_checks(name, data);
    }
    // Seeded mutations: bit flips, byte changes, inserts, deletes, duplicated or truncated
    // chunks, interesting integers spliced into length prefixes.
    let mut s = 0x853c_49e6_748f_ea9bu64;
    let mut rnd = move |n: usize| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % n.max(1) as u64) as usize
    };
    const INTERESTING: &[u64] = &[
        0,
        1,
        0x7f,
        0x80,
        0xff,
        0xffff,
        0x7fff_ffff,
        0xffff_ffff,
        1 << 62,
        u64::MAX,
    ];
    let small: Vec<&(String, Vec<u8>)> = seeds.iter().filter(|(_, d)| d.len() <= 4096).collect();
    for k in 0..20_000 {
        let (name, base) = small[rnd(small.len())];
        let mut d = base.clone();
        for _ in 0..1 + rnd(4) {
            let at = rnd(d.len());
            match rnd(7) {
                0 if !d.is_empty() => d[at] ^= 1 << rnd(8),
                1 if !d.is_empty() => d[at] = rnd(256) as u8,
                2 => d.insert(at, rnd(256) as u8),
                3 if !d.is_empty() => {
                    d.remove(at);
                }
                4 => {
                    let len = rnd(32).min(d.len() - at);
                    let chunk = d[at..at + len].to_vec();
                    let to = rnd(d.len());
                    d.splice(to..to, chunk);
                }
                5 => d.truncate(at.max(1)),
                _ => {
                    let v = INTERESTING[rnd(INTERESTING.len())].to_le_bytes();
                    let w = [1, 2, 4, 8][rnd(4)];
                    for (i, b) in v.iter().take(w).enumerate() {
                        if let Some(x) = d.get_mut(at + i) {
                            *x = *b;
                        }
                    }
                }
            }
        }
        all_checks(&format!("{name}-mutation-{k}"), &d);
    }
}
