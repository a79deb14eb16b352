//! `suggest` and `diff` printing (text and JSON).

use std::path::Path;

use picklescope::analysis::{Diff, candidates_to_rules, diff, suggest};
use picklescope::fmt::{change, pct, size};
use picklescope::model::short_name;

use super::args::Emit;
use super::{Failure, fail_on_single_error, open_workspace};

pub fn run_suggest(
    path: &Path,
    top: usize,
    emit: Option<Emit>,
    context: Option<&str>,
) -> Result<(), Failure> {
    let ws = open_workspace(path, context)?;
    fail_on_single_error(&ws)?;
    let cands = suggest(&ws, top);
    match emit {
        Some(Emit::Toml) => print!("{}", candidates_to_rules(&cands).to_toml()),
        Some(Emit::Python) => print!("{}", candidates_to_rules(&cands).to_python()),
        None => {
            let total = ws.total_bytes();
            println!(
                "candidates to mark transient in {} ({} total)",
                ws.source.name,
                size(total)
            );
            println!(
                "  {:<40} {:>6} {:>11} {:>6} {:>11}  stages",
                "class.attr", "inst", "saves", "share", "arrays"
            );
            for c in &cands {
                let stages: Vec<String> = c.stages.iter().map(|s| s.to_string()).collect();
                println!(
                    "  {:<40} {:>6} {:>11} {:>6} {:>10.0}%  {}",
                    picklescope::fmt::truncate(&format!("{}.{}", short_name(&c.class), c.attr), 40),
                    c.instances,
                    size(c.saving),
                    pct(c.saving, total),
                    c.blob_share * 100.0,
                    picklescope::fmt::truncate(&stages.join(","), 20)
                );
            }
            if cands.is_empty() {
                println!("  (nothing large, unprotected and self-contained enough)");
            } else {
                println!(
                    "\nwrite them as rules: picklescope suggest {} --emit toml > transient.toml",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

pub fn run_diff(a: &Path, b: &Path, json: bool) -> Result<(), Failure> {
    let wa = open_workspace(a, None)?;
    fail_on_single_error(&wa)?;
    let wb = open_workspace(b, None)?;
    fail_on_single_error(&wb)?;
    let d = diff(&wa, &wb);
    if json {
        println!("{}", picklescope::schema::to_json(&d));
    } else {
        print_diff(&d);
    }
    Ok(())
}

fn opt(b: Option<u64>) -> String {
    b.map(size).unwrap_or_else(|| "—".into())
}

fn print_diff(d: &Diff) {
    println!(
        "total  {} -> {}  ({})",
        size(d.a_total),
        size(d.b_total),
        change(d.a_total, d.b_total)
    );
    println!(
        "\n{:>5}  {:<26} {:>11} -> {:>11}",
        "stage", "task", "A", "B"
    );
    for s in &d.stages {
        if s.a_bytes == s.b_bytes {
            continue;
        }
        println!(
            "{:>5}  {:<26} {:>11} -> {:>11}",
            s.stage.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
            picklescope::fmt::truncate(s.task.as_deref().unwrap_or(&s.file), 26),
            opt(s.a_bytes),
            opt(s.b_bytes)
        );
    }
    let unchanged = d.stages.iter().filter(|s| s.a_bytes == s.b_bytes).count();
    println!("  ({unchanged} file(s) unchanged)");
    let show = |title: &str, v: &[picklescope::analysis::GroupDiff]| {
        if v.is_empty() {
            return;
        }
        println!("\n{title}");
        for g in v.iter().take(20) {
            println!(
                "  {:<40} {:>5} -> {:<5} {:>11} -> {:>11}",
                picklescope::fmt::truncate(&format!("{}.{}", short_name(&g.class), g.attr), 40),
                g.a_instances,
                g.b_instances,
                size(g.a_bytes),
                size(g.b_bytes)
            );
        }
    };
    show("disappeared (class.attr, instances, bytes)", &d.disappeared);
    show("appeared", &d.appeared);
    show("changed size", &d.changed);
}
