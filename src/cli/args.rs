//! Command-line arguments (clap): subcommands, options, help texts with examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use picklescope::tui::ascii::ColorChoice;

/// The exit status contract, word for word the same in `--help`, the man page and the README.
macro_rules! exit_codes {
    () => {
        "Exit status: 0 success; 1 failure (I/O or permissions, a file that could not be written); \
2 invalid input (a pickle or rules file that cannot be read as one, or a command-line error such \
as an unknown option, an unknown --preset, or slim without rules); 3 report --fail-on found a \
global it fails on. Each error is one line on stderr, naming the file when one is at fault."
    };
}

/// What `picklescope --help` shows below the options (besides the exit status).
macro_rules! top_examples {
    () => {
        "\
Examples:
  picklescope demo                          write a demo context and explore it
  picklescope pipeline-X.context            explore a context (stages, tree, marks)
  picklescope report out/ --top 5           largest attributes of every stage
  picklescope slim out/ --preset strategy-a --dry-run
  picklescope slim result-stage4.pickle --rules transient.toml --backup

picklescope never executes pickle code and needs neither the pipeline, CASA nor numpy."
    };
}

/// The exit status paragraph.
pub const EXIT_CODES: &str = exit_codes!();
/// The top-level examples.
pub const TOP_EXAMPLES: &str = top_examples!();

const AFTER_HELP: &str = concat!(top_examples!(), "\n\n", exit_codes!());

/// Explore and slim large Python pickles (ALMA/NRAO pipeline contexts) without executing them.
#[derive(Debug, Parser)]
#[command(name = "picklescope", version, about, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub open: OpenArgs,
}

/// Options of the interactive explorer.
#[derive(Debug, Args, Clone, Default)]
pub struct OpenArgs {
    /// A pickle, a `.context` file, an output directory, or a `saved_state/` directory.
    pub path: Option<PathBuf>,
    /// A second source: compare mode, PATH as BEFORE and this as AFTER (read-only).
    #[arg(value_name = "AFTER")]
    pub after: Option<PathBuf>,
    /// Compare mode over PATH's `--backup` copies: each `<file>.orig` (before) with the file.
    #[arg(long, conflicts_with = "after")]
    pub backups: bool,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Never write: the write key is disabled.
    #[arg(long)]
    pub read_only: bool,
    /// Which `.context` to open when a directory holds several.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Leave the mouse to the terminal (its own text selection); by default the wheel scrolls,
    /// a click selects, a double click opens and a click on the breadcrumb goes up.
    #[arg(long)]
    pub no_mouse: bool,
    /// On exit, print what `y`/`Y` copied (for terminals without OSC 52 clipboard support).
    #[arg(long)]
    pub print_on_exit: bool,
    /// Python source to search when `g` is pressed on a mark in the marks pane: lists the code
    /// that reads that attribute without a guard (as `picklescope guards` does).
    #[arg(long, value_name = "DIR")]
    pub source: Vec<PathBuf>,
    /// Draw with ASCII only (chosen by itself when the locale is not UTF-8 or TERM is
    /// dumb/vt100-like).
    #[arg(long)]
    pub ascii: bool,
    /// Colours: auto (on unless NO_COLOR is set or TERM=dumb), always, never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
}

/// Where transient rules come from.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// A TOML rules file (`[[transient]] class = "..." attrs = [...]`).
    #[arg(long, value_name = "FILE", conflicts_with = "preset")]
    pub rules: Option<PathBuf>,
    /// A built-in rule set: `strategy-a` (the pipeline's adopted rules).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Allow protected attributes (qa, flagging, stage_number, ...).
    #[arg(long)]
    pub force: bool,
    /// Python source trees to learn base classes from (`class X(Base, ...)` statements, read
    /// as text, never imported or run): a rule on a base class then reaches its subclasses.
    #[arg(long, value_name = "DIR")]
    pub classes_from: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// How serious a global must be for `report --fail-on` to fail.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOn {
    Dangerous,
    Unknown,
}

