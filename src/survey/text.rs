//! The survey as plain text: one row per context, totals, the largest class.attr groups,
//! errors and skipped directories.

use std::fmt::Write;

use crate::fmt::{pct, size, truncate};
use crate::model::short_name;

use super::doc::Survey;

impl Survey {
    /// Plain text; `top` class.attr groups.
    pub fn to_text(&self, top: usize) -> String {
        let mut s = String::new();
        let t = &self.totals;
        let shard = if self.shard == "1/1" {
            String::new()
        } else {
            format!(" (shard {})", self.shard)
        };
        let _ = writeln!(
            s,
            "{} context(s){shard}: {} file(s), {}",
            t.contexts,
            t.files,
            size(t.bytes)
        );
        if let (Some(a), Some(rules)) = (t.after_bytes, &self.rules) {
            let _ = writeln!(
                s,
                "after {rules}: {} (-{}, saves {})",
                size(a),
                pct(t.bytes.saturating_sub(a), t.bytes),
                size(t.bytes.saturating_sub(a))
            );
        }
        let _ = match t.after_reread_bytes {
            Some(a) if self.rules.is_some() => writeln!(
                s,
                "read back by the pipeline: {} (one run of each context), {} after the rules",
                size(t.reread_bytes),
                size(a)
            ),
            _ => writeln!(
                s,
                "read back by the pipeline: {} (one run of each context)",
                size(t.reread_bytes)
            ),
        };
        if t.errors > 0 {
            let _ = writeln!(s, "{} file(s) could not be read (listed below)", t.errors);
        }
        if !self.contexts.is_empty() {
            let after = t.after_bytes.is_some();
            let _ = writeln!(
                s,
                "\n{:>6} {:>5} {:>11} {}{:>11} {:>11}  {:<22}  path",
                "stages",
                "files",
                "size",
                if after {
                    format!("{:>11} ", "after")
                } else {
                    String::new()
                },
                "read back",
                "largest",
                "stage, task"
            );
            for c in &self.contexts {
                let (big, what) = match &c.largest_stage {
                    Some(l) => (
                        size(l.bytes),
                        format!("{} {}", l.stage, l.task.as_deref().unwrap_or("")),
                    ),
                    None => ("-".into(), String::new()),
                };
                let _ = writeln!(
                    s,
                    "{:>6} {:>5} {:>11} {}{:>11} {:>11}  {:<22}  {}{}",
                    c.stages,
                    c.files,
                    size(c.bytes),
                    if after {
                        format!("{:>11} ", c.after_bytes.map(size).unwrap_or_default())
                    } else {
                        String::new()
                    },
                    size(c.reread_bytes),
                    big,
                    truncate(what.trim_end(), 22),
                    c.path,
                    if c.errors.is_empty() {
                        String::new()
                    } else {
                        format!("  ({} error(s))", c.errors.len())
                    }
                );
            }
        }
        if !self.classes.is_empty() {
            let _ = writeln!(
                s,
                "\nlargest class.attr groups across the {} context(s)",
                t.contexts
            );
            let _ = writeln!(
                s,
                "  {:<40} {:>8} {:>9} {:>11} {:>11}",
                "class.attr", "contexts", "inst", "inline", "retained"
            );
            for c in self.classes.iter().take(top) {
                let _ = writeln!(
                    s,
                    "  {:<40} {:>8} {:>9} {:>11} {:>11}",
                    truncate(&format!("{}.{}", short_name(&c.class), c.attr), 40),
                    c.contexts,
                    c.instances,
                    size(c.bytes),
                    size(c.retained_bytes)
                );
            }
        }
        let errors: Vec<&String> = self.contexts.iter().flat_map(|c| &c.errors).collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "\nerrors");
            for e in errors {
                let _ = writeln!(s, "  {e}");
            }
        }
        let notes: Vec<String> = self
            .contexts
            .iter()
            .flat_map(|c| c.notes.iter().map(move |n| format!("{}: {n}", c.path)))
            .chain(self.notes.iter().cloned())
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(s, "\nnotes");
            for n in notes {
                let _ = writeln!(s, "  {n}");
            }
        }
        s
    }
}
