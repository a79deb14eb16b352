//! picklescope: explore and slim large Python pickles without executing them.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod alloc;
pub mod analysis;
pub mod context;
pub mod fmt;
pub mod guards;
pub mod model;
pub mod pickle;
pub mod report;
pub mod schema;
pub mod slim;
pub mod suggest;
pub mod survey;
pub mod synth;
pub mod tui;
pub mod workspace;
