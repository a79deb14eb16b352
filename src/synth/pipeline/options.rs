//! What a run is asked for and what it returns: options, layouts, the files written, and the
//! run's fixed names on disk.

use std::path::PathBuf;

/// The run name: files are `<name>.context` and `<name>/saved_state/result-stage<N>.pickle`.
pub const DEMO_NAME: &str = "pipeline-demo";
/// The `output_dir` recorded in the context (a path on the machine that ran the pipeline).
pub const DEMO_OUTPUT_DIR: &str = "/lustre/naasc/someone/pipeline-demo-run";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoOptions {
    /// Multiplies array extents and list lengths: 1.0 gives about 4.5 MB in all (most of it
    /// in the flagging views of stages 4 and 7), 200 about 1 GB.
    pub scale: f64,
    /// Number of measurement sets (execution blocks); per-MS stages hold one result per MS.
    pub ms: u32,
    /// Seed of the deterministic generator: the same options give the same bytes.
    pub seed: u64,
    /// Which layouts the files follow.
    pub layouts: Layouts,
}

/// The object layouts of a demo run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Layouts {
    /// One view level per flagging result, dict-state measures: the classic demo.
    #[default]
    Classic,
    /// What a current pipeline release writes: views nested in `ImageResult.children`, the 9
    /// `FlaggableViewResults` subclasses, `CorrectedampflagResults` without a view, 25-field
    /// `SpectralWindow` tuples, `CalFrom` with mangled slots and `__getnewargs__`, slots-tuple
    /// measures and `StateALMA`, `operator.attrgetter('id')` inside each `MeasurementSet`; and
    /// an older, shorter run (`pipeline-older.context`, 12 stages, a day older) in the same
    /// directory.
    Real,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            scale: 1.0,
            ms: 2,
            seed: 20_240_501,
            layouts: Layouts::Classic,
        }
    }
}

/// One file written by [`write_demo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoFile {
    pub path: PathBuf,
    /// `None` for the context.
    pub stage: Option<u32>,
    /// The pipeline task (`"context"` for the context).
    pub task: &'static str,
    pub bytes: u64,
}

/// What [`write_demo`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// The directory holding the context.
    pub dir: PathBuf,
    pub context: PathBuf,
    /// The stage pickles in stage order, then the context.
    pub files: Vec<DemoFile>,
    /// With [`Layouts::Real`]: the older run's stage pickles, then its context (written first,
    /// modification times a day before the newer run's).
    pub older: Vec<DemoFile>,
    /// The bytes of `files` and `older`.
    pub total_bytes: u64,
}

/// The older run written beside the demo with [`Layouts::Real`].
pub const OLDER_NAME: &str = "pipeline-older";
/// How many stages the older run got through.
pub const OLDER_STAGES: u32 = 12;
