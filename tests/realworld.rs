//! The shared real-world corpus (`../shared/corpus/realworld`, beside the clone): every file
//! CPython accepts is read whole (`total_bytes` = its content), every other one exits 2, and
//! dropping each file's largest class.attr round-trips under CPython without growing the file.
//! The checks live in `tools/realworld.py` (one Python process, files in parallel).

mod common;

#[test]
fn realworld_corpus_agrees_with_cpython() {
    let test = "realworld_corpus_agrees_with_cpython";
    if common::no_python(test) {
        return;
    }
    let Some(corpus) = common::realworld_corpus(test) else {
        return;
    };
    let o = std::process::Command::new("python3")
        .arg(common::root().join("tools/realworld.py"))
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_picklescope"))
        .arg("--corpus")
        .arg(&corpus)
        .output()
        .expect("run tools/realworld.py");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    eprintln!("{out}");
    assert!(o.status.success(), "disagreements:\n{out}\n{err}");
    // The summary must show real work: files judged, drops made and round-tripped.
    assert!(out.contains("drops: "), "{out}");
    assert!(!out.contains(" 0 round-trip"), "{out}");
}
