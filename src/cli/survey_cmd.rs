//! `survey` and `survey --merge`: options, progress bar, printing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use picklescope::survey::{Options, Shard, Survey, SurveyError, survey};

use super::args::RuleArgs;
use super::{Failure, load_rules};

pub fn run(
    roots: &[PathBuf],
    rule_args: &RuleArgs,
    json: bool,
    shard: Option<&str>,
    jobs: Option<usize>,
    top: usize,
) -> Result<(), Failure> {
    let rules = load_rules(rule_args)?;
    let label = match (&rule_args.rules, &rule_args.preset) {
        (Some(p), _) => Some(format!("rules {}", p.display())),
        (None, Some(name)) => Some(format!("preset {name}")),
        (None, None) => None,
    };
    let shard = match shard {
        Some(s) => Shard::from_arg(s).map_err(|e| Failure::usage(e.to_string()))?,
        None => Shard::ALL,
    };
    if jobs == Some(0) {
        return Err(Failure::usage("--jobs must be at least 1"));
    }
    let opts = Options {
        rules: rules.as_ref().zip(label.as_deref()),
        shard,
        jobs: jobs.unwrap_or(0),
    };
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("surveying {pos}/{len} contexts {wide_bar} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let result = survey(roots, &opts, &|total| bar.set_length(total as u64), &|_| {
        bar.inc(1)
    });
    bar.finish_and_clear();
    let doc = result.map_err(|e| match e {
        SurveyError::Walk(w) => Failure::other(w.to_string()),
        SurveyError::Pool { .. } => Failure::other(e.to_string()),
    })?;
    print(&doc, json, top)
}

pub fn merge(files: &[PathBuf], json: bool, top: usize) -> Result<(), Failure> {
    let docs = files
        .iter()
        .map(|f| read_doc(f))
        .collect::<Result<Vec<_>, _>>()?;
    let doc = Survey::merge(docs).map_err(|e| Failure::invalid(e.to_string()))?;
    print(&doc, json, top)
}

fn read_doc(path: &Path) -> Result<Survey, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::other(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        Failure::invalid(format!(
            "{}: not a survey document (picklescope survey --json): {e}",
            path.display()
        ))
    })
}

/// Writes the document; a closed pipe (`| head`) ends the output quietly.
fn print(doc: &Survey, json: bool, top: usize) -> Result<(), Failure> {
    use std::io::Write;
    let text = if json {
        let mut t =
            serde_json::to_string_pretty(doc).map_err(|e| Failure::other(format!("JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        doc.to_text(top)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::other(format!("stdout: {e}")))
        }
        _ => Ok(()),
    }
}
