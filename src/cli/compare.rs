//! Loading the two sides of compare mode: BEFORE and AFTER, or a source and its backups.

use picklescope::context::Source;
use picklescope::tui::compare::{Compare, backups_of};
use picklescope::workspace::Workspace;

use super::args::OpenArgs;
use super::{Failure, fail_on_single_error, progress, resolve_source};

/// Loads both sides (with a progress line on stderr) and compares them.
pub fn load(source: Source, open: &OpenArgs) -> Result<Compare, Failure> {
    let (before, after) = match &open.after {
        Some(b) => (source, resolve_source(b, open.context.as_deref())?),
        None => (
            backups_of(&source).ok_or_else(|| {
                Failure::usage(format!(
                    "{}: no <file>.orig backups beside its files (slim --backup writes them)",
                    open.path
                        .as_deref()
                        .unwrap_or(std::path::Path::new(&source.name))
                        .display()
                ))
            })?,
            source,
        ),
    };
    let wa = Workspace::load(before, &progress());
    fail_on_single_error(&wa)?;
    let wb = Workspace::load(after, &progress());
    fail_on_single_error(&wb)?;
    Ok(Compare::new(wa, wb))
}