/// The kinds of `--json` document with a schema.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SchemaDoc {
    Report,
    Slim,
    Diff,
    Suggest,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Emit {
    Toml,
    Python,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sizes of stages, largest attributes, class.attr groups and named globals.
    #[command(after_help = concat!("\
Sizes: `inline` is the bytes of an attribute's key and value in the stream; `retained` is what
would disappear if it were removed (definitions that other parts still reference through the
memo stay; shared objects count once).
Pass-through containers are folded: an attribute whose bytes lie >= 90% inside the values of one
other class.attr group nested in it is not listed (ResultsList._ResultsList__results gives way to
the views inside it).

Globals: each class or function a file names gets a verdict: dangerous (runs code or touches
the system when loaded), gadget (a callable such as operator.attrgetter that the pickle calls on
data), benign (such a callable only built and stored), safe (a known data type) or unknown.

An invalid pickle's error line also gives the byte offset.

Examples:
  picklescope report result-stage4.pickle
  picklescope report model.pkl --fail-on dangerous   exit 3 on a dangerous or gadget global
  picklescope report out/ --trust-module pipeline --fail-on unknown
  picklescope report pipeline-X.context --json > report.json
  picklescope report out/ --markdown --top 5
  picklescope report out/ --preset strategy-a     adds the size after slimming per stage

", exit_codes!()))]
    Report {
        /// A pickle, a `.context` file, an output directory, or a `saved_state/` directory.
        path: PathBuf,
        /// One JSON document on stdout.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Markdown tables.
        #[arg(long)]
        markdown: bool,
        /// How many of the largest attributes to list per file.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Which `.context` to read when a directory holds several.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
        /// With rules, each file also shows its exact size after slimming (nothing is written).
        #[command(flatten)]
        rules: RuleArgs,
        /// Exit 3 when a file names a global this serious: `dangerous` (dangerous or gadget),
        /// `unknown` (also any global that is neither listed nor trusted).
        #[arg(long, value_name = "LEVEL")]
        fail_on: Option<FailOn>,
        /// Globals from this module or its submodules are safe unless listed as dangerous
        /// (repeatable), e.g. `--trust-module pipeline`.
        #[arg(long, value_name = "PREFIX")]
        trust_module: Vec<String>,
    },
    /// Drop transient attributes everywhere and save each file in place, atomically.
    #[command(after_help = concat!("\
Each file is written to a temp file beside it, fsynced, read back and verified, then renamed over
the original (which is refused if it changed since it was read). --dry-run prints the exact sizes
a real run writes.

A file that cannot be written (no write permission on it or its directory, a read-only mount) is
reported as not written with the reason; the summary counts written and failed files.

Examples:
  picklescope slim out/ --preset strategy-a --dry-run
  picklescope slim out/pipeline-X.context --rules transient.toml --backup
  picklescope slim result-stage4.pickle --rules transient.toml --json

", exit_codes!()))]
    Slim {
        /// A pickle, a directory of pickles, a `.context`, an output dir or `saved_state/`.
        path: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
        /// Compute and print, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Keep each original as `<file>.orig` (never overwriting an existing one).
        #[arg(long)]
        backup: bool,
        /// Give rewritten files the current time. By default each keeps its modification time:
        /// the pipeline's h_resume('last') resumes the newest .context by mtime.
        #[arg(long)]
        touch: bool,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Which `.context` to slim when a directory holds several.
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
    },
    /// Rank class.attr groups worth marking transient, with the saving each gives.
    #[command(after_help = "\
Each candidate's saving is exact: a dry run of marking it alone, through the same writer and
accounting as `slim --dry-run`. A candidate lying (90% or more) inside a higher-ranked one is
folded under it: marking the outer one removes it too. Savings of different rows may overlap
(an array field inside views of several classes); the combined line is one dry run of all shown
candidates marked together, each byte counted once. Protected attributes (qa, flagging,
stage_number, ...) and attributes holding whole stage results are never candidates.

Examples:
  picklescope suggest out/
  picklescope suggest out/ --json
  picklescope suggest out/ --emit toml > transient.toml
  picklescope suggest out/ --emit python")]
    Suggest {
        path: PathBuf,
        /// How many candidates.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// Print the candidates as a rules file (toml) or `_transient_fields` lines (python).
        #[arg(long, value_enum, conflicts_with = "json")]
        emit: Option<Emit>,
        /// Print the candidates as JSON (see `picklescope schema suggest`).
        #[arg(long)]
        json: bool,
        #[arg(long, value_name = "NAME")]
        context: Option<String>,
    },
    /// Print rules (a preset or a file) as TOML or as Python `_transient_fields` lines.
    #[command(after_help = "\
Examples:
  picklescope rules --preset strategy-a --emit python
  picklescope rules --rules transient.toml --emit toml")]
    Rules {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, value_enum, default_value = "toml")]
        emit: Emit,
    },
    /// Read every context under some roots: sizes, stages, savings, largest groups.
    #[command(after_help = "\
Finds every context under ROOT (a `.context` file with its saved_state/, or a saved_state/
without one), following symlinks but never into a loop and skipping unreadable directories
with a note, and reads each with the never-executing reader. Files that cannot be read are
counted and listed, never fatal.

Sharding: --shard K/N reads contexts K, K+N, K+2N, ... of the sorted list, so N array tasks
cover the fleet once; --shard auto takes K and N from SLURM_ARRAY_TASK_ID, _MIN and _COUNT.
--merge combines the N shard documents (--json) into exactly the document of one unsharded
run.

Exit codes: 0 success (even with unreadable files); 2 invalid command line, rules or shard
documents; 1 a root cannot be read.

