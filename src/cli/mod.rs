//! The command-line edge: argument parsing, dispatch, exit codes and one-line errors.

pub mod args;
pub mod batch;
pub mod compare;
pub mod guards_cmd;
pub mod man;
pub mod slim_cmd;
pub mod survey_cmd;

use std::io::IsTerminal;
use std::path::Path;

use picklescope::context::Source;
use picklescope::guards::expand_with;
use picklescope::model::LoadError;
use picklescope::slim::Rules;
use picklescope::slim::presets::{PRESETS, expand_bases, preset};
use picklescope::workspace::Workspace;

use args::RuleArgs;

/// A failure with its exit code: 2 for invalid input (pickle or rules), 1 for the rest.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    /// The message was already printed as part of the output.
    pub printed: bool,
}

impl Failure {
    pub fn invalid(m: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: m.into(),
            printed: false,
        }
    }
    pub fn other(m: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: m.into(),
            printed: false,
        }
    }
    /// `report --fail-on`: a file names a global that serious (exit 3).
    pub fn flagged(m: impl Into<String>) -> Failure {
        Failure {
            code: 3,
            message: m.into(),
            printed: false,
        }
    }
    /// A file that could not be read: exit 2 when it is not a valid pickle (`invalid`), else 1.
    pub fn load(m: impl Into<String>, invalid: bool) -> Failure {
        if invalid {
            Failure::invalid(m)
        } else {
            Failure::other(m)
        }
    }
    pub fn usage(m: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: m.into(),
            printed: false,
        }
    }
    /// Keeps the more serious failure (invalid input wins).
    pub fn worse(a: Option<Failure>, b: Failure) -> Failure {
        match a {
            Some(a) if a.code >= b.code => a,
            _ => b,
        }
    }
    pub fn already_reported(mut self, json: bool) -> Failure {
        self.printed = json;
        self
    }
}

impl From<&LoadError> for Failure {
    fn from(e: &LoadError) -> Failure {
        Failure::load(e.to_string(), e.is_invalid_pickle())
    }
}

/// Loads `--rules` or `--preset` (expanded over known hierarchies), refusing protected
/// attributes unless `--force`. `None` when neither was given.
pub fn load_rules(a: &RuleArgs) -> Result<Option<Rules>, Failure> {
    let rules = match (&a.rules, &a.preset) {
        (Some(p), _) => Rules::load(p).map_err(|e| Failure::invalid(e.to_string()))?,
        (None, Some(name)) => preset(name).ok_or_else(|| {
            Failure::usage(format!(
                "unknown preset {name:?}; known: {}",
                PRESETS.join(", ")
            ))
        })?,
        (None, None) => return Ok(None),
    };
    rules
        .check_protected(a.force)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    let rules = expand_bases(&rules);
    if a.classes_from.is_empty() {
        return Ok(Some(rules));
    }
    let (defs, unreadable) = picklescope::guards::learn_classes(&a.classes_from)
        .map_err(|e| Failure::invalid(format!("--classes-from {e}")))?;
    for u in unreadable {
        eprintln!("picklescope: --classes-from: {u}");
    }
    Ok(Some(expand_with(&rules, &defs).0))
}

/// A progress line on stderr while files are scanned, when stderr is a terminal.
pub fn progress() -> impl Fn(usize, usize) + Sync {
    let tty = std::io::stderr().is_terminal();
    move |done: usize, total: usize| {
        if tty && total > 1 {
            eprint!("\rscanning {done}/{total} files");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    }
}

/// Resolves PATH (a pickle, `.context`, output dir or `saved_state/`).
pub fn resolve_source(path: &Path, context: Option<&str>) -> Result<Source, Failure> {
    picklescope::context::resolve(path, context).map_err(|e| Failure::other(e.to_string()))
}

/// Opens PATH as a workspace (every file in memory), with a progress line.
pub fn open_workspace(path: &Path, context: Option<&str>) -> Result<Workspace, Failure> {
    let source = resolve_source(path, context)?;
    Ok(Workspace::load(source, &progress()))
}

/// Fails with the first load error (exit 2 for an invalid pickle) when the source is a single
/// file; for contexts, per-file errors are reported in the output instead.
pub fn fail_on_single_error(ws: &Workspace) -> Result<(), Failure> {
    if ws.entries.len() == 1
        && let Some(e) = ws.first_error()
    {
        return Err(Failure::from(e));
    }
    Ok(())
}

/// `report --fail-on LEVEL`: one line per failing file on stderr (file and the globals that
/// fail it), exit 3 when there is any.
pub fn fail_on(r: &picklescope::report::Report, level: args::FailOn) -> Result<(), Failure> {
    use picklescope::model::globals::Verdict;
    let at = match level {
        args::FailOn::Dangerous => Verdict::Dangerous,
        args::FailOn::Unknown => Verdict::Unknown,
    };
    let failing = r.failing(at);
    if failing.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = failing
        .iter()
        .map(|(f, hits)| {
            let names: Vec<String> = hits
                .iter()
                .map(|(n, v)| format!("{n} ({})", v.as_str()))
                .collect();
            format!(
                "{}: fails --fail-on {}: {}",
                f.path,
                at.as_str(),
                names.join(", ")
            )
        })
        .collect();
    // One line a file, each in the usual `picklescope: ` form.
    Err(Failure::flagged(lines.join("\npicklescope: ")))
}

/// The JSON Schema of one kind of `--json` document.
pub fn schema_of(doc: args::SchemaDoc) -> String {
    use picklescope::schema::schema_of;
    match doc {
        args::SchemaDoc::Report => {
            schema_of::<picklescope::report::Report>("picklescope report --json")
        }
        args::SchemaDoc::Slim => schema_of::<slim_cmd::Out>("picklescope slim --json"),
        args::SchemaDoc::Diff => {
            schema_of::<picklescope::analysis::Diff>("picklescope diff --json")
        }
        args::SchemaDoc::Suggest => {
            schema_of::<picklescope::suggest::Suggestion>("picklescope suggest --json")
        }
    }
}
