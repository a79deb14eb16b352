//! Synthetic pickles without Python: a CPython-faithful pickler and a pipeline-like demo run.
//!
//! [`pickler`] writes value trees the way CPython's C pickler does (protocol 2–5, framing,
//! memo, numpy arrays); [`pipeline`] builds a realistic ALMA pipeline context and its 48
//! stage results on top of it, for `picklescope demo` and for tests.

pub mod pickler;
pub mod pipeline;

pub use pickler::{
    ArrayData, Call, DType, EncodeOptions, Fill, Global, NdArray, NumpyFlavor, ObjId, Object, Rng,
    Value, encode, encode_with, write_pickle,
};
pub use pipeline::{
    DEMO_NAME, DEMO_OUTPUT_DIR, DemoFile, DemoOptions, DemoSummary, Layouts, OLDER_NAME,
    OLDER_STAGES, STAGES, context_value, stage_result, write_demo,
};
