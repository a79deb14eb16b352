//! `suggest` and `diff` printing (text and JSON).

use std::path::Path;

use picklescope::analysis::{Diff, diff};
use picklescope::fmt::{change, pct, size};
use picklescope::model::short_name;
use picklescope::suggest::{Suggestion, suggest};

use super::args::Emit;
use super::{Failure, fail_on_single_error, open_workspace};

pub fn run_suggest(
    path: &Path,
    top: usize,
    emit: Option<Emit>,
    json: bool,
    context: Option<&str>,
) -> Result<(), Failure> {
    let ws = open_workspace(path, context)?;
    fail_on_single_error(&ws)?;
    let s = suggest(&ws, top);
    match emit {
        Some(Emit::Toml) => print!("{}", s.rules().to_toml()),
        Some(Emit::Python) => print!("{}", s.rules().to_python()),
        None if json => println!("{}", picklescope::schema::to_json(&s)),
        None => print_suggestion(&s, &ws.source.name, path),
    }
    Ok(())
}

fn class_attr(class: &str, attr: &str, width: usize) -> String {
    picklescope::fmt::truncate(&format!("{}.{attr}", short_name(class)), width)
}

fn stage_list(stages: &[u32]) -> String {
    let s: Vec<String> = stages.iter().map(|s| s.to_string()).collect();
    picklescope::fmt::truncate(&s.join(","), 20)
}

fn print_suggestion(s: &Suggestion, name: &str, path: &Path) {
    let total = s.total_bytes;
    println!(
        "candidates to mark transient in {name} ({} total)",
        size(total)
    );
    println!(
        "  {:<42} {:>6} {:>11} {:>6} {:>11}  stages",
        "class.attr", "inst", "saves alone", "share", "overlap"
    );
    for c in &s.candidates {
        let overlap = if c.overlap_bytes == 0 {
            "-".to_string()
        } else {
            size(c.overlap_bytes)
        };
        println!(
            "  {:<42} {:>6} {:>11} {:>6} {:>11}  {}",
            class_attr(&c.class, &c.attr, 42),
            c.instances,
            size(c.saving_bytes),
            pct(c.saving_bytes, total),
            overlap,
            stage_list(&c.stages)
        );
        for f in &c.folded {
            println!(
                "    {:<40} {:>6} {:>11} {:>6} {:>11}  {}",
                format!("└ {}", class_attr(&f.class, &f.attr, 38)),
                f.instances,
                size(f.saving_bytes),
                pct(f.saving_bytes, total),
                "inside",
                stage_list(&f.stages)
            );
        }
    }
    if s.candidates.is_empty() {
        println!("  (nothing large and unprotected enough)");
        return;
    }
    let after = total.saturating_sub(s.combined_saving_bytes);
    println!(
        "\nall {} marked together: {} -> {}  ({}, {})  one dry run, each byte counted once",
        s.candidates.len(),
        size(total),
        size(after),
        change(total, after),
        pct(s.combined_saving_bytes, total)
    );
    println!(
        "saves alone: exact dry run of that rule by itself; rows may overlap (overlap: its bytes\n\
         inside rows above); └ rows lie (90% or more) inside the row above them and go with it."
    );
    println!(
        "\nwrite them as rules: picklescope suggest {} --emit toml > transient.toml",
        path.display()
    );
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
