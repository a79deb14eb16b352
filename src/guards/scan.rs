//! A whole guards run: finds the Python files, learns classes, finds reads, rates each one
//! and writes its suggested fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::classes::{ClassDef, Marked, class_defs, marked};
use super::form::Form;
use super::py::parse;
use super::reads::{Read, find_reads};
use crate::slim::Rules;

/// How sure a finding is to break on a slimmed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// In the package that defines a marked class, or in a marked class's own methods.
    Likely,
    /// The same attribute name read elsewhere, on an object whose class is not known.
    Possible,
}

/// One read that would fail, with where it is and what to write instead.
#[derive(Debug, Clone)]
pub struct Finding {
    pub file: PathBuf,
    /// Dotted module of the file, from the packages (`__init__.py`) that hold it.
    pub module: String,
    pub read: Read,
    pub confidence: Confidence,
    /// Why it has that confidence.
    pub reason: String,
    /// The source line, as written.
    pub source_line: String,
    /// The line with the read replaced by a guarded one.
    pub fix: String,
}

/// Everything a run found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Python files parsed.
    pub files: usize,
    /// Files parsed with syntax errors (their well-formed parts are still searched).
    pub syntax_errors: Vec<PathBuf>,
    /// Files or directories that could not be read, with the reason.
    pub unreadable: Vec<String>,
    /// Classes the rules mark, subclasses found in the sources included.
    pub marked: Vec<Marked>,
    /// Likely first, then by file and position.
    pub findings: Vec<Finding>,
}

/// A source root that does not exist.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    #[error("{0}: not a Python file or directory")]
    NotPython(String),
}

/// A parsed file.
struct Parsed {
    path: PathBuf,
    module: String,
    text: Vec<u8>,
    tree: tree_sitter::Tree,
}

/// Runs guards over `sources`. `classes_from` adds class statements (base classes) from other
/// trees without searching them for reads. `empties` gives, per attribute, the empty value of
/// the type the pickle shows it holding (`{}`, `[]`); `None` is suggested otherwise.
pub fn scan(
    sources: &[PathBuf],
    classes_from: &[PathBuf],
    rules: &Rules,
    empties: &BTreeMap<String, String>,
) -> Result<Scan, ScanError> {
    let mut result = Scan::default();
    let searched = parse_all(sources, &mut result)?;
    let mut extra = Scan::default();
    let learned = parse_all(classes_from, &mut extra)?;
    result.unreadable.append(&mut extra.unreadable);

    let mut defs: Vec<ClassDef> = Vec::new();
    for p in searched.iter().chain(&learned) {
        defs.extend(class_defs(p.tree.root_node(), &p.text, &p.module));
    }
    result.marked = marked(rules, &defs);
    let attrs: BTreeSet<String> = rules
        .transient
        .iter()
        .flat_map(|r| r.attrs.iter().cloned())
        .collect();

    for p in &searched {
        let lines: Vec<&[u8]> = p.text.split(|&b| b == b'\n').collect();
        for read in find_reads(p.tree.root_node(), &p.text, &attrs) {
            let (confidence, reason) = rate(&p.module, &read, &result.marked);
            let source_line = lines
                .get(read.line - 1)
                .map(|l| String::from_utf8_lossy(l).trim_end().to_string())
                .unwrap_or_default();
            let empty = empties.get(&read.attr).map_or("None", String::as_str);
            let fix = fix_line(&source_line, &read, empty);
            result.findings.push(Finding {
                file: p.path.clone(),
                module: p.module.clone(),
                read,
                confidence,
                reason,
                source_line,
                fix,
            });
        }
    }
    // Files with a likely finding first, then by path and position.
    let likely_files: BTreeSet<PathBuf> = result
        .findings
        .iter()
        .filter(|f| f.confidence == Confidence::Likely)
        .map(|f| f.file.clone())
        .collect();
    result.findings.sort_by(|a, b| {
        (
            !likely_files.contains(&a.file),
            &a.file,
            a.read.line,
            a.read.column,
        )
            .cmp(&(
                !likely_files.contains(&b.file),
                &b.file,
                b.read.line,
                b.read.column,
            ))
    });
    Ok(result)
}

