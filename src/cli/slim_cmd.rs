//! `picklescope slim`: plan, measure and apply transient rules to every file of a source.

use std::io::IsTerminal;
use std::path::Path;

use serde::Serialize;

use picklescope::context::SourceFile;
use picklescope::fmt::{change, change_pct, signed, size};
use picklescope::model::{Model, RawFile};
use picklescope::slim::prefilter::quick_scan;
use picklescope::slim::{SaveOptions, save_in_place, sync_dirs, what_if};
use picklescope::workspace::{Entry, map_files};

use super::{Failure, load_rules, progress, resolve_source};
use crate::cli::args::RuleArgs;

/// Replaced files at least this large are released on the reaper thread.
const REAP_FROM: u64 = 16 << 20;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Removed {
    class: String,
    attr: String,
    instances: u64,
    /// Bytes the removal saves on its own (negative where the format forces growth).
    bytes: i64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct FileOut {
    path: String,
    stage: Option<u32>,
    task: Option<String>,
    before_bytes: u64,
    after_bytes: u64,
    removed: Vec<Removed>,
    /// `before − after − Σ removed`: memo renumbering, re-emitted definitions' fetches and
    /// re-framing (signed; omitted when zero).
    #[serde(skip_serializing_if = "is_zero")]
    bookkeeping_bytes: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_removable: Vec<String>,
    written: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Out {
    dry_run: bool,
    before_bytes: u64,
    after_bytes: u64,
    /// Files saved in place.
    written: usize,
    /// Files that had something to remove but were not written (each with its `error`).
    failed: usize,
    /// Σ of every file's `removed` entries.
    removed_bytes: i64,
    /// Σ of every file's `bookkeeping_bytes`: `before − after = removed + bookkeeping`.
    bookkeeping_bytes: i64,
    files: Vec<FileOut>,
}

pub fn run(
    path: &Path,
    rule_args: &RuleArgs,
    dry_run: bool,
    backup: bool,
    touch: bool,
    json: bool,
    context: Option<&str>,
) -> Result<(), Failure> {
    let rules = load_rules(rule_args)?.ok_or_else(|| {
        Failure::usage("slim needs --rules FILE or --preset NAME (see `picklescope slim --help`)")
    })?;
    let source = resolve_source(path, context)?;
    if source.files.iter().any(|f| f.member.is_some()) {
        return Err(Failure::invalid(format!(
            "{}: a zip archive; slim does not rewrite archives (report and the explorer read it)",
            path.display()
        )));
    }
    if path.is_file() && picklescope::model::npy::is_npy_file(path) {
        return Err(Failure::invalid(format!(
            "{}: a NumPy .npy array file; slim does not rewrite it (report and the explorer read it)",
            path.display()
        )));
    }
    let tty = std::io::stderr().is_terminal() && !json;
    let opts = SaveOptions {
        backup,
        fail_after: injected_failure(),
        // Every file's data is synced before its rename; the directories once, at the end.
        defer_dir_sync: true,
        touch,
    };
    let dirs = std::sync::Mutex::new(Vec::new());
    // Each file is loaded, planned, written and dropped by a worker: memory holds about one
    // model per core, and a failure in one file leaves the others as they are.
    //
    // Dropping the map of a file just replaced is where the kernel frees the old file (its
    // cached pages and its blocks: about 0.1 s per GB here, discards included), so a large
    // one goes to a reaper thread and its worker moves on to the next file. The reaper is
    // joined before the summary is printed.
    let (reap, reaped) = std::sync::mpsc::channel::<Entry>();
    let reaper = std::thread::spawn(move || reaped.into_iter().for_each(drop));
    let results = map_files(&source, &progress(), |file| {
        // Files no rule can reach are only scanned, never built into an object graph.
        let entry = match RawFile::open(&file.path) {
            Ok(raw) => {
                let quick = quick_scan(raw.data(), &rules);
                if !quick.may_match {
                    return untouched(file, raw.data().len() as u64, quick.task);
                }
                Entry::from_result(file.clone(), Some(raw.parse().map(Model::new)))
            }
            Err(_) => Entry::from_result(file.clone(), Some(Model::open(&file.path))),
        };
        let out = slim_one(&entry, &rules, dry_run, &opts, tty, &dirs);
        if out.0.written && entry.bytes >= REAP_FROM {
            let _ = reap.send(entry);
        }
        out
    });
    sync_dirs(&dirs.into_inner().unwrap_or_default());
    drop(reap);
    let _ = reaper.join();
    if tty {
        eprint!("\r\x1b[K");
    }
    let mut out = Out {
        dry_run,
        before_bytes: 0,
        after_bytes: 0,
        written: 0,
        failed: 0,
        removed_bytes: 0,
        bookkeeping_bytes: 0,
        files: Vec::new(),
    };
    let mut worst: Option<Failure> = None;
    for (fo, failure) in results {
        out.before_bytes += fo.before_bytes;
        out.after_bytes += fo.after_bytes;
        out.written += usize::from(fo.written);
        out.failed += usize::from(fo.error.is_some());
        out.removed_bytes += fo.removed.iter().map(|r| r.bytes).sum::<i64>();
        out.bookkeeping_bytes += fo.bookkeeping_bytes;
        out.files.push(fo);
        if let Some(f) = failure {
            worst = Some(Failure::worse(worst, f));
        }
    }
    if json {
        println!("{}", picklescope::schema::to_json(&out));
    } else {
        print_text(&out, &source.notes);
    }
    match worst {
        Some(f) => Err(f.already_reported(json)),
        None => Ok(()),
    }
}

fn print_text(out: &Out, notes: &[String]) {
    println!(
        "{:>5}  {:<24} {:>11} -> {:>11} {:>7}  file",
        "stage", "task", "before", "after", "change"
    );
    for f in &out.files {
        let name = Path::new(&f.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{:>5}  {:<24} {:>11} -> {:>11} {:>7}  {}{}",
            f.stage.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            picklescope::fmt::truncate(f.task.as_deref().unwrap_or(""), 24),
            size(f.before_bytes),
            size(f.after_bytes),
            if f.after_bytes != f.before_bytes {
                change_pct(f.before_bytes, f.after_bytes)
            } else {
                String::new()
            },
            name,
            if f.written {
                "  (written)"
            } else if f.error.is_some() {
                "  (not written)"
            } else {
                ""
            }
        );
        for r in &f.removed {
            println!(
                "         - {}.{}  {} instance(s)  {}{}",
                picklescope::model::short_name(&r.class),
                r.attr,
                r.instances,
                signed(-(r.bytes as i128)),
                if r.bytes == 0 && r.instances > 0 {
                    " (all inside other removed attributes)"
                } else {
                    ""
                }
            );
        }
        if f.bookkeeping_bytes != 0 {
            println!(
                "         memo and frame bookkeeping: {} {}",
                size(f.bookkeeping_bytes.unsigned_abs()),
                if f.bookkeeping_bytes > 0 {
                    "more saved"
                } else {
                    "added back"
                }
            );
        }
        for n in &f.not_removable {
            println!("         ! {n}");
        }
        if let Some(e) = &f.error {
            println!("         error: {e}");
        }
    }
    let outcome = if out.dry_run {
        let would = out
            .files
            .iter()
            .filter(|f| f.after_bytes != f.before_bytes)
            .count();
        format!("dry run: {would} file(s) would be written")
    } else {
        format!("{} file(s) written, {} failed", out.written, out.failed)
    };
    println!(
        "total  {} -> {}  ({}, {})  {outcome}",
        size(out.before_bytes),
        size(out.after_bytes),
        change(out.before_bytes, out.after_bytes),
        change_pct(out.before_bytes, out.after_bytes)
    );
    for n in notes {
        println!("note: {n}");
    }
}

/// Test builds (feature `fault-injection`): `PICKLESCOPE_FAIL_AFTER_BYTES=N` makes every save fail
/// after N bytes. Release builds have no such hook.
#[cfg(feature = "fault-injection")]
fn injected_failure() -> Option<u64> {
    std::env::var("PICKLESCOPE_FAIL_AFTER_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
}

#[cfg(not(feature = "fault-injection"))]
fn injected_failure() -> Option<u64> {
    None
}

/// Plans, measures and (unless a dry run) writes one file.
fn slim_one(
    e: &Entry,
    rules: &picklescope::slim::Rules,
    dry_run: bool,
    opts: &SaveOptions,
    tty: bool,
    dirs: &std::sync::Mutex<Vec<std::path::PathBuf>>,
) -> (FileOut, Option<Failure>) {
    let display = e.file.path.display().to_string();
    let mut fo = FileOut::unchanged(&e.file.path, e.stage(), e.info.task.clone(), e.bytes);
    let Some(m) = &e.model else {
        let failure = e.error.as_ref().map(|err| {
            fo.error = Some(err.to_string());
            Failure::from(err)
        });
        return (fo, failure);
    };
    let w = match what_if(m, rules) {
        Ok(w) => w,
        Err(err) => {
            let msg = format!("{display}: {err}");
            fo.error = Some(msg.clone());
            return (fo, Some(Failure::other(msg)));
        }
    };
    fo.after_bytes = w.after;
    fo.removed = w
        .plan
        .hits
        .iter()
        .enumerate()
        .map(|(i, h)| Removed {
            class: h.class.clone(),
            attr: h.attr.clone(),
            instances: h.instances,
            bytes: w.hit_removed(i) as i64,
        })
        .collect();
    fo.bookkeeping_bytes = w.bookkeeping;
    fo.not_removable = w
        .plan
        .not_removable
        .iter()
        .map(|n| {
            format!(
                "{} ({} instances keep a slots tuple state; nothing removable)",
                n.class, n.instances
            )
        })
        .collect();
    if dry_run || w.plan.is_noop() {
        return (fo, None);
    }
    if tty {
        eprint!("\rwriting {} ...\x1b[K", e.file_name());
    }
    match save_in_place(&m.doc, &w.plan.cuts, w.after, opts) {
        Ok(s) => {
            if let Ok(mut d) = dirs.lock() {
                d.push(s.dir.clone());
            }
            fo.written = true;
            fo.backup = s.backup.map(|b| b.display().to_string());
            (fo, None)
        }
        Err(err) => {
            fo.after_bytes = fo.before_bytes;
            fo.removed.clear();
            fo.bookkeeping_bytes = 0;
            fo.error = Some(err.to_string());
            (fo, Some(Failure::other(err.to_string())))
        }
    }
}

/// The outcome for a file no rule can reach: unchanged.
fn untouched(file: &SourceFile, bytes: u64, task: Option<String>) -> (FileOut, Option<Failure>) {
    (
        FileOut::unchanged(&file.path, file.stage(), task, bytes),
        None,
    )
}

impl FileOut {
    /// A file as it is: nothing removed, nothing written.
    fn unchanged(path: &Path, stage: Option<u32>, task: Option<String>, bytes: u64) -> FileOut {
        FileOut {
            path: path.display().to_string(),
            stage,
            task,
            before_bytes: bytes,
            after_bytes: bytes,
            removed: Vec::new(),
            bookkeeping_bytes: 0,
            not_removable: Vec::new(),
            written: false,
            backup: None,
            error: None,
        }
    }
}