Examples:
  picklescope survey /lustre/pipeline-runs
  picklescope survey /lustre/pipeline-runs --preset strategy-a --json > fleet.json
  picklescope survey /lustre/pipeline-runs --json --shard auto > shard-$SLURM_ARRAY_TASK_ID.json
  picklescope survey --merge shard-*.json")]
    Survey {
        /// Directories (or `.context` files) to search.
        #[arg(required_unless_present = "merge")]
        roots: Vec<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
        /// Read only task K of N (`K/N`, 1-based), or `auto` in a SLURM array task.
        #[arg(long, value_name = "K/N|auto")]
        shard: Option<String>,
        /// Contexts read at once (default: one per core).
        #[arg(long, value_name = "J")]
        jobs: Option<usize>,
        /// How many class.attr groups the text lists.
        #[arg(long, default_value_t = 20)]
        top: usize,
        /// Combine shard documents (written with --json) instead of walking.
        #[arg(long, num_args = 1.., value_name = "SHARD.json", conflicts_with_all = ["roots", "shard", "jobs", "rules", "preset"])]
        merge: Vec<PathBuf>,
    },
    /// Compare two pickles or two contexts stage by stage.
    #[command(after_help = "\
Examples:
  picklescope diff before/ after/
  picklescope diff result-stage4.pickle.orig result-stage4.pickle --json")]
    Diff {
        a: PathBuf,
        b: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Write a realistic pipeline-like demo context and open it.
    #[command(after_help = "\
Examples:
  picklescope demo                 writes ./picklescope-demo/ and opens it
  picklescope demo /tmp/ctx --no-open
  picklescope demo /tmp/real --no-open --layouts real")]
    Demo {
        /// Where to write it (default ./picklescope-demo).
        dir: Option<PathBuf>,
        /// Only write the files; do not open the explorer.
        #[arg(long)]
        no_open: bool,
        /// Size multiplier: 1 gives a few MB; 200 about 1 GB (for benchmarks).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Number of measurement sets.
        #[arg(long, default_value_t = 2)]
        ms: u32,
        /// Object layouts: classic, or real (a current pipeline release's: nested views, the 9
        /// view-result classes, slots-tuple domain classes, and an older 12-stage run beside it).
        #[arg(long, value_enum, default_value = "classic")]
        layouts: picklescope::synth::Layouts,
    },
    /// Find the code that breaks when marked attributes go: reads without a guard.
    #[command(after_help = "\
Parses Python source (never imports or runs it) and lists every read of a marked attribute that
raises AttributeError on an object whose attribute was dropped: `x.view`, `x.view[...]`,
`x.components.items()`, `getattr(x, 'view')` without a default, `x.__dict__['view']`. Writes,
same-named method calls (`arr.view(np.float32)`) and guarded reads (`getattr` with a default,
inside `if hasattr(x, 'view')`, `try: ... except AttributeError`, `if 'view' in vars(x)`, after
`if not hasattr(x, 'view'): return`) are left out.

Confidence: likely when the module is in the package that defines a marked class (or one of
its subclasses found in the sources or --classes-from), or the read is in that class's own
methods; possible otherwise. Each finding has a suggested fix, printed, never applied; with
--pickle the default is an empty value of the type the attribute holds ({} for a dict, [] for
a list), else None.

Exit codes: 0 success (findings or not); 2 invalid input (missing source, rules, pickle); 1 other.

Examples:
  picklescope guards pipeline/ --preset strategy-a
  picklescope guards pipeline/h/tasks/tsysflag --rules transient.toml --json
  picklescope guards pipeline/ --preset strategy-a --pickle out/pipeline-X.context")]
    Guards {
        /// Python files or directories to search.
        #[arg(required = true, value_name = "SRC")]
        sources: Vec<PathBuf>,
        #[command(flatten)]
        rules: RuleArgs,
        /// A pickle or context that shows what type each marked attribute holds.
        #[arg(long, value_name = "PATH")]
        pickle: Option<PathBuf>,
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  picklescope completions bash > ~/.local/share/bash-completion/completions/picklescope"
    )]
    Completions { shell: Shell },
    /// Print the JSON Schema of a `--json` document (report, slim or diff).
    #[command(after_help = "\
Every --json document starts with \"schema_version\": 1; the version changes only when a field is
removed, renamed or changes meaning (new fields may appear within a version). The schemas are
generated from the types the documents are written from; docs/schema/ holds copies.

Examples:
  picklescope schema report > report.schema.json
  picklescope schema slim")]
    Schema {
        #[arg(value_enum)]
        doc: SchemaDoc,
    },
    /// Print the manual page (roff) on stdout.
    #[command(
        after_help = "Examples:\n  picklescope man | man -l -\n  picklescope man > ~/.local/share/man/man1/picklescope.1"
    )]
    Man,
}