/// The class statements of every `.py` file under `roots` (parsed as text, never imported or
/// run), and the files that could not be read. What `--classes-from` learns base classes from.
pub fn learn_classes(roots: &[PathBuf]) -> Result<(Vec<ClassDef>, Vec<String>), ScanError> {
    let mut s = Scan::default();
    let parsed = parse_all(roots, &mut s)?;
    let defs = parsed
        .iter()
        .flat_map(|p| class_defs(p.tree.root_node(), &p.text, &p.module))
        .collect();
    Ok((defs, s.unreadable))
}

/// Parses every `.py` file under `roots` (sorted, symlinks not followed).
fn parse_all(roots: &[PathBuf], result: &mut Scan) -> Result<Vec<Parsed>, ScanError> {
    let mut out = Vec::new();
    for root in roots {
        if !root.exists() {
            return Err(ScanError::Missing(root.display().to_string()));
        }
        if root.is_file() && root.extension().is_none_or(|e| e != "py") {
            return Err(ScanError::NotPython(root.display().to_string()));
        }
        for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    result.unreadable.push(e.to_string());
                    continue;
                }
            };
            let path = entry.path();
            if !entry.file_type().is_file() || path.extension().is_none_or(|e| e != "py") {
                continue;
            }
            let text = match std::fs::read(path) {
                Ok(t) => t,
                Err(e) => {
                    result.unreadable.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let Some(tree) = parse(&text) else {
                result
                    .unreadable
                    .push(format!("{}: the Python parser gave up", path.display()));
                continue;
            };
            result.files += 1;
            if tree.root_node().has_error() {
                result.syntax_errors.push(path.to_path_buf());
            }
            out.push(Parsed {
                path: path.to_path_buf(),
                module: module_of(path),
                text,
                tree,
            });
        }
    }
    Ok(out)
}

/// The dotted module of a file: its stem under every enclosing directory with an
/// `__init__.py` (`pipeline/hif/tasks/x/renderer.py` -> `pipeline.hif.tasks.x.renderer`).
pub fn module_of(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string());
    if let Some(stem) = stem
        && stem != "__init__"
    {
        parts.push(stem);
    }
    let mut dir = path.parent();
    while let Some(d) = dir {
        if !d.join("__init__.py").is_file() {
            break;
        }
        match d.file_name() {
            Some(name) => parts.push(name.to_string_lossy().to_string()),
            None => break,
        }
        dir = d.parent();
    }
    parts.reverse();
    parts.join(".")
}

/// Likely when the read is in a module of the package that defines a class losing that
/// attribute, or inside such a class; possible otherwise.
fn rate(module: &str, read: &Read, marked: &[Marked]) -> (Confidence, String) {
    let losing = marked.iter().filter(|m| m.attr == read.attr);
    for m in losing.clone() {
        if read.class.as_deref() == Some(m.name.as_str()) {
            return (
                Confidence::Likely,
                format!("in a method of {}, which loses .{}", m.name, m.attr),
            );
        }
    }
    for m in losing {
        let package = m.package();
        let inside = !package.is_empty()
            && (module == m.module || module.starts_with(&format!("{package}.")));
        if inside {
            return (
                Confidence::Likely,
                format!(
                    "package {package} defines {}, which loses .{}",
                    m.name, m.attr
                ),
            );
        }
    }
    (
        Confidence::Possible,
        format!(".{} read on an object of a class not known here", read.attr),
    )
}

/// The source line with the read replaced by one that tolerates a missing attribute; just the
/// replacement when the read spans lines or cannot be found on the line.
fn fix_line(line: &str, read: &Read, empty: &str) -> String {
    let guarded = match read.form {
        Form::Attribute | Form::Getattr => {
            format!("getattr({}, '{}', {empty})", read.object, read.attr)
        }
        Form::DictItem => format!("{}.get('{}', {empty})", read.holder, read.attr),
    };
    let start: usize = line
        .char_indices()
        .nth(read.column - 1)
        .map_or(line.len(), |(i, _)| i);
    match line.get(start..) {
        Some(rest) if rest.starts_with(&read.expr) => {
            format!("{}{guarded}{}", &line[..start], &rest[read.expr.len()..])
        }
        _ => guarded,
    }
}
