//! `picklescope slim`: plan, measure and apply transient rules to every file of a source.

use std::io::IsTerminal;
use std::path::Path;

use serde::Serialize;

use picklescope::report::{pct, size};
use picklescope::slim::{SaveOptions, save_in_place, what_if};
use picklescope::workspace::Workspace;

use super::{Failure, load_rules, open_workspace};
use crate::cli::args::RuleArgs;

#[derive(Debug, Serialize)]
struct Removed {
    class: String,
    attr: String,
    instances: u64,
    bytes: u64,
}

#[derive(Debug, Serialize)]
struct FileOut {
    path: String,
    stage: Option<u32>,
    task: Option<String>,
    before_bytes: u64,
    after_bytes: u64,
    removed: Vec<Removed>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_removable: Vec<String>,
    written: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct Out {
    dry_run: bool,
    before_bytes: u64,
    after_bytes: u64,
    files: Vec<FileOut>,
}

pub fn run(
    path: &Path,
    rule_args: &RuleArgs,
    dry_run: bool,
    backup: bool,
    json: bool,
    context: Option<&str>,
) -> Result<(), Failure> {
    let rules = load_rules(rule_args)?.ok_or_else(|| {
        Failure::usage("slim needs --rules FILE or --preset NAME (see `picklescope slim --help`)")
    })?;
    let ws: Workspace = open_workspace(path, context)?;
    let mut out = Out {
        dry_run,
        before_bytes: 0,
        after_bytes: 0,
        files: Vec::new(),
    };
    let mut worst: Option<Failure> = None;
    let tty = std::io::stderr().is_terminal() && !json;
    for e in &ws.entries {
        let display = e.file.path.display().to_string();
        let mut fo = FileOut {
            path: display.clone(),
            stage: e.stage(),
            task: e.info.task.clone(),
            before_bytes: e.bytes,
            after_bytes: e.bytes,
            removed: Vec::new(),
            not_removable: Vec::new(),
            written: false,
            backup: None,
            error: None,
        };
        let Some(m) = &e.model else {
            if let Some(err) = &e.error {
                fo.error = Some(err.to_string());
                let f = if err.is_invalid_pickle() {
                    Failure::invalid(err.to_string())
                } else {
                    Failure::other(err.to_string())
                };
                worst = Some(Failure::worse(worst, f));
            }
            out.before_bytes += fo.before_bytes;
            out.after_bytes += fo.after_bytes;
            out.files.push(fo);
            continue;
        };
        match what_if(m, &rules) {
            Ok(ws) => {
                fo.after_bytes = ws.after;
                fo.removed = ws
                    .plan
                    .hits
                    .iter()
                    .zip(&ws.hit_saved)
                    .map(|(h, s)| Removed {
                        class: h.class.clone(),
                        attr: h.attr.clone(),
                        instances: h.instances,
                        bytes: *s,
                    })
                    .collect();
                fo.not_removable = ws
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
                if !dry_run && !ws.plan.is_noop() {
                    if tty {
                        eprint!("\rwriting {} ...", e.file_name());
                    }
                    let opts = SaveOptions {
                        backup,
                        fail_after: std::env::var("PICKLESCOPE_FAIL_AFTER_BYTES")
                            .ok()
                            .and_then(|v| v.parse().ok()),
                    };
                    match save_in_place(&m.doc, &ws.plan.cuts, ws.after, &opts) {
                        Ok(s) => {
                            fo.written = true;
                            fo.backup = s.backup.map(|b| b.display().to_string());
                        }
                        Err(err) => {
                            fo.after_bytes = fo.before_bytes;
                            fo.error = Some(err.to_string());
                            worst = Some(Failure::worse(worst, Failure::other(err.to_string())));
                        }
                    }
                    if tty {
                        eprint!("\r\x1b[K");
                    }
                }
            }
            Err(err) => {
                fo.error = Some(format!("{display}: {err}"));
                worst = Some(Failure::worse(
                    worst,
                    Failure::other(format!("{display}: {err}")),
                ));
            }
        }
        out.before_bytes += fo.before_bytes;
        out.after_bytes += fo.after_bytes;
        out.files.push(fo);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print_text(&out, &ws);
    }
    match worst {
        Some(f) => Err(f.already_reported(json)),
        None => Ok(()),
    }
}

fn print_text(out: &Out, ws: &Workspace) {
    let verb = if out.dry_run {
        "would write"
    } else {
        "written"
    };
    println!(
        "{:>5}  {:<24} {:>11} -> {:>11} {:>7}  file",
        "stage", "task", "before", "after", "saved"
    );
    for f in &out.files {
        let saved = f.before_bytes.saturating_sub(f.after_bytes);
        let name = Path::new(&f.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        println!(
            "{:>5}  {:<24} {:>11} -> {:>11} {:>7}  {}{}",
            f.stage.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
            picklescope::pickle::value::truncate(f.task.as_deref().unwrap_or(""), 24),
            size(f.before_bytes),
            size(f.after_bytes),
            if saved > 0 {
                pct(saved, f.before_bytes)
            } else {
                String::new()
            },
            name,
            if f.written { "  (written)" } else { "" }
        );
        for r in &f.removed {
            println!(
                "         - {}.{}  {} instance(s)  {}",
                picklescope::model::short_name(&r.class),
                r.attr,
                r.instances,
                size(r.bytes)
            );
        }
        for n in &f.not_removable {
            println!("         ! {n}");
        }
        if let Some(e) = &f.error {
            println!("         error: {e}");
        }
    }
    let saved = out.before_bytes.saturating_sub(out.after_bytes);
    println!(
        "total  {} -> {}  (-{}, {}) {verb}",
        size(out.before_bytes),
        size(out.after_bytes),
        size(saved),
        pct(saved, out.before_bytes)
    );
    for n in &ws.source.notes {
        println!("note: {n}");
    }
}
