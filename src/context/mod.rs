//! Pipeline knowledge: find a context's files, stage numbers and task names, load them in parallel.

pub mod discover;
pub mod load;
pub mod reread;
pub mod stage;

pub use discover::{FileRole, Source, SourceError, SourceFile, resolve};
pub use stage::{StageInfo, stage_info};
