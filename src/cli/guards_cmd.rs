//! `picklescope guards`: reads of transient attributes in Python source, as text or JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use picklescope::guards::{Confidence, Finding, Scan, scan};
use picklescope::model::Model;
use picklescope::pickle::{Kind, NodeId};
use picklescope::slim::Rules;

use super::args::RuleArgs;
use super::{Failure, fail_on_single_error, load_rules, open_workspace};

pub fn run(
    sources: &[PathBuf],
    rules: &RuleArgs,
    classes_from: &[PathBuf],
    pickle: Option<&Path>,
    json: bool,
) -> Result<(), Failure> {
    let rules = load_rules(rules)?
        .ok_or_else(|| Failure::usage("guards needs --rules FILE or --preset NAME"))?;
    let empties = match pickle {
        Some(p) => empties_from(p, &rules)?,
        None => BTreeMap::new(),
    };
    let found = scan(sources, classes_from, &rules, &empties)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    if json {
        let doc = Doc::of(sources, &found);
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", to_text(&found));
    }
    Ok(())
}

/// Per marked attribute, the empty value of the type every instance in the pickle holds
/// (`{}` for dicts and dict subclasses, `[]` for lists, ...); attributes whose instances
/// disagree are left out (the fix then suggests `None`).
fn empties_from(path: &Path, rules: &Rules) -> Result<BTreeMap<String, String>, Failure> {
    let ws = open_workspace(path, None)?;
    fail_on_single_error(&ws)?;
    let mut seen: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for m in ws.entries.iter().filter_map(|e| e.model.as_ref()) {
        let groups = m.groups();
        for a in &groups.attrs {
            let g = &groups.groups[a.group];
            if rules.matches(&g.class, &g.attr).is_some() {
                seen.entry(g.attr.clone())
                    .or_default()
                    .insert(empty_literal(m, a.row.value));
            }
        }
    }
    Ok(seen
        .into_iter()
        .filter_map(|(attr, kinds)| {
            (kinds.len() == 1).then(|| (attr, kinds.into_iter().next().unwrap_or("None").into()))
        })
        .collect())
}

/// The empty Python literal of the value's type, `None` when there is none.
fn empty_literal(m: &Model, id: NodeId) -> &'static str {
    let Some(n) = m.graph().get(id) else {
        return "None";
    };
    match n.kind {
        Kind::Dict => "{}",
        Kind::List => "[]",
        Kind::Tuple => "()",
        Kind::Set => "set()",
        Kind::Call { .. } => match m.class_of(id).as_deref() {
            Some("collections.defaultdict" | "collections.OrderedDict") => "{}",
            _ => "None",
        },
        _ => "None",
    }
}

fn to_text(s: &Scan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut file: Option<&Path> = None;
    for f in &s.findings {
        if file != Some(f.file.as_path()) {
            file = Some(&f.file);
            let _ = writeln!(out, "\n{}", f.file.display());
        }
        let scope = scope_text(f);
        let _ = writeln!(
            out,
            "  {}:{}  .{}  {}  in {scope}  ({})",
            f.read.line,
            f.read.column,
            f.read.attr,
            confidence_text(f.confidence),
            f.reason
        );
        let _ = writeln!(out, "      {}", f.source_line.trim());
        let _ = writeln!(out, "    fix: {}", f.fix.trim());
    }
    let likely = count(s, Confidence::Likely);
    let possible = count(s, Confidence::Possible);
    let files: BTreeSet<&Path> = s.findings.iter().map(|f| f.file.as_path()).collect();
    let _ = writeln!(
        out,
        "\n{} findings in {} files ({likely} likely, {possible} possible); {} Python files parsed",
        s.findings.len(),
        files.len(),
        s.files
    );
    if !s.syntax_errors.is_empty() {
        let _ = writeln!(
            out,
            "{} files have syntax errors (their well-formed parts were searched): {}",
            s.syntax_errors.len(),
            s.syntax_errors
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for u in &s.unreadable {
        let _ = writeln!(out, "not read: {u}");
    }
    out
}

fn count(s: &Scan, c: Confidence) -> usize {
    s.findings.iter().filter(|f| f.confidence == c).count()
}

fn confidence_text(c: Confidence) -> &'static str {
    match c {
        Confidence::Likely => "likely",
        Confidence::Possible => "possible",
    }
}

/// `Class.method` (outermost first), or `<module>`.
fn scope_text(f: &Finding) -> String {
    if f.read.scopes.is_empty() {
        return "<module>".into();
    }
    let mut s = f.read.scopes.clone();
    s.reverse();
    s.join(".")
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
                    class: if m.module.is_empty() {
                        m.name.clone()
                    } else {
                        format!("{}.{}", m.module, m.name)
                    },
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
