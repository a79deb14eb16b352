//! Findings as text: grouped by file, likely files first, with the fix under each read.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use super::scan::{Confidence, Finding, Scan};

/// The text report of a run (what `picklescope guards` prints and the explorer shows).
pub fn to_text(s: &Scan) -> String {
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

pub fn count(s: &Scan, c: Confidence) -> usize {
    s.findings.iter().filter(|f| f.confidence == c).count()
}

pub fn confidence_text(c: Confidence) -> &'static str {
    match c {
        Confidence::Likely => "likely",
        Confidence::Possible => "possible",
    }
}

/// `Class.method` (outermost first), or `<module>`.
pub fn scope_text(f: &Finding) -> String {
    if f.read.scopes.is_empty() {
        return "<module>".into();
    }
    let mut s = f.read.scopes.clone();
    s.reverse();
    s.join(".")
}
