//! A generator of a realistic ALMA pipeline run on disk: `<name>.context` + 48 stage pickles.
//!
//! The shapes follow what the pipeline writes: `ResultsList` items with the pipeline's
//! attribute order, flaggable-view results whose `view` holds `ImageResult`s with numpy arrays
//! (stage 4 and 7 carry most of the bytes), a context whose `ResultsProxy`s point back at it,
//! `__slots__` domain classes with tuple state, `defaultdict`/`OrderedDict`, `uuid.UUID`,
//! tz-aware datetimes and `logging.LogRecord`s. Output is deterministic for a seed; array data
//! is generated while writing, so `scale = 200` (about 1 GB) streams to disk.
//!
//! `options.rs` holds the options and what a run returns; `tasks.rs` the fixed names (stages,
//! classes, modules); `demo.rs` the generator's state; `results.rs` each stage's `ResultsList`
//! and the `Results` objects; `stages.rs` the fields each task adds, `flagging.rs` those of the
//! flagging tasks; `views.rs` the flagging views; `domain.rs` the measurement sets and
//! calibrations; `context.rs` the context; `real.rs` what only the real layouts write;
//! `write.rs` the files on disk. One builder serves both layouts and asks `Demo::real` where
//! they part.

mod context;
mod demo;
mod domain;
mod flagging;
mod options;
mod real;
mod results;
mod stages;
mod tasks;
mod views;
mod write;

pub use options::{
    DEMO_NAME, DEMO_OUTPUT_DIR, DemoFile, DemoOptions, DemoSummary, Layouts, OLDER_NAME,
    OLDER_STAGES,
};
pub use tasks::STAGES;
pub use write::{context_value, stage_result, write_demo};
