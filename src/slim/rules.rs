//! Transient rules: which class.attr to drop, read from TOML, matched by glob, with protections.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Attributes the pipeline needs after loading: refused unless forced.
pub const PROTECTED: &[&str] = &[
    "qa",
    "flagging",
    "stage_number",
    "pipeline_casa_task",
    "inputs",
    "timestamps",
    "_uuid",
];

/// One `[[transient]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `module.qualname`, or a glob with `*` (`*.TsysflagResults`, `*`).
    pub class: String,
    pub attrs: Vec<String>,
}

/// A rules file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub transient: Vec<Rule>,
}

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
    #[error(
        "{class}.{attr} is protected (the pipeline needs it after loading); pass --force to drop it anyway"
    )]
    Protected { class: String, attr: String },
}

impl Rules {
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Rules::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Rules, RulesError> {
        let rules: Rules = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            RulesError::Syntax {
                path: origin.to_string(),
                line,
                message: e.message().trim().to_string(),
            }
        })?;
        for (i, r) in rules.transient.iter().enumerate() {
            if r.class.trim().is_empty() {
                return Err(RulesError::Syntax {
                    path: origin.to_string(),
                    line: line_of_table(text, i),
                    message: "empty class pattern".into(),
                });
            }
        }
        Ok(rules)
    }

    /// Refuses protected attributes unless `force`.
    pub fn check_protected(&self, force: bool) -> Result<(), RulesError> {
        if force {
            return Ok(());
        }
        for r in &self.transient {
            for a in &r.attrs {
                if PROTECTED.contains(&a.as_str()) {
                    return Err(RulesError::Protected {
                        class: r.class.clone(),
                        attr: a.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Index of the first rule naming `attr` for `class`.
    pub fn matches(&self, class: &str, attr: &str) -> Option<usize> {
        self.transient
            .iter()
            .position(|r| r.attrs.iter().any(|a| a == attr) && glob_match(&r.class, class))
    }

    /// True if any rule's class pattern matches `class`.
    pub fn class_matches(&self, class: &str) -> bool {
        self.transient.iter().any(|r| glob_match(&r.class, class))
    }

    pub fn is_empty(&self) -> bool {
        self.transient.iter().all(|r| r.attrs.is_empty())
    }

    /// Adds `class.attr` (merging into an existing rule for the same class pattern).
    pub fn add(&mut self, class: &str, attr: &str) {
        if let Some(r) = self.transient.iter_mut().find(|r| r.class == class) {
            if !r.attrs.iter().any(|a| a == attr) {
                r.attrs.push(attr.to_string());
            }
        } else {
            self.transient.push(Rule {
                class: class.to_string(),
                attrs: vec![attr.to_string()],
            });
        }
    }

    /// Removes `class.attr`; returns true if it was there.
    pub fn remove(&mut self, class: &str, attr: &str) -> bool {
        let mut hit = false;
        for r in &mut self.transient {
            if r.class == class {
                let before = r.attrs.len();
                r.attrs.retain(|a| a != attr);
                hit |= r.attrs.len() != before;
            }
        }
        self.transient.retain(|r| !r.attrs.is_empty());
        hit
    }

    /// The rules as TOML, in the format [`Rules::parse`] reads.
    pub fn to_toml(&self) -> String {
        let mut s = String::from("# picklescope transient rules\n");
        for r in &self.transient {
            s.push_str("\n[[transient]]\n");
            s.push_str(&format!("class = {}\n", toml_str(&r.class)));
            let attrs: Vec<String> = r.attrs.iter().map(|a| toml_str(a)).collect();
            s.push_str(&format!("attrs = [{}]\n", attrs.join(", ")));
        }
        s
    }

    /// One `_transient_fields = (...)` line per class, for the pipeline's result classes.
    pub fn to_python(&self) -> String {
        let mut s = String::new();
        for r in &self.transient {
            let short = r.class.rsplit('.').next().unwrap_or(&r.class);
            let fields: Vec<String> = r.attrs.iter().map(|a| format!("{a:?}")).collect();
            let tuple = if fields.len() == 1 {
                format!("({},)", fields[0])
            } else {
                format!("({})", fields.join(", "))
            };
            s.push_str(&format!("# class {short}:  ({})\n", r.class));
            s.push_str(&format!("_transient_fields = {tuple}\n"));
        }
        s
    }
}

fn toml_str(s: &str) -> String {
    // A basic TOML string: escape backslashes and quotes.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn line_of_table(text: &str, idx: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[transient]]"))
        .nth(idx)
        .map(|(i, _)| i + 1)
        .unwrap_or(1)
}

/// Glob match where `*` matches any run of characters (dots included); no other wildcards.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    let first = parts[0];
    if !rest.starts_with(first) {
        return false;
    }
    rest = &rest[first.len()..];
    let last = parts[parts.len() - 1];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*", "a.b.C"));
        assert!(glob_match(
            "*.TsysflagResults",
            "pipeline.h.tasks.tsysflag.resultobjects.TsysflagResults"
        ));
        assert!(!glob_match("*.TsysflagResults", "x.TsysflagResultsX"));
        assert!(glob_match(
            "pipeline.*.Raw*Results",
            "pipeline.hif.tasks.rawflagchans.resultobjects.RawflagchansResults"
        ));
        assert!(glob_match("a.B", "a.B"));
        assert!(!glob_match("a.B", "a.BB"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    #[test]
    fn bad_toml_names_its_line() {
        let e = Rules::parse("[[transient]]\nclass = \"x\"\nattrs = [1,\n", "r.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("r.toml:3:") || e.starts_with("r.toml:4:"),
            "{e}"
        );
    }

    #[test]
    fn protected_refused_unless_forced() {
        let r = Rules::parse("[[transient]]\nclass = \"*\"\nattrs = [\"qa\"]\n", "r").ok();
        let r = r.unwrap_or_default();
        assert!(r.check_protected(false).is_err());
        assert!(r.check_protected(true).is_ok());
    }

    #[test]
    fn toml_round_trip() {
        let mut r = Rules::default();
        r.add("*.RawflagchansResults", "view");
        r.add("*.TsysflagResults", "components");
        r.add("*.RawflagchansResults", "summaries");
        let back = Rules::parse(&r.to_toml(), "x").ok();
        assert_eq!(back, Some(r));
    }
}
