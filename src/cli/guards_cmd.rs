//! `picklescope guards`: reads of transient attributes in Python source, as text or JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use picklescope::guards::text::{count, scope_text, to_text};
use picklescope::guards::{Confidence, Scan, empties, scan};

use super::args::RuleArgs;
use super::{Failure, fail_on_single_error, load_rules, open_workspace};

pub fn run(
    sources: &[PathBuf],
    rule_args: &RuleArgs,
    pickle: Option<&Path>,
    json: bool,
) -> Result<(), Failure> {
    // The scan learns the classes of --classes-from itself (and those of the sources).
    let classes_from = &rule_args.classes_from;
    let plain = RuleArgs {
        classes_from: Vec::new(),
        ..rule_args.clone()
    };
    let rules = load_rules(&plain)?
        .ok_or_else(|| Failure::usage("guards needs --rules FILE or --preset NAME"))?;
    let empties = match pickle {
        Some(p) => {
            let ws = open_workspace(p, None)?;
            fail_on_single_error(&ws)?;
            empties(ws.entries.iter().filter_map(|e| e.model.as_ref()), &rules)
        }
        None => BTreeMap::new(),
    };
    let found = scan(sources, classes_from, &rules, &empties)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    if json {
        let doc = Doc::of(sources, &found);
        println!("{}", picklescope::schema::to_json(&doc));
    } else {
        print!("{}", to_text(&found));
    }
    Ok(())
}

/// The `guards --json` document.
#[derive(Serialize)]
struct Doc<'a> {
    schema_version: u32,
    sources: Vec<String>,
    files_parsed: usize,
    syntax_errors: Vec<String>,
    unreadable: &'a [String],
    marked_classes: Vec<MarkedDoc<'a>>,
    likely: usize,
    possible: usize,
    findings: Vec<FindingDoc<'a>>,
}

#[derive(Serialize)]
struct MarkedDoc<'a> {
    class: String,
    attr: &'a str,
    via: &'a str,
}

#[derive(Serialize)]
struct FindingDoc<'a> {
    file: String,
    module: &'a str,
    line: usize,
    column: usize,
    attr: &'a str,
    form: picklescope::guards::Form,
    object: &'a str,
    expr: &'a str,
    scope: String,
    class: Option<&'a str>,
    confidence: Confidence,
    reason: &'a str,
    source_line: &'a str,
    fix: &'a str,
}

impl<'a> Doc<'a> {
    fn of(sources: &[PathBuf], s: &'a Scan) -> Doc<'a> {
        Doc {
            schema_version: 1,
            sources: sources.iter().map(|p| p.display().to_string()).collect(),
            files_parsed: s.files,
            syntax_errors: s
                .syntax_errors
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            unreadable: &s.unreadable,
            marked_classes: s
                .marked
                .iter()
                .map(|m| MarkedDoc {
                    class: m.qualname(),
                    attr: &m.attr,
                    via: &m.via,
                })
                .collect(),
            likely: count(s, Confidence::Likely),
            possible: count(s, Confidence::Possible),
            findings: s
                .findings
                .iter()
                .map(|f| FindingDoc {
                    file: f.file.display().to_string(),
                    module: &f.module,
                    line: f.read.line,
                    column: f.read.column,
                    attr: &f.read.attr,
                    form: f.read.form,
                    object: &f.read.object,
                    expr: &f.read.expr,
                    scope: scope_text(f),
                    class: f.read.class.as_deref(),
                    confidence: f.confidence,
                    reason: &f.reason,
                    source_line: &f.source_line,
                    fix: &f.fix,
                })
                .collect(),
        }
    }
}
